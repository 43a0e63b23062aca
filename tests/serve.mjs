// A small static server for dist/ with the SPA fallback (unknown paths → index.html), plus a
// stand-in for the Tempo API used by the browser tests:
//   GET /api/v2/traces/{id} → 404 (so the SPA must fall back to v1, as Grafana does)
//   GET /api/traces/{id}    → the file given in TEMPO_TRACE_FILE (any id), else 404
//   POST /api/upload        → 404 (no spanlens server: the SPA must say so)
//   GET /api/search         → the hits last posted to POST /__test/search-hits (a JSON array)
//   GET /api/search/tag/{tag}/values → {"tagValues": ["frontend", …]}
// Usage: node tests/serve.mjs <dist dir> <port>   (prints "listening <port>" when ready)
import http from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

const root = path.resolve(process.argv[2] || 'dist');
const port = Number(process.argv[3] || 0);
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json' };

let searchHits = [];
const json = (res, body) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = decodeURIComponent(url.pathname);
  if (req.method === 'POST' && p === '/__test/search-hits') {
    let body = '';
    for await (const chunk of req) body += chunk;
    searchHits = JSON.parse(body);
    return json(res, { ok: true });
  }
  if (req.method === 'GET' && p === '/api/search') return json(res, { traces: searchHits, metrics: {} });
  if (req.method === 'GET' && /^\/api\/search\/tag\/[^/]+\/values$/.test(p)) return json(res, { tagValues: ['frontend', 'productpage'] });
  if (p.startsWith('/api/')) {
    if (req.method === 'GET' && p.startsWith('/api/traces/') && process.env.TEMPO_TRACE_FILE) {
      const body = await readFile(process.env.TEMPO_TRACE_FILE);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(body);
    }
    res.writeHead(404);
    return res.end();
  }
  let file = path.join(root, p);
  if (!file.startsWith(root)) { res.writeHead(403); return res.end(); }
  try {
    const s = await stat(file);
    if (s.isDirectory()) file = path.join(file, 'index.html');
  } catch {
    file = path.join(root, 'index.html');
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
server.listen(port, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
