//! Trace formats: content-based detection, the readers (OTLP JSON in all its envelopes, OTLP
//! protobuf, Jaeger JSON, Zipkin v2 JSON) and the writers (OTLP JSON, Tempo v1/v2 JSON, OTLP
//! protobuf).
//!
//! Each reader has private wire structs and one conversion into the model. Readers never fail
//! on a bad span: they skip or repair it and report into the builder's diagnostics. They fail
//! only when the document is not of their format at all, with a reason.
//!
//! Entry points: [`read`] (detect, or use the given format, and assemble) and [`read_into`]
//! (add one document to a builder, to merge several files).

pub mod detect;
pub mod jaeger_json;
pub mod otlp_json;
pub mod otlp_proto;
pub mod writers;
pub mod zipkin_json;

use crate::model::{TraceSet, TraceSetBuilder};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A trace format spanlens reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// OTLP JSON: `resourceSpans`, Tempo v1 `batches`, Tempo v2 `trace`, Jaeger v3 `result`,
    /// and JSON Lines of any of these.
    OtlpJson,
    /// OTLP protobuf `TracesData` / `ExportTraceServiceRequest` (and Tempo's protobuf `Trace`).
    OtlpProto,
    /// Jaeger query/UI JSON.
    JaegerJson,
    /// Zipkin v2 JSON.
    ZipkinJson,
}

impl Format {
    /// Every format, in the order autodetection tries them.
    pub const ALL: [Format; 4] = [
        Format::OtlpJson,
        Format::JaegerJson,
        Format::ZipkinJson,
        Format::OtlpProto,
    ];

    /// The CLI / URL spelling (`otlp_json`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::OtlpJson => "otlp_json",
            Format::OtlpProto => "otlp_proto",
            Format::JaegerJson => "jaeger_json",
            Format::ZipkinJson => "zipkin_json",
        }
    }

    /// A name for people ("OTLP JSON").
    pub fn label(self) -> &'static str {
        match self {
            Format::OtlpJson => "OTLP JSON",
            Format::OtlpProto => "OTLP protobuf",
            Format::JaegerJson => "Jaeger JSON",
            Format::ZipkinJson => "Zipkin v2 JSON",
        }
    }

    /// Parses the CLI spelling (also accepts `otlp`, `jaeger`, `zipkin`, `proto`, `tempo`).
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "otlp_json" | "otlp" | "json" | "tempo" | "tempo_json" => Format::OtlpJson,
            "otlp_proto" | "proto" | "protobuf" | "pb" => Format::OtlpProto,
            "jaeger_json" | "jaeger" => Format::JaegerJson,
            "zipkin_json" | "zipkin" => Format::ZipkinJson,
            _ => return None,
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one format rejected a document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub format: Format,
    pub reason: String,
}

/// A document that could not be read at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Nothing to read.
    #[error("the input is empty")]
    Empty,
    /// No format accepted the document; each attempt says why.
    #[error("not a trace file: {}", describe_rejections(.0))]
    NotATrace(Vec<Rejection>),
    /// The requested format rejected the document.
    #[error("not {}: {}", .0.format.label(), .0.reason)]
    Rejected(Rejection),
}

fn describe_rejections(rejections: &[Rejection]) -> String {
    rejections
        .iter()
        .map(|r| format!("not {} ({})", r.format.label(), r.reason))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What [`read_into`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadSummary {
    pub format: Format,
    /// Spans added to the builder by this document.
    pub spans_added: usize,
}

/// Reads one document into `builder`, detecting the format from the content unless `format`
/// is given. `source` (a file name) labels diagnostics. On error the builder is unchanged
/// except for nothing: readers add spans only after the document is known to be theirs.
pub fn read_into(
    builder: &mut TraceSetBuilder,
    bytes: &[u8],
    format: Option<Format>,
    source: Option<&str>,
) -> Result<ReadSummary, ReadError> {
    let before_spans = builder.span_count();
    let before_examples = builder.diagnostics.examples.len();
    let format = match format {
        Some(f) => {
            read_with(f, bytes, builder)
                .map_err(|reason| ReadError::Rejected(Rejection { format: f, reason }))?;
            f
        }
        None => detect::read_detected(bytes, builder)?,
    };
    if let Some(source) = source {
        for example in builder.diagnostics.examples.iter_mut().skip(before_examples) {
            if example.source.is_none() {
                example.source = Some(source.to_string());
            }
        }
        builder
            .diagnostics
            .sources
            .push(format!("{source}: {}", format.as_str()));
    } else {
        builder.diagnostics.sources.push(format.as_str().to_string());
    }
    Ok(ReadSummary {
        format,
        spans_added: builder.span_count() - before_spans,
    })
}

/// Reads one document and assembles it.
pub fn read(bytes: &[u8], format: Option<Format>) -> Result<TraceSet, ReadError> {
    let mut builder = TraceSetBuilder::new();
    read_into(&mut builder, bytes, format, None)?;
    Ok(builder.finish())
}

/// Runs one reader. `Err` carries the reason the document is not of that format.
pub(crate) fn read_with(format: Format, bytes: &[u8], builder: &mut TraceSetBuilder) -> Result<(), String> {
    match format {
        Format::OtlpJson => otlp_json::read(bytes, builder),
        Format::OtlpProto => otlp_proto::read(bytes, builder),
        Format::JaegerJson => jaeger_json::read(bytes, builder),
        Format::ZipkinJson => zipkin_json::read(bytes, builder),
    }
}
