//! Parse throughput of the OTLP JSON reader in a browser (wasm32, headless Chromium): generates
//! 100k synthetic spans, writes them as OTLP JSON, then times `formats::read` (parse +
//! assembly) and prints MB/s and spans/s to the console (shown by wasm-bindgen-test-runner
//! with `-- --nocapture`), next to `serde_json::from_slice::<IgnoredAny>` over the same bytes.
//!
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test -p
//! spanlens-core --target wasm32-unknown-unknown --release --test wasm_parse_bench -- --nocapture`
#![cfg(target_arch = "wasm32")]

use spanlens_core::formats::writers::to_otlp_json;
use spanlens_core::formats::{read, Format};
use spanlens_core::synth::{generate, SynthOptions};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn parse_100k_spans() {
    let set = generate(&SynthOptions::for_total_spans(100_000, 40, 1));
    let json = to_otlp_json(&set, None);
    drop(set);
    let mb = json.len() as f64 / 1e6;
    // Reference: scanning the same bytes with serde_json (no model built).
    let mut scan = f64::MAX;
    for _ in 0..3 {
        let t0 = js_sys::Date::now();
        let ok = serde_json::from_slice::<serde::de::IgnoredAny>(json.as_bytes()).is_ok();
        scan = scan.min(js_sys::Date::now() - t0);
        assert!(ok);
    }
    let mut best = f64::MAX;
    let mut spans = 0usize;
    for _ in 0..3 {
        let t0 = js_sys::Date::now();
        let set = read(json.as_bytes(), Some(Format::OtlpJson));
        let ms = js_sys::Date::now() - t0;
        assert!(set.is_ok(), "read failed");
        spans = set.map(|s| s.span_count()).unwrap_or(0);
        best = best.min(ms);
    }
    let secs = best / 1000.0;
    console_log!(
        "wasm read+assemble of {spans} spans ({mb:.1} MB): {best:.0} ms = {:.0} MB/s, {:.0} spans/s",
        mb / secs,
        spans as f64 / secs
    );
    console_log!(
        "wasm serde_json IgnoredAny scan: {scan:.0} ms = {:.0} MB/s; read+assemble = {:.0}% of the scan",
        mb / (scan / 1000.0),
        100.0 * scan / best
    );
}
