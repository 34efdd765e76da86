// The failure budget at the boundary (docs/central.md, "Failure budget"):
// the link between a site and its centre is cut (the centre stopped) while
// the site keeps ingesting at a stated rate, for a minute in real time and,
// with the forwarder's clock running fast (test hook
// TOLLGATE_TEST_CLOCK_RATE), for an hour and for a day. Throughout, the
// outbox stays within its disk budget and the site's status tells the
// budget left; when the centre returns, every summary the site kept
// arrives exactly once, and what the budget shed is exactly what is
// missing, announced (no gaps) and never raw local data (every
// acknowledged trace still reads back from the site in full).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';

import { sleep, tempDir } from './lib/collector.mjs';
import { Central, Site, spansOf, waitFor, writeSites } from './lib/central.mjs';
import { getTrace } from './lib/http.mjs';
import { flattenSpans } from './lib/otlp.mjs';
import { OrderedSender } from './lib/send.mjs';

// Runs one partition: `simSeconds` of simulated time at `rate` spans per
// simulated second, in `wallSeconds` of real time (clock rate =
// simSeconds / wallSeconds), with an outbox of `budget`.
async function partition({ name, simSeconds, wallSeconds, rate, budget, spansPerRequest }) {
  const clockRate = Math.round(simSeconds / wallSeconds);
  const dir = tempDir();
  const token = crypto.randomBytes(8).toString('hex');
  const sitesFile = writeSites(dir, [{ name, token }]);
  const central = new Central({ dataDir: path.join(dir, 'central'), sitesFile });
  await central.start();
  const env = clockRate > 1 ? { TOLLGATE_TEST_CLOCK_RATE: String(clockRate) } : {};
  const site = await new Site({
    name, dir: path.join(dir, name), token, centralUrl: central.url, env,
    forward: { outbox: { flush_interval: '200ms', max_bytes: budget } },
  }).start();
  const sender = new OrderedSender(site, `svc-${name}`);
  await sender.sendMany(2, 5);
  await waitFor(() => spansOf(central.export().records, name).length === 10, { what: 'first delivery' });
  await central.stop();

  // Ingest the partition's volume in wallSeconds, evenly, and sample the
  // site's status every second.
  const total = Math.round(simSeconds * rate);
  const requests = Math.ceil(total / spansPerRequest);
  const samples = [];
  const t0 = Date.now();
  let sent = 0;
  let next = t0;
  while (sent < requests) {
    await sender.send(spansPerRequest);
    sent++;
    if (Date.now() >= next) {
      const st = (await site.status()).forwarder;
      samples.push({ t: (Date.now() - t0) / 1000, ...st });
      next += 1000;
    }
    const due = t0 + (sent * wallSeconds * 1000) / requests;
    if (due > Date.now()) await sleep(due - Date.now());
  }
  await sleep(1500); // the last flush into the outbox
  const end = (await site.status()).forwarder;
  samples.push({ t: (Date.now() - t0) / 1000, ...end });
  assert.equal(sender.unacked.length, 0, 'the site acknowledged every request');

  // Within the budget throughout, and the status says what is left.
  for (const s of samples) {
    assert.equal(s.budget_bytes, budget, 'status reports the budget');
    assert.ok(s.outbox_bytes <= budget, `outbox ${s.outbox_bytes} over its budget ${budget} at ${s.t}s`);
    // A partition is declared after three failed heartbeats.
    if (s.t > 5) assert.ok(s.partitioned, `status reports the partition (${s.t}s)`);
    if (s.shed_batches + s.shed_stripped > 0 && s.outbox_bytes >= budget * 0.95) {
      assert.equal(s.budget_seconds_left, 0, `at the budget, none left (${s.t}s)`);
    }
  }
  // While filling, the time left is the bytes left over the fill rate, in
  // the forwarder's (simulated) seconds: compare with the rate seen
  // between two samples a few seconds apart.
  const filling = samples.filter((s) => s.shed_batches + s.shed_stripped === 0 && s.budget_seconds_left > 0);
  if (filling.length >= 4) {
    const a = filling[Math.floor(filling.length / 4)];
    const b = filling[filling.length - 1];
    const seen = (b.outbox_bytes - a.outbox_bytes) / ((b.t - a.t) * clockRate);
    const expected = (budget - b.outbox_bytes) / seen;
    assert.ok(b.budget_seconds_left > expected / 3 && b.budget_seconds_left < expected * 3,
      `budget_seconds_left ${b.budget_seconds_left} vs ${expected.toFixed(0)} from the fill rate`);
  }

  // The link returns: everything kept arrives, once.
  await central.start();
  await waitFor(async () => {
    const st = (await site.status()).forwarder;
    return !st.partitioned && st.outbox_batches === 0;
  }, { timeoutMs: 60000, what: 'the backlog to drain' });
  const { records } = central.export();
  const spans = spansOf(records, name);
  const counts = new Map();
  for (const s of spans) counts.set(s.spanId, (counts.get(s.spanId) || 0) + 1);
  assert.deepEqual([...counts].filter(([, c]) => c > 1), [], 'summaries arrived more than once');
  const acked = new Set(sender.ackedSpanIds);
  assert.ok(spans.every((s) => acked.has(s.spanId)), 'the centre holds spans nobody sent');
  const missing = sender.ackedSpanIds.filter((id) => !counts.has(id)).length;
  const estate = central.estate().sites.find((s) => s.name === name);
  assert.equal(estate.gaps, 0, 'every shed batch was announced');
  // Raw local data is never shed: every acknowledged trace reads back whole.
  for (const e of sender.acked) {
    const { json } = await getTrace(site.apiUrl, e.traceId);
    assert.equal(flattenSpans(json).length, e.spanIds.length, `trace ${e.traceId} read back whole`);
  }
  const res = { total: sender.ackedSpanIds.length, delivered: counts.size, missing, end, samples: samples.length };
  console.log(`# ${name}: ${JSON.stringify({ ...res, end: { outbox_bytes: end.outbox_bytes, shed_batches: end.shed_batches, shed_stripped: end.shed_stripped, shed_records: end.shed_records, budget_seconds_left: end.budget_seconds_left } })}`);
  await site.stop();
  await central.stop();
  return res;
}

test('one minute without the centre at 100 spans/s: held within budget, all arrive once', { timeout: 150000 }, async () => {
  const r = await partition({ name: 'minute', simSeconds: 60, wallSeconds: 60, rate: 100, budget: 64 << 20, spansPerRequest: 50 });
  assert.equal(r.missing, 0, 'nothing shed under the budget');
  assert.equal(r.end.shed_batches + r.end.shed_stripped, 0);
});

test('one hour without the centre at 20 spans/s (clock x120): held within budget, all arrive once', { timeout: 150000 }, async () => {
  const r = await partition({ name: 'hour', simSeconds: 3600, wallSeconds: 30, rate: 20, budget: 16 << 20, spansPerRequest: 400 });
  assert.equal(r.missing, 0, 'nothing shed under the budget');
  assert.equal(r.end.shed_batches + r.end.shed_stripped, 0);
});

test('one day without the centre at 2 spans/s (clock x2880) in a 256 KiB outbox: sheds span summaries as documented', { timeout: 150000 }, async () => {
  const r = await partition({ name: 'day', simSeconds: 86400, wallSeconds: 30, rate: 2, budget: 256 << 10, spansPerRequest: 400 });
  assert.ok(r.end.shed_stripped + r.end.shed_batches > 0, 'the budget shed');
  assert.ok(r.missing > 0 && r.missing <= r.end.shed_records, `missing ${r.missing}, shed records ${r.end.shed_records}`);
  // Span summaries go first (stripped from the oldest batches, their
  // aggregates kept): while no batch was dropped whole, the spans missing
  // are exactly the records shed.
  if (r.end.shed_batches === 0) assert.equal(r.missing, r.end.shed_records);
});
