//! Banners: error alerts (`role="alert"`, each names the file and the cause, dismissible), the
//! load progress bar (`<progress>` with bytes and spans, and a cancel button), and toasts.

use crate::state::use_app;
use crate::units;
use leptos::prelude::*;

/// The error banners.
#[component]
pub fn Alerts() -> impl IntoView {
    let state = use_app();
    view! {
        <div class="alerts">
            <For each=move || state.alerts.get() key=|a| a.id let:alert>
                <div class="banner banner-error" role="alert">
                    <span class="banner-text">{alert.text.clone()}</span>
                    <button class="banner-close" aria-label="Dismiss" on:click=move |_| {
                        state.alerts.update(|a| a.retain(|x| x.id != alert.id))
                    }>"×"</button>
                </div>
            </For>
        </div>
    }
}

/// The load progress bar with a cancel button.
#[component]
pub fn LoadProgress() -> impl IntoView {
    let state = use_app();
    view! {
        {move || state.progress.get().map(|p| {
            let label = format!(
                "{} {} — {} of {}, {} spans",
                match p.phase.as_str() {
                    "reading" => "Reading",
                    "assembling" => "Assembling",
                    "parsed" | "parsing" => "Parsing",
                    _ => "Loading",
                },
                p.name,
                units::bytes(p.bytes),
                units::bytes(p.total),
                p.spans
            );
            view! {
                <div class="load-progress" role="status" aria-live="polite">
                    <progress max=p.total.max(1.0) value=p.bytes aria-label="Loading progress"></progress>
                    <span class="load-label">{label}</span>
                    <button on:click=move |_| crate::worker::cancel(state)>"Cancel"</button>
                </div>
            }
        })}
    }
}

/// A short confirmation toast.
#[component]
pub fn Toast() -> impl IntoView {
    let state = use_app();
    view! {
        {move || state.toast.get().map(|t| view! { <div class="toast" role="status">{t}</div> })}
    }
}
