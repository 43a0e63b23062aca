//! The trace header strip: root service and name, start (local, UTC on hover and shown), and
//! the figures with stable test hooks (`trace-span-count`, `trace-service-count`,
//! `trace-duration`, `trace-error-count`, `trace-grade`), plus the PARTIAL banner and, when the
//! core reported problems while reading, a strip with the counts and the diagnostics panel.

use crate::state::trace_view::TraceCtx;
use crate::units;
use leptos::prelude::*;

/// Local time of a Unix-nanosecond timestamp, from the browser.
pub fn local_time(unix_nanos: u64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64((unix_nanos / 1_000_000) as f64));
    let ms = (unix_nanos / 1_000_000) % 1000;
    format!(
        "{}-{:02}-{:02} {:02}:{:02}:{:02}.{ms:03}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    )
}

/// The header of the open trace.
#[component]
pub fn TraceHeader(ctx: TraceCtx) -> impl IntoView {
    let (summary, partial, warnings) = ctx.loaded.with_value(|l| {
        (
            l.summaries.get(ctx.trace_index as usize).cloned(),
            l.is_partial(),
            l.diagnostics.warnings.join("; "),
        )
    });
    let (clean, problems) = ctx.loaded.with_value(|l| {
        let d = &l.diagnostics;
        let kinds: Vec<String> = d.counts.iter().map(|(k, n)| format!("{n} × {k:?}")).collect();
        let skipped = if d.spans_skipped > 0 {
            format!("{} spans skipped; ", d.spans_skipped)
        } else {
            String::new()
        };
        (
            d.counts.is_empty(),
            format!("Read with repairs: {skipped}{}", kinds.join(", ")),
        )
    });
    let grade = move || crate::views::analysis::grade_of(ctx.analysis.get().map(|a| a.0).as_deref());
    let worst = move || {
        ctx.analysis
            .get()
            .and_then(|a| a.0.worst_critical_path_grade)
            .map(|g| format!("Worst grade on the critical path: {g:?}"))
            .unwrap_or_else(|| "Grade of the root operation's duration (core analysis)".into())
    };
    let Some(s) = summary else {
        return view! { <div></div> }.into_any();
    };
    let utc = units::utc(s.start_unix_nanos);
    view! {
        <section class="trace-header" aria-label="Trace summary">
            <div class="th-title">
                <span class="chip" style:background=units::service_colour(&s.root_service)></span>
                <span class="th-service">{s.root_service.clone()}</span>
                <span class="th-name" title=s.root_name.clone()>{s.root_name.clone()}</span>
                <code class="th-id" title="Trace id">{s.id.clone()}</code>
            </div>
            <dl class="th-figures">
                <div><dt>"Start"</dt><dd title=utc.clone()>{local_time(s.start_unix_nanos)}<span class="muted">{format!(" · {utc}")}</span></dd></div>
                <div><dt>"Duration"</dt><dd data-testid="trace-duration" data-nanos=s.duration_nanos.to_string() title=format!("{} ns", s.duration_nanos)>{units::duration(s.duration_nanos)}</dd></div>
                <div><dt>"Spans"</dt><dd data-testid="trace-span-count">{s.spans}</dd></div>
                <div><dt>"Services"</dt><dd data-testid="trace-service-count">{s.services}</dd></div>
                <div><dt>"Depth"</dt><dd data-testid="trace-depth">{s.depth}</dd></div>
                <div><dt>"Errors"</dt><dd data-testid="trace-error-count" class:has-errors={s.errors > 0}>{s.errors}</dd></div>
                <div><dt>"Grade"</dt><dd><span data-testid="trace-grade" class=move || format!("grade grade-{}", grade().to_lowercase())
                    title=worst>{grade}</span></dd></div>
                <div><dt>"Worst on critical path"</dt><dd>{move || ctx.analysis.get().and_then(|a| a.0.worst_critical_path_grade).map(|g| {
                    let g = format!("{g:?}");
                    view! { <span data-testid="trace-worst-grade" data-grade=g.clone() class=format!("grade grade-{}", g.to_lowercase())
                        title="The worst grade of the operations on the critical path">{g.clone()}</span> }
                })}</dd></div>
            </dl>
        </section>
        <Show when=move || partial>
            <div class="banner banner-warning" data-testid="partial-banner">
                {format!("PARTIAL trace: the source says some spans are missing. {}", warnings)}
            </div>
        </Show>
        {(!clean).then(|| view! {
            <div class="diag-strip" data-testid="diagnostics-strip">
                <span class="warn">{problems.clone()}</span>
                <crate::views::diagnostics::DiagnosticsPanel/>
            </div>
        })}
    }
    .into_any()
}
