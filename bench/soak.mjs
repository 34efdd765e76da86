// The overload soak: a real collector driven over OTLP/HTTP on loopback at
// twice its measured capacity, with bounded load (at most MAX_IN_FLIGHT
// requests outstanding), then at half its capacity to see it recover.
//
//   1. calibrate: closed loop (CALIBRATE_WORKERS senders, each sending as
//      soon as its last request was answered) for calibrateSec; capacity C
//      = acknowledged requests per second;
//   2. overload: open loop at 2C requests/s for durationSec; a request that
//      would exceed MAX_IN_FLIGHT is not sent (counted as held back);
//   3. recovery: open loop at C/2; the recovery time is from the end of the
//      overload to the end of the first whole second with no refusal and
//      every request sent in it acknowledged;
//   4. read back: every acknowledged trace through the site API, each must
//      hold all of its spans.
//
// Every second it samples the collector's RSS (/proc/PID/status VmRSS).
// Every 429/503 must carry Retry-After. Each request is one trace of
// `spans` spans (default 500) with a fresh trace id. Used by bench/soak.sh (the full run)
// and tests/e2e/overload_soak.test.mjs (a short one); run alone:
//   node bench/soak.mjs [DURATION_SEC]
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Collector, sleep, tempDir, writeConfig } from '../tests/e2e/lib/collector.mjs';
import { getTrace } from '../tests/e2e/lib/http.mjs';
import { flattenSpans } from '../tests/e2e/lib/otlp.mjs';
import { pb } from '../tests/e2e/lib/pb.mjs';

const MAX_IN_FLIGHT = 200; // under the receiver's 256 connections per address
const CALIBRATE_WORKERS = MAX_IN_FLIGHT; // the most the overload may have in flight

function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

// One ExportTraceServiceRequest: a resource, a scope and `spans` spans of
// one trace, each with a few attributes (about 110 bytes a span). Encoded
// once; each request is a copy with a fresh trace id written where the
// template's id sits, so the client spends its time sending.
function makeTemplate(service, spans) {
  const traceId = crypto.randomBytes(16);
  const now = BigInt(Date.now()) * 1000000n;
  const kv = (k, v) => pb.msg(9, pb.string(1, k), pb.msg(2, pb.string(1, v)));
  const list = [];
  for (let i = 0; i < spans; i++) {
    list.push(pb.msg(2,
      pb.bytes(1, traceId), pb.bytes(2, crypto.randomBytes(8)),
      pb.string(5, `soak-op-${i % 10}`), pb.fixed64(7, now), pb.fixed64(8, now + 1000n),
      kv('http.route', '/api/v1/orders/{id}'), kv('soak.index', String(i))));
  }
  const resource = pb.msg(1, pb.msg(1, pb.string(1, 'service.name'), pb.msg(2, pb.string(1, service))));
  const body = pb.msg(1, resource, pb.msg(2, pb.msg(1, pb.string(1, 'soak')), ...list));
  const offsets = [];
  for (let i = body.indexOf(traceId); i >= 0; i = body.indexOf(traceId, i + 16)) offsets.push(i);
  if (offsets.length !== spans) throw new Error('soak: trace id template');
  return { body, offsets };
}

function makeRequest(tpl) {
  const traceId = crypto.randomBytes(16);
  const body = Buffer.from(tpl.body);
  for (const o of tpl.offsets) traceId.copy(body, o);
  return { traceId: traceId.toString('hex'), body };
}

class Driver {
  constructor(url, service, spans) {
    this.url = `${url}/v1/traces`;
    this.tpl = makeTemplate(service, spans);
    this.inFlight = 0;
    this.acked = [];
    this.sec = null; // counters of the current second
  }

  newSecond() {
    this.sec = { sent: 0, ok: 0, refused: 0, errors: 0, heldBack: 0 };
    return this.sec;
  }

  async send(totals) {
    const { traceId, body } = makeRequest(this.tpl);
    const sec = this.sec;
    this.inFlight++;
    sec.sent++;
    totals.sent++;
    try {
      const r = await fetch(this.url, {
        method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' },
        signal: AbortSignal.timeout(30000),
      });
      await r.arrayBuffer();
      if (r.status === 200) {
        sec.ok++;
        totals.ok++;
        this.acked.push(traceId);
      } else if (r.status === 429 || r.status === 503) {
        sec.refused++;
        totals.refused[r.status] = (totals.refused[r.status] || 0) + 1;
        if (!r.headers.get('retry-after')) totals.retryAfterMissing++;
      } else {
        sec.errors++;
        totals.errors++;
      }
    } catch {
      sec.errors++;
      totals.errors++;
    } finally {
      this.inFlight--;
    }
  }
}

function newTotals() {
  return { sent: 0, ok: 0, refused: {}, retryAfterMissing: 0, errors: 0, heldBack: 0 };
}

// Open loop at `rps` for `sec` seconds, in 20 ms ticks; onSecond(counters)
// after each whole second. Returns when the time is up and everything sent
// has been answered.
async function openLoop(d, rps, sec, totals, onSecond) {
  const pending = new Set();
  const t0 = Date.now();
  let issued = 0;
  let secStart = t0;
  d.newSecond();
  while (Date.now() - t0 < sec * 1000) {
    // The schedule follows the clock, however long a tick took.
    const due = Math.floor((rps * (Date.now() - t0)) / 1000);
    while (issued < due) {
      issued++;
      if (d.inFlight >= MAX_IN_FLIGHT) {
        d.sec.heldBack++;
        totals.heldBack++;
        continue;
      }
      const p = d.send(totals);
      pending.add(p);
      p.finally(() => pending.delete(p));
    }
    await sleep(20);
    if (Date.now() - secStart >= 1000) {
      const s = d.sec;
      d.newSecond();
      secStart += 1000;
      if (onSecond && onSecond(s, (secStart - t0) / 1000)) break;
    }
  }
  await Promise.all([...pending]);
}

export async function runSoak({ durationSec = 600, calibrateSec = 5, recoverySec = 30, spans = 500,
  log = () => {}, config = {} } = {}) {
  const dir = tempDir('tollgate-soak-');
  const cfg = writeConfig(dir, {
    // A small pending budget: overload shows as 429s within a second, not
    // as a long queue.
    limits: { max_pending_bytes: '1MiB', retry_after: '1s' },
    ...config,
  });
  const c = new Collector({ dataDir: path.join(dir, 'data'), site: 'soak', config: cfg });
  await c.start();
  const pid = c.pid;
  const rss = [];
  const sampler = setInterval(() => rss.push(rssKiB(pid)), 1000);
  const rssStart = rssKiB(pid);
  const d = new Driver(c.httpUrl, `soak-${crypto.randomBytes(3).toString('hex')}`, spans);
  try {
    // 1. capacity, closed loop
    const cal = newTotals();
    d.newSecond();
    const t0 = Date.now();
    await Promise.all(Array.from({ length: CALIBRATE_WORKERS }, async () => {
      while (Date.now() - t0 < calibrateSec * 1000) await d.send(cal);
    }));
    const capacity = cal.ok / ((Date.now() - t0) / 1000);
    log(`soak: capacity ${capacity.toFixed(1)} requests/s (${(capacity * spans).toFixed(0)} spans/s), ` +
      `${cal.ok} acknowledged, ${JSON.stringify(cal.refused)} refused in calibration`);

    // 2. overload at twice the capacity
    const over = newTotals();
    const perSec = [];
    await openLoop(d, 2 * capacity, durationSec, over, (s, t) => {
      perSec.push(s);
      if (t % 10 === 0) {
        log(`soak: t=${t}s offered=${(2 * capacity).toFixed(0)}/s sent=${s.sent} ok=${s.ok} refused=${s.refused} ` +
          `held_back=${s.heldBack} rss=${(rssKiB(pid) / 1024).toFixed(1)}MiB`);
      }
      return false;
    });
    const overloadEnd = Date.now();

    // 3. recovery at half the capacity
    const rec = newTotals();
    let recoveryMs = null;
    await openLoop(d, capacity / 2, recoverySec, rec, (s) => {
      if (recoveryMs === null && s.refused === 0 && s.errors === 0 && s.sent > 0 && s.ok === s.sent) {
        recoveryMs = Date.now() - overloadEnd;
        return true;
      }
      return false;
    });
    clearInterval(sampler);

    // 4. read back every acknowledged trace
    const acked = d.acked.slice();
    let missing = 0;
    let short = 0;
    let next = 0;
    const tr0 = Date.now();
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < acked.length) {
        const id = acked[next++];
        const r = await getTrace(c.apiUrl, id, { expectStatus: null });
        if (r.status !== 200) missing++;
        else if (flattenSpans(r.json).length !== spans) short++;
      }
    }));
    const readBackSec = (Date.now() - tr0) / 1000;
    const rssEnd = rssKiB(pid);
    const res = await c.stop({ timeoutMs: 60000 });
    const refusedTotal = Object.values(over.refused).reduce((a, b) => a + b, 0);
    return {
      durationSec, spansPerRequest: spans, maxInFlight: MAX_IN_FLIGHT,
      capacityRps: capacity, offeredRps: 2 * capacity,
      overload: { ...over, refusedTotal, okRps: over.ok / durationSec },
      recovery: { ...rec, recoveryMs },
      acknowledged: acked.length, readBack: acked.length - missing - short, missing, short, readBackSec,
      rss: { startKiB: rssStart, maxKiB: Math.max(rssStart, ...rss), endKiB: rssEnd, series: rss },
      exit: res,
    };
  } finally {
    clearInterval(sampler);
    if (!c.exit) await c.kill9();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const durationSec = Number(process.argv[2] || 600);
  const r = await runSoak({ durationSec, log: (l) => console.log(l) });
  const series = r.rss.series.filter((_, i) => i % 10 === 0).map((k) => (k / 1024).toFixed(0)).join(' ');
  console.log(`soak: RSS MiB every 10 s: ${series}`);
  console.log(`RESULT duration_s=${r.durationSec} capacity_rps=${r.capacityRps.toFixed(1)} ` +
    `offered_rps=${r.offeredRps.toFixed(1)} spans_per_request=${r.spansPerRequest} ` +
    `overload_ok_rps=${r.overload.okRps.toFixed(1)} sent=${r.overload.sent} refused_429=${r.overload.refused[429] || 0} ` +
    `refused_503=${r.overload.refused[503] || 0} retry_after_missing=${r.overload.retryAfterMissing} ` +
    `errors=${r.overload.errors} held_back=${r.overload.heldBack} acknowledged=${r.acknowledged} ` +
    `read_back=${r.readBack} lost=${r.missing + r.short} read_back_s=${r.readBackSec.toFixed(1)} ` +
    `rss_start_mib=${(r.rss.startKiB / 1024).toFixed(1)} rss_max_mib=${(r.rss.maxKiB / 1024).toFixed(1)} ` +
    `rss_end_mib=${(r.rss.endKiB / 1024).toFixed(1)} recovery_ms=${r.recovery.recoveryMs} exit=${r.exit.code}`);
  process.exit(r.missing + r.short === 0 && r.overload.retryAfterMissing === 0 ? 0 : 1);
}
