//! The trace page (`/trace/{id}`): finds the trace in the loaded set, or fetches it from the
//! source (spanlens or Tempo, v2 then v1) into the worker; then shows the header, the toolbar
//! (collapse/expand all, critical path, find with next/previous and "matches only", share,
//! download), the minimap, the waterfall and the span details drawer. It owns the trace
//! keyboard shortcuts and keeps the URL in step with the view.

use crate::app::is_typing;
use crate::routes::{Params, Route, Source};
use crate::state::trace_view::TraceCtx;
use crate::state::{use_app, AppState, Loaded};
use crate::views::minimap::Minimap;
use crate::views::span_details::SpanDetails;
use crate::views::trace_header::TraceHeader;
use crate::views::waterfall::Waterfall;
use crate::worker::{self, Job};
use leptos::prelude::*;
use std::sync::Arc;

/// Fetches a trace by id from a Tempo-compatible source and loads it.
fn fetch_trace(state: AppState, id: String, source: Source, start: Option<i64>, end: Option<i64>) {
    let settings = state.tempo.get_untracked().for_source(&source);
    let label = if settings.base_url.is_empty() {
        "this server".to_string()
    } else {
        settings.base_url.clone()
    };
    state.progress.set(Some(crate::state::Progress {
        name: format!("trace {id} from {label}"),
        bytes: 0.0,
        total: 0.0,
        spans: 0,
        phase: "fetching".into(),
    }));
    leptos::task::spawn_local(async move {
        match crate::api::trace_by_id(&settings, &id, start, end).await {
            Ok(bytes) => {
                let wanted = id.clone();
                worker::load(
                    state,
                    vec![Job::Bytes {
                        name: format!("trace {id}"),
                        bytes,
                    }],
                    source,
                    Box::new(move |s: AppState| {
                        let found = s
                            .loaded
                            .get_untracked()
                            .is_some_and(|l| l.find(&wanted).is_some());
                        if !found {
                            s.alert(format!("Trace {wanted} was not found at {label}"));
                        }
                    }),
                );
            }
            Err(e) => {
                state.progress.set(None);
                let hint = match e.status {
                    Some(404) => " — not found; check the id and the time range (start/end)".to_string(),
                    Some(401) => {
                        " — the server wants a tenant (X-Scope-OrgID) or a token: set them in the data source"
                            .to_string()
                    }
                    None => {
                        " — is the data source URL right? Dropped files work without a server".to_string()
                    }
                    _ => String::new(),
                };
                state.alert(format!("Trace {id} could not be loaded from {label}: {e}{hint}"));
            }
        }
    });
}

/// The trace page.
#[component]
pub fn TracePage(id: String) -> impl IntoView {
    let state = use_app();
    let requested = StoredValue::new(None::<String>);
    let id_for_fetch = id.clone();
    Effect::new(move |_| {
        let route = state.route.get();
        let loaded = state.loaded.get();
        if loaded.as_ref().is_some_and(|l| l.find(&id_for_fetch).is_some()) {
            return;
        }
        let source = Source::parse(route.params.source.as_deref().unwrap_or("server"));
        if source == Source::Local {
            return;
        }
        let key = format!("{id_for_fetch}|{}", source.as_param());
        if requested.get_value().as_deref() == Some(key.as_str()) {
            return;
        }
        requested.set_value(Some(key));
        fetch_trace(
            state,
            id_for_fetch.clone(),
            source,
            route.params.start,
            route.params.end,
        );
    });
    let id2 = id.clone();
    let found = Memo::new(move |_| {
        state
            .loaded
            .get()
            .and_then(|l| l.find(&id2).map(|i| (l.generation, i)))
    });
    move || {
        let id = id.clone();
        match found.get() {
            Some((_, index)) => {
                let loaded = state.loaded.get_untracked();
                loaded
                    .map(|l| view! { <TraceView loaded=l index=index/> }.into_any())
                    .unwrap_or_else(|| view! { <div></div> }.into_any())
            }
            None => {
                let local = state.route.with_untracked(|r| {
                    r.params
                        .source
                        .as_deref()
                        .is_none_or(|s| Source::parse(s) == Source::Local)
                        && r.params.source.is_some()
                });
                view! {
                    <div class="empty-state">
                        <h1>{format!("Trace {id}")}</h1>
                        {if local {
                            view! { <p>"This trace was opened from a local file, which this browser no longer holds. Drop the file again (anywhere on this page), or open the link from a spanlens server."</p> }.into_any()
                        } else {
                            view! { <p>"Loading the trace from the data source…"</p> }.into_any()
                        }}
                    </div>
                }
                .into_any()
            }
        }
    }
}

/// Uploads the loaded files to the spanlens server and copies the permalink; without a server,
/// says so and offers the OTLP JSON download.
/// Keeps the time range in shared links (Tempo needs it to find older traces): the trace's own
/// span of time, one minute either side, unless the URL already has one.
fn with_time_range(ctx: TraceCtx, base: Params) -> Params {
    let t = ctx.trace();
    Params {
        start: base
            .start
            .or(Some((t.start_unix_nanos / 1_000_000_000) as i64 - 60)),
        end: base
            .end
            .or(Some(t.end_unix_nanos.div_ceil(1_000_000_000) as i64 + 60)),
        ..base
    }
}

fn share(state: AppState, ctx: TraceCtx, base: Params, show_download: RwSignal<bool>) {
    let is_local = ctx.loaded.with_value(|l| l.source == Source::Local);
    let base = with_time_range(ctx, base);
    if !is_local {
        let route = ctx.route(&base);
        state.replace_url(&route);
        crate::widgets::copy_text(state, href_of(&route), "link");
        return;
    }
    leptos::task::spawn_local(async move {
        let inputs = worker::last_inputs().await;
        let settings = crate::state::TempoSettings::default();
        let mut failure = None;
        for (_, bytes) in &inputs {
            if let Err(e) = crate::api::upload(&settings, bytes).await {
                failure = Some(e);
                break;
            }
        }
        match failure {
            None if !inputs.is_empty() => {
                let route = ctx.route(&Params {
                    source: Some("server".into()),
                    ..base
                });
                state.replace_url(&route);
                crate::widgets::copy_text(state, href_of(&route), "permalink");
            }
            other => {
                show_download.set(true);
                let why = other
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "nothing to upload".into());
                state.notify(format!(
                    "No spanlens server to share through ({why}). Download the trace as OTLP JSON instead."
                ));
            }
        }
    });
}

fn href_of(route: &Route) -> String {
    let origin = window().location().origin().unwrap_or_default();
    format!("{origin}{}", route.to_url())
}

/// Downloads the open trace as OTLP JSON (written by the core).
fn download(ctx: TraceCtx) {
    let (json, id) = ctx.loaded.with_value(|l| {
        (
            spanlens_core::formats::writers::to_otlp_json(&l.set, Some(ctx.trace_index)),
            ctx.trace().trace_id.to_hex(),
        )
    });
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(&json));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("application/json");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(a) = document().create_element("a") {
        use wasm_bindgen::JsCast;
        if let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>() {
            a.set_href(&url);
            a.set_download(&format!("trace-{id}.otlp.json"));
            a.click();
        }
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// One open trace.
#[component]
fn TraceView(loaded: Arc<Loaded>, index: u32) -> impl IntoView {
    let state = use_app();
    let params = state.route.get_untracked().params;
    let ctx = TraceCtx::new(loaded.clone(), index, &params);
    let find_input: NodeRef<leptos::html::Input> = NodeRef::new();
    let show_download = RwSignal::new(false);
    let multi = loaded.summaries.len() > 1;
    ctx.start_analysis();
    if loaded.source != Source::Local {
        if let Some(sum) = loaded.summaries.get(index as usize) {
            crate::state::remember(crate::state::Recent {
                id: sum.id.clone(),
                service: sum.root_service.clone(),
                name: sum.root_name.clone(),
                source: loaded.source.as_param(),
                start: params.start,
                end: params.end,
            });
        }
    }

    // Keep the URL in step with the view (debounced: history rewrites are rate-limited).
    let base = params.clone();
    let pending = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |first: Option<()>| {
        let _ = (
            ctx.selected.get(),
            ctx.zoom.get(),
            ctx.critical.get(),
            ctx.find.get(),
            ctx.matches_only.get(),
            ctx.view.get(),
        );
        if first.is_none() {
            return;
        }
        if let Some(h) = pending.get_value() {
            h.clear();
        }
        let mut base = base.clone();
        let h = set_timeout_with_handle(
            move || {
                // Changed category rules are written by the grades tab; carry them forward.
                base.rules = crate::views::rules_editor::location_rules_param();
                state.replace_url(&ctx.route(&base))
            },
            std::time::Duration::from_millis(250),
        )
        .ok();
        pending.set_value(h);
    });

    // Keyboard shortcuts.
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let key = ev.key();
        if key == "Escape" {
            if is_typing(&ev) {
                if let Some(el) = find_input.get_untracked() {
                    let _ = el.blur();
                }
            } else {
                ctx.details_open.set(false);
            }
            return;
        }
        if is_typing(&ev) {
            return;
        }
        let handled = match key.as_str() {
            "ArrowDown" | "j" => {
                ctx.move_selection(1);
                true
            }
            "ArrowUp" | "k" => {
                ctx.move_selection(-1);
                true
            }
            "ArrowLeft" | "ArrowRight" => {
                if let Some(s) = ctx.selected.get_untracked() {
                    let collapse = key == "ArrowLeft";
                    let is_collapsed = ctx.collapsed.with_untracked(|c| c.contains(&s));
                    if collapse && (is_collapsed || ctx.span(s).is_some_and(|x| x.child_count == 0)) {
                        // Already collapsed (or a leaf): go to the parent, as tree views do.
                        if let Some(p) = ctx
                            .span(s)
                            .map(|x| x.parent)
                            .filter(|p| *p != spanlens_core::model::NO_SPAN)
                        {
                            ctx.select(p);
                        }
                    } else {
                        ctx.set_collapsed(s, collapse);
                    }
                }
                true
            }
            "[" => {
                ctx.collapse_all(true);
                true
            }
            "]" => {
                ctx.collapse_all(false);
                true
            }
            "/" => {
                if let Some(el) = find_input.get_untracked() {
                    let _ = el.focus();
                    el.select();
                }
                true
            }
            "n" => {
                ctx.next_match(true);
                true
            }
            "N" => {
                ctx.next_match(false);
                true
            }
            "c" => {
                ctx.critical.update(|c| *c = !*c);
                true
            }
            "m" => {
                ctx.matches_only.update(|m| *m = !*m);
                true
            }
            "0" => {
                ctx.zoom.set((0.0, 1.0));
                true
            }
            "Enter" => {
                ctx.details_open.set(true);
                true
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    });
    on_cleanup(move || keys.remove());

    let hide_header = params.hide_header;
    let hide_minimap = params.hide_minimap;
    let base_for_share = params.clone();
    let match_label = move || {
        ctx.matches.with(|m| {
            if let Some(e) = &m.0.error {
                return e.clone();
            }
            if ctx.find.with(|f| f.trim().is_empty()) {
                return String::new();
            }
            let n = m.0.spans.len();
            if n == 0 {
                "no matches".into()
            } else {
                let cur = ctx
                    .selected
                    .get()
                    .and_then(|s| m.0.spans.iter().position(|&x| x == s))
                    .map(|p| format!("{} of ", p + 1))
                    .unwrap_or_default();
                format!("{cur}{n} matches")
            }
        })
    };
    let has_find_error = move || ctx.matches.with(|m| m.0.error.is_some());

    view! {
        <main class="trace-page">
            <Show when=move || !hide_header>
                <TraceHeader ctx=ctx/>
            </Show>
            <div class="toolbar" role="toolbar" aria-label="Trace tools">
                {multi.then(|| view! {
                    <a href="/traces" class="button" on:click=move |ev| {
                        ev.prevent_default();
                        state.navigate(Route { page: crate::routes::Page::Traces, params: Params::default() });
                    }>"← All traces"</a>
                })}
                <button title="Collapse all ([)" data-testid="collapse-all" on:click=move |_| ctx.collapse_all(true)>"Collapse all"</button>
                <button title="Expand all (])" data-testid="expand-all" on:click=move |_| ctx.collapse_all(false)>"Expand all"</button>
                <button data-testid="critical-path-toggle" title="Critical path (c)"
                    aria-pressed=move || if ctx.critical.get() { "true" } else { "false" }
                    class:active=move || ctx.critical.get()
                    on:click=move |_| ctx.critical.update(|c| *c = !*c)>
                    "Critical path"
                </button>
                <form class="find" role="search" on:submit=move |ev| {
                    ev.prevent_default();
                    ctx.next_match(true);
                }>
                    <input type="search" node_ref=find_input data-testid="find-input" aria-label="Find in trace"
                        placeholder="Find: text or { TraceQL }  (/)"
                        class:invalid=has_find_error
                        prop:value=move || ctx.find.get()
                        on:input=move |ev| {
                            ctx.match_cursor.set(0);
                            ctx.find.set(event_target_value(&ev));
                        }
                        on:keydown=move |ev| {
                            if ev.key() == "Enter" {
                                ev.prevent_default();
                                ctx.next_match(!ev.shift_key());
                            }
                        }/>
                    <button type="button" aria-label="Previous match (N)" title="Previous match (N)" on:click=move |_| ctx.next_match(false)>"↑"</button>
                    <button type="button" aria-label="Next match (n)" title="Next match (n)" on:click=move |_| ctx.next_match(true)>"↓"</button>
                    <label class="check"><input type="checkbox" data-testid="matches-only"
                        prop:checked=move || ctx.matches_only.get()
                        on:change=move |ev| ctx.matches_only.set(event_target_checked(&ev))/>"Matches only"</label>
                    <span class="find-status" class:error-text=has_find_error data-testid="find-status" aria-live="polite">{match_label}</span>
                </form>
                <span class="spacer"></span>
                <button title="Reset zoom (0)" on:click=move |_| ctx.zoom.set((0.0, 1.0))
                    disabled=move || ctx.zoom.get() == (0.0, 1.0)>"Reset zoom"</button>
                <button data-testid="share-button" class="primary" on:click=move |_| share(state, ctx, base_for_share.clone(), show_download)>"Share"</button>
                <button data-testid="download-otlp" class:emphasis=move || show_download.get() title="Download as OTLP JSON" on:click=move |_| download(ctx)>"Download"</button>
            </div>
            <crate::views::trace_tabs::TraceTabs ctx=ctx/>
            <Show when=move || ctx.view.with(|v| v.is_none())
                fallback=move || view! { <crate::views::trace_tabs::TraceTabBody ctx=ctx/> }>
            <Show when=move || !hide_minimap>
                <Minimap ctx=ctx/>
            </Show>
            <div class="trace-body">
                <Waterfall ctx=ctx/>
                <Show when=move || ctx.details_open.get() && ctx.selected.get().is_some()>
                    <SpanDetails ctx=ctx/>
                </Show>
            </div>
            </Show>
        </main>
    }
}
