// SIGTERM drains, commits and exits 0 within 10 s; after a restart on the
// same data directory everything acknowledged is there. Once idle, once
// with clients still sending.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';

import { context, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';

import { Collector, sleep, tempDir } from './lib/collector.mjs';
import { getLogs, getTrace } from './lib/http.mjs';
import { flattenLogs, flattenSpans, makeExporters, makeSpanFactory, TeeExporter } from './lib/otlp.mjs';

const RUN = crypto.randomBytes(3).toString('hex');

test('idle: SIGTERM exits 0 and the data is there after restart', { timeout: 60000 }, async () => {
  const dataDir = path.join(tempDir(), 'data');
  const service = `e2e-sigterm-${RUN}`;
  let c = new Collector({ dataDir, site: 'termsite' });
  await c.start();

  const exp = makeExporters(c, 'http/protobuf', 'none');
  const tt = new TeeExporter(exp.traces);
  const tl = new TeeExporter(exp.logs);
  const resource = resourceFromAttributes({ 'service.name': service });
  const tp = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(tt)] });
  const tracer = tp.getTracer('sigterm');
  const root = tracer.startSpan('shutdown-root');
  const child = tracer.startSpan('shutdown-child', {}, trace.setSpan(context.active(), root));
  child.end();
  root.end();
  await tp.shutdown();
  const lp = new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor({ exporter: tl })] });
  lp.getLogger('sigterm').emit({ body: 'before shutdown', attributes: { 'log.seq': 1 } });
  await lp.shutdown();
  tt.assertAllSucceeded('traces');
  tl.assertAllSucceeded('logs');

  const res = await c.stop({ timeoutMs: 10000 });
  assert.equal(res.code, 0, `exit ${JSON.stringify(res)}\n${c.stderr().slice(-3000)}`);
  assert.equal(res.signal, null);
  assert.ok(res.ms < 10000);

  c = new Collector({ dataDir, site: 'termsite' });
  await c.start();
  const { json } = await getTrace(c.apiUrl, root.spanContext().traceId);
  assert.deepEqual(flattenSpans(json).map((s) => s.item.name).sort(), ['shutdown-child', 'shutdown-root']);
  const { json: logs } = await getLogs(c.apiUrl, service);
  assert.deepEqual(flattenLogs(logs).map((l) => l.item.body), [{ stringValue: 'before shutdown' }]);
  const res2 = await c.stop();
  assert.equal(res2.code, 0);
});

test('under load: SIGTERM answers or refuses every request, exits 0, loses nothing acknowledged', { timeout: 90000 }, async () => {
  const dataDir = path.join(tempDir(), 'data');
  const factory = makeSpanFactory(`e2e-sigterm-load-${RUN}`);
  let c = new Collector({ dataDir, site: 'termsite' });
  await c.start();
  const state = { stop: false, acked: [], refused: {}, failed: 0 };
  const sender = async () => {
    while (!state.stop) {
      const b = factory.traceBatch(50);
      try {
        const r = await fetch(`${c.httpUrl}/v1/traces`, {
          method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: b.body,
          signal: AbortSignal.timeout(15000),
        });
        await r.arrayBuffer();
        if (r.status === 200) state.acked.push(b);
        else {
          state.refused[r.status] = (state.refused[r.status] || 0) + 1;
          assert.ok(r.status === 503 || r.status === 429, `refusal during shutdown is 503/429, got ${r.status}`);
          assert.ok(r.headers.get('retry-after'), 'refusal carries Retry-After');
        }
      } catch {
        state.failed += 1; // connection refused once the listener is closed
        await sleep(20);
      }
    }
  };
  const senders = Array.from({ length: 4 }, sender);
  await sleep(800);
  const res = await c.stop({ timeoutMs: 10000 });
  state.stop = true;
  await Promise.all(senders);
  assert.equal(res.code, 0, `exit ${JSON.stringify(res)}\n${c.stderr().slice(-3000)}`);
  assert.ok(state.acked.length > 0, 'some requests were acknowledged');
  console.log(`acknowledged ${state.acked.length}, refused ${JSON.stringify(state.refused)}, failed ${state.failed}, exit in ${res.ms} ms`);

  c = new Collector({ dataDir, site: 'termsite' });
  await c.start();
  const lost = [];
  for (const b of state.acked) {
    const { status, json } = await getTrace(c.apiUrl, b.traceId, { expectStatus: null });
    const have = status === 200 ? new Set(flattenSpans(json).map((s) => s.item.spanId)) : new Set();
    const missing = b.spanIds.filter((id) => !have.has(id));
    if (missing.length) lost.push(`${b.traceId}: ${missing.length} spans missing`);
  }
  assert.deepEqual(lost, []);
  const res2 = await c.stop();
  assert.equal(res2.code, 0);
});
