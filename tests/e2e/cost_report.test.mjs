// Finance end to end: an on-prem site (fra, amortised) and a cloud site
// (use1, metered with a reservation) forward measured use, sent through the
// official OpenTelemetry SDK (spans with GPU/CPU seconds and gen_ai token
// counts, GPU and CPU counters), to a centre whose site registry names each
// site's cost model. Every figure of `tollgate cost report` (per service,
// idle, counterfactual, unit economics, totals) equals the figure this test
// works out itself from the same inputs (the use the centre recorded and the
// models below), to the micro-unit; the FOCUS CSV is read back by Python's
// csv module and adds up to the same totals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { sleep, tempDir, tollgateBin } from './lib/collector.mjs';
import { Central, Site, waitFor } from './lib/central.mjs';
import { siteSdk } from './lib/traffic.mjs';

const HOUR = 3600n;
const SCALE = 1000000n;
const YEAR = 31536000n;

// round(n / d), half to even (docs/cost.md, "Money"), for BigInt n, d > 0.
function div(n, d) {
  const neg = n < 0n;
  const a = neg ? -n : n;
  let q = a / d;
  const r = a % d;
  if (r * 2n > d || (r * 2n === d && q % 2n === 1n)) q += 1n;
  return neg ? -q : q;
}
const money = (s) => {
  const [w, f = ''] = s.split('.');
  return BigInt(w) * SCALE + BigInt(f.padEnd(6, '0'));
};
// micro-units shown with two digits, half to even
function show(m) {
  const c = div(m, 10000n);
  const neg = c < 0n;
  const a = neg ? -c : c;
  return `${neg && a ? '-' : ''}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
}

// ---- the two models, as the sites' files say and as this test prices them
const now = Math.floor(Date.now() / 1000);
const purchase = new Date((now - 100 * 86400) * 1000).toISOString().slice(0, 10);
const purchaseT = BigInt(Date.parse(`${purchase}T00:00:00Z`) / 1000);
const sheetFrom = '2026-01-01';

const FRA = `cost_model:
  currency: EUR
  assets:
    - {name: h100, kind: gpu, count: 2, purchase_price: 87600, purchase_date: ${purchase},
       lifetime: 1y, method: straight-line, power_kw: 1}
    - {name: epyc, kind: cpu, count: 1, purchase_price: 8760, purchase_date: ${purchase},
       lifetime: 1y}
  power:
    pue: 1.5
    price_kwh: 0.20
    tariff:
      - {from: 7, to: 22, price_kwh: 0.40}
  facilities_per_year: 26280
  shared_split: {gpu-seconds: 60, cpu-seconds: 40}
`;
const USE1 = `cost_model:
  currency: EUR
  price_sheets:
    - provider: AWS
      region: us-east-1
      valid_from: ${sheetFrom}
      skus:
        - {sku: p5, meter: gpu-seconds, unit: GPU-hour, price: 6.00}
        - {sku: m7i, meter: cpu-seconds, unit: CPU-hour, price: 0.05}
        - {sku: tok-in, meter: gen_ai-input-tokens, unit: 1M tokens, price: 3.00}
        - {sku: tok-out, meter: gen_ai-output-tokens, unit: 1M tokens, price: 15.00}
      reserved:
        - {sku: gpu-1y, meter: gpu-seconds, unit: GPU-hour, units: 1, upfront: 8760,
           hourly: 2.00, term: 1y}
`;
const SHEET = {
  'gpu-seconds': [money('6.00'), 3600n],
  'cpu-seconds': [money('0.05'), 3600n],
  'gen_ai-input-tokens': [money('3.00'), 1000000n],
  'gen_ai-output-tokens': [money('15.00'), 1000000n],
};
const reservedStart = BigInt(Date.parse(`${sheetFrom}T00:00:00Z`) / 1000);
const ORDER = ['gpu-seconds', 'cpu-seconds', 'memory-gb-hours', 'stored-bytes', 'gen_ai-input-tokens',
  'gen_ai-output-tokens', 'gen_ai-requests'];

// The report's order within an hour: service, model, team, run, measure.
const cmpStr = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const byUse = (a, b) => cmpStr(a.service, b.service) || cmpStr(a.model, b.model) || cmpStr(a.team, b.team)
  || cmpStr(a.run, b.run) || ORDER.indexOf(a.measure) - ORDER.indexOf(b.measure);

function fraCapacity(kind, h) {
  const inLife = h >= purchaseT && h + HOUR <= purchaseT + YEAR;
  if (!inLife) throw new Error('the test hour is outside the assets\' life');
  if (kind === 'cpu') return [div(1n * money('8760') * HOUR, YEAR), 3600n];
  const hod = Number((h % 86400n) / 3600n);
  const price = hod >= 7 && hod < 22 ? money('0.40') : money('0.20');
  const dep = div(2n * money('87600') * HOUR, YEAR);
  const power = div(price * HOUR * 1000n * 2n * 1500n, 1000n * 1000n * 3600n);
  return [dep + power, 7200n];
}
const sheetCost = (measure, q) => div(q * HOUR * SHEET[measure][0], HOUR * SHEET[measure][1] * SCALE);

function allocFra(h, uses) {
  const lines = uses.map((u) => ({ use: u, eff: 0n, billed: 0n }));
  for (const [kind, measure] of [['gpu', 'gpu-seconds'], ['cpu', 'cpu-seconds']]) {
    const [C, secs] = fraCapacity(kind, h);
    const U = uses.filter((u) => u.measure === measure).reduce((a, u) => a + u.q, 0n);
    const denom = U > secs * SCALE ? U : secs * SCALE;
    let given = 0n;
    for (const l of lines) {
      if (!l.use || l.use.measure !== measure) continue;
      const s = div(C * l.use.q, denom);
      l.eff += s;
      given += s;
    }
    if (C - given) lines.push({ key: `__idle__ ${kind}`, eff: C - given, billed: 0n });
  }
  const pool = div(money('26280') * HOUR, YEAR);
  const split = { 'gpu-seconds': 60n, 'cpu-seconds': 40n };
  let left = pool;
  const measures = ORDER.filter((m) => split[m]);
  for (const m of measures) {
    const part = m === measures[measures.length - 1] ? left : div(pool * split[m], 100n);
    left -= part;
    const users = lines.filter((l) => l.use && l.use.measure === m);
    const U = users.reduce((a, l) => a + l.use.q, 0n);
    if (!U) {
      if (part) lines.push({ key: `__shared_idle__ ${m}`, eff: part, billed: 0n });
      continue;
    }
    let given = 0n;
    for (const l of users) {
      const s = div(part * l.use.q, U);
      l.eff += s;
      given += s;
    }
    users[users.length - 1].eff += part - given;
  }
  return lines;
}

function allocUse1(h, uses) {
  // requests are counted for unit economics, never priced
  const lines = uses.map((u) => ({ use: u, eff: SHEET[u.measure] ? sheetCost(u.measure, u.q) : 0n, billed: 0n }));
  for (const l of lines) l.billed = l.eff;
  // the reservation: 8760 upfront over a year plus 2.00 an hour, one GPU
  const term = YEAR;
  const ov = h >= reservedStart && h + HOUR <= reservedStart + term ? HOUR : 0n;
  if (!ov) return lines;
  const R = div(money('8760') * 1n * ov * 3600n + money('2.00') * 1n * ov * term, term * 3600n);
  const Rb = div(money('2.00') * 1n * ov, HOUR);
  const rq = (1n * 3600n * ov * SCALE) / HOUR;
  const users = lines.filter((l) => l.use.measure === 'gpu-seconds');
  const U = users.reduce((a, l) => a + l.use.q, 0n);
  const covered = U < rq ? U : rq;
  let given = 0n;
  let bgiven = 0n;
  const Rcov = div(R * covered, rq);
  const Rbcov = div(Rb * covered, rq);
  for (const l of users) {
    const s = div(Rcov * l.use.q, U);
    const b = div(Rbcov * l.use.q, U);
    const odq = div(l.use.q * (U - covered), U);
    const od = odq > 0n ? sheetCost('gpu-seconds', odq) : 0n;
    l.eff = s + od;
    l.billed = b + od;
    given += s;
    bgiven += b;
  }
  if (R - given || U === 0n) lines.push({ key: '__unused__ gpu-1y', eff: R - given, billed: Rb - bgiven, orphan: U === 0n });
  return lines;
}

test('cost report: every figure equals the test\'s own, to the micro-unit', { timeout: 180000 }, async () => {
  const dir = tempDir();
  const tokens = { fra: crypto.randomBytes(16).toString('hex'), use1: crypto.randomBytes(16).toString('hex') };
  fs.writeFileSync(path.join(dir, 'fra-cost.yaml'), FRA);
  fs.writeFileSync(path.join(dir, 'use1-cost.yaml'), USE1);
  for (const [n, t] of Object.entries(tokens)) fs.writeFileSync(path.join(dir, `${n}.token`), `${t}\n`, { mode: 0o600 });
  const sitesFile = path.join(dir, 'sites.yaml');
  fs.writeFileSync(sitesFile, `sites:
  - {name: fra, token_file: fra.token, cost_model: fra-cost.yaml, jurisdiction: DE, provider: ACME IT, region: fra-dc1}
  - {name: use1, token_file: use1.token, cost_model: use1-cost.yaml, jurisdiction: US, provider: AWS, region: us-east-1}
`);
  const central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile }).start();
  const fra = await new Site({ name: 'fra', dir: path.join(dir, 'fra'), token: tokens.fra,
    centralUrl: central.url, forward: { jurisdiction: 'DE', allow_keys: ['ml.run.id', 'team'] } }).start();
  const use1 = await new Site({ name: 'use1', dir: path.join(dir, 'use1'), token: tokens.use1,
    centralUrl: central.url, forward: { jurisdiction: 'US', allow_keys: ['team'] } }).start();

  // Two hours ago (whole hours): spans carry exact use at a known hour.
  const N = BigInt(Math.floor(Date.now() / 1000 / 3600) * 3600);
  const H = N - 2n * HOUR;
  const at = (s) => new Date(Number(H + s) * 1000);
  const trainer = siteSdk({ service: 'trainer', url: fra.httpUrl, site: 'fra', extraResource: { team: 'ml-research' } });
  const chat = siteSdk({ service: 'chat', url: use1.httpUrl, site: 'use1', extraResource: { team: 'web' } });
  for (const [i, gpu] of [[0, 1800], [1, 1200]]) {
    trainer.tracer.startSpan('train-step', { startTime: at(600n + BigInt(i)), attributes: {
      'tollgate.cost.gpu_seconds': gpu, 'tollgate.cost.cpu_seconds': 300, 'ml.run.id': 'run-7' } }).end(at(700n));
  }
  for (let i = 0; i < 3; i++) {
    chat.tracer.startSpan('chat gpt', { startTime: at(900n + BigInt(i)), attributes: {
      'gen_ai.request.model': 'gpt-x', 'ml.run.id': 'not-for-export', 'gen_ai.usage.input_tokens': 40000 + i,
      'gen_ai.usage.output_tokens': 10000, 'tollgate.cost.gpu_seconds': 1800 } }).end(at(950n));
  }
  // And counters now: GPU and CPU time as the SDK's cumulative sums.
  const gpuT = trainer.meter.createCounter('gpu.time', { unit: 's' });
  const cpuT = trainer.meter.createCounter('process.cpu.time', { unit: 's' });
  const chatGpu = chat.meter.createCounter('gpu.time', { unit: 's' });
  gpuT.add(600);
  cpuT.add(100);
  chatGpu.add(300);
  await trainer.flush();
  await chat.flush();
  await sleep(700);
  gpuT.add(3600);
  cpuT.add(1200);
  chatGpu.add(900);
  await sleep(700);
  for (const s of [trainer, chat]) await s.flush();
  for (const s of [trainer, chat]) await s.shutdown();

  const METERS = new Set(['gpu-seconds', 'cpu-seconds', 'gen_ai-input-tokens', 'gen_ai-output-tokens', 'gen_ai-requests']);
  const useRows = () => central.export().records.filter((r) => r.type === 'cost' && METERS.has(r.SkuMeter));
  const rows = await waitFor(() => {
    const r = useRows();
    const sum = (site, meter, pred = () => true) => r.filter((x) => x.site === site && x.SkuMeter === meter && pred(x))
      .reduce((a, x) => a + x.ConsumedQuantity, 0);
    const later = (x) => Date.parse(x.ChargePeriodStart) / 1000 >= Number(N);
    return sum('fra', 'gpu-seconds', (x) => !later(x)) === 3000 && sum('use1', 'gen_ai-output-tokens') === 30000
      && sum('fra', 'gpu-seconds', later) >= 3600 && sum('fra', 'cpu-seconds', later) >= 1200
      && sum('use1', 'gpu-seconds', later) >= 900 && r;
  }, { timeoutMs: 40000, what: 'both sites\' use at the centre' });
  await sleep(1500); // a last batch of counter deltas may still be in flight
  const final = useRows();
  assert.ok(final.length >= rows.length);

  // The span-hour use is exactly what was sent.
  const q = (site, meter, hour) => final.filter((x) => x.site === site && x.SkuMeter === meter
    && BigInt(Date.parse(x.ChargePeriodStart) / 1000) === hour).reduce((a, x) => a + x.ConsumedQuantity, 0);
  assert.equal(q('fra', 'gpu-seconds', H), 3000);
  assert.equal(q('fra', 'cpu-seconds', H), 600);
  assert.equal(q('use1', 'gpu-seconds', H), 5400);
  assert.equal(q('use1', 'gen_ai-input-tokens', H), 120003);
  assert.equal(q('use1', 'gen_ai-output-tokens', H), 30000);
  assert.equal(q('use1', 'gen_ai-requests', H), 3); // one per span of the GenAI conventions

  // ---- what the report must say, worked out here
  const from = H;
  const to = N + 2n * HOUR;
  const iso = (t) => new Date(Number(t) * 1000).toISOString().replace('.000Z', 'Z');
  // Groups of the report by `by`, as this test works them out.
  const work = (by) => {
    const expected = new Map(); // site/key -> figures
    const get = (site, key) => {
      const k = `${site}/${key}`;
      if (!expected.has(k)) expected.set(k, { site, key, eff: 0n, billed: 0n, cf: 0n, hasCf: false, gpu: 0n, tok: 0n, inf: 0n, orphan: false });
      return expected.get(k);
    };
    let total = 0n;
    let idle = 0n;
    let orphanHours = 0;
    for (let h = from; h < to; h += HOUR) {
      for (const site of ['fra', 'use1']) {
        const uses = final.filter((x) => x.site === site && BigInt(Date.parse(x.ChargePeriodStart) / 1000) === h)
          .map((x) => ({ service: x.ServiceName, model: x.x_Model, team: x.x_Team, run: x.x_Run, measure: x.SkuMeter,
            q: BigInt(Math.round(x.ConsumedQuantity * 1e6)) }))
          .sort(byUse);
        const lines = site === 'fra' ? allocFra(h, uses) : allocUse1(h, uses);
        for (const l of lines) {
          if (l.orphan) orphanHours++;
          const key = !l.use ? l.key : by === 'site' ? site : (l.use[by] || 'unattributed');
          const g = get(site, key);
          g.eff += l.eff;
          g.billed += l.billed;
          g.orphan ||= !!l.orphan;
          total += l.eff;
          if (!l.use) { idle += l.eff; continue; }
          if (l.use.measure === 'gpu-seconds') g.gpu += l.use.q;
          if (l.use.measure.endsWith('tokens')) g.tok += l.use.q;
          if (l.use.measure === 'gen_ai-requests') { g.inf += l.use.q; continue; }
          if (site === 'fra') {
            g.hasCf = true;
            g.cf += sheetCost(l.use.measure, l.use.q); // at us-east-1's sheet
          }
        }
      }
    }
    return { expected, total, idle, orphanHours };
  };
  const { expected, total, idle, orphanHours } = work('service');
  assert.equal(expected.get('use1/chat').inf, 3n * SCALE);

  const report = spawnSync(tollgateBin(), ['cost', 'report', '--from', iso(from), '--to', iso(to), '--by', 'service',
    '--compare', 'us-east-1', '--format', 'json', '--endpoint', central.url, '--token', tokens.fra], { encoding: 'utf8' });
  assert.equal(report.status, 0, report.stderr);
  const doc = JSON.parse(report.stdout);
  assert.equal(doc.currency, 'EUR');
  assert.equal(doc.groups.length, expected.size, `groups ${doc.groups.map((g) => `${g.site}/${g.key}`)}`);
  for (const g of doc.groups) {
    const e = expected.get(`${g.site}/${g.key}`);
    assert.ok(e, `unexpected group ${g.site}/${g.key}`);
    assert.equal(BigInt(g.effective_cost_micro), e.eff, `${g.site}/${g.key} effective`);
    assert.equal(g.effective_cost, show(e.eff));
    assert.equal(BigInt(g.billed_cost_micro), e.billed, `${g.site}/${g.key} billed`);
    assert.equal(g.cost_model, g.site === 'fra' ? 'amortised' : 'metered');
    assert.equal(g.possibly_orphaned, e.orphan);
    if (e.hasCf) assert.equal(BigInt(g.counterfactual_cost_micro), e.cf, `${g.site}/${g.key} counterfactual`);
    else assert.equal(g.counterfactual_cost, null);
    if (e.gpu) assert.equal(BigInt(g.cost_per_gpu_hour_micro), div(e.eff * 3600n * SCALE, e.gpu));
    if (e.tok) assert.equal(BigInt(g.cost_per_million_tokens_micro), div(e.eff * 1000000n * SCALE, e.tok));
    if (e.inf) assert.equal(BigInt(g.cost_per_1000_inferences_micro), div(e.eff * 1000n * SCALE, e.inf));
    else assert.equal(g.cost_per_1000_inferences, null);
  }
  assert.equal(BigInt(doc.totals.effective_cost_micro), total);
  assert.equal(BigInt(doc.totals.idle_cost_micro), idle);
  // on-prem usage is never invoiced
  for (const g of doc.groups.filter((x) => x.site === 'fra')) assert.equal(g.billed_cost_micro, 0);
  // the empty hour between: the whole GPU capacity idles there
  assert.ok(expected.get('fra/__idle__ gpu').eff > fraCapacity('gpu', H + HOUR)[0]);

  // The other way round: cloud use at the on-prem full-utilisation rate.
  const back = spawnSync(tollgateBin(), ['cost', 'report', '--from', iso(from), '--to', iso(to), '--compare', 'fra',
    '--format', 'json', '--endpoint', central.url, '--token', tokens.use1], { encoding: 'utf8' });
  assert.equal(back.status, 0, back.stderr);
  let chatCf = 0n;
  for (const x of final.filter((r) => r.site === 'use1' && (r.SkuMeter === 'gpu-seconds' || r.SkuMeter === 'cpu-seconds'))) {
    const h = BigInt(Date.parse(x.ChargePeriodStart) / 1000);
    const [C, secs] = fraCapacity(x.SkuMeter === 'gpu-seconds' ? 'gpu' : 'cpu', h);
    chatCf += div(C * BigInt(Math.round(x.ConsumedQuantity * 1e6)), secs * SCALE);
  }
  const chatG = JSON.parse(back.stdout).groups.find((g) => g.site === 'use1' && g.key === 'chat');
  assert.equal(BigInt(chatG.counterfactual_cost_micro), chatCf);

  // By model, team and run: attributed from the telemetry, as the view let
  // it through (use1's view withholds ml.run.id: its use is unattributed).
  for (const by of ['model', 'team', 'run', 'site']) {
    const w = work(by);
    const r = spawnSync(tollgateBin(), ['cost', 'report', '--from', iso(from), '--to', iso(to), '--by', by,
      '--format', 'json', '--endpoint', central.url, '--token', tokens.fra], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.deepEqual(d.groups.map((g) => `${g.site}/${g.key}`).sort(), [...w.expected.keys()].sort(), by);
    for (const g of d.groups) assert.equal(BigInt(g.effective_cost_micro), w.expected.get(`${g.site}/${g.key}`).eff, `${by} ${g.key}`);
    assert.equal(BigInt(d.totals.effective_cost_micro), total);
  }
  assert.ok(work('model').expected.has('use1/gpt-x'));
  assert.ok(work('team').expected.has('fra/ml-research') && work('team').expected.has('use1/web'));
  assert.ok(work('run').expected.has('fra/run-7') && work('run').expected.has('use1/unattributed'));
  assert.ok(!JSON.stringify(final).includes('not-for-export'), 'a withheld run id reached the centre');

  // The table and CSV forms print the same rounded figures.
  const csv = spawnSync(tollgateBin(), ['cost', 'report', '--from', iso(from), '--to', iso(to), '--format', 'csv',
    '--endpoint', central.url, '--token', tokens.fra], { encoding: 'utf8' });
  assert.equal(csv.status, 0, csv.stderr);
  assert.match(csv.stdout, new RegExp(`^fra,trainer,amortised,${show(expected.get('fra/trainer').eff).replace('.', '\\.')},`, 'm'));

  // FOCUS: read back by Python's csv module; every row's columns as the
  // spec says; the rows add up to the report's total, exactly.
  const focus = spawnSync(tollgateBin(), ['cost', 'export', '--focus', '--from', iso(from), '--to', iso(to),
    '--endpoint', central.url, '--token', tokens.fra], { encoding: 'utf8' });
  assert.equal(focus.status, 0, focus.stderr);
  const focusFile = path.join(dir, 'focus.csv');
  fs.writeFileSync(focusFile, focus.stdout);
  const py = spawnSync('python3', ['-c', `
import csv, sys, json
from decimal import Decimal
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
print(json.dumps({
  'n': len(rows),
  'columns': list(rows[0].keys()),
  'effective': str(sum(Decimal(r['EffectiveCost']) for r in rows)),
  'fra_billed': str(sum(Decimal(r['BilledCost']) for r in rows if r['x_Site'] == 'fra')),
  'providers': sorted({r['ServiceProviderName'] + '|' + r['HostProviderName'] for r in rows}),
  'models': sorted({r['x_CostModel'] for r in rows}),
  'orphans': sum(1 for r in rows if r['x_PossiblyOrphaned'] == 'true'),
}))`, focusFile], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const f = JSON.parse(py.stdout);
  for (const c of ['BilledCost', 'EffectiveCost', 'ListCost', 'ContractedCost', 'BillingCurrency', 'ChargeCategory',
    'ChargePeriodStart', 'ChargePeriodEnd', 'ServiceProviderName', 'HostProviderName', 'ServiceName',
    'x_Site', 'x_Jurisdiction', 'x_CostModel', 'x_Team', 'x_Model', 'x_Run']) assert.ok(f.columns.includes(c), c);
  assert.ok(!f.columns.includes('ProviderName') && !f.columns.includes('PublisherName'));
  assert.equal(money(f.effective), total);
  assert.equal(money(f.fra_billed), 0n);
  assert.deepEqual(f.providers, ['ACME IT|ACME IT', 'AWS|AWS']);
  assert.deepEqual(f.models, ['amortised', 'metered']);
  // the reservation nobody used, hour by hour: possibly orphaned
  assert.ok(orphanHours >= 1);
  assert.equal(f.orphans, orphanHours);

  // Without a token: 401.
  const anon = await fetch(`${central.url}/api/v1/cost/report?from=${iso(from)}&to=${iso(to)}`);
  assert.equal(anon.status, 401);

  await fra.stop();
  await use1.stop();
  const res = await central.stop();
  assert.equal(res.code, 0);
});

test('a bad cost model stops the centre with exit 2 and FILE:LINE:COLUMN', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'x.token'), `${crypto.randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'sites.yaml'), 'sites:\n  - {name: x, token_file: x.token, cost_model: bad.yaml}\n');
  // FILE:LINE:COLUMN of the n-th `needle` in text, plus `shift` columns
  const at = (text, needle, shift = 0, nth = 0) => {
    let i = -1;
    for (let k = 0; k <= nth; k++) i = text.indexOf(needle, i + 1);
    const before = text.slice(0, i).split('\n');
    return `bad.yaml:${before.length}:${before[before.length - 1].length + 1 + shift}:`;
  };
  const neg = FRA.replace('purchase_price: 87600', 'purchase_price: -87600');
  const zero = FRA.replace('lifetime: 1y, method', 'lifetime: 0s, method');
  const tpu = FRA.replace('kind: gpu', 'kind: tpu');
  const overlap = `${USE1}    - provider: AWS\n      region: us-east-1\n      valid_from: 2026-06-01\n`;
  const cases = [
    [neg, `${at(neg, '-87600')} purchase_price: a price cannot be negative`],
    [zero, `${at(zero, '0s')} lifetime must be longer than zero`],
    [tpu, `${at(tpu, 'tpu')} kind (cpu|gpu|storage|network): unknown value "tpu"`],
    [overlap, `${at(overlap, '- provider', 2, 1)} price sheet overlaps the one at line 4 for AWS us-east-1`],
  ];
  for (const [yaml, want] of cases) {
    fs.writeFileSync(path.join(dir, 'bad.yaml'), yaml);
    const r = spawnSync(tollgateBin(), ['central', '--data', path.join(dir, 'c'), '--listen', '127.0.0.1:0',
      '--sites', path.join(dir, 'sites.yaml')], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stderr.includes(`${path.sep}${want}`), `${r.stderr} lacks ${want}`);
  }
});
