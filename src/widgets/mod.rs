//! Generic widgets: alert banners, the load progress bar, toasts, the help and data-source
//! dialogs, and the time range picker. They read the app state but know nothing about traces.

mod banners;
mod dialogs;
pub mod time_range;

pub use banners::{Alerts, LoadProgress, Toast};
pub use dialogs::{HelpDialog, SettingsDialog};

/// Copies text to the clipboard and confirms with a toast.
pub fn copy_text(state: crate::state::AppState, text: String, what: &'static str) {
    let clipboard = leptos::prelude::window().navigator().clipboard();
    let promise = clipboard.write_text(&text);
    leptos::task::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(_) => state.notify(format!("{what} copied")),
            Err(_) => state.notify(format!("Could not copy the {what}: the browser refused")),
        }
    });
}
