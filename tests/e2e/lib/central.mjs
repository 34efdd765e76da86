// Starts the real `tollgate central` and site collectors that forward to it,
// for the central-view end-to-end tests. Builds on collector.mjs: the same
// binary, free ports, temporary directories, kill-on-exit.
import { after } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { Collector, freePort, sleep, tollgateBin } from './collector.mjs';

const live = new Set();
function killLive() {
  for (const c of live) {
    try { c.proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killLive);
// A failed assertion skips a test's own stop(); the daemons' pipes would
// then keep this process alive forever. After the file's tests (and their
// own after hooks, which stop daemons gracefully), give stragglers 20 s,
// then kill them. The timer is unref'd: it never delays a clean exit.
after(() => { setTimeout(killLive, 20000).unref(); });

// Writes the sites registry and one token file per site; returns its path.
export function writeSites(dir, sites) {
  const lines = ['sites:'];
  for (const s of sites) {
    fs.writeFileSync(path.join(dir, `${s.name}.token`), `${s.token}\n`, { mode: 0o600 });
    lines.push(`  - name: ${s.name}`);
    lines.push(`    token_file: ${s.name}.token`);
    if (s.api) lines.push(`    api: "${s.api}"`);
    if (s.clientCertCn) lines.push(`    client_cert_cn: "${s.clientCertCn}"`);
  }
  const file = path.join(dir, 'sites.yaml');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

// YAML from a plain object (nested mappings, lists of scalars or of flat
// mappings), enough for the forwarder's and the centre's configs.
export function toYaml(obj, indent = 0) {
  const pad = ' '.repeat(indent);
  const out = [];
  const scalar = (v) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) {
      out.push(`${pad}${k}:`);
      for (const x of v) {
        if (x && typeof x === 'object') {
          out.push(`${pad}  - {${Object.entries(x).map(([a, b]) => `${a}: ${scalar(b)}`).join(', ')}}`);
        } else {
          out.push(`${pad}  - ${scalar(x)}`);
        }
      }
    } else if (typeof v === 'object') {
      out.push(`${pad}${k}:`);
      out.push(toYaml(v, indent + 2));
    } else {
      out.push(`${pad}${k}: ${scalar(v)}`);
    }
  }
  return out.filter((l) => l !== '').join('\n');
}

// Runs `fn` with extra environment variables set: spawn() copies the
// environment when called, so a child started inside gets them.
export async function withEnv(env, fn) {
  const saved = {};
  for (const [k, v] of Object.entries(env || {})) {
    saved[k] = process.env[k];
    process.env[k] = String(v);
  }
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(env || {})) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

export class Central {
  constructor({ dataDir, sitesFile, usersFile = null, config = null, env = {}, port = 0, scheme = 'http', caFile = null }) {
    this.dataDir = dataDir;
    this.usersFile = this.withHarnessUser(dataDir, usersFile);
    this.sitesFile = sitesFile;
    this.config = config;
    this.env = env;
    this.port = port;
    this.scheme = scheme;
    this.caFile = caFile;
    this.proc = null;
    this.log = '';
    this.exit = null;
  }

  get url() { return `${this.scheme}://127.0.0.1:${this.port}`; }

  // The estate and /metrics take a user's token (any role): the harness is
  // a user of every centre it starts, added to a copy of the test's users
  // file (whose `users:` list comes last) or to a file of its own.
  withHarnessUser(dataDir, usersFile) {
    const dir = path.dirname(dataDir);
    fs.mkdirSync(dir, { recursive: true });
    this.harnessToken = `e2e-harness-${crypto.randomBytes(16).toString('hex')}`;
    const tokenFile = path.join(dir, `${path.basename(dataDir)}-harness.token`);
    fs.writeFileSync(tokenFile, `${this.harnessToken}\n`, { mode: 0o600 });
    const entry = `  - {name: e2e-harness, token_file: ${JSON.stringify(tokenFile)}, role: sre}\n`;
    const out = path.join(dir, `${path.basename(dataDir)}-users.yaml`);
    if (!usersFile) {
      fs.writeFileSync(out, `users:\n${entry}`);
      return out;
    }
    const text = fs.readFileSync(usersFile, 'utf8');
    // Relative token files resolve against the users file's own folder.
    const copy = path.join(path.dirname(usersFile), `${path.basename(dataDir)}-users.e2e.yaml`);
    fs.writeFileSync(copy, `${text}${text.endsWith('\n') ? '' : '\n'}${entry}`);
    return copy;
  }

  get authHeader() { return ['-H', `Authorization: Bearer ${this.harnessToken}`]; }

  async start({ readyTimeoutMs = 15000 } = {}) {
    if (!this.port) this.port = await freePort();
    const args = ['central', '--data', this.dataDir, '--listen', `127.0.0.1:${this.port}`];
    if (this.sitesFile) args.push('--sites', this.sitesFile);
    if (this.usersFile) args.push('--users', this.usersFile);
    if (this.config) args.push('--config', this.config);
    this.exit = null;
    this.proc = spawn(tollgateBin(), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.env } });
    live.add(this);
    this.proc.stdout.setEncoding('utf8');
    this.proc.stderr.setEncoding('utf8');
    const onData = (d) => {
      this.log += d;
      if (this.log.length > 1 << 20) this.log = this.log.slice(-(1 << 19));
      if (process.env.TG_E2E_VERBOSE) process.stderr.write(`[central] ${d}`);
    };
    this.proc.stdout.on('data', onData);
    this.proc.stderr.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        resolve(this.exit);
      });
    });
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (this.exit) throw new Error(`central exited during start-up (${JSON.stringify(this.exit)}):\n${this.log}`);
      const r = this.curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', `${this.url}/readyz`]);
      if (r.stdout.trim() === '200') return this;
      if (Date.now() > deadline) {
        this.proc.kill('SIGKILL');
        throw new Error(`central not ready within ${readyTimeoutMs} ms:\n${this.log}`);
      }
      await sleep(50);
    }
  }

  // curl, so that https with our own CA works without touching Node's TLS.
  curl(args) {
    const extra = this.caFile ? ['--cacert', this.caFile] : [];
    return spawnSync('curl', [...extra, '--max-time', '5', ...args], { encoding: 'utf8' });
  }

  async stop({ timeoutMs = 10000 } = {}) {
    if (!this.proc || this.exit) return this.exit;
    this.proc.kill('SIGTERM');
    const res = await Promise.race([this.exited, sleep(timeoutMs).then(() => null)]);
    if (!res) {
      this.proc.kill('SIGKILL');
      await this.exited;
      throw new Error(`central did not exit within ${timeoutMs} ms of SIGTERM:\n${this.log.slice(-3000)}`);
    }
    return res;
  }

  async kill9() {
    if (!this.proc || this.exit) return this.exit;
    this.proc.kill('SIGKILL');
    return this.exited;
  }

  estate() {
    const r = this.curl(['-s', '-f', ...this.authHeader, `${this.url}/api/v1/estate`]);
    if (r.status !== 0) throw new Error(`estate: curl exit ${r.status}\n${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  metrics() {
    const r = this.curl(['-s', '-f', ...this.authHeader, `${this.url}/metrics`]);
    if (r.status !== 0) throw new Error(`metrics: curl exit ${r.status}`);
    return r.stdout;
  }

  // `tollgate central export`: every line parsed, plus the raw text.
  export() {
    const r = spawnSync(tollgateBin(), ['central', 'export', '--data', this.dataDir],
      { encoding: 'utf8', maxBuffer: 256 << 20 });
    if (r.status !== 0) throw new Error(`central export exit ${r.status}: ${r.stderr}`);
    const records = r.stdout.split('\n').filter((l) => l).map((l) => JSON.parse(l));
    return { records, text: r.stdout };
  }

  status(args = []) {
    const extra = this.caFile ? ['--ca-file', this.caFile] : [];
    return spawnSync(tollgateBin(), ['status', '--endpoint', this.url, ...extra, ...args], {
      encoding: 'utf8', env: { ...process.env, TOLLGATE_TOKEN: this.harnessToken },
    });
  }
}

// A site collector forwarding to `central`: a token file, a forward config
// (in the file $TOLLGATE_FORWARD_CONFIG names) and extra environment (the
// test hooks) for its process.
export class Site {
  // queryCap: the most permissive view this site lets the centre ask for
  // (its query client's max_view, the site's own token file as the
  // centre's credential); null: the centre may not query it.
  constructor({ name, dir, token, centralUrl, forward = {}, env = {}, queryCap = null, rules = null, config = null }) {
    this.name = name;
    this.dir = dir;
    this.centralUrl = centralUrl;
    this.env = env;
    fs.mkdirSync(dir, { recursive: true });
    this.tokenFile = path.join(dir, 'central.token');
    fs.writeFileSync(this.tokenFile, `${token}\n`, { mode: 0o600 });
    this.forwardFile = path.join(dir, 'forward.yaml');
    const fwd = {
      outbox: { flush_interval: '200ms' },
      heartbeat_interval: '500ms',
      retry: { initial: '100ms', max: '1s' },
      // These tests pin the built-in allow-list view, whose output they
      // spell out; central_rules.test.mjs runs the residency policy's view.
      view: 'builtin',
      ...forward,
    };
    fs.writeFileSync(this.forwardFile, `${toYaml({ forward: fwd })}\n`);
    this.queryClients = queryCap ? [{ name: 'central', tokenFile: this.tokenFile, maxView: queryCap }] : [];
    this.config = config;
    this.collector = new Collector({
      dataDir: path.join(dir, 'data'), site: name, queryClients: this.queryClients, config,
      extraArgs: ['--central', centralUrl, '--central-token-file', this.tokenFile,
        ...(rules ? ['--rules', rules] : [])],
    });
  }

  async start() {
    await withEnv({ TOLLGATE_FORWARD_CONFIG: this.forwardFile, ...this.env }, () => this.collector.start());
    return this;
  }

  async restart() {
    this.collector = new Collector({
      dataDir: this.collector.dataDir, site: this.name, extraArgs: this.collector.extraArgs,
      queryClients: this.queryClients, config: this.config,
    });
    return this.start();
  }

  get httpUrl() { return this.collector.httpUrl; }
  get grpcUrl() { return this.collector.grpcUrl; }
  get apiUrl() { return this.collector.apiUrl; }

  async status() {
    const r = await fetch(`${this.apiUrl}/api/v1/status`);
    return r.json();
  }

  stop(opts) { return this.collector.stop(opts); }
  kill9() { return this.collector.kill9(); }
}

// Polls fn() until it returns a truthy value; the last error or value is
// reported on timeout.
export async function waitFor(fn, { timeoutMs = 20000, intervalMs = 200, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}: ${last instanceof Error ? last.stack : JSON.stringify(last)}`);
    }
    await sleep(intervalMs);
  }
}

export const spansOf = (records, site) => records.filter((r) => r.type === 'span' && (!site || r.site === site));
