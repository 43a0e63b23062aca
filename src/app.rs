//! The root component: the top bar (product, source picker, search box, theme, help), the
//! whole-page drop target, alert banners, the load progress bar, and the page of the route.
//!
//! Not here: page contents (see `pages`).

use crate::pages;
use crate::routes::{self, Page, Params, Route};
use crate::state::{use_app, AppState, Theme};
use crate::widgets::{Alerts, HelpDialog, LoadProgress, SettingsDialog, Toast};
use crate::worker::{self, Job};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The root component of the SPA.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::new();
    provide_context(state);

    // Theme → <html data-theme>.
    Effect::new(move |_| {
        let theme = state.theme.get();
        if let Some(root) = document().document_element() {
            let _ = match theme {
                Theme::System => root.remove_attribute("data-theme"),
                Theme::Light => root.set_attribute("data-theme", "light"),
                Theme::Dark => root.set_attribute("data-theme", "dark"),
            };
        }
    });
    // Embed mode → <html class="embed">.
    Effect::new(move |_| {
        let embed = state.route.with(|r| r.params.embed);
        if let Some(root) = document().document_element() {
            let _ = root.class_list().toggle_with_force("embed", embed);
        }
    });

    let _popstate = window_event_listener(leptos::ev::popstate, move |_| {
        state.route.set(crate::state::current_route());
    });
    let _keys = window_event_listener(leptos::ev::keydown, move |ev| {
        if is_typing(&ev) {
            return;
        }
        match ev.key().as_str() {
            "?" => state.help_open.update(|h| *h = !*h),
            "Escape" => {
                state.help_open.set(false);
                state.settings_open.set(false);
            }
            _ => {}
        }
    });
    install_body_drop(state);

    let embed = move || state.route.with(|r| r.params.embed);
    view! {
        <Show when=move || !embed()>
            <TopBar/>
        </Show>
        <Alerts/>
        <LoadProgress/>
        <div class="page">
            {move || match state.route.with(|r| r.page.clone()) {
                Page::Home => view! { <pages::home::HomePage/> }.into_any(),
                Page::Traces => view! { <pages::traces::TracesPage/> }.into_any(),
                Page::Search => view! { <pages::search::SearchPage/> }.into_any(),
                Page::Trace { id } => view! { <pages::trace::TracePage id=id/> }.into_any(),
                Page::Insights => view! { <pages::insights::InsightsPage/> }.into_any(),
                Page::NotFound => view! {
                    <div class="empty-state">
                        <h1>"Page not found"</h1>
                        <p><a href="/">"Go to the start page"</a></p>
                    </div>
                }
                .into_any(),
            }}
        </div>
        <Show when=move || state.dragging.get()>
            <div class="drop-overlay" aria-hidden="true">"Drop trace files to open them"</div>
        </Show>
        <HelpDialog/>
        <SettingsDialog/>
        <Toast/>
    }
}

/// True when a key event comes from a text field (shortcuts must not fire there).
pub fn is_typing(ev: &web_sys::KeyboardEvent) -> bool {
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .map(|el| {
            let tag = el.tag_name().to_ascii_lowercase();
            tag == "input" || tag == "textarea" || tag == "select" || el.has_attribute("contenteditable")
        })
        .unwrap_or(false)
        || ev.ctrl_key()
        || ev.meta_key()
        || ev.alt_key()
}

/// Loads files (from a drop or the picker) into a new set.
pub fn load_files(state: AppState, files: Option<web_sys::FileList>) {
    let Some(files) = files else { return };
    let jobs: Vec<Job> = (0..files.length())
        .filter_map(|i| files.get(i))
        .map(Job::File)
        .collect();
    if jobs.is_empty() {
        return;
    }
    worker::load(
        state,
        jobs,
        routes::Source::Local,
        Box::new(|s: AppState| s.show_loaded()),
    );
}

/// The whole page accepts a file drop (on `document.body`, so synthetic drops work too).
fn install_body_drop(state: AppState) {
    let Some(body) = document().body() else { return };
    let over = Closure::<dyn FnMut(web_sys::DragEvent)>::new(move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        if let Some(dt) = ev.data_transfer() {
            dt.set_drop_effect("copy");
        }
        state.dragging.set(true);
    });
    let leave = Closure::<dyn FnMut(web_sys::DragEvent)>::new(move |ev: web_sys::DragEvent| {
        if ev.related_target().is_none() {
            state.dragging.set(false);
        }
    });
    let drop = Closure::<dyn FnMut(web_sys::DragEvent)>::new(move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        state.dragging.set(false);
        load_files(state, ev.data_transfer().and_then(|dt| dt.files()));
    });
    let _ = body.add_event_listener_with_callback("dragover", over.as_ref().unchecked_ref());
    let _ = body.add_event_listener_with_callback("dragenter", over.as_ref().unchecked_ref());
    let _ = body.add_event_listener_with_callback("dragleave", leave.as_ref().unchecked_ref());
    let _ = body.add_event_listener_with_callback("drop", drop.as_ref().unchecked_ref());
    // The listeners live as long as the page.
    over.forget();
    leave.forget();
    drop.forget();
}

/// The top bar.
#[component]
fn TopBar() -> impl IntoView {
    let state = use_app();
    let search = RwSignal::new(String::new());
    let submit = move || {
        let text = search.get_untracked();
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let source = state.tempo.get_untracked().source().as_param();
        if routes::looks_like_trace_id(text) {
            let id = routes::normalize_trace_id(text).unwrap_or_default();
            let local = state
                .loaded
                .get_untracked()
                .and_then(|l| l.find(&id).map(|_| l.source.as_param()));
            state.navigate(Route::trace(
                &id,
                Params {
                    source: Some(local.unwrap_or(source)),
                    ..Params::default()
                },
            ));
        } else {
            state.navigate(Route {
                page: Page::Search,
                params: Params {
                    q: Some(text.to_string()),
                    source: Some(source),
                    ..Params::default()
                },
            });
        }
    };
    let source_label = move || {
        let t = state.tempo.get();
        if t.base_url.trim().is_empty() {
            "This server".to_string()
        } else {
            format!("Tempo: {}", t.base_url)
        }
    };
    view! {
        <header class="topbar" role="banner">
            <a class="brand" href="/" on:click=move |ev| {
                ev.prevent_default();
                state.navigate(Route::default());
            }>"spanlens"</a>
            <nav class="topnav" aria-label="Pages">
                <a href="/search" on:click=move |ev| {
                    ev.prevent_default();
                    state.navigate(Route { page: Page::Search, params: Params::default() });
                }>"Search"</a>
                <Show when=move || state.loaded.with(|l| l.as_ref().is_some_and(|l| l.summaries.len() > 1))>
                    <a href="/traces" on:click=move |ev| {
                        ev.prevent_default();
                        state.navigate(Route { page: Page::Traces, params: Params::default() });
                    }>"Loaded traces"</a>
                </Show>
                <Show when=move || state.loaded.with(|l| l.is_some())>
                    <a href="/insights" data-testid="nav-insights" on:click=move |ev| {
                        ev.prevent_default();
                        state.navigate(Route { page: Page::Insights, params: Params::default() });
                    }>"Insights"</a>
                </Show>
            </nav>
            <button class="source-picker" title="Data source: files are always accepted; searches and trace ids go to this Tempo"
                on:click=move |_| state.settings_open.set(true)>
                {source_label}
            </button>
            <form class="topsearch" role="search" on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }>
                <input type="search" data-testid="global-search" aria-label="TraceQL query or trace id"
                    placeholder="TraceQL query or trace id"
                    prop:value=move || search.get()
                    on:input=move |ev| search.set(event_target_value(&ev))/>
            </form>
            <button class="icon-button" title=move || state.theme.get().label() aria-label=move || state.theme.get().label()
                on:click=move |_| state.set_theme(state.theme.get_untracked().next())>
                {move || match state.theme.get() {
                    Theme::System => "◐",
                    Theme::Dark => "☾",
                    Theme::Light => "☀",
                }}
            </button>
            <button class="icon-button" title="Keyboard shortcuts (?)" aria-label="Help"
                on:click=move |_| state.help_open.update(|h| *h = !*h)>"?"</button>
        </header>
    }
}
