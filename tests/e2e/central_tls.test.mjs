// TLS with mutual authentication between sites and the centre, certificates
// from files (made here with the openssl CLI), and their expiry in the
// estate: a site whose client certificate expires in 3 days is warned
// about; a site presenting another site's certificate is refused (403); a
// client without a certificate does not get through the handshake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { tempDir } from './lib/collector.mjs';
import { Central, Site, spansOf, toYaml, waitFor, writeSites } from './lib/central.mjs';
import { OrderedSender } from './lib/send.mjs';

function openssl(dir, args) {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

function makePki(dir) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=tollgate-test-ca']);
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const cert = (name, cn, days, ext) => {
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${name}.pem`, '-days', String(days), ...(ext ? ['-extfile', ext] : [])]);
  };
  cert('server', '127.0.0.1', 30, 'san.ext');
  cert('fra', 'fra', 3, null);
  cert('iad', 'iad', 400, null);
  return (f) => path.join(dir, f);
}

test('mutual TLS, certificate expiry in status, wrong certificate refused', { timeout: 90000 }, async () => {
  const dir = tempDir();
  const pki = makePki(dir);
  const tok = { fra: crypto.randomBytes(8).toString('hex'), iad: crypto.randomBytes(8).toString('hex'), ord: crypto.randomBytes(8).toString('hex') };
  const sitesFile = writeSites(dir, [
    { name: 'fra', token: tok.fra, clientCertCn: 'fra' },
    { name: 'iad', token: tok.iad, clientCertCn: 'iad' },
    { name: 'ord', token: tok.ord, clientCertCn: 'ord' },
  ]);
  const config = path.join(dir, 'central.yaml');
  fs.writeFileSync(config, `${toYaml({
    tls: { cert_file: pki('server.pem'), key_file: pki('server.key'), client_ca_file: pki('ca.pem'), require_client_cert: true },
  })}\n`);
  const central = await new Central({
    dataDir: path.join(dir, 'central'), sitesFile, config, scheme: 'https', caFile: pki('ca.pem'),
  });
  // curl's readiness probe needs a client certificate too.
  const curl = central.curl.bind(central);
  central.curl = (args) => curl(['--cert', pki('iad.pem'), '--key', pki('iad.key'), ...args]);
  await central.start();

  const tls = (name) => ({ tls: { ca_file: pki('ca.pem'), cert_file: pki(`${name}.pem`), key_file: pki(`${name}.key`) } });
  const fra = await new Site({ name: 'fra', dir: path.join(dir, 'fra'), token: tok.fra, centralUrl: central.url, forward: tls('fra') }).start();
  const iad = await new Site({ name: 'iad', dir: path.join(dir, 'iad'), token: tok.iad, centralUrl: central.url, forward: tls('iad') }).start();
  // ord presents fra's certificate with its own token: refused.
  const ord = await new Site({ name: 'ord', dir: path.join(dir, 'ord'), token: tok.ord, centralUrl: central.url, forward: tls('fra') }).start();
  for (const s of [fra, iad, ord]) await new OrderedSender(s, `svc-${s.name}`).sendMany(3);

  await waitFor(() => {
    const { records } = central.export();
    return spansOf(records, 'fra').length === 15 && spansOf(records, 'iad').length === 15;
  }, { what: 'delivery over mutual TLS' });
  const st = await waitFor(async () => {
    const s = await ord.status();
    return /403/.test(s.forwarder.last_error) && s;
  }, { what: 'ord to be refused' });
  assert.ok(st.forwarder.outbox_batches > 0);
  assert.equal(spansOf(central.export().records, 'ord').length, 0);

  const now = Date.now() / 1000;
  const estate = central.estate();
  const by = Object.fromEntries(estate.sites.map((s) => [s.name, s]));
  assert.equal(estate.central.tls, true);
  assert.equal(estate.central.mutual_tls, true);
  assert.ok(Math.abs(estate.central.server_cert_not_after - (now + 30 * 86400)) < 86400 * 1.5);
  assert.ok(Math.abs(by.fra.client_cert_not_after - (now + 3 * 86400)) < 86400 * 1.5);
  assert.ok(Math.abs(by.iad.client_cert_not_after - (now + 400 * 86400)) < 86400 * 1.5);
  assert.ok(Math.abs(by.fra.server_cert_not_after - estate.central.server_cert_not_after) < 5, 'the site saw the centre\'s certificate');
  assert.ok(by.fra.warnings.some((w) => /certificate expiring: the site's client certificate expires in [23]\.\d days/.test(w)),
    JSON.stringify(by.fra.warnings));
  assert.ok(!by.iad.warnings.some((w) => /certificate/.test(w)));
  assert.ok(by.ord.warnings.some((w) => /never connected/.test(w)));

  const out = central.status(['--cert', pki('iad.pem'), '--key', pki('iad.key')]);
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /TLS on \(mutual\)/);
  assert.match(out.stdout, /fra: certificate expiring/);
  // Without a client certificate the handshake itself fails.
  const bare = central.status();
  assert.equal(bare.status, 1);

  for (const s of [fra, iad, ord]) await s.stop();
  await central.stop();
});
