// Upgrade independence: a site one protocol version older than its centre
// still delivers, and so does a site one version newer (an older centre),
// each negotiating the highest version both speak. The test hook
// TOLLGATE_TEST_PROTOCOL narrows the versions a process speaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
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

test('a site one version older than the centre delivers', { timeout: 60000 }, async () => {
  const { central, site } = await setup('old-site', {}, { TOLLGATE_TEST_PROTOCOL: '1' });
  const { records } = central.export();
  assert.ok(records.filter((r) => r.type === 'batch').every((b) => b.protocolVersion === 1));
  const s = central.estate().sites[0];
  assert.equal(s.protocol_version, 1);
  assert.ok(s.warnings.some((w) => /version mismatch: site speaks protocol 1, centre up to 2/.test(w)));
  const st = await site.status();
  assert.equal(st.forwarder.protocol_version, 1);
  assert.equal(st.forwarder.protocol_max, 1);
  await site.stop();
  await central.stop();
});

test('a site one version newer than the centre negotiates down and delivers', { timeout: 60000 }, async () => {
  const { central, site } = await setup('new-site', { TOLLGATE_TEST_PROTOCOL: '1' }, {});
  const { records } = central.export();
  assert.ok(records.filter((r) => r.type === 'batch').every((b) => b.protocolVersion === 1));
  const st = await site.status();
  assert.equal(st.forwarder.protocol_version, 1);
  assert.equal(st.forwarder.protocol_max, 2);
  const m = await (await fetch(`${site.apiUrl}/metrics`)).text();
  assert.match(m, /^tollgate_forward_uploads_total\{result="version_refused"\} [1-9]/m);
  assert.match(m, /^tollgate_forward_protocol_version 1$/m);
  const cm = central.metrics();
  assert.match(cm, /^tollgate_central_uploads_total\{result="version_refused"\} [1-9]/m);
  await site.stop();
  await central.stop();
});
