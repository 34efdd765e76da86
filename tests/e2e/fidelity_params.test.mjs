// Data fidelity and parameter validation (issue 15 part 4). A NUL inside
// an OTLP string is refused the same way over protobuf, JSON and gRPC,
// naming the field, never cut and stored in part, and no error exposes a
// library's internals; query parameters on the site API and the centre's
// API are checked (length, range, format) with a 400 naming the parameter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { sleep, tempDir } from './lib/collector.mjs';
import { Central, Site, writeSites } from './lib/central.mjs';
import { grpcClient, GRPC, METHODS, unary } from './lib/grpc.mjs';
import { getJson, getTrace, httpPost, rawRequest } from './lib/http.mjs';
import { decodeStatus, traceRequest } from './lib/pb.mjs';

const NUL_RE = /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.name: a string holds a NUL character \(U\+0000\), which is not accepted$/;

test('NUL in a string: refused alike over protobuf, JSON and gRPC; parameters checked', { timeout: 90000 }, async () => {
  const dir = tempDir();
  const token = crypto.randomBytes(12).toString('hex');
  const sitesFile = writeSites(dir, [{ name: 'fra', token }]);
  const aliceToken = `alice-${crypto.randomBytes(12).toString('hex')}`;
  fs.writeFileSync(path.join(dir, 'alice.token'), `${aliceToken}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'users.yaml'), 'users:\n  - {name: alice, token_file: alice.token, role: sre}\n');
  const central = await new Central({ dataDir: path.join(dir, 'central'), sitesFile,
    usersFile: path.join(dir, 'users.yaml') }).start();
  const site = await new Site({ name: 'fra', dir: path.join(dir, 'fra'), token, centralUrl: central.url }).start();
  const c = site.collector;

  // Protobuf over HTTP: `na\0me` used to be stored as `na`.
  const traceId = crypto.randomBytes(16).toString('hex');
  const spanId = crypto.randomBytes(8).toString('hex');
  const pbBody = traceRequest({ traceId, spanId, name: Buffer.from('na\0me-alice@example.com', 'latin1') });
  const r1 = await rawRequest(c.ports.http, httpPost('/v1/traces', pbBody, { 'Content-Type': 'application/x-protobuf' }));
  assert.equal(r1.status, 400, r1.body.toString());
  assert.match(decodeStatus(r1.body).message, NUL_RE);
  await getTrace(c.apiUrl, traceId, { expectStatus: 404 });

  // The same span as OTLP/JSON: same status, same words, the same field;
  // before, jansson's message named its JSON_ALLOW_NUL flag.
  const json = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId, spanId, name: 'na\u0000me' }] }] }] });
  const r2 = await rawRequest(c.ports.http, httpPost('/v1/traces', Buffer.from(json), { 'Content-Type': 'application/json' }));
  assert.equal(r2.status, 400, r2.body.toString());
  const msg2 = JSON.parse(r2.body.toString()).message;
  assert.match(msg2, /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.name: a string holds a NUL character \(U\+0000\), which is not accepted$/);
  assert.doesNotMatch(msg2, /JSON_|jansson/);
  await getTrace(c.apiUrl, traceId, { expectStatus: 404 });

  // gRPC: INVALID_ARGUMENT with the same details.
  const client = grpcClient(c.grpcAddr);
  try {
    const r3 = await unary(client, METHODS.traces, pbBody);
    assert.equal(r3.code, GRPC.INVALID_ARGUMENT, `${r3.code} ${r3.details}`);
    assert.match(r3.details, NUL_RE);
  } finally {
    client.close();
  }
  await getTrace(c.apiUrl, traceId, { expectStatus: 404 });

  // Site API: each case of the issue is a 400 naming its parameter.
  const api = c.apiUrl;
  const bad = async (url, name, token_) => {
    const r = await getJson(url, { expectStatus: null, token: token_ });
    assert.equal(r.status, 400, `${url} -> ${r.status} ${r.text.slice(0, 300)}`);
    assert.match(r.text, new RegExp(`bad ${name}\\b`), `${url}: ${r.text}`);
  };
  await bad(`${api}/api/v1/logs?service=${'s'.repeat(256)}`, 'service');
  await bad(`${api}/api/v1/logs?limit=99999999999999999999999`, 'limit');
  await bad(`${api}/api/v1/logs?start=-5`, 'start');
  await bad(`${api}/api/v1/logs?end=12abc`, 'end');
  await bad(`${api}/api/v1/metrics?limit=0`, 'limit');
  await bad(`${api}/api/v1/query/traces?limit=-1`, 'limit');
  await bad(`${api}/api/v1/query/traces?start=-5`, 'start');
  await bad(`${api}/api/v1/query/logs?q=${encodeURIComponent('{service_name="x"}')}&limit=99999999999999999999999`, 'limit');
  // A 255-byte service is still a service filter (and matches nothing).
  const ok = await getJson(`${api}/api/v1/logs?service=${'s'.repeat(255)}`);
  assert.equal(ok.status, 200);

  // Centre: the same rules on its query API.
  await bad(`${central.url}/api/v1/query/traces?q=%7B%7D&limit=99999999999999999999999`, 'limit', aliceToken);
  await bad(`${central.url}/api/v1/query/traces?q=%7B%7D&start=-5`, 'start', aliceToken);
  await bad(`${central.url}/api/v1/query/logs?q=${encodeURIComponent('{service_name="a"}')}&start=-5`, 'start', aliceToken);
  await bad(`${central.url}/api/v1/query/logs?q=${encodeURIComponent('{service_name="a"}')}&limit=99999999999999999999999`, 'limit', aliceToken);
  await bad(`${central.url}/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="a"}')}&end=abc`, 'end', aliceToken);
  await bad(`${central.url}/api/search?start=-5`, 'start', aliceToken);

  await sleep(100);
  await site.stop();
  await central.stop();
});
