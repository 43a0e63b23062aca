//! TraceQL (the subset in `design/analysis.md` §7): parsing, evaluation over a
//! [`crate::model::TraceSet`], and the Tempo-shaped search results.
//!
//! - [`parse`] / [`parse_search`] / [`parse_metrics`] / [`parse_single_filter`]: text to a
//!   [`Query`]; errors carry a 1-based line and column and read like Tempo's
//!   (`parse error at line 1, col 27: syntax error: unexpected }`).
//! - [`search`] / [`search_where`]: per trace, the matching spansets; [`matching_spans`] (the
//!   UI's in-trace filter and metrics input), [`keep_hierarchy`] (Tempo v2 trace-by-id `q=`
//!   with `keep_hierarchy=true`), [`field_value`] (metrics grouping).
//! - [`SearchResult::to_tempo_json`]: the `/api/search` response body.
//! - [`necessary_conditions`]: what every match of a query has, for a store's prefilter.
//!
//! Not here: metrics evaluation (the server does it from the [`MetricsStage`] AST), HTTP, I/O.
//! Regex matches (`=~`, `!~`) are fully anchored, as in Tempo; comparisons between mismatched
//! types (string vs number) never match and are not errors.

pub mod ast;
mod eval;
pub mod lexer;
mod parser;
pub mod prefilter;
pub mod regex;
mod result;

pub use ast::*;
pub use eval::{field_value, keep_hierarchy, matching_spans, search, search_where, SearchOptions};
pub use prefilter::{necessary_conditions, Atom, Prefilter};
pub use result::{
    format_duration, format_duration_nanos, ResultAttr, ResultValue, SearchResult, ServiceStats, SpanMatch,
    SpansetMatch, TempoSearchResponse, TempoSpanset, TempoTrace, TempoValue, TraceMatch, NO_ROOT_SERVICE,
};

use serde::Serialize;

/// A query that could not be parsed: where (1-based line and column, in characters) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("parse error at line {line}, col {col}: {message}")]
pub struct ParseError {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

/// Why a query cannot be used for what it was asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum QueryError {
    /// The text does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A metrics-only endpoint got a search query (Tempo: `not a metrics query`).
    #[error("not a metrics query")]
    NotMetrics,
    /// Tempo v2 trace-by-id `q=` got more than one plain filter.
    #[error("only a single TraceQL filter is supported: got a structural or aggregate query")]
    NotSingleFilter,
}

/// Parses any supported query, search or metrics.
pub fn parse(src: &str) -> Result<Query, ParseError> {
    parser::parse(src)
}

/// Parses a search query: a metrics function (`| rate()`) is an error at its position.
pub fn parse_search(src: &str) -> Result<Query, ParseError> {
    let query = parser::parse(src)?;
    if query.metrics.is_some() {
        let pos = metrics_position(src);
        return Err(ParseError {
            line: pos.0,
            col: pos.1,
            message: "unsupported: metrics functions are not allowed in a search query".into(),
        });
    }
    Ok(query)
}

/// Parses a metrics query (`{...} | rate() by (...)`); a plain search is
/// [`QueryError::NotMetrics`].
pub fn parse_metrics(src: &str) -> Result<Query, QueryError> {
    let query = parser::parse(src)?;
    if query.metrics.is_none() {
        return Err(QueryError::NotMetrics);
    }
    Ok(query)
}

/// True when `src` parses and ends in a metrics function.
pub fn is_metrics_query(src: &str) -> bool {
    parser::parse(src).is_ok_and(|q| q.is_metrics())
}

/// Parses the `q=` of Tempo's v2 trace-by-id: exactly one `{ ... }` filter.
pub fn parse_single_filter(src: &str) -> Result<Query, QueryError> {
    let query = parser::parse(src)?;
    if !query.is_single_filter() {
        return Err(QueryError::NotSingleFilter);
    }
    Ok(query)
}

/// Parses a scoped attribute or intrinsic name on its own (`resource.service.name`, `status`),
/// as Tempo's v2 tag-values endpoint does; `service.name` fails with `unknown identifier:
/// service` at column 2 (the name is read as if written inside `{`).
pub fn parse_field_name(name: &str) -> Result<FieldRef, ParseError> {
    let wrapped = format!("{{{name}}}");
    let tokens = lexer::tokenize(&wrapped)?;
    match tokens.as_slice() {
        [_, t, end, last] if end.tok == lexer::Tok::RBrace && last.tok == lexer::Tok::End => match &t.tok {
            lexer::Tok::Field(f) => Ok(f.clone()),
            lexer::Tok::Ident(w) => match parser_intrinsic(w) {
                Some(i) => Ok(FieldRef::Intrinsic(i)),
                None => Err(ParseError {
                    line: t.pos.line,
                    col: t.pos.col,
                    message: format!("unknown identifier: {w}"),
                }),
            },
            other => Err(ParseError {
                line: t.pos.line,
                col: t.pos.col,
                message: format!("syntax error: unexpected {}", other.describe()),
            }),
        },
        _ => Err(ParseError {
            line: 1,
            col: 2,
            message: format!("invalid field name {name:?}"),
        }),
    }
}

fn parser_intrinsic(word: &str) -> Option<Intrinsic> {
    // Reuse the parser's table through a one-filter query.
    let q = parser::parse(&format!("{{ {word} = nil }}")).ok()?;
    match q.expr {
        SpansetExpr::Filter(FieldExpr::Compare(Comparison {
            lhs: Operand::Field(FieldRef::Intrinsic(i)),
            ..
        })) => Some(i),
        _ => None,
    }
}

/// Line and column of the `|` that starts the metrics stage (the last top-level `|`).
fn metrics_position(src: &str) -> (u32, u32) {
    let Ok(tokens) = lexer::tokenize(src) else {
        return (1, 1);
    };
    let mut found = (1, 1);
    for pair in tokens.windows(2) {
        if let [a, b] = pair {
            if a.tok == lexer::Tok::Pipe {
                found = (b.pos.line, b.pos.col);
            }
        }
    }
    found
}
