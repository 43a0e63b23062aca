//! The start page: a large drop target, the file picker, the paste box and "Try the demo". With
//! a set loaded it also links back to it and shows the load's diagnostics.

use crate::app::load_files;
use crate::routes::{Page, Params, Route, Source};
use crate::state::{use_app, AppState};
use crate::views::diagnostics::DiagnosticsPanel;
use crate::worker::{self, Job};
use leptos::prelude::*;

/// Loads the pasted text.
fn load_text(state: AppState, text: String) {
    if text.trim().is_empty() {
        state.alert("pasted text: the input is empty");
        return;
    }
    worker::load(
        state,
        vec![Job::Text {
            name: "pasted text".into(),
            text,
        }],
        Source::Local,
        Box::new(|s: AppState| s.show_loaded()),
    );
}

/// Fetches the shipped demo traces and loads them.
pub fn load_demo(state: AppState) {
    leptos::task::spawn_local(async move {
        let settings = crate::state::TempoSettings::default();
        match crate::api::fetch_static(&settings, "/public/demo.json").await {
            Ok(bytes) => worker::load(
                state,
                vec![Job::Bytes {
                    name: "demo.json".into(),
                    bytes,
                }],
                Source::Local,
                Box::new(|s: AppState| s.show_loaded()),
            ),
            Err(e) => state.alert(format!("demo.json could not be fetched: {e}")),
        }
    });
}

/// The home page.
#[component]
pub fn HomePage() -> impl IntoView {
    let state = use_app();
    let paste_ref: NodeRef<leptos::html::Textarea> = NodeRef::new();
    let pasted = move || paste_ref.get_untracked().map(|t| t.value()).unwrap_or_default();
    let file_input: NodeRef<leptos::html::Input> = NodeRef::new();
    view! {
        <main class="home">
            <section class="dropzone" aria-label="Open traces">
                <h1>"Drop a trace file — OTLP, Tempo, Jaeger or Zipkin JSON — or paste it, or search Tempo"</h1>
                <p class="muted">"Files are read in your browser (several files merge into one set); nothing is uploaded unless you share."</p>
                <div class="row-buttons">
                    <label class="button primary">
                        "Choose files…"
                        <input type="file" multiple data-testid="file-input" class="visually-hidden" node_ref=file_input
                            accept=".json,.jsonl,.ndjson,.pb,.bin,.proto,application/json"
                            on:change=move |_| {
                                if let Some(input) = file_input.get() {
                                    load_files(state, input.files());
                                    input.set_value("");
                                }
                            }/>
                    </label>
                    <button data-testid="demo-button" on:click=move |_| load_demo(state)>"Try the demo"</button>
                    <button on:click=move |_| state.navigate(Route { page: Page::Search, params: Params::default() })>"Search Tempo"</button>
                </div>
                <label class="paste-label" for="paste-input">"…or paste JSON here"</label>
                <textarea id="paste-input" data-testid="paste-input" class="paste" rows="4" spellcheck="false" wrap="off"
                    autocomplete="off" node_ref=paste_ref
                    placeholder="{\"resourceSpans\": [...]}  — paste, then press Load (or Ctrl+Enter)"
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                            ev.prevent_default();
                            load_text(state, pasted());
                        }
                    }></textarea>
                <div class="row-buttons">
                    <button data-testid="paste-load" on:click=move |_| load_text(state, pasted())>"Load pasted text"</button>
                </div>
            </section>
            {
                let recent = crate::state::recent();
                (!recent.is_empty()).then(|| view! {
                    <section class="recent">
                        <h2>"Recent traces"</h2>
                        <ul>
                            {recent.into_iter().map(|r| {
                                let route = Route::trace(&r.id, Params {
                                    source: Some(r.source.clone()),
                                    start: r.start,
                                    end: r.end,
                                    ..Params::default()
                                });
                                let url = route.to_url();
                                view! {
                                    <li><a href=url on:click=move |ev| { ev.prevent_default(); state.navigate(route.clone()); }>
                                        <strong>{r.service.clone()}</strong>" "{r.name.clone()}" "<code class="muted">{r.id.clone()}</code>
                                    </a><span class="muted small">{format!(" · {}", r.source)}</span></li>
                                }
                            }).collect_view()}
                        </ul>
                    </section>
                })
            }
            {move || state.loaded.get().map(|l| {
                let n = l.summaries.len();
                let spans = l.set.span_count();
                view! {
                    <section class="loaded-summary">
                        <h2>"Loaded"</h2>
                        <p>{format!("{} — {} traces, {} spans. ", l.names.join(", "), n, spans)}
                            <a href="#" on:click=move |ev| { ev.prevent_default(); state.show_loaded(); }>"Open"</a>
                        </p>
                        <DiagnosticsPanel/>
                    </section>
                }
            })}
        </main>
    }
}
