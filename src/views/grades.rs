//! The grades and bottlenecks view (`view=grades`): every operation with its category, calls,
//! errors, p50/p95/p99 and an A–F badge; the services with their grades; the bottlenecks by
//! impact with severity and recommendations; the editor of the category rules. All figures
//! are the core's (`analyze_set`); this view only sorts and renders them.
//!
//! Test hooks: badges `data-operation="<service>/<span name>"` + `data-grade`, bottleneck rows
//! `data-testid="bottleneck"`.

use crate::units;
use crate::views::rules_editor::RulesEditor;
use crate::views::service_graph::{ellipsize, pct};
use crate::views::set_analysis::SetAnalysisCtx;
use leptos::prelude::*;
use spanlens_core::analysis::{Grade, OperationSummary, SetAnalysis, Severity};
use std::sync::Arc;

/// A grade badge: the letter is always shown (colour is never the only signal).
#[component]
pub fn GradeBadge(grade: Grade, #[prop(optional, into)] operation: Option<String>) -> impl IntoView {
    let g = format!("{grade:?}");
    view! {
        <span class=format!("grade grade-{}", g.to_lowercase()) data-grade=g.clone() data-operation=operation
            title=format!("Grade {g}")>{g.clone()}</span>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Operation,
    Category,
    Calls,
    Errors,
    P50,
    P95,
    P99,
    Grade,
}

fn sort_ops(ops: &mut [OperationSummary], key: SortKey, desc: bool) {
    ops.sort_by(|a, b| {
        let o = match key {
            SortKey::Operation => (&a.service, &a.name).cmp(&(&b.service, &b.name)),
            SortKey::Category => a.category.cmp(&b.category),
            SortKey::Calls => a.calls.cmp(&b.calls),
            SortKey::Errors => a.errors.cmp(&b.errors),
            SortKey::P50 => a.latency.p50_nanos.cmp(&b.latency.p50_nanos),
            SortKey::P95 => a.latency.p95_nanos.cmp(&b.latency.p95_nanos),
            SortKey::P99 => a.latency.p99_nanos.cmp(&b.latency.p99_nanos),
            SortKey::Grade => a
                .grade
                .cmp(&b.grade)
                .then(a.latency.p95_nanos.cmp(&b.latency.p95_nanos)),
        };
        if desc {
            o.reverse()
        } else {
            o
        }
    });
}

/// The grades and bottlenecks of the loaded set.
#[component]
pub fn GradesView(
    analysis: Arc<SetAnalysis>,
    ctx: SetAnalysisCtx,
    /// Shows the RED charts of (service, operation).
    #[prop(into)]
    on_red: Callback<(String, Option<String>)>,
    /// Opens an example: (trace id, span id or empty).
    #[prop(into)]
    on_open_span: Callback<(String, String)>,
    /// Runs after the rules changed (the page updates its URL).
    #[prop(into)]
    on_rules: Callback<()>,
) -> impl IntoView {
    let sort = RwSignal::new((SortKey::Grade, true));
    let a = analysis.clone();
    let rows = Memo::new(move |_| {
        let (k, d) = sort.get();
        let mut ops = a.operations.clone();
        sort_ops(&mut ops, k, d);
        ops
    });
    let header = move |label: &'static str, key: SortKey, num: bool| {
        view! {
            <th class:num=num aria-sort=move || match sort.get() { (k, true) if k == key => "descending", (k, false) if k == key => "ascending", _ => "none" }>
                <button class="th-sort" on:click=move |_| sort.update(|s| *s = if s.0 == key { (key, !s.1) } else { (key, key != SortKey::Operation && key != SortKey::Category) })>
                    {label}{move || match sort.get() { (k, true) if k == key => " ▾", (k, false) if k == key => " ▴", _ => "" }}
                </button>
            </th>
        }
    };
    let services = analysis.services.clone();
    let bottlenecks = analysis.bottlenecks.clone();
    let nb = bottlenecks.len();
    view! {
        <section class="an-view grades" data-testid="grades-view">
            <div class="an-columns">
                <div class="an-col">
                    <h2>"Bottlenecks" <span class="muted">{format!(" {nb}, by impact")}</span></h2>
                    {(bottlenecks.is_empty()).then(|| view! { <p class="muted">"No bottlenecks: every operation is within its category's alert threshold and target."</p> })}
                    <ol class="bottlenecks">
                        {bottlenecks.into_iter().map(|b| {
                            let sev = match b.severity { Severity::Critical => "critical", Severity::Alert => "alert" };
                            let key = (b.service.clone(), b.operation.clone());
                            view! {
                                <li class=format!("bottleneck sev-{sev}") data-testid="bottleneck" data-operation=format!("{}/{}", b.service, b.operation)
                                    data-impact=format!("{:.3}", b.impact)>
                                    <div class="bn-head">
                                        <span class=format!("sev sev-{sev}")>{sev}</span>
                                        <button class="link bn-name" title=format!("{}/{}", b.service, b.operation)
                                            on:click=move |_| on_red.run((key.0.clone(), Some(key.1.clone())))>
                                            <span class="muted">{format!("{} / ", b.service)}</span>{ellipsize(&b.operation, 60)}
                                        </button>
                                        <span class="spacer"></span>
                                        <span class="bn-impact" title=format!("impact = duration {:.2} × frequency {:.2} × reliability {:.2}", b.duration_impact, b.frequency_impact, b.reliability_impact)>
                                            {format!("impact {:.2}", b.impact)}
                                        </span>
                                    </div>
                                    <div class="bn-figures muted">
                                        {format!("{} · p95 {} (target {}, alert {}) · {} calls · {} errors ({}) · {} over target",
                                            b.category, units::duration(b.p95_nanos), units::duration(b.target_nanos), units::duration(b.alert_nanos),
                                            b.calls, b.errors, pct(b.error_rate), pct(b.over_target_fraction))}
                                    </div>
                                    <ul class="recs">
                                        {b.recommendations.into_iter().map(|r| {
                                            let ex = r.example_trace_ids.first().cloned().map(|t| (t, r.example_span_ids.first().cloned().unwrap_or_default()));
                                            view! {
                                                <li data-kind=format!("{:?}", r.kind)>{r.message.clone()}
                                                    {ex.map(|e| view! { " " <button class="link" on:click=move |_| on_open_span.run(e.clone())>"example"</button> })}
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                    <h2>"Services"</h2>
                    <table class="an-table" data-testid="service-grades">
                        <thead><tr><th>"Service"</th><th class="num" title="Operations">"Ops"</th><th class="num">"Calls"</th><th class="num">"Errors"</th><th>"Grade"</th></tr></thead>
                        <tbody>
                            {services.into_iter().map(|s| {
                                let name = s.service.clone();
                                view! {
                                    <tr data-service-row=s.service.clone()>
                                        <td><span class="chip" style:background=units::service_colour(&s.service)></span>
                                            <button class="link" on:click=move |_| on_red.run((name.clone(), None))>{s.service.clone()}</button></td>
                                        <td class="num">{s.operations}</td>
                                        <td class="num">{s.calls}</td>
                                        <td class="num">{s.errors}</td>
                                        <td><span title=format!("mean grade points {:.2}", s.grade_points)><GradeBadge grade=s.grade/></span></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    <RulesEditor ctx=ctx on_apply=on_rules/>
                </div>
                <div class="an-col wide">
                    <h2>"Operations"</h2>
                    <div class="an-scroll">
                    <table class="an-table sortable" data-testid="operations-table">
                        <thead><tr>
                            {header("Operation", SortKey::Operation, false)}
                            {header("Grade", SortKey::Grade, false)}
                            {header("Category", SortKey::Category, false)}
                            {header("Calls", SortKey::Calls, true)}
                            {header("Errors", SortKey::Errors, true)}
                            {header("p50", SortKey::P50, true)}
                            {header("p95", SortKey::P95, true)}
                            {header("p99", SortKey::P99, true)}
                        </tr></thead>
                        <tbody>
                            {move || rows.get().into_iter().map(|o| {
                                let key = (o.service.clone(), o.name.clone());
                                view! {
                                    <tr class:bottleneck-row=o.bottleneck>
                                        <td class="op-cell"><span class="chip" style:background=units::service_colour(&o.service)></span>
                                            <button class="link" title=format!("{} / {}", o.service, o.name) on:click=move |_| on_red.run((key.0.clone(), Some(key.1.clone())))>
                                                <span class="muted">{format!("{} / ", ellipsize(&o.service, 16))}</span>{ellipsize(o.name.trim(), 30)}
                                            </button></td>
                                        <td><GradeBadge grade=o.grade operation=format!("{}/{}", o.service, o.name)/></td>
                                        <td>{o.category.clone()}</td>
                                        <td class="num">{o.calls}</td>
                                        <td class="num" class:error-text=o.errors.gt(&0)>{format!("{} ({})", o.errors, pct(o.error_rate))}</td>
                                        <td class="num">{units::duration(o.latency.p50_nanos)}</td>
                                        <td class="num">{units::duration(o.latency.p95_nanos)}</td>
                                        <td class="num">{units::duration(o.latency.p99_nanos)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                </div>
            </div>
        </section>
    }
}
