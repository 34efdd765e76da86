// Several ingest loops (receivers.loops): each loop listens on the same
// OTLP/HTTP and OTLP/gRPC ports with a socket of its own (SO_REUSEPORT),
// so new connections spread over the loops. Every request sent on a fresh
// connection is acknowledged and stored whatever loop took it, /metrics
// sums the loops' counters, the connection cap holds for the port as a
// whole (not per loop), and SIGTERM drains every loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';

import { Collector, sleep, tempDir, writeConfig } from './lib/collector.mjs';
import { grpcClient, METHODS, unary } from './lib/grpc.mjs';
import { getTrace, httpPost, metricValue, parsePrometheus, parseResponse, rawRequest } from './lib/http.mjs';
import { traceRequest } from './lib/pb.mjs';

const LOOPS = 4;
const HTTP_CAP = 6;

function ids(i) {
  const traceId = crypto.createHash('sha256').update(`loops-${process.pid}-${i}`).digest('hex').slice(0, 32);
  return { traceId, spanId: traceId.slice(0, 16) };
}

// A fresh connection per request. The server frees a connection's slot
// when it has closed, a moment after the client read its answer, so the
// next batch may briefly find the cap full: 503, try again.
async function postFresh(port, body) {
  for (let attempt = 0; ; attempt++) {
    const res = await rawRequest(port, httpPost('/v1/traces', body, { 'content-type': 'application/x-protobuf' }));
    if (res.status !== 503 || attempt >= 50) return res;
    await sleep(20);
  }
}

async function metrics(c) {
  return parsePrometheus(await (await fetch(`${c.apiUrl}/metrics`)).text());
}

test('four ingest loops: fresh connections spread, every request stored, caps for the port as a whole', { timeout: 90000 }, async () => {
  const dir = tempDir();
  const config = writeConfig(dir, { receivers: { loops: LOOPS, otlp_http: { max_connections: HTTP_CAP } } });
  const c = new Collector({ dataDir: path.join(dir, 'data'), site: 'loops', config });
  await c.start();
  let stopped = false;
  try {
    assert.match(c.stderr(), new RegExp(`msg="ingest loops running" loops=${LOOPS}`));

    // 48 OTLP/HTTP requests and 16 OTLP/gRPC calls, each on a connection
    // of its own, six at a time (the HTTP cap).
    const HTTP_N = 48;
    const GRPC_N = 16;
    for (let b = 0; b < HTTP_N; b += HTTP_CAP) {
      const batch = [];
      for (let i = b; i < b + HTTP_CAP; i++) {
        const body = traceRequest({ ...ids(i), service: 'loops-http' });
        batch.push(postFresh(c.ports.http, body));
      }
      for (const res of await Promise.all(batch)) assert.equal(res.status, 200, res.raw?.toString());
    }
    const calls = [];
    for (let i = HTTP_N; i < HTTP_N + GRPC_N; i++) {
      const client = grpcClient(c.grpcAddr);
      calls.push(unary(client, METHODS.traces, traceRequest({ ...ids(i), service: 'loops-grpc' }))
        .finally(() => client.close()));
    }
    for (const r of await Promise.all(calls)) assert.equal(r.code, 0, r.details);

    // /metrics sums every loop's counters; the per-loop family shows the
    // kernel spread the connections (64 over 4 sockets all landing on one
    // has a chance of 4^-63).
    const m = await metrics(c);
    assert.equal(metricValue(m, 'tollgate_items_accepted_total', { signal: 'traces', transport: 'http' }), HTTP_N);
    assert.equal(metricValue(m, 'tollgate_items_accepted_total', { signal: 'traces', transport: 'grpc' }), GRPC_N);
    const perLoop = [];
    for (let k = 0; k < LOOPS; k++)
      perLoop.push(metricValue(m, 'tollgate_ingest_loop_items_accepted_total', { loop: String(k) }));
    assert.equal(perLoop.reduce((a, b) => a + b, 0), HTTP_N + GRPC_N, `per loop: ${perLoop}`);
    assert.ok(perLoop.filter((n) => n > 0).length >= 2, `more than one loop served: ${perLoop}`);

    // Every request is in the store, whatever loop took it.
    for (let i = 0; i < HTTP_N + GRPC_N; i++) {
      const { json: t } = await getTrace(c.apiUrl, ids(i).traceId);
      const spans = t.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
      assert.equal(spans.length, 1, `trace ${i}`);
    }

    // max_connections holds for the port, not per loop: of 16 sockets
    // spread over four loops, exactly six are served.
    const refusedBefore = metricValue(m, 'tollgate_refused_total', { server: 'otlp_http', reason: 'connections' }) ?? 0;
    const socks = [];
    const outcomes = [];
    for (let i = 0; i < 16; i++) {
      const s = net.connect(c.ports.http, '127.0.0.1');
      const o = { buf: Buffer.alloc(0), closed: false };
      s.on('data', (d) => { o.buf = Buffer.concat([o.buf, d]); });
      s.on('close', () => { o.closed = true; });
      s.on('error', () => { o.closed = true; });
      socks.push(s);
      outcomes.push(o);
      await new Promise((r) => s.once('connect', r));
    }
    await sleep(1000);
    const silent = outcomes.filter((o) => !o.buf.length && !o.closed);
    assert.equal(silent.length, HTTP_CAP, 'max_connections connections are served across the loops');
    for (const o of outcomes.filter((x) => x.buf.length)) {
      const r = parseResponse(o.buf, { closed: true });
      assert.equal(r.status, 503);
      assert.match(r.body.toString(), /too many connections/);
    }
    for (const s of socks) s.destroy();
    await sleep(300);
    const m2 = await metrics(c);
    assert.equal(metricValue(m2, 'tollgate_refused_total', { server: 'otlp_http', reason: 'connections' }),
      refusedBefore + 16 - HTTP_CAP);

    // SIGTERM with requests in flight on several loops: each is answered,
    // then the collector exits 0.
    const inflight = [];
    for (let i = 0; i < HTTP_CAP; i++) {
      const body = traceRequest({ ...ids(1000 + i), service: 'loops-drain' });
      inflight.push(rawRequest(c.ports.http, httpPost('/v1/traces', body, { 'content-type': 'application/x-protobuf' })));
    }
    await sleep(20);
    const res = await c.stop();
    stopped = true;
    assert.equal(res.code, 0, c.stderr());
    for (const r of await Promise.allSettled(inflight)) {
      // Answered 200 (committed before the stop) or refused while draining;
      // never left hanging.
      if (r.status === 'fulfilled') assert.ok([200, 503].includes(r.value.status), `status ${r.value.status}`);
    }
    assert.match(c.stderr(), /msg="drained"/);
  } finally {
    if (!stopped) await c.stop();
  }
});
