// The estate: every site as a node grouped by jurisdiction, its link to the
// centre coloured by health, with the figures /api/v1/estate reports; a
// click opens the site's detail. Refreshes every 5 s.
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api, fmtBytes, fmtSeconds, hashFor, refreshSeconds } from './api.js';

const html = htm.bind(h);
const REFRESH_MS = 5000;
const HISTORY = 60; // samples per site: 5 minutes at the default refresh interval

// What each site sent the centre, sampled at every refresh while this page
// is open (the estate document holds totals, not history), and what it
// ingested (its store's item count, in its heartbeat):
// name -> [[t, bytes, records, ingested]].
const history = new Map();

// The estate says -1 for an outbox that is not filling.
const budget = (s) => (s.budget_seconds_left != null && s.budget_seconds_left < 0 ? 'not filling' : fmtSeconds(s.budget_seconds_left));

function sample(sites, now) {
  for (const s of sites) {
    if (!history.has(s.name)) history.set(s.name, []);
    const h = history.get(s.name);
    h.push([now, s.bytes_wire ?? 0, (s.spans ?? 0) + (s.logs ?? 0) + (s.metrics ?? 0) + (s.costs ?? 0),
      s.ingested_items ?? 0]);
    if (h.length > HISTORY + 1) h.shift();
  }
}

// Per-second rates between successive samples: [[t...], [rate...]].
function rates(name, col) {
  const h = history.get(name) || [];
  const xs = [];
  const ys = [];
  for (let i = 1; i < h.length; i++) {
    const dt = h[i][0] - h[i - 1][0];
    if (dt <= 0) continue;
    xs.push(h[i][0]);
    ys.push(Math.max(0, (h[i][col] - h[i - 1][col]) / dt));
  }
  return [xs, ys];
}

function Sparkline({ data, label }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    if (data[0].length < 2) return;
    if (!plot.current) {
      plot.current = new uPlot({
        width: 160, height: 28, legend: { show: false }, cursor: { show: false }, select: { show: false },
        axes: [{ show: false }, { show: false }], scales: { x: { time: false }, y: { range: (u, lo, hi) => [0, Math.max(hi, 1)] } },
        series: [{}, { stroke: '#0969da', width: 1, fill: 'rgba(9,105,218,0.12)', points: { show: false } }],
      }, data, box.current);
    } else {
      plot.current.setData(data);
    }
  }, [data]);
  useEffect(() => () => { if (plot.current) plot.current.destroy(); }, []);
  const last = data[1].length ? data[1][data[1].length - 1] : null;
  return html`<span class="spark" role="img" aria-label="${label}: ${last == null ? 'no samples yet' : last.toFixed(1)}">
    <span class="spark-label">${label}${last == null ? '' : ` · ${last.toFixed(1)}`}</span>
    ${data[0].length < 2 ? html`<span class="state empty">sampling…</span>` : html`<span ref=${box}></span>`}</span>`;
}

// Worst first: the link shows the worst state a site's warnings name.
const STATES = [
  ['partitioned', 'partitioned', /^partitioned:/],
  ['cert', 'certificate expired', /^certificate expired:/],
  ['version', 'version mismatch', /^version mismatch:/],
  ['lagging', 'lagging', /^(lagging|shedding|gaps):/],
  ['skewed', 'skewed', /^skewed:/],
  ['cert', 'certificate expiring', /^certificate expiring:/],
];

export function health(site) {
  const w = site.warnings || [];
  // A fork (or a changed log key) is the worst a link can be: the site's
  // record of what left no longer matches what the witness cosigned.
  if (site.witness && (site.witness.fork || site.witness.key_changed))
    return { cls: 'fork', label: 'log fork' };
  for (const [cls, label, re] of STATES) if (w.some((x) => re.test(x))) return { cls, label };
  return { cls: 'ok', label: 'ok' };
}

// Which version of each model every site serves, against the authority
// (the centre's models report, docs/models.md), with its warnings.
function Models({ report }) {
  const models = (report && report.models) || [];
  const warnings = (report && report.warnings) || [];
  const share = (x) => `${Math.round(100 * (x || 0))}%`;
  const lag = (m, s) => {
    if (s.authority || !m.authoritative_version) return '–';
    if (s.stale) return `stale ${fmtSeconds(s.stale_seconds)} (SLO ${fmtSeconds(m.max_propagation_seconds)})`;
    if (s.propagation_delay_seconds != null) return `caught up after ${fmtSeconds(s.propagation_delay_seconds)}`;
    return '–';
  };
  return html`<section class="panel" data-testid="models" aria-label="model versions">
    <h3>Model versions</h3>
    ${warnings.length > 0 && html`<ul class="warnings" data-testid="models-warnings">${warnings.map((w) => html`<li>${w}</li>`)}</ul>`}
    ${models.length === 0 ? html`<p class="state empty">No model versions seen in span summaries.</p>`
      : html`<table class="grid"><thead><tr><th>model</th><th>authority</th><th>authoritative</th>
          <th>site</th><th>serves</th><th>share</th><th>lag</th></tr></thead>
        <tbody>${models.flatMap((m) => (m.sites || []).map((s, j) => html`<tr data-model=${m.model} data-model-site=${s.site}>
          <td>${j ? '' : m.model}</td><td>${j ? '' : (m.authority || '–')}</td><td>${j ? '' : (m.authoritative_version || '–')}</td>
          <td>${s.site}</td><td>${s.version}</td><td>${share(s.share)}</td>
          <td class=${s.stale ? 'bad' : ''}>${lag(m, s)}${s.stuck ? ', stuck rollout' : ''}</td></tr>`))}</tbody></table>`}
  </section>`;
}

function SiteNode({ s }) {
  const st = health(s);
  const open = () => { location.hash = hashFor('estate', s.name); };
  return html`<button class="site ${st.cls}" data-site=${s.name} data-health=${st.cls} onClick=${open}
      aria-label="site ${s.name}: ${st.label}">
    <span class="name">${s.name}</span><span class="badge ${st.cls}">${st.label}</span>
    ${s.partitioned && html`<div class="state error">not answering: ${s.last_contact_unix_nano
      ? `no contact for ${fmtSeconds(s.last_contact_age_seconds)}` : 'never connected'}</div>`}
    <div class="figures">backlog ${s.backlog_batches ?? '–'} batches (${fmtBytes(s.backlog_bytes)}) ·
      budget left ${budget(s)} ·
      clock ${s.clock_valid ? `${(s.clock_offset_ms ?? 0).toFixed(1)} ms` : '–'}</div>
    <div class="figures">policy ${s.policy_version || '–'} · tollgate ${s.software_version || '–'}</div>
    <div class="sparks" data-testid="sparks">
      <${Sparkline} data=${rates(s.name, 3)} label="ingest items/s" />
      <${Sparkline} data=${rates(s.name, 1)} label="egress B/s" />
      <${Sparkline} data=${rates(s.name, 2)} label="egress records/s" />
    </div>
  </button>`;
}

function SiteDetail({ s, central }) {
  if (!s) return html`<p class="state empty">No site by that name in the estate.</p>`;
  const st = health(s);
  const rows = [
    ['health', st.label], ['jurisdiction', s.jurisdiction || 'unknown'], ['registered', String(s.registered)],
    ['query API', s.api || '–'], ['last contact', s.last_contact_unix_nano ? `${fmtSeconds(s.last_contact_age_seconds)} ago` : 'never'],
    ['software version', `${s.software_version || '–'} (centre ${central.version})`],
    ['policy version', s.policy_version || '–'], ['protocol', s.protocol_version ?? '–'],
    ['backlog', `${s.backlog_batches ?? '–'} batches, ${fmtBytes(s.backlog_bytes)}, oldest ${fmtSeconds(s.backlog_oldest_age_seconds)}`],
    ['outbox budget', `${fmtBytes(s.budget_bytes)}, ${budget(s)}${s.budget_seconds_left >= 0 ? ' left at the current rate' : ''}`],
    ['clock offset', s.clock_valid ? `${(s.clock_offset_ms ?? 0).toFixed(2)} ms (rtt ${(s.clock_rtt_ms ?? 0).toFixed(2)} ms)` : 'not measured'],
    ['received', `${s.batches ?? 0} batches, ${s.spans ?? 0} spans, ${s.logs ?? 0} logs, ${s.metrics ?? 0} metrics, ${fmtBytes(s.bytes_wire)}`],
    ['gaps / duplicates', `${s.gaps ?? 0} / ${s.duplicates ?? 0}`],
    ['shed', `${s.shed_batches ?? 0} batches, ${s.shed_records ?? 0} records`],
  ];
  return html`<section class="panel" data-testid="site-detail" aria-label="site ${s.name}">
    <p><a href=${hashFor('estate', '')}>← estate</a></p>
    <h2>${s.name} <span class="badge ${st.cls}">${st.label}</span></h2>
    <dl class="detail">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
    <h3>Warnings</h3>
    ${(s.warnings || []).length ? html`<ul class="warnings">${s.warnings.map((w) => html`<li>${w}</li>`)}</ul>`
      : html`<p class="state empty">None.</p>`}
  </section>`;
}

export function Estate({ site, params = {} }) {
  const [r, setR] = useState(null);
  const refreshMs = refreshSeconds(params, REFRESH_MS / 1000) * 1000;
  useEffect(() => {
    let alive = true;
    const tick = async () => {
      const res = await api('/ui/api/estate');
      if (res.ok) sample(res.data.sites || [], Date.now() / 1000);
      if (alive) setR(res);
    };
    tick();
    const t = refreshMs ? setInterval(tick, refreshMs) : null;
    return () => { alive = false; if (t) clearInterval(t); };
  }, [refreshMs]);
  if (!r) return html`<p class="state loading" data-testid="estate-loading">Loading the estate…</p>`;
  if (!r.ok) return html`<p class="state error" role="alert">Cannot load the estate: ${r.error}</p>`;
  const sites = r.data.sites || [];
  const central = r.data.central || {};
  if (site) return html`<${SiteDetail} s=${sites.find((x) => x.name === site)} central=${central} />`;
  if (!sites.length) return html`<p class="state empty" data-testid="estate-empty">No sites yet: none is registered and none has connected.</p>`;
  const groups = new Map();
  for (const s of sites) {
    const j = s.jurisdiction || 'unknown jurisdiction';
    if (!groups.has(j)) groups.set(j, []);
    groups.get(j).push(s);
  }
  return html`<section class="panel" data-testid="estate" aria-label="estate">
    <div class="centre">centre · tollgate ${central.version}</div>
    ${(central.warnings || []).length > 0 && html`<div class="banner">${central.warnings.join('; ')}</div>`}
    <div class="jurisdictions">${[...groups].sort().map(([j, list]) => html`<div class="jurisdiction">
      <h3>${j}</h3>${list.map((s) => html`<${SiteNode} s=${s} />`)}</div>`)}</div>
    ${r.data.models && html`<${Models} report=${r.data.models} />`}
  </section>`;
}
