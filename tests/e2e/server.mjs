// Browser end-to-end tests of the spanlens SPA against the REAL server: `spanlens serve` (the
// debug binary, target/debug/spanlens or $SPANLENS_BIN) serving dist/, with a fresh data dir and
// free ports. Builds nothing: run `cargo build -p spanlens-server` and `trunk build --release`
// first. Data goes in through the server's real OTLP/HTTP ingest (the Tempo client OTLP files,
// read in place from ../shared), expectations come from the core through `spanlens query` and
// `spanlens analyze`, and the share round trip goes through the real POST /api/upload.
// Any console error or page error fails the test that caused it. Screenshots go to
// target/screenshots/server-*.png. Exit code 0 when every test passed.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, harness, assert, dropFiles, figure, rowCount } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const shared = process.env.SPANLENS_SHARED || path.resolve(repo, '..', 'shared');
const shots = path.join(repo, 'target', 'screenshots');
mkdirSync(shots, { recursive: true });

const bin = process.env.SPANLENS_BIN || path.join(repo, 'target', 'debug', 'spanlens');
const dist = path.join(repo, 'dist');
if (!existsSync(bin)) fail(`${bin} is missing: run cargo build -p spanlens-server first (or set SPANLENS_BIN)`);
if (!existsSync(path.join(dist, 'index.html'))) fail('dist/ is missing: run trunk build --release first');

const clientDir = path.join(shared, 'tempo-api', 'client_otlp');
const clientFiles = readdirSync(clientDir).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(clientDir, f));
const TRACE_ID = '2909406c2e416788f5ec52ed01088475';
const TRACE_FILE = path.join(clientDir, `${TRACE_ID}.json`);
const YELP = path.join(shared, 'fixtures', 'zipkin', 'zipkin-yelp.json');
const QUERY = '{ resource.service.name = "knowledge-router" && status = error }';

function fail(msg) {
  console.error(msg);
  process.exit(1);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `probe` (async, truthy when done) every 100 ms for at most `ms`.
async function until(what, ms, probe) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < ms) {
    try {
      if (await probe()) return;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

// ---------------------------------------------------------------------------------------------
// The server.

const [httpPort, otlpHttpPort, otlpGrpcPort] = [await freePort(), await freePort(), await freePort()];
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'spanlens-e2e-server-'));
const base = `http://127.0.0.1:${httpPort}`;
const otlpBase = `http://127.0.0.1:${otlpHttpPort}`;
let serverLog = '';
const server = spawn(bin, ['serve', '--data-dir', dataDir, '--dist', dist,
  '--http-listen', `127.0.0.1:${httpPort}`, '--otlp-http-listen', `127.0.0.1:${otlpHttpPort}`,
  '--otlp-grpc-listen', `127.0.0.1:${otlpGrpcPort}`], {
  // The suite's own configuration only: no SPANLENS_* from the caller (tokens, tenants, a config
  // file) and no ./spanlens.toml from the repo.
  cwd: dataDir,
  env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPANLENS_'))),
  stdio: ['ignore', 'pipe', 'pipe'],
});
server.stdout.on('data', (d) => { serverLog += d; });
server.stderr.on('data', (d) => { serverLog += d; });
let serverExited = null;
server.on('exit', (code, signal) => { serverExited = `${code ?? signal}`; });

let browser;
async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  if (serverExited === null) server.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
function dumpLog() {
  console.error(`--- spanlens serve log (last 3000 chars) ---\n${serverLog.slice(-3000)}`);
}
process.on('uncaughtException', async (e) => {
  console.error(`setup failed: ${e.stack || e}`);
  dumpLog();
  await cleanup();
  process.exit(1);
});
process.on('unhandledRejection', (e) => { throw e; });

await until('GET /ready', 20000, async () => {
  if (serverExited !== null) throw new Error(`spanlens serve exited (${serverExited})`);
  const r = await fetch(`${base}/ready`);
  return r.ok;
});

// Real ingest: each Tempo client OTLP file to OTLP/HTTP /v1/traces.
for (const f of clientFiles) {
  const r = await fetch(`${otlpBase}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: readFileSync(f) });
  if (!r.ok) throw new Error(`POST /v1/traces ${path.basename(f)}: ${r.status} ${await r.text()}`);
}
// Stored and readable (ingest may commit asynchronously).
for (const f of clientFiles) {
  const id = path.basename(f, '.json');
  await until(`trace ${id} readable from /api/traces`, 10000, async () => (await fetch(`${base}/api/traces/${id}`)).ok);
}

// Expectations from the core, independently of the server: `spanlens query` and `analyze`.
function cli(args) {
  return execFileSync(bin, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
}
const expected = JSON.parse(cli(['query', QUERY, ...clientFiles, '--format', 'json', '--limit', '1000']));
const expectedIds = (expected.traces || []).map((t) => (t.traceID || t.traceId || t.trace_id).padStart(32, '0')).sort();
if (!expectedIds.length) throw new Error(`spanlens query found no traces for ${QUERY}: the test would prove nothing`);
const analysis = JSON.parse(cli(['analyze', TRACE_FILE, '--format', 'json']));
const traceStats = analysis.traces.find((t) => t.trace_id === TRACE_ID);
assert(traceStats, `spanlens analyze did not report ${TRACE_ID}`);
const expectedSpans = traceStats.span_count;
const expectedServices = Array.isArray(traceStats.services) ? traceStats.services.length : traceStats.services;
assert(expectedSpans === 15, `the core counts ${expectedSpans} spans in ${TRACE_ID}, the test expects 15`);
assert(Number.isInteger(expectedServices) && expectedServices > 0, `no service count from spanlens analyze: ${JSON.stringify(traceStats).slice(0, 300)}`);

// Time window of the ingested data (Unix seconds), for the search page's absolute range.
let minNs = Infinity;
let maxNs = 0;
for (const f of clientFiles) {
  for (const rs of JSON.parse(readFileSync(f, 'utf8')).resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        minNs = Math.min(minNs, Number(BigInt(s.startTimeUnixNano) / 1000000000n));
        maxNs = Math.max(maxNs, Number(BigInt(s.endTimeUnixNano) / 1000000000n));
      }
    }
  }
}
const winStart = Math.floor(minNs / 60) * 60 - 3600;
const winEnd = Math.ceil(maxNs / 60) * 60 + 3600;

// ---------------------------------------------------------------------------------------------
// The browser.

browser = await launchBrowser();
// No console error is expected against the real server: every request the SPA makes here
// answers 2xx (v2 trace by id exists on spanlens, /api/upload exists).
const { newPage, test, open, summary } = harness({ browser, base, shots });

await test('trace by id from the real server: header figures and rows', async (page) => {
  await open(page, `/trace/${TRACE_ID}?source=server`);
  await page.waitForSelector('[data-span-id]', { timeout: 15000 });
  assert((await figure(page, 'trace-span-count')) === String(expectedSpans), `span count ${await figure(page, 'trace-span-count')} != ${expectedSpans}`);
  assert((await figure(page, 'trace-service-count')) === String(expectedServices), `service count ${await figure(page, 'trace-service-count')} != core ${expectedServices}`);
  assert((await rowCount(page)) === expectedSpans, `row count ${await rowCount(page)}`);
  const rows = await page.$$eval('[data-span-id]', (rs) => rs.map((r) => r.dataset.spanId));
  assert(rows.length === expectedSpans && rows.every((id) => /^[0-9a-f]{16}$/.test(id)), `bad rows ${rows.slice(0, 3)} (${rows.length})`);
  const shown = (await page.textContent('.th-id')).trim();
  assert(shown.includes(TRACE_ID), `header id ${shown}`);
  await page.screenshot({ path: path.join(shots, 'server-trace.png') });
});

await test('TraceQL search on the real server lists what spanlens query finds', async (page) => {
  await open(page, `/search?source=server&start=${winStart}&end=${winEnd}`);
  await page.fill('[data-testid=traceql-input]', QUERY);
  await page.click('[data-testid=search-button]');
  await page.waitForSelector('[data-testid=search-results] [data-trace-id], [data-testid=no-results]', { timeout: 15000 });
  const got = (await page.$$eval('[data-testid=search-results] [data-trace-id]', (rs) => rs.map((r) => r.dataset.traceId)))
    .map((id) => id.padStart(32, '0'));
  const uniq = [...new Set(got)].sort();
  assert(JSON.stringify(uniq) === JSON.stringify(expectedIds), `search lists ${uniq.join(',') || 'nothing'}, spanlens query finds ${expectedIds.join(',')}`);
  await page.screenshot({ path: path.join(shots, 'server-search.png') });
  // Open a hit: the trace comes from the server, the time range stays in the URL.
  await page.click(`[data-testid=search-results] [data-trace-id="${got[0]}"], [data-testid=search-results] [data-trace-id]`);
  await page.waitForSelector('[data-span-id]', { timeout: 15000 });
  const u = new URL(page.url());
  assert(u.searchParams.get('start') && u.searchParams.get('end'), `time range lost opening a hit: ${page.url()}`);
});

await test('the search builder offers the server\'s attribute names and typed values', async (page) => {
  const tags = await (await fetch(`${base}/api/v2/search/tags`)).json();
  const scoped = [...new Set(tags.scopes.filter((s) => s.name !== 'intrinsic').flatMap((s) => s.tags.map((t) => `${s.name}.${t}`)))].sort();
  assert(scoped.some((t) => t.startsWith('span.')), `the server lists no span attributes: ${JSON.stringify(tags).slice(0, 300)}`);
  // A span attribute with string values, and its values as the server lists them.
  let key = null;
  let values = [];
  for (const t of scoped.filter((t) => t.startsWith('span.'))) {
    const v = (await (await fetch(`${base}/api/v2/search/tag/${encodeURIComponent(t)}/values`)).json()).tagValues || [];
    if (v.length > 0 && v.every((x) => x.type === 'string')) { key = t; values = v.map((x) => x.value); break; }
  }
  assert(key, 'no span attribute with string values on the server');
  await open(page, `/search?source=server&start=${winStart}&end=${winEnd}`);
  await page.click('details summary:has-text("Query builder")');
  await page.waitForFunction((n) => document.querySelectorAll('#tag-names option').length === n, scoped.length, { timeout: 15000 });
  const offered = await page.$$eval('#tag-names option', (os) => os.map((o) => o.value));
  assert(JSON.stringify(offered) === JSON.stringify(scoped), `builder offers ${offered.slice(0, 5)}…, server lists ${scoped.slice(0, 5)}…`);
  await page.fill('[data-testid=builder-tag-key]', key);
  await page.dispatchEvent('[data-testid=builder-tag-key]', 'change');
  const listId = await page.getAttribute('[data-testid=builder-tag-value]', 'list');
  await page.waitForFunction(([id, n]) => document.querySelectorAll(`#${id} option`).length === n, [listId, values.length], { timeout: 15000 });
  const offeredValues = (await page.$$eval(`#${listId} option`, (os) => os.map((o) => o.value))).sort();
  assert(JSON.stringify(offeredValues) === JSON.stringify([...values].sort()), `values of ${key}: ${offeredValues} vs ${values}`);
  await page.fill('[data-testid=builder-tag-value]', values[0]);
  await page.click('button:has-text("Write TraceQL")');
  const written = await page.inputValue('[data-testid=traceql-input]');
  assert(written === `{ ${key} = ${JSON.stringify(values[0])} }`, `builder wrote ${written}`);
  await page.click('[data-testid=search-button]');
  await page.waitForSelector('[data-testid=search-results] [data-trace-id]', { timeout: 15000 });
  const want = JSON.parse(cli(['query', written, ...clientFiles, '--format', 'json', '--limit', '1000']));
  const wantIds = [...new Set((want.traces || []).map((t) => (t.traceID || t.traceId || t.trace_id).padStart(32, '0')))].sort();
  const got = [...new Set((await page.$$eval('[data-testid=search-results] [data-trace-id]', (rs) => rs.map((r) => r.dataset.traceId))).map((id) => id.padStart(32, '0')))].sort();
  assert(wantIds.length > 0 && JSON.stringify(got) === JSON.stringify(wantIds), `builder search lists ${got}, spanlens query finds ${wantIds}`);
  await page.screenshot({ path: path.join(shots, 'server-search-builder.png') });
});

await test('share a dropped Zipkin file through POST /api/upload; the permalink opens it elsewhere', async (page) => {
  await open(page);
  await dropFiles(page, [YELP]);
  await page.waitForSelector('[data-span-id]', { timeout: 20000 });
  const spans = await figure(page, 'trace-span-count');
  assert(spans === '16', `dropped yelp trace shows ${spans} spans, expected 16`);
  const localId = (await page.textContent('.th-id')).trim();
  const uploaded = page.waitForResponse((r) => r.url().endsWith('/api/upload') && r.request().method() === 'POST', { timeout: 15000 });
  await page.click('[data-testid=share-button]');
  const resp = await uploaded;
  assert(resp.status() === 200, `POST /api/upload answered ${resp.status()}: ${await resp.text()}`);
  const body = await resp.json();
  assert(body.spansStored === 16 && body.traces.length === 1 && body.traces[0].spanCount === 16, `upload answer ${JSON.stringify(body).slice(0, 300)}`);
  await page.waitForSelector('.toast:has-text("permalink copied")', { timeout: 10000 });
  const link = await page.evaluate(() => navigator.clipboard.readText());
  const u = new URL(link);
  assert(u.origin === base && u.pathname === `/trace/${localId}`, `permalink ${link} is not /trace/${localId} on ${base}`);
  assert(body.traces[0].url.startsWith(`/trace/${localId}`), `server permalink ${body.traces[0].url} != SPA's /trace/${localId}`);
  assert(u.searchParams.get('source') === 'server', `permalink without source=server: ${link}`);
  assert(/^\d+$/.test(u.searchParams.get('start') || '') && /^\d+$/.test(u.searchParams.get('end') || ''), `time range not kept in the permalink: ${link}`);
  assert(page.url() === link, `address bar ${page.url()} != permalink ${link}`);
  await page.screenshot({ path: path.join(shots, 'server-share-source.png') });

  // The round trip: a new browser context (no local state) opens the permalink.
  const other = await newPage();
  try {
    await other.goto(link);
    await other.waitForSelector('[data-span-id]', { timeout: 15000 });
    assert((await figure(other, 'trace-span-count')) === '16', `permalink shows ${await figure(other, 'trace-span-count')} spans`);
    assert((await rowCount(other)) === 16, `permalink row count ${await rowCount(other)}`);
    assert((await other.textContent('.th-id')).trim() === localId, 'permalink opened another trace');
    assert(new URL(other.url()).searchParams.get('start') === u.searchParams.get('start'), `start changed: ${other.url()}`);
    await other.screenshot({ path: path.join(shots, 'server-share-permalink.png') });
    assert(!other.errors.length, other.errors.join('\n'));
  } finally {
    await other.context().close();
  }
});

await test('share of a server trace copies its URL with the time range', async (page) => {
  await open(page, `/trace/${TRACE_ID}?source=server`);
  await page.waitForSelector('[data-span-id]', { timeout: 15000 });
  await page.click('[data-testid=share-button]');
  await page.waitForSelector('.toast:has-text("link copied")', { timeout: 10000 });
  const link = new URL(await page.evaluate(() => navigator.clipboard.readText()));
  assert(link.pathname === `/trace/${TRACE_ID}` && link.searchParams.get('source') === 'server', `link ${link}`);
  assert(link.searchParams.get('start') && link.searchParams.get('end'), `time range not kept: ${link}`);
});

// Insights over every trace of a server time range: the whole ingested window, a minute either
// side. The service graph must equal the core's over the same 4 files.
const insStart = minNs - 60;
const insEnd = maxNs + 60;
const setGraph = JSON.parse(cli(['analyze', ...clientFiles, '--format', 'json'])).service_graph;
assert(setGraph.nodes.length > 1 && setGraph.edges.length > 0, `the core's service graph is too small to prove anything: ${JSON.stringify(setGraph).slice(0, 300)}`);

await test('insights: analyse every trace of a server time range (service graph = the core)', async (page) => {
  const searches = [];
  page.on('request', (r) => { if (r.url().includes('/api/search?')) searches.push(r.url()); });
  await open(page, `/insights?source=server&start=${insStart}&end=${insEnd}&view=graph`);
  await page.waitForSelector('[data-testid=server-analyse]', { timeout: 15000 });
  const label = (await page.textContent('[data-testid=server-analyse]')).trim();
  assert(/^Analyse traces from this server in /.test(label), `button says ${label}`);
  assert((await page.inputValue('[data-testid=server-limit]')) === '500', 'limit is not 500 by default');
  await page.click('[data-testid=server-analyse]');
  const want = setGraph.nodes.map((n) => n.name).sort();
  let nodes = [];
  // The link itself starts a fetch too; the click restarts it. Wait for the graph to settle.
  await until(`graph nodes ${want.join(',')} (showing ${nodes.join(',')})`, 30000, async () => {
    if (await page.$('[data-testid=server-fetch-progress]')) return false;
    nodes = [...new Set(await page.$$eval('[data-testid=service-graph] [data-service]', (ns) => ns.map((n) => n.dataset.service)))].sort();
    return JSON.stringify(nodes) === JSON.stringify(want);
  });
  const search = new URL(searches[searches.length - 1]);
  assert(search.searchParams.get('start') === String(insStart) && search.searchParams.get('end') === String(insEnd) && search.searchParams.get('limit') === '500',
    `search request ${search}`);
  const summary = await page.textContent('[data-testid=insights-summary]');
  assert(summary.trim().startsWith(`${clientFiles.length} traces`), `summary ${summary}`);
  const edges = (await page.$$eval('[data-edge]', (es) => es.map((e) => `${e.dataset.edge}=${e.dataset.requests}`))).sort();
  const wantEdges = setGraph.edges.map((e) => `${e.client}->${e.server}=${e.requests}`).sort();
  assert(JSON.stringify([...new Set(edges)]) === JSON.stringify(wantEdges), `graph edges ${edges.join(',')} != core ${wantEdges.join(',')}`);
  const u = new URL(page.url());
  assert(u.pathname === '/insights' && u.searchParams.get('source') === 'server' && u.searchParams.get('start') === String(insStart)
    && u.searchParams.get('end') === String(insEnd) && u.searchParams.get('view') === 'graph', `range not kept in the URL: ${page.url()}`);
  await page.screenshot({ path: path.join(shots, 'server-insights-range.png') });
});

await test('insights: "Analyse these results" of a TraceQL search analyses just the matching traces', async (page) => {
  const matchingFiles = expectedIds.map((id) => path.join(clientDir, `${id}.json`));
  const want = JSON.parse(cli(['analyze', ...matchingFiles, '--format', 'json'])).service_graph;
  const searches = [];
  page.on('request', (r) => { if (r.url().includes('/api/search?')) searches.push(new URL(r.url())); });
  await open(page, `/search?source=server&start=${winStart}&end=${winEnd}`);
  await page.fill('[data-testid=traceql-input]', QUERY);
  await page.click('[data-testid=search-button]');
  await page.waitForSelector('[data-testid=analyse-results]', { timeout: 15000 });
  await page.click('[data-testid=analyse-results]');
  const wantNodes = want.nodes.map((n) => n.name).sort();
  let nodes = [];
  await until(`graph nodes ${wantNodes.join(',')} (showing ${nodes.join(',')})`, 30000, async () => {
    if (await page.$('[data-testid=server-fetch-progress]')) return false;
    nodes = [...new Set(await page.$$eval('[data-testid=service-graph] [data-service]', (ns) => ns.map((n) => n.dataset.service)))].sort();
    return JSON.stringify(nodes) === JSON.stringify(wantNodes);
  });
  const edges = [...new Set(await page.$$eval('[data-edge]', (es) => es.map((e) => `${e.dataset.edge}=${e.dataset.requests}`)))].sort();
  const wantEdges = want.edges.map((e) => `${e.client}->${e.server}=${e.requests}`).sort();
  assert(JSON.stringify(edges) === JSON.stringify(wantEdges), `graph edges ${edges.join(',')} != core ${wantEdges.join(',')}`);
  const summary = await page.textContent('[data-testid=insights-summary]');
  assert(summary.trim().startsWith(`${expectedIds.length} traces`), `summary ${summary}`);
  const last = searches[searches.length - 1];
  assert(last.searchParams.get('q') === QUERY, `the insights search did not carry the query: ${last}`);
  const u = new URL(page.url());
  assert(u.pathname === '/insights' && u.searchParams.get('q') === QUERY && u.searchParams.get('start') === String(winStart),
    `query or range not kept in the URL: ${page.url()}`);
  await page.screenshot({ path: path.join(shots, 'server-insights-search-results.png') });
});

await test('insights: RED charts over a server range come from /api/metrics/query_range', async (page) => {
  const metrics = [];
  page.on('request', (r) => { if (r.url().includes('/api/metrics/query_range')) metrics.push(new URL(r.url())); });
  const metricsOk = [];
  page.on('response', (r) => { if (r.url().includes('/api/metrics/query_range')) metricsOk.push(r.status()); });
  await open(page, `/insights?source=server&start=${insStart}&end=${insEnd}&view=red`);
  await page.waitForSelector('canvas[data-chart=rate]', { timeout: 30000 });
  await until('the query_range requests', 15000, async () => metrics.length >= 3 && metricsOk.length >= 3);
  assert(metricsOk.every((s) => s === 200), `query_range answered ${metricsOk.join(',')}`);
  assert(metrics.every((u) => u.searchParams.get('start') === String(insStart) && u.searchParams.get('end') === String(insEnd)),
    `query_range outside the range: ${metrics.map(String).join(' ')}`);
  const qs = metrics.map((u) => u.searchParams.get('q'));
  assert(qs.some((q) => q.includes('rate()')) && qs.some((q) => q.includes('quantile_over_time')), `queries ${qs.join(' | ')}`);
  assert((await page.inputValue('[data-testid=red-source]')) === '-1', 'the RED range is not the analysed server range');
  await page.waitForSelector('.an-toolbar >> text=TraceQL metrics', { timeout: 10000 });
  const note = await page.textContent('.an-note');
  assert(/TraceQL metrics/.test(note) && !/^From the loaded traces/.test(note.trim()), `the note under the charts says: ${note}`);
  await sleep(300);
  const painted = await page.$$eval('canvas[data-chart=rate], canvas[data-chart=duration]', (cs) => cs.map((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 16) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]},${d[i + 3]}`);
    return seen.size;
  }));
  assert(painted.length === 2 && painted.every((n) => n > 3), `blank RED canvases (distinct colours ${painted.join(',')})`);
  const alert = await page.$('[role=alert].error-text');
  assert(!alert, `an error shows: ${alert && await alert.textContent()}`);
  await page.screenshot({ path: path.join(shots, 'server-insights-red.png') });
});

const code = summary();
if (code) dumpLog();
await cleanup();
process.exit(code);
