// The centre's web UI in a real browser (Debian's chromium driven by
// playwright-core): a centre with a users file and one site holding a trace
// sent with the OpenTelemetry SDK, plus a registered site that never runs.
// The SRE signs in, sees the estate with the site and its sparklines and the
// other site shown as not answering, opens the site and then the trace's waterfall, and signs out;
// the finance user gets no trace view. No page logs a console error or has
// a failed request. Screenshots go to $TG_ARTIFACTS/ui/ (default
// $TG_BUILD_DIR/e2e-artifacts/ui/).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { SpanKind } from '@opentelemetry/api';
import { chromium } from 'playwright-core';

import { freePort, tempDir } from './lib/collector.mjs';
import { Central, Site, waitFor } from './lib/central.mjs';
import { getJson } from './lib/http.mjs';
import { REGULATED, siteSdk } from './lib/traffic.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.join(process.env.TG_ARTIFACTS || path.join(process.env.TG_BUILD_DIR || tempDir(), 'e2e-artifacts'), 'ui');

test('web UI: sign in, the estate, a stitched trace, sign out; finance sees no traces',
  { timeout: 180000 }, async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium (scripts/install-deps.sh)`);
    fs.mkdirSync(SHOTS, { recursive: true });
    const dir = tempDir();
    const centralPort = await freePort();
    const centralUrl = `http://127.0.0.1:${centralPort}`;
    const siteToken = crypto.randomBytes(16).toString('hex');
    const site = await new Site({ name: 'fra', dir: path.join(dir, 'fra'), token: siteToken, centralUrl,
      forward: { view: 'rules' }, queryCap: 'raw' }).start();
    after(() => site.stop());
    fs.writeFileSync(path.join(dir, 'fra.token'), `${siteToken}\n`, { mode: 0o600 });
    // sgp is registered but never runs: the estate must show it as not answering.
    fs.writeFileSync(path.join(dir, 'sgp.token'), `${crypto.randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'sites.yaml'),
      `sites:\n  - {name: fra, token_file: fra.token, api: "${site.apiUrl}"}\n  - {name: sgp, token_file: sgp.token}\n`);
    const tokens = { alice: `alice-${crypto.randomBytes(12).toString('hex')}`,
      frank: `frank-${crypto.randomBytes(12).toString('hex')}` };
    for (const [u, t] of Object.entries(tokens)) fs.writeFileSync(path.join(dir, `${u}.token`), `${t}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'users.yaml'),
      'users:\n  - {name: alice, token_file: alice.token, role: sre}\n  - {name: frank, token_file: frank.token, role: finance}\n');
    const central = await new Central({ dataDir: path.join(dir, 'central'), port: centralPort,
      sitesFile: path.join(dir, 'sites.yaml'), usersFile: path.join(dir, 'users.yaml') }).start();
    after(() => central.stop());

    // One trace at the site: a server span and its client child.
    const sdk = siteSdk({ service: 'checkout', url: site.httpUrl, site: 'fra' });
    const root = sdk.tracer.startSpan('POST /checkout', { kind: SpanKind.SERVER });
    const traceId = root.spanContext().traceId;
    const { trace: otTrace, context } = await import('@opentelemetry/api');
    // The child names a patient: the SRE's view keeps it at the site as a
    // skeleton (ids, times, the classes), which the waterfall marks.
    const child = sdk.tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT,
      attributes: { 'patient.mrn': REGULATED.mrn } }, otTrace.setSpan(context.active(), root));
    child.end();
    root.end();
    await sdk.flush();
    await sdk.shutdown();
    await waitFor(async () => (await getJson(`${site.apiUrl}/api/v1/traces/${traceId}`, { expectStatus: null })).status === 200,
      { what: 'the site holds the trace' });
    await waitFor(() => central.estate().sites.some((s) => s.name === 'fra' && !s.partitioned),
      { what: 'the site in contact with the centre' });

    // The API answers 401 without a session.
    assert.equal((await fetch(`${centralUrl}/ui/api/session`)).status, 401);
    assert.equal((await fetch(`${centralUrl}/ui/api/estate`)).status, 401);

    const browser = await chromium.launch({ executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    after(() => browser.close());
    const problems = [];
    // The sign-in page asks for the session first (401: not signed in), and
    // the finance user's deliberate trace request is refused (403).
    const expected = (url, status) => (url.endsWith('/ui/api/session') && (status ?? 401) === 401)
      || (url.endsWith(`/ui/api/trace/${traceId}`) && (status ?? 403) === 403);
    const watch = (page) => {
      page.on('console', (m) => {
        if (m.type() !== 'error') return;
        // Chromium logs every 4xx as "Failed to load resource"; the
        // answers this test expects (below) are not problems.
        const url = m.location()?.url || '';
        if (/Failed to load resource/.test(m.text()) && expected(url)) return;
        problems.push(`console: ${m.text()} (${url})`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
      page.on('response', (r) => {
        if (r.status() >= 400 && !expected(r.url(), r.status())) {
          problems.push(`HTTP ${r.status()}: ${r.url()}`);
        }
      });
    };
    const signIn = async (page, token) => {
      await page.goto(`${centralUrl}/ui/`);
      await page.getByLabel('Your access token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('who').waitFor();
    };

    // --- the SRE
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    watch(page);
    await signIn(page, tokens.alice);
    assert.equal(await page.getByTestId('who').innerText(), 'alice · sre');
    const cookies = await ctx.cookies();
    const sess = cookies.find((c) => c.name === 'tg_session');
    assert.ok(sess, 'a session cookie');
    assert.equal(sess.httpOnly, true);
    assert.equal(sess.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the page cannot read the cookie');

    await page.getByTestId('estate').waitFor();
    const node = page.locator('[data-site="fra"]');
    await node.waitFor();
    await waitFor(async () => ['ok', 'skewed', 'lagging'].includes(await node.getAttribute('data-health')),
      { what: 'the site shown in contact' });
    const down = page.locator('[data-site="sgp"]');
    assert.equal(await down.getAttribute('data-health'), 'partitioned');
    assert.match(await down.innerText(), /not answering: never connected/);
    assert.equal(await page.locator('.loading').count(), 0, 'no loading state left once loaded');
    // Sparklines (uPlot) once the page has sampled the estate three times:
    // ingest, egress bytes and egress records.
    await node.locator('canvas').first().waitFor({ timeout: 30000 });
    assert.equal(await node.locator('canvas').count(), 3);
    await page.screenshot({ path: path.join(SHOTS, 'estate.png'), fullPage: true });
    await node.click();
    await page.getByTestId('site-detail').waitFor();
    assert.match(await page.getByTestId('site-detail').innerText(), /software version/);
    await page.screenshot({ path: path.join(SHOTS, 'site.png'), fullPage: true });

    await page.getByRole('link', { name: 'Traces' }).click();
    await page.getByLabel('Trace id').fill(traceId);
    await page.getByRole('button', { name: 'Show trace' }).click();
    await page.getByTestId('waterfall').waitFor();
    const rows = page.locator('[data-testid="waterfall"] tbody tr');
    assert.equal(await rows.count(), 2);
    assert.match(await rows.nth(0).innerText(), /POST \/checkout\s+fra\s+checkout/);
    assert.match(await rows.nth(1).innerText(), /withheld: phi\./);
    assert.equal((await page.content()).indexOf(REGULATED.mrn), -1, 'the value never reaches the page');
    assert.match(await page.getByTestId('site-answers').innerText(), /fra\s+successful/);
    assert.equal(new URL(page.url()).hash, `#/traces/${traceId}`, 'the trace is in the URL');
    await page.screenshot({ path: path.join(SHOTS, 'trace.png'), fullPage: true });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Your access token').waitFor();
    const after401 = await fetch(`${centralUrl}/ui/api/session`, { headers: { Cookie: `tg_session=${sess.value}` } });
    assert.equal(after401.status, 401, 'the session ended at the server');
    await ctx.close();

    // --- finance: no traces in the navigation, and the view refuses.
    const ctx2 = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const fpage = await ctx2.newPage();
    watch(fpage);
    await signIn(fpage, tokens.frank);
    assert.equal(await fpage.getByTestId('who').innerText(), 'frank · finance');
    assert.equal(await fpage.getByRole('link', { name: 'Traces' }).count(), 0);
    await fpage.goto(`${centralUrl}/ui/#/traces/${traceId}`);
    await fpage.getByTestId('forbidden').waitFor();
    await fpage.screenshot({ path: path.join(SHOTS, 'finance-traces.png'), fullPage: true });
    const r = await fpage.evaluate(async (id) => (await fetch(`/ui/api/trace/${id}`)).status, traceId);
    assert.equal(r, 403, 'the API refuses too');
    await ctx2.close();

    assert.deepEqual(problems, []);
  });
