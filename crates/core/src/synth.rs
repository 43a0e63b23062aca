//! Deterministic generator of realistic multi-service traces, for benchmarks, the server's
//! `--demo` and the SPA's demo data.
//!
//! A seeded in-crate PRNG (SplitMix64; no `rand`) drives a small model of a RAG/e-commerce
//! system: an API gateway, HTTP services calling each other (CLIENT span in the caller, SERVER
//! span in the callee, with `peer.service` / `server.address`), PostgreSQL (`db.system`,
//! `db.statement`, sometimes an N+1 burst of ≥5 identical statements under one parent), a
//! Qdrant vector store (`db.system=qdrant`, `vector_store.*`), an LLM proxy (`gen_ai.*` with
//! token counts, span names like `chat gpt-4o`, slow), Kafka producers and consumers (consumer
//! spans start after the producer, with a link back to it), Redis, errors with `exception`
//! events (type, message, stacktrace) and retries. Spans carry 10-20 attributes following the
//! OpenTelemetry semantic conventions. Same options, same output, on every platform.
//!
//! Not here: any randomness from the environment, I/O, or statistical realism beyond what a
//! viewer demo and parser benchmarks need.

use crate::formats::writers::to_otlp_json;
use crate::model::{
    Event, KeyValue, Link, Range32, Resource, Scope, Span, SpanId, SpanKind, StatusCode, StrId, TraceId,
    TraceSet, TraceSetBuilder, Value,
};

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthOptions {
    /// PRNG seed: the same options give the same traces.
    pub seed: u64,
    /// Number of traces.
    pub traces: u32,
    /// Average spans per trace (each trace gets between half and one and a half times this,
    /// at least 3).
    pub spans_per_trace: u32,
    /// Number of services, clamped to 5..=30.
    pub services: u32,
    /// Start of the first trace window, nanoseconds since the Unix epoch.
    pub start_unix_nanos: u64,
    /// Trace start times are spread uniformly over this many nanoseconds.
    pub spread_nanos: u64,
    /// Percentage (0-100) of downstream calls that fail.
    pub error_percent: u32,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            seed: 42,
            traces: 100,
            spans_per_trace: 40,
            services: 12,
            start_unix_nanos: 1_795_000_000_000_000_000,
            spread_nanos: 3_600_000_000_000,
            error_percent: 4,
        }
    }
}

impl SynthOptions {
    /// Options for about `total` spans in traces of `spans_per_trace` on average.
    pub fn for_total_spans(total: u64, spans_per_trace: u32, seed: u64) -> SynthOptions {
        let per = spans_per_trace.max(3);
        SynthOptions {
            seed,
            traces: (total / u64::from(per)).clamp(1, u64::from(u32::MAX)) as u32,
            spans_per_trace: per,
            ..SynthOptions::default()
        }
    }
}

/// Generates the traces as an assembled set.
pub fn generate(options: &SynthOptions) -> TraceSet {
    let mut g = Gen::new(options);
    for t in 0..options.traces {
        g.trace(t);
    }
    g.b.finish()
}

/// Generates the traces as spec OTLP JSON (`{"resourceSpans":[...]}`).
pub fn generate_otlp_json(options: &SynthOptions) -> String {
    to_otlp_json(&generate(options), None)
}

/// SplitMix64: tiny, fast, good enough for synthetic data.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// What a service does, which decides the spans it produces.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Gateway,
    Http,
    Postgres,
    Qdrant,
    LlmProxy,
    Worker,
    Redis,
}

/// Service catalogue: the first five are always present.
const SERVICES: [(&str, Role, &str); 30] = [
    ("api-gateway", Role::Gateway, "go"),
    ("knowledge-router", Role::Http, "python"),
    ("postgres", Role::Postgres, "cpp"),
    ("qdrant", Role::Qdrant, "rust"),
    ("llm-proxy", Role::LlmProxy, "python"),
    ("orders", Role::Http, "java"),
    ("order-worker", Role::Worker, "java"),
    ("payments", Role::Http, "go"),
    ("users", Role::Http, "nodejs"),
    ("redis", Role::Redis, "cpp"),
    ("inventory", Role::Http, "java"),
    ("search", Role::Http, "rust"),
    ("notification-worker", Role::Worker, "nodejs"),
    ("cart", Role::Http, "dotnet"),
    ("recommendation", Role::Http, "python"),
    ("shipping", Role::Http, "rust"),
    ("embedder", Role::Http, "python"),
    ("email-worker", Role::Worker, "python"),
    ("pricing", Role::Http, "go"),
    ("catalog", Role::Http, "java"),
    ("reviews", Role::Http, "ruby"),
    ("fraud-check", Role::Http, "python"),
    ("currency", Role::Http, "nodejs"),
    ("ads", Role::Http, "java"),
    ("audit-worker", Role::Worker, "go"),
    ("feature-flags", Role::Http, "go"),
    ("session", Role::Http, "nodejs"),
    ("tax", Role::Http, "dotnet"),
    ("loyalty", Role::Http, "php"),
    ("analytics-worker", Role::Worker, "python"),
];

const ROUTES: [&str; 10] = [
    "/v1/chat",
    "/api/orders/{id}",
    "/api/cart",
    "/api/checkout",
    "/api/products",
    "/api/users/{id}",
    "/api/search",
    "/api/recommendations",
    "/api/reviews/{product_id}",
    "/api/session",
];

const TABLES: [&str; 8] = [
    "orders",
    "order_items",
    "users",
    "products",
    "kb.chunks",
    "kb.documents",
    "payments",
    "inventory",
];

const MODELS: [(&str, &str); 4] = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-3-5-sonnet"),
    ("openai", "text-embedding-3-small"),
];

const ERRORS: [(&str, &str, u64); 5] = [
    ("TimeoutError", "upstream request timed out after 5000 ms", 504),
    ("ConnectionRefusedError", "connection refused", 503),
    ("RuntimeError", "HTTP 500", 500),
    ("psycopg.errors.DeadlockDetected", "deadlock detected", 500),
    (
        "RateLimitError",
        "rate limit exceeded: 429 Too Many Requests",
        429,
    ),
];

/// Per-span context while generating one trace.
#[derive(Clone, Copy)]
struct Parent {
    span_id: SpanId,
    service: usize,
}

/// Outcome of a generated subtree.
#[derive(Clone, Copy)]
struct Done {
    end: u64,
    error: bool,
}

struct Gen {
    b: TraceSetBuilder,
    rng: Rng,
    opts: SynthOptions,
    services: usize,
    resources: Vec<u32>,
    scopes: Vec<u32>,
    kvs: Vec<KeyValue>,
    trace_id: TraceId,
    budget: u32,
    events: Vec<Event>,
}

impl Gen {
    fn new(opts: &SynthOptions) -> Self {
        let services = (opts.services.clamp(5, 30)) as usize;
        let mut g = Gen {
            b: TraceSetBuilder::new(),
            rng: Rng(opts.seed ^ 0x5eed_5eed_5eed_5eed),
            opts: opts.clone(),
            services,
            resources: Vec::new(),
            scopes: Vec::new(),
            kvs: Vec::with_capacity(32),
            trace_id: TraceId::default(),
            budget: 0,
            events: Vec::new(),
        };
        for (i, (name, role, lang)) in SERVICES.iter().take(services).enumerate() {
            g.kvs.clear();
            g.str("service.name", name);
            g.str("service.namespace", if i % 3 == 0 { "edge" } else { "shop" });
            g.str("service.version", &format!("1.{}.{}", i % 7, i % 4));
            let v = format!("{name}-{:08x}", (g.rng.next() >> 32) as u32);
            g.str("service.instance.id", &v);
            g.str("deployment.environment.name", "production");
            g.str("telemetry.sdk.name", "opentelemetry");
            g.str("telemetry.sdk.language", lang);
            g.str("telemetry.sdk.version", "1.28.0");
            g.str("host.name", &format!("node-{}", i % 5));
            g.str("k8s.namespace.name", "shop");
            let v = format!("{name}-6d5f8b7c9-{:05x}", g.rng.below(0xfffff));
            g.str("k8s.pod.name", &v);
            if *role == Role::Postgres {
                g.str("db.system", "postgresql");
            }
            let attrs = g.flush_kvs();
            let service_name = g.b.arena.intern(name);
            let schema_url = g.b.arena.intern("https://opentelemetry.io/schemas/1.26.0");
            let r = g.b.arena.push_resource(Resource {
                service_name,
                attrs,
                dropped_attributes_count: 0,
                schema_url,
            });
            let scope_name = g.b.arena.intern(&format!("io.opentelemetry.{lang}"));
            let version = g.b.arena.intern("1.28.0");
            let s = g.b.arena.push_scope(Scope {
                name: scope_name,
                version,
                ..Scope::default()
            });
            g.resources.push(r);
            g.scopes.push(s);
        }
        g
    }

    fn str(&mut self, key: &str, value: &str) {
        let key = self.b.arena.intern(key);
        let value = Value::Str(self.b.arena.intern(value));
        self.kvs.push(KeyValue { key, value });
    }

    fn int(&mut self, key: &str, value: i64) {
        let key = self.b.arena.intern(key);
        self.kvs.push(KeyValue {
            key,
            value: Value::Int(value),
        });
    }

    fn double(&mut self, key: &str, value: f64) {
        let key = self.b.arena.intern(key);
        self.kvs.push(KeyValue {
            key,
            value: Value::Double(value),
        });
    }

    fn bool(&mut self, key: &str, value: bool) {
        let key = self.b.arena.intern(key);
        self.kvs.push(KeyValue {
            key,
            value: Value::Bool(value),
        });
    }

    fn flush_kvs(&mut self) -> Range32 {
        let r = self.b.arena.push_kvs(&self.kvs);
        self.kvs.clear();
        r
    }

    fn service_index(&self, role: Role) -> Option<usize> {
        SERVICES.iter().take(self.services).position(|s| s.1 == role)
    }

    fn service_name(i: usize) -> &'static str {
        SERVICES.get(i).map_or("unknown", |s| s.0)
    }

    fn role(i: usize) -> Role {
        SERVICES.get(i).map_or(Role::Http, |s| s.1)
    }

    fn new_span_id(&mut self) -> SpanId {
        let mut id = self.rng.next().to_be_bytes();
        if id == [0; 8] {
            id[7] = 1;
        }
        SpanId(id)
    }

    /// Common attributes every span carries (thread, code location, tenant).
    fn common(&mut self, service: usize, function: &str) {
        let v = self.rng.range(1, 64) as i64;
        self.int("thread.id", v);
        self.str("thread.name", "worker");
        self.str("code.function", function);
        self.str("code.namespace", Self::service_name(service));
        let tenant = *self
            .rng
            .pick(&["acme", "globex", "initech", "umbrella"])
            .unwrap_or(&"acme");
        self.str("app.tenant", tenant);
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        parent: Option<SpanId>,
        span_id: SpanId,
        service: usize,
        name: &str,
        kind: SpanKind,
        start: u64,
        end: u64,
        error: Option<&str>,
        links: Range32,
    ) {
        let attrs = self.flush_kvs();
        let events = self.b.arena.push_events(&self.events);
        self.events.clear();
        let name = self.b.arena.intern(name);
        let status_message = match error {
            Some(m) => self.b.arena.intern(m),
            None => StrId::EMPTY,
        };
        self.budget = self.budget.saturating_sub(1);
        self.b.push_span(Span {
            trace_id: self.trace_id,
            span_id,
            parent_span_id: parent,
            name,
            kind,
            status_code: if error.is_some() {
                StatusCode::Error
            } else {
                StatusCode::Unset
            },
            status_message,
            start_unix_nanos: start,
            end_unix_nanos: end.max(start),
            attrs,
            events,
            links,
            resource: self.resources.get(service).copied().unwrap_or(0),
            scope: self.scopes.get(service).copied().unwrap_or(0),
            flags: 0x101,
            ..Span::default()
        });
    }

    fn exception_event(&mut self, at: u64, kind: &str, message: &str, service: usize) {
        let k1 = self.b.arena.intern("exception.type");
        let v1 = Value::Str(self.b.arena.intern(kind));
        let k2 = self.b.arena.intern("exception.message");
        let v2 = Value::Str(self.b.arena.intern(message));
        let k3 = self.b.arena.intern("exception.stacktrace");
        let trace = format!(
            "{kind}: {message}\n  at {svc}.handler.process(handler.py:{l1})\n  at {svc}.client.call(client.py:{l2})\n  at runtime.main(main.py:12)",
            svc = Self::service_name(service),
            l1 = 40 + service,
            l2 = 100 + service * 3
        );
        let v3 = Value::Str(self.b.arena.intern(&trace));
        let k4 = self.b.arena.intern("exception.escaped");
        let attrs = self.b.arena.push_kvs(&[
            KeyValue { key: k1, value: v1 },
            KeyValue { key: k2, value: v2 },
            KeyValue { key: k3, value: v3 },
            KeyValue {
                key: k4,
                value: Value::Bool(true),
            },
        ]);
        let name = self.b.arena.intern("exception");
        self.events.push(Event {
            time_unix_nanos: at,
            name,
            attrs,
            dropped_attributes_count: 0,
        });
    }

    fn simple_event(&mut self, at: u64, name: &str, key: &str, value: i64) {
        let k = self.b.arena.intern(key);
        let attrs = self.b.arena.push_kvs(&[KeyValue {
            key: k,
            value: Value::Int(value),
        }]);
        let name = self.b.arena.intern(name);
        self.events.push(Event {
            time_unix_nanos: at,
            name,
            attrs,
            dropped_attributes_count: 0,
        });
    }

    fn trace(&mut self, index: u32) {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.rng.next().to_be_bytes());
        id[8..].copy_from_slice(&self.rng.next().to_be_bytes());
        self.trace_id = TraceId(id);
        let per = u64::from(self.opts.spans_per_trace.max(3));
        self.budget = self.rng.range(per / 2, per + per / 2).max(3) as u32;
        let slot = self.opts.spread_nanos / u64::from(self.opts.traces.max(1));
        let start =
            self.opts.start_unix_nanos + slot.saturating_mul(u64::from(index)) + self.rng.below(slot.max(1));
        let route = *self.rng.pick(&ROUTES).unwrap_or(&"/");
        let gateway = 0usize;
        let root_id = self.new_span_id();
        let root = Parent {
            span_id: root_id,
            service: gateway,
        };
        // The gateway forwards to one or more backends.
        let mut t = start + self.rng.range(20_000, 200_000);
        let mut error = false;
        // Keep forwarding until the trace's span budget is used up (bounded).
        let mut calls = 0;
        while self.budget > 1 && calls < 200 {
            calls += 1;
            let target = if route == "/v1/chat" {
                1
            } else {
                self.pick_http_service(gateway)
            };
            let done = self.http_call(root, target, t, 0);
            error |= done.error;
            t = done.end + self.rng.range(10_000, 100_000);
        }
        let end = t + self.rng.range(50_000, 300_000);
        let status = if error { 500 } else { 200 };
        self.http_server_attrs("POST", route, status, gateway);
        self.push(
            None,
            root_id,
            gateway,
            &format!("POST {route}"),
            SpanKind::Server,
            start,
            end,
            error.then_some("upstream error"),
            Range32::EMPTY,
        );
    }

    fn pick_http_service(&mut self, not: usize) -> usize {
        for _ in 0..8 {
            let i = self.rng.below(self.services as u64) as usize;
            if i != not && matches!(Self::role(i), Role::Http) {
                return i;
            }
        }
        1
    }

    fn http_server_attrs(&mut self, method: &str, route: &str, status: i64, service: usize) {
        self.str("http.request.method", method);
        self.str("http.route", route);
        self.str(
            "url.path",
            &route.replace("{id}", "1042").replace("{product_id}", "77"),
        );
        self.str("url.scheme", "https");
        self.int("http.response.status_code", status);
        self.str("network.protocol.version", "1.1");
        self.str(
            "server.address",
            &format!("{}.shop.svc", Self::service_name(service)),
        );
        self.int("server.port", 8080);
        let client = format!("10.42.{}.{}", self.rng.below(8), self.rng.below(250));
        self.str("client.address", &client);
        self.str(
            "user_agent.original",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0",
        );
        let v = self.rng.range(100, 4000) as i64;
        self.int("http.request.body.size", v);
        let v = self.rng.range(200, 60_000) as i64;
        self.int("http.response.body.size", v);
        let user = format!("u-{:04}", self.rng.below(2000));
        self.str("enduser.id", &user);
        self.common(service, "handle_request");
    }

    /// A CLIENT span in `caller` and the SERVER span in `callee` it leads to, with the callee's
    /// own work below. Retries failed calls up to twice.
    fn http_call(&mut self, caller: Parent, callee: usize, start: u64, depth: u32) -> Done {
        let mut attempt = 0;
        let mut t = start;
        loop {
            let done = self.http_attempt(caller, callee, t, depth, attempt);
            if !done.error || attempt >= 2 || self.budget < 4 || !self.rng.chance(60) {
                return done;
            }
            attempt += 1;
            t = done.end + self.rng.range(1_000_000, 50_000_000);
        }
    }

    fn http_attempt(&mut self, caller: Parent, callee: usize, start: u64, depth: u32, attempt: i64) -> Done {
        let client_id = self.new_span_id();
        let server_id = self.new_span_id();
        let server_start = start + self.rng.range(100_000, 800_000);
        let route = match Self::role(callee) {
            Role::LlmProxy => "/v1/chat/completions",
            _ if callee == 1 => "/route",
            _ => *self.rng.pick(&ROUTES).unwrap_or(&"/"),
        };
        let method = if self.rng.chance(60) { "GET" } else { "POST" };
        let me = Parent {
            span_id: server_id,
            service: callee,
        };
        let done = self.handler(me, server_start, depth + 1);
        let mut error = done.error;
        let mut own_error = None;
        if !error && self.rng.chance(u64::from(self.opts.error_percent)) {
            error = true;
            own_error = self.rng.pick(&ERRORS).copied();
        }
        let server_end = done.end + self.rng.range(50_000, 500_000);
        let status = match own_error {
            Some((_, _, code)) => code as i64,
            None if error => 500,
            None => 200,
        };
        if let Some((kind, message, _)) = own_error {
            self.exception_event(server_end.saturating_sub(20_000), kind, message, callee);
        }
        self.http_server_attrs(method, route, status, callee);
        let server_msg = own_error.map(|e| e.1).or(error.then_some("HTTP 500"));
        self.push(
            Some(client_id),
            server_id,
            callee,
            &format!("{method} {route}"),
            SpanKind::Server,
            server_start,
            server_end,
            server_msg,
            Range32::EMPTY,
        );
        let client_end = server_end + self.rng.range(100_000, 900_000);
        let name = Self::service_name(callee);
        self.str("http.request.method", method);
        self.str("url.full", &format!("http://{name}.shop.svc:8080{route}"));
        self.str("server.address", &format!("{name}.shop.svc"));
        self.int("server.port", 8080);
        self.str("peer.service", name);
        self.int("http.response.status_code", status);
        self.str(
            "network.peer.address",
            &format!("10.42.{}.{}", callee % 8, 10 + callee),
        );
        self.str("network.protocol.name", "http");
        if attempt > 0 {
            self.int("http.request.resend_count", attempt);
        }
        self.common(caller.service, "call_downstream");
        if error {
            self.str("error.type", &status.to_string());
            self.exception_event(
                client_end.saturating_sub(10_000),
                "HTTPError",
                &format!("HTTP {status}"),
                caller.service,
            );
        }
        self.push(
            Some(caller.span_id),
            client_id,
            caller.service,
            &format!("{method} {route}"),
            SpanKind::Client,
            start,
            client_end,
            error.then_some("HTTP error"),
            Range32::EMPTY,
        );
        Done {
            end: client_end,
            error,
        }
    }

    /// The work a service does for one request.
    fn handler(&mut self, me: Parent, start: u64, depth: u32) -> Done {
        let mut t = start + self.rng.range(50_000, 400_000);
        let mut error = false;
        let role = Self::role(me.service);
        match role {
            Role::LlmProxy => {
                let d = self.llm_upstream(me, t);
                return Done {
                    end: d.end,
                    error: d.error,
                };
            }
            Role::Postgres | Role::Qdrant | Role::Redis | Role::Worker | Role::Gateway => {}
            Role::Http => {
                // A few steps: cache, auth, DB, vector search, LLM, downstream calls, publish.
                let steps = if depth <= 1 && self.budget > 40 {
                    self.rng.range(3, 6)
                } else {
                    self.rng.range(1, 4)
                };
                for step in 0..steps {
                    if self.budget < 2 {
                        break;
                    }
                    let choice = if me.service == 1 && step == 0 {
                        90
                    } else {
                        self.rng.below(100)
                    };
                    let d = match choice {
                        0..=19 => self.internal(me, t),
                        20..=39 => self.db_calls(me, t),
                        40..=49 => self.redis_call(me, t),
                        50..=59 if depth < 4 => {
                            let target = self.pick_http_service(me.service);
                            self.http_call(me, target, t, depth)
                        }
                        60..=69 => self.publish(me, t),
                        70..=79 => self.vector_search(me, t),
                        80..=89 => match self.service_index(Role::LlmProxy) {
                            Some(llm) if depth < 4 => self.http_call(me, llm, t, depth),
                            _ => self.internal(me, t),
                        },
                        _ => {
                            // RAG: embed, search, generate.
                            let d = self.vector_search(me, t);
                            match self.service_index(Role::LlmProxy) {
                                Some(llm) if depth < 4 && self.budget > 3 => {
                                    self.http_call(me, llm, d.end + 100_000, depth)
                                }
                                _ => d,
                            }
                        }
                    };
                    error |= d.error && self.rng.chance(70);
                    t = d.end + self.rng.range(20_000, 300_000);
                }
            }
        }
        Done { end: t, error }
    }

    fn internal(&mut self, me: Parent, start: u64) -> Done {
        let id = self.new_span_id();
        let op = *self
            .rng
            .pick(&[
                "auth.verify_jwt",
                "render_template",
                "validate_request",
                "classify_intent",
                "serialize_response",
            ])
            .unwrap_or(&"work");
        let slow = self.rng.chance(3);
        let dur = if slow {
            self.rng.range(200_000_000, 2_000_000_000)
        } else {
            self.rng.range(100_000, 5_000_000)
        };
        self.str("app.step", op);
        let v = self.rng.chance(50);
        self.bool("app.cache_hit", v);
        let v = self.rng.below(50) as i64;
        self.int("app.items", v);
        let v = (self.rng.below(1000) as f64) / 1000.0;
        self.double("app.score", v);
        self.str("code.filepath", "app/handlers.py");
        let v = self.rng.range(10, 900) as i64;
        self.int("code.lineno", v);
        let v = format!("req-{:06}", self.rng.below(50_000));
        self.str("app.request_id", &v);
        self.str("app.region", "eu-west-1");
        let v = self.rng.below(20) as i64;
        self.int("app.queue_depth", v);
        self.common(me.service, op);
        if slow {
            self.bool("app.slow", true);
        }
        self.push(
            Some(me.span_id),
            id,
            me.service,
            op,
            SpanKind::Internal,
            start,
            start + dur,
            None,
            Range32::EMPTY,
        );
        Done {
            end: start + dur,
            error: false,
        }
    }

    fn db_calls(&mut self, me: Parent, start: u64) -> Done {
        let table = *self.rng.pick(&TABLES).unwrap_or(&"orders");
        // Sometimes an N+1: the same statement many times under one parent.
        let n_plus_one = self.budget > 12 && self.rng.chance(25);
        let count = if n_plus_one { self.rng.range(5, 12) } else { 1 };
        let statement = if n_plus_one {
            format!("SELECT * FROM {table} WHERE order_id = $1")
        } else {
            let op = *self
                .rng
                .pick(&["SELECT", "SELECT", "UPDATE", "INSERT"])
                .unwrap_or(&"SELECT");
            match op {
                "UPDATE" => format!("UPDATE {table} SET status = $1 WHERE id = $2"),
                "INSERT" => format!("INSERT INTO {table} (id, tenant_id, payload) VALUES ($1, $2, $3)"),
                _ => format!("SELECT id, tenant_id, payload FROM {table} WHERE tenant_id = $1 LIMIT 50"),
            }
        };
        let op = statement.split(' ').next().unwrap_or("SELECT").to_string();
        let pg = self.service_index(Role::Postgres);
        let mut t = start;
        let mut error = false;
        for _ in 0..count {
            if self.budget < 2 {
                break;
            }
            let client_id = self.new_span_id();
            let dur = self.rng.range(300_000, 8_000_000);
            let fail = self.rng.chance(u64::from(self.opts.error_percent) / 2);
            if let Some(pg) = pg {
                let server_id = self.new_span_id();
                self.str("db.system", "postgresql");
                self.str("db.operation.name", &op);
                self.str("db.collection.name", table);
                let v = self.rng.below(200) as i64;
                self.int("db.response.returned_rows", v);
                self.str("db.user", "app");
                self.common(pg, "exec_simple_query");
                let v = self.rng.range(1000, 9000) as i64;
                self.int("postgres.backend_pid", v);
                self.str("db.namespace", "shop");
                self.str("net.transport", "ip_tcp");
                self.str("server.address", "pg-primary.data.svc");
                self.push(
                    Some(client_id),
                    server_id,
                    pg,
                    &format!("postgres.query {op}"),
                    SpanKind::Server,
                    t + 100_000,
                    t + dur - 100_000,
                    fail.then_some("deadlock detected"),
                    Range32::EMPTY,
                );
            }
            self.str("db.system", "postgresql");
            self.str("db.statement", &statement);
            self.str("db.operation.name", &op);
            self.str("db.collection.name", table);
            self.str("db.namespace", "shop");
            self.str("server.address", "pg-primary.data.svc");
            self.int("server.port", 5432);
            self.str("peer.service", "postgres");
            self.str("network.peer.address", "10.42.3.17");
            self.str("db.user", "app");
            self.common(me.service, "execute");
            if fail {
                self.str("error.type", "DeadlockDetected");
                self.exception_event(
                    t + dur - 50_000,
                    "psycopg.errors.DeadlockDetected",
                    "deadlock detected",
                    me.service,
                );
            }
            self.push(
                Some(me.span_id),
                client_id,
                me.service,
                &format!("{op} {table}"),
                SpanKind::Client,
                t,
                t + dur,
                fail.then_some("deadlock detected"),
                Range32::EMPTY,
            );
            error |= fail;
            t += dur + self.rng.range(20_000, 200_000);
        }
        Done { end: t, error }
    }

    fn redis_call(&mut self, me: Parent, start: u64) -> Done {
        let id = self.new_span_id();
        let dur = self.rng.range(80_000, 900_000);
        let cmd = *self.rng.pick(&["GET", "SET", "MGET", "EXPIRE"]).unwrap_or(&"GET");
        self.str("db.system", "redis");
        self.str("db.operation.name", cmd);
        self.str("db.statement", &format!("{cmd} session:?"));
        self.str("server.address", "redis.data.svc");
        self.int("server.port", 6379);
        self.str("peer.service", "redis");
        self.int("db.redis.database_index", 0);
        self.str("network.peer.address", "10.42.2.9");
        let v = self.rng.chance(70);
        self.bool("cache.hit", v);
        self.common(me.service, "cache_lookup");
        self.push(
            Some(me.span_id),
            id,
            me.service,
            cmd,
            SpanKind::Client,
            start,
            start + dur,
            None,
            Range32::EMPTY,
        );
        Done {
            end: start + dur,
            error: false,
        }
    }

    fn vector_search(&mut self, me: Parent, start: u64) -> Done {
        let client_id = self.new_span_id();
        let dur = self.rng.range(3_000_000, 40_000_000);
        let top_k = *self.rng.pick(&[5i64, 10, 20]).unwrap_or(&10);
        if let Some(q) = self.service_index(Role::Qdrant) {
            if self.budget > 2 {
                let server_id = self.new_span_id();
                self.http_server_attrs("POST", "/collections/{collection}/points/search", 200, q);
                self.str("db.system", "qdrant");
                self.str("db.collection.name", "kb_chunks");
                self.push(
                    Some(client_id),
                    server_id,
                    q,
                    "POST /collections/{collection}/points/search",
                    SpanKind::Server,
                    start + 300_000,
                    start + dur - 300_000,
                    None,
                    Range32::EMPTY,
                );
            }
        }
        self.str("db.system", "qdrant");
        self.str("db.operation.name", "search");
        self.str("db.collection.name", "kb_chunks");
        self.int("db.vector.query.top_k", top_k);
        self.str("vector_store.collection", "kb_chunks");
        self.int("vector_store.top_k", top_k);
        self.int("vector_store.dimensions", 1536);
        self.str("vector_store.distance", "cosine");
        self.int("db.vector.query.result_count", top_k);
        self.str("server.address", "qdrant.data.svc");
        self.int("server.port", 6333);
        self.str("peer.service", "qdrant");
        self.common(me.service, "retrieve");
        self.push(
            Some(me.span_id),
            client_id,
            me.service,
            "qdrant search kb_chunks",
            SpanKind::Client,
            start,
            start + dur,
            None,
            Range32::EMPTY,
        );
        Done {
            end: start + dur,
            error: false,
        }
    }

    /// The LLM proxy calling the model provider: slow, with gen_ai attributes and events.
    fn llm_upstream(&mut self, me: Parent, start: u64) -> Done {
        let id = self.new_span_id();
        let (system, model) = *self.rng.pick(&MODELS[..3]).unwrap_or(&("openai", "gpt-4o"));
        let dur = self.rng.range(400_000_000, 6_000_000_000);
        let input = self.rng.range(200, 6000) as i64;
        let output = self.rng.range(20, 1200) as i64;
        let fail = self.rng.chance(u64::from(self.opts.error_percent));
        self.str("gen_ai.system", system);
        self.str("gen_ai.operation.name", "chat");
        self.str("gen_ai.request.model", model);
        self.str("gen_ai.response.model", &format!("{model}-2024-08-06"));
        self.int("gen_ai.request.max_tokens", 1024);
        self.double("gen_ai.request.temperature", 0.2);
        self.int("gen_ai.usage.input_tokens", input);
        self.int("gen_ai.usage.output_tokens", output);
        self.str(
            "gen_ai.response.finish_reasons",
            if fail { "error" } else { "stop" },
        );
        let v = format!("chatcmpl-{:012x}", self.rng.next() >> 16);
        self.str("gen_ai.response.id", &v);
        self.double("llm.cost.usd", (input * 5 + output * 15) as f64 / 1_000_000.0);
        self.str(
            "server.address",
            if system == "openai" {
                "api.openai.com"
            } else {
                "api.anthropic.com"
            },
        );
        self.int("server.port", 443);
        self.common(me.service, "complete");
        let first_token = start + dur / 8;
        self.simple_event(
            start + 1_000_000,
            "gen_ai.content.prompt",
            "gen_ai.prompt.messages",
            3,
        );
        self.simple_event(
            first_token,
            "gen_ai.first_token",
            "gen_ai.first_token.ms",
            ((first_token - start) / 1_000_000) as i64,
        );
        if fail {
            self.exception_event(
                start + dur - 1_000,
                "RateLimitError",
                "rate limit exceeded: 429 Too Many Requests",
                me.service,
            );
        } else {
            self.simple_event(
                start + dur - 1_000,
                "gen_ai.content.completion",
                "gen_ai.completion.chars",
                output * 4,
            );
        }
        self.push(
            Some(me.span_id),
            id,
            me.service,
            &format!("chat {model}"),
            SpanKind::Client,
            start,
            start + dur,
            fail.then_some("rate limit exceeded"),
            Range32::EMPTY,
        );
        Done {
            end: start + dur + 200_000,
            error: fail,
        }
    }

    /// A Kafka publish and its asynchronous consumer in a worker service.
    fn publish(&mut self, me: Parent, start: u64) -> Done {
        let producer_id = self.new_span_id();
        let dur = self.rng.range(200_000, 3_000_000);
        let topic = *self
            .rng
            .pick(&["orders", "notifications", "audit", "emails"])
            .unwrap_or(&"orders");
        let message_id = format!("m-{:08}", self.rng.below(100_000_000));
        let worker = SERVICES
            .iter()
            .take(self.services)
            .enumerate()
            .filter(|(_, s)| s.1 == Role::Worker)
            .map(|(i, _)| i)
            .nth(self.rng.below(3) as usize)
            .or_else(|| {
                SERVICES
                    .iter()
                    .take(self.services)
                    .position(|s| s.1 == Role::Worker)
            });
        let end = start + dur;
        if let Some(worker) = worker {
            if self.budget > 2 {
                let consumer_id = self.new_span_id();
                let c_start = end + self.rng.range(1_000_000, 200_000_000);
                let c_dur = self.rng.range(1_000_000, 80_000_000);
                let link = self.b.arena.push_links(&[Link {
                    trace_id: self.trace_id,
                    span_id: producer_id,
                    ..Link::default()
                }]);
                self.str("messaging.system", "kafka");
                self.str("messaging.operation.type", "process");
                self.str("messaging.destination.name", topic);
                self.str(
                    "messaging.consumer.group.name",
                    &format!("{}-group", Self::service_name(worker)),
                );
                self.str("messaging.message.id", &message_id);
                let v = self.rng.below(1_000_000) as i64;
                self.int("messaging.kafka.offset", v);
                let v = self.rng.below(12) as i64;
                self.int("messaging.destination.partition.id", v);
                self.int("messaging.batch.message_count", 1);
                self.str("server.address", "kafka.data.svc");
                self.common(worker, "consume");
                self.push(
                    Some(producer_id),
                    consumer_id,
                    worker,
                    &format!("process {topic}"),
                    SpanKind::Consumer,
                    c_start,
                    c_start + c_dur,
                    None,
                    link,
                );
            }
        }
        self.str("messaging.system", "kafka");
        self.str("messaging.operation.type", "publish");
        self.str("messaging.destination.name", topic);
        self.str("messaging.message.id", &message_id);
        let v = self.rng.range(100, 5000) as i64;
        self.int("messaging.message.body.size", v);
        self.str("server.address", "kafka.data.svc");
        self.int("server.port", 9092);
        self.str("peer.service", "kafka");
        self.str("messaging.client.id", Self::service_name(me.service));
        self.common(me.service, "publish");
        self.push(
            Some(me.span_id),
            producer_id,
            me.service,
            &format!("publish {topic}"),
            SpanKind::Producer,
            start,
            end,
            None,
            Range32::EMPTY,
        );
        Done { end, error: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{read, Format};

    #[test]
    fn deterministic_and_sized() {
        let opts = SynthOptions {
            traces: 50,
            spans_per_trace: 40,
            ..SynthOptions::default()
        };
        let a = generate_otlp_json(&opts);
        let b = generate_otlp_json(&opts);
        assert_eq!(a, b);
        let set = generate(&opts);
        assert_eq!(set.traces().len(), 50);
        let n = set.span_count();
        assert!((1000..=3000).contains(&n), "{n}");
        let other = generate_otlp_json(&SynthOptions {
            seed: 7,
            ..opts.clone()
        });
        assert_ne!(a, other);
        // Reads back to the same number of spans with no diagnostics.
        let back = read(a.as_bytes(), Some(Format::OtlpJson)).unwrap();
        assert_eq!(back.span_count(), n);
        assert!(back.diagnostics.is_clean(), "{}", back.diagnostics.summary());
    }

    #[test]
    fn realistic_content() {
        let set = generate(&SynthOptions {
            traces: 200,
            spans_per_trace: 60,
            services: 30,
            ..SynthOptions::default()
        });
        let a = &set.arena;
        let mut services = std::collections::BTreeSet::new();
        let (mut errors, mut exceptions, mut llm, mut qdrant, mut consumers, mut peer, mut n_plus_one) =
            (0, 0, 0, 0, 0, 0, 0);
        let mut min_attrs = usize::MAX;
        let mut max_attrs = 0;
        for s in set.spans() {
            services.insert(set.service_name(s).to_string());
            let n = set.attrs(s).len();
            min_attrs = min_attrs.min(n);
            max_attrs = max_attrs.max(n);
            errors += usize::from(s.is_error());
            exceptions += set
                .events(s)
                .iter()
                .filter(|e| a.str(e.name) == "exception")
                .count();
            llm += usize::from(
                set.name(s).starts_with("chat ") && set.span_attr(s, "gen_ai.usage.input_tokens").is_some(),
            );
            qdrant += usize::from(set.span_attr_text(s, "db.system").as_deref() == Some("qdrant"));
            consumers += usize::from(s.kind == SpanKind::Consumer && !set.links(s).is_empty());
            peer += usize::from(s.kind == SpanKind::Client && set.span_attr(s, "peer.service").is_some());
            assert!(s.end_unix_nanos >= s.start_unix_nanos);
        }
        // N+1: some parent has ≥5 children with the same db.statement.
        for (i, _) in set.spans().iter().enumerate() {
            let mut counts: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
            for c in set.children(i as u32) {
                if let Some(st) = set
                    .spans()
                    .get(c as usize)
                    .and_then(|c| set.span_attr_text(c, "db.statement"))
                {
                    *counts.entry(st).or_default() += 1;
                }
            }
            if counts.values().any(|&n| n >= 5) {
                n_plus_one += 1;
            }
        }
        assert!(services.len() >= 20, "{services:?}");
        assert!(min_attrs >= 10 && max_attrs <= 20, "{min_attrs}..{max_attrs}");
        assert!(errors > 0 && exceptions > 0 && llm > 0 && qdrant > 0 && consumers > 0 && peer > 0);
        assert!(n_plus_one > 0);
        // Every span is in a tree: exactly one root per trace.
        assert!(set
            .traces()
            .iter()
            .all(|t| t.root_count == 1 && t.orphan_count == 0));
    }
}
