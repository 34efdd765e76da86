// Crash safety: nothing acknowledged is lost. Clients send OTLP/HTTP
// protobuf batches continuously; the collector is killed with SIGKILL
// mid-stream, restarted on the same data directory, and every span of every
// request that got a 200 must be there. Three rounds on one directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';

import { Collector, sleep, tempDir } from './lib/collector.mjs';
import { getTrace } from './lib/http.mjs';
import { flattenSpans, makeSpanFactory } from './lib/otlp.mjs';
import { decodeExportResponse } from './lib/pb.mjs';

const ROUNDS = 3;
const SENDERS = 6;
const SPANS_PER_REQUEST = 25;

async function sendContinuously(c, factory, state) {
  while (!state.stop) {
    const batch = factory.traceBatch(SPANS_PER_REQUEST, { attrs: { 'crash.round': state.round } });
    state.sent.push(batch);
    try {
      const r = await fetch(`${c.httpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: batch.body,
        signal: AbortSignal.timeout(10000),
      });
      const body = Buffer.from(await r.arrayBuffer());
      if (r.status === 200) {
        const resp = decodeExportResponse(body);
        assert.equal(resp.partialSuccess?.rejected || 0, 0, 'no span of a valid batch is rejected');
        batch.acked = true;
        state.acked.push(batch);
      } else {
        state.other[r.status] = (state.other[r.status] || 0) + 1;
      }
    } catch {
      // Connection reset by the kill: not acknowledged, may or may not be stored.
      state.failed += 1;
    }
  }
}

// Fetches traces with a little concurrency; returns Map traceId -> Set of span ids.
async function fetchSpanIds(apiUrl, traceIds) {
  const out = new Map();
  const queue = [...traceIds];
  const worker = async () => {
    while (queue.length) {
      const id = queue.pop();
      const { status, json } = await getTrace(apiUrl, id, { expectStatus: null });
      if (status === 404) { out.set(id, new Set()); continue; }
      assert.equal(status, 200, `GET trace ${id} -> ${status}`);
      out.set(id, new Set(flattenSpans(json).map((s) => s.item.spanId)));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

test('every acknowledged span survives kill -9, three times', { timeout: 110000 }, async () => {
  const dataDir = path.join(tempDir(), 'data');
  const factory = makeSpanFactory(`e2e-crash-${crypto.randomBytes(3).toString('hex')}`);
  const allAcked = [];
  const allSent = [];
  let c = new Collector({ dataDir, site: 'e2e-crash' });
  await c.start();

  for (let round = 1; round <= ROUNDS; round++) {
    const state = { stop: false, round, sent: [], acked: [], failed: 0, other: {} };
    const senders = Array.from({ length: SENDERS }, () => sendContinuously(c, factory, state));
    await sleep(1000 + Math.floor(Math.random() * 300));
    const exit = await c.kill9();
    assert.equal(exit.signal, 'SIGKILL', `collector was still running when killed: ${JSON.stringify(exit)}\n${c.stderr().slice(-2000)}`);
    state.stop = true;
    await Promise.all(senders);
    allAcked.push(...state.acked);
    allSent.push(...state.sent);
    const unacked = state.sent.length - state.acked.length;
    console.log(`round ${round}: ${state.acked.length} acknowledged, ${unacked} not (failed ${state.failed}, other ${JSON.stringify(state.other)})`);
    assert.ok(state.acked.length >= 5, `round ${round}: too few acknowledged requests (${state.acked.length}) to test anything`);
    assert.ok(unacked >= 1, `round ${round}: the kill did not interrupt any request`);

    c = new Collector({ dataDir, site: 'e2e-crash' });
    await c.start();
    const found = await fetchSpanIds(c.apiUrl, allSent.map((b) => b.traceId));
    const lost = [];
    const torn = [];
    for (const b of allSent) {
      const have = found.get(b.traceId);
      const missing = b.spanIds.filter((id) => !have.has(id));
      if (b.acked && missing.length) lost.push(`${b.traceId}: ${missing.length}/${b.spanIds.length} spans missing`);
      // One request commits in one transaction: all of it or none.
      if (!b.acked && missing.length && missing.length !== b.spanIds.length) {
        torn.push(`${b.traceId}: ${missing.length}/${b.spanIds.length} spans missing`);
      }
      if (have.size) assert.equal(have.size, b.spanIds.length, `trace ${b.traceId}: unexpected extra spans`);
    }
    assert.deepEqual(lost, [], `round ${round}: acknowledged spans lost after kill -9`);
    assert.deepEqual(torn, [], `round ${round}: a request was stored in part`);
  }
  const res = await c.stop();
  assert.equal(res.code, 0, `final SIGTERM exit ${JSON.stringify(res)}`);
});
