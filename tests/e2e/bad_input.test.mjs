// Bad input: each gets a clear, exact error; the daemon stays up; nothing
// acknowledged before is lost. Raw sockets for HTTP (so an early answer is
// still read) and @grpc/grpc-js with pass-through serialisers for gRPC.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';

import { Collector, sleep, tempDir, writeConfig } from './lib/collector.mjs';
import { gzip, zstd } from './lib/compress.mjs';
import { grpcClient, GRPC, METHODS, unary } from './lib/grpc.mjs';
import { getTrace, httpPost, parseResponse, rawRequest } from './lib/http.mjs';
import { flattenSpans, makeSpanFactory, sampleTelemetry, serialize } from './lib/otlp.mjs';
import { decodeStatus, traceRequest } from './lib/pb.mjs';

const RUN = crypto.randomBytes(3).toString('hex');
const dir = tempDir();
const MAX_BODY = 1 << 20;          // receivers.otlp_http.max_body_bytes
const MAX_DECOMPRESSED = 4 << 20;  // limits.max_decompressed_bytes
let c;
let factory;
let before1;

before(async () => {
  const config = writeConfig(dir, {
    receivers: {
      otlp_http: { header_timeout: '1s', body_timeout: '1s', max_body_bytes: '1MiB' },
    },
    limits: { max_decompressed_bytes: '4MiB' },
  });
  c = new Collector({ dataDir: path.join(dir, 'data'), site: 'badsite', config });
  await c.start();
  factory = makeSpanFactory(`e2e-bad-${RUN}`);
  // Acknowledged before any abuse; checked intact at the end.
  before1 = factory.traceBatch(10);
  const r = await post('/v1/traces', before1.body, { 'Content-Type': 'application/x-protobuf' });
  assert.equal(r.status, 200, r.body.toString());
});

after(async () => {
  if (!c) return;
  const res = await c.stop();
  assert.equal(res.code, 0, `collector exit ${JSON.stringify(res)}\n${c.stderr().slice(-3000)}`);
});

function post(p, body, headers, opts) {
  return rawRequest(c.ports.http, httpPost(p, body, headers), opts);
}

// The google.rpc.Status of an error response, decoded per its content type.
function statusOf(res) {
  const ct = res.headers['content-type'] || '';
  if (ct.startsWith('application/json')) return { encoding: 'json', ...JSON.parse(res.body.toString('utf8')) };
  if (ct.startsWith('application/x-protobuf')) return { encoding: 'protobuf', ...decodeStatus(res.body) };
  return { encoding: ct, code: undefined, message: res.body.toString('utf8') };
}

function assertStatus(res, httpStatus, encoding, messageRe, what, rpcCode = 3) {
  const st = statusOf(res);
  if (process.env.TG_E2E_VERBOSE) console.log(`${what}: ${res.status} ${JSON.stringify(st)}`);
  assert.equal(res.status, httpStatus, `${what}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 300)}`);
  assert.equal(st.encoding, encoding, `${what}: error body encoding (content-type ${res.headers['content-type']})`);
  assert.equal(st.code, rpcCode, `${what}: google.rpc.Status code`);
  assert.match(st.message, messageRe, `${what}: message`);
  return st;
}

const PB = { 'Content-Type': 'application/x-protobuf' };
const JSON_CT = { 'Content-Type': 'application/json' };

test('malformed protobuf -> 400 with a Status naming the problem', async () => {
  // Field 1 (resource_spans), length-delimited, claiming far more bytes than follow.
  const body = Buffer.from([0x0a, 0xff, 0xff, 0x03, 0x0a, 0x00]);
  const res = await post('/v1/traces', body, PB);
  assertStatus(res, 400, 'protobuf', /^malformed protobuf ExportTraceServiceRequest at byte \d+/, 'truncated field');
  // A wire type that cannot occur (7) at the top level.
  const res2 = await post('/v1/logs', Buffer.from([0x0f, 0x01]), PB);
  assertStatus(res2, 400, 'protobuf', /^malformed protobuf ExportLogsServiceRequest/, 'bad wire type');
});

test('malformed JSON -> 400 naming line and column', async () => {
  const body = Buffer.from('{\n  "resourceSpans": [\n    {"resource": }\n  ]\n}\n');
  const res = await post('/v1/traces', body, JSON_CT);
  const st = assertStatus(res, 400, 'json', /^line 3, column 18: unexpected token/, 'syntax error');
  assert.doesNotMatch(st.message, /resource":/, 'the message does not quote the payload');
  // Well-formed JSON with a field of the wrong type is located too.
  const body2 = Buffer.from('{"resourceSpans": [{\n  "scopeSpans": [{"spans": [{\n    "traceId": 12345}]}]}]}');
  const res2 = await post('/v1/traces', body2, JSON_CT);
  assertStatus(res2, 400, 'json',
    /^line 3, column 16: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected a string$/, 'wrong type');
  // Not JSON at all.
  const res3 = await post('/v1/metrics', Buffer.from('hello'), JSON_CT);
  assertStatus(res3, 400, 'json', /^line 1, column \d+: /, 'not JSON');
  // Invalid UTF-8 inside a JSON string.
  const body4 = Buffer.concat([Buffer.from('{"resourceLogs": [{"scopeLogs": [{"logRecords": [\n  {"body": {"stringValue": "ab'),
    Buffer.from([0xff, 0xfe]), Buffer.from('"}}]}]}]}')]);
  const res4 = await post('/v1/logs', body4, JSON_CT);
  assertStatus(res4, 400, 'json', /^line 2, column \d+: /, 'invalid UTF-8 in JSON');
});

test('invalid UTF-8 in a protobuf string -> 400', async () => {
  const traceId = crypto.randomBytes(16).toString('hex');
  const spanId = crypto.randomBytes(8).toString('hex');
  const badName = traceRequest({ traceId, spanId, name: Buffer.from([0x61, 0xff, 0xfe, 0x62]) });
  const res = await post('/v1/traces', badName, PB);
  assertStatus(res, 400, 'protobuf', /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.name: invalid UTF-8$/, 'span name');
  const badAttr = traceRequest({ traceId, spanId, attrValue: Buffer.from([0xc3, 0x28]) });
  const res2 = await post('/v1/traces', badAttr, PB);
  assertStatus(res2, 400, 'protobuf',
    /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.attributes\[0\]\.value: invalid UTF-8$/, 'attribute value');
  // Neither was stored, not even in part.
  await getTrace(c.apiUrl, traceId, { expectStatus: 404 });
  // The same request with valid UTF-8 is accepted.
  const ok = traceRequest({ traceId, spanId, name: Buffer.from('aé b', 'utf8') });
  const res3 = await post('/v1/traces', ok, PB);
  assert.equal(res3.status, 200, res3.body.toString());
  const { json } = await getTrace(c.apiUrl, traceId);
  assert.equal(flattenSpans(json)[0].item.name, 'aé b');
});

test('wrong or missing content type -> 415; unknown Content-Encoding -> 415', async () => {
  const body = serialize('traces', 'protobuf', await sampleTelemetry(`e2e-bad-ct-${RUN}`));
  const res = await post('/v1/traces', body, { 'Content-Type': 'text/plain' });
  assertStatus(res, 415, 'json', /^unsupported content type: OTLP\/HTTP accepts application\/x-protobuf and application\/json$/, 'text/plain');
  const res2 = await post('/v1/traces', body, {});
  assertStatus(res2, 415, 'json', /^unsupported content type/, 'no content type');
  const res3 = await post('/v1/traces', body, { ...PB, 'Content-Encoding': 'br' });
  assertStatus(res3, 415, 'protobuf', /^unsupported Content-Encoding: accepted are gzip, zstd, deflate, identity$/, 'br');
});

test('oversized body -> 413', async () => {
  const big = Buffer.alloc(MAX_BODY + 4096, 0x41);
  const res = await post('/v1/traces', big, PB);
  assert.equal(res.status, 413, res.body.toString());
  assert.match(res.body.toString('utf8'), /request body too large/);
  // Chunked: the limit holds when no length is announced.
  const head = 'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n';
  const chunk = Buffer.concat([Buffer.from((256 * 1024).toString(16) + '\r\n'), Buffer.alloc(256 * 1024, 0x41), Buffer.from('\r\n')]);
  const parts = [Buffer.from(head), ...Array(6).fill(chunk), Buffer.from('0\r\n\r\n')];
  const res2 = await rawRequest(c.ports.http, parts);
  assert.equal(res2.status, 413, res2.body.toString());
});

test('gzip and zstd bombs -> 413 naming the limit', async () => {
  const zeros = Buffer.alloc(64 << 20);
  const gz = gzip(zeros);
  assert.ok(gz.length < MAX_BODY, 'the bomb itself is small');
  const re = new RegExp(`^decompressed (gzip|zstd) body exceeds the limit of ${MAX_DECOMPRESSED} bytes$`);
  const res = await post('/v1/traces', gz, { ...PB, 'Content-Encoding': 'gzip' });
  assertStatus(res, 413, 'protobuf', re, 'gzip bomb', 8);
  const zs = zstd(zeros);
  const res2 = await post('/v1/logs', zs, { ...JSON_CT, 'Content-Encoding': 'zstd' });
  assertStatus(res2, 413, 'json', re, 'zstd bomb', 8);
});

test('truncated or corrupt gzip and zstd -> 400', async () => {
  const body = serialize('traces', 'protobuf', await sampleTelemetry(`e2e-bad-trunc-${RUN}`, { spans: 50 }));
  const gz = gzip(body);
  const res = await post('/v1/traces', gz.subarray(0, gz.length - 12), { ...PB, 'Content-Encoding': 'gzip' });
  assertStatus(res, 400, 'protobuf', /^gzip body is corrupt or truncated$/, 'truncated gzip');
  const zs = zstd(body);
  const res2 = await post('/v1/traces', zs.subarray(0, Math.floor(zs.length / 2)), { ...PB, 'Content-Encoding': 'zstd' });
  assertStatus(res2, 400, 'protobuf', /^zstd body is corrupt or truncated$/, 'truncated zstd');
  const res3 = await post('/v1/traces', body, { ...PB, 'Content-Encoding': 'gzip' });
  assertStatus(res3, 400, 'protobuf', /^gzip body is corrupt or truncated$/, 'not gzip at all');
});

test('a client that stalls in the headers or the body gets 408', async () => {
  const t0 = Date.now();
  const res = await rawRequest(c.ports.http, ['POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: appl'], { timeoutMs: 8000 });
  assert.equal(res.status, 408, res.raw.toString());
  assert.match(res.body.toString(), /timed out waiting for the request header section/);
  assert.ok(Date.now() - t0 < 5000, `408 took ${Date.now() - t0} ms with a 1 s header timeout`);
  assert.equal(res.closed, true, 'connection closed after 408');

  const t1 = Date.now();
  const res2 = await rawRequest(c.ports.http, [
    'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n',
    Buffer.alloc(10),
  ], { timeoutMs: 8000 });
  assert.equal(res2.status, 408, res2.raw.toString());
  assert.match(res2.body.toString(), /timed out waiting for the request body/);
  assert.ok(Date.now() - t1 < 5000, `408 took ${Date.now() - t1} ms with a 1 s body timeout`);
  assert.equal(res2.closed, true, 'connection closed after 408');
});

test('too many connections: the extra ones get 503', async () => {
  const cfgDir = tempDir();
  const config = writeConfig(cfgDir, { receivers: { otlp_http: { max_connections: 8 } } });
  const c2 = new Collector({ dataDir: path.join(cfgDir, 'data'), site: 'connsite', config });
  await c2.start();
  try {
    const socks = [];
    const outcomes = [];
    for (let i = 0; i < 20; i++) {
      const s = net.connect(c2.ports.http, '127.0.0.1');
      const o = { buf: Buffer.alloc(0), closed: false };
      s.on('data', (d) => { o.buf = Buffer.concat([o.buf, d]); });
      s.on('close', () => { o.closed = true; });
      s.on('error', () => { o.closed = true; });
      socks.push(s);
      outcomes.push(o);
      await new Promise((r) => s.once('connect', r));
    }
    await sleep(1000);
    const got503 = outcomes.filter((o) => o.buf.length && parseResponse(o.buf, { closed: true })?.status === 503);
    const refused = outcomes.filter((o) => o.buf.length || o.closed);
    const silent = outcomes.filter((o) => !o.buf.length && !o.closed);
    assert.equal(silent.length, 8, 'max_connections connections are served');
    assert.equal(refused.length, 12, 'every connection beyond the limit is refused');
    assert.ok(got503.length >= 8, `refused connections get 503 (got ${got503.length})`);
    for (const o of got503) {
      const r = parseResponse(o.buf, { closed: true });
      assert.match(r.body.toString(), /too many connections/);
      assert.ok(r.headers['retry-after'], '503 carries Retry-After');
    }
    for (const s of socks) s.destroy();
    await sleep(200);
    // The slots are free again.
    const body = serialize('traces', 'protobuf', await sampleTelemetry(`e2e-conns-${RUN}`));
    const res = await rawRequest(c2.ports.http, httpPost('/v1/traces', body, PB));
    assert.equal(res.status, 200);
  } finally {
    const res = await c2.stop();
    assert.equal(res.code, 0);
  }
});

test('gRPC: malformed message, invalid UTF-8, unknown method, bomb', async () => {
  const client = grpcClient(c.grpcAddr);
  try {
    const r1 = await unary(client, METHODS.traces, Buffer.from([0x0a, 0xff, 0xff, 0x03, 0x0a]));
    if (process.env.TG_E2E_VERBOSE) console.log('grpc', r1.code, r1.details);
    assert.equal(r1.code, GRPC.INVALID_ARGUMENT, `malformed: ${r1.code} ${r1.details}`);
    assert.match(r1.details, /^malformed protobuf ExportTraceServiceRequest at byte \d+$/);

    const traceId = crypto.randomBytes(16).toString('hex');
    const bad = traceRequest({ traceId, spanId: crypto.randomBytes(8).toString('hex'), name: Buffer.from([0xff]) });
    const r2 = await unary(client, METHODS.traces, bad);
    if (process.env.TG_E2E_VERBOSE) console.log('grpc', r2.code, r2.details);
    assert.equal(r2.code, GRPC.INVALID_ARGUMENT, `utf8: ${r2.code} ${r2.details}`);
    assert.match(r2.details, /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.name: invalid UTF-8$/);

    const r3 = await unary(client, '/opentelemetry.proto.collector.trace.v1.TraceService/Nope', Buffer.alloc(0));
    if (process.env.TG_E2E_VERBOSE) console.log('grpc', r3.code, r3.details);
    assert.equal(r3.code, GRPC.UNIMPLEMENTED, `unknown method: ${r3.code} ${r3.details}`);
    assert.match(r3.details, /^unknown method /);

    const valid = serialize('metrics', 'protobuf', await sampleTelemetry(`e2e-bad-grpc-${RUN}`));
    const r4 = await unary(client, METHODS.metrics, valid);
    assert.equal(r4.code, GRPC.OK, `valid after errors: ${r4.code} ${r4.details}`);
  } finally {
    client.close();
  }
  const gz = grpcClient(c.grpcAddr, { gzip: true });
  try {
    const r = await unary(gz, METHODS.logs, Buffer.alloc(64 << 20));
    if (process.env.TG_E2E_VERBOSE) console.log('grpc', r.code, r.details);
    assert.equal(r.code, GRPC.RESOURCE_EXHAUSTED, `gzip bomb: ${r.code} ${r.details}`);
    assert.equal(r.details, `decompressed gzip body exceeds the limit of ${MAX_DECOMPRESSED} bytes`);
    const valid = serialize('logs', 'protobuf', await sampleTelemetry(`e2e-bad-grpcgz-${RUN}`));
    const r2 = await unary(gz, METHODS.logs, valid);
    assert.equal(r2.code, GRPC.OK, `gzip valid: ${r2.code} ${r2.details}`);
  } finally {
    gz.close();
  }
});

test('after all of it: alive, healthy, accepting, nothing lost', async () => {
  assert.equal(c.exit, null, `collector died: ${JSON.stringify(c.exit)}\n${c.stderr().slice(-3000)}`);
  const h = await fetch(`${c.apiUrl}/healthz`);
  assert.equal(h.status, 200, await h.text());
  const after1 = factory.traceBatch(5);
  const res = await post('/v1/traces', after1.body, PB);
  assert.equal(res.status, 200, res.body.toString());
  for (const b of [before1, after1]) {
    const { json } = await getTrace(c.apiUrl, b.traceId);
    assert.deepEqual(flattenSpans(json).map((s) => s.item.spanId).sort(), [...b.spanIds].sort());
  }
  // The log never carries telemetry values, not even from bad requests.
  assert.doesNotMatch(c.stderr(), /batch-root|e2e-bad-/);
});
