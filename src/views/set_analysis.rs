//! The bridge from the analysis views to the core's whole-set analysis
//! (`spanlens_core::analysis::analyze_set`), computed off the main thread.
//!
//! The load worker hands the assembled set over as postcard bytes; [`remember_set_bytes`] keeps
//! that JS buffer (no copy into wasm memory) so an analysis request can post it straight to
//! `public/analysis-worker.js`, which runs the core and answers with the `SetAnalysis` as
//! postcard bytes. Results are cached per (load generation, rules text), so switching views or
//! pages never recomputes. The category rules come from the URL (`rules=`, base64url), else
//! local storage, else the built-in rules; see `rules_editor`.
//!
//! Not here: any statistic of its own (every figure is the core's), or drawing.

use crate::state::trace_view::Shared;
use crate::state::{use_app, Loaded};
use js_sys::{Object, Reflect, Uint8Array};
use leptos::prelude::*;
use spanlens_core::analysis::SetAnalysis;
use std::cell::RefCell;
use std::sync::Arc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

/// Where an analysis request stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Idle,
    Running,
    Ready(Shared<SetAnalysis>),
    Failed(String),
}

struct Running {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

thread_local! {
    static SET_BYTES: RefCell<Option<(u32, Uint8Array)>> = const { RefCell::new(None) };
    static CACHE: RefCell<Option<(u32, String, Arc<SetAnalysis>)>> = const { RefCell::new(None) };
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
}

/// Keeps the postcard bytes of the set of load `generation` (called by the load worker glue).
pub fn remember_set_bytes(generation: u32, bytes: &Uint8Array) {
    SET_BYTES.with(|s| *s.borrow_mut() = Some((generation, bytes.clone())));
}

/// The analysis state of the page: the status and the active rules text.
#[derive(Clone, Copy)]
pub struct SetAnalysisCtx {
    pub status: RwSignal<Status>,
    pub rules_text: RwSignal<String>,
    /// The rules editor is expanded (kept while the views re-render with new rules).
    pub editor_open: RwSignal<bool>,
}

/// Creates the analysis state of a page and starts (or reuses, from the cache) the analysis of
/// the loaded set; it follows new loads and rule changes. Call once per page and pass it down.
pub fn use_set_analysis() -> SetAnalysisCtx {
    let state = use_app();
    let ctx = SetAnalysisCtx {
        status: RwSignal::new(Status::Idle),
        rules_text: RwSignal::new(crate::views::rules_editor::initial_rules_text(state)),
        editor_open: RwSignal::new(false),
    };
    Effect::new(move |_| {
        let loaded = state.loaded.get();
        let rules = ctx.rules_text.get();
        match loaded {
            Some(l) => request(ctx, l, rules),
            None => ctx.status.set(Status::Idle),
        }
    });
    ctx
}

fn request(ctx: SetAnalysisCtx, loaded: Arc<Loaded>, rules: String) {
    let generation = loaded.generation;
    let hit = CACHE.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(g, r, _)| *g == generation && *r == rules)
            .map(|(_, _, a)| a.clone())
    });
    if let Some(a) = hit {
        ctx.status.set(Status::Ready(Shared(a)));
        return;
    }
    ctx.status.set(Status::Running);
    if let Err(e) = start(ctx, &loaded, rules) {
        ctx.status.set(Status::Failed(e));
    }
}

fn bindings_url() -> Option<String> {
    let doc = document();
    let link = doc.query_selector("link[rel=modulepreload]").ok().flatten()?;
    link.get_attribute("href")
        .and_then(|h| web_sys::Url::new_with_base(&h, &doc.base_uri().ok().flatten()?).ok())
        .map(|u| u.href())
}

fn stop_running() {
    let running = RUNNING.with(|r| r.borrow_mut().take());
    if let Some(running) = running {
        running.worker.terminate();
        set_timeout(move || drop(running), std::time::Duration::from_millis(0));
    }
}

fn start(ctx: SetAnalysisCtx, loaded: &Loaded, rules: String) -> Result<(), String> {
    stop_running();
    crate::worker::mark("spanlens:analysis-start");
    let generation = loaded.generation;
    let bytes = SET_BYTES
        .with(|s| s.borrow().as_ref().filter(|(g, _)| *g == generation).map(|(_, b)| b.clone()))
        .map(Ok)
        .unwrap_or_else(|| {
            postcard::to_allocvec(&loaded.set)
                .map(|v| Uint8Array::from(v.as_slice()))
                .map_err(|e| e.to_string())
        })?;
    let js = bindings_url().ok_or("the app's module URL is unknown")?;
    let opts = WorkerOptions::new();
    opts.set_type(WorkerType::Module);
    let worker = Worker::new_with_options("/public/analysis-worker.js", &opts).map_err(|e| format!("{e:?}"))?;
    let msg = Object::new();
    let _ = Reflect::set(&msg, &"module".into(), &wasm_bindgen::module());
    let _ = Reflect::set(&msg, &"js".into(), &js.into());
    let _ = Reflect::set(&msg, &"set".into(), &bytes);
    let _ = Reflect::set(&msg, &"rules".into(), &JsValue::from_str(&rules));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let data = ev.data();
        let get = |k: &str| Reflect::get(&data, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
        let kind = get("type").as_string().unwrap_or_default();
        stop_running();
        if kind != "done" {
            let message = get("message").as_string().unwrap_or_else(|| "unknown error".into());
            ctx.status.set(Status::Failed(format!("The analysis failed: {message}")));
            return;
        }
        let t0 = js_sys::Date::now();
        let bytes = get("result").unchecked_into::<Uint8Array>().to_vec();
        match postcard::from_bytes::<SetAnalysis>(&bytes) {
            Ok(a) => {
                let a = Arc::new(a);
                CACHE.with(|c| *c.borrow_mut() = Some((generation, rules.clone(), a.clone())));
                let timings = get("timings");
                let _ = Reflect::set(&timings, &"mainDecode".into(), &JsValue::from_f64(js_sys::Date::now() - t0));
                let _ = Reflect::set(&window(), &"__spanlensAnalysis".into(), &timings);
                ctx.status.set(Status::Ready(Shared(a)));
                crate::worker::mark("spanlens:analysis-ready");
            }
            Err(e) => ctx.status.set(Status::Failed(format!("The analysis result could not be read: {e}"))),
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.post_message(&msg).map_err(|e| format!("{e:?}"))?;
    RUNNING.with(|r| {
        *r.borrow_mut() = Some(Running {
            worker,
            _on_message: on_message,
        })
    });
    Ok(())
}

/// Renders `body` with the analysis once it is ready; a progress note or the error meanwhile.
#[component]
pub fn WithSetAnalysis<F, V>(ctx: SetAnalysisCtx, body: F) -> impl IntoView
where
    F: Fn(Arc<SetAnalysis>) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    move || match ctx.status.get() {
        Status::Ready(a) => body(a.0).into_any(),
        Status::Failed(e) => view! { <div class="banner banner-error" role="alert">{e}</div> }.into_any(),
        Status::Idle => view! { <p class="muted an-note">"Load traces to see their analysis."</p> }.into_any(),
        Status::Running => view! {
            <p class="muted an-note" data-testid="analysis-running" aria-live="polite">"Analysing the loaded traces in the background…"</p>
        }
        .into_any(),
    }
}
