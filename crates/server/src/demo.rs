//! `spanlens serve --demo`: loads a generated, realistic demo data set (gateway, router,
//! postgres, vector store, LLM proxy; errors, retries, slow spans; timestamps near now) into
//! the store at startup, through the normal ingest path (redaction included).
//!
//! The generator is the core's deterministic `synth` module; this file only picks the size
//! and the clock.

use crate::ingest::store_batch;
use crate::state::AppState;
use crate::store::{set_to_otlp, DEFAULT_TENANT};
use spanlens_core::synth::{generate, SynthOptions};

/// What loading the demo did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DemoOutcome {
    pub traces: u64,
    pub spans_stored: u64,
}

/// Why the demo could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("storing the demo traces failed: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// Traces in the demo set.
pub const DEMO_TRACES: u32 = 300;
/// The demo covers the last hour.
const DEMO_SPREAD_NANOS: u64 = 3_600_000_000_000;

/// Generates the demo set and stores it (redacted, like any ingest) for the default tenant —
/// or, in multi-tenant mode, for the tenant `demo`. Each start uses a new seed (the clock), so
/// restarts add fresh traces instead of merging into old ones.
pub fn load(state: &AppState) -> Result<DemoOutcome, DemoError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let options = SynthOptions {
        seed: now,
        traces: DEMO_TRACES,
        spans_per_trace: 30,
        services: 12,
        start_unix_nanos: now.saturating_sub(DEMO_SPREAD_NANOS + 60_000_000_000),
        spread_nanos: DEMO_SPREAD_NANOS,
        error_percent: 5,
    };
    let set = generate(&options);
    let data = set_to_otlp(&set)?;
    let tenant = if state.config.multitenant {
        "demo"
    } else {
        DEFAULT_TENANT
    };
    let outcome = store_batch(state, tenant, data)?;
    Ok(DemoOutcome {
        traces: set.traces().len() as u64,
        spans_stored: outcome.spans_stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{TraceFilter, TraceStore};

    #[test]
    fn demo_loads_recent_multi_service_traces_with_errors() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let state = AppState::new(store.clone(), Config::for_data_dir(dir.path()));
        let outcome = load(&state).unwrap();
        assert_eq!(outcome.traces, u64::from(DEMO_TRACES));
        assert!(outcome.spans_stored > 3_000);
        let tenants = [DEFAULT_TENANT.to_string()];
        let all = store.find_traces(&tenants, &TraceFilter::default()).unwrap();
        assert_eq!(all.len(), DEMO_TRACES as usize);
        let errors = TraceFilter {
            errors_only: true,
            ..TraceFilter::default()
        };
        assert!(!store.find_traces(&tenants, &errors).unwrap().is_empty());
        let services: Vec<String> = store
            .tag_values(
                &tenants,
                Some(crate::store::TagScope::Resource),
                "service.name",
                100,
            )
            .unwrap()
            .into_iter()
            .map(|v| v.value)
            .collect();
        assert!(services.len() >= 5, "{services:?}");
    }
}
