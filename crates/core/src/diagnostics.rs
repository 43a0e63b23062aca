//! Partial-failure reports. Readers never fail on a bad span: they skip it (or repair a field)
//! and report what happened here: counts per kind, plus the first examples of each kind with
//! the span, the field and the reason.
//!
//! Not here: document-level failures (a file that is not a trace at all); those are
//! [`crate::formats::ReadError`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many examples are kept per kind.
pub const MAX_EXAMPLES_PER_KIND: usize = 5;

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticKind {
    /// Span has no trace id, or one that cannot be read: skipped.
    MissingTraceId,
    /// Span has no span id: skipped.
    MissingSpanId,
    /// An id that is neither hex nor base64 of the right width: hashed to stable bytes.
    OpaqueId,
    /// An all-zero id (invalid per W3C) was kept as is.
    ZeroId,
    /// A timestamp or duration that is not a non-negative integer: the span is skipped, or the
    /// field is treated as missing when the format allows that.
    InvalidTime,
    /// Zipkin span without timestamp or duration: placed using its parent or children.
    MissingTime,
    /// End before start: duration taken as 0.
    NegativeDuration,
    /// The same span (same id, name, start and end) delivered twice: the copy is dropped.
    DuplicateSpan,
    /// Two different spans share one id (not a Zipkin client/server pair): both are kept, and
    /// children naming that id hang under the first.
    DuplicateSpanId,
    /// A parent chain that loops back on itself: the loop is cut and its earliest span becomes
    /// a root.
    ParentCycle,
    /// A field of the wrong JSON type or an unknown enum value: the field is ignored.
    InvalidField,
    /// An attribute value that cannot be read: the attribute is dropped.
    InvalidAttribute,
    /// The source says the trace is incomplete (Tempo v2 `PARTIAL`, size caps).
    PartialTrace,
    /// A line of a JSON Lines file, or one element of a list, that is not a trace document:
    /// skipped, the rest is kept.
    InvalidDocument,
}

impl DiagnosticKind {
    /// True when a diagnostic of this kind means a span was dropped.
    pub fn skips_span(self) -> bool {
        matches!(
            self,
            DiagnosticKind::MissingTraceId | DiagnosticKind::MissingSpanId | DiagnosticKind::DuplicateSpan
        )
    }
}

/// One reported problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    /// The file (or other source label) it came from, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Where in the document: a JSON path such as `resourceSpans[0].scopeSpans[1].spans[3]`,
    /// or `line 4` for JSON Lines.
    pub location: String,
    /// The span's id as written in the file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// The field at fault, e.g. `startTimeUnixNano`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why, in words.
    pub message: String,
}

/// All problems of one load: counts per kind, examples, and document-level warnings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Spans accepted into the set.
    pub spans_read: u64,
    /// Spans dropped.
    pub spans_skipped: u64,
    /// Number of problems of each kind.
    pub counts: BTreeMap<DiagnosticKind, u64>,
    /// The first [`MAX_EXAMPLES_PER_KIND`] problems of each kind, in the order met.
    pub examples: Vec<Diagnostic>,
    /// Document-level warnings (e.g. Tempo `PARTIAL` with its message).
    pub warnings: Vec<String>,
    /// Formats read, one entry per source: `"orders.json: otlp_json"`.
    pub sources: Vec<String>,
}

impl Diagnostics {
    /// Records a problem.
    pub fn report(&mut self, diagnostic: Diagnostic) {
        let count = self.counts.entry(diagnostic.kind).or_insert(0);
        *count += 1;
        if *count as usize <= MAX_EXAMPLES_PER_KIND {
            self.examples.push(diagnostic);
        }
    }

    /// Shorthand for [`Diagnostics::report`].
    pub fn add(
        &mut self,
        kind: DiagnosticKind,
        location: impl Into<String>,
        span_id: Option<&str>,
        field: Option<&str>,
        message: impl Into<String>,
    ) {
        self.report(Diagnostic {
            kind,
            source: None,
            location: location.into(),
            span_id: span_id.map(str::to_string),
            field: field.map(str::to_string),
            message: message.into(),
        });
    }

    /// Number of problems of one kind.
    pub fn count(&self, kind: DiagnosticKind) -> u64 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    /// True when nothing was reported.
    pub fn is_clean(&self) -> bool {
        self.counts.is_empty() && self.warnings.is_empty()
    }

    /// Labels examples that have no source yet with `source` (a file name).
    pub fn label_source(&mut self, source: &str) {
        for example in &mut self.examples {
            if example.source.is_none() {
                example.source = Some(source.to_string());
            }
        }
    }

    /// Adds another report into this one (counts add up; examples stay capped per kind).
    pub fn merge(&mut self, other: Diagnostics) {
        self.spans_read += other.spans_read;
        self.spans_skipped += other.spans_skipped;
        for example in other.examples {
            let already = self.examples.iter().filter(|e| e.kind == example.kind).count();
            if already < MAX_EXAMPLES_PER_KIND {
                self.examples.push(example);
            }
        }
        for (kind, n) in other.counts {
            *self.counts.entry(kind).or_insert(0) += n;
        }
        self.warnings.extend(other.warnings);
        self.sources.extend(other.sources);
    }

    /// A one-line human summary, e.g. `3 spans skipped (missing_span_id: 3)`.
    pub fn summary(&self) -> String {
        if self.is_clean() {
            return format!("{} spans read, no problems", self.spans_read);
        }
        let kinds: Vec<String> = self
            .counts
            .iter()
            .map(|(k, n)| {
                format!(
                    "{}: {n}",
                    serde_json::to_value(k)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                )
            })
            .collect();
        let mut text = format!("{} spans read, {} skipped", self.spans_read, self.spans_skipped);
        if !kinds.is_empty() {
            text.push_str(&format!(" ({})", kinds.join(", ")));
        }
        for w in &self.warnings {
            text.push_str("; ");
            text.push_str(w);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_caps_examples() {
        let mut d = Diagnostics::default();
        for i in 0..8 {
            d.add(
                DiagnosticKind::MissingSpanId,
                format!("spans[{i}]"),
                None,
                Some("spanId"),
                "no span id",
            );
        }
        assert_eq!(d.count(DiagnosticKind::MissingSpanId), 8);
        assert_eq!(d.examples.len(), MAX_EXAMPLES_PER_KIND);
        let mut other = Diagnostics::default();
        other.add(DiagnosticKind::MissingSpanId, "x", None, None, "again");
        other.add(
            DiagnosticKind::OpaqueId,
            "y",
            Some("sid1"),
            Some("spanId"),
            "not hex",
        );
        d.merge(other);
        assert_eq!(d.count(DiagnosticKind::MissingSpanId), 9);
        assert_eq!(d.examples.len(), MAX_EXAMPLES_PER_KIND + 1);
        assert!(d.summary().contains("missing_span_id: 9"));
    }
}
