//! The span details drawer (`data-testid="span-details"`): name, service, kind, status and
//! message, start (relative and absolute), duration, self time (core analysis), clock-skew
//! shift, attributes of the span, resource and scope with a filter, events with relative times,
//! exceptions with stack traces, links (clickable when the target is loaded), the raw span as
//! JSON, and copy buttons.

use crate::state::trace_view::TraceCtx;
use crate::state::use_app;
use crate::units;
use crate::widgets::copy_text;
use leptos::prelude::*;
use spanlens_core::model::{owned_to_json, Range32, Span, TraceSet};

fn attrs_of(set: &TraceSet, r: Range32) -> Vec<(String, String)> {
    set.arena
        .kv_slice(r)
        .iter()
        .map(|kv| (set.arena.str(kv.key).to_string(), set.arena.value_text(kv.value)))
        .collect()
}

fn attrs_json(set: &TraceSet, r: Range32) -> serde_json::Value {
    serde_json::Value::Array(
        set.arena
            .load_attrs(r)
            .iter()
            .map(|(k, v)| serde_json::json!({ "key": k, "value": owned_to_json(v) }))
            .collect(),
    )
}

/// The span as JSON (OTLP-like field names) for the raw view and the copy button.
fn raw_json(set: &TraceSet, s: &Span) -> String {
    let resource = set.resource(s);
    let scope = set
        .arena
        .scopes
        .get(s.scope as usize)
        .copied()
        .unwrap_or_default();
    let value = serde_json::json!({
        "traceId": s.trace_id.to_hex(),
        "spanId": s.span_id.to_hex(),
        "parentSpanId": s.parent_span_id.map(|p| p.to_hex()),
        "name": set.arena.str(s.name),
        "kind": s.kind.enum_name(),
        "startTimeUnixNano": s.start_unix_nanos.to_string(),
        "endTimeUnixNano": s.end_unix_nanos.to_string(),
        "status": { "code": s.status_code.enum_name(), "message": set.arena.str(s.status_message) },
        "attributes": attrs_json(set, s.attrs),
        "events": set.events(s).iter().map(|e| serde_json::json!({
            "timeUnixNano": e.time_unix_nanos.to_string(),
            "name": set.arena.str(e.name),
            "attributes": attrs_json(set, e.attrs),
        })).collect::<Vec<_>>(),
        "links": set.links(s).iter().map(|l| serde_json::json!({
            "traceId": l.trace_id.to_hex(),
            "spanId": l.span_id.to_hex(),
            "attributes": attrs_json(set, l.attrs),
        })).collect::<Vec<_>>(),
        "resource": { "attributes": attrs_json(set, resource.attrs) },
        "scope": { "name": set.arena.str(scope.name), "version": set.arena.str(scope.version) },
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// Attributes as (key, text) pairs.
type Attrs = Vec<(String, String)>;

struct Details {
    span_id: String,
    name: String,
    service: String,
    kind: &'static str,
    status: &'static str,
    status_message: String,
    start_rel: String,
    start_abs: String,
    duration: String,
    self_time: Option<String>,
    skew: i64,
    span_attrs: Vec<(String, String)>,
    resource_attrs: Vec<(String, String)>,
    scope_name: String,
    scope_attrs: Vec<(String, String)>,
    events: Vec<(String, String, Attrs)>,
    exceptions: Vec<(String, String, String)>,
    links: Vec<(String, String, Option<String>)>,
    raw: String,
}

fn details(ctx: TraceCtx, index: u32) -> Option<Details> {
    let t0 = ctx.axis.0;
    ctx.loaded.with_value(|l| {
        let set = &l.set;
        let s = set.span(index).copied()?;
        let scope = set
            .arena
            .scopes
            .get(s.scope as usize)
            .copied()
            .unwrap_or_default();
        let events = set
            .events(&s)
            .iter()
            .map(|e| {
                (
                    units::offset(i128::from(e.time_unix_nanos) - i128::from(s.start_unix_nanos)),
                    set.arena.str(e.name).to_string(),
                    attrs_of(set, e.attrs),
                )
            })
            .collect::<Vec<_>>();
        let exceptions = events
            .iter()
            .filter(|(_, name, _)| name == "exception")
            .map(|(_, _, attrs)| {
                let get = |k: &str| {
                    attrs
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                (
                    get("exception.type"),
                    get("exception.message"),
                    get("exception.stacktrace"),
                )
            })
            .collect();
        let links = set
            .links(&s)
            .iter()
            .map(|lk| {
                let tid = lk.trace_id.to_hex();
                // Clickable when loaded here, or when the set came from a server that can load it.
                let source = if l.find(&tid).is_some() || l.source != crate::routes::Source::Local {
                    Some(l.source.as_param())
                } else {
                    None
                };
                (tid, lk.span_id.to_hex(), source)
            })
            .collect();
        Some(Details {
            span_id: s.span_id.to_hex(),
            name: set.arena.str(s.name).to_string(),
            service: set.service_name(&s).to_string(),
            kind: s.kind.short_name(),
            status: s.status_code.short_name(),
            status_message: set.arena.str(s.status_message).to_string(),
            start_rel: units::offset(i128::from(s.display_start_unix_nanos()) - i128::from(t0)),
            start_abs: format!(
                "{} · {}",
                crate::views::trace_header::local_time(s.start_unix_nanos),
                units::utc(s.start_unix_nanos)
            ),
            duration: units::duration(s.duration_nanos()),
            self_time: crate::views::analysis::self_time(l, ctx.trace_index, index).map(units::duration),
            skew: s.skew_shift_nanos,
            span_attrs: attrs_of(set, s.attrs),
            resource_attrs: attrs_of(set, set.resource(&s).attrs),
            scope_name: format!("{} {}", set.arena.str(scope.name), set.arena.str(scope.version)),
            scope_attrs: attrs_of(set, scope.attrs),
            events,
            exceptions,
            links,
            raw: raw_json(set, &s),
        })
    })
}

#[component]
fn AttrTable(title: &'static str, attrs: Vec<(String, String)>, filter: RwSignal<String>) -> impl IntoView {
    let state = use_app();
    let n = attrs.len();
    view! {
        <section class="sd-section">
            <h3>{format!("{title} ({n})")}</h3>
            <table class="attrs">
                <tbody>
                    {attrs.into_iter().map(|(k, v)| {
                        let (k2, v2) = (k.clone(), v.clone());
                        let shown = move || {
                            let f = filter.get().to_lowercase();
                            f.is_empty() || k2.to_lowercase().contains(&f) || v2.to_lowercase().contains(&f)
                        };
                        let copy = v.clone();
                        view! {
                            <tr class:hidden=move || !shown()>
                                <th title=k.clone()>{k.clone()}</th>
                                <td><span class="attr-value">{v.clone()}</span>
                                    <button class="copy" title="Copy value" aria-label="Copy value"
                                        on:click=move |_| copy_text(state, copy.clone(), "value")>"copy"</button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// The details drawer of the selected span.
#[component]
pub fn SpanDetails(ctx: TraceCtx) -> impl IntoView {
    let state = use_app();
    let filter = RwSignal::new(String::new());
    move || {
        let index = ctx.selected.get()?;
        let _ = ctx.analysis.get();
        let d = details(ctx, index)?;
        let raw = d.raw.clone();
        let id_copy = d.span_id.clone();
        Some(view! {
            <aside class="span-details" data-testid="span-details" aria-label="Span details">
                <header class="sd-head">
                    <h2 title=d.name.clone()>{d.name.clone()}</h2>
                    <button class="icon-button" aria-label="Close details" title="Close (Esc)"
                        on:click=move |_| ctx.details_open.set(false)>"×"</button>
                </header>
                <dl class="sd-facts">
                    <dt>"Service"</dt><dd><span class="chip" style:background=units::service_colour(&d.service)></span>{d.service.clone()}</dd>
                    <dt>"Span id"</dt><dd><code>{d.span_id.clone()}</code>
                        <button class="copy" aria-label="Copy span id" on:click=move |_| copy_text(state, id_copy.clone(), "span id")>"copy"</button></dd>
                    <dt>"Kind"</dt><dd>{d.kind}</dd>
                    <dt>"Status"</dt><dd class:error-text=d.status == "error">{d.status}
                        {(!d.status_message.is_empty()).then(|| format!(" — {}", d.status_message))}</dd>
                    <dt>"Start"</dt><dd title=d.start_abs.clone()>{d.start_rel.clone()}<br/><span class="muted small">{d.start_abs.clone()}</span></dd>
                    <dt>"Duration"</dt><dd data-testid="span-duration">{d.duration.clone()}</dd>
                    <dt>"Self time"</dt><dd>{d.self_time.clone().unwrap_or_else(|| "—".into())}</dd>
                    {(d.skew != 0).then(|| view! {
                        <dt>"Clock skew"</dt><dd class="warn">{format!("shown shifted by {}", units::offset(i128::from(d.skew)))}</dd>
                    })}
                </dl>
                <input type="search" class="sd-filter" placeholder="Filter attributes" aria-label="Filter attributes"
                    prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev))/>
                <AttrTable title="Span attributes" attrs=d.span_attrs filter=filter/>
                <AttrTable title="Resource attributes" attrs=d.resource_attrs filter=filter/>
                <AttrTable title="Scope" attrs={
                    let mut a = vec![("name".to_string(), d.scope_name.trim().to_string())];
                    a.extend(d.scope_attrs);
                    a
                } filter=filter/>
                {(!d.exceptions.is_empty()).then(|| view! {
                    <section class="sd-section">
                        <h3>"Exceptions"</h3>
                        {d.exceptions.into_iter().map(|(ty, msg, stack)| view! {
                            <div class="exception">
                                <div class="error-text"><strong>{ty}</strong>": "{msg}</div>
                                {(!stack.is_empty()).then(|| view! { <pre class="stack">{stack}</pre> })}
                            </div>
                        }).collect_view()}
                    </section>
                })}
                <section class="sd-section">
                    <h3>{format!("Events ({})", d.events.len())}</h3>
                    <ul class="events">
                        {d.events.into_iter().map(|(at, name, attrs)| view! {
                            <li><span class="muted">{at}</span>" "<strong>{name}</strong>
                                {(!attrs.is_empty()).then(|| view! {
                                    <ul class="event-attrs">{attrs.into_iter().map(|(k, v)| view! { <li><code>{k}</code>" = "{v}</li> }).collect_view()}</ul>
                                })}
                            </li>
                        }).collect_view()}
                    </ul>
                </section>
                <section class="sd-section">
                    <h3>{format!("Links ({})", d.links.len())}</h3>
                    <ul class="links">
                        {d.links.into_iter().map(|(tid, sid, source)| {
                            let label = format!("{tid} / {sid}");
                            if let Some(source) = source {
                                let href = crate::routes::Route::trace(&tid, crate::routes::Params {
                                    source: Some(source),
                                    span: Some(sid.clone()),
                                    ..Default::default()
                                });
                                let url = href.to_url();
                                view! { <li><a href=url on:click=move |ev| { ev.prevent_default(); state.navigate(href.clone()); }>{label}</a></li> }.into_any()
                            } else {
                                view! { <li><code>{label}</code><span class="muted">" (not loaded)"</span></li> }.into_any()
                            }
                        }).collect_view()}
                    </ul>
                </section>
                <details class="sd-section">
                    <summary>"Raw JSON"</summary>
                    <button class="copy-wide" on:click={let raw = raw.clone(); move |_| copy_text(state, raw.clone(), "JSON")}>"Copy JSON"</button>
                    <pre class="raw-json">{raw}</pre>
                </details>
            </aside>
        })
    }
}
