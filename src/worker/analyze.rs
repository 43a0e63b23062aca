//! The worker side of the set analysis: the `SetAnalyzer` wasm export that
//! `public/analysis-worker.js` drives. It decodes the assembled set once (in the `set_transfer`
//! format, as the load worker produced it) when a load finishes, then runs
//! [`spanlens_core::analysis::analyze_set`] for each rules text it is asked about (TOML or JSON;
//! empty = the built-in rules), returning the `SetAnalysis` as postcard bytes, and
//! [`spanlens_core::analysis::analyze_trace`] for the trace a trace page opens (built-in rules,
//! as the page's own fallback uses). The time of each phase is kept for the benchmark.
//!
//! Not here: any statistic of its own; the main-thread side is `views::set_analysis`.

use spanlens_core::analysis::{analyze_set, analyze_trace, Rules};
use spanlens_core::model::TraceSet;
use wasm_bindgen::prelude::*;

/// Parses rules text: JSON when it starts with `{`, TOML otherwise; empty → built-in.
pub fn parse_rules(text: &str) -> Result<Rules, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Rules::builtin());
    }
    let parsed = if t.starts_with('{') {
        Rules::from_json_str(text)
    } else {
        Rules::from_toml_str(text)
    };
    parsed.map_err(|e| e.to_string())
}

fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .ok()
        .and_then(|p| {
            let now = js_sys::Reflect::get(&p, &JsValue::from_str("now")).ok()?;
            let f: js_sys::Function = now.dyn_into().ok()?;
            f.call0(&p).ok()?.as_f64()
        })
        .unwrap_or(0.0)
}

/// A decoded set, kept in the worker for repeated analyses.
#[wasm_bindgen]
pub struct SetAnalyzer {
    set: TraceSet,
    decode_ms: f64,
    analyze_ms: f64,
    encode_ms: f64,
}

#[wasm_bindgen]
impl SetAnalyzer {
    /// Decodes the set.
    #[wasm_bindgen(constructor)]
    pub fn new(set_bytes: Vec<u8>) -> Result<SetAnalyzer, JsError> {
        let t0 = now_ms();
        let set: TraceSet = crate::set_transfer::decode_all(set_bytes).map_err(|e| JsError::new(&e))?;
        Ok(SetAnalyzer {
            set,
            decode_ms: now_ms() - t0,
            analyze_ms: 0.0,
            encode_ms: 0.0,
        })
    }

    /// Analyses the set with the rules; returns the `SetAnalysis` as postcard bytes.
    pub fn analyze(&mut self, rules_text: &str) -> Result<Vec<u8>, JsError> {
        let rules = parse_rules(rules_text).map_err(|e| JsError::new(&e))?;
        let t0 = now_ms();
        let analysis = analyze_set(&self.set, &rules);
        let t1 = now_ms();
        let out = postcard::to_allocvec(&analysis).map_err(|e| JsError::new(&e.to_string()))?;
        self.analyze_ms = t1 - t0;
        self.encode_ms = now_ms() - t1;
        Ok(out)
    }

    /// Analyses one trace of the set with the built-in rules; returns the `TraceAnalysis` as
    /// postcard bytes.
    pub fn analyze_trace(&self, trace_index: u32) -> Result<Vec<u8>, JsError> {
        let analysis = analyze_trace(&self.set, trace_index, &Rules::builtin())
            .map_err(|e| JsError::new(&e.to_string()))?;
        postcard::to_allocvec(&analysis).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Milliseconds spent decoding the set.
    pub fn decode_ms(&self) -> f64 {
        self.decode_ms
    }

    /// Milliseconds of the last `analyze_set`.
    pub fn analyze_ms(&self) -> f64 {
        self.analyze_ms
    }

    /// Milliseconds spent encoding the last result.
    pub fn encode_ms(&self) -> f64 {
        self.encode_ms
    }
}
