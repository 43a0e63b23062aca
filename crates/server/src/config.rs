//! Server configuration: `spanlens serve` flags, `SPANLENS_*` environment variables and an
//! optional TOML file (`--config`), resolved into one [`Config`].
//!
//! Precedence: a flag, then its environment variable, then the TOML file, then the built-in
//! default. The TOML file uses the flag names as keys (`http-listen = "0.0.0.0:3200"` or
//! `http_listen = ...`); list flags take arrays. Not here: reading the store or opening ports.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// What can be wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("bad config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid {what} {value:?}: {reason}")]
    Invalid {
        what: &'static str,
        value: String,
        reason: String,
    },
}

/// Options of `spanlens serve`. Every option can also be set with the `SPANLENS_*` variable
/// shown, or in the `--config` TOML file under the flag's name.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(
    about = "Run the server: OTLP ingest, durable store, Tempo-compatible API and the web app",
    after_help = "Examples:\n  spanlens serve --demo                      # try it: demo traces at http://127.0.0.1:3200\n  spanlens serve --data-dir /var/lib/spanlens --retention 14d\n  spanlens serve --tempo-url http://tempo:3200   # read from a Tempo cluster instead\n\nSend traces with any OpenTelemetry SDK: OTEL_EXPORTER_OTLP_ENDPOINT=http://HOST:4318"
)]
pub struct ServeArgs {
    /// TOML file with any of these options (flag names as keys).
    #[arg(long, env = "SPANLENS_CONFIG", value_name = "FILE", help_heading = "General")]
    pub config: Option<PathBuf>,

    /// Address of the query API and the web app (also accepts OTLP/HTTP and gRPC) [default: 127.0.0.1:3200].
    #[arg(
        long,
        env = "SPANLENS_HTTP_LISTEN",
        value_name = "ADDR",
        help_heading = "Listening"
    )]
    pub http_listen: Option<String>,
    /// Address of the OTLP/HTTP receiver (`POST /v1/traces`); `off` disables it [default: :4318].
    #[arg(
        long,
        env = "SPANLENS_OTLP_HTTP_LISTEN",
        value_name = "ADDR",
        help_heading = "Listening"
    )]
    pub otlp_http_listen: Option<String>,
    /// Address of the OTLP/gRPC receiver (`TraceService/Export`); `off` disables it [default: :4317].
    #[arg(
        long,
        env = "SPANLENS_OTLP_GRPC_LISTEN",
        value_name = "ADDR",
        help_heading = "Listening"
    )]
    pub otlp_grpc_listen: Option<String>,

    /// Directory of the embedded store [default: ./spanlens-data].
    #[arg(long, env = "SPANLENS_DATA_DIR", value_name = "DIR", help_heading = "Storage")]
    pub data_dir: Option<PathBuf>,
    /// Delete traces last written longer ago than this (`7d`, `12h`, `0` = keep forever) [default: 7d].
    #[arg(
        long,
        env = "SPANLENS_RETENTION",
        value_name = "DURATION",
        help_heading = "Storage"
    )]
    pub retention: Option<String>,
    /// Largest stored trace; spans beyond are refused and the trace reads back as PARTIAL [default: 50MB].
    #[arg(
        long,
        env = "SPANLENS_MAX_TRACE_BYTES",
        value_name = "BYTES",
        help_heading = "Storage"
    )]
    pub max_trace_bytes: Option<String>,
    /// Load a generated demo data set (gateway, router, postgres, vector store, LLM proxy) at startup.
    #[arg(long, env = "SPANLENS_DEMO", help_heading = "Storage")]
    pub demo: bool,

    /// Largest accepted OTLP request body, compressed or not [default: 16MiB].
    #[arg(
        long,
        env = "SPANLENS_MAX_BODY_BYTES",
        value_name = "BYTES",
        help_heading = "Ingest"
    )]
    pub max_body_bytes: Option<String>,
    /// Largest file accepted by `POST /api/upload` [default: 256MiB].
    #[arg(
        long,
        env = "SPANLENS_MAX_UPLOAD_BYTES",
        value_name = "BYTES",
        help_heading = "Ingest"
    )]
    pub max_upload_bytes: Option<String>,
    /// Attribute key pattern whose values are replaced by `[REDACTED]` at ingest (repeatable; `*` is a wildcard).
    #[arg(
        long = "redact-key",
        env = "SPANLENS_REDACT_KEYS",
        value_delimiter = ',',
        value_name = "PATTERN",
        help_heading = "Ingest"
    )]
    pub redact_keys: Vec<String>,
    /// Do not apply the default redaction patterns (authorization, cookie, password, token, ...).
    #[arg(long, env = "SPANLENS_NO_DEFAULT_REDACTION", help_heading = "Ingest")]
    pub no_default_redaction: bool,
    /// Require `X-Scope-OrgID` on every request and keep tenants apart, as Tempo does.
    #[arg(long, env = "SPANLENS_MULTITENANT", help_heading = "Ingest")]
    pub multitenant: bool,

    /// Bearer token required on ingest and query requests (both).
    #[arg(
        long,
        env = "SPANLENS_AUTH_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        help_heading = "Security"
    )]
    pub auth_token: Option<String>,
    /// Bearer token required on ingest requests (overrides --auth-token for ingest).
    #[arg(
        long,
        env = "SPANLENS_INGEST_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        help_heading = "Security"
    )]
    pub ingest_token: Option<String>,
    /// Bearer token required on query requests (overrides --auth-token for queries).
    #[arg(
        long,
        env = "SPANLENS_QUERY_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        help_heading = "Security"
    )]
    pub query_token: Option<String>,
    /// Origin allowed to call the API from a browser (repeatable; `*` for any). None by default.
    #[arg(
        long = "cors-origin",
        env = "SPANLENS_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN",
        help_heading = "Security"
    )]
    pub cors_origins: Vec<String>,
    /// Sites allowed to embed the web app in a frame (CSP frame-ancestors), e.g. `'self' https://grafana.example` [default: 'self'].
    #[arg(
        long,
        env = "SPANLENS_FRAME_ANCESTORS",
        value_name = "SOURCES",
        help_heading = "Security"
    )]
    pub frame_ancestors: Option<String>,

    /// Built web app to serve at `/` [default: ./dist when it exists].
    #[arg(long, env = "SPANLENS_DIST", value_name = "DIR", help_heading = "Web app")]
    pub dist: Option<PathBuf>,

    /// Read traces from this Tempo instead of the embedded store (query API is proxied to it).
    #[arg(
        long,
        env = "SPANLENS_TEMPO_URL",
        value_name = "URL",
        help_heading = "Tempo cluster"
    )]
    pub tempo_url: Option<String>,
    /// Also send every ingested batch to this OTLP/HTTP endpoint (e.g. `http://tempo:4318`).
    #[arg(
        long,
        env = "SPANLENS_FORWARD_OTLP",
        value_name = "URL",
        help_heading = "Tempo cluster"
    )]
    pub forward_otlp: Option<String>,

    /// Log format [default: text; possible values: text, json].
    #[arg(
        long,
        env = "SPANLENS_LOG_FORMAT",
        value_name = "FORMAT",
        help_heading = "Logging"
    )]
    pub log_format: Option<String>,
    /// Log filter, `RUST_LOG` syntax (`info`, `spanlens_server=debug`) [default: info].
    #[arg(long, env = "SPANLENS_LOG", value_name = "FILTER", help_heading = "Logging")]
    pub log: Option<String>,
}

/// The TOML file: same names as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    http_listen: Option<String>,
    otlp_http_listen: Option<String>,
    otlp_grpc_listen: Option<String>,
    data_dir: Option<PathBuf>,
    retention: Option<TomlScalar>,
    max_trace_bytes: Option<TomlScalar>,
    demo: Option<bool>,
    max_body_bytes: Option<TomlScalar>,
    max_upload_bytes: Option<TomlScalar>,
    redact_keys: Option<Vec<String>>,
    redact_key: Option<Vec<String>>,
    no_default_redaction: Option<bool>,
    multitenant: Option<bool>,
    auth_token: Option<String>,
    ingest_token: Option<String>,
    query_token: Option<String>,
    cors_origins: Option<Vec<String>>,
    cors_origin: Option<Vec<String>>,
    frame_ancestors: Option<String>,
    dist: Option<PathBuf>,
    tempo_url: Option<String>,
    forward_otlp: Option<String>,
    log_format: Option<String>,
    log: Option<String>,
}

/// A TOML value that may be written as a number or a string (`max_body_bytes = 1048576` or `"1MiB"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TomlScalar {
    Int(u64),
    Text(String),
}

impl TomlScalar {
    fn text(self) -> String {
        match self {
            TomlScalar::Int(n) => n.to_string(),
            TomlScalar::Text(s) => s,
        }
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Resolved configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub data_dir: PathBuf,
    /// Multi-tenancy: queries need `X-Scope-OrgID`.
    pub multitenant: bool,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted upload, in bytes.
    pub max_upload_bytes: usize,
    /// Per-trace size cap, in bytes.
    pub max_trace_bytes: u64,
    /// Built SPA directory, when serving it.
    pub dist_dir: Option<PathBuf>,
    /// Listen addresses; `None` = that listener is off.
    pub http_listen: Option<SocketAddr>,
    pub otlp_http_listen: Option<SocketAddr>,
    pub otlp_grpc_listen: Option<SocketAddr>,
    /// Retention; `None` = keep forever.
    pub retention: Option<Duration>,
    pub demo: bool,
    /// Attribute key patterns redacted at ingest (lowercase; defaults included unless disabled).
    pub redact_keys: Vec<String>,
    /// Bearer tokens; `None` = open.
    pub ingest_token: Option<String>,
    pub query_token: Option<String>,
    pub cors_origins: Vec<String>,
    /// CSP `frame-ancestors` sources.
    pub frame_ancestors: String,
    pub tempo_url: Option<String>,
    pub forward_otlp: Option<String>,
    pub log_format: LogFormat,
    pub log_filter: String,
}

/// Redaction patterns applied unless `--no-default-redaction`.
pub const DEFAULT_REDACT_KEYS: &[&str] = &[
    "authorization",
    "cookie",
    "set-cookie",
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "x-api-key",
];

impl Config {
    /// A configuration for tests and embedding: defaults, store under `data_dir`, no listeners.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            max_body_bytes: 16 * 1024 * 1024,
            max_upload_bytes: 256 * 1024 * 1024,
            max_trace_bytes: 50_000_000,
            retention: Some(Duration::from_secs(7 * 86_400)),
            redact_keys: DEFAULT_REDACT_KEYS.iter().map(|s| s.to_string()).collect(),
            frame_ancestors: "'self'".to_string(),
            log_filter: "info".to_string(),
            ..Config::default()
        }
    }
}

impl ServeArgs {
    /// Resolves flags, environment (already merged by clap) and the optional TOML file.
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let pick = |flag: &Option<String>, file: Option<String>, default: &str| -> String {
            flag.clone().or(file).unwrap_or_else(|| default.to_string())
        };
        let http_listen = parse_listen(
            "--http-listen",
            &pick(&self.http_listen, file.http_listen, "127.0.0.1:3200"),
        )?;
        let otlp_http_listen = parse_listen(
            "--otlp-http-listen",
            &pick(&self.otlp_http_listen, file.otlp_http_listen, ":4318"),
        )?;
        let otlp_grpc_listen = parse_listen(
            "--otlp-grpc-listen",
            &pick(&self.otlp_grpc_listen, file.otlp_grpc_listen, ":4317"),
        )?;
        let data_dir = self
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./spanlens-data"));
        let retention =
            parse_duration_opt(&pick(&self.retention, file.retention.map(TomlScalar::text), "7d"))?;
        let max_trace_bytes = parse_bytes(
            "--max-trace-bytes",
            &pick(
                &self.max_trace_bytes,
                file.max_trace_bytes.map(TomlScalar::text),
                "50MB",
            ),
        )?;
        let max_body_bytes = parse_bytes(
            "--max-body-bytes",
            &pick(
                &self.max_body_bytes,
                file.max_body_bytes.map(TomlScalar::text),
                "16MiB",
            ),
        )?;
        let max_upload_bytes = parse_bytes(
            "--max-upload-bytes",
            &pick(
                &self.max_upload_bytes,
                file.max_upload_bytes.map(TomlScalar::text),
                "256MiB",
            ),
        )?;
        let no_defaults = self.no_default_redaction || file.no_default_redaction.unwrap_or(false);
        let mut redact_keys: Vec<String> = if no_defaults {
            Vec::new()
        } else {
            DEFAULT_REDACT_KEYS.iter().map(|s| s.to_string()).collect()
        };
        let extra = if self.redact_keys.is_empty() {
            file.redact_keys.or(file.redact_key).unwrap_or_default()
        } else {
            self.redact_keys.clone()
        };
        for key in extra {
            let key = key.trim().to_ascii_lowercase();
            if !key.is_empty() && !redact_keys.contains(&key) {
                redact_keys.push(key);
            }
        }
        let auth_token = self
            .auth_token
            .clone()
            .or(file.auth_token)
            .filter(|t| !t.is_empty());
        let ingest_token = self
            .ingest_token
            .clone()
            .or(file.ingest_token)
            .filter(|t| !t.is_empty())
            .or_else(|| auth_token.clone());
        let query_token = self
            .query_token
            .clone()
            .or(file.query_token)
            .filter(|t| !t.is_empty())
            .or(auth_token);
        let cors_origins = if self.cors_origins.is_empty() {
            file.cors_origins.or(file.cors_origin).unwrap_or_default()
        } else {
            self.cors_origins.clone()
        };
        let dist_dir = match self.dist.clone().or(file.dist) {
            Some(dir) => Some(dir),
            None => {
                let default = PathBuf::from("./dist");
                default.join("index.html").is_file().then_some(default)
            }
        };
        let log_format = match pick(&self.log_format, file.log_format, "text").as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError::Invalid {
                    what: "--log-format",
                    value: other.to_string(),
                    reason: "expected text or json".to_string(),
                })
            }
        };
        Ok(Config {
            data_dir,
            multitenant: self.multitenant || file.multitenant.unwrap_or(false),
            max_body_bytes: usize::try_from(max_body_bytes).unwrap_or(usize::MAX),
            max_upload_bytes: usize::try_from(max_upload_bytes).unwrap_or(usize::MAX),
            max_trace_bytes,
            dist_dir,
            http_listen,
            otlp_http_listen,
            otlp_grpc_listen,
            retention,
            demo: self.demo || file.demo.unwrap_or(false),
            redact_keys,
            ingest_token,
            query_token,
            cors_origins,
            frame_ancestors: pick(&self.frame_ancestors, file.frame_ancestors, "'self'"),
            tempo_url: self
                .tempo_url
                .clone()
                .or(file.tempo_url)
                .filter(|u| !u.is_empty()),
            forward_otlp: self
                .forward_otlp
                .clone()
                .or(file.forward_otlp)
                .filter(|u| !u.is_empty()),
            log_format,
            log_filter: pick(&self.log, file.log, "info"),
        })
    }
}

fn read_file(path: &PathBuf) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.clone(),
        message: e.to_string(),
    })?;
    // Accept both `http-listen` and `http_listen`.
    let normalized: toml::Table = table.into_iter().map(|(k, v)| (k.replace('-', "_"), v)).collect();
    normalized
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })
}

/// Parses a listen address: `HOST:PORT`, `:PORT` (all interfaces), or `off`.
pub fn parse_listen(what: &'static str, text: &str) -> Result<Option<SocketAddr>, ConfigError> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("off") || text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else if text == "localhost" || text.starts_with("localhost:") {
        text.replacen("localhost", "127.0.0.1", 1)
    } else {
        text.to_string()
    };
    full.parse::<SocketAddr>()
        .map(Some)
        .map_err(|e| ConfigError::Invalid {
            what,
            value: text.to_string(),
            reason: e.to_string(),
        })
}

/// Parses `7d`, `12h`, `30m`, `45s`, `1w`, or a bare number of seconds; `0` means none.
pub fn parse_duration_opt(text: &str) -> Result<Option<Duration>, ConfigError> {
    let text = text.trim();
    let bad = |reason: &str| ConfigError::Invalid {
        what: "--retention",
        value: text.to_string(),
        reason: reason.to_string(),
    };
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let n: u64 = number
        .parse()
        .map_err(|_| bad("expected a number and a unit, like 7d"))?;
    let secs_per = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad("unit must be s, m, h, d or w")),
    };
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(Duration::from_secs(n.saturating_mul(secs_per))))
}

/// Parses a byte size: `16777216`, `16MiB`, `50MB`, `512k`.
pub fn parse_bytes(what: &'static str, text: &str) -> Result<u64, ConfigError> {
    let text = text.trim();
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let bad = |reason: &str| ConfigError::Invalid {
        what,
        value: text.to_string(),
        reason: reason.to_string(),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| bad("expected a number of bytes, like 16MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return Err(bad("unit must be B, kB, KiB, MB, MiB, GB or GiB")),
    };
    Ok(n.saturating_mul(mult))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_listens() {
        assert_eq!(parse_bytes("x", "16MiB").unwrap(), 16 * 1024 * 1024);
        assert_eq!(parse_bytes("x", "50MB").unwrap(), 50_000_000);
        assert_eq!(parse_bytes("x", "123").unwrap(), 123);
        assert!(parse_bytes("x", "12 parsecs").is_err());
        assert_eq!(
            parse_duration_opt("7d").unwrap(),
            Some(Duration::from_secs(604_800))
        );
        assert_eq!(parse_duration_opt("0").unwrap(), None);
        assert!(parse_duration_opt("soon").is_err());
        assert_eq!(
            parse_listen("x", ":4318").unwrap(),
            Some("0.0.0.0:4318".parse().unwrap())
        );
        assert_eq!(parse_listen("x", "off").unwrap(), None);
    }

    #[test]
    fn toml_file_under_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spanlens.toml");
        std::fs::write(
            &path,
            "http-listen = \"127.0.0.1:9999\"\nretention = \"2d\"\nmax_body_bytes = 1024\ncors-origin = [\"https://a.example\"]\nmultitenant = true\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            retention: Some("1h".to_string()),
            ..ServeArgs::default()
        };
        let config = args.resolve().unwrap();
        assert_eq!(config.http_listen, Some("127.0.0.1:9999".parse().unwrap()));
        assert_eq!(config.retention, Some(Duration::from_secs(3600)));
        assert_eq!(config.max_body_bytes, 1024);
        assert_eq!(config.cors_origins, vec!["https://a.example".to_string()]);
        assert!(config.multitenant);
        assert!(config.redact_keys.iter().any(|k| k == "authorization"));
    }
}
