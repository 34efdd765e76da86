// The audit report over a known workload: a site and a centre, spans with
// regulated values sent through the official OpenTelemetry JS SDK, a policy
// change (SIGHUP) half-way, and federated queries by two users through the
// centre. The test works out every count itself, from the attributes it
// sent and the policy texts it wrote (the pack's key lists, the central
// destination's actions and allow-list), and compares each with what
// `tollgate audit report --format json` says; the policy change is listed
// with a diff naming the changed line; every figure names the log's
// checkpoint, and the witness's cosignature is named and checked against
// the leaves. The PDF renders to PNG pages with pdftoppm, and the HTML
// loads in Debian's chromium with no console error. A bad audit: section
// exits 2 naming FILE:LINE:COLUMN.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { chromium } from 'playwright-core';

import { freePort, sleep, tempDir, tollgateBin } from './lib/collector.mjs';
import { Central, Site, spansOf, waitFor, writeSites } from './lib/central.mjs';
import { REGULATED } from './lib/traffic.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const RULES = path.resolve(import.meta.dirname, '../../rules');
const SPANS = [7, 5]; // spans sent under the first and the second policy

// ---- the policy, read the way a reader of the YAML would -------------------

// class -> the attribute keys that name it (the packs' exact `keys:` lists).
function packKeys(text) {
  const out = new Map();
  let cls = null;
  let collecting = null;
  for (const line of text.split('\n')) {
    const c = line.match(/^ {2}([a-z][a-z0-9._-]*):\s*$/);
    if (c) { cls = c[1]; continue; }
    const k = line.match(/^\s+keys:\s*\[(.*)$/);
    if (k && cls) collecting = k[1];
    else if (collecting !== null) collecting += line;
    if (collecting !== null && collecting.includes(']')) {
      const list = collecting.slice(0, collecting.indexOf(']')).split(',')
        .map((s) => s.trim().replace(/^"|"$/g, '')).filter((s) => s && !s.includes('*'));
      for (const key of list) out.set(key, cls);
      collecting = null;
    }
  }
  return out;
}

// The central destination's actions (pattern -> action) and allow_keys.
function centralDestination(text) {
  const actions = new Map();
  const allow = [];
  let inActions = false;
  let inAllow = false;
  for (const line of text.split('\n')) {
    if (/^ {4}actions:/.test(line)) { inActions = true; inAllow = false; continue; }
    if (/^ {6}allow_keys:/.test(line)) { inAllow = true; inActions = false; continue; }
    if (/^ {0,4}\S/.test(line)) { inActions = false; if (!/^ {6}/.test(line)) inAllow = false; }
    const a = line.match(/^ {6}([a-z.*_-]+):\s*(\{action:\s*)?([a-z-]+)/);
    if (inActions && a) actions.set(a[1], a[3]);
    const k = line.match(/^ {8}- "?([^"#]+?)"?\s*(#.*)?$/);
    if (inAllow && k) allow.push(k[1]);
  }
  return { actions, allow };
}

function actionFor(actions, cls) {
  if (actions.has(cls)) return actions.get(cls);
  for (const [pat, act] of actions) if (pat.endsWith('.*') && cls.startsWith(pat.slice(0, -1))) return act;
  return actions.get('default');
}

const allowed = (allow, key) => allow.some((p) => (p.endsWith('*') ? key.startsWith(p.slice(0, -1)) : p === key));

// ---- the workload ------------------------------------------------------------

function sdk(url) {
  // Only allow-listed resource keys (service.name, telemetry.sdk.*), so the
  // test's arithmetic is about the span attributes it writes.
  const tp = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${url}/v1/traces` }),
      { scheduledDelayMillis: 100, maxExportBatchSize: 512 })],
  });
  return { tracer: tp.getTracer('audit-report'), tp };
}

function attrsOf(i) {
  return {
    'http.request.method': 'POST', // allow-listed: leaves as it is, not counted
    'user.email': `user${i}.${REGULATED.email}`, // pii.email
    'enduser.id': `customer-${1000 + i}`, // pii.user_id
    'client.address': `192.0.2.${10 + i}`, // pii.ip
    'checkout.note': `order ${i} gift wrap`, // unclassified, not allow-listed
  };
}

// expected[`${cls}|${action}`] += 1 for each value the policy changes.
function expectCounts(expected, attrs, keys, dest) {
  for (const [k] of Object.entries(attrs)) {
    const cls = keys.get(k);
    let key;
    if (cls) key = `${cls}|${actionFor(dest.actions, cls)}`;
    else if (!allowed(dest.allow, k)) key = 'unclassified|drop';
    else continue;
    if (key.endsWith('|pass')) continue;
    expected[key] = (expected[key] || 0) + 1;
  }
}

function report(args) {
  return spawnSync(tollgateBin(), ['audit', 'report', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

function tollgate(args) {
  return new Promise((resolve) => {
    const p = spawn(tollgateBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function policyVersion(site) {
  const text = await (await fetch(`${site.apiUrl}/metrics`)).text();
  return text.match(/^tollgate_rules_policy_info\{version="([^"]+)"\} 1$/m)?.[1];
}

test('the audit report counts exactly what was sent and what the policy did', { timeout: 180000 }, async () => {
  const dir = tempDir();
  const token = crypto.randomBytes(16).toString('hex');

  // The site's policy: the shipped default plus a site file the test edits.
  const siteRules = path.join(dir, 'site-rules.yaml');
  const v1Text = `version: 1\ninclude: [${JSON.stringify(path.join(RULES, 'default.yaml'))}]\n`
    + 'site:\n  name: fra\n  jurisdiction: {country: DE, region: EU}\n'
    + 'destinations:\n  central:\n    jurisdiction: {country: DE, region: EU}\n';
  fs.writeFileSync(siteRules, v1Text);
  const v2Text = `${v1Text}    actions:\n      pii.ip: redact\n`;

  // Users of the centre: a compliance officer and an SRE.
  const users = { carol: 'compliance', alice: 'sre' };
  const userTokens = {};
  const ulines = ['users:'];
  for (const [u, role] of Object.entries(users)) {
    userTokens[u] = `${u}-${crypto.randomBytes(12).toString('hex')}`;
    fs.writeFileSync(path.join(dir, `${u}.token`), `${userTokens[u]}\n`, { mode: 0o600 });
    ulines.push(`  - {name: ${u}, token_file: ${u}.token, role: ${role}}`);
  }
  fs.writeFileSync(path.join(dir, 'users.yaml'), `${ulines.join('\n')}\n`);

  // The site first (it learns the centre's address), then the centre,
  // which learns the site's API for federated queries.
  const centralPort = await freePort();
  const site = await new Site({ name: 'fra', dir: path.join(dir, 'fra'), token,
    centralUrl: `http://127.0.0.1:${centralPort}`, forward: { view: 'rules', jurisdiction: 'DE' },
    queryCap: 'raw', rules: siteRules }).start();
  after(() => site.stop());
  const sitesFile = writeSites(dir, [{ name: 'fra', token, api: site.apiUrl }]);
  const centralCfg = path.join(dir, 'central.yaml');
  fs.writeFileSync(centralCfg, 'audit:\n  controller: "ACME Health GmbH (centre)"\n  dpo: dpo@acme.example\n');
  const central = await new Central({ dataDir: path.join(dir, 'central'), port: centralPort, sitesFile,
    usersFile: path.join(dir, 'users.yaml'), config: centralCfg }).start();
  after(() => central.stop());

  const keys = packKeys(fs.readFileSync(path.join(RULES, 'packs/gdpr.yaml'), 'utf8'));
  const defaultText = fs.readFileSync(path.join(RULES, 'default.yaml'), 'utf8');
  const expected = {};
  const traceIds = [];
  const send = async (n, destFor) => {
    const { tracer, tp } = sdk(site.httpUrl);
    for (let i = 0; i < n; i++) {
      const attrs = attrsOf(traceIds.length);
      const s = tracer.startSpan('POST /checkout', { kind: SpanKind.SERVER, attributes: attrs });
      s.end();
      traceIds.push(s.spanContext().traceId);
      expectCounts(expected, attrs, keys, destFor);
    }
    await tp.forceFlush();
    await tp.shutdown();
  };

  // Under the first policy.
  const v1 = await policyVersion(site);
  assert.ok(v1, 'policy version on /metrics');
  await send(SPANS[0], centralDestination(defaultText));
  await waitFor(() => spansOf(central.export().records, 'fra').length >= SPANS[0],
    { timeoutMs: 30000, what: 'the first spans at the centre' });

  // The policy changes: pii.ip now redacted for central.
  fs.writeFileSync(siteRules, v2Text);
  site.collector.proc.kill('SIGHUP');
  await waitFor(async () => (await policyVersion(site)) !== v1, { what: 'the new policy in force' });
  const v2 = await policyVersion(site);
  const dest2 = centralDestination(defaultText);
  dest2.actions.set('pii.ip', 'redact');
  await send(SPANS[1], dest2);
  await waitFor(() => spansOf(central.export().records, 'fra').length >= SPANS[0] + SPANS[1],
    { timeoutMs: 30000, what: 'the second spans at the centre' });

  // Federated queries: carol three times, alice once.
  const asked = { carol: 3, alice: 1 };
  for (const [u, n] of Object.entries(asked)) {
    for (let i = 0; i < n; i++) {
      const r = await tollgate(['query', '--endpoint', central.url, '--token', userTokens[u],
        'trace', traceIds[i], '--json']);
      assert.equal(r.code, 0, r.stderr);
    }
  }
  // Every count, from the test's own arithmetic, in a report made either
  // way (the centre's is made while the site runs, the offline one after).
  const checkDoc = (doc, how) => {
    // Every figure names the site log's newest checkpoint.
    const site0 = doc.sites[0];
    assert.equal(doc.sites.length, 1);
    assert.equal(site0.site, 'fra');
    assert.equal(site0.verified, true, `${how}: ${site0.verify_result}`);
    assert.equal(site0.checkpoint_origin, 'tollgate.site/fra');
    assert.equal(site0.checkpoint_size, site0.leaves);
    for (const sec of ['egress', 'kept_local', 'policy_versions', 'queries']) {
      for (const row of doc[sec]) {
        assert.equal(row.checkpoint_origin, 'tollgate.site/fra', sec);
        assert.equal(row.checkpoint_size, site0.checkpoint_size, sec);
        assert.equal(row.checkpoint_root, site0.checkpoint_root, sec);
      }
    }

    // Egress: every class x action the test expects, and nothing else.
    const got = {};
    for (const e of doc.egress) {
      assert.equal(e.destination, 'central');
      got[`${e.data_class}|${e.action}`] = e.values;
      if (e.data_class.startsWith('pii.')) {
        assert.match(e.regulation, /GDPR/);
        assert.match(e.legal_basis, /GDPR Art\. 6/);
      }
    }
    assert.deepEqual(got, expected);
    assert.equal(expected['pii.ip|generalise'], SPANS[0]);
    assert.equal(expected['pii.ip|redact'], SPANS[1]);
    assert.equal(expected['pii.email|hash'], SPANS[0] + SPANS[1]);
    // Kept local: the same, but for what passed.
    const kept = {};
    for (const e of doc.kept_local) kept[`${e.data_class}|${e.action}`] = e.values;
    assert.deepEqual(kept, Object.fromEntries(Object.entries(expected).filter(([k]) => !k.endsWith('|pass'))));

    // Policy versions: both, the change with its diff.
    assert.deepEqual(doc.policy_versions.map((v) => v.version), [v1, v2]);
    const change = doc.policy_versions[1];
    assert.equal(change.changed_from, v1);
    assert.match(change.diff, /^\+ {5}actions:$/m);
    assert.match(change.diff, /^\+ {7}pii\.ip: redact$/m);
    // every batch names the policy it was made under
    assert.equal(doc.policy_versions.reduce((n, v) => n + v.leaves, 0) >= site0.batches, true);

    // Retention: nothing the test sent has a retention shorter than the test.
    assert.deepEqual(doc.retention.map((x) => [x.data_class, x.records_deleted]), [['(all classes)', 0]]);

    // Queries by user, role and view: as many as each asked.
    for (const [u, n] of Object.entries(asked)) {
      const rows = doc.queries.filter((q) => q.user === u);
      assert.equal(rows.length, 1, JSON.stringify(doc.queries));
      assert.equal(rows[0].role, users[u]);
      assert.equal(rows[0].client, 'central');
      assert.equal(rows[0].kind, 'trace');
      assert.ok(rows[0].view, 'the view is named');
      assert.equal(rows[0].queries, n);
    }
    assert.equal(site0.batches + doc.queries.reduce((n, q) => n + q.queries, 0) + site0.shed + site0.rejected,
      site0.leaves_in_period);
    return site0;
  };

  // The centre's report, read over the site API: who may ask, then the
  // same counts (checked below with the offline report's).
  const day = 86400000;
  const from = new Date(Date.now() - day).toISOString().slice(0, 10);
  const to = new Date(Date.now() + day).toISOString().slice(0, 10);
  const reportUrl = `${central.url}/api/v1/audit/report?from=${from}&to=${to}`;
  const carolAuth = { headers: { authorization: `Bearer ${userTokens.carol}` } };
  await waitFor(async () => {
    const w = await (await fetch(`${central.url}/api/v1/witness/status`, carolAuth)).json();
    return w.sites?.[0]?.cosigned_size >= 1;
  }, { timeoutMs: 30000, what: 'a cosigned checkpoint' });
  assert.equal((await fetch(reportUrl)).status, 401);
  assert.equal((await fetch(reportUrl, { headers: { authorization: `Bearer ${userTokens.alice}` } })).status, 403);
  const pdfAnswer = await fetch(`${reportUrl}&format=pdf`, { headers: { authorization: `Bearer ${userTokens.carol}` } });
  assert.equal(pdfAnswer.status, 200);
  assert.equal(pdfAnswer.headers.get('content-type'), 'application/pdf');
  assert.equal(Buffer.from(await pdfAnswer.arrayBuffer()).subarray(0, 5).toString(), '%PDF-');
  const viaCentre = await tollgate(['audit', 'report', '--from', from, '--to', to, '--endpoint', central.url,
    '--token', userTokens.carol, '--format', 'json']);
  assert.equal(viaCentre.code, 0, viaCentre.stderr);
  const centreDoc = JSON.parse(viaCentre.stdout);

  await site.stop();
  await central.stop();
  const data = site.collector.dataDir;

  // The report's configuration: the site's rules and the Art. 30 fields.
  const cfg = path.join(dir, 'report.yaml');
  fs.writeFileSync(cfg, `rules: [${JSON.stringify(siteRules)}]\n`
    + 'audit:\n  controller: "ACME Health GmbH, Berlin; privacy@acme.example"\n'
    + '  data_subjects: [customers]\n  transfers: ["cloud-us: SCC 2021/914"]\n');
  const r = report(['--from', from, '--to', to, '--data', data, '--config', cfg, '--format', 'json']);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);

  const cp = fs.readFileSync(path.join(data, 'audit.key.vkey'), 'utf8');
  assert.ok(cp.startsWith('tollgate.site/fra+'));
  const site0 = checkDoc(doc, 'offline');

  // Art. 30: from the config and the policy.
  const a30 = Object.fromEntries(doc.art30.map((f) => [f.field.replace(/ \(.*$/, ''), f.value]));
  assert.equal(a30.Controller, 'ACME Health GmbH, Berlin; privacy@acme.example');
  assert.equal(a30['Categories of data subjects'], 'customers');
  assert.match(a30['Categories of personal data'], /pii\.email \(e-mail address; GDPR Art\. 4\(1\)/);
  assert.match(a30['Time limits for erasure'], /pii\.ip: 30 days/);
  assert.match(a30['Purposes of the processing'], /central: operations/);

  // The centre counted the same leaves and checked them against the
  // checkpoint's root; its Art. 30 fields come from its own audit: section.
  checkDoc(centreDoc, 'centre');
  // The witness's word: the centre checks the cosigned tree is a prefix of
  // the leaves it read, and the site's signature with the key it pinned.
  assert.match(centreDoc.sites[0].witness,
    /^cosigned at size \d+.*; the cosigned root is the root of these leaves' prefix$/);
  assert.match(centreDoc.sites[0].verify_result, /signature verifies with the key the witness pinned/);
  assert.match(site0.witness, /^cosigned up to size \d+ by tollgate\.central\//);
  const c30 = Object.fromEntries(centreDoc.art30.map((f) => [f.field.replace(/ \(.*$/, ''), f.value]));
  assert.equal(c30.Controller, 'ACME Health GmbH (centre)');
  assert.equal(c30['Data protection officer'], 'dpo@acme.example');

  // --site filters; a site not there gives empty sections.
  const none = JSON.parse(report(['--from', from, '--to', to, '--data', data, '--site', 'iad']).stdout);
  assert.equal(none.sites.length, 0);
  assert.equal(none.egress.length, 0);

  // CSV: one table per section.
  const csv = report(['--from', from, '--to', to, '--data', data, '--config', cfg, '--format', 'csv']);
  assert.equal(csv.status, 0, csv.stderr);
  assert.deepEqual([...csv.stdout.matchAll(/^# ([a-z_0-9]+): /gm)].map((m) => m[1]),
    ['egress', 'kept_local', 'policy_versions', 'retention', 'queries', 'sites', 'art30']);
  assert.match(csv.stdout, new RegExp(`^fra,central,pii\\.email,hash,${SPANS[0] + SPANS[1]},`, 'm'));

  // A bad audit: section: exit 2 naming file, line and column.
  const bad = path.join(dir, 'bad.yaml');
  fs.writeFileSync(bad, 'audit:\n  controller: x\n  purpose: [y]\n');
  const b = report(['--from', from, '--to', to, '--data', data, '--config', bad]);
  assert.equal(b.status, 2);
  assert.match(b.stderr, /bad\.yaml:3:3: .*purpose/);
  assert.equal(report(['--from', to, '--to', from, '--data', data]).status, 2);
  // ... and stops a collector or a centre from starting.
  for (const args of [['collector', '--data', path.join(dir, 'x'), '--config', bad],
    ['central', '--data', path.join(dir, 'y'), '--config', bad]]) {
    const s = spawnSync(tollgateBin(), args, { encoding: 'utf8', timeout: 20000 });
    assert.equal(s.status, 2, `${args[0]}: ${s.stderr}`);
    assert.match(s.stderr, /bad\.yaml:3:3: .*purpose/, args[0]);
  }

  // PDF: pages that render.
  const pdf = path.join(dir, 'report.pdf');
  const p = report(['--from', from, '--to', to, '--data', data, '--config', cfg, '--format', 'pdf', '--out', pdf]);
  assert.equal(p.status, 0, p.stderr);
  assert.equal(fs.readFileSync(pdf).subarray(0, 5).toString(), '%PDF-');
  const png = spawnSync('pdftoppm', ['-r', '60', '-png', pdf, path.join(dir, 'page')], { encoding: 'utf8' });
  assert.equal(png.status, 0, png.stderr);
  const pages = fs.readdirSync(dir).filter((f) => /^page-\d+\.png$/.test(f));
  assert.ok(pages.length >= 1, 'at least one page');
  for (const f of pages) {
    const head = fs.readFileSync(path.join(dir, f)).subarray(0, 8);
    assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  }

  // HTML: loads in chromium with no console error, and shows the counts.
  const html = path.join(dir, 'report.html');
  const h = report(['--from', from, '--to', to, '--data', data, '--config', cfg, '--format', 'html', '--out', html]);
  assert.equal(h.status, 0, h.stderr);
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium (scripts/install-deps.sh)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('requestfailed', (q) => problems.push(`request failed: ${q.url()}`));
    await page.goto(`file://${html}`);
    const cells = await page.locator('#egress + table tbody tr').count();
    assert.equal(cells, doc.egress.length);
    await sleep(100);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
