// The residency policy as the central view: two sites under the shipped
// default policy (rules/default.yaml), telemetry with regulated values sent
// through the official OpenTelemetry SDK. What reaches the centre is what
// the policy's `central` destination allows: records holding PHI stay home
// (keep-local), e-mail addresses leave as keyed hashes, card numbers
// masked; not one raw regulated value is found, byte for byte, anywhere at
// the centre; the batches carry the policy's version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { sleep, tempDir } from './lib/collector.mjs';
import { Central, Site, spansOf, waitFor, writeSites } from './lib/central.mjs';
import { metricValue, parsePrometheus } from './lib/http.mjs';
import { REGULATED, crossSiteRequest, resourceMetrics, siteSdk, trainingStep } from './lib/traffic.mjs';

const REQUESTS = 12;

function filesUnder(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

test('the default policy is the central view: nothing regulated crosses', { timeout: 120000 }, async () => {
  const dir = tempDir();
  const tokens = { fra: crypto.randomBytes(16).toString('hex'), iad: crypto.randomBytes(16).toString('hex') };
  const sitesFile = writeSites(dir, [{ name: 'fra', token: tokens.fra }, { name: 'iad', token: tokens.iad }]);
  const central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile }).start();
  const fra = await new Site({ name: 'fra', dir: path.join(dir, 'fra'), token: tokens.fra,
    centralUrl: central.url, forward: { view: 'rules', jurisdiction: 'DE' } }).start();
  const iad = await new Site({ name: 'iad', dir: path.join(dir, 'iad'), token: tokens.iad,
    centralUrl: central.url, forward: { view: 'rules', jurisdiction: 'US' } }).start();

  const gateway = siteSdk({ service: 'gateway', url: iad.grpcUrl, transport: 'grpc', site: 'iad' });
  const featureStore = siteSdk({ service: 'feature-store', url: fra.httpUrl, site: 'fra' });
  const trainer = siteSdk({ service: 'trainer', url: fra.httpUrl, site: 'fra' });
  const gwInstr = resourceMetrics(gateway, { cpuPerSec: 0.5 });
  const fsInstr = resourceMetrics(featureStore, { cpuPerSec: 0.3 });
  resourceMetrics(trainer, { cpuPerSec: 4, gpuUtil: 85 });
  const created = [];
  for (let i = 0; i < REQUESTS; i++) {
    created.push(crossSiteRequest(gateway, featureStore, { i, gwInstr, fsInstr }));
    if (i < 3) trainingStep(trainer, i);
    await sleep(20);
  }
  await sleep(1200);
  for (const s of [gateway, featureStore, trainer]) await s.flush();
  for (const s of [gateway, featureStore, trainer]) await s.shutdown();

  const exp = await waitFor(() => {
    const e = central.export();
    return spansOf(e.records, 'iad').length >= 2 * REQUESTS && spansOf(e.records, 'fra').length >= REQUESTS
      && e.records.some((r) => r.type === 'cost' && r.site === 'fra') && e;
  }, { timeoutMs: 30000, what: 'summaries of both sites at the centre' });

  const byId = new Map(spansOf(exp.records).map((s) => [s.spanId, s]));
  for (const c of created) {
    // The gateway's spans leave; their regulated values are shaped.
    const root = byId.get(c.rootSpanId);
    assert.ok(root, 'the gateway root span reached the centre');
    assert.equal(root.site, 'iad');
    assert.match(root.attributes['user.email'], /^hmac-sha256:k1:[0-9a-f]{64}$/);
    // The feature store's server span names a patient (PHI: keep-local):
    // its values stay at its site, its skeleton leaves so the trace is
    // whole at the centre, marked with the classes that withheld it.
    const sk = byId.get(c.serverSpanId);
    assert.ok(sk, 'the withheld span reached the centre as a skeleton');
    assert.equal(sk.site, 'fra');
    assert.equal(sk.traceId, root.traceId);
    assert.equal(sk.name, '');
    assert.deepEqual(Object.keys(sk.attributes), ['tollgate.withheld']);
    assert.match(sk.attributes['tollgate.withheld'], /^phi\.[a-z_]+(,phi\.[a-z_]+)*$/);
  }
  // One keyed hash per e-mail: joinable across records and sites' requests.
  assert.equal(new Set(created.map((c) => byId.get(c.rootSpanId).attributes['user.email'])).size, 1);

  // Nothing regulated, byte for byte: export, files on disk, estate, metrics.
  const haystacks = [['export', Buffer.from(exp.text)]];
  for (const f of filesUnder(path.join(dir, 'central'))) haystacks.push([f, fs.readFileSync(f)]);
  haystacks.push(['estate', Buffer.from(JSON.stringify(central.estate()))]);
  haystacks.push(['metrics', Buffer.from(central.metrics())]);
  for (const [where, buf] of haystacks) {
    for (const [name, value] of Object.entries(REGULATED)) {
      assert.equal(buf.indexOf(Buffer.from(value)), -1, `${name} found in ${where}`);
    }
  }

  // The estate names the policy each site forwarded under.
  const estate = central.estate();
  for (const s of estate.sites) assert.match(s.policy_version, /^sha256:[0-9a-f]{64}$/);
  // And the sites count what their policy shaped, per destination x class x action.
  const m = await (await fetch(`${fra.collector.apiUrl}/metrics`)).text();
  assert.match(m, /tollgate_rules_values_total\{destination="central",class="phi\.[a-z_]+",action="keep-local"\} [1-9]/);
  // Each request was classified once, at ingest; the central view was built
  // from the stored classification, never by scanning again.
  for (const s of [fra, iad]) {
    const sm = parsePrometheus(await (await fetch(`${s.collector.apiUrl}/metrics`)).text());
    const ingested = metricValue(sm, 'tollgate_ingest_classified_requests_total');
    const stored = metricValue(sm, 'tollgate_forward_classifications_total', { source: 'stored' });
    assert.ok(ingested >= 1 && stored >= 1, `classified at ingest ${ingested}, views from stored ${stored}`);
    assert.ok(stored <= ingested);
    assert.equal(metricValue(sm, 'tollgate_forward_classifications_total', { source: 'rescan_unstored' }), 0);
    assert.equal(metricValue(sm, 'tollgate_forward_classifications_total', { source: 'rescan_policy_changed' }), 0);
  }

  await fra.stop();
  await iad.stop();
  const res = await central.stop();
  assert.equal(res.code, 0);
});
