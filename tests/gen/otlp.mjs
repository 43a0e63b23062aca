// Deterministic generator of realistic OTLP JSON traces (services calling each other over HTTP
// and gRPC, database and cache clients, queue producers/consumers, errors with exception
// events, a link between traces). Used for public/demo.json and for the browser benchmark.
//
//   node tests/gen/otlp.mjs demo > public/demo.json
//   node tests/gen/otlp.mjs big 100000 > /tmp/100k.json
import { writeFileSync, openSync, writeSync, closeSync } from 'node:fs';

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SERVICES = {
  frontend: { ops: ['GET /', 'GET /product/{id}', 'POST /cart/checkout', 'GET /cart'], lang: 'nodejs' },
  'checkout-service': { ops: ['PlaceOrder', 'PrepareOrderItemsAndShippingQuoteFromCart'], lang: 'go' },
  'cart-service': { ops: ['GetCart', 'AddItem', 'EmptyCart'], lang: 'dotnet' },
  'product-catalog': { ops: ['GetProduct', 'ListProducts', 'SearchProducts'], lang: 'go' },
  'currency-service': { ops: ['Convert', 'GetSupportedCurrencies'], lang: 'cpp' },
  'payment-service': { ops: ['Charge'], lang: 'nodejs' },
  'shipping-service': { ops: ['GetQuote', 'ShipOrder'], lang: 'rust' },
  'email-service': { ops: ['POST /send_order_confirmation'], lang: 'ruby' },
  'recommendation-service': { ops: ['ListRecommendations'], lang: 'python' },
  'ad-service': { ops: ['GetAds'], lang: 'java' },
  'fraud-detection': { ops: ['orders process'], lang: 'kotlin' },
  'llm-assistant': { ops: ['chat gpt-4o', 'embeddings text-embedding-3-small'], lang: 'python' },
};
const NAMES = Object.keys(SERVICES);

function hex(r, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

function str(key, v) { return { key, value: { stringValue: v } }; }
function int(key, v) { return { key, value: { intValue: String(v) } }; }

class TraceBuilder {
  constructor(r, start) {
    this.r = r;
    this.traceId = hex(r, 32);
    this.start = start;
    this.byService = new Map();
    this.count = 0;
  }
  add(service, span) {
    if (!this.byService.has(service)) this.byService.set(service, []);
    this.byService.get(service).push(span);
    this.count++;
  }
  span({ service, name, kind, parent, start, end, attrs = [], events = [], error = null, links = [] }) {
    const spanId = hex(this.r, 16);
    const s = {
      traceId: this.traceId,
      spanId,
      name,
      kind,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(end),
      attributes: attrs,
    };
    if (parent) s.parentSpanId = parent;
    if (events.length) s.events = events;
    if (links.length) s.links = links;
    s.status = error ? { code: 2, message: error } : {};
    this.add(service, s);
    return spanId;
  }
  toResourceSpans() {
    return [...this.byService.entries()].map(([service, spans]) => ({
      resource: {
        attributes: [
          str('service.name', service),
          str('service.version', '1.4.2'),
          str('telemetry.sdk.language', SERVICES[service]?.lang || 'go'),
          str('host.name', `${service}-7d9f8c-${service.length}x`),
          str('deployment.environment', 'demo'),
        ],
      },
      scopeSpans: [{ scope: { name: `io.opentelemetry.${SERVICES[service]?.lang || 'go'}`, version: '1.30.0' }, spans }],
    }));
  }
}

const MS = 1_000_000;

// Builds a call tree below a server span until `budget` spans exist in the trace.
function grow(tb, r, { service, parent, start, end, depth, budget, maxFan, errorRate }) {
  const kids = [];
  if (tb.count >= budget || depth > 7) return;
  const fan = 1 + Math.floor(r() * maxFan);
  let t = start + Math.floor((end - start) * 0.05);
  const slot = Math.max(1, Math.floor((end - start) * 0.9 / Math.max(1, Math.ceil(fan / 2))));
  for (let i = 0; i < fan && tb.count < budget; i++) {
    const parallel = r() < 0.45;
    const cs = parallel ? start + Math.floor((end - start) * 0.05) : t;
    const ce = Math.min(end - 1, cs + Math.max(1000, Math.floor(slot * (0.4 + r() * 0.55))));
    if (!parallel) t = ce + Math.floor(slot * 0.05);
    const pick = r();
    if (pick < 0.2) {
      // database client span
      const stmt = r() < 0.5 ? 'SELECT * FROM orders WHERE user_id = ?' : 'UPDATE inventory SET qty = qty - ? WHERE sku = ?';
      tb.span({ service, name: stmt.split(' ')[0] + ' shop.' + (stmt.includes('orders') ? 'orders' : 'inventory'), kind: 3, parent, start: cs, end: ce,
        attrs: [str('db.system', 'postgresql'), str('db.namespace', 'shop'), str('db.query.text', stmt), str('server.address', 'postgres')] });
    } else if (pick < 0.3) {
      tb.span({ service, name: 'GET', kind: 3, parent, start: cs, end: Math.min(ce, cs + 2 * MS),
        attrs: [str('db.system', 'redis'), str('db.operation.name', 'GET'), str('server.address', 'redis-cache')] });
    } else if (pick < 0.38) {
      const id = tb.span({ service, name: `${service}.internal.compute`, kind: 1, parent, start: cs, end: ce,
        attrs: [int('items.count', 1 + Math.floor(r() * 40))] });
      grow(tb, r, { service, parent: id, start: cs, end: ce, depth: depth + 1, budget, maxFan: Math.max(1, maxFan - 1), errorRate });
    } else {
      // RPC to another service: client span + server span
      const target = NAMES[1 + Math.floor(r() * (NAMES.length - 1))];
      const op = SERVICES[target].ops[Math.floor(r() * SERVICES[target].ops.length)];
      const isError = r() < errorRate;
      const http = op.includes('/');
      const clientAttrs = http
        ? [str('http.request.method', op.split(' ')[0]), str('url.full', `http://${target}:8080${op.split(' ')[1]}`), int('http.response.status_code', isError ? 503 : 200), str('peer.service', target)]
        : [str('rpc.system', 'grpc'), str('rpc.service', `oteldemo.${target}`), str('rpc.method', op), str('peer.service', target)];
      const clientId = tb.span({ service, name: http ? op.split(' ')[0] : `oteldemo.${target}/${op}`, kind: 3, parent, start: cs, end: ce,
        attrs: clientAttrs, error: isError ? 'upstream returned an error' : null });
      const ss = cs + Math.floor((ce - cs) * 0.03);
      const se = ce - Math.floor((ce - cs) * 0.03);
      const events = [];
      if (isError) {
        events.push({ timeUnixNano: String(se - 1000), name: 'exception', attributes: [
          str('exception.type', 'io.grpc.StatusRuntimeException'),
          str('exception.message', 'UNAVAILABLE: connection refused'),
          str('exception.stacktrace', `io.grpc.StatusRuntimeException: UNAVAILABLE: connection refused\n\tat io.grpc.stub.ClientCalls.toStatusRuntimeException(ClientCalls.java:268)\n\tat oteldemo.${target}.Handler.handle(Handler.java:42)\n\tat oteldemo.Server.run(Server.java:88)`),
        ] });
      } else if (r() < 0.3) {
        events.push({ timeUnixNano: String(ss + Math.floor((se - ss) * 0.5)), name: 'cache miss', attributes: [str('cache.key', `k-${Math.floor(r() * 999)}`)] });
      }
      const serverAttrs = target.startsWith('llm')
        ? [str('gen_ai.system', 'openai'), str('gen_ai.request.model', 'gpt-4o'), int('gen_ai.usage.input_tokens', 800 + Math.floor(r() * 4000)), int('gen_ai.usage.output_tokens', 50 + Math.floor(r() * 600))]
        : [str('rpc.system', http ? '' : 'grpc'), str('app.request.id', hex(r, 8))];
      const serverId = tb.span({ service: target, name: op, kind: target === 'fraud-detection' ? 5 : 2, parent: clientId, start: ss, end: se,
        attrs: serverAttrs, events, error: isError ? 'UNAVAILABLE: connection refused' : null });
      kids.push({ service: target, parent: serverId, start: ss, end: se });
    }
  }
  for (const k of kids) {
    if (tb.count >= budget) break;
    grow(tb, r, { ...k, depth: depth + 1, budget, maxFan, errorRate });
  }
}

export function makeTrace(seed, spans, { start = Date.UTC(2026, 10, 21, 9, 0, 0) * MS, durationMs = 900, maxFan = 4, errorRate = 0.04 } = {}) {
  const r = rng(seed);
  const tb = new TraceBuilder(r, start);
  const end = start + durationMs * MS;
  const op = SERVICES.frontend.ops[Math.floor(r() * SERVICES.frontend.ops.length)];
  const root = tb.span({ service: 'frontend', name: op, kind: 2, start, end,
    attrs: [str('http.request.method', op.split(' ')[0]), str('http.route', op.split(' ')[1]), int('http.response.status_code', 200), str('user_agent.original', 'Mozilla/5.0')] });
  while (tb.count < spans) {
    grow(tb, r, { service: 'frontend', parent: root, start, end, depth: 1, budget: spans, maxFan, errorRate });
  }
  return tb;
}

export function demo() {
  const base = Date.UTC(2026, 10, 21, 9, 0, 0) * MS;
  const a = makeTrace(11, 180, { start: base, durationMs: 1250, maxFan: 4, errorRate: 0.05 });
  const b = makeTrace(23, 64, { start: base + 4_000 * MS, durationMs: 320, maxFan: 3, errorRate: 0 });
  const c = makeTrace(37, 420, { start: base + 9_000 * MS, durationMs: 4200, maxFan: 5, errorRate: 0.03 });
  // A link from trace b's root to trace a's root (e.g. a retried checkout).
  const aRoot = a.byService.get('frontend')[0];
  const bRoot = b.byService.get('frontend')[0];
  bRoot.links = [{ traceId: aRoot.traceId, spanId: aRoot.spanId, attributes: [str('link.reason', 'retry of')] }];
  return { resourceSpans: [...a.toResourceSpans(), ...b.toResourceSpans(), ...c.toResourceSpans()] };
}

export function big(spans) {
  const tb = makeTrace(101, spans, { durationMs: 30_000, maxFan: 6, errorRate: 0.01 });
  return { resourceSpans: tb.toResourceSpans() };
}

// Writes a big single-trace file without building one huge string (1M spans ≈ 470 MB).
export function bigToFile(spans, file) {
  const tb = makeTrace(101, spans, { durationMs: 30_000, maxFan: 6, errorRate: 0.01 });
  const fd = openSync(file, 'w');
  writeSync(fd, '{"resourceSpans":[');
  tb.toResourceSpans().forEach((rs, i) => {
    const spansOf = rs.scopeSpans[0].spans;
    const head = JSON.stringify({ ...rs, scopeSpans: [{ ...rs.scopeSpans[0], spans: [] }] });
    const cut = head.lastIndexOf('"spans":[]') + '"spans":['.length;
    writeSync(fd, (i ? ',' : '') + head.slice(0, cut));
    for (let k = 0; k < spansOf.length; k += 5000) {
      const part = JSON.stringify(spansOf.slice(k, k + 5000));
      writeSync(fd, (k ? ',' : '') + part.slice(1, -1));
    }
    writeSync(fd, head.slice(cut));
  });
  writeSync(fd, ']}');
  closeSync(fd);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const mode = args[0];
  const doc = mode === 'big' ? big(Number(args[1] || 100000)) : demo();
  const out = mode === 'big' ? args[2] : args[1];
  const text = JSON.stringify(doc);
  if (out) writeFileSync(out, text); else process.stdout.write(text);
}
