//! In-process tests of the Tempo-compatible query API (`crates/server/src/api/tempo*`): every
//! endpoint and every error path, over the four shared OTLP fixtures stored in SQLite.

// Test helpers outside #[test] functions may panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use support::{empty_app, fixture_app, get, load_fixtures, request};

const CHAT: &str = "2909406c2e416788f5ec52ed01088475";
const DB_ERROR: &str = "2dd08e8263e9a8584490023bee0cf61d";
const RATELIMIT: &str = "9e8036d307ac72f279cc2011ed9d7dd9";
const CONSUMER: &str = "f0cd55bbff515deb478f9e35ea2fa58d";
/// A window holding every fixture span.
const WINDOW: &str = "start=1795247220&end=1795247541";

fn spans_of(v: &Value, top: &str) -> Vec<Value> {
    let list = if top == "batches" {
        &v["batches"]
    } else {
        &v["trace"]["resourceSpans"]
    };
    list.as_array()
        .into_iter()
        .flatten()
        .flat_map(|rs| rs["scopeSpans"].as_array().cloned().unwrap_or_default())
        .flat_map(|ss| ss["spans"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn ready_echo_and_buildinfo() {
    let t = empty_app(false);
    let a = get(&t.app, "/ready").await;
    assert_eq!((a.status.as_u16(), a.text().as_str()), (200, "ready\n"));
    assert_eq!(a.content_type, "text/plain; charset=utf-8");
    let a = get(&t.app, "/api/echo").await;
    assert_eq!((a.status.as_u16(), a.text().as_str()), (200, "echo\n"));
    let a = get(&t.app, "/api/status/buildinfo").await;
    assert_eq!(a.status.as_u16(), 200);
    let v = a.json();
    for key in [
        "version",
        "revision",
        "branch",
        "buildUser",
        "buildDate",
        "goVersion",
    ] {
        assert!(v[key].is_string(), "{key}");
    }
    assert!(v["version"].as_str().unwrap_or("").starts_with('v'));
}

#[tokio::test]
async fn trace_v1_json_protobuf_and_errors() {
    let t = fixture_app();
    let a = get(&t.app, &format!("/api/traces/{CHAT}")).await;
    assert_eq!(a.status.as_u16(), 200);
    assert_eq!(a.content_type, "application/json");
    let v = a.json();
    let spans = spans_of(&v, "batches");
    assert_eq!(spans.len(), 15);
    assert_eq!(spans[0]["traceId"], "KQlAbC5BZ4j17FLtAQiEdQ==", "base64 ids");

    // Upper case and leading zeros are the same id.
    let a = get(&t.app, &format!("/api/traces/{}", CHAT.to_uppercase())).await;
    assert_eq!(a.status.as_u16(), 200);

    let a = request(
        &t.app,
        "GET",
        &format!("/api/traces/{CHAT}"),
        &[("Accept", "application/protobuf")],
    )
    .await;
    assert_eq!(a.status.as_u16(), 200);
    assert_eq!(a.content_type, "application/protobuf");
    let set = spanlens_core::formats::read(&a.body, Some(spanlens_core::formats::Format::OtlpProto))
        .expect("decodes");
    assert_eq!(set.span_count(), 15);

    // Window: inside → found; outside → 404.
    let a = get(&t.app, &format!("/api/traces/{CHAT}?{WINDOW}")).await;
    assert_eq!(a.status.as_u16(), 200);
    let a = get(&t.app, &format!("/api/traces/{CHAT}?start=1000&end=2000")).await;
    assert_eq!(a.status.as_u16(), 404);

    let a = get(&t.app, "/api/traces/0123456789abcdef0123456789abcdef").await;
    assert_eq!(
        (a.status.as_u16(), a.body.len(), a.content_type.as_str()),
        (404, 0, "")
    );
    let a = get(&t.app, "/api/traces/not-a-trace-id").await;
    assert_eq!(a.status.as_u16(), 400);
    assert_eq!(
        a.text(),
        "trace IDs can only contain hex characters: invalid character 'n' at position 1"
    );
    let a = get(&t.app, &format!("/api/traces/{}", "a".repeat(40))).await;
    assert_eq!(
        (a.status.as_u16(), a.text().as_str()),
        (400, "trace IDs can't be larger than 128 bits")
    );
    let a = get(&t.app, &format!("/api/traces/{CHAT}?start=abc&end=1")).await;
    assert_eq!(
        (a.status.as_u16(), a.text().as_str()),
        (
            400,
            "invalid start: strconv.ParseInt: parsing \"abc\": invalid syntax"
        )
    );
    let a = get(&t.app, &format!("/api/traces/{CHAT}?start=10&end=x")).await;
    assert_eq!(
        a.text(),
        "invalid end: strconv.ParseInt: parsing \"x\": invalid syntax"
    );
    let a = get(&t.app, &format!("/api/traces/{CHAT}?start=20&end=10")).await;
    assert_eq!(a.status.as_u16(), 400);
    assert!(a.text().starts_with("http parameter start must be before end"));
}

#[tokio::test]
async fn trace_v2_found_unknown_filtered_and_errors() {
    let t = fixture_app();
    let a = get(&t.app, &format!("/api/v2/traces/{CONSUMER}")).await;
    assert_eq!(a.status.as_u16(), 200);
    let v = a.json();
    assert_eq!(spans_of(&v, "trace").len(), 4);
    assert!(v.get("status").is_none());
    assert!(v["metrics"].is_object());

    let a = get(&t.app, "/api/v2/traces/0123456789abcdef0123456789abcdef").await;
    assert_eq!(
        (a.status.as_u16(), a.text().as_str()),
        (200, r#"{"trace":{},"metrics":{}}"#)
    );
    let a = request(
        &t.app,
        "GET",
        "/api/v2/traces/0123456789abcdef0123456789abcdef",
        &[("Accept", "application/protobuf")],
    )
    .await;
    assert_eq!(
        (a.status.as_u16(), a.content_type.as_str()),
        (200, "application/protobuf")
    );
    let a = request(
        &t.app,
        "GET",
        &format!("/api/v2/traces/{CHAT}"),
        &[("Accept", "application/protobuf")],
    )
    .await;
    assert_eq!(a.body.first(), Some(&0x0a));

    // q filter: only the error spans, PARTIAL.
    let a = get(
        &t.app,
        &format!("/api/v2/traces/{RATELIMIT}?q=%7B%20status%20%3D%20error%20%7D"),
    )
    .await;
    let v = a.json();
    assert_eq!(v["status"], "PARTIAL");
    assert_eq!(
        v["message"],
        "Trace filtered, only a subset of spans matching the filter is returned"
    );
    let errors = spans_of(&v, "trace");
    assert!(!errors.is_empty() && errors.len() < 14);
    assert!(errors.iter().all(|s| s["status"]["code"] == "STATUS_CODE_ERROR"));
    // keep_hierarchy adds the ancestors (the root has no parent).
    let a = get(
        &t.app,
        &format!("/api/v2/traces/{RATELIMIT}?q=%7B%20status%20%3D%20error%20%7D&keep_hierarchy=true"),
    )
    .await;
    let kept = spans_of(&a.json(), "trace");
    assert!(kept.len() > errors.len());
    assert!(kept.iter().any(|s| s.get("parentSpanId").is_none()), "root kept");

    let a = get(
        &t.app,
        &format!("/api/v2/traces/{CHAT}?q=%7B%20status%20%3D%20error%20%7D%20%7C%20count%28%29%20%3E%201"),
    )
    .await;
    assert_eq!(
        (a.status.as_u16(), a.text().as_str()),
        (400, "invalid TraceQL filter: only a single TraceQL filter is supported: got a structural or aggregate query")
    );
    let a = get(
        &t.app,
        &format!("/api/v2/traces/{CHAT}?q=%7B%20status%20%3D%20%7D"),
    )
    .await;
    assert_eq!(a.status.as_u16(), 400);
    assert!(
        a.text()
            .starts_with("invalid TraceQL filter: parse error at line 1"),
        "{}",
        a.text()
    );
    let a = get(&t.app, "/api/v2/traces/not-a-trace-id").await;
    assert_eq!(
        a.text(),
        "trace IDs can only contain hex characters: invalid character 'n' at position 1"
    );
}

fn ids(v: &Value) -> Vec<String> {
    v["traces"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["traceID"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn search_without_query() {
    let t = fixture_app();
    let v = get(&t.app, "/api/search").await.json();
    let list = v["traces"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 4);
    let starts: Vec<u64> = list
        .iter()
        .map(|t| t["startTimeUnixNano"].as_str().unwrap_or("").parse().unwrap_or(0))
        .collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "most recent first");
    let first = &list[0];
    for key in [
        "traceID",
        "rootServiceName",
        "rootTraceName",
        "startTimeUnixNano",
        "durationMs",
    ] {
        assert!(first.get(key).is_some(), "{key}");
    }
    assert!(first.get("spanSets").is_none());

    assert_eq!(ids(&get(&t.app, "/api/search?limit=2").await.json()).len(), 2);
    let v = get(&t.app, "/api/search?tags=service.name%3Dqdrant").await.json();
    assert_eq!(ids(&v), [CHAT]);
    let v = get(&t.app, "/api/search?tags=messaging.system%3Dkafka")
        .await
        .json();
    assert_eq!(ids(&v), [CONSUMER]);
    let v = get(&t.app, "/api/search?minDuration=1s").await.json();
    assert!(v["traces"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|t| t["durationMs"].as_u64().unwrap_or(0) >= 1000));
    let v = get(&t.app, "/api/search?maxDuration=100ms").await.json();
    assert!(v["traces"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|t| t["durationMs"].as_u64().unwrap_or(0) <= 100));
    let v = get(&t.app, &format!("/api/search?{WINDOW}")).await.json();
    assert_eq!(ids(&v).len(), 4);
    let v = get(&t.app, "/api/search?start=1000&end=2000").await.json();
    assert_eq!(ids(&v).len(), 0);
    assert!(v["traces"].is_array());
}

#[tokio::test]
async fn search_with_traceql() {
    let t = fixture_app();
    let q =
        "%7B%20resource.service.name%20%3D%20%22knowledge-router%22%20%26%26%20status%20%3D%20error%20%7D";
    let v = get(&t.app, &format!("/api/search?q={q}")).await.json();
    let list = v["traces"].as_array().cloned().unwrap_or_default();
    assert!(list.iter().any(|t| t["traceID"] == RATELIMIT));
    for tr in &list {
        assert_eq!(tr["spanSet"], tr["spanSets"][0]);
        assert!(tr["serviceStats"].is_object());
        for s in tr["spanSets"][0]["spans"].as_array().into_iter().flatten() {
            assert_eq!(s["spanID"].as_str().unwrap_or("").len(), 16);
        }
    }
    // spss limits the spans listed, not `matched`.
    let v = get(&t.app, "/api/search?q=%7B%7D&spss=1&limit=1").await.json();
    let tr = &v["traces"][0];
    assert_eq!(tr["spanSets"][0]["spans"].as_array().map(Vec::len), Some(1));
    assert!(tr["spanSets"][0]["matched"].as_u64().unwrap_or(0) > 1);
    // Pipelines.
    let v = get(&t.app, "/api/search?q=%7B%20span.http.response.status_code%20%3E%3D%20500%20%7D%20%7C%20count%28%29%20%3E%201").await.json();
    assert!(ids(&v).contains(&DB_ERROR.to_string()));
    assert_eq!(v["traces"][0]["spanSet"]["attributes"][0]["key"], "count()");
}

#[tokio::test]
async fn search_errors() {
    let t = fixture_app();
    for (uri, text) in [
        (
            "/api/search?q=%7B%20resource.service.name%20%3D%20%7D",
            "invalid TraceQL query: parse error at line 1, col 27: syntax error: unexpected }",
        ),
        (
            "/api/search?limit=abc",
            "invalid limit: strconv.Atoi: parsing \"abc\": invalid syntax",
        ),
        ("/api/search?limit=0", "invalid limit: must be a positive number"),
        ("/api/search?spss=-1", "invalid spss: must be a positive number"),
        (
            "/api/search?minDuration=abc",
            "invalid minDuration: time: invalid duration \"abc\"",
        ),
        (
            "/api/search?maxDuration=5",
            "invalid maxDuration: time: missing unit in duration \"5\"",
        ),
        (
            "/api/search?start=abc",
            "invalid start: strconv.ParseInt: parsing \"abc\": invalid syntax",
        ),
        (
            "/api/search?start=20&end=10",
            "http parameter start must be before end. received start=20 end=10",
        ),
        (
            "/api/search?tags=a%3D%22open",
            "invalid tags: unterminated quote in \"a=\\\"open\"",
        ),
    ] {
        let a = get(&t.app, uri).await;
        assert_eq!((a.status.as_u16(), a.text().as_str()), (400, text), "{uri}");
        assert_eq!(a.content_type, "text/plain; charset=utf-8");
    }
    let a = get(&t.app, "/api/search?q=%7B%7D%20%7C%20rate%28%29").await;
    assert_eq!(a.status.as_u16(), 400);
    assert!(a.text().starts_with("invalid TraceQL query: parse error"));
}

#[tokio::test]
async fn tag_names_v1_and_v2() {
    let t = fixture_app();
    let v = get(&t.app, "/api/search/tags").await.json();
    let names: Vec<String> = serde_json::from_value(v["tagNames"].clone()).unwrap_or_default();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
    for n in [
        "service.name",
        "http.request.method",
        "exception.type",
        "link.reason",
    ] {
        assert!(names.contains(&n.to_string()), "{n}");
    }
    assert!(!names.contains(&"duration".to_string()), "no intrinsics");
    let v = get(&t.app, "/api/search/tags?scope=resource").await.json();
    assert!(v["tagNames"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|n| n != "http.request.method"));
    let v = get(&t.app, "/api/search/tags?scope=intrinsic").await.json();
    assert_eq!(v["tagNames"].as_array().map(Vec::len), Some(25));

    let v = get(&t.app, "/api/v2/search/tags").await.json();
    let scopes: Vec<&str> = v["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(scopes, ["intrinsic", "resource", "link", "span", "event"]);
    let v = get(&t.app, "/api/v2/search/tags?scope=span").await.json();
    let scopes: Vec<&str> = v["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(scopes, ["span"]);
    // q narrows to the names of matching spans.
    let v = get(
        &t.app,
        "/api/v2/search/tags?scope=span&q=%7B%20resource.service.name%20%3D%20%22postgres%22%20%7D",
    )
    .await
    .json();
    let span_tags = v["scopes"][0]["tags"].as_array().cloned().unwrap_or_default();
    assert!(span_tags.iter().any(|n| n == "db.system"));
    assert!(!span_tags.iter().any(|n| n == "gen_ai.request.model"));

    let a = get(&t.app, "/api/v2/search/tags?scope=bogus").await;
    assert_eq!(
        (a.status.as_u16(), a.text().as_str()),
        (400, "invalid scope: bogus")
    );
    let a = get(&t.app, "/api/search/tags?scope=bogus").await;
    assert_eq!(a.status.as_u16(), 400);
    let a = get(&t.app, "/api/v2/search/tags?q=%7B%20name%20%3D%20%7D").await;
    assert_eq!(a.status.as_u16(), 400);
}

#[tokio::test]
async fn tag_values_v1_and_v2() {
    let t = fixture_app();
    let v = get(&t.app, "/api/search/tag/service.name/values").await.json();
    assert_eq!(
        v["tagValues"],
        serde_json::json!([
            "api-gateway",
            "knowledge-router",
            "llm-proxy",
            "postgres",
            "qdrant"
        ])
    );
    let v = get(&t.app, "/api/search/tag/no.such.tag/values").await.json();
    assert_eq!(v["tagValues"], serde_json::json!([]));

    let v = get(&t.app, "/api/v2/search/tag/resource.service.name/values")
        .await
        .json();
    let list = v["tagValues"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 5);
    assert!(list.iter().all(|x| x["type"] == "string"));
    let v = get(&t.app, "/api/v2/search/tag/span.http.response.status_code/values")
        .await
        .json();
    assert!(v["tagValues"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|x| x["type"] == "int" && x["value"] == "500"));
    let v = get(&t.app, "/api/v2/search/tag/status/values").await.json();
    assert_eq!(
        v["tagValues"],
        serde_json::json!([{"type":"keyword","value":"ok"},{"type":"keyword","value":"error"},{"type":"keyword","value":"unset"}])
    );
    let v = get(&t.app, "/api/v2/search/tag/kind/values").await.json();
    assert!(v["tagValues"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|x| x["value"] == "server" && x["type"] == "keyword"));
    let v = get(&t.app, "/api/v2/search/tag/name/values").await.json();
    assert!(v["tagValues"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|x| x["value"] == "POST /v1/chat"));
    let v = get(
        &t.app,
        "/api/v2/search/tag/resource.service.name/values?q=%7B%20status%20%3D%20error%20%7D",
    )
    .await
    .json();
    let narrowed = v["tagValues"].as_array().map(Vec::len).unwrap_or(0);
    assert!(narrowed > 0 && narrowed < 5, "{v}");

    let a = get(&t.app, "/api/v2/search/tag/service.name/values").await;
    assert_eq!(a.status.as_u16(), 400);
    assert_eq!(
        a.text(),
        "please provide a valid tagName: failed to parse identifier service.name: parse error at line 1, col 2: unknown identifier: service"
    );
}

fn series(v: &Value) -> Vec<Value> {
    v["series"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn metrics_range_functions() {
    let t = fixture_app();
    let base = format!("/api/metrics/query_range?{WINDOW}&step=15s&q=");
    let v = get(&t.app, &format!("{base}%7B%7D%20%7C%20rate%28%29"))
        .await
        .json();
    let s = series(&v);
    assert_eq!(s.len(), 1);
    assert_eq!(
        s[0]["labels"],
        serde_json::json!([{"key":"__name__","value":{"stringValue":"rate"}}])
    );
    let samples = s[0]["samples"].as_array().cloned().unwrap_or_default();
    assert_eq!(samples.len(), 22, "220..535 every 15 s");
    assert_eq!(samples[0]["timestampMs"], "1795247220000");
    assert!(samples[0].get("value").is_none(), "empty steps have no value");
    // 40 fixture spans in all: rate × 15 s summed over steps.
    let total: f64 = samples.iter().filter_map(|x| x["value"].as_f64()).sum::<f64>() * 15.0;
    assert!((total - 40.0).abs() < 1e-6, "{total}");
    assert!(!s[0]["exemplars"].as_array().map(Vec::is_empty).unwrap_or(true));

    let v = get(
        &t.app,
        &format!("{base}%7B%7D%20%7C%20count_over_time%28%29%20by%20%28resource.service.name%29"),
    )
    .await
    .json();
    let s = series(&v);
    assert_eq!(s.len(), 5);
    assert_eq!(s[0]["labels"][0]["key"], "resource.service.name");

    let v = get(
        &t.app,
        &format!("{base}%7B%7D%20%7C%20quantile_over_time%28duration%2C%20.5%2C%20.95%29"),
    )
    .await
    .json();
    let s = series(&v);
    assert_eq!(s.len(), 2);
    assert_eq!(
        s[0]["labels"],
        serde_json::json!([{"key":"p","value":{"doubleValue":0.5}}])
    );

    let v = get(
        &t.app,
        &format!("{base}%7B%7D%20%7C%20histogram_over_time%28duration%29"),
    )
    .await
    .json();
    let s = series(&v);
    assert!(s.len() > 1);
    assert!(s
        .iter()
        .all(|x| x["labels"][0]["key"] == "__bucket" && x["labels"][0]["value"]["doubleValue"].is_number()));

    let v = get(&t.app, &format!("{base}%7B%20span.http.response.status_code%20%3E%200%20%7D%20%7C%20sum_over_time%28span.http.response.status_code%29")).await.json();
    let s = series(&v);
    assert_eq!(s.len(), 1);
    assert!(s[0]["samples"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|x| x["value"].as_f64().unwrap_or(0.0) >= 200.0));

    // since= instead of start (relative to now: no fixture data, but a valid answer).
    let a = get(
        &t.app,
        "/api/metrics/query_range?q=%7B%7D%20%7C%20rate%28%29&since=5m",
    )
    .await;
    assert_eq!(a.status.as_u16(), 200);
    assert!(a.json()["series"].is_array());
}

#[tokio::test]
async fn metrics_instant_and_errors() {
    let t = fixture_app();
    let v = get(
        &t.app,
        &format!(
            "/api/metrics/query?{WINDOW}&q=%7B%7D%20%7C%20rate%28%29%20by%20%28resource.service.name%29"
        ),
    )
    .await
    .json();
    let s = series(&v);
    assert_eq!(s.len(), 5);
    let total: f64 = s.iter().filter_map(|x| x["value"].as_f64()).sum::<f64>() * 321.0;
    assert!((total - 40.0).abs() < 1e-6, "{total}");
    assert!(s[0].get("samples").is_none());

    for (uri, text) in [
        (
            "/api/metrics/query_range?q=%7B%20status%20%3D%20error%20%7D",
            "not a metrics query",
        ),
        (
            "/api/metrics/query?q=%7B%20status%20%3D%20error%20%7D",
            "not a metrics query",
        ),
        (
            "/api/metrics/query_range?q=%7B%7D%20%7C%20rate%28%29&step=abc",
            "invalid step: time: invalid duration \"abc\"",
        ),
        (
            "/api/metrics/query_range?q=%7B%7D%20%7C%20rate%28%29&start=abc",
            "invalid start: strconv.ParseInt: parsing \"abc\": invalid syntax",
        ),
        (
            "/api/metrics/query_range?q=%7B%7D%20%7C%20rate%28%29&since=x",
            "invalid since: time: invalid duration \"x\"",
        ),
        (
            "/api/metrics/query_range?q=%7B%7D%20%7C%20rate%28%29&start=20&end=10",
            "http parameter start must be before end. received start=20 end=10",
        ),
    ] {
        let a = get(&t.app, uri).await;
        assert_eq!((a.status.as_u16(), a.text().as_str()), (400, text), "{uri}");
    }
    let a = get(
        &t.app,
        "/api/metrics/query_range?q=%7B%20status%20%3D%20%7D%20%7C%20rate%28%29",
    )
    .await;
    assert_eq!(a.status.as_u16(), 400);
    assert!(
        a.text().starts_with("invalid TraceQL query: parse error"),
        "{}",
        a.text()
    );
    let a = get(
        &t.app,
        "/api/metrics/query_range?q=%7B%7D%20%7C%20rate%28%29&start=1&end=2000000&step=1ms",
    )
    .await;
    assert_eq!(a.status.as_u16(), 400, "too many steps");
}

#[tokio::test]
async fn multitenancy() {
    let t = empty_app(true);
    load_fixtures(&t.store, "a");
    let a = get(&t.app, "/api/search").await;
    assert_eq!((a.status.as_u16(), a.text().as_str()), (401, "no org id"));
    for uri in [
        format!("/api/traces/{CHAT}"),
        format!("/api/v2/traces/{CHAT}"),
        "/api/search/tags".to_string(),
        "/api/v2/search/tags".to_string(),
        "/api/search/tag/service.name/values".to_string(),
        "/api/v2/search/tag/resource.service.name/values".to_string(),
        "/api/metrics/query_range?q=%7B%7D%20%7C%20rate%28%29".to_string(),
    ] {
        let a = get(&t.app, &uri).await;
        assert_eq!(a.status.as_u16(), 401, "{uri}");
    }
    let a = request(
        &t.app,
        "GET",
        &format!("/api/traces/{CHAT}"),
        &[("X-Scope-OrgID", "a")],
    )
    .await;
    assert_eq!(a.status.as_u16(), 200);
    let a = request(
        &t.app,
        "GET",
        &format!("/api/traces/{CHAT}"),
        &[("X-Scope-OrgID", "b")],
    )
    .await;
    assert_eq!(a.status.as_u16(), 404, "tenants are apart");
    let v = request(&t.app, "GET", "/api/search", &[("X-Scope-OrgID", "b")])
        .await
        .json();
    assert_eq!(ids(&v).len(), 0);
    let v = request(&t.app, "GET", "/api/search", &[("X-Scope-OrgID", "b|a")])
        .await
        .json();
    assert_eq!(ids(&v).len(), 4);
    let a = request(&t.app, "GET", "/api/search", &[("X-Scope-OrgID", "bad tenant")]).await;
    assert_eq!(a.status.as_u16(), 400);
}

#[tokio::test]
async fn oversized_trace_reads_back_partial() {
    use spanlens_server::store::{TraceStore, DEFAULT_TENANT};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = spanlens_server::store::sqlite::SqliteStore::open_with_cap(dir.path(), 3000).expect("store");
    for file in support::client_otlp_files() {
        let set = spanlens_core::formats::read(&std::fs::read(file).expect("read"), None).expect("parse");
        store.append(DEFAULT_TENANT, &set).expect("append");
    }
    let config = spanlens_server::config::Config::for_data_dir(dir.path());
    let app = spanlens_server::app(spanlens_server::state::AppState::new(store, config));
    let a = get(&app, &format!("/api/v2/traces/{CHAT}")).await;
    assert_eq!(a.status.as_u16(), 200);
    let v = a.json();
    assert_eq!(v["status"], "PARTIAL", "{v}");
    assert!(v["message"].as_str().unwrap_or("").contains("truncated"));
    assert!(spans_of(&v, "trace").len() < 15);
}
