// OTLP helpers around the official OpenTelemetry JavaScript SDK: exporters
// per transport, a tee that records exactly what each exporter was handed
// (so the expected document is the SDK's own serialisation of it), and a
// normaliser that compares OTLP/JSON documents field by field.
import assert from 'node:assert/strict';

import { context as otelContext, trace as otelTrace } from '@opentelemetry/api';

import { OTLPTraceExporter as TraceGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as TraceJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPLogExporter as LogsGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as LogsJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter as MetricsGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as MetricsProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as MetricsJson } from '@opentelemetry/exporter-metrics-otlp-http';
import {
  JsonLogsSerializer, JsonMetricsSerializer, JsonTraceSerializer,
  ProtobufLogsSerializer, ProtobufMetricsSerializer, ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';

export const TRANSPORTS = ['grpc', 'http/protobuf', 'http/json'];

// The three exporters of one transport, pointed at collector `c`.
export function makeExporters(c, transport, compression) {
  const opts = (path) => ({
    url: transport === 'grpc' ? c.grpcUrl : `${c.httpUrl}${path}`,
    compression,
    timeoutMillis: 15000,
  });
  switch (transport) {
    case 'grpc':
      return { traces: new TraceGrpc(opts()), logs: new LogsGrpc(opts()), metrics: new MetricsGrpc(opts()) };
    case 'http/protobuf':
      return {
        traces: new TraceProto(opts('/v1/traces')), logs: new LogsProto(opts('/v1/logs')),
        metrics: new MetricsProto(opts('/v1/metrics')),
      };
    case 'http/json':
      return {
        traces: new TraceJson(opts('/v1/traces')), logs: new LogsJson(opts('/v1/logs')),
        metrics: new MetricsJson(opts('/v1/metrics')),
      };
    default:
      throw new Error(`unknown transport ${transport}`);
  }
}

// Wraps an SDK exporter: records every batch handed to it and the result
// of each export, and forwards everything else.
export class TeeExporter {
  constructor(inner) {
    this.inner = inner;
    this.batches = [];
    this.results = [];
    if (typeof inner.selectAggregationTemporality === 'function') {
      this.selectAggregationTemporality = (t) => inner.selectAggregationTemporality(t);
    }
    if (typeof inner.selectAggregation === 'function') {
      this.selectAggregation = (t) => inner.selectAggregation(t);
    }
  }

  export(items, cb) {
    this.batches.push(items);
    this.inner.export(items, (r) => { this.results.push(r); cb(r); });
  }

  forceFlush() { return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve(); }
  shutdown() { return this.inner.shutdown(); }

  assertAllSucceeded(what) {
    assert.ok(this.batches.length > 0, `${what}: nothing was exported`);
    const bad = this.results.filter((r) => r.code !== 0);
    assert.equal(this.results.length, this.batches.length, `${what}: some exports never finished`);
    assert.deepEqual(bad.map((r) => String(r.error && (r.error.message || r.error))), [],
      `${what}: exports failed`);
  }
}

export const decodeJson = (u8) => JSON.parse(new TextDecoder().decode(u8));

// The SDK's own OTLP/JSON of what the tees saw: the expected documents.
export const expectedTraces = (spans) => decodeJson(JsonTraceSerializer.serializeRequest(spans));
export const expectedLogs = (records) => decodeJson(JsonLogsSerializer.serializeRequest(records));
export const expectedMetrics = (resourceMetrics) =>
  decodeJson(JsonMetricsSerializer.serializeRequest(resourceMetrics));

// ---------------------------------------------------------------------------
// Normalisation: OTLP/JSON allows 64-bit integers as strings or numbers and
// omits default values; the collector and the SDK may differ on both
// without any loss. Everything else must match exactly.

const INT64_KEYS = new Set(['timeUnixNano', 'startTimeUnixNano', 'endTimeUnixNano',
  'observedTimeUnixNano', 'intValue', 'asInt', 'count', 'bucketCounts', 'zeroCount']);
const DOUBLE_KEYS = new Set(['doubleValue', 'asDouble', 'sum', 'min', 'max', 'explicitBounds',
  'zeroThreshold', 'quantile', 'value']);
const ENUM_KEYS = new Set(['kind', 'severityNumber', 'aggregationTemporality']);
// Keys whose presence is meaningful even at their default value (oneof
// members and optional fields).
const PRESENCE_KEYS = new Set(['stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue',
  'asInt', 'asDouble', 'sum', 'min', 'max', 'value', 'body', 'arrayValue', 'kvlistValue']);
const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

function isEmpty(v) {
  if (v === undefined || v === null || v === '' || v === 0 || v === '0' || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

export function normalize(v, key = '') {
  if (Array.isArray(v)) {
    const out = v.map((x) => normalize(x, key));
    if (key === 'attributes' || key === 'values') {
      // KeyValue lists compare as sets of keys (arrayValue.values keeps order).
      if (out.every((x) => x && typeof x === 'object' && 'key' in x)) {
        out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      }
    }
    return out;
  }
  if (INT64_KEYS.has(key) && (typeof v === 'number' || typeof v === 'string' || typeof v === 'bigint')) {
    return BigInt(v).toString();
  }
  if (DOUBLE_KEYS.has(key) && (typeof v === 'number' || typeof v === 'string')) return Number(v);
  if (ID_KEYS.has(key) && typeof v === 'string') return v.toLowerCase();
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) {
      const n = normalize(v[k], k);
      if (!PRESENCE_KEYS.has(k) && isEmpty(n)) continue;
      if (n === undefined || n === null) continue;
      out[k] = n;
    }
    return out;
  }
  return v;
}

// Checks the collector's OTLP/JSON follows the mapping the contract names:
// camelCase field names, hex ids, 64-bit integers as strings, enums as
// integers. Returns a list of problems (empty when fine).
export function shapeProblems(doc) {
  const problems = [];
  const walk = (v, path, key) => {
    if (Array.isArray(v)) { v.forEach((x, i) => walk(x, `${path}[${i}]`, key)); return; }
    if (INT64_KEYS.has(key) && !(typeof v === 'string' && /^-?\d+$/.test(v))) {
      problems.push(`${path}: 64-bit integer not a decimal string: ${JSON.stringify(v)}`);
    }
    if (ENUM_KEYS.has(key) && typeof v !== 'number') problems.push(`${path}: enum not an integer: ${JSON.stringify(v)}`);
    if (key === 'traceId' && !/^[0-9a-f]{32}$/.test(v)) problems.push(`${path}: trace id not 32 lower-case hex digits: ${JSON.stringify(v)}`);
    if ((key === 'spanId' || key === 'parentSpanId') && !/^([0-9a-f]{16})?$/.test(v)) {
      problems.push(`${path}: span id not 16 lower-case hex digits: ${JSON.stringify(v)}`);
    }
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (/_/.test(k)) problems.push(`${path}.${k}: field name not camelCase`);
        walk(x, `${path}.${k}`, k);
      }
    }
  };
  walk(doc, '$', '');
  if (doc && doc.status && typeof doc.status === 'object' && doc.status.code !== undefined && typeof doc.status.code !== 'number') {
    problems.push('$.status.code: enum not an integer');
  }
  return problems;
}

export function assertShape(doc, what) {
  assert.deepEqual(shapeProblems(doc), [], `${what}: OTLP/JSON mapping violated`);
}

// Flattens TracesData / LogsData / MetricsData into one entry per item,
// each carrying its normalised resource and scope, so documents that group
// items differently still compare item by item.
function flatten(doc, outerKey, innerKey, itemKey) {
  const out = [];
  for (const r of doc[outerKey] || []) {
    const resource = normalize({ resource: r.resource || {}, schemaUrl: r.schemaUrl || '' });
    for (const s of r[innerKey] || []) {
      const scope = normalize({ scope: s.scope || {}, schemaUrl: s.schemaUrl || '' });
      for (const item of s[itemKey] || []) out.push({ resource, scope, item: normalize(item) });
    }
  }
  return out;
}

export const flattenSpans = (doc) => flatten(doc, 'resourceSpans', 'scopeSpans', 'spans');
export const flattenLogs = (doc) => flatten(doc, 'resourceLogs', 'scopeLogs', 'logRecords');
export const flattenMetrics = (doc) => flatten(doc, 'resourceMetrics', 'scopeMetrics', 'metrics');

export function attr(item, key) {
  const kv = (item.attributes || []).find((a) => a.key === key);
  return kv ? kv.value : undefined;
}

// Compares two flattened lists matched by `keyFn`; both must hold exactly
// the same items.
export function assertSameItems(actual, expected, keyFn, what) {
  const a = new Map(actual.map((x) => [keyFn(x), x]));
  const e = new Map(expected.map((x) => [keyFn(x), x]));
  assert.equal(a.size, actual.length, `${what}: duplicate items in the collector's answer`);
  assert.deepEqual([...a.keys()].sort(), [...e.keys()].sort(), `${what}: item keys differ`);
  for (const [k, x] of e) {
    assert.deepEqual(a.get(k), x, `${what}: item ${k} differs`);
  }
}

// ---------------------------------------------------------------------------
// Raw OTLP/protobuf requests with known ids, serialised by the SDK.

let seq = 0;
// An id generator whose ids are unique per process and easy to recognise.
export class CountingIdGenerator {
  constructor(prefix = (Math.random() * 0xffffffff) >>> 0) { this.prefix = prefix.toString(16).padStart(8, '0'); }
  generateTraceId() { seq += 1; return `${this.prefix}${'0'.repeat(8)}${seq.toString(16).padStart(16, '0')}`; }
  generateSpanId() { seq += 1; return `${this.prefix}${seq.toString(16).padStart(8, '0')}`; }
}

// Produces ExportTraceServiceRequest bodies: each call makes one trace of
// `n` spans and returns {traceId, spanIds, body (protobuf Uint8Array), spans}.
export function makeSpanFactory(serviceName, { idGenerator = new CountingIdGenerator() } = {}) {
  const mem = new InMemorySpanExporter();
  const tp = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new SimpleSpanProcessor(mem)],
    idGenerator,
  });
  const tracer = tp.getTracer('tollgate-e2e', '1.0.0');
  return {
    traceBatch(n, { attrs = {} } = {}) {
      mem.reset();
      const root = tracer.startSpan('batch-root', { attributes: { 'batch.size': n, ...attrs } });
      const rootCtx = root.spanContext();
      const ids = [rootCtx.spanId];
      for (let i = 1; i < n; i++) {
        const ctx = { ...rootCtx };
        const span = tracer.startSpan(`batch-child-${i}`, { attributes: { 'child.index': i } },
          traceContext(ctx));
        ids.push(span.spanContext().spanId);
        span.end();
      }
      root.end();
      const spans = mem.getFinishedSpans().slice();
      return { traceId: rootCtx.traceId, spanIds: ids, spans, body: ProtobufTraceSerializer.serializeRequest(spans) };
    },
    tracer,
    provider: tp,
  };
}

export function traceContext(spanContext) {
  return otelTrace.setSpanContext(otelContext.active(), spanContext);
}

// ---------------------------------------------------------------------------
// Small SDK-made samples of all three signals, for tests that send raw
// serialised requests (zstd, bad input, restarts).

export async function sampleTelemetry(service, { spans: nSpans = 5 } = {}) {
  const { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } = await import('@opentelemetry/sdk-logs');
  const { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } =
    await import('@opentelemetry/sdk-metrics');
  const resource = resourceFromAttributes({ 'service.name': service, 'sample.kind': 'raw' });

  const factory = makeSpanFactory(service);
  const batch = factory.traceBatch(nSpans, { attrs: { 'sample.bytes': 'zstd', 'sample.ratio': 0.5 } });

  const logMem = new InMemoryLogRecordExporter();
  const lp = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: logMem })] });
  const logger = lp.getLogger('sample.logger', '1.0.0');
  logger.emit({ body: 'sample log one', severityNumber: 9, attributes: { 'log.seq': 1, k: 'v' } });
  logger.emit({ body: { msg: 'sample log two', n: 2 }, severityNumber: 17, attributes: { 'log.seq': 2 } });
  await lp.forceFlush();
  const logRecords = logMem.getFinishedLogRecords().slice();

  const metricMem = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const mp = new MeterProvider({ resource, readers: [new PeriodicExportingMetricReader({ exporter: metricMem, exportIntervalMillis: 3600000 })] });
  const meter = mp.getMeter('sample.meter', '1.0.0');
  meter.createCounter('sample.count').add(3, { a: 'b' });
  meter.createHistogram('sample.hist', { advice: { explicitBucketBoundaries: [10, 20] } }).record(15);
  await mp.shutdown();
  const resourceMetrics = metricMem.getMetrics()[0];
  return { traceBatch: batch, spans: batch.spans, logRecords, resourceMetrics };
}

export function serialize(signal, encoding, data) {
  const S = {
    traces: encoding === 'json' ? JsonTraceSerializer : ProtobufTraceSerializer,
    logs: encoding === 'json' ? JsonLogsSerializer : ProtobufLogsSerializer,
    metrics: encoding === 'json' ? JsonMetricsSerializer : ProtobufMetricsSerializer,
  }[signal];
  const arg = signal === 'traces' ? data.spans : signal === 'logs' ? data.logRecords : data.resourceMetrics;
  return Buffer.from(S.serializeRequest(arg));
}
