// Starts and stops the real `tollgate collector` for end-to-end tests.
//
// Every test gets its own temporary data directory and free loopback
// ports. A collector left running when the test process exits (a failed
// assertion, an exception) is killed, so no test leaks a daemon.
import { after } from 'node:test';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { registerToken } from './http.mjs';

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

export function tollgateBin() {
  const bin = process.env.TOLLGATE_BIN;
  if (bin) return bin;
  const dir = process.env.TG_BUILD_DIR || 'build';
  return path.resolve(dir, 'tollgate');
}

// A port that was free a moment ago: bind port 0, read it, close.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

// A fresh temporary directory, removed at exit unless TG_E2E_KEEP is set
// (then its path is printed so a failure can be inspected).
export function tempDir(prefix = 'tollgate-e2e-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => {
    if (process.env.TG_E2E_KEEP) {
      process.stderr.write(`kept ${dir}\n`);
      return;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Writes a YAML config file from a nested plain object (strings, numbers,
// booleans; nested objects become nested mappings).
export function writeConfig(dir, obj, name = 'collector.yaml') {
  const lines = [];
  const emit = (o, indent) => {
    for (const [k, v] of Object.entries(o)) {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        lines.push(`${' '.repeat(indent)}${k}:`);
        emit(v, indent + 2);
      } else if (Array.isArray(v)) {
        lines.push(`${' '.repeat(indent)}${k}: [${v.map((x) => JSON.stringify(x)).join(', ')}]`);
      } else {
        const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
        lines.push(`${' '.repeat(indent)}${k}: ${s}`);
      }
    }
  };
  emit(obj, 0);
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export class Collector {
  constructor({ dataDir, site = 'e2e', config = null, extraArgs = [], queryClients = [] }) {
    this.dataDir = dataDir;
    this.queryClients = queryClients;
    this.site = site;
    this.config = config;
    this.extraArgs = extraArgs;
    this.proc = null;
    this.stderrBuf = '';
    this.exit = null;
  }

  get grpcAddr() { return `127.0.0.1:${this.ports.grpc}`; }
  get grpcUrl() { return `http://127.0.0.1:${this.ports.grpc}`; }
  get httpUrl() { return `http://127.0.0.1:${this.ports.http}`; }
  get apiUrl() { return `http://127.0.0.1:${this.ports.api}`; }

  stderr() { return this.stderrBuf; }

  // Every data endpoint of the site API takes a bearer token: the test
  // harness is a query client cleared for raw reads (query.clients), so
  // the tests read back exactly what they sent. The config the test gave
  // is kept as it is, with the query section added to a copy beside it
  // (relative paths in it still resolve). getJson() presents the token
  // for this collector's API address.
  withQueryClient() {
    const base = this.config || path.join(path.dirname(this.dataDir), `${this.site}-collector.yaml`);
    const text = this.config ? fs.readFileSync(this.config, 'utf8') : '';
    if (/^query:/m.test(text)) {
      this.queryToken = this.queryToken || null;
      return base;
    }
    const tokenFile = `${base}.query.token`;
    if (!this.queryToken) this.queryToken = `e2e-${crypto.randomBytes(16).toString('hex')}`;
    fs.writeFileSync(tokenFile, this.queryToken + '\n', { mode: 0o600 });
    const out = this.config ? `${base}.e2e.yaml` : base;
    fs.writeFileSync(out, text + (text && !text.endsWith('\n') ? '\n' : '') +
      `query:\n  clients:\n    - {name: e2e, token_file: ${JSON.stringify(path.basename(tokenFile))}, max_view: raw}\n` +
      this.queryClients.map((c) => `    - {name: ${c.name}, token_file: ${JSON.stringify(c.tokenFile)}, max_view: ${c.maxView}}\n`).join(''));
    return out;
  }

  // Spawns the daemon on fresh ports and waits until /readyz answers 200.
  async start({ readyTimeoutMs = 20000 } = {}) {
    const [g, h, a] = await freePorts(3);
    this.ports = { grpc: g, http: h, api: a };
    const args = ['collector', '--data', this.dataDir, '--site', this.site,
      '--otlp-grpc', this.grpcAddr, '--otlp-http', `127.0.0.1:${h}`,
      '--api', `127.0.0.1:${a}`];
    args.push('--config', this.withQueryClient());
    args.push(...this.extraArgs);
    this.stderrBuf = '';
    this.exit = null;
    const proc = spawn(tollgateBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    live.add(this);
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d) => { this.stderrBuf += d; });
    proc.stderr.on('data', (d) => {
      this.stderrBuf += d;
      if (this.stderrBuf.length > 4 << 20) this.stderrBuf = this.stderrBuf.slice(-(1 << 20));
      if (process.env.TG_E2E_VERBOSE) process.stderr.write(d);
    });
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        resolve(this.exit);
      });
      proc.on('error', (err) => {
        this.exit = { code: null, signal: null, error: err };
        live.delete(this);
        resolve(this.exit);
      });
    });
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (this.exit) {
        throw new Error(`collector exited during start-up (${JSON.stringify(this.exit)}):\n${this.stderrBuf}`);
      }
      try {
        const r = await fetch(`${this.apiUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
        await r.arrayBuffer();
        if (r.status === 200) {
          if (this.queryToken) registerToken(this.apiUrl, this.queryToken);
          return this;
        }
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) {
        this.proc.kill('SIGKILL');
        throw new Error(`collector not ready within ${readyTimeoutMs} ms:\n${this.stderrBuf}`);
      }
      await sleep(50);
    }
  }

  // SIGTERM and wait for the exit; returns {code, signal, ms}.
  async stop({ timeoutMs = 10000 } = {}) {
    if (!this.proc || this.exit) return this.exit;
    const t0 = Date.now();
    this.proc.kill('SIGTERM');
    let timer;
    const res = await Promise.race([this.exited,
      new Promise((r) => { timer = setTimeout(() => r(null), timeoutMs); })]);
    clearTimeout(timer);
    if (!res) {
      this.proc.kill('SIGKILL');
      await this.exited;
      throw new Error(`collector did not exit within ${timeoutMs} ms of SIGTERM:\n${this.stderrBuf.slice(-4000)}`);
    }
    return { ...res, ms: Date.now() - t0 };
  }

  async kill9() {
    if (!this.proc || this.exit) return this.exit;
    this.proc.kill('SIGKILL');
    return this.exited;
  }

  get pid() { return this.proc ? this.proc.pid : 0; }
}

export async function startCollector(opts) {
  const c = new Collector(opts);
  await c.start();
  return c;
}
