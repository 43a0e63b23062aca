//! The TraceQL parser: tokens (from `lexer`) to a [`Query`].
//!
//! Grammar (lowest precedence first):
//! ```text
//! query     := spansets ('|' stage)*
//! spansets  := andexpr ('||' andexpr)*
//! andexpr   := struct ('&&' struct)*
//! struct    := primary (('>' | '>>' | '<' | '<<' | '~') primary)*
//! primary   := '{' fieldexpr? '}' | '(' spansets ')'
//! fieldexpr := or of and of ['!'] (comparison | '(' fieldexpr ')' | true | false)
//! stage     := '{'...'}' | count() op value | avg|min|max|sum(field) op value
//!            | by(fields) | select(fields) | coalesce() | metrics function [by(fields)]
//! ```
//! Anything else is an error naming its position; known TraceQL features spanlens does not
//! support (arithmetic, `!>`, `&>>`, event/link scopes, `topk`, ...) say so. Not here:
//! evaluation.

use super::ast::*;
use super::lexer::{tokenize, Pos, Tok, Token};
use super::regex::Regex;
use super::ParseError;
use crate::model::{SpanKind, StatusCode};

/// Parses a whole query (search or metrics).
pub fn parse(src: &str) -> Result<Query, ParseError> {
    let tokens = tokenize(src)?;
    let mut p = Parser {
        tokens,
        i: 0,
        operators: 0,
    };
    let query = p.query()?;
    Ok(query)
}

/// Deepest nesting of parentheses and braces accepted (keeps recursion bounded).
const MAX_NESTING: u32 = 100;

/// Most binary operators in one query: evaluation recurses along operator chains, so a
/// 100k-long `&&` chain must be refused, not overflow the stack.
const MAX_OPERATORS: u32 = 512;

struct Parser {
    tokens: Vec<Token>,
    i: usize,
    /// Binary operators read so far.
    operators: u32,
}

fn error_at(pos: Pos, message: impl Into<String>) -> ParseError {
    ParseError {
        line: pos.line,
        col: pos.col,
        message: message.into(),
    }
}

const METRICS_FUNCS: &[&str] = &[
    "rate",
    "count_over_time",
    "quantile_over_time",
    "histogram_over_time",
    "sum_over_time",
    "min_over_time",
    "max_over_time",
    "avg_over_time",
];

/// TraceQL functions spanlens knows but does not support.
const UNSUPPORTED_FUNCS: &[&str] = &["topk", "bottomk", "compare", "stddev_over_time", "with"];

impl Parser {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.i).map(|t| &t.tok).unwrap_or(&Tok::End)
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        self.tokens
            .get(self.i + ahead)
            .map(|t| &t.tok)
            .unwrap_or(&Tok::End)
    }

    fn pos(&self) -> Pos {
        self.tokens
            .get(self.i)
            .or_else(|| self.tokens.last())
            .map(|t| t.pos)
            .unwrap_or_default()
    }

    /// Counts one binary operator (at the current token) against [`MAX_OPERATORS`].
    fn count_operator(&mut self) -> Result<(), ParseError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(error_at(
                self.pos(),
                format!("unsupported: query too complex (more than {MAX_OPERATORS} operators)"),
            ));
        }
        Ok(())
    }

    fn advance(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.i < self.tokens.len() {
            self.i += 1;
        }
        t
    }

    /// The error for the current token.
    fn unexpected(&self) -> ParseError {
        let tok = self.peek();
        let message = match tok {
            Tok::Other(s) if is_arith(s) => {
                format!("unsupported: arithmetic operator {s}")
            }
            Tok::Other(s) if s.starts_with('!') || s.starts_with('&') => {
                format!("unsupported: structural operator {s}")
            }
            other => format!("syntax error: unexpected {}", other.describe()),
        };
        error_at(self.pos(), message)
    }

    fn expect(&mut self, want: &Tok) -> Result<(), ParseError> {
        if self.peek() == want {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn query(&mut self) -> Result<Query, ParseError> {
        let expr = self.spansets(0)?;
        let mut stages = Vec::new();
        let mut metrics = None;
        while *self.peek() == Tok::Pipe {
            if metrics.is_some() {
                return Err(error_at(
                    self.pos(),
                    "unsupported: pipeline stages after a metrics function",
                ));
            }
            self.advance();
            match self.stage()? {
                StageOrMetrics::Stage(s) => stages.push(s),
                StageOrMetrics::Metrics(m) => metrics = Some(m),
            }
        }
        if *self.peek() != Tok::End {
            if let Tok::Ident(w) = self.peek() {
                if w == "with" {
                    return Err(error_at(self.pos(), "unsupported: query hints (with ...)"));
                }
            }
            return Err(self.unexpected());
        }
        Ok(Query {
            expr,
            stages,
            metrics,
        })
    }

    fn spansets(&mut self, depth: u32) -> Result<SpansetExpr, ParseError> {
        let mut left = self.spanset_and(depth)?;
        while *self.peek() == Tok::Or {
            self.count_operator()?;
            self.advance();
            let right = self.spanset_and(depth)?;
            left = SpansetExpr::Binary(SpansetOp::Or, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn spanset_and(&mut self, depth: u32) -> Result<SpansetExpr, ParseError> {
        let mut left = self.structural(depth)?;
        while *self.peek() == Tok::And {
            self.count_operator()?;
            self.advance();
            let right = self.structural(depth)?;
            left = SpansetExpr::Binary(SpansetOp::And, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn structural(&mut self, depth: u32) -> Result<SpansetExpr, ParseError> {
        let mut left = self.spanset_primary(depth)?;
        loop {
            let op = match self.peek() {
                Tok::Gt => SpansetOp::Child,
                Tok::Descendant => SpansetOp::Descendant,
                Tok::Lt => SpansetOp::Parent,
                Tok::Ancestor => SpansetOp::Ancestor,
                Tok::Tilde => SpansetOp::Sibling,
                Tok::Other(s) if s.starts_with('!') || s.starts_with('&') => {
                    return Err(self.unexpected());
                }
                _ => return Ok(left),
            };
            self.count_operator()?;
            self.advance();
            let right = self.spanset_primary(depth)?;
            left = SpansetExpr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn spanset_primary(&mut self, depth: u32) -> Result<SpansetExpr, ParseError> {
        if depth > MAX_NESTING {
            return Err(error_at(self.pos(), "syntax error: expression nests too deeply"));
        }
        match self.peek() {
            Tok::LBrace => {
                self.advance();
                if *self.peek() == Tok::RBrace {
                    self.advance();
                    return Ok(SpansetExpr::Filter(FieldExpr::All));
                }
                let e = self.field_or(depth + 1)?;
                self.expect(&Tok::RBrace)?;
                Ok(SpansetExpr::Filter(e))
            }
            Tok::LParen => {
                self.advance();
                let e = self.spansets(depth + 1)?;
                if *self.peek() == Tok::Pipe {
                    return Err(error_at(self.pos(), "unsupported: pipelines inside parentheses"));
                }
                self.expect(&Tok::RParen)?;
                Ok(e)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn field_or(&mut self, depth: u32) -> Result<FieldExpr, ParseError> {
        let mut left = self.field_and(depth)?;
        while *self.peek() == Tok::Or {
            self.count_operator()?;
            self.advance();
            let right = self.field_and(depth)?;
            left = FieldExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn field_and(&mut self, depth: u32) -> Result<FieldExpr, ParseError> {
        let mut left = self.field_unary(depth)?;
        while *self.peek() == Tok::And {
            self.count_operator()?;
            self.advance();
            let right = self.field_unary(depth)?;
            left = FieldExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn field_unary(&mut self, depth: u32) -> Result<FieldExpr, ParseError> {
        if depth > MAX_NESTING {
            return Err(error_at(self.pos(), "syntax error: expression nests too deeply"));
        }
        match self.peek() {
            Tok::Not => {
                self.advance();
                let inner = self.field_unary(depth + 1)?;
                Ok(FieldExpr::Not(Box::new(inner)))
            }
            Tok::LParen => {
                self.advance();
                let inner = self.field_or(depth + 1)?;
                self.expect(&Tok::RParen)?;
                Ok(inner)
            }
            _ => self.comparison(),
        }
    }

    fn comparison(&mut self) -> Result<FieldExpr, ParseError> {
        let lhs_pos = self.pos();
        let lhs = self.operand()?;
        let op = match self.peek() {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Match => CmpOp::Match,
            Tok::NotMatch => CmpOp::NotMatch,
            _ => {
                // A lone boolean literal is a filter of its own.
                return match lhs {
                    Operand::Static(Static::Bool(true)) => Ok(FieldExpr::All),
                    Operand::Static(Static::Bool(false)) => Ok(FieldExpr::Nothing),
                    _ => Err(self.unexpected()),
                };
            }
        };
        self.advance();
        let rhs_pos = self.pos();
        let rhs = self.operand()?;
        if let Tok::Other(s) = self.peek() {
            if is_arith(s) {
                return Err(self.unexpected());
            }
        }
        if matches!(lhs, Operand::Static(_)) && matches!(rhs, Operand::Static(_)) {
            return Err(error_at(
                lhs_pos,
                "unsupported: a comparison needs a field on one side",
            ));
        }
        let mut regex = None;
        if matches!(op, CmpOp::Match | CmpOp::NotMatch) {
            let (pattern, pos) = match (&lhs, &rhs) {
                (_, Operand::Static(Static::Str(s))) => (s, rhs_pos),
                (Operand::Static(Static::Str(s)), _) => (s, lhs_pos),
                _ => {
                    return Err(error_at(
                        rhs_pos,
                        format!("syntax error: {} needs a string pattern", op.symbol()),
                    ))
                }
            };
            match Regex::new(pattern) {
                Ok(r) => regex = Some(r),
                Err(e) => {
                    return Err(error_at(
                        pos,
                        format!("error parsing regexp: {} (at offset {})", e.message, e.offset),
                    ))
                }
            }
        }
        Ok(FieldExpr::Compare(Comparison { lhs, op, rhs, regex }))
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        let pos = self.pos();
        match self.peek().clone() {
            Tok::Field(f) => {
                self.advance();
                Ok(Operand::Field(f))
            }
            Tok::Ident(word) => {
                if let Some(i) = intrinsic(&word) {
                    self.advance();
                    return Ok(Operand::Field(FieldRef::Intrinsic(i)));
                }
                if let Some(s) = keyword_static(&word) {
                    self.advance();
                    return Ok(Operand::Static(s));
                }
                if matches!(self.peek_at(1), Tok::LParen) {
                    return Err(self.unexpected());
                }
                if matches!(
                    word.as_str(),
                    "event"
                        | "link"
                        | "instrumentation"
                        | "parent"
                        | "nestedSetLeft"
                        | "nestedSetRight"
                        | "nestedSetParent"
                        | "childCount"
                        | "traceID"
                        | "spanID"
                        | "parentID"
                ) {
                    return Err(error_at(pos, format!("unsupported: intrinsic {word}")));
                }
                Err(error_at(pos, format!("unknown identifier: {word}")))
            }
            Tok::Str(s) => {
                self.advance();
                Ok(Operand::Static(Static::Str(s)))
            }
            _ => self.number_static().map(Operand::Static),
        }
    }

    /// Integers, floats and durations, with an optional leading minus.
    fn number_static(&mut self) -> Result<Static, ParseError> {
        let negative = matches!(self.peek(), Tok::Other(s) if s == "-");
        if negative {
            if !matches!(self.peek_at(1), Tok::Int(_) | Tok::Float(_) | Tok::Duration(_)) {
                return Err(self.unexpected());
            }
            self.advance();
        }
        let value = match self.peek() {
            Tok::Int(v) => Static::Int(if negative { v.saturating_neg() } else { *v }),
            Tok::Float(v) => Static::Float(if negative { -*v } else { *v }),
            Tok::Duration(v) => Static::Duration(if negative { v.saturating_neg() } else { *v }),
            _ => return Err(self.unexpected()),
        };
        self.advance();
        Ok(value)
    }

    /// A static value in a scalar filter (`count() > 3`, `avg(duration) > 1s`).
    fn scalar_static(&mut self) -> Result<Static, ParseError> {
        self.number_static()
    }

    fn field(&mut self) -> Result<FieldRef, ParseError> {
        let pos = self.pos();
        match self.peek().clone() {
            Tok::Field(f) => {
                self.advance();
                Ok(f)
            }
            Tok::Ident(word) => match intrinsic(&word) {
                Some(i) => {
                    self.advance();
                    Ok(FieldRef::Intrinsic(i))
                }
                None => Err(error_at(pos, format!("unknown identifier: {word}"))),
            },
            _ => Err(self.unexpected()),
        }
    }

    fn field_list(&mut self) -> Result<Vec<FieldRef>, ParseError> {
        self.expect(&Tok::LParen)?;
        let mut fields = vec![self.field()?];
        while *self.peek() == Tok::Comma {
            self.advance();
            fields.push(self.field()?);
        }
        self.expect(&Tok::RParen)?;
        Ok(fields)
    }

    fn stage(&mut self) -> Result<StageOrMetrics, ParseError> {
        let pos = self.pos();
        let name = match self.peek().clone() {
            Tok::LBrace | Tok::LParen => {
                let e = self.spansets(0)?;
                return Ok(StageOrMetrics::Stage(Stage::Filter(e)));
            }
            Tok::Ident(name) => name,
            _ => return Err(self.unexpected()),
        };
        if *self.peek_at(1) != Tok::LParen {
            return Err(self.unexpected());
        }
        let agg = match name.as_str() {
            "count" => Some(AggFunc::Count),
            "avg" => Some(AggFunc::Avg),
            "min" => Some(AggFunc::Min),
            "max" => Some(AggFunc::Max),
            "sum" => Some(AggFunc::Sum),
            _ => None,
        };
        if let Some(func) = agg {
            self.advance();
            self.expect(&Tok::LParen)?;
            let field = if func == AggFunc::Count {
                None
            } else {
                Some(self.field()?)
            };
            self.expect(&Tok::RParen)?;
            let op = match self.peek() {
                Tok::Eq => CmpOp::Eq,
                Tok::Ne => CmpOp::Ne,
                Tok::Gt => CmpOp::Gt,
                Tok::Ge => CmpOp::Ge,
                Tok::Lt => CmpOp::Lt,
                Tok::Le => CmpOp::Le,
                _ => return Err(self.unexpected()),
            };
            self.advance();
            let value = self.scalar_static()?;
            if matches!(self.peek(), Tok::And | Tok::Or)
                || matches!(self.peek(), Tok::Other(s) if is_arith(s))
            {
                return Err(error_at(
                    self.pos(),
                    "unsupported: combined or arithmetic scalar filters",
                ));
            }
            return Ok(StageOrMetrics::Stage(Stage::Scalar(ScalarFilter {
                aggregate: Aggregate { func, field },
                op,
                value,
            })));
        }
        match name.as_str() {
            "by" => {
                self.advance();
                Ok(StageOrMetrics::Stage(Stage::By(self.field_list()?)))
            }
            "select" => {
                self.advance();
                Ok(StageOrMetrics::Stage(Stage::Select(self.field_list()?)))
            }
            "coalesce" => {
                self.advance();
                self.expect(&Tok::LParen)?;
                self.expect(&Tok::RParen)?;
                Ok(StageOrMetrics::Stage(Stage::Coalesce))
            }
            n if METRICS_FUNCS.contains(&n) => {
                self.advance();
                self.metrics(n).map(StageOrMetrics::Metrics)
            }
            n if UNSUPPORTED_FUNCS.contains(&n) => Err(error_at(pos, format!("unsupported: function {n}()"))),
            _ => Err(self.unexpected()),
        }
    }

    fn metrics(&mut self, name: &str) -> Result<MetricsStage, ParseError> {
        self.expect(&Tok::LParen)?;
        let func = match name {
            "rate" => MetricsFunc::Rate,
            "count_over_time" => MetricsFunc::CountOverTime,
            "quantile_over_time" => {
                let field = self.field()?;
                let mut quantiles = Vec::new();
                while *self.peek() == Tok::Comma {
                    self.advance();
                    let pos = self.pos();
                    let q = match self.advance() {
                        Tok::Float(f) => f,
                        Tok::Int(i) => i as f64,
                        _ => {
                            self.i = self.i.saturating_sub(1);
                            return Err(self.unexpected());
                        }
                    };
                    if !(0.0..=1.0).contains(&q) {
                        return Err(error_at(pos, "syntax error: quantile must be between 0 and 1"));
                    }
                    quantiles.push(q);
                }
                if quantiles.is_empty() {
                    return Err(self.unexpected());
                }
                MetricsFunc::QuantileOverTime { field, quantiles }
            }
            "histogram_over_time" => MetricsFunc::HistogramOverTime(self.field()?),
            "sum_over_time" => MetricsFunc::SumOverTime(self.field()?),
            "min_over_time" => MetricsFunc::MinOverTime(self.field()?),
            "max_over_time" => MetricsFunc::MaxOverTime(self.field()?),
            _ => MetricsFunc::AvgOverTime(self.field()?),
        };
        self.expect(&Tok::RParen)?;
        let mut by = Vec::new();
        if matches!(self.peek(), Tok::Ident(w) if w == "by") {
            self.advance();
            by = self.field_list()?;
        }
        Ok(MetricsStage { func, by })
    }
}

enum StageOrMetrics {
    Stage(Stage),
    Metrics(MetricsStage),
}

fn is_arith(s: &str) -> bool {
    matches!(s, "+" | "-" | "*" | "/" | "%" | "^")
}

/// Unscoped intrinsic names.
fn intrinsic(word: &str) -> Option<Intrinsic> {
    Some(match word {
        "name" => Intrinsic::Name,
        "status" => Intrinsic::Status,
        "statusMessage" => Intrinsic::StatusMessage,
        "kind" => Intrinsic::Kind,
        "duration" => Intrinsic::Duration,
        "rootName" => Intrinsic::RootName,
        "rootServiceName" => Intrinsic::RootServiceName,
        "traceDuration" => Intrinsic::TraceDuration,
        _ => return None,
    })
}

/// Keywords that are values.
fn keyword_static(word: &str) -> Option<Static> {
    Some(match word {
        "true" => Static::Bool(true),
        "false" => Static::Bool(false),
        "nil" => Static::Nil,
        "ok" => Static::Status(StatusCode::Ok),
        "error" => Static::Status(StatusCode::Error),
        "unset" => Static::Status(StatusCode::Unset),
        "server" => Static::Kind(SpanKind::Server),
        "client" => Static::Kind(SpanKind::Client),
        "producer" => Static::Kind(SpanKind::Producer),
        "consumer" => Static::Kind(SpanKind::Consumer),
        "internal" => Static::Kind(SpanKind::Internal),
        "unspecified" => Static::Kind(SpanKind::Unspecified),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_shapes() {
        let q = parse("{ .a = 1 } > { .b = 2 } && { .c = 3 } || { .d = 4 }").unwrap();
        // (((a > b) && c) || d)
        let SpansetExpr::Binary(SpansetOp::Or, left, _) = &q.expr else {
            panic!("{q:?}")
        };
        let SpansetExpr::Binary(SpansetOp::And, left, _) = left.as_ref() else {
            panic!("{q:?}")
        };
        assert!(matches!(
            left.as_ref(),
            SpansetExpr::Binary(SpansetOp::Child, _, _)
        ));
        let q = parse("{ .a = 1 || .b = 2 && .c = 3 }").unwrap();
        let SpansetExpr::Filter(FieldExpr::Or(_, right)) = &q.expr else {
            panic!("{q:?}")
        };
        assert!(matches!(right.as_ref(), FieldExpr::And(_, _)));
        let q = parse("{ 3 < .a }").unwrap();
        assert!(matches!(q.expr, SpansetExpr::Filter(FieldExpr::Compare(_))));
        let q = parse("{} | count() > 2 | by(.a) | select(.b) | coalesce()").unwrap();
        assert_eq!(q.stages.len(), 4);
        assert_eq!(
            q.mentioned_fields(),
            vec![
                FieldRef::Attr {
                    scope: AttrScope::Any,
                    name: "a".into()
                },
                FieldRef::Attr {
                    scope: AttrScope::Any,
                    name: "b".into()
                }
            ]
        );
    }
}
