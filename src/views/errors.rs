//! The errors views (`view=errors`). Over a set: the core's error clusters (service, operation,
//! exception type or status message) with counts, first/last seen and example traces, and the
//! root-cause candidate of every trace with errors. For one trace: every error span with its
//! status message and exception events (type, message, stack trace), the root-cause candidate
//! first. Clicking an example opens that span in the waterfall. Data: `SetAnalysis::errors`,
//! `SetAnalysis::traces`, `TraceAnalysis::errors`.

use crate::state::trace_view::TraceCtx;
use crate::state::Loaded;
use crate::units;
use crate::views::service_graph::ellipsize;
use crate::views::trace_graph::open_in_waterfall;
use leptos::prelude::*;
use spanlens_core::analysis::SetAnalysis;
use std::sync::Arc;

/// The span id of the first error span of (service, name) in a trace of the loaded set.
pub fn first_error_span(l: &Loaded, trace_id: &str, service: &str, name: &str) -> Option<String> {
    let ti = l.find(trace_id)?;
    let t = l.set.trace(ti)?;
    l.set
        .trace_spans(t)
        .iter()
        .find(|s| l.set.service_name(s) == service && l.set.name(s) == name)
        .map(|s| s.span_id.to_hex())
}

/// Error clusters and root causes of the loaded set.
#[component]
pub fn SetErrorsView(
    analysis: Arc<SetAnalysis>,
    /// Opens (trace id, span id).
    #[prop(into)]
    on_open_span: Callback<(String, String)>,
) -> impl IntoView {
    let state = crate::state::use_app();
    let r = analysis.errors.clone();
    let with_rc: Vec<_> = analysis
        .traces
        .iter()
        .filter(|t| t.error_count > 0)
        .take(200)
        .cloned()
        .collect();
    let n_rc = analysis.traces.iter().filter(|t| t.error_count > 0).count();
    view! {
        <section class="an-view errors" data-testid="errors-view">
            <p class="an-summary">
                <strong>{r.error_spans}</strong>" error spans · "<strong>{r.exception_events}</strong>" exception events · "
                <strong>{r.traces_with_errors}</strong>" traces with errors · "<strong>{r.clusters.len()}</strong>" clusters"
            </p>
            {r.clusters.is_empty().then(|| view! { <p class="muted">"No errors in these traces."</p> })}
            <ol class="clusters">
                {r.clusters.into_iter().map(|c| {
                    let examples = c.example_trace_ids.clone();
                    let (svc, name) = (c.service.clone(), c.span_name.clone());
                    view! {
                        <li class="cluster" data-testid="error-cluster" data-count=c.count.to_string() data-operation=format!("{}/{}", c.service, c.span_name)>
                            <div class="cl-head">
                                <span class="cl-count">{format!("×{}", c.count)}</span>
                                <span class="chip" style:background=units::service_colour(&c.service)></span>
                                <span class="muted">{format!("{} / ", c.service)}</span><strong title=c.span_name.clone()>{ellipsize(&c.span_name, 60)}</strong>
                                <span class="cl-reason error-text" title=c.reason.clone()>{ellipsize(&c.reason, 70)}</span>
                            </div>
                            {(!c.example_message.is_empty()).then(|| view! { <div class="cl-msg"><code>{ellipsize(&c.example_message, 240)}</code></div> })}
                            <div class="cl-meta muted">
                                {format!("{} · first {} · last {}", if c.from_exception { "exception" } else { "status" },
                                    crate::views::trace_header::local_time(c.first_seen_unix_nanos), crate::views::trace_header::local_time(c.last_seen_unix_nanos))}
                                " · examples: "
                                {examples.into_iter().map(|t| {
                                    let (t2, s2, n2) = (t.clone(), svc.clone(), name.clone());
                                    view! {
                                        <button class="link" data-testid="error-example" on:click=move |_| {
                                            let span = state.loaded.get_untracked().and_then(|l| first_error_span(&l, &t2, &s2, &n2)).unwrap_or_default();
                                            on_open_span.run((t2.clone(), span));
                                        }><code>{t.get(..12).unwrap_or("").to_string()}</code></button>" "
                                    }
                                }).collect_view()}
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ol>
            <h2>"Root-cause candidates" <span class="muted">{format!(" {n_rc} traces with errors; the deepest error span whose children have no error")}</span></h2>
            <table class="an-table" data-testid="root-causes">
                <thead><tr><th>"Trace"</th><th>"Root"</th><th class="num">"Errors"</th><th>"Root cause"</th></tr></thead>
                <tbody>
                    {with_rc.into_iter().map(|t| {
                        let rc = t.root_cause_span_id.clone();
                        let rc_label = state.loaded.get_untracked().and_then(|l| {
                            let id = rc.as_deref()?;
                            let ti = l.find(&t.trace_id)?;
                            let tr = l.set.trace(ti)?;
                            l.set.trace_spans(tr).iter().find(|s| s.span_id.to_hex() == id)
                                .map(|s| format!("{} / {}", l.set.service_name(s), l.set.name(s)))
                        });
                        let key = (t.trace_id.clone(), rc.clone().unwrap_or_default());
                        view! {
                            <tr>
                                <td><code>{t.trace_id.get(..16).unwrap_or("").to_string()}</code></td>
                                <td>{ellipsize(&format!("{} / {}", t.root_service, t.root_name), 50)}</td>
                                <td class="num error-text">{t.error_count}</td>
                                <td><button class="link" data-testid="root-cause" on:click=move |_| on_open_span.run(key.clone())>
                                    {rc_label.unwrap_or_else(|| "open trace".into())}</button></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// The errors of the open trace.
#[component]
pub fn TraceErrorsView(ctx: TraceCtx) -> impl IntoView {
    let body = move || {
        let a = ctx.analysis.get()?.0;
        if a.errors.is_empty() {
            return Some(
                view! { <p class="muted an-note">"No error spans or exception events in this trace."</p> }
                    .into_any(),
            );
        }
        let rc = a.root_cause;
        let mut errs = a.errors.clone();
        errs.sort_by_key(|e| Some(e.span) != rc);
        Some(
            view! {
                <ol class="clusters">
                    {errs.into_iter().map(|e| {
                        let span = e.span;
                        let is_rc = Some(span) == rc;
                        view! {
                            <li class="cluster" class:root-cause=is_rc data-testid="trace-error" data-span-id=e.span_id.clone()>
                                <div class="cl-head">
                                    {is_rc.then(|| view! { <span class="sev sev-critical" title="The deepest error span whose children have no error">"root cause"</span> })}
                                    <span class="chip" style:background=units::service_colour(&e.service)></span>
                                    <span class="muted">{format!("{} / ", e.service)}</span><strong>{ellipsize(&e.name, 60)}</strong>
                                    <span class="spacer"></span>
                                    <button class="link" on:click=move |_| open_in_waterfall(ctx, span)>"Open in waterfall"</button>
                                </div>
                                {(!e.status_message.is_empty()).then(|| view! { <div class="cl-msg error-text">{e.status_message.clone()}</div> })}
                                {e.exceptions.into_iter().map(|x| view! {
                                    <div class="exception">
                                        <div><strong>{x.exception_type.clone()}</strong>{(!x.message.is_empty()).then(|| format!(": {}", x.message))}</div>
                                        {(!x.stacktrace.is_empty()).then(|| view! {
                                            <details><summary>"Stack trace"</summary><pre class="stack">{x.stacktrace.clone()}</pre></details>
                                        })}
                                    </div>
                                }).collect_view()}
                            </li>
                        }
                    }).collect_view()}
                </ol>
            }
            .into_any(),
        )
    };
    view! {
        <section class="an-view errors" data-testid="trace-errors-view">
            {move || body().unwrap_or_else(|| view! { <p class="muted an-note">"Computing…"</p> }.into_any())}
        </section>
    }
}
