// Sends SDK-made trace requests (OTLP/HTTP protobuf, serialised by the
// official OpenTelemetry JS serializer) to a site, one at a time, so the
// order the site acknowledged them in is known.
import { makeSpanFactory } from './otlp.mjs';

export class OrderedSender {
  constructor(site, service) {
    this.site = site;
    this.factory = makeSpanFactory(service);
    this.seq = 0;
    this.acked = [];   // [{seq, spanIds, rootSpanId}] in acknowledgement order
    this.unacked = []; // sent, no 200 (connection reset by a kill)
  }

  // One request of `n` spans; its root carries test.seq.
  async send(n = 5) {
    const seq = this.seq++;
    const b = this.factory.traceBatch(n, { attrs: { 'test.seq': seq } });
    const entry = { seq, spanIds: b.spanIds, rootSpanId: b.spanIds[0], traceId: b.traceId };
    try {
      const r = await fetch(`${this.site.httpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: b.body,
        signal: AbortSignal.timeout(10000),
      });
      await r.arrayBuffer();
      if (r.status === 200) this.acked.push(entry);
      else this.unacked.push(entry);
      return r.status;
    } catch {
      this.unacked.push(entry);
      return 0;
    }
  }

  async sendMany(count, n = 5) {
    for (let i = 0; i < count; i++) await this.send(n);
  }

  get ackedSpanIds() { return this.acked.flatMap((e) => e.spanIds); }
}

// Checks what the centre holds for one site against what the site
// acknowledged: every acknowledged span exactly once, nothing else except
// spans the site may have stored without answering, and requests in the
// order they were acknowledged (roots' test.seq ascending in export order).
export function checkExactlyOnceInOrder(assert, records, site, sender) {
  const spans = records.filter((r) => r.type === 'span' && r.site === site);
  const ids = spans.map((s) => s.spanId);
  const counts = new Map();
  for (const id of ids) counts.set(id, (counts.get(id) || 0) + 1);
  const doubled = [...counts].filter(([, c]) => c > 1).map(([id]) => id);
  assert.deepEqual(doubled, [], `${site}: span summaries arrived more than once`);
  const missing = sender.ackedSpanIds.filter((id) => !counts.has(id));
  assert.deepEqual(missing, [], `${site}: acknowledged spans never reached the centre`);
  const allowed = new Set([...sender.ackedSpanIds, ...sender.unacked.flatMap((e) => e.spanIds)]);
  const unknown = ids.filter((id) => !allowed.has(id));
  assert.deepEqual(unknown, [], `${site}: the centre holds spans nobody sent`);
  const order = spans.filter((s) => s.attributes && s.attributes['test.seq'] !== undefined)
    .map((s) => s.attributes['test.seq']);
  for (let i = 1; i < order.length; i++) {
    assert.ok(order[i] > order[i - 1], `${site}: request ${order[i]} arrived after ${order[i - 1]}`);
  }
  // Batches are numbered without gaps.
  const seqs = records.filter((r) => r.type === 'batch' && r.site === site).map((r) => r.seq);
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `${site}: batch sequence gap`);
  return spans.length;
}
