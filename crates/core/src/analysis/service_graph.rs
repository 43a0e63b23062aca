//! The service graph with Tempo metrics-generator semantics (`shared/design/analysis.md` §2),
//! computed over a whole [`TraceSet`](crate::model::TraceSet).
//!
//! Rules, in the order they are applied to each span:
//! 1. A CLIENT span with any of `db.namespace`, `db.name`, `db.system`, `db.system.name` is a
//!    `database` edge at once. Server node: the first of `peer.service`, `server.address`,
//!    `network.peer.address[:network.peer.port]`, then those db attributes in that order. A
//!    SERVER child of such a span is left unpaired (as in Tempo, whose edge is already closed).
//! 2. A SERVER or CONSUMER span whose parent is a CLIENT or PRODUCER span pairs with it (the
//!    first such child in start order; later ones are unpaired). Connection type
//!    `messaging_system` when either side is PRODUCER/CONSUMER, else none (Tempo's empty label).
//! 3. A SERVER span that is a real root (no parent id at all) gets a virtual client named by its
//!    first `peer.service` / db attribute, or `user`: `virtual_node`. An orphan SERVER span (its
//!    parent id is absent from the set) stays unpaired: its client may simply not be loaded.
//! 4. A CLIENT span left without a server, with `peer.service`, gets a virtual server of that
//!    name: `virtual_node`. Anything else is counted in `unpaired_spans`.
//!
//! An edge fails when either side is an error. Client latency = the client span's duration;
//! server latency = the server span's duration; an edge with only one side (database, virtual)
//! has only that side's samples. Percentiles are exact (nearest rank, see `stats`).
//! Node names with the same text are one node (a `peer.service` naming a real service joins it).
//!
//! Node RED figures come from the node's SERVER spans; rate = calls / the set's time range (the
//! earliest display start to the latest display end) in seconds.
//!
//! Not here: the Prometheus exposition of these figures (the server does that).

use super::prep::{attr, time_range, Prepared};
use super::stats::{histogram, ratio, DurationSummary, SERVICE_GRAPH_BUCKETS_NANOS};
use crate::model::{SpanKind, StrId, Value, NO_SPAN};
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Tempo's `connection_type` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionType {
    /// A plain client/server pair (Tempo leaves the label empty).
    None,
    MessagingSystem,
    Database,
    VirtualNode,
}

impl ConnectionType {
    /// The label value Tempo writes (`""` for a plain pair).
    pub fn tempo_label(self) -> &'static str {
        match self {
            ConnectionType::None => "",
            ConnectionType::MessagingSystem => "messaging_system",
            ConnectionType::Database => "database",
            ConnectionType::VirtualNode => "virtual_node",
        }
    }
}

/// RED figures of a node's SERVER spans.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerRed {
    pub calls: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub rate_per_sec: f64,
    pub latency: DurationSummary,
}

/// A node: a service, or a virtual node (`user`, a database, a `peer.service`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphNode {
    pub name: String,
    /// True when no loaded span belongs to this service.
    pub virtual_node: bool,
    pub spans: u64,
    pub errors: u64,
    pub server: ServerRed,
}

/// An edge client → server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphEdge {
    pub client: String,
    pub server: String,
    pub connection_type: ConnectionType,
    pub requests: u64,
    pub failed: u64,
    pub client_latency: DurationSummary,
    pub server_latency: DurationSummary,
    /// Per-bucket counts over [`ServiceGraph::bucket_bounds_nanos`] plus `+Inf`.
    pub client_histogram: Vec<u64>,
    pub server_histogram: Vec<u64>,
}

/// The whole graph, nodes and edges sorted by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceGraph {
    /// Tempo's service-graph buckets (0.1 … 12.8 s).
    pub bucket_bounds_nanos: Vec<u64>,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// CLIENT/PRODUCER/SERVER/CONSUMER spans that formed no edge.
    pub unpaired_spans: u64,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum NodeKey {
    Id(StrId),
    User,
    AddrPort(StrId, i64),
    Text(String),
}

#[derive(Default)]
struct Builder {
    nodes: HashMap<NodeKey, u32>,
    node_keys: Vec<NodeKey>,
    edges: HashMap<(u32, u32, ConnectionType), u32>,
    edge_keys: Vec<(u32, u32, ConnectionType)>,
    requests: Vec<u64>,
    failed: Vec<u64>,
    client_samples: Vec<(u32, u64)>,
    server_samples: Vec<(u32, u64)>,
}

impl Builder {
    fn node(&mut self, key: NodeKey) -> u32 {
        if let Some(&n) = self.nodes.get(&key) {
            return n;
        }
        let n = self.node_keys.len() as u32;
        self.node_keys.push(key.clone());
        self.nodes.insert(key, n);
        n
    }

    fn edge(&mut self, client: NodeKey, server: NodeKey, ct: ConnectionType, failed: bool) -> u32 {
        let c = self.node(client);
        let s = self.node(server);
        let key = (c, s, ct);
        let e = match self.edges.get(&key) {
            Some(&e) => e,
            None => {
                let e = self.edge_keys.len() as u32;
                self.edge_keys.push(key);
                self.edges.insert(key, e);
                self.requests.push(0);
                self.failed.push(0);
                e
            }
        };
        if let Some(r) = self.requests.get_mut(e as usize) {
            *r += 1;
        }
        if failed {
            if let Some(f) = self.failed.get_mut(e as usize) {
                *f += 1;
            }
        }
        e
    }
}

fn value_key(prep: &Prepared<'_>, v: Value) -> Option<NodeKey> {
    match v {
        Value::Str(s) if !s.is_empty() => Some(NodeKey::Id(s)),
        Value::Str(_) | Value::Empty => None,
        other => {
            let t = prep.set.arena.value_text(other);
            (!t.is_empty()).then_some(NodeKey::Text(t))
        }
    }
}

fn first_attr(prep: &Prepared<'_>, span: &crate::model::Span, keys: &[Option<StrId>]) -> Option<NodeKey> {
    keys.iter()
        .filter_map(|&k| attr(prep.set, span, k))
        .find_map(|v| value_key(prep, v))
}

/// Server node of a database client span (§2 naming order).
fn db_server(prep: &Prepared<'_>, span: &crate::model::Span) -> NodeKey {
    let k = &prep.keys;
    if let Some(n) = first_attr(prep, span, &[k.peer_service, k.server_address]) {
        return n;
    }
    if let Some(addr) = attr(prep.set, span, k.net_peer_address).and_then(|v| value_key(prep, v)) {
        let port = attr(prep.set, span, k.net_peer_port);
        return match (addr, port) {
            (NodeKey::Id(a), Some(Value::Int(p))) => NodeKey::AddrPort(a, p),
            (a, Some(p)) => {
                let base = match &a {
                    NodeKey::Id(id) => prep.set.str(*id).to_string(),
                    NodeKey::Text(t) => t.clone(),
                    _ => String::new(),
                };
                let pt = prep.set.arena.value_text(p);
                if pt.is_empty() {
                    a
                } else {
                    NodeKey::Text(format!("{base}:{pt}"))
                }
            }
            (a, None) => a,
        };
    }
    first_attr(prep, span, &k.db_keys()).unwrap_or(NodeKey::User)
}

fn key_text(prep: &Prepared<'_>, key: &NodeKey) -> String {
    match key {
        NodeKey::Id(id) => prep.svc(*id).to_string(),
        NodeKey::User => "user".to_string(),
        NodeKey::AddrPort(a, p) => format!("{}:{p}", prep.set.str(*a)),
        NodeKey::Text(t) => t.clone(),
    }
}

/// Builds the service graph of the prepared set.
pub(crate) fn build(prep: &Prepared<'_>) -> ServiceGraph {
    let set = prep.set;
    let spans = set.spans();
    let mut b = Builder::default();
    let mut paired = vec![false; spans.len()];
    let mut unpaired = 0u64;
    let user = NodeKey::User;
    // Pass 1: database clients, pairs, root servers.
    for (i, span) in spans.iter().enumerate() {
        let idx = i as u32;
        match span.kind {
            SpanKind::Client if prep.facts(idx).has_db => {
                if let Some(p) = paired.get_mut(i) {
                    *p = true;
                }
                let server = db_server(prep, span);
                let e = b.edge(
                    NodeKey::Id(prep.service_of(span)),
                    server,
                    ConnectionType::Database,
                    prep.is_error(idx),
                );
                b.client_samples.push((e, span.duration_nanos()));
            }
            SpanKind::Server | SpanKind::Consumer => {
                let parent = set.span(span.parent).filter(|_| span.parent != NO_SPAN);
                let pairable = parent.filter(|p| {
                    matches!(p.kind, SpanKind::Client | SpanKind::Producer)
                        && !paired.get(span.parent as usize).copied().unwrap_or(true)
                });
                if let Some(p) = pairable {
                    if let Some(slot) = paired.get_mut(span.parent as usize) {
                        *slot = true;
                    }
                    if let Some(slot) = paired.get_mut(i) {
                        *slot = true;
                    }
                    let messaging = matches!(p.kind, SpanKind::Producer) || span.kind == SpanKind::Consumer;
                    let ct = if messaging {
                        ConnectionType::MessagingSystem
                    } else {
                        ConnectionType::None
                    };
                    let failed = prep.is_error(span.parent) || prep.is_error(idx);
                    let e = b.edge(
                        NodeKey::Id(prep.service_of(p)),
                        NodeKey::Id(prep.service_of(span)),
                        ct,
                        failed,
                    );
                    b.client_samples.push((e, p.duration_nanos()));
                    b.server_samples.push((e, span.duration_nanos()));
                } else if span.kind == SpanKind::Server && span.parent == NO_SPAN && !span.is_orphan() {
                    if let Some(slot) = paired.get_mut(i) {
                        *slot = true;
                    }
                    let k = &prep.keys;
                    let client = first_attr(prep, span, &[k.peer_service])
                        .or_else(|| first_attr(prep, span, &k.db_keys()))
                        .unwrap_or_else(|| user.clone());
                    let e = b.edge(
                        client,
                        NodeKey::Id(prep.service_of(span)),
                        ConnectionType::VirtualNode,
                        prep.is_error(idx),
                    );
                    b.server_samples.push((e, span.duration_nanos()));
                } else {
                    unpaired += 1;
                }
            }
            _ => {}
        }
    }
    // Pass 2: clients and producers left without a server.
    for (i, span) in spans.iter().enumerate() {
        if !matches!(span.kind, SpanKind::Client | SpanKind::Producer)
            || paired.get(i).copied().unwrap_or(true)
        {
            continue;
        }
        let peer = if span.kind == SpanKind::Client {
            first_attr(prep, span, &[prep.keys.peer_service])
        } else {
            None
        };
        match peer {
            Some(server) => {
                let e = b.edge(
                    NodeKey::Id(prep.service_of(span)),
                    server,
                    ConnectionType::VirtualNode,
                    prep.is_error(i as u32),
                );
                b.client_samples.push((e, span.duration_nanos()));
            }
            None => unpaired += 1,
        }
    }
    drop(paired);
    finish(prep, b, unpaired)
}

fn finish(prep: &Prepared<'_>, b: Builder, unpaired: u64) -> ServiceGraph {
    let set = prep.set;
    // Canonical node per text.
    let texts: Vec<String> = b.node_keys.iter().map(|k| key_text(prep, k)).collect();
    // Edges merged by (client text, server text, type).
    let mut merged: BTreeMap<(String, String, ConnectionType), usize> = BTreeMap::new();
    for (client, server, ct) in &b.edge_keys {
        let key = (
            texts.get(*client as usize).cloned().unwrap_or_default(),
            texts.get(*server as usize).cloned().unwrap_or_default(),
            *ct,
        );
        let next = merged.len();
        merged.entry(key).or_insert(next);
    }
    // Output order = BTreeMap order.
    let mut slot_of_first: Vec<usize> = vec![0; merged.len()];
    for (pos, (_, first)) in merged.iter().enumerate() {
        if let Some(s) = slot_of_first.get_mut(*first) {
            *s = pos;
        }
    }
    let edge_slot: Vec<usize> = b
        .edge_keys
        .iter()
        .map(|(client, server, ct)| {
            let key = (
                texts.get(*client as usize).cloned().unwrap_or_default(),
                texts.get(*server as usize).cloned().unwrap_or_default(),
                *ct,
            );
            merged
                .get(&key)
                .and_then(|f| slot_of_first.get(*f))
                .copied()
                .unwrap_or(0)
        })
        .collect();
    let mut edges: Vec<GraphEdge> = merged
        .keys()
        .map(|(client, server, ct)| GraphEdge {
            client: client.clone(),
            server: server.clone(),
            connection_type: *ct,
            requests: 0,
            failed: 0,
            client_latency: DurationSummary::default(),
            server_latency: DurationSummary::default(),
            client_histogram: Vec::new(),
            server_histogram: Vec::new(),
        })
        .collect();
    for (e, &slot) in edge_slot.iter().enumerate() {
        if let Some(out) = edges.get_mut(slot) {
            out.requests += b.requests.get(e).copied().unwrap_or(0);
            out.failed += b.failed.get(e).copied().unwrap_or(0);
        }
    }
    let remap = |samples: Vec<(u32, u64)>| -> Vec<(usize, u64)> {
        let mut v: Vec<(usize, u64)> = samples
            .into_iter()
            .map(|(e, d)| (edge_slot.get(e as usize).copied().unwrap_or(0), d))
            .collect();
        v.sort_unstable();
        v
    };
    let client = remap(b.client_samples);
    let server = remap(b.server_samples);
    let mut scratch: Vec<u64> = Vec::new();
    for_runs(&client, &mut scratch, |slot, sorted| {
        if let Some(out) = edges.get_mut(slot) {
            out.client_latency = DurationSummary::of_sorted(sorted);
            out.client_histogram = histogram(sorted, &SERVICE_GRAPH_BUCKETS_NANOS);
        }
    });
    for_runs(&server, &mut scratch, |slot, sorted| {
        if let Some(out) = edges.get_mut(slot) {
            out.server_latency = DurationSummary::of_sorted(sorted);
            out.server_histogram = histogram(sorted, &SERVICE_GRAPH_BUCKETS_NANOS);
        }
    });
    let empty_hist = vec![0u64; SERVICE_GRAPH_BUCKETS_NANOS.len() + 1];
    for e in edges.iter_mut() {
        if e.client_histogram.is_empty() {
            e.client_histogram = empty_hist.clone();
        }
        if e.server_histogram.is_empty() {
            e.server_histogram = empty_hist.clone();
        }
    }

    // Nodes: every service with spans, plus every edge endpoint.
    let (t0, t1) = time_range(set);
    let range_secs = (t1.saturating_sub(t0)) as f64 / 1e9;
    let mut nodes: BTreeMap<String, GraphNode> = BTreeMap::new();
    let mut per_service: Vec<(u64, u64)> = vec![(0, 0); prep.services.len()];
    let mut server_samples: Vec<(u32, u64, bool)> = Vec::new();
    for (i, span) in set.spans().iter().enumerate() {
        let svc = prep
            .op_service
            .get(prep.op_of(i as u32) as usize)
            .copied()
            .unwrap_or(0);
        let err = prep.is_error(i as u32);
        if let Some(c) = per_service.get_mut(svc as usize) {
            c.0 += 1;
            c.1 += u64::from(err);
        }
        if span.kind == SpanKind::Server {
            server_samples.push((svc, span.duration_nanos(), err));
        }
    }
    server_samples.sort_unstable();
    for (svc_index, svc) in prep.services.iter().enumerate() {
        let (spans, errors) = per_service.get(svc_index).copied().unwrap_or((0, 0));
        nodes.insert(
            prep.svc(*svc).to_string(),
            GraphNode {
                name: prep.svc(*svc).to_string(),
                virtual_node: false,
                spans,
                errors,
                server: ServerRed::default(),
            },
        );
    }
    let mut start = 0usize;
    while start < server_samples.len() {
        let svc = server_samples.get(start).map(|s| s.0).unwrap_or(0);
        let mut end = start;
        while server_samples.get(end).is_some_and(|s| s.0 == svc) {
            end += 1;
        }
        let run = server_samples.get(start..end).unwrap_or(&[]);
        scratch.clear();
        scratch.extend(run.iter().map(|s| s.1));
        let calls = run.len() as u64;
        let errors = run.iter().filter(|s| s.2).count() as u64;
        let name = prep
            .services
            .get(svc as usize)
            .map(|s| prep.svc(*s))
            .unwrap_or("");
        if let Some(n) = nodes.get_mut(name) {
            n.server = ServerRed {
                calls,
                errors,
                error_rate: ratio(errors, calls),
                rate_per_sec: if range_secs > 0.0 {
                    calls as f64 / range_secs
                } else {
                    0.0
                },
                latency: DurationSummary::of_sorted(&scratch),
            };
        }
        start = end;
    }
    for e in &edges {
        for name in [&e.client, &e.server] {
            nodes.entry(name.clone()).or_insert_with(|| GraphNode {
                name: name.clone(),
                virtual_node: true,
                spans: 0,
                errors: 0,
                server: ServerRed::default(),
            });
        }
    }
    ServiceGraph {
        bucket_bounds_nanos: SERVICE_GRAPH_BUCKETS_NANOS.to_vec(),
        nodes: nodes.into_values().collect(),
        edges,
        unpaired_spans: unpaired,
    }
}

/// Calls `f(key, sorted values)` for each run of equal keys in a sorted (key, value) list.
fn for_runs(samples: &[(usize, u64)], scratch: &mut Vec<u64>, mut f: impl FnMut(usize, &[u64])) {
    let mut start = 0usize;
    while let Some(&(key, _)) = samples.get(start) {
        let mut end = start;
        scratch.clear();
        while let Some(&(k, v)) = samples.get(end) {
            if k != key {
                break;
            }
            scratch.push(v);
            end += 1;
        }
        f(key, scratch);
        start = end;
    }
}
