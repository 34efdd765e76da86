// The one way the UI talks to the centre: same-origin fetch with the
// session cookie; never throws, always { ok, status, data, error }.
export async function api(path, opts = {}) {
  try {
    const res = await fetch(path, {
      credentials: 'same-origin',
      headers: opts.body ? { 'Content-Type': 'application/json' } : {},
      ...opts,
    });
    let data = null;
    const text = await res.text();
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    const error = res.ok ? '' : (data && data.error) || `${res.status} ${res.statusText}`;
    return { ok: res.ok, status: res.status, data, error };
  } catch (e) {
    return { ok: false, status: 0, data: null, error: `network error: ${e.message}` };
  }
}

export function fmtBytes(n) {
  if (n == null) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function fmtSeconds(s) {
  if (s == null || s < 0 || !Number.isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(0)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

// ---- the URL: #/view/arg?range=1h&refresh=10s (shareable) ----------------

export const RANGES = [['15m', 900], ['1h', 3600], ['6h', 21600], ['24h', 86400], ['7d', 604800], ['30d', 2592000]];
export const REFRESHES = [['off', 0], ['5s', 5], ['10s', 10], ['30s', 30], ['1m', 60], ['5m', 300]];

export function parseHash(hash) {
  const [p, q = ''] = hash.replace(/^#\/?/, '').split('?');
  const parts = p.split('/').filter(Boolean).map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(q));
  return { view: parts[0] || 'estate', arg: parts.slice(1).join('/'), params };
}

// The hash for view/arg with params (merged over the current ones unless
// fresh); null values drop a parameter.
export function hashFor(view, arg, params = {}, fresh = false) {
  const cur = fresh ? {} : parseHash(location.hash).params;
  const all = { ...cur, ...params };
  for (const k of Object.keys(all)) if (all[k] == null || all[k] === '') delete all[k];
  const q = new URLSearchParams(all).toString();
  return `#/${view}${arg ? `/${encodeURIComponent(arg)}` : ''}${q ? `?${q}` : ''}`;
}

export function setParams(params) {
  const r = parseHash(location.hash);
  location.hash = hashFor(r.view, r.arg, params);
}

// The window the URL names: range (a RANGES name, default 1h) ending now.
export function timeWindow(params) {
  const secs = (RANGES.find(([n]) => n === params.range) || RANGES[1])[1];
  const end = Date.now() / 1000;
  return { start: end - secs, end, secs };
}

export function refreshSeconds(params, def) {
  const r = REFRESHES.find(([n]) => n === params.refresh);
  return r ? r[1] : def;
}

export const ns = (s) => BigInt(Math.floor(s)) * 1000000000n;
export const isoDay = (s) => new Date(s * 1000).toISOString().slice(0, 10);
export const isoSecond = (s) => `${new Date(Math.floor(s) * 1000).toISOString().slice(0, 19)}Z`;
