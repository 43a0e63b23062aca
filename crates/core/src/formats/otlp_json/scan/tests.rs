//! Tests of the JSON scanner: values, escapes, numbers, every error class, the depth limit,
//! and random / mutated input checked against serde_json (never a panic).

use super::*;
use serde::Deserialize;
use serde_json::Value;

/// Scans `s` into a `serde_json::Value` with our scanner.
fn ours(s: &str) -> Result<Value, String> {
    let de = Scanner::new(s);
    let v = Value::deserialize(&de).map_err(|e| de.describe(&e))?;
    de.end().map_err(|e| de.describe(&e))?;
    Ok(v)
}

/// Skips `s` with the validating skipper.
fn skipped(s: &str) -> Result<(), String> {
    let de = Scanner::new(s);
    serde::de::IgnoredAny::deserialize(&de).map_err(|e| de.describe(&e))?;
    de.end().map_err(|e| de.describe(&e))
}

fn err(s: &str) -> String {
    let e = ours(s).expect_err(s);
    assert!(skipped(s).is_err(), "skipper accepted {s:?}");
    e
}

#[test]
fn values_match_serde_json() {
    for s in [
        r#"{"a":[1,-2,3.5,true,false,null,"x"],"b":{},"c":[]}"#,
        " [ 1 , 2 ] ",
        "\"\"",
        "0",
        "-0",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "1e3",
        "1E-2",
        "2.5e+10",
        r#"{"k\"ey":"v\\a\/l\b\f\n\r\t\u00e9\u20ac\ud83d\ude00"}"#,
        "\"caf\u{e9} \u{1f600}\"",
        "\t\r\n{ \"a\" : 1 }\n",
    ] {
        let want: Value = serde_json::from_str(s).expect(s);
        assert_eq!(ours(s).expect(s), want, "{s}");
        assert!(skipped(s).is_ok(), "{s}");
    }
}

#[test]
fn numbers_are_exact() {
    assert_eq!(ours("18446744073709551615").unwrap(), Value::from(u64::MAX));
    assert_eq!(ours("-9223372036854775808").unwrap(), Value::from(i64::MIN));
    assert_eq!(
        ours("1700000000123456789").unwrap(),
        Value::from(1_700_000_000_123_456_789u64)
    );
    assert!(ours("18446744073709551616").unwrap().is_f64());
    assert!(ours("-0")
        .unwrap()
        .as_f64()
        .is_some_and(|f| f == 0.0 && f.is_sign_negative()));
}

#[test]
fn escapes() {
    assert_eq!(ours(r#""\u0041\u00e9""#).unwrap(), Value::from("A\u{e9}"));
    assert_eq!(ours(r#""a\ud834\udd1eb""#).unwrap(), Value::from("a\u{1d11e}b"));
    assert_eq!(ours(r#""x\"y""#).unwrap(), Value::from("x\"y"));
    assert!(err(r#""\ud834""#).contains("surrogate"));
    assert!(ours(r#""\udd1e""#).unwrap_err().contains("surrogate"));
    assert!(ours(r#""\ud834\u0041""#).unwrap_err().contains("surrogate"));
    assert!(err(r#""\x""#).contains("invalid escape"));
    assert!(err(r#""\u12G4""#).contains("invalid escape"));
    assert!(err(r#""\u12"#).contains("EOF"));
}

#[test]
fn every_error_class() {
    for (s, want) in [
        ("", "EOF while parsing a value"),
        ("   ", "EOF while parsing a value"),
        ("{\"a\":1} x", "trailing characters"),
        ("[1] [2]", "trailing characters"),
        ("tru", "EOF"),
        ("trux", "expected ident"),
        ("nul", "EOF"),
        ("fals3", "expected ident"),
        ("\"abc", "EOF while parsing a string"),
        ("\"a\u{1}b\"", "control character"),
        ("\"a\nb\"", "control character"),
        ("[1,]", "trailing comma"),
        ("{\"a\":1,}", "trailing comma"),
        ("{\"a\" 1}", "expected `:`"),
        ("{1:2}", "key must be a string"),
        ("{\"a\":1 \"b\":2}", "expected `,` or `}`"),
        ("[1 2]", "expected `,` or `]`"),
        ("[1,", "EOF"),
        ("{\"a\":", "EOF"),
        ("{\"a\"", "EOF"),
        ("01", "invalid number"),
        ("-", "EOF"),
        ("-a", "invalid number"),
        ("1.", "invalid number"),
        ("1.e5", "invalid number"),
        ("1e", "invalid number"),
        ("1e+", "invalid number"),
        ("1e400", "number out of range"),
        ("+1", "expected value"),
        ("'a'", "expected value"),
        ("[}", "expected value"),
        ("NaN", "expected value"),
    ] {
        let e = err(s);
        assert!(e.contains(want), "{s:?}: {e}");
        assert!(e.contains(" at line ") && e.contains(" column "), "{s:?}: {e}");
    }
}

#[test]
fn error_positions() {
    assert_eq!(line_column(b"ab\ncd", 4), (2, 2));
    assert_eq!(line_column(b"abc", 0), (1, 1));
    let e = ours("{\n  \"a\": tru\n}").unwrap_err();
    assert!(e.ends_with("at line 2 column 11"), "{e}");
}

#[test]
fn depth_limit() {
    let ok = format!(
        "{}{}",
        "[".repeat(MAX_DEPTH as usize),
        "]".repeat(MAX_DEPTH as usize)
    );
    assert!(ours(&ok).is_ok());
    assert!(skipped(&ok).is_ok());
    let n = MAX_DEPTH as usize + 1;
    let deep = format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(ours(&deep).unwrap_err().contains("recursion limit"));
    assert!(skipped(&deep).unwrap_err().contains("recursion limit"));
    // Far deeper than any stack could take recursively: still an error, not a crash.
    let huge = format!("{}{}", "{\"a\":[".repeat(100_000), "]}".repeat(100_000));
    assert!(ours(&huge).is_err());
    assert!(skipped(&huge).is_err());
}

#[test]
fn find_special_matches_bytewise() {
    let mut rng = 0x1234_5678_9abc_def0u64;
    for _ in 0..20_000 {
        let len = (next(&mut rng) % 40) as usize;
        let b: Vec<u8> = (0..len)
            .map(|_| match next(&mut rng) % 6 {
                0 => b'"',
                1 => b'\\',
                2 => (next(&mut rng) % 0x20) as u8,
                3 => 0x80 | (next(&mut rng) as u8),
                _ => 0x20 + (next(&mut rng) % 0x60) as u8,
            })
            .collect();
        let start = (next(&mut rng) % (len as u64 + 1)) as usize;
        let want = b
            .iter()
            .skip(start)
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
            .map_or(b.len(), |p| p + start);
        assert_eq!(find_special(&b, start), want, "{b:?} from {start}");
    }
}

fn next(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// Equal values, floats within a relative 1e-15 (serde_json's default float parser is not
/// always correctly rounded; ours is).
fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y || ((x - y) / x).abs() < 1e-15,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| close(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

/// Agreement with serde_json on acceptance and on the value read (floats kept short so both
/// parsers round alike).
fn check_against_serde_json(s: &str) {
    let theirs = serde_json::from_str::<Value>(s);
    let mine = ours(s);
    let skip = skipped(s);
    match (&theirs, &mine) {
        (Ok(a), Ok(b)) => assert!(close(a, b), "{s:?}: {a:?} vs {b:?}"),
        (Err(_), Err(_)) => {}
        _ => panic!("disagree on {s:?}: serde_json {theirs:?}, ours {mine:?}"),
    }
    // The skipper does not check surrogate pairing (like serde_json's); otherwise it agrees.
    if !s.contains("\\u") {
        assert_eq!(skip.is_ok(), mine.is_ok(), "skipper disagrees on {s:?}");
    }
}

#[test]
fn random_and_mutated_input_agrees_with_serde_json() {
    let seeds = [
        r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"GET /a\"b","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,"attributes":[{"key":"d","value":{"doubleValue":-1.5e3}},{"key":"b","value":{"boolValue":true}},{"key":"n","value":null}]}]}]}]}"#,
        r#"[{"a":"\u00e9\ud83d\ude00","b":[[],{},-0,0.25,1E2]},null,false]"#,
    ];
    let alphabet: &[u8] = b"{}[],:\"\\0123456789-+.eEtrufalsn u\t\nx/";
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for seed in seeds {
        check_against_serde_json(seed);
        for _ in 0..4_000 {
            let mut b = seed.as_bytes().to_vec();
            for _ in 0..1 + next(&mut rng) % 3 {
                if b.is_empty() {
                    break;
                }
                let at = (next(&mut rng) % b.len() as u64) as usize;
                let c = alphabet[(next(&mut rng) % alphabet.len() as u64) as usize];
                match next(&mut rng) % 3 {
                    0 => b[at] = c,
                    1 => b.insert(at, c),
                    _ => {
                        b.remove(at);
                    }
                }
            }
            if let Ok(s) = std::str::from_utf8(&b) {
                check_against_serde_json(s);
            }
        }
    }
    for _ in 0..20_000 {
        let len = (next(&mut rng) % 24) as usize;
        let b: Vec<u8> = (0..len)
            .map(|_| alphabet[(next(&mut rng) % alphabet.len() as u64) as usize])
            .collect();
        if let Ok(s) = std::str::from_utf8(&b) {
            check_against_serde_json(s);
        }
    }
}
