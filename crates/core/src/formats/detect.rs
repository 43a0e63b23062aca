//! Content-based format detection (`shared/fixtures/FORMATS.md` section 5).
//!
//! [`sniff`] looks at the bytes cheaply, without parsing the whole document: the first
//! non-space byte and the keys of the top-level object (or of the first element of a top-level
//! array), skimming over values without building them. Its guess decides which reader runs
//! first; when that reader rejects the document the other JSON readers still get a try, so a
//! wrong guess costs time, never a wrong answer. The rules:
//! 1. A UTF-8 byte-order mark is skipped. Nothing but white space: [`ReadError::Empty`].
//! 2. An object followed by more content (one document per line): JSON Lines → OTLP JSON.
//! 3. An object with `resourceSpans`, `batches` (Tempo v1), `trace` (Tempo v2), `result`
//!    (Jaeger v3) or `instrumentationLibrarySpans` → OTLP JSON.
//! 4. An object with `traces` whose items are summaries (`rootServiceName`, `traceID`): a Tempo
//!    *search* response. It is not a trace document, and is rejected with that reason.
//! 5. An object with `data`, or with `spans` → Jaeger JSON.
//! 6. An array: of arrays → Zipkin (list of lists); whose first element has `spans` → Jaeger;
//!    `resourceSpans` → OTLP; anything else (and the empty array) → Zipkin.
//! 7. Anything that does not start with `{` or `[`: text (valid UTF-8 without control
//!    characters) is rejected as "not a trace"; binary goes to the OTLP protobuf reader.
//!
//! When no reader accepts, [`ReadError::NotATrace`] lists every format with its own reason.
//! Not here: the readers themselves.

use super::{read_with, Format, ReadError, Rejection};
use crate::model::TraceSetBuilder;

/// The UTF-8 byte-order mark.
const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// The bytes without a leading UTF-8 byte-order mark.
pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM).unwrap_or(bytes)
}

/// What a cheap look at a document says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sniff {
    /// Nothing but white space.
    Empty,
    /// JSON (an object or an array), most likely of this format when known.
    Json(Option<Format>),
    /// A Tempo search response (trace summaries), not a trace.
    TempoSearch,
    /// Text that is not a JSON object or array; carries its first line, shortened.
    Text(String),
    /// Binary data: protobuf, if anything.
    Binary,
}

/// Guesses the kind of a document from its first bytes and top-level keys.
pub fn sniff(bytes: &[u8]) -> Sniff {
    let body = strip_bom(bytes);
    let mut s = Skim {
        b: body,
        i: 0,
        complete: false,
    };
    s.ws();
    match s.peek() {
        None => Sniff::Empty,
        Some(b'{') => {
            let keys = s.object_keys();
            let has = |k: &str| keys.iter().any(|(key, _)| *key == k.as_bytes());
            let complete = s.complete;
            s.ws();
            if complete && s.peek().is_some() {
                // More after the first document: JSON Lines (or concatenated documents).
                return Sniff::Json(Some(Format::OtlpJson));
            }
            if [
                "resourceSpans",
                "batches",
                "trace",
                "result",
                "instrumentationLibrarySpans",
            ]
            .iter()
            .any(|k| has(k))
            {
                return Sniff::Json(Some(Format::OtlpJson));
            }
            if has("data") || has("spans") {
                return Sniff::Json(Some(Format::JaegerJson));
            }
            if let Some(&(_, at)) = keys.iter().find(|(k, _)| *k == b"traces") {
                if is_search_list(body, at) {
                    return Sniff::TempoSearch;
                }
            }
            Sniff::Json(None)
        }
        Some(b'[') => {
            s.i += 1;
            s.ws();
            match s.peek() {
                Some(b'[') | Some(b']') => Sniff::Json(Some(Format::ZipkinJson)),
                Some(b'{') => {
                    let keys = s.object_keys();
                    let has = |k: &str| keys.iter().any(|(key, _)| *key == k.as_bytes());
                    if has("resourceSpans") || has("batches") {
                        Sniff::Json(Some(Format::OtlpJson))
                    } else if has("spans") || has("traceID") {
                        Sniff::Json(Some(Format::JaegerJson))
                    } else {
                        Sniff::Json(Some(Format::ZipkinJson))
                    }
                }
                _ => Sniff::Json(None),
            }
        }
        Some(_) => {
            if is_text(body) {
                let first_line = String::from_utf8_lossy(body)
                    .trim_start()
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(60)
                    .collect();
                Sniff::Text(first_line)
            } else {
                Sniff::Binary
            }
        }
    }
}

/// True when the value at `at` is an array that is empty or whose first element is an object
/// with Tempo search-result keys.
fn is_search_list(body: &[u8], at: usize) -> bool {
    let mut s = Skim {
        b: body,
        i: at,
        complete: false,
    };
    s.ws();
    if s.peek() != Some(b'[') {
        return false;
    }
    s.i += 1;
    s.ws();
    match s.peek() {
        Some(b']') => true,
        Some(b'{') => s
            .object_keys()
            .iter()
            .any(|(k, _)| [&b"rootServiceName"[..], b"rootTraceName", b"traceID"].contains(k)),
        _ => false,
    }
}

/// Valid UTF-8 (a character cut at the end is fine) without control characters other than
/// tab, line feed and carriage return, judged on the first 4 KiB.
fn is_text(bytes: &[u8]) -> bool {
    let head = bytes.get(..bytes.len().min(4096)).unwrap_or(bytes);
    let valid = match std::str::from_utf8(head) {
        Ok(_) => head.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => return false,
    };
    head.get(..valid)
        .unwrap_or(&[])
        .iter()
        .all(|&b| b >= 0x20 || b == b'\t' || b == b'\n' || b == b'\r')
}

/// A forward-only JSON skimmer: finds object keys and skips values without building them.
/// Never fails: on malformed input it stops and reports what it saw.
struct Skim<'a> {
    b: &'a [u8],
    i: usize,
    /// Set by [`Skim::object_keys`] when the object was closed properly.
    complete: bool,
}

impl<'a> Skim<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// At a `"`: returns the raw string content (escapes kept) and moves past it.
    fn string(&mut self) -> Option<&'a [u8]> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.i + 1;
        let mut j = start;
        loop {
            match self.b.get(j)? {
                b'\\' => j += 2,
                b'"' => break,
                _ => j += 1,
            }
        }
        self.i = j + 1;
        self.b.get(start..j)
    }

    /// Skips one value of any kind. Returns false on malformed or truncated input.
    fn value(&mut self) -> bool {
        self.ws();
        match self.peek() {
            Some(b'"') => self.string().is_some(),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                loop {
                    match self.peek() {
                        None => return false,
                        Some(b'"') => {
                            if self.string().is_none() {
                                return false;
                            }
                            continue;
                        }
                        Some(b'{' | b'[') => depth += 1,
                        Some(b'}' | b']') => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                self.i += 1;
                                return true;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            Some(_) => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.i += 1;
                }
                self.i > start
            }
            None => false,
        }
    }

    /// At a `{`: the keys of this object with the offset of each value, moving past the object.
    /// Stops early (with the keys seen so far) on malformed input.
    fn object_keys(&mut self) -> Vec<(&'a [u8], usize)> {
        self.complete = false;
        let mut keys = Vec::new();
        if self.peek() != Some(b'{') {
            return keys;
        }
        self.i += 1;
        loop {
            self.ws();
            match self.peek() {
                Some(b'}') => {
                    self.i += 1;
                    self.complete = true;
                    return keys;
                }
                Some(b',') => {
                    self.i += 1;
                    continue;
                }
                Some(b'"') => {}
                _ => return keys,
            }
            let Some(key) = self.string() else {
                return keys;
            };
            self.ws();
            if self.peek() != Some(b':') {
                return keys;
            }
            self.i += 1;
            self.ws();
            keys.push((key, self.i));
            if !self.value() {
                return keys;
            }
        }
    }
}

/// Detects the format of `bytes`, reads it into `builder`, and returns the format.
pub(crate) fn read_detected(bytes: &[u8], builder: &mut TraceSetBuilder) -> Result<Format, ReadError> {
    let body = strip_bom(bytes);
    let json_formats = [Format::OtlpJson, Format::JaegerJson, Format::ZipkinJson];
    let mut reasons: Vec<(Format, String)> = Vec::new();
    match sniff(body) {
        Sniff::Empty => return Err(ReadError::Empty),
        Sniff::TempoSearch => {
            reasons.push((
                Format::OtlpJson,
                "this is a Tempo search response (trace summaries with rootServiceName), not a trace: \
                 fetch each trace by its id"
                    .to_string(),
            ));
            reasons.push((Format::JaegerJson, "no data[].spans".to_string()));
            reasons.push((Format::ZipkinJson, "not an array of spans".to_string()));
            reasons.push((
                Format::OtlpProto,
                "the input is JSON text, not binary protobuf".to_string(),
            ));
        }
        Sniff::Json(guess) => {
            let mut order: Vec<Format> = guess.into_iter().collect();
            order.extend(json_formats.iter().copied().filter(|f| Some(*f) != guess));
            for format in order {
                match read_with(format, body, builder) {
                    Ok(()) => return Ok(format),
                    Err(reason) => reasons.push((format, reason)),
                }
            }
            reasons.push((
                Format::OtlpProto,
                "the input is JSON text, not binary protobuf".to_string(),
            ));
        }
        Sniff::Text(first_line) => {
            for format in json_formats {
                reasons.push((format, "not JSON".to_string()));
            }
            reasons.push((
                Format::OtlpProto,
                format!("the input is text starting with {first_line:?}, not binary protobuf"),
            ));
        }
        Sniff::Binary => {
            match read_with(Format::OtlpProto, body, builder) {
                Ok(()) => return Ok(Format::OtlpProto),
                Err(reason) => reasons.push((Format::OtlpProto, reason)),
            }
            for format in json_formats {
                reasons.push((format, "binary data, not JSON".to_string()));
            }
        }
    }
    // Report in the order of Format::ALL.
    let rejections = Format::ALL
        .iter()
        .filter_map(|f| {
            reasons
                .iter()
                .find(|(g, _)| g == f)
                .map(|(format, reason)| Rejection {
                    format: *format,
                    reason: reason.clone(),
                })
        })
        .collect();
    Err(ReadError::NotATrace(rejections))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_envelopes() {
        let j = |f| Sniff::Json(Some(f));
        assert_eq!(sniff(br#"  {"resourceSpans":[]}"#), j(Format::OtlpJson));
        assert_eq!(sniff(b"\xEF\xBB\xBF{\"batches\":[]}"), j(Format::OtlpJson));
        assert_eq!(
            sniff(br#"{"metrics":{},"trace":{"resourceSpans":[]}}"#),
            j(Format::OtlpJson)
        );
        assert_eq!(sniff(br#"{"result":{"resourceSpans":[]}}"#), j(Format::OtlpJson));
        assert_eq!(sniff(b"{\"a\":1}\n{\"a\":2}\n"), j(Format::OtlpJson));
        assert_eq!(
            sniff(br#"{"_comment":"x {[\"","traceID":"1","spans":[]}"#),
            j(Format::JaegerJson)
        );
        assert_eq!(
            sniff(br#"{"data":[{"spans":[]}],"total":0}"#),
            j(Format::JaegerJson)
        );
        assert_eq!(sniff(br#"[{"traceID":"1","spans":[]}]"#), j(Format::JaegerJson));
        assert_eq!(sniff(br#"[{"traceId":"1","id":"2"}]"#), j(Format::ZipkinJson));
        assert_eq!(sniff(br#"[[{"traceId":"1","id":"2"}]]"#), j(Format::ZipkinJson));
        assert_eq!(sniff(b"[ ]"), j(Format::ZipkinJson));
        assert_eq!(sniff(br#"[{"resourceSpans":[]}]"#), j(Format::OtlpJson));
        assert_eq!(sniff(br#"{"other":1}"#), Sniff::Json(None));
        assert_eq!(
            sniff(br#"{"traces":[{"traceID":"ab","rootServiceName":"x"}],"metrics":{}}"#),
            Sniff::TempoSearch
        );
        assert_eq!(sniff(b" \n\t"), Sniff::Empty);
        assert_eq!(sniff(b""), Sniff::Empty);
        assert_eq!(
            sniff(b"404 page not found\n"),
            Sniff::Text("404 page not found".to_string())
        );
        assert_eq!(sniff(&[0x0a, 0x00]), Sniff::Binary);
        // Truncated documents still give a guess.
        assert_eq!(sniff(br#"{"resourceSpans":[{"resource":"#), j(Format::OtlpJson));
        assert_eq!(sniff(br#"{"x":"unterminated"#), Sniff::Json(None));
    }

    #[test]
    fn not_a_trace_lists_every_format() {
        let mut b = TraceSetBuilder::new();
        let err =
            read_detected(br#"{"traces":[{"traceID":"1","rootServiceName":"a"}]}"#, &mut b).unwrap_err();
        let ReadError::NotATrace(list) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(list.len(), 4);
        assert!(list[0].reason.contains("Tempo search response"), "{err}");
        let err = read_detected(b"hello world", &mut b).unwrap_err();
        let text = err.to_string();
        for label in ["OTLP JSON", "Jaeger JSON", "Zipkin v2 JSON", "OTLP protobuf"] {
            assert!(text.contains(label), "{text}");
        }
        assert_eq!(read_detected(b"\xEF\xBB\xBF  \n", &mut b), Err(ReadError::Empty));
        assert_eq!(b.span_count(), 0);
    }

    #[test]
    fn reads_with_bom_and_falls_back_on_a_wrong_guess() {
        let mut b = TraceSetBuilder::new();
        let doc = b"\xEF\xBB\xBF[{\"traceId\":\"1\",\"id\":\"2\",\"timestamp\":1,\"duration\":1}]";
        assert_eq!(read_detected(doc, &mut b), Ok(Format::ZipkinJson));
        // A bare Jaeger trace with extra keys.
        let doc = br#"{"x":1,"spans":[{"spanID":"1","traceID":"1","startTime":1,"duration":1}]}"#;
        assert_eq!(read_detected(doc, &mut b), Ok(Format::JaegerJson));
        assert_eq!(b.span_count(), 2);
    }
}
