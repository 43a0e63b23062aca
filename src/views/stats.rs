//! The trace statistics table (`view=stats`), as in Jaeger: per operation (or rolled up per
//! service) the count, errors, total/avg/min/max duration and self time, and the share of the
//! trace. Rows come from the core's `TraceAnalysis::operations`; the service grouping only sums
//! those rows. Sortable by every column.

use crate::state::trace_view::TraceCtx;
use crate::units;
use crate::views::service_graph::ellipsize;
use leptos::prelude::*;
use spanlens_core::analysis::OperationStats;

#[derive(Clone, Debug, PartialEq)]
struct Row {
    service: String,
    name: Option<String>,
    count: u64,
    errors: u64,
    total: u64,
    avg: u64,
    min: u64,
    max: u64,
    self_total: u64,
    self_avg: u64,
    percent: f64,
}

fn by_operation(ops: &[OperationStats]) -> Vec<Row> {
    ops.iter()
        .map(|o| Row {
            service: o.service.clone(),
            name: Some(o.name.clone()),
            count: o.count,
            errors: o.errors,
            total: o.total_nanos,
            avg: o.avg_nanos,
            min: o.min_nanos,
            max: o.max_nanos,
            self_total: o.self_total_nanos,
            self_avg: o.self_avg_nanos,
            percent: o.percent_of_trace,
        })
        .collect()
}

fn by_service(ops: &[OperationStats]) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    for o in ops {
        match out.iter_mut().find(|r| r.service == o.service) {
            Some(r) => {
                r.count += o.count;
                r.errors += o.errors;
                r.total += o.total_nanos;
                r.min = r.min.min(o.min_nanos);
                r.max = r.max.max(o.max_nanos);
                r.self_total += o.self_total_nanos;
                r.percent += o.percent_of_trace;
            }
            None => out.push(Row {
                service: o.service.clone(),
                name: None,
                count: o.count,
                errors: o.errors,
                total: o.total_nanos,
                avg: 0,
                min: o.min_nanos,
                max: o.max_nanos,
                self_total: o.self_total_nanos,
                self_avg: 0,
                percent: o.percent_of_trace,
            }),
        }
    }
    for r in &mut out {
        r.avg = r.total.checked_div(r.count).unwrap_or(0);
        r.self_avg = r.self_total.checked_div(r.count).unwrap_or(0);
    }
    out
}

const COLUMNS: [(&str, bool); 10] = [
    ("Name", false),
    ("Count", true),
    ("Errors", true),
    ("Total", true),
    ("Avg", true),
    ("Min", true),
    ("Max", true),
    ("Self total", true),
    ("Self avg", true),
    ("Self % of trace", true),
];

fn sort_rows(rows: &mut [Row], col: usize, desc: bool) {
    rows.sort_by(|a, b| {
        let o = match col {
            0 => (&a.service, &a.name).cmp(&(&b.service, &b.name)),
            1 => a.count.cmp(&b.count),
            2 => a.errors.cmp(&b.errors),
            3 => a.total.cmp(&b.total),
            4 => a.avg.cmp(&b.avg),
            5 => a.min.cmp(&b.min),
            6 => a.max.cmp(&b.max),
            7 => a.self_total.cmp(&b.self_total),
            8 => a.self_avg.cmp(&b.self_avg),
            _ => a.percent.total_cmp(&b.percent),
        };
        if desc {
            o.reverse()
        } else {
            o
        }
    });
}

/// The statistics of the open trace.
#[component]
pub fn StatsView(ctx: TraceCtx) -> impl IntoView {
    let group_service = RwSignal::new(false);
    let sort = RwSignal::new((7usize, true));
    let rows = Memo::new(move |_| {
        let a = ctx.analysis.get()?;
        let mut rows = if group_service.get() {
            by_service(&a.0.operations)
        } else {
            by_operation(&a.0.operations)
        };
        let (c, d) = sort.get();
        sort_rows(&mut rows, c, d);
        Some(rows)
    });
    view! {
        <section class="an-view stats" data-testid="stats-view">
            <div class="an-toolbar">
                <span class="muted">"Group by"</span>
                <div class="seg" role="group" aria-label="Group by">
                    <button data-testid="stats-group-operation" aria-pressed=move || (!group_service.get()).to_string() class:active=move || !group_service.get()
                        on:click=move |_| group_service.set(false)>"Operation"</button>
                    <button data-testid="stats-group-service" aria-pressed=move || group_service.get().to_string() class:active=move || group_service.get()
                        on:click=move |_| group_service.set(true)>"Service"</button>
                </div>
                <span class="muted">"Self time: the span's duration not covered by its children."</span>
            </div>
            <div class="an-scroll">
            <table class="an-table sortable" data-testid="stats-table">
                <thead><tr>
                    {COLUMNS.iter().enumerate().map(|(i, (label, num))| view! {
                        <th class:num=*num aria-sort=move || match sort.get() { (c, true) if c == i => "descending", (c, false) if c == i => "ascending", _ => "none" }>
                            <button class="th-sort" data-col=i.to_string() on:click=move |_| sort.update(|s| *s = if s.0 == i { (i, !s.1) } else { (i, i != 0) })>
                                {*label}{move || match sort.get() { (c, true) if c == i => " ▾", (c, false) if c == i => " ▴", _ => "" }}
                            </button>
                        </th>
                    }).collect_view()}
                </tr></thead>
                <tbody>
                    {move || match rows.get() {
                        None => view! { <tr><td colspan="10" class="muted">"Computing…"</td></tr> }.into_any(),
                        Some(rows) => rows.into_iter().map(|r| view! {
                            <tr data-stats-row=format!("{}/{}", r.service, r.name.clone().unwrap_or_default())>
                                <td class="op-cell"><span class="chip" style:background=units::service_colour(&r.service)></span>
                                    {match &r.name {
                                        Some(n) => view! { <span title=format!("{} / {n}", r.service)><span class="muted">{format!("{} / ", ellipsize(&r.service, 24))}</span>{ellipsize(n, 60)}</span> }.into_any(),
                                        None => view! { <span>{r.service.clone()}</span> }.into_any(),
                                    }}
                                </td>
                                <td class="num">{r.count}</td>
                                <td class="num" class:error-text=r.errors.gt(&0)>{r.errors}</td>
                                <td class="num">{units::duration(r.total)}</td>
                                <td class="num">{units::duration(r.avg)}</td>
                                <td class="num">{units::duration(r.min)}</td>
                                <td class="num">{units::duration(r.max)}</td>
                                <td class="num">{units::duration(r.self_total)}</td>
                                <td class="num">{units::duration(r.self_avg)}</td>
                                <td class="num">{format!("{:.1}%", r.percent)}</td>
                            </tr>
                        }).collect_view().into_any(),
                    }}
                </tbody>
            </table>
            </div>
        </section>
    }
}
