//! Request parameters of the Tempo HTTP API: parsing with Tempo's own error texts, and building
//! query strings for a client.
//!
//! Error texts copy what a Tempo answers, Go's `strconv` and `time` wording included, because
//! clients (Grafana, scripts) show them as they are.

use crate::model::TraceId;
use std::fmt;

/// A request parameter a Tempo would refuse; `Display` is the body of the 400 answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError(pub String);

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamError {}

/// Go's `strconv.Quote` for the ASCII cases that matter in error texts.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parses a trace id the way Tempo's HTTP API does: hex of any case, leading zeros optional,
/// at most 32 digits. Errors are Tempo's texts.
pub fn parse_trace_id(s: &str) -> Result<TraceId, ParamError> {
    if s.len() > 32 {
        return Err(ParamError("trace IDs can't be larger than 128 bits".to_string()));
    }
    if s.is_empty() {
        return Err(ParamError("trace IDs can't be empty".to_string()));
    }
    for (i, c) in s.chars().enumerate() {
        if !c.is_ascii_hexdigit() {
            return Err(ParamError(format!(
                "trace IDs can only contain hex characters: invalid character '{c}' at position {}",
                i + 1
            )));
        }
    }
    TraceId::from_hex(s).ok_or_else(|| ParamError("trace IDs can only contain hex characters".to_string()))
}

/// Parses a unix-seconds time parameter named `name` (`start`, `end`) as Go's
/// `strconv.ParseInt(s, 10, 64)`; the error reads `invalid start: strconv.ParseInt: …`.
pub fn parse_unix_seconds(name: &str, s: &str) -> Result<i64, ParamError> {
    parse_go_int(s, "ParseInt").map_err(|e| ParamError(format!("invalid {name}: {e}")))
}

fn parse_go_int(s: &str, func: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.{func}: parsing {}: invalid syntax", go_quote(s)));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.{func}: parsing {}: value out of range", go_quote(s)))
}

/// Parses a positive integer parameter (`limit`, `spss`) as Tempo: `strconv.Atoi` errors, and
/// `invalid limit: must be a positive number` for zero or less.
pub fn parse_positive(name: &str, s: &str) -> Result<u32, ParamError> {
    let v = parse_go_int(s, "Atoi").map_err(|e| ParamError(format!("invalid {name}: {e}")))?;
    if v <= 0 {
        return Err(ParamError(format!("invalid {name}: must be a positive number")));
    }
    Ok(u32::try_from(v).unwrap_or(u32::MAX))
}

/// Parses a Go duration (`time.ParseDuration`): a sequence of decimal numbers with units
/// `ns`, `us` (`µs`), `ms`, `s`, `m`, `h`, optionally signed; `0` alone is allowed. Returns
/// nanoseconds (negative durations are errors here: no Tempo parameter takes one).
/// Errors are Go's texts (`time: invalid duration "abc"`).
pub fn parse_go_duration(s: &str) -> Result<u64, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(s));
    let mut rest = s;
    let mut negative = false;
    if let Some(r) = rest.strip_prefix('-') {
        negative = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = num.parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: f64 = match unit {
            "" => return Err(format!("time: missing unit in duration {}", go_quote(s))),
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            other => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(other),
                    go_quote(s)
                ));
            }
        };
        total += value * scale;
    }
    if total > 9.223_372_036_854_776e18 {
        return Err(invalid());
    }
    if negative && total > 0.0 {
        return Err(invalid());
    }
    Ok(total.round() as u64)
}

/// Parses logfmt `k=v k2="v 2"` (the `tags` search parameter) into pairs, in order.
pub fn parse_logfmt(s: &str) -> Result<Vec<(String, String)>, ParamError> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            if c == '"' {
                return Err(ParamError(format!(
                    "invalid tags: unexpected '\"' in key of {}",
                    go_quote(s)
                )));
            }
            key.push(c);
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some('n') => value.push('\n'),
                            Some('t') => value.push('\t'),
                            Some(other) => value.push(other),
                            None => break,
                        },
                        c => value.push(c),
                    }
                }
                if !closed {
                    return Err(ParamError(format!(
                        "invalid tags: unterminated quote in {}",
                        go_quote(s)
                    )));
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        if key.is_empty() {
            return Err(ParamError(format!(
                "invalid tags: missing key in {}",
                go_quote(s)
            )));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// Percent-encodes one query-string component (RFC 3986 unreserved characters kept).
pub fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The `scope` parameter of the tag endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagScopeParam {
    Resource,
    Span,
    Intrinsic,
    Event,
    Link,
}

impl TagScopeParam {
    /// Parses `resource|span|intrinsic|event|link`; anything else is `invalid scope: X`.
    /// An empty value or `all` means no filter (`None`).
    pub fn parse(s: &str) -> Result<Option<TagScopeParam>, ParamError> {
        Ok(Some(match s {
            "" | "all" => return Ok(None),
            "resource" => TagScopeParam::Resource,
            "span" => TagScopeParam::Span,
            "intrinsic" => TagScopeParam::Intrinsic,
            "event" => TagScopeParam::Event,
            "link" => TagScopeParam::Link,
            other => return Err(ParamError(format!("invalid scope: {other}"))),
        }))
    }

    /// The name as Tempo spells it.
    pub fn name(self) -> &'static str {
        match self {
            TagScopeParam::Resource => "resource",
            TagScopeParam::Span => "span",
            TagScopeParam::Intrinsic => "intrinsic",
            TagScopeParam::Event => "event",
            TagScopeParam::Link => "link",
        }
    }
}

/// Default `limit` of `/api/search`.
pub const DEFAULT_SEARCH_LIMIT: u32 = 20;
/// Default spans per spanset (`spss`) of `/api/search`.
pub const DEFAULT_SPSS: u32 = 3;

/// The parameters of `GET /api/search`, parsed and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchParams {
    /// TraceQL, when given.
    pub q: Option<String>,
    /// logfmt `tags`, parsed.
    pub tags: Vec<(String, String)>,
    pub min_duration_nanos: Option<u64>,
    pub max_duration_nanos: Option<u64>,
    pub limit: u32,
    pub spss: u32,
    /// Unix seconds.
    pub start: Option<i64>,
    pub end: Option<i64>,
}

impl Default for SearchParams {
    fn default() -> Self {
        SearchParams {
            q: None,
            tags: Vec::new(),
            min_duration_nanos: None,
            max_duration_nanos: None,
            limit: DEFAULT_SEARCH_LIMIT,
            spss: DEFAULT_SPSS,
            start: None,
            end: None,
        }
    }
}

impl SearchParams {
    /// Parses the decoded query pairs of a search request, with Tempo's error texts.
    /// Unknown parameters are ignored; an empty value counts as absent.
    pub fn from_pairs<'a, I>(pairs: I) -> Result<SearchParams, ParamError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut p = SearchParams::default();
        for (k, v) in pairs {
            if v.is_empty() {
                continue;
            }
            match k {
                "q" => p.q = Some(v.to_string()),
                "tags" => p.tags = parse_logfmt(v)?,
                "minDuration" => {
                    p.min_duration_nanos = Some(
                        parse_go_duration(v).map_err(|e| ParamError(format!("invalid minDuration: {e}")))?,
                    )
                }
                "maxDuration" => {
                    p.max_duration_nanos = Some(
                        parse_go_duration(v).map_err(|e| ParamError(format!("invalid maxDuration: {e}")))?,
                    )
                }
                "limit" => p.limit = parse_positive("limit", v)?,
                "spss" => p.spss = parse_positive("spss", v)?,
                "start" => p.start = Some(parse_unix_seconds("start", v)?),
                "end" => p.end = Some(parse_unix_seconds("end", v)?),
                _ => {}
            }
        }
        if let (Some(min), Some(max)) = (p.min_duration_nanos, p.max_duration_nanos) {
            if max != 0 && max < min {
                return Err(ParamError(
                    "invalid maxDuration: must be greater than minDuration".to_string(),
                ));
            }
        }
        if let (Some(start), Some(end)) = (p.start, p.end) {
            if start > end {
                return Err(ParamError(format!(
                    "http parameter start must be before end. received start={start} end={end}"
                )));
            }
        }
        Ok(p)
    }

    /// Builds the query string (without `?`) a client sends; defaults are left out.
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(q) = &self.q {
            parts.push(format!("q={}", encode_query(q)));
        }
        if !self.tags.is_empty() {
            let tags: Vec<String> = self
                .tags
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() || v.contains(|c: char| c.is_whitespace() || c == '"' || c == '=') {
                        format!("{k}={}", go_quote(v))
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect();
            parts.push(format!("tags={}", encode_query(&tags.join(" "))));
        }
        if let Some(d) = self.min_duration_nanos {
            parts.push(format!("minDuration={d}ns"));
        }
        if let Some(d) = self.max_duration_nanos {
            parts.push(format!("maxDuration={d}ns"));
        }
        if self.limit != DEFAULT_SEARCH_LIMIT {
            parts.push(format!("limit={}", self.limit));
        }
        if self.spss != DEFAULT_SPSS {
            parts.push(format!("spss={}", self.spss));
        }
        if let Some(s) = self.start {
            parts.push(format!("start={s}"));
        }
        if let Some(e) = self.end {
            parts.push(format!("end={e}"));
        }
        parts.join("&")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_id_errors_are_tempos() {
        assert_eq!(
            parse_trace_id("not-a-trace-id").unwrap_err().0,
            "trace IDs can only contain hex characters: invalid character 'n' at position 1"
        );
        assert_eq!(
            parse_trace_id(&"a".repeat(40)).unwrap_err().0,
            "trace IDs can't be larger than 128 bits"
        );
        let id = parse_trace_id("6077f4fd87e0428e93389f4727b01bf").unwrap();
        assert_eq!(id.to_hex(), "06077f4fd87e0428e93389f4727b01bf");
        assert_eq!(parse_trace_id("ABCDEF").unwrap().to_hex_trimmed(), "abcdef");
    }

    #[test]
    fn unix_seconds_errors() {
        assert_eq!(
            parse_unix_seconds("start", "abc").unwrap_err().0,
            "invalid start: strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(parse_unix_seconds("end", "1795247541").unwrap(), 1_795_247_541);
        assert!(parse_unix_seconds("end", "99999999999999999999")
            .unwrap_err()
            .0
            .ends_with("value out of range"));
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("100ms").unwrap(), 100_000_000);
        assert_eq!(parse_go_duration("1h2m3.5s").unwrap(), 3_723_500_000_000);
        assert_eq!(parse_go_duration("1.5us").unwrap(), 1_500);
        assert_eq!(parse_go_duration("0").unwrap(), 0);
        assert_eq!(
            parse_go_duration("abc").unwrap_err(),
            "time: invalid duration \"abc\""
        );
        assert_eq!(
            parse_go_duration("10").unwrap_err(),
            "time: missing unit in duration \"10\""
        );
        assert_eq!(
            parse_go_duration("10x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"10x\""
        );
    }

    #[test]
    fn limits() {
        assert_eq!(parse_positive("limit", "5").unwrap(), 5);
        assert_eq!(
            parse_positive("limit", "0").unwrap_err().0,
            "invalid limit: must be a positive number"
        );
        assert_eq!(
            parse_positive("limit", "x").unwrap_err().0,
            "invalid limit: strconv.Atoi: parsing \"x\": invalid syntax"
        );
    }

    #[test]
    fn logfmt() {
        let t = parse_logfmt("service.name=api-gateway  http.route=\"/v1/chat x\" error").unwrap();
        assert_eq!(
            t,
            vec![
                ("service.name".into(), "api-gateway".into()),
                ("http.route".into(), "/v1/chat x".into()),
                ("error".into(), "".into())
            ]
        );
        assert!(parse_logfmt("a=\"open").is_err());
    }

    #[test]
    fn search_params_round_trip() {
        let p = SearchParams::from_pairs([
            ("q", "{ status = error }"),
            ("limit", "5"),
            ("start", "10"),
            ("end", "20"),
            ("minDuration", "1ms"),
            ("tags", "a=b"),
        ])
        .unwrap();
        assert_eq!(p.limit, 5);
        assert_eq!(p.spss, DEFAULT_SPSS);
        let q = p.to_query();
        assert!(q.starts_with("q=%7B%20status%20%3D%20error%20%7D"), "{q}");
        let err = SearchParams::from_pairs([("start", "20"), ("end", "10")]).unwrap_err();
        assert!(err.0.starts_with("http parameter start must be before end"));
        assert_eq!(
            TagScopeParam::parse("bogus").unwrap_err().0,
            "invalid scope: bogus"
        );
    }
}
