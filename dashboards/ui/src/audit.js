// Audit: per site, the witness's view of its transparency log (log size,
// the last cosigned checkpoint and its age, the verify status), the
// egress by data class x destination x action over the window from the
// audit report, and the report as HTML or PDF. An API this centre lacks is
// shown as not available, never as an empty panel.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { api, fmtSeconds, isoSecond, refreshSeconds, setParams, timeWindow } from './api.js';
import { Panel } from './ui.js';
import { useTick } from './logs.js';

const html = htm.bind(h);

// Worst first.
export function verifyStatus(s) {
  if (s.fork) return ['bad', `fork at size ${s.fork_size ?? '?'}`];
  if (s.key_changed) return ['bad', 'key changed'];
  if (s.gap) return ['warn', 'gap in the log'];
  if (s.batches_without_leaf) return ['warn', `${s.batches_without_leaf} batches without a leaf`];
  if (!s.cosigned_size) return ['warn', 'nothing cosigned yet'];
  if (s.log_size != null && s.cosigned_size < s.log_size) return ['ok', `consistent; ${s.log_size - s.cosigned_size} leaves since the cosigned checkpoint`];
  return ['ok', 'consistent'];
}

function Unavailable({ d, testid }) {
  return html`<p class="state unavailable" data-testid=${testid} role="status">Not available: ${d.why}.</p>`;
}

function Witness({ tick }) {
  const [r, setR] = useState(null);
  useEffect(() => {
    let alive = true;
    if (!tick) setR(null);
    api('/ui/api/audit/witness').then((x) => { if (alive) setR(x); });
    return () => { alive = false; };
  }, [tick]);
  return html`<${Panel} title="Transparency logs" testid="audit-witness" r=${r}
    empty=${(d) => d.available !== false && !(d.sites || []).length} emptyText="The witness knows no site yet.">
    ${(d) => (d.available === false ? html`<${Unavailable} d=${d} testid="witness-unavailable" />`
      : html`<table class="results"><thead><tr><th scope="col">site</th><th scope="col" class="num">log size</th>
        <th scope="col" class="num">cosigned size</th><th scope="col">last cosigned</th><th scope="col">verify</th></tr></thead>
        <tbody>${d.sites.map((s) => {
          const [cls, text] = verifyStatus(s);
          return html`<tr data-site=${s.site}><td>${s.site}</td><td class="num">${s.log_size ?? '–'}</td>
            <td class="num">${s.cosigned_size ?? '–'}</td>
            <td>${s.cosigned_unix_nano ? `${fmtSeconds(s.cosigned_age_seconds)} ago` : 'never'}</td>
            <td><span class="badge ${cls === 'ok' ? 'ok' : cls === 'warn' ? 'lagging' : 'partitioned'}">${text}</span></td></tr>`;
        })}</tbody></table>`)}
  <//>`;
}

function Report({ params, tick }) {
  const w = timeWindow(params);
  const from = isoSecond(w.start);
  const to = isoSecond(w.end + 1);
  const site = params.site || '';
  const q = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}${site ? `&site=${encodeURIComponent(site)}` : ''}`;
  const [r, setR] = useState(null);
  useEffect(() => {
    let alive = true;
    if (!tick) setR(null);
    api(`/ui/api/audit/report?${q}&format=json`).then((x) => { if (alive) setR(x); });
    return () => { alive = false; };
  }, [params.range, site, tick]);
  return html`<${Panel} title="Egress by data class, destination and action" testid="audit-egress" r=${r}
    empty=${(d) => d.available !== false && !(d.egress || []).length && !(d.sites || []).length} emptyText="No site's log could be read for this window.">
    ${(d) => (d.available === false ? html`<${Unavailable} d=${d} testid="report-unavailable" />`
      : html`<p class="figures">${`${d.report?.from} to ${d.report?.to}${site ? `, site ${site}` : ''}. `}<a href=${`/ui/api/audit/report?${q}&format=html`} download="audit-report.html" data-testid="report-html">Report (HTML)</a>${' · '}<a href=${`/ui/api/audit/report?${q}&format=pdf`} download="audit-report.pdf" data-testid="report-pdf">Report (PDF)</a></p>
        <table class="results" data-testid="egress-table"><thead><tr><th scope="col">site</th><th scope="col">data class</th>
          <th scope="col">regulation</th><th scope="col">destination</th><th scope="col">action</th><th scope="col" class="num">values</th></tr></thead>
        <tbody>${d.egress.map((e) => html`<tr data-site=${e.site}><td>${e.site ?? site}</td><td>${e.data_class}</td><td>${e.regulation || ''}</td>
          <td>${e.destination}</td><td>${e.action}</td><td class="num">${e.values}</td></tr>`)}</tbody></table>
        <h3>Each site's log, as the report read it</h3>
        <table class="results" data-testid="report-sites"><thead><tr><th scope="col">site</th><th scope="col">verify</th>
          <th scope="col">witness</th><th scope="col" class="num">leaves</th><th scope="col" class="num">in the period</th></tr></thead>
        <tbody>${(d.sites || []).map((x) => html`<tr data-site=${x.site}><td>${x.site}</td>
          <td><span class="badge ${x.verified ? 'ok' : 'partitioned'}">${x.verified ? 'verified' : 'not verified'}</span> ${x.verify_result}</td>
          <td>${x.witness}</td><td class="num">${x.leaves}</td><td class="num">${x.leaves_in_period}</td></tr>`)}</tbody></table>`)}
  <//>`;
}

export function Audit({ params }) {
  const tick = useTick(refreshSeconds(params, 0));
  const [sites, setSites] = useState([]);
  useEffect(() => { api('/ui/api/estate').then((x) => { if (x.ok) setSites((x.data.sites || []).map((s) => s.name)); }); }, []);
  return html`<section class="panel controls" aria-label="audit options">
      <label>Site <select value=${params.site || ''} onChange=${(e) => setParams({ site: e.target.value || null })}>
        <option value="">every site</option>${sites.map((s) => html`<option value=${s}>${s}</option>`)}</select></label>
    </section>
    <${Witness} tick=${tick} /><${Report} params=${params} tick=${tick} />`;
}
