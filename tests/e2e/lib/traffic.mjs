// Realistic AI-pipeline telemetry through the official OpenTelemetry JS SDK,
// regulated values included, with requests that cross two sites (W3C
// traceparent carried from one site's service to the other's). Used by the
// central-view tests and by the demo's traffic generator.
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as TraceGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPLogExporter as LogsGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as MetricsGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as MetricsProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

// Values that must never leave a site: each is planted somewhere in the
// telemetry below, and the tests search for every one of them byte for
// byte in everything the centre holds.
export const REGULATED = {
  email: 'alice.regulated@example.com',
  email2: 'bob.patient@example.org',
  card: '4111111111111111',
  card2: '5500005555555559',
  ssn: '078-05-1120',
  mrn: 'MRN-7734-2291',
  iban: 'DE89370400440532013000',
  phone: '+491512345678',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXRlc3Q',
  host: 'node-alice-regulated-7',
  prompt: 'my diagnosis is type 2 diabetes, insulin 40 units',
};

const propagator = new W3CTraceContextPropagator();

// One site's SDK: tracer, logger and meter providers exporting to `url`
// over `transport` ('grpc' | 'http/protobuf').
export function siteSdk({ service, url, transport = 'http/protobuf', site, extraResource = {},
  metricIntervalMs = 500 }) {
  const resource = resourceFromAttributes({
    'service.name': service,
    'deployment.environment.name': 'demo',
    'host.name': REGULATED.host,
    'tollgate.site': site,
    ...extraResource,
  });
  const grpc = transport === 'grpc';
  const opt = (p) => ({ url: grpc ? url : `${url}${p}`, timeoutMillis: 10000 });
  const traceExp = grpc ? new TraceGrpc(opt()) : new TraceProto(opt('/v1/traces'));
  const logExp = grpc ? new LogsGrpc(opt()) : new LogsProto(opt('/v1/logs'));
  const metricOpt = { ...opt('/v1/metrics'), temporalityPreference: AggregationTemporality.CUMULATIVE };
  const metricExp = grpc ? new MetricsGrpc(metricOpt) : new MetricsProto(metricOpt);
  const tp = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(traceExp, { scheduledDelayMillis: 200, maxExportBatchSize: 256 })],
  });
  const lp = new LoggerProvider({
    resource,
    processors: [new BatchLogRecordProcessor({ exporter: logExp, scheduledDelayMillis: 200 })],
  });
  const reader = new PeriodicExportingMetricReader({ exporter: metricExp, exportIntervalMillis: metricIntervalMs });
  const mp = new MeterProvider({ resource, readers: [reader] });
  return {
    service,
    tracer: tp.getTracer('tollgate-demo'),
    logger: lp.getLogger('tollgate-demo'),
    meter: mp.getMeter('tollgate-demo'),
    async flush() {
      await tp.forceFlush();
      await lp.forceFlush();
      await mp.forceFlush();
    },
    async shutdown() {
      await tp.shutdown();
      await lp.shutdown();
      await mp.shutdown();
    },
  };
}

// Resource-use metrics the cost records price: CPU as a Prometheus-style
// counter, GPU as DCGM's utilisation gauge (percent), token usage.
export function resourceMetrics(sdk, { cpuPerSec = 0.8, gpuUtil = 0 } = {}) {
  const t0 = Date.now();
  sdk.meter.createObservableCounter('process_cpu_seconds_total', { unit: 's' })
    .addCallback((r) => r.observe(((Date.now() - t0) / 1000) * cpuPerSec, { method: 'POST', user: REGULATED.email }));
  if (gpuUtil > 0) {
    sdk.meter.createObservableGauge('DCGM_FI_DEV_GPU_UTIL', { unit: '%' })
      .addCallback((r) => r.observe(gpuUtil, { gpu: '0', 'patient.id': REGULATED.mrn }));
  }
  return {
    requests: sdk.meter.createCounter('http_requests_total'),
    latency: sdk.meter.createHistogram('http.server.request.duration', { unit: 's' }),
  };
}

// One inference request entering at the cloud gateway (site B) and calling
// the on-prem feature store (site A) with the trace context in a
// traceparent header. Returns the ids of what was created.
export function crossSiteRequest(gateway, featureStore, { i = 0, fail = false, gwInstr, fsInstr } = {}) {
  const g = gateway.tracer;
  const root = g.startSpan(`POST /v1/chat/${REGULATED.card}`, {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': 'POST',
      'http.route': `/v1/chat/${REGULATED.email}`,
      'http.response.status_code': fail ? 500 : 200,
      'user.email': REGULATED.email,
      'enduser.id': REGULATED.ssn,
      'gen_ai.request.model': 'llama-3-70b',
      'gen_ai.usage.input_tokens': 900 + i,
      'gen_ai.usage.output_tokens': 250,
      'gen_ai.prompt': REGULATED.prompt,
      'request.seq': i,
    },
  });
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  const client = g.startSpan('GET feature-store', {
    kind: SpanKind.CLIENT,
    attributes: { 'http.request.method': 'GET', 'url.full': `https://fs.internal/patients/${REGULATED.mrn}?iban=${REGULATED.iban}` },
  }, rootCtx);
  // Crossing the boundary: only the W3C header travels.
  const carrier = {};
  propagator.inject(trace.setSpan(rootCtx, client), carrier, { set: (c, k, v) => { c[k] = v; } });
  const remote = propagator.extract(ROOT_CONTEXT, carrier, { get: (c, k) => c[k], keys: (c) => Object.keys(c) });
  const f = featureStore.tracer;
  const server = f.startSpan(`GET /patients/${REGULATED.mrn}`, {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': 'GET', 'http.route': '/patients/:id', 'patient.mrn': REGULATED.mrn, 'request.seq': i },
  }, remote);
  const db = f.startSpan('SELECT features', {
    kind: SpanKind.CLIENT,
    attributes: { 'db.system.name': 'postgresql', 'db.query.text': `SELECT * FROM f WHERE ssn='${REGULATED.ssn}'` },
  }, trace.setSpan(ROOT_CONTEXT, server));
  db.addEvent('rows', { 'db.row.email': REGULATED.email2 });
  db.end();
  if (fail) {
    server.setStatus({ code: SpanStatusCode.ERROR, message: `no record for ${REGULATED.email2}` });
    featureStore.logger.emit({ severityNumber: 17, severityText: 'ERROR',
      body: `lookup failed for patient ${REGULATED.mrn} phone ${REGULATED.phone}`,
      attributes: { 'patient.email': REGULATED.email2 } });
  } else {
    featureStore.logger.emit({ severityNumber: 9, severityText: 'INFO',
      body: `served features for ${REGULATED.email} in ${12 + (i % 7)} ms`, attributes: { iban: REGULATED.iban } });
  }
  server.end();
  client.end();
  gateway.logger.emit({ severityNumber: 9, severityText: 'INFO',
    body: `chat completion for card ${REGULATED.card2} token ${REGULATED.jwt} took ${40 + (i % 13)} ms` });
  if (fail) root.setStatus({ code: SpanStatusCode.ERROR, message: `upstream failed for ${REGULATED.email}` });
  root.end();
  if (gwInstr) {
    gwInstr.requests.add(1, { method: 'POST', code: fail ? '500' : '200' });
    gwInstr.latency.record(0.04 + (i % 13) / 1000, { 'http.route': '/v1/chat' });
  }
  if (fsInstr) fsInstr.requests.add(1, { method: 'GET', code: fail ? '500' : '200' });
  return {
    traceId: root.spanContext().traceId,
    rootSpanId: root.spanContext().spanId,
    clientSpanId: client.spanContext().spanId,
    serverSpanId: server.spanContext().spanId,
    dbSpanId: db.spanContext().spanId,
  };
}

// A training step at the on-prem site: GPU work, no crossing.
export function trainingStep(trainer, i) {
  const s = trainer.tracer.startSpan('train.step', {
    kind: SpanKind.INTERNAL,
    attributes: { 'gen_ai.request.model': 'llama-3-70b', 'tollgate.cost.gpu_seconds': 2.5, 'dataset.row.owner': REGULATED.email },
  });
  trainer.logger.emit({ severityNumber: 9, body: `step ${i} loss ${(2 / (i + 1)).toFixed(4)} on batch of ${REGULATED.email}` });
  s.end();
  return s.spanContext().spanId;
}

export { context, propagation };
