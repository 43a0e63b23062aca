//! The service graph view (`view=graph`): the core's `ServiceGraph` as SVG, laid out in layers
//! left to right with the root services on the left. Services are rounded boxes, databases
//! cylinders, virtual nodes dashed; an edge is labelled with requests, error rate and p95, is
//! coloured by error rate and thickened by request count. Click a node for its RED figures and
//! operations, an edge for the spans behind it (each opens in the waterfall); focus one service
//! to see only its neighbourhood; drag to pan, wheel to zoom.
//!
//! Test hooks: nodes `data-service`, edges `data-edge="<client>-><server>"` + `data-requests`.
//! Also here: [`layered`], the layout shared with the per-trace operation graph. Not here: any
//! statistic (all figures come from the core's `analyze_set`).

use crate::state::Loaded;
use crate::units;
use leptos::prelude::*;
use spanlens_core::analysis::{ConnectionType, GraphEdge, GraphNode, SetAnalysis};
use spanlens_core::model::{SpanKind, NO_SPAN};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Node positions of a layered layout (top-left corners), and the drawing size.
pub struct Layout {
    pub pos: Vec<(f64, f64)>,
    pub width: f64,
    pub height: f64,
}

/// A layered left-to-right layout of `n` nodes. Without cycles a node's layer is its longest
/// path from a source; with cycles (services calling each other) it is the shortest call
/// distance from a source, which keeps dense graphs compact (edges that do not go right are
/// drawn as arcs). The order inside a layer follows the barycentre of the neighbours.
pub fn layered(
    n: usize,
    edges: &[(usize, usize)],
    node_w: f64,
    node_h: f64,
    gap_x: f64,
    gap_y: f64,
) -> Layout {
    let mut out_adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indeg = vec![0usize; n];
    for &(a, b) in edges {
        if a < n && b < n && a != b {
            if let Some(v) = out_adj.get_mut(a) {
                v.push(b);
            }
            if let Some(d) = indeg.get_mut(b) {
                *d += 1;
            }
        }
    }
    // Depth-first search from sources first: edges to a node on the stack are back edges.
    let mut state = vec![0u8; n];
    let mut has_back = false;
    let mut dag: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut starts: Vec<usize> = (0..n).filter(|&v| indeg.get(v) == Some(&0)).collect();
    starts.extend((0..n).filter(|&v| indeg.get(v) != Some(&0)));
    for s in starts {
        if state.get(s) != Some(&0) {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(s, 0)];
        if let Some(x) = state.get_mut(s) {
            *x = 1;
        }
        while let Some(&mut (v, ref mut i)) = stack.last_mut() {
            let next = out_adj.get(v).and_then(|a| a.get(*i)).copied();
            *i += 1;
            match next {
                Some(w) => match state.get(w).copied() {
                    Some(0) => {
                        if let Some(d) = dag.get_mut(v) {
                            d.push(w);
                        }
                        if let Some(x) = state.get_mut(w) {
                            *x = 1;
                        }
                        stack.push((w, 0));
                    }
                    Some(2) => {
                        if let Some(d) = dag.get_mut(v) {
                            d.push(w);
                        }
                    }
                    _ => has_back = true,
                },
                None => {
                    if let Some(x) = state.get_mut(v) {
                        *x = 2;
                    }
                    stack.pop();
                }
            }
        }
    }
    // Longest-path layers (Kahn order over the DAG).
    let mut din = vec![0usize; n];
    for targets in &dag {
        for &w in targets {
            if let Some(d) = din.get_mut(w) {
                *d += 1;
            }
        }
    }
    let mut layer = vec![0usize; n];
    let mut queue: Vec<usize> = (0..n).filter(|&v| din.get(v) == Some(&0)).collect();
    let mut qi = 0;
    while let Some(&v) = queue.get(qi) {
        qi += 1;
        let lv = layer.get(v).copied().unwrap_or(0);
        for &w in dag.get(v).map(Vec::as_slice).unwrap_or(&[]) {
            if let Some(l) = layer.get_mut(w) {
                *l = (*l).max(lv + 1);
            }
            if let Some(d) = din.get_mut(w) {
                *d -= 1;
                if *d == 0 {
                    queue.push(w);
                }
            }
        }
    }
    if has_back {
        // Shortest call distance from the sources (then from any node left unreached).
        let mut dist = vec![usize::MAX; n];
        let mut seeds: Vec<usize> = (0..n).filter(|&v| indeg.get(v) == Some(&0)).collect();
        loop {
            let mut queue: std::collections::VecDeque<usize> = seeds.iter().copied().collect();
            for &s in &seeds {
                if let Some(d) = dist.get_mut(s) {
                    *d = 0;
                }
            }
            while let Some(v) = queue.pop_front() {
                let dv = dist.get(v).copied().unwrap_or(0);
                for &w in out_adj.get(v).map(Vec::as_slice).unwrap_or(&[]) {
                    if let Some(d) = dist.get_mut(w) {
                        if *d == usize::MAX {
                            *d = dv + 1;
                            queue.push_back(w);
                        }
                    }
                }
            }
            match (0..n).find(|&v| dist.get(v) == Some(&usize::MAX)) {
                Some(v) => seeds = vec![v],
                None => break,
            }
        }
        layer = dist;
        for (v, targets) in dag.iter_mut().enumerate() {
            let lv = layer.get(v).copied().unwrap_or(0);
            *targets = out_adj.get(v).cloned().unwrap_or_default();
            targets.retain(|&w| layer.get(w).copied().unwrap_or(0) > lv);
        }
    }
    let layers = layer.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for v in 0..n {
        if let Some(r) = layer.get(v).and_then(|&l| rows.get_mut(l)) {
            r.push(v);
        }
    }
    // Barycentre ordering.
    let mut order = vec![0f64; n];
    for r in &rows {
        for (i, &v) in r.iter().enumerate() {
            if let Some(o) = order.get_mut(v) {
                *o = i as f64;
            }
        }
    }
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (v, targets) in dag.iter().enumerate() {
        for &w in targets {
            if let Some(p) = preds.get_mut(w) {
                p.push(v);
            }
        }
    }
    for sweep in 0..6 {
        let down = sweep % 2 == 0;
        let idx: Vec<usize> = if down {
            (1..layers).collect()
        } else {
            (0..layers.saturating_sub(1)).rev().collect()
        };
        for li in idx {
            let Some(r) = rows.get_mut(li) else { continue };
            let mut keyed: Vec<(f64, usize)> = r
                .iter()
                .map(|&v| {
                    let nb: &[usize] = if down {
                        preds.get(v).map(Vec::as_slice).unwrap_or(&[])
                    } else {
                        dag.get(v).map(Vec::as_slice).unwrap_or(&[])
                    };
                    let own = order.get(v).copied().unwrap_or(0.0);
                    let bc = if nb.is_empty() {
                        own
                    } else {
                        nb.iter()
                            .map(|&u| order.get(u).copied().unwrap_or(0.0))
                            .sum::<f64>()
                            / nb.len() as f64
                    };
                    (bc, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            *r = keyed.iter().map(|k| k.1).collect();
            for (i, &v) in r.iter().enumerate() {
                if let Some(o) = order.get_mut(v) {
                    *o = i as f64;
                }
            }
        }
    }
    let tallest = rows.iter().map(Vec::len).max().unwrap_or(0) as f64;
    let col_h = tallest * (node_h + gap_y);
    let mut pos = vec![(0.0, 0.0); n];
    for (li, r) in rows.iter().enumerate() {
        let offset = (col_h - r.len() as f64 * (node_h + gap_y)) / 2.0;
        for (i, &v) in r.iter().enumerate() {
            if let Some(p) = pos.get_mut(v) {
                *p = (li as f64 * (node_w + gap_x), offset + i as f64 * (node_h + gap_y));
            }
        }
    }
    Layout {
        pos,
        width: layers as f64 * (node_w + gap_x) - gap_x,
        height: col_h - gap_y,
    }
}

/// The SVG path of an edge between two boxes, and its label point.
pub fn edge_path(a: (f64, f64), b: (f64, f64), w: f64, h: f64) -> (String, (f64, f64)) {
    if (a.0 - b.0).abs() < 0.5 && (a.1 - b.1).abs() < 0.5 {
        // A call to itself: a loop on the right side of the box.
        let (x, y) = (a.0 + w, a.1);
        return (
            format!(
                "M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                x - 30.0,
                y,
                x + 10.0,
                y - 46.0,
                x + 46.0,
                y - 6.0,
                x,
                y + h * 0.3
            ),
            (x + 20.0, y - 26.0),
        );
    }
    let (x1, y1) = (a.0 + w, a.1 + h / 2.0);
    let (x2, y2) = (b.0, b.1 + h / 2.0);
    if (a.0 - b.0).abs() < 0.5 {
        // Same layer: a bulge on the right side, from one box to the other.
        let bulge = 40.0 + (y2 - y1).abs() / 5.0;
        let (c1, c2) = ((x1 + bulge, y1), (x1 + bulge, y2));
        let mid = (x1 + 0.75 * bulge, (y1 + y2) / 2.0);
        return (
            format!(
                "M{x1:.1},{y1:.1} C{:.1},{:.1} {:.1},{:.1} {x1:.1},{y2:.1}",
                c1.0, c1.1, c2.0, c2.1
            ),
            mid,
        );
    }
    if x2 > x1 + 1.0 {
        let dx = ((x2 - x1) / 2.0).max(30.0);
        let (c1, c2) = ((x1 + dx, y1), (x2 - dx, y2));
        let mid = (
            0.125 * x1 + 0.375 * c1.0 + 0.375 * c2.0 + 0.125 * x2,
            0.125 * y1 + 0.375 * c1.1 + 0.375 * c2.1 + 0.125 * y2,
        );
        (
            format!(
                "M{x1:.1},{y1:.1} C{:.1},{:.1} {:.1},{:.1} {x2:.1},{y2:.1}",
                c1.0, c1.1, c2.0, c2.1
            ),
            mid,
        )
    } else {
        // Back or same-layer edge: an arc under the boxes.
        let (sx, sy) = (a.0 + w / 2.0, a.1 + h);
        let (ex, ey) = (b.0 + w / 2.0, b.1 + h);
        let drop = 50.0 + (sx - ex).abs() / 6.0;
        let low = sy.max(ey) + drop;
        (
            format!("M{sx:.1},{sy:.1} C{sx:.1},{low:.1} {ex:.1},{low:.1} {ex:.1},{ey:.1}"),
            ((sx + ex) / 2.0, low - drop / 4.0),
        )
    }
}

/// Percent with one decimal (`0%` when none).
pub fn pct(r: f64) -> String {
    if r <= 0.0 {
        "0%".into()
    } else if r < 0.001 {
        "<0.1%".into()
    } else {
        format!("{:.1}%", r * 100.0)
    }
}

/// A name shortened to `max` characters with an ellipsis.
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The shape a node is drawn with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Service,
    Database,
    Virtual,
}

fn shape_of(node: &GraphNode, edges: &[GraphEdge]) -> Shape {
    if !node.virtual_node {
        Shape::Service
    } else if edges
        .iter()
        .any(|e| e.server == node.name && e.connection_type == ConnectionType::Database)
    {
        Shape::Database
    } else {
        Shape::Virtual
    }
}

/// Error-rate class of an edge: `ok`, `warn` (< 5 %), `bad`.
pub fn error_class(rate: f64) -> &'static str {
    if rate <= 0.0 {
        "ok"
    } else if rate < 0.05 {
        "warn"
    } else {
        "bad"
    }
}

const NODE_W: f64 = 176.0;
const NODE_H: f64 = 56.0;
const PAD: f64 = 40.0;

#[derive(Clone, PartialEq)]
enum Selection {
    Node(String),
    Edge(String, String),
}

/// The spans behind an edge, found in the loaded set (for display only; the counts are the
/// core's): client spans of the client service whose child is a server span of the server
/// service, or — for an edge to a virtual node — unpaired client spans naming it; for an edge
/// from a virtual client, the root server spans of the server service.
fn edge_spans(l: &Loaded, e: &GraphEdge, client_virtual: bool, limit: usize) -> Vec<u32> {
    let set = &l.set;
    let mut out = Vec::new();
    let is_server = |k: SpanKind| matches!(k, SpanKind::Server | SpanKind::Consumer);
    for (i, s) in set.spans().iter().enumerate() {
        if out.len() >= limit {
            break;
        }
        let i = i as u32;
        if client_virtual {
            if is_server(s.kind) && s.parent == NO_SPAN && set.service_name(s) == e.server {
                out.push(i);
            }
            continue;
        }
        if !matches!(s.kind, SpanKind::Client | SpanKind::Producer) || set.service_name(s) != e.client {
            continue;
        }
        let mut paired = false;
        let mut hit = false;
        for c in set.children(i) {
            if let Some(cs) = set.span(c) {
                if is_server(cs.kind) {
                    paired = true;
                    hit |= set.service_name(cs) == e.server;
                }
            }
        }
        if !hit && (!paired || e.connection_type == ConnectionType::Database) {
            hit = set
                .attrs(s)
                .iter()
                .any(|kv| set.arena.value_text(kv.value).contains(e.server.as_str()));
        }
        if hit {
            out.push(i);
        }
    }
    out
}

/// The service graph of the loaded set.
#[component]
pub fn ServiceGraphView(
    analysis: Arc<SetAnalysis>,
    /// The focused service (its neighbourhood only), kept in the URL by the page.
    focus: RwSignal<Option<String>>,
    /// Opens a span: (trace id, span id).
    #[prop(into)]
    on_open_span: Callback<(String, String)>,
    /// Shows the RED charts of (service, operation).
    #[prop(into)]
    on_red: Callback<(String, Option<String>)>,
) -> impl IntoView {
    let state = crate::state::use_app();
    let graph = analysis.service_graph.clone();
    let selection = RwSignal::new(None::<Selection>);
    let view_box = RwSignal::new(None::<(f64, f64, f64)>); // (tx, ty, k)
    let drag = StoredValue::new(None::<(f64, f64, f64, f64)>);
    let graph = Arc::new(graph);
    let g2 = graph.clone();
    let drawing = Memo::new(move |_| {
        let focus = focus.get();
        let graph = &g2;
        let keep: BTreeSet<&str> = match &focus {
            Some(f) if graph.nodes.iter().any(|n| &n.name == f) => {
                let mut k: BTreeSet<&str> = BTreeSet::new();
                k.insert(f.as_str());
                for e in &graph.edges {
                    if &e.client == f {
                        k.insert(e.server.as_str());
                    }
                    if &e.server == f {
                        k.insert(e.client.as_str());
                    }
                }
                k
            }
            _ => graph.nodes.iter().map(|n| n.name.as_str()).collect(),
        };
        let nodes: Vec<usize> = graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| keep.contains(n.name.as_str()))
            .map(|(i, _)| i)
            .collect();
        let index_of = |name: &str| {
            nodes
                .iter()
                .position(|&i| graph.nodes.get(i).is_some_and(|n| n.name == name))
        };
        let edges: Vec<(usize, usize, usize)> = graph
            .edges
            .iter()
            .enumerate()
            .filter_map(|(ei, e)| Some((ei, index_of(&e.client)?, index_of(&e.server)?)))
            .collect();
        let pairs: Vec<(usize, usize)> = edges.iter().map(|&(_, a, b)| (a, b)).collect();
        let layout = layered(nodes.len(), &pairs, NODE_W, NODE_H, 130.0, 44.0);
        (
            nodes,
            edges,
            layout.pos,
            layout.width.max(NODE_W),
            layout.height.max(NODE_H),
        )
    });
    let max_req = graph.edges.iter().map(|e| e.requests).max().unwrap_or(1).max(1) as f64;
    let grades: std::collections::HashMap<String, String> = analysis
        .services
        .iter()
        .map(|s| (s.service.clone(), s.grade.letter().to_string()))
        .collect();
    let grades = Arc::new(grades);

    let g3 = graph.clone();
    let svg_body = move || {
        let (nodes, edges, pos, _, _) = drawing.get();
        let graph = &g3;
        let sel = selection.get();
        let edge_views = edges
            .iter()
            .filter_map(|&(ei, a, b)| {
                let e = graph.edges.get(ei)?.clone();
                let (pa, pb) = (*pos.get(a)?, *pos.get(b)?);
                let (d, mid) = edge_path(pa, pb, NODE_W, NODE_H);
                let rate = if e.requests == 0 { 0.0 } else { e.failed as f64 / e.requests as f64 };
                let width = 1.5 + 4.5 * ((1.0 + e.requests as f64).ln() / (1.0 + max_req).ln());
                let selected = sel == Some(Selection::Edge(e.client.clone(), e.server.clone()));
                let label = format!("{} req · {} · p95 {}", e.requests, pct(rate), units::duration(e.server_latency.p95_nanos.max(e.client_latency.p95_nanos)));
                let key = (e.client.clone(), e.server.clone());
                let title = format!(
                    "{} → {}\n{} requests, {} failed ({})\nclient p50 {} · p95 {} · p99 {}\nserver p50 {} · p95 {} · p99 {}{}",
                    e.client, e.server, e.requests, e.failed, pct(rate),
                    units::duration(e.client_latency.p50_nanos), units::duration(e.client_latency.p95_nanos), units::duration(e.client_latency.p99_nanos),
                    units::duration(e.server_latency.p50_nanos), units::duration(e.server_latency.p95_nanos), units::duration(e.server_latency.p99_nanos),
                    match e.connection_type.tempo_label() { "" => String::new(), l => format!("\n{l}") },
                );
                Some(view! {
                    <g class=format!("sg-edge sg-edge-{}", error_class(rate)) class:selected=selected
                        data-edge=format!("{}->{}", e.client, e.server) data-requests=e.requests.to_string()
                        data-failed=e.failed.to_string()
                        on:click=move |ev| { ev.stop_propagation(); selection.set(Some(Selection::Edge(key.0.clone(), key.1.clone()))); }>
                        <title>{title}</title>
                        <path class="sg-edge-hit" d=d.clone()></path>
                        <path class="sg-edge-line" d=d stroke-width=format!("{width:.1}") marker-end="url(#sg-arrow)"></path>
                        <text class="sg-edge-label" x=format!("{:.1}", mid.0) y=format!("{:.1}", mid.1 - 4.0) text-anchor="middle">{label}</text>
                    </g>
                })
            })
            .collect_view();
        let node_views = nodes
            .iter()
            .enumerate()
            .filter_map(|(li, &ni)| {
                let n = graph.nodes.get(ni)?.clone();
                let (x, y) = *pos.get(li)?;
                let shape = shape_of(&n, &graph.edges);
                let selected = sel == Some(Selection::Node(n.name.clone()));
                let grade = grades.get(&n.name).cloned();
                let figures = if n.server.calls > 0 {
                    format!("{} req · {} err · p95 {}", n.server.calls, pct(n.server.error_rate), units::duration(n.server.latency.p95_nanos))
                } else if n.spans > 0 {
                    format!("{} spans · {} errors", n.spans, n.errors)
                } else {
                    match shape {
                        Shape::Database => "database".to_string(),
                        _ => "virtual node".to_string(),
                    }
                };
                let kind = match shape {
                    Shape::Service => "service",
                    Shape::Database => "database",
                    Shape::Virtual => "virtual",
                };
                let outline = match shape {
                    Shape::Database => {
                        let (w, h, r) = (NODE_W, NODE_H, 8.0);
                        view! {
                            <path class="sg-shape" d=format!(
                                "M0,{r} A{hw},{r} 0 0 1 {w},{r} L{w},{b} A{hw},{r} 0 0 1 0,{b} Z M0,{r} A{hw},{r} 0 0 0 {w},{r}",
                                hw = w / 2.0, b = h - r)></path>
                        }
                        .into_any()
                    }
                    _ => view! { <rect class="sg-shape" width=NODE_W height=NODE_H rx=if shape == Shape::Virtual { 28 } else { 6 }></rect> }.into_any(),
                };
                let name = n.name.clone();
                let errors = n.errors > 0 || n.server.errors > 0;
                Some(view! {
                    <g class=format!("sg-node sg-{kind}") class:selected=selected class:has-errors=errors
                        data-service=n.name.clone() data-kind=kind transform=format!("translate({x:.1},{y:.1})")
                        tabindex="0" role="button" aria-label=format!("{kind} {}", n.name)
                        on:click=move |ev| { ev.stop_propagation(); selection.set(Some(Selection::Node(name.clone()))); }>
                        <title>{format!("{}\n{}", n.name, figures)}</title>
                        {outline}
                        {(shape == Shape::Service).then(|| view! { <rect class="sg-chip" x="0" y="0" width="5" height=NODE_H style:fill=units::service_colour(&n.name)></rect> })}
                        <text class="sg-name" x="14" y="23">{ellipsize(&n.name, 20)}</text>
                        <text class="sg-figures" x="14" y="42">{ellipsize(&figures, 27)}</text>
                        {grade.map(|g| view! {
                            <g class=format!("sg-grade grade-{}", g.to_lowercase()) transform=format!("translate({},6)", NODE_W - 24.0)>
                                <rect width="18" height="18" rx="3"></rect>
                                <text x="9" y="13" text-anchor="middle">{g.clone()}</text>
                            </g>
                        })}
                    </g>
                })
            })
            .collect_view();
        view! { {edge_views}{node_views} }
    };

    // The initial view: the whole drawing, scaled down to fit the width, centred; the SVG is
    // as tall as the fitted drawing (the page scrolls).
    let fit_scale = move |w: f64| -> (f64, f64) {
        let avail_w = window()
            .inner_width()
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(1200.0)
            - 48.0;
        (((avail_w - 2.0 * PAD) / w).clamp(0.45, 1.0), avail_w)
    };
    let svg_h = move || {
        let (_, _, _, w, h) = drawing.get();
        let (k, _) = fit_scale(w);
        (h * k + 2.0 * PAD + 70.0).clamp(240.0, 1400.0)
    };
    let fitted = move || -> (f64, f64, f64) {
        let w = drawing.with_untracked(|d| d.3);
        let (k, avail_w) = fit_scale(w);
        let tx = PAD + ((avail_w - 2.0 * PAD) - w * k).max(0.0) / 2.0;
        (tx, PAD, k)
    };
    let transform = move || {
        let _ = drawing.get();
        let (tx, ty, k) = view_box.get().unwrap_or_else(fitted);
        format!("translate({tx:.1},{ty:.1}) scale({k:.3})")
    };
    let fit = move || {
        view_box.set(None);
    };
    let zoom_by = move |f: f64| {
        let (tx, ty, k) = view_box.get_untracked().unwrap_or_else(fitted);
        let nk = (k * f).clamp(0.2, 4.0);
        view_box.set(Some((tx, ty, nk)));
    };
    let on_wheel = move |ev: web_sys::WheelEvent| {
        ev.prevent_default();
        let (tx, ty, k) = view_box.get_untracked().unwrap_or_else(fitted);
        let f = if ev.delta_y() < 0.0 { 1.15 } else { 1.0 / 1.15 };
        let nk = (k * f).clamp(0.2, 4.0);
        let (px, py) = (ev.offset_x() as f64, ev.offset_y() as f64);
        let (ntx, nty) = (px - (px - tx) * nk / k, py - (py - ty) * nk / k);
        view_box.set(Some((ntx, nty, nk)));
    };
    let on_down = move |ev: web_sys::PointerEvent| {
        let (tx, ty, _) = view_box.get_untracked().unwrap_or_else(fitted);
        drag.set_value(Some((ev.client_x() as f64, ev.client_y() as f64, tx, ty)));
    };
    let on_move = move |ev: web_sys::PointerEvent| {
        if let Some((x0, y0, tx, ty)) = drag.get_value() {
            if ev.buttons() == 0 {
                drag.set_value(None);
                return;
            }
            let (_, _, k) = view_box.get_untracked().unwrap_or_else(fitted);
            view_box.set(Some((
                tx + ev.client_x() as f64 - x0,
                ty + ev.client_y() as f64 - y0,
                k,
            )));
        }
    };
    let on_up = move |_| drag.set_value(None);

    let service_names: Vec<String> = graph.nodes.iter().map(|n| n.name.clone()).collect();
    let a2 = analysis.clone();
    let g4 = graph.clone();
    let details = move || {
        let sel = selection.get()?;
        Some(match sel {
            Selection::Node(name) => {
                let node = g4.nodes.iter().find(|n| n.name == name)?.clone();
                let ops: Vec<_> = a2
                    .operations
                    .iter()
                    .filter(|o| o.service == name)
                    .cloned()
                    .collect();
                let n2 = name.clone();
                let n3 = name.clone();
                let r = node.server.clone();
                view! {
                    <aside class="an-panel" data-testid="graph-node-details" aria-label="Service details">
                        <header>
                            <h3>{name.clone()}</h3>
                            <button on:click=move |_| focus.set(Some(n2.clone()))>"Focus"</button>
                            <button on:click=move |_| on_red.run((n3.clone(), None))>"RED charts"</button>
                            <button aria-label="Close" on:click=move |_| selection.set(None)>"×"</button>
                        </header>
                        <dl class="an-figures">
                            <div><dt>"Requests (server)"</dt><dd>{r.calls}</dd></div>
                            <div><dt>"Rate"</dt><dd>{format!("{:.2} req/s", r.rate_per_sec)}</dd></div>
                            <div><dt>"Errors"</dt><dd>{format!("{} ({})", r.errors, pct(r.error_rate))}</dd></div>
                            <div><dt>"p50"</dt><dd>{units::duration(r.latency.p50_nanos)}</dd></div>
                            <div><dt>"p95"</dt><dd>{units::duration(r.latency.p95_nanos)}</dd></div>
                            <div><dt>"p99"</dt><dd>{units::duration(r.latency.p99_nanos)}</dd></div>
                            <div><dt>"Spans"</dt><dd>{node.spans}</dd></div>
                        </dl>
                        {(!ops.is_empty()).then(|| view! {
                            <table class="an-table compact">
                                <thead><tr><th>"Operation"</th><th class="num">"Calls"</th><th class="num">"Errors"</th><th class="num">"p95"</th><th>"Grade"</th></tr></thead>
                                <tbody>
                                    {ops.into_iter().map(|o| {
                                        let g = o.grade.letter().to_string();
                                        let key = (o.service.clone(), o.name.clone());
                                        view! {
                                            <tr>
                                                <td><button class="link" title=o.name.clone() on:click=move |_| on_red.run((key.0.clone(), Some(key.1.clone())))>{ellipsize(&o.name, 40)}</button></td>
                                                <td class="num">{o.calls}</td>
                                                <td class="num">{o.errors}</td>
                                                <td class="num">{units::duration(o.latency.p95_nanos)}</td>
                                                <td><span class=format!("grade grade-{}", g.to_lowercase())>{g.clone()}</span></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })}
                    </aside>
                }
                .into_any()
            }
            Selection::Edge(client, server) => {
                let e = g4
                    .edges
                    .iter()
                    .find(|e| e.client == client && e.server == server)?
                    .clone();
                let client_virtual = g4.nodes.iter().any(|n| n.name == client && n.virtual_node);
                let spans = state
                    .loaded
                    .get_untracked()
                    .map(|l| {
                        edge_spans(&l, &e, client_virtual, 50)
                            .into_iter()
                            .filter_map(|i| {
                                let s = l.set.span(i)?;
                                Some((
                                    s.trace_id.to_hex(),
                                    s.span_id.to_hex(),
                                    l.set.name(s).to_string(),
                                    s.duration_nanos(),
                                    s.is_error(),
                                ))
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                let rate = if e.requests == 0 {
                    0.0
                } else {
                    e.failed as f64 / e.requests as f64
                };
                view! {
                    <aside class="an-panel" data-testid="graph-edge-details" aria-label="Edge details">
                        <header>
                            <h3>{format!("{} → {}", e.client, e.server)}</h3>
                            <button aria-label="Close" on:click=move |_| selection.set(None)>"×"</button>
                        </header>
                        <dl class="an-figures">
                            <div><dt>"Requests"</dt><dd>{e.requests}</dd></div>
                            <div><dt>"Failed"</dt><dd>{format!("{} ({})", e.failed, pct(rate))}</dd></div>
                            <div><dt>"Client p50/p95/p99"</dt><dd>{format!("{} / {} / {}", units::duration(e.client_latency.p50_nanos), units::duration(e.client_latency.p95_nanos), units::duration(e.client_latency.p99_nanos))}</dd></div>
                            <div><dt>"Server p50/p95/p99"</dt><dd>{format!("{} / {} / {}", units::duration(e.server_latency.p50_nanos), units::duration(e.server_latency.p95_nanos), units::duration(e.server_latency.p99_nanos))}</dd></div>
                            <div><dt>"Type"</dt><dd>{match e.connection_type.tempo_label() { "" => "request", l => l }}</dd></div>
                        </dl>
                        <h4>{format!("Spans behind this edge ({}{})", spans.len(), if spans.len() >= 50 { "+" } else { "" })}</h4>
                        <ul class="an-span-list" data-testid="edge-spans">
                            {spans.into_iter().map(|(t, s, name, d, err)| {
                                let key = (t.clone(), s.clone());
                                view! {
                                    <li><button class="link" on:click=move |_| on_open_span.run(key.clone())>
                                        <code>{t.get(..8).unwrap_or("").to_string()}</code>" "{ellipsize(&name, 48)}" · "{units::duration(d)}
                                        {err.then(|| view! { <span class="error-text">" ⚠ error"</span> })}
                                    </button></li>
                                }
                            }).collect_view()}
                        </ul>
                    </aside>
                }
                .into_any()
            }
        })
    };

    let counts = format!("{} services · {} edges", graph.nodes.len(), graph.edges.len());
    view! {
        <section class="an-view sg" class:sg-dense=move || drawing.with(|d| d.1.len() > 30) data-testid="service-graph" data-node-count=graph.nodes.len().to_string() data-edge-count=graph.edges.len().to_string()>
            <div class="an-toolbar">
                <span class="muted">{counts}</span>
                <label>"Focus "
                    <select data-testid="graph-focus" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        focus.set((!v.is_empty()).then_some(v));
                        view_box.set(None);
                    }>
                        <option value="" selected=move || focus.get().is_none()>"All services"</option>
                        {service_names.into_iter().map(|s| {
                            let s2 = s.clone();
                            let label = s.clone();
                            view! { <option value=s selected=move || focus.get().as_deref() == Some(s2.as_str())>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <span class="spacer"></span>
                <span class="sg-legend"><span class="sg-key ok"></span>"no errors "<span class="sg-key warn"></span>"< 5% "<span class="sg-key bad"></span>"≥ 5% errors"</span>
                <button aria-label="Zoom in" on:click=move |_| zoom_by(1.25)>"+"</button>
                <button aria-label="Zoom out" on:click=move |_| zoom_by(0.8)>"−"</button>
                <button on:click=move |_| fit()>"Reset view"</button>
            </div>
            <div class="sg-body">
                <svg class="sg-canvas" role="img" aria-label="Service graph" style:height=move || format!("{}px", svg_h())
                    on:wheel=on_wheel on:pointerdown=on_down on:pointermove=on_move on:pointerup=on_up on:pointerleave=on_up
                    on:click=move |_| selection.set(None)>
                    <defs>
                        <marker id="sg-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse">
                            <path d="M0,0 L10,5 L0,10 z" class="sg-arrow"></path>
                        </marker>
                    </defs>
                    <g transform=transform>{svg_body}</g>
                </svg>
                {details}
            </div>
            {(graph.nodes.is_empty()).then(|| view! { <p class="muted an-note">"No service-to-service calls in these traces (no CLIENT/SERVER span pairs)."</p> })}
        </section>
    }
}
