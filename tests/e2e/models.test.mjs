// Model version consistency across sites (docs/models.md): two sites and
// a centre; the official OpenTelemetry SDK sends inference spans carrying
// gen_ai.request.model and ml.model.version. The on-prem site is the
// authority for fraud-detector and promotes v2; the cloud site keeps v1 for
// a known time, then switches. The centre must measure that delay (within
// the forwarding interval), warn while the cloud is past the SLO and stop
// once it switched, and count the share of the cloud's requests served
// stale after the promotion exactly; a version kept on the resource
// (forward.span_resource_keys) is seen too. Then a registry file as authority,
// reread on SIGHUP; a restart that keeps what was seen; and a bad
// `models:` section refused with FILE:LINE:COLUMN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import { SpanKind } from '@opentelemetry/api';

import { sleep, tempDir, tollgateBin } from './lib/collector.mjs';
import { Central, Site, waitFor, writeSites } from './lib/central.mjs';
import { siteSdk } from './lib/traffic.mjs';

const FLUSH_MS = 200;      // the sites' outbox.flush_interval (lib/central.mjs)
const PERIOD_MS = 100;     // one inference per site this often
const SLO_S = 3;           // max_propagation of fraud-*
const DELAY_MS = 7000;     // how long the cloud keeps v1 after the promotion
const RESOLUTION_S = 1;

function models(central, token) {
  const r = central.curl(['-s', '-H', `Authorization: Bearer ${token}`, `${central.url}/api/v1/models`]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const modelOf = (rep, name) => rep.models.find((m) => m.model === name);
const siteOf = (m, name) => m && m.sites.find((s) => s.site === name);

test('a promotion propagates: delay, stale share, SLO warning on and off, registry on SIGHUP',
  { timeout: 180000 }, async () => {
    const dir = tempDir();
    const tokens = { onprem: crypto.randomBytes(16).toString('hex'), cloud: crypto.randomBytes(16).toString('hex') };
    const sitesFile = writeSites(dir, [{ name: 'onprem', token: tokens.onprem }, { name: 'cloud', token: tokens.cloud }]);
    const registry = path.join(dir, 'registry.yaml');
    const nowS = () => Math.floor(Date.now() / 1000);
    fs.writeFileSync(registry, `models:\n  - {model: ranker, version: r5, promoted_at: ${nowS() - 3600}}\n`);
    const config = path.join(dir, 'central.yaml');
    fs.writeFileSync(config, [
      'models:',
      `  resolution: ${RESOLUTION_S}s`,
      '  stuck_after: 1h',
      '  rules:',
      `    - {match: "fraud-*", authority: onprem, max_propagation: ${SLO_S}s}`,
      `    - {match: "rank*", registry: ${JSON.stringify(registry)}, max_propagation: 10s}`,
      '',
    ].join('\n'));
    let central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile, config }).start();
    const sites = {};
    const sdk = {};
    for (const name of ['onprem', 'cloud']) {
      // The cloud copies a version kept on the resource onto its spans.
      const forward = name === 'cloud' ? { span_resource_keys: ['ml.model.version'] } : {};
      sites[name] = await new Site({ name, dir: path.join(dir, name), token: tokens[name], centralUrl: central.url, forward }).start();
      sdk[name] = siteSdk({ service: `scoring-${name}`, url: sites[name].httpUrl, site: name });
    }
    // An embedder whose version is a resource attribute, not a span's.
    sdk.embedder = siteSdk({ service: 'embedder', url: sites.cloud.httpUrl, site: 'cloud', extraResource: { 'ml.model.version': 'e9' } });

    // Every inference sent, with its start time (ms), per site.
    const sent = { onprem: [], cloud: [] };
    const infer = (site, model, version) => {
      const at = Date.now();
      const span = sdk[site].tracer.startSpan('predict', {
        kind: SpanKind.SERVER, startTime: at,
        attributes: { 'gen_ai.request.model': model, 'ml.model.version': version, 'gen_ai.operation.name': 'predict' },
      });
      span.end(at + 5);
      if (model === 'fraud-detector') sent[site].push({ at, version });
    };

    try {
      // No token: refused.
      const anon = central.curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', `${central.url}/api/v1/models`]);
      assert.equal(anon.stdout, '401');

      // Phase 1: both sites serve v1 (and the cloud the registry's r5).
      for (let t = 0; t < 2000; t += PERIOD_MS) {
        infer('onprem', 'fraud-detector', 'v1');
        infer('cloud', 'fraud-detector', 'v1');
        infer('cloud', 'ranker', 'r5');
        sdk.embedder.tracer.startSpan('embed', { kind: SpanKind.SERVER, attributes: { 'gen_ai.request.model': 'embedder' } }).end();
        await sleep(PERIOD_MS);
      }
      // Phase 2: the authority promotes v2; the cloud keeps v1 for DELAY_MS.
      // Past the SLO (and a forwarding interval or two) the warning is up.
      const promotedAt = Date.now();
      let warning = null;
      let statusText = null;
      while (Date.now() - promotedAt < DELAY_MS) {
        infer('onprem', 'fraud-detector', 'v2');
        infer('cloud', 'fraud-detector', 'v1');
        if (!warning && Date.now() - promotedAt > SLO_S * 1000 + 2000) {
          const rep = models(central, tokens.cloud);
          warning = rep.warnings.find((w) => w.startsWith('cloud serves fraud-detector v1, authoritative v2 since '));
          if (warning) statusText = central.status().stdout;
        }
        await sleep(PERIOD_MS);
      }
      assert.ok(warning, 'the SLO warning appeared while the cloud served v1');
      assert.match(warning, /\(SLO 3s\), 100% of its requests$/);
      assert.match(statusText, /\nMODELS\n/);
      assert.ok(statusText.includes(warning), statusText);

      // Phase 3: the cloud switches to v2.
      for (let t = 0; t < 3000; t += PERIOD_MS) {
        infer('onprem', 'fraud-detector', 'v2');
        infer('cloud', 'fraud-detector', 'v2');
        await sleep(PERIOD_MS);
      }
      await sdk.onprem.flush();
      await sdk.cloud.flush();
      await sdk.embedder.flush();
      const lastCloud = sent.cloud[sent.cloud.length - 1].at;
      const rep = await waitFor(() => {
        const r = models(central, tokens.onprem);
        const c = siteOf(modelOf(r, 'fraud-detector'), 'cloud');
        return c && c.last_seen_unix_nano === lastCloud * 1e6 && r;
      }, { what: 'the cloud\'s last inference at the centre' });

      const fraud = modelOf(rep, 'fraud-detector');
      const cloud = siteOf(fraud, 'cloud');
      const firstV2 = (site) => sent[site].find((s) => s.version === 'v2').at;
      // The promotion is the authority's first v2 request.
      assert.equal(fraud.authority, 'site:onprem');
      assert.equal(fraud.authoritative_version, 'v2');
      assert.equal(fraud.promoted_at_unix_nano, firstV2('onprem') * 1e6);
      // The delay: what the sites did, and the known delay within the
      // forwarding interval (plus one inference period).
      const measured = cloud.propagation_delay_seconds;
      console.log(`propagation delay measured ${measured}s (known ${DELAY_MS / 1000}s); ` +
        `stale share ${cloud.stale_share}; warning seen: ${warning}\n${statusText}`);
      assert.ok(Math.abs(measured - (firstV2('cloud') - firstV2('onprem')) / 1000) < 1e-6, `${measured}`);
      assert.ok(Math.abs(measured - DELAY_MS / 1000) <= (FLUSH_MS + PERIOD_MS) / 1000, `delay ${measured}s, known ${DELAY_MS / 1000}s`);
      // The stale share: the cloud's requests from the promotion's bucket
      // on, served by v1.
      const b0 = Math.floor(firstV2('onprem') / (RESOLUTION_S * 1000)) * RESOLUTION_S * 1000;
      const since = sent.cloud.filter((s) => s.at >= b0);
      const stale = since.filter((s) => s.version !== 'v2').length;
      assert.equal(cloud.stale_requests, stale);
      assert.ok(Math.abs(cloud.stale_share - stale / since.length) < 1e-9, `${cloud.stale_share} vs ${stale}/${since.length}`);
      assert.ok(stale > 40 && stale < since.length, `${stale} of ${since.length}`);
      // The warning cleared; the cloud serves v2.
      assert.equal(cloud.stale, false);
      assert.equal(cloud.version, 'v2');
      assert.deepEqual(rep.warnings.filter((w) => w.includes('fraud-detector')), []);

      // /metrics and `tollgate models`.
      const metrics = central.metrics();
      assert.match(metrics, /tollgate_model_propagation_delay_seconds\{site="cloud",model="fraud-detector"\} [0-9.]+\n/);
      assert.match(metrics, /tollgate_model_version_info\{site="cloud",model="fraud-detector",version="v2",authoritative="true"\} 1\n/);
      assert.match(metrics, /tollgate_model_stale_seconds\{site="cloud",model="fraud-detector"\} 0\n/);
      assert.ok(metrics.includes(`tollgate_model_requests_total{site="cloud",model="fraud-detector",version="v1"} ${sent.cloud.filter((s) => s.version === 'v1').length}\n`));
      const cli = spawnSync(tollgateBin(), ['models', '--endpoint', central.url, '--token', tokens.cloud], { encoding: 'utf8' });
      assert.equal(cli.status, 0, cli.stderr);
      assert.match(cli.stdout, /fraud-detector\s+site:onprem\s+v2\s+/);
      assert.match(cli.stdout, /cloud\s+v2\s+.*caught up after [0-9]+s/);
      const cliJson = spawnSync(tollgateBin(), ['models', '--json', '--endpoint', central.url, '--token', tokens.cloud], { encoding: 'utf8' });
      assert.equal(cliJson.status, 0, cliJson.stderr);
      assert.equal(siteOf(modelOf(JSON.parse(cliJson.stdout), 'fraud-detector'), 'cloud').propagation_delay_seconds, measured);
      const noToken = spawnSync(tollgateBin(), ['models', '--endpoint', central.url], { encoding: 'utf8', env: { ...process.env, TOLLGATE_TOKEN: '' } });
      assert.equal(noToken.status, 1);

      // The embedder's version came from its resource.
      assert.equal(siteOf(modelOf(rep, 'embedder'), 'cloud').version, 'e9');
      assert.equal(siteOf(modelOf(rep, 'embedder'), 'cloud').requests, 20);

      // The registry: r5 is authoritative and the cloud serves it.
      let ranker = modelOf(rep, 'ranker');
      assert.equal(ranker.authority, `registry:${registry}`);
      assert.equal(ranker.authoritative_version, 'r5');
      assert.equal(siteOf(ranker, 'cloud').stale, false);
      // r6 promoted 60s ago in the registry; SIGHUP rereads it.
      fs.writeFileSync(registry, `models:\n  - {model: ranker, version: r5, promoted_at: ${nowS() - 3600}}\n` +
        `  - {model: ranker, version: r6, promoted_at: ${nowS() - 60}}\n`);
      central.proc.kill('SIGHUP');
      const afterHup = await waitFor(() => {
        const r = models(central, tokens.cloud);
        return modelOf(r, 'ranker').authoritative_version === 'r6' && r;
      }, { what: 'the registry reread on SIGHUP' });
      ranker = modelOf(afterHup, 'ranker');
      assert.equal(siteOf(ranker, 'cloud').stale, true);
      assert.ok(afterHup.warnings.some((w) => /^cloud serves ranker r5, authoritative r6 since [0-9]+s \(SLO 10s\), 100% of its requests$/.test(w)), afterHup.warnings.join('\n'));
      // A bad registry on SIGHUP keeps the previous one.
      fs.writeFileSync(registry, 'models: [{model: ranker}]\n');
      central.proc.kill('SIGHUP');
      await waitFor(() => central.log.includes('model registry reload failed'), { what: 'the reload failure logged' });
      assert.equal(modelOf(models(central, tokens.cloud), 'ranker').authoritative_version, 'r6');

      // The export holds the rows, every request counted once.
      const rows = central.export().records.filter((r) => r.type === 'model' && r.site === 'cloud' && r.model === 'fraud-detector');
      assert.equal(rows.reduce((n, r) => n + Number(r.requests), 0), sent.cloud.length);

      // A restart keeps what was seen (the store's models rows).
      fs.writeFileSync(registry, `models:\n  - {model: ranker, version: r6, promoted_at: ${nowS() - 60}}\n`);
      await central.stop();
      central = await new Central({ dataDir: central.dataDir, sitesFile, config, port: central.port }).start();
      const again = siteOf(modelOf(models(central, tokens.cloud), 'fraud-detector'), 'cloud');
      assert.equal(again.propagation_delay_seconds, measured);
      assert.equal(again.stale_requests, stale);
    } finally {
      await sdk.onprem.shutdown();
      await sdk.cloud.shutdown();
      await sdk.embedder.shutdown();
      await sites.onprem.stop();
      await sites.cloud.stop();
      await central.stop();
    }
  });

test('a bad models: section exits 2 naming FILE:LINE:COLUMN', async () => {
  const dir = tempDir();
  const config = path.join(dir, 'central.yaml');
  fs.writeFileSync(config, 'models:\n  rules:\n    - {match: "fraud-*", authority: onprem, max_propagation: soon}\n');
  let r = spawnSync(tollgateBin(), ['central', '--config', config, '--data', path.join(dir, 'd')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:62: `));
  fs.writeFileSync(config, 'models:\n  rules:\n    - {match: "fraud-*"}\n');
  r = spawnSync(tollgateBin(), ['central', '--config', config, '--data', path.join(dir, 'd')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.ok(r.stderr.includes(`${config}:3:7: models.rules: a rule names exactly one of`), r.stderr);
  // A registry the centre cannot read at start: exit 2, its position named.
  const reg = path.join(dir, 'reg.yaml');
  fs.writeFileSync(reg, 'models:\n  - {model: x, version: 1, promoted_at: later}\n');
  fs.writeFileSync(config, `models:\n  rules:\n    - {match: "*", registry: ${JSON.stringify(reg)}}\n`);
  r = spawnSync(tollgateBin(), ['central', '--config', config, '--data', path.join(dir, 'd')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.ok(r.stderr.includes(`${reg}:2:41: promoted_at`), r.stderr);
});
