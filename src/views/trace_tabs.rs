//! The view tabs of the trace page (Waterfall · Graph · Statistics · Flame · Errors · Grades ·
//! RED · Compare) and the body of every tab but the waterfall, which the trace page draws
//! itself. The tab is `TraceCtx::view` (`view=` in the URL). Per-trace tabs read the core's
//! `TraceAnalysis`; Grades, RED and Compare read the analysis of the whole loaded set.

use crate::routes::{Params, Route, VIEWS};
use crate::state::trace_view::TraceCtx;
use crate::state::use_app;
use crate::views::compare::CompareView;
use crate::views::errors::TraceErrorsView;
use crate::views::flame::FlameView;
use crate::views::grades::{GradeBadge, GradesView};
use crate::views::red_charts::RedChartsView;
use crate::views::set_analysis::{use_set_analysis, WithSetAnalysis};
use crate::views::stats::StatsView;
use crate::views::trace_graph::{open_in_waterfall, TraceGraphView};
use leptos::prelude::*;

fn label(view: &str) -> &'static str {
    match view {
        "waterfall" => "Waterfall",
        "graph" => "Graph",
        "stats" => "Statistics",
        "flame" => "Flame",
        "errors" => "Errors",
        "grades" => "Grades",
        "red" => "RED",
        "compare" => "Compare",
        _ => "",
    }
}

/// The tab bar.
#[component]
pub fn TraceTabs(ctx: TraceCtx) -> impl IntoView {
    let current = move || ctx.view.get().unwrap_or_else(|| "waterfall".into());
    view! {
        <nav class="tabs trace-tabs" role="tablist" aria-label="Trace views">
            {VIEWS.iter().map(|v| {
                let v = *v;
                view! {
                    <button role="tab" data-view=v aria-selected=move || (current() == v).to_string() class:active=move || current() == v
                        on:click=move |_| ctx.view.set((v != "waterfall").then(|| v.to_string()))>{label(v)}</button>
                }
            }).collect_view()}
        </nav>
    }
}

/// The body of the selected tab (nothing for the waterfall).
#[component]
pub fn TraceTabBody(ctx: TraceCtx) -> impl IntoView {
    let state = use_app();
    let set_ctx = use_set_analysis();
    let trace_id = ctx.trace().trace_id.to_hex();
    let this_id = trace_id.clone();
    let open_span = Callback::new(move |(trace, span): (String, String)| {
        if trace == this_id {
            let found = ctx.loaded.with_value(|l| {
                let t = l.set.trace(ctx.trace_index)?;
                l.set
                    .trace_spans(t)
                    .iter()
                    .position(|s| s.span_id.to_hex() == span)
                    .map(|p| t.spans.start + p as u32)
            });
            match found {
                Some(s) => open_in_waterfall(ctx, s),
                None => ctx.view.set(None),
            }
            return;
        }
        let source = ctx.loaded.with_value(|l| l.source.as_param());
        state.navigate(Route::trace(
            &trace,
            Params {
                source: Some(source),
                span: (!span.is_empty()).then_some(span),
                ..Params::default()
            },
        ));
    });
    let service = RwSignal::new(None::<String>);
    let op = RwSignal::new(None::<String>);
    let on_red = Callback::new(move |(s, o): (String, Option<String>)| {
        service.set(Some(s));
        op.set(o);
        ctx.view.set(Some("red".into()));
    });
    let a = RwSignal::new(Some(trace_id));
    let b = RwSignal::new(state.route.with_untracked(|r| r.params.b.clone()));
    let loaded = ctx.loaded.get_value();
    let multi = loaded.summaries.len() > 1;
    move || {
        let v = ctx.view.get();
        let whole_set = multi.then(|| view! { <p class="muted an-note">{format!("Over all {} loaded traces.", loaded.summaries.len())}</p> });
        match v.as_deref() {
            None | Some("waterfall") => view! { <span></span> }.into_any(),
            Some("graph") => view! { <TraceGraphView ctx=ctx/> }.into_any(),
            Some("stats") => view! { <StatsView ctx=ctx/> }.into_any(),
            Some("flame") => view! { <FlameView ctx=ctx/> }.into_any(),
            Some("errors") => view! { <TraceErrorsView ctx=ctx/> }.into_any(),
            Some("compare") => view! { <CompareView loaded=loaded.clone() a=a b=b on_open_span=open_span/> }.into_any(),
            Some("red") => view! {
                {whole_set}
                <WithSetAnalysis ctx=set_ctx body=move |an| view! { <RedChartsView analysis=an service=service op=op/> }/>
            }
            .into_any(),
            Some(_) => {
                let grades = move || {
                    let a = ctx.analysis.get()?.0;
                    Some(view! {
                        <dl class="an-figures" data-testid="trace-grades">
                            <div><dt>"Trace grade"</dt><dd>{a.grade.map(|g| view! { <GradeBadge grade=g/> })}</dd></div>
                            <div><dt>"Worst on the critical path"</dt><dd>{a.worst_critical_path_grade.map(|g| view! { <GradeBadge grade=g/> })}</dd></div>
                        </dl>
                    })
                };
                view! {
                    {grades}
                    {whole_set}
                    <WithSetAnalysis ctx=set_ctx body=move |an| view! {
                        <GradesView analysis=an ctx=set_ctx on_red=on_red on_open_span=open_span on_rules=Callback::new(move |_| {
                            let route = state.route.get_untracked();
                            let mut params = route.params.clone();
                            params.rules = set_ctx.rules_text.with_untracked(|t| crate::views::rules_editor::rules_param(t));
                            state.replace_url(&Route { page: route.page, params });
                        })/>
                    }/>
                }
                .into_any()
            }
        }
    }
}
