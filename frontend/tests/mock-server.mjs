// Serves the built app the way Django does (dist/index.html for the app's routes, dist/ under
// /static/) and answers meshview's HTTP APIs from fixtures. A stand-in for the Django server,
// so the browser checks can run without Python; websockets are answered by the browser test.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { largeGraph, largeTrace, searchResults } from './fixtures/synthetic.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const dist = join(here, '..', 'dist');
const src = join(here, '..', 'src');

export const bookinfoGraph = JSON.parse(await readFile(join(src, 'graph/__fixtures__/bookinfo-graph.json'), 'utf8'));
export const bookinfoTraceEnvelope = JSON.parse(await readFile(join(src, 'traces/__fixtures__/bookinfo-trace.json'), 'utf8'));
export const bookinfoTrace = bookinfoTraceEnvelope.data[0];
export const bigGraph = largeGraph(1000);
export const bigTrace = largeTrace(10000);
export const now = Date.now() * 1000;
export const results = searchResults(14, now, 3600e6);

export const NAMESPACES = ['bookinfo', 'istio-system', 'quiet', ...Array.from({ length: 10 }, (_, i) => `team-${i}`)];

const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json' };
const APP_ROUTES = [/^\/$/, /^\/graph\/?$/, /^\/traces\/?$/, /^\/traces\/[^/]+\/?$/, /^\/alerts\/?$/];

/** The graph the mock answers for a namespace list. */
export function graphFor(namespaces) {
  if (namespaces.some((n) => n.startsWith('team-'))) return bigGraph;
  if (namespaces.length === 1 && namespaces[0] === 'quiet') {
    return { timestamp: Math.floor(Date.now() / 1000), duration: 300, graphType: 'versionedApp', elements: { nodes: [], edges: [] } };
  }
  return bookinfoGraph;
}

function json(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function envelope(data) {
  return { data, total: Array.isArray(data) ? data.length : 0, limit: 0, offset: 0, errors: null };
}

function serviceNames(trace) {
  return new Set(Object.values(trace.processes).map((p) => p.serviceName));
}

async function handleApi(url, res) {
  const p = url.pathname;
  if (p === '/api/v1/namespaces') return json(res, 200, { namespaces: NAMESPACES });
  if (p === '/api/v1/graph') {
    const namespaces = (url.searchParams.get('namespaces') ?? '').split(',').filter(Boolean);
    if (url.searchParams.get('format') === 'dot') {
      res.writeHead(200, { 'Content-Type': 'text/vnd.graphviz' });
      return res.end('digraph meshview {\n  "productpage" -> "reviews";\n}\n');
    }
    const graph = graphFor(namespaces);
    return json(res, 200, { ...graph, duration: Number.parseInt(url.searchParams.get('duration') ?? '300', 10) });
  }
  if (p === '/api/v1/alerts/rules') return json(res, 404, { detail: 'Not found.' });
  if (p === '/jaeger/api/services') return json(res, 200, envelope(['details', 'productpage', 'ratings', 'reviews']));
  const ops = /^\/jaeger\/api\/services\/([^/]+)\/operations$/.exec(p);
  if (ops) {
    const service = decodeURIComponent(ops[1]);
    const names = new Set();
    for (const span of bookinfoTrace.spans) if (bookinfoTrace.processes[span.processID].serviceName === service) names.add(span.operationName);
    return json(res, 200, envelope([...names].sort()));
  }
  if (p === '/jaeger/api/traces') {
    const service = url.searchParams.get('service');
    const limit = Number.parseInt(url.searchParams.get('limit') ?? '20', 10);
    let found = results.filter((t) => !service || serviceNames(t).has(service));
    const tags = url.searchParams.get('tags');
    if (tags && JSON.parse(tags).error === 'true') found = found.filter((t) => t.spans.some((s) => s.tags.some((k) => k.key === 'error')));
    return json(res, 200, envelope(found.slice(0, limit)));
  }
  const one = /^\/jaeger\/api\/traces\/([^/]+)$/.exec(p);
  if (one) {
    const id = decodeURIComponent(one[1]);
    const trace = [bookinfoTrace, bigTrace, ...results].find((t) => t.traceID === id);
    if (!trace) return json(res, 404, { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: 'trace not found' }] });
    return json(res, 200, envelope([trace]));
  }
  return json(res, 404, { detail: 'Not found.' });
}

export function startServer(port = 0) {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/jaeger/')) return await handleApi(url, res);
      if (url.pathname.startsWith('/static/')) {
        const file = normalize(join(dist, url.pathname.slice('/static/'.length)));
        if (!file.startsWith(dist)) return json(res, 403, {});
        const body = await readFile(file);
        res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
        return res.end(body);
      }
      if (APP_ROUTES.some((r) => r.test(url.pathname))) {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        return res.end(await readFile(join(dist, 'index.html')));
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    } catch (err) {
      res.writeHead(err.code === 'ENOENT' ? 404 : 500, { 'Content-Type': 'text/plain' });
      res.end(String(err.message));
    }
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

// `node tests/mock-server.mjs [port]` serves until stopped, to look at the build by hand.
if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const server = await startServer(Number(process.argv[2] ?? 8765));
  console.log(`meshview build with mocked APIs on http://127.0.0.1:${server.address().port}/graph`);
}
