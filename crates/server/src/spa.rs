//! Serves the built web app (`--dist`, Trunk's `dist/`) at `/`.
//!
//! Client routes (`/trace/{id}`, `/search`, any extension-less path) fall back to
//! `index.html`; files get their MIME type (`application/wasm` for .wasm), hashed asset names
//! (`spanlens-web-1a2b3c4d5e6f7a8b_bg.wasm`) a one-year immutable cache, `index.html` and other
//! unhashed files `no-cache`. Paths with `..`, `.`-files, backslashes or encoded separators
//! are refused, and the resolved file must stay inside the dist directory (symlinks
//! included). Compression is the app-wide gzip layer. Not here: `/api` answers (a miss under
//! `/api/` is a plain 404, never the app).

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::path::{Path, PathBuf};

/// Long cache for content-hashed files.
pub const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Revalidate every time (index.html, unhashed files).
pub const CACHE_NO_CACHE: &str = "no-cache";

/// The MIME type for a file name.
pub fn mime_for(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "pb" => "application/x-protobuf",
        "gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

/// True when a file name carries a content hash (a `-`-separated part of 8+ hex digits).
pub fn is_hashed(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name);
    stem.split('-').skip(1).any(|part| {
        let hex = part.split('_').next().unwrap_or(part);
        hex.len() >= 8
            && hex.chars().all(|c| c.is_ascii_hexdigit())
            && hex.chars().any(|c| c.is_ascii_digit())
    })
}

/// The file a URL path names inside `dist`, if the path is acceptable.
pub fn resolve(dist: &Path, url_path: &str) -> Option<PathBuf> {
    let rel = url_path.trim_start_matches('/');
    if rel.is_empty() {
        return Some(dist.join("index.html"));
    }
    let mut out = dist.to_path_buf();
    for seg in rel.split('/') {
        if seg.is_empty()
            || seg.starts_with('.')
            || seg.contains('\\')
            || seg.contains('%')
            || seg.contains('\0')
            || seg.contains(':')
        {
            return None;
        }
        out.push(seg);
    }
    Some(out)
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "404 page not found\n",
    )
        .into_response()
}

async fn file_response(dist: &Path, file: &Path, cache: &'static str) -> Option<Response> {
    // The file must be inside dist once symlinks are resolved.
    let dist_real = tokio::fs::canonicalize(dist).await.ok()?;
    let real = tokio::fs::canonicalize(file).await.ok()?;
    if !real.starts_with(&dist_real) {
        return None;
    }
    let meta = tokio::fs::metadata(&real).await.ok()?;
    if !meta.is_file() {
        return None;
    }
    let bytes = tokio::fs::read(&real).await.ok()?;
    Some(
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, mime_for(&real)),
                (header::CACHE_CONTROL, cache),
            ],
            bytes,
        )
            .into_response(),
    )
}

/// The router's fallback: static files and the app's client routes.
pub async fn fallback(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return not_found();
    }
    let path = uri.path();
    if path.starts_with("/api/") || path == "/api" {
        return not_found();
    }
    let Some(dist) = state.config.dist_dir.clone() else {
        if path == "/" {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "spanlens server: the web app is not built here (pass --dist DIR). The Tempo API is at /api/.\n",
            )
                .into_response();
        }
        return not_found();
    };
    let Some(file) = resolve(&dist, path) else {
        return not_found();
    };
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let is_index = name == "index.html";
    let cache = if !is_index && is_hashed(name) {
        CACHE_IMMUTABLE
    } else {
        CACHE_NO_CACHE
    };
    if let Some(response) = file_response(&dist, &file, cache).await {
        return response;
    }
    // Client route: an extension-less path, or a browser asking for HTML.
    let last = path.rsplit('/').next().unwrap_or("");
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if !last.contains('.') || wants_html {
        if let Some(response) = file_response(&dist, &dist.join("index.html"), CACHE_NO_CACHE).await {
            return response;
        }
    }
    not_found()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_mime_and_resolution() {
        assert!(is_hashed("spanlens-web-1a2b3c4d5e6f7a8b_bg.wasm"));
        assert!(is_hashed("style-0123abcd.css"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("worker.js"));
        assert_eq!(mime_for(Path::new("a.wasm")), "application/wasm");
        let dist = Path::new("/srv/dist");
        assert_eq!(resolve(dist, "/"), Some(dist.join("index.html")));
        assert_eq!(resolve(dist, "/a/b.js"), Some(dist.join("a/b.js")));
        assert_eq!(resolve(dist, "/../etc/passwd"), None);
        assert_eq!(resolve(dist, "/a/%2e%2e/x"), None);
        assert_eq!(resolve(dist, "/.env"), None);
        assert_eq!(resolve(dist, "/a//b"), None);
    }
}
