// Authentication and TLS on the site's listeners (issue 15 part 1): a
// collector whose API would listen beyond loopback without TLS or without
// query clients refuses to start (exit 2, saying why) unless
// --insecure-api says it is on purpose; with api.tls and query clients the
// API answers only over HTTPS and only with a token; the OTLP/HTTP
// receiver takes TLS with client certificates; SIGHUP reloads renewed
// certificates. Certificates are made here with the openssl CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { freePorts, sleep, tempDir, tollgateBin } from './lib/collector.mjs';
import { waitFor } from './lib/central.mjs';
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
  cert('server', 'site-server-one', 'san.ext');
  cert('server2', 'site-server-two', 'san.ext');
  cert('client', 'sdk-client', null);
  return (f) => path.join(dir, f);
}

function run(args, { wait = true } = {}) {
  const proc = spawn(tollgateBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const st = { proc, out: '', exit: null };
  proc.stdout.on('data', (d) => { st.out += d; });
  proc.stderr.on('data', (d) => { st.out += d; });
  st.exited = new Promise((r) => proc.on('exit', (code, signal) => { st.exit = { code, signal }; r(st.exit); }));
  return wait ? st.exited.then(() => st) : st;
}

const curl = (args) => spawnSync('curl', ['-s', '--max-time', '5', ...args], { encoding: 'utf8' });

test('the site API beyond loopback: refused without TLS and tokens, served over TLS with them', { timeout: 90000 }, async () => {
  const dir = tempDir();
  const pki = makePki(dir);
  const [g, h, a] = await freePorts(3);
  const base = ['collector', '--site', 'sec', '--otlp-grpc', `127.0.0.1:${g}`, '--otlp-http', `127.0.0.1:${h}`];

  // 1. 0.0.0.0 without TLS or clients: exit 2, saying why and what to do.
  const r1 = await run([...base, '--data', path.join(dir, 'd1'), '--api', `0.0.0.0:${a}`]);
  assert.equal(r1.exit.code, 2, r1.out);
  assert.match(r1.out, /the site API would listen on 0\.0\.0\.0:\d+, beyond loopback, without TLS and without query clients \(tokens\)/);
  assert.match(r1.out, /--insecure-api/);

  // 2. The same on purpose: it starts, and says so in its log.
  const r2 = await run([...base, '--data', path.join(dir, 'd2'), '--api', `0.0.0.0:${a}`, '--insecure-api'], { wait: false });
  await waitFor(() => curl(['-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${a}/readyz`]).stdout === '200',
    { what: 'the insecure API ready' });
  assert.match(r2.out, /reachable beyond this host without TLS or tokens/);
  r2.proc.kill('SIGTERM');
  await r2.exited;

  // 3. TLS and query clients: HTTPS only, a token required.
  const token = crypto.randomBytes(16).toString('hex');
  fs.writeFileSync(path.join(dir, 'q.token'), `${token}\n`, { mode: 0o600 });
  fs.copyFileSync(pki('server.pem'), path.join(dir, 'live.pem'));
  fs.copyFileSync(pki('server.key'), path.join(dir, 'live.key'));
  const cfg = path.join(dir, 'collector.yaml');
  fs.writeFileSync(cfg, [
    'api:',
    `  tls: {cert_file: ${JSON.stringify(path.join(dir, 'live.pem'))}, key_file: ${JSON.stringify(path.join(dir, 'live.key'))}}`,
    'receivers:',
    '  otlp_http:',
    `    tls: {cert_file: ${JSON.stringify(pki('server.pem'))}, key_file: ${JSON.stringify(pki('server.key'))},`,
    `          client_ca_file: ${JSON.stringify(pki('ca.pem'))}, require_client_cert: true}`,
    'query:',
    '  clients:',
    '    - {name: ops, token_file: q.token, max_view: raw}',
  ].join('\n') + '\n');
  // A readable token file is refused first, naming the file.
  fs.chmodSync(path.join(dir, 'q.token'), 0o644);
  const r3a = await run([...base, '--data', path.join(dir, 'd3'), '--api', `0.0.0.0:${a}`, '--config', cfg]);
  assert.equal(r3a.exit.code, 2, r3a.out);
  assert.match(r3a.out, /q\.token \(readable by group or others: chmod 600 it\)/);
  fs.chmodSync(path.join(dir, 'q.token'), 0o600);

  const s = await run([...base, '--data', path.join(dir, 'd3'), '--api', `0.0.0.0:${a}`, '--config', cfg], { wait: false });
  try {
    const api = `https://127.0.0.1:${a}`;
    await waitFor(() => curl(['--cacert', pki('ca.pem'), '-o', '/dev/null', '-w', '%{http_code}', `${api}/readyz`]).stdout === '200',
      { what: `the TLS API ready: ${s.out}` });
    // Plain HTTP gets no answer from a TLS port.
    assert.notEqual(curl(['-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${a}/api/v1/logs`]).stdout, '200');
    assert.equal(curl(['--cacert', pki('ca.pem'), '-o', '/dev/null', '-w', '%{http_code}', `${api}/api/v1/logs`]).stdout, '401');
    assert.equal(curl(['--cacert', pki('ca.pem'), '-H', 'Authorization: Bearer wrong', '-o', '/dev/null', '-w', '%{http_code}',
      `${api}/api/v1/logs`]).stdout, '401');

    // OTLP/HTTP over mutual TLS: a client without a certificate does not
    // get through; with one, the span is stored and read back over the API.
    const b = makeSpanFactory('svc-tls').traceBatch(3);
    fs.writeFileSync(path.join(dir, 'batch.pb'), b.body);
    const post = (extra) => curl(['--cacert', pki('ca.pem'), ...extra, '-o', '/dev/null', '-w', '%{http_code}',
      '-H', 'Content-Type: application/x-protobuf', '--data-binary', `@${path.join(dir, 'batch.pb')}`,
      `https://127.0.0.1:${h}/v1/traces`]).stdout;
    assert.notEqual(post([]), '200');
    assert.equal(post(['--cert', pki('client.pem'), '--key', pki('client.key')]), '200');
    const t = curl(['--cacert', pki('ca.pem'), '-H', `Authorization: Bearer ${token}`,
      `${api}/api/v1/traces/${b.traceId}`]);
    assert.ok(t.stdout.includes(b.spanIds[0]) || t.stdout.includes(Buffer.from(b.spanIds[0], 'hex').toString('base64')),
      `the span read back over TLS: ${t.stdout.slice(0, 300)}`);

    // SIGHUP: a renewed certificate is served to new connections.
    const subject = () => curl(['-v', '--cacert', pki('ca.pem'), '-o', '/dev/null', `${api}/healthz`]).stderr;
    assert.match(subject(), /CN=site-server-one/);
    fs.copyFileSync(pki('server2.pem'), path.join(dir, 'live.pem'));
    fs.copyFileSync(pki('server2.key'), path.join(dir, 'live.key'));
    s.proc.kill('SIGHUP');
    await waitFor(() => /CN=site-server-two/.test(subject()), { what: 'the renewed certificate served' });
    await waitFor(() => /certificates reloaded.*listener=api/.test(s.out), { what: 'the reload logged' });
    // A broken file on reload keeps the certificate in force.
    fs.writeFileSync(path.join(dir, 'live.pem'), 'not a certificate\n');
    s.proc.kill('SIGHUP');
    await waitFor(() => /certificate reload failed, keeping the previous one/.test(s.out), { what: 'the failed reload logged' });
    assert.match(subject(), /CN=site-server-two/);
    await sleep(50);
  } finally {
    s.proc.kill('SIGTERM');
    await s.exited;
  }
  assert.equal(s.exit.code, 0, s.out.slice(-2000));
});

test('OTLP receivers with token_files: a bearer token required over HTTP and gRPC', { timeout: 60000 }, async () => {
  const { Collector } = await import('./lib/collector.mjs');
  const { grpcClient, GRPC, METHODS } = await import('./lib/grpc.mjs');
  const grpc = (await import('@grpc/grpc-js')).default;
  const dir = tempDir();
  const tok = { h: crypto.randomBytes(16).toString('hex'), g: crypto.randomBytes(16).toString('hex') };
  fs.writeFileSync(path.join(dir, 'h.token'), `${tok.h}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'g.token'), `${tok.g}\n`, { mode: 0o600 });
  const cfg = path.join(dir, 'collector.yaml');
  fs.writeFileSync(cfg, [
    'receivers:',
    `  otlp_http: {token_files: [${JSON.stringify(path.join(dir, 'h.token'))}]}`,
    `  otlp_grpc: {token_files: [${JSON.stringify(path.join(dir, 'g.token'))}]}`,
  ].join('\n') + '\n');
  const c = new Collector({ dataDir: path.join(dir, 'data'), config: cfg });
  await c.start();
  try {
    const b = makeSpanFactory('svc-tok').traceBatch(2);
    const post = (auth) => fetch(`${c.httpUrl}/v1/traces`, {
      method: 'POST', body: b.body,
      headers: { 'content-type': 'application/x-protobuf', ...(auth ? { authorization: auth } : {}) },
    });
    const r0 = await post(null);
    assert.equal(r0.status, 401);
    assert.match(r0.headers.get('www-authenticate') || '', /^Bearer/);
    assert.equal((await post(`Bearer ${tok.g}`)).status, 401, 'the gRPC token is not the HTTP one');
    assert.equal((await post(`Bearer ${tok.h}`)).status, 200);

    const client = grpcClient(c.grpcAddr);
    const call = (token) => new Promise((resolve) => {
      const md = new grpc.Metadata();
      if (token) md.set('authorization', `Bearer ${token}`);
      client.makeUnaryRequest(METHODS.traces, (x) => x, (x) => x, Buffer.from(b.body), md,
        { deadline: Date.now() + 10000 }, (err) => resolve(err ? { code: err.code, details: err.details } : { code: 0 }));
    });
    try {
      const g0 = await call(null);
      assert.equal(g0.code, GRPC.UNAUTHENTICATED, JSON.stringify(g0));
      assert.match(g0.details, /bearer token is required/);
      assert.equal((await call(tok.h)).code, GRPC.UNAUTHENTICATED);
      assert.equal((await call(tok.g)).code, 0);
    } finally {
      client.close();
    }
  } finally {
    await c.stop();
  }
  // A readable token file is refused at start, naming it.
  fs.chmodSync(path.join(dir, 'g.token'), 0o640);
  const r = await run(['collector', '--data', path.join(dir, 'd2'), '--config', cfg,
    '--otlp-grpc', '127.0.0.1:0', '--otlp-http', '127.0.0.1:0', '--api', '127.0.0.1:0']);
  assert.equal(r.exit.code, 2, r.out);
  assert.match(r.out, /receivers\.otlp_grpc\.token_files: cannot read a token from .*g\.token \(readable by group or others/);
});
