//! Bottlenecks, impact scores and recommendations (analysis.md §5).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "analysis_support.rs"]
mod support;

use spanlens_core::analysis::{
    analyze_set, impact, Bottleneck, RecommendationKind as K, Rules, SetAnalysis, Severity,
};
use spanlens_core::model::SpanKind::*;
use support::Table;

#[test]
fn impact_arithmetic() {
    // p95 3 s against a 200 ms target, 5 of at most 20 calls, 20% errors.
    let (d, f, r, i) = impact(3_000_000_000, 200_000_000, 5, 20, 0.2);
    assert_eq!((d, f, r), (15.0, 0.25, 3.0));
    assert!((i - 11.25).abs() < 1e-12);
    // At target, the busiest operation, no errors → 1.
    assert_eq!(impact(100, 100, 7, 7, 0.0).3, 1.0);
    // Every call failing multiplies by 11.
    assert_eq!(impact(100, 100, 7, 7, 1.0).2, 11.0);
    // No division by zero.
    assert_eq!(impact(100, 0, 0, 0, 0.0).3, 0.0);
}

fn fixture() -> SetAnalysis {
    let mut t = Table::new();
    // 1. N+1 and dominant self time: 6 identical queries, the rest of 1.5 s spent in the handler.
    t.trace(1);
    t.span(1, None, "api", "GET /orders", Server, 0, 1500);
    for i in 0..6u16 {
        let s = 10 + u64::from(i) * 10;
        t.span(2 + i, Some(1), "api", "SELECT order_item", Client, s, s + 10)
            .attr("db.system", "postgresql")
            .attr("db.statement", "SELECT * FROM items WHERE id = ?");
    }
    // 2. Sequential client calls: 3 × 300 ms one after another.
    t.trace(2);
    t.span(1, None, "shop", "POST /checkout", Server, 0, 900);
    t.span(2, Some(1), "shop", "call inventory", Client, 0, 300);
    t.span(3, Some(1), "shop", "call pricing", Client, 300, 600);
    t.span(4, Some(1), "shop", "call tax", Client, 600, 900);
    // 3. A slow AI call with token counts.
    t.trace(3);
    t.span(1, None, "bot", "POST /ask", Server, 0, 12_000);
    t.span(2, Some(1), "bot", "chat gpt-4o", Client, 100, 11_900)
        .int("gen_ai.usage.input_tokens", 1200)
        .int("gen_ai.usage.output_tokens", 800);
    // 4–6. Retries of a failing bank.
    for tr in 4..=6u8 {
        t.trace(tr);
        t.span(1, None, "pay", "GET /pay", Server, 0, 400).error();
        t.span(2, Some(1), "pay", "POST charge", Client, 0, 100).error();
        t.span(3, Some(2), "bank", "bank charge", Server, 10, 90)
            .error_msg("card declined");
        t.span(4, Some(1), "pay", "POST charge", Client, 100, 200)
            .error()
            .int("http.resend_count", 1);
        t.span(5, Some(4), "bank", "bank charge", Server, 110, 190)
            .error_msg("card declined");
        t.span(6, Some(1), "pay", "POST charge", Client, 200, 300)
            .int("http.resend_count", 2);
        t.span(7, Some(6), "bank", "bank charge", Server, 210, 290);
    }
    let set = t.finish();
    analyze_set(&set, &Rules::builtin())
}

fn find<'a>(a: &'a SetAnalysis, op: &str) -> &'a Bottleneck {
    a.bottlenecks.iter().find(|b| b.operation == op).unwrap()
}

#[test]
fn bottlenecks_sorted_by_impact_with_severity() {
    let a = fixture();
    let order: Vec<(&str, Severity)> = a
        .bottlenecks
        .iter()
        .map(|b| (b.operation.as_str(), b.severity))
        .collect();
    assert_eq!(
        order,
        vec![
            ("GET /pay", Severity::Alert),       // 2 × 3/9 × 11 = 7.33
            ("POST /ask", Severity::Critical),   // 60 × 1/9 = 6.67
            ("GET /orders", Severity::Alert),    // 7.5 × 1/9 = 0.83
            ("chat gpt-4o", Severity::Critical), // 5.9 × 1/9 = 0.66
            ("POST /checkout", Severity::Alert), // 4.5 × 1/9 = 0.5
            ("call inventory", Severity::Alert), // 1.5 × 1/9 (Internal, API table)
            ("call pricing", Severity::Alert),
            ("call tax", Severity::Alert),
        ]
    );
    let pay = find(&a, "GET /pay");
    assert_eq!((pay.duration_impact, pay.reliability_impact), (2.0, 11.0));
    assert!((pay.frequency_impact - 3.0 / 9.0).abs() < 1e-12);
    assert!((pay.impact - 22.0 / 3.0).abs() < 1e-9);
    assert_eq!(pay.over_target_fraction, 1.0);
    let orders = find(&a, "GET /orders");
    assert!((orders.impact - 7.5 / 9.0).abs() < 1e-9);
    assert_eq!(find(&a, "chat gpt-4o").category, "AI");
    assert!(a.operations.iter().any(|o| o.name == "GET /pay" && o.bottleneck));
    assert!(a
        .operations
        .iter()
        .any(|o| o.name == "bank charge" && !o.bottleneck));
}

#[test]
fn recommendations_carry_figures_and_examples() {
    let a = fixture();
    let kinds = |op: &str| -> Vec<K> { find(&a, op).recommendations.iter().map(|r| r.kind).collect() };
    assert_eq!(kinds("GET /orders"), vec![K::NPlusOne, K::DominantSelfTime]);
    assert_eq!(kinds("POST /checkout"), vec![K::SequentialCalls]);
    assert_eq!(kinds("chat gpt-4o"), vec![K::SlowAi]);
    assert_eq!(kinds("GET /pay"), vec![K::RetryStorm, K::ErrorStorm]);
    assert!(kinds("POST /ask").is_empty());
    assert!(kinds("call tax").is_empty()); // client spans: their self time is waiting, not work

    let orders = find(&a, "GET /orders");
    let n1 = &orders.recommendations[0];
    assert!(n1.message.contains("up to 6 times"), "{}", n1.message);
    assert_eq!(n1.related_operation.as_deref(), Some("SELECT order_item"));
    assert_eq!(
        n1.example_trace_ids,
        vec![format!("{:032x}", u128::from_be_bytes([1; 16]))]
    );
    assert_eq!(n1.example_span_ids.len(), 1);
    let own = &orders.recommendations[1];
    assert!(own.message.contains("96%"), "{}", own.message);

    let seq = &find(&a, "POST /checkout").recommendations[0];
    assert!(seq.message.contains("up to 3 client calls"), "{}", seq.message);
    assert!(seq.message.contains("600.0 ms"), "{}", seq.message);

    let ai = &find(&a, "chat gpt-4o").recommendations[0];
    assert!(
        ai.message.contains("1200 input and 800 output tokens"),
        "{}",
        ai.message
    );
    assert!(ai.message.contains("11.80 s"), "{}", ai.message);

    let pay = find(&a, "GET /pay");
    let retry = &pay.recommendations[0];
    assert_eq!(
        (retry.operation.as_str(), retry.related_operation.as_deref()),
        ("POST charge", Some("GET /pay"))
    );
    assert!(retry.message.contains("up to 3 times"), "{}", retry.message);
    assert!(retry.message.contains("3 such calls"), "{}", retry.message);
    let storm = &pay.recommendations[1];
    assert!(
        storm.message.contains("3 of 3 calls failed (100%)"),
        "{}",
        storm.message
    );
    assert_eq!(storm.related_operation.as_deref(), Some("bank charge"));
    assert!(storm.message.contains("look at the failing dependency first"));

    // Set-wide list: sorted by kind, then operation; includes non-bottleneck error storms.
    let storms: Vec<(&str, Option<&str>)> = a
        .recommendations
        .iter()
        .filter(|r| r.kind == K::ErrorStorm)
        .map(|r| (r.operation.as_str(), r.related_operation.as_deref()))
        .collect();
    assert_eq!(
        storms,
        vec![
            ("bank charge", None),
            ("GET /pay", Some("bank charge")),
            ("POST charge", Some("bank charge"))
        ]
    );
}
