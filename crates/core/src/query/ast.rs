//! The syntax tree of a parsed TraceQL query (the subset spanlens supports).
//!
//! A [`Query`] is a spanset expression (filters `{ ... }` combined with `&&`, `||` and the
//! structural operators) followed by pipeline [`Stage`]s, and optionally a final metrics stage
//! ([`MetricsStage`], AST only: the server evaluates metrics). Not here: parsing (see
//! `parser`) or evaluation (see `eval`). Spec: `design/analysis.md` §7.

use super::regex::Regex;
use crate::model::{SpanKind, StatusCode};
use serde::Serialize;

/// A whole query.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Query {
    /// The spanset expression before the first `|`.
    pub expr: SpansetExpr,
    /// Pipeline stages after it, in order.
    pub stages: Vec<Stage>,
    /// A final metrics function (`| rate()`), when this is a metrics query.
    pub metrics: Option<MetricsStage>,
}

impl Query {
    /// True when the query ends in a metrics function.
    pub fn is_metrics(&self) -> bool {
        self.metrics.is_some()
    }

    /// True when the query is one plain filter `{ ... }` with no pipeline.
    pub fn is_single_filter(&self) -> bool {
        matches!(self.expr, SpansetExpr::Filter(_)) && self.stages.is_empty() && self.metrics.is_none()
    }

    /// Every field the query mentions, in order of first mention, without repeats (filters,
    /// aggregates, `by`, `select`).
    pub fn mentioned_fields(&self) -> Vec<FieldRef> {
        let mut out = Vec::new();
        self.expr.collect_fields(&mut out);
        for stage in &self.stages {
            match stage {
                Stage::Filter(e) => e.collect_fields(&mut out),
                Stage::Scalar(s) => {
                    if let Some(f) = &s.aggregate.field {
                        push_unique(&mut out, f);
                    }
                }
                Stage::By(fields) | Stage::Select(fields) => {
                    for f in fields {
                        push_unique(&mut out, f);
                    }
                }
                Stage::Coalesce => {}
            }
        }
        out
    }
}

fn push_unique(out: &mut Vec<FieldRef>, f: &FieldRef) {
    if !out.contains(f) {
        out.push(f.clone());
    }
}

/// Operators between spanset expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SpansetOp {
    /// `&&`: both sides match; the spans of both.
    And,
    /// `||`: either side matches; the spans of both.
    Or,
    /// `>`: right-hand spans whose parent matches the left.
    Child,
    /// `>>`: right-hand spans with an ancestor matching the left.
    Descendant,
    /// `<`: right-hand spans with a child matching the left.
    Parent,
    /// `<<`: right-hand spans with a descendant matching the left.
    Ancestor,
    /// `~`: right-hand spans with a sibling matching the left.
    Sibling,
}

impl SpansetOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            SpansetOp::And => "&&",
            SpansetOp::Or => "||",
            SpansetOp::Child => ">",
            SpansetOp::Descendant => ">>",
            SpansetOp::Parent => "<",
            SpansetOp::Ancestor => "<<",
            SpansetOp::Sibling => "~",
        }
    }
}

/// A spanset expression.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum SpansetExpr {
    /// `{ ... }`; `{}` is [`FieldExpr::All`].
    Filter(FieldExpr),
    /// Two spanset expressions joined by an operator.
    Binary(SpansetOp, Box<SpansetExpr>, Box<SpansetExpr>),
}

impl SpansetExpr {
    fn collect_fields(&self, out: &mut Vec<FieldRef>) {
        match self {
            SpansetExpr::Filter(f) => f.collect_fields(out),
            SpansetExpr::Binary(_, a, b) => {
                a.collect_fields(out);
                b.collect_fields(out);
            }
        }
    }
}

/// A boolean expression over one span, inside `{ }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum FieldExpr {
    /// `{}` or `{ true }`: every span.
    All,
    /// `{ false }`: no span.
    Nothing,
    And(Box<FieldExpr>, Box<FieldExpr>),
    Or(Box<FieldExpr>, Box<FieldExpr>),
    Not(Box<FieldExpr>),
    Compare(Comparison),
}

impl FieldExpr {
    fn collect_fields(&self, out: &mut Vec<FieldRef>) {
        match self {
            FieldExpr::All | FieldExpr::Nothing => {}
            FieldExpr::And(a, b) | FieldExpr::Or(a, b) => {
                a.collect_fields(out);
                b.collect_fields(out);
            }
            FieldExpr::Not(a) => a.collect_fields(out),
            FieldExpr::Compare(c) => {
                for side in [&c.lhs, &c.rhs] {
                    if let Operand::Field(f) = side {
                        push_unique(out, f);
                    }
                }
            }
        }
    }
}

/// `lhs op rhs`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub lhs: Operand,
    pub op: CmpOp,
    pub rhs: Operand,
    /// For `=~` / `!~` with a literal pattern: the compiled pattern.
    #[serde(skip)]
    pub regex: Option<Regex>,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// `=~` (fully anchored).
    Match,
    /// `!~`.
    NotMatch,
}

impl CmpOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Match => "=~",
            CmpOp::NotMatch => "!~",
        }
    }

    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            other => other,
        }
    }
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Operand {
    Field(FieldRef),
    Static(Static),
}

/// A literal value.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Static {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Integer nanoseconds.
    Duration(i64),
    Nil,
    Status(StatusCode),
    Kind(SpanKind),
}

/// Span intrinsics (and trace-level ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Intrinsic {
    Name,
    Status,
    StatusMessage,
    Kind,
    Duration,
    RootName,
    RootServiceName,
    TraceDuration,
}

impl Intrinsic {
    /// The unscoped TraceQL spelling, used as the attribute key in results.
    pub fn name(self) -> &'static str {
        match self {
            Intrinsic::Name => "name",
            Intrinsic::Status => "status",
            Intrinsic::StatusMessage => "statusMessage",
            Intrinsic::Kind => "kind",
            Intrinsic::Duration => "duration",
            Intrinsic::RootName => "rootName",
            Intrinsic::RootServiceName => "rootServiceName",
            Intrinsic::TraceDuration => "traceDuration",
        }
    }
}

/// Where an attribute is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum AttrScope {
    /// `.x`: the span's attribute, else its resource's.
    Any,
    /// `span.x`.
    Span,
    /// `resource.x`.
    Resource,
}

/// A field: an intrinsic or an attribute.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum FieldRef {
    Intrinsic(Intrinsic),
    Attr { scope: AttrScope, name: String },
}

impl FieldRef {
    /// The field as it can be written back in a query (`resource.service.name`, `.x`, `name`).
    pub fn label(&self) -> String {
        match self {
            FieldRef::Intrinsic(i) => i.name().to_string(),
            FieldRef::Attr { scope, name } => {
                let quoted = if name.chars().all(is_plain_attr_char) && !name.is_empty() {
                    name.clone()
                } else {
                    format!("{name:?}")
                };
                match scope {
                    AttrScope::Any => format!(".{quoted}"),
                    AttrScope::Span => format!("span.{quoted}"),
                    AttrScope::Resource => format!("resource.{quoted}"),
                }
            }
        }
    }
}

/// Characters an attribute name may contain without quotes.
pub(crate) fn is_plain_attr_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | '@' | '#' | '$' | ':')
}

/// A pipeline stage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Stage {
    /// `| { ... }`: keeps the spans of each spanset that match.
    Filter(SpansetExpr),
    /// `| count() > 2`, `| avg(duration) > 1s`.
    Scalar(ScalarFilter),
    /// `| by(field, ...)`: splits each spanset by the fields' values.
    By(Vec<FieldRef>),
    /// `| select(field, ...)`: adds fields to the result spans.
    Select(Vec<FieldRef>),
    /// `| coalesce()`: merges all spansets into one.
    Coalesce,
}

/// Aggregate functions of scalar filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AggFunc {
    Count,
    Avg,
    Min,
    Max,
    Sum,
}

impl AggFunc {
    /// The function name.
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Sum => "sum",
        }
    }
}

/// `count()` or `avg(field)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Aggregate {
    pub func: AggFunc,
    pub field: Option<FieldRef>,
}

impl Aggregate {
    /// As written: `count()`, `avg(duration)` (the key Tempo gives the value in results).
    pub fn label(&self) -> String {
        match &self.field {
            Some(f) => format!("{}({})", self.func.name(), f.label()),
            None => format!("{}()", self.func.name()),
        }
    }
}

/// `aggregate op value`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScalarFilter {
    pub aggregate: Aggregate,
    pub op: CmpOp,
    pub value: Static,
}

/// Metrics functions (evaluated by the server).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum MetricsFunc {
    Rate,
    CountOverTime,
    /// `quantile_over_time(field, q1, q2, ...)`.
    QuantileOverTime {
        field: FieldRef,
        quantiles: Vec<f64>,
    },
    HistogramOverTime(FieldRef),
    SumOverTime(FieldRef),
    MinOverTime(FieldRef),
    MaxOverTime(FieldRef),
    AvgOverTime(FieldRef),
}

/// `| rate() by (field, ...)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricsStage {
    pub func: MetricsFunc,
    pub by: Vec<FieldRef>,
}
