// The collector under abuse (issue 15 part 3): bare TCP sockets on the gRPC
// port are closed at the preface deadline instead of holding their slots
// for the idle timeout, one address cannot take every slot (on gRPC or
// HTTP), a small gzip bomb stops at the ratio cap with 413 /
// RESOURCE_EXHAUSTED, and every refusal is counted in /metrics by server
// and reason. Attackers connect from 127.0.0.2; the SDK from 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';

import { Collector, sleep, tempDir, writeConfig } from './lib/collector.mjs';
import { grpcClient, GRPC, METHODS, unary } from './lib/grpc.mjs';
import { getTrace, httpPost, rawRequest } from './lib/http.mjs';
import { flattenSpans } from './lib/otlp.mjs';
import { pb, traceRequest } from './lib/pb.mjs';

async function metrics(c) {
  return (await fetch(`${c.apiUrl}/metrics`)).text();
}

function refused(text, server, reason) {
  const re = new RegExp(`^tollgate_refused_total\\{server="${server}",reason="${reason}"\\} (\\d+)$`, 'm');
  const m = re.exec(text);
  assert.ok(m, `no tollgate_refused_total{server="${server}",reason="${reason}"}`);
  return Number(m[1]);
}

function bareSockets(port, n) {
  const socks = [];
  let closed = 0;
  for (let i = 0; i < n; i++) {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
    s.on('error', () => {});
    s.resume(); // read (and drop) what the server sends, so its close is seen
    s.on('close', () => { closed++; });
    socks.push(s);
  }
  return { socks, closed: () => closed };
}

async function start(config) {
  const dir = tempDir();
  const c = new Collector({ dataDir: path.join(dir, 'data'), site: 'abuse', config: writeConfig(dir, config) });
  await c.start();
  return c;
}

function exportOne(client) {
  const body = traceRequest({ traceId: crypto.randomBytes(16).toString('hex'), spanId: crypto.randomBytes(8).toString('hex') });
  return unary(client, METHODS.traces, body, { timeoutMs: 5000 });
}

test('bare sockets on the gRPC port are closed at the preface deadline', { timeout: 60000 }, async () => {
  const c = await start({
    receivers: { otlp_grpc: { max_connections: 64, max_connections_per_source: 0, preface_timeout: '1s' } },
  });
  const bare = bareSockets(c.ports.grpc, 64);
  try {
    await sleep(300);
    // Every slot is held by a socket that never speaks HTTP/2...
    const m0 = await metrics(c);
    assert.equal(refused(m0, 'otlp_grpc', 'preface_timeout'), 0);
    // ...until the preface deadline closes them all; then the SDK gets in.
    const t0 = Date.now();
    while (bare.closed() < 64 && Date.now() - t0 < 10000) await sleep(50);
    assert.equal(bare.closed(), 64, 'bare sockets closed by the server');
    const client = grpcClient(c.grpcAddr);
    const r = await exportOne(client);
    assert.equal(r.code, 0, r.details);
    client.close();
    assert.equal(refused(await metrics(c), 'otlp_grpc', 'preface_timeout'), 64);
  } finally {
    for (const s of bare.socks) s.destroy();
  }
  const res = await c.stop();
  assert.equal(res.code, 0);
});

test('one address cannot take every gRPC or HTTP slot', { timeout: 60000 }, async () => {
  const c = await start({
    receivers: {
      otlp_grpc: { max_connections: 64, max_connections_per_source: 16 },
      otlp_http: { max_connections: 64, max_connections_per_source: 16 },
    },
  });
  const g = bareSockets(c.ports.grpc, 64);
  const h = bareSockets(c.ports.http, 64);
  try {
    await sleep(500);
    // The SDK (another address) is served at once on both ports.
    const client = grpcClient(c.grpcAddr);
    const r = await exportOne(client);
    assert.equal(r.code, 0, r.details);
    client.close();
    const body = traceRequest({ traceId: crypto.randomBytes(16).toString('hex'), spanId: crypto.randomBytes(8).toString('hex') });
    const hr = await rawRequest(c.ports.http, httpPost('/v1/traces', body, { 'Content-Type': 'application/x-protobuf' }));
    assert.equal(hr.status, 200, hr.body.toString());
    const m = await metrics(c);
    assert.equal(refused(m, 'otlp_grpc', 'per_source'), 48);
    assert.equal(refused(m, 'otlp_http', 'per_source'), 48);
    assert.equal(refused(m, 'otlp_grpc', 'connections'), 0);
  } finally {
    for (const s of [...g.socks, ...h.socks]) s.destroy();
  }
  const res = await c.stop();
  assert.equal(res.code, 0);
});

test('a small gzip bomb stops at the ratio cap: 413 and RESOURCE_EXHAUSTED', { timeout: 60000 }, async () => {
  const c = await start({ limits: { max_decompressed_bytes: '64MiB', max_decompression_ratio: 100 } });
  // 32 MiB of zeros in ~32 KB: within max_decompressed_bytes, far beyond
  // 100 x its size (and the 4 MiB floor).
  const bomb = zlib.gzipSync(Buffer.alloc(32 << 20), { level: 9 });
  assert.ok(bomb.length < 64 << 10);
  const hr = await rawRequest(c.ports.http, httpPost('/v1/traces', bomb,
    { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' }));
  assert.equal(hr.status, 413, hr.body.toString());
  const client = grpcClient(c.grpcAddr, { gzip: true });
  const r = await unary(client, METHODS.traces, Buffer.alloc(32 << 20), { timeoutMs: 10000 });
  client.close();
  assert.equal(r.code, GRPC.RESOURCE_EXHAUSTED, r.details);
  const m = await metrics(c);
  assert.equal(refused(m, 'otlp_http', 'decompressed_too_large'), 1);
  assert.equal(refused(m, 'otlp_grpc', 'decompressed_too_large'), 1);
  const res = await c.stop();
  assert.equal(res.code, 0);
});

// One span of `n` attributes in one trace, as protobuf.
function bigSpan(n) {
  const traceId = crypto.randomBytes(16);
  const attrs = [];
  for (let i = 0; i < n; i++) attrs.push(pb.msg(9, pb.string(1, `k${i}`), pb.msg(2, pb.string(1, `v${i % 10}`))));
  const span = pb.bytes(2, Buffer.concat([pb.bytes(1, traceId), pb.bytes(2, crypto.randomBytes(8)),
    pb.string(5, 'big'), pb.fixed64(7, 1n), pb.fixed64(8, 2n), ...attrs]));
  const resource = pb.msg(1, pb.msg(1, pb.string(1, 'service.name'), pb.msg(2, pb.string(1, 'big'))));
  return { traceId: traceId.toString('hex'), body: pb.msg(1, resource, pb.msg(2, span)) };
}

function rssKiB(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

// A read while sampling the collector's RSS every 10 ms.
async function readSampled(c, traceId) {
  let peak = rssKiB(c.pid);
  const iv = setInterval(() => { peak = Math.max(peak, rssKiB(c.pid)); }, 10);
  const r = await getTrace(c.apiUrl, traceId, { expectStatus: null });
  clearInterval(iv);
  return { r, peak };
}

test('reading a span of a million attributes is bounded by limits.max_read_bytes and gives memory back', { timeout: 90000 }, async () => {
  const c = await start({ receivers: { otlp_http: { max_body_bytes: '32MiB' } } }); // limits.max_read_bytes: 64MiB
  const big = bigSpan(1000000);
  const ok = await rawRequest(c.ports.http, httpPost('/v1/traces', big.body, { 'Content-Type': 'application/x-protobuf' }), { timeoutMs: 60000 });
  assert.equal(ok.status, 200, ok.body.toString());
  const small = bigSpan(30000);
  const ok2 = await rawRequest(c.ports.http, httpPost('/v1/traces', small.body, { 'Content-Type': 'application/x-protobuf' }));
  assert.equal(ok2.status, 200);
  await sleep(500);
  const before = rssKiB(c.pid);
  for (let i = 0; i < 3; i++) {
    const { r, peak } = await readSampled(c, big.traceId);
    assert.equal(r.status, 413);
    assert.match(r.text, /trace too large to read within limits.max_read_bytes/);
    // The read's records stop at 64 MiB; the JSON is never built.
    assert.ok(peak - before < 96 * 1024, `read ${i}: RSS ${before} -> peak ${peak} KiB`);
  }
  // A trace that fits is answered in full.
  const { r } = await readSampled(c, small.traceId);
  assert.equal(r.status, 200, r.text.slice(0, 200));
  assert.equal(flattenSpans(r.json)[0].item.attributes.length, 30000);
  await sleep(300);
  // Repeated large reads leave the worker's memory given back.
  const after = rssKiB(c.pid);
  console.log(`# 1M-attribute span (${big.body.length} bytes): RSS before reads ${before} KiB, after ${after} KiB`);
  assert.ok(after - before < 48 * 1024, `RSS ${before} -> ${after} KiB after the reads`);
  const res = await c.stop();
  assert.equal(res.code, 0);
});

test('many mid-sized reads, each under the trim threshold, leave the workers\' memory given back', { timeout: 120000 }, async () => {
  const c = await start({});
  const traces = [];
  for (let i = 0; i < 16; i++) {
    const t = bigSpan(25000);
    const ok = await rawRequest(c.ports.http, httpPost('/v1/traces', t.body, { 'Content-Type': 'application/x-protobuf' }));
    assert.equal(ok.status, 200);
    traces.push(t.traceId);
  }
  await sleep(500);
  const before = rssKiB(c.pid);
  // Eight at a time, so every worker thread serves some: each worker's
  // malloc arena would otherwise keep its own high-water mark.
  for (let round = 0; round < 4; round++) {
    await Promise.all(traces.map(async (id, i) => {
      await sleep((i % 8) * 5);
      const r = await getTrace(c.apiUrl, id, { expectStatus: null });
      assert.equal(r.status, 200);
    }));
  }
  await sleep(300);
  const after = rssKiB(c.pid);
  console.log(`# 64 reads of 25,000-attribute spans: RSS before ${before} KiB, after ${after} KiB`);
  assert.ok(after - before < 48 * 1024, `RSS ${before} -> ${after} KiB after the reads`);
  const res = await c.stop();
  assert.equal(res.code, 0);
});
