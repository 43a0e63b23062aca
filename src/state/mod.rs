//! App-wide state, provided as one `Copy` context: the current route (mirrored to the URL),
//! the loaded trace set, load progress, alert banners, toasts, theme and the Tempo data-source
//! settings (kept in local storage).
//!
//! Not here: rendering (pages/views) or parsing (the worker and the core).

pub mod trace_view;

use crate::routes::{self, Page, Params, Route, Source};
use leptos::prelude::*;
use spanlens_core::diagnostics::Diagnostics;
use spanlens_core::model::{Trace, TraceSet};
use std::sync::Arc;

/// One trace of the loaded set, summarised for lists and headers.
#[derive(Clone, Debug)]
pub struct TraceSummary {
    pub index: u32,
    pub id: String,
    pub root_service: String,
    pub root_name: String,
    pub start_unix_nanos: u64,
    pub duration_nanos: u64,
    pub spans: u32,
    pub services: u32,
    pub errors: u32,
    pub depth: u32,
}

/// A loaded, assembled set plus what the load reported.
pub struct Loaded {
    pub set: TraceSet,
    pub diagnostics: Diagnostics,
    /// The file names (or labels) the set was read from.
    pub names: Vec<String>,
    pub source: Source,
    pub summaries: Vec<TraceSummary>,
    /// Increases with every load, so views can reset.
    pub generation: u32,
}

impl Loaded {
    /// Wraps an assembled set and summarises its traces.
    pub fn new(
        set: TraceSet,
        diagnostics: Diagnostics,
        names: Vec<String>,
        source: Source,
        generation: u32,
    ) -> Self {
        let summaries = set
            .traces()
            .iter()
            .enumerate()
            .map(|(i, t)| summarize(&set, i as u32, t))
            .collect();
        Loaded {
            set,
            diagnostics,
            names,
            source,
            summaries,
            generation,
        }
    }

    /// The index of a trace by 32-hex id.
    pub fn find(&self, id: &str) -> Option<u32> {
        self.summaries.iter().find(|s| s.id == id).map(|s| s.index)
    }

    /// True when the source said the data is incomplete (Tempo `PARTIAL`, size caps).
    pub fn is_partial(&self) -> bool {
        self.diagnostics
            .count(spanlens_core::diagnostics::DiagnosticKind::PartialTrace)
            > 0
            || !self.diagnostics.warnings.is_empty()
    }
}

/// Distinct service names of a trace: the same figure as `TraceSet::services_of(t).len()`,
/// found through the (few) distinct resources first, so 100k-span traces count in a few ms.
fn service_count(set: &TraceSet, t: &Trace) -> u32 {
    let mut resources: Vec<u32> = set.trace_spans(t).iter().map(|s| s.resource).collect();
    resources.sort_unstable();
    resources.dedup();
    let mut names: Vec<&str> = resources
        .iter()
        .filter_map(|&r| set.arena.resources.get(r as usize))
        .map(|res| {
            if res.service_name.is_empty() {
                spanlens_core::model::UNKNOWN_SERVICE
            } else {
                set.arena.str(res.service_name)
            }
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names.len() as u32
}

fn summarize(set: &TraceSet, index: u32, t: &Trace) -> TraceSummary {
    let root = set.root_of(t).and_then(|r| set.span(r));
    TraceSummary {
        index,
        id: t.trace_id.to_hex(),
        root_service: root.map(|r| set.service_name(r).to_string()).unwrap_or_default(),
        root_name: root
            .map(|r| set.arena.str(r.name).to_string())
            .unwrap_or_default(),
        start_unix_nanos: t.start_unix_nanos,
        duration_nanos: t.duration_nanos(),
        spans: t.spans.len,
        services: service_count(set, t),
        errors: t.error_count,
        depth: t.max_depth + 1,
    }
}

/// Load progress, shown in a `<progress>` with a cancel button.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub name: String,
    pub bytes: f64,
    pub total: f64,
    pub spans: u32,
    pub phase: String,
}

/// An error banner (`role="alert"`).
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub id: u32,
    pub text: String,
}

/// Colour theme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    fn parse(s: &str) -> Theme {
        match s {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::System,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
    /// The next theme of the toggle.
    pub fn next(self) -> Theme {
        match self {
            Theme::System => Theme::Dark,
            Theme::Dark => Theme::Light,
            Theme::Light => Theme::System,
        }
    }
    /// A label for the toggle.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "Theme: system",
            Theme::Light => "Theme: light",
            Theme::Dark => "Theme: dark",
        }
    }
}

/// The Tempo data source: base URL (empty = the server of this page), tenant, bearer token.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TempoSettings {
    pub base_url: String,
    pub tenant: String,
    pub token: String,
}

impl TempoSettings {
    /// The settings for a URL `source` parameter (the stored tenant/token apply to the stored
    /// URL only).
    pub fn for_source(&self, source: &Source) -> TempoSettings {
        match source {
            Source::Url(u) if u.trim_end_matches('/') != self.base_url.trim_end_matches('/') => {
                TempoSettings {
                    base_url: u.clone(),
                    ..TempoSettings::default()
                }
            }
            Source::Server => TempoSettings {
                base_url: String::new(),
                ..self.clone()
            },
            _ => self.clone(),
        }
    }

    /// The `source` parameter for these settings.
    pub fn source(&self) -> Source {
        if self.base_url.trim().is_empty() {
            Source::Server
        } else {
            Source::Url(self.base_url.trim().trim_end_matches('/').to_string())
        }
    }
}

/// Everything app-wide. `Copy`: every field is a signal.
#[derive(Clone, Copy)]
pub struct AppState {
    pub route: RwSignal<Route>,
    pub loaded: RwSignal<Option<Arc<Loaded>>>,
    pub progress: RwSignal<Option<Progress>>,
    pub alerts: RwSignal<Vec<Alert>>,
    pub toast: RwSignal<Option<String>>,
    pub theme: RwSignal<Theme>,
    pub tempo: RwSignal<TempoSettings>,
    pub help_open: RwSignal<bool>,
    pub settings_open: RwSignal<bool>,
    pub diagnostics_open: RwSignal<bool>,
    pub generation: RwSignal<u32>,
    pub dragging: RwSignal<bool>,
}

/// The state from the context.
pub fn use_app() -> AppState {
    expect_context::<AppState>()
}

/// Seconds since the Unix epoch, from the browser clock.
pub fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// The route of the current location.
pub fn current_route() -> Route {
    let loc = window().location();
    routes::parse(
        &loc.pathname().unwrap_or_default(),
        &loc.search().unwrap_or_default(),
        now_secs(),
    )
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// Reads a local-storage key.
pub fn load_key(key: &str) -> Option<String> {
    storage().and_then(|s| s.get_item(key).ok().flatten())
}

/// Writes a local-storage key (ignored when storage is unavailable).
pub fn store_key(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}

impl AppState {
    /// Creates the state from the location and local storage.
    pub fn new() -> Self {
        let route = current_route();
        let theme = route
            .params
            .theme
            .as_deref()
            .map(Theme::parse)
            .or_else(|| load_key("spanlens.theme").map(|t| Theme::parse(&t)))
            .unwrap_or(Theme::System);
        let tempo = TempoSettings {
            base_url: load_key("spanlens.tempo.url").unwrap_or_default(),
            tenant: load_key("spanlens.tempo.tenant").unwrap_or_default(),
            token: load_key("spanlens.tempo.token").unwrap_or_default(),
        };
        AppState {
            route: RwSignal::new(route),
            loaded: RwSignal::new(None),
            progress: RwSignal::new(None),
            alerts: RwSignal::new(Vec::new()),
            toast: RwSignal::new(None),
            theme: RwSignal::new(theme),
            tempo: RwSignal::new(tempo),
            help_open: RwSignal::new(false),
            settings_open: RwSignal::new(false),
            diagnostics_open: RwSignal::new(false),
            generation: RwSignal::new(0),
            dragging: RwSignal::new(false),
        }
    }

    /// Goes to a route, adding a history entry.
    pub fn navigate(&self, route: Route) {
        let mut route = route;
        self.keep_chrome_params(&mut route.params);
        if let Ok(h) = window().history() {
            let _ = h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&route.to_url()));
        }
        self.route.set(route);
    }

    /// Rewrites the URL for the current view without a history entry or a re-render. The route
    /// signal takes the new value silently, so later reads (`get_untracked`, new effects) agree
    /// with the address bar while nothing already subscribed re-runs.
    pub fn replace_url(&self, route: &Route) {
        let mut route = route.clone();
        self.keep_chrome_params(&mut route.params);
        if let Ok(h) = window().history() {
            let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&route.to_url()));
        }
        self.route.update_untracked(|r| *r = route);
    }

    /// Embed-mode parameters stick across navigation inside the frame.
    fn keep_chrome_params(&self, params: &mut Params) {
        let current = self.route.get_untracked().params;
        params.embed |= current.embed;
        params.hide_header |= current.hide_header;
        params.hide_minimap |= current.hide_minimap;
        if params.theme.is_none() {
            params.theme = current.theme;
        }
    }

    /// Shows an error banner.
    pub fn alert(&self, text: impl Into<String>) {
        let text = text.into();
        self.alerts.update(|a| {
            let id = a.iter().map(|x| x.id).max().unwrap_or(0) + 1;
            a.push(Alert { id, text });
        });
    }

    /// Shows a short toast.
    pub fn notify(&self, text: impl Into<String>) {
        self.toast.set(Some(text.into()));
        let toast = self.toast;
        set_timeout(move || toast.set(None), std::time::Duration::from_millis(2500));
    }

    /// Sets and stores the theme.
    pub fn set_theme(&self, theme: Theme) {
        store_key("spanlens.theme", theme.as_str());
        self.theme.set(theme);
    }

    /// Stores the Tempo settings.
    pub fn set_tempo(&self, s: TempoSettings) {
        store_key("spanlens.tempo.url", &s.base_url);
        store_key("spanlens.tempo.tenant", &s.tenant);
        store_key("spanlens.tempo.token", &s.token);
        self.tempo.set(s);
    }

    /// Goes to the trace page of a trace in the loaded set.
    pub fn open_loaded_trace(&self, id: &str) {
        let source = self
            .loaded
            .get_untracked()
            .map(|l| l.source.as_param())
            .unwrap_or_else(|| "local".into());
        self.navigate(Route::trace(
            id,
            Params {
                source: Some(source),
                ..Params::default()
            },
        ));
    }

    /// After a load: one trace → its page; several → the list.
    pub fn show_loaded(&self) {
        let Some(l) = self.loaded.get_untracked() else {
            return;
        };
        match l.summaries.as_slice() {
            [one] => {
                let id = one.id.clone();
                self.open_loaded_trace(&id)
            }
            _ => self.navigate(Route {
                page: Page::Traces,
                params: Params::default(),
            }),
        }
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

/// A trace opened from a server, remembered for the home page.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Recent {
    pub id: String,
    pub service: String,
    pub name: String,
    pub source: String,
    pub start: Option<i64>,
    pub end: Option<i64>,
}

const RECENT_KEY: &str = "spanlens.recent";
const RECENT_MAX: usize = 12;

/// Recently opened server traces, newest first.
pub fn recent() -> Vec<Recent> {
    load_key(RECENT_KEY)
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// Remembers a trace opened from a server (local files cannot be reopened from a link).
pub fn remember(r: Recent) {
    let mut all = recent();
    all.retain(|x| x.id != r.id);
    all.insert(0, r);
    all.truncate(RECENT_MAX);
    if let Ok(text) = serde_json::to_string(&all) {
        store_key(RECENT_KEY, &text);
    }
}
