//! The trace graph (`view=graph` on the trace page): the operation DAG of one trace — a node
//! per (service, operation) with its span count, total time and self time, an edge per
//! parent → child operation pair with its call count (dashed inside one service, solid across
//! services) — laid out left to right like the service graph. Click a node to select its
//! first span and open it in the waterfall. Data: the core's `TraceAnalysis::operations` and
//! `operation_graph`.

use crate::state::trace_view::TraceCtx;
use crate::units;
use crate::views::service_graph::{edge_path, ellipsize, layered};
use leptos::prelude::*;

const W: f64 = 200.0;
const H: f64 = 50.0;

/// Switches the trace page to the waterfall tab (and reveals the selected span).
pub fn show_waterfall(ctx: TraceCtx) {
    ctx.view.set(None);
    if let Some(s) = ctx.selected.get_untracked() {
        ctx.reveal.set(Some(s));
    }
}

/// Selects a span and shows it in the waterfall with its details.
pub fn open_in_waterfall(ctx: TraceCtx, span: u32) {
    ctx.select(span);
    show_waterfall(ctx);
}

/// The operation graph of the open trace.
#[component]
pub fn TraceGraphView(ctx: TraceCtx) -> impl IntoView {
    let body = move || {
        let a = ctx.analysis.get()?;
        let a = a.0;
        let n = a.operations.len();
        let pairs: Vec<(usize, usize)> = a
            .operation_graph
            .iter()
            .map(|e| (e.parent as usize, e.child as usize))
            .collect();
        let layout = layered(n, &pairs, W, H, 90.0, 30.0);
        let pad = 30.0;
        let (vw, vh) = (layout.width + 2.0 * pad, layout.height + 2.0 * pad + 60.0);
        let edges = a
            .operation_graph
            .iter()
            .filter_map(|e| {
                let pa = *layout.pos.get(e.parent as usize)?;
                let pb = *layout.pos.get(e.child as usize)?;
                let (d, mid) = edge_path(pa, pb, W, H);
                let from = a.operations.get(e.parent as usize)?;
                let to = a.operations.get(e.child as usize)?;
                Some(view! {
                    <g class="tg-edge" class:same-service=e.same_service data-op-edge=format!("{}/{}->{}/{}", from.service, from.name, to.service, to.name)>
                        <path d=d marker-end="url(#tg-arrow)"></path>
                        <text x=format!("{:.1}", mid.0) y=format!("{:.1}", mid.1 - 4.0) text-anchor="middle">{format!("×{}", e.count)}</text>
                    </g>
                })
            })
            .collect_view();
        let first_span: Vec<Option<u32>> = (0..n as u32)
            .map(|op| a.spans.iter().find(|f| f.operation == op).map(|f| f.span))
            .collect();
        let nodes = a
            .operations
            .iter()
            .enumerate()
            .filter_map(|(i, o)| {
                let (x, y) = *layout.pos.get(i)?;
                let span = first_span.get(i).copied().flatten();
                Some(view! {
                    <g class="tg-node" class:has-errors=o.errors.gt(&0) transform=format!("translate({x:.1},{y:.1})")
                        data-operation=format!("{}/{}", o.service, o.name) tabindex="0" role="button"
                        on:click=move |_| { if let Some(s) = span { open_in_waterfall(ctx, s); } }>
                        <title>{format!("{} / {}\n{} spans · total {} · self {}{}", o.service, o.name, o.count, units::duration(o.total_nanos), units::duration(o.self_total_nanos),
                            if o.errors > 0 { format!(" · {} errors", o.errors) } else { String::new() })}</title>
                        <rect class="sg-shape" width=W height=H rx="6"></rect>
                        <rect class="sg-chip" width="5" height=H style:fill=units::service_colour(&o.service)></rect>
                        <text class="sg-name" x="12" y="20">{ellipsize(&o.name, 22)}</text>
                        <text class="sg-figures" x="12" y="38">{ellipsize(&format!("{} · ×{} · {}", o.service, o.count, units::duration(o.total_nanos)), 30)}</text>
                    </g>
                })
            })
            .collect_view();
        Some(view! {
            <svg class="tg-canvas" role="img" aria-label="Operation graph of the trace" viewBox=format!("0 0 {vw:.0} {vh:.0}")
                style:width=format!("{:.0}px", vw.max(300.0)) style:height=format!("{:.0}px", vh)>
                <defs>
                    <marker id="tg-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z" class="sg-arrow"></path>
                    </marker>
                </defs>
                <g transform=format!("translate({pad},{pad})")>{edges}{nodes}</g>
            </svg>
        })
    };
    view! {
        <section class="an-view trace-graph" data-testid="trace-graph">
            <div class="an-toolbar"><span class="muted">"Operations of this trace, parent → child, with call counts. Dashed: calls inside one service. Click an operation to open its first span."</span></div>
            <div class="an-scroll tg-scroll">
                {move || body().map(|v| v.into_any()).unwrap_or_else(|| view! { <p class="muted an-note">"Computing…"</p> }.into_any())}
            </div>
        </section>
    }
}
