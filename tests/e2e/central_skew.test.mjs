// Clock skew: two sites whose clocks are shifted by known offsets (the test
// hook TOLLGATE_TEST_CLOCK_SKEW_MS shifts the forwarder's clock) are
// reported with those offsets, measured NTP-style from four timestamps at
// every exchange. Stated tolerance: 250 ms (the loopback round trip is well
// under a millisecond; the margin is for a loaded machine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';

import { tempDir } from './lib/collector.mjs';
import { Central, Site, waitFor, writeSites } from './lib/central.mjs';
import { OrderedSender } from './lib/send.mjs';

const TOLERANCE_MS = 250;

test('a site with a skewed clock is reported with its offset', { timeout: 90000 }, async () => {
  const dir = tempDir();
  const skews = { ahead: 7000, behind: -3000, true: 0 };
  const tokens = Object.fromEntries(Object.keys(skews).map((n) => [n, crypto.randomBytes(8).toString('hex')]));
  const sitesFile = writeSites(dir, Object.keys(skews).map((name) => ({ name, token: tokens[name] })));
  const central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile }).start();
  const sites = [];
  for (const [name, ms] of Object.entries(skews)) {
    sites.push(await new Site({
      name, dir: path.join(dir, name), token: tokens[name], centralUrl: central.url,
      env: ms ? { TOLLGATE_TEST_CLOCK_SKEW_MS: ms } : {},
    }).start());
  }
  for (const s of sites) await new OrderedSender(s, `svc-${s.name}`).sendMany(3);

  const estate = await waitFor(() => {
    const e = central.estate();
    return e.sites.length === 3 && e.sites.every((s) => s.clock_valid && s.batches > 0) && e;
  }, { timeoutMs: 20000, what: 'clock samples from every site' });
  const byName = Object.fromEntries(estate.sites.map((s) => [s.name, s]));
  for (const [name, ms] of Object.entries(skews)) {
    const got = byName[name].clock_offset_ms;
    assert.ok(Math.abs(got - ms) <= TOLERANCE_MS, `${name}: offset ${got} ms, expected ${ms} ms`);
  }
  assert.ok(byName.ahead.warnings.some((w) => /^skewed: site clock is \+(6\.9\d\d|7\.0\d\d)s/.test(w)), JSON.stringify(byName.ahead.warnings));
  assert.ok(byName.behind.warnings.some((w) => /^skewed: site clock is -(2\.9\d\d|3\.0\d\d)s/.test(w)));
  assert.deepEqual(byName.true.warnings, []);

  // The site sees the same offset from its side.
  const st = await sites[0].status();
  assert.ok(Math.abs(st.forwarder.clock_offset_ns / 1e6 - 7000) <= TOLERANCE_MS);
  // And the status table shows it.
  const out = central.status();
  assert.equal(out.status, 0);
  assert.match(out.stdout, /^ahead\s+WARN\s.*\+(6\.9\d\d|7\.0\d\d)s/m);
  assert.match(out.stdout, /ahead: skewed/);
  for (const s of sites) await s.stop();
  await central.stop();
});
