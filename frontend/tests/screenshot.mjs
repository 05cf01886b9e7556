// The README's screenshots, made from a real `manage.py serve --demo`: starts meshview with the
// demo mesh on a free port and a fresh data folder, waits until the demo's unknown callers are
// attributed, then drives headless Chromium through the graph, an erroring edge, a trace, the
// dependencies and a compare, and writes frontend/screenshots/*.png.
// Run after a build: `npm run screenshots` (PYTHON names the interpreter, default ../.venv/bin/python).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = fileURLToPath(new URL('../screenshots/', import.meta.url));
const python = process.env.PYTHON ?? join(root, '.venv/bin/python');

const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const base = `http://127.0.0.1:${port}`;
const data = await mkdtemp(join(tmpdir(), 'meshview-screenshots-'));
const server = spawn(python, ['manage.py', 'serve', '--demo', '--port', String(port)], {
  cwd: root,
  env: { ...process.env, MESHVIEW_DATA_DIR: data },
  stdio: 'ignore',
});

async function until(what, test, seconds) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await test().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${what} did not happen within ${seconds} s`);
}

const json = async (path) => (await fetch(base + path)).json();

let browser;
try {
  await until('meshview answering', async () => (await fetch(`${base}/healthz`)).ok, 60);
  await until(
    'the unknown source on the graph',
    async () => (await json('/api/v1/graph?namespaces=bookinfo&injectServiceNodes=true')).elements.nodes.some((n) => n.data.nodeType === 'unknown'),
    120,
  );
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const shot = (name) => page.screenshot({ path: join(out, `${name}.png`) });

  // The graph with the edge that errors most opened in its panel, charts and traces links.
  await page.goto(`${base}/graph?namespaces=bookinfo&security=true`);
  await page.getByTestId('panel-summary').waitFor();
  await page.waitForTimeout(1500);
  await shot('graph');
  await page.getByTestId('attention-edge').first().click();
  await page.getByTestId('chart-requests').waitFor();
  await page.waitForTimeout(500);
  await shot('graph-edge');

  // Its failed traces over the graph's window, the slowest first, and the first of them (the
  // search runs again until the demo has sent one).
  await page.getByTestId('edge-traces-link').last().click();
  await until('a failed trace', async () => {
    await page.getByTestId('search-submit').click();
    await page.getByTestId('trace-row').first().waitFor({ timeout: 8000 });
    return true;
  }, 90);
  await page.getByTestId('results-sort').selectOption('longest');
  await page.waitForTimeout(500);
  await shot('traces');
  await page.getByTestId('trace-row').first().click();
  await page.getByTestId('trace-timeline').waitFor();
  await page.locator('[data-testid=span-row]:has([data-testid=span-error])').first().click();
  await page.waitForTimeout(500);
  await shot('trace');

  await page.goto(`${base}/dependencies`);
  await page.getByTestId('dependencies-dag').waitFor({ timeout: 60000 });
  await page.waitForTimeout(800);
  await shot('dependencies');

  const traces = (await json('/jaeger/api/traces?service=reviews&lookback=1h&limit=50')).data.sort((a, b) => b.spans.length - a.spans.length);
  await page.goto(`${base}/traces/compare?a=${traces[0].traceID}&b=${traces[traces.length - 1].traceID}`);
  await page.getByTestId('compare-dag').waitFor();
  await page.waitForTimeout(800);
  await shot('compare');
  console.log(`screenshots written to ${out}`);
} finally {
  await browser?.close();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await rm(data, { recursive: true, force: true });
}
