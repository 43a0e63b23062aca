//! The minimap: every span of the trace drawn on a canvas (one thin line per span, rows
//! squeezed to the height, service colours; lines sharing a pixel row and colour are merged
//! into one rectangle before drawing), and a draggable, resizable window that sets the
//! waterfall's zoom. Drag inside to pan, drag an edge to resize, click outside to jump,
//! double-click to reset.

use crate::raster::{merge_runs, Run};
use crate::state::trace_view::TraceCtx;
use crate::units;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

const HEIGHT: f64 = 56.0;
const EDGE_PX: f64 = 6.0;

#[derive(Clone, Copy)]
enum Drag {
    Move { grab: f64 },
    Left,
    Right,
}

fn palette() -> Vec<String> {
    let style = document()
        .document_element()
        .and_then(|root| window().get_computed_style(&root).ok().flatten());
    (0..units::PALETTE_SIZE)
        .map(|i| {
            style
                .as_ref()
                .and_then(|s| s.get_property_value(&format!("--svc-{i}")).ok())
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "#888".into())
        })
        .collect()
}

fn draw(ctx: TraceCtx, canvas: &web_sys::HtmlCanvasElement) {
    let dpr = window().device_pixel_ratio().max(1.0);
    let w = f64::from(canvas.client_width()).max(1.0);
    canvas.set_width((w * dpr) as u32);
    canvas.set_height((HEIGHT * dpr) as u32);
    let Ok(Some(c)) = canvas.get_context("2d") else {
        return;
    };
    let Ok(c) = c.dyn_into::<web_sys::CanvasRenderingContext2d>() else {
        return;
    };
    c.clear_rect(0.0, 0.0, w * dpr, HEIGHT * dpr);
    let colours = palette();
    let trace = ctx.trace();
    let t0 = ctx.axis.0;
    let dur = ctx.axis.1.saturating_sub(t0).max(1) as f64;
    let runs = ctx.loaded.with_value(|l| {
        let set = &l.set;
        let spans = set.trace_spans(&trace);
        let n = spans.len().max(1) as f64;
        let line = (HEIGHT / n).clamp(0.5, 3.0);
        // Resource → colour once, not per span.
        let mut by_resource: Vec<Option<u32>> = Vec::new();
        let mut slot_of = |s: &spanlens_core::model::Span| {
            let r = s.resource as usize;
            if r >= by_resource.len() {
                by_resource.resize(r + 1, None);
            }
            match by_resource.get(r).copied().flatten() {
                Some(slot) => slot,
                None => {
                    let slot = units::service_slot(set.service_name(s)) as u32;
                    if let Some(x) = by_resource.get_mut(r) {
                        *x = Some(slot);
                    }
                    slot
                }
            }
        };
        let px = |nanos: u64| nanos.saturating_sub(t0) as f64 / dur * w * dpr;
        let lines: Vec<Run> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let x0 = px(s.display_start_unix_nanos()).floor().max(0.0) as u32;
                let x1 = px(s.display_end_unix_nanos()).ceil().max(0.0) as u32;
                Run {
                    slot: slot_of(s),
                    row: (i as f64 / n * (HEIGHT - line) * dpr).floor() as u32,
                    x0,
                    x1: x1.max(x0 + 1),
                }
            })
            .collect();
        (merge_runs(lines.into_iter()), (line * dpr).round().max(1.0))
    });
    let (runs, height) = runs;
    let mut current = u32::MAX;
    for run in runs {
        if run.slot != current {
            current = run.slot;
            c.set_fill_style_str(
                colours
                    .get(run.slot as usize)
                    .map(String::as_str)
                    .unwrap_or("#888"),
            );
        }
        c.fill_rect(
            f64::from(run.x0),
            f64::from(run.row),
            f64::from(run.x1 - run.x0),
            height,
        );
    }
}

/// The minimap of the open trace.
#[component]
pub fn Minimap(ctx: TraceCtx) -> impl IntoView {
    let state = crate::state::use_app();
    let canvas: NodeRef<leptos::html::Canvas> = NodeRef::new();
    let host: NodeRef<leptos::html::Div> = NodeRef::new();
    let drag = StoredValue::new(None::<Drag>);
    Effect::new(move |_| {
        let _ = state.theme.get();
        if let Some(c) = canvas.get() {
            // In a task of its own, after the waterfall's first rows.
            set_timeout(move || draw(ctx, &c), std::time::Duration::ZERO);
        }
    });
    let _resize = window_event_listener(leptos::ev::resize, move |_| {
        if let Some(c) = canvas.get_untracked() {
            draw(ctx, &c);
        }
    });
    let frac = move |ev: &leptos::ev::PointerEvent| -> (f64, f64) {
        let Some(el) = host.get_untracked() else {
            return (0.0, 1.0);
        };
        let rect = el.get_bounding_client_rect();
        let w = rect.width().max(1.0);
        (((f64::from(ev.client_x()) - rect.left()) / w).clamp(0.0, 1.0), w)
    };
    let on_down = move |ev: leptos::ev::PointerEvent| {
        let (x, w) = frac(&ev);
        let (z0, z1) = ctx.zoom.get_untracked();
        let edge = EDGE_PX / w;
        let mode = if (x - z0).abs() <= edge {
            Drag::Left
        } else if (x - z1).abs() <= edge {
            Drag::Right
        } else if x > z0 && x < z1 {
            Drag::Move { grab: x - z0 }
        } else {
            let half = (z1 - z0) / 2.0;
            let a = (x - half).clamp(0.0, 1.0 - 2.0 * half);
            ctx.zoom.set((a, a + 2.0 * half));
            Drag::Move { grab: half }
        };
        drag.set_value(Some(mode));
        if let Some(el) = host.get_untracked() {
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
    };
    let on_move = move |ev: leptos::ev::PointerEvent| {
        let Some(mode) = drag.get_value() else { return };
        let (x, _) = frac(&ev);
        let (z0, z1) = ctx.zoom.get_untracked();
        let min = 0.001;
        let next = match mode {
            Drag::Left => (x.min(z1 - min).max(0.0), z1),
            Drag::Right => (z0, x.max(z0 + min).min(1.0)),
            Drag::Move { grab } => {
                let width = z1 - z0;
                let a = (x - grab).clamp(0.0, 1.0 - width);
                (a, a + width)
            }
        };
        ctx.zoom.set(next);
    };
    let on_up = move |_| drag.set_value(None);
    let window_style = move || {
        let (z0, z1) = ctx.zoom.get();
        format!("left:{:.4}%;width:{:.4}%", z0 * 100.0, (z1 - z0) * 100.0)
    };
    view! {
        <div class="minimap" node_ref=host data-testid="minimap"
            title="Drag the window to pan, its edges to zoom; double-click to reset"
            on:pointerdown=on_down on:pointermove=on_move on:pointerup=on_up
            on:dblclick=move |_| ctx.zoom.set((0.0, 1.0))>
            <canvas node_ref=canvas class="minimap-canvas" aria-hidden="true"></canvas>
            <div class="minimap-window" style=window_style>
                <span class="mm-handle mm-left"></span>
                <span class="mm-handle mm-right"></span>
            </div>
        </div>
    }
}
