// Browser benchmark of the spanlens SPA in headless Chromium (Debian's, via playwright-core):
// pick a generated N-span OTLP JSON file (default 100k) in the file input and measure
//   - time from the input's change event to the first waterfall rows (performance marks),
//   - the longest main-thread frame gap while loading (is the page responsive?),
//   - rAF frame times while scrolling the waterfall (p50/p95/max),
//   - JS heap (CDP) and the wasm memory of the page,
//   - the gzipped size of the wasm and JS in dist/.
// Usage: node tests/bench/bench.mjs [spans]   (prints a JSON summary)
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { bigToFile } from '../gen/otlp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const dist = process.env.SPANLENS_DIST || path.join(repo, 'dist');
const spans = Number(process.argv[2] || 100000);
const file = path.join(os.tmpdir(), `spanlens-bench-${spans}.json`);
if (!existsSync(file)) bigToFile(spans, file);

function gz(dir) {
  let wasm = 0, js = 0, wasmRaw = 0;
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (f.endsWith('.wasm')) { const b = readFileSync(p); wasm += gzipSync(b, { level: 9 }).length; wasmRaw += b.length; }
    if (f.endsWith('.js')) js += gzipSync(readFileSync(p), { level: 9 }).length;
  }
  const worker = path.join(dir, 'public', 'worker.js');
  if (existsSync(worker)) js += gzipSync(readFileSync(worker), { level: 9 }).length;
  return { wasmGzipBytes: wasm, jsGzipBytes: js, totalGzipBytes: wasm + js, wasmRawBytes: wasmRaw };
}

const server = await new Promise((resolve, reject) => {
  const child = spawn(process.execPath, [path.join(here, '..', 'serve.mjs'), dist, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (d) => {
    const m = /listening (\d+)/.exec(String(d));
    if (m) resolve({ child, base: `http://127.0.0.1:${m[1]}` });
  });
  child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
await page.addInitScript(() => {
  addEventListener('TrunkApplicationStarted', (e) => { window.__wasm = e.detail && e.detail.wasm; });
  document.addEventListener('change', () => { window.__t0 = performance.now(); }, true);
  window.__long = [];
  try {
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push([e.startTime, e.duration]); }).observe({ type: 'longtask' });
  } catch {}
  // Frame gaps during the load.
  window.__gaps = [];
  let last = performance.now();
  const tick = (t) => { window.__gaps.push(t - last); last = t; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
});
await page.goto(server.base + '/');
await page.waitForSelector('[data-testid=file-input]');
await page.evaluate(() => { window.__gaps = []; });
// SPANLENS_PROFILE=file.cpuprofile: a CPU profile of the main thread from the drop to the first rows, top
// functions by self time on stderr (to find what blocks the page).
const prof = process.env.SPANLENS_PROFILE ? await page.context().newCDPSession(page) : null;
if (prof) {
  await prof.send('Profiler.enable');
  await prof.send('Profiler.setSamplingInterval', { interval: 200 });
  await prof.send('Profiler.start');
}
await page.setInputFiles('[data-testid=file-input]', file);
await page.waitForSelector('[data-span-id]', { timeout: 120000 });
if (prof) {
  await page.waitForTimeout(500);
  const { profile } = await prof.send('Profiler.stop');
  // Also saved whole, for Chrome DevTools' Performance panel.
  writeFileSync(process.env.SPANLENS_PROFILE, JSON.stringify(profile));
  const self = new Map();
  const dt = profile.timeDeltas;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => {
    const n = byId.get(id);
    const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}`;
    self.set(key, (self.get(key) || 0) + (dt[i] || 0) / 1000);
  });
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40);
  for (const [k, ms] of top) process.stderr.write(`${ms.toFixed(1).padStart(8)} ms  ${k}\n`);
}
const load = await page.evaluate(() => {
  const mark = (n) => performance.getEntriesByName(n).map((e) => e.startTime)[0];
  return {
    firstRowsMs: mark('spanlens:first-rows') - window.__t0,
    setReceivedMs: mark('spanlens:set-received') - window.__t0,
    setDecodedMs: mark('spanlens:set-decoded') - window.__t0,
    setReadyMs: mark('spanlens:set-ready') - window.__t0,
    maxFrameGapDuringLoadMs: Math.max(...window.__gaps.slice(1)),
  };
});
const headerSpans = await page.textContent('[data-testid=trace-span-count]');
await page.waitForTimeout(2500); // let the deferred analysis run
const longTasks = await page.evaluate(() => window.__long.map(([s, d]) => [Math.round(s - window.__t0), Math.round(d)]));

// Scroll: a steady 3 s of wheel-like scrolling, one step per frame.
const scroll = await page.evaluate(async () => {
  const el = document.querySelector('.wf-scroll');
  const frames = [];
  let last = performance.now();
  const until = last + 3000;
  await new Promise((done) => {
    const step = (t) => {
      frames.push(t - last);
      last = t;
      el.scrollTop += 240;
      if (t < until) requestAnimationFrame(step); else done();
    };
    requestAnimationFrame(step);
  });
  frames.shift();
  frames.sort((a, b) => a - b);
  const q = (p) => frames[Math.min(frames.length - 1, Math.floor(p * frames.length))];
  return { frames: frames.length, p50Ms: q(0.5), p95Ms: q(0.95), maxMs: frames[frames.length - 1], rowsInDom: document.querySelectorAll('[data-span-id]').length };
});

const cdp = await page.context().newCDPSession(page);
await cdp.send('HeapProfiler.collectGarbage');
const heap = await cdp.send('Runtime.getHeapUsage');
const wasmBytes = await page.evaluate(() => (window.__wasm && window.__wasm.memory ? window.__wasm.memory.buffer.byteLength : null));
const MiB = 1024 * 1024;
const out = {
  spans,
  headerSpans: Number(headerSpans),
  fileMiB: +(statSync(file).size / MiB).toFixed(1),
  ...Object.fromEntries(Object.entries(load).map(([k, v]) => [k, Math.round(v)])),
  scroll: Object.fromEntries(Object.entries(scroll).map(([k, v]) => [k, +v.toFixed(1)])),
  longTasksAfterDrop: longTasks,
  jsHeapUsedMiB: +(heap.usedSize / MiB).toFixed(1),
  wasmMemoryMiB: wasmBytes == null ? null : +(wasmBytes / MiB).toFixed(1),
  ...gz(dist),
  errors,
};
console.log(JSON.stringify(out, null, 2));
await browser.close();
server.child.kill();
