//! The insights page (`/insights?view=graph|red|grades|errors|compare`): the analysis of the
//! whole loaded set — search results, a multi-trace file or several files — computed once in a
//! worker by the core (`views::set_analysis`). Tabs: service graph, RED charts, grades and
//! bottlenecks, errors, compare. The tab, the focused service/operation, the compared traces
//! and changed rules live in the URL, so a shared link (also in embed mode) shows the same view.

use crate::routes::{Page, Params, Route, INSIGHTS_VIEWS};
use crate::state::use_app;
use crate::units;
use crate::views::compare::CompareView;
use crate::views::errors::SetErrorsView;
use crate::views::grades::GradesView;
use crate::views::red_charts::RedChartsView;
use crate::views::rules_editor::rules_param;
use crate::views::service_graph::ServiceGraphView;
use crate::views::set_analysis::{use_set_analysis, Status, WithSetAnalysis};
use leptos::prelude::*;

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
    let base = params.clone();
    Effect::new(move |_| {
        let p = Params {
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
                <span class="muted">{format!(" · {}", l.names.join(", "))}{format!(" · {timing}")}</span>
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
                            "red" => view! { <RedChartsView analysis=an service=service op=op/> }.into_any(),
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
    view! {
        <main class="insights-page">
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
