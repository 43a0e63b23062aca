//! The insights page (`/insights?view=graph|red|grades|errors|compare`): the analysis of the
//! whole loaded set — search results, a multi-trace file or several files — computed once in a
//! worker by the core (`views::set_analysis`). Tabs: service graph, RED charts, grades and
//! bottlenecks, errors, compare. The tab, the focused service/operation, the compared traces
//! and changed rules live in the URL, so a shared link (also in embed mode) shows the same view.
//!
//! With a server source (`?source=server&start=&end=`), the page offers to analyse every trace
//! of a time range: `/api/search?start=&end=&limit=N`, then each trace by id (six requests at a
//! time, with progress and cancel), merged into one set by the worker like several dropped
//! files. The range stays in the URL; opening such a link fetches and analyses it again.

use crate::routes::{Page, Params, Route, Source, INSIGHTS_VIEWS};
use crate::state::{use_app, AppState};
use crate::units;
use crate::views::compare::CompareView;
use crate::views::errors::SetErrorsView;
use crate::views::grades::GradesView;
use crate::views::red_charts::RedChartsView;
use crate::views::rules_editor::rules_param;
use crate::views::service_graph::ServiceGraphView;
use crate::views::set_analysis::{use_set_analysis, Status, WithSetAnalysis};
use crate::widgets::time_range::{TimeRange, TimeRangePicker, RANGES};
use crate::worker::{self, Job};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

/// Trace requests in flight at once while fetching a time range.
const CONCURRENCY: usize = 6;

thread_local! {
    /// (source, start, end, generation) of the last set fetched for a time range, so coming
    /// back to the same link does not fetch it again.
    static LAST_RANGE: RefCell<Option<(String, i64, i64, u32)>> = const { RefCell::new(None) };
}

/// The server the page was opened for, spelled for people.
fn server_label(src: &Source) -> String {
    match src {
        Source::Url(u) => u.clone(),
        _ => "this server".into(),
    }
}

/// What identifies a fetched range: the source and the query that narrowed it.
fn range_key(src: &Source, query: Option<&str>) -> String {
    format!("{}|{}", src.as_param(), query.unwrap_or(""))
}

/// Fetches every trace of `start..end` (at most `limit`, only those matching `query` when
/// given) and loads them as one set. `fetched`
/// is (done, total) while fetching; the run stops when `run_id` moves on from `token`.
#[allow(clippy::too_many_arguments)]
fn fetch_range(
    state: AppState,
    src: Source,
    (start, end): (i64, i64),
    limit: u32,
    query: Option<String>,
    token: u32,
    run_id: RwSignal<u32>,
    fetched: RwSignal<Option<(usize, usize)>>,
    error: RwSignal<Option<String>>,
) {
    let settings = state.tempo.get_untracked().for_source(&src);
    fetched.set(Some((0, 0)));
    error.set(None);
    leptos::task::spawn_local(async move {
        let mut qs = format!("limit={limit}&start={start}&end={end}");
        if let Some(q) = &query {
            qs.push_str(&format!("&q={}", crate::routes::encode(q)));
        }
        let hits = crate::api::search(&settings, &qs).await;
        if run_id.get_untracked() != token {
            return;
        }
        let mut ids: Vec<String> = match hits {
            Ok(h) => h.into_iter().map(|h| h.trace_id).collect(),
            Err(e) => {
                fetched.set(None);
                error.set(Some(format!("Search failed: {e}")));
                return;
            }
        };
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            fetched.set(None);
            error.set(Some("No traces in this time range.".into()));
            return;
        }
        let total = ids.len();
        fetched.set(Some((0, total)));
        let queue = Rc::new(RefCell::new(ids.into_iter().enumerate().collect::<VecDeque<_>>()));
        let bodies = Rc::new(RefCell::new(vec![None::<(String, Vec<u8>)>; total]));
        let failed = Rc::new(Cell::new(0usize));
        let running = Rc::new(Cell::new(CONCURRENCY));
        for _ in 0..CONCURRENCY {
            let (queue, bodies, failed, running) =
                (queue.clone(), bodies.clone(), failed.clone(), running.clone());
            let (settings, src, query) = (settings.clone(), src.clone(), query.clone());
            leptos::task::spawn_local(async move {
                loop {
                    if run_id.get_untracked() != token {
                        return;
                    }
                    let next = queue.borrow_mut().pop_front();
                    let Some((i, id)) = next else { break };
                    match crate::api::trace_by_id(&settings, &id, Some(start), Some(end)).await {
                        Ok(body) => {
                            if let Some(slot) = bodies.borrow_mut().get_mut(i) {
                                *slot = Some((format!("{id}.json"), body));
                            }
                        }
                        Err(_) => failed.set(failed.get() + 1),
                    }
                    fetched.update(|f| {
                        if let Some((d, _)) = f {
                            *d += 1;
                        }
                    });
                }
                running.set(running.get() - 1);
                if running.get() > 0 || run_id.get_untracked() != token {
                    return;
                }
                // The last fetcher hands everything to the worker, like several dropped files.
                fetched.set(None);
                if failed.get() > 0 {
                    error.set(Some(format!(
                        "{} of {total} traces could not be fetched.",
                        failed.get()
                    )));
                }
                let jobs: Vec<Job> = bodies
                    .borrow_mut()
                    .drain(..)
                    .flatten()
                    .map(|(name, bytes)| Job::Bytes { name, bytes })
                    .collect();
                let key = range_key(&src, query.as_deref());
                worker::load(
                    state,
                    jobs,
                    src,
                    Box::new(move |s: AppState| {
                        let generation = s.generation.get_untracked();
                        LAST_RANGE.with(|l| *l.borrow_mut() = Some((key, start, end, generation)));
                    }),
                );
            });
        }
    });
}

/// Tab labels of the insights page.
pub fn insights_label(view: &str) -> &'static str {
    match view {
        "graph" => "Service graph",
        "red" => "RED",
        "grades" => "Grades",
        "errors" => "Errors",
        "compare" => "Compare",
        _ => "",
    }
}

/// The sources of a set, shortened when there are many (one per fetched trace).
fn names_label(names: &[String]) -> String {
    match names {
        [a, b, c, _, ..] => format!("{a}, {b}, {c} … ({} sources)", names.len()),
        _ => names.join(", "),
    }
}

/// The insights page.
#[component]
pub fn InsightsPage() -> impl IntoView {
    let state = use_app();
    let params = state.route.get_untracked().params;
    let view = RwSignal::new(
        params
            .view
            .clone()
            .filter(|v| INSIGHTS_VIEWS.contains(&v.as_str()))
            .unwrap_or_else(|| "graph".to_string()),
    );
    let service = RwSignal::new(params.service.clone());
    let op = RwSignal::new(params.op.clone());
    let a = RwSignal::new(params.a.clone());
    let b = RwSignal::new(params.b.clone());
    let ctx = use_set_analysis();
    // Server time range: the source, the picker, the limit, the range analysed, fetch progress.
    let server_src = params
        .source
        .as_deref()
        .map(Source::parse)
        .filter(|s| *s != Source::Local);
    let picker = TimeRange::new(None, params.start, params.end, "1h");
    let limit = RwSignal::new(params.limit.unwrap_or(500));
    let server_range = RwSignal::new(params.start.zip(params.end));
    let run_id = RwSignal::new(0u32);
    let fetched = RwSignal::new(None::<(usize, usize)>);
    let fetch_error = RwSignal::new(None::<String>);
    let src_run = server_src.clone();
    // A TraceQL query narrows the range to the matching traces (the search page's "Analyse these
    // results" link carries it).
    let query = params.q.clone().filter(|q| !q.trim().is_empty());
    let query_run = query.clone();
    let run = move || {
        let Some(src) = src_run.clone() else { return };
        let (Some(start), Some(end)) = picker.resolve() else {
            fetch_error.set(Some("Choose the start and the end of the range.".into()));
            return;
        };
        worker::cancel(state);
        server_range.set(Some((start, end)));
        let token = run_id.get_untracked() + 1;
        run_id.set(token);
        fetch_range(
            state,
            src,
            (start, end),
            limit.get_untracked().max(1),
            query_run.clone(),
            token,
            run_id,
            fetched,
            fetch_error,
        );
    };
    let cancel = move || {
        run_id.update(|r| *r += 1);
        fetched.set(None);
        worker::cancel(state);
    };
    // A link with a range fetches it, unless that very set is loaded already.
    if let (Some(src), Some((start, end))) = (&server_src, server_range.get_untracked()) {
        let generation = state.loaded.with_untracked(|l| l.as_ref().map(|l| l.generation));
        let have = LAST_RANGE.with(|l| {
            l.borrow().as_ref().is_some_and(|(k, s, e, g)| {
                *k == range_key(src, query.as_deref()) && (*s, *e) == (start, end) && Some(*g) == generation
            })
        });
        if !have {
            request_animation_frame(run.clone());
        }
    }
    let base = params.clone();
    let with_range = server_src.is_some();
    Effect::new(move |_| {
        let range = server_range.get();
        let p = Params {
            start: range.map(|r| r.0).or(base.start),
            end: range.map(|r| r.1).or(base.end),
            limit: with_range.then(|| limit.get()),
            view: Some(view.get()),
            service: service.get(),
            op: op.get(),
            a: a.get(),
            b: b.get(),
            rules: ctx.rules_text.with(|t| rules_param(t)),
            ..base.clone()
        };
        state.replace_url(&Route {
            page: Page::Insights,
            params: p,
        });
    });
    let open_span = Callback::new(move |(trace, span): (String, String)| {
        let source = state
            .loaded
            .get_untracked()
            .map(|l| l.source.as_param())
            .unwrap_or_else(|| "local".into());
        state.navigate(Route::trace(
            &trace,
            Params {
                source: Some(source),
                span: (!span.is_empty()).then_some(span),
                ..Params::default()
            },
        ));
    });
    let on_red = Callback::new(move |(svc, o): (String, Option<String>)| {
        service.set(Some(svc));
        op.set(o);
        view.set("red".into());
    });
    let on_rules = Callback::new(move |_| {});
    let summary = move || {
        let l = state.loaded.get()?;
        let services = l.summaries.iter().map(|s| s.services).max().unwrap_or(0);
        let _ = services;
        let (t0, t1) = l.summaries.iter().fold((u64::MAX, 0u64), |(a, b), s| {
            (
                a.min(s.start_unix_nanos),
                b.max(s.start_unix_nanos + s.duration_nanos),
            )
        });
        let timing = match ctx.status.get() {
            Status::Running => "analysing…".to_string(),
            Status::Ready(_) => "analysed in a worker".to_string(),
            _ => String::new(),
        };
        Some(view! {
            <p class="an-summary" data-testid="insights-summary">
                <strong>{l.summaries.len()}</strong>" traces · "<strong>{l.set.span_count()}</strong>" spans · "
                {if t0 <= t1 { format!("{} → {} ({})", crate::views::trace_header::local_time(t0), crate::views::trace_header::local_time(t1), units::duration(t1 - t0)) } else { String::new() }}
                <span class="muted">{format!(" · {}", names_label(&l.names))}{format!(" · {timing}")}</span>
            </p>
        })
    };
    let body = move || {
        let Some(loaded) = state.loaded.get() else {
            return view! {
                <div class="empty-state">
                    <h1>"Insights"</h1>
                    <p>"Load traces first: drop files anywhere on this page, open the demo, or search a Tempo. The service graph, RED charts, grades, errors and comparisons are computed over everything loaded."</p>
                    <p><a href="/" on:click=move |ev| { ev.prevent_default(); state.navigate(Route::default()); }>"Go to the start page"</a></p>
                </div>
            }
            .into_any();
        };
        let focus = service;
        view! {
            {move || match view.get().as_str() {
                "compare" => view! { <CompareView loaded=loaded.clone() a=a b=b on_open_span=open_span/> }.into_any(),
                v => {
                    let v = v.to_string();
                    view! {
                        <WithSetAnalysis ctx=ctx body=move |an| match v.as_str() {
                            "red" => {
                                let range = server_range.get_untracked().filter(|_| with_range);
                                match range {
                                    Some(r) => view! { <RedChartsView analysis=an service=service op=op server_range=r/> }.into_any(),
                                    None => view! { <RedChartsView analysis=an service=service op=op/> }.into_any(),
                                }
                            }
                            "grades" => view! { <GradesView analysis=an ctx=ctx on_red=on_red on_open_span=open_span on_rules=on_rules/> }.into_any(),
                            "errors" => view! { <SetErrorsView analysis=an on_open_span=open_span/> }.into_any(),
                            _ => view! { <ServiceGraphView analysis=an focus=focus on_open_span=open_span on_red=on_red/> }.into_any(),
                        }/>
                    }
                    .into_any()
                }
            }}
        }
        .into_any()
    };
    let range_panel = server_src.clone().map(|src| {
        let who = server_label(&src);
        let run = run.clone();
        let matching = query.clone().map(|q| format!(" matching {q}")).unwrap_or_default();
        let button = move || {
            let r = picker.range.get();
            let when = RANGES
                .iter()
                .find(|(v, _)| *v == r && r != "abs")
                .map(|(_, l)| l.to_lowercase())
                .unwrap_or_else(|| "the chosen range".into());
            format!("Analyse traces from {who} in {when}{matching}")
        };
        view! {
            <form class="search-form server-range" data-testid="server-range" on:submit=move |ev| { ev.prevent_default(); run(); }>
                <div class="builder">
                    <TimeRangePicker range=picker/>
                    <label>"Limit"
                        <input type="number" min="1" max="5000" style="width:80px" data-testid="server-limit" prop:value=move || limit.get().to_string()
                            on:input=move |ev| limit.set(event_target_value(&ev).parse().unwrap_or(500))/>
                    </label>
                    <button type="submit" class="primary" data-testid="server-analyse">{button}</button>
                </div>
                {move || fetched.get().map(|(done, total)| view! {
                    <div class="load-progress" role="status" aria-live="polite" data-testid="server-fetch-progress">
                        <progress max=total.max(1) value=done aria-label="Fetching traces"></progress>
                        <span>{if total == 0 { "Searching…".to_string() } else { format!("Fetched {done} / {total} traces") }}</span>
                        <button type="button" data-testid="server-cancel" on:click=move |_| cancel()>"Cancel"</button>
                    </div>
                })}
                {move || fetch_error.get().map(|e| view! { <p class="error-text" role="alert">{e}</p> })}
            </form>
        }
    });
    view! {
        <main class="insights-page">
            {range_panel}
            {summary}
            <nav class="tabs" role="tablist" aria-label="Analysis views">
                {INSIGHTS_VIEWS.iter().map(|v| {
                    let v = *v;
                    view! {
                        <button role="tab" data-view=v aria-selected=move || (view.get() == v).to_string() class:active=move || view.get() == v
                            on:click=move |_| view.set(v.to_string())>{insights_label(v)}</button>
                    }
                }).collect_view()}
            </nav>
            {body}
        </main>
    }
}
