// SIGHUP reloads the residency rules atomically: a bad file keeps the
// policy in force (and the log says why, naming file, line and column); a
// good one replaces it, and /metrics shows the new policy version. A bad
// file at start-up is refused with exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { Collector, sleep, tempDir, tollgateBin } from './lib/collector.mjs';

async function policyVersion(c) {
  const text = await (await fetch(`${c.apiUrl}/metrics`)).text();
  const m = text.match(/^tollgate_rules_policy_info\{version="([^"]+)"\} 1$/m);
  assert.ok(m, 'policy version on /metrics');
  return m[1];
}

async function waitFor(fn, what, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const root = process.cwd();
const defaultRules = path.join(root, 'rules', 'default.yaml');
const siteRules = path.join(root, 'rules', 'examples', 'site-fra.yaml');

test('SIGHUP: a bad file keeps the old policy, a good one replaces it', { timeout: 60000 }, async () => {
  const dir = tempDir();
  const site = path.join(dir, 'site.yaml');
  fs.copyFileSync(siteRules, site);
  const c = new Collector({ dataDir: path.join(dir, 'data'), extraArgs: ['--rules', defaultRules, '--rules', site] });
  await c.start();
  try {
    const v1 = await policyVersion(c);
    assert.match(v1, /^sha256:[0-9a-f]{64}$/);

    fs.writeFileSync(site, 'version: 1\nclasses:\n  pii.x: [\n');
    c.proc.kill('SIGHUP');
    await waitFor(() => c.stderr().includes('rules reload failed'), 'the reload failure in the log');
    assert.match(c.stderr(), /rules reload failed.*site\.yaml:\d+:\d+/);
    assert.equal(await policyVersion(c), v1, 'the old policy stays in force');

    fs.copyFileSync(siteRules, site);
    fs.appendFileSync(site, '\n# a comment changes the content hash\n');
    c.proc.kill('SIGHUP');
    await waitFor(async () => (await policyVersion(c)) !== v1, 'the new policy version');
    assert.match(c.stderr(), /msg="rules reloaded" from=sha256:[0-9a-f]+ to=sha256:[0-9a-f]+/);
    // Still serving.
    const r = await fetch(`${c.apiUrl}/healthz`);
    assert.equal(r.status, 200);
  } finally {
    const res = await c.stop();
    assert.equal(res.code, 0);
  }
});

test('a bad rules file at start-up: exit 2 naming file, line and column', () => {
  const dir = tempDir();
  const bad = path.join(dir, 'bad.yaml');
  fs.writeFileSync(bad, 'version: 1\ndestinations:\n  central:\n    actions: {pii.email: vanish}\n');
  const r = spawnSync(tollgateBin(), ['collector', '--data', path.join(dir, 'data'), '--rules', bad,
    '--otlp-grpc', '127.0.0.1:0', '--otlp-http', '127.0.0.1:0', '--api', '127.0.0.1:0'], { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /bad\.yaml:4:\d+: /);
});
