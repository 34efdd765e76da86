// Traces: a TraceQL search across every site (its errors shown at their
// column) with the hits as a table, and one stitched cross-site trace: a
// lane per site, a waterfall with the site and service of each span, skew
// adjustments and withheld (keep-local) spans marked, and every site's
// answer, a partial answer naming the sites that did not give theirs.
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import { api, hashFor, ns, refreshSeconds, timeWindow } from './api.js';
import { PALETTE } from './ui.js';

const html = htm.bind(h);

const attr = (list, key) => {
  const v = (list || []).find((a) => a.key === key)?.value;
  return v ? (v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue) : undefined;
};

// Spans with their site and service, depth-first from the roots, each
// child after its parent; orphans (parent not in the answer) are roots.
export function flatten(trace) {
  const spans = (trace?.resourceSpans || []).flatMap((rs) => {
    const site = attr(rs.resource?.attributes, 'tollgate.site') || '?';
    const service = attr(rs.resource?.attributes, 'service.name') || '?';
    return (rs.scopeSpans || []).flatMap((ss) => (ss.spans || []).map((sp) => ({ ...sp, site, service })));
  });
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const kids = new Map();
  for (const s of spans) {
    const p = s.parentSpanId && byId.has(s.parentSpanId) ? s.parentSpanId : '';
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(s);
  }
  for (const l of kids.values()) l.sort((a, b) => (BigInt(a.startTimeUnixNano || 0) < BigInt(b.startTimeUnixNano || 0) ? -1 : 1));
  const out = [];
  const walk = (p, depth) => { for (const s of kids.get(p) || []) { out.push({ s, depth }); walk(s.spanId, depth + 1); } };
  walk('', 0);
  return out;
}

const siteColour = (sites, site) => PALETTE[Math.max(0, sites.indexOf(site)) % PALETTE.length];

// One lane per site: where in the trace's time each site's spans ran.
function SiteLanes({ rows, t0, total, sites }) {
  const pct = (t) => (Number(BigInt(t || 0) - t0) / total) * 100;
  return html`<div class="lanes" data-testid="site-lanes">${sites.map((site) => html`
    <div class="lanerow" data-lane=${site}><span class="lanename">${site}</span>
      <div class="laneband">${rows.filter(({ s }) => s.site === site).map(({ s }) => {
        const left = pct(s.startTimeUnixNano);
        const withheld = attr(s.attributes, 'tollgate.withheld');
        return html`<div class="lanebar ${withheld ? 'withheld' : ''}" title=${`${s.service}: ${s.name || 'withheld'}`}
          style=${`left:${left}%;width:${Math.max(pct(s.endTimeUnixNano) - left, 0.3)}%;${withheld ? '' : `background:${siteColour(sites, site)}`}`}></div>`;
      })}</div></div>`)}</div>`;
}

// Exactly what the user's view returned for one span (its site and
// service come from its resource).
function SpanDetails({ s }) {
  const { site, service, ...span } = s;
  return html`<tr class="details" data-details=${s.spanId}><td colspan="5">
    <pre data-testid="span-details">${JSON.stringify({ site, service, span }, null, 2)}</pre></td></tr>`;
}

function Waterfall({ trace }) {
  const [open, setOpen] = useState('');
  const rows = flatten(trace);
  if (!rows.length) return html`<p class="state empty">No spans in this answer.</p>`;
  const t0 = rows.reduce((m, { s }) => (BigInt(s.startTimeUnixNano || 0) < m ? BigInt(s.startTimeUnixNano || 0) : m), BigInt(rows[0].s.startTimeUnixNano || 0));
  const t1 = rows.reduce((m, { s }) => (BigInt(s.endTimeUnixNano || 0) > m ? BigInt(s.endTimeUnixNano || 0) : m), t0 + 1n);
  const total = Number(t1 - t0);
  const pct = (t) => (Number(BigInt(t || 0) - t0) / total) * 100;
  const sites = [...new Set(rows.map(({ s }) => s.site))].sort();
  return html`<${SiteLanes} rows=${rows} t0=${t0} total=${total} sites=${sites} />
    <table class="waterfall" data-testid="waterfall">
    <thead><tr><th>span</th><th>site</th><th>service</th><th>duration</th><th class="lane">${(total / 1e6).toFixed(2)} ms</th></tr></thead>
    <tbody>${rows.map(({ s, depth }) => {
      const withheld = attr(s.attributes, 'tollgate.withheld');
      const skew = attr(s.attributes, 'tollgate.skew.adjusted_ns');
      const err = s.status?.code === 2 || s.status?.code === 'STATUS_CODE_ERROR';
      const left = pct(s.startTimeUnixNano);
      const width = Math.max(pct(s.endTimeUnixNano) - left, 0.3);
      const dur = Number(BigInt(s.endTimeUnixNano || 0) - BigInt(s.startTimeUnixNano || 0)) / 1e6;
      const isOpen = open === s.spanId;
      return html`<tr data-span=${s.spanId} data-site=${s.site}>
        <td style=${`padding-left:${depth * 14 + 4}px`}><button class="link" aria-expanded=${isOpen ? 'true' : 'false'}
          title="what your view returned for this span" onClick=${() => setOpen(isOpen ? '' : s.spanId)}>${s.name || html`<em>withheld</em>`}</button>
          ${withheld && html`<span class="tag withheld" title="kept at its site">withheld: ${withheld}</span>`}
          ${skew && html`<span class="tag skew" title="moved to correct the site's clock">skew ${(Number(skew) / 1e6).toFixed(2)} ms</span>`}</td>
        <td><span class="dot" style=${`background:${siteColour(sites, s.site)}`}></span>${s.site}</td><td>${s.service}</td><td>${dur.toFixed(2)} ms</td>
        <td class="lane"><div class="bar ${withheld ? 'withheld' : ''} ${err ? 'error' : ''}"
          style=${`margin-left:${left}%;width:${width}%;${withheld || err ? '' : `background:${siteColour(sites, s.site)}`}`}></div></td></tr>
        ${isOpen && html`<${SpanDetails} s=${s} />`}`;
    })}</tbody></table>`;
}

function SiteAnswers({ block }) {
  const d = Object.entries(block?.details || {});
  if (!d.length) return html`<p class="state empty">No site was asked (none has a query API registered).</p>`;
  return html`<table class="sites" data-testid="site-answers"><thead><tr><th>site</th><th>answer</th><th>took</th><th>why</th></tr></thead>
    <tbody>${d.map(([name, x]) => html`<tr data-site=${name}><td>${name}</td><td>${x.status}</td>
      <td>${x.took_ms != null ? `${x.took_ms.toFixed(1)} ms` : '–'}</td><td>${x.reason || x.message || ''}</td></tr>`)}</tbody></table>`;
}

// Sets a box's text to `value` when value changes (the URL moved), never
// on mount: a reset after mount would wipe what was typed meanwhile.
function useFollow(value, set) {
  const prev = useRef(value);
  useEffect(() => {
    if (prev.current !== value) {
      prev.current = value;
      set(value || '');
    }
  }, [value]);
}

function TraceIdForm({ value }) {
  const [id, setId] = useState(value || '');
  useFollow(value, setId); // a shared link or the back button: the box shows what is shown
  const submit = (e) => {
    e.preventDefault();
    location.hash = hashFor('traces', id.trim().toLowerCase());
  };
  return html`<form onSubmit=${submit} class="traceform">
      <label for="traceid">Trace id </label>
      <input id="traceid" size="36" pattern="[0-9a-fA-F]{32}" title="32 hexadecimal characters" required
        value=${id} onInput=${(e) => setId(e.target.value)} />
      <button type="submit">Show trace</button>
    </form>`;
}

function TraceView({ traceId, params }) {
  const [r, setR] = useState(null);
  const [loading, setLoading] = useState(false);
  useEffect(() => {
    if (!traceId) { setR(null); return undefined; }
    let alive = true;
    setLoading(true);
    api(`/ui/api/trace/${encodeURIComponent(traceId)}`).then((res) => {
      if (alive) { setR(res); setLoading(false); }
    });
    return () => { alive = false; };
  }, [traceId]);
  let body = html`<p class="state empty">Enter a trace id to see the whole trace across sites.</p>`;
  if (loading) body = html`<p class="state loading">Asking every site…</p>`;
  else if (r && !r.data) body = html`<p class="state error" role="alert">The trace query failed: ${r.error}</p>`;
  else if (r) {
    const d = r.data;
    const missing = Object.entries(d._sites?.details || {}).filter(([, x]) => x.status !== 'successful' && x.status !== 'skipped').map(([n, x]) => `${n} (${x.status})`);
    body = html`
      ${d.is_partial && html`<div class="banner" role="status" data-testid="partial">Partial answer: ${missing.join(', ') || 'some sites'} did not give theirs.</div>`}
      ${r.ok ? html`<p>${d.stats?.spans ?? 0} spans from ${d.stats?.sites ?? 0} site${d.stats?.sites === 1 ? '' : 's'}, under the view <code>${d.view}</code>${d.stats?.skew_adjusted ? `, ${d.stats.skew_adjusted} moved for clock skew` : ''}.</p>
        <${Waterfall} trace=${d.trace} />`
        : html`<p class="state ${r.status === 404 ? 'empty' : 'error'}" role=${r.status === 404 ? undefined : 'alert'}>${r.status === 404 ? 'No site holds this trace.' : r.error}</p>`}
      <h3>Sites asked</h3><${SiteAnswers} block=${d._sites} />`;
  }
  return html`<section class="panel" aria-label="trace" data-testid="trace-view" data-state=${loading ? 'loading' : r && !r.ok && r.status !== 404 ? 'error' : 'ok'}>
    <p><a href=${hashFor('traces', '', params)}>← search</a></p>
    <${TraceIdForm} value=${traceId} />
    ${body}
  </section>`;
}

// "column N: ..." from the API (it also says `column`): the query with a
// caret under column N.
function QueryError({ q, error, column }) {
  const col = column || Number((/^column (\d+):/.exec(error || '') || [])[1]) || 0;
  return html`<div class="qerror" role="alert" data-testid="query-error" data-column=${col || undefined}>
    ${col > 0 && html`<pre class="caret" aria-hidden="true">${`${q}\n${' '.repeat(col - 1)}^`}</pre>`}
    <p class="state error">${error}</p></div>`;
}

export function QueryBox({ id, label, value, onRun, error, placeholder, busy }) {
  const [q, setQ] = useState(value || '');
  const input = useRef(null);
  useFollow(value, setQ);
  useEffect(() => {
    // Put the cursor where the error is, so a keyboard user lands on it.
    const col = error?.column || Number((/^column (\d+):/.exec(error?.error || '') || [])[1]) || 0;
    if (col > 0 && input.current) { input.current.focus(); input.current.setSelectionRange(col - 1, col); }
  }, [error]);
  const submit = (e) => { e.preventDefault(); onRun(q.trim()); };
  return html`<form class="queryform" onSubmit=${submit}>
    <label for=${id}>${label}</label>
    <input id=${id} ref=${input} class="query" spellcheck="false" autocomplete="off" value=${q}
      placeholder=${placeholder} aria-invalid=${error ? 'true' : undefined}
      aria-describedby=${error ? `${id}-error` : undefined} onInput=${(e) => setQ(e.target.value)} />
    <button type="submit" disabled=${busy}>${busy ? 'Running…' : 'Run'}</button>
    ${error && html`<div id=${`${id}-error`}><${QueryError} q=${error.q} error=${error.error} column=${error.column} /></div>`}
  </form>`;
}

const fmtStart = (n) => (n ? new Date(Number(BigInt(n) / 1000000n)).toISOString().replace('T', ' ').slice(0, 19) : '–');

function Search({ params }) {
  const q = params.q || '';
  const [r, setR] = useState(null);
  const [tick, setTick] = useState(0);
  const refresh = refreshSeconds(params, 0);
  useEffect(() => {
    if (!refresh) return undefined;
    const t = setInterval(() => setTick((x) => x + 1), refresh * 1000);
    return () => clearInterval(t);
  }, [refresh]);
  useEffect(() => {
    if (!q) { setR(null); return undefined; }
    let alive = true;
    const w = timeWindow(params);
    setR((old) => (tick && old ? old : null));
    api(`/ui/api/traces?q=${encodeURIComponent(q)}&start=${ns(w.start)}&end=${ns(w.end + 60)}&limit=20&whole=true`)
      .then((res) => { if (alive) setR(res); });
    return () => { alive = false; };
  }, [q, params.range, tick]);
  const run = (nq) => { location.hash = hashFor('traces', '', { q: nq }); };
  const error = r && r.status === 400 ? { q, error: r.data?.error || r.error, column: r.data?.column } : null;
  let body = html`<p class="state empty">Search every site with TraceQL, for example <code>{ resource.service.name = "checkout" }</code> or <code>{ duration > 500ms }</code>.</p>`;
  if (q && !r) body = html`<p class="state loading" role="status">Asking every site…</p>`;
  else if (r && !r.ok && !error) body = html`<p class="state error" role="alert">The search failed: ${r.error}</p>`;
  else if (r && r.ok) {
    const d = r.data;
    const missing = Object.entries(d._sites?.details || {}).filter(([, x]) => x.status !== 'successful' && x.status !== 'skipped').map(([n, x]) => `${n} (${x.status})`);
    const traces = d.traces || [];
    body = html`${d.is_partial && html`<div class="banner" role="status" data-testid="partial">Partial answer: ${missing.join(', ') || 'some sites'} did not give theirs.</div>`}
      ${traces.length === 0 ? html`<p class="state empty" data-testid="no-hits">No trace matches in this window.</p>`
        : html`<table class="results" data-testid="trace-results"><thead><tr><th scope="col">trace</th><th scope="col">root service</th><th scope="col">root span</th>
          <th scope="col">start</th><th scope="col" class="num">duration</th><th scope="col">sites crossed</th><th scope="col" class="num">errors</th></tr></thead>
          <tbody>${traces.map((t) => {
            const errors = Object.values(t.serviceStats || {}).reduce((a, x) => a + (x.errorCount || 0), 0);
            return html`<tr data-trace=${t.traceID}><td><a href=${hashFor('traces', t.traceID)}><code>${t.traceID}</code></a></td>
              <td>${t.rootServiceName || '–'}</td><td>${t.rootTraceName || '–'}</td><td>${fmtStart(t.startTimeUnixNano)}</td>
              <td class="num">${t.durationMs != null ? `${t.durationMs} ms` : '–'}</td>
              <td>${(t.sites || []).join(', ')}</td><td class="num ${errors ? 'bad' : ''}">${errors}</td></tr>`;
          })}</tbody></table>`}
      <p class="figures">${traces.length} trace${traces.length === 1 ? '' : 's'}; ${d.metrics?.completedJobs ?? 0} of ${d.metrics?.totalJobs ?? 0} sites answered; ${d.metrics?.inspectedSpans ?? 0} spans inspected, under the view <code>${d.view}</code>.</p>`;
  }
  return html`<section class="panel" aria-label="trace search" data-testid="trace-search" data-state=${q && !r ? 'loading' : r && !r.ok && !error ? 'error' : 'ok'}>
    <h2>Search traces</h2>
    <${TraceIdForm} value="" />
    <${QueryBox} id="traceql" label="TraceQL" value=${q} onRun=${run} error=${error} busy=${q && !r}
      placeholder='{ resource.service.name = "checkout" && duration > 100ms }' />
    ${body}
  </section>`;
}

export function Traces({ traceId, params }) {
  return traceId ? html`<${TraceView} traceId=${traceId} params=${params} />` : html`<${Search} params=${params} />`;
}
