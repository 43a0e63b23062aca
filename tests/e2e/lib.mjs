// Helpers shared by the browser test suites (run.mjs against tests/serve.mjs, server.mjs against
// the real `spanlens serve`): Debian's headless Chromium through playwright-core, a tiny test
// runner that fails a test on any console error or page error it did not expect, and the DOM
// helpers (synthetic file drops, waiting for a load's outcome, header figures).
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

// A runner bound to one browser and one server. `expectedConsole(message, url)` returns true for
// a console error the suite explicitly expects (and justifies where it passes the predicate).
export function harness({ browser, base, shots, expectedConsole = () => false }) {
  const results = [];
  let failures = 0;

  async function newPage({ width = 1280, height = 800 } = {}) {
    const context = await browser.newContext({ viewport: { width, height }, permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await context.newPage();
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      const url = m.location()?.url || '';
      if (m.type() === 'error' && !expectedConsole(m.text(), url)) page.errors.push(`console: ${m.text()} ${url}`);
    });
    return page;
  }

  async function test(name, fn) {
    const page = await newPage();
    const t0 = Date.now();
    try {
      await fn(page);
      if (page.errors.length) throw new Error(page.errors.join('\n'));
      results.push(`ok   ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failures++;
      results.push(`FAIL ${name}: ${e.message.split('\n').slice(0, 6).join('\n     ')}`);
      await page.screenshot({ path: path.join(shots, `FAIL-${name.replace(/\W+/g, '_')}.png`) }).catch(() => {});
    } finally {
      console.log(results[results.length - 1]);
      await page.context().close();
    }
  }

  async function open(page, url = '/') {
    await page.goto(base + url);
    await page.waitForSelector('body .page', { timeout: 15000 });
  }

  // Prints the tally; the process exit code (0 when every test passed).
  function summary() {
    console.log(`\n${results.length - failures} passed, ${failures} failed`);
    return failures ? 1 : 0;
  }

  return { newPage, test, open, summary, results };
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// Drops files on document.body the way a browser does (DataTransfer + dragover + drop).
export async function dropFiles(page, files) {
  const payload = files.map((f) => ({ name: path.basename(f), text: readFileSync(f, 'utf8') }));
  await page.evaluate((items) => {
    const dt = new DataTransfer();
    for (const it of items) dt.items.add(new File([it.text], it.name, { type: 'application/json' }));
    document.body.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, payload);
}

export async function dropText(page, name, text) {
  await page.evaluate(({ name, text }) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], name, { type: 'application/json' }));
    document.body.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, { name, text });
}

// Waits for the outcome of a load: waterfall rows, a trace list, or an alert.
export async function outcome(page) {
  await page.waitForSelector('[data-span-id], [data-trace-id], [role=alert]', { timeout: 20000 });
  if (await page.$('[role=alert]')) return { kind: 'alert', text: await page.textContent('[role=alert]') };
  if (await page.$('[data-span-id]')) return { kind: 'trace' };
  return { kind: 'list', traces: await page.$$eval('[data-trace-id]', (rs) => rs.map((r) => r.dataset.traceId)) };
}

export async function figure(page, id) {
  return (await page.textContent(`[data-testid=${id}]`)).trim();
}

export async function rowCount(page) {
  return Number(await page.getAttribute('.waterfall', 'data-row-count'));
}
