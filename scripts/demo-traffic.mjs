#!/usr/bin/env node
// The demo's traffic generator: realistic AI-pipeline telemetry through the
// official OpenTelemetry SDK, regulated values included, with inference
// requests entering at the cloud site's gateway and calling the on-prem
// site's feature store (W3C traceparent across), plus training steps on
// the on-prem GPU cluster.
//
// usage: node scripts/demo-traffic.mjs --onprem http://127.0.0.1:4318
//          --cloud http://127.0.0.1:14317 [--rate 5] [--seconds 0]
import { SpanKind } from '@opentelemetry/api';

import { crossSiteRequest, resourceMetrics, siteSdk, trainingStep } from '../tests/e2e/lib/traffic.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const onprem = args.onprem || 'http://127.0.0.1:4318';
const cloud = args.cloud || 'http://127.0.0.1:14317';
const rate = Number(args.rate || 5);
const seconds = Number(args.seconds || 0);
const promoteAfter = Number(args['promote-after'] || 45);
const cloudLag = Number(args['cloud-lag'] || 60);
const OLD = '2026.11.2';
const NEW = '2026.11.3';

const gateway = siteSdk({ service: 'gateway', url: cloud, transport: 'grpc', site: 'us-cloud', metricIntervalMs: 5000 });
const featureStore = siteSdk({ service: 'feature-store', url: onprem, site: 'de-onprem', metricIntervalMs: 5000 });
const trainer = siteSdk({ service: 'trainer', url: onprem, site: 'de-onprem', metricIntervalMs: 5000 });
const gwInstr = resourceMetrics(gateway, { cpuPerSec: 0.6 });
const fsInstr = resourceMetrics(featureStore, { cpuPerSec: 0.3 });
resourceMetrics(trainer, { cpuPerSec: 12, gpuUtil: 87 });

function score(sdk, version) {
  sdk.tracer.startSpan('fraud-detector predict', {
    kind: SpanKind.SERVER,
    attributes: { 'gen_ai.operation.name': 'predict', 'gen_ai.request.model': 'fraud-detector', 'ml.model.version': version },
  }).end();
}

let i = 0;
let stopping = false;
const started = Date.now();
let lastTrace = '';

async function stop() {
  if (stopping) return;
  stopping = true;
  for (const s of [gateway, featureStore, trainer]) {
    try { await s.shutdown(); } catch { /* a site may be down: that is the demo */ }
  }
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

setInterval(() => {
  if (stopping) return;
  const ids = crossSiteRequest(gateway, featureStore, { i, fail: i % 11 === 5, gwInstr, fsInstr });
  lastTrace = ids.traceId;
  if (i % rate === 0) trainingStep(trainer, i / rate);
  // fraud-detector at both sites: the versions each serves right now.
  const age = (Date.now() - started) / 1000;
  score(featureStore, age >= promoteAfter ? NEW : OLD);
  score(gateway, age >= promoteAfter + cloudLag ? NEW : OLD);
  i += 1;
  if (seconds && Date.now() - started > seconds * 1000) stop();
}, 1000 / rate);

setInterval(() => {
  process.stdout.write(`traffic: ${i} cross-site requests sent; latest trace ${lastTrace}\n`);
}, 10000);
