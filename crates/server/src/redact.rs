//! Redaction of sensitive attribute values at ingest, before anything is stored or forwarded.
//!
//! A key matches a pattern (case-insensitively) when it equals the pattern or ends with it
//! right after a `.`, `_` or `-` separator: `password` matches `db.password` and
//! `user_password`; `authorization` matches `http.request.header.authorization`; `token`
//! matches `access_token` but not `gen_ai.usage.input_tokens`. A pattern with `*` is a glob
//! over the whole key (`http.request.header.x-*`). Matching values (of any type) become the
//! string `[REDACTED]`. Applies to resource, scope, span, event and link attributes, and to
//! nested key-value lists. Not here: redacting span names or status messages.

use spanlens_core::formats::otlp_proto::wire;

/// The replacement value.
pub const REDACTED: &str = "[REDACTED]";

/// Compiled patterns.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    exact: Vec<String>,
    globs: Vec<String>,
    /// Last bytes (lowercase) of the exact patterns: a key ending otherwise matches none.
    last_bytes: Vec<u8>,
}

impl Redactor {
    /// Builds a redactor from key patterns (lowercased here).
    pub fn new<I, S>(patterns: I) -> Redactor
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut r = Redactor::default();
        for p in patterns {
            let p = p.as_ref().trim().to_ascii_lowercase();
            if p.is_empty() {
                continue;
            }
            if p.contains('*') {
                r.globs.push(p);
            } else {
                if let Some(last) = p.as_bytes().last() {
                    if !r.last_bytes.contains(last) {
                        r.last_bytes.push(*last);
                    }
                }
                r.exact.push(p);
            }
        }
        r
    }

    /// True when no pattern is set.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.globs.is_empty()
    }

    /// Whether `key` is sensitive.
    pub fn matches(&self, key: &str) -> bool {
        // Allocation-free for plain patterns: this runs for every attribute at ingest.
        let last = key.as_bytes().last().map(u8::to_ascii_lowercase);
        if last.is_some_and(|b| self.last_bytes.contains(&b))
            && self
                .exact
                .iter()
                .any(|p| tail_match(key.as_bytes(), p.as_bytes()))
        {
            return true;
        }
        if self.globs.is_empty() {
            return false;
        }
        let key = key.to_ascii_lowercase();
        self.globs
            .iter()
            .any(|g| glob_match(g.as_bytes(), key.as_bytes()))
    }

    /// Redacts every matching attribute of a batch; returns how many values were replaced.
    pub fn redact(&self, resource_spans: &mut [wire::ResourceSpans]) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut n = 0;
        for rs in resource_spans {
            if let Some(r) = &mut rs.resource {
                n += self.kvs(&mut r.attributes);
            }
            for ss in &mut rs.scope_spans {
                if let Some(scope) = &mut ss.scope {
                    n += self.kvs(&mut scope.attributes);
                }
                for span in &mut ss.spans {
                    n += self.span(span);
                }
            }
            for ils in &mut rs.instrumentation_library_spans {
                for span in &mut ils.spans {
                    n += self.span(span);
                }
            }
        }
        n
    }

    fn span(&self, span: &mut wire::Span) -> u64 {
        let mut n = self.kvs(&mut span.attributes);
        for e in &mut span.events {
            n += self.kvs(&mut e.attributes);
        }
        for l in &mut span.links {
            n += self.kvs(&mut l.attributes);
        }
        n
    }

    fn kvs(&self, kvs: &mut [wire::KeyValue]) -> u64 {
        let mut n = 0;
        for kv in kvs {
            if self.matches(&kv.key) {
                let already = matches!(
                    kv.value.as_ref().and_then(|v| v.value.as_ref()),
                    Some(wire::AnyValueKind::StringValue(s)) if s == REDACTED
                );
                if !already {
                    kv.value = Some(wire::AnyValue {
                        value: Some(wire::AnyValueKind::StringValue(REDACTED.to_string())),
                    });
                    n += 1;
                }
            } else if let Some(wire::AnyValueKind::KvlistValue(list)) =
                kv.value.as_mut().and_then(|v| v.value.as_mut())
            {
                n += self.kvs(&mut list.values);
            }
        }
        n
    }
}

/// `key` equals `pattern` or ends with it right after a separator, ignoring ASCII case.
fn tail_match(key: &[u8], pattern: &[u8]) -> bool {
    let Some(start) = key.len().checked_sub(pattern.len()) else {
        return false;
    };
    let tail_ok = key
        .get(start..)
        .is_some_and(|tail| tail.eq_ignore_ascii_case(pattern));
    tail_ok
        && (start == 0
            || key
                .get(start - 1)
                .is_some_and(|c| matches!(c, b'.' | b'_' | b'-')))
}

/// `*` matches any run of bytes; everything else matches itself.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if Some(c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == b'*'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_REDACT_KEYS;

    #[test]
    fn default_patterns() {
        let r = Redactor::new(DEFAULT_REDACT_KEYS);
        for key in [
            "authorization",
            "http.request.header.authorization",
            "http.request.header.cookie",
            "http.response.header.set-cookie",
            "db.password",
            "user_passwd",
            "client_secret",
            "access_token",
            "API_KEY",
            "x-api-key",
            "http.request.header.x-api-key",
            "openai.apikey",
        ] {
            assert!(r.matches(key), "{key} should be redacted");
        }
        for key in [
            "gen_ai.usage.input_tokens",
            "http.route",
            "tokenizer",
            "service.name",
            "monkey",
        ] {
            assert!(!r.matches(key), "{key} should be kept");
        }
    }

    #[test]
    fn globs_and_nested() {
        let r = Redactor::new(["http.request.header.x-*"]);
        assert!(r.matches("http.request.header.x-tenant"));
        assert!(!r.matches("http.request.header.accept"));
        let r = Redactor::new(DEFAULT_REDACT_KEYS);
        let mut kvs = vec![wire::KeyValue {
            key: "headers".to_string(),
            value: Some(wire::AnyValue {
                value: Some(wire::AnyValueKind::KvlistValue(wire::KeyValueList {
                    values: vec![wire::KeyValue {
                        key: "Authorization".to_string(),
                        value: Some(wire::AnyValue {
                            value: Some(wire::AnyValueKind::StringValue("Bearer abc".to_string())),
                        }),
                    }],
                })),
            }),
        }];
        assert_eq!(r.kvs(&mut kvs), 1);
        assert_eq!(
            r.kvs(&mut kvs),
            0,
            "already redacted values are not counted twice"
        );
    }
}
