//! Dialogs: the keyboard shortcut help (`?`) and the Tempo data-source settings (base URL,
//! tenant, bearer token; kept in local storage).

use crate::state::{use_app, TempoSettings};
use leptos::prelude::*;

const SHORTCUTS: [(&str, &str); 12] = [
    ("↑ / ↓, k / j", "previous / next row"),
    ("← / →", "collapse / expand the selected span"),
    ("[ / ]", "collapse / expand all"),
    ("/", "find in trace"),
    ("n / N", "next / previous match"),
    ("c", "toggle the critical path"),
    ("m", "show matches only"),
    ("Enter", "open span details"),
    ("Esc", "close details or dialogs"),
    ("0", "reset zoom"),
    ("Double-click a row", "zoom to the span"),
    ("?", "this help"),
];

/// The keyboard shortcut help.
#[component]
pub fn HelpDialog() -> impl IntoView {
    let state = use_app();
    view! {
        <Show when=move || state.help_open.get()>
            <div class="modal-backdrop" on:click=move |_| state.help_open.set(false)>
                <div class="modal" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts"
                    on:click=|ev| ev.stop_propagation()>
                    <h2>"Keyboard shortcuts"</h2>
                    <table class="shortcuts">
                        <tbody>
                            {SHORTCUTS.iter().map(|(k, v)| view! { <tr><th><kbd>{*k}</kbd></th><td>{*v}</td></tr> }).collect_view()}
                        </tbody>
                    </table>
                    <button on:click=move |_| state.help_open.set(false)>"Close"</button>
                </div>
            </div>
        </Show>
    }
}

/// The Tempo data-source settings.
#[component]
pub fn SettingsDialog() -> impl IntoView {
    let state = use_app();
    let draft = RwSignal::new(TempoSettings::default());
    Effect::new(move |_| {
        if state.settings_open.get() {
            draft.set(state.tempo.get_untracked());
        }
    });
    view! {
        <Show when=move || state.settings_open.get()>
            <div class="modal-backdrop" on:click=move |_| state.settings_open.set(false)>
                <form class="modal" role="dialog" aria-modal="true" aria-label="Data source"
                    on:click=|ev| ev.stop_propagation()
                    on:submit=move |ev| {
                        ev.prevent_default();
                        state.set_tempo(draft.get_untracked());
                        state.settings_open.set(false);
                        state.notify("Data source saved");
                    }>
                    <h2>"Data source"</h2>
                    <p class="muted">"Files you drop or paste are always read in this browser. Trace ids and searches go to this Tempo-compatible API (spanlens or a real Tempo)."</p>
                    <label>"Base URL (empty: the server of this page)"
                        <input type="url" data-testid="tempo-url" placeholder="https://tempo.example:3200"
                            prop:value=move || draft.get().base_url
                            on:input=move |ev| draft.update(|d| d.base_url = event_target_value(&ev))/>
                    </label>
                    <label>"Tenant (X-Scope-OrgID, optional)"
                        <input type="text" prop:value=move || draft.get().tenant
                            on:input=move |ev| draft.update(|d| d.tenant = event_target_value(&ev))/>
                    </label>
                    <label>"Bearer token (optional, kept in this browser's local storage)"
                        <input type="password" autocomplete="off" prop:value=move || draft.get().token
                            on:input=move |ev| draft.update(|d| d.token = event_target_value(&ev))/>
                    </label>
                    <div class="row-buttons">
                        <button type="submit" class="primary">"Save"</button>
                        <button type="button" on:click=move |_| state.settings_open.set(false)>"Cancel"</button>
                    </div>
                </form>
            </div>
        </Show>
    }
}
