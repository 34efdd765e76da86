// Cost: the centre's cost report (GET /api/v1/cost/report, through
// /ui/api/cost/) for the window in the URL, hour-aligned: totals, each
// group's amortised (on-prem) or metered (cloud) cost side by side, the
// counterfactual against a chosen site or region, idle capacity by site and
// asset kind, trends over the window (uPlot), and the FOCUS export as a
// download. The totals are the report's own figures, as
// `tollgate cost report --format json` prints them for the same period.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { api, isoSecond, refreshSeconds, setParams, timeWindow } from './api.js';
import { Chart, Panel } from './ui.js';
import { useTick } from './logs.js';

const html = htm.bind(h);
const BYS = ['service', 'model', 'team', 'run', 'site'];
const TREND_BUCKETS = 12;
const HOUR = 3600;

// The report's period: the URL's window widened to whole hours.
export function period(params) {
  const w = timeWindow(params);
  const from = Math.floor(w.start / HOUR) * HOUR;
  const to = Math.ceil((w.end + 1) / HOUR) * HOUR;
  return { from, to };
}

const money = (g, k) => (g[k] == null ? '–' : g[k]);
const micro = (g, k) => Number(g[`${k}_micro`] || 0) / 1e6;
const idleKind = (key) => key.replace(/^__(shared_idle|idle|unused)__ /, '');
const idleWhat = (key) => (key.startsWith('__unused__') ? 'unused reservation' : key.startsWith('__shared_idle__') ? 'shared (facilities) idle' : 'idle capacity');

function Totals({ d, from, to }) {
  const t = d.totals || {};
  return html`<dl class="totals" data-testid="cost-totals" data-from=${isoSecond(from)} data-to=${isoSecond(to)}>
    <div><dt>effective cost</dt><dd data-key="effective_cost">${t.effective_cost} ${d.currency}</dd></div>
    <div><dt>billed cost</dt><dd data-key="billed_cost">${t.billed_cost} ${d.currency}</dd></div>
    <div><dt>of which idle</dt><dd data-key="idle_cost">${t.idle_cost} ${d.currency}</dd></div>
  </dl>`;
}

function Groups({ d, by }) {
  const groups = (d.groups || []).filter((g) => !g.idle && !g.key.startsWith('__'));
  if (!groups.length) return html`<p class="state empty">No measured use in this period.</p>`;
  const cf = d.compare != null;
  return html`<table class="results" data-testid="cost-groups"><thead><tr><th scope="col">site</th><th scope="col">${by}</th>
    <th scope="col">cost model</th><th scope="col" class="num">effective</th><th scope="col" class="num">billed</th><th scope="col" class="num">list</th>
    ${cf && html`<th scope="col" class="num">at ${d.compare}</th>`}<th scope="col" class="num">per GPU-hour</th><th scope="col" class="num">per 1M tokens</th></tr></thead>
    <tbody>${groups.map((g) => html`<tr data-site=${g.site} data-key=${g.key}><td>${g.site}</td><td>${g.key}</td>
      <td><span class="tag ${g.cost_model}">${g.cost_model}</span></td><td class="num">${money(g, 'effective_cost')}</td>
      <td class="num">${money(g, 'billed_cost')}</td><td class="num">${money(g, 'list_cost')}</td>
      ${cf && html`<td class="num" data-testid="counterfactual">${money(g, 'counterfactual_cost')}</td>`}
      <td class="num">${g.cost_per_gpu_hour ?? '–'}</td><td class="num">${g.cost_per_million_tokens ?? '–'}</td></tr>`)}</tbody></table>`;
}

function Idle({ d }) {
  const idle = (d.groups || []).filter((g) => g.idle || g.key.startsWith('__'));
  if (!idle.length) return html`<p class="state empty">No idle capacity in this period.</p>`;
  return html`<table class="results" data-testid="cost-idle"><thead><tr><th scope="col">site</th><th scope="col">asset kind</th><th scope="col">what</th>
    <th scope="col" class="num">effective</th><th scope="col" class="num">billed</th></tr></thead>
    <tbody>${idle.map((g) => html`<tr data-site=${g.site}><td>${g.site}</td><td>${idleKind(g.key)}</td>
      <td>${idleWhat(g.key)}${g.possibly_orphaned ? ' (possibly orphaned)' : ''}</td><td class="num">${money(g, 'effective_cost')}</td>
      <td class="num">${money(g, 'billed_cost')}</td></tr>`)}</tbody></table>`;
}

// One report per bucket of the period, by site: effective cost per site and idle cost.
function Trends({ from, to, tick }) {
  const [r, setR] = useState(null);
  useEffect(() => {
    let alive = true;
    const hours = Math.max(1, (to - from) / HOUR);
    const step = Math.ceil(hours / TREND_BUCKETS) * HOUR;
    const buckets = [];
    for (let t = from; t < to; t += step) buckets.push([t, Math.min(t + step, to)]);
    if (!tick) setR(null);
    Promise.all(buckets.map(([a, b]) => api(`/ui/api/cost/report?from=${isoSecond(a)}&to=${isoSecond(b)}&by=site`)))
      .then((answers) => {
        if (!alive) return;
        const bad = answers.find((x) => !x.ok);
        if (bad) { setR(bad); return; }
        const sites = [...new Set(answers.flatMap((x) => (x.data.groups || []).map((g) => g.site)))].sort();
        const xs = buckets.map(([a]) => a);
        const perSite = sites.map((s) => answers.map((x) => (x.data.groups || []).filter((g) => g.site === s).reduce((acc, g) => acc + micro(g, 'effective_cost'), 0)));
        const idle = answers.map((x) => micro(x.data.totals || {}, 'idle_cost'));
        setR({ ok: true, data: { xs, sites, perSite, idle, currency: answers[0]?.data.currency || '' } });
      });
    return () => { alive = false; };
  }, [from, to, tick]);
  return html`<${Panel} title="Trends" testid="cost-trends" r=${r} loadingText="Pricing each part of the period…"
    empty=${(d) => !d.sites.length} emptyText="No site with a cost model.">
    ${(d) => html`<h3>Effective cost per site (${d.currency} per ${((to - from) / d.xs.length / HOUR).toFixed(0)} h)</h3>
      <${Chart} data=${[d.xs, ...d.perSite]} series=${d.sites} label="effective cost per site over the period" yfmt=${(v) => v.toFixed(2)} />
      <h3>Idle cost (${d.currency})</h3>
      <${Chart} data=${[d.xs, d.idle]} series=${['idle']} label="idle cost over the period" yfmt=${(v) => v.toFixed(2)} />`}
  <//>`;
}

export function Cost({ params }) {
  const by = BYS.includes(params.by) ? params.by : 'service';
  const compare = params.compare || '';
  const { from, to } = period(params);
  const tick = useTick(refreshSeconds(params, 0));
  const [r, setR] = useState(null);
  const [sites, setSites] = useState([]);
  const [cmpText, setCmpText] = useState(compare);
  useEffect(() => { api('/ui/api/estate').then((x) => { if (x.ok) setSites((x.data.sites || []).map((s) => s.name)); }); }, []);
  useEffect(() => setCmpText(compare), [compare]);
  useEffect(() => {
    let alive = true;
    if (!tick) setR(null);
    api(`/ui/api/cost/report?from=${isoSecond(from)}&to=${isoSecond(to)}&by=${by}${compare ? `&compare=${encodeURIComponent(compare)}` : ''}`)
      .then((x) => { if (alive) setR(x); });
    return () => { alive = false; };
  }, [from, to, by, compare, tick]);
  const focus = `/ui/api/cost/focus?from=${isoSecond(from)}&to=${isoSecond(to)}&format=csv`;
  return html`<section class="panel controls" aria-label="cost options">
      <label>Group by <select value=${by} onChange=${(e) => setParams({ by: e.target.value })}>
        ${BYS.map((b) => html`<option value=${b}>${b}</option>`)}</select></label>
      <form class="inline" onSubmit=${(e) => { e.preventDefault(); setParams({ compare: cmpText.trim() || null }); }}>
        <label for="compare">Counterfactual: price the use at</label>
        <input id="compare" list="compare-sites" value=${cmpText} placeholder="a site or a region" onInput=${(e) => setCmpText(e.target.value)} />
        <datalist id="compare-sites">${sites.map((s) => html`<option value=${s} />`)}</datalist>
        <button type="submit">Compare</button></form>
      <a class="button" href=${focus} download="focus.csv" data-testid="focus-download">Download the FOCUS export (CSV)</a>
      <span class="figures">${isoSecond(from)} to ${isoSecond(to)}</span>
    </section>
    <${Panel} title="Totals" testid="cost-summary" r=${r}>${(d) => html`<${Totals} d=${d} from=${from} to=${to} />`}<//>
    <${Panel} title="Amortised against metered, by ${by}" testid="cost-by" r=${r}>${(d) => html`<${Groups} d=${d} by=${by} />`}<//>
    <${Panel} title="Idle capacity by site and asset kind" testid="cost-idle-panel" r=${r}>${(d) => html`<${Idle} d=${d} />`}<//>
    <${Trends} from=${from} to=${to} tick=${tick} />`;
}
