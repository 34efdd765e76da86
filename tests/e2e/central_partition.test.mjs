// Partition: the centre is unreachable while two sites keep ingesting; the
// sites say so (partitioned, backlog growing); the centre returns and
// every summary arrives exactly once, in order per site.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';

import { sleep, tempDir } from './lib/collector.mjs';
import { Central, Site, spansOf, waitFor, writeSites } from './lib/central.mjs';
import { checkExactlyOnceInOrder, OrderedSender } from './lib/send.mjs';

test('centre down, sites keep ingesting, centre back: exactly once, in order', { timeout: 120000 }, async () => {
  const dir = tempDir();
  const tok = { fra: crypto.randomBytes(12).toString('hex'), iad: crypto.randomBytes(12).toString('hex') };
  const sitesFile = writeSites(dir, [{ name: 'fra', token: tok.fra }, { name: 'iad', token: tok.iad }]);
  const centralDir = path.join(dir, 'central');
  let central = await new Central({ dataDir: centralDir, sitesFile }).start();
  const port = central.port;
  const forward = { allow_keys: ['test.seq'] };
  const sites = {};
  for (const name of ['fra', 'iad']) {
    sites[name] = await new Site({ name, dir: path.join(dir, name), token: tok[name], centralUrl: central.url, forward }).start();
  }
  const senders = { fra: new OrderedSender(sites.fra, 'svc-fra'), iad: new OrderedSender(sites.iad, 'svc-iad') };

  // Connected.
  await Promise.all(Object.values(senders).map((s) => s.sendMany(10)));
  await waitFor(() => {
    const { records } = central.export();
    return spansOf(records, 'fra').length === 50 && spansOf(records, 'iad').length === 50;
  }, { what: 'first deliveries' });

  // The centre goes away; the sites keep acknowledging their clients.
  const stopped = await central.stop();
  assert.equal(stopped.code, 0);
  await Promise.all(Object.values(senders).map((s) => s.sendMany(20)));
  for (const s of Object.values(senders)) {
    assert.equal(s.unacked.length, 0, 'a site refused data because its centre was down');
  }
  const down = await waitFor(async () => {
    const st = await sites.fra.status();
    return st.forwarder.partitioned && st.forwarder.outbox_batches > 0 && st.forwarder.last_error && st;
  }, { timeoutMs: 15000, what: 'the site to report the partition' });
  assert.ok(down.forwarder.outbox_records > 0);
  assert.ok(down.forwarder.outbox_oldest_age_seconds > 0);
  assert.ok(down.forwarder.budget_seconds_left > 0, 'time left before the outbox budget runs out');
  const siteView = central.status(['--endpoint', sites.fra.apiUrl]);
  assert.equal(siteView.status, 0, siteView.stderr);
  assert.match(siteView.stdout, /DOWN, outbox [1-9]\d* batches/);
  assert.match(down.forwarder.last_error, /transport/);
  const metrics = await (await fetch(`${sites.fra.apiUrl}/metrics`)).text();
  assert.match(metrics, /^tollgate_forward_partitioned 1$/m);
  assert.match(metrics, /^tollgate_outbox_batches [1-9]/m);
  const st = central.status();
  assert.equal(st.status, 1, 'status against a centre that is down fails');
  assert.match(st.stderr, /cannot reach/);

  // More while down, then the centre is back on the same address and data.
  await Promise.all(Object.values(senders).map((s) => s.sendMany(10)));
  central = await new Central({ dataDir: centralDir, sitesFile, port }).start();
  const exp = await waitFor(() => {
    const e = central.export();
    return spansOf(e.records, 'fra').length >= 200 && spansOf(e.records, 'iad').length >= 200 && e;
  }, { timeoutMs: 30000, what: 'the backlog to drain' });
  await sleep(1500); // anything doubled would show up by now
  const final = central.export();
  assert.equal(final.records.length >= exp.records.length, true);
  for (const [name, s] of Object.entries(senders)) {
    assert.equal(checkExactlyOnceInOrder(assert, final.records, name, s), 200);
  }
  // Caught up: no backlog, no partition, no gaps, RED counts add up.
  await waitFor(() => {
    const e = central.estate();
    return e.sites.every((s) => !s.partitioned && s.backlog_batches === 0 && s.gaps === 0);
  }, { timeoutMs: 10000, what: 'the estate to show both sites caught up' });
  for (const name of ['fra', 'iad']) {
    const red = final.records.filter((r) => r.type === 'red' && r.site === name && r.operation === 'batch-root');
    assert.equal(red.reduce((a, r) => a + r.requests, 0), 40, `${name}: RED requests`);
  }
  for (const s of Object.values(sites)) await s.stop();
  await central.stop();
});
