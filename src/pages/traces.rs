//! The loaded multi-trace set (`/traces`): one row per trace (`data-trace-id`) with root
//! service and name, start, a duration bar relative to the longest trace, spans, services and
//! errors; click to open. Also shows the load's diagnostics. A big list (10k traces) is built
//! a batch of rows per task, so the page answers input while it fills.

use crate::state::{use_app, Loaded, TraceSummary};
use crate::units;
use crate::views::diagnostics::DiagnosticsPanel;
use leptos::prelude::*;
use std::sync::Arc;

/// Rows built with the page; the rest follow [`BATCH_ROWS`] per task.
const FIRST_ROWS: usize = 200;
const BATCH_ROWS: usize = 100;

/// Adds a batch of rows per task until `total` are shown (or another set is loaded, or the
/// page is gone). `try_set` gives the value back when the signal is gone.
fn grow(shown: RwSignal<usize>, total: usize, generation: RwSignal<u32>, of_generation: u32) {
    set_timeout(
        move || {
            let Some(n) = shown.try_get_untracked() else {
                return;
            };
            if n >= total || generation.try_get_untracked() != Some(of_generation) {
                return;
            }
            if shown.try_set((n + BATCH_ROWS).min(total)).is_none() {
                grow(shown, total, generation, of_generation);
            }
        },
        std::time::Duration::ZERO,
    );
}

fn trace_row(s: &TraceSummary, max: f64) -> impl IntoView {
    let state = use_app();
    let id = s.id.clone();
    let open = move |_| state.open_loaded_trace(&id);
    view! {
        <tr data-trace-id=s.id.clone() tabindex="0" on:click=open class="clickable">
            <td><span class="chip" style:background=units::service_colour(&s.root_service)></span>
                <strong>{s.root_service.clone()}</strong>" "{s.root_name.clone()}</td>
            <td title=units::utc(s.start_unix_nanos)>{crate::views::trace_header::local_time(s.start_unix_nanos)}</td>
            <td class="dur-cell">
                <span class="dur-bar" style:width=format!("{:.2}%", s.duration_nanos as f64 / max * 100.0)></span>
                <span>{units::duration(s.duration_nanos)}</span>
            </td>
            <td>{s.spans}</td>
            <td>{s.services}</td>
            <td class:error-text={s.errors > 0}>{s.errors}</td>
            <td><code>{s.id.clone()}</code></td>
        </tr>
    }
}

/// The trace list page.
#[component]
pub fn TracesPage() -> impl IntoView {
    let state = use_app();
    move || {
        let Some(l) = state.loaded.get() else {
            return view! {
                <div class="empty-state"><h1>"No traces loaded"</h1><p>"Drop a trace file here, or search Tempo."</p></div>
            }
            .into_any();
        };
        let max = l
            .summaries
            .iter()
            .map(|s| s.duration_nanos)
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let total = l.summaries.len();
        let shown = RwSignal::new(FIRST_ROWS.min(total));
        grow(shown, total, state.generation, l.generation);
        let list: Arc<Loaded> = l.clone();
        view! {
            <main class="traces-page">
                <h1>{format!("{} traces · {} spans · {}", l.summaries.len(), l.set.span_count(), l.names.join(", "))}</h1>
                <DiagnosticsPanel/>
                <Show when=move || { shown.get() < total }>
                    <p class="muted" data-testid="trace-list-filling">{move || format!("Listing {} of {total} traces…", shown.get())}</p>
                </Show>
                <table class="trace-list">
                    <thead><tr><th>"Root"</th><th>"Start"</th><th>"Duration"</th><th>"Spans"</th><th>"Services"</th><th>"Errors"</th><th>"Trace id"</th></tr></thead>
                    <tbody>
                        <For each=move || 0..shown.get() key=|i| *i let:i>
                            {list.summaries.get(i).map(|s| trace_row(s, max))}
                        </For>
                    </tbody>
                </table>
            </main>
        }
        .into_any()
    }
}
