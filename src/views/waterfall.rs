//! The waterfall: one row per visible span (tree indentation, collapse triangle with the hidden
//! count, service colour chip, name, error and clock-skew marks) and its bar placed in time
//! within the zoom window, with event ticks, the duration label and the critical-path outline;
//! a time ruler on top. Rows are virtualized: only the rows in view (plus a small overscan)
//! exist in the DOM, so 100k-span traces scroll at frame rate.
//!
//! Not here: which rows are visible (`state::trace_view`) or any figure (the core).

use crate::state::trace_view::TraceCtx;
use crate::units;
use leptos::prelude::*;
use spanlens_core::model::StatusCode;

/// Row height in CSS pixels (matches `.wf-row` in `style/app.css`).
pub const ROW_HEIGHT: f64 = 24.0;
const OVERSCAN: usize = 8;
const MAX_EVENT_TICKS: usize = 24;

/// The waterfall of the open trace.
#[component]
pub fn Waterfall(ctx: TraceCtx) -> impl IntoView {
    let scroller: NodeRef<leptos::html::Div> = NodeRef::new();
    let scroll_top = RwSignal::new(0.0f64);
    let viewport = RwSignal::new(600.0f64);
    let name_col = RwSignal::new(
        crate::state::load_key("spanlens.nameCol")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0),
    );

    let measure = move || {
        if let Some(el) = scroller.get_untracked() {
            viewport.set(f64::from(el.client_height()).max(ROW_HEIGHT));
        }
    };
    Effect::new(move |_| {
        if scroller.get().is_some() {
            // At the next frame, when the browser lays the page out anyway (reading the height
            // now would force a layout inside the task that builds the page).
            request_animation_frame(measure);
        }
    });
    let _resize = window_event_listener(leptos::ev::resize, move |_| measure());

    // Scroll a requested span into view.
    Effect::new(move |_| {
        let Some(span) = ctx.reveal.get() else { return };
        let rows = ctx.rows.get();
        let Some(pos) = rows.0.iter().position(|&r| r == span) else {
            return;
        };
        let Some(el) = scroller.get_untracked() else {
            return;
        };
        let top = pos as f64 * ROW_HEIGHT;
        let cur = f64::from(el.scroll_top());
        let h = f64::from(el.client_height());
        if top < cur {
            el.set_scroll_top(top as i32);
        } else if top + ROW_HEIGHT > cur + h {
            let target = if top > cur + 2.0 * h {
                top - h / 2.0
            } else {
                top + ROW_HEIGHT - h
            };
            el.set_scroll_top(target.max(0.0) as i32);
        }
        scroll_top.set(f64::from(el.scroll_top()));
    });

    let window_rows = Memo::new(move |_| {
        let n = ctx.rows.with(|r| r.0.len());
        let first = ((scroll_top.get() / ROW_HEIGHT).floor() as usize).saturating_sub(OVERSCAN);
        let count = (viewport.get() / ROW_HEIGHT).ceil() as usize + 2 * OVERSCAN;
        (first.min(n), (first + count).min(n))
    });
    let items = move || {
        let (a, b) = window_rows.get();
        ctx.rows.with(|r| {
            r.0.get(a..b)
                .unwrap_or(&[])
                .iter()
                .enumerate()
                .map(|(k, &s)| (a + k, s))
                .collect::<Vec<_>>()
        })
    };
    let total_height = move || format!("{}px", ctx.rows.with(|r| r.0.len()) as f64 * ROW_HEIGHT);
    let style = move || {
        let w = name_col.get();
        if w > 0.0 {
            format!("--name-col:{w}px")
        } else {
            String::new()
        }
    };
    let first_paint = StoredValue::new(false);
    Effect::new(move |_| {
        if !items().is_empty() && !first_paint.get_value() {
            first_paint.set_value(true);
            crate::worker::mark("spanlens:first-rows");
        }
    });

    // Name column resize.
    let resizing = StoredValue::new(None::<(f64, f64)>);
    let on_resize_down = move |ev: leptos::ev::PointerEvent| {
        let Some(el) = scroller.get_untracked() else {
            return;
        };
        let current = if name_col.get_untracked() > 0.0 {
            name_col.get_untracked()
        } else {
            f64::from(el.client_width()) * 0.35
        };
        resizing.set_value(Some((f64::from(ev.client_x()), current)));
        if let Some(t) = ev.target() {
            use wasm_bindgen::JsCast;
            if let Ok(t) = t.dyn_into::<web_sys::Element>() {
                let _ = t.set_pointer_capture(ev.pointer_id());
            }
        }
    };
    let on_resize_move = move |ev: leptos::ev::PointerEvent| {
        if let Some((x0, w0)) = resizing.get_value() {
            name_col.set((w0 + f64::from(ev.client_x()) - x0).clamp(120.0, 1200.0));
        }
    };
    let on_resize_up = move |_| {
        resizing.set_value(None);
        let w = name_col.get_untracked();
        if w > 0.0 {
            crate::state::store_key("spanlens.nameCol", &w.to_string());
        }
    };

    view! {
        <div class="waterfall" style=style role="tree" aria-label="Span waterfall"
            data-row-count=move || ctx.rows.with(|r| r.0.len())>
            <div class="wf-head">
                <div class="wf-name-head">
                    "Service · operation"
                    <div class="wf-resize" title="Drag to resize the name column" on:pointerdown=on_resize_down
                        on:pointermove=on_resize_move on:pointerup=on_resize_up></div>
                </div>
                <Ruler ctx=ctx/>
            </div>
            <div class="wf-scroll" node_ref=scroller tabindex="0"
                on:scroll=move |_| {
                    if let Some(el) = scroller.get_untracked() {
                        scroll_top.set(f64::from(el.scroll_top()));
                    }
                }>
                <div class="wf-spacer" style:height=total_height>
                    <For each=items key=|x| *x let:item>
                        <Row ctx=ctx pos=item.0 index=item.1/>
                    </For>
                </div>
            </div>
        </div>
    }
}

/// The time ruler over the zoom window: ticks at 1, 2, 5 × 10^k offsets from the trace start.
#[component]
fn Ruler(ctx: TraceCtx) -> impl IntoView {
    let duration = ctx.axis.1.saturating_sub(ctx.axis.0).max(1) as f64;
    let ticks = move || {
        let (z0, z1) = ctx.zoom.get();
        let from = z0 * duration;
        let to = z1 * duration;
        let step = units::nice_step(to - from, 6.0);
        let mut t = (from / step).ceil() * step;
        let mut out = Vec::new();
        while t <= to && out.len() < 40 {
            let left = (t - from) / (to - from) * 100.0;
            out.push((left, units::offset(t as i128)));
            t += step;
        }
        out
    };
    view! {
        <div class="wf-ruler" aria-hidden="true">
            {move || ticks().into_iter().map(|(left, label)| view! {
                <span class="tick" style:left=format!("{left:.3}%")><span class="tick-label">{label}</span></span>
            }).collect_view()}
        </div>
    }
}

/// One waterfall row.
#[component]
fn Row(ctx: TraceCtx, pos: usize, index: u32) -> impl IntoView {
    let t0 = ctx.axis.0;
    let duration = ctx.axis.1.saturating_sub(t0).max(1) as f64;
    let info = ctx.loaded.with_value(|l| {
        let set = &l.set;
        let s = set.span(index).copied()?;
        let service = set.service_name(&s).to_string();
        let parent_service = set.span(s.parent).map(|p| set.service_name(p).to_string());
        let events: Vec<(f64, String)> = set
            .events(&s)
            .iter()
            .take(MAX_EVENT_TICKS)
            .map(|e| {
                (
                    e.time_unix_nanos.saturating_sub(t0) as f64 / duration,
                    set.arena.str(e.name).to_string(),
                )
            })
            .collect();
        Some((
            s,
            set.arena.str(s.name).to_string(),
            service,
            parent_service,
            events,
            set.arena.str(s.status_message).to_string(),
        ))
    });
    let Some((span, name, service, parent_service, events, status_message)) = info else {
        return view! { <div></div> }.into_any();
    };
    let start = span.display_start_unix_nanos().saturating_sub(t0) as f64 / duration;
    let end = span.display_end_unix_nanos().saturating_sub(t0) as f64 / duration;
    let colour = units::service_colour(&service);
    let dur = units::duration(span.duration_nanos());
    let show_service = parent_service.as_deref() != Some(service.as_str());
    let is_error = span.status_code == StatusCode::Error;
    let has_children = span.child_count > 0;
    let hidden = span.subtree_len.saturating_sub(1);
    let depth = span.depth.min(40);
    let span_id = span.span_id.to_hex();
    let tooltip = format!(
        "{name}\nservice: {service}\nduration: {dur}\nstart: {}\nstatus: {}{}",
        units::offset(i128::from(span.display_start_unix_nanos()) - i128::from(t0)),
        span.status_code.short_name(),
        if status_message.is_empty() {
            String::new()
        } else {
            format!(" — {status_message}")
        }
    );
    let skew = span.skew_shift_nanos;

    let collapsed = move || ctx.collapsed.with(|c| c.contains(&index));
    let selected = move || ctx.selected.get() == Some(index);
    let is_match = move || ctx.matches.with(|m| m.0.set.contains(&index));
    let on_critical = move || ctx.critical_spans.with(|c| c.0.contains(&index));
    let place = move |f: f64| {
        let (z0, z1) = ctx.zoom.get();
        (f - z0) / (z1 - z0).max(1e-9) * 100.0
    };
    // One reactive style per bar (zoom changes move it; scrolling creates rows cheaply).
    let bar_colour = colour.clone();
    let bar_style = move || {
        let (l, r) = (place(start), place(end));
        format!(
            "left:{l:.4}%;width:max(1px,{:.4}%);background:{bar_colour}",
            (r - l).max(0.0)
        )
    };
    // The duration label follows the bar, or sits inside its right end when the bar is wide.
    let label_inside = move || place(end) > 85.0 && place(end) - place(start) > 12.0;
    let label_style = move || {
        let (l, r) = (place(start), place(end));
        if label_inside() {
            format!("right:{:.4}%", (100.0 - r.min(100.0)).max(0.0))
        } else if r > 85.0 {
            format!("right:{:.4}%", (100.0 - l).max(0.0))
        } else {
            format!("left:{:.4}%", r)
        }
    };
    let dur_label = dur.clone();
    view! {
        <div class="wf-row" role="treeitem" data-span-id=span_id
            aria-selected=move || if selected() { "true" } else { "false" }
            aria-expanded=move || has_children.then(|| if collapsed() { "false" } else { "true" })
            attr:aria-level=span.depth + 1
            class:selected=selected class:match=is_match class:error=is_error class:critical=on_critical
            style:top=format!("{}px", pos as f64 * ROW_HEIGHT)
            on:click=move |_| ctx.select(index)
            on:dblclick=move |_| {
                let pad = (end - start).max(1e-6) * 0.05;
                ctx.zoom.set(((start - pad).max(0.0), (end + pad).min(1.0)));
            }>
            <div class="wf-name" title=tooltip style:padding-left=format!("{}px", 4 + depth * 14)>
                {if has_children {
                    view! {
                        <button class="wf-toggle" tabindex="-1"
                            aria-label=move || if collapsed() { "Expand" } else { "Collapse" }
                            on:click=move |ev| {
                                ev.stop_propagation();
                                ctx.set_collapsed(index, !collapsed());
                            }>
                            {move || if collapsed() { "▸" } else { "▾" }}
                        </button>
                        <Show when=collapsed>
                            <span class="wf-hidden" title="Hidden descendants">{format!("+{hidden}")}</span>
                        </Show>
                    }.into_any()
                } else {
                    view! { <span class="wf-toggle-space"></span> }.into_any()
                }}
                <span class="chip" style:background=colour.clone()></span>
                {show_service.then(|| view! { <span class="wf-service">{service.clone()}</span> })}
                <span class="wf-op">{name.clone()}</span>
                {is_error.then(|| view! { <span class="wf-error" title="Error status" aria-label="error">"!"</span> })}
                {(skew != 0).then(|| view! {
                    <span class="wf-skew" title=format!("Clock skew: shown shifted by {} (raw times in details)", units::offset(i128::from(skew)))>"⇄"</span>
                })}
            </div>
            <div class="wf-time">
                <div class="wf-bar" class:bar-error=is_error style=bar_style>
                    {events.into_iter().map(|(f, ev_name)| {
                        // Relative to the bar, so independent of the zoom: no reactive work.
                        let rel = if end - start <= 0.0 { 0.0 } else { ((f - start) / (end - start) * 100.0).clamp(0.0, 100.0) };
                        view! { <span class="wf-event" title=ev_name style=format!("left:{rel:.3}%")></span> }
                    }).collect_view()}
                </div>
                <span class="wf-dur" class:inside=label_inside style=label_style>{dur_label}</span>
            </div>
        </div>
    }
    .into_any()
}
