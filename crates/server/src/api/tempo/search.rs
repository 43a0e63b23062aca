//! The TraceQL side of `/api/search`: asks the store for candidate traces in search order,
//! prefiltered by the query's necessary conditions, and runs the exact core evaluator on each
//! batch until `limit` traces match. The answer is the same as evaluating the query over every
//! stored trace in the window at once (most recent first, then by trace id), because batches
//! arrive in that order and the prefilter never drops a match.
//!
//! Not here: parameter parsing, the tag (`tags=`) search, JSON rendering.

use crate::store::{ScanControl, StoreError, TraceFilter, TraceStore};
use spanlens_core::query::{self, Query, SearchOptions, TempoTrace};

/// Most candidate traces loaded at once while a search fills its limit.
const MAX_BATCH: usize = 1024;

/// A finished TraceQL search.
#[derive(Debug, Default)]
pub struct TraceqlOutcome {
    /// Matching traces in Tempo's shape, most recent first, at most the limit.
    pub traces: Vec<TempoTrace>,
    /// Traces loaded and evaluated.
    pub inspected_traces: u32,
}

/// Candidates to load first: as many as results wanted (the prefilter usually makes most
/// candidates match), at least a few.
fn first_batch(limit: usize) -> usize {
    limit.clamp(8, MAX_BATCH)
}

/// Candidates to load next: the results still wanted over the match rate so far, with a
/// margin, so that a selective query needs few round trips and a broad one loads little more
/// than it returns; at most about twice what was loaded so far, so that an unlucky first batch
/// (matches come in clumps) does not make the next one huge.
fn next_batch(remaining: usize, inspected: usize, matched: usize) -> usize {
    let estimate = remaining.saturating_mul(inspected + 1) / (matched + 1);
    let growth = inspected.saturating_mul(2).saturating_add(remaining);
    (estimate + estimate / 4 + 4).min(growth).clamp(8, MAX_BATCH)
}

/// Runs `query` over the traces `filter` selects (its `limit` is the result limit, at least
/// 1), `spss` spans per spanset.
pub fn traceql(
    store: &dyn TraceStore,
    tenants: &[String],
    filter: &TraceFilter,
    query: &Query,
    spss: usize,
) -> Result<TraceqlOutcome, StoreError> {
    let limit = filter.limit.max(1);
    let prefilter = query::necessary_conditions(query);
    let mut out = TraceqlOutcome::default();
    let mut inspected = 0usize;
    store.scan_candidates(tenants, filter, &prefilter, first_batch(limit), &mut |set| {
        inspected += set.traces().len();
        let options = SearchOptions {
            limit: limit.saturating_sub(out.traces.len()),
            spans_per_spanset: spss,
        };
        let result = query::search(&set, query, options);
        out.traces.extend(result.traces.iter().map(|t| t.to_tempo()));
        Ok(if out.traces.len() >= limit {
            ScanControl::Stop
        } else {
            ScanControl::Continue(next_batch(limit - out.traces.len(), inspected, out.traces.len()))
        })
    })?;
    out.inspected_traces = u32::try_from(inspected).unwrap_or(u32::MAX);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_follow_the_match_rate() {
        assert_eq!(first_batch(20), 20);
        assert_eq!(first_batch(1), 8);
        assert_eq!(first_batch(100_000), MAX_BATCH);
        // Everything matched so far: about what is still wanted.
        assert_eq!(next_batch(10, 10, 10), 16);
        // One in ten matched: ten times more, capped.
        assert!(next_batch(10, 100, 10) > 100);
        assert_eq!(next_batch(1000, 1000, 0), MAX_BATCH);
        // Nothing matched in a first small batch: grow, but not to the cap at once.
        assert_eq!(next_batch(20, 20, 0), 60);
    }
}
