//! The worker side of loading: the `SetLoader` wasm export that `public/worker.js` drives. It
//! feeds each document to [`spanlens_core::formats::read_into`] (several files merge into one
//! builder), assembles the set once, and hands it back in the `set_transfer` format plus the
//! diagnostics as JSON (diagnostics use optional fields, which a non-self-describing format
//! cannot carry).
//!
//! Not here: any parsing of its own; progress and file reading are in `worker.js`.

use spanlens_core::formats::read_into;
use spanlens_core::model::TraceSetBuilder;
use wasm_bindgen::prelude::*;

/// Accumulates documents in the worker.
#[wasm_bindgen]
pub struct SetLoader {
    builder: Option<TraceSetBuilder>,
    diagnostics: String,
}

impl Default for SetLoader {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl SetLoader {
    /// An empty loader.
    #[wasm_bindgen(constructor)]
    pub fn new() -> SetLoader {
        SetLoader {
            builder: Some(TraceSetBuilder::new()),
            diagnostics: String::new(),
        }
    }

    /// Reads one document; returns the spans it added, or throws the core's `ReadError` text.
    pub fn add(&mut self, bytes: &[u8], name: &str) -> Result<u32, JsError> {
        let builder = self
            .builder
            .as_mut()
            .ok_or_else(|| JsError::new("the set was already assembled"))?;
        read_into(builder, bytes, None, Some(name))
            .map(|s| s.spans_added as u32)
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// Spans read so far.
    pub fn span_count(&self) -> u32 {
        self.builder.as_ref().map(|b| b.span_count() as u32).unwrap_or(0)
    }

    /// Assembles the set and returns it in the `set_transfer` format (diagnostics kept for
    /// [`SetLoader::diagnostics_json`]).
    pub fn finish(&mut self) -> Result<Vec<u8>, JsError> {
        let builder = self
            .builder
            .take()
            .ok_or_else(|| JsError::new("the set was already assembled"))?;
        let mut set = builder.finish();
        let diagnostics = std::mem::take(&mut set.diagnostics);
        self.diagnostics = serde_json::to_string(&diagnostics).map_err(|e| JsError::new(&e.to_string()))?;
        crate::set_transfer::encode(set).map_err(|e| JsError::new(&e))
    }

    /// The diagnostics of the assembled set, as JSON.
    pub fn diagnostics_json(&self) -> String {
        self.diagnostics.clone()
    }
}
