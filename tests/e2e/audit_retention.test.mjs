// The store's deletions in the site's transparency log, end to end: a site
// whose policy keeps pii.email for 3 s, and a centre that witnesses its log.
// Spans carrying an e-mail address are sent through the official
// OpenTelemetry SDK; once their class retention ends the store deletes
// them, and the deletion becomes a "retention" leaf of the log. The audit
// report, from the centre and from the site's data directory, counts the
// deletions from that leaf and names the signed checkpoint that covers it
// (not the store's own counters, which no checkpoint covers); the log
// still verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { SpanKind } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

import { freePort, tempDir, tollgateBin } from './lib/collector.mjs';
import { Central, Site, waitFor, writeSites } from './lib/central.mjs';
import { metricValue, parsePrometheus } from './lib/http.mjs';
import { makeExporters, TeeExporter } from './lib/otlp.mjs';

const RULES = path.resolve(import.meta.dirname, '../../rules');
const EMAILS = 3;

function tollgate(args) {
  const r = spawnSync(tollgateBin(), args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// One trace of one span, exported and acknowledged before return: one
// request, so one record of the store.
async function sendTrace(c, name, attributes) {
  const exp = makeExporters(c, 'http/protobuf', 'none');
  const tee = new TeeExporter(exp.traces);
  const tp = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'audit-retention' }),
    spanProcessors: [new BatchSpanProcessor(tee)],
  });
  tp.getTracer('e2e.audit-retention').startSpan(name, { kind: SpanKind.SERVER, attributes }).end();
  await tp.shutdown();
  tee.assertAllSucceeded('traces');
}

test('retention deletions are log leaves the report counts under a checkpoint', { timeout: 120000 }, async () => {
  const dir = tempDir();
  const token = crypto.randomBytes(16).toString('hex');
  const rules = path.join(dir, 'site-rules.yaml');
  fs.writeFileSync(rules, `version: 1\ninclude: [${JSON.stringify(path.join(RULES, 'default.yaml'))}]\n`
    + 'classes:\n  pii.email: {retention: 3s}\n');
  const carol = `carol-${crypto.randomBytes(12).toString('hex')}`;
  fs.writeFileSync(path.join(dir, 'carol.token'), `${carol}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'users.yaml'), 'users:\n  - {name: carol, token_file: carol.token, role: compliance}\n');

  const centralPort = await freePort();
  const site = await new Site({ name: 'fra', dir: path.join(dir, 'fra'), token,
    centralUrl: `http://127.0.0.1:${centralPort}`, queryCap: 'raw', rules }).start();
  const sitesFile = writeSites(dir, [{ name: 'fra', token, api: site.apiUrl }]);
  const central = await new Central({ dataDir: path.join(dir, 'central'), port: centralPort, sitesFile,
    usersFile: path.join(dir, 'users.yaml') }).start();
  try {
    for (let i = 0; i < EMAILS; i++)
      await sendTrace(site.collector, 'GET /account', { 'user.email': `probe${i}@example.org` });
    await sendTrace(site.collector, 'GET /health', { 'http.route': '/health' });

    // The store deletes them once their retention ends (the pass runs
    // every 10 s), and the pass after the deletion logs it.
    await waitFor(async () => {
      const m = parsePrometheus(await (await fetch(`${site.apiUrl}/metrics`)).text());
      return metricValue(m, 'tollgate_store_expired_records_total') === EMAILS;
    }, { timeoutMs: 40000, what: 'the e-mail records deleted' });
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const entries = await waitFor(async () => {
      const l = await (await fetch(`${site.apiUrl}/api/v1/ledger`, auth)).json();
      const r = l.entries.filter((e) => e.event === 'retention');
      return r.reduce((n, e) => n + Number(e.records), 0) === EMAILS && r;
    }, { timeoutMs: 30000, what: 'a retention leaf for the deletions' });
    // counts and class names only, never a value
    assert.doesNotMatch(JSON.stringify(entries), /example\.org/);

    // From the centre: figures from the leaves it read and verified.
    const day = 86400000;
    const from = new Date(Date.now() - day).toISOString().slice(0, 10);
    const to = new Date(Date.now() + day).toISOString().slice(0, 10);
    const viaCentre = tollgate(['audit', 'report', '--from', from, '--to', to, '--endpoint', central.url,
      '--token', carol, '--format', 'json']);
    assert.equal(viaCentre.code, 0, viaCentre.err);
    const checkRetention = (doc) => {
      const email = doc.retention.find((r) => r.data_class === 'pii.email' && r.action === 'expire');
      assert.ok(email, JSON.stringify(doc.retention));
      assert.equal(email.records_deleted, EMAILS);
      const all = doc.retention.find((r) => r.data_class === '(all classes)');
      assert.equal(all.records_deleted, EMAILS);
      for (const r of [email, all]) {
        assert.equal(r.checkpoint_origin, 'tollgate.site/fra');
        assert.ok(r.checkpoint_size > r.last_leaf, `leaf ${r.last_leaf} under checkpoint ${r.checkpoint_size}`);
        assert.match(r.source, new RegExp(`covered by its signed checkpoint of size ${r.checkpoint_size}$`));
      }
      assert.equal(doc.sites[0].verified, true);
      return email;
    };
    checkRetention(JSON.parse(viaCentre.out));
  } finally {
    await site.stop();
    await central.stop();
  }

  // From the data directory: the same, after the log verifies offline.
  const data = site.collector.dataDir;
  const ok = tollgate(['audit', 'verify', '--data', data]);
  assert.equal(ok.code, 0, ok.out + ok.err);
  const offline = tollgate(['audit', 'report', '--from', '1970-01-01', '--to', '2100-01-01',
    '--data', data, '--rules', rules, '--format', 'json']);
  assert.equal(offline.code, 0, offline.err);
  const doc = JSON.parse(offline.out);
  const email = doc.retention.find((r) => r.data_class === 'pii.email' && r.action === 'expire');
  assert.equal(email?.records_deleted, EMAILS, JSON.stringify(doc.retention));
  assert.ok(doc.retention.every((r) => r.checkpoint_size === doc.sites[0].checkpoint_size));
});
