//! The worker side of the set analysis: the `analyze_set_postcard` wasm export that
//! `public/analysis-worker.js` calls. It decodes the assembled set (postcard, as the load worker
//! produced it), parses the category rules (TOML or JSON text; empty = the built-in rules) and
//! runs [`spanlens_core::analysis::analyze_set`] once, returning the `SetAnalysis` as postcard
//! bytes. Timings of each phase are returned separately for the benchmark.
//!
//! Not here: any statistic of its own; the main-thread side is `views::set_analysis`.

use spanlens_core::analysis::{analyze_set, Rules, SetAnalysis};
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

/// One analysis run in the worker.
#[wasm_bindgen]
pub struct SetAnalysisJob {
    out: Vec<u8>,
    decode_ms: f64,
    analyze_ms: f64,
    encode_ms: f64,
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

#[wasm_bindgen]
impl SetAnalysisJob {
    /// Decodes the set, analyses it with the rules, encodes the result.
    #[wasm_bindgen(constructor)]
    pub fn new(set_postcard: &[u8], rules_text: &str) -> Result<SetAnalysisJob, JsError> {
        let rules = parse_rules(rules_text).map_err(|e| JsError::new(&e))?;
        let t0 = now_ms();
        let set: TraceSet = postcard::from_bytes(set_postcard).map_err(|e| JsError::new(&e.to_string()))?;
        let t1 = now_ms();
        let analysis: SetAnalysis = analyze_set(&set, &rules);
        let t2 = now_ms();
        drop(set);
        let out = postcard::to_allocvec(&analysis).map_err(|e| JsError::new(&e.to_string()))?;
        let t3 = now_ms();
        Ok(SetAnalysisJob {
            out,
            decode_ms: t1 - t0,
            analyze_ms: t2 - t1,
            encode_ms: t3 - t2,
        })
    }

    /// The `SetAnalysis`, postcard-encoded (moved out; a second call returns nothing).
    pub fn take_result(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Milliseconds spent decoding the set.
    pub fn decode_ms(&self) -> f64 {
        self.decode_ms
    }

    /// Milliseconds spent in `analyze_set`.
    pub fn analyze_ms(&self) -> f64 {
        self.analyze_ms
    }

    /// Milliseconds spent encoding the result.
    pub fn encode_ms(&self) -> f64 {
        self.encode_ms
    }
}
