//! The search page (`/search?q=&range=&start=&end=&source=`): a TraceQL box that shows the
//! core parser's error at its position, a builder (service, span name, status, min/max
//! duration, attribute rows; names and typed values from the tag endpoints or the loaded set,
//! see `tag_suggestions`) that writes TraceQL, a time
//! range picker, a sortable results table and a duration-over-time scatter plot. It searches a
//! Tempo-compatible API, or the loaded set with the core's evaluator when no server is used.

use crate::routes::{self, Page, Params, Route, Source};
use crate::state::{use_app, AppState};
use crate::tag_suggestions::{self, TypedValue};
use crate::units;
use crate::widgets::time_range::{TimeRange, TimeRangePicker};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// One result row.
#[derive(Clone, Debug, PartialEq)]
struct Hit {
    id: String,
    root_service: String,
    root_name: String,
    start_unix_nanos: u64,
    duration_nanos: u64,
    spans: Option<u32>,
    errors: Option<u32>,
    grade: String,
}

/// One attribute condition of the builder: name, value, and the values offered for the name.
#[derive(Clone, Copy)]
struct TagRow {
    id: u32,
    key: RwSignal<String>,
    value: RwSignal<String>,
    values: RwSignal<Vec<TypedValue>>,
}

impl TagRow {
    fn new(id: u32) -> TagRow {
        TagRow {
            id,
            key: RwSignal::new(String::new()),
            value: RwSignal::new(String::new()),
            values: RwSignal::new(Vec::new()),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Id,
    Service,
    Name,
    Start,
    Duration,
    Spans,
    Errors,
    Grade,
}

/// The caret line under a query for a parse error at 1-based `col` of line `line`.
fn caret(query: &str, line: u32, col: u32) -> String {
    let text = query.lines().nth(line.saturating_sub(1) as usize).unwrap_or("");
    let pad: String = text
        .chars()
        .take(col.saturating_sub(1) as usize)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!("{text}\n{pad}^")
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The search page.
#[component]
pub fn SearchPage() -> impl IntoView {
    let state = use_app();
    let params = state.route.get_untracked().params;
    let has_local = state.loaded.with_untracked(|l| l.is_some());
    let initial_source = params.source.clone().unwrap_or_else(|| {
        if has_local {
            "local".into()
        } else {
            state.tempo.get_untracked().source().as_param()
        }
    });
    let source = RwSignal::new(initial_source);
    let query = RwSignal::new(params.q.clone().unwrap_or_else(|| "{ }".into()));
    let picker = TimeRange::new(params.range.clone(), params.start, params.end, "1h");
    let range = picker.range;
    let limit = RwSignal::new(params.limit.unwrap_or(50));
    let hits = RwSignal::new(Vec::<Hit>::new());
    let searching = RwSignal::new(false);
    let searched = RwSignal::new(false);
    let search_error = RwSignal::new(None::<String>);
    // The last server search with a known time range: what "Analyse these results" opens.
    let analysable = RwSignal::new(None::<Route>);
    let sort = RwSignal::new((SortKey::Start, true));

    // Builder.
    let b_service = RwSignal::new(String::new());
    let b_name = RwSignal::new(String::new());
    let b_status = RwSignal::new(String::new());
    let b_min = RwSignal::new(params.min_duration.clone().unwrap_or_default());
    let b_max = RwSignal::new(params.max_duration.clone().unwrap_or_default());
    let tag_rows = RwSignal::new(vec![TagRow::new(0)]);
    let next_row = RwSignal::new(1u32);
    let builder_open = RwSignal::new(false);
    let services = RwSignal::new(Vec::<String>::new());
    let names = RwSignal::new(Vec::<String>::new());
    let tag_names = RwSignal::new(Vec::<String>::new());

    let is_local = move || Source::parse(&source.get()) == Source::Local;

    // The data source's settings (read untracked: callers track `source` through `is_local`).
    let tempo_settings = move || {
        state
            .tempo
            .get_untracked()
            .for_source(&Source::parse(&source.get_untracked()))
    };
    // Values for the builder, once it is opened: from the loaded set (every span and
    // resource), or the tag endpoints.
    Effect::new(move |_| {
        if !builder_open.get() {
            return;
        }
        if is_local() {
            let (svc, ops, tags) = state.loaded.with(|l| match l {
                Some(l) => {
                    let (svc, ops) = tag_suggestions::local_services_and_names(&l.set);
                    (svc, ops, tag_suggestions::local_tag_names(&l.set))
                }
                None => Default::default(),
            });
            services.set(svc);
            names.set(ops);
            tag_names.set(tags);
        } else {
            let settings = tempo_settings();
            leptos::task::spawn_local(async move {
                if let Ok(v) = crate::api::tag_values(&settings, "service.name").await {
                    let _ = services.try_set(v);
                }
                if let Ok(v) = crate::api::tag_values(&settings, "name").await {
                    let _ = names.try_set(v);
                }
                let tags = crate::api::scoped_tag_names(&settings).await.unwrap_or_default();
                let _ = tag_names.try_set(tags);
            });
        }
    });
    // The values offered for one attribute row, fetched when its attribute is chosen.
    let load_row_values = move |row: TagRow| {
        let key = row.key.get_untracked();
        if key.trim().is_empty() {
            row.values.set(Vec::new());
            return;
        }
        if is_local() {
            let values = state.loaded.with_untracked(|l| {
                l.as_ref()
                    .map(|l| tag_suggestions::local_tag_values(&l.set, key.trim()))
                    .unwrap_or_default()
            });
            row.values.set(values);
        } else {
            let settings = tempo_settings();
            leptos::task::spawn_local(async move {
                let tag = tag_suggestions::values_query_tag(&key);
                let mut values = crate::api::typed_tag_values(&settings, &tag)
                    .await
                    .unwrap_or_default();
                values.truncate(tag_suggestions::MAX_VALUES);
                let _ = row.values.try_set(values);
            });
        }
    };
    let add_row = move || {
        let id = next_row.get_untracked();
        next_row.set(id + 1);
        tag_rows.update(|rows| rows.push(TagRow::new(id)));
    };

    let parse_error = Memo::new(move |_| {
        let q = query.get();
        if q.trim().is_empty() {
            return None;
        }
        spanlens_core::query::parse_search(&q)
            .err()
            .map(|e| (e.to_string(), caret(&q, e.line, e.col)))
    });

    let build_query = move || {
        let mut parts = Vec::new();
        let svc = b_service.get_untracked();
        if !svc.trim().is_empty() {
            parts.push(format!("resource.service.name = {}", quote(svc.trim())));
        }
        let n = b_name.get_untracked();
        if !n.trim().is_empty() {
            parts.push(format!("name = {}", quote(n.trim())));
        }
        let st = b_status.get_untracked();
        if !st.is_empty() {
            parts.push(format!("status = {st}"));
        }
        let min = b_min.get_untracked();
        if !min.trim().is_empty() {
            parts.push(format!("duration >= {}", min.trim()));
        }
        let max = b_max.get_untracked();
        if !max.trim().is_empty() {
            parts.push(format!("duration <= {}", max.trim()));
        }
        for row in tag_rows.get_untracked() {
            let key = row.key.get_untracked();
            let value = row.value.get_untracked();
            if key.trim().is_empty() || value.trim().is_empty() {
                continue;
            }
            let literal = row
                .values
                .with_untracked(|known| tag_suggestions::value_literal(&value, known));
            parts.push(format!("{} = {literal}", tag_suggestions::attribute_expr(&key)));
        }
        query.set(if parts.is_empty() {
            "{ }".into()
        } else {
            format!("{{ {} }}", parts.join(" && "))
        });
    };

    let time_range = move || picker.resolve();

    let run = move || {
        let q = query.get_untracked();
        if parse_error.get_untracked().is_some() {
            return;
        }
        let src = Source::parse(&source.get_untracked());
        let (start, end) = time_range();
        let r = range.get_untracked();
        state.replace_url(&Route {
            page: Page::Search,
            params: Params {
                q: Some(q.clone()),
                source: Some(src.as_param()),
                range: (r != "abs").then_some(r.clone()),
                start: if r == "abs" { start } else { None },
                end: if r == "abs" { end } else { None },
                limit: Some(limit.get_untracked()),
                ..Params::default()
            },
        });
        search_error.set(None);
        searched.set(true);
        analysable.set(match (src != Source::Local, start, end) {
            (true, Some(start), Some(end)) => Some(Route {
                page: Page::Insights,
                params: Params {
                    source: Some(src.as_param()),
                    q: Some(q.clone()),
                    start: Some(start),
                    end: Some(end),
                    limit: Some(limit.get_untracked()),
                    view: Some("graph".into()),
                    ..Params::default()
                },
            }),
            _ => None,
        });
        if src == Source::Local {
            hits.set(search_local(state, &q).unwrap_or_else(|e| {
                search_error.set(Some(e));
                Vec::new()
            }));
            return;
        }
        let settings = state.tempo.get_untracked().for_source(&src);
        let mut qs = vec![
            format!("q={}", routes::encode(&q)),
            format!("limit={}", limit.get_untracked()),
        ];
        if let Some(s) = start {
            qs.push(format!("start={s}"));
        }
        if let Some(e) = end {
            qs.push(format!("end={e}"));
        }
        let qs = qs.join("&");
        searching.set(true);
        leptos::task::spawn_local(async move {
            match crate::api::search(&settings, &qs).await {
                Ok(found) => hits.set(
                    found
                        .into_iter()
                        .map(|h| {
                            let (spans, errors) = h.service_stats.as_ref().map_or((None, None), |m| {
                                (
                                    Some(m.values().map(|s| s.span_count).sum()),
                                    Some(m.values().map(|s| s.error_count).sum()),
                                )
                            });
                            Hit {
                                id: routes::normalize_trace_id(&h.trace_id).unwrap_or(h.trace_id),
                                root_service: h.root_service_name,
                                root_name: h.root_trace_name,
                                start_unix_nanos: h.start_time_unix_nano.parse().unwrap_or(0),
                                duration_nanos: (h.duration_ms.unwrap_or(0.0) * 1e6) as u64,
                                spans,
                                errors,
                                grade: "—".into(),
                            }
                        })
                        .collect(),
                ),
                Err(e) => {
                    hits.set(Vec::new());
                    search_error.set(Some(format!("Search failed: {e}")));
                }
            }
            searching.set(false);
        });
    };

    if params.q.is_some() {
        request_animation_frame(run);
    }

    let open = move |id: String| {
        let src = Source::parse(&source.get_untracked());
        if src == Source::Local {
            state.open_loaded_trace(&id);
        } else {
            // The hit's own time (a minute either side) lets Tempo find it; else the search window.
            let own = hits.with_untracked(|h| {
                h.iter().find(|x| x.id == id && x.start_unix_nanos > 0).map(|x| {
                    let s = (x.start_unix_nanos / 1_000_000_000) as i64;
                    let e = (x.start_unix_nanos + x.duration_nanos).div_ceil(1_000_000_000) as i64;
                    (Some(s - 60), Some(e + 60))
                })
            });
            let (start, end) = own.unwrap_or_else(time_range);
            state.navigate(Route::trace(
                &id,
                Params {
                    source: Some(src.as_param()),
                    start,
                    end,
                    ..Params::default()
                },
            ));
        }
    };

    let sorted = move || {
        let mut v = hits.get();
        let (key, desc) = sort.get();
        v.sort_by(|a, b| {
            let o = match key {
                SortKey::Id => a.id.cmp(&b.id),
                SortKey::Service => a.root_service.cmp(&b.root_service),
                SortKey::Name => a.root_name.cmp(&b.root_name),
                SortKey::Start => a.start_unix_nanos.cmp(&b.start_unix_nanos),
                SortKey::Duration => a.duration_nanos.cmp(&b.duration_nanos),
                SortKey::Spans => a.spans.cmp(&b.spans),
                SortKey::Errors => a.errors.cmp(&b.errors),
                SortKey::Grade => a.grade.cmp(&b.grade),
            };
            if desc {
                o.reverse()
            } else {
                o
            }
        });
        v
    };
    let header = move |label: &'static str, key: SortKey| {
        view! {
            <th class="sortable" role="columnheader"
                aria-sort=move || match sort.get() { (k, true) if k == key => "descending", (k, false) if k == key => "ascending", _ => "none" }
                on:click=move |_| sort.update(|s| *s = if s.0 == key { (key, !s.1) } else { (key, true) })>
                {label}{move || match sort.get() { (k, true) if k == key => " ▾", (k, false) if k == key => " ▴", _ => "" }}
            </th>
        }
    };

    view! {
        <main class="search-page">
            <h1>"Search traces"</h1>
            <form class="search-form" on:submit=move |ev| { ev.prevent_default(); run(); }>
                <div class="builder">
                    <label>"Source"
                        <select on:change=move |ev| source.set(event_target_value(&ev)) prop:value=move || source.get()>
                            <option value="local" disabled=move || state.loaded.with(|l| l.is_none())>"Loaded files (in this browser)"</option>
                            <option value="server">"This server"</option>
                            {move || {
                                let t = state.tempo.get();
                                (!t.base_url.trim().is_empty()).then(|| {
                                    let v = t.source().as_param();
                                    view! { <option value=v.clone()>{format!("Tempo: {v}")}</option> }
                                })
                            }}
                        </select>
                    </label>
                    <TimeRangePicker range=picker disabled=Signal::derive(is_local)/>
                    <label>"Limit"
                        <input type="number" min="1" max="1000" style="width:80px" prop:value=move || limit.get().to_string()
                            on:input=move |ev| limit.set(event_target_value(&ev).parse().unwrap_or(50))/>
                    </label>
                </div>
                <label class="muted" for="traceql">"TraceQL"</label>
                <textarea id="traceql" class="traceql" data-testid="traceql-input" rows="2" spellcheck="false"
                    class:invalid=move || parse_error.get().is_some()
                    prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev))
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" && !ev.shift_key() {
                            ev.prevent_default();
                            run();
                        }
                    }></textarea>
                {move || parse_error.get().map(|(msg, caret)| view! {
                    <div class="query-error" data-testid="traceql-error">{caret}"\n"{msg}</div>
                })}
                <details on:toggle=move |ev| {
                    let open = ev
                        .target()
                        .and_then(|t| t.dyn_into::<web_sys::HtmlDetailsElement>().ok())
                        .is_some_and(|d| d.open());
                    builder_open.set(open);
                }>
                    <summary>"Query builder"</summary>
                    <div class="builder">
                        <label>"Service"
                            <input list="svc-values" prop:value=move || b_service.get() on:input=move |ev| b_service.set(event_target_value(&ev))/>
                            <datalist id="svc-values">{move || services.get().into_iter().map(|s| view! { <option value=s/> }).collect_view()}</datalist>
                        </label>
                        <label>"Span name"
                            <input list="name-values" prop:value=move || b_name.get() on:input=move |ev| b_name.set(event_target_value(&ev))/>
                            <datalist id="name-values">{move || names.get().into_iter().map(|s| view! { <option value=s/> }).collect_view()}</datalist>
                        </label>
                        <label>"Status"
                            <select on:change=move |ev| b_status.set(event_target_value(&ev))>
                                <option value="">"any"</option><option value="error">"error"</option>
                                <option value="ok">"ok"</option><option value="unset">"unset"</option>
                            </select>
                        </label>
                        <label>"Min duration"<input placeholder="100ms" style="width:90px" prop:value=move || b_min.get() on:input=move |ev| b_min.set(event_target_value(&ev))/></label>
                        <label>"Max duration"<input placeholder="5s" style="width:90px" prop:value=move || b_max.get() on:input=move |ev| b_max.set(event_target_value(&ev))/></label>
                        <datalist id="tag-names">{move || tag_names.get().into_iter().map(|s| view! { <option value=s/> }).collect_view()}</datalist>
                        <For each=move || tag_rows.get() key=|r| r.id let:row>
                            <span class="tag-row" data-testid="builder-tag-row">
                                <input list="tag-names" placeholder="span.http.method" aria-label="Attribute" data-testid="builder-tag-key"
                                    prop:value=move || row.key.get()
                                    on:input=move |ev| row.key.set(event_target_value(&ev))
                                    on:change=move |_| load_row_values(row)/>
                                "="
                                <input list=format!("tag-values-{}", row.id) placeholder="GET" aria-label="Value" data-testid="builder-tag-value"
                                    prop:value=move || row.value.get()
                                    on:input=move |ev| row.value.set(event_target_value(&ev))/>
                                <datalist id=format!("tag-values-{}", row.id)>
                                    {move || row.values.get().into_iter().map(|v| view! { <option value=v.value.clone()>{v.kind.clone()}</option> }).collect_view()}
                                </datalist>
                                <button type="button" class="icon" title="Remove this attribute" aria-label="Remove this attribute"
                                    on:click=move |_| tag_rows.update(|rows| rows.retain(|r| r.id != row.id))>"×"</button>
                            </span>
                        </For>
                        <button type="button" data-testid="builder-add-tag" on:click=move |_| add_row()>"+ attribute"</button>
                        <button type="button" on:click=move |_| build_query()>"Write TraceQL"</button>
                    </div>
                </details>
                <div class="row-buttons">
                    <button type="submit" class="primary" data-testid="search-button" disabled=move || parse_error.get().is_some()>
                        {move || if searching.get() { "Searching…" } else { "Search" }}
                    </button>
                </div>
            </form>
            {move || search_error.get().map(|e| view! { <div class="banner banner-error" role="alert">{e}</div> })}
            <Show when=move || !hits.with(|h| h.is_empty())>
                <Scatter hits=hits open=open/>
            </Show>
            <Show when=move || searched.get() && hits.with(|h| h.is_empty()) && search_error.get().is_none() && !searching.get()>
                <p class="muted" data-testid="no-results">"No traces match. Widen the time range or relax the query."</p>
            </Show>
            {move || analysable.get().filter(|_| !hits.with(|h| h.is_empty())).map(|route| {
                let href = route.to_url();
                view! {
                    <p class="row-buttons">
                        <a href=href data-testid="analyse-results" on:click=move |ev| {
                            ev.prevent_default();
                            state.navigate(route.clone());
                        }>"Analyse these results (service graph, RED, grades)"</a>
                    </p>
                }
            })}
            <Show when=move || !hits.with(|h| h.is_empty())>
                <table class="results" data-testid="search-results">
                    <thead><tr>
                        {header("Trace id", SortKey::Id)}{header("Root service", SortKey::Service)}{header("Root name", SortKey::Name)}
                        {header("Start", SortKey::Start)}{header("Duration", SortKey::Duration)}{header("Spans", SortKey::Spans)}
                        {header("Errors", SortKey::Errors)}{header("Grade", SortKey::Grade)}
                    </tr></thead>
                    <tbody>
                        <For each=sorted key=|h| h.id.clone() let:h>
                            {
                                let id = h.id.clone();
                                view! {
                                    <tr class="clickable" data-trace-id=h.id.clone() tabindex="0" on:click=move |_| open(id.clone())>
                                        <td><code>{h.id.clone()}</code></td>
                                        <td><span class="chip" style:background=units::service_colour(&h.root_service)></span>" "{h.root_service.clone()}</td>
                                        <td>{h.root_name.clone()}</td>
                                        <td title=units::utc(h.start_unix_nanos)>{crate::views::trace_header::local_time(h.start_unix_nanos)}</td>
                                        <td>{units::duration(h.duration_nanos)}</td>
                                        <td>{h.spans.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
                                        <td>{h.errors.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
                                        <td><span class=format!("grade grade-{}", h.grade.to_lowercase())>{h.grade.clone()}</span></td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
            </Show>
        </main>
    }
}

/// Searches the loaded set with the core's TraceQL evaluator.
fn search_local(state: AppState, q: &str) -> Result<Vec<Hit>, String> {
    let query = spanlens_core::query::parse_search(q).map_err(|e| e.to_string())?;
    let Some(l) = state.loaded.get_untracked() else {
        return Err("No traces are loaded in this browser: drop a file, or search a server".into());
    };
    let result = spanlens_core::query::search(
        &l.set,
        &query,
        spanlens_core::query::SearchOptions {
            limit: 0,
            spans_per_spanset: 3,
        },
    );
    Ok(result
        .traces
        .iter()
        .map(|t| {
            let s = l.summaries.get(t.trace_index as usize);
            Hit {
                id: t.trace_id.clone(),
                root_service: t.root_service_name.clone().unwrap_or_default(),
                root_name: t.root_trace_name.clone().unwrap_or_default(),
                start_unix_nanos: t.start_unix_nanos,
                duration_nanos: t.duration_nanos,
                spans: s.map(|s| s.spans),
                errors: s.map(|s| s.errors),
                grade: crate::views::analysis::trace_grade(&l, t.trace_index),
            }
        })
        .collect())
}

/// Duration (log scale) over start time; click a dot to open the trace.
#[component]
fn Scatter(hits: RwSignal<Vec<Hit>>, open: impl Fn(String) + Copy + Send + Sync + 'static) -> impl IntoView {
    const H: f64 = 180.0;
    const PAD: f64 = 36.0;
    move || {
        let v = hits.get();
        let t0 = v.iter().map(|h| h.start_unix_nanos).min().unwrap_or(0);
        let t1 = v
            .iter()
            .map(|h| h.start_unix_nanos)
            .max()
            .unwrap_or(0)
            .max(t0 + 1);
        let dmax = v.iter().map(|h| h.duration_nanos).max().unwrap_or(1).max(1) as f64;
        let dmin = v.iter().map(|h| h.duration_nanos).min().unwrap_or(1).max(1) as f64;
        let (lmin, lmax) = (dmin.log10(), dmax.log10().max(dmin.log10() + 1.0));
        let y = move |d: u64| H - PAD / 2.0 - ((d.max(1) as f64).log10() - lmin) / (lmax - lmin) * (H - PAD);
        let x = move |t: u64| format!("{:.3}%", 4.0 + (t - t0) as f64 / (t1 - t0) as f64 * 92.0);
        view! {
            <svg class="scatter" role="img" aria-label="Trace duration over start time">
                <line class="axis" x1="4%" y1=H - PAD / 2.0 x2="96%" y2=H - PAD / 2.0/>
                <text x=2 y=12>{units::duration(dmax as u64)}</text>
                <text x=2 y=H - PAD / 2.0>{units::duration(dmin as u64)}</text>
                {v.iter().map(|h| {
                    let id = h.id.clone();
                    let colour = if h.errors.unwrap_or(0) > 0 { "var(--error)".to_string() } else { units::service_colour(&h.root_service) };
                    view! {
                        <circle cx=x(h.start_unix_nanos) cy=y(h.duration_nanos) r=5 fill=colour
                            on:click=move |_| open(id.clone())>
                            <title>{format!("{} {} — {}", h.root_service, h.root_name, units::duration(h.duration_nanos))}</title>
                        </circle>
                    }
                }).collect_view()}
            </svg>
        }
    }
}
