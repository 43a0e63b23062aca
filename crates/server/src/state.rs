//! Shared application state handed to every handler, and the tenant rules (`X-Scope-OrgID`)
//! that ingest and queries share.

use crate::config::Config;
use crate::metrics::ServerMetrics;
use crate::redact::Redactor;
use crate::store::tempo::Forwarder;
use crate::store::{TraceStore, DEFAULT_TENANT};
use axum::http::HeaderMap;
use std::sync::Arc;

/// The multi-tenancy header.
pub const ORG_ID_HEADER: &str = "x-scope-orgid";

/// Everything a handler may need. Cheap to clone. Build it with [`AppState::new`].
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn TraceStore>,
    pub config: Arc<Config>,
    pub metrics: Arc<ServerMetrics>,
    /// Redaction applied at ingest (from `config.redact_keys`).
    pub redactor: Arc<Redactor>,
    /// Where ingested batches are also sent (`--forward-otlp`), if anywhere.
    pub forwarder: Option<Arc<Forwarder>>,
}

/// Why a request's tenant is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// Multi-tenancy is on and the header is missing.
    #[error("no org id")]
    Missing,
    /// The header is not a valid tenant id (or list, for queries).
    #[error("invalid org id: {0}")]
    Invalid(String),
}

impl AppState {
    /// State over a store and a configuration, with fresh metrics and no forwarding.
    pub fn new(store: Arc<dyn TraceStore>, config: Config) -> AppState {
        let redactor = Arc::new(Redactor::new(&config.redact_keys));
        AppState {
            store,
            config: Arc::new(config),
            metrics: Arc::new(ServerMetrics::default()),
            redactor,
            forwarder: None,
        }
    }

    /// The tenant an ingest request writes to. Multi-tenant: the header, exactly one tenant.
    pub fn ingest_tenant(&self, headers: &HeaderMap) -> Result<String, TenantError> {
        if !self.config.multitenant {
            return Ok(DEFAULT_TENANT.to_string());
        }
        let value = org_id(headers)?;
        if value.contains('|') {
            return Err(TenantError::Invalid(format!(
                "{value:?}: ingest takes one tenant"
            )));
        }
        validate_tenant(&value)?;
        Ok(value)
    }

    /// The tenants a query reads (`a|b` reads both). Multi-tenant without header: `no org id`.
    pub fn query_tenants(&self, headers: &HeaderMap) -> Result<Vec<String>, TenantError> {
        if !self.config.multitenant {
            return Ok(vec![DEFAULT_TENANT.to_string()]);
        }
        let value = org_id(headers)?;
        let mut tenants = Vec::new();
        for t in value.split('|') {
            validate_tenant(t)?;
            if !tenants.iter().any(|x| x == t) {
                tenants.push(t.to_string());
            }
        }
        tenants.sort();
        Ok(tenants)
    }
}

fn org_id(headers: &HeaderMap) -> Result<String, TenantError> {
    let value = headers.get(ORG_ID_HEADER).ok_or(TenantError::Missing)?;
    let value = value
        .to_str()
        .map_err(|_| TenantError::Invalid("not ASCII".to_string()))?
        .trim();
    if value.is_empty() {
        return Err(TenantError::Missing);
    }
    Ok(value.to_string())
}

/// Tempo's tenant id rules: 1–150 characters from `[A-Za-z0-9!-_.*'()]`, not `.` or `..`.
fn validate_tenant(t: &str) -> Result<(), TenantError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "!-_.*'()".contains(c);
    if t.is_empty() || t.len() > 150 || t == "." || t == ".." || !t.chars().all(ok_char) {
        return Err(TenantError::Invalid(format!("{t:?}")));
    }
    Ok(())
}
