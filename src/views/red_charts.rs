//! The RED charts (`view=red`), drawn with `plotters` on canvas: for a service — or one of its
//! operations when drilled down — the request rate (req/s), the error rate (%) and the
//! p50/p95/p99 duration over time, and the latency histogram with Tempo's span-metrics buckets.
//! The time axis is in local time; hovering a chart shows the values of that step. The series
//! come from the core's `RedTimeline` over the loaded traces (steps without calls are zero).
//! Colours are the theme's CSS variables, resolved at draw time. With a Tempo data source, the
//! rate, error and duration charts can instead cover a long range (1 h … 7 d) from Tempo's
//! TraceQL metrics (`/api/metrics/query_range`: `rate()` and `quantile_over_time`); when the set
//! was fetched from a server for a time range (insights page), over that range by default.
//!
//! Canvas hooks: `data-chart="rate|errors|duration|histogram"`. Not here: any statistic.

use crate::units;
use crate::views::flame::css_var;
use crate::views::service_graph::{ellipsize, pct};
use leptos::html::Canvas;
use leptos::prelude::*;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use spanlens_core::analysis::{RedPoint, RedSeries, RollupMetrics, SetAnalysis};
use std::sync::Arc;

/// Parses `#rgb`, `#rrggbb` or `rgb(r, g, b)` into a plotters colour (grey when unknown).
pub fn parse_colour(s: &str) -> RGBColor {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix('#') {
        let v: Vec<u8> = match hex.len() {
            3 => hex
                .chars()
                .filter_map(|c| c.to_digit(16).map(|d| (d * 17) as u8))
                .collect(),
            6 | 8 => (0..3)
                .filter_map(|i| {
                    hex.get(i * 2..i * 2 + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                })
                .collect(),
            _ => Vec::new(),
        };
        if let [r, g, b, ..] = v.as_slice() {
            return RGBColor(*r, *g, *b);
        }
    }
    if let Some(inner) = s.strip_prefix("rgb(").or_else(|| s.strip_prefix("rgba(")) {
        let v: Vec<u8> = inner
            .trim_end_matches(')')
            .split([',', ' '])
            .filter(|p| !p.is_empty())
            .take(3)
            .filter_map(|p| p.parse::<f64>().ok().map(|f| f.clamp(0.0, 255.0) as u8))
            .collect();
        if let [r, g, b] = v.as_slice() {
            return RGBColor(*r, *g, *b);
        }
    }
    RGBColor(128, 128, 128)
}

fn token(name: &str) -> RGBColor {
    parse_colour(&css_var(name))
}

/// Local time label of a Unix-millisecond instant; the precision follows the step.
fn time_label(ms: f64, step_ms: f64, range_ms: f64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    let hms = format!(
        "{:02}:{:02}:{:02}",
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    );
    if range_ms > 86_400_000.0 {
        format!(
            "{:02}-{:02} {:02}:{:02}",
            d.get_month() + 1,
            d.get_date(),
            d.get_hours(),
            d.get_minutes()
        )
    } else if step_ms < 1000.0 {
        format!("{hms}.{:03}", d.get_milliseconds())
    } else {
        hms
    }
}

/// The plotting area of a drawn chart in CSS pixels, for hover.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Area {
    x0: f64,
    x1: f64,
}

struct Frame {
    start_ms: f64,
    step_ms: f64,
    n: u32,
}

fn size_canvas(c: &web_sys::HtmlCanvasElement, css_h: f64) -> f64 {
    let dpr = window().device_pixel_ratio().max(1.0);
    let w = f64::from(c.client_width()).max(200.0);
    c.set_width((w * dpr) as u32);
    c.set_height((css_h * dpr) as u32);
    dpr
}

/// Draws line series over time; returns the plotting area.
fn draw_lines(
    c: &web_sys::HtmlCanvasElement,
    frame: &Frame,
    series: &[(String, RGBColor, Vec<f64>)],
    y_fmt: &dyn Fn(f64) -> String,
) -> Option<Area> {
    let dpr = size_canvas(c, 180.0);
    let s = |v: f64| (v * dpr) as i32;
    let backend = CanvasBackend::with_canvas_object(c.clone())?;
    let root = backend.into_drawing_area();
    let (bg, fg, muted, grid) = (
        token("--bg"),
        token("--fg"),
        token("--fg-muted"),
        token("--border"),
    );
    root.fill(&bg).ok()?;
    let x0 = frame.start_ms;
    let x1 = frame.start_ms + f64::from(frame.n.max(1)) * frame.step_ms;
    let ymax = series
        .iter()
        .flat_map(|(_, _, v)| v.iter().copied())
        .fold(0.0f64, f64::max);
    let ymax = if ymax <= 0.0 { 1.0 } else { ymax * 1.1 };
    let range = x1 - x0;
    let step = frame.step_ms;
    let font = ("sans-serif", f64::from(s(11.0))).into_font().color(&muted);
    let mut chart = ChartBuilder::on(&root)
        .margin(s(8.0))
        .x_label_area_size(s(22.0))
        .y_label_area_size(s(62.0))
        .build_cartesian_2d(x0..x1, 0.0..ymax)
        .ok()?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(4)
        .light_line_style(bg)
        .bold_line_style(grid.stroke_width(1))
        .axis_style(muted)
        .label_style(font)
        .x_label_formatter(&|x| time_label(*x, step, range))
        .y_label_formatter(&|y| y_fmt(*y))
        .draw()
        .ok()?;
    for (_, colour, values) in series {
        let pts: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (x0 + (i as f64 + 0.5) * step, *v))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, colour.stroke_width(s(2.0).max(1) as u32)))
            .ok()?;
    }
    let _ = fg;
    root.present().ok()?;
    let (px, _) = chart.plotting_area().get_pixel_range();
    Some(Area {
        x0: f64::from(px.start) / dpr,
        x1: f64::from(px.end) / dpr,
    })
}

/// Draws the histogram (bucket counts over `bounds` plus +Inf).
fn draw_histogram(c: &web_sys::HtmlCanvasElement, bounds: &[u64], counts: &[u64]) -> Option<Area> {
    let dpr = size_canvas(c, 180.0);
    let s = |v: f64| (v * dpr) as i32;
    let backend = CanvasBackend::with_canvas_object(c.clone())?;
    let root = backend.into_drawing_area();
    let (bg, muted, grid, bar) = (
        token("--bg"),
        token("--fg-muted"),
        token("--border"),
        token("--accent"),
    );
    root.fill(&bg).ok()?;
    let n = counts.len().max(1) as f64;
    let ymax = counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.1;
    let font = ("sans-serif", f64::from(s(10.0))).into_font().color(&muted);
    let label = |x: f64| -> String {
        let i = x.floor() as usize;
        match bounds.get(i) {
            Some(b) => format!("≤{}", units::duration(*b)),
            None if i == bounds.len() => "+Inf".to_string(),
            None => String::new(),
        }
    };
    let mut chart = ChartBuilder::on(&root)
        .margin(s(8.0))
        .x_label_area_size(s(22.0))
        .y_label_area_size(s(62.0))
        .build_cartesian_2d(0.0..n, 0.0..ymax)
        .ok()?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(counts.len().min(8))
        .y_labels(4)
        .light_line_style(bg)
        .bold_line_style(grid.stroke_width(1))
        .axis_style(muted)
        .label_style(font)
        .x_label_formatter(&|x| label(*x))
        .y_label_formatter(&|y| format!("{}", y.round() as u64))
        .draw()
        .ok()?;
    chart
        .draw_series(counts.iter().enumerate().map(|(i, &v)| {
            let i = i as f64;
            Rectangle::new([(i + 0.08, 0.0), (i + 0.92, v as f64)], bar.filled())
        }))
        .ok()?;
    root.present().ok()?;
    let (px, _) = chart.plotting_area().get_pixel_range();
    Some(Area {
        x0: f64::from(px.start) / dpr,
        x1: f64::from(px.end) / dpr,
    })
}

/// RED series from Tempo's TraceQL metrics, dense over the range.
#[derive(Clone, Debug, PartialEq)]
struct TempoRed {
    start_ms: f64,
    step_ms: f64,
    n: u32,
    rate: Vec<f64>,
    errors: Vec<f64>,
    p50: Vec<f64>,
    p95: Vec<f64>,
    p99: Vec<f64>,
}

fn traceql_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn selector(service: &str, op: Option<&str>, extra: &str) -> String {
    let mut s = format!("resource.service.name = {}", traceql_string(service));
    if let Some(o) = op {
        s.push_str(&format!(" && name = {}", traceql_string(o)));
    }
    format!("{{ {s}{extra} }}")
}

fn any_number(v: &spanlens_core::tempo_api::AnyValue) -> Option<f64> {
    use spanlens_core::tempo_api::AnyValue;
    match v {
        AnyValue::DoubleValue(d) => Some(*d),
        AnyValue::IntValue(i) => Some(*i as f64),
        AnyValue::StringValue(s) => s.parse().ok(),
        _ => None,
    }
}

/// Fetches the RED series of (service, operation) over `start..end` (Unix seconds) from Tempo.
async fn fetch_tempo(
    settings: crate::state::TempoSettings,
    service: String,
    op: Option<String>,
    start: i64,
    end: i64,
) -> Result<TempoRed, String> {
    let step = ((end - start) / 100).max(15);
    let n = ((end - start) / step + 1) as u32;
    let sel = selector(&service, op.as_deref(), "");
    let err_sel = selector(&service, op.as_deref(), " && status = error");
    let q = |query: String| {
        let settings = settings.clone();
        async move {
            crate::api::metrics_query_range(&settings, &query, start, end, step)
                .await
                .map_err(|e| format!("Tempo metrics query {query} failed: {e}"))
        }
    };
    let rate_r = q(format!("{sel} | rate()")).await?;
    let err_r = q(format!("{err_sel} | rate()")).await?;
    let quant_r = q(format!("{sel} | quantile_over_time(duration, .5, .95, .99)")).await?;
    let slot = |ts_ms: i64| -> Option<usize> {
        let i = (ts_ms / 1000 - start).div_euclid(step);
        (0..i64::from(n)).contains(&i).then_some(i as usize)
    };
    let fill = |series: Option<&spanlens_core::tempo_api::TimeSeries>, scale: f64| -> Vec<f64> {
        let mut out = vec![0.0; n as usize];
        for s in series.map(|s| s.samples.as_slice()).unwrap_or(&[]) {
            if let (Some(i), Some(v)) = (slot(s.timestamp_ms), s.value) {
                if let Some(x) = out.get_mut(i) {
                    *x = v * scale;
                }
            }
        }
        out
    };
    let rate = fill(rate_r.series.first(), 1.0);
    let err_rate = fill(err_r.series.first(), 1.0);
    let errors = rate
        .iter()
        .zip(&err_rate)
        .map(|(r, e)| if *r > 0.0 { (e / r * 100.0).min(100.0) } else { 0.0 })
        .collect();
    let quantile = |want: f64| {
        quant_r.series.iter().find(|s| {
            s.labels
                .iter()
                .any(|kv| kv.key == "p" && any_number(&kv.value).is_some_and(|p| (p - want).abs() < 1e-6))
        })
    };
    // Tempo answers duration quantiles in seconds; the charts use milliseconds.
    Ok(TempoRed {
        start_ms: start as f64 * 1000.0,
        step_ms: step as f64 * 1000.0,
        n,
        rate,
        errors,
        p50: fill(quantile(0.5), 1000.0),
        p95: fill(quantile(0.95), 1000.0),
        p99: fill(quantile(0.99), 1000.0),
    })
}

/// Dense values per step from sparse points.
fn dense(points: &[RedPoint], n: u32, f: impl Fn(&RedPoint) -> f64) -> Vec<f64> {
    let mut out = vec![0.0; n as usize];
    for p in points {
        if let Some(v) = out.get_mut(p.index as usize) {
            *v = f(p);
        }
    }
    out
}

/// The RED charts of the loaded set.
#[component]
pub fn RedChartsView(
    analysis: Arc<SetAnalysis>,
    /// The service (defaults to the one with most calls) and the drilled-down operation.
    service: RwSignal<Option<String>>,
    op: RwSignal<Option<String>>,
    /// The server time range the set was fetched for (Unix seconds): the rate, error and
    /// duration charts then come from the server's TraceQL metrics over it.
    #[prop(optional)]
    server_range: Option<(i64, i64)>,
) -> impl IntoView {
    let state = crate::state::use_app();
    let red = analysis.span_metrics.red.clone();
    let frame = Frame {
        start_ms: red.start_unix_nanos as f64 / 1e6,
        step_ms: (red.step_nanos as f64 / 1e6).max(1e-6),
        n: red.point_count.max(1),
    };
    let frame = Arc::new(frame);
    let mut by_calls: Vec<&RollupMetrics> = analysis.span_metrics.services.iter().collect();
    by_calls.sort_by_key(|s| std::cmp::Reverse(s.calls));
    let default_service = by_calls.first().map(|s| s.service.clone());
    let services: Vec<String> = analysis
        .span_metrics
        .services
        .iter()
        .map(|s| s.service.clone())
        .collect();
    let a2 = analysis.clone();
    let current = Memo::new(move |_| {
        let svc = service
            .get()
            .filter(|s| a2.span_metrics.services.iter().any(|x| &x.service == s))
            .or(default_service.clone())?;
        let op = op.get().filter(|o| {
            a2.span_metrics
                .operations
                .iter()
                .any(|x| x.service == svc && x.span_name.as_deref() == Some(o.as_str()))
        });
        Some((svc, op))
    });
    let a3 = analysis.clone();
    let ops_of = move || -> Vec<String> {
        let Some((svc, _)) = current.get() else {
            return Vec::new();
        };
        a3.span_metrics
            .operations
            .iter()
            .filter(|o| o.service == svc)
            .filter_map(|o| o.span_name.clone())
            .collect()
    };
    let a4 = analysis.clone();
    let series = Memo::new(move |_| -> Option<(Arc<RedSeries>, Arc<RollupMetrics>)> {
        let (svc, op) = current.get()?;
        let red = &a4.span_metrics.red;
        let s = match &op {
            Some(o) => red
                .operations
                .iter()
                .find(|x| x.service == svc && x.span_name.as_deref() == Some(o.as_str())),
            None => red.services.iter().find(|x| x.service == svc),
        }?;
        let roll = match &op {
            Some(o) => a4
                .span_metrics
                .operations
                .iter()
                .find(|x| x.service == svc && x.span_name.as_deref() == Some(o.as_str())),
            None => a4.span_metrics.services.iter().find(|x| x.service == svc),
        }?;
        Some((Arc::new(s.clone()), Arc::new(roll.clone())))
    });
    let bounds = analysis.span_metrics.bucket_bounds_nanos.clone();

    let rate_c: NodeRef<Canvas> = NodeRef::new();
    let err_c: NodeRef<Canvas> = NodeRef::new();
    let dur_c: NodeRef<Canvas> = NodeRef::new();
    let hist_c: NodeRef<Canvas> = NodeRef::new();
    let areas = RwSignal::new([Area::default(); 4]);
    let n_slots = RwSignal::new(frame.n);
    let hover = RwSignal::new(None::<(usize, f64, u32)>);
    let frame_sv = StoredValue::new(frame.clone());
    let bounds_sv = StoredValue::new(bounds.clone());
    // Tempo mode: the range in seconds before now (0 = the loaded traces, -1 = `server_range`)
    // and the fetched series.
    let tempo_range = RwSignal::new(if server_range.is_some() { -1i64 } else { 0 });
    let tempo_data = RwSignal::new(None::<Result<Arc<TempoRed>, String>>);
    let has_tempo = state.loaded.with_untracked(|l| {
        l.as_ref()
            .is_some_and(|l| l.source != crate::routes::Source::Local)
    }) || state.tempo.with_untracked(|t| !t.base_url.trim().is_empty());
    Effect::new(move |_| {
        let range = tempo_range.get();
        let cur = current.get();
        tempo_data.set(None);
        let (Some((svc, op)), true) = (cur, range != 0) else {
            return;
        };
        let (start, end) = match server_range {
            Some(r) if range < 0 => r,
            _ => {
                let now = crate::state::now_secs();
                (now - range, now)
            }
        };
        let settings = state.tempo.get_untracked();
        let settings = state
            .loaded
            .get_untracked()
            .map(|l| settings.for_source(&l.source))
            .unwrap_or(settings);
        leptos::task::spawn_local(async move {
            let r = fetch_tempo(settings, svc, op, start, end).await.map(Arc::new);
            if tempo_range.get_untracked() == range {
                tempo_data.set(Some(r));
            }
        });
    });
    let draw = move || {
        let b2 = bounds_sv.get_value();
        let _ = state.theme.get();
        let Some((s, roll)) = series.get() else { return };
        let (Some(rc), Some(ec), Some(dc), Some(hc)) = (rate_c.get(), err_c.get(), dur_c.get(), hist_c.get())
        else {
            return;
        };
        let tempo = if tempo_range.get() != 0 {
            tempo_data.get().and_then(Result::ok)
        } else {
            None
        };
        let (f2, rate, errs, p50, p95, p99) = match tempo {
            Some(t) => (
                Arc::new(Frame {
                    start_ms: t.start_ms,
                    step_ms: t.step_ms,
                    n: t.n,
                }),
                t.rate.clone(),
                t.errors.clone(),
                t.p50.clone(),
                t.p95.clone(),
                t.p99.clone(),
            ),
            None => {
                let f2 = frame_sv.get_value();
                let n = f2.n;
                let ms = |v: u64| v as f64 / 1e6;
                (
                    f2.clone(),
                    dense(&s.points, n, |p| p.rate_per_sec),
                    dense(&s.points, n, |p| p.error_rate * 100.0),
                    dense(&s.points, n, |p| ms(p.p50_nanos)),
                    dense(&s.points, n, |p| ms(p.p95_nanos)),
                    dense(&s.points, n, |p| ms(p.p99_nanos)),
                )
            }
        };
        n_slots.set(f2.n);
        let mut out = [Area::default(); 4];
        out[0] = draw_lines(&rc, &f2, &[("req/s".into(), token("--accent"), rate)], &|y| {
            format!("{y:.2}/s")
        })
        .unwrap_or_default();
        out[1] = draw_lines(&ec, &f2, &[("errors".into(), token("--error"), errs)], &|y| {
            format!("{y:.1}%")
        })
        .unwrap_or_default();
        out[2] = draw_lines(
            &dc,
            &f2,
            &[
                ("p50".into(), token("--chart-p50"), p50),
                ("p95".into(), token("--chart-p95"), p95),
                ("p99".into(), token("--chart-p99"), p99),
            ],
            &|y| units::duration((y * 1e6).max(0.0) as u64),
        )
        .unwrap_or_default();
        out[3] = draw_histogram(&hc, &b2, &roll.histogram).unwrap_or_default();
        areas.set(out);
    };
    Effect::new(move |_| {
        draw();
        crate::worker::mark("spanlens:red-drawn");
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| draw());
    on_cleanup(move || resize.remove());

    let n_buckets = bounds.len() + 1;
    let on_move = move |chart: usize, ev: web_sys::MouseEvent| {
        let area = areas.get_untracked().get(chart).copied().unwrap_or_default();
        let x = f64::from(ev.offset_x());
        if x < area.x0 || x > area.x1 || area.x1 <= area.x0 {
            hover.set(None);
            return;
        }
        let frac = (x - area.x0) / (area.x1 - area.x0);
        let slots = if chart == 3 {
            n_buckets as f64
        } else {
            f64::from(n_slots.get_untracked())
        };
        let idx = ((frac * slots).floor() as u32).min(slots as u32 - 1);
        hover.set(Some((chart, x, idx)));
    };
    let tip = move |chart: usize| {
        let f4 = frame_sv.get_value();
        let b3 = bounds_sv.get_value();
        let (c, x, idx) = hover.get().filter(|h| h.0 == chart)?;
        let (s, roll) = series.get()?;
        let tempo = if tempo_range.get() != 0 {
            tempo_data.get().and_then(Result::ok)
        } else {
            None
        };
        let text = if let (Some(t), true) = (tempo, c < 3) {
            let i = idx as usize;
            let at = time_label(
                t.start_ms + f64::from(idx) * t.step_ms,
                t.step_ms,
                f64::from(t.n) * t.step_ms,
            );
            let v = |x: &[f64]| x.get(i).copied().unwrap_or(0.0);
            match c {
                0 => format!("{at}: {:.3} req/s (Tempo)", v(&t.rate)),
                1 => format!("{at}: {:.2}% errors (Tempo)", v(&t.errors)),
                _ => format!(
                    "{at}: p50 {} · p95 {} · p99 {} (Tempo)",
                    units::duration((v(&t.p50) * 1e6) as u64),
                    units::duration((v(&t.p95) * 1e6) as u64),
                    units::duration((v(&t.p99) * 1e6) as u64)
                ),
            }
        } else if c == 3 {
            let count = roll.histogram.get(idx as usize).copied().unwrap_or(0);
            let lo = if idx == 0 {
                0
            } else {
                b3.get(idx as usize - 1).copied().unwrap_or(0)
            };
            let hi = b3
                .get(idx as usize)
                .map(|b| units::duration(*b))
                .unwrap_or_else(|| "+Inf".into());
            format!("{} – {}: {count} calls", units::duration(lo), hi)
        } else {
            let p = s.points.iter().find(|p| p.index == idx);
            let t = time_label(
                f4.start_ms + f64::from(idx) * f4.step_ms,
                f4.step_ms,
                f64::from(f4.n) * f4.step_ms,
            );
            match p {
                None => format!("{t}: no calls"),
                Some(p) => match c {
                    0 => format!("{t}: {:.3} req/s ({} calls)", p.rate_per_sec, p.calls),
                    1 => format!(
                        "{t}: {} errors ({} of {} calls)",
                        pct(p.error_rate),
                        p.errors,
                        p.calls
                    ),
                    _ => format!(
                        "{t}: p50 {} · p95 {} · p99 {}",
                        units::duration(p.p50_nanos),
                        units::duration(p.p95_nanos),
                        units::duration(p.p99_nanos)
                    ),
                },
            }
        };
        Some(
            view! { <div class="an-tooltip chart-tip" data-testid="chart-tooltip" style:left=format!("{}px", x + 10.0)>{text}</div> },
        )
    };
    let chart = move |key: &'static str, title: &'static str, idx: usize, node: NodeRef<Canvas>| {
        view! {
            <figure class="red-chart">
                <figcaption>{title}</figcaption>
                <div class="chart-wrap">
                    <canvas node_ref=node data-chart=key role="img" aria-label=title
                        on:mousemove=move |ev| on_move(idx, ev) on:mouseleave=move |_| hover.set(None)></canvas>
                    {move || tip(idx)}
                </div>
            </figure>
        }
    };
    let summary = move || {
        let (_, roll) = series.get()?;
        Some(view! {
            <dl class="an-figures" data-testid="red-summary">
                <div><dt>"Calls"</dt><dd>{roll.calls}</dd></div>
                <div><dt>"Errors"</dt><dd>{format!("{} ({})", roll.errors, pct(roll.error_rate))}</dd></div>
                <div><dt>"p50"</dt><dd>{units::duration(roll.latency.p50_nanos)}</dd></div>
                <div><dt>"p95"</dt><dd>{units::duration(roll.latency.p95_nanos)}</dd></div>
                <div><dt>"p99"</dt><dd>{units::duration(roll.latency.p99_nanos)}</dd></div>
                <div><dt>"Step"</dt><dd>{units::duration(red.step_nanos)}</dd></div>
            </dl>
        })
    };
    view! {
        <section class="an-view red" data-testid="red-view">
            <div class="an-toolbar">
                <label>"Service "
                    <select data-testid="red-service" on:change=move |ev| { service.set(Some(event_target_value(&ev))); op.set(None); }>
                        {services.into_iter().map(|s| {
                            let s2 = s.clone();
                            let label = s.clone();
                            view! { <option value=s selected=move || current.get().is_some_and(|c| c.0 == s2)>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"Operation "
                    <select data-testid="red-operation" on:change=move |ev| { let v = event_target_value(&ev); op.set((!v.is_empty()).then_some(v)); }>
                        <option value="" selected=move || current.get().is_some_and(|c| c.1.is_none())>"All operations"</option>
                        {move || ops_of().into_iter().map(|o| {
                            let o2 = o.clone();
                            let label = ellipsize(&o, 60);
                            view! { <option value=o selected=move || current.get().is_some_and(|c| c.1.as_deref() == Some(o2.as_str()))>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                {has_tempo.then(|| view! {
                    <label>"Range "
                        <select data-testid="red-source" on:change=move |ev| tempo_range.set(event_target_value(&ev).parse().unwrap_or(0))>
                            <option value="0" selected=move || tempo_range.get() == 0>"Loaded traces"</option>
                            {server_range.map(|_| view! { <option value="-1" selected=move || tempo_range.get() == -1>"Server · analysed range"</option> })}
                            {[(3600i64, "Tempo · last 1 h"), (21_600, "Tempo · last 6 h"), (86_400, "Tempo · last 24 h"), (604_800, "Tempo · last 7 d")].into_iter().map(|(s, l)| view! {
                                <option value=s.to_string() selected=move || tempo_range.get() == s>{l}</option>
                            }).collect_view()}
                        </select>
                    </label>
                })}
                {move || (tempo_range.get() != 0).then(|| match tempo_data.get() {
                    None => view! { <span class="muted">"Querying Tempo…"</span> }.into_any(),
                    Some(Ok(_)) => view! { <span class="muted">"Rate, errors and duration from Tempo's TraceQL metrics; histogram from the loaded traces."</span> }.into_any(),
                    Some(Err(e)) => view! { <span class="error-text" role="alert">{e}</span> }.into_any(),
                })}
                <span class="spacer"></span>
                <span class="legend"><span class="lg lg-p50"></span>"p50 "<span class="lg lg-p95"></span>"p95 "<span class="lg lg-p99"></span>"p99"</span>
            </div>
            {summary}
            <div class="red-grid">
                {chart("rate", "Rate (requests/s)", 0, rate_c)}
                {chart("errors", "Errors (%)", 1, err_c)}
                {chart("duration", "Duration p50 / p95 / p99", 2, dur_c)}
                {chart("histogram", "Latency histogram (Tempo span-metrics buckets)", 3, hist_c)}
            </div>
            <p class="muted an-note">{move || {
                let from_tempo = tempo_range.get() != 0 && matches!(tempo_data.get(), Some(Ok(_)));
                if from_tempo {
                    "Rate, errors and duration from TraceQL metrics, the histogram from the loaded traces; times in local time."
                } else {
                    "From the loaded traces; times in local time. Steps without calls show zero."
                }
            }}</p>
        </section>
    }
}
