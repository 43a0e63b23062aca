//! Shared application state handed to every handler.

use crate::config::Config;
use crate::metrics::ServerMetrics;
use crate::store::TraceStore;
use std::sync::Arc;

/// Everything a handler may need. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn TraceStore>,
    pub config: Arc<Config>,
    pub metrics: Arc<ServerMetrics>,
}
