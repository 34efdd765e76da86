// The centre's TLS listener reloads its certificate on SIGHUP (issue 15):
// a renewed certificate is served to new connections and its expiry shows
// in the estate; a broken file keeps the certificate in force and the log
// says why. Certificates are made here with the openssl CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';

import { tempDir } from './lib/collector.mjs';
import { Central, toYaml, waitFor } from './lib/central.mjs';

function openssl(dir, args) {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

function makePki(dir) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=tollgate-test-ca']);
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const cert = (name, cn, days) => {
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${name}.pem`, '-days', String(days), '-extfile', 'san.ext']);
  };
  cert('one', 'central-one', 20);
  cert('two', 'central-two', 200);
  return (f) => path.join(dir, f);
}

function peerCert(port, ca) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const c = s.getPeerCertificate();
      resolve({ cn: c.subject.CN, serial: c.serialNumber, notAfter: Date.parse(c.valid_to) / 1000 });
      s.end();
    });
    s.on('error', reject);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('TLS handshake timed out')); });
  });
}

test('SIGHUP reloads the centre\'s certificate; a broken file keeps the old one', { timeout: 60000 }, async () => {
  const dir = tempDir();
  const pki = makePki(dir);
  const live = (f) => path.join(dir, f);
  fs.copyFileSync(pki('one.pem'), live('live.pem'));
  fs.copyFileSync(pki('one.key'), live('live.key'));
  const config = live('central.yaml');
  fs.writeFileSync(config, `${toYaml({ tls: { cert_file: live('live.pem'), key_file: live('live.key') } })}\n`);
  const central = new Central({ dataDir: live('central'), config, scheme: 'https', caFile: pki('ca.pem') });
  await central.start();
  const ca = fs.readFileSync(pki('ca.pem'));
  try {
    const c1 = await peerCert(central.port, ca);
    assert.equal(c1.cn, 'central-one');
    assert.equal(central.estate().central.server_cert_not_after, c1.notAfter);

    fs.copyFileSync(pki('two.pem'), live('live.pem'));
    fs.copyFileSync(pki('two.key'), live('live.key'));
    central.proc.kill('SIGHUP');
    const c2 = await waitFor(async () => {
      const c = await peerCert(central.port, ca);
      return c.cn === 'central-two' && c;
    }, { what: 'the renewed certificate served' });
    assert.notEqual(c2.serial, c1.serial);
    assert.match(central.log, /certificates reloaded.*listener=central/);
    // The estate reports the renewed certificate's expiry.
    assert.equal(central.estate().central.server_cert_not_after, c2.notAfter);

    // A key that does not match the certificate: the old pair stays.
    fs.copyFileSync(pki('one.key'), live('live.key'));
    central.proc.kill('SIGHUP');
    await waitFor(() => /certificate reload failed, keeping the previous one.*listener=central.*live\.key/.test(central.log),
      { what: 'the failed reload logged' });
    const c3 = await peerCert(central.port, ca);
    assert.equal(c3.serial, c2.serial);
    assert.equal(central.estate().central.server_cert_not_after, c2.notAfter);
  } finally {
    await central.stop();
  }
  assert.equal(central.exit.code, 0, central.log.slice(-2000));
});
