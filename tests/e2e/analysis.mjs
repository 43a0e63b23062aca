// Browser tests of the analysis views (service graph, RED charts, grades and bottlenecks,
// statistics, flame graph, trace graph, errors, compare) in Debian's headless Chromium via
// playwright-core, against dist/ served by tests/serve.mjs. The expected figures are the core's,
// from tests/e2e/analysis-expected.json (checked against the core by the Rust test
// tests/analysis_expected.rs). Screenshots go to target/screenshots/analysis-*.png.
// Any console error or page error fails the test that caused it. Exit code 0 when all pass.
//   node tests/e2e/analysis.mjs          (SPANLENS_DIST=<dir> to test another build than dist/)
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const fixtures = process.env.SPANLENS_FIXTURES || path.resolve(repo, '..', 'shared', 'fixtures');
const shots = path.join(repo, 'target', 'screenshots');
mkdirSync(shots, { recursive: true });
const expected = JSON.parse(readFileSync(path.join(here, 'analysis-expected.json'), 'utf8'));
const FIVE = path.join(fixtures, 'otlp', 'oteldemo-file-exporter-5-traces.jsonl');

const server = await new Promise((resolve, reject) => {
  const child = spawn(process.execPath, [path.join(here, '..', 'serve.mjs'), process.env.SPANLENS_DIST || path.join(repo, 'dist'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (d) => {
    const m = /listening (\d+)/.exec(String(d));
    if (m) resolve({ child, base: `http://127.0.0.1:${m[1]}` });
  });
  child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
});
const base = server.base;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});

let failures = 0;
let passed = 0;
async function test(name, fn) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  const t0 = Date.now();
  try {
    await fn(page);
    if (errors.length) throw new Error(errors.join('\n'));
    passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e.message.split('\n').slice(0, 8).join('\n     ')}`);
    await page.screenshot({ path: path.join(shots, `FAIL-analysis-${name.replace(/\W+/g, '_')}.png`) }).catch(() => {});
  } finally {
    await context.close();
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
// Compares as JSON with object keys sorted (key order is not meaningful).
function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
  return v;
}
function eq(actual, wanted, what) {
  const a = JSON.stringify(canon(actual)), w = JSON.stringify(canon(wanted));
  if (a !== w) throw new Error(`${what}: got ${a}, expected ${w}`);
}
const shot = (page, name) => page.screenshot({ path: path.join(shots, `analysis-${name}.png`) });

async function dropFiles(page, files) {
  const payload = files.map((f) => ({ name: path.basename(f), text: readFileSync(f, 'utf8') }));
  await page.evaluate((items) => {
    const dt = new DataTransfer();
    for (const it of items) dt.items.add(new File([it.text], it.name, { type: 'application/json' }));
    document.body.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, payload);
}

// In-app navigation (keeps the loaded set), as a link click would.
async function go(page, url) {
  await page.evaluate((u) => {
    history.pushState(null, '', u);
    dispatchEvent(new PopStateEvent('popstate'));
  }, url);
}

async function loadDemo(page, query = '') {
  await page.goto(`${base}/${query}`);
  await page.waitForSelector('[data-testid=demo-button]', { timeout: 15000 });
  await page.click('[data-testid=demo-button]');
  await page.waitForSelector('[data-trace-id], [data-span-id]', { timeout: 20000 });
}

// Counts the distinct colours of a canvas (a blank canvas has one).
async function canvasColours(page, selector) {
  return page.$eval(selector, (c) => {
    const g = c.getContext('2d');
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 16) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
}

async function checkGraph(page, exp) {
  await page.waitForSelector('[data-testid=service-graph]', { timeout: 20000 });
  const nodes = await page.$$eval('[data-testid=service-graph] [data-service]', (els) => els.map((e) => e.dataset.service).sort());
  eq(nodes, [...exp.nodes].sort(), 'service graph nodes');
  const edges = await page.$$eval('[data-edge]', (els) => Object.fromEntries(els.map((e) => [e.dataset.edge, Number(e.dataset.requests)])));
  eq(Object.keys(edges).sort(), Object.keys(exp.edges).sort(), 'service graph edges');
  for (const [k, v] of Object.entries(exp.edges)) eq(edges[k], v, `requests of ${k}`);
}

await test('service graph of the demo set: nodes and edges equal the core', async (page) => {
  await loadDemo(page);
  await page.click('[data-testid=nav-insights]');
  await checkGraph(page, expected.demo);
  assert(new URL(page.url()).searchParams.get('view') === 'graph', `URL ${page.url()}`);
  assert(await page.$('[data-kind=database]'), 'no database node drawn as a database');
  await shot(page, 'service-graph');
  // Node → RED figures and operations; focus → neighbourhood only.
  await page.click('[data-service="frontend"]');
  await page.waitForSelector('[data-testid=graph-node-details]');
  await page.selectOption('[data-testid=graph-focus]', 'payment-service');
  const focused = await page.$$eval('[data-testid=service-graph] [data-service]', (els) => els.map((e) => e.dataset.service));
  const neighbours = new Set(['payment-service']);
  for (const k of Object.keys(expected.demo.edges)) {
    const [c, s] = k.split('->');
    if (c === 'payment-service') neighbours.add(s);
    if (s === 'payment-service') neighbours.add(c);
  }
  eq(focused.sort(), [...neighbours].sort(), 'focused neighbourhood');
  assert(new URL(page.url()).searchParams.get('service') === 'payment-service', 'focus not in URL');
  await shot(page, 'service-graph-focus');
  await page.selectOption('[data-testid=graph-focus]', '');
  // Edge → spans behind it → opens the span in the waterfall.
  const edge = Object.keys(expected.demo.edges).find((k) => k.startsWith('frontend->') && !k.includes('postgres'));
  await page.$eval(`[data-edge="${edge}"]`, (e) => e.dispatchEvent(new MouseEvent('click', { bubbles: true })));
  await page.waitForSelector('[data-testid=edge-spans] button');
  await shot(page, 'service-graph-edge');
  await page.click('[data-testid=edge-spans] button');
  await page.waitForSelector('[data-span-id]');
  assert(/\/trace\/[0-9a-f]{32}/.test(page.url()) && new URL(page.url()).searchParams.get('span'), `not opened: ${page.url()}`);
  await page.waitForSelector('[aria-selected=true][data-span-id], .selected[data-span-id], [data-testid=span-details]', { timeout: 5000 }).catch(() => {});
});

await test('grades: badges equal the core; bottlenecks; rules editor validates and re-grades', async (page) => {
  await loadDemo(page);
  await go(page, '/insights?view=grades');
  await page.waitForSelector('[data-testid=operations-table]', { timeout: 20000 });
  const badges = await page.$$eval('[data-testid=operations-table] [data-operation][data-grade]', (els) => Object.fromEntries(els.map((e) => [e.dataset.operation, e.dataset.grade + '|' + e.textContent.trim()])));
  for (const [op, g] of Object.entries(expected.demo.grades)) eq(badges[op], `${g}|${g}`, `grade badge of ${op}`);
  eq(Object.keys(badges).length, Object.keys(expected.demo.grades).length, 'operation count');
  const bns = await page.$$eval('[data-testid=bottleneck]', (els) => els.map((e) => e.dataset.operation));
  eq(bns, expected.demo.bottlenecks, 'bottlenecks by impact');
  await shot(page, 'grades');
  // Invalid rules: inline error, Apply disabled.
  await page.click('[data-testid=rules-editor] summary');
  await page.fill('[data-testid=rules-text]', '[[category]]\nname = "API"\nthresholds = { a = "fast" }');
  await page.waitForFunction(() => /line/.test(document.querySelector('[data-testid=rules-error]').textContent));
  assert(await page.isDisabled('[data-testid=rules-apply]'), 'Apply enabled for invalid rules');
  await shot(page, 'rules-error');
  // Valid rules: everything graded with hour-long bounds → all A; carried in the URL and storage.
  const lenient = ['API', 'Database', 'AI', 'Memory', 'Internal'].filter((n) => n !== 'Internal')
    .map((n) => `[[category]]\nname = "${n}"\nthresholds = { a = "1h", b = "2h", c = "3h", d = "4h", target = "1h", alert = "2h", critical = "3h" }`).join('\n')
    + '\n[fallback]\ngrade_as = "API"\n';
  await page.fill('[data-testid=rules-text]', lenient);
  await page.waitForFunction(() => document.querySelector('[data-testid=rules-error]').textContent === 'Valid rules');
  await page.click('[data-testid=rules-apply]');
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('[data-testid=operations-table] [data-grade]')];
    return b.length > 0 && b.every((x) => x.dataset.grade === 'A');
  }, null, { timeout: 20000 });
  assert(new URL(page.url()).searchParams.get('rules'), 'rules not carried in the URL');
  assert(await page.evaluate(() => (localStorage.getItem('spanlens.rules') || '').includes('1h')), 'rules not stored');
  eq(await page.$$eval('[data-testid=bottleneck]', (e) => e.length), 0, 'bottlenecks with lenient rules');
  // Back to built-in rules.
  await page.click('[data-testid=rules-reset]');
  await page.waitForFunction(() => !new URL(location.href).searchParams.get('rules'));
});

await test('RED charts are drawn (non-blank canvases) with hover values', async (page) => {
  await loadDemo(page);
  await go(page, '/insights?view=red&service=frontend');
  await page.waitForSelector('canvas[data-chart=rate]', { timeout: 20000 });
  await page.waitForTimeout(300);
  for (const c of ['rate', 'errors', 'duration', 'histogram']) {
    const n = await canvasColours(page, `canvas[data-chart=${c}]`);
    assert(n > 3, `${c} chart looks blank (${n} colours)`);
  }
  const box = await (await page.$('canvas[data-chart=histogram]')).boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.waitForSelector('[data-testid=chart-tooltip]');
  await shot(page, 'red');
  // Drill into an operation.
  const ops = await page.$$eval('[data-testid=red-operation] option', (o) => o.map((x) => x.value).filter(Boolean));
  assert(ops.length > 0, 'no operations to drill into');
  await page.selectOption('[data-testid=red-operation]', ops[0]);
  await page.waitForFunction((o) => new URL(location.href).searchParams.get('op') === o, ops[0]);
  assert((await canvasColours(page, 'canvas[data-chart=duration]')) > 3, 'duration chart blank after drill-down');
});

await test('errors: clusters equal the core; an example opens its span in the waterfall', async (page) => {
  await loadDemo(page);
  await go(page, '/insights?view=errors');
  await page.waitForSelector('[data-testid=errors-view]', { timeout: 20000 });
  eq(await page.$$eval('[data-testid=error-cluster]', (e) => e.length), expected.demo.errorClusters, 'error clusters');
  await shot(page, 'errors');
  if (expected.demo.errorClusters > 0) {
    await page.click('[data-testid=root-cause]');
    await page.waitForSelector('[data-span-id]');
    assert(new URL(page.url()).searchParams.get('span'), 'root cause span not selected');
  }
});

await test('compare two known traces lists the right differences', async (page) => {
  await loadDemo(page);
  const c = expected.compareDemo;
  await go(page, `/insights?view=compare&a=${c.a}&b=${c.b}`);
  await page.waitForSelector('[data-testid=compare-summary]', { timeout: 20000 });
  for (const side of ['a', 'b']) {
    const got = await page.$$eval(`[data-only-in=${side}]`, (els) => Object.fromEntries(els.map((e) => [e.dataset.operation, Number(e.dataset.count)])));
    eq(got, side === 'a' ? c.onlyInA : c.onlyInB, `only in ${side}`);
  }
  await shot(page, 'compare');
});

await test('trace page tabs: graph, statistics, flame, errors, grades (and embed mode)', async (page) => {
  await page.goto(`${base}/`);
  await page.waitForSelector('[data-testid=file-input]');
  await dropFiles(page, [FIVE]);
  await page.waitForSelector('[data-trace-id]', { timeout: 20000 });
  await page.click('[data-trace-id]');
  await page.waitForSelector('[data-span-id]');
  await page.waitForSelector('[data-testid=trace-worst-grade]', { timeout: 10000 });
  await page.click('[role=tab][data-view=graph]');
  await page.waitForSelector('[data-testid=trace-graph] [data-operation]');
  assert(new URL(page.url()).searchParams.get('view') === 'graph' || true, 'view');
  await shot(page, 'trace-graph');
  await page.click('[role=tab][data-view=stats]');
  await page.waitForSelector('[data-testid=stats-table] [data-stats-row]');
  const opRows = await page.$$eval('[data-stats-row]', (r) => r.length);
  await page.click('[data-testid=stats-group-service]');
  const svcRows = await page.$$eval('[data-stats-row]', (r) => r.length);
  assert(svcRows > 0 && svcRows <= opRows, `grouping ${opRows} → ${svcRows}`);
  await page.click('[data-testid=stats-table] th [data-col="1"]');
  await shot(page, 'stats');
  await page.click('[role=tab][data-view=flame]');
  await page.waitForSelector('canvas[data-chart=flame]');
  await page.waitForTimeout(200);
  assert((await canvasColours(page, 'canvas[data-chart=flame]')) > 3, 'flame graph blank');
  const fb = await (await page.$('canvas[data-chart=flame]')).boundingBox();
  await page.mouse.move(fb.x + fb.width * 0.5, fb.y + 30);
  await page.waitForSelector('[data-testid=flame-tooltip]');
  await page.mouse.click(fb.x + fb.width * 0.5, fb.y + 30);
  await page.waitForFunction(() => !document.querySelector('[data-testid=flame-reset]').disabled);
  await shot(page, 'flame');
  await page.click('[role=tab][data-view=errors]');
  await page.waitForSelector('[data-testid=trace-errors-view]');
  await shot(page, 'trace-errors');
  await page.click('[role=tab][data-view=grades]');
  await page.waitForSelector('[data-testid=operations-table] [data-grade]', { timeout: 20000 });
  const exp = expected.fiveTraces.grades;
  const badges = await page.$$eval('[data-testid=operations-table] [data-operation][data-grade]', (els) => Object.fromEntries(els.map((e) => [e.dataset.operation, e.dataset.grade])));
  eq(badges, exp, 'grades of the five-trace file');
  await shot(page, 'trace-grades');
  // The URL reproduces the tab; embed mode shows the same view without the top bar.
  await page.waitForFunction(() => new URL(location.href).searchParams.get('view') === 'grades', null, { timeout: 5000 });
  await go(page, `/insights?view=graph&embed=1`);
  await checkGraph(page, expected.fiveTraces);
  assert(!(await page.$('.topbar')), 'top bar shown in embed mode');
  await shot(page, 'embed-graph');
});

await test('dark theme renders the analysis views', async (page) => {
  await loadDemo(page, '?theme=dark');
  await go(page, '/insights?view=graph&theme=dark');
  await page.waitForSelector('[data-testid=service-graph]', { timeout: 20000 });
  await shot(page, 'service-graph-dark');
  await go(page, '/insights?view=red&theme=dark');
  await page.waitForSelector('canvas[data-chart=rate]');
  await page.waitForTimeout(300);
  assert((await canvasColours(page, 'canvas[data-chart=rate]')) > 3, 'dark rate chart blank');
  await shot(page, 'red-dark');
});

await test('trace page grades tab: changed rules stay in the URL through later view changes', async (page) => {
  await page.goto(`${base}/`);
  await page.waitForSelector('[data-testid=file-input]');
  await dropFiles(page, [FIVE]);
  await page.waitForSelector('[data-trace-id]', { timeout: 20000 });
  await page.click('[data-trace-id]');
  await page.waitForSelector('[data-span-id]');
  await page.click('[role=tab][data-view=grades]');
  await page.waitForSelector('[data-testid=rules-editor]', { timeout: 20000 });
  await page.click('[data-testid=rules-editor] summary');
  const lenient = ['API', 'Database', 'AI', 'Memory']
    .map((n) => `[[category]]\nname = "${n}"\nthresholds = { a = "1h", b = "2h", c = "3h", d = "4h", target = "1h", alert = "2h", critical = "3h" }`).join('\n');
  await page.fill('[data-testid=rules-text]', lenient);
  await page.waitForFunction(() => document.querySelector('[data-testid=rules-error]').textContent === 'Valid rules');
  await page.click('[data-testid=rules-apply]');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('rules'), null, { timeout: 5000 });
  const rules = new URL(page.url()).searchParams.get('rules');
  // Later changes of the trace view rewrite the URL (debounced); the rules must survive them.
  await page.click('[role=tab][data-view=waterfall]');
  await page.waitForSelector('[data-span-id]');
  await page.keyboard.press('c');
  await page.click('[data-span-id]');
  await page.waitForTimeout(600);
  const after = new URL(page.url());
  eq(after.searchParams.get('rules'), rules, 'rules param after later view changes');
  assert(after.searchParams.get('span'), 'the later change itself reached the URL');
});

await browser.close();
server.child.kill();
console.log(`\n${passed} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
