// `tollgate query trace ID`: a readable span tree naming every span, and
// with --json the OTLP/JSON document, which matches the site API's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';

import { context, SpanKind, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

import { freePort, startCollector, tempDir, tollgateBin } from './lib/collector.mjs';
import { getTrace } from './lib/http.mjs';
import { assertShape, flattenSpans, makeExporters, normalize, TeeExporter } from './lib/otlp.mjs';

const RUN = crypto.randomBytes(3).toString('hex');
let c;
let traceId;
// name -> parent name
const TREE = {
  'checkout frontend': null,
  'auth verify token': 'checkout frontend',
  'cart service load': 'checkout frontend',
  'postgres select cart': 'cart service load',
  'redis get session': 'auth verify token',
  'payment gateway call': 'checkout frontend',
};

function run(args, { timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(tollgateBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`tollgate ${args.join(' ')} timed out`)); }, timeoutMs);
    p.on('error', reject);
    p.on('exit', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
  });
}

before(async () => {
  c = await startCollector({ dataDir: path.join(tempDir(), 'data'), site: 'clisite' });
  const exp = makeExporters(c, 'grpc', 'none');
  const tee = new TeeExporter(exp.traces);
  const tp = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `e2e-cli-${RUN}` }),
    spanProcessors: [new BatchSpanProcessor(tee)],
  });
  const tracer = tp.getTracer('e2e.cli');
  const spans = {};
  const t0 = Date.now();
  let i = 0;
  for (const [name, parent] of Object.entries(TREE)) {
    const ctx = parent ? trace.setSpan(context.active(), spans[parent]) : context.active();
    spans[name] = tracer.startSpan(name, { kind: parent ? SpanKind.INTERNAL : SpanKind.SERVER, startTime: t0 + i++ }, ctx);
  }
  for (const name of Object.keys(TREE).reverse()) spans[name].end(t0 + 100 + i++);
  await tp.shutdown();
  tee.assertAllSucceeded('traces');
  traceId = spans['checkout frontend'].spanContext().traceId;
});

after(async () => {
  if (c) assert.equal((await c.stop()).code, 0);
});

test('prints a tree naming every span, children under their parents', async () => {
  const r = await run(['query', '--endpoint', c.apiUrl, '--token', c.queryToken, 'trace', traceId]);
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  const lines = r.stdout.split('\n');
  const where = {};
  for (const name of Object.keys(TREE)) {
    const hits = lines.map((l, n) => [l.indexOf(name), n]).filter(([col]) => col >= 0);
    assert.equal(hits.length, 1, `span "${name}" named once in:\n${r.stdout}`);
    where[name] = { col: hits[0][0], line: hits[0][1] };
  }
  for (const [name, parent] of Object.entries(TREE)) {
    if (!parent) continue;
    assert.ok(where[name].line > where[parent].line, `"${name}" comes after its parent "${parent}":\n${r.stdout}`);
    assert.ok(where[name].col > where[parent].col, `"${name}" is indented under "${parent}":\n${r.stdout}`);
    // Every line between a parent and its child belongs to the parent's subtree.
    for (let n = where[parent].line + 1; n < where[name].line; n++) {
      const other = Object.keys(TREE).find((k) => where[k].line === n);
      if (other) assert.ok(where[other].col > where[parent].col, `"${other}" interrupts "${parent}" subtree:\n${r.stdout}`);
    }
  }
  assert.ok(r.stdout.includes(traceId), 'the trace id is printed');
});

test('--json prints the OTLP/JSON document the API serves', async () => {
  const r = await run(['query', '--endpoint', c.apiUrl, '--token', c.queryToken, 'trace', traceId, '--json']);
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  const doc = JSON.parse(r.stdout);
  // One JSON document: the federated answer, this site alone, complete.
  assert.equal(doc.is_partial, false);
  assert.equal(doc._sites.successful, 1);
  // The site says what the read cost it.
  assert.ok(doc.stats.inspectedRecords >= 1 && doc.stats.inspectedBytes > 0 && doc.stats.tookMs >= 0);
  assertShape(doc.trace, 'query --json');
  const cli = flattenSpans(doc.trace);
  assert.deepEqual(cli.map((s) => s.item.name).sort(), Object.keys(TREE).sort());
  const byId = new Map(cli.map((s) => [s.item.spanId, s.item]));
  for (const s of cli) {
    const parent = TREE[s.item.name];
    if (parent) assert.equal(byId.get(s.item.parentSpanId)?.name, parent);
    assert.equal(s.item.traceId, traceId);
  }
  const { json } = await getTrace(c.apiUrl, traceId);
  const key = (x) => x.item.spanId;
  assert.deepEqual(normalize(cli.sort((a, b) => (key(a) < key(b) ? -1 : 1))),
    normalize(flattenSpans(json).sort((a, b) => (key(a) < key(b) ? -1 : 1))));
});

test('unknown trace exits 1, malformed id exits 2, unreachable endpoint exits 1', async () => {
  const r1 = await run(['query', '--endpoint', c.apiUrl, '--token', c.queryToken, 'trace', crypto.randomBytes(16).toString('hex')]);
  assert.equal(r1.code, 1, `unknown trace: ${r1.stdout}${r1.stderr}`);
  assert.match(r1.stderr, /not found/i);
  const r2 = await run(['query', '--endpoint', c.apiUrl, '--token', c.queryToken, 'trace', 'xyz']);
  assert.equal(r2.code, 2, `malformed id: ${r2.stdout}${r2.stderr}`);
  const port = await freePort();
  const r3 = await run(['query', '--endpoint', `http://127.0.0.1:${port}`, 'trace', traceId]);
  assert.equal(r3.code, 1, `unreachable: ${r3.stdout}${r3.stderr}`);
  assert.ok(r3.stderr.length > 0, 'says why');
  // The site's data endpoints authenticate: no token, or a wrong one, reads nothing.
  const r4 = await run(['query', '--endpoint', c.apiUrl, 'trace', traceId]);
  assert.equal(r4.code, 1, `no token: ${r4.stdout}${r4.stderr}`);
  assert.match(r4.stderr, /401|token/i);
  assert.doesNotMatch(r4.stdout, new RegExp(traceId));
  const r5 = await run(['query', '--endpoint', c.apiUrl, '--token', 'wrong', 'trace', traceId]);
  assert.equal(r5.code, 1, `wrong token: ${r5.stdout}${r5.stderr}`);
  assert.match(r5.stderr, /401|token/i);
});
