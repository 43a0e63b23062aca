//! Shared helpers of the server's integration tests: OTLP batches, an app over a temp store,
//! and a `spanlens serve` child process on free ports.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use prost::Message;
use spanlens_core::formats::otlp_proto::wire;
use spanlens_server::config::Config;
use spanlens_server::state::AppState;
use spanlens_server::store::sqlite::SqliteStore;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn kv(k: &str, v: &str) -> wire::KeyValue {
    wire::KeyValue {
        key: k.to_string(),
        value: Some(wire::AnyValue {
            value: Some(wire::AnyValueKind::StringValue(v.to_string())),
        }),
    }
}

/// A span of trace `trace` (16 bytes from the seed), span number `n`; span 0 is the root.
pub fn span(trace: &[u8; 16], n: u64, name: &str, attrs: Vec<wire::KeyValue>) -> wire::Span {
    let mut id = [0u8; 8];
    id.copy_from_slice(&(n + 1).to_be_bytes());
    let parent = if n == 0 {
        vec![]
    } else {
        1u64.to_be_bytes().to_vec()
    };
    wire::Span {
        trace_id: trace.to_vec(),
        span_id: id.to_vec(),
        parent_span_id: parent,
        name: name.to_string(),
        kind: 2,
        start_time_unix_nano: 1_700_000_000_000_000_000 + n * 1_000,
        end_time_unix_nano: 1_700_000_000_000_000_000 + n * 1_000 + 500_000,
        attributes: attrs,
        ..wire::Span::default()
    }
}

pub fn trace_id(seed: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&seed.to_be_bytes());
    id[8..].copy_from_slice(&(!seed).to_be_bytes());
    id
}

/// One resource (service) with the given spans.
pub fn batch(service: &str, spans: Vec<wire::Span>) -> wire::TracesData {
    wire::TracesData {
        resource_spans: vec![wire::ResourceSpans {
            resource: Some(wire::Resource {
                attributes: vec![kv("service.name", service)],
                dropped_attributes_count: 0,
            }),
            scope_spans: vec![wire::ScopeSpans {
                scope: Some(wire::InstrumentationScope {
                    name: "test".to_string(),
                    ..Default::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            ..Default::default()
        }],
    }
}

/// `n` spans of one trace, as protobuf bytes.
pub fn trace_bytes(seed: u64, n: u64) -> Vec<u8> {
    let id = trace_id(seed);
    let spans = (0..n)
        .map(|i| span(&id, i, if i == 0 { "root" } else { "child" }, vec![]))
        .collect();
    batch("svc", spans).encode_to_vec()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// An app state over a fresh store in `dir`, configured by `tweak`.
pub fn state_in(dir: &Path, tweak: impl FnOnce(&mut Config)) -> AppState {
    let mut config = Config::for_data_dir(dir);
    tweak(&mut config);
    let store = SqliteStore::open_with_cap(dir, config.max_trace_bytes).unwrap();
    AppState::new(store, config)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `spanlens serve`; killed on drop.
pub struct Server {
    pub child: Child,
    pub http: u16,
    pub otlp_http: u16,
    pub otlp_grpc: u16,
}

impl Server {
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        let (http, otlp_http, otlp_grpc) = (free_port(), free_port(), free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_spanlens"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--http-listen")
            .arg(format!("127.0.0.1:{http}"))
            .arg("--otlp-http-listen")
            .arg(format!("127.0.0.1:{otlp_http}"))
            .arg("--otlp-grpc-listen")
            .arg(format!("127.0.0.1:{otlp_grpc}"))
            .args(extra)
            .arg("--log")
            .arg("warn")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start spanlens serve");
        let server = Server {
            child,
            http,
            otlp_http,
            otlp_grpc,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok((200, _)) = http_request(self.http, "GET", "/ready", &[], &[]) {
                if TcpStream::connect(("127.0.0.1", self.otlp_http)).is_ok() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("spanlens serve did not become ready");
    }

    /// SIGKILL, no chance to flush.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 client over a real socket (Connection: close): (status, body).
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let mut body = raw[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Ok((status, body))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}

pub fn store_of(state: &AppState) -> Arc<dyn spanlens_server::store::TraceStore> {
    state.store.clone()
}
