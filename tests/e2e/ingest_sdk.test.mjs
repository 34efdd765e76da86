// End-to-end ingest through the official OpenTelemetry JavaScript SDK
// exporters: for each transport (gRPC, HTTP/protobuf, HTTP/JSON) with and
// without gzip, send traces, logs and metrics to a real collector, read
// them back from the site API and compare field by field with the SDK's own
// serialisation of exactly what the exporters were handed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';

import { context, SpanKind, SpanStatusCode, trace, ValueType } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { AggregationType, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

import { startCollector, tempDir } from './lib/collector.mjs';
import { getLogs, getMetrics, getTrace, metricValue, parsePrometheus } from './lib/http.mjs';
import {
  assertSameItems, assertShape, attr, expectedLogs, expectedMetrics, expectedTraces,
  flattenLogs, flattenMetrics, flattenSpans, makeExporters, normalize, TeeExporter, TRANSPORTS,
} from './lib/otlp.mjs';

const SCHEMA_URL = 'https://opentelemetry.io/schemas/1.26.0';
const RUN = crypto.randomBytes(3).toString('hex');
const dir = tempDir();
let collector;
// spans / log records / data points sent per signal and transport, to check
// the collector's own counters at the end.
const sent = { traces: { grpc: 0, http: 0 }, logs: { grpc: 0, http: 0 }, metrics: { grpc: 0, http: 0 } };

before(async () => {
  collector = await startCollector({ dataDir: path.join(dir, 'data'), site: 'e2e-ingest' });
});

after(async () => {
  if (!collector) return;
  const res = await collector.stop();
  assert.equal(res.code, 0, `collector exit ${JSON.stringify(res)}\n${collector.stderr().slice(-4000)}`);
});

function resourceFor(service) {
  return resourceFromAttributes({
    'service.name': service,
    'service.version': '1.4.2',
    'service.instance.id': `inst-${RUN}`,
    'deployment.environment.name': 'e2e',
    'host.cpu.count': 16,
    'process.runtime.available': true,
    'cloud.region.weight': 0.75,
    'k8s.node.labels': ['gpu', 'eu-central'],
  });
}

// Wall-clock base with nanosecond detail, so precision loss shows.
const NOW_S = Math.floor(Date.now() / 1000) - 60;
const at = (ms, ns = 0) => [NOW_S, ms * 1e6 + ns];

// Attribute values of every type a span attribute may hold.
const SPAN_ATTRS = {
  'http.request.method': 'GET',
  'url.full': 'https://shop.example/checkout?cart=42&coupon=ÉTÉ-2024',
  'utf8.text': 'Grüße aus 東京 🚀',
  'empty.string': '',
  'http.response.status_code': 200,
  'retry.delta': -7,
  'big.int': 9007199254740991,
  'sample.ratio': 0.25,
  'negative.double': -1.5e-7,
  'cache.hit': true,
  'cache.cold': false,
  'tags': ['checkout', 'eu', ''],
  'shard.ids': [3, 1, 4, 1, 5],
  'weights': [0.5, 1.25],
  'flags': [true, false, true],
};

async function emitTraces(exporter, service) {
  const tp = new BasicTracerProvider({
    resource: resourceFor(service),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 60000, maxExportBatchSize: 512 })],
  });
  const tracer = tp.getTracer('e2e.checkout', '2.3.4', { schemaUrl: SCHEMA_URL });
  const remoteParent = {
    traceId: crypto.randomBytes(16).toString('hex'),
    spanId: crypto.randomBytes(8).toString('hex'),
    traceFlags: 1,
    isRemote: true,
    traceState: new TraceState('tg=e2e,vendor=abc'),
  };
  const parentCtx = trace.setSpanContext(context.active(), remoteParent);
  const root = tracer.startSpan('GET /checkout', {
    kind: SpanKind.SERVER, startTime: at(0, 123), attributes: SPAN_ATTRS,
  }, parentCtx);
  const rootCtx = trace.setSpan(context.active(), root);

  const db = tracer.startSpan('SELECT orders', {
    kind: SpanKind.CLIENT, startTime: at(1, 7),
    attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'SELECT * FROM orders WHERE id = $1' },
  }, rootCtx);
  db.addEvent('db.retry', { 'retry.attempt': 2, 'retry.backoff_s': 0.05, 'retry.final': false }, at(2, 9));
  db.addEvent('exception', { 'exception.type': 'TimeoutError', 'exception.message': 'shard 3 timed out' }, at(3, 1));
  db.setStatus({ code: SpanStatusCode.ERROR, message: 'deadline exceeded on shard 3' });
  db.end(at(5, 11));

  const producer = tracer.startSpan('publish order.created', {
    kind: SpanKind.PRODUCER, startTime: at(6),
    links: [{ context: db.spanContext(), attributes: { 'link.reason': 'caused-by', 'link.weight': 3 } }],
  }, rootCtx);
  producer.end(at(7, 500));

  const internal = tracer.startSpan('render receipt', { kind: SpanKind.INTERNAL, startTime: at(7, 600) }, rootCtx);
  internal.setStatus({ code: SpanStatusCode.OK });
  internal.end(at(8));
  root.end(at(10, 999));

  // A second trace: a consumer in its own trace, linked to the producer.
  const consumer = tracer.startSpan('consume order.created', {
    kind: SpanKind.CONSUMER, root: true, startTime: at(20),
    links: [{ context: producer.spanContext(), attributes: { 'messaging.batch.index': 0 } }],
  });
  consumer.end(at(25));

  await tp.forceFlush();
  await tp.shutdown();
  return { rootSpanContext: root.spanContext() };
}

async function emitLogs(exporter, service, spanContext) {
  const lp = new LoggerProvider({
    resource: resourceFor(service),
    processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 60000 })],
  });
  const logger = lp.getLogger('e2e.logger', '0.9.1', { schemaUrl: SCHEMA_URL });
  const traced = trace.setSpanContext(context.active(), spanContext);
  logger.emit({
    timestamp: at(11, 1), observedTimestamp: at(11, 2),
    severityNumber: SeverityNumber.INFO, severityText: 'INFO',
    body: 'user checked out: Grüße 🚀',
    attributes: {
      'log.seq': 1, 'user.tier': 'gold', 'cart.items': 3, 'cart.total': 99.95, 'user.new': false,
      'payload.raw': new Uint8Array([0, 1, 2, 0xfe, 0xff]),
      'request.headers': { accept: 'application/json', 'x-retry': 2, nested: { deep: true } },
      'mixed.list': [1, 'two', 3.5, false],
    },
    context: traced,
  });
  logger.emit({
    timestamp: at(12), observedTimestamp: at(12, 5),
    severityNumber: SeverityNumber.ERROR2, severityText: 'ERROR',
    body: {
      message: 'payment declined', code: 402, retryable: false, ratio: 0.5,
      blob: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
      details: { gateway: 'acme', attempts: [1, 2, 3], meta: { region: 'eu' } },
    },
    attributes: { 'log.seq': 2, 'exception.type': 'CardDeclined' },
    context: traced,
  });
  logger.emit({
    timestamp: at(13), severityNumber: SeverityNumber.DEBUG,
    body: ['a', 1, true, 2.5],
    attributes: { 'log.seq': 3 },
    eventName: 'e2e.list_body',
  });
  await lp.forceFlush();
  await lp.shutdown();
}

async function emitMetrics(exporter, service) {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3600000 });
  const mp = new MeterProvider({
    resource: resourceFor(service),
    readers: [reader],
    views: [{ instrumentName: 'e2e.payload.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const meter = mp.getMeter('e2e.meter', '3.1.0', { schemaUrl: SCHEMA_URL });
  meter.createCounter('e2e.requests', { unit: '{request}', description: 'Requests served' })
    .add(5, { route: '/checkout', ok: true });
  meter.createCounter('e2e.requests.int', { valueType: ValueType.INT }).add(7, { route: '/cart' });
  const inflight = meter.createUpDownCounter('e2e.inflight', { valueType: ValueType.INT });
  inflight.add(10);
  inflight.add(-13);
  const lat = meter.createHistogram('e2e.latency', {
    unit: 'ms', advice: { explicitBucketBoundaries: [1, 10, 100, 1000] },
  });
  for (const v of [0.5, 5, 50, 500, 5000, 7]) lat.record(v, { route: '/checkout' });
  const size = meter.createHistogram('e2e.payload.size', { unit: 'By' });
  for (const v of [100, 200, 400, 800, 1600]) size.record(v);
  meter.createObservableGauge('e2e.temperature', { unit: 'Cel' })
    .addCallback((r) => { r.observe(21.5, { sensor: 'a' }); r.observe(-3.25, { sensor: 'b' }); });
  meter.createGauge('e2e.queue.depth', { valueType: ValueType.INT }).record(42);
  meter.createObservableCounter('e2e.cpu.time', { unit: 's' }).addCallback((r) => r.observe(12.75));
  // shutdown() collects and exports once, then shuts the exporter down.
  await mp.shutdown();
}

const transportLabel = (t) => (t === 'grpc' ? 'grpc' : 'http');

for (const transport of TRANSPORTS) {
  for (const compression of ['none', 'gzip']) {
    test(`${transport} compression=${compression}: traces, logs, metrics round-trip`, async () => {
      const service = `e2e-${transport.replace('/', '-')}-${compression}-${RUN}`;
      const exp = makeExporters(collector, transport, compression);
      const tees = { traces: new TeeExporter(exp.traces), logs: new TeeExporter(exp.logs), metrics: new TeeExporter(exp.metrics) };

      const { rootSpanContext } = await emitTraces(tees.traces, service);
      await emitLogs(tees.logs, service, rootSpanContext);
      await emitMetrics(tees.metrics, service);
      tees.traces.assertAllSucceeded(`${transport} traces`);
      tees.logs.assertAllSucceeded(`${transport} logs`);
      tees.metrics.assertAllSucceeded(`${transport} metrics`);

      // --- traces -----------------------------------------------------------
      const spans = tees.traces.batches.flat();
      assert.equal(spans.length, 5);
      sent.traces[transportLabel(transport)] += spans.length;
      const expected = flattenSpans(expectedTraces(spans));
      const byTrace = new Map();
      for (const e of expected) {
        if (!byTrace.has(e.item.traceId)) byTrace.set(e.item.traceId, []);
        byTrace.get(e.item.traceId).push(e);
      }
      assert.equal(byTrace.size, 2);
      for (const [traceId, exp1] of byTrace) {
        const { json } = await getTrace(collector.apiUrl, traceId);
        assertShape(json, `trace ${traceId}`);
        const actual = flattenSpans(json);
        assertSameItems(actual, exp1, (x) => x.item.spanId, `${transport}/${compression} trace ${traceId}`);
      }
      // Spot checks that do not depend on the SDK's serialisation.
      const { json: doc } = await getTrace(collector.apiUrl, rootSpanContext.traceId);
      const all = flattenSpans(doc);
      const root = all.find((x) => x.item.name === 'GET /checkout').item;
      assert.equal(root.kind, 2);
      assert.deepEqual(attr(root, 'http.response.status_code'), { intValue: '200' });
      assert.deepEqual(attr(root, 'big.int'), { intValue: '9007199254740991' });
      assert.deepEqual(attr(root, 'retry.delta'), { intValue: '-7' });
      assert.deepEqual(attr(root, 'sample.ratio'), { doubleValue: 0.25 });
      assert.deepEqual(attr(root, 'cache.hit'), { boolValue: true });
      assert.deepEqual(attr(root, 'cache.cold'), { boolValue: false });
      assert.deepEqual(attr(root, 'empty.string'), { stringValue: '' });
      assert.deepEqual(attr(root, 'utf8.text'), { stringValue: 'Grüße aus 東京 🚀' });
      assert.deepEqual(attr(root, 'shard.ids'),
        { arrayValue: { values: [3, 1, 4, 1, 5].map((n) => ({ intValue: String(n) })) } });
      assert.equal(root.traceState, 'tg=e2e,vendor=abc');
      assert.equal(root.startTimeUnixNano, String(BigInt(NOW_S) * 1000000000n + 123n));
      const db = all.find((x) => x.item.name === 'SELECT orders').item;
      assert.equal(db.parentSpanId, root.spanId);
      assert.deepEqual(db.status, { code: 2, message: 'deadline exceeded on shard 3' });
      assert.deepEqual(db.events.map((e) => e.name), ['db.retry', 'exception']);
      assert.equal(db.events[0].timeUnixNano, String(BigInt(NOW_S) * 1000000000n + 2000009n));
      const prod = all.find((x) => x.item.name === 'publish order.created').item;
      assert.equal(prod.links[0].spanId, db.spanId);
      assert.deepEqual(attr(prod.links[0], 'link.weight'), { intValue: '3' });
      const rootEntry = all.find((x) => x.item.name === 'GET /checkout');
      assert.deepEqual(attr(rootEntry.resource.resource, 'service.name'), { stringValue: service });
      assert.deepEqual(rootEntry.scope, normalize({ scope: { name: 'e2e.checkout', version: '2.3.4' }, schemaUrl: SCHEMA_URL }));

      // --- logs -------------------------------------------------------------
      const records = tees.logs.batches.flat();
      assert.equal(records.length, 3);
      sent.logs[transportLabel(transport)] += records.length;
      const expLogs = flattenLogs(expectedLogs(records));
      const { json: logsDoc } = await getLogs(collector.apiUrl, service);
      assertShape(logsDoc, `logs of ${service}`);
      const actLogs = flattenLogs(logsDoc);
      assertSameItems(actLogs, expLogs, (x) => attr(x.item, 'log.seq').intValue, `${transport}/${compression} logs`);
      const l1 = actLogs.find((x) => attr(x.item, 'log.seq').intValue === '1').item;
      assert.equal(l1.traceId, rootSpanContext.traceId);
      assert.equal(l1.spanId, rootSpanContext.spanId);
      assert.equal(l1.severityNumber, 9);
      assert.deepEqual(attr(l1, 'payload.raw'), { bytesValue: Buffer.from([0, 1, 2, 0xfe, 0xff]).toString('base64') });
      assert.ok(attr(l1, 'request.headers').kvlistValue, 'map attribute kept as kvlist');
      const l2 = actLogs.find((x) => attr(x.item, 'log.seq').intValue === '2').item;
      assert.ok(l2.body.kvlistValue, 'map body kept as kvlist');
      assert.deepEqual(l2.body.kvlistValue.values.find((v) => v.key === 'blob').value,
        { bytesValue: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64') });

      // --- metrics ----------------------------------------------------------
      const rms = tees.metrics.batches;
      assert.equal(rms.length, 1, 'one metrics export');
      const expMetrics = flattenMetrics(expectedMetrics(rms[0]));
      const kinds = new Set(expMetrics.map((m) => Object.keys(m.item).find((k) =>
        ['sum', 'gauge', 'histogram', 'exponentialHistogram'].includes(k))));
      assert.deepEqual([...kinds].sort(), ['exponentialHistogram', 'gauge', 'histogram', 'sum']);
      for (const m of expMetrics) {
        const body = m.item.sum || m.item.gauge || m.item.histogram || m.item.exponentialHistogram;
        sent.metrics[transportLabel(transport)] += body.dataPoints.length;
      }
      const { json: metricsDoc } = await getMetrics(collector.apiUrl, service);
      assertShape(metricsDoc, `metrics of ${service}`);
      const actMetrics = flattenMetrics(metricsDoc);
      assertSameItems(actMetrics, expMetrics, (x) => x.item.name, `${transport}/${compression} metrics`);
      const h = actMetrics.find((x) => x.item.name === 'e2e.latency').item.histogram.dataPoints[0];
      assert.deepEqual(h.bucketCounts, ['1', '2', '1', '1', '1']);
      assert.deepEqual(h.explicitBounds, [1, 10, 100, 1000]);
      assert.equal(h.count, '6');
      assert.equal(h.sum, 5562.5);
      const ic = actMetrics.find((x) => x.item.name === 'e2e.requests.int').item.sum;
      assert.equal(ic.isMonotonic, true);
      assert.equal(ic.dataPoints[0].asInt, '7');
      const ud = actMetrics.find((x) => x.item.name === 'e2e.inflight').item.sum;
      assert.equal(ud.dataPoints[0].asInt, '-3');
    });
  }
}

test('an unknown trace id is 404, a malformed one is 400', async () => {
  await getTrace(collector.apiUrl, crypto.randomBytes(16).toString('hex'), { expectStatus: 404 });
  const bad = await getTrace(collector.apiUrl, 'not-a-trace-id', { expectStatus: null });
  assert.ok(bad.status === 400 || bad.status === 404, `malformed id -> ${bad.status}`);
});

test('the collector counted what it accepted (/metrics)', async () => {
  const r = await fetch(`${collector.apiUrl}/metrics`);
  const text = await r.text();
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain/);
  const samples = parsePrometheus(text);
  for (const signal of ['traces', 'logs', 'metrics']) {
    for (const transport of ['grpc', 'http']) {
      const labels = { signal, transport };
      assert.equal(metricValue(samples, 'tollgate_items_received_total', labels), sent[signal][transport],
        `items_received ${signal}/${transport}`);
      assert.equal(metricValue(samples, 'tollgate_items_accepted_total', labels), sent[signal][transport],
        `items_accepted ${signal}/${transport}`);
      assert.equal(metricValue(samples, 'tollgate_items_refused_total', labels) || 0, 0,
        `items_refused ${signal}/${transport}`);
    }
  }
  assert.ok(metricValue(samples, 'tollgate_store_bytes') > 0, 'store size reported');
  assert.ok(metricValue(samples, 'tollgate_commit_duration_seconds_count') > 0, 'commit histogram');
  assert.notEqual(metricValue(samples, 'tollgate_evictions_total'), undefined, 'evictions counter present');
});
