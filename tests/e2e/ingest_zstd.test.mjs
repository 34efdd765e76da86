// OTLP/HTTP with Content-Encoding: zstd. The JavaScript exporters do not
// speak zstd, so the requests are the SDK's own serialisation (protobuf and
// JSON) of SDK-made telemetry, compressed here and sent with fetch; then
// read back from the site API and compared field by field.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';

import { startCollector, tempDir } from './lib/collector.mjs';
import { zstd } from './lib/compress.mjs';
import { getLogs, getMetrics, getTrace } from './lib/http.mjs';
import {
  assertSameItems, assertShape, attr, expectedLogs, expectedMetrics, expectedTraces, flattenLogs,
  flattenMetrics, flattenSpans, sampleTelemetry, serialize,
} from './lib/otlp.mjs';
import { decodeExportResponse } from './lib/pb.mjs';

const RUN = crypto.randomBytes(3).toString('hex');
const dir = tempDir();
let collector;

before(async () => {
  collector = await startCollector({ dataDir: path.join(dir, 'data'), site: 'e2e-zstd' });
});

after(async () => {
  if (!collector) return;
  const res = await collector.stop();
  assert.equal(res.code, 0, `collector exit ${JSON.stringify(res)}`);
});

const CT = { protobuf: 'application/x-protobuf', json: 'application/json' };

async function post(signal, encoding, body) {
  const r = await fetch(`${collector.httpUrl}/v1/${signal}`, {
    method: 'POST',
    headers: { 'content-type': CT[encoding], 'content-encoding': 'zstd' },
    body,
  });
  const buf = Buffer.from(await r.arrayBuffer());
  assert.equal(r.status, 200, `${signal}/${encoding}+zstd -> ${r.status}: ${buf.toString('utf8').slice(0, 300)}`);
  const ct = r.headers.get('content-type') || '';
  assert.ok(ct.startsWith(CT[encoding]), `response content-type ${ct} should match the request's encoding`);
  if (encoding === 'json') {
    const resp = JSON.parse(buf.toString('utf8'));
    assert.ok(!resp.partialSuccess || !Number(resp.partialSuccess.rejectedSpans || resp.partialSuccess.rejectedLogRecords || resp.partialSuccess.rejectedDataPoints || 0),
      `unexpected partial success ${buf}`);
  } else {
    assert.equal(decodeExportResponse(buf).partialSuccess?.rejected || 0, 0);
  }
}

for (const encoding of ['protobuf', 'json']) {
  test(`zstd + ${encoding}: traces, logs and metrics round-trip`, async () => {
    const service = `e2e-zstd-${encoding}-${RUN}`;
    const data = await sampleTelemetry(service, { spans: 8 });
    for (const signal of ['traces', 'logs', 'metrics']) {
      const raw = serialize(signal, encoding, data);
      const body = zstd(raw);
      assert.notDeepEqual(body.subarray(0, 4), raw.subarray(0, 4));
      await post(signal, encoding, body);
    }

    const { json: tdoc } = await getTrace(collector.apiUrl, data.traceBatch.traceId);
    assertShape(tdoc, 'trace');
    assertSameItems(flattenSpans(tdoc), flattenSpans(expectedTraces(data.spans)), (x) => x.item.spanId, 'zstd spans');
    assert.equal(flattenSpans(tdoc).length, 8);

    const { json: ldoc } = await getLogs(collector.apiUrl, service);
    assertShape(ldoc, 'logs');
    assertSameItems(flattenLogs(ldoc), flattenLogs(expectedLogs(data.logRecords)),
      (x) => attr(x.item, 'log.seq').intValue, 'zstd logs');

    const { json: mdoc } = await getMetrics(collector.apiUrl, service);
    assertShape(mdoc, 'metrics');
    assertSameItems(flattenMetrics(mdoc), flattenMetrics(expectedMetrics(data.resourceMetrics)),
      (x) => x.item.name, 'zstd metrics');
  });
}
