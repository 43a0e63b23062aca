//! Categories, targets and A–F grades (`shared/design/analysis.md` §4): the built-in rules, the
//! rules file (TOML or JSON) that overrides them, and the grading arithmetic.
//!
//! Decisions written down here:
//! - A category has an ordered list of **matchers**; a span matches a matcher when every
//!   condition the matcher states holds; a span gets the first category (in rule order) with a
//!   matching matcher, else the fallback (`Internal`, graded with the API table). An operation
//!   (service + span name) gets the first category matched by **any** of its spans.
//! - Name conditions (`name_prefix`, `name_op`, `name_contains`) compare ASCII
//!   case-insensitively; `equals` compares attribute value text ASCII case-insensitively.
//!   `name_op` = the name equals the word or starts with the word followed by a space.
//! - Grades: p95 < A → A, < B → B, < C → C, < D → D, else F (upper bounds exclusive).
//!   Request classes of one span: < A → Fast, < C → Medium (`Normal` for AI), else Slow.
//! - Service grade: call-weighted mean of operation grade points (A=4 … F=0), rounded half up.
//!
//! Rules file (TOML shown; JSON has the same shape):
//! ```toml
//! defaults = true            # keep the built-in categories (default true)
//! [[category]]
//! name = "Cache"             # a new name is inserted before the built-ins (first match wins);
//!                            # a built-in name updates that category in place
//! grade_as = "Database"      # optional: start from that category's thresholds (else API)
//! thresholds = { a = "5ms", b = "10ms", c = "25ms", d = "50ms", target = "5ms", alert = "10ms", critical = "25ms" }
//! [[category.match]]         # any matcher may match; all conditions of one matcher must hold
//! attr_prefix = ["cache."]   # also: attr, equals, name_prefix, name_op, name_contains, kind, root
//! [fallback]                 # optional: the everything-else category
//! name = "Internal"
//! ```
//! Durations are strings with a unit (`ns`, `us`, `ms`, `s`, `m`, `h`; decimals allowed).
//! Errors carry the line (and column) of the offending text.
//!
//! Not here: statistics (see `stats`), bottleneck rules (see `bottlenecks`).

use crate::model::{Span, SpanKind, StrId, TraceSet, Value};
use serde::{Deserialize, Deserializer, Serialize};

/// Milliseconds in nanoseconds.
const MS: u64 = 1_000_000;
/// Seconds in nanoseconds.
const S: u64 = 1_000_000_000;

/// At most this many matchers over all categories (they are tracked as bits of a `u64`, the
/// all-ones value meaning "not computed yet").
pub const MAX_MATCHERS: usize = 63;

/// A letter grade. Ordered best to worst, so `max` is the worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Grade {
    A,
    B,
    C,
    D,
    F,
}

impl Grade {
    /// The letter, as reports and APIs print it.
    pub fn letter(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
            Grade::F => "F",
        }
    }

    /// Grade points: A = 4 … F = 0.
    pub fn points(self) -> u32 {
        match self {
            Grade::A => 4,
            Grade::B => 3,
            Grade::C => 2,
            Grade::D => 1,
            Grade::F => 0,
        }
    }

    /// The letter of a mean of grade points, rounded half up (3.5 → A), clamped to 0..=4.
    pub fn from_mean_points(mean: f64) -> Grade {
        let rounded = if mean.is_finite() {
            (mean + 0.5).floor()
        } else {
            0.0
        };
        match rounded as i64 {
            i64::MIN..=0 => Grade::F,
            1 => Grade::D,
            2 => Grade::C,
            3 => Grade::B,
            _ => Grade::A,
        }
    }
}

/// Speed class of a single span (the badge in the UI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RequestClass {
    Fast,
    /// Shown as the category's `middle_label` (`Medium`, or `Normal` for AI).
    Medium,
    Slow,
}

/// Grade bounds and targets of a category, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    pub a_nanos: u64,
    pub b_nanos: u64,
    pub c_nanos: u64,
    pub d_nanos: u64,
    pub target_nanos: u64,
    /// A p95 strictly above this is an alert.
    pub alert_nanos: u64,
    /// A p95 strictly above this is critical.
    pub critical_nanos: u64,
}

impl Thresholds {
    /// Letter of a duration (upper bounds exclusive).
    pub fn grade(&self, nanos: u64) -> Grade {
        if nanos < self.a_nanos {
            Grade::A
        } else if nanos < self.b_nanos {
            Grade::B
        } else if nanos < self.c_nanos {
            Grade::C
        } else if nanos < self.d_nanos {
            Grade::D
        } else {
            Grade::F
        }
    }

    /// Request class of one span: below A is fast, below C medium, else slow.
    pub fn class(&self, nanos: u64) -> RequestClass {
        if nanos < self.a_nanos {
            RequestClass::Fast
        } else if nanos < self.c_nanos {
            RequestClass::Medium
        } else {
            RequestClass::Slow
        }
    }

    /// The API table (also the default for Internal).
    pub const API: Thresholds = Thresholds {
        a_nanos: 200 * MS,
        b_nanos: 500 * MS,
        c_nanos: S,
        d_nanos: 2 * S,
        target_nanos: 200 * MS,
        alert_nanos: S,
        critical_nanos: 2 * S,
    };
    /// The AI table.
    pub const AI: Thresholds = Thresholds {
        a_nanos: 2 * S,
        b_nanos: 5 * S,
        c_nanos: 10 * S,
        d_nanos: 20 * S,
        target_nanos: 2 * S,
        alert_nanos: 5 * S,
        critical_nanos: 10 * S,
    };
    /// The Memory table.
    pub const MEMORY: Thresholds = Thresholds {
        a_nanos: 50 * MS,
        b_nanos: 100 * MS,
        c_nanos: 200 * MS,
        d_nanos: 500 * MS,
        target_nanos: 50 * MS,
        alert_nanos: 50 * MS,
        critical_nanos: 100 * MS,
    };
    /// The Database table.
    pub const DATABASE: Thresholds = Thresholds {
        a_nanos: 100 * MS,
        b_nanos: 250 * MS,
        c_nanos: 500 * MS,
        d_nanos: S,
        target_nanos: 100 * MS,
        alert_nanos: 200 * MS,
        critical_nanos: 500 * MS,
    };
}

/// One way a span can belong to a category. Every condition given must hold; within a list,
/// any element may match. A matcher must state at least one condition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Matcher {
    /// A span attribute with one of these exact keys is present.
    #[serde(deserialize_with = "one_or_many")]
    pub attr: Vec<String>,
    /// A span attribute whose key starts with one of these is present (or-ed with `attr`).
    #[serde(deserialize_with = "one_or_many")]
    pub attr_prefix: Vec<String>,
    /// With `attr`/`attr_prefix`: the matching attribute's value text is one of these.
    #[serde(deserialize_with = "one_or_many")]
    pub equals: Vec<String>,
    /// The span name starts with one of these.
    #[serde(deserialize_with = "one_or_many")]
    pub name_prefix: Vec<String>,
    /// The span name is one of these words, or starts with one followed by a space.
    #[serde(deserialize_with = "one_or_many")]
    pub name_op: Vec<String>,
    /// The span name contains one of these.
    #[serde(deserialize_with = "one_or_many")]
    pub name_contains: Vec<String>,
    /// The span has this kind.
    #[serde(deserialize_with = "opt_kind", serialize_with = "ser_opt_kind")]
    pub kind: Option<SpanKind>,
    /// The span is (or is not) a root.
    pub root: Option<bool>,
}

impl Matcher {
    fn has_key_part(&self) -> bool {
        !self.attr.is_empty() || !self.attr_prefix.is_empty()
    }
    fn has_name_part(&self) -> bool {
        !self.name_prefix.is_empty() || !self.name_op.is_empty() || !self.name_contains.is_empty()
    }
    fn is_empty(&self) -> bool {
        !self.has_key_part() && !self.has_name_part() && self.kind.is_none() && self.root.is_none()
    }
    fn key_matches(&self, key: &str) -> bool {
        self.attr.iter().any(|a| a == key) || self.attr_prefix.iter().any(|p| key.starts_with(p.as_str()))
    }
    /// `lower` is the span name in ASCII lower case.
    fn name_matches(&self, lower: &str) -> bool {
        if !self.has_name_part() {
            return true;
        }
        let lc = |s: &String| s.to_ascii_lowercase();
        self.name_prefix.iter().any(|p| lower.starts_with(lc(p).as_str()))
            || self.name_op.iter().any(|w| {
                let w = lc(w);
                lower == w
                    || lower
                        .strip_prefix(w.as_str())
                        .is_some_and(|rest| rest.starts_with(' '))
            })
            || self.name_contains.iter().any(|c| lower.contains(lc(c).as_str()))
    }
}

/// A category with its matchers and thresholds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub name: String,
    pub thresholds: Thresholds,
    pub matchers: Vec<Matcher>,
    /// Label of [`RequestClass::Medium`] for this category (`Medium`, `Normal` for AI).
    pub middle_label: String,
}

/// The full rule set: categories in priority order, and the fallback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub categories: Vec<Category>,
    pub fallback: Category,
}

/// Why a rules file was refused. `line`/`column` are 1-based; 0 when unknown.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("rules file line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("rules file line {line}: category \"{category}\": {message}")]
    Invalid {
        line: usize,
        category: String,
        message: String,
    },
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn category(name: &str, thresholds: Thresholds, matchers: Vec<Matcher>) -> Category {
    Category {
        name: name.to_string(),
        thresholds,
        matchers,
        middle_label: "Medium".to_string(),
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules::builtin()
    }
}

impl Rules {
    /// The built-in rules of §4.
    pub fn builtin() -> Rules {
        let vector_dbs = strs(&["qdrant", "weaviate", "pinecone", "milvus", "chroma", "pgvector"]);
        let mut ai = category(
            "AI",
            Thresholds::AI,
            vec![
                Matcher {
                    attr_prefix: strs(&["gen_ai.", "llm."]),
                    ..Default::default()
                },
                Matcher {
                    name_op: strs(&[
                        "chat",
                        "embeddings",
                        "text_completion",
                        "generate_content",
                        "execute_tool",
                        "invoke_agent",
                        "create_agent",
                    ]),
                    name_contains: strs(&["llm", "embedding", "inference", "/completions", "/embeddings"]),
                    ..Default::default()
                },
            ],
        );
        ai.middle_label = "Normal".to_string();
        let memory = category(
            "Memory",
            Thresholds::MEMORY,
            vec![
                Matcher {
                    attr_prefix: strs(&["vector_store.", "memory.", "db.vector."]),
                    ..Default::default()
                },
                Matcher {
                    attr: strs(&["db.system", "db.system.name"]),
                    equals: vector_dbs,
                    ..Default::default()
                },
                Matcher {
                    name_prefix: strs(&["memory.", "vector_store."]),
                    ..Default::default()
                },
            ],
        );
        let database = category(
            "Database",
            Thresholds::DATABASE,
            vec![Matcher {
                attr: strs(&[
                    "db.system",
                    "db.system.name",
                    "db.namespace",
                    "db.name",
                    "db.statement",
                    "db.query.text",
                ]),
                attr_prefix: strs(&["db.operation"]),
                ..Default::default()
            }],
        );
        let api = category(
            "API",
            Thresholds::API,
            vec![
                Matcher {
                    kind: Some(SpanKind::Server),
                    ..Default::default()
                },
                Matcher {
                    attr_prefix: strs(&["http.", "url.", "rpc."]),
                    ..Default::default()
                },
                Matcher {
                    root: Some(true),
                    ..Default::default()
                },
            ],
        );
        Rules {
            categories: vec![ai, memory, database, api],
            fallback: category("Internal", Thresholds::API, Vec::new()),
        }
    }

    /// Reads a TOML rules file (see the module docs).
    pub fn from_toml_str(text: &str) -> Result<Rules, RulesError> {
        let file: RulesFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|r| line_col(text, r.start)).unwrap_or((0, 0));
            RulesError::Syntax {
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        Rules::from_file(file, text)
    }

    /// Reads a JSON rules file (same shape as TOML).
    pub fn from_json_str(text: &str) -> Result<Rules, RulesError> {
        let file: RulesFile = serde_json::from_str(text).map_err(|e| RulesError::Syntax {
            line: e.line(),
            column: e.column(),
            message: strip_json_position(&e.to_string()),
        })?;
        Rules::from_file(file, text)
    }

    fn from_file(file: RulesFile, text: &str) -> Result<Rules, RulesError> {
        let builtin = Rules::builtin();
        let mut rules = if file.defaults {
            builtin.clone()
        } else {
            Rules {
                categories: Vec::new(),
                fallback: builtin.fallback.clone(),
            }
        };
        let mut inserted = 0usize;
        for fc in file.category {
            let line = find_line(text, &fc.name);
            let invalid = |message: String| RulesError::Invalid {
                line,
                category: fc.name.clone(),
                message,
            };
            if fc.name.trim().is_empty() {
                return Err(invalid("a category needs a non-empty name".to_string()));
            }
            let existing = rules.categories.iter().position(|c| c.name == fc.name);
            let base = match &fc.grade_as {
                Some(g) => Some(
                    lookup_thresholds(&rules, &builtin, g)
                        .ok_or_else(|| invalid(format!("grade_as names an unknown category \"{g}\"")))?,
                ),
                None => None,
            };
            let start = base
                .or_else(|| {
                    existing
                        .and_then(|i| rules.categories.get(i))
                        .map(|c| c.thresholds)
                })
                .unwrap_or(Thresholds::API);
            let thresholds = fc.thresholds.apply(start);
            check_thresholds(&thresholds).map_err(invalid)?;
            if let Some(i) = fc
                .matchers
                .iter()
                .position(|m| !m.equals.is_empty() && !m.has_key_part())
            {
                return Err(invalid(format!(
                    "match #{}: `equals` needs `attr` or `attr_prefix`",
                    i + 1
                )));
            }
            if let Some(i) = fc.matchers.iter().position(Matcher::is_empty) {
                return Err(invalid(format!("match #{} states no condition", i + 1)));
            }
            match existing.and_then(|i| rules.categories.get_mut(i)) {
                Some(c) => {
                    c.thresholds = thresholds;
                    if !fc.matchers.is_empty() {
                        c.matchers = fc.matchers;
                    }
                    if let Some(l) = fc.middle_label {
                        c.middle_label = l;
                    }
                }
                None => {
                    if fc.matchers.is_empty() {
                        return Err(invalid(
                            "a new category needs at least one [[category.match]]".to_string(),
                        ));
                    }
                    let c = Category {
                        name: fc.name.clone(),
                        thresholds,
                        matchers: fc.matchers,
                        middle_label: fc.middle_label.unwrap_or_else(|| "Medium".to_string()),
                    };
                    rules.categories.insert(inserted.min(rules.categories.len()), c);
                    inserted += 1;
                }
            }
        }
        if let Some(fb) = file.fallback {
            let name = fb.name.unwrap_or_else(|| rules.fallback.name.clone());
            let line = find_line(text, &name);
            let start = match &fb.grade_as {
                Some(g) => lookup_thresholds(&rules, &builtin, g).ok_or_else(|| RulesError::Invalid {
                    line,
                    category: name.clone(),
                    message: format!("grade_as names an unknown category \"{g}\""),
                })?,
                None => rules.fallback.thresholds,
            };
            let thresholds = fb.thresholds.apply(start);
            check_thresholds(&thresholds).map_err(|message| RulesError::Invalid {
                line,
                category: name.clone(),
                message,
            })?;
            rules.fallback = Category {
                name,
                thresholds,
                matchers: Vec::new(),
                middle_label: fb
                    .middle_label
                    .unwrap_or_else(|| rules.fallback.middle_label.clone()),
            };
        }
        let total: usize = rules.categories.iter().map(|c| c.matchers.len()).sum();
        if total > MAX_MATCHERS {
            return Err(RulesError::Invalid {
                line: 0,
                category: String::new(),
                message: format!("{total} matchers in all; at most {MAX_MATCHERS} are supported"),
            });
        }
        Ok(rules)
    }

    /// Number of categories including the fallback (the fallback's index is
    /// `categories.len()`).
    pub fn category_count(&self) -> usize {
        self.categories.len() + 1
    }

    /// A category by index; out of range gives the fallback.
    pub fn category(&self, index: usize) -> &Category {
        self.categories.get(index).unwrap_or(&self.fallback)
    }

    /// The label of a request class in a category.
    pub fn class_label(&self, category: usize, class: RequestClass) -> &str {
        match class {
            RequestClass::Fast => "Fast",
            RequestClass::Medium => self.category(category).middle_label.as_str(),
            RequestClass::Slow => "Slow",
        }
    }
}

fn lookup_thresholds(rules: &Rules, builtin: &Rules, name: &str) -> Option<Thresholds> {
    rules
        .categories
        .iter()
        .chain(builtin.categories.iter())
        .chain(std::iter::once(&rules.fallback))
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .map(|c| c.thresholds)
}

fn check_thresholds(t: &Thresholds) -> Result<(), String> {
    if !(t.a_nanos <= t.b_nanos && t.b_nanos <= t.c_nanos && t.c_nanos <= t.d_nanos) {
        return Err("grade bounds must grow: a <= b <= c <= d".to_string());
    }
    if t.alert_nanos > t.critical_nanos {
        return Err("alert must not exceed critical".to_string());
    }
    if t.target_nanos == 0 {
        return Err("target must be above zero".to_string());
    }
    Ok(())
}

/// 1-based (line, column) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

/// Line of the first `"name"` in the text (where a category is declared), 0 when absent.
fn find_line(text: &str, name: &str) -> usize {
    let quoted = format!("\"{name}\"");
    text.find(&quoted).map(|o| line_col(text, o).0).unwrap_or(0)
}

fn strip_json_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg.get(..i).unwrap_or(msg).to_string(),
        None => msg.to_string(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default = "yes")]
    defaults: bool,
    #[serde(default)]
    category: Vec<FileCategory>,
    #[serde(default)]
    fallback: Option<FileFallback>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCategory {
    name: String,
    #[serde(default)]
    grade_as: Option<String>,
    #[serde(default)]
    thresholds: FileThresholds,
    #[serde(default, rename = "match")]
    matchers: Vec<Matcher>,
    #[serde(default)]
    middle_label: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFallback {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    grade_as: Option<String>,
    #[serde(default)]
    thresholds: FileThresholds,
    #[serde(default)]
    middle_label: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct FileThresholds {
    #[serde(deserialize_with = "opt_duration")]
    a: Option<u64>,
    #[serde(deserialize_with = "opt_duration")]
    b: Option<u64>,
    #[serde(deserialize_with = "opt_duration")]
    c: Option<u64>,
    #[serde(deserialize_with = "opt_duration")]
    d: Option<u64>,
    #[serde(deserialize_with = "opt_duration")]
    target: Option<u64>,
    #[serde(deserialize_with = "opt_duration")]
    alert: Option<u64>,
    #[serde(deserialize_with = "opt_duration")]
    critical: Option<u64>,
}

impl FileThresholds {
    fn apply(&self, t: Thresholds) -> Thresholds {
        Thresholds {
            a_nanos: self.a.unwrap_or(t.a_nanos),
            b_nanos: self.b.unwrap_or(t.b_nanos),
            c_nanos: self.c.unwrap_or(t.c_nanos),
            d_nanos: self.d.unwrap_or(t.d_nanos),
            target_nanos: self.target.unwrap_or(t.target_nanos),
            alert_nanos: self.alert.unwrap_or(t.alert_nanos),
            critical_nanos: self.critical.unwrap_or(t.critical_nanos),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

fn opt_kind<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SpanKind>, D::Error> {
    let s = String::deserialize(d)?;
    SpanKind::from_name(&s).map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown span kind \"{s}\" (server, client, producer, consumer, internal)"
        ))
    })
}

fn ser_opt_kind<S: serde::Serializer>(k: &Option<SpanKind>, s: S) -> Result<S::Ok, S::Error> {
    match k {
        Some(k) => s.serialize_some(k.short_name()),
        None => s.serialize_none(),
    }
}

fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let s = String::deserialize(d).map_err(|_| {
        serde::de::Error::custom("a duration is a string with a unit, e.g. \"50ms\" or \"2s\"")
    })?;
    parse_duration_nanos(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Parses `"50ms"`, `"1.5s"`, `"200us"`, `"2m"`, `"1h"`, `"10ns"` into nanoseconds.
pub fn parse_duration_nanos(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("duration \"{text}\" has no unit (ns, us, ms, s, m, h)"))?;
    let (num, unit) = t.split_at(split);
    let scale: u64 = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => MS,
        "s" => S,
        "m" => 60 * S,
        "h" => 3_600 * S,
        other => return Err(format!("unknown duration unit \"{other}\" in \"{text}\"")),
    };
    let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(format!("duration \"{text}\" has no number"));
    }
    let whole: u64 = if int_part.is_empty() {
        0
    } else {
        int_part
            .parse()
            .map_err(|_| format!("bad number in duration \"{text}\""))?
    };
    let mut frac_nanos: u64 = 0;
    let mut place = scale;
    for c in frac_part.chars() {
        let digit = c
            .to_digit(10)
            .ok_or_else(|| format!("bad number in duration \"{text}\""))?;
        place /= 10;
        frac_nanos = frac_nanos.saturating_add(u64::from(digit) * place);
    }
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac_nanos))
        .ok_or_else(|| format!("duration \"{text}\" is too large"))
}

/// "Not computed yet" in the classifier caches.
const UNKNOWN: u64 = u64::MAX;

/// Matches spans of one set against the rules, caching per attribute key and per span name.
pub(crate) struct Classifier<'a> {
    rules: &'a Rules,
    set: &'a TraceSet,
    /// Flat matchers in priority order: (category index, matcher).
    matchers: Vec<(usize, &'a Matcher)>,
    /// Bits of matchers with no key part (always key-satisfied).
    no_key_mask: u64,
    /// Bits of matchers that need a value check (`equals`).
    equals_mask: u64,
    /// Matcher bits per interned string (attribute keys, span names), filled lazily;
    /// [`UNKNOWN`] = not computed yet. Dense over the interner: one `u64` per string.
    key_cache: Vec<u64>,
    name_cache: Vec<u64>,
}

impl<'a> Classifier<'a> {
    pub(crate) fn new(rules: &'a Rules, set: &'a TraceSet) -> Self {
        let mut matchers = Vec::new();
        for (ci, c) in rules.categories.iter().enumerate() {
            for m in &c.matchers {
                if matchers.len() < MAX_MATCHERS {
                    matchers.push((ci, m));
                }
            }
        }
        let mut no_key_mask = 0u64;
        let mut equals_mask = 0u64;
        for (bit, (_, m)) in matchers.iter().enumerate() {
            if !m.has_key_part() {
                no_key_mask |= 1 << bit;
            } else if !m.equals.is_empty() {
                equals_mask |= 1 << bit;
            }
        }
        Classifier {
            rules,
            set,
            matchers,
            no_key_mask,
            equals_mask,
            key_cache: vec![UNKNOWN; set.arena.strings.len()],
            name_cache: vec![UNKNOWN; set.arena.strings.len()],
        }
    }

    fn key_bits(&mut self, key: StrId) -> u64 {
        if let Some(&b) = self.key_cache.get(key.0 as usize) {
            if b != UNKNOWN {
                return b;
            }
        }
        let text = self.set.str(key);
        let mut bits = 0u64;
        for (bit, (_, m)) in self.matchers.iter().enumerate() {
            if m.has_key_part() && m.key_matches(text) {
                bits |= 1 << bit;
            }
        }
        if let Some(slot) = self.key_cache.get_mut(key.0 as usize) {
            *slot = bits;
        }
        bits
    }

    fn name_bits(&mut self, name: StrId) -> u64 {
        if let Some(&b) = self.name_cache.get(name.0 as usize) {
            if b != UNKNOWN {
                return b;
            }
        }
        let lower = self.set.str(name).to_ascii_lowercase();
        let mut bits = 0u64;
        for (bit, (_, m)) in self.matchers.iter().enumerate() {
            if m.name_matches(&lower) {
                bits |= 1 << bit;
            }
        }
        if let Some(slot) = self.name_cache.get_mut(name.0 as usize) {
            *slot = bits;
        }
        bits
    }

    fn value_equals(&self, value: Value, m: &Matcher) -> bool {
        let owned;
        let text: &str = match value {
            Value::Str(s) => self.set.str(s),
            other => {
                owned = self.set.arena.value_text(other);
                owned.as_str()
            }
        };
        m.equals.iter().any(|e| e.eq_ignore_ascii_case(text))
    }

    /// Starts a span: the key state before any attribute.
    pub(crate) fn start(&self) -> u64 {
        self.no_key_mask
    }

    /// Takes one attribute of the span into the key state.
    pub(crate) fn absorb(&mut self, kv: &crate::model::KeyValue, key_ok: &mut u64) {
        let bits = self.key_bits(kv.key);
        if bits == 0 {
            return;
        }
        *key_ok |= bits & !self.equals_mask;
        let mut need_value = bits & self.equals_mask & !*key_ok;
        while need_value != 0 {
            let bit = need_value.trailing_zeros() as usize;
            need_value &= need_value - 1;
            if let Some((_, m)) = self.matchers.get(bit) {
                if self.value_equals(kv.value, m) {
                    *key_ok |= 1 << bit;
                }
            }
        }
    }

    /// The span's category from its key state (`rules.categories.len()` for the fallback).
    pub(crate) fn finish(&mut self, span: &Span, key_ok: u64) -> usize {
        let name_ok = self.name_bits(span.name);
        let mut rest = key_ok & name_ok;
        while rest != 0 {
            let bit = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            if let Some(&(ci, m)) = self.matchers.get(bit) {
                let kind_ok = m.kind.is_none_or(|k| k == span.kind);
                let root_ok = m.root.is_none_or(|r| r == span.is_root());
                if kind_ok && root_ok {
                    return ci;
                }
            }
        }
        self.rules.categories.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration_nanos("50ms"), Ok(50 * MS));
        assert_eq!(parse_duration_nanos("1.5s"), Ok(1_500 * MS));
        assert_eq!(parse_duration_nanos("200us"), Ok(200_000));
        assert_eq!(parse_duration_nanos("2m"), Ok(120 * S));
        assert_eq!(parse_duration_nanos(".5ms"), Ok(500_000));
        assert!(parse_duration_nanos("50").is_err());
        assert!(parse_duration_nanos("5 parsecs").is_err());
        assert!(parse_duration_nanos("ms").is_err());
    }

    #[test]
    fn mean_points_round_half_up() {
        assert_eq!(Grade::from_mean_points(3.5), Grade::A);
        assert_eq!(Grade::from_mean_points(3.49), Grade::B);
        assert_eq!(Grade::from_mean_points(0.49), Grade::F);
        assert_eq!(Grade::from_mean_points(0.5), Grade::D);
        assert_eq!(Grade::from_mean_points(f64::NAN), Grade::F);
    }

    #[test]
    fn name_op_needs_space_or_end() {
        let m = &Rules::builtin().categories[0].matchers[1];
        assert!(m.name_matches("chat gpt-4o"));
        assert!(m.name_matches("chat"));
        assert!(!m.name_matches("chatter"));
        assert!(m.name_matches("post /v1/chat/completions"));
        assert!(!m.name_matches("post /v1/chat"));
    }
}
