// The client half of bench/bench-query.sh: trace-by-id latency at the
// centre (p50, p99 over --lookups random known ids) and the TraceQL scan
// rate of one site (its own inspected-spans and time figures).
import fs from 'node:fs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const ids = fs.readFileSync(args.ids, 'utf8').trim().split('\n');
const lookups = Number(args.lookups || 300);
const auth = { Authorization: `Bearer ${args.token}` };

// Warm-up: the first reads fault the stores' pages in.
for (let i = 0; i < 20; i++) await (await fetch(`${args.centre}/api/v1/query/trace/${ids[i % ids.length]}`, { headers: auth })).arrayBuffer();
const lat = [];
let spans = 0;
for (let i = 0; i < lookups; i++) {
  const id = ids[Math.floor(Math.random() * ids.length)];
  const t0 = performance.now();
  const r = await fetch(`${args.centre}/api/v1/query/trace/${id}`, { headers: auth });
  const doc = await r.json();
  lat.push(performance.now() - t0);
  if (r.status !== 200 || doc.is_partial) throw new Error(`trace ${id}: HTTP ${r.status} partial=${doc.is_partial}`);
  spans = doc.stats.spans;
}
lat.sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
console.log(`trace by id at the centre, 3 sites x ${args.spans} spans: ${lookups} lookups, ` +
  `${spans} spans per trace from 3 sites: p50 ${pct(0.5).toFixed(2)} ms, p99 ${pct(0.99).toFixed(2)} ms, ` +
  `max ${lat[lat.length - 1].toFixed(2)} ms`);

// A filter that matches nothing scans every span of the site.
const q = encodeURIComponent('{ span.http.route = "/no/such/route" }');
let best = 0;
for (let i = 0; i < 3; i++) {
  const r = await fetch(`${args.site}/api/v1/query/traces?q=${q}&limit=20`, { headers: { Authorization: `Bearer ${args['site-token']}` } });
  const doc = await r.json();
  if (r.status !== 200) throw new Error(`search: HTTP ${r.status}: ${JSON.stringify(doc)}`);
  const rate = doc.stats.inspectedSpans / (doc.stats.tookMs / 1000);
  console.log(`TraceQL scan at one site (raw view, one worker thread): ${doc.stats.inspectedSpans} spans in ` +
    `${doc.stats.tookMs.toFixed(0)} ms = ${(rate / 1e6).toFixed(2)} M spans/s`);
  best = Math.max(best, rate);
}
console.log(`best scan rate: ${(best / 1e6).toFixed(2)} M spans/s per core`);
