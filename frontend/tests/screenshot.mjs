// Browser checks of the built app: drives headless Chromium through every page against the mock
// server (tests/mock-server.mjs), asserts what a user sees, measures the large graph and trace,
// and saves screenshots in tests/output/. Run `npm run build` first, then `npm run screenshots`.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { bigGraph, bigTrace, bookinfoGraph, bookinfoTrace, results, startServer } from './mock-server.mjs';
import { summariesOf } from './fixtures/synthetic.mjs';

const out = fileURLToPath(new URL('./output/', import.meta.url));
await mkdir(out, { recursive: true });

const server = await startServer();
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});

let passed = 0;
let failed = 0;
const figures = [];

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function scenario(name, fn, viewport = { width: 1440, height: 900 }, expectedConsole = null) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    // A 404 from the alerts endpoint is expected; anything else logged as an error is not.
    if (msg.type() === 'error' && !/status of 404/.test(msg.text()) && !(expectedConsole && expectedConsole.test(msg.text()))) problems.push(`console: ${msg.text()}`);
  });
  try {
    await fn(page);
    check(problems.length === 0, problems.join('\n'));
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${String(err.message).split('\n').join('\n     ')}`);
    await page.screenshot({ path: join(out, `failed-${name}.png`) }).catch(() => {});
  } finally {
    await context.close();
  }
}

const shot = (page, name, options = {}) => page.screenshot({ path: join(out, `${name}.png`), ...options });
const text = (page, selector) => page.locator(selector).first().innerText();

/** Answer /ws/graph/ with a snapshot of `graph`, then the `deltas` one by one. */
async function graphSocket(page, graph, deltas = [], gap = 400) {
  const sockets = [];
  await page.routeWebSocket(/\/ws\/graph\//, (ws) => {
    sockets.push(ws);
    ws.send(JSON.stringify({ type: 'graph.snapshot', graph }));
    deltas.forEach((delta, i) => setTimeout(() => ws.send(JSON.stringify(delta)), gap * (i + 1)));
  });
  return sockets;
}

const reviewsV4 = {
  type: 'graph.delta',
  timestamp: bookinfoGraph.timestamp + 10,
  nodes: {
    added: [{ data: { id: 'app/reviews-v4', nodeType: 'app', namespace: 'bookinfo', app: 'reviews', version: 'v4', workload: 'reviews-v4', healthStatus: 'Healthy', cluster: 'Kubernetes' } }],
    removed: [],
    changed: [],
  },
  edges: {
    added: [{ data: { id: 'e-v4', source: 'svc/reviews', target: 'app/reviews-v4', traffic: { protocol: 'http', rates: { http: '1.20', httpPercentReq: '10.7' }, responses: { 200: { flags: { '-': '100.0' }, hosts: { 'reviews.bookinfo.svc.cluster.local': '100.0' } } } }, healthStatus: 'Healthy', telemetry: ['accesslogs'] } }],
    removed: [],
    changed: [{ data: { ...bookinfoGraph.elements.edges.find((e) => e.data.id === 'e9').data, traffic: { protocol: 'http', rates: { http: '3.01', http5xx: '0.90', httpPercentErr: '29.9', httpPercentReq: '100.0' }, responses: { 200: { flags: { '-': '70.1' }, hosts: { 'ratings.bookinfo.svc.cluster.local': '70.1' } }, 503: { flags: { UO: '29.9' }, hosts: { 'ratings.bookinfo.svc.cluster.local': '29.9' } } } } } }],
  },
};

await scenario('shell-and-redirect', async (page) => {
  await graphSocket(page, bigGraph);
  await page.goto(`${base}/`);
  await page.waitForSelector('[data-testid=page-graph]');
  check(new URL(page.url()).pathname === '/graph', `/ should show the graph at /graph, got ${page.url()}`);
  for (const id of ['nav-graph', 'nav-traces', 'nav-alerts']) check(await page.locator(`[data-testid=${id}]`).isVisible(), `${id} visible`);
  check((await page.locator('[data-testid=nav-graph]').getAttribute('aria-current')) === 'page', 'Graph is the current nav item');
  check((await text(page, '.brand')).includes('meshview'), 'product name in the masthead');
  // History routing: no reload between pages.
  await page.evaluate(() => {
    window.__noReload = true;
  });
  await page.click('[data-testid=nav-traces]');
  await page.waitForSelector('[data-testid=trace-search-form]');
  await page.click('[data-testid=nav-alerts]');
  await page.waitForSelector('[data-testid=page-alerts]');
  await page.goBack();
  await page.waitForSelector('[data-testid=trace-search-form]');
  check(await page.evaluate(() => window.__noReload === true), 'navigation happened without a page reload');
  check((await page.locator('[data-testid=nav-traces]').getAttribute('aria-current')) === 'page', 'Traces is current after going back');
});

await scenario('graph-bookinfo', async (page) => {
  await graphSocket(page, bookinfoGraph, [reviewsV4], 1500);
  await page.goto(`${base}/graph?namespaces=bookinfo`);
  await page.waitForSelector('[data-testid=panel-summary]');
  await page.waitForSelector('[data-testid=live-indicator][data-state=live]');
  check((await text(page, '[data-testid=graph-warnings]')).includes('Prometheus is not configured'), 'warnings banner shows');
  const summary = await text(page, '[data-testid=panel-summary]');
  check(summary.includes('14 ('), `summary counts 14 nodes: ${summary.slice(0, 120)}`);
  check(summary.includes('reviews v2 → ratings'), 'the failing edge is listed under Needs attention');
  await page.waitForTimeout(300);
  await shot(page, 'graph-bookinfo');
  // The delta adds reviews v4 and makes the 503 edge worse, without a rebuild.
  await page.waitForFunction(() => document.querySelector('[data-testid=panel-summary]')?.textContent?.includes('15 ('), null, { timeout: 5000 });
  const after = await text(page, '[data-testid=panel-summary]');
  check(after.includes('29.9%'), `the changed edge shows 29.9% errors: ${after}`);
  await page.waitForTimeout(300);
  await shot(page, 'graph-after-delta');
});

await scenario('graph-edge-and-unknown', async (page) => {
  await graphSocket(page, bookinfoGraph);
  await page.goto(`${base}/graph?namespaces=bookinfo`);
  await page.waitForSelector('[data-testid=attention-edge]');
  await page.locator('[data-testid=attention-edge]', { hasText: 'reviews v2 → ratings' }).click();
  await page.waitForSelector('[data-testid=panel-edge]');
  const responses = await text(page, '[data-testid=edge-responses]');
  check(responses.includes('503') && responses.includes('UO') && responses.includes('15%'), `503 UO row: ${responses}`);
  const edgeText = await text(page, '[data-testid=panel-edge]');
  check(edgeText.includes('p99') && edgeText.includes('12ms'), 'response time quantiles shown');
  check(edgeText.includes('100% of requests'), 'mTLS share shown');
  check((await text(page, '[data-testid=edge-telemetry]')).includes('accesslogs'), 'telemetry sources shown');
  await page.waitForTimeout(400);
  await shot(page, 'graph-edge-503');

  await page.fill('[data-testid=graph-find]', 'unknown');
  await page.press('[data-testid=graph-find]', 'Enter');
  await page.waitForSelector('[data-testid=unknown-reasons]');
  const reasons = await text(page, '[data-testid=unknown-reasons]');
  check(/nodeport\s[\s\S]*12\s+80%/.test(reasons), `nodeport 12 requests, 80%: ${reasons}`);
  check(/probe[\s\S]*3\s+20%/.test(reasons), `probe 3 requests, 20%: ${reasons}`);
  await page.waitForTimeout(400);
  await shot(page, 'graph-unknown-node');

  await page.click('[data-testid=legend-toggle]');
  await page.waitForSelector('[data-testid=graph-legend]');
  await shot(page, 'graph-legend');
});

await scenario('graph-controls-and-export', async (page) => {
  await graphSocket(page, bookinfoGraph);
  await page.goto(`${base}/graph?namespaces=bookinfo`);
  await page.waitForSelector('[data-testid=panel-summary]');
  await page.selectOption('[data-testid=graph-duration]', '3600');
  check(new URL(page.url()).searchParams.get('duration') === '3600s', `duration in the URL: ${page.url()}`);
  await page.selectOption('[data-testid=edge-labels]', 'p95');
  check(new URL(page.url()).searchParams.get('edges') === 'p95', 'edge label mode in the URL');
  await page.click('[data-testid=namespace-select]');
  const options = await page.locator('.dropdown-menu:visible .dropdown-item').allInnerTexts();
  check(options.includes('bookinfo') && options.includes('istio-system'), `namespace options: ${options.join(',')}`);
  await shot(page, 'graph-namespace-picker');
  await page.keyboard.press('Escape');
  const dot = await page.locator('[data-testid=export-dot]').getAttribute('href');
  check(dot.includes('format=dot') && dot.includes('namespaces=bookinfo') && dot.includes('duration=3600s'), `DOT link: ${dot}`);
  await page.click('[data-testid=graph-export]');
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-png]')]);
  check(png.suggestedFilename().endsWith('.png'), 'PNG download');
  await page.click('[data-testid=graph-export]');
  const [json] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-json]')]);
  const body = JSON.parse(await (await import('node:fs/promises')).readFile(await json.path(), 'utf8'));
  check(body.elements.nodes.length === 14 && body.elements.edges.length === 14, 'JSON export holds the graph');
  await page.click('[data-testid=graph-export]');
  const [svgFile] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-svg]')]);
  const svgText = await (await import('node:fs/promises')).readFile(await svgFile.path(), 'utf8');
  check(svgText.startsWith('<svg') && svgText.includes('ratings'), 'SVG export');
});

await scenario('graph-empty-and-reconnecting', async (page) => {
  // No websocket answers: the indicator must say it is reconnecting.
  await page.goto(`${base}/graph?namespaces=quiet`);
  await page.waitForSelector('[data-testid=graph-empty]');
  check((await text(page, '[data-testid=graph-empty]')).includes('No traffic'), 'empty state');
  await page.waitForSelector('[data-testid=live-indicator][data-state=reconnecting]', { timeout: 8000 });
  await shot(page, 'graph-empty-reconnecting');
}, undefined, /WebSocket connection to .* failed/);

await scenario('graph-without-namespace-list', async (page) => {
  await page.route('**/api/v1/namespaces', (route) => route.fulfill({ status: 404, json: { detail: 'Not found.' } }));
  await graphSocket(page, bookinfoGraph);
  await page.goto(`${base}/graph`);
  await page.waitForSelector('[data-testid=panel-summary]');
  check((await text(page, '[data-testid=graph-notice]')).includes('every namespace'), 'the page says it shows all namespaces');
  check((await text(page, '[data-testid=panel-summary]')).includes('All namespaces'), 'summary titled for all namespaces');
  await page.click('[data-testid=namespace-select]');
  const options = await page.locator('.dropdown-menu:visible .dropdown-item').allInnerTexts();
  check(options.join(',') === 'bookinfo,istio-system', `picker offers the graph's namespaces: ${options.join(',')}`);
});

await scenario('graph-large', async (page) => {
  const delta = {
    type: 'graph.delta',
    timestamp: bigGraph.timestamp + 5,
    nodes: { added: [{ data: { id: 'wl-new', nodeType: 'workload', namespace: 'team-3', workload: 'svc-new-v1', healthStatus: 'Healthy' } }], removed: ['wl-999'], changed: [] },
    edges: {
      added: [{ data: { id: 'e-new', source: 'wl-5', target: 'wl-new', traffic: { protocol: 'http', rates: { http: '4.00' } } } }],
      removed: [],
      changed: bigGraph.elements.edges.slice(0, 50).map((e) => ({ data: { ...e.data, traffic: { protocol: 'http', rates: { http: '99.00', http5xx: '20.00', httpPercentErr: '20.2' } } } })),
    },
  };
  let send;
  await page.routeWebSocket(/\/ws\/graph\//, (ws) => {
    ws.send(JSON.stringify({ type: 'graph.snapshot', graph: bigGraph }));
    send = () => ws.send(JSON.stringify(delta));
  });
  const started = Date.now();
  await page.goto(`${base}/graph?namespaces=${Array.from({ length: 10 }, (_, i) => `team-${i}`).join(',')}&graphType=workload`);
  await page.waitForFunction(() => document.querySelector('[data-testid=panel-summary]')?.textContent?.includes('1000 ('), null, { timeout: 30000 });
  const loaded = Date.now() - started;
  await page.waitForTimeout(300);
  await shot(page, 'graph-large');
  const deltaStart = Date.now();
  send();
  const expectedEdges = bigGraph.elements.edges.filter((e) => e.data.source !== 'wl-999' && e.data.target !== 'wl-999').length + 1;
  await page.waitForFunction((n) => document.querySelector('[data-testid=panel-summary]')?.textContent?.includes(`Edges${n}`), expectedEdges, { timeout: 10000 });
  const deltaMs = Date.now() - deltaStart;
  // A frame after the delta: the page answers promptly.
  const frame = await page.evaluate(() => new Promise((resolve) => { const t = performance.now(); requestAnimationFrame(() => resolve(performance.now() - t)); }));
  const zoomStart = Date.now();
  await page.mouse.move(600, 450);
  for (let i = 0; i < 5; i += 1) await page.mouse.wheel(0, -600);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  const zoomMs = Date.now() - zoomStart;
  figures.push(`1,000-node graph: first render ${loaded} ms, delta (1 node in, 1 out, 51 edges) ${deltaMs} ms, next frame ${frame.toFixed(0)} ms, 5 wheel zooms ${zoomMs} ms`);
  check(loaded < 15000, `1,000-node graph rendered in ${loaded} ms`);
  check(deltaMs < 2000, `delta applied in ${deltaMs} ms`);
  await page.waitForTimeout(500);
  await shot(page, 'graph-large-zoomed');
});

await scenario('traces-search', async (page) => {
  await page.goto(`${base}/traces`);
  await page.waitForSelector('[data-testid=trace-row]');
  const rows = await page.locator('[data-testid=trace-row]').count();
  check(rows === results.length, `${results.length} result rows, got ${rows}`);
  check(await page.locator('[data-testid=scatter-plot] circle').count() === results.length, 'one scatter point per trace');
  check(await page.locator('[data-testid=scatter-plot] circle.point-error').count() > 0, 'error traces marked in the plot');
  const first = await text(page, '[data-testid=trace-row]');
  check(first.includes('productpage: GET /productpage') && first.includes('spans'), `row text: ${first}`);
  await shot(page, 'traces-search');
  // Search by service and tag: the URL keeps the query, the list is filtered.
  await page.selectOption('[data-testid=search-service]', 'ratings');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=search-operation] option').length > 1);
  await page.fill('[data-testid=search-tags]', 'error=true');
  await page.fill('[data-testid=search-min-duration]', 'abc');
  await page.click('[data-testid=search-submit]');
  check((await text(page, '.field-error:not(:empty)')).includes('duration'), 'bad min duration is refused');
  await page.fill('[data-testid=search-min-duration]', '1ms');
  await page.click('[data-testid=search-submit]');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('tags') === 'error=true');
  await page.waitForFunction(() => document.querySelector('[data-testid=results-title]')?.textContent === '4 traces');
  await shot(page, 'traces-search-filtered');
  await page.locator('[data-testid=trace-row]').first().click();
  await page.waitForSelector('[data-testid=trace-header]');
});

await scenario('trace-view', async (page) => {
  await page.goto(`${base}/traces/${bookinfoTrace.traceID}`);
  await page.waitForSelector('[data-testid=trace-header]');
  check((await text(page, '[data-testid=trace-title]')).startsWith('productpage: GET /productpage'), 'trace title');
  check((await text(page, '[data-testid=trace-span-count]')) === '31', 'total spans');
  check((await text(page, '[data-testid=trace-services]')) === '4', 'services');
  check((await text(page, '[data-testid=trace-duration]')) === '48ms', 'duration');
  check((await text(page, '[data-testid=trace-errors]')) === '2', 'errors');
  const listHeight = await page.evaluate(() => document.querySelector('.timeline-canvas').getBoundingClientRect().height);
  check(listHeight === 31 * 28, `31 rows laid out (${listHeight}px)`);
  await shot(page, 'trace-view');
  // Open the failing ratings call.
  await page.locator('[data-testid=span-row]', { has: page.locator('[data-testid=span-error]') }).first().click();
  await page.waitForSelector('[data-testid=span-detail]');
  const detail = await text(page, '[data-testid=span-detail]');
  check(detail.includes('http.status_code') && detail.includes('503'), 'error span tags');
  check(detail.includes('upstream reset') && detail.includes('+'), 'log with relative time');
  check(detail.includes('CHILD_OF'), 'references');
  await shot(page, 'trace-span-detail');
  // Collapse the root: only it remains.
  await page.locator('[data-testid=span-toggle]').first().click();
  check(await page.locator('[data-testid=span-row]').count() === 1, 'collapsing the root hides the rest');
  await page.click('[data-testid=expand-all]');
  await page.fill('[data-testid=trace-find]', 'mongodb');
  await page.waitForFunction(() => document.querySelector('[data-testid=trace-find-count]')?.textContent === '2 matches');
});

await scenario('trace-large', async (page) => {
  const started = Date.now();
  await page.goto(`${base}/traces/${bigTrace.traceID}`);
  await page.waitForSelector('[data-testid=span-row]', { timeout: 30000 });
  const loaded = Date.now() - started;
  check((await text(page, '[data-testid=trace-span-count]')) === '10000', '10,000 spans');
  const inDom = await page.locator('[data-testid=span-row]').count();
  check(inDom < 120, `only the rows in view are rendered (${inDom})`);
  const scroll = await page.evaluate(async () => {
    const scroller = document.querySelector('[data-testid=timeline-scroller]');
    const frames = [];
    for (let i = 0; i < 30; i += 1) {
      const t = performance.now();
      scroller.scrollTop += 4000;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      frames.push(performance.now() - t);
    }
    scroller.scrollTop = scroller.scrollHeight;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const rows = [...document.querySelectorAll('[data-testid=span-row]')].map((e) => Number(e.dataset.row));
    return { worst: Math.max(...frames), mean: frames.reduce((a, b) => a + b, 0) / frames.length, last: Math.max(...rows), count: rows.length };
  });
  check(scroll.last === 9999, `the last row renders at the bottom (${scroll.last})`);
  check(scroll.count < 120, `still few rows in the DOM after scrolling (${scroll.count})`);
  const collapseStart = Date.now();
  await page.click('[data-testid=collapse-all]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=span-row]').length === 1);
  const collapseMs = Date.now() - collapseStart;
  await page.click('[data-testid=expand-all]');
  figures.push(`10,000-span trace: loaded ${loaded} ms, ${inDom} rows in the DOM, scroll step mean ${scroll.mean.toFixed(1)} ms worst ${scroll.worst.toFixed(1)} ms, collapse all ${collapseMs} ms`);
  check(scroll.worst < 250, `scrolling stays smooth (worst step ${scroll.worst.toFixed(0)} ms)`);
  await page.evaluate(() => { document.querySelector('[data-testid=timeline-scroller]').scrollTop = 120000; });
  await page.waitForTimeout(200);
  await shot(page, 'trace-large');
});

await scenario('trace-not-found', async (page) => {
  await page.goto(`${base}/traces/0123456789abcdef`);
  await page.waitForSelector('[data-testid=trace-not-found]');
});

await scenario('traces-live-tail', async (page) => {
  const summaries = summariesOf(results);
  let push;
  await page.routeWebSocket(/\/ws\/traces\//, (ws) => {
    ws.send(JSON.stringify({ type: 'traces.snapshot', traces: summaries.slice(2, 8) }));
    push = () => ws.send(JSON.stringify({ type: 'traces.delta', traces: summaries.slice(0, 2) }));
  });
  await page.goto(`${base}/traces`);
  await page.waitForSelector('[data-testid=trace-row]');
  await page.click('[data-testid=live-tail-toggle]');
  await page.waitForSelector('[data-testid=traces-live-indicator][data-state=live]');
  await page.waitForFunction(() => document.querySelector('[data-testid=results-title]')?.textContent === '6 live traces');
  push();
  await page.waitForFunction(() => document.querySelector('[data-testid=results-title]')?.textContent === '8 live traces');
  const firstId = await page.locator('[data-testid=live-tail] [data-testid=trace-row]').first().getAttribute('data-trace-id');
  check(firstId === summaries[0].traceId, 'newest live trace first');
  await shot(page, 'traces-live-tail');
});

await scenario('alerts-404', async (page) => {
  await page.goto(`${base}/alerts`);
  await page.waitForSelector('[data-testid=alerts-empty]');
  check((await text(page, '[data-testid=alerts-empty]')).includes('404'), 'the empty state says why');
  await shot(page, 'alerts-404');
});

await scenario('alerts-rules', async (page) => {
  await page.route('**/api/v1/alerts/rules', (route) =>
    route.fulfill({
      json: {
        count: 3,
        results: [
          { id: 1, name: 'ratings 5xx', expression: 'edge_error_rate{destination="ratings"} > 0.1 for 2m', severity: 'critical', enabled: true, lastState: 'firing', lastEvaluatedAt: new Date(Date.now() - 30000).toISOString() },
          { id: 2, name: 'productpage p99', condition: { metric: 'p99', threshold: 500, window: '5m' }, severity: 'warning', enabled: true, lastState: 'ok', lastEvaluatedAt: new Date(Date.now() - 90000).toISOString() },
          { id: 3, name: 'unknown traffic', expression: 'unknown_requests > 100', severity: 'info', enabled: false, lastState: null, lastEvaluatedAt: null },
        ],
      },
    }),
  );
  await page.goto(`${base}/alerts`);
  await page.waitForSelector('[data-testid=alert-rules]');
  const rows = await page.locator('[data-testid=alert-rule]').allInnerTexts();
  check(rows.length === 3 && rows[0].includes('Firing') && rows[0].includes('ratings 5xx'), `firing rule first: ${rows[0]}`);
  check(rows[1].includes('metric=p99 threshold=500 window=5m'), 'object condition rendered');
  await shot(page, 'alerts-rules');
});

await scenario('narrow-screens', async (page) => {
  await graphSocket(page, bookinfoGraph);
  await page.goto(`${base}/graph?namespaces=bookinfo`);
  await page.waitForSelector('[data-testid=panel-summary]');
  await page.waitForTimeout(300);
  await shot(page, 'mobile-graph', { fullPage: true });
  await page.click('[data-testid=nav-traces]');
  await page.waitForSelector('[data-testid=trace-row]');
  await shot(page, 'mobile-traces');
  await page.goto(`${base}/traces/${bookinfoTrace.traceID}`);
  await page.waitForSelector('[data-testid=span-row]');
  await shot(page, 'mobile-trace');
}, { width: 420, height: 860 });

await browser.close();
server.close();
for (const f of figures) console.log(`     ${f}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
