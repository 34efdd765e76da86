// The site's transparency log, end to end: a centre and a site, telemetry
// sent through the official OpenTelemetry SDK; the site serves its log as
// tlog-tiles; once it stops, `tollgate audit verify --data` finds the log
// intact, and on copies of the data directory catches a changed leaf, a
// removed one, an inserted one and a checkpoint re-signed with another key,
// each with exit 1 naming the entry. A proof file for a batch verifies
// offline and fails with one bit flipped. kill -9 mid-forwarding never
// leaves a ledger entry (an egress) without its leaf.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { sleep, tempDir, tollgateBin } from './lib/collector.mjs';
import { Central, Site, spansOf, waitFor, writeSites } from './lib/central.mjs';
import { OrderedSender } from './lib/send.mjs';
import { crossSiteRequest, siteSdk } from './lib/traffic.mjs';

function tool(name) {
  return path.resolve(process.env.TG_BUILD_DIR || 'build', name);
}

function audit(args) {
  const r = spawnSync(tollgateBin(), ['audit', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// A copy of the site's data directory, tampered with by the test helper.
function tampered(dataDir, dir, mode, ...args) {
  const copy = path.join(dir, `copy-${mode}`);
  fs.cpSync(dataDir, copy, { recursive: true });
  const r = spawnSync(tool('tg_audit_tamper'), [mode, path.join(copy, 'outbox'), ...args.map(String)],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, `tamper ${mode}: ${r.stderr}`);
  return copy;
}

test('the site log verifies, serves tiles, and tampering is named', { timeout: 150000 }, async () => {
  const dir = tempDir();
  const token = crypto.randomBytes(16).toString('hex');
  const sitesFile = writeSites(dir, [{ name: 'fra', token }]);
  const central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile }).start();
  const site = await new Site({ name: 'fra', dir: path.join(dir, 'fra'), token, centralUrl: central.url,
    queryCap: 'central' }).start();

  const gateway = siteSdk({ service: 'gateway', url: site.httpUrl, site: 'fra' });
  const store = siteSdk({ service: 'feature-store', url: site.httpUrl, site: 'fra' });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 4; i++) crossSiteRequest(gateway, store, { i });
    await gateway.flush();
    await store.flush();
    await sleep(400);
  }
  await gateway.shutdown();
  await store.shutdown();
  await waitFor(() => spansOf(central.export().records, 'fra').length >= 24,
    { timeoutMs: 30000, what: 'spans at the centre' });

  // Served as tlog-tiles, behind a query client's token.
  const auth = { headers: { authorization: `Bearer ${token}` } };
  assert.equal((await fetch(`${site.apiUrl}/api/v1/audit/checkpoint`)).status, 401);
  const cpText = await (await fetch(`${site.apiUrl}/api/v1/audit/checkpoint`, auth)).text();
  const [origin, sizeLine] = cpText.split('\n');
  assert.equal(origin, 'tollgate.site/fra');
  const size = Number(sizeLine);
  assert.ok(size >= 1, `log size ${size}`);
  const width = size % 256;
  const tile = await fetch(`${site.apiUrl}/api/v1/audit/tile/0/000${size < 256 ? `.p/${width}` : ''}`, auth);
  assert.equal(tile.status, 200);
  assert.equal((await tile.arrayBuffer()).byteLength, 32 * (size < 256 ? width : 256));
  const bundle = await fetch(`${site.apiUrl}/api/v1/audit/tile/entries/000${size < 256 ? `.p/${width}` : ''}`, auth);
  assert.equal(bundle.status, 200);
  assert.equal((await fetch(`${site.apiUrl}/api/v1/audit/tile/0/999`, auth)).status, 404);
  const st = await site.status();
  assert.ok(st.forwarder.audit_log_size >= size);
  assert.equal(st.forwarder.audit_append_failures, 0);
  const metrics = await (await fetch(`${site.apiUrl}/metrics`)).text();
  assert.match(metrics, /tollgate_audit_append_failures_total 0/);

  const ledger = await (await fetch(`${site.apiUrl}/api/v1/ledger`, auth)).json();
  const egress = ledger.entries.find((e) => e.event === 'egress');
  assert.ok(egress, 'an egress entry in the ledger');
  const batchId = egress.batch_id ?? egress.batchId;
  assert.ok(batchId, JSON.stringify(egress));

  // Online, against the running site: every signed checkpoint it serves is
  // checked (signature, consistency with the one before, the recomputed
  // tree's root at its size), not only the newest.
  const vkeyLive = path.join(site.collector.dataDir, 'audit.key.vkey');
  const pages = await (await fetch(`${site.apiUrl}/api/v1/audit/checkpoints?from=1`, auth)).json();
  assert.ok(pages.checkpoints.length >= size, JSON.stringify(pages).slice(0, 200));
  assert.deepEqual(pages.checkpoints.slice(0, size).map((c) => c.size),
    Array.from({ length: size }, (_, i) => i + 1));
  assert.equal((await fetch(`${site.apiUrl}/api/v1/audit/checkpoints`)).status, 401);
  const online = audit(['verify', '--endpoint', site.apiUrl, '--token-file', site.tokenFile,
    '--key', vkeyLive, '--json']);
  assert.equal(online.code, 0, online.out + online.err);
  const onlineDoc = JSON.parse(online.out);
  assert.equal(onlineDoc.checkpoints, onlineDoc.size, 'one checkpoint per tree size, each checked');
  assert.ok(onlineDoc.size >= size);

  // A proof fetched from the running site: a tlog-proof file that the
  // offline verifier accepts, extending a checkpoint kept from before.
  const heldFile = path.join(dir, 'held.checkpoint');
  fs.writeFileSync(heldFile, cpText);
  const lp = audit(['proof', '--batch', batchId, '--endpoint', site.apiUrl, '--token-file',
    site.tokenFile, '--key', vkeyLive, '--since', heldFile]);
  assert.equal(lp.code, 0, lp.err);
  assert.match(lp.out, /^c2sp\.org\/tlog-proof@v1\nextra /);
  const liveProof = path.join(dir, 'live.proof');
  fs.writeFileSync(liveProof, lp.out);
  const lpv = audit(['verify', '--proof', liveProof, '--key', vkeyLive]);
  assert.equal(lpv.code, 0, lpv.out + lpv.err);
  const flipped = Buffer.from(lp.out);
  const fat = flipped.indexOf('\nindex ') - 5;
  flipped[fat] = flipped[fat] === 0x41 ? 0x42 : 0x41;
  fs.writeFileSync(liveProof, flipped);
  assert.equal(audit(['verify', '--proof', liveProof, '--key', vkeyLive]).code, 1);
  const noBatch = audit(['proof', '--batch', 'no-such-batch', '--endpoint', site.apiUrl,
    '--token-file', site.tokenFile]);
  assert.equal(noBatch.code, 1, noBatch.err);
  assert.match(noBatch.err, /no ledger entry for batch no-such-batch/);
  const badTokenFile = path.join(dir, 'bad.token');
  fs.writeFileSync(badTokenFile, 'not-a-token\n');
  assert.equal(audit(['proof', '--batch', batchId, '--endpoint', site.apiUrl,
    '--token-file', badTokenFile]).code, 2);
  assert.equal(audit(['proof', '--batch', batchId, '--endpoint', site.apiUrl,
    '--token-file', site.tokenFile, '--since', heldFile]).code, 2, '--since needs --key');

  await site.stop();
  await central.stop();
  const data = site.collector.dataDir;

  const ok = audit(['verify', '--data', data, '--json']);
  assert.equal(ok.code, 0, ok.out + ok.err);
  const doc = JSON.parse(ok.out);
  assert.equal(doc.intact, true);
  assert.ok(doc.leaves >= size);
  assert.equal(doc.leaves, doc.ledger_entries);
  assert.equal(doc.checkpoints, doc.leaves);

  // Proofs: verify offline; one flipped bit fails.
  const p = audit(['proof', '--batch', batchId, '--data', data]);
  assert.equal(p.code, 0, p.err);
  assert.match(p.out, /^c2sp\.org\/tlog-proof@v1\n/);
  const proofFile = path.join(dir, 'batch.proof');
  fs.writeFileSync(proofFile, p.out);
  const vkey = path.join(data, 'audit.key.vkey');
  const pv = audit(['verify', '--proof', proofFile, '--key', vkey]);
  assert.equal(pv.code, 0, pv.err);
  const bad = Buffer.from(p.out);
  const at = bad.indexOf('\nindex ') - 5; // inside the extra data (the entry)
  bad[at] = bad[at] === 0x41 ? 0x42 : 0x41;
  fs.writeFileSync(proofFile, bad);
  assert.equal(audit(['verify', '--proof', proofFile, '--key', vkey]).code, 1);
  assert.equal(audit(['verify']).code, 2);
  assert.equal(audit(['proof', '--batch', 'no-such-batch', '--data', data]).code, 1);

  // Tampering with copies: each caught, exit 1, the entry named.
  const leaf = Math.min(1, doc.leaves - 1);
  const cases = [
    ['count', [leaf], new RegExp(`leaf ${leaf} changed`)],
    ['remove', [leaf], new RegExp(`leaf ${leaf} removed`)],
    ['insert', [leaf], new RegExp(`leaf ${leaf} inserted`)],
    ['resign', [], /signature invalid/],
  ];
  for (const [mode, args, re] of cases) {
    const r = audit(['verify', '--data', tampered(data, dir, mode, ...args)]);
    assert.equal(r.code, 1, `${mode}: ${r.out}${r.err}`);
    assert.match(r.err, re, mode);
  }

  // A site that signed two histories: one older checkpoint replaced by one
  // of another root, signed with the site's own key. Its newest checkpoint
  // and every leaf still verify; online verify names the forked checkpoint,
  // and a proof that should extend it is refused.
  assert.ok(doc.leaves >= 3, `leaves ${doc.leaves}`);
  const forkAt = doc.leaves - 1;
  const tf = spawnSync(tool('tg_audit_tamper'), ['fork', path.join(data, 'outbox'), String(forkAt)],
    { encoding: 'utf8' });
  assert.equal(tf.status, 0, tf.stderr);
  await site.restart();
  const forked = audit(['verify', '--endpoint', site.apiUrl, '--token-file', site.tokenFile,
    '--key', vkey]);
  assert.equal(forked.code, 1, forked.out + forked.err);
  assert.match(forked.err, new RegExp(`fork: the checkpoint of size ${forkAt} \\(root [^)]+\\) is not consistent with the checkpoint of size ${forkAt - 1}`));
  const forgedPage = await (await fetch(`${site.apiUrl}/api/v1/audit/checkpoints?from=${forkAt}`, auth)).json();
  const forgedFile = path.join(dir, 'forged.checkpoint');
  fs.writeFileSync(forgedFile, forgedPage.checkpoints[0].checkpoint);
  const fp = audit(['proof', '--batch', batchId, '--endpoint', site.apiUrl, '--token-file',
    site.tokenFile, '--key', vkey, '--since', forgedFile]);
  assert.equal(fp.code, 1, fp.out + fp.err);
  assert.match(fp.err, new RegExp(`fork: the site's checkpoint of size \\d+ is not consistent with the checkpoint of size ${forkAt} held`));
  await site.stop();
});

test('kill -9 mid-forwarding never leaves a ledger entry without its leaf', { timeout: 120000 }, async () => {
  const dir = tempDir();
  const token = crypto.randomBytes(12).toString('hex');
  const sitesFile = writeSites(dir, [{ name: 'fra', token }]);
  const central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile }).start();
  const site = await new Site({ name: 'fra', dir: path.join(dir, 'fra'), token, centralUrl: central.url,
    forward: { allow_keys: ['test.seq'], outbox: { flush_interval: '50ms', max_batch_spans: 200 } } }).start();
  const sender = new OrderedSender(site, 'svc-audit');
  const state = { stop: false };
  const loop = (async () => {
    while (!state.stop) {
      if ((await sender.send(10)) !== 200) await sleep(50);
    }
  })();
  for (let round = 0; round < 2; round++) {
    await sleep(900 + Math.floor(Math.random() * 400));
    assert.equal((await site.kill9()).signal, 'SIGKILL');
    const r = audit(['verify', '--data', site.collector.dataDir, '--json']);
    assert.equal(r.code, 0, r.out + r.err);
    const doc = JSON.parse(r.out);
    assert.equal(doc.leaves, doc.ledger_entries, 'every ledger entry has its leaf');
    await site.restart();
  }
  state.stop = true;
  await loop;
  await site.stop();
  await central.stop();
  const r = audit(['verify', '--data', site.collector.dataDir, '--json']);
  assert.equal(r.code, 0, r.out + r.err);
  assert.ok(JSON.parse(r.out).leaves >= 1);
});
