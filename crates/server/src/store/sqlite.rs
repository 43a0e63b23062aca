//! The embedded, durable store: SQLite (bundled) in WAL mode; every acknowledged commit's WAL
//! is fsync'd (see below).
//!
//! Layout: `traces` holds one summary row per (tenant, trace id) — time range, duration, span
//! and error counts, root service/name, byte size, partial flag, last write time, the sorted
//! ids of the trace's distinct tags and its attribute filter ([`super::attr_bloom`]; NULL in
//! rows written before the column existed, which then stay NULL); `chunks` holds the spans,
//! one zstd-compressed protobuf `TracesData` per trace per request (see [`super::batch`]);
//! `tags` is the dictionary of distinct attribute values per tenant, scope and key (what the
//! tag endpoints list and what the tag filters of `find_traces` resolve against). Keys with
//! more than [`MAX_VALUES_PER_KEY`] distinct values stop being indexed (`saturated_keys`);
//! filters on them fall back to reading spans (TraceQL attribute equalities use the
//! attribute filters instead, which hold every value).
//!
//! Writes go through one writer thread that group-commits whatever requests are waiting into
//! one transaction; `append` returns only after that transaction committed and its WAL was
//! fsync'd, so a 200 after it survives a SIGKILL. The fsync runs on a second thread
//! ([`syncer`]; the connection uses `synchronous=NORMAL`, which writes but does not fsync
//! the WAL at commit), so the writer runs the next transaction meanwhile; WAL checkpoints
//! run on a third thread ([`checkpoint`]). Reads use a small pool of read connections (WAL
//! lets them run beside the writer) and rebuild traces with the core's protobuf reader; a TraceQL search
//! streams prefiltered candidates in result order ([`search`]). Retention deletes by
//! last write time, in small transactions.

mod checkpoint;
mod search;
mod syncer;

use super::attr_bloom;
use super::batch::{self, SplitBatch, TagKey, TraceChunk};
use super::{
    AppendOutcome, ScanControl, StoreError, StoreStats, StoredTrace, TagScope, TagValue, TraceFilter,
    TraceStore, TraceSummary,
};
use rusqlite::{params, params_from_iter, Connection, OpenFlags};
use spanlens_core::formats::otlp_proto::wire;
use spanlens_core::formats::{self, Format};
use spanlens_core::model::{TraceId, TraceSet, TraceSetBuilder};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

/// Distinct values indexed per (tenant, scope, key) before the key is marked saturated.
pub const MAX_VALUES_PER_KEY: usize = 2_000;
/// Most spans one group commit takes before committing.
const GROUP_MAX_SPANS: u64 = 100_000;
/// Traces deleted per retention transaction.
const DELETE_BATCH: usize = 2_000;
/// zstd level for chunks: a fast negative level, which leaves literals unencoded; on chunks of
/// a few KiB, building entropy tables per frame cost more than the few percent they save.
const ZSTD_LEVEL: i32 = -1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS traces(
  pk INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  trace_id BLOB NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  duration_ns INTEGER NOT NULL,
  span_count INTEGER NOT NULL,
  error_count INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  partial INTEGER NOT NULL DEFAULT 0,
  root_service TEXT NOT NULL DEFAULT '',
  root_name TEXT NOT NULL DEFAULT '',
  written_ns INTEGER NOT NULL,
  tags BLOB NOT NULL,
  attr_bloom BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS traces_by_id ON traces(trace_id, tenant);
CREATE INDEX IF NOT EXISTS traces_by_start ON traces(tenant, start_ns);
DROP INDEX IF EXISTS traces_by_duration;
CREATE INDEX IF NOT EXISTS traces_by_written ON traces(written_ns);
CREATE TABLE IF NOT EXISTS chunks(
  id INTEGER PRIMARY KEY,
  trace_pk INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_trace ON chunks(trace_pk);
CREATE TABLE IF NOT EXISTS tags(
  id INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  scope INTEGER NOT NULL,
  key TEXT NOT NULL,
  vtype INTEGER NOT NULL,
  value TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS tags_by_value ON tags(tenant, key, value, scope, vtype);
CREATE INDEX IF NOT EXISTS tags_by_scope ON tags(tenant, scope, key);
CREATE TABLE IF NOT EXISTS saturated_keys(
  tenant TEXT NOT NULL, scope INTEGER NOT NULL, key TEXT NOT NULL,
  PRIMARY KEY(tenant, scope, key)
) WITHOUT ROWID;
";

/// A compressed chunk with its facts, ready for the writer thread.
struct PreparedChunk {
    chunk: TraceChunk,
    compressed: Vec<u8>,
}

/// One append waiting in a group commit: tenant, chunks, the batch's distinct tags (chunks
/// refer to them by index), where to answer.
type PendingAppend = (
    String,
    Vec<PreparedChunk>,
    Vec<TagKey>,
    SyncSender<Result<AppendOutcome, StoreError>>,
);

enum Job {
    Append {
        tenant: String,
        chunks: Vec<PreparedChunk>,
        tags: Vec<TagKey>,
        reply: SyncSender<Result<AppendOutcome, StoreError>>,
    },
    Delete {
        cutoff_unix_nanos: u64,
        reply: SyncSender<Result<u64, StoreError>>,
    },
}

/// The SQLite store. Cheap to share (`Arc`); dropping the last handle stops the writer.
pub struct SqliteStore {
    path: PathBuf,
    jobs: Mutex<Option<SyncSender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
}

fn storage(e: impl std::fmt::Display) -> StoreError {
    StoreError::Storage(e.to_string())
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// SQLite stores INTEGER as i64; nanosecond times fit until 2262.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn encode_ids(ids: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ids.len() * 2);
    let mut prev = 0u32;
    for &id in ids {
        prost::encoding::encode_varint(u64::from(id.wrapping_sub(prev)), &mut out);
        prev = id;
    }
    out
}

fn decode_ids(mut bytes: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    let mut prev = 0u32;
    while !bytes.is_empty() {
        let Ok(delta) = prost::encoding::decode_varint(&mut bytes) else {
            break;
        };
        prev = prev.wrapping_add(u32::try_from(delta).unwrap_or(0));
        out.push(prev);
    }
    out
}

fn scope_code(scope: TagScope) -> u8 {
    match scope {
        TagScope::Resource => batch::SCOPE_RESOURCE,
        TagScope::Span => batch::SCOPE_SPAN,
        TagScope::Event => batch::SCOPE_EVENT,
        TagScope::Link => batch::SCOPE_LINK,
    }
}

fn scope_of(code: i64) -> Option<TagScope> {
    match u8::try_from(code).ok()? {
        batch::SCOPE_RESOURCE => Some(TagScope::Resource),
        batch::SCOPE_SPAN => Some(TagScope::Span),
        batch::SCOPE_EVENT => Some(TagScope::Event),
        batch::SCOPE_LINK => Some(TagScope::Link),
        _ => None,
    }
}

fn vtype_name(code: i64) -> &'static str {
    match u8::try_from(code).unwrap_or(0) {
        batch::VT_INT => "int",
        batch::VT_FLOAT => "float",
        batch::VT_BOOL => "bool",
        _ => "string",
    }
}

/// `?,?,?` for an IN list.
fn placeholders(n: usize) -> String {
    vec!["?"; n.max(1)].join(",")
}

/// The tenants as the first bound arguments of a query that starts `tenant IN (placeholders)`.
fn tenant_args(tenants: &[String]) -> Vec<Box<dyn rusqlite::ToSql>> {
    tenants
        .iter()
        .map(|t| Box::new(t.clone()) as Box<dyn rusqlite::ToSql>)
        .collect()
}

thread_local! {
    /// One zstd context per thread, reused: creating a context per chunk (100 per request)
    /// cost more than compressing.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Compresses one chunk with this thread's reusable zstd context.
fn compress_chunk(plain: &[u8]) -> Result<Vec<u8>, StoreError> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(storage)?);
        }
        match slot.as_mut() {
            Some(c) => c.compress(plain).map_err(storage),
            None => zstd::bulk::compress(plain, ZSTD_LEVEL).map_err(storage),
        }
    })
}

fn open_connection(path: &Path, write: bool) -> Result<Connection, StoreError> {
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(storage)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(storage)?;
    conn.execute_batch("PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;")
        .map_err(storage)?;
    Ok(conn)
}

/// Adds the columns that databases created by earlier versions lack (their rows read NULL).
fn add_missing_columns(conn: &Connection) -> Result<(), StoreError> {
    let has_bloom = conn
        .prepare("SELECT 1 FROM pragma_table_info('traces') WHERE name = 'attr_bloom'")
        .map_err(storage)?
        .exists([])
        .map_err(storage)?;
    if !has_bloom {
        conn.execute_batch("ALTER TABLE traces ADD COLUMN attr_bloom BLOB")
            .map_err(storage)?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the store under `data_dir`, with the default 50 MB trace cap.
    pub fn open(data_dir: &Path) -> Result<Arc<SqliteStore>, StoreError> {
        SqliteStore::open_with_cap(data_dir, 50_000_000)
    }

    /// Opens the store with a per-trace size cap (bytes of uncompressed protobuf; 0 = none):
    /// spans that would take a trace over it are refused and the trace reads back PARTIAL.
    pub fn open_with_cap(data_dir: &Path, max_trace_bytes: u64) -> Result<Arc<SqliteStore>, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Storage(format!("{}: {e}", data_dir.display())))?;
        let path = data_dir.join("spanlens.db");
        let conn = open_connection(&path, true)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;",
        )
        .map_err(storage)?;
        conn.execute_batch(&format!(
            "PRAGMA journal_size_limit={};",
            checkpoint::WAL_SIZE_LIMIT_BYTES
        ))
        .map_err(storage)?;
        conn.execute_batch(SCHEMA).map_err(storage)?;
        add_missing_columns(&conn)?;
        let mut wal_path = path.clone().into_os_string();
        wal_path.push("-wal");
        let writer_state = Writer::new(conn, max_trace_bytes, &path, PathBuf::from(wal_path))?;
        let (tx, rx) = sync_channel::<Job>(256);
        let handle = std::thread::Builder::new()
            .name("spanlens-store-writer".to_string())
            .spawn(move || writer_state.run(rx))
            .map_err(storage)?;
        Ok(Arc::new(SqliteStore {
            path,
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            readers: Mutex::new(Vec::new()),
        }))
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting writes, waits for the writer to finish what it holds, and checkpoints
    /// the WAL. Later appends fail.
    pub fn close(&self) {
        let sender = self.jobs.lock().ok().and_then(|mut j| j.take());
        drop(sender);
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    fn sender(&self) -> Result<SyncSender<Job>, StoreError> {
        self.jobs
            .lock()
            .map_err(|_| storage("store lock poisoned"))?
            .clone()
            .ok_or_else(|| storage("the store is closed"))
    }

    /// Stores an already split batch (the ingest fast path). Compression happens here, on the
    /// caller's thread; the writer thread only runs SQL.
    pub fn store_split(&self, tenant: &str, split: SplitBatch) -> Result<AppendOutcome, StoreError> {
        let started = std::time::Instant::now();
        let mut chunks = Vec::with_capacity(split.chunks.len());
        for chunk in split.chunks {
            let compressed = compress_chunk(&chunk.encoded)?;
            chunks.push(PreparedChunk { chunk, compressed });
        }
        if chunks.is_empty() {
            return Ok(AppendOutcome {
                spans_stored: 0,
                spans_rejected: split.rejected,
            });
        }
        let compressed = started.elapsed();
        let (reply, answer) = sync_channel(1);
        self.sender()?
            .send(Job::Append {
                tenant: tenant.to_string(),
                chunks,
                tags: split.tags,
                reply,
            })
            .map_err(|_| storage("the store writer stopped"))?;
        let mut outcome = answer.recv().map_err(|_| storage("the store writer stopped"))??;
        tracing::trace!(
            compress_micros = compressed.as_micros() as u64,
            commit_wait_micros = (started.elapsed() - compressed).as_micros() as u64,
            "append timing"
        );
        outcome.spans_rejected += split.rejected;
        Ok(outcome)
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let conn = self.readers.lock().ok().and_then(|mut pool| pool.pop());
        let conn = match conn {
            Some(c) => c,
            None => open_connection(&self.path, false)?,
        };
        let result = f(&conn);
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < 8 {
                pool.push(conn);
            }
        }
        result
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

thread_local! {
    /// One zstd decompression context per reading thread, reused across chunks.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Largest frame size taken from a frame header at face value (bigger ones stream).
const MAX_FRAME_PREALLOC: usize = 64 << 20;

/// Appends the decompressed `data` (one zstd frame) to `out`, with this thread's reusable
/// context when the frame records its size (the writer's frames do).
fn decompress_into(data: &[u8], out: &mut Vec<u8>) -> Result<(), StoreError> {
    let size = zstd::zstd_safe::get_frame_content_size(data)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n <= MAX_FRAME_PREALLOC);
    let Some(size) = size else {
        out.extend_from_slice(&zstd::stream::decode_all(data).map_err(storage)?);
        return Ok(());
    };
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new().map_err(storage)?);
        }
        let plain = match slot.as_mut() {
            Some(d) => d.decompress(data, size).map_err(storage)?,
            None => zstd::stream::decode_all(data).map_err(storage)?,
        };
        out.extend_from_slice(&plain);
        Ok(())
    })
}

/// Reads the chunks of the given trace rows and decodes them into one builder.
fn read_chunks(conn: &Connection, pks: &[i64], builder: &mut TraceSetBuilder) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT data FROM chunks WHERE trace_pk = ?1 ORDER BY id")
        .map_err(storage)?;
    let mut buf = Vec::new();
    for pk in pks {
        let rows = stmt
            .query_map([pk], |row| row.get::<_, Vec<u8>>(0))
            .map_err(storage)?;
        for data in rows {
            let data = data.map_err(storage)?;
            decompress_into(&data, &mut buf)?;
        }
    }
    if !buf.is_empty() {
        formats::read_into(builder, &buf, Some(Format::OtlpProto), None).map_err(storage)?;
    }
    Ok(())
}

/// Tag ids matching one (key, value) filter, and whether the key is saturated (not fully indexed).
fn resolve_filter_tag(
    conn: &Connection,
    tenants: &[String],
    scopes: Option<&[u8]>,
    key: &str,
    value: &str,
) -> Result<(HashSet<u32>, bool), StoreError> {
    let sql = format!(
        "SELECT id, scope FROM tags WHERE tenant IN ({}) AND key = ? AND value = ?",
        placeholders(tenants.len())
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(storage)?;
    let mut args: Vec<&dyn rusqlite::ToSql> = tenants.iter().map(|t| t as &dyn rusqlite::ToSql).collect();
    args.push(&key);
    args.push(&value);
    let mut ids = HashSet::new();
    let rows = stmt
        .query_map(args.as_slice(), |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
        })
        .map_err(storage)?;
    for row in rows {
        let (id, scope) = row.map_err(storage)?;
        let scope_ok = scopes.is_none_or(|s| u8::try_from(scope).is_ok_and(|c| s.contains(&c)));
        if scope_ok {
            ids.insert(u32::try_from(id).unwrap_or(u32::MAX));
        }
    }
    let sql = format!(
        "SELECT count(*) FROM saturated_keys WHERE tenant IN ({}) AND key = ?",
        placeholders(tenants.len())
    );
    let mut args: Vec<&dyn rusqlite::ToSql> = tenants.iter().map(|t| t as &dyn rusqlite::ToSql).collect();
    args.push(&key);
    let saturated: i64 = conn
        .prepare_cached(&sql)
        .map_err(storage)?
        .query_row(args.as_slice(), |row| row.get(0))
        .map_err(storage)?;
    Ok((ids, saturated > 0))
}

/// One filter condition on tags.
struct TagCondition {
    ids: HashSet<u32>,
    /// Not fully indexed: a trace without the tag may still match; check its spans.
    saturated: bool,
    key: String,
    value: String,
    /// `Some(true)`: span name; otherwise an attribute.
    is_name: bool,
}

/// Checks a loaded trace against the conditions that the index could not decide.
fn spans_match(set: &TraceSet, conditions: &[&TagCondition]) -> bool {
    conditions.iter().all(|c| {
        set.spans().iter().any(|span| {
            if c.is_name {
                return set.name(span) == c.value;
            }
            set.span_attr_text(span, &c.key).is_some_and(|v| v == c.value)
                || resource_text(set, span, &c.key).is_some_and(|v| v == c.value)
        })
    })
}

fn resource_text(set: &TraceSet, span: &spanlens_core::model::Span, key: &str) -> Option<String> {
    let value = set.resource_attr(span, key)?;
    match value {
        spanlens_core::model::Value::Str(id) => Some(set.str(id).to_string()),
        spanlens_core::model::Value::Int(i) => Some(i.to_string()),
        spanlens_core::model::Value::Double(d) => Some(spanlens_core::model::format_double(d)),
        spanlens_core::model::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl TraceStore for SqliteStore {
    fn append(&self, tenant: &str, batch: &TraceSet) -> Result<AppendOutcome, StoreError> {
        let data = super::set_to_otlp(batch)?;
        self.store_split(tenant, batch::split(&data.resource_spans))
    }

    fn accepts_split(&self) -> bool {
        true
    }

    fn append_split(&self, tenant: &str, split: SplitBatch) -> Result<AppendOutcome, StoreError> {
        self.store_split(tenant, split)
    }

    fn append_otlp(&self, tenant: &str, data: &wire::TracesData) -> Result<AppendOutcome, StoreError> {
        let started = std::time::Instant::now();
        let split = batch::split(&data.resource_spans);
        tracing::trace!(
            split_micros = started.elapsed().as_micros() as u64,
            "split timing"
        );
        self.store_split(tenant, split)
    }

    fn get_trace(
        &self,
        tenants: &[String],
        trace_id: TraceId,
        window: Option<(u64, u64)>,
    ) -> Result<Option<StoredTrace>, StoreError> {
        if tenants.is_empty() {
            return Ok(None);
        }
        self.with_reader(|conn| {
            let sql = format!(
                "SELECT pk, partial, start_ns, end_ns FROM traces WHERE trace_id = ? AND tenant IN ({})",
                placeholders(tenants.len())
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(storage)?;
            let id = trace_id.0.to_vec();
            let mut args: Vec<&dyn rusqlite::ToSql> = vec![&id];
            args.extend(tenants.iter().map(|t| t as &dyn rusqlite::ToSql));
            let rows: Vec<(i64, bool, u64, u64)> = stmt
                .query_map(args.as_slice(), |row| {
                    Ok((
                        row.get(0)?,
                        row.get::<_, i64>(1)? != 0,
                        to_u64(row.get(2)?),
                        to_u64(row.get(3)?),
                    ))
                })
                .map_err(storage)?
                .collect::<Result<_, _>>()
                .map_err(storage)?;
            let rows: Vec<_> = rows
                .into_iter()
                .filter(|(_, _, start, end)| window.is_none_or(|(ws, we)| *end >= ws && *start <= we))
                .collect();
            if rows.is_empty() {
                return Ok(None);
            }
            let partial = rows.iter().any(|r| r.1);
            let pks: Vec<i64> = rows.iter().map(|r| r.0).collect();
            let mut builder = TraceSetBuilder::new();
            read_chunks(conn, &pks, &mut builder)?;
            Ok(Some(StoredTrace {
                set: builder.finish(),
                partial,
            }))
        })
    }

    fn find_traces(&self, tenants: &[String], filter: &TraceFilter) -> Result<Vec<TraceSummary>, StoreError> {
        if tenants.is_empty() {
            return Ok(Vec::new());
        }
        self.with_reader(|conn| {
            // Resolve tag conditions first: an indexed condition with no id matches nothing.
            let mut conditions = Vec::new();
            if let Some(service) = &filter.service {
                let (ids, saturated) =
                    resolve_filter_tag(conn, tenants, Some(&[batch::SCOPE_RESOURCE]), "service.name", service)?;
                conditions.push(TagCondition {
                    ids,
                    saturated,
                    key: "service.name".to_string(),
                    value: service.clone(),
                    is_name: false,
                });
            }
            if let Some(name) = &filter.span_name {
                let (ids, saturated) = resolve_filter_tag(conn, tenants, Some(&[batch::SCOPE_NAME]), "name", name)?;
                conditions.push(TagCondition {
                    ids,
                    saturated,
                    key: "name".to_string(),
                    value: name.clone(),
                    is_name: true,
                });
            }
            for (key, value) in &filter.attributes {
                let (ids, saturated) = resolve_filter_tag(
                    conn,
                    tenants,
                    Some(&[batch::SCOPE_RESOURCE, batch::SCOPE_SPAN]),
                    key,
                    value,
                )?;
                conditions.push(TagCondition {
                    ids,
                    saturated,
                    key: key.clone(),
                    value: value.clone(),
                    is_name: false,
                });
            }
            if conditions.iter().any(|c| c.ids.is_empty() && !c.saturated) {
                return Ok(Vec::new());
            }
            let mut sql = format!(
                "SELECT pk, trace_id, root_service, root_name, start_ns, end_ns, span_count, error_count, tags \
                 FROM traces WHERE tenant IN ({})",
                placeholders(tenants.len())
            );
            let mut args = tenant_args(tenants);
            if let Some(start) = filter.start_unix_nanos {
                sql.push_str(" AND end_ns >= ?");
                args.push(Box::new(to_i64(start)));
            }
            if let Some(end) = filter.end_unix_nanos {
                sql.push_str(" AND start_ns <= ?");
                args.push(Box::new(to_i64(end)));
            }
            if let Some(min) = filter.min_duration_nanos {
                sql.push_str(" AND duration_ns >= ?");
                args.push(Box::new(to_i64(min)));
            }
            if let Some(max) = filter.max_duration_nanos {
                sql.push_str(" AND duration_ns <= ?");
                args.push(Box::new(to_i64(max)));
            }
            if filter.errors_only {
                sql.push_str(" AND error_count > 0");
            }
            sql.push_str(" ORDER BY start_ns DESC");
            let mut stmt = conn.prepare_cached(&sql).map_err(storage)?;
            let mut rows = stmt.query(params_from_iter(args.iter())).map_err(storage)?;
            let mut out = Vec::new();
            // (tag id, mask of the conditions it satisfies), sorted: one merge walk per row.
            let mut wanted: Vec<(u32, u64)> = Vec::new();
            for (i, c) in conditions.iter().enumerate().take(64) {
                wanted.extend(c.ids.iter().map(|id| (*id, 1u64 << i)));
            }
            wanted.sort_unstable();
            while let Some(row) = rows.next().map_err(storage)? {
                let pk: i64 = row.get(0).map_err(storage)?;
                let mut unsure = Vec::new();
                if !conditions.is_empty() {
                    let tag_blob = row.get_ref(8).map_err(storage)?.as_blob().map_err(storage)?;
                    let held = search::held_mask(tag_blob, &wanted);
                    let mut ok = true;
                    for (i, c) in conditions.iter().enumerate() {
                        if i < 64 && held & (1u64 << i) != 0 {
                            continue;
                        }
                        if c.saturated {
                            unsure.push(c);
                        } else {
                            ok = false;
                            break;
                        }
                    }
                    if !ok {
                        continue;
                    }
                }
                if !unsure.is_empty() {
                    let mut builder = TraceSetBuilder::new();
                    read_chunks(conn, &[pk], &mut builder)?;
                    if !spans_match(&builder.finish(), &unsure) {
                        continue;
                    }
                }
                let id_bytes: Vec<u8> = row.get(1).map_err(storage)?;
                let Ok(id) = <[u8; 16]>::try_from(id_bytes.as_slice()) else {
                    continue;
                };
                out.push(TraceSummary {
                    trace_id: TraceId(id),
                    root_service: row.get(2).map_err(storage)?,
                    root_name: row.get(3).map_err(storage)?,
                    start_unix_nanos: to_u64(row.get(4).map_err(storage)?),
                    end_unix_nanos: to_u64(row.get(5).map_err(storage)?),
                    span_count: to_u64(row.get(6).map_err(storage)?),
                    error_count: to_u64(row.get(7).map_err(storage)?),
                });
                if filter.limit > 0 && out.len() >= filter.limit {
                    break;
                }
            }
            Ok(out)
        })
    }

    fn scan_candidates(
        &self,
        tenants: &[String],
        filter: &TraceFilter,
        prefilter: &spanlens_core::query::Prefilter,
        first_batch: usize,
        visit: &mut dyn FnMut(TraceSet) -> Result<ScanControl, StoreError>,
    ) -> Result<(), StoreError> {
        self.with_reader(|conn| {
            search::scan(
                conn,
                tenants,
                filter,
                prefilter,
                first_batch,
                search::Pushdown::SAFE,
                visit,
            )
        })
    }

    fn load_traces(&self, tenants: &[String], ids: &[TraceId]) -> Result<TraceSet, StoreError> {
        let mut builder = TraceSetBuilder::new();
        if tenants.is_empty() || ids.is_empty() {
            return Ok(builder.finish());
        }
        self.with_reader(|conn| {
            let sql = format!(
                "SELECT pk FROM traces WHERE trace_id = ? AND tenant IN ({})",
                placeholders(tenants.len())
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(storage)?;
            let mut pks = Vec::new();
            for id in ids {
                let bytes = id.0.to_vec();
                let mut args: Vec<&dyn rusqlite::ToSql> = vec![&bytes];
                args.extend(tenants.iter().map(|t| t as &dyn rusqlite::ToSql));
                let rows = stmt
                    .query_map(args.as_slice(), |row| row.get::<_, i64>(0))
                    .map_err(storage)?;
                for pk in rows {
                    pks.push(pk.map_err(storage)?);
                }
            }
            read_chunks(conn, &pks, &mut builder)
        })?;
        Ok(builder.finish())
    }

    fn tag_names(
        &self,
        tenants: &[String],
        scope: Option<TagScope>,
    ) -> Result<Vec<(TagScope, String)>, StoreError> {
        if tenants.is_empty() {
            return Ok(Vec::new());
        }
        self.with_reader(|conn| {
            let mut sql = format!(
                "SELECT DISTINCT scope, key FROM tags WHERE tenant IN ({}) AND scope < 9",
                placeholders(tenants.len())
            );
            let mut args = tenant_args(tenants);
            if let Some(scope) = scope {
                sql.push_str(" AND scope = ?");
                args.push(Box::new(i64::from(scope_code(scope))));
            }
            // Saturated keys still have their first values in `tags`, so they are listed.
            let mut stmt = conn.prepare_cached(&sql).map_err(storage)?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(storage)?;
            let mut out = Vec::new();
            for row in rows {
                let (code, key) = row.map_err(storage)?;
                if let Some(scope) = scope_of(code) {
                    out.push((scope, key));
                }
            }
            out.sort();
            out.dedup();
            Ok(out)
        })
    }

    fn tag_values(
        &self,
        tenants: &[String],
        scope: Option<TagScope>,
        key: &str,
        limit: usize,
    ) -> Result<Vec<TagValue>, StoreError> {
        if tenants.is_empty() {
            return Ok(Vec::new());
        }
        self.with_reader(|conn| {
            let mut sql = format!(
                "SELECT DISTINCT vtype, value FROM tags WHERE tenant IN ({}) AND key = ? AND scope < 9",
                placeholders(tenants.len())
            );
            let mut args = tenant_args(tenants);
            args.push(Box::new(key.to_string()));
            if let Some(scope) = scope {
                sql.push_str(" AND scope = ?");
                args.push(Box::new(i64::from(scope_code(scope))));
            }
            let mut stmt = conn.prepare_cached(&sql).map_err(storage)?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(storage)?;
            let mut out = Vec::new();
            for row in rows {
                let (vtype, value) = row.map_err(storage)?;
                out.push(TagValue {
                    value_type: vtype_name(vtype),
                    value,
                });
            }
            out.sort();
            out.dedup();
            if limit > 0 {
                out.truncate(limit);
            }
            Ok(out)
        })
    }

    fn delete_before(&self, cutoff_unix_nanos: u64) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let (reply, answer) = sync_channel(1);
            self.sender()?
                .send(Job::Delete {
                    cutoff_unix_nanos,
                    reply,
                })
                .map_err(|_| storage("the store writer stopped"))?;
            let n = answer.recv().map_err(|_| storage("the store writer stopped"))??;
            total += n;
            if n < DELETE_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let (traces, spans) = self.with_reader(|conn| {
            conn.query_row(
                "SELECT count(*), coalesce(sum(span_count), 0) FROM traces",
                [],
                |row| Ok((to_u64(row.get(0)?), to_u64(row.get(1)?))),
            )
            .map_err(storage)
        })?;
        let mut bytes_on_disk = 0;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            if let Ok(meta) = std::fs::metadata(PathBuf::from(p)) {
                bytes_on_disk += meta.len();
            }
        }
        Ok(StoreStats {
            traces,
            spans,
            bytes_on_disk,
        })
    }
}

/// State of the writer thread: its connection and the in-memory tag dictionary.
struct Writer {
    conn: Connection,
    /// Per-trace size cap (uncompressed protobuf bytes); 0 = none.
    max_trace_bytes: u64,
    /// Tag dictionary per tenant (looked up without allocating on the hot path).
    tenants: hashbrown::HashMap<String, TenantDict>,
    /// fsyncs the WAL after each group commit and only then answers its appends.
    syncer: syncer::Syncer,
    /// Checkpoints the WAL beside the writer.
    checkpointer: checkpoint::Checkpointer,
    /// Held around each group commit (see [`checkpoint`]).
    gate: checkpoint::Gate,
}

/// One tenant's tag dictionary.
#[derive(Default)]
struct TenantDict {
    ids: hashbrown::HashMap<TagKey, u32>,
    /// Per key: distinct values indexed so far per scope, and which scopes are saturated.
    keys: hashbrown::HashMap<String, KeyState>,
}

#[derive(Default)]
struct KeyState {
    counts: [usize; 10],
    saturated: u16,
}

impl KeyState {
    fn is_saturated(&self, scope: u8) -> bool {
        self.saturated & (1u16 << (scope % 10)) != 0
    }
}

impl Writer {
    fn new(
        conn: Connection,
        max_trace_bytes: u64,
        db_path: &Path,
        wal_path: PathBuf,
    ) -> Result<Writer, StoreError> {
        let gate = checkpoint::Gate::default();
        let mut writer = Writer {
            conn,
            max_trace_bytes,
            tenants: hashbrown::HashMap::new(),
            syncer: syncer::Syncer::start(wal_path)?,
            checkpointer: checkpoint::Checkpointer::start(db_path.to_path_buf(), gate.clone())?,
            gate,
        };
        writer.load_dictionary()?;
        Ok(writer)
    }

    fn load_dictionary(&mut self) -> Result<(), StoreError> {
        self.tenants.clear();
        let mut stmt = self
            .conn
            .prepare("SELECT id, tenant, scope, key, vtype, value FROM tags")
            .map_err(storage)?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, i64>(4)?,
                    row.get::<_, String>(5)?,
                ))
            })
            .map_err(storage)?;
        for row in rows {
            let (id, tenant, scope, key, vtype, value) = row.map_err(storage)?;
            let scope = u8::try_from(scope).unwrap_or(0) % 10;
            let dict = self.tenants.entry(tenant).or_default();
            if let Some(count) = dict
                .keys
                .entry(key.clone())
                .or_default()
                .counts
                .get_mut(usize::from(scope))
            {
                *count += 1;
            }
            dict.ids.insert(
                TagKey {
                    scope,
                    key,
                    vtype: u8::try_from(vtype).unwrap_or(0),
                    value,
                },
                u32::try_from(id).unwrap_or(u32::MAX),
            );
        }
        drop(stmt);
        let mut stmt = self
            .conn
            .prepare("SELECT tenant, scope, key FROM saturated_keys")
            .map_err(storage)?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(storage)?;
        for row in rows {
            let (tenant, scope, key) = row.map_err(storage)?;
            let scope = u8::try_from(scope).unwrap_or(0) % 10;
            let state = self
                .tenants
                .entry(tenant)
                .or_default()
                .keys
                .entry(key)
                .or_default();
            state.saturated |= 1u16 << scope;
        }
        Ok(())
    }

    fn run(mut self, jobs: Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut group = vec![first];
            let mut spans: u64 = 0;
            while spans < GROUP_MAX_SPANS {
                match jobs.try_recv() {
                    Ok(job) => {
                        if let Job::Append { chunks, .. } = &job {
                            spans += chunks.iter().map(|c| c.chunk.span_count).sum::<u64>();
                        }
                        group.push(job);
                    }
                    Err(_) => break,
                }
            }
            self.run_group(group);
        }
        self.syncer.stop();
        self.checkpointer.stop();
        let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    }

    fn run_group(&mut self, group: Vec<Job>) {
        let mut appends = Vec::new();
        for job in group {
            match job {
                Job::Append {
                    tenant,
                    chunks,
                    tags,
                    reply,
                } => appends.push((tenant, chunks, tags, reply)),
                Job::Delete {
                    cutoff_unix_nanos,
                    reply,
                } => {
                    let _ = reply.send(self.delete(cutoff_unix_nanos));
                }
            }
        }
        if appends.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let gate = self.gate.clone();
        let result = match gate.lock() {
            Ok(_held) => self.write_appends(&appends),
            Err(_) => Err(storage("store gate poisoned")),
        };
        tracing::debug!(
            requests = appends.len(),
            spans = appends
                .iter()
                .flat_map(|a| a.1.iter())
                .map(|c| c.chunk.span_count)
                .sum::<u64>(),
            micros = started.elapsed().as_micros() as u64,
            "group commit"
        );
        match result {
            Ok(outcomes) => {
                // Answered by the syncer once the WAL holding this transaction is on disk.
                let committed = appends
                    .into_iter()
                    .zip(outcomes)
                    .map(|((_, _, _, reply), outcome)| (reply, outcome))
                    .collect();
                self.syncer.submit(committed);
            }
            Err(e) => {
                tracing::error!(error = %e, "store write failed");
                // The in-memory dictionary may name rows that were rolled back.
                if let Err(e) = self.load_dictionary() {
                    tracing::error!(error = %e, "reloading the tag dictionary failed");
                }
                for (_, _, _, reply) in appends {
                    let _ = reply.send(Err(StoreError::Storage(e.to_string())));
                }
            }
        }
    }

    fn write_appends(&mut self, appends: &[PendingAppend]) -> Result<Vec<AppendOutcome>, StoreError> {
        let now = to_i64(now_nanos());
        let tx = self.conn.transaction().map_err(storage)?;
        let mut outcomes = Vec::with_capacity(appends.len());
        {
            let mut select = tx
                .prepare_cached(
                    "SELECT pk, bytes, tags, start_ns, end_ns, attr_bloom FROM traces WHERE trace_id = ?1 AND tenant = ?2",
                )
                .map_err(storage)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO traces(tenant, trace_id, start_ns, end_ns, duration_ns, span_count, error_count, bytes, \
                     partial, root_service, root_name, written_ns, tags, attr_bloom) \
                     VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14) \
                     ON CONFLICT(trace_id, tenant) DO NOTHING",
                )
                .map_err(storage)?;
            let mut update = tx
                .prepare_cached(
                    "UPDATE traces SET start_ns=?2, end_ns=?3, duration_ns=?4, span_count=span_count+?5, \
                     error_count=error_count+?6, bytes=?7, root_service=CASE WHEN ?8 IS NULL THEN root_service ELSE ?8 END, \
                     root_name=CASE WHEN ?9 IS NULL THEN root_name ELSE ?9 END, written_ns=?10, tags=?11, \
                     attr_bloom=?12 WHERE pk=?1",
                )
                .map_err(storage)?;
            let mut mark_partial = tx
                .prepare_cached("UPDATE traces SET partial=1, written_ns=?2 WHERE pk=?1")
                .map_err(storage)?;
            let mut insert_chunk = tx
                .prepare_cached("INSERT INTO chunks(trace_pk, data) VALUES(?1, ?2)")
                .map_err(storage)?;
            let mut insert_tag = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO tags(tenant, scope, key, vtype, value) VALUES(?1,?2,?3,?4,?5)",
                )
                .map_err(storage)?;
            let mut find_tag = tx
                .prepare_cached(
                    "SELECT id FROM tags WHERE tenant=?1 AND key=?2 AND value=?3 AND scope=?4 AND vtype=?5",
                )
                .map_err(storage)?;
            let mut insert_saturated = tx
                .prepare_cached("INSERT OR IGNORE INTO saturated_keys(tenant, scope, key) VALUES(?1,?2,?3)")
                .map_err(storage)?;
            let max_trace_bytes = self.max_trace_bytes;

            for (tenant, chunks, batch_tags, _) in appends {
                let mut outcome = AppendOutcome::default();
                let dict = self.tenants.entry(tenant.clone()).or_default();
                // Tag ids of the batch's distinct values, each resolved once (None: not indexed).
                let mut batch_ids: Vec<Option<u32>> = Vec::with_capacity(batch_tags.len());
                for tag in batch_tags {
                    batch_ids.push((|| -> Result<Option<u32>, StoreError> {
                        if let Some(id) = dict.ids.get(tag) {
                            return Ok(Some(*id));
                        }
                        let scope = tag.scope % 10;
                        if !dict.keys.contains_key(tag.key.as_str()) {
                            dict.keys.insert(tag.key.clone(), KeyState::default());
                        }
                        let Some(state) = dict.keys.get_mut(tag.key.as_str()) else {
                            return Ok(None);
                        };
                        if state.is_saturated(scope) {
                            return Ok(None);
                        }
                        let count = state.counts.get(usize::from(scope)).copied().unwrap_or(0);
                        if count >= MAX_VALUES_PER_KEY {
                            insert_saturated
                                .execute(params![tenant, i64::from(scope), tag.key])
                                .map_err(storage)?;
                            state.saturated |= 1u16 << scope;
                            return Ok(None);
                        }
                        let args =
                            params![tenant, i64::from(scope), tag.key, i64::from(tag.vtype), tag.value];
                        let id = if insert_tag.execute(args).map_err(storage)? == 1 {
                            tx.last_insert_rowid()
                        } else {
                            find_tag
                                .query_row(
                                    params![
                                        tenant,
                                        tag.key,
                                        tag.value,
                                        i64::from(scope),
                                        i64::from(tag.vtype)
                                    ],
                                    |row| row.get::<_, i64>(0),
                                )
                                .map_err(storage)?
                        };
                        if let Some(c) = state.counts.get_mut(usize::from(scope)) {
                            *c += 1;
                        }
                        let id = u32::try_from(id).unwrap_or(u32::MAX);
                        dict.ids.insert(tag.clone(), id);
                        Ok(Some(id))
                    })()?);
                }
                for prepared in chunks {
                    let chunk = &prepared.chunk;
                    let mut ids: Vec<u32> = chunk
                        .tags
                        .iter()
                        .filter_map(|i| batch_ids.get(*i as usize).copied().flatten())
                        .collect();
                    ids.sort_unstable();
                    ids.dedup();

                    let raw_len = chunk.encoded.len() as u64;
                    let root_service = chunk.root.as_ref().map(|r| r.0.as_str());
                    let root_name = chunk.root.as_ref().map(|r| r.1.as_str());
                    // New trace (the common case): one INSERT, no lookup first.
                    let too_big = max_trace_bytes > 0 && raw_len > max_trace_bytes;
                    let start = to_i64(chunk.start_unix_nanos);
                    let end = to_i64(chunk.end_unix_nanos);
                    let inserted = insert
                        .execute(params![
                            tenant,
                            chunk.trace_id.as_slice(),
                            start,
                            end,
                            end.saturating_sub(start),
                            if too_big { 0 } else { to_i64(chunk.span_count) },
                            if too_big { 0 } else { to_i64(chunk.error_count) },
                            if too_big { 0 } else { to_i64(raw_len) },
                            i64::from(too_big),
                            root_service.unwrap_or(""),
                            root_name.unwrap_or(""),
                            now,
                            encode_ids(&ids),
                            chunk.attr_bloom.as_slice()
                        ])
                        .map_err(storage)?;
                    let pk = if inserted == 1 {
                        if too_big {
                            outcome.spans_rejected += chunk.span_count;
                            continue;
                        }
                        tx.last_insert_rowid()
                    } else {
                        // Known trace: merge into its summary row.
                        type Row = (i64, i64, Vec<u8>, i64, i64, Option<Vec<u8>>);
                        let (pk, bytes, tags, old_start, old_end, old_bloom): Row = select
                            .query_row(params![chunk.trace_id.as_slice(), tenant], |row| {
                                Ok((
                                    row.get(0)?,
                                    row.get(1)?,
                                    row.get(2)?,
                                    row.get(3)?,
                                    row.get(4)?,
                                    row.get(5)?,
                                ))
                            })
                            .map_err(storage)?;
                        let bytes = to_u64(bytes);
                        if max_trace_bytes > 0 && bytes.saturating_add(raw_len) > max_trace_bytes {
                            mark_partial.execute(params![pk, now]).map_err(storage)?;
                            outcome.spans_rejected += chunk.span_count;
                            continue;
                        }
                        let mut merged = decode_ids(&tags);
                        merged.extend_from_slice(&ids);
                        merged.sort_unstable();
                        merged.dedup();
                        let start = old_start.min(start);
                        let end = old_end.max(end);
                        update
                            .execute(params![
                                pk,
                                start,
                                end,
                                end.saturating_sub(start),
                                to_i64(chunk.span_count),
                                to_i64(chunk.error_count),
                                to_i64(bytes.saturating_add(raw_len)),
                                root_service,
                                root_name,
                                now,
                                encode_ids(&merged),
                                attr_bloom::merge(old_bloom.as_deref(), Some(chunk.attr_bloom.as_slice()))
                            ])
                            .map_err(storage)?;
                        pk
                    };
                    insert_chunk
                        .execute(params![pk, prepared.compressed])
                        .map_err(storage)?;
                    outcome.spans_stored += chunk.span_count;
                }
                outcomes.push(outcome);
            }
        }
        let commit_started = std::time::Instant::now();
        tx.commit().map_err(storage)?;
        tracing::trace!(micros = commit_started.elapsed().as_micros() as u64, "commit");
        Ok(outcomes)
    }

    fn delete(&mut self, cutoff_unix_nanos: u64) -> Result<u64, StoreError> {
        let tx = self.conn.transaction().map_err(storage)?;
        let pks: Vec<i64> = {
            let mut stmt = tx
                .prepare_cached("SELECT pk FROM traces WHERE written_ns < ?1 LIMIT ?2")
                .map_err(storage)?;
            let rows = stmt
                .query_map(params![to_i64(cutoff_unix_nanos), DELETE_BATCH as i64], |row| {
                    row.get(0)
                })
                .map_err(storage)?;
            rows.collect::<Result<_, _>>().map_err(storage)?
        };
        {
            let mut del_chunks = tx
                .prepare_cached("DELETE FROM chunks WHERE trace_pk = ?1")
                .map_err(storage)?;
            let mut del_trace = tx
                .prepare_cached("DELETE FROM traces WHERE pk = ?1")
                .map_err(storage)?;
            for pk in &pks {
                del_chunks.execute([pk]).map_err(storage)?;
                del_trace.execute([pk]).map_err(storage)?;
            }
        }
        tx.commit().map_err(storage)?;
        Ok(pks.len() as u64)
    }
}
