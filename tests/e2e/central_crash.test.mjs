// Crashes in the middle of forwarding: the site is killed with kill -9 (twice)
// and the centre is killed and restarted, while a client keeps sending.
// Nothing the site acknowledged is lost at the centre, nothing is doubled,
// and requests stay in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';

import { sleep, tempDir } from './lib/collector.mjs';
import { Central, Site, spansOf, waitFor, writeSites } from './lib/central.mjs';
import { checkExactlyOnceInOrder, OrderedSender } from './lib/send.mjs';

test('kill -9 the site and the centre mid-forwarding: nothing lost, nothing doubled', { timeout: 150000 }, async () => {
  const dir = tempDir();
  const token = crypto.randomBytes(12).toString('hex');
  const sitesFile = writeSites(dir, [{ name: 'fra', token }]);
  const centralDir = path.join(dir, 'central');
  let central = await new Central({ dataDir: centralDir, sitesFile }).start();
  const port = central.port;
  const site = await new Site({
    name: 'fra', dir: path.join(dir, 'fra'), token, centralUrl: central.url,
    forward: { allow_keys: ['test.seq'], outbox: { flush_interval: '50ms', max_batch_spans: 200 } },
  }).start();
  const sender = new OrderedSender(site, 'svc-crash');
  const state = { stop: false };
  const loop = (async () => {
    while (!state.stop) {
      const status = await sender.send(10);
      if (status !== 200) await sleep(50); // the site is restarting
    }
  })();

  for (let round = 0; round < 2; round++) {
    await sleep(1200 + Math.floor(Math.random() * 400));
    const before = spansOf(central.export().records, 'fra').length;
    assert.ok(before > 0 || round > 0, 'forwarding had started');
    const exit = await site.kill9();
    assert.equal(exit.signal, 'SIGKILL');
    await site.restart();

    await sleep(800 + Math.floor(Math.random() * 400));
    const cexit = await central.kill9();
    assert.equal(cexit.signal, 'SIGKILL');
    await sleep(300);
    central = await new Central({ dataDir: centralDir, sitesFile, port }).start();
  }
  await sleep(800);
  state.stop = true;
  await loop;
  assert.ok(sender.acked.length > 20, `only ${sender.acked.length} requests acknowledged`);

  const want = sender.ackedSpanIds.length;
  await waitFor(() => spansOf(central.export().records, 'fra').length >= want,
    { timeoutMs: 30000, what: `${want} acknowledged spans at the centre` });
  await sleep(1500);
  const { records } = central.export();
  checkExactlyOnceInOrder(assert, records, 'fra', sender);
  const siteRec = records.find((r) => r.type === 'site' && r.site === 'fra');
  assert.equal(siteRec.gaps, 0);
  await site.stop();
  await central.stop();
});
