// A short overload soak (bench/soak.mjs; bench/soak.sh runs the long one):
// a real collector at twice its measured capacity for 25 s, with bounded
// load on loopback. Its memory stays bounded, it pushes back with 429 and
// Retry-After, nothing it acknowledged is lost, and it is back to
// answering every request within seconds once the load drops.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { runSoak } from '../../bench/soak.mjs';

test('twice the capacity for 25 s: bounded memory, 429 + Retry-After, nothing acknowledged lost', { timeout: 170000 }, async () => {
  const r = await runSoak({ durationSec: 25, calibrateSec: 3, recoverySec: 15, spans: 100,
    // A budget this small pushes back even when the client cannot offer much
    // more than the collector takes (a quiet machine, a fast disk).
    config: { limits: { max_pending_bytes: '128KiB', retry_after: '1s' } }, log: (l) => console.log(`# ${l}`) });
  console.log(`# soak: acknowledged ${r.acknowledged}, read back ${r.readBack}, refused ${JSON.stringify(r.overload.refused)}, ` +
    `RSS ${(r.rss.startKiB / 1024).toFixed(1)} -> max ${(r.rss.maxKiB / 1024).toFixed(1)} MiB, recovery ${r.recovery.recoveryMs} ms`);
  assert.equal(r.exit.code, 0);
  assert.ok(r.overload.refusedTotal > 0, 'the collector pushed back');
  assert.equal(r.overload.retryAfterMissing, 0, 'every 429/503 carries Retry-After');
  assert.equal(r.overload.errors, 0);
  assert.equal(r.missing, 0, 'acknowledged traces missing');
  assert.equal(r.short, 0, 'acknowledged traces missing spans');
  assert.equal(r.readBack, r.acknowledged);
  // Bounded: the pending budget is 1 MiB and the load at most 200
  // requests in flight; a collector that queued the excess would grow
  // by about 2 MB a second of overload.
  assert.ok(r.rss.maxKiB < r.rss.startKiB + 128 * 1024, `RSS ${r.rss.startKiB} -> ${r.rss.maxKiB} KiB`);
  assert.ok(r.recovery.recoveryMs !== null && r.recovery.recoveryMs <= 10000, `recovery ${r.recovery.recoveryMs} ms`);
});
