// Readiness that tells the truth (issue 15 part 5), with a small LMDB map
// (store.max_map_size): /readyz answers 503 with the reason while the
// store refuses writes (store.on_full: refuse) and while the residency
// policy failed to load; with store.on_full: evict-oldest a full store
// makes room from its oldest data (never younger than store.evict_floor),
// counts every eviction in /metrics and stays ready.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { Collector, sleep, tempDir, writeConfig } from './lib/collector.mjs';
import { httpPost, rawRequest } from './lib/http.mjs';
import { traceRequest } from './lib/pb.mjs';

const root = process.cwd();
const siteRules = path.join(root, 'rules', 'examples', 'site-fra.yaml');
const defaultRules = path.join(root, 'rules', 'default.yaml');

// ~200 KB of span name that zstd cannot shrink (random base64).
function bigTrace() {
  return traceRequest({
    traceId: crypto.randomBytes(16).toString('hex'), spanId: crypto.randomBytes(8).toString('hex'),
    name: Buffer.from(crypto.randomBytes(150000).toString('base64')),
  });
}

const send = (c) => rawRequest(c.ports.http, httpPost('/v1/traces', bigTrace(), { 'Content-Type': 'application/x-protobuf' }));
const readyz = async (c) => {
  const r = await fetch(`${c.apiUrl}/readyz`);
  return { status: r.status, text: await r.text() };
};
const metric = async (c, name) => {
  const text = await (await fetch(`${c.apiUrl}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
};

test('store full with on_full: refuse -> 503 on writes and on /readyz, saying why', { timeout: 60000 }, async () => {
  const dir = tempDir();
  const config = writeConfig(dir, { store: { initial_map_size: '1MiB', max_map_size: '2MiB', on_full: 'refuse' } });
  const c = new Collector({ dataDir: path.join(dir, 'data'), config });
  await c.start();
  try {
    assert.equal((await readyz(c)).status, 200);
    let last = 200;
    let sent = 0;
    for (; sent < 40 && last === 200; sent++) last = (await send(c)).status;
    assert.equal(last, 503, `a write into a full store: ${last}`);
    assert.ok(sent > 3, `${sent} writes before full`);
    const r = await readyz(c);
    assert.equal(r.status, 503);
    assert.match(r.text, /^not ready: the store cannot write: store full: the map is at store\.max_map_size \(2097152 bytes\); store\.on_full is refuse/);
    assert.ok(await metric(c, 'tollgate_store_full_refusals_total') >= 1);
    assert.equal(await metric(c, 'tollgate_ready'), 0);
    // Health stays up: the process is alive, only not ready.
    assert.equal((await fetch(`${c.apiUrl}/healthz`)).status, 200);
  } finally {
    await c.stop();
  }
});

test('store full with on_full: evict-oldest -> oldest data makes room, counted, still ready', { timeout: 60000 }, async () => {
  const dir = tempDir();
  const config = writeConfig(dir, {
    store: { initial_map_size: '1MiB', max_map_size: '2MiB', on_full: 'evict-oldest', evict_floor: '0s' },
  });
  const c = new Collector({ dataDir: path.join(dir, 'data'), config });
  await c.start();
  try {
    for (let i = 0; i < 30; i++) {
      const r = await send(c);
      assert.equal(r.status, 200, `write ${i}: ${r.status} ${r.body.toString().slice(0, 200)}`);
    }
    assert.ok(await metric(c, 'tollgate_store_full_evictions_total') > 0);
    assert.equal(await metric(c, 'tollgate_store_full_refusals_total'), 0);
    assert.equal((await readyz(c)).status, 200);
    assert.match(c.stderr(), /store full: evicted the oldest records to make room/);
  } finally {
    await c.stop();
  }
  // With the floor at an hour nothing here is old enough: refused, and said so.
  const dir2 = tempDir();
  const config2 = writeConfig(dir2, {
    store: { initial_map_size: '1MiB', max_map_size: '2MiB', on_full: 'evict-oldest', evict_floor: '1h' },
  });
  const c2 = new Collector({ dataDir: path.join(dir2, 'data'), config: config2 });
  await c2.start();
  try {
    let last = 200;
    for (let i = 0; i < 40 && last === 200; i++) last = (await send(c2)).status;
    assert.equal(last, 503);
    const r = await readyz(c2);
    assert.equal(r.status, 503);
    assert.match(r.text, /nothing is older than store\.evict_floor/);
    assert.equal(await metric(c2, 'tollgate_store_full_evictions_total'), 0);
  } finally {
    await c2.stop();
  }
});

test('the residency policy failed to load -> /readyz 503 until a good one loads', { timeout: 60000 }, async () => {
  const dir = tempDir();
  const site = path.join(dir, 'site.yaml');
  fs.copyFileSync(siteRules, site);
  const c = new Collector({ dataDir: path.join(dir, 'data'), extraArgs: ['--rules', defaultRules, '--rules', site] });
  await c.start();
  try {
    assert.equal((await readyz(c)).status, 200);
    fs.writeFileSync(site, 'version: 1\nclasses:\n  pii.x: [\n');
    c.proc.kill('SIGHUP');
    let r;
    for (let i = 0; i < 100; i++) {
      r = await readyz(c);
      if (r.status === 503) break;
      await sleep(50);
    }
    assert.equal(r.status, 503);
    assert.match(r.text, /^not ready: the residency policy failed to load \(the previous one is in force\): .*site\.yaml:\d+:\d+/);
    fs.copyFileSync(siteRules, site);
    c.proc.kill('SIGHUP');
    for (let i = 0; i < 100; i++) {
      r = await readyz(c);
      if (r.status === 200) break;
      await sleep(50);
    }
    assert.equal(r.status, 200);
  } finally {
    await c.stop();
  }
});
