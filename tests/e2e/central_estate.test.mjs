// Two sites and a central view, each its own process: an on-prem training
// site in DE (amortised cost model) and a cloud inference site in US
// (metered), telemetry sent with the official OpenTelemetry SDK, requests
// crossing the two sites with a W3C traceparent. The centre must hold the
// span summaries, RED metrics, log templates, metrics and cost records of
// both, and not one regulated raw value: searched byte for byte in the
// export, in the centre's files on disk (raw, and every zstd frame in them
// decompressed: the batches are stored compressed), and in its API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { sleep, tempDir } from './lib/collector.mjs';
import { unzstd } from './lib/compress.mjs';
import { Central, Site, spansOf, waitFor, writeSites } from './lib/central.mjs';
import { REGULATED, crossSiteRequest, resourceMetrics, siteSdk, trainingStep } from './lib/traffic.mjs';

const REQUESTS = 30;
const STEPS = 5;
const failing = (i) => i % 7 === 3;

// Every zstd frame in `buf`, decompressed. A frame's extent is read from
// its header and block headers (RFC 8878, 3.1.1), so frames embedded in an
// LMDB file are found without knowing its layout.
function zstdFramesIn(buf) {
  const MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
  const out = [];
  for (let at = buf.indexOf(MAGIC); at >= 0; at = buf.indexOf(MAGIC, at + 1)) {
    const fhd = buf[at + 4];
    if (fhd === undefined || fhd & 0x08) continue; // reserved bit set: not a frame
    const single = (fhd >> 5) & 1;
    const fcs = [single ? 1 : 0, 2, 4, 8][fhd >> 6];
    const did = [0, 1, 2, 4][fhd & 3];
    let p = at + 5 + (single ? 0 : 1) + did + fcs;
    let ok = false;
    while (p + 3 <= buf.length) {
      const h = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16);
      const type = (h >> 1) & 3;
      const size = h >>> 3;
      if (type === 3) break;
      p += 3 + (type === 1 ? 1 : size);
      if (h & 1) { ok = true; break; }
    }
    if (!ok) continue;
    if (fhd & 0x04) p += 4; // content checksum
    if (p > buf.length) continue;
    try {
      out.push(unzstd(buf.subarray(at, p)));
    } catch {
      // a chance match of the magic bytes, not a frame
    }
  }
  return out;
}

function filesUnder(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

test('two sites, one central view, nothing regulated crosses', { timeout: 120000 }, async () => {
  const dir = tempDir();
  const tokens = { fra: crypto.randomBytes(16).toString('hex'), iad: crypto.randomBytes(16).toString('hex') };
  const sitesFile = writeSites(dir, [{ name: 'fra', token: tokens.fra }, { name: 'iad', token: tokens.iad }]);
  const central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile }).start();

  const fra = await new Site({
    name: 'fra', dir: path.join(dir, 'fra'), token: tokens.fra, centralUrl: central.url,
    forward: {
      jurisdiction: 'DE',
      cost: {
        model: 'amortised', currency: 'EUR', provider: 'Internal IT', region: 'de-fra-1',
        amortised: { capex: 2400000, lifetime_years: 4, power_kw: 40, power_price_kwh: 0.25,
          operations_per_year: 300000, gpus: 64, cpus: 2048, gpu_share: 0.8 },
      },
    },
  }).start();
  const iad = await new Site({
    name: 'iad', dir: path.join(dir, 'iad'), token: tokens.iad, centralUrl: central.url,
    forward: {
      jurisdiction: 'US',
      cost: {
        model: 'metered', currency: 'USD', provider: 'Example Cloud', region: 'us-east-1',
        metered: { cpu_hour: 0.0416, gpu_hour: 2.9, gb_ingested: 0.5, gb_stored: 0.023,
          gb_forwarded: 0.09, input_tokens_1k: 0.0005, output_tokens_1k: 0.0015 },
      },
    },
  }).start();

  // The gateway runs in the cloud (gRPC to iad); the feature store and the
  // trainer on-prem (HTTP/protobuf to fra).
  const gateway = siteSdk({ service: 'gateway', url: iad.grpcUrl, transport: 'grpc', site: 'iad' });
  const featureStore = siteSdk({ service: 'feature-store', url: fra.httpUrl, site: 'fra' });
  const trainer = siteSdk({ service: 'trainer', url: fra.httpUrl, site: 'fra' });
  const gwInstr = resourceMetrics(gateway, { cpuPerSec: 0.5 });
  const fsInstr = resourceMetrics(featureStore, { cpuPerSec: 0.3 });
  resourceMetrics(trainer, { cpuPerSec: 4, gpuUtil: 85 });

  const created = [];
  const trainSpans = [];
  for (let i = 0; i < REQUESTS; i++) {
    created.push(crossSiteRequest(gateway, featureStore, { i, fail: failing(i), gwInstr, fsInstr }));
    if (i < STEPS) trainSpans.push(trainingStep(trainer, i));
    await sleep(20);
  }
  await sleep(1200); // two metric intervals: counter deltas and GPU time
  for (const s of [gateway, featureStore, trainer]) await s.flush();
  for (const s of [gateway, featureStore, trainer]) await s.shutdown();

  const wantIad = new Set(created.flatMap((c) => [c.rootSpanId, c.clientSpanId]));
  const wantFra = new Set([...created.flatMap((c) => [c.serverSpanId, c.dbSpanId]), ...trainSpans]);
  const exp = await waitFor(() => {
    const e = central.export();
    const costs = e.records.filter((r) => r.type === 'cost');
    const ok = spansOf(e.records, 'iad').length >= wantIad.size && spansOf(e.records, 'fra').length >= wantFra.size
      && costs.some((c) => c.site === 'fra' && c.SkuMeter === 'gpu-seconds')
      && e.records.some((r) => r.type === 'metric' && r.site === 'fra' && r.name === 'hw.gpu.utilization');
    return ok && e;
  }, { timeoutMs: 30000, what: 'summaries of both sites at the centre' });
  const recs = exp.records;

  // Span summaries: every span exactly once, at the site it ran at.
  for (const [site, want] of [['iad', wantIad], ['fra', wantFra]]) {
    const got = spansOf(recs, site).map((s) => s.spanId);
    assert.equal(got.length, new Set(got).size, `${site}: a span summary arrived twice`);
    assert.deepEqual(new Set(got), want, `${site}: span summaries differ from what was sent`);
  }
  // The crossing is stitched: fra's server span is a child of iad's client span.
  const byId = new Map(spansOf(recs).map((s) => [s.spanId, s]));
  for (const c of created) {
    const server = byId.get(c.serverSpanId);
    assert.equal(server.traceId, c.traceId);
    assert.equal(server.parentSpanId, c.clientSpanId);
    assert.equal(byId.get(c.clientSpanId).site, 'iad');
    assert.equal(server.site, 'fra');
  }
  const root = byId.get(created[0].rootSpanId);
  assert.equal(root.service, 'gateway');
  assert.equal(root.name, 'POST /v1/chat/<num>');
  assert.equal(root.attributes['http.route'], '/v1/chat/<email>');
  assert.equal(root.attributes['gen_ai.request.model'], 'llama-3-70b');
  assert.equal(root.attributes['user.email'], undefined);

  // RED per site x service x operation per minute (summed over minutes).
  const red = recs.filter((r) => r.type === 'red');
  const sum = (rows, k) => rows.reduce((a, r) => a + r[k], 0);
  const gwRed = red.filter((r) => r.site === 'iad' && r.service === 'gateway' && r.operation === 'POST /v1/chat/<num>');
  assert.equal(sum(gwRed, 'requests'), REQUESTS);
  assert.equal(sum(gwRed, 'errors'), [...Array(REQUESTS).keys()].filter(failing).length);
  assert.ok(gwRed.every((r) => r.latencySeconds.count === r.requests && r.latencySeconds.p99 >= 0));
  const fsRed = red.filter((r) => r.site === 'fra' && r.service === 'feature-store' && r.kind === 2);
  assert.equal(sum(fsRed, 'requests'), REQUESTS);

  // Log templates: the variable parts replaced, counted per template.
  const logs = recs.filter((r) => r.type === 'log');
  const served = logs.filter((l) => l.site === 'fra' && l.template === 'served features for <email> in <num> ms');
  assert.equal(sum(served, 'count'), REQUESTS - [...Array(REQUESTS).keys()].filter(failing).length);
  const failed = logs.filter((l) => l.site === 'fra' && l.severityText === 'ERROR');
  assert.equal(sum(failed, 'count'), [...Array(REQUESTS).keys()].filter(failing).length);
  assert.ok(logs.some((l) => l.site === 'iad' && l.template.startsWith('chat completion for card <num> token')));

  // Metrics: one naming convention (Prometheus names mapped), labels scrubbed.
  const metrics = recs.filter((r) => r.type === 'metric');
  const cpu = metrics.filter((m) => m.name === 'process.cpu.time');
  assert.ok(cpu.some((m) => m.site === 'fra') && cpu.some((m) => m.site === 'iad'));
  assert.ok(cpu.every((m) => m.labels.user === undefined && m.labels['http.request.method'] === 'POST'));
  assert.ok(metrics.some((m) => m.site === 'iad' && m.name === 'http.server.request.count'));
  const gpu = metrics.find((m) => m.site === 'fra' && m.name === 'hw.gpu.utilization');
  assert.ok(Math.abs(gpu.value - 0.85) < 1e-9, 'DCGM percent mapped to a ratio');

  // Cost records, FOCUS-shaped: amortised on-prem, metered cloud.
  const costs = recs.filter((r) => r.type === 'cost');
  const fraGpu = costs.filter((c) => c.site === 'fra' && c.SkuMeter === 'gpu-seconds');
  assert.ok(fraGpu.length > 0);
  assert.ok(sum(fraGpu, 'ConsumedQuantity') >= STEPS * 2.5, 'GPU time from span attributes and the DCGM gauge');
  for (const c of costs.filter((x) => x.site === 'fra')) {
    assert.equal(c.x_CostModel, 'amortised');
    assert.equal(c.BillingCurrency, 'EUR');
    assert.equal(c.BilledCost, 0);
    assert.equal(c.ChargeCategory, 'Usage');
    assert.match(c.ChargePeriodStart, /^\d{4}-\d\d-\d\dT\d\d:00:00Z$/);
  }
  assert.ok(sum(fraGpu, 'EffectiveCost') > 0);
  const tokensIn = costs.filter((c) => c.site === 'iad' && c.SkuMeter === 'gen_ai-input-tokens');
  assert.equal(sum(tokensIn, 'ConsumedQuantity'), [...Array(REQUESTS).keys()].reduce((a, i) => a + 900 + i, 0));
  for (const c of costs.filter((x) => x.site === 'iad')) {
    assert.equal(c.x_CostModel, 'metered');
    assert.equal(c.BilledCost, c.EffectiveCost);
  }
  for (const site of ['fra', 'iad']) {
    for (const meter of ['telemetry-ingested', 'cpu-seconds']) {
      assert.ok(costs.some((c) => c.site === site && c.SkuMeter === meter), `${site} has ${meter}`);
    }
  }

  // Nothing regulated, byte for byte: export, files on disk, API.
  const haystacks = [['export', Buffer.from(exp.text)]];
  let frames = 0;
  let framesWithSpans = 0;
  for (const f of filesUnder(path.join(dir, 'central'))) {
    const raw = fs.readFileSync(f);
    haystacks.push([f, raw]);
    zstdFramesIn(raw).forEach((plain, i) => {
      frames++;
      if (plain.indexOf('POST /v1/chat/<num>') >= 0) framesWithSpans++;
      haystacks.push([`${f}, zstd frame ${i}`, plain]);
    });
  }
  // The scan saw the stored batches decompressed, or it proves nothing.
  assert.ok(frames > 0 && framesWithSpans > 0,
    `centre's files: ${frames} zstd frames, ${framesWithSpans} with span summaries`);
  haystacks.push(['estate', Buffer.from(JSON.stringify(central.estate()))]);
  haystacks.push(['metrics', Buffer.from(central.metrics())]);
  for (const [where, buf] of haystacks) {
    for (const [name, value] of Object.entries(REGULATED)) {
      assert.equal(buf.indexOf(Buffer.from(value)), -1, `${name} found in ${where}`);
    }
  }

  // The estate: both sites up, no warnings, figures filled in.
  const estate = central.estate();
  const sites = Object.fromEntries(estate.sites.map((s) => [s.name, s]));
  for (const name of ['fra', 'iad']) {
    assert.equal(sites[name].partitioned, false);
    assert.deepEqual(sites[name].warnings, []);
    assert.equal(sites[name].protocol_version, 3);
    assert.equal(sites[name].clock_valid, true);
  }
  assert.equal(sites.fra.jurisdiction, 'DE');
  assert.equal(sites.iad.jurisdiction, 'US');
  const st = central.status();
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, /^fra\s+ok\s/m);
  assert.match(st.stdout, /^iad\s+ok\s/m);
  assert.match(st.stdout, /no warnings/);

  await fra.stop();
  await iad.stop();
  const res = await central.stop();
  assert.equal(res.code, 0);
});
