// No values in our own logs (issue 15 part 9): a corpus of regulated
// values (e-mail addresses, card numbers, IBANs, phone numbers, national
// ids, tokens) goes through a site and a centre, both logging at debug:
// in telemetry over OTLP/HTTP and gRPC, in requests the site refuses, in
// federated queries and their parameters, in a bearer token. Not one of
// them, raw or URL-encoded, appears in any line either daemon logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { freePort, sleep, tempDir } from './lib/collector.mjs';
import { Central, Site, waitFor, writeSites } from './lib/central.mjs';
import { httpPost, rawRequest } from './lib/http.mjs';
import { traceRequest } from './lib/pb.mjs';
import { REGULATED, siteSdk } from './lib/traffic.mjs';

const CORPUS = {
  email: REGULATED.email,
  email2: REGULATED.email2,
  card: REGULATED.card,
  card2: REGULATED.card2,
  cardSpaced: '4111 1111 1111 1111',
  iban: REGULATED.iban,
  ibanSpaced: 'GB82 WEST 1234 5698 7654 32',
  phone: REGULATED.phone,
  phoneUs: '+1-202-555-0143',
  ssn: REGULATED.ssn,
  mrn: REGULATED.mrn,
  jwt: REGULATED.jwt,
};

function leaks(log) {
  const found = [];
  for (const [name, v] of Object.entries(CORPUS)) {
    for (const form of new Set([v, encodeURIComponent(v), v.replace(/ /g, '+')])) {
      const i = log.indexOf(form);
      if (i >= 0) {
        const start = log.lastIndexOf('\n', i) + 1;
        found.push(`${name}: ${log.slice(start, log.indexOf('\n', i) >>> 0 || undefined).slice(0, 300)}`);
      }
    }
  }
  return found;
}

test('a corpus of regulated values through a site and a centre: none in any log line', { timeout: 120000 }, async () => {
  const dir = tempDir();
  const token = crypto.randomBytes(12).toString('hex');
  const siteCfg = path.join(dir, 'fra-collector.yaml');
  fs.writeFileSync(siteCfg, 'log:\n  level: debug\n');
  const centralPort = await freePort();
  const site = new Site({ name: 'fra', dir: path.join(dir, 'fra'), token, centralUrl: `http://127.0.0.1:${centralPort}`,
    queryCap: 'raw', config: siteCfg });
  const aliceToken = `alice-${crypto.randomBytes(12).toString('hex')}`;
  fs.writeFileSync(path.join(dir, 'alice.token'), `${aliceToken}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'users.yaml'), 'roles:\n  auditor: {view: raw}\nusers:\n  - {name: alice, token_file: alice.token, role: auditor}\n');
  fs.writeFileSync(path.join(dir, 'central.yaml'), 'log:\n  level: debug\n');
  let central = null;
  try {
    await site.start();
    const sitesFile = writeSites(dir, [{ name: 'fra', token, api: site.apiUrl }]);
    central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile, port: centralPort,
      usersFile: path.join(dir, 'users.yaml'), config: path.join(dir, 'central.yaml') }).start();

    // Telemetry carrying every value, over HTTP and gRPC.
    const attrs = Object.fromEntries(Object.entries(CORPUS).map(([k, v]) => [`user.${k}`, v]));
    for (const [transport, url] of [['http/protobuf', site.httpUrl], ['grpc', site.grpcUrl]]) {
      const sdk = siteSdk({ service: `svc-${transport === 'grpc' ? 'g' : 'h'}`, url, transport, site: 'fra',
        extraResource: { 'user.email': CORPUS.email2 } });
      for (const [k, v] of Object.entries(CORPUS)) {
        const span = sdk.tracer.startSpan(`GET /users/${v}`, { attributes: attrs });
        span.addEvent(`looked up ${v}`, { value: v });
        span.setStatus({ code: 2, message: `no account for ${v}` });
        span.end();
        sdk.logger.emit({ severityNumber: 17, severityText: 'ERROR', body: `payment by ${v} (${k}) failed`, attributes: attrs });
      }
      const counter = sdk.meter.createCounter('payments');
      counter.add(1, { 'user.card': CORPUS.card });
      await sdk.flush();
      await sdk.shutdown();
    }

    // Requests the site refuses, each with values next to the fault.
    const post = (p, body, ct) => rawRequest(site.collector.ports.http, httpPost(p, body, { 'Content-Type': ct }));
    const bad = [
      ['/v1/traces', `{"resourceSpans":[{"resource":{"attributes":[{"key":"e","value":{"stringValue":"${CORPUS.email}"}} oops ${CORPUS.card}`],
      ['/v1/logs', `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"${CORPUS.iban}\\u0000${CORPUS.phone}"}}]}]}]}`],
      ['/v1/traces', `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${CORPUS.card}","spanId":"x","name":"${CORPUS.email}"}]}]}]}`],
    ];
    for (const [p, body] of bad) {
      const r = await post(p, Buffer.from(body), 'application/json');
      assert.equal(r.status, 400, r.body.toString());
    }
    const nul = traceRequest({ traceId: crypto.randomBytes(16).toString('hex'), spanId: crypto.randomBytes(8).toString('hex'),
      name: Buffer.from(`${CORPUS.email}\0${CORPUS.card}`, 'latin1') });
    assert.equal((await post('/v1/traces', nul, 'application/x-protobuf')).status, 400);
    const utf8 = traceRequest({ traceId: crypto.randomBytes(16).toString('hex'), spanId: crypto.randomBytes(8).toString('hex'),
      name: Buffer.concat([Buffer.from(CORPUS.email), Buffer.from([0xff]), Buffer.from(CORPUS.phone)]) });
    assert.equal((await post('/v1/traces', utf8, 'application/x-protobuf')).status, 400);

    // Wait until the centre holds the site's summaries.
    await waitFor(() => central.export().records.some((r) => r.type === 'span' && r.site === 'fra'),
      { timeoutMs: 30000, what: 'summaries at the centre' });

    // Queries that name values: at the site, at the centre (fanned out),
    // with values in the query text, in parameters, in a trace id, in a token.
    const q = encodeURIComponent(`{ span.user.email = "${CORPUS.email}" && span.user.card = "${CORPUS.card}" }`);
    const lq = encodeURIComponent(`{service_name="svc-h"} |= "${CORPUS.iban}" |~ "${CORPUS.phone}"`);
    const gets = [
      [`${site.apiUrl}/api/v1/query/traces?q=${q}`, site.collector.queryToken],
      [`${site.apiUrl}/api/v1/query/logs?q=${lq}`, site.collector.queryToken],
      [`${site.apiUrl}/api/v1/logs?service=${encodeURIComponent(CORPUS.email)}`, site.collector.queryToken],
      [`${site.apiUrl}/api/v1/traces/${encodeURIComponent(CORPUS.card)}`, site.collector.queryToken],
      [`${site.apiUrl}/api/v1/logs`, CORPUS.jwt],
      [`${central.url}/api/v1/query/traces?q=${q}`, aliceToken],
      [`${central.url}/api/v1/query/logs?q=${lq}`, aliceToken],
      [`${central.url}/loki/api/v1/query_range?query=${lq}`, aliceToken],
      [`${central.url}/api/search?q=${q}&tags=${encodeURIComponent(`user.email=${CORPUS.email}`)}`, aliceToken],
      [`${central.url}/api/v1/query/trace/${encodeURIComponent(CORPUS.iban)}`, aliceToken],
      [`${central.url}/api/v1/query/traces?q=${q}`, CORPUS.card],
      [`${central.url}/api/v1/estate`, CORPUS.email],
    ];
    for (const [url, t] of gets) {
      const r = await fetch(url, { headers: { Authorization: `Bearer ${t}` }, signal: AbortSignal.timeout(15000) });
      await r.arrayBuffer();
    }
    // An upload with a value for a token and a site name.
    await fetch(`${central.url}/v1/upload`, { method: 'POST',
      headers: { authorization: `Bearer ${CORPUS.ssn}`, 'x-tollgate-site': 'fra', 'x-tollgate-protocol': '2' },
      body: Buffer.from(CORPUS.mrn) }).then((r) => r.arrayBuffer());
    await sleep(1500);
  } finally {
    await site.stop();
    if (central) await central.stop();
  }
  const siteLog = site.collector.stderr();
  const centralLog = central.log;
  // Debug logging was on and busy: the test looks at real log traffic.
  assert.match(siteLog, /level=debug/);
  assert.match(centralLog, /level=debug/);
  assert.deepEqual(leaks(siteLog), [], 'the site logged regulated values');
  assert.deepEqual(leaks(centralLog), [], 'the centre logged regulated values');
});
