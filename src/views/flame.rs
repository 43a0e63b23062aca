//! The flame graph of a trace (`view=flame`): an icicle on canvas — the root at the top, each
//! child under its parent at its (clock-skew adjusted) start, width by duration, colour by
//! service. Click a span to zoom to it (and select it), click the top bar or "Reset" to zoom
//! out; hover shows name, service, duration and self time. Canvas hook `data-chart="flame"`.
//!
//! Also here: [`css_var`], resolving a colour token for canvas drawing (canvas cannot use CSS
//! variables directly). Not here: any statistic (self times are the core's).

use crate::state::trace_view::TraceCtx;
use crate::units;
use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::CanvasRenderingContext2d;

const ROW_H: f64 = 20.0;

/// The computed value of a CSS custom property on the document (e.g. `--fg`).
pub fn css_var(name: &str) -> String {
    document()
        .document_element()
        .and_then(|el| window().get_computed_style(&el).ok().flatten())
        .and_then(|s| s.get_property_value(name).ok())
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// The colour of a service for canvas drawing (its `--svc-N` token).
pub fn service_rgb(service: &str) -> String {
    css_var(&format!("--svc-{}", units::service_slot(service)))
}

/// A 2D context of a canvas sized to its CSS box × the device pixel ratio, and the CSS size.
pub fn context_2d(
    canvas: &web_sys::HtmlCanvasElement,
    css_h: f64,
) -> Option<(CanvasRenderingContext2d, f64, f64)> {
    let dpr = window().device_pixel_ratio().max(1.0);
    let w = f64::from(canvas.client_width()).max(100.0);
    canvas.set_width((w * dpr) as u32);
    canvas.set_height((css_h * dpr) as u32);
    let el: &web_sys::HtmlElement = canvas;
    let _ = web_sys::HtmlElement::style(el).set_property("height", &format!("{css_h}px"));
    let ctx = canvas
        .get_context("2d")
        .ok()
        .flatten()?
        .dyn_into::<CanvasRenderingContext2d>()
        .ok()?;
    let _ = ctx.scale(dpr, dpr);
    Some((ctx, w, css_h))
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Bar {
    span: u32,
    depth: u32,
    start: u64,
    end: u64,
}

/// The flame graph of the open trace.
#[component]
pub fn FlameView(ctx: TraceCtx) -> impl IntoView {
    let state = crate::state::use_app();
    let canvas: NodeRef<Canvas> = NodeRef::new();
    let (bars, t0, t1, max_depth) = ctx.loaded.with_value(|l| {
        let Some(t) = l.set.trace(ctx.trace_index) else {
            return (Vec::new(), 0, 1, 0);
        };
        let bars: Vec<Bar> = l
            .set
            .trace_spans(t)
            .iter()
            .enumerate()
            .map(|(i, s)| Bar {
                span: t.spans.start + i as u32,
                depth: s.depth,
                start: s.display_start_unix_nanos(),
                end: s.display_end_unix_nanos().max(s.display_start_unix_nanos()),
            })
            .collect();
        let t0 = bars.iter().map(|b| b.start).min().unwrap_or(0);
        let t1 = bars.iter().map(|b| b.end).max().unwrap_or(t0 + 1).max(t0 + 1);
        let md = bars.iter().map(|b| b.depth).max().unwrap_or(0);
        (bars, t0, t1, md)
    });
    let bars = StoredValue::new(bars);
    let window_ns = RwSignal::new((t0, t1));
    let hover = RwSignal::new(None::<(u32, f64, f64)>);
    let height = (f64::from(max_depth) + 1.0) * ROW_H + 2.0;

    let draw = move || {
        let (w0, w1) = window_ns.get();
        let _ = state.theme.get();
        let selected = ctx.selected.get();
        let Some(c) = canvas.get() else { return };
        let Some((g, w, _)) = context_2d(&c, height) else {
            return;
        };
        let span = (w1.saturating_sub(w0)).max(1) as f64;
        let bg = css_var("--bg");
        let fg = css_var("--fg");
        let err = css_var("--error");
        let outline = css_var("--critical");
        g.set_fill_style_str(&bg);
        g.fill_rect(0.0, 0.0, w, height);
        g.set_font("12px system-ui, sans-serif");
        g.set_text_baseline("middle");
        ctx.loaded.with_value(|l| {
            bars.with_value(|bars| {
                for b in bars {
                    if b.end < w0 || b.start > w1 {
                        continue;
                    }
                    let x0 = ((b.start.max(w0) - w0) as f64 / span * w).max(0.0);
                    let x1 = ((b.end.min(w1) - w0) as f64 / span * w).min(w);
                    let bw = (x1 - x0).max(1.0);
                    let y = f64::from(b.depth) * ROW_H;
                    let Some(s) = l.set.span(b.span) else { continue };
                    g.set_fill_style_str(&service_rgb(l.set.service_name(s)));
                    g.fill_rect(x0, y + 1.0, (bw - 1.0).max(1.0), ROW_H - 2.0);
                    if s.is_error() {
                        g.set_fill_style_str(&err);
                        g.fill_rect(x0, y + ROW_H - 4.0, (bw - 1.0).max(1.0), 3.0);
                    }
                    if selected == Some(b.span) {
                        g.set_stroke_style_str(&outline);
                        g.set_line_width(2.0);
                        g.stroke_rect(x0 + 1.0, y + 2.0, (bw - 3.0).max(1.0), ROW_H - 4.0);
                    }
                    if bw > 40.0 {
                        let name = l.set.name(s);
                        let max_chars = ((bw - 8.0) / 7.0) as usize;
                        let label = crate::views::service_graph::ellipsize(name, max_chars.max(1));
                        g.set_fill_style_str(&bg);
                        g.save();
                        g.begin_path();
                        g.rect(x0, y, bw - 2.0, ROW_H);
                        g.clip();
                        let _ = g.fill_text(&label, x0 + 4.0, y + ROW_H / 2.0);
                        g.restore();
                    }
                }
            })
        });
        let _ = fg;
    };
    Effect::new(move |_| draw());
    let resize = window_event_listener(leptos::ev::resize, move |_| draw());
    on_cleanup(move || resize.remove());

    let hit = move |x: f64, y: f64| -> Option<Bar> {
        let c = canvas.get_untracked()?;
        let w = f64::from(c.client_width()).max(1.0);
        let (w0, w1) = window_ns.get_untracked();
        let span = (w1.saturating_sub(w0)).max(1) as f64;
        let t = w0 as f64 + x / w * span;
        let depth = (y / ROW_H).floor() as u32;
        bars.with_value(|bars| {
            bars.iter()
                .find(|b| {
                    b.depth == depth
                        && (b.start as f64) <= t
                        && t <= (b.end as f64).max(b.start as f64 + span / w)
                })
                .copied()
        })
    };
    let tooltip = move || {
        let (span, x, y) = hover.get()?;
        let text = ctx.loaded.with_value(|l| {
            let s = l.set.span(span)?;
            let self_t = crate::views::analysis::self_time(l, ctx.trace_index, span);
            Some(format!(
                "{} · {}\n{}{}{}",
                l.set.service_name(s),
                l.set.name(s),
                units::duration(s.duration_nanos()),
                self_t
                    .map(|t| format!(" · self {}", units::duration(t)))
                    .unwrap_or_default(),
                if s.is_error() { " · error" } else { "" }
            ))
        })?;
        Some(
            view! { <div class="an-tooltip" data-testid="flame-tooltip" style:left=format!("{}px", x + 12.0) style:top=format!("{}px", y + 12.0)>{text}</div> },
        )
    };
    view! {
        <section class="an-view flame" data-testid="flame-view">
            <div class="an-toolbar">
                <span class="muted">"Click a span to zoom to it; click the root or Reset to zoom out."</span>
                <span class="spacer"></span>
                <button data-testid="flame-reset" disabled=move || window_ns.get() == (t0, t1) on:click=move |_| window_ns.set((t0, t1))>"Reset zoom"</button>
                <button disabled=move || ctx.selected.get().is_none() on:click=move |_| {
                    if let Some(s) = ctx.selected.get_untracked() { ctx.select(s); }
                    ctx.details_open.set(true);
                    crate::views::trace_graph::show_waterfall(ctx);
                }>"Open in waterfall"</button>
            </div>
            <div class="flame-wrap">
                <canvas node_ref=canvas data-chart="flame" class="flame-canvas" role="img" aria-label="Flame graph of the trace"
                    on:mousemove=move |ev| {
                        let (x, y) = (f64::from(ev.offset_x()), f64::from(ev.offset_y()));
                        hover.set(hit(x, y).map(|b| (b.span, x, y)));
                    }
                    on:mouseleave=move |_| hover.set(None)
                    on:click=move |ev| {
                        if let Some(b) = hit(f64::from(ev.offset_x()), f64::from(ev.offset_y())) {
                            if b.depth == 0 && window_ns.get_untracked() != (t0, t1) {
                                window_ns.set((t0, t1));
                            } else {
                                window_ns.set((b.start, b.end.max(b.start + 1)));
                            }
                            ctx.selected.set(Some(b.span));
                        }
                    }></canvas>
                {tooltip}
            </div>
        </section>
    }
}
