// The centre's web UI: sign-in, the estate, traces, logs, cost and audit.
// Every page is this one bundle; the view, the time range and the refresh
// interval are in the URL's fragment (#/estate/SITE?range=1h&refresh=10s,
// #/traces?q=TRACEQL, #/traces/TRACEID, #/logs?q=LOGQL, #/cost?by=team,
// #/audit?site=fra) so a view can be shared.
import { h, render } from 'preact';
import { useEffect, useState, useCallback } from 'preact/hooks';
import htm from 'htm';
import { Estate } from './estate.js';
import { Traces } from './traces.js';
import { Logs } from './logs.js';
import { Cost } from './cost.js';
import { Audit } from './audit.js';
import { api, parseHash, RANGES, REFRESHES, setParams } from './api.js';

const html = htm.bind(h);

function useRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parseHash(hash);
}

// The time range and refresh interval every page reads from the URL.
function TimeBar({ params, view }) {
  const refreshDefault = view === 'estate' ? '5s' : 'off';
  return html`<div class="timebar" role="group" aria-label="time range and refresh">
    <label>Range <select data-testid="range" value=${params.range || '1h'}
      onChange=${(e) => setParams({ range: e.target.value })}>
      ${RANGES.map(([n]) => html`<option value=${n}>last ${n}</option>`)}</select></label>
    <label>Refresh <select data-testid="refresh" value=${params.refresh || refreshDefault}
      onChange=${(e) => setParams({ refresh: e.target.value })}>
      ${REFRESHES.map(([n]) => html`<option value=${n}>${n}</option>`)}</select></label>
  </div>`;
}

function Login({ onSignedIn }) {
  const [token, setToken] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setErr('');
    const r = await api('/ui/login', { method: 'POST', body: JSON.stringify({ token: token.trim() }) });
    setBusy(false);
    if (r.ok) onSignedIn(r.data);
    else setErr(r.status === 401 ? 'That token is not known to this centre.' : r.error);
  };
  return html`<main><form class="panel login" onSubmit=${submit} aria-label="sign in">
    <h2>Sign in to tollgate central</h2>
    <label for="token">Your access token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required
      value=${token} onInput=${(e) => setToken(e.target.value)} />
    <button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
    ${err && html`<p class="state error" role="alert">${err}</p>`}
  </form></main>`;
}

const LABELS = { estate: 'Estate', traces: 'Traces', logs: 'Logs', cost: 'Cost', audit: 'Audit' };

// A link to another view keeps the time range and refresh interval.
function keepTime(view, params) {
  const q = new URLSearchParams();
  if (params.range) q.set('range', params.range);
  if (params.refresh) q.set('refresh', params.refresh);
  const s = q.toString();
  return `#/${view}${s ? `?${s}` : ''}`;
}

function App() {
  const [session, setSession] = useState(undefined); // undefined: loading, null: signed out
  const [error, setError] = useState('');
  const route = useRoute();
  const load = useCallback(async () => {
    const r = await api('/ui/api/session');
    if (r.ok) setSession(r.data);
    else if (r.status === 401) setSession(null);
    else setError(r.error);
  }, []);
  useEffect(() => { load(); }, [load]);

  if (error) return html`<main><p class="state error" role="alert">The centre did not answer: ${error}</p></main>`;
  if (session === undefined) return html`<main><p class="state loading">Loading…</p></main>`;
  if (session === null) return html`<${Login} onSignedIn=${setSession} />`;

  const signOut = async () => {
    await api('/ui/logout', { method: 'POST' });
    setSession(null);
    location.hash = '';
  };
  const allowed = session.views.includes(route.view);
  let page;
  if (!allowed) {
    page = html`<p class="state error" role="alert" data-testid="forbidden">Your role (${session.role}) may not open the ${route.view} view.</p>`;
  } else if (route.view === 'estate') {
    page = html`<${Estate} site=${route.arg} params=${route.params} />`;
  } else if (route.view === 'traces') {
    page = html`<${Traces} traceId=${route.arg} params=${route.params} />`;
  } else if (route.view === 'logs') {
    page = html`<${Logs} params=${route.params} />`;
  } else if (route.view === 'cost') {
    page = html`<${Cost} params=${route.params} />`;
  } else {
    page = html`<${Audit} params=${route.params} />`;
  }
  return html`<a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to the content</a>
    <header>
      <h1>tollgate central</h1>
      <nav aria-label="views">${session.views.map((v) => html`<a href=${keepTime(v, route.params)}
        aria-current=${route.view === v ? 'page' : undefined}>${LABELS[v] || v}</a>`)}</nav>
      <${TimeBar} params=${route.params} view=${route.view} />
      <span class="who" data-testid="who">${session.user} · ${session.role}</span>
      <button onClick=${signOut}>Sign out</button>
    </header>
    <main id="main" tabindex="-1">${page}</main>`;
}

// index.html's "Loading…" is for the moment before this script runs.
const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
