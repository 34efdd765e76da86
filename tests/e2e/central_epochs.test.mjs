// The centre's exactly-once across epochs (issue 15 part 2): a site that
// lost its outbox restarts under a new epoch and resumes after what the
// centre already holds (nothing forwarded twice, nothing overwritten); a
// replayed batch of the old epoch and a far-future sequence are refused
// with 409 and counted; the export holds every span exactly once and
// prints every counter unsigned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { sleep, tempDir } from './lib/collector.mjs';
import { Central, Site, spansOf, waitFor, writeSites } from './lib/central.mjs';
import { spawnSync } from 'node:child_process';
import { pb } from './lib/pb.mjs';
import { OrderedSender } from './lib/send.mjs';

// zstd with the content size in the frame header, as the centre's bounded
// decompression requires (node 20 has no zstd; the CLI on stdin omits it).
function zstdFramed(buf) {
  const r = spawnSync('zstd', ['-q', '-c', `--stream-size=${buf.length}`], { input: buf });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr}`);
  return r.stdout;
}

// An Upload as a site would send it (protocol 2), one span summary inside.
function upload({ site, epoch, seq }) {
  const span = Buffer.concat([
    pb.bytes(1, crypto.randomBytes(16)), pb.bytes(2, crypto.randomBytes(8)),
    pb.string(4, 'replayed'), pb.uint(8, 1000),
  ]);
  const batch = Buffer.concat([
    pb.uint(1, 2), pb.string(2, site), pb.uint(3, seq),
    pb.fixed64(4, BigInt(Date.now()) * 1000000n),
    pb.msg(9, pb.string(1, 'svc-replay'), pb.msg(2, span)),
  ]);
  return Buffer.concat([
    pb.uint(1, 2), pb.string(2, site), pb.bytes(3, epoch), pb.uint(4, seq),
    pb.fixed64(5, BigInt(Date.now()) * 1000000n),
    pb.bytes(7, zstdFramed(batch)), pb.uint(8, batch.length),
  ]);
}

async function post(central, token, body) {
  const r = await fetch(`${central.url}/v1/upload`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf', authorization: `Bearer ${token}`,
      'x-tollgate-site': 'fra', 'x-tollgate-protocol': '2',
    },
    body,
  });
  return { status: r.status, text: await r.text() };
}

const idCounts = (records) => {
  const m = new Map();
  for (const s of spansOf(records, 'fra')) m.set(s.spanId, (m.get(s.spanId) || 0) + 1);
  return m;
};

test('epochs: fresh outbox resumes, old epoch and far-future sequences refused, exactly once', { timeout: 120000 }, async () => {
  const dir = tempDir();
  const token = crypto.randomBytes(12).toString('hex');
  const sitesFile = writeSites(dir, [{ name: 'fra', token }]);
  const central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile }).start();
  const site = await new Site({
    name: 'fra', dir: path.join(dir, 'fra'), token, centralUrl: central.url,
    forward: { allow_keys: ['test.seq'], outbox: { flush_interval: '50ms' } },
  }).start();
  const sender = new OrderedSender(site, 'svc-epochs');
  await sender.sendMany(20, 5);
  await waitFor(() => spansOf(central.export().records, 'fra').length >= 100,
    { what: 'the first 100 spans at the centre' });
  const oldEpoch = central.export().records.find((r) => r.type === 'site' && r.site === 'fra').epoch;
  assert.match(oldEpoch, /^[0-9a-f]{32}$/);

  // The site loses its outbox (and with it its epoch and cursor); its
  // local store survives. Before issue 15 it forwarded its whole store
  // again, and its new sequences 1..n overwrote the stored batches 1..n.
  await site.stop();
  fs.rmSync(path.join(dir, 'fra', 'data', 'outbox'), { recursive: true, force: true });
  await site.restart();
  await sender.sendMany(10, 5);
  await waitFor(() => spansOf(central.export().records, 'fra').length >= 150,
    { what: '150 spans at the centre' });
  await sleep(1000); // a second forwarding of the old 100 would land by now
  let { records } = central.export();
  const siteRec = records.find((r) => r.type === 'site' && r.site === 'fra');
  assert.notEqual(siteRec.epoch, oldEpoch, 'the restarted site runs a new epoch');
  assert.equal(siteRec.epochs, 2);
  assert.match(site.collector.stderr(), /resuming after what the centre already holds/);
  assert.match(central.log, /site changed epoch/);

  // A replayed batch of the old epoch, under a sequence the new epoch has
  // not reached (so no (site, seq) key could catch it): refused.
  const replay = await post(central, token, upload({ site: 'fra', epoch: Buffer.from(oldEpoch, 'hex'), seq: 1 }));
  assert.equal(replay.status, 409, replay.text);
  assert.match(replay.text, /epoch retired/);
  const replay2 = await post(central, token, upload({ site: 'fra', epoch: Buffer.from(oldEpoch, 'hex'), seq: 999 }));
  assert.equal(replay2.status, 409, replay2.text);

  // A far-future sequence under the current epoch: refused, and the
  // site's own next batches still go in.
  const ahead = await post(central, token, upload({ site: 'fra', epoch: Buffer.from(siteRec.epoch, 'hex'), seq: 2n ** 63n }));
  assert.equal(ahead.status, 409, ahead.text);
  assert.match(ahead.text, /more than the window ahead/);
  await sender.sendMany(4, 5);
  await waitFor(() => spansOf(central.export().records, 'fra').length >= 170,
    { what: '170 spans at the centre after the refusals' });
  await sleep(800);

  ({ records } = central.export());
  const counts = idCounts(records);
  const doubled = [...counts].filter(([, c]) => c > 1);
  assert.deepEqual(doubled, [], 'span summaries arrived more than once');
  const missing = sender.ackedSpanIds.filter((id) => !counts.has(id));
  assert.deepEqual(missing, [], 'acknowledged spans never reached the centre');
  assert.equal(counts.size, sender.ackedSpanIds.length, 'the centre holds exactly what was sent');
  const finalSite = records.find((r) => r.type === 'site' && r.site === 'fra');
  assert.equal(finalSite.refusedOldEpoch, 2);
  assert.equal(finalSite.refusedAhead, 1);
  for (const r of records.filter((x) => x.type === 'site' || x.type === 'batch')) {
    for (const k of ['seq', 'lastSequence', 'gaps', 'duplicates', 'batches']) {
      if (r[k] !== undefined) assert.ok(typeof r[k] !== 'number' || r[k] >= 0, `${r.type}.${k} printed negative: ${r[k]}`);
    }
  }
  // Old-epoch batches are kept under their own keys: both epochs appear.
  const epochs = new Set(records.filter((r) => r.type === 'batch' && r.site === 'fra').map((r) => r.epoch));
  assert.equal(epochs.size, 2);
  const m = central.metrics();
  assert.match(m, /tollgate_central_uploads_total\{result="old_epoch"\} 2/);
  assert.match(m, /tollgate_central_uploads_total\{result="sequence_ahead"\} 1/);
  await site.stop();
  await central.stop();
});
