//! The root component.

use leptos::prelude::*;

/// The root component of the SPA.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <main class="empty-state">
            <h1>"spanlens"</h1>
            <p>"Drop a trace file here, or search Tempo."</p>
        </main>
    }
}
