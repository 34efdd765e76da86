// The centre under abuse (issue 15 part 3): an unauthenticated upload is
// refused from its headers before its body is read; one address holding
// hundreds of slow connections neither outlives the header deadline nor
// locks a site out; a small zstd bomb from an authenticated site stops at
// the ratio cap with 413; every refusal is counted in /metrics by reason.
// Attackers connect from 127.0.0.2 so the per-source cap tells them apart
// from the site (127.0.0.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { sleep, tempDir } from './lib/collector.mjs';
import { Central, Site, spansOf, toYaml, waitFor, writeSites } from './lib/central.mjs';
import { parseResponse } from './lib/http.mjs';
import { pb } from './lib/pb.mjs';
import { OrderedSender } from './lib/send.mjs';

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

function refused(metrics, reason) {
  const re = new RegExp(`^tollgate_refused_total\\{server="central",reason="${reason}"\\} (\\d+)$`, 'm');
  const m = re.exec(metrics);
  assert.ok(m, `no tollgate_refused_total for ${reason}`);
  return Number(m[1]);
}

// Opens a connection from `localAddress`, writes `head`, then `body` in
// chunks (stopping as soon as the server answers), and resolves with what
// came back and whether any body was still unsent when the answer came.
function upload(port, head, { bodyBytes = 0, localAddress = '127.0.0.2', timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port, localAddress });
    const chunks = [];
    let sent = 0;
    let answered = false;
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('no answer')); }, timeoutMs);
    const pump = () => {
      while (!answered && sent < bodyBytes) {
        const n = Math.min(256 << 10, bodyBytes - sent);
        sent += n;
        if (!sock.write(Buffer.alloc(n, 0x41))) { sock.once('drain', pump); return; }
      }
    };
    sock.on('connect', () => { sock.write(head); setTimeout(pump, 200); });
    sock.on('data', (d) => { answered = true; chunks.push(d); });
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ res: parseResponse(Buffer.concat(chunks), { closed: true }), sent });
    });
  });
}

async function startCentral(dir, limits = {}) {
  const token = crypto.randomBytes(8).toString('hex');
  const sitesFile = writeSites(dir, [{ name: 'fra', token }]);
  const config = path.join(dir, 'central.yaml');
  fs.writeFileSync(config, `${toYaml({ limits })}\n`);
  const central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile, config }).start();
  return { central, token };
}

test('40 unauthenticated 60 MB uploads are refused from their headers', { timeout: 60000 }, async () => {
  const dir = tempDir();
  const { central } = await startCentral(dir);
  const rss0 = rssKiB(central.proc.pid);
  const head = 'POST /v1/upload HTTP/1.1\r\nHost: x\r\nX-Tollgate-Site: fra\r\n' +
    'X-Tollgate-Protocol: 2\r\nAuthorization: Bearer wrong\r\n' +
    `Content-Type: application/x-protobuf\r\nContent-Length: ${60 << 20}\r\n\r\n`;
  const results = await Promise.all(Array.from({ length: 40 }, () =>
    upload(central.port, head, { bodyBytes: 8 << 20 })));
  for (const { res, sent } of results) {
    assert.equal(res.status, 401, res.body.toString());
    assert.match(res.body.toString(), /unknown site or bad token/);
    assert.ok(sent < (60 << 20));
  }
  const rss1 = rssKiB(central.proc.pid);
  // 40 buffered bodies of 8 MB would be 320 MB; the refusals cost nothing.
  assert.ok(rss1 - rss0 < 40 * 1024, `centre RSS grew ${rss1 - rss0} KiB`);
  assert.equal(refused(central.metrics(), 'unauthorized'), 40);
  await central.stop();
});

test('a small zstd bomb from a site is refused with 413 at the ratio cap', { timeout: 60000 }, async () => {
  const dir = tempDir();
  const { central, token } = await startCentral(dir);
  // A frame that declares its 64 MiB (as every tollgate producer's does:
  // the centre refuses frames without a content size), from a file so the
  // zstd tool records the size.
  const raw = path.join(dir, 'zeros');
  fs.writeFileSync(raw, Buffer.alloc(64 << 20));
  const z = spawnSync('zstd', ['-19', '-q', '-c', raw], { maxBuffer: 1 << 20 });
  assert.equal(z.status, 0, String(z.stderr));
  const bomb = z.stdout; // a few KB
  assert.ok(bomb.length < 16 << 10);
  const body = Buffer.concat([
    pb.uint(1, 2), pb.string(2, 'fra'), pb.bytes(3, crypto.randomBytes(16)), pb.uint(4, 1),
    pb.fixed64(5, BigInt(Date.now()) * 1000000n), pb.bytes(7, bomb),
  ]);
  const head = 'POST /v1/upload HTTP/1.1\r\nHost: x\r\nX-Tollgate-Site: fra\r\n' +
    `X-Tollgate-Protocol: 2\r\nAuthorization: Bearer ${token}\r\n` +
    `Content-Type: application/x-protobuf\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  const rss0 = rssKiB(central.proc.pid);
  const results = await Promise.all(Array.from({ length: 8 }, () =>
    upload(central.port, Buffer.concat([Buffer.from(head), body]), { localAddress: '127.0.0.1' })));
  for (const { res } of results) {
    assert.equal(res.status, 413, `${res.status} ${res.body.toString()}`);
    assert.match(res.body.toString(), /too large when decompressed/);
  }
  const rss1 = rssKiB(central.proc.pid);
  assert.ok(rss1 - rss0 < 128 * 1024, `centre RSS grew ${rss1 - rss0} KiB`);
  assert.equal(refused(central.metrics(), 'decompressed_too_large'), 8);
  await central.stop();
});

test('260 slow connections from one address neither hold their slots nor lock a site out', { timeout: 90000 }, async () => {
  const dir = tempDir();
  const { central, token } = await startCentral(dir, { header_timeout: '3s' });
  const site = await new Site({ name: 'fra', dir: path.join(dir, 'fra'), token, centralUrl: central.url }).start();
  const sender = new OrderedSender(site, 'svc-abuse');
  // A request line, then a header byte every second on each: never a
  // whole header section.
  const socks = [];
  let closedByServer = 0;
  for (let i = 0; i < 260; i++) {
    const s = net.connect({ host: '127.0.0.1', port: central.port, localAddress: '127.0.0.2' });
    s.on('error', () => {});
    s.resume(); // read (and drop) what the server sends, so its close is seen
    s.on('connect', () => s.write('GET / HTTP/1.1\r\nX-Pad: '));
    s.on('close', () => { closedByServer++; });
    socks.push(s);
  }
  const drip = setInterval(() => { for (const s of socks) if (!s.destroyed && !s.connecting) s.write('a'); }, 1000);
  try {
    await sleep(1500);
    // The site keeps delivering while the attack runs.
    await sender.sendMany(5, 4);
    await waitFor(() => spansOf(central.export().records, 'fra').length === 20,
      { timeoutMs: 20000, what: 'delivery during the attack' });
    // The header deadline ends every dripping connection, not each read.
    await waitFor(() => closedByServer === 260, { timeoutMs: 15000, what: 'every slow connection closed' });
  } finally {
    clearInterval(drip);
    for (const s of socks) s.destroy();
  }
  const m = central.metrics();
  assert.ok(refused(m, 'per_source') >= 260 - 64, `per_source ${refused(m, 'per_source')}`);
  assert.ok(refused(m, 'header_timeout') >= 1);
  assert.match(m, /^tollgate_central_uploads_total\{result="heartbeat"\} [1-9]/m);
  await site.stop();
  await central.stop();
});
