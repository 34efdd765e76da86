// Classification at ingest and per-class local retention, end to end.
//
// The collector runs the shipped default policy plus a site file that
// shortens pii.email's local retention to 3 s. Spans are sent through the
// official OpenTelemetry SDK (HTTP/protobuf): one trace carries an e-mail
// address, one carries nothing regulated. Every request is classified as it
// is ingested (/metrics), the record with the e-mail is stored with an
// expiry; once its class retention has passed, reads no longer return it
// and the retention pass deletes it from the local store, while the clean
// trace, which only the store's own limits govern, stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { SpanKind } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

import { Collector, tempDir } from './lib/collector.mjs';
import { eventually, getTrace, metricValue, parsePrometheus } from './lib/http.mjs';
import { makeExporters, TeeExporter } from './lib/otlp.mjs';

const root = process.cwd();
const defaultRules = path.join(root, 'rules', 'default.yaml');
const EMAIL = 'retention.probe@example.org';

async function metrics(c) {
  return parsePrometheus(await (await fetch(`${c.apiUrl}/metrics`)).text());
}

// One trace of one span per call, exported and acknowledged before return.
async function sendTrace(c, name, attributes) {
  const exp = makeExporters(c, 'http/protobuf', 'none');
  const tee = new TeeExporter(exp.traces);
  const tp = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'retention-e2e' }),
    spanProcessors: [new BatchSpanProcessor(tee)],
  });
  const span = tp.getTracer('e2e.retention').startSpan(name, { kind: SpanKind.SERVER, attributes });
  span.end();
  await tp.shutdown();
  tee.assertAllSucceeded('traces');
  return span.spanContext().traceId;
}

test('records expire at their class retention; others stay', { timeout: 90000 }, async () => {
  const dir = tempDir();
  const site = path.join(dir, 'site.yaml');
  fs.writeFileSync(site, 'version: 1\nclasses:\n  pii.email: {retention: 3s}\n');
  const c = new Collector({ dataDir: path.join(dir, 'data'), extraArgs: ['--rules', defaultRules, '--rules', site] });
  await c.start();
  try {
    const before = Date.now(); // the record cannot have been stored earlier
    const regulated = await sendTrace(c, 'GET /account', { 'user.email': EMAIL, 'http.route': '/account' });
    const clean = await sendTrace(c, 'GET /health', { 'http.route': '/health' });

    // Both are stored, and both requests were classified at ingest.
    assert.equal((await getTrace(c.apiUrl, regulated)).status, 200);
    assert.equal((await getTrace(c.apiUrl, clean)).status, 200);
    let m = await metrics(c);
    const classified = metricValue(m, 'tollgate_ingest_classified_requests_total');
    assert.ok(classified >= 2, `classified at ingest: ${classified}`);
    assert.equal(metricValue(m, 'tollgate_ingest_classify_failures_total'), 0);
    assert.ok(metricValue(m, 'tollgate_ingest_classified_values_total') >= 1);
    assert.equal(metricValue(m, 'tollgate_store_expiring_records'), 1, 'only the e-mail record has an expiry');

    // Reads stop seeing it once its retention ends; the retention pass
    // (every 10 s, and with every write) deletes it within 3 s + 10 s.
    const gone = await eventually(async () => (await getTrace(c.apiUrl, regulated, { expectStatus: null })).status === 404,
      { timeoutMs: 25000, intervalMs: 250 });
    assert.ok(gone, 'the record carrying pii.email is no longer served after its retention');
    assert.ok(Date.now() - before >= 3000, 'not before its retention');
    // Deleted, not just hidden: the counters say the store dropped it.
    m = await eventually(async () => {
      const mm = await metrics(c);
      return metricValue(mm, 'tollgate_store_expired_records_total') === 1 && mm;
    }, { timeoutMs: 15000, intervalMs: 250 });
    assert.ok(m, 'the retention pass deleted the record');
    assert.equal((await getTrace(c.apiUrl, clean)).status, 200, 'the clean record stays');

    assert.equal(metricValue(m, 'tollgate_store_expiring_records'), 0);
    assert.equal(metricValue(m, 'tollgate_store_records'), 1);
  } finally {
    const res = await c.stop();
    assert.equal(res.code, 0);
  }
});
