//! Every URL of the SPA in one place: the pages, their query parameters, and the parse/build
//! pair for each, so a shared link reproduces the view exactly.
//!
//! - `/` home (drop, paste, demo) · `/traces` the loaded multi-trace set · `/search` search
//! - `/trace/{id}?source=&start=&end=&span=&view=&q=&zoom=&cp=1&only=1`
//! - everywhere: `embed=1`, `theme=light|dark`, `hideMinimap=1`, `hideHeader=1`, and Grafana's
//!   `from`/`to` (epoch milliseconds or `now-1h`), read as the time range when `start`/`end` are
//!   absent.
//!
//! `source` is `local` (a file loaded in this browser), `server` (the spanlens or Tempo that
//! serves the page) or a Tempo base URL. `start`/`end` are Unix seconds (Tempo's convention);
//! keeping them in the link lets a Tempo find the trace again. Pure Rust: unit-tested on the
//! host; the browser glue lives in `state`.

/// A page of the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    Home,
    Traces,
    Search,
    Trace {
        id: String,
    },
    /// Analysis of the whole loaded set: service graph, RED, grades, errors, compare.
    Insights,
    NotFound,
}

/// Where a trace comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Loaded from a file or paste in this browser.
    Local,
    /// The server that serves the page (spanlens, or a Tempo behind the same origin).
    Server,
    /// A Tempo (or spanlens) base URL.
    Url(String),
}

impl Source {
    /// Parses the `source` parameter.
    pub fn parse(s: &str) -> Source {
        match s {
            "" | "local" | "file" => Source::Local,
            "server" => Source::Server,
            url => Source::Url(url.trim_end_matches('/').to_string()),
        }
    }

    /// The `source` parameter spelling.
    pub fn as_param(&self) -> String {
        match self {
            Source::Local => "local".into(),
            Source::Server => "server".into(),
            Source::Url(u) => u.clone(),
        }
    }
}

/// The view tabs of the trace page.
pub const VIEWS: [&str; 8] = [
    "waterfall",
    "graph",
    "stats",
    "flame",
    "errors",
    "grades",
    "red",
    "compare",
];

/// The view tabs of the insights page (`/insights?view=`).
pub const INSIGHTS_VIEWS: [&str; 5] = ["graph", "red", "grades", "errors", "compare"];

/// Query parameters, typed. Unknown parameters are dropped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    pub source: Option<String>,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub span: Option<String>,
    pub view: Option<String>,
    pub q: Option<String>,
    /// Waterfall zoom window, fractions of the trace duration.
    pub zoom: Option<(f64, f64)>,
    pub critical_path: bool,
    pub matches_only: bool,
    pub embed: bool,
    pub theme: Option<String>,
    pub hide_minimap: bool,
    pub hide_header: bool,
    pub limit: Option<u32>,
    pub min_duration: Option<String>,
    pub max_duration: Option<String>,
    /// Relative time range of the search page (`1h`), when not absolute.
    pub range: Option<String>,
    /// Analysis views: the focused service and operation.
    pub service: Option<String>,
    pub op: Option<String>,
    /// Compare: the two trace ids.
    pub a: Option<String>,
    pub b: Option<String>,
    /// Category rules (base64url of the TOML/JSON text), when changed from the defaults.
    pub rules: Option<String>,
}

/// A parsed location.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub page: Page,
    pub params: Params,
}

impl Default for Route {
    fn default() -> Self {
        Route {
            page: Page::Home,
            params: Params::default(),
        }
    }
}

/// Normalises a trace id: 1–32 hex digits, any case → 32 lowercase digits. `None` otherwise.
pub fn normalize_trace_id(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() || s.len() > 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!("{:0>32}", s.to_ascii_lowercase()))
}

/// True when a search box entry looks like a trace id rather than a query (16–32 hex digits).
pub fn looks_like_trace_id(s: &str) -> bool {
    let s = s.trim();
    (16..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses Grafana's `from`/`to`: epoch milliseconds, or `now`, `now-15m`, `now-1h`, `now-7d`.
/// Returns Unix seconds.
pub fn parse_grafana_time(s: &str, now_secs: i64) -> Option<i64> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix("now") {
        if rest.is_empty() {
            return Some(now_secs);
        }
        let rel = rest.strip_prefix('-')?;
        return Some(now_secs - parse_relative_secs(rel)?);
    }
    let ms: i64 = s.parse().ok()?;
    Some(ms.div_euclid(1000))
}

/// `15m`, `1h`, `6h`, `24h`, `7d`, `30s`, `2w` → seconds.
pub fn parse_relative_secs(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit_at = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(unit_at);
    let n: i64 = n.parse().ok()?;
    let mul = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    Some(n * mul)
}

fn flag(v: &str) -> bool {
    matches!(v, "1" | "true" | "yes" | "")
}

/// Parses `pathname` + `search` (with or without its `?`). `now_secs` resolves `now-1h`.
pub fn parse(path: &str, search: &str, now_secs: i64) -> Route {
    let path = path.trim_end_matches('/');
    let page = match path {
        "" | "/index.html" => Page::Home,
        "/traces" => Page::Traces,
        "/search" => Page::Search,
        "/insights" => Page::Insights,
        p => match p.strip_prefix("/trace/") {
            Some(id) if !id.is_empty() && !id.contains('/') => Page::Trace {
                id: normalize_trace_id(&decode(id)).unwrap_or_else(|| decode(id)),
            },
            _ => Page::NotFound,
        },
    };
    let mut params = Params::default();
    let (mut from, mut to) = (None, None);
    for (k, v) in query_pairs(search) {
        match k.as_str() {
            "source" => params.source = Some(v),
            "start" => params.start = v.parse().ok(),
            "end" => params.end = v.parse().ok(),
            "span" => params.span = Some(v.to_ascii_lowercase()),
            "view" => params.view = Some(v),
            "q" => params.q = Some(v),
            "zoom" => {
                params.zoom = v.split_once(',').and_then(|(a, b)| {
                    let (a, b) = (a.parse::<f64>().ok()?, b.parse::<f64>().ok()?);
                    (a.is_finite() && b.is_finite() && 0.0 <= a && a < b && b <= 1.0).then_some((a, b))
                })
            }
            "cp" => params.critical_path = flag(&v),
            "only" => params.matches_only = flag(&v),
            "embed" | "kiosk" => params.embed = flag(&v),
            "theme" => params.theme = Some(v),
            "hideMinimap" => params.hide_minimap = flag(&v),
            "hideHeader" => params.hide_header = flag(&v),
            "limit" => params.limit = v.parse().ok(),
            "minDuration" => params.min_duration = Some(v),
            "maxDuration" => params.max_duration = Some(v),
            "range" => params.range = Some(v),
            "service" => params.service = Some(v),
            "op" => params.op = Some(v),
            "a" => params.a = Some(v.to_ascii_lowercase()),
            "b" => params.b = Some(v.to_ascii_lowercase()),
            "rules" => params.rules = Some(v),
            "from" => from = parse_grafana_time(&v, now_secs),
            "to" => to = parse_grafana_time(&v, now_secs),
            _ => {}
        }
    }
    if params.start.is_none() {
        params.start = from;
    }
    if params.end.is_none() {
        params.end = to;
    }
    Route { page, params }
}

impl Route {
    /// The trace page of `id` (normalised when it is a hex id).
    pub fn trace(id: &str, params: Params) -> Route {
        Route {
            page: Page::Trace {
                id: normalize_trace_id(id).unwrap_or_else(|| id.to_string()),
            },
            params,
        }
    }

    /// Builds the path and query (`/trace/…?source=…`).
    pub fn to_url(&self) -> String {
        let path = match &self.page {
            Page::Home | Page::NotFound => "/".to_string(),
            Page::Traces => "/traces".to_string(),
            Page::Search => "/search".to_string(),
            Page::Insights => "/insights".to_string(),
            Page::Trace { id } => format!("/trace/{}", encode(id)),
        };
        let p = &self.params;
        let mut q: Vec<(&str, String)> = Vec::new();
        let mut opt = |k: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                q.push((k, v.clone()));
            }
        };
        opt("source", &p.source);
        opt("q", &p.q);
        opt("range", &p.range);
        opt("minDuration", &p.min_duration);
        opt("maxDuration", &p.max_duration);
        opt("span", &p.span);
        opt("view", &p.view);
        opt("theme", &p.theme);
        opt("service", &p.service);
        opt("op", &p.op);
        opt("a", &p.a);
        opt("b", &p.b);
        opt("rules", &p.rules);
        if let Some(s) = p.start {
            q.push(("start", s.to_string()));
        }
        if let Some(e) = p.end {
            q.push(("end", e.to_string()));
        }
        if let Some(l) = p.limit {
            q.push(("limit", l.to_string()));
        }
        if let Some((a, b)) = p.zoom {
            q.push(("zoom", format!("{},{}", round4(a), round4(b))));
        }
        for (k, on) in [
            ("cp", p.critical_path),
            ("only", p.matches_only),
            ("embed", p.embed),
            ("hideMinimap", p.hide_minimap),
            ("hideHeader", p.hide_header),
        ] {
            if on {
                q.push((k, "1".into()));
            }
        }
        if q.is_empty() {
            return path;
        }
        let query: Vec<String> = q.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
        format!("{path}?{}", query.join("&"))
    }
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// Splits a query string into decoded pairs.
pub fn query_pairs(search: &str) -> Vec<(String, String)> {
    search
        .trim_start_matches('?')
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b',') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` and `+` (as a space).
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_url_round_trips() {
        let r = Route::trace(
            "ABC",
            Params {
                source: Some("http://tempo:3200".into()),
                start: Some(1_700_000_000),
                end: Some(1_700_003_600),
                span: Some("00f067aa0ba902b7".into()),
                q: Some("{ status = error }".into()),
                zoom: Some((0.25, 0.5)),
                critical_path: true,
                ..Params::default()
            },
        );
        let url = r.to_url();
        assert!(
            url.starts_with("/trace/00000000000000000000000000000abc?"),
            "{url}"
        );
        let (path, search) = url.split_once('?').unwrap();
        assert_eq!(parse(path, search, 0), r);
    }

    #[test]
    fn grafana_time_and_embed() {
        let r = parse(
            "/trace/1f",
            "?embed=1&from=now-1h&to=1700000000000&hideMinimap=1",
            10_000,
        );
        assert_eq!(r.params.start, Some(10_000 - 3600));
        assert_eq!(r.params.end, Some(1_700_000_000));
        assert!(r.params.embed && r.params.hide_minimap && !r.params.hide_header);
        assert_eq!(parse("/search", "", 0).page, Page::Search);
        assert_eq!(parse("/nope/x", "", 0).page, Page::NotFound);
        assert_eq!(parse("/", "", 0).page, Page::Home);
    }

    #[test]
    fn insights_url_round_trips() {
        let r = Route {
            page: Page::Insights,
            params: Params {
                view: Some("compare".into()),
                service: Some("front end".into()),
                op: Some("GET /x".into()),
                a: Some("0af7651916cd43dd8448eb211c80319c".into()),
                b: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
                rules: Some("ZGVmYXVsdHMgPSB0cnVl".into()),
                embed: true,
                ..Params::default()
            },
        };
        let url = r.to_url();
        assert!(url.starts_with("/insights?"), "{url}");
        let (path, search) = url.split_once('?').unwrap();
        assert_eq!(parse(path, search, 0), r);
        assert!(INSIGHTS_VIEWS.iter().all(|v| VIEWS.contains(v)));
    }

    #[test]
    fn ids_and_encoding() {
        assert!(looks_like_trace_id("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert!(!looks_like_trace_id("{ name = \"x\" }"));
        assert_eq!(normalize_trace_id("xyz"), None);
        assert_eq!(decode(&encode("a b/{ }=&é")), "a b/{ }=&é");
        assert_eq!(Source::parse("server"), Source::Server);
        assert_eq!(Source::parse("http://x/"), Source::Url("http://x".into()));
    }
}
