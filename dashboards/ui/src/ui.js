// Shared pieces of every page: a panel with its loading, empty and error
// states, and a uPlot time-series chart.
import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const html = htm.bind(h);

// r: an api() answer or null while loading. children(r.data) renders the
// answer; empty(r.data) says whether there is nothing to show.
export function Panel({ title, r, testid, empty, emptyText, children, loadingText }) {
  let body;
  if (!r) body = html`<p class="state loading" role="status">${loadingText || 'Loading…'}</p>`;
  else if (!r.ok) body = html`<p class="state error" role="alert">${title ? `${title}: ` : ''}${r.error}</p>`;
  else if (empty && empty(r.data)) body = html`<p class="state empty">${emptyText || 'Nothing in this window.'}</p>`;
  else body = children(r.data);
  return html`<section class="panel" data-testid=${testid} aria-label=${title}
    data-state=${!r ? 'loading' : !r.ok ? 'error' : 'ok'}>
    ${title && html`<h2>${title}</h2>`}${body}</section>`;
}

export const PALETTE = ['#0969da', '#1b7c83', '#bc4c00', '#6e7781', '#9a6700', '#1a7f37', '#953800', '#0550ae'];

// data: [xs (unix seconds), ...ys]; series: labels for ys.
// xrange: [min, max] of the x axis (unix seconds), else the data's.
export function Chart({ data, series, height = 180, label, yfmt, xrange }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    if (!box.current) return undefined;
    const width = Math.max(320, box.current.clientWidth || 600);
    if (plot.current) plot.current.destroy();
    plot.current = new uPlot({
      width, height,
      series: [{}, ...series.map((s, i) => ({ label: s, stroke: PALETTE[i % PALETTE.length], width: 1.5,
        value: (u, v) => (v == null ? '–' : yfmt ? yfmt(v) : v.toFixed(2)) }))],
      axes: [{}, { size: 70, values: (u, vals) => vals.map((v) => (yfmt ? yfmt(v) : v)) }],
      ...(xrange ? { scales: { x: { time: true, range: () => xrange } } } : {}),
    }, data, box.current);
    return undefined;
  }, [data, series.join('\u0001'), xrange && xrange.join()]);
  useEffect(() => () => { if (plot.current) plot.current.destroy(); }, []);
  return html`<div class="chart" role="img" aria-label=${label} ref=${box}></div>`;
}
