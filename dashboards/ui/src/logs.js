// Logs: a LogQL box run against every site (the centre's Loki-compatible
// query; its errors shown at their column), log lines as a table or a
// metric query's series over time (uPlot), and the log templates each site
// forwarded to the centre with their counts in the window.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { api, hashFor, ns, refreshSeconds, timeWindow } from './api.js';
import { Chart, Panel } from './ui.js';
import { QueryBox } from './traces.js';

const html = htm.bind(h);
const SEVERITY = ['', 'TRACE', 'TRACE', 'TRACE', 'TRACE', 'DEBUG', 'DEBUG', 'DEBUG', 'DEBUG',
  'INFO', 'INFO', 'INFO', 'INFO', 'WARN', 'WARN', 'WARN', 'WARN', 'ERROR', 'ERROR', 'ERROR', 'ERROR',
  'FATAL', 'FATAL', 'FATAL', 'FATAL'];

const labelText = (o) => Object.entries(o || {}).map(([k, v]) => `${k}="${v}"`).join(', ');
const fmtNs = (t) => new Date(Number(BigInt(t) / 1000000n)).toISOString().replace('T', ' ').slice(0, 23);

// Re-runs fn every `refresh` seconds (0: never); returns the tick.
export function useTick(refresh) {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!refresh) return undefined;
    const t = setInterval(() => setTick((x) => x + 1), refresh * 1000);
    return () => clearInterval(t);
  }, [refresh]);
  return tick;
}

function Lines({ result }) {
  const rows = result.flatMap((s) => (s.values || []).map(([t, line]) => ({ t, line, labels: s.stream })))
    .sort((a, b) => (BigInt(b.t) > BigInt(a.t) ? 1 : -1));
  return html`<table class="results loglines" data-testid="log-lines"><thead><tr><th scope="col">time (UTC)</th>
    <th scope="col">site</th><th scope="col">service</th><th scope="col">line</th></tr></thead>
    <tbody>${rows.map((r) => html`<tr><td class="nowrap">${fmtNs(r.t)}</td><td>${r.labels.tollgate_site || r.labels.site || '–'}</td>
      <td>${r.labels.service_name || '–'}</td><td class="line" title=${labelText(r.labels)}>${r.line}</td></tr>`)}</tbody></table>`;
}

function Series({ result, range }) {
  const xs = [...new Set(result.flatMap((s) => (s.values || []).map(([t]) => Number(t))))].sort((a, b) => a - b);
  const ys = result.map((s) => {
    const m = new Map((s.values || []).map(([t, v]) => [Number(t), Number(v)]));
    return xs.map((x) => (m.has(x) ? m.get(x) : null));
  });
  const labels = result.map((s) => labelText(s.metric) || 'value');
  return html`<div data-testid="log-series"><${Chart} data=${[xs, ...ys]} series=${labels} label="the query's series over time" xrange=${range} /></div>`;
}

function Query({ params }) {
  const q = params.q || '';
  const [r, setR] = useState(null);
  const tick = useTick(refreshSeconds(params, 0));
  useEffect(() => {
    if (!q) { setR(null); return undefined; }
    let alive = true;
    const w = timeWindow(params);
    if (!tick) setR(null);
    api(`/ui/api/logs?q=${encodeURIComponent(q)}&start=${ns(w.start)}&end=${ns(w.end)}&limit=500`)
      .then((res) => { if (alive) setR({ ...res, range: [w.start, w.end] }); });
    return () => { alive = false; };
  }, [q, params.range, tick]);
  const error = r && r.status === 400 ? { q, error: r.data?.error || r.error, column: r.data?.column } : null;
  let body = html`<p class="state empty">Query every site's logs with LogQL, for example <code>{service_name="checkout"} |= "timeout"</code> or <code>sum by (site) (count_over_time({service_name=~".+"}[5m]))</code>.</p>`;
  if (q && !r) body = html`<p class="state loading" role="status">Asking every site…</p>`;
  else if (r && !r.ok && !error) body = html`<p class="state error" role="alert">The query failed: ${r.error}</p>`;
  else if (r && r.ok) {
    const d = r.data;
    const result = d.data?.result || [];
    const missing = Object.entries(d._sites?.details || {}).filter(([, x]) => x.status !== 'successful' && x.status !== 'skipped').map(([n, x]) => `${n} (${x.status})`);
    body = html`${d.is_partial && html`<div class="banner" role="status" data-testid="partial">Partial answer: ${missing.join(', ') || 'some sites'} did not give theirs.</div>`}
      ${result.length === 0 ? html`<p class="state empty" data-testid="no-logs">Nothing matches in this window.</p>`
        : d.data.resultType === 'streams' ? html`<${Lines} result=${result} />` : html`<${Series} result=${result} range=${r.range} />`}`;
  }
  return html`<section class="panel" aria-label="log query" data-testid="log-query" data-state=${q && !r ? 'loading' : r && !r.ok && !error ? 'error' : 'ok'}>
    <h2>Query logs</h2>
    <${QueryBox} id="logql" label="LogQL" value=${q} error=${error} busy=${q && !r}
      onRun=${(nq) => { location.hash = hashFor('logs', '', { q: nq }); }} placeholder='{service_name="checkout"} |= "error"' />
    ${body}</section>`;
}

function Templates({ params }) {
  const [r, setR] = useState(null);
  const tick = useTick(refreshSeconds(params, 0));
  useEffect(() => {
    let alive = true;
    const w = timeWindow(params);
    if (!tick) setR(null);
    api(`/ui/api/log-templates?start=${ns(w.start)}&end=${ns(w.end + 60)}&limit=50`).then((res) => { if (alive) setR(res); });
    return () => { alive = false; };
  }, [params.range, tick]);
  return html`<${Panel} title="Log templates per site" testid="log-templates" r=${r}
    empty=${(d) => !Object.keys(d.sites || {}).length} emptyText="No site forwarded log templates in this window.">
    ${(d) => html`${Object.entries(d.sites).sort().map(([site, s]) => html`<div class="tplsite" data-site=${site}>
      <h3>${site} <span class="figures">${s.total} line${s.total === 1 ? '' : 's'}, ${s.distinct} template${s.distinct === 1 ? '' : 's'}${s.distinct > s.templates.length ? `, the ${s.templates.length} most frequent shown` : ''}</span></h3>
      <table class="results"><thead><tr><th scope="col" class="num">count</th><th scope="col">service</th><th scope="col">severity</th><th scope="col">template</th></tr></thead>
      <tbody>${s.templates.map((t) => html`<tr><td class="num">${t.count}</td><td>${t.service}</td>
        <td>${SEVERITY[t.severity_number] || '–'}</td><td class="line"><code>${t.template}</code></td></tr>`)}</tbody></table></div>`)}`}
  <//>`;
}

export function Logs({ params }) {
  return html`<${Query} params=${params} /><${Templates} params=${params} />`;
}
