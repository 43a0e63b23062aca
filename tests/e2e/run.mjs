// Browser end-to-end tests of the spanlens SPA (dist/ served by tests/serve.mjs) in Debian's
// headless Chromium via playwright-core. Fixtures are read in place from ../shared/fixtures.
// Any console error or page error fails the test that caused it. Screenshots go to
// target/screenshots/. Exit code 0 when every test passed.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { launchBrowser, harness, assert, dropFiles, dropText, outcome, figure, rowCount } from './lib.mjs';
import os from 'node:os';
import { bigToFile } from '../gen/otlp.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const fixtures = process.env.SPANLENS_FIXTURES || path.resolve(repo, '..', 'shared', 'fixtures');
const shots = path.join(repo, 'target', 'screenshots');
mkdirSync(shots, { recursive: true });

const FORMAT_DIRS = ['otlp', 'tempo', 'jaeger', 'zipkin'];
const allFixtures = FORMAT_DIRS.flatMap((d) => {
  try {
    return readdirSync(path.join(fixtures, d)).filter((f) => /\.jsonl?$/.test(f)).map((f) => path.join(fixtures, d, f));
  } catch {
    return [];
  }
});
const SMARTTHINGS = path.join(fixtures, 'zipkin', 'zipkin-smartthings-mobile-web-install-1041-spans.json');
const TEMPO_FILE = path.join(fixtures, 'tempo', 'kiali-istio-bookinfo-batches-base64.json');

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, '..', 'serve.mjs'), path.join(repo, 'dist'), '0'], {
      env: { ...process.env, TEMPO_TRACE_FILE: TEMPO_FILE },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.on('data', (d) => {
      const m = /listening (\d+)/.exec(String(d));
      if (m) resolve({ child, base: `http://127.0.0.1:${m[1]}` });
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

const { child: server, base } = await startServer();
const browser = await launchBrowser();

// Expected 404s the browser itself logs: Tempo's v2 trace-by-id before the v1 fallback
// (Grafana does the same), and POST /api/upload on a static server (the SPA then offers
// the download instead). Every other console error fails the test.
const expectedConsole = (text, url) => /Failed to load resource.*404/.test(text) && /\/api\/(v2\/traces\/|upload)/.test(url);
const { newPage, test, open, summary } = harness({ browser, base, shots, expectedConsole });

// ---------------------------------------------------------------------------------------------

await test('home page renders with the drop target, picker, paste box and demo', async (page) => {
  await open(page);
  assert(await page.isVisible('text=Drop a trace file'), 'no drop text');
  assert(await page.$('[data-testid=file-input]'), 'no file input');
  assert(await page.isVisible('[data-testid=paste-input]'), 'no paste box');
  assert(await page.isVisible('text=Try the demo'), 'no demo button');
  await page.screenshot({ path: path.join(shots, 'home.png') });
});

for (const file of allFixtures) {
  await test(`drop ${path.basename(file)}`, async (page) => {
    await open(page);
    await dropFiles(page, [file]);
    const o = await outcome(page);
    assert(o.kind !== 'alert', `alert: ${o.text}`);
    if (o.kind === 'trace') {
      const spans = Number(await figure(page, 'trace-span-count'));
      assert(spans > 0, 'no spans in the header');
      const rows = await page.$$eval('[data-span-id]', (rs) => rs.map((r) => r.dataset.spanId));
      assert(rows.length > 0 && rows.every((id) => /^[0-9a-f]{16}$/.test(id)), `bad row ids ${rows.slice(0, 3)}`);
      assert(rows.length <= 200, `rows are not virtualized: ${rows.length} in the DOM`);
      assert((await rowCount(page)) === spans, `row count ${await rowCount(page)} != header spans ${spans}`);
    } else {
      assert(o.traces.length > 1 && o.traces.every((id) => /^[0-9a-f]{32}$/.test(id)), `bad trace list ${o.traces}`);
    }
  });
}

for (const file of allFixtures) {
  await test(`file input ${path.basename(file)}`, async (page) => {
    await open(page);
    await page.setInputFiles('[data-testid=file-input]', file);
    const o = await outcome(page);
    assert(o.kind !== 'alert', `alert: ${o.text}`);
  });
}

await test('smartthings: header figures, waterfall, details, collapse, find, critical path', async (page) => {
  await open(page);
  await page.setInputFiles('[data-testid=file-input]', SMARTTHINGS);
  await page.waitForSelector('[data-span-id]');
  assert((await figure(page, 'trace-span-count')) === '1041', 'span count');
  assert((await figure(page, 'trace-service-count')) === '16', 'service count');
  assert(/\d/.test(await figure(page, 'trace-duration')), 'duration');
  assert(/^\d+$/.test(await figure(page, 'trace-error-count')), 'error count');
  await page.waitForFunction(() => /^[A-F]$/.test(document.querySelector('[data-testid=trace-grade]').textContent.trim()), null, { timeout: 10000 });
  await page.screenshot({ path: path.join(shots, 'trace-smartthings.png') });

  // Details of the second row.
  const second = await page.$$eval('[data-span-id]', (rs) => rs.sort((a, b) => a.offsetTop - b.offsetTop)[1].dataset.spanId);
  await page.click(`[data-span-id="${second}"] .wf-name`);
  await page.waitForSelector('[data-testid=span-details]');
  assert((await page.getAttribute(`[data-span-id="${second}"]`, 'aria-selected')) === 'true', 'row not selected');
  assert((await page.textContent('[data-testid=span-details]')).includes(second), 'details lack the span id');
  await page.screenshot({ path: path.join(shots, 'trace-details.png') });

  // Keyboard: down moves the selection; collapse all / expand all.
  await page.keyboard.press('j');
  await page.waitForFunction((id) => document.querySelector('[aria-selected=true]')?.dataset.spanId !== id, second);
  const all = await rowCount(page);
  await page.keyboard.press('[');
  await page.waitForFunction((n) => Number(document.querySelector('.waterfall').dataset.rowCount) < n, all);
  const collapsed = await rowCount(page);
  await page.keyboard.press(']');
  await page.waitForFunction((n) => Number(document.querySelector('.waterfall').dataset.rowCount) === n, all);
  // Per-node toggle.
  const toggle = await page.$('.wf-row[aria-expanded=true] .wf-toggle');
  await toggle.click();
  await page.waitForFunction((n) => Number(document.querySelector('.waterfall').dataset.rowCount) < n, all);
  await page.click('[data-testid=expand-all]');
  assert(collapsed < all, `collapse all did not hide rows (${collapsed} of ${all})`);

  // Find with the keyboard.
  await page.click('.wf-scroll');
  await page.keyboard.press('/');
  assert(await page.evaluate(() => document.activeElement?.dataset.testid === 'find-input'), '/ did not focus find');
  await page.keyboard.type('client-select');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /of \d+ matches/.test(document.querySelector('[data-testid=find-status]').textContent));
  const firstMatch = await page.getAttribute('[aria-selected=true]', 'data-span-id');
  await page.keyboard.press('Enter');
  await page.waitForFunction((id) => document.querySelector('[aria-selected=true]')?.dataset.spanId !== id, firstMatch);
  await page.fill('[data-testid=find-input]', '{ status = error }');
  await page.waitForFunction(() => /^\d+ matches|of \d+ matches/.test(document.querySelector('[data-testid=find-status]').textContent));
  await page.screenshot({ path: path.join(shots, 'trace-find.png') });
  await page.keyboard.press('Escape');

  // Critical path.
  await page.click('[data-testid=critical-path-toggle]');
  assert((await page.getAttribute('[data-testid=critical-path-toggle]', 'aria-pressed')) === 'true', 'toggle not pressed');
  await page.waitForSelector('.wf-row.critical');
  await page.screenshot({ path: path.join(shots, 'trace-critical-path.png') });
  await page.keyboard.press('c');
  await page.waitForFunction(() => !document.querySelector('.wf-row.critical'));
});

await test('minimap window zooms the waterfall', async (page) => {
  await open(page);
  await dropFiles(page, [SMARTTHINGS]);
  await page.waitForSelector('[data-testid=minimap]');
  const box = await page.locator('[data-testid=minimap]').boundingBox();
  const right = box.x + box.width - 2;
  await page.mouse.move(right, box.y + 20);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.3, box.y + 20, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('zoom'));
  await page.screenshot({ path: path.join(shots, 'trace-zoomed.png') });
});

await test('TraceQL find, search over the loaded file, and inline parse errors', async (page) => {
  await open(page);
  await dropFiles(page, [path.join(fixtures, 'otlp', 'oteldemo-file-exporter-5-traces.jsonl')]);
  await page.waitForSelector('[data-trace-id]');
  await page.screenshot({ path: path.join(shots, 'trace-list.png') });
  await page.click('a[href="/search"]');
  await page.fill('[data-testid=traceql-input]', '{ status = error ');
  await page.waitForSelector('[data-testid=traceql-error]');
  // The builder offers the set's scoped attribute names and, once one is chosen, its typed
  // values; it writes TraceQL that finds the traces holding that value.
  await page.click('details summary:has-text("Query builder")');
  await page.waitForFunction(() => [...document.querySelectorAll('#tag-names option')].some((o) => o.value === 'span.http.method'));
  const tagNames = await page.$$eval('#tag-names option', (os) => os.map((o) => o.value));
  assert(tagNames.includes('resource.service.name') && tagNames.every((n) => /^(span|resource)\./.test(n)), `tag names ${tagNames.slice(0, 5)}`);
  await page.fill('[data-testid=builder-tag-key]', 'span.http.method');
  await page.dispatchEvent('[data-testid=builder-tag-key]', 'change');
  const listId = await page.getAttribute('[data-testid=builder-tag-value]', 'list');
  await page.waitForFunction((id) => document.querySelectorAll(`#${id} option`).length > 0, listId);
  const methods = await page.$$eval(`#${listId} option`, (os) => os.map((o) => o.value));
  assert(JSON.stringify(methods) === JSON.stringify(['GET', 'POST']), `http.method values ${methods}`);
  await page.fill('[data-testid=builder-tag-value]', 'POST');
  await page.click('button:has-text("Write TraceQL")');
  const written = await page.inputValue('[data-testid=traceql-input]');
  assert(written === '{ span.http.method = "POST" }', `builder wrote ${written}`);
  await page.click('[data-testid=search-button]');
  await page.waitForSelector('[data-testid=search-results] [data-trace-id]');
  // The traces of the file holding a POST span, read here independently of the app.
  const postTraces = new Set();
  for (const line of readFileSync(path.join(fixtures, 'otlp', 'oteldemo-file-exporter-5-traces.jsonl'), 'utf8').split('\n').filter(Boolean)) {
    for (const rs of JSON.parse(line).resourceSpans) for (const ss of rs.scopeSpans) for (const sp of ss.spans) {
      if ((sp.attributes || []).some((a) => a.key === 'http.method' && a.value.stringValue === 'POST')) postTraces.add(sp.traceId.toLowerCase());
    }
  }
  const found = await page.$$eval('[data-testid=search-results] [data-trace-id]', (rs) => rs.map((r) => r.dataset.traceId).sort());
  assert(JSON.stringify(found) === JSON.stringify([...postTraces].sort()), `builder search found ${found}, expected ${[...postTraces]}`);
  await page.screenshot({ path: path.join(shots, 'search-builder.png') });
  await page.fill('[data-testid=traceql-input]', '{ duration > 1ms }');
  await page.click('[data-testid=search-button]');
  await page.waitForSelector('[data-testid=search-results] [data-trace-id]');
  await page.screenshot({ path: path.join(shots, 'search-local.png') });
  await page.click('[data-testid=search-results] [data-trace-id]');
  await page.waitForSelector('[data-span-id]');
  await page.fill('[data-testid=find-input]', '{ kind = server }');
  await page.waitForFunction(() => /matches/.test(document.querySelector('[data-testid=find-status]').textContent));
});

await test('trace by id from the server (v2 404 → v1), share URL round trip, embed mode', async (page) => {
  // The id: load the same file locally first.
  await open(page);
  await dropFiles(page, [TEMPO_FILE]);
  await page.waitForSelector('[data-span-id]');
  const id = (await page.textContent('.th-id')).trim();
  const rows = await page.$$eval('[data-span-id]', (rs) => rs.map((r) => r.dataset.spanId));
  const span = rows[Math.min(2, rows.length - 1)];
  await page.goto(`${base}/trace/${id}?source=server&span=${span}&zoom=0.1,0.9&cp=1&q=GET`);
  await page.waitForSelector(`[data-span-id="${span}"][aria-selected=true]`, { timeout: 15000 });
  await page.waitForSelector('[data-testid=span-details]');
  assert((await page.inputValue('[data-testid=find-input]')) === 'GET', 'q lost');
  assert((await page.getAttribute('[data-testid=critical-path-toggle]', 'aria-pressed')) === 'true', 'cp lost');
  const url = page.url();
  const other = await newPage();
  await other.goto(url);
  await other.waitForSelector(`[data-span-id="${span}"][aria-selected=true]`, { timeout: 15000 });
  assert(new URL(other.url()).searchParams.get('zoom') === '0.1,0.9', `zoom lost: ${other.url()}`);
  await other.screenshot({ path: path.join(shots, 'trace-from-server.png') });
  assert(!other.errors.length, other.errors.join('\n'));
  await other.context().close();

  await page.goto(`${base}/trace/${id}?source=server&embed=1&hideMinimap=1&theme=dark`);
  await page.waitForSelector('[data-span-id]');
  assert(!(await page.$('.topbar')), 'top bar shown in embed mode');
  assert(!(await page.$('[data-testid=minimap]')), 'minimap shown with hideMinimap=1');
  assert((await page.getAttribute('html', 'data-theme')) === 'dark', 'theme param ignored');
  await page.screenshot({ path: path.join(shots, 'embed-dark.png') });
  await page.goto(`${base}/trace/${id}?source=server&embed=1&hideHeader=1&from=now-1h&to=now`);
  await page.waitForSelector('[data-span-id]');
  assert(!(await page.$('[data-testid=trace-span-count]')), 'header shown with hideHeader=1');
  await page.goto(`${base}/`);
  await page.waitForSelector(`.recent a:has-text("${id}")`);

  // Search on the server: results table, scatter plot, open a hit (time range kept in the URL).
  await fetch(`${base}/__test/search-hits`, { method: 'POST', body: JSON.stringify([
    { traceID: id.replace(/^0+/, ''), rootServiceName: 'istio-ingressgateway', rootTraceName: 'productpage', startTimeUnixNano: '1701779876570000000', durationMs: 12,
      serviceStats: { productpage: { spanCount: 8, errorCount: 0 } } },
  ]) });
  await page.goto(`${base}/search?source=server&q=${encodeURIComponent('{ resource.service.name = "productpage" }')}&range=6h`);
  await page.waitForSelector('[data-testid=search-results] [data-trace-id]');
  await page.waitForSelector('svg.scatter circle');
  await page.screenshot({ path: path.join(shots, 'search-server.png') });
  await page.click('[data-testid=search-results] [data-trace-id]');
  await page.waitForSelector('[data-span-id]');
  const u = new URL(page.url());
  assert(u.searchParams.get('start') && u.searchParams.get('end'), `time range lost: ${page.url()}`);
});

await test('share of a dropped file without a server offers the OTLP download', async (page) => {
  await open(page);
  await dropFiles(page, [path.join(fixtures, 'otlp', 'oteldemo-checkout-timeout-error.json')]);
  await page.waitForSelector('[data-span-id]');
  await page.click('[data-testid=share-button]');
  await page.waitForSelector('.toast:has-text("No spanlens server")');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-otlp]')]);
  assert(/\.otlp\.json$/.test(download.suggestedFilename()), 'download name');
});

await test('malformed file shows an alert naming it, and the page keeps working', async (page) => {
  await open(page);
  await dropText(page, 'orders.json', '{"orders": [1, 2, 3]}');
  await page.waitForSelector('[role=alert]');
  const text = await page.textContent('[role=alert]');
  assert(text.includes('orders.json'), `alert does not name the file: ${text}`);
  await page.screenshot({ path: path.join(shots, 'malformed-alert.png') });
  await dropFiles(page, [SMARTTHINGS]);
  await page.waitForSelector('[data-span-id]');
});

await test('spans the core skips are reported next to the trace', async (page) => {
  await open(page);
  const doc = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
    scopeSpans: [{ spans: [
      { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'root', startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000100000000' },
      { traceId: '0af7651916cd43dd8448eb211c80319c', name: 'no id', parentSpanId: 'b7ad6b7169203331', startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000050000000' },
    ] }] }] };
  await dropText(page, 'skips.json', JSON.stringify(doc));
  await page.waitForSelector('[data-testid=diagnostics-strip]');
  assert((await figure(page, 'trace-span-count')) === '1', 'span count');
  await page.click('[data-testid=diagnostics] summary');
  await page.screenshot({ path: path.join(shots, 'diagnostics.png') });
});

await test('clock-skew adjusted spans are marked', async (page) => {
  await open(page);
  await dropFiles(page, [path.join(fixtures, 'zipkin', 'zipkin-skew.json')]);
  await page.waitForSelector('[data-span-id]');
  await page.waitForSelector('.wf-skew');
  await page.screenshot({ path: path.join(shots, 'skew.png') });
});

await test('a big file shows progress and can be cancelled; the page stays usable', async (page) => {
  const big = path.join(os.tmpdir(), 'spanlens-e2e-60000.json');
  if (!existsSync(big)) bigToFile(60000, big);
  await open(page);
  await page.setInputFiles('[data-testid=file-input]', big);
  await page.waitForSelector('progress', { timeout: 10000 });
  await page.screenshot({ path: path.join(shots, 'progress.png') });
  await page.click('.load-progress button:has-text("Cancel")');
  await page.waitForSelector('progress', { state: 'detached' });
  await page.waitForTimeout(500);
  assert(!(await page.$('[data-span-id]')), 'the cancelled load still opened a trace');
  await page.setInputFiles('[data-testid=file-input]', big);
  await page.waitForSelector('[data-span-id]', { timeout: 30000 });
  const n = Number(await figure(page, 'trace-span-count'));
  assert(n >= 60000 && n <= 60001 && (await rowCount(page)) === n, `big file span count ${n}`);
});

await test('paste box and demo button', async (page) => {
  await open(page);
  await page.fill('[data-testid=paste-input]', readFileSync(path.join(fixtures, 'jaeger', 'jaeger-ui-genai-agents-57-spans.json'), 'utf8'));
  await page.click('[data-testid=paste-load]');
  await page.waitForSelector('[data-span-id]');
  await open(page);
  await page.click('[data-testid=demo-button]');
  await page.waitForSelector('[data-trace-id]');
  await page.click('[data-trace-id]');
  await page.waitForSelector('[data-span-id]');
  await page.screenshot({ path: path.join(shots, 'demo-trace.png') });
  await page.click('button[aria-label^="Theme"]');
  await page.screenshot({ path: path.join(shots, 'demo-trace-theme2.png') });
});

await test('layout at 1920x1080 and help dialog', async (page) => {
  await page.setViewportSize({ width: 1920, height: 1080 });
  await open(page);
  await dropFiles(page, [SMARTTHINGS]);
  await page.waitForSelector('[data-span-id]');
  await page.keyboard.press('?');
  await page.waitForSelector('[role=dialog]');
  await page.screenshot({ path: path.join(shots, 'help-1920.png') });
});

await browser.close();
server.kill();
process.exit(summary());
