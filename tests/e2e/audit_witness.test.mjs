// The centre as witness of a site's transparency log, end to end: a site
// forwards traffic, its checkpoints get cosigned (the cosignature is stored
// beside the checkpoint and served with it), the centre is shown every
// batch's leaf, and `tollgate status` shows the log size and the cosigned
// checkpoint. Then the site presents a forked checkpoint (signed with its
// own key, another root at the size the centre cosigned): the centre answers
// 409 with the size it knows, status shows the fork in the witness section
// and the warnings, /metrics and the witness status API flag it, and
// `audit verify --data SITE --central CENTRE` exits 1 naming a fork between
// site and witness (it exits 0 on a copy of the centre taken before).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { sleep, tempDir, tollgateBin } from './lib/collector.mjs';
import { Central, Site, spansOf, waitFor, writeSites } from './lib/central.mjs';
import { crossSiteRequest, siteSdk } from './lib/traffic.mjs';

function audit(args) {
  const r = spawnSync(tollgateBin(), ['audit', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// A signed checkpoint note made with the site's own key file
// (PRIVATE+KEY+<name>+<hex id>+base64(type || seed)), as a site that
// rewrote its history would sign it.
function forgeCheckpoint(keyFile, size, root) {
  // base64 may hold '+': the key is everything after the fourth one.
  const [, , name, idHex, ...rest] = fs.readFileSync(keyFile, 'utf8').trim().split('+');
  const b64 = rest.join('+');
  const seed = Buffer.from(b64, 'base64').subarray(1);
  const key = crypto.createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der', type: 'pkcs8',
  });
  const text = `${name}\n${size}\n${root.toString('base64')}\n`;
  const sig = crypto.sign(null, Buffer.from(text), key);
  const line = Buffer.concat([Buffer.from(idHex, 'hex'), sig]).toString('base64');
  return `${text}\n\u2014 ${name} ${line}\n`;
}

// A fresh cosigning (type 0x04) vkey: name+hex(key ID)+base64(type || pub),
// key ID = SHA-256(name || 0x0A || type || pub)[:4].
function cosignerVkey(name) {
  const { publicKey } = crypto.generateKeyPairSync('ed25519');
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const typed = Buffer.concat([Buffer.from([0x04]), pub]);
  const id = crypto.createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), typed]))
    .digest().subarray(0, 4);
  return `${name}+${id.toString('hex')}+${typed.toString('base64')}`;
}

test('checkpoints are cosigned; a forked checkpoint is refused and named', { timeout: 150000 }, async () => {
  const dir = tempDir();
  const token = crypto.randomBytes(16).toString('hex');
  const sitesFile = writeSites(dir, [{ name: 'fra', token }]);
  const users = { carol: 'compliance', frank: 'finance' };
  const userTokens = {};
  const ulines = ['users:'];
  for (const [u, role] of Object.entries(users)) {
    userTokens[u] = `${u}-${crypto.randomBytes(12).toString('hex')}`;
    fs.writeFileSync(path.join(dir, `${u}.token`), `${userTokens[u]}\n`, { mode: 0o600 });
    ulines.push(`  - {name: ${u}, token_file: ${u}.token, role: ${role}}`);
  }
  fs.writeFileSync(path.join(dir, 'users.yaml'), `${ulines.join('\n')}\n`);
  const centralDir = path.join(dir, 'central');
  const central = await new Central({ dataDir: centralDir, sitesFile,
    usersFile: path.join(dir, 'users.yaml') }).start();
  const site = await new Site({ name: 'fra', dir: path.join(dir, 'fra'), token, centralUrl: central.url,
    queryCap: 'central', forward: { audit: { checkpoint_interval: '2s' } } }).start();

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

  // The witness catches up with the log and is shown every batch's leaf.
  const caught = await waitFor(async () => {
    const st = (await site.status()).forwarder;
    return st.witness_cosigned_size >= 1 && st.witness_cosigned_size === st.audit_log_size ? st : null;
  }, { timeoutMs: 30000, what: 'the site log cosigned' });
  const size = caught.witness_cosigned_size;
  const auth = (t) => ({ headers: { authorization: `Bearer ${t}` } });
  const ws = await waitFor(async () => {
    const r = await fetch(`${central.url}/api/v1/witness/status`, auth(userTokens.carol));
    const doc = await r.json();
    const fra = doc.sites.find((s) => s.site === 'fra');
    return fra && fra.cosigned_size === size && fra.leaves >= 1 ? { doc, fra } : null;
  }, { timeoutMs: 20000, what: 'the witness status' });
  assert.match(ws.doc.witness_key, /^tollgate\.central\/witness\+[0-9a-f]{8}\+/);
  assert.equal(ws.fra.fork, false);
  assert.equal(ws.fra.gap, 0);
  assert.equal(ws.fra.batches_without_leaf, 0);
  assert.match(ws.fra.checkpoint, /^tollgate\.site\/fra\n/);
  assert.match(ws.fra.checkpoint, /\n\u2014 tollgate\.central\/witness /);
  assert.equal((await fetch(`${central.url}/api/v1/witness/status`, auth(userTokens.frank))).status, 403);
  assert.equal((await fetch(`${central.url}/api/v1/witness/status`)).status, 401);

  // The site keeps the cosignature beside its checkpoint and serves both.
  const siteAuth = auth(token);
  const cp = await (await fetch(`${site.apiUrl}/api/v1/audit/checkpoint`, siteAuth)).text();
  if (cp.split('\n')[1] === String(size)) assert.match(cp, /\u2014 tollgate\.central\/witness /);
  assert.match(await (await fetch(`${site.apiUrl}/metrics`)).text(),
    /tollgate_audit_witness_forks_total 0/);

  // Online: the site's log over its API (tiles recomputed, its signature
  // and the witness's cosignature), and the centre's witness status.
  const vkey = path.join(site.collector.dataDir, 'audit.key.vkey');
  const wkey = path.join(centralDir, 'witness.key.vkey');
  const onSite = audit(['verify', '--endpoint', site.apiUrl, '--token-file', site.tokenFile,
    '--key', vkey, '--witness-key', wkey, '--json']);
  assert.equal(onSite.code, 0, onSite.out + onSite.err);
  const onSiteDoc = JSON.parse(onSite.out);
  assert.equal(onSiteDoc.endpoint, 'site');
  assert.ok(onSiteDoc.size >= size);
  assert.equal(onSiteDoc.cosigned, true);
  const carolFile = path.join(dir, 'carol.token');
  const onCentre = audit(['verify', '--endpoint', central.url, '--token-file', carolFile,
    '--witness-key', wkey, '--json']);
  assert.equal(onCentre.code, 0, onCentre.out + onCentre.err);
  assert.equal(JSON.parse(onCentre.out).sites[0].site, 'fra');
  // Another witness key of the same name: the cosignature does not verify.
  const otherKey = path.join(dir, 'other.vkey');
  fs.writeFileSync(otherKey, `${cosignerVkey('tollgate.central/witness')}\n`);
  const wrong = audit(['verify', '--endpoint', central.url, '--token-file', carolFile,
    '--witness-key', otherKey]);
  assert.equal(wrong.code, 1, wrong.out + wrong.err);
  assert.match(wrong.err, /signature invalid/);
  assert.equal(audit(['verify', '--endpoint', central.url, '--token-file', carolFile]).code, 2);

  let st = central.status();
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, /WITNESS tollgate\.central\/witness\+/);
  assert.match(st.stdout, new RegExp(`\\nfra +${size} +${size} +\\S+ +\\d+ +ok\\n`));

  // Stop the site (no more submissions), keep a copy of the centre as it
  // stands: the log and the witness agree.
  await site.stop();
  const data = site.collector.dataDir;
  const centralCopy = path.join(dir, 'central-copy');
  fs.cpSync(centralDir, centralCopy, { recursive: true });
  const ok = audit(['verify', '--data', data, '--central', centralCopy, '--json']);
  assert.equal(ok.code, 0, ok.out + ok.err);
  const okDoc = JSON.parse(ok.out);
  assert.equal(okDoc.intact, true);
  assert.equal(okDoc.witness_cosigned_size, size);
  assert.ok(okDoc.central_batches >= 1);

  // The site rewrites its history: another root at the cosigned size,
  // signed with its own key. The witness refuses it with its known size.
  const forged = forgeCheckpoint(path.join(data, 'audit.key'), size, crypto.randomBytes(32));
  const add = (body, extra = {}) => fetch(`${central.url}/api/v1/witness/add-checkpoint`, {
    method: 'POST', body,
    headers: { authorization: `Bearer ${token}`, 'x-tollgate-site': 'fra', ...extra },
  });
  let r = await add(`old ${size}\n\n${forged}`);
  assert.equal(r.status, 409);
  assert.equal(r.headers.get('content-type'), 'text/x.tlog.size');
  assert.equal(await r.text(), `${size}\n`);
  // Stale (the spec's path too): 409 with the size; a bad token 401.
  r = await fetch(`${central.url}/add-checkpoint`, { method: 'POST', body: `old 0\n\n${forged}`,
    headers: { authorization: `Bearer ${token}`, 'x-tollgate-site': 'fra' } });
  assert.equal(r.status, 409);
  assert.equal(await r.text(), `${size}\n`);
  r = await add(`old ${size}\n\n${forged}`, { authorization: 'Bearer nope' });
  assert.equal(r.status, 401);

  st = central.status();
  assert.match(st.stdout, new RegExp(`FORK at size ${size}`));
  assert.match(st.stdout, /WARNINGS\n[\s\S]*fra: FORK/);
  assert.match(central.metrics(),
    /tollgate_witness_fork\{site="fra"\} 1/);
  const after = await (await fetch(`${central.url}/api/v1/witness/status`, auth(userTokens.carol))).json();
  const fra = after.sites.find((s) => s.site === 'fra');
  assert.equal(fra.fork, true);
  assert.equal(fra.fork_size, size);
  assert.equal(fra.cosigned_size, size); // the cosigned history stands
  const onCentre2 = audit(['verify', '--endpoint', central.url, '--token-file', carolFile,
    '--witness-key', wkey]);
  assert.equal(onCentre2.code, 1, onCentre2.out + onCentre2.err);
  assert.match(onCentre2.err, /fork between site fra and witness/);

  await central.stop();
  const bad = audit(['verify', '--data', data, '--central', centralDir, '--json']);
  assert.equal(bad.code, 1, bad.out + bad.err);
  const badDoc = JSON.parse(bad.out);
  assert.equal(badDoc.intact, false);
  assert.match(badDoc.error, /fork between site and witness/);
  assert.equal(badDoc.fork_size, size);
  const human = audit(['verify', '--data', data, '--central', centralDir]);
  assert.equal(human.code, 1);
  assert.match(human.err, /NOT intact: fork between site and witness/);
  assert.equal(audit(['verify', '--central', centralDir]).code, 2);

  // The same site against a fresh centre (its witness knows size 0): the
  // first submission from the site's cosigned size gets 409 with 0, the
  // site retries from 0 at once and gets its log cosigned.
  const central2 = await new Central({ dataDir: path.join(dir, 'central2'), sitesFile }).start();
  const site2 = await new Site({ name: 'fra', dir: path.join(dir, 'fra'), token,
    centralUrl: central2.url, forward: { audit: { checkpoint_interval: '2s' } } }).start();
  const again = await waitFor(async () => {
    const s2 = (await site2.status()).forwarder;
    return s2.witness_cosigned_size >= size && s2.witness_error === '' ? s2 : null;
  }, { timeoutMs: 20000, what: 'the log cosigned by the new witness' });
  assert.equal(again.witness_forks, 0);
  st = central2.status();
  assert.match(st.stdout, new RegExp(`\\nfra +${again.witness_cosigned_size} +${again.witness_cosigned_size} +`));
  assert.match(central2.metrics(),
    /tollgate_witness_requests_total\{result="conflict"\} [1-9]/);
  await site2.stop();
  await central2.stop();
});
