//! The diagnostics panel: how many spans were read and skipped, why (counts per kind), the
//! first examples with file, location and field, and document-level warnings (PARTIAL).

use crate::state::use_app;
use leptos::prelude::*;

/// The diagnostics of the loaded set (nothing when the load was clean).
#[component]
pub fn DiagnosticsPanel() -> impl IntoView {
    let state = use_app();
    move || {
        state.loaded.get().map(|l| {
            let d = l.diagnostics.clone();
            let summary = format!(
                "{} spans read, {} skipped · sources: {}",
                d.spans_read,
                d.spans_skipped,
                d.sources.join(", ")
            );
            let clean = d.is_clean();
            view! {
                <details class="diagnostics" data-testid="diagnostics" open=move || state.diagnostics_open.get()>
                    <summary>{if clean { "Diagnostics: clean load".to_string() } else { format!("Diagnostics: {} problem kinds", d.counts.len()) }}</summary>
                    <p>{summary}</p>
                    <ul>
                        {d.warnings.iter().map(|w| view! { <li class="warn">{w.clone()}</li> }).collect_view()}
                        {d.counts.iter().map(|(k, n)| view! { <li>{format!("{k:?}: {n}")}</li> }).collect_view()}
                    </ul>
                    <Show when={let empty = d.examples.is_empty(); move || !empty}>
                        <table class="diag-examples">
                            <thead><tr><th>"Kind"</th><th>"File"</th><th>"Where"</th><th>"Span"</th><th>"Field"</th><th>"Why"</th></tr></thead>
                            <tbody>
                                {d.examples.iter().map(|e| view! {
                                    <tr>
                                        <td>{format!("{:?}", e.kind)}</td>
                                        <td>{e.source.clone().unwrap_or_default()}</td>
                                        <td><code>{e.location.clone()}</code></td>
                                        <td><code>{e.span_id.clone().unwrap_or_default()}</code></td>
                                        <td>{e.field.clone().unwrap_or_default()}</td>
                                        <td>{e.message.clone()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </Show>
                </details>
            }
        })
    }
}
