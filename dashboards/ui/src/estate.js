// The estate: every site as a node grouped by jurisdiction, its link to the
// centre coloured by health, with the figures /api/v1/estate reports; a
// click opens the site's detail. Refreshes every 5 s.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { api, fmtBytes, fmtSeconds } from './api.js';

const html = htm.bind(h);
const REFRESH_MS = 5000;

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
  for (const [cls, label, re] of STATES) if (w.some((x) => re.test(x))) return { cls, label };
  return { cls: 'ok', label: 'ok' };
}

function SiteNode({ s }) {
  const st = health(s);
  const open = () => { location.hash = `#/estate/${encodeURIComponent(s.name)}`; };
  return html`<button class="site ${st.cls}" data-site=${s.name} data-health=${st.cls} onClick=${open}
      aria-label="site ${s.name}: ${st.label}">
    <span class="name">${s.name}</span><span class="badge ${st.cls}">${st.label}</span>
    ${s.partitioned && html`<div class="state error">not answering: ${s.last_contact_unix_nano
      ? `no contact for ${fmtSeconds(s.last_contact_age_seconds)}` : 'never connected'}</div>`}
    <div class="figures">backlog ${s.backlog_batches ?? '–'} batches (${fmtBytes(s.backlog_bytes)}) ·
      budget left ${fmtSeconds(s.budget_seconds_left)} ·
      clock ${s.clock_valid ? `${(s.clock_offset_ms ?? 0).toFixed(1)} ms` : '–'}</div>
    <div class="figures">policy ${s.policy_version || '–'} · tollgate ${s.software_version || '–'}</div>
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
    ['outbox budget', `${fmtBytes(s.budget_bytes)}, ${fmtSeconds(s.budget_seconds_left)} left at the current rate`],
    ['clock offset', s.clock_valid ? `${(s.clock_offset_ms ?? 0).toFixed(2)} ms (rtt ${(s.clock_rtt_ms ?? 0).toFixed(2)} ms)` : 'not measured'],
    ['received', `${s.batches ?? 0} batches, ${s.spans ?? 0} spans, ${s.logs ?? 0} logs, ${s.metrics ?? 0} metrics, ${fmtBytes(s.bytes_wire)}`],
    ['gaps / duplicates', `${s.gaps ?? 0} / ${s.duplicates ?? 0}`],
    ['shed', `${s.shed_batches ?? 0} batches, ${s.shed_records ?? 0} records`],
  ];
  return html`<section class="panel" data-testid="site-detail" aria-label="site ${s.name}">
    <p><a href="#/estate">← estate</a></p>
    <h2>${s.name} <span class="badge ${st.cls}">${st.label}</span></h2>
    <dl class="detail">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
    <h3>Warnings</h3>
    ${(s.warnings || []).length ? html`<ul class="warnings">${s.warnings.map((w) => html`<li>${w}</li>`)}</ul>`
      : html`<p class="state empty">None.</p>`}
  </section>`;
}

export function Estate({ site }) {
  const [r, setR] = useState(null);
  useEffect(() => {
    let alive = true;
    const tick = async () => {
      const res = await api('/ui/api/estate');
      if (alive) setR(res);
    };
    tick();
    const t = setInterval(tick, REFRESH_MS);
    return () => { alive = false; clearInterval(t); };
  }, []);
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
  </section>`;
}
