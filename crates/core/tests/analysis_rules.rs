//! Rules files (TOML and JSON): overrides, new categories, and line-aware errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "analysis_support.rs"]
mod support;

use spanlens_core::analysis::{analyze_set, Grade, Rules, RulesError, Thresholds};
use spanlens_core::model::SpanKind::*;
use support::{Table, MS};

const TOML: &str = r#"
# A cache category before the built-ins, and stricter database targets.
[[category]]
name = "Cache"
grade_as = "Database"
thresholds = { a = "5ms", b = "10ms", c = "25ms", d = "50ms", target = "5ms", alert = "10ms", critical = "25ms" }
[[category.match]]
attr_prefix = "cache."
[[category.match]]
name_contains = ["redis", "memcached"]
kind = "client"

[[category]]
name = "Database"
thresholds = { a = "50ms", target = "50ms" }

[fallback]
name = "Background"
grade_as = "AI"
"#;

const JSON: &str = r#"{
  "category": [
    { "name": "Cache", "grade_as": "Database",
      "thresholds": { "a": "5ms", "b": "10ms", "c": "25ms", "d": "50ms", "target": "5ms", "alert": "10ms", "critical": "25ms" },
      "match": [ { "attr_prefix": "cache." }, { "name_contains": ["redis", "memcached"], "kind": "client" } ] },
    { "name": "Database", "thresholds": { "a": "50ms", "target": "50ms" } }
  ],
  "fallback": { "name": "Background", "grade_as": "AI" }
}"#;

fn check(rules: &Rules) {
    let names: Vec<&str> = rules.categories.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["Cache", "AI", "Memory", "Database", "API"]);
    let cache = &rules.categories[0];
    assert_eq!(cache.thresholds.a_nanos, 5 * MS);
    assert_eq!(cache.thresholds.critical_nanos, 25 * MS);
    assert_eq!(cache.matchers.len(), 2);
    let db = &rules.categories[3];
    assert_eq!(db.thresholds.a_nanos, 50 * MS);
    assert_eq!(db.thresholds.b_nanos, Thresholds::DATABASE.b_nanos); // kept
    assert_eq!(db.matchers, Rules::builtin().categories[2].matchers); // kept
    assert_eq!(rules.fallback.name, "Background");
    assert_eq!(rules.fallback.thresholds, Thresholds::AI);
}

#[test]
fn toml_and_json_give_the_same_rules() {
    let t = Rules::from_toml_str(TOML).unwrap();
    let j = Rules::from_json_str(JSON).unwrap();
    check(&t);
    check(&j);
    assert_eq!(t, j);
}

#[test]
fn custom_rules_drive_the_analysis() {
    let rules = Rules::from_toml_str(TOML).unwrap();
    let mut t = Table::new();
    t.span(1, None, "api", "GET /", Server, 0, 100);
    t.span(2, Some(1), "api", "redis GET", Client, 1, 8); // Cache: 7 ms → B
    t.span(3, Some(1), "api", "SELECT", Client, 10, 70)
        .attr("db.system", "mysql"); // 60 ms ≥ 50 → B
    t.span(4, Some(1), "api", "compute", Internal, 70, 80); // Background (AI table) → A
    let set = t.finish();
    let a = analyze_set(&set, &rules);
    let op = |n: &str| a.operations.iter().find(|o| o.name == n).unwrap().clone();
    assert_eq!(
        (op("redis GET").category.as_str(), op("redis GET").grade),
        ("Cache", Grade::B)
    );
    assert_eq!(
        (op("SELECT").category.as_str(), op("SELECT").grade),
        ("Database", Grade::B)
    );
    assert_eq!(
        (op("compute").category.as_str(), op("compute").grade),
        ("Background", Grade::A)
    );
}

#[test]
fn defaults_can_be_dropped() {
    let rules = Rules::from_toml_str(
        r#"
defaults = false
[[category]]
name = "Only"
[[category.match]]
root = true
"#,
    )
    .unwrap();
    assert_eq!(rules.categories.len(), 1);
    assert_eq!(rules.categories[0].thresholds, Thresholds::API);
    assert_eq!(Rules::from_toml_str("").unwrap(), Rules::builtin());
    assert_eq!(Rules::from_json_str("{}").unwrap(), Rules::builtin());
}

fn syntax(e: RulesError) -> (usize, usize, String) {
    match e {
        RulesError::Syntax {
            line,
            column,
            message,
        } => (line, column, message),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

fn invalid(e: RulesError) -> (usize, String, String) {
    match e {
        RulesError::Invalid {
            line,
            category,
            message,
        } => (line, category, message),
        other => panic!("expected an invalid-rule error, got {other:?}"),
    }
}

#[test]
fn toml_errors_name_the_line() {
    // Broken syntax on line 3.
    let (line, _, _) =
        syntax(Rules::from_toml_str("[[category]]\nname = \"X\"\nthresholds = {\n").unwrap_err());
    assert_eq!(line, 3);
    // A duration without a unit on line 4.
    let (line, _, msg) = syntax(
        Rules::from_toml_str("[[category]]\nname = \"Database\"\n[category.thresholds]\na = 50\n")
            .unwrap_err(),
    );
    assert_eq!(line, 4);
    assert!(msg.contains("unit"), "{msg}");
    // A bad unit.
    let (line, _, msg) = syntax(
        Rules::from_toml_str(
            "[[category]]\nname = \"Database\"\n[category.thresholds]\n\na = \"5 parsecs\"\n",
        )
        .unwrap_err(),
    );
    assert_eq!(line, 5);
    assert!(msg.contains("parsecs"), "{msg}");
    // An unknown field.
    let (line, _, msg) = syntax(
        Rules::from_toml_str("[[category]]\nname = \"X\"\n[[category.match]]\nattribute = \"a\"\n")
            .unwrap_err(),
    );
    assert_eq!(line, 4);
    assert!(msg.contains("attribute"), "{msg}");
    // An unknown kind.
    let (line, _, msg) = syntax(
        Rules::from_toml_str("[[category]]\nname = \"X\"\n[[category.match]]\nkind = \"sideways\"\n")
            .unwrap_err(),
    );
    assert_eq!(line, 4);
    assert!(msg.contains("sideways"), "{msg}");
}

#[test]
fn semantic_errors_name_the_category_and_line() {
    let (line, cat, msg) = invalid(
        Rules::from_toml_str("\n[[category]]\nname = \"Slow\"\nthresholds = { a = \"2s\", b = \"1s\" }\n[[category.match]]\nroot = true\n")
            .unwrap_err(),
    );
    assert_eq!((line, cat.as_str()), (3, "Slow"));
    assert!(msg.contains("a <= b"), "{msg}");
    let (line, cat, msg) =
        invalid(Rules::from_toml_str("[[category]]\nname = \"X\"\ngrade_as = \"Nope\"\n").unwrap_err());
    assert_eq!((line, cat.as_str()), (2, "X"));
    assert!(msg.contains("Nope"), "{msg}");
    let (_, _, msg) =
        invalid(Rules::from_toml_str("[[category]]\nname = \"X\"\n[[category.match]]\n").unwrap_err());
    assert!(msg.contains("no condition"), "{msg}");
    let (_, _, msg) = invalid(Rules::from_toml_str("[[category]]\nname = \"New\"\n").unwrap_err());
    assert!(msg.contains("at least one"), "{msg}");
    let (_, _, msg) = invalid(
        Rules::from_toml_str("[[category]]\nname = \"X\"\n[[category.match]]\nequals = \"a\"\n").unwrap_err(),
    );
    assert!(msg.contains("equals"), "{msg}");
}

#[test]
fn json_errors_name_the_line() {
    let (line, column, _) =
        syntax(Rules::from_json_str("{\n  \"category\": [\n    { \"name\": \"X\", }\n  ]\n}").unwrap_err());
    assert_eq!(line, 3);
    assert!(column > 0);
    let (line, _, msg) = syntax(
        Rules::from_json_str("{\n  \"category\": [\n    { \"name\": \"Database\",\n      \"thresholds\": { \"a\": 50 } }\n  ]\n}")
            .unwrap_err(),
    );
    assert_eq!(line, 4);
    assert!(msg.contains("unit"), "{msg}");
    let e = Rules::from_json_str("[1]").unwrap_err();
    assert!(e.to_string().starts_with("rules file line 1"), "{e}");
}
