//! The read side of a TraceQL search in the SQLite store: streams candidate trace rows in
//! search order (start time descending, then trace id), drops the rows the query's
//! [`Prefilter`] rules out using only the summary row (tag ids, error count, duration,
//! attribute filter), and loads the survivors' chunks in batches for the caller's exact
//! evaluation.
//!
//! Span names are resolved against the tag dictionary inside one read transaction, so the
//! dictionary, the saturation marks and the rows are one snapshot. Attribute equalities are
//! answered by each row's attribute filter ([`attr_bloom`]), which also holds array elements
//! and values of saturated keys: a row is dropped only when its filter says the pair is
//! certainly absent, and a row without a filter (written by an earlier version) always
//! passes. An atom the index cannot answer for sure (a name without an id under a saturated
//! key, a value too long to be indexed) makes its clause always true. With several tenants, a
//! trace id stored under more than one of them is never prefiltered (its merged trace may
//! satisfy what no single row does).
//!
//! Rows stream through the start-time index (a lookup per row) until the check proves
//! selective (fewer than 1 in [`SELECTIVE`] of the first [`SWITCH_AFTER`] rows pass); the rest
//! is then read in storage order, one pass over the table at a time, and the rows that pass are
//! sorted into search order (a pass keeps the first [`MAX_SORTED`] of them; the next pass
//! resumes after the last one taken), which for a rare or absent value is several times
//! faster than a lookup per row.
//!
//! Not here: TraceQL evaluation, the tag-based `find_traces` filters, writing.

use super::{placeholders, read_chunks, storage, tenant_args, to_i64};
use crate::store::attr_bloom::{self, Filter};
use crate::store::batch;
use crate::store::{ScanControl, StoreError, TraceFilter};
use rusqlite::types::ValueRef;
use rusqlite::{params_from_iter, Connection};
use spanlens_core::model::{TraceSet, TraceSetBuilder};
use spanlens_core::query::{Atom, AttrScope, Prefilter};
use std::collections::HashSet;

/// Most candidate traces loaded in one batch.
const MAX_BATCH: usize = 1024;
/// Longest attribute key or value the ingest side indexes (`batch`'s limit; span names are
/// indexed whatever their length).
const INDEXED_ATTR_LEN: usize = 256;

/// Which atoms the store may answer from its index, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Pushdown {
    /// Attribute equality through the rows' attribute filters (always correct).
    pub attr_filter: bool,
    /// Attribute equality through the tag dictionary, when the filters are not used. Never in
    /// the store: the dictionary holds scalar values only, and the evaluator's `.k = "v"` also
    /// matches an array containing `"v"`, which no tag records. Safe only for data without
    /// array values (tests).
    pub attributes: bool,
    /// Rows read through the start-time index before the scan may switch to one pass over the
    /// table ([`SWITCH_AFTER`] in the store; tests vary it).
    pub switch_after: usize,
    /// Most rows one such pass keeps ([`MAX_SORTED`] in the store; tests vary it).
    pub max_sorted: usize,
}

impl Pushdown {
    /// What the store uses: always correct.
    pub const SAFE: Pushdown = Pushdown {
        attr_filter: true,
        attributes: false,
        switch_after: SWITCH_AFTER,
        max_sorted: MAX_SORTED,
    };
}

/// One clause as checked against a row: satisfied by any of its tag ids, by an error, by a
/// long enough duration, or by a pair its attribute filter may hold.
#[derive(Clone, Debug, Default)]
struct RowClause {
    error: bool,
    min_duration: Option<u64>,
    /// [`attr_bloom::pair_hash`]es of its attribute equalities.
    pairs: Vec<u64>,
}

/// The resolved prefilter.
#[derive(Debug, Default)]
struct RowCheck {
    clauses: Vec<RowClause>,
    /// Sorted (tag id, mask of the clauses it satisfies).
    ids: Vec<(u32, u64)>,
    /// Mask of every clause.
    all: u64,
}

impl RowCheck {
    /// Whether a row may match; `bloom` is the row's attribute filter blob (`None`, or a blob
    /// that does not parse: unknown, every pair may be there).
    fn passes(&self, tags: &[u8], bloom: Option<&[u8]>, error_count: i64, duration: i64) -> bool {
        let mut sat = 0u64;
        let mut filter: Option<Option<Filter>> = None;
        for (i, c) in self.clauses.iter().enumerate() {
            let duration_ok = c
                .min_duration
                .is_some_and(|d| u64::try_from(duration).is_ok_and(|x| x >= d));
            let mut pair_ok = || {
                let f = filter.get_or_insert_with(|| bloom.and_then(Filter::parse));
                match f {
                    Some(f) => c.pairs.iter().any(|h| f.may_contain(*h)),
                    None => true,
                }
            };
            if (c.error && error_count > 0) || duration_ok || (!c.pairs.is_empty() && pair_ok()) {
                sat |= 1 << i;
            }
        }
        if sat == self.all || self.ids.is_empty() {
            return sat == self.all;
        }
        // Both lists ascend: one merge walk.
        let mut want = self.ids.iter().peekable();
        for id in RowIds::new(tags) {
            while want.next_if(|(w, _)| *w < id).is_some() {}
            match want.peek() {
                Some((w, mask)) if *w == id => {
                    sat |= mask;
                    if sat == self.all {
                        return true;
                    }
                }
                Some(_) => {}
                None => break,
            }
        }
        sat == self.all
    }
}

/// The union of the masks of the `wanted` (sorted) tag ids that the row's `tags` blob holds.
pub(super) fn held_mask(tags: &[u8], wanted: &[(u32, u64)]) -> u64 {
    let mut held = 0u64;
    let mut want = wanted.iter().peekable();
    for id in RowIds::new(tags) {
        while want.next_if(|(w, _)| *w < id).is_some() {}
        while let Some((_, mask)) = want.next_if(|(w, _)| *w == id) {
            held |= mask;
        }
        if want.peek().is_none() {
            break;
        }
    }
    held
}

/// The ascending tag ids of a row's `tags` blob (delta varints), without allocating.
struct RowIds<'a> {
    bytes: &'a [u8],
    prev: u32,
}

impl<'a> RowIds<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        RowIds { bytes, prev: 0 }
    }
}

impl Iterator for RowIds<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.bytes.is_empty() {
            return None;
        }
        let delta = prost::encoding::decode_varint(&mut self.bytes).ok()?;
        self.prev = self.prev.wrapping_add(u32::try_from(delta).unwrap_or(0));
        Some(self.prev)
    }
}

/// What one atom resolves to.
enum Resolved {
    /// The index cannot tell: the clause holds for every row.
    Unknown,
    Ids(Vec<u32>),
    /// An attribute pair, checked against each row's attribute filter.
    Pair(u64),
    Error,
    MinDuration(u64),
}

/// Tag ids of the string `value` of `key` in the given stored scopes, or `Unknown` when the
/// value has no id under a (tenant, scope) whose key is saturated. A value that has an id is
/// on every row holding it (the writer looks ids up before it checks saturation, and a
/// saturated key never gains values), so its ids answer exactly even for a saturated key.
fn resolve_tag(
    conn: &Connection,
    tenants: &[String],
    scopes: &[u8],
    key: &str,
    value: &str,
) -> Result<Resolved, StoreError> {
    let scope_args = || {
        scopes
            .iter()
            .map(|s| Box::new(i64::from(*s)) as Box<dyn rusqlite::ToSql>)
    };
    let sql = format!(
        "SELECT tenant, scope, id FROM tags WHERE tenant IN ({}) AND key = ? AND value = ? AND scope IN ({}) AND vtype = ?",
        placeholders(tenants.len()),
        placeholders(scopes.len())
    );
    let mut args = tenant_args(tenants);
    args.push(Box::new(key.to_string()));
    args.push(Box::new(value.to_string()));
    args.extend(scope_args());
    args.push(Box::new(i64::from(batch::VT_STRING)));
    let mut stmt = conn.prepare_cached(&sql).map_err(storage)?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })
        .map_err(storage)?;
    let mut ids = Vec::new();
    let mut indexed: HashSet<(String, i64)> = HashSet::new();
    for row in rows {
        let (tenant, scope, id) = row.map_err(storage)?;
        ids.push(u32::try_from(id).unwrap_or(u32::MAX));
        indexed.insert((tenant, scope));
    }
    let sql = format!(
        "SELECT tenant, scope FROM saturated_keys WHERE tenant IN ({}) AND key = ? AND scope IN ({})",
        placeholders(tenants.len()),
        placeholders(scopes.len())
    );
    let mut args = tenant_args(tenants);
    args.push(Box::new(key.to_string()));
    args.extend(scope_args());
    let mut stmt = conn.prepare_cached(&sql).map_err(storage)?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })
        .map_err(storage)?;
    for row in rows {
        if !indexed.contains(&row.map_err(storage)?) {
            return Ok(Resolved::Unknown);
        }
    }
    Ok(Resolved::Ids(ids))
}

fn resolve_atom(
    conn: &Connection,
    tenants: &[String],
    atom: &Atom,
    pushdown: Pushdown,
) -> Result<Resolved, StoreError> {
    match atom {
        Atom::SpanName(name) => resolve_tag(conn, tenants, &[batch::SCOPE_NAME], "name", name),
        Atom::Error => Ok(Resolved::Error),
        Atom::MinTraceDuration(d) => Ok(Resolved::MinDuration(*d)),
        // Neither the filters nor the dictionary hold longer keys or values.
        Atom::Attr { key, value, .. }
            if key.is_empty() || key.len() > INDEXED_ATTR_LEN || value.len() > INDEXED_ATTR_LEN =>
        {
            Ok(Resolved::Unknown)
        }
        Atom::Attr { key, value, .. } if pushdown.attr_filter => {
            Ok(Resolved::Pair(attr_bloom::pair_hash(key, value)))
        }
        Atom::Attr { .. } if !pushdown.attributes => Ok(Resolved::Unknown),
        Atom::Attr { scope, key, value } => {
            let scopes: &[u8] = match scope {
                AttrScope::Span => &[batch::SCOPE_SPAN],
                AttrScope::Resource => &[batch::SCOPE_RESOURCE],
                AttrScope::Any => &[batch::SCOPE_RESOURCE, batch::SCOPE_SPAN],
            };
            resolve_tag(conn, tenants, scopes, key, value)
        }
    }
}

/// Resolves the prefilter; `None` when no row can pass.
fn resolve(
    conn: &Connection,
    tenants: &[String],
    prefilter: &Prefilter,
    pushdown: Pushdown,
) -> Result<Option<RowCheck>, StoreError> {
    let mut check = RowCheck::default();
    let mut ids: Vec<(u32, u64)> = Vec::new();
    'clauses: for clause in prefilter.clauses.iter() {
        if check.clauses.len() >= 64 {
            break;
        }
        let bit = 1u64 << check.clauses.len();
        let mut row_clause = RowClause::default();
        let mut clause_ids = Vec::new();
        for atom in clause {
            match resolve_atom(conn, tenants, atom, pushdown)? {
                Resolved::Unknown => continue 'clauses,
                Resolved::Ids(found) => clause_ids.extend(found),
                Resolved::Pair(hash) => row_clause.pairs.push(hash),
                Resolved::Error => row_clause.error = true,
                Resolved::MinDuration(d) => {
                    row_clause.min_duration = Some(row_clause.min_duration.map_or(d, |m| m.min(d)));
                }
            }
        }
        if clause_ids.is_empty()
            && !row_clause.error
            && row_clause.min_duration.is_none()
            && row_clause.pairs.is_empty()
        {
            return Ok(None);
        }
        ids.extend(clause_ids.into_iter().map(|id| (id, bit)));
        check.clauses.push(row_clause);
        check.all |= bit;
    }
    ids.sort_unstable();
    for (id, mask) in ids {
        match check.ids.last_mut() {
            Some(last) if last.0 == id => last.1 |= mask,
            _ => check.ids.push((id, mask)),
        }
    }
    Ok(Some(check))
}

/// Trace ids stored under more than one of `tenants`.
fn shared_ids(conn: &Connection, tenants: &[String]) -> Result<HashSet<Vec<u8>>, StoreError> {
    let sql = format!(
        // `+tenant`: walk the covering (trace_id, tenant) index in id order, no temporary tree.
        "SELECT trace_id FROM traces WHERE +tenant IN ({}) GROUP BY trace_id HAVING count(*) > 1",
        placeholders(tenants.len())
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(storage)?;
    let rows = stmt
        .query_map(params_from_iter(tenant_args(tenants).iter()), |row| {
            row.get::<_, Vec<u8>>(0)
        })
        .map_err(storage)?;
    rows.collect::<Result<_, _>>().map_err(storage)
}

/// Most tenants read as one merge of per-tenant index scans (SQLite's compound-select limit
/// is 500); more are read through one sort.
const MAX_MERGED_TENANTS: usize = 64;

/// The smallest duration the prefilter requires of every candidate row: clauses holding only
/// a duration bound.
fn required_duration(check: &RowCheck) -> Option<u64> {
    check
        .clauses
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            !c.error && c.pairs.is_empty() && !check.ids.iter().any(|(_, mask)| mask & (1u64 << i) != 0)
        })
        .filter_map(|(_, c)| c.min_duration)
        .max()
}

/// The candidate rows in search order, each lasting at least `min_duration`. Each tenant's
/// rows stream from the `(tenant, start_ns)` index; several tenants are merged by SQLite
/// (`UNION ALL` with `ORDER BY`), not sorted.
fn rows_query(
    tenants: &[String],
    filter: &TraceFilter,
    min_duration: Option<u64>,
) -> (String, Vec<Box<dyn rusqlite::ToSql>>) {
    let (conditions, window) = row_conditions(filter, min_duration);
    const COLUMNS: &str =
        "SELECT pk, trace_id, tags, error_count, duration_ns, start_ns, attr_bloom FROM traces";
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    let mut arms: Vec<String> = Vec::new();
    if tenants.len() <= MAX_MERGED_TENANTS {
        for tenant in tenants {
            arms.push(format!("{COLUMNS} WHERE tenant = ?{conditions}"));
            args.push(Box::new(tenant.clone()));
            args.extend(window.iter().map(|v| Box::new(*v) as Box<dyn rusqlite::ToSql>));
        }
    } else {
        arms.push(format!(
            "{COLUMNS} WHERE tenant IN ({}){conditions}",
            placeholders(tenants.len())
        ));
        args.extend(tenant_args(tenants));
        args.extend(window.iter().map(|v| Box::new(*v) as Box<dyn rusqlite::ToSql>));
    }
    let sql = format!("{} ORDER BY 6 DESC, 2 ASC", arms.join(" UNION ALL "));
    (sql, args)
}

/// The window and duration conditions of the candidate rows (` AND ...`) and their arguments.
fn row_conditions(filter: &TraceFilter, min_duration: Option<u64>) -> (String, Vec<i64>) {
    let mut conditions = String::new();
    let mut window: Vec<i64> = Vec::new();
    if let Some(start) = filter.start_unix_nanos {
        conditions.push_str(" AND end_ns >= ?");
        window.push(to_i64(start));
    }
    if let Some(end) = filter.end_unix_nanos {
        conditions.push_str(" AND start_ns <= ?");
        window.push(to_i64(end));
    }
    // `+`: keep the planner on the start-time index (which streams in result order) should
    // a duration index exist.
    if let Some(min) = min_duration {
        conditions.push_str(" AND +duration_ns >= ?");
        window.push(to_i64(min));
    }
    if let Some(max) = filter.max_duration_nanos {
        conditions.push_str(" AND +duration_ns <= ?");
        window.push(to_i64(max));
    }
    if filter.errors_only {
        conditions.push_str(" AND error_count > 0");
    }
    (conditions, window)
}

/// Rows read in search order before deciding whether the check is selective.
const SWITCH_AFTER: usize = 512;
/// The check is selective when fewer than one row in this many passes it.
const SELECTIVE: usize = 32;

/// Most rows one pass over the table keeps (the first in search order); when more pass, the
/// scan makes another pass after the last of them (each pass holds at most this many).
const MAX_SORTED: usize = 65_536;

/// A row that passed the check, found by [`rest_in_order`]; ordered as the search is.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    start: std::cmp::Reverse<i64>,
    trace_id: Vec<u8>,
    pk: i64,
}

/// The first (at most `cap`) candidate rows after `after` (a (start, trace id) key) in search
/// order, and whether they are all of them; found by one pass over the whole table instead of
/// a lookup per row through the start-time index: for a selective check, reading every row in
/// storage order and sorting the few that pass is several times faster.
#[allow(clippy::too_many_arguments)]
fn rest_in_order(
    conn: &Connection,
    tenants: &[String],
    filter: &TraceFilter,
    min_duration: Option<u64>,
    check: &RowCheck,
    shared: &HashSet<Vec<u8>>,
    after: &(i64, Vec<u8>),
    cap: usize,
) -> Result<(Vec<Candidate>, bool), StoreError> {
    let (conditions, window) = row_conditions(filter, min_duration);
    let sql = format!(
        "SELECT pk, trace_id, tags, error_count, duration_ns, start_ns, attr_bloom FROM traces NOT INDEXED \
         WHERE tenant IN ({}){conditions} AND (start_ns < ? OR (start_ns = ? AND trace_id > ?))",
        placeholders(tenants.len())
    );
    let mut args = tenant_args(tenants);
    args.extend(window.iter().map(|v| Box::new(*v) as Box<dyn rusqlite::ToSql>));
    args.push(Box::new(after.0));
    args.push(Box::new(after.0));
    args.push(Box::new(after.1.clone()));
    let mut stmt = conn.prepare_cached(&sql).map_err(storage)?;
    let mut rows = stmt.query(params_from_iter(args.iter())).map_err(storage)?;
    // A max-heap of the first `cap` in search order.
    let mut out = std::collections::BinaryHeap::new();
    let mut complete = true;
    while let Some(row) = rows.next().map_err(storage)? {
        let trace_id = row.get_ref(1).map_err(storage)?.as_blob().map_err(storage)?;
        if !shared.contains(trace_id) {
            let tags = row.get_ref(2).map_err(storage)?.as_blob().map_err(storage)?;
            let bloom = match row.get_ref(6).map_err(storage)? {
                ValueRef::Blob(b) => Some(b),
                _ => None,
            };
            if !check.passes(
                tags,
                bloom,
                row.get(3).map_err(storage)?,
                row.get(4).map_err(storage)?,
            ) {
                continue;
            }
        }
        out.push(Candidate {
            start: std::cmp::Reverse(row.get(5).map_err(storage)?),
            trace_id: trace_id.to_vec(),
            pk: row.get(0).map_err(storage)?,
        });
        if out.len() > cap.max(1) {
            out.pop();
            complete = false;
        }
    }
    Ok((out.into_sorted_vec(), complete))
}

/// Where the scan takes its rows from.
enum Source<'s> {
    /// In search order through the start-time index; the check is applied per row.
    Index(rusqlite::Rows<'s>),
    /// Rows that passed the check, already sorted ([`rest_in_order`]); when not `complete`,
    /// more follow `last`.
    Sorted {
        rest: std::vec::IntoIter<Candidate>,
        complete: bool,
        last: (i64, Vec<u8>),
    },
}

/// One step of the scan.
enum Step {
    End,
    Skip,
    /// A row that passed: its pk and (with several tenants) its trace id.
    Take(i64, Vec<u8>),
}

/// See [`crate::store::TraceStore::scan_candidates`].
pub(super) fn scan(
    conn: &Connection,
    tenants: &[String],
    filter: &TraceFilter,
    prefilter: &Prefilter,
    first_batch: usize,
    pushdown: Pushdown,
    visit: &mut dyn FnMut(TraceSet) -> Result<ScanControl, StoreError>,
) -> Result<(), StoreError> {
    if tenants.is_empty() || prefilter.is_unsatisfiable() {
        return Ok(());
    }
    // One snapshot for the dictionary and the rows (rolled back on drop; nothing is written).
    let tx = conn.unchecked_transaction().map_err(storage)?;
    let Some(check) = resolve(&tx, tenants, prefilter, pushdown)? else {
        return Ok(());
    };
    let single = tenants.len() == 1;
    let shared = if single {
        HashSet::new()
    } else {
        shared_ids(&tx, tenants)?
    };

    // Duration bounds of the prefilter hold per row only when no trace spans two rows.
    let prefilter_min = if single { required_duration(&check) } else { None };
    let min_duration = match (filter.min_duration_nanos, prefilter_min) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let (sql, args) = rows_query(tenants, filter, min_duration);
    let mut stmt = tx.prepare_cached(&sql).map_err(storage)?;
    let mut source = Source::Index(stmt.query(params_from_iter(args.iter())).map_err(storage)?);
    // Rows read and passed through the index, to switch to one pass over the table when the
    // check turns out selective (a prefilter that passes everything never switches).
    let (mut visited, mut passed) = (0usize, 0usize);
    let may_switch = !check.clauses.is_empty();
    let mut by_id = (!single).then(|| {
        tx.prepare_cached(&format!(
            "SELECT pk FROM traces WHERE trace_id = ? AND tenant IN ({})",
            placeholders(tenants.len())
        ))
    });
    let mut emitted: HashSet<Vec<u8>> = HashSet::new();
    let mut want = first_batch.clamp(1, MAX_BATCH);
    let mut pks: Vec<i64> = Vec::new();
    let mut traces = 0usize;
    loop {
        let mut switch_after: Option<(i64, Vec<u8>)> = None;
        let step = match &mut source {
            Source::Sorted { rest, complete, last } => match rest.next() {
                Some(c) => {
                    *last = (c.start.0, c.trace_id.clone());
                    Step::Take(c.pk, c.trace_id)
                }
                None if *complete => Step::End,
                None => {
                    switch_after = Some(std::mem::take(last));
                    Step::Skip
                }
            },
            Source::Index(rows) => match rows.next().map_err(storage)? {
                None => Step::End,
                Some(row) => {
                    let trace_id = row.get_ref(1).map_err(storage)?.as_blob().map_err(storage)?;
                    let is_shared = !single && shared.contains(trace_id);
                    let pass = is_shared || {
                        let tags = row.get_ref(2).map_err(storage)?.as_blob().map_err(storage)?;
                        let errors: i64 = row.get(3).map_err(storage)?;
                        let duration: i64 = row.get(4).map_err(storage)?;
                        let bloom = match row.get_ref(6).map_err(storage)? {
                            ValueRef::Blob(b) => Some(b),
                            _ => None,
                        };
                        check.passes(tags, bloom, errors, duration)
                    };
                    visited += 1;
                    passed += usize::from(pass);
                    if may_switch && visited == pushdown.switch_after && passed * SELECTIVE < visited {
                        switch_after = Some((row.get(5).map_err(storage)?, trace_id.to_vec()));
                    }
                    if pass {
                        let id = if single { Vec::new() } else { trace_id.to_vec() };
                        Step::Take(row.get(0).map_err(storage)?, id)
                    } else {
                        Step::Skip
                    }
                }
            },
        };
        if let Some(after) = switch_after {
            let cap = pushdown.max_sorted;
            let (rest, complete) =
                rest_in_order(&tx, tenants, filter, min_duration, &check, &shared, &after, cap)?;
            source = Source::Sorted {
                rest: rest.into_iter(),
                complete,
                last: after,
            };
        }
        match step {
            Step::Skip => continue,
            Step::End => {}
            Step::Take(pk, trace_id) => {
                if single {
                    pks.push(pk);
                } else {
                    if !emitted.insert(trace_id.clone()) {
                        continue;
                    }
                    // Every row of the id under the queried tenants, as `load_traces` reads it.
                    let stmt = match by_id.as_mut() {
                        Some(Ok(stmt)) => stmt,
                        _ => return Err(storage("trace lookup statement unavailable")),
                    };
                    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&trace_id];
                    args.extend(tenants.iter().map(|t| t as &dyn rusqlite::ToSql));
                    let found = stmt
                        .query_map(args.as_slice(), |r| r.get::<_, i64>(0))
                        .map_err(storage)?;
                    for pk in found {
                        pks.push(pk.map_err(storage)?);
                    }
                }
                traces += 1;
                if traces < want {
                    continue;
                }
            }
        }
        if traces == 0 {
            return Ok(());
        }
        let mut builder = TraceSetBuilder::new();
        read_chunks(&tx, &pks, &mut builder)?;
        pks.clear();
        traces = 0;
        match visit(builder.finish())? {
            ScanControl::Stop => return Ok(()),
            ScanControl::Continue(n) => want = n.clamp(1, MAX_BATCH),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::store::sqlite::{SqliteStore, MAX_VALUES_PER_KEY};
    use crate::store::TraceStore;
    use spanlens_core::formats::otlp_proto::wire;
    use spanlens_core::model::TraceId;
    use spanlens_core::query::{self, SearchOptions};
    use std::collections::BTreeSet;

    fn kv(k: &str, v: &str) -> wire::KeyValue {
        wire::KeyValue {
            key: k.to_string(),
            value: Some(wire::AnyValue {
                value: Some(wire::AnyValueKind::StringValue(v.to_string())),
            }),
        }
    }

    /// 400 traces of 6 spans, scalar attributes only; `uid` (one per span) saturates.
    fn fill(store: &SqliteStore) {
        let mut data = wire::TracesData::default();
        let mut uid = 0u64;
        for t in 1..=400u64 {
            let mut id = [0u8; 16];
            id[8..].copy_from_slice(&t.to_be_bytes());
            let spans = (0..6u64)
                .map(|i| {
                    uid += 1;
                    wire::Span {
                        trace_id: id.to_vec(),
                        span_id: (t * 10 + i + 1).to_be_bytes().to_vec(),
                        parent_span_id: if i == 0 {
                            Vec::new()
                        } else {
                            (t * 10 + 1).to_be_bytes().to_vec()
                        },
                        name: ["a", "b", "c"][((t + i) % 3) as usize].to_string(),
                        start_time_unix_nano: 1_000_000 + t * 1_000 + i,
                        end_time_unix_nano: 2_000_000 + t * 1_000 + i * 7,
                        attributes: vec![
                            kv(
                                "route",
                                ["/a", "/b", "/c", "/d", "/e"][((t * 7 + i) % 5) as usize],
                            ),
                            kv("uid", &format!("u{uid}")),
                        ],
                        ..wire::Span::default()
                    }
                })
                .collect();
            data.resource_spans.push(wire::ResourceSpans {
                resource: Some(wire::Resource {
                    attributes: vec![
                        kv("service.name", "svc"),
                        kv("env", if t.is_multiple_of(4) { "prod" } else { "dev" }),
                    ],
                    dropped_attributes_count: 0,
                }),
                scope_spans: vec![wire::ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            });
        }
        store.append_otlp("t", &data).unwrap();
        assert!(uid > MAX_VALUES_PER_KEY as u64 + 100);
    }

    /// Attribute equality through the tag dictionary only.
    const DICTIONARY: Pushdown = Pushdown {
        attr_filter: false,
        attributes: true,
        switch_after: usize::MAX,
        max_sorted: MAX_SORTED,
    };

    /// The ids of the candidate traces of `text` with dictionary attribute pushdown.
    fn candidates(store: &SqliteStore, text: &str) -> BTreeSet<TraceId> {
        candidates_with(store, text, DICTIONARY)
    }

    /// The ids of the candidate traces of `text`.
    fn candidates_with(store: &SqliteStore, text: &str, pushdown: Pushdown) -> BTreeSet<TraceId> {
        let prefilter = query::necessary_conditions(&query::parse_search(text).unwrap());
        let tenants = vec!["t".to_string()];
        let mut out = BTreeSet::new();
        store
            .with_reader(|conn| {
                scan(
                    conn,
                    &tenants,
                    &TraceFilter::default(),
                    &prefilter,
                    7,
                    pushdown,
                    &mut |set| {
                        out.extend(set.traces().iter().map(|t| t.trace_id));
                        Ok(ScanControl::Continue(13))
                    },
                )
            })
            .unwrap();
        out
    }

    fn matches(store: &SqliteStore, text: &str) -> BTreeSet<TraceId> {
        let tenants = vec!["t".to_string()];
        let ids: Vec<TraceId> = store
            .find_traces(&tenants, &TraceFilter::default())
            .unwrap()
            .iter()
            .map(|s| s.trace_id)
            .collect();
        let set = store.load_traces(&tenants, &ids).unwrap();
        let q = query::parse_search(text).unwrap();
        let options = SearchOptions {
            limit: 0,
            spans_per_spanset: 1,
        };
        query::search(&set, &q, options)
            .traces
            .iter()
            .filter_map(|t| set.traces().get(t.trace_index as usize).map(|x| x.trace_id))
            .collect()
    }

    #[test]
    fn attribute_pushdown_keeps_every_match_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        fill(&store);
        let all = candidates(&store, "{ }");
        assert_eq!(all.len(), 400);
        for (text, pruned) in [
            (r#"{ .route = "/a" }"#, false),
            (r#"{ span.route = "/b" && resource.env = "prod" }"#, true),
            (
                r#"{ resource.env = "prod" } >> { span.route = "/c" && name = "a" }"#,
                true,
            ),
            (r#"{ .env = "prod" || span.route = "/zz" }"#, true),
            (r#"{ resource.route = "/a" }"#, true),
            (r#"{ .uid = "u5" }"#, true),
            (r#"{ .uid = "u2390" }"#, false),
            (r#"{ .route = "/zz" }"#, true),
            (r#"{ .route != "/a" }"#, false),
        ] {
            let got = candidates(&store, text);
            let want = matches(&store, text);
            assert!(want.is_subset(&got), "{text}: a match was dropped");
            assert_eq!(got.len() < all.len(), pruned, "{text}: {} candidates", got.len());
        }
        assert_eq!(candidates(&store, r#"{ .uid = "u5" }"#).len(), 1);
        assert!(candidates(&store, r#"{ .route = "/zz" }"#).is_empty());
    }

    #[test]
    fn attribute_filters_keep_every_match_and_prune() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        fill(&store);
        let filtered = |text: &str| candidates_with(&store, text, Pushdown::SAFE);
        let all = filtered("{ }");
        assert_eq!(all.len(), 400);
        for (text, at_most) in [
            (r#"{ .route = "/a" }"#, 400),
            (r#"{ span.route = "/b" && resource.env = "prod" }"#, 110),
            (r#"{ .env = "prod" || span.route = "/zz" }"#, 110),
            (r#"{ .uid = "u5" }"#, 4),
            (r#"{ .uid = "u2390" }"#, 4),
            (r#"{ resource.uid = "u2390" }"#, 4),
            (r#"{ .route = "/zz" }"#, 4),
            (r#"{ .uid = "nope" || name = "zz" }"#, 4),
            (r#"{ .route != "/a" }"#, 400),
        ] {
            let got = filtered(text);
            let want = matches(&store, text);
            assert!(want.is_subset(&got), "{text}: a match was dropped");
            assert!(got.len() <= at_most, "{text}: {} candidates", got.len());
        }
        // A saturated key's rare value: the dictionary cannot prune, the filters can.
        assert_eq!(candidates(&store, r#"{ .uid = "u2390" }"#).len(), 400);
    }

    /// The candidate ids of `text` in the order the scan gives them (one trace per batch).
    fn candidate_order(
        store: &SqliteStore,
        tenants: &[String],
        text: &str,
        pushdown: Pushdown,
    ) -> Vec<TraceId> {
        let prefilter = query::necessary_conditions(&query::parse_search(text).unwrap());
        let mut out = Vec::new();
        store
            .with_reader(|conn| {
                scan(
                    conn,
                    tenants,
                    &TraceFilter::default(),
                    &prefilter,
                    1,
                    pushdown,
                    &mut |set| {
                        out.extend(set.traces().iter().map(|t| t.trace_id));
                        Ok(ScanControl::Continue(1))
                    },
                )
            })
            .unwrap();
        out
    }

    #[test]
    fn switching_to_one_pass_keeps_the_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        fill(&store);
        // A second tenant holding some of the same trace ids (never prefiltered) and others.
        let mut data = wire::TracesData::default();
        for t in [3u64, 50, 51, 399, 1000, 1001] {
            let mut id = [0u8; 16];
            id[8..].copy_from_slice(&t.to_be_bytes());
            data.resource_spans.push(wire::ResourceSpans {
                resource: Some(wire::Resource {
                    attributes: vec![kv("service.name", "other")],
                    dropped_attributes_count: 0,
                }),
                scope_spans: vec![wire::ScopeSpans {
                    spans: vec![wire::Span {
                        trace_id: id.to_vec(),
                        span_id: (t * 10 + 9).to_be_bytes().to_vec(),
                        name: "o".to_string(),
                        // All at one start time: ties ordered by trace id.
                        start_time_unix_nano: 1_000_500,
                        end_time_unix_nano: 3_000_000,
                        attributes: vec![kv("route", "/zz")],
                        ..wire::Span::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            });
        }
        store.append_otlp("u", &data).unwrap();
        let one = vec!["t".to_string()];
        let both = vec!["t".to_string(), "u".to_string()];
        for tenants in [&one, &both] {
            for text in [
                r#"{ .route = "/zz" }"#,
                r#"{ .uid = "u2390" || .uid = "u7" }"#,
                r#"{ .env = "prod" }"#,
                r#"{ .route = "/a" }"#,
                r#"{ name = "a" && .uid = "u100" }"#,
                r#"{ .uid = "none" }"#,
                "{ }",
            ] {
                let never = Pushdown {
                    switch_after: usize::MAX,
                    ..Pushdown::SAFE
                };
                let want = candidate_order(&store, tenants, text, never);
                for (switch_after, max_sorted) in [(1, 1), (1, 3), (2, 100_000), (7, 2), (100, 5), (399, 10)]
                {
                    let pushdown = Pushdown {
                        switch_after,
                        max_sorted,
                        ..Pushdown::SAFE
                    };
                    let got = candidate_order(&store, tenants, text, pushdown);
                    assert_eq!(
                        got, want,
                        "{text} {tenants:?} switch after {switch_after}, passes of {max_sorted}"
                    );
                }
            }
        }
    }

    #[test]
    fn row_check_merges_sorted_ids() {
        let check = RowCheck {
            clauses: vec![
                RowClause::default(),
                RowClause {
                    error: true,
                    min_duration: Some(10),
                    pairs: Vec::new(),
                },
            ],
            ids: vec![(3, 1), (9, 2), (12, 1)],
            all: 3,
        };
        let blob = |ids: &[u32]| {
            let mut out = Vec::new();
            let mut prev = 0;
            for id in ids {
                prost::encoding::encode_varint(u64::from(id - prev), &mut out);
                prev = *id;
            }
            out
        };
        assert!(check.passes(&blob(&[1, 3, 9]), None, 0, 0));
        assert!(check.passes(&blob(&[12]), None, 1, 0));
        assert!(check.passes(&blob(&[2, 12]), None, 0, 10));
        assert!(!check.passes(&blob(&[2, 12]), None, 0, 9));
        assert!(!check.passes(&blob(&[9]), None, 5, 50));
        assert!(!check.passes(&[], None, 5, 50));
    }

    #[test]
    fn row_check_asks_the_attribute_filter() {
        let (a, b, c) = (
            attr_bloom::pair_hash("k", "a"),
            attr_bloom::pair_hash("k", "b"),
            attr_bloom::pair_hash("k", "c"),
        );
        let check = RowCheck {
            clauses: vec![
                RowClause {
                    pairs: vec![a, b],
                    ..RowClause::default()
                },
                RowClause {
                    error: true,
                    pairs: vec![c],
                    ..RowClause::default()
                },
            ],
            ids: Vec::new(),
            all: 3,
        };
        let with = |hashes: &[u64]| attr_bloom::build(hashes);
        let (bc, a_only, c_only, none) = (with(&[b, c]), with(&[a]), with(&[c]), with(&[]));
        assert!(check.passes(&[], Some(bc.as_slice()), 0, 0));
        assert!(check.passes(&[], Some(a_only.as_slice()), 1, 0));
        assert!(!check.passes(&[], Some(a_only.as_slice()), 0, 0));
        assert!(!check.passes(&[], Some(c_only.as_slice()), 0, 0));
        assert!(!check.passes(&[], Some(none.as_slice()), 5, 0));
        // No filter, or one in an unknown format: every pair may be there.
        assert!(check.passes(&[], None, 0, 0));
        assert!(check.passes(&[], Some(&[][..]), 0, 0));
        assert!(check.passes(&[], Some(&[99, 0, 0, 0, 0][..]), 0, 0));
    }
}
