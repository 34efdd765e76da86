// HTTP helpers: a raw-socket client for bad-input tests (it keeps reading
// the response when the server answers before the body is sent, which fetch
// cannot), and readers for the site API.
import net from 'node:net';
import assert from 'node:assert/strict';

// Parses one HTTP/1.1 response at the start of buf. Returns null while
// incomplete, else {status, reason, headers, body, rest}.
export function parseResponse(buf, { closed = false } = {}) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(head[0]);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(head[0])}`);
  const headers = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const start = end + 4;
  let body;
  let rest;
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (buf.length < start + n) return null;
    body = buf.subarray(start, start + n);
    rest = buf.subarray(start + n);
  } else if ((headers['transfer-encoding'] || '').toLowerCase() === 'chunked') {
    const chunks = [];
    let p = start;
    for (;;) {
      const le = buf.indexOf('\r\n', p);
      if (le < 0) return null;
      const size = parseInt(buf.subarray(p, le).toString('latin1'), 16);
      if (buf.length < le + 2 + size + 2) return null;
      if (size === 0) { p = le + 4; break; }
      chunks.push(buf.subarray(le + 2, le + 2 + size));
      p = le + 2 + size + 2;
    }
    body = Buffer.concat(chunks);
    rest = buf.subarray(p);
  } else {
    if (!closed) return null;
    body = buf.subarray(start);
    rest = Buffer.alloc(0);
  }
  return { status: Number(m[1]), reason: m[2], headers, body, rest };
}

// Sends `parts` (Buffers or strings, written in order, each after
// `gapMs`) on a fresh connection and resolves with the first response, plus
// whether the server closed the connection and how long the answer took.
// Write errors (the server answered early and closed) are ignored: the
// response that was sent is what the test asserts on.
export function rawRequest(port, parts, { timeoutMs = 10000, gapMs = 0, host = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const sock = net.connect(port, host);
    let buf = Buffer.alloc(0);
    let done = false;
    let closed = false;
    const timer = setTimeout(() => finish(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err) => {
      if (done) return;
      let res = null;
      try { res = parseResponse(buf, { closed }); } catch (e) { err = err || e; }
      if (!res && !err && !closed) return;
      done = true;
      clearTimeout(timer);
      if (res) {
        res.ms = Date.now() - t0;
        res.raw = buf;
        // Give the server a moment to close after its answer, so callers
        // can assert on `closed`.
        if (closed) { res.closed = true; resolve(res); sock.destroy(); return; }
        const t = setTimeout(() => { res.closed = closed; sock.destroy(); resolve(res); }, 200);
        sock.once('close', () => { clearTimeout(t); res.closed = true; resolve(res); });
        return;
      }
      sock.destroy();
      if (err) reject(err);
      else reject(new Error(`connection closed without a response (got ${buf.length} bytes)`));
    };
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); finish(null); });
    sock.on('end', () => { closed = true; finish(null); });
    sock.on('close', () => { closed = true; finish(null); });
    sock.on('error', (e) => {
      // EPIPE / ECONNRESET after an early answer: keep what we read.
      if (e.code === 'EPIPE' || e.code === 'ECONNRESET') { closed = true; finish(null); return; }
      finish(e);
    });
    sock.on('connect', async () => {
      for (const p of parts) {
        if (done || sock.destroyed) return;
        sock.write(p);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

// A complete POST as one buffer list.
export function httpPost(path, body, headers = {}) {
  const h = { Host: '127.0.0.1', 'Content-Length': String(body.length), ...headers };
  const head = `POST ${path} HTTP/1.1\r\n` +
    Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
  return [Buffer.from(head, 'latin1'), Buffer.from(body)];
}

// Bearer tokens by API address: a collector registers its harness token
// when it starts, and getJson() presents it to that address.
const tokens = new Map();
export function registerToken(apiUrl, token) { tokens.set(apiUrl, token); }
export function tokenFor(url) {
  for (const [base, t] of tokens) if (url.startsWith(base + '/')) return t;
  return null;
}

export async function getJson(url, { expectStatus = 200, token } = {}) {
  const t = token === undefined ? tokenFor(url) : token;
  const headers = t ? { Authorization: `Bearer ${t}` } : {};
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(15000) });
  const text = await r.text();
  if (expectStatus !== null) {
    assert.equal(r.status, expectStatus, `GET ${url} -> ${r.status}: ${text.slice(0, 500)}`);
  }
  let json = null;
  if (text.length && /json/.test(r.headers.get('content-type') || '')) {
    try { json = JSON.parse(text); } catch (e) {
      if (r.status === 200) throw new Error(`GET ${url}: body is not JSON: ${e.message}: ${text.slice(0, 200)}`);
    }
  }
  if (expectStatus === 200 && json === null && !/^text\/plain/.test(r.headers.get('content-type') || '')) {
    throw new Error(`GET ${url}: expected a JSON body, got content-type ${r.headers.get('content-type')}`);
  }
  return { status: r.status, json, text, headers: r.headers };
}

export async function getTrace(apiUrl, traceIdHex, opts) {
  return getJson(`${apiUrl}/api/v1/traces/${traceIdHex}`, opts);
}

const WIDE_START = '0';
const wideEnd = () => String((BigInt(Date.now()) + 86400000n) * 1000000n);

export async function getLogs(apiUrl, service, { start = WIDE_START, end = wideEnd(), limit = 1000 } = {}) {
  const q = new URLSearchParams({ service, start, end, limit: String(limit) });
  return getJson(`${apiUrl}/api/v1/logs?${q}`);
}

export async function getMetrics(apiUrl, service, { start = WIDE_START, end = wideEnd(), limit = 1000 } = {}) {
  const q = new URLSearchParams({ service, start, end, limit: String(limit) });
  return getJson(`${apiUrl}/api/v1/metrics?${q}`);
}

// Polls fn until it returns a truthy value or the time runs out; returns
// the last value either way.
export async function eventually(fn, { timeoutMs = 5000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let v;
  for (;;) {
    v = await fn();
    if (v || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// Parses Prometheus text exposition into [{name, labels, value}].
export function parsePrometheus(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`bad exposition line: ${line}`);
    const labels = {};
    if (m[3]) {
      for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

export function metricValue(samples, name, labels = {}) {
  let sum = 0;
  let found = false;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) { sum += s.value; found = true; }
  }
  return found ? sum : undefined;
}
