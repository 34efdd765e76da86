// The OTLP receivers' own security (issue 15, the parts left after
// secure_listeners): OTLP/gRPC over TLS with the official OpenTelemetry JS
// gRPC exporter and a CA file, a plaintext client refused, certificates of
// both receivers reloaded on SIGHUP (a bad file keeps the old one); named
// receiver tokens limited to the services they list (403 /
// PERMISSION_DENIED, counted by reason); the OTLP/HTTP token checked from
// the headers before a 50 MB body is read; the site API's per-address
// connection cap. Certificates are made here with the openssl CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

import grpc from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';

import { Collector, sleep, tempDir } from './lib/collector.mjs';
import { waitFor } from './lib/central.mjs';
import { grpcClient, GRPC, METHODS } from './lib/grpc.mjs';
import { getJson, getTrace, httpPost, metricValue, parsePrometheus, rawRequest } from './lib/http.mjs';
import { makeSpanFactory } from './lib/otlp.mjs';

function openssl(dir, args) {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

function makePki(dir) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=tollgate-test-ca']);
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const cert = (name, cn, ext) => {
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${name}.pem`, '-days', '30', ...(ext ? ['-extfile', ext] : [])]);
  };
  cert('server', 'receiver-one', 'san.ext');
  cert('server2', 'receiver-two', 'san.ext');
  cert('client', 'sdk-client', null);
  return (f) => path.join(dir, f);
}

// The certificate a TLS port serves to a new connection, and the ALPN
// protocol it chose.
function peerCert(port, ca, alpn) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, ALPNProtocols: alpn, servername: 'localhost' }, () => {
      const c = s.getPeerCertificate();
      resolve({ cn: c.subject.CN, fingerprint: c.fingerprint256, alpn: s.alpnProtocol });
      s.end();
    });
    s.on('error', reject);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('TLS handshake timed out')); });
  });
}

function exportSpans(exporter, spans) {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

const refused = async (c, server, reason) => {
  const m = await getJson(`${c.apiUrl}/metrics`);
  return metricValue(parsePrometheus(m.text), 'tollgate_refused_total', { server, reason }) || 0;
};

test('OTLP/gRPC over TLS: the official exporter with a CA file is acked, plaintext refused, SIGHUP reloads both receivers', { timeout: 90000 }, async () => {
  const dir = tempDir();
  const pki = makePki(dir);
  for (const r of ['grpc', 'http']) {
    fs.copyFileSync(pki('server.pem'), path.join(dir, `${r}.pem`));
    fs.copyFileSync(pki('server.key'), path.join(dir, `${r}.key`));
  }
  const cfg = path.join(dir, 'collector.yaml');
  fs.writeFileSync(cfg, [
    'receivers:',
    '  otlp_grpc:',
    `    tls: {cert_file: ${JSON.stringify(path.join(dir, 'grpc.pem'))}, key_file: ${JSON.stringify(path.join(dir, 'grpc.key'))},`,
    `          client_ca_file: ${JSON.stringify(pki('ca.pem'))}}`,
    '  otlp_http:',
    `    tls: {cert_file: ${JSON.stringify(path.join(dir, 'http.pem'))}, key_file: ${JSON.stringify(path.join(dir, 'http.key'))}}`,
  ].join('\n') + '\n');
  const c = new Collector({ dataDir: path.join(dir, 'data'), config: cfg });
  await c.start();
  const ca = fs.readFileSync(pki('ca.pem'));
  try {
    const f = makeSpanFactory('svc-grpc-tls');
    const b = f.traceBatch(3);
    const exporter = new OTLPTraceExporter({ url: `https://${c.grpcAddr}`, credentials: grpc.credentials.createSsl(ca), timeoutMillis: 10000 });
    const res = await exportSpans(exporter, b.spans);
    assert.equal(res.code, 0, `export over TLS: ${res.error}`);
    await exporter.shutdown();
    const t = await getTrace(c.apiUrl, b.traceId);
    assert.equal(t.json.resourceSpans[0].scopeSpans[0].spans.length, 3, 'the spans sent over TLS are stored');

    // With a client certificate (verified against client_ca_file) too.
    const b2 = f.traceBatch(1);
    const mtls = new OTLPTraceExporter({
      url: `https://${c.grpcAddr}`, timeoutMillis: 10000,
      credentials: grpc.credentials.createSsl(ca, fs.readFileSync(pki('client.key')), fs.readFileSync(pki('client.pem'))),
    });
    assert.equal((await exportSpans(mtls, b2.spans)).code, 0);
    await mtls.shutdown();

    // A plaintext (h2c) client gets no answer from the TLS port.
    const plain = grpcClient(c.grpcAddr);
    const call = await new Promise((resolve) => plain.makeUnaryRequest(METHODS.traces, (x) => x, (x) => x,
      Buffer.from(f.traceBatch(1).body), new grpc.Metadata(), { deadline: Date.now() + 5000 },
      (err) => resolve(err ? err.code : 0)));
    plain.close();
    assert.notEqual(call, 0, 'a plaintext gRPC call is refused');
    assert.ok(call === GRPC.UNAVAILABLE || call === GRPC.DEADLINE_EXCEEDED || call === GRPC.INTERNAL, `code ${call}`);

    // ALPN h2 on the gRPC port; SIGHUP serves renewed certificates on both.
    const g1 = await peerCert(c.ports.grpc, ca, ['h2']);
    assert.equal(g1.alpn, 'h2');
    assert.equal(g1.cn, 'receiver-one');
    assert.equal((await peerCert(c.ports.http, ca, ['http/1.1'])).cn, 'receiver-one');
    for (const r of ['grpc', 'http']) {
      fs.copyFileSync(pki('server2.pem'), path.join(dir, `${r}.pem`));
      fs.copyFileSync(pki('server2.key'), path.join(dir, `${r}.key`));
    }
    c.proc.kill('SIGHUP');
    await waitFor(async () => (await peerCert(c.ports.grpc, ca, ['h2'])).cn === 'receiver-two', { what: 'the renewed gRPC certificate served' });
    await waitFor(async () => (await peerCert(c.ports.http, ca, ['http/1.1'])).cn === 'receiver-two', { what: 'the renewed HTTP certificate served' });
    assert.match(c.stderr(), /certificates reloaded.*listener=otlp_grpc/);
    assert.match(c.stderr(), /certificates reloaded.*listener=otlp_http/);
    const g2 = await peerCert(c.ports.grpc, ca, ['h2']);
    assert.notEqual(g2.fingerprint, g1.fingerprint);
    // And the exporter still gets through on the renewed certificate.
    const after = new OTLPTraceExporter({ url: `https://${c.grpcAddr}`, credentials: grpc.credentials.createSsl(ca), timeoutMillis: 10000 });
    assert.equal((await exportSpans(after, f.traceBatch(1).spans)).code, 0);
    await after.shutdown();

    // A bad file on reload keeps the certificate in force, and says why.
    fs.writeFileSync(path.join(dir, 'grpc.pem'), 'not a certificate\n');
    c.proc.kill('SIGHUP');
    await waitFor(() => /certificate reload failed, keeping the previous one.*listener=otlp_grpc.*grpc\.pem/.test(c.stderr()),
      { what: 'the failed reload logged' });
    assert.equal((await peerCert(c.ports.grpc, ca, ['h2'])).fingerprint, g2.fingerprint);
  } finally {
    await c.stop();
  }
  assert.equal(c.exit.code, 0, c.stderr().slice(-2000));
});

test('receiver tokens limited to services: 403 / PERMISSION_DENIED for another service, counted by reason', { timeout: 60000 }, async () => {
  const dir = tempDir();
  const tok = { shop: crypto.randomBytes(16).toString('hex'), ops: crypto.randomBytes(16).toString('hex') };
  for (const [k, v] of Object.entries(tok)) fs.writeFileSync(path.join(dir, `${k}.token`), `${v}\n`, { mode: 0o600 });
  const tokens = '    tokens:\n' +
    '      - {name: shop, token_file: shop.token, services: [cart, pay]}\n' +
    '      - {name: ops, token_file: ops.token}\n';
  const cfg = path.join(dir, 'collector.yaml');
  fs.writeFileSync(cfg, `receivers:\n  otlp_grpc:\n${tokens}  otlp_http:\n${tokens}`);
  const c = new Collector({ dataDir: path.join(dir, 'data'), config: cfg });
  await c.start();
  try {
    const cart = makeSpanFactory('cart').traceBatch(2);
    const inv = makeSpanFactory('inventory').traceBatch(2);
    const pay = makeSpanFactory('pay').traceBatch(1);
    const post = (body, token) => fetch(`${c.httpUrl}/v1/traces`, {
      method: 'POST', body, headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${token}` },
    });
    assert.equal((await post(cart.body, tok.shop)).status, 200);
    const r403 = await post(inv.body, tok.shop);
    assert.equal(r403.status, 403);
    assert.match(Buffer.from(await r403.arrayBuffer()).toString('latin1'), /token "shop" may not send for service "inventory"/);
    // Two resources in one request (protobuf messages concatenate): one
    // service not allowed refuses the whole request, nothing is stored.
    const mixed = makeSpanFactory('inventory').traceBatch(1);
    const both = Buffer.concat([Buffer.from(pay.body), Buffer.from(mixed.body)]);
    assert.equal((await post(both, tok.shop)).status, 403);
    assert.equal((await post(inv.body, tok.ops)).status, 200, 'a token without services sends for any');

    const client = grpcClient(c.grpcAddr);
    const call = (body, token) => new Promise((resolve) => {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${token}`);
      client.makeUnaryRequest(METHODS.traces, (x) => x, (x) => x, Buffer.from(body), md,
        { deadline: Date.now() + 10000 }, (err) => resolve(err ? { code: err.code, details: err.details } : { code: 0 }));
    });
    try {
      const g = await call(makeSpanFactory('inventory').traceBatch(1).body, tok.shop);
      assert.equal(g.code, GRPC.PERMISSION_DENIED, JSON.stringify(g));
      assert.match(g.details, /token "shop" may not send for service "inventory"/);
      const payG = makeSpanFactory('pay').traceBatch(1);
      assert.equal((await call(payG.body, tok.shop)).code, 0);
      await getTrace(c.apiUrl, payG.traceId);
    } finally {
      client.close();
    }
    await getTrace(c.apiUrl, cart.traceId);
    await getTrace(c.apiUrl, inv.traceId); // sent by ops
    await getTrace(c.apiUrl, mixed.traceId, { expectStatus: 404 });
    await getTrace(c.apiUrl, pay.traceId, { expectStatus: 404 });
    assert.equal(await refused(c, 'otlp_http', 'service_not_allowed'), 2);
    assert.equal(await refused(c, 'otlp_grpc', 'service_not_allowed'), 1);
  } finally {
    await c.stop();
  }
  // A token listed twice is refused at start, naming both entries.
  fs.writeFileSync(cfg, `receivers:\n  otlp_http:\n    token_files: [${JSON.stringify(path.join(dir, 'ops.token'))}]\n` +
    '    tokens: [{name: again, token_file: ops.token, services: [x]}]\n');
  const c2 = new Collector({ dataDir: path.join(dir, 'd2'), config: cfg });
  await assert.rejects(c2.start(), /receivers\.otlp_http: ops\.token and again hold the same token/);
});

test('OTLP/HTTP: a wrong token is answered 401 from the headers, before a 50 MB body is read', { timeout: 60000 }, async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'h.token'), `${crypto.randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
  const cfg = path.join(dir, 'collector.yaml');
  fs.writeFileSync(cfg, `receivers:\n  otlp_http: {max_body_bytes: 64MiB, token_files: [${JSON.stringify(path.join(dir, 'h.token'))}]}\n`);
  const c = new Collector({ dataDir: path.join(dir, 'data'), config: cfg });
  await c.start();
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${c.proc.pid}/status`, 'utf8'))[1]) * 1024;
  try {
    const size = 50 * 1000 * 1000;
    const head = httpPost('/v1/traces', Buffer.alloc(0), { 'Content-Type': 'application/x-protobuf', Authorization: 'Bearer wrong' });
    const headers = head[0].toString('latin1').replace('Content-Length: 0', `Content-Length: ${size}`);
    // The headers alone: the answer comes without a byte of the body.
    const r = await rawRequest(c.ports.http, [headers], { timeoutMs: 5000 });
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate'] || '', /^Bearer/);
    assert.ok(r.ms < 2000, `401 after ${r.ms} ms`);
    assert.equal(r.closed, true, 'the connection is closed: its body is never read');

    // Eight of them at once, each sending its whole 50 MB: the collector's
    // memory does not grow by the bodies.
    const before = rss();
    const body = Buffer.alloc(size, 0x41);
    const socks = await Promise.all(Array.from({ length: 8 }, () => new Promise((resolve) => {
      const s = net.connect(c.ports.http, '127.0.0.1', () => { s.write(headers); s.write(body); });
      let got = '';
      s.on('data', (d) => { got += d.toString('latin1'); });
      s.on('error', () => {});
      s.on('close', () => resolve(got));
    })));
    for (const got of socks) assert.match(got, /^HTTP\/1\.1 401/);
    const grew = rss() - before;
    assert.ok(grew < 16 * 1024 * 1024, `RSS grew by ${grew} bytes for 8 x 50 MB unauthenticated bodies`);
    assert.ok(await refused(c, 'otlp_http', 'unauthorized') >= 9);
  } finally {
    await c.stop();
  }
});

test('the site API caps connections per client address', { timeout: 60000 }, async () => {
  const dir = tempDir();
  const cfg = path.join(dir, 'collector.yaml');
  fs.writeFileSync(cfg, 'limits: {api_max_connections_per_source: 3}\n');
  const c = new Collector({ dataDir: path.join(dir, 'data'), config: cfg });
  await c.start();
  const held = [];
  try {
    // Idle connections from this address, until one is refused.
    let answer = null;
    for (let i = 0; i < 5 && !answer; i++) {
      const s = net.connect(c.ports.api, '127.0.0.1');
      held.push(s);
      answer = await new Promise((resolve) => {
        let got = '';
        const t = setTimeout(() => resolve(null), 400);
        s.on('data', (d) => { got += d.toString('latin1'); });
        s.on('close', () => { clearTimeout(t); resolve(got || null); });
        s.on('error', () => {});
      });
    }
    assert.ok(held.length <= 4, `refused only at connection ${held.length}`);
    assert.match(answer || '', /^HTTP\/1\.1 503/);
    assert.match(answer, /per source|per client|address/i);
    for (const s of held) s.destroy();
    await sleep(200);
    assert.ok(await refused(c, 'api', 'per_source') >= 1);
  } finally {
    for (const s of held) s.destroy();
    await c.stop();
  }
});
