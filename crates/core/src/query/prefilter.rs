//! Necessary conditions of a search query: facts every matching trace has, which a store can
//! check from its per-trace indexes before loading any span.
//!
//! [`necessary_conditions`] reads the [`Query`] AST and returns a [`Prefilter`]: a conjunction
//! of clauses, each a disjunction of [`Atom`]s ("some span is named `x`", "some span is an
//! error", "the trace lasts at least 400ms", ...). A trace the evaluator matches satisfies every
//! clause; a trace satisfying them may still not match, so the exact evaluator must run on the
//! survivors. Only conditions that are implied for sure are produced: equality with a string
//! literal, `status = error`, and lower bounds on durations; negations, `!=`, regexes,
//! comparisons between fields, scalar filters and anything under `!` give nothing.
//!
//! Not here: resolving atoms against an index (the store does that, and treats an atom it cannot
//! answer as true) or evaluation.

use super::ast::*;
use crate::model::StatusCode;

/// One fact about a trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom {
    /// Some span has this name (span names are always strings).
    SpanName(String),
    /// Some span (`scope` Span), some span's resource (Resource), or either (Any) has the
    /// attribute `key` equal to the string `value`, or an array containing that string.
    Attr {
        scope: AttrScope,
        key: String,
        value: String,
    },
    /// Some span has status error.
    Error,
    /// The trace's duration (latest span end minus earliest span start) is at least this.
    MinTraceDuration(u64),
}

/// A conjunction of clauses; each clause is a disjunction of atoms. No clauses: every trace
/// may match. An empty clause: no trace matches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prefilter {
    pub clauses: Vec<Vec<Atom>>,
}

/// At most this many clauses are kept from a disjunction's cross product (dropping clauses
/// only weakens the filter, so it stays correct).
const MAX_CLAUSES: usize = 16;
/// At most this many atoms per clause.
const MAX_ATOMS: usize = 16;

impl Prefilter {
    /// True when the prefilter excludes nothing.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// True when no trace can match (an empty clause).
    pub fn is_unsatisfiable(&self) -> bool {
        self.clauses.iter().any(Vec::is_empty)
    }

    fn nothing() -> Prefilter {
        Prefilter {
            clauses: vec![Vec::new()],
        }
    }

    fn atom(atom: Atom) -> Prefilter {
        Prefilter {
            clauses: vec![vec![atom]],
        }
    }

    /// Both hold.
    fn and(mut self, other: Prefilter) -> Prefilter {
        for clause in other.clauses {
            if !self.clauses.contains(&clause) {
                self.clauses.push(clause);
            }
        }
        self.normalize()
    }

    /// At least one holds: the cross product of the clauses. True (no clauses) on either side
    /// makes the whole true.
    fn or(self, other: Prefilter) -> Prefilter {
        let mut clauses = Vec::new();
        for a in &self.clauses {
            for b in &other.clauses {
                let mut c = a.clone();
                for atom in b {
                    if !c.contains(atom) {
                        c.push(atom.clone());
                    }
                }
                if c.len() <= MAX_ATOMS && !clauses.contains(&c) {
                    clauses.push(c);
                }
            }
        }
        Prefilter { clauses }.normalize()
    }

    fn normalize(mut self) -> Prefilter {
        for c in &mut self.clauses {
            c.sort();
            c.dedup();
        }
        self.clauses.sort();
        self.clauses.dedup();
        if self.is_unsatisfiable() {
            return Prefilter::nothing();
        }
        self.clauses.truncate(MAX_CLAUSES);
        self
    }
}

/// The necessary conditions of `query` (see the module doc).
pub fn necessary_conditions(query: &Query) -> Prefilter {
    let mut out = spanset(&query.expr);
    for stage in &query.stages {
        // A pipeline filter keeps only spans its expression selects: it must select some.
        if let Stage::Filter(expr) = stage {
            out = out.and(spanset(expr));
        }
    }
    out
}

fn spanset(expr: &SpansetExpr) -> Prefilter {
    match expr {
        SpansetExpr::Filter(f) => field(f),
        SpansetExpr::Binary(SpansetOp::Or, a, b) => spanset(a).or(spanset(b)),
        // `&&` needs both sides; the structural operators keep right-hand spans related to
        // left-hand ones, so both sides must select something too.
        SpansetExpr::Binary(_, a, b) => spanset(a).and(spanset(b)),
    }
}

/// What one span satisfying `f` implies about its trace.
fn field(f: &FieldExpr) -> Prefilter {
    match f {
        FieldExpr::All | FieldExpr::Not(_) => Prefilter::default(),
        FieldExpr::Nothing => Prefilter::nothing(),
        FieldExpr::And(a, b) => field(a).and(field(b)),
        FieldExpr::Or(a, b) => field(a).or(field(b)),
        FieldExpr::Compare(c) => compare(c).map(Prefilter::atom).unwrap_or_default(),
    }
}

fn compare(c: &Comparison) -> Option<Atom> {
    // Field on the left, as the evaluator does.
    let (field, op, value) = match (&c.lhs, &c.rhs) {
        (Operand::Field(f), Operand::Static(s)) => (f, c.op, s),
        (Operand::Static(s), Operand::Field(f)) => (f, c.op.flipped(), s),
        _ => return None,
    };
    match (field, op, value) {
        (FieldRef::Intrinsic(Intrinsic::Name | Intrinsic::RootName), CmpOp::Eq, Static::Str(s)) => {
            Some(Atom::SpanName(s.clone()))
        }
        (FieldRef::Intrinsic(Intrinsic::Status), CmpOp::Eq, Static::Status(StatusCode::Error)) => {
            Some(Atom::Error)
        }
        // A span lasting at least d, or a trace lasting at least d: the trace lasts at least d.
        (
            FieldRef::Intrinsic(Intrinsic::Duration | Intrinsic::TraceDuration),
            CmpOp::Gt | CmpOp::Ge | CmpOp::Eq,
            Static::Duration(d) | Static::Int(d),
        ) => u64::try_from(*d)
            .ok()
            .filter(|d| *d > 0)
            .map(Atom::MinTraceDuration),
        (FieldRef::Attr { scope, name }, CmpOp::Eq, Static::Str(s)) => Some(Atom::Attr {
            scope: *scope,
            key: name.clone(),
            value: s.clone(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_search;

    fn pre(q: &str) -> Prefilter {
        necessary_conditions(&parse_search(q).unwrap())
    }

    fn name(s: &str) -> Atom {
        Atom::SpanName(s.to_string())
    }

    fn attr(scope: AttrScope, k: &str, v: &str) -> Atom {
        Atom::Attr {
            scope,
            key: k.to_string(),
            value: v.to_string(),
        }
    }

    #[test]
    fn conjunctions_give_each_condition() {
        let p = pre(r#"{ name = "a" && status = error }"#);
        assert_eq!(p.clauses, vec![vec![name("a")], vec![Atom::Error]]);
        let p = pre(r#"{ resource.service.name = "x" } && { span.k = "v" }"#);
        assert_eq!(
            p.clauses,
            vec![
                vec![attr(AttrScope::Span, "k", "v")],
                vec![attr(AttrScope::Resource, "service.name", "x")],
            ]
        );
    }

    #[test]
    fn disjunctions_need_both_sides() {
        let p = pre(r#"{ name = "a" || name = "b" }"#);
        assert_eq!(p.clauses, vec![vec![name("a"), name("b")]]);
        assert!(pre(r#"{ name = "a" || .x != "b" }"#).is_empty());
        let p = pre(r#"{ name = "a" } || { status = error && .k = "v" }"#);
        assert_eq!(
            p.clauses,
            vec![
                vec![name("a"), attr(AttrScope::Any, "k", "v")],
                vec![name("a"), Atom::Error],
            ]
        );
    }

    #[test]
    fn negations_and_inexact_comparisons_give_nothing() {
        for q in [
            r#"{ !(name = "a") }"#,
            r#"{ name != "a" }"#,
            r#"{ name =~ "a.*" }"#,
            r#"{ .x !~ "a" }"#,
            r#"{ status != ok }"#,
            r#"{ status = ok }"#,
            r#"{ duration < 10ms }"#,
            r#"{ traceDuration < 10ms }"#,
            r#"{ .n = 3 }"#,
            r#"{ .x = nil }"#,
            r#"{ }"#,
        ] {
            assert!(pre(q).is_empty(), "{q}");
        }
    }

    #[test]
    fn durations_bound_the_trace_from_below() {
        assert_eq!(
            pre("{ duration > 400ms }").clauses,
            vec![vec![Atom::MinTraceDuration(400_000_000)]]
        );
        assert_eq!(
            pre("{ 2s <= traceDuration }").clauses,
            vec![vec![Atom::MinTraceDuration(2_000_000_000)]]
        );
    }

    #[test]
    fn structural_operators_and_pipelines_need_both_sides() {
        for op in [">>", ">", "<", "<<", "~", "&&"] {
            let p = pre(&format!(r#"{{ name = "a" }} {op} {{ name = "b" }}"#));
            assert_eq!(p.clauses, vec![vec![name("a")], vec![name("b")]], "{op}");
        }
        let p = pre(r#"{ name = "a" } | { status = error } | count() > 2"#);
        assert_eq!(p.clauses, vec![vec![name("a")], vec![Atom::Error]]);
    }

    #[test]
    fn false_matches_nothing() {
        assert!(pre("{ false }").is_unsatisfiable());
        assert!(pre(r#"{ false } && { name = "a" }"#).is_unsatisfiable());
        assert_eq!(
            pre(r#"{ false } || { name = "a" }"#).clauses,
            vec![vec![name("a")]]
        );
    }
}
