// One stitched cross-site trace: a waterfall with the site and service of
// each span, skew adjustments and withheld (keep-local) spans marked, and
// every site's answer, a partial answer naming the sites that did not give
// theirs.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { api } from './api.js';

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

function Waterfall({ trace }) {
  const rows = flatten(trace);
  if (!rows.length) return html`<p class="state empty">No spans in this answer.</p>`;
  const t0 = rows.reduce((m, { s }) => (BigInt(s.startTimeUnixNano || 0) < m ? BigInt(s.startTimeUnixNano || 0) : m), BigInt(rows[0].s.startTimeUnixNano || 0));
  const t1 = rows.reduce((m, { s }) => (BigInt(s.endTimeUnixNano || 0) > m ? BigInt(s.endTimeUnixNano || 0) : m), t0 + 1n);
  const total = Number(t1 - t0);
  const pct = (t) => (Number(BigInt(t || 0) - t0) / total) * 100;
  return html`<table class="waterfall" data-testid="waterfall">
    <thead><tr><th>span</th><th>site</th><th>service</th><th>duration</th><th class="lane">${(total / 1e6).toFixed(2)} ms</th></tr></thead>
    <tbody>${rows.map(({ s, depth }) => {
      const withheld = attr(s.attributes, 'tollgate.withheld');
      const skew = attr(s.attributes, 'tollgate.skew.adjusted_ns');
      const err = s.status?.code === 2 || s.status?.code === 'STATUS_CODE_ERROR';
      const left = pct(s.startTimeUnixNano);
      const width = Math.max(pct(s.endTimeUnixNano) - left, 0.3);
      const dur = Number(BigInt(s.endTimeUnixNano || 0) - BigInt(s.startTimeUnixNano || 0)) / 1e6;
      return html`<tr data-span=${s.spanId} data-site=${s.site}>
        <td style=${`padding-left:${depth * 14 + 4}px`}>${s.name || html`<em>withheld</em>`}
          ${withheld && html`<span class="tag withheld" title="kept at its site">withheld: ${withheld}</span>`}
          ${skew && html`<span class="tag skew" title="moved to correct the site's clock">skew ${(Number(skew) / 1e6).toFixed(2)} ms</span>`}</td>
        <td>${s.site}</td><td>${s.service}</td><td>${dur.toFixed(2)} ms</td>
        <td class="lane"><div class="bar ${withheld ? 'withheld' : ''} ${err ? 'error' : ''}"
          style=${`margin-left:${left}%;width:${width}%`}></div></td></tr>`;
    })}</tbody></table>`;
}

function SiteAnswers({ block }) {
  const d = Object.entries(block?.details || {});
  if (!d.length) return html`<p class="state empty">No site was asked (none has a query API registered).</p>`;
  return html`<table class="sites" data-testid="site-answers"><thead><tr><th>site</th><th>answer</th><th>took</th><th>why</th></tr></thead>
    <tbody>${d.map(([name, x]) => html`<tr data-site=${name}><td>${name}</td><td>${x.status}</td>
      <td>${x.took_ms != null ? `${x.took_ms.toFixed(1)} ms` : '–'}</td><td>${x.reason || x.message || ''}</td></tr>`)}</tbody></table>`;
}

export function Traces({ traceId }) {
  const [id, setId] = useState(traceId || '');
  const [r, setR] = useState(null);
  const [loading, setLoading] = useState(false);
  useEffect(() => {
    if (!traceId) { setR(null); return undefined; }
    setId(traceId); // a shared link or the back button: the box shows what is shown
    let alive = true;
    setLoading(true);
    api(`/ui/api/trace/${encodeURIComponent(traceId)}`).then((res) => {
      if (alive) { setR(res); setLoading(false); }
    });
    return () => { alive = false; };
  }, [traceId]);
  const submit = (e) => {
    e.preventDefault();
    location.hash = `#/traces/${encodeURIComponent(id.trim().toLowerCase())}`;
  };
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
  return html`<section class="panel" aria-label="traces">
    <form onSubmit=${submit} class="traceform">
      <label for="traceid">Trace id </label>
      <input id="traceid" size="36" pattern="[0-9a-fA-F]{32}" title="32 hexadecimal characters" required
        value=${id} onInput=${(e) => setId(e.target.value)} />
      <button type="submit">Show trace</button>
    </form>
    ${body}
  </section>`;
}
