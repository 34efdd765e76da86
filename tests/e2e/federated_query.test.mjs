// Federated query: three sites and a centre as processes. Requests cross
// all three sites (the W3C traceparent header carried between services,
// each service exporting to its own site with the official OpenTelemetry
// JS SDK). One query at the centre comes back as one stitched trace with
// every site's spans, keep-local spans as marked skeletons; each user sees
// what their role allows and nothing more; a site that is down or stalled
// makes the answer partial and named, within the deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

import { freePort, sleep, tempDir, tollgateBin } from './lib/collector.mjs';
import { Central, Site, waitFor } from './lib/central.mjs';
import { getJson } from './lib/http.mjs';
import { decodeFields } from './lib/pb.mjs';
import { REGULATED, siteSdk } from './lib/traffic.mjs';

const propagator = new W3CTraceContextPropagator();

// gateway (iad) -> feature store (fra, names a patient: PHI) -> model (sgp).
// Only the traceparent header crosses each boundary.
function threeSiteRequest(gw, fs_, model, i, { fail = false } = {}) {
  const hop = (ctx) => {
    const carrier = {};
    propagator.inject(ctx, carrier, { set: (c, k, v) => { c[k] = v; } });
    return propagator.extract(ROOT_CONTEXT, carrier, { get: (c, k) => c[k], keys: (c) => Object.keys(c) });
  };
  const root = gw.tracer.startSpan('POST /v1/chat', {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': 'POST', 'user.email': REGULATED.email, 'request.seq': i },
  });
  const toFs = gw.tracer.startSpan('GET feature-store', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, root));
  const fsServer = fs_.tracer.startSpan('GET /patients/:id', {
    kind: SpanKind.SERVER,
    attributes: { 'http.route': '/patients/:id', 'patient.mrn': REGULATED.mrn },
  }, hop(trace.setSpan(ROOT_CONTEXT, toFs)));
  // The model site's clock runs 5 s ahead: its server span seems to start
  // long after the 20 ms call that caused it ended.
  const callStart = Date.now();
  const toModel = fs_.tracer.startSpan('POST model', { kind: SpanKind.CLIENT, startTime: callStart },
    trace.setSpan(ROOT_CONTEXT, fsServer));
  const modelServer = model.tracer.startSpan('POST /v1/infer', {
    kind: SpanKind.SERVER,
    startTime: callStart + 5000 + 4,
    attributes: { 'gen_ai.request.model': 'llama-3-70b', 'request.seq': i },
  }, hop(trace.setSpan(ROOT_CONTEXT, toModel)));
  if (fail) modelServer.setStatus({ code: SpanStatusCode.ERROR, message: 'overloaded' });
  fs_.logger.emit({ severityNumber: 9, severityText: 'INFO', body: 'served features',
    attributes: { 'patient.mrn': REGULATED.mrn } });
  model.logger.emit({ severityNumber: fail ? 17 : 9, severityText: fail ? 'ERROR' : 'INFO',
    body: `inference done in ${20 + i} ms model=llama-3-70b` });
  modelServer.end(callStart + 5000 + 16);
  toModel.end(callStart + 20);
  fsServer.end();
  toFs.end();
  root.end();
  return {
    traceId: root.spanContext().traceId,
    ids: {
      root: root.spanContext().spanId, toFs: toFs.spanContext().spanId,
      fsServer: fsServer.spanContext().spanId, toModel: toModel.spanContext().spanId,
      modelServer: modelServer.spanContext().spanId,
    },
  };
}

function tollgate(args, { timeoutMs = 30000 } = {}) {
  return new Promise((resolve) => {
    const p = spawn(tollgateBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
  });
}

const spansOfTrace = (doc) => (doc.resourceSpans || []).flatMap((rs) => {
  const site = (rs.resource?.attributes || []).find((a) => a.key === 'tollgate.site')?.value?.stringValue;
  const service = (rs.resource?.attributes || []).find((a) => a.key === 'service.name')?.value?.stringValue;
  return (rs.scopeSpans || []).flatMap((ss) => (ss.spans || []).map((sp) => ({ ...sp, site, service })));
});
const attrOf = (sp, key) => {
  const v = (sp.attributes || []).find((a) => a.key === key)?.value;
  return v ? (v.stringValue ?? v.intValue) : undefined;
};

test('one query at the centre: whole cross-site traces, under the asker\'s clearance, honest when sites fail',
  { timeout: 240000 }, async () => {
    const dir = tempDir();
    const names = ['iad', 'fra', 'sgp'];
    const tokens = Object.fromEntries(names.map((n) => [n, crypto.randomBytes(16).toString('hex')]));
    const centralPort = await freePort();
    const centralUrl = `http://127.0.0.1:${centralPort}`;
    // fra and iad let the centre read raw for a compliance officer; sgp
    // caps the centre at the central view.
    const caps = { iad: 'raw', fra: 'raw', sgp: 'central' };
    const sites = {};
    for (const n of names) {
      sites[n] = await new Site({ name: n, dir: path.join(dir, n), token: tokens[n], centralUrl,
        forward: { view: 'rules' }, queryCap: caps[n] }).start();
    }
    const writeSitesFile = (extra = []) => {
      const lines = ['sites:'];
      for (const n of names) {
        fs.writeFileSync(path.join(dir, `${n}.token`), `${tokens[n]}\n`, { mode: 0o600 });
        lines.push(`  - {name: ${n}, token_file: ${n}.token, api: "${sites[n].apiUrl}"}`);
      }
      for (const e of extra) {
        fs.writeFileSync(path.join(dir, `${e.name}.token`), `${e.token}\n`, { mode: 0o600 });
        lines.push(`  - {name: ${e.name}, token_file: ${e.name}.token, api: "${e.api}"}`);
      }
      fs.writeFileSync(path.join(dir, 'sites.yaml'), `${lines.join('\n')}\n`);
      return path.join(dir, 'sites.yaml');
    };
    const users = { alice: 'sre', carol: 'compliance', frank: 'finance', mallory: 'auditor' };
    const userTokens = {};
    const ulines = ['roles:', '  auditor: {view: raw}', 'users:'];
    for (const [u, role] of Object.entries(users)) {
      userTokens[u] = `${u}-${crypto.randomBytes(12).toString('hex')}`;
      fs.writeFileSync(path.join(dir, `${u}.token`), `${userTokens[u]}\n`, { mode: 0o600 });
      ulines.push(`  - {name: ${u}, token_file: ${u}.token, role: ${role}}`);
    }
    fs.writeFileSync(path.join(dir, 'users.yaml'), `${ulines.join('\n')}\n`);
    fs.writeFileSync(path.join(dir, 'central.yaml'), 'query:\n  site_timeout: 1500ms\n  deadline: 4s\n');
    const central = await new Central({ dataDir: path.join(dir, 'central'), port: centralPort,
      sitesFile: writeSitesFile(), usersFile: path.join(dir, 'users.yaml'),
      config: path.join(dir, 'central.yaml') }).start();

    const gw = siteSdk({ service: 'gateway', url: sites.iad.grpcUrl, transport: 'grpc', site: 'iad' });
    const fsSdk = siteSdk({ service: 'feature-store', url: sites.fra.httpUrl, site: 'fra' });
    const model = siteSdk({ service: 'model', url: sites.sgp.httpUrl, site: 'sgp' });
    const reqs = [];
    for (let i = 0; i < 3; i++) reqs.push(threeSiteRequest(gw, fsSdk, model, i, { fail: i === 1 }));
    for (const s of [gw, fsSdk, model]) await s.flush();
    for (const s of [gw, fsSdk, model]) await s.shutdown();
    const { traceId, ids } = reqs[0];

    // Each site holds its fragment (read as the harness, raw).
    await waitFor(async () => {
      for (const n of names) {
        const r = await getJson(`${sites[n].apiUrl}/api/v1/traces/${traceId}`, { expectStatus: null });
        if (r.status !== 200) return false;
      }
      return true;
    }, { what: 'every site holds its fragment' });

    // The centre has measured every site's clock (the forwarding handshakes).
    await waitFor(() => {
      const e = central.estate();
      return e.sites.length === 3 && e.sites.every((x) => x.clock_valid);
    }, { what: 'clock offsets measured for every site' });

    const q = (user, args) => tollgate(['query', '--endpoint', centralUrl, '--token', userTokens[user], ...args]);

    // --- the SRE: the whole trace, every site's spans, hashed values.
    let r = await q('alice', ['trace', traceId, '--json']);
    assert.equal(r.code, 0, r.stderr);
    let doc = JSON.parse(r.stdout);
    assert.equal(doc.is_partial, false, JSON.stringify(doc._sites));
    assert.equal(doc._sites.successful, 3);
    assert.equal(doc.role, 'sre');
    let spans = spansOfTrace(doc.trace);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    assert.equal(spans.length, 5, `five spans, got ${spans.map((s) => s.name)}`);
    assert.deepEqual([...new Set(spans.map((s) => s.site))].sort(), ['fra', 'iad', 'sgp']);
    assert.equal(byId.get(ids.root).site, 'iad');
    assert.equal(byId.get(ids.modelServer).site, 'sgp');
    assert.equal(byId.get(ids.modelServer).parentSpanId, ids.toModel);
    assert.equal(byId.get(ids.toModel).parentSpanId, ids.fsServer);
    // The model site's 5 s skew is corrected: its span is centred in its
    // 20 ms parent, and says by how much it moved and what the centre
    // measured of that site's clock.
    const ms = byId.get(ids.modelServer), call = byId.get(ids.toModel);
    assert.ok(Math.abs(Number(attrOf(ms, 'tollgate.skew.adjusted_ns')) + 5000e6) < 50e6,
      `shifted by about -5 s: ${attrOf(ms, 'tollgate.skew.adjusted_ns')}`);
    assert.notEqual(attrOf(ms, 'tollgate.skew.site_offset_ns'), undefined, 'the site offset is marked');
    assert.ok(BigInt(ms.startTimeUnixNano) >= BigInt(call.startTimeUnixNano));
    assert.ok(BigInt(ms.endTimeUnixNano) <= BigInt(call.endTimeUnixNano));
    // The e-mail leaves iad hashed for the SRE.
    assert.match(attrOf(byId.get(ids.root), 'user.email'), /^hmac-sha256:k1:[0-9a-f]{64}$/);
    // The PHI span is a skeleton: ids, times and the classes, never a value.
    const sk = byId.get(ids.fsServer);
    assert.ok(!sk.name, 'no name: it may carry values');
    assert.equal(sk.parentSpanId, ids.toFs);
    assert.match(attrOf(sk, 'tollgate.withheld'), /phi\./);
    assert.equal(r.stdout.indexOf(REGULATED.mrn), -1);
    assert.equal(r.stdout.indexOf(REGULATED.email), -1);

    // The waterfall in the terminal names every span's site.
    r = await q('alice', ['trace', traceId]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /3 sites/);
    for (const n of names) assert.match(r.stdout, new RegExp(`@ ${n}\\]`));
    assert.match(r.stdout, /\[skew adjusted -(4|5)\d\d\d\.\d{3} ms, site clock offset [+-]\d+\.\d{3} ms\]/);
    assert.match(r.stdout, /withheld at its site: phi\./);

    // The Tempo API Grafana reads: the same stitched trace.
    const tempo = await fetch(`${centralUrl}/api/v2/traces/${traceId}`,
      { headers: { Authorization: `Bearer ${userTokens.alice}` } });
    assert.equal(tempo.status, 200);
    const tj = await tempo.json();
    assert.equal(tj.status, 'COMPLETE');
    assert.equal(spansOfTrace(tj.trace).length, 5);
    assert.equal((await (await fetch(`${centralUrl}/api/echo`)).text()), 'echo');
    // Grafana reads protobuf: TraceByIDResponse {trace = 1 (TracesData)}, complete.
    const tempoPb = async () => {
      const res = await fetch(`${centralUrl}/api/v2/traces/${traceId}`, {
        headers: { Authorization: `Bearer ${userTokens.alice}`, Accept: 'application/protobuf' } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /protobuf/);
      return decodeFields(Buffer.from(await res.arrayBuffer()));
    };
    let pbDoc = await tempoPb();
    assert.equal(pbDoc[3], undefined, 'COMPLETE is the default status');
    assert.equal(decodeFields(pbDoc[1][0])[1].length, 3, 'one ResourceSpans per site');

    // The TraceQL editor's autocomplete: tags and values from every site.
    const tempoJson = async (p) => {
      const res = await fetch(`${centralUrl}${p}`, { headers: { Authorization: `Bearer ${userTokens.alice}` } });
      assert.equal(res.status, 200, p);
      return res.json();
    };
    const tags = await tempoJson('/api/v2/search/tags');
    const scope = (n) => tags.scopes.find((x) => x.name === n).tags;
    assert.ok(scope('resource').includes('service.name'), JSON.stringify(tags));
    assert.ok(scope('span').includes('gen_ai.request.model'), JSON.stringify(tags));
    assert.ok(scope('intrinsic').includes('site'));
    const svcVals = await tempoJson(`/api/v2/search/tag/${encodeURIComponent(encodeURIComponent('resource.service.name'))}/values`);
    assert.deepEqual(svcVals.tagValues.map((v) => v.value).sort(), ['feature-store', 'gateway', 'model']);
    assert.equal((await tempoJson('/api/search/tag/status/values')).tagValues.includes('error'), true);
    assert.deepEqual((await tempoJson('/api/v2/search/tag/site/values')).tagValues.map((v) => v.value).sort(), names.slice().sort());

    // --- TraceQL across sites: a filter one span decides, and a structure
    // that spans sites (evaluated at the centre on stitched traces).
    r = await q('alice', ['traces', '{ resource.service.name = "model" && status = error }', '--json']);
    assert.equal(r.code, 0, r.stderr);
    doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.traces.map((t) => t.traceID), [reqs[1].traceId]);
    r = await q('alice', ['traces', '{ resource.service.name = "gateway" } >> { resource.service.name = "model" }', '--json']);
    assert.equal(r.code, 0, r.stderr);
    doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.traces.map((t) => t.traceID).sort(), reqs.map((x) => x.traceId).sort());
    r = await q('alice', ['traces', '{ resource.service.name = "gateway" }']);
    assert.equal(r.code, 0, r.stderr);
    for (const x of reqs) assert.match(r.stdout, new RegExp(x.traceId));
    // A window long before anything any site holds: every site is skipped
    // from its reported data range, named as such, and nothing is partial.
    const old = await fetch(`${centralUrl}/api/v1/query/traces?q=${encodeURIComponent('{ }')}` +
      '&start=1000000000000000000&end=1000000600000000000', { headers: { Authorization: `Bearer ${userTokens.alice}` } });
    assert.equal(old.status, 200);
    const oj = await old.json();
    assert.equal(oj._sites.skipped, 3, JSON.stringify(oj._sites));
    assert.equal(oj._sites.details.fra.reason, 'holds no data in the query\'s time range');
    assert.equal(oj.is_partial, false);
    assert.deepEqual(oj.traces, []);
    r = await q('alice', ['traces', '{ }', '--from', '2001-09-09T01:46:40Z', '--to', '1000000600', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout)._sites.skipped, 3);
    r = await q('alice', ['traces', '{ }', '--from', '1000000000']);
    assert.equal(r.code, 2, 'a window needs both ends');
    // A bad query: exit 2, the column named.
    r = await q('alice', ['traces', '{ status = }']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /column \d+/);

    // --- LogQL across sites, and the Loki API Grafana reads.
    await waitFor(async () => {
      const lr = await q('alice', ['logs', '{service_name="model"} |= "inference"', '--json']);
      return lr.code === 0 && JSON.parse(lr.stdout).data.result.length > 0
        && JSON.parse(lr.stdout).data.result[0].values.length === 3;
    }, { what: 'the model site\'s log lines' });
    r = await q('alice', ['logs', '{service_name="model"} |= "inference"']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 3);
    assert.match(r.stdout, / sgp model inference done in 2[0-2] ms/);
    // The feature store's lines name a patient: for the SRE they are withheld.
    r = await q('alice', ['logs', '{service_name="feature-store"}', '--json']);
    assert.equal(r.code, 0, r.stderr);
    doc = JSON.parse(r.stdout);
    assert.equal(doc.data.result[0].values.length, 3);
    for (const [, line] of doc.data.result[0].values) assert.match(line, /^<withheld: phi\./);
    assert.equal(r.stdout.indexOf(REGULATED.mrn), -1);
    const loki = async (p) => {
      const res = await fetch(`${centralUrl}${p}`, { headers: { Authorization: `Bearer ${userTokens.alice}` } });
      assert.equal(res.status, 200, p);
      return res.json();
    };
    // Grafana's Loki health check.
    let lj = await loki(`/loki/api/v1/query?query=${encodeURIComponent('vector(1)+vector(1)')}`);
    assert.equal(lj.data.resultType, 'vector');
    assert.equal(lj.data.result[0].value[1], '2');
    // A metric query: lines per site, counted at the centre from the
    // sites' record times (no line crosses for a metric).
    // Steps end 5 s from now: the last one covers lines of this second.
    const nowS = Math.floor(Date.now() / 1000);
    lj = await loki(`/loki/api/v1/query_range?query=${encodeURIComponent(
      'sum by (site) (count_over_time({service_name=~"model|feature-store"}[10m]))')}` +
      `&start=${nowS - 295}&end=${nowS + 5}&step=60`);
    assert.equal(lj.data.resultType, 'matrix');
    const last = Object.fromEntries(lj.data.result.map((x) => [x.metric.site, Number(x.values.at(-1)[1])]));
    assert.deepEqual(last, { fra: 3, sgp: 3 }, JSON.stringify(lj).slice(0, 1500));
    lj = await loki('/loki/api/v1/labels');
    assert.ok(lj.data.includes('service_name') && lj.data.includes('site'), JSON.stringify(lj.data));
    lj = await loki('/loki/api/v1/label/site/values');
    assert.deepEqual(lj.data.sort(), ['fra', 'sgp']);

    // --- the compliance officer: raw where the site allows it, refused
    // (403 from the site, never the value) where it does not.
    r = await q('carol', ['trace', traceId, '--json']);
    assert.equal(r.code, 0, r.stderr);
    doc = JSON.parse(r.stdout);
    spans = spansOfTrace(doc.trace);
    assert.equal(attrOf(spans.find((s) => s.spanId === ids.root), 'user.email'), REGULATED.email);
    assert.equal(attrOf(spans.find((s) => s.spanId === ids.fsServer), 'patient.mrn'), REGULATED.mrn);
    assert.equal(doc.is_partial, true);
    assert.equal(doc._sites.details.sgp.status, 'failed');
    assert.equal(doc._sites.details.sgp.reason, 'refused');
    assert.equal(doc._sites.details.sgp.http_status, 403);
    assert.ok(!spans.some((s) => s.site === 'sgp'), 'nothing from the site that refused');
    assert.match(r.stderr, /warning: .*site sgp: failed \(refused\)/);

    // --- no telemetry for finance; no token, no answer.
    r = await q('frank', ['trace', traceId]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HTTP 403/);
    const anon = await fetch(`${centralUrl}/api/v1/query/trace/${traceId}`);
    assert.equal(anon.status, 401);

    // --- one site stopped, one stalled (accepts, never answers): the
    // answer comes within the deadline, partial, naming both.
    const stall = net.createServer(() => { /* hold the socket, say nothing */ });
    await new Promise((res) => stall.listen(0, '127.0.0.1', res));
    writeSitesFile([{ name: 'stall', token: 'stall-token-0123456789', api: `http://127.0.0.1:${stall.address().port}` }]);
    central.proc.kill('SIGHUP');
    await sleep(500);
    await sites.sgp.stop();
    const t0 = Date.now();
    r = await q('alice', ['trace', traceId, '--json']);
    const took = Date.now() - t0;
    assert.equal(r.code, 0, r.stderr);
    doc = JSON.parse(r.stdout);
    assert.ok(took < 15000, `answered in ${took} ms`);
    assert.equal(doc.is_partial, true);
    assert.equal(doc._sites.details.sgp.status, 'failed');
    assert.equal(doc._sites.details.sgp.reason, 'unreachable');
    assert.equal(doc._sites.details.stall.status, 'timed_out');
    spans = spansOfTrace(doc.trace);
    assert.deepEqual([...new Set(spans.map((s) => s.site))].sort(), ['fra', 'iad']);
    assert.match(r.stderr, /site sgp/);
    assert.match(r.stderr, /site stall/);
    // Tempo v2 in protobuf says PARTIAL and names the missing sites.
    pbDoc = await tempoPb();
    assert.equal(pbDoc[3][0], 1n);
    assert.match(pbDoc[4][0].toString(), /site sgp.*site stall|site stall.*site sgp/);
    // Completeness demanded: an error naming them, exit 1.
    r = await q('alice', ['trace', traceId, '--require-complete']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /incomplete/);
    assert.match(r.stderr, /site sgp/);
    assert.match(r.stderr, /site stall/);
    stall.close();

    await sites.fra.stop();
    await sites.iad.stop();
    const res = await central.stop();
    assert.equal(res.code, 0);
  });
