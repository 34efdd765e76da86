// The ecosystem side of the centre: a real Prometheus (Debian's package,
// started here on loopback) scrapes the centre's /metrics and answers a
// PromQL query over the merged RED of two sites; and the Grafana
// dashboards in dashboards/ parse, with every query in them valid:
// TraceQL and LogQL by our own parsers (`tollgate query ... --explain`),
// PromQL by promtool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { freePort, tempDir, tollgateBin } from './lib/collector.mjs';
import { Central, Site, waitFor, writeSites } from './lib/central.mjs';
import { crossSiteRequest, siteSdk } from './lib/traffic.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const DASH = path.join(ROOT, 'dashboards/grafana/dashboards');

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

test('every dashboard parses and every query in it is valid', () => {
  const files = fs.readdirSync(DASH).filter((f) => f.endsWith('.json'));
  for (const f of ['estate.json', 'red.json', 'boundary.json', 'cost.json']) assert.ok(files.includes(f), f);
  const prom = [];
  let traceql = 0, logql = 0;
  for (const f of files) {
    const d = JSON.parse(fs.readFileSync(path.join(DASH, f), 'utf8'));
    assert.ok(d.uid && d.title && Array.isArray(d.panels) && d.panels.length, `${f}: a dashboard`);
    const vars = (d.templating?.list || []).map((v) => v.name);
    const subst = (e) => e.replace(/\$(\w+)/g, (m, v) => (vars.includes(v) ? '.*' : m));
    for (const v of d.templating?.list || []) {
      const qv = typeof v.query === 'string' ? v.query : v.query?.query;
      const m = /^label_values\((.+),\s*\w+\)$/.exec(qv || '');
      if (m) prom.push(subst(m[1]));
    }
    for (const p of d.panels) {
      for (const t of p.targets || []) {
        const type = t.datasource?.type || p.datasource?.type;
        if (type === 'prometheus') {
          prom.push(subst(t.expr));
        } else if (type === 'tempo') {
          const r = spawnSync(tollgateBin(), ['query', 'traces', t.query, '--explain'], { encoding: 'utf8' });
          assert.equal(r.status, 0, `${f} "${p.title}": TraceQL ${t.query}: ${r.stderr}`);
          traceql++;
        } else if (type === 'loki') {
          const r = spawnSync(tollgateBin(), ['query', 'logs', t.expr, '--explain'], { encoding: 'utf8' });
          assert.equal(r.status, 0, `${f} "${p.title}": LogQL ${t.expr}: ${r.stderr}`);
          logql++;
        } else {
          assert.fail(`${f} "${p.title}": unknown data source type ${type}`);
        }
      }
    }
  }
  assert.ok(traceql >= 1 && logql >= 1 && prom.length >= 10);
  // The cost dashboard reads the centre's cost gauges (central/cost_api.c).
  for (const m of ['tollgate_central_cost_hour_effective', 'tollgate_central_cost_hour_billed',
    'tollgate_central_cost_hour_idle']) {
    assert.ok(prom.some((e) => e.includes(m)), `a dashboard query reads ${m}`);
  }
  // promtool validates PromQL through a rules file: one recording rule per
  // expression.
  const promtool = which('promtool');
  assert.ok(promtool, 'promtool (Debian package prometheus) is installed by scripts/install-deps.sh');
  const dir = tempDir();
  const rules = ['groups:', '  - name: dashboards', '    rules:'];
  prom.forEach((e, i) => rules.push(`      - record: dashboard:check:${i}`, `        expr: ${JSON.stringify(e)}`));
  fs.writeFileSync(path.join(dir, 'rules.yml'), `${rules.join('\n')}\n`);
  const r = spawnSync(promtool, ['check', 'rules', path.join(dir, 'rules.yml')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  // The provisioning files and the scrape config are there.
  for (const f of ['grafana/provisioning/datasources/tollgate.yaml',
    'grafana/provisioning/dashboards/tollgate.yaml', 'prometheus/prometheus.yml']) {
    assert.ok(fs.statSync(path.join(ROOT, 'dashboards', f)).size > 0, f);
  }
});

test('a real Prometheus scrapes the centre and answers PromQL over the merged RED',
  { timeout: 120000 }, async () => {
    const prometheus = which('prometheus');
    assert.ok(prometheus, 'prometheus (Debian package) is installed by scripts/install-deps.sh');
    const dir = tempDir();
    const tokens = { fra: crypto.randomBytes(16).toString('hex'), iad: crypto.randomBytes(16).toString('hex') };
    const sitesFile = writeSites(dir, [{ name: 'fra', token: tokens.fra }, { name: 'iad', token: tokens.iad }]);
    const central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile }).start();
    const fra = await new Site({ name: 'fra', dir: path.join(dir, 'fra'), token: tokens.fra, centralUrl: central.url }).start();
    const iad = await new Site({ name: 'iad', dir: path.join(dir, 'iad'), token: tokens.iad, centralUrl: central.url }).start();
    const gw = siteSdk({ service: 'gateway', url: iad.httpUrl, site: 'iad' });
    const fsSdk = siteSdk({ service: 'feature-store', url: fra.httpUrl, site: 'fra' });
    for (let i = 0; i < 6; i++) crossSiteRequest(gw, fsSdk, { i, fail: i % 3 === 0 });
    for (const s of [gw, fsSdk]) { await s.flush(); await s.shutdown(); }

    // /metrics answers only a user of the centre: Prometheus presents the
    // harness user's token from a file, as dashboards/prometheus/prometheus.yml
    // does (and without it the scrape is refused).
    const noToken = await fetch(`${central.url}/metrics`);
    assert.equal(noToken.status, 401);
    const promToken = path.join(dir, 'prometheus.token');
    fs.writeFileSync(promToken, `${central.harnessToken}\n`, { mode: 0o600 });
    const port = await freePort();
    const cfg = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(cfg, [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      'scrape_configs:',
      '  - job_name: tollgate-central',
      `    authorization: {type: Bearer, credentials_file: ${JSON.stringify(promToken)}}`,
      `    static_configs: [{targets: ["${central.url.replace('http://', '')}"]}]`,
    ].join('\n') + '\n');
    const prom = spawn(prometheus, [`--config.file=${cfg}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let promLog = '';
    prom.stderr.on('data', (d) => { promLog += d; });
    try {
      const query = async (q) => {
        const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
        return r.json();
      };
      // Both sites' RED, merged at the centre, as Prometheus sees it.
      const res = await waitFor(async () => {
        try {
          const j = await query('sum by (site) (tollgate_red_requests_total{service="gateway"}) or sum by (site) (tollgate_red_requests_total{service="feature-store"})');
          return j.status === 'success' && j.data.result.length === 2 && j.data.result;
        } catch { return false; }
      }, { timeoutMs: 60000, what: `PromQL answers over both sites (prometheus log: ${promLog.slice(-500)})` });
      const bySite = Object.fromEntries(res.map((x) => [x.metric.site, Number(x.value[1])]));
      assert.ok(bySite.iad >= 6, `iad requests ${bySite.iad}`);
      assert.ok(bySite.fra >= 6, `fra requests ${bySite.fra}`);
      // Errors and a latency quantile are there too.
      const err = await query('sum(tollgate_red_errors_total)');
      assert.ok(Number(err.data.result[0].value[1]) >= 2);
      const q = await query('histogram_quantile(0.5, sum by (le) (tollgate_red_latency_seconds_bucket))');
      assert.equal(q.status, 'success');
      assert.equal(q.data.result.length, 1);
      // The estate's health, scraped from the same endpoint.
      const up = await query('sum(tollgate_central_site_up)');
      assert.equal(Number(up.data.result[0].value[1]), 2);
    } finally {
      prom.kill('SIGTERM');
    }
    await fra.stop();
    await iad.stop();
    await central.stop();
  });
