// Upgrade independence: a site older than its centre (protocol 1, the
// centre up to 3) still delivers, and so does a newer site with an older
// centre, each negotiating the highest version both speak. The test hook
// TOLLGATE_TEST_PROTOCOL narrows the versions a process speaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { tempDir } from './lib/collector.mjs';
import { Central, Site, spansOf, waitFor, writeSites } from './lib/central.mjs';
import { OrderedSender } from './lib/send.mjs';

async function setup(name, centralEnv, siteEnv) {
  const dir = tempDir();
  const token = crypto.randomBytes(8).toString('hex');
  const sitesFile = writeSites(dir, [{ name, token }]);
  const central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile, env: centralEnv }).start();
  const site = await new Site({ name, dir: path.join(dir, name), token, centralUrl: central.url, env: siteEnv }).start();
  const sender = new OrderedSender(site, `svc-${name}`);
  await sender.sendMany(5, 4);
  await waitFor(() => spansOf(central.export().records, name).length === 20,
    { timeoutMs: 20000, what: 'delivery across versions' });
  return { central, site, sender };
}

test('a site older than the centre delivers', { timeout: 60000 }, async () => {
  const { central, site } = await setup('old-site', {}, { TOLLGATE_TEST_PROTOCOL: '1' });
  const { records } = central.export();
  assert.ok(records.filter((r) => r.type === 'batch').every((b) => b.protocolVersion === 1));
  const s = central.estate().sites[0];
  assert.equal(s.protocol_version, 1);
  assert.ok(s.warnings.some((w) => /version mismatch: site speaks protocol 1, centre up to 3/.test(w)));
  const st = await site.status();
  assert.equal(st.forwarder.protocol_version, 1);
  assert.equal(st.forwarder.protocol_max, 1);
  await site.stop();
  await central.stop();
});

test('a site newer than the centre negotiates down and delivers', { timeout: 60000 }, async () => {
  const { central, site } = await setup('new-site', { TOLLGATE_TEST_PROTOCOL: '1' }, {});
  const { records } = central.export();
  assert.ok(records.filter((r) => r.type === 'batch').every((b) => b.protocolVersion === 1));
  const st = await site.status();
  assert.equal(st.forwarder.protocol_version, 1);
  assert.equal(st.forwarder.protocol_max, 3);
  const m = await (await fetch(`${site.apiUrl}/metrics`)).text();
  assert.match(m, /^tollgate_forward_uploads_total\{result="version_refused"\} [1-9]/m);
  assert.match(m, /^tollgate_forward_protocol_version 1$/m);
  const cm = central.metrics();
  assert.match(cm, /^tollgate_central_uploads_total\{result="version_refused"\} [1-9]/m);
  await site.stop();
  await central.stop();
});

// Version 3 codes span summaries per batch (keyed hashes as raw bytes, a
// string table, ids by reference): what the centre exports must not change.
// Two sites with the same HMAC key, under the default policy's view, get
// the same spans; one speaks up to version 2, the other version 3. Their
// span lines in `tollgate central export` are the same text, and the keyed
// hash is exactly the documented hmac-sha256:KEY:HEX of the e-mail.
test('a batch in version 3 exports the same text as in version 2', { timeout: 60000 }, async () => {
  const dir = tempDir();
  const names = ['v2-site', 'v3-site'];
  const tokens = Object.fromEntries(names.map((n) => [n, crypto.randomBytes(8).toString('hex')]));
  const sitesFile = writeSites(dir, names.map((name) => ({ name, token: tokens[name] })));
  const central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile }).start();
  const key = crypto.randomBytes(32);
  const sites = {};
  for (const name of names) {
    const keys = path.join(dir, name, 'data', 'keys');
    fs.mkdirSync(keys, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(keys, 'hmac-k1.key'), `${key.toString('hex')}\n`, { mode: 0o600 });
    sites[name] = await new Site({
      name, dir: path.join(dir, name), token: tokens[name], centralUrl: central.url,
      forward: { view: 'rules' }, env: name === 'v2-site' ? { TOLLGATE_TEST_PROTOCOL: '1-2' } : {},
    }).start();
  }
  const t0 = BigInt(Date.now()) * 1000000n;
  const traceId = crypto.randomBytes(16).toString('hex');
  const ids = [0, 1, 2].map(() => crypto.randomBytes(8).toString('hex'));
  const emails = ['Alice.Liddell@example.com', 'bob@example.org', 'alice.liddell@example.com'];
  const span = (i) => ({
    traceId, spanId: ids[i], ...(i ? { parentSpanId: ids[i - 1] } : {}),
    name: i ? 'SELECT orders' : 'POST /checkout', kind: i ? 3 : 2,
    startTimeUnixNano: String(t0 + BigInt(i) * 1000n), endTimeUnixNano: String(t0 + 5000000n),
    attributes: [
      { key: 'user.email', value: { stringValue: emails[i] } },
      { key: 'http.route', value: { stringValue: '/checkout' } },
      { key: 'http.response.status_code', value: { intValue: '200' } },
    ],
    status: {},
  });
  const body = JSON.stringify({ resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
    scopeSpans: [{ scope: { name: 'e2e' }, spans: [0, 1, 2].map(span) }],
  }] });
  for (const name of names) {
    const r = await fetch(`${sites[name].httpUrl}/v1/traces`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body,
    });
    assert.equal(r.status, 200);
  }
  const exp = await waitFor(() => {
    const e = central.export();
    return names.every((n) => spansOf(e.records, n).length === 3) && e;
  }, { timeoutMs: 20000, what: 'both sites\' spans at the centre' });

  const batches = (n) => exp.records.filter((r) => r.type === 'batch' && r.site === n && r.seq > 0);
  assert.ok(batches('v2-site').length > 0 && batches('v2-site').every((b) => b.protocolVersion === 2));
  assert.ok(batches('v3-site').length > 0 && batches('v3-site').every((b) => b.protocolVersion === 3));
  // The span lines as printed, with the site's name and batch sequence
  // taken out (they differ by construction).
  const lines = (n) => exp.text.split('\n').filter((l) => l && JSON.parse(l).type === 'span' && JSON.parse(l).site === n)
    .map((l) => l.replace(`"${n}"`, '"SITE"').replace(/"seq": ?\d+/, '"seq":N'));
  assert.equal(lines('v3-site').length, 3);
  assert.deepEqual(lines('v3-site'), lines('v2-site'));
  // The documented form, byte for byte: HMAC-SHA256 of the normalised
  // (lower-case) address under the shared key, 64 lower-case hex digits.
  const byId = new Map(spansOf(exp.records, 'v3-site').map((s) => [s.spanId, s]));
  for (let i = 0; i < 3; i++) {
    const mac = crypto.createHmac('sha256', key).update(emails[i].toLowerCase()).digest('hex');
    assert.equal(byId.get(ids[i]).attributes['user.email'], `hmac-sha256:k1:${mac}`);
    assert.equal(byId.get(ids[i]).parentSpanId, i ? ids[i - 1] : '');
    assert.equal(byId.get(ids[i]).traceId, traceId);
  }
  for (const s of Object.values(sites)) await s.stop();
  await central.stop();
});
