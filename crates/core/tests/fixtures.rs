//! The shared real-world fixtures (`shared/fixtures`, `shared/tempo-api`) read through format
//! autodetection, checked against the counts of `shared/fixtures/SOURCES.md`, against each other
//! (one trace in several formats) and against golden renderings of the assembled trees.
//!
//! Fixtures are read in place from the shared folder; nothing is copied into the repository.
//!
//! Mapping of SOURCES.md's terms onto the model:
//! - "services": distinct service names of the set, where a span without a service name (SOURCES
//!   says `None`) counts as the one service `unknown_service`, and Zipkin's literal `"unknown"`
//!   is a service of its own (so zipkin-yelp has 6 and zipkin-netflix 4, as SOURCES says).
//! - "roots" (spans without any parent reference) = our `root_count - orphan_count`, and
//!   "missing parent" = our `orphan_count`. Zipkin server halves carry the same parentId as their
//!   client half, and a Jaeger FOLLOWS_FROM-only reference is a parent in both views, so these
//!   agree everywhere but one file, where a parent id names a span of another trace (see the
//!   table: a parent has to be in the same trace here).

use spanlens_core::formats::{self, Format};
use spanlens_core::model::{owned_to_json, Span, TraceSet, TraceSetBuilder};
use std::fmt::Write as _;
use std::path::PathBuf;

fn shared(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/")).join(rel)
}

fn bytes(rel: &str) -> Vec<u8> {
    std::fs::read(shared(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Reads one file with autodetection; panics with the reason when it cannot.
fn load(rel: &str) -> (TraceSet, Format) {
    let mut builder = TraceSetBuilder::new();
    let summary = formats::read_into(&mut builder, &bytes(rel), None, Some(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
    (builder.finish(), summary.format)
}

/// (file under shared/fixtures, spans, traces, services, roots, spans with missing parent), from
/// SOURCES.md's summary table and per-file sanity checks.
const SOURCES: &[(&str, usize, usize, usize, u32, u32)] = &[
    // SOURCES counts 3 missing parents: its script looked parents up across the whole file, and
    // one span's parent id is a span of the *other* trace. A parent must be in the same trace,
    // so here all 4 spans are orphans (intentional difference).
    ("otlp/jaeger-memstore-two-traces-links-events.json", 4, 2, 1, 0, 4),
    (
        "otlp/jaeger-v3-gettrace-hotrod-result-wrapper.json",
        40,
        1,
        6,
        1,
        0,
    ),
    ("otlp/oteldemo-checkout-timeout-error.json", 26, 1, 5, 1, 0),
    ("otlp/oteldemo-file-exporter-5-traces.jsonl", 82, 5, 3, 5, 0),
    ("otlp/otlp-proto-example-trace.json", 1, 1, 1, 0, 1),
    ("otlp/perses-k6-authenticate-error-base64.json", 3, 1, 2, 1, 0),
    (
        "otlp/perses-k6-example-hexupper-nonhex-spanids.json",
        3,
        1,
        1,
        1,
        0,
    ),
    ("otlp/perses-tempo-pushbytes-no-root.json", 2, 1, 1, 0, 1),
    ("otlp/synthetic-sibling-errors-enum-names.json", 6, 1, 3, 1, 0),
    ("tempo/kiali-istio-bookinfo-batches-base64.json", 8, 1, 5, 1, 0),
    ("tempo/tempo-tempopb-example-batches.json", 1, 1, 1, 0, 1),
    ("jaeger/jaeger-model-ui01-edge-cases.json", 5, 1, 2, 2, 0),
    ("jaeger/jaeger-ui-genai-agents-57-spans.json", 57, 1, 10, 1, 0),
    ("jaeger/jaeger-ui-issue115-follows-from.json", 2, 1, 1, 1, 0),
    (
        "jaeger/jaeger-ui-nonhex-ids-follows-from-error.json",
        11,
        1,
        2,
        1,
        0,
    ),
    (
        "jaeger/jaeger-ui-ride-sharing-redux-data-object.json",
        4,
        1,
        2,
        1,
        0,
    ),
    ("jaeger/jaeger-ui-trace-id-31-hex-digits.json", 12, 1, 2, 1, 0),
    ("jaeger/perses-hermes-async-inline-process.json", 5, 1, 1, 1, 0),
    ("jaeger/perses-k6-authenticate-error-jaeger.json", 3, 1, 2, 1, 0),
    (
        "zipkin/jaeger-collector-zipkin-v2-debug-shared-short-ids.json",
        1,
        1,
        1,
        0,
        1,
    ),
    ("zipkin/zipkin-envoy-shared-no-service.json", 1, 1, 1, 1, 0),
    ("zipkin/zipkin-messaging2-orphans.json", 11, 1, 4, 1, 6),
    ("zipkin/zipkin-netflix-128bit.json", 8, 1, 4, 1, 0),
    ("zipkin/zipkin-skew.json", 4, 1, 2, 1, 0),
    (
        "zipkin/zipkin-smartthings-mobile-web-install-1041-spans.json",
        1041,
        1,
        16,
        1,
        0,
    ),
    ("zipkin/zipkin-yelp.json", 16, 1, 6, 1, 0),
];

/// The OTLP files the SDKs sent to Tempo for the traces in `tempo-api/responses` (counted with
/// a script the same way as SOURCES.md).
const CLIENT_OTLP: &[(&str, usize, usize, usize, u32, u32)] = &[
    (
        "tempo-api/client_otlp/2909406c2e416788f5ec52ed01088475.json",
        15,
        1,
        5,
        1,
        0,
    ),
    (
        "tempo-api/client_otlp/2dd08e8263e9a8584490023bee0cf61d.json",
        7,
        1,
        3,
        1,
        0,
    ),
    (
        "tempo-api/client_otlp/9e8036d307ac72f279cc2011ed9d7dd9.json",
        14,
        1,
        4,
        1,
        0,
    ),
    (
        "tempo-api/client_otlp/f0cd55bbff515deb478f9e35ea2fa58d.json",
        4,
        1,
        2,
        1,
        0,
    ),
];

fn expected_format(rel: &str) -> Format {
    if rel.contains("jaeger/") {
        Format::JaegerJson
    } else if rel.contains("zipkin/") {
        Format::ZipkinJson
    } else {
        Format::OtlpJson
    }
}

fn services(set: &TraceSet) -> Vec<String> {
    let mut names: Vec<String> = set
        .spans()
        .iter()
        .map(|s| set.service_name(s).to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn check_counts(table: &[(&str, usize, usize, usize, u32, u32)], prefix: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for &(rel, spans, traces, service_count, roots, orphans) in table {
        let path = format!("{prefix}{rel}");
        let mut builder = TraceSetBuilder::new();
        let format = match formats::read_into(&mut builder, &bytes(&path), None, Some(&path)) {
            Ok(summary) => summary.format,
            Err(e) => {
                failures.push(format!("{rel}: {e}"));
                continue;
            }
        };
        let set = builder.finish();
        let real_roots: u32 = set.traces().iter().map(|t| t.root_count - t.orphan_count).sum();
        let orphan_count: u32 = set.traces().iter().map(|t| t.orphan_count).sum();
        let got = (
            format,
            set.span_count(),
            set.traces().len(),
            services(&set).len(),
            real_roots,
            orphan_count,
        );
        let want = (expected_format(rel), spans, traces, service_count, roots, orphans);
        if got != want {
            failures.push(format!(
                "{rel}: got (format, spans, traces, services, roots, orphans) = {got:?}, want {want:?}; \
                 services {:?}; {}",
                services(&set),
                set.diagnostics.summary()
            ));
        }
    }
    failures
}

#[test]
fn every_fixture_matches_sources_md() {
    let failures = check_counts(SOURCES, "fixtures/");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn client_otlp_files_load() {
    let failures = check_counts(CLIENT_OTLP, "");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Every file in the fixture folders is in the table above (nothing is silently untested).
#[test]
fn table_lists_every_fixture_file() {
    let mut on_disk = Vec::new();
    for dir in ["otlp", "tempo", "jaeger", "zipkin"] {
        let entries = std::fs::read_dir(shared(&format!("fixtures/{dir}"))).unwrap();
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().to_string();
            on_disk.push(format!("{dir}/{name}"));
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = SOURCES.iter().map(|r| r.0.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

// ---------------------------------------------------------------------------------------------
// One trace, several spellings: Tempo v1 / v2 responses against the OTLP the SDK sent.

/// One line per span with everything the model holds, attributes sorted by key and events by
/// time, so that documents differing only in order compare equal. Span `flags` are left out:
/// Tempo does not store them (the SDK sent 0x300, Tempo answers without flags).
fn canonical(set: &TraceSet) -> Vec<String> {
    let attrs = |r| {
        let mut list: Vec<String> = set
            .arena
            .load_attrs(r)
            .iter()
            .map(|(k, v)| format!("{k}={}", owned_to_json(v)))
            .collect();
        list.sort();
        list.join(",")
    };
    let mut lines: Vec<String> = set
        .spans()
        .iter()
        .map(|s| {
            let resource = set.resource(s);
            let scope = set.scope(s);
            let mut events: Vec<String> = set
                .events(s)
                .iter()
                .map(|e| format!("{}@{}{{{}}}", set.str(e.name), e.time_unix_nanos, attrs(e.attrs)))
                .collect();
            events.sort();
            let links: Vec<String> = set
                .links(s)
                .iter()
                .map(|l| format!("{}/{}{{{}}}", l.trace_id, l.span_id, attrs(l.attrs)))
                .collect();
            format!(
                "{}/{} parent={:?} name={:?} kind={:?} status={:?}:{:?} {}..{} state={:?} \
                 service={:?} resource={{{}}} scope={:?}@{:?}{{{}}} attrs={{{}}} events=[{}] links=[{}]",
                s.trace_id,
                s.span_id,
                s.parent_span_id.map(|p| p.to_hex()),
                set.name(s),
                s.kind,
                s.status_code,
                set.str(s.status_message),
                s.start_unix_nanos,
                s.end_unix_nanos,
                set.str(s.trace_state),
                set.service_name(s),
                attrs(resource.attrs),
                set.str(scope.name),
                set.str(scope.version),
                attrs(scope.attrs),
                attrs(s.attrs),
                events.join(";"),
                links.join(";"),
            )
        })
        .collect();
    lines.sort();
    lines
}

fn assert_same_model(a_rel: &str, b_rel: &str) {
    let (a, _) = load(a_rel);
    let (b, _) = load(b_rel);
    let (ca, cb) = (canonical(&a), canonical(&b));
    assert_eq!(ca.len(), cb.len(), "{a_rel} vs {b_rel}: span counts");
    for (x, y) in ca.iter().zip(&cb) {
        assert_eq!(x, y, "\n{a_rel}\n  vs\n{b_rel}");
    }
}

#[test]
fn tempo_v1_response_equals_client_otlp() {
    assert_same_model(
        "tempo-api/responses/005_trace_v1_chat_ok.json",
        "tempo-api/client_otlp/2909406c2e416788f5ec52ed01088475.json",
    );
}

#[test]
fn tempo_v2_responses_equal_client_otlp() {
    for (response, client) in [
        (
            "007_trace_v2_chat_ok.json",
            "2909406c2e416788f5ec52ed01088475.json",
        ),
        (
            "012_trace_v2_db_error.json",
            "2dd08e8263e9a8584490023bee0cf61d.json",
        ),
        (
            "014_trace_v2_consumer_links.json",
            "f0cd55bbff515deb478f9e35ea2fa58d.json",
        ),
    ] {
        assert_same_model(
            &format!("tempo-api/responses/{response}"),
            &format!("tempo-api/client_otlp/{client}"),
        );
    }
}

#[test]
fn tempo_protobuf_responses_equal_client_otlp() {
    for response in [
        "006_trace_v1_chat_ok_protobuf.pb",
        "008_trace_v2_chat_ok_protobuf.pb",
    ] {
        let rel = format!("tempo-api/responses/{response}");
        let (_, format) = load(&rel);
        assert_eq!(format, Format::OtlpProto, "{rel}");
        assert_same_model(
            &rel,
            "tempo-api/client_otlp/2909406c2e416788f5ec52ed01088475.json",
        );
    }
}

#[test]
fn tempo_non_trace_responses_are_rejected_with_reasons() {
    for rel in [
        "tempo-api/responses/031_search_no_params.json",
        "tempo-api/responses/037_search_q_kr_error.json",
    ] {
        let err = formats::read(&bytes(rel), None).unwrap_err().to_string();
        assert!(err.contains("Tempo search response"), "{rel}: {err}");
    }
    let err = formats::read(&bytes("tempo-api/responses/026_trace_v1_malformed_400.txt"), None)
        .unwrap_err()
        .to_string();
    for label in ["OTLP JSON", "Jaeger JSON", "Zipkin v2 JSON", "OTLP protobuf"] {
        assert!(err.contains(label), "{err}");
    }
    assert_eq!(
        formats::read(&bytes("tempo-api/responses/024_trace_v1_unknown_404.bin"), None).unwrap_err(),
        formats::ReadError::Empty
    );
}

// ---------------------------------------------------------------------------------------------
// One trace in Jaeger JSON and in OTLP JSON.

/// (trace id, span id, parent id, name, service, start µs, end µs).
type Row = (String, String, Option<String>, String, String, u64, u64);

#[test]
fn jaeger_and_otlp_spellings_of_one_trace_agree() {
    let (j, _) = load("fixtures/jaeger/perses-k6-authenticate-error-jaeger.json");
    let (o, _) = load("fixtures/otlp/perses-k6-authenticate-error-base64.json");
    let rows = |set: &TraceSet| {
        let mut rows: Vec<Row> = set
            .spans()
            .iter()
            .map(|s| {
                (
                    s.trace_id.to_hex(),
                    s.span_id.to_hex(),
                    s.parent_span_id.map(|p| p.to_hex()),
                    set.name(s).to_string(),
                    set.service_name(s).to_string(),
                    // Jaeger keeps microseconds: compare at that precision.
                    s.start_unix_nanos / 1000,
                    s.end_unix_nanos / 1000,
                )
            })
            .collect();
        rows.sort();
        rows
    };
    let (rj, ro) = (rows(&j), rows(&o));
    assert_eq!(rj.len(), 3);
    for (a, b) in rj.iter().zip(&ro) {
        assert_eq!(
            (&a.0, &a.1, &a.2, &a.3, &a.4, a.5),
            (&b.0, &b.1, &b.2, &b.3, &b.4, b.5),
            "ids, parents, names, services and starts"
        );
        // Jaeger's end is start + duration in whole microseconds, so it may be 1 µs short.
        assert!(b.6 - a.6 <= 1, "end {} vs {}", a.6, b.6);
    }
    let kinds = |set: &TraceSet| {
        let mut k: Vec<(String, String, String)> = set
            .spans()
            .iter()
            .map(|s| {
                (
                    s.span_id.to_hex(),
                    format!("{:?}", s.kind),
                    format!("{:?}", s.status_code),
                )
            })
            .collect();
        k.sort();
        k
    };
    assert_eq!(kinds(&j), kinds(&o));
}

// ---------------------------------------------------------------------------------------------
// Golden trees.

/// The assembled trees as text: one line per span in pre-order, indented by depth, with the
/// start offset from the trace start and the duration in microseconds, and marks for orphans,
/// shared (server) halves, errors and clock-skew shifts.
fn render(set: &TraceSet) -> String {
    let mut out = String::new();
    for t in set.traces() {
        let _ = writeln!(
            out,
            "trace {} spans={} roots={} orphans={} skew_adjusted={}",
            t.trace_id, t.spans.len, t.root_count, t.orphan_count, t.skew_adjusted_count
        );
        for s in set.trace_spans(t) {
            let _ = writeln!(out, "{}", line(set, s, t.start_unix_nanos));
        }
    }
    out
}

fn line(set: &TraceSet, s: &Span, trace_start: u64) -> String {
    let mut marks = String::new();
    if s.is_orphan() {
        marks.push_str(" ORPHAN");
    }
    if s.shared {
        marks.push_str(" SHARED");
    }
    if s.is_error() {
        marks.push_str(" ERROR");
    }
    if s.skew_shift_nanos != 0 {
        let _ = write!(marks, " SKEW{:+}us", s.skew_shift_nanos / 1000);
    }
    format!(
        "{}{} [{}] {} +{}us {}us{}",
        "  ".repeat(s.depth as usize),
        set.name(s),
        set.service_name(s),
        s.kind.short_name(),
        s.start_unix_nanos.saturating_sub(trace_start) / 1000,
        s.duration_nanos() / 1000,
        marks
    )
}

fn assert_golden(rel: &str, want: &str) {
    let (set, _) = load(rel);
    let got = render(&set);
    let want: String = want.lines().map(|l| format!("{}\n", l.trim_end())).collect();
    assert_eq!(got.trim(), want.trim(), "\n--- got ---\n{got}");
}

#[test]
fn golden_zipkin_skew() {
    assert_golden("fixtures/zipkin/zipkin-skew.json", GOLDEN_ZIPKIN_SKEW);
}

#[test]
fn golden_jaeger_ui01_edge_cases() {
    assert_golden(
        "fixtures/jaeger/jaeger-model-ui01-edge-cases.json",
        GOLDEN_JAEGER_UI01,
    );
}

#[test]
fn golden_zipkin_messaging2_orphans() {
    assert_golden(
        "fixtures/zipkin/zipkin-messaging2-orphans.json",
        GOLDEN_ZIPKIN_MESSAGING2,
    );
}

#[test]
fn golden_otlp_pushbytes_no_root() {
    assert_golden(
        "fixtures/otlp/perses-tempo-pushbytes-no-root.json",
        GOLDEN_PUSHBYTES,
    );
}

/// The serviceb server half starts before its servicea client parent: it is shifted (with its
/// child) into the parent; raw offsets stay as in the file.
const GOLDEN_ZIPKIN_SKEW: &str = "\
trace 00000000000000001e223ff1f80f1c69 spans=4 roots=1 orphans=0 skew_adjusted=1
get [servicea] server +62307us 99411us
  post [servicea] client +65441us 94539us
    post [serviceb] server +0us 93577us SKEW+65922us
      async [serviceb] internal +1us 65000us SKEW+65922us
";
/// Two spans share id ...0002: both kept; children hang under the one assembly picks by content
/// (same start and end, so by name: "some-operation"); the reference into trace
/// 0xff and the FOLLOWS_FROM next to a same-trace CHILD_OF became links, not parents.
const GOLDEN_JAEGER_UI01: &str = "\
trace 00000000000000000000000000000001 spans=5 roots=2 orphans=0 skew_adjusted=0
test-general-conversion [service-x] unspecified +0us 5us
some-operation [service-x] unspecified +0us 5us ERROR
  some-operation [service-y] unspecified +0us 5us
  reference-test [service-y] unspecified +0us 5us
    preserveParentID-test [service-y] unspecified +0us 4us
";
/// Six spans name parents that are not in the file: orphan roots, ordered by start after the
/// real root. The consumer is never shifted for skew.
const GOLDEN_ZIPKIN_MESSAGING2: &str = "\
trace 00000000000000000d1a94ebc9256244 spans=11 roots=7 orphans=6 skew_adjusted=0
post [mobile-gateway] server +0us 29051us
  http:/parent/auth-service/v1/authentications/ [auth-service] server +1976us 4057us SHARED
    extend-token [auth-service] internal +1976us 1241us
  post [mobile-gateway] client +7025us 21813us
post [transfer-service] client +32125us 779592us ORPHAN
get [transfer-service] client +812413us 132879us ORPHAN
send-confirm-transfer [transfer-service] internal +945905us 2555791us ORPHAN
publish [transfer-service] producer +946115us 12us ORPHAN
push-topic-s-n-s [transfer-service] internal +946782us 79027us ORPHAN
consume [notification-service] consumer +1987905us 40us ORPHAN
  post [notification-service] client +2017905us 15860us
";
/// The real root was removed upstream: the remaining top span is an orphan root.
const GOLDEN_PUSHBYTES: &str = "\
trace 26dad4a0e2b0dd9a440dd5ff203a24a4 spans=2 roots=1 orphans=1 skew_adjusted=0
distributor.PushTraces [tempo-distributor] internal +0us 500us ORPHAN
  tempopb.Pusher/PushBytesV2 [tempo-distributor] client +107us 375us
";

/// Zipkin client/server halves that reuse one span id must keep their tree when written to
/// OTLP (which has no "shared" flag) and read back — the path of an upload to the server.
#[test]
fn zipkin_trees_survive_an_otlp_round_trip() {
    for entry in std::fs::read_dir(shared("fixtures/zipkin")).unwrap() {
        let path = entry.unwrap().path();
        let rel = format!("fixtures/zipkin/{}", path.file_name().unwrap().to_string_lossy());
        let (set, _) = load(&rel);
        let otlp = spanlens_core::formats::writers::to_otlp_json(&set, None);
        let back = spanlens_core::formats::read(otlp.as_bytes(), None).unwrap();
        // OTLP cannot carry the `shared` flag; it only matters for a server half whose client
        // half is absent (nothing to pair with), so the tree is compared without that mark.
        let unmarked = |set: &TraceSet| render(set).replace(" SHARED", "");
        assert_eq!(
            unmarked(&back),
            unmarked(&set),
            "{rel}: tree changed after an OTLP round trip"
        );
        assert_eq!(
            back.diagnostics
                .count(spanlens_core::diagnostics::DiagnosticKind::DuplicateSpanId),
            set.diagnostics
                .count(spanlens_core::diagnostics::DiagnosticKind::DuplicateSpanId),
            "{rel}: the round trip created duplicate span ids"
        );
    }
}
