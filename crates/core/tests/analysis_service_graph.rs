//! Service graph with Tempo metrics-generator semantics (analysis.md §2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "analysis_support.rs"]
mod support;

use spanlens_core::analysis::{analyze_set, ConnectionType, GraphEdge, Rules, ServiceGraph};
use spanlens_core::model::{SpanKind::*, TraceSet};
use support::{Table, MS};

fn fixture() -> TraceSet {
    let mut t = Table::new();
    t.trace(1);
    //     id parent     service   name          kind      start end (ms)
    t.span(1, None, "front", "GET /", Server, 0, 200); // root SERVER, no client → user
    t.span(2, Some(1), "front", "GET /users", Client, 10, 110);
    t.span(3, Some(2), "back", "/users", Server, 20, 100); // pairs with 2
    t.span(4, Some(3), "back", "SELECT", Client, 30, 50)
        .attr("db.system", "postgresql")
        .attr("db.namespace", "users_db"); // database edge named by db.namespace
    t.span(5, Some(3), "back", "SELECT", Client, 50, 60)
        .attr("db.system", "postgresql")
        .attr("server.address", "pg-1"); // server.address wins over db.*
    t.span(6, Some(3), "back", "GET", Client, 60, 70)
        .attr("db.system", "redis")
        .attr("network.peer.address", "10.0.0.5")
        .int("network.peer.port", 5432);
    t.span(7, Some(1), "front", "publish", Producer, 120, 125);
    t.span(8, Some(7), "billing", "consume", Consumer, 130, 180); // messaging_system
    t.span(9, Some(1), "front", "charge", Client, 150, 190)
        .attr("peer.service", "payments-ext"); // virtual server
    t.span(10, Some(1), "front", "mystery", Client, 190, 195); // unpaired
    t.trace(2);
    t.span(1, None, "front", "GET /", Server, 0, 300)
        .attr("peer.service", "mobile-app")
        .error(); // named virtual client
    t.span(2, Some(1), "front", "GET /users", Client, 10, 250);
    t.span(3, Some(2), "back", "/users", Server, 20, 240).error(); // server-side error fails the edge
    t.trace(3);
    t.span(1, None, "front", "GET /users", Client, 0, 50).error(); // client-side error fails the edge
    t.span(2, Some(1), "back", "/users", Server, 5, 45);
    t.span(3, Some(77), "back", "orphan", Server, 10, 20); // orphan server: unpaired
    t.finish()
}

fn edge<'a>(g: &'a ServiceGraph, client: &str, server: &str) -> &'a GraphEdge {
    g.edges
        .iter()
        .find(|e| e.client == client && e.server == server)
        .unwrap()
}

#[test]
fn edges_follow_tempo_rules() {
    let set = fixture();
    let g = analyze_set(&set, &Rules::builtin()).service_graph;
    let keys: Vec<(&str, &str, ConnectionType, u64, u64)> = g
        .edges
        .iter()
        .map(|e| {
            (
                e.client.as_str(),
                e.server.as_str(),
                e.connection_type,
                e.requests,
                e.failed,
            )
        })
        .collect();
    use ConnectionType::*;
    assert_eq!(
        keys,
        vec![
            //  client        server           type             requests failed
            ("back", "10.0.0.5:5432", Database, 1, 0),
            ("back", "pg-1", Database, 1, 0),
            ("back", "users_db", Database, 1, 0),
            ("front", "back", None, 3, 2),
            ("front", "billing", MessagingSystem, 1, 0),
            ("front", "payments-ext", VirtualNode, 1, 0),
            ("mobile-app", "front", VirtualNode, 1, 1),
            ("user", "front", VirtualNode, 1, 0),
        ]
    );
    assert_eq!(g.unpaired_spans, 2);
    assert_eq!(None.tempo_label(), "");
    assert_eq!(MessagingSystem.tempo_label(), "messaging_system");
}

#[test]
fn edge_latencies_are_exact_with_tempo_buckets() {
    let set = fixture();
    let g = analyze_set(&set, &Rules::builtin()).service_graph;
    let e = edge(&g, "front", "back");
    // Client durations 100, 240, 50 ms; server durations 80, 220, 40 ms (nearest rank).
    assert_eq!(e.client_latency.count, 3);
    assert_eq!(
        (
            e.client_latency.p50_nanos,
            e.client_latency.p90_nanos,
            e.client_latency.max_nanos
        ),
        (100 * MS, 240 * MS, 240 * MS)
    );
    assert_eq!(
        (e.server_latency.p50_nanos, e.server_latency.p99_nanos),
        (80 * MS, 220 * MS)
    );
    // 50 and 100 ms fall in le=0.1 (inclusive), 240 ms in le=0.4.
    assert_eq!(e.client_histogram, vec![2, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(g.bucket_bounds_nanos.len(), 8);
    assert_eq!(g.bucket_bounds_nanos[7], 12_800 * MS);
    // Database and virtual-server edges only have the client side.
    let db = edge(&g, "back", "users_db");
    assert_eq!((db.client_latency.count, db.server_latency.count), (1, 0));
    assert_eq!(db.client_latency.p95_nanos, 20 * MS);
    let virt = edge(&g, "front", "payments-ext");
    assert_eq!(
        (virt.client_latency.p50_nanos, virt.server_latency.count),
        (40 * MS, 0)
    );
    // The user edge only has the server side.
    let user = edge(&g, "user", "front");
    assert_eq!(
        (user.client_latency.count, user.server_latency.p50_nanos),
        (0, 200 * MS)
    );
    let mq = edge(&g, "front", "billing");
    assert_eq!(
        (mq.client_latency.p50_nanos, mq.server_latency.p50_nanos),
        (5 * MS, 50 * MS)
    );
}

#[test]
fn nodes_have_span_counts_and_server_red() {
    let set = fixture();
    let g = analyze_set(&set, &Rules::builtin()).service_graph;
    let names: Vec<(&str, bool)> = g
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.virtual_node))
        .collect();
    assert_eq!(
        names,
        vec![
            ("10.0.0.5:5432", true),
            ("back", false),
            ("billing", false),
            ("front", false),
            ("mobile-app", true),
            ("payments-ext", true),
            ("pg-1", true),
            ("user", true),
            ("users_db", true),
        ]
    );
    let front = g.nodes.iter().find(|n| n.name == "front").unwrap();
    assert_eq!((front.spans, front.errors), (8, 2));
    assert_eq!((front.server.calls, front.server.errors), (2, 1));
    assert_eq!(front.server.latency.max_nanos, 300 * MS);
    let back = g.nodes.iter().find(|n| n.name == "back").unwrap();
    assert_eq!(
        (back.spans, back.errors, back.server.calls, back.server.errors),
        (7, 1, 4, 1)
    );
    // Four server calls over the set's 300 ms range.
    assert!((back.server.rate_per_sec - 4.0 / 0.3).abs() < 1e-9);
    assert!((back.server.error_rate - 0.25).abs() < 1e-12);
}

#[test]
fn database_client_with_server_child_stays_a_database_edge() {
    let mut t = Table::new();
    t.span(1, None, "api", "query", Client, 0, 10)
        .attr("db.name", "orders")
        .attr("peer.service", "pgbouncer");
    t.span(2, Some(1), "pgbouncer", "serve", Server, 1, 9);
    let set = t.finish();
    let g = analyze_set(&set, &Rules::builtin()).service_graph;
    assert_eq!(g.edges.len(), 1);
    assert_eq!(
        (g.edges[0].server.as_str(), g.edges[0].connection_type),
        ("pgbouncer", ConnectionType::Database)
    );
    assert_eq!(g.unpaired_spans, 1);
}

#[test]
fn missing_service_name_is_unknown_service() {
    let mut t = Table::new();
    t.span(1, None, "", "GET /", Server, 0, 10);
    let set = t.finish();
    let g = analyze_set(&set, &Rules::builtin()).service_graph;
    assert_eq!(g.edges[0].server, "unknown_service");
    assert_eq!(g.edges[0].client, "user");
}

#[test]
fn zipkin_shared_span_halves_pair() {
    let mut t = Table::new();
    t.span(1, None, "web", "GET /", Server, 0, 100);
    t.span(2, Some(1), "web", "get /api", Client, 10, 90);
    // The server half reuses the client's span id (Zipkin `shared: true`).
    t.span(2, Some(1), "api", "get /api", Server, 20, 80)
        .shared()
        .error();
    let set = t.finish();
    let g = analyze_set(&set, &Rules::builtin()).service_graph;
    let e = edge(&g, "web", "api");
    assert_eq!(
        (e.connection_type, e.requests, e.failed),
        (ConnectionType::None, 1, 1)
    );
    assert_eq!(
        (e.client_latency.p50_nanos, e.server_latency.p50_nanos),
        (80 * MS, 60 * MS)
    );
    assert_eq!(g.unpaired_spans, 0);
}
