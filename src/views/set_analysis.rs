//! The bridge from the analysis views to the core's whole-set analysis
//! (`spanlens_core::analysis::analyze_set`), computed off the main thread.
//!
//! When a load finishes, [`remember_set_bytes`] starts `public/analysis-worker.js` with the
//! set's bytes in the `set_transfer` format (the buffer the load worker produced,
//! transferred; nothing is re-encoded or copied): the worker decodes the set once, in the
//! background, and keeps it, so each analysis request (one per rules text) only runs
//! `analyze_set` there, and a trace page's analysis ([`request_trace_analysis`]) only
//! `analyze_trace`. The first request is sent at once with the
//! current rules, so the analysis views usually open on a ready result. Results come back as
//! postcard bytes and are cached per (load generation, rules text); switching views or pages
//! never recomputes. The rules come from the URL (`rules=`, base64url), else local storage,
//! else the built-in rules; see `rules_editor`.
//!
//! Not here: any statistic of its own (every figure is the core's), or drawing.

use crate::state::trace_view::Shared;
use crate::state::{use_app, Loaded};
use js_sys::{Object, Reflect, Uint8Array};
use leptos::prelude::*;
use spanlens_core::analysis::{SetAnalysis, TraceAnalysis};
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

struct AnalysisWorker {
    generation: u32,
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

/// The request in flight: its id, set generation and rules, and who waits for it.
struct Pending {
    id: u32,
    generation: u32,
    rules: String,
    waiting: Vec<RwSignal<Status>>,
}

type Cached = (u32, String, Arc<SetAnalysis>);

/// Who waits for a trace analysis: called with the result, or `None` when the worker failed.
type TraceWaiter = Box<dyn FnOnce(Option<TraceAnalysis>)>;

thread_local! {
    static WORKER: RefCell<Option<AnalysisWorker>> = const { RefCell::new(None) };
    static CACHE: RefCell<Vec<Cached>> = const { RefCell::new(Vec::new()) };
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
    static NEXT_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
    static TRACE_PENDING: RefCell<Vec<(u32, TraceWaiter)>> = const { RefCell::new(Vec::new()) };
}

/// Posts a message to the analysis worker of load `generation`; false when that worker is
/// not running.
fn post_to_worker(generation: u32, msg: &Object) -> bool {
    WORKER.with(|w| {
        w.borrow()
            .as_ref()
            .filter(|w| w.generation == generation)
            .map(|w| w.worker.post_message(msg).is_ok())
            .unwrap_or(false)
    })
}

fn next_id() -> u32 {
    NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1));
        id
    })
}

/// Asks the analysis worker of load `generation` for the analysis of one trace (built-in
/// rules); `done` gets it later. Returns false, without calling `done`, when that worker is not
/// running (the caller then computes it itself).
pub fn request_trace_analysis(
    generation: u32,
    trace_index: u32,
    done: impl FnOnce(Option<TraceAnalysis>) + 'static,
) -> bool {
    let id = next_id();
    let msg = Object::new();
    let _ = Reflect::set(&msg, &"type".into(), &"trace".into());
    let _ = Reflect::set(&msg, &"id".into(), &JsValue::from(id));
    let _ = Reflect::set(&msg, &"trace".into(), &JsValue::from(trace_index));
    let posted = post_to_worker(generation, &msg);
    if posted {
        TRACE_PENDING.with(|p| p.borrow_mut().push((id, Box::new(done))));
    }
    posted
}

/// Hands a trace analysis result (or failure) to whoever waits for it.
fn on_trace_result(kind: &str, data: &JsValue) {
    let get = |k: &str| Reflect::get(data, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    let id = get("id").as_f64().unwrap_or(-1.0) as u32;
    let waiter = TRACE_PENDING.with(|p| {
        let mut p = p.borrow_mut();
        let at = p.iter().position(|(i, _)| *i == id)?;
        Some(p.swap_remove(at).1)
    });
    let Some(waiter) = waiter else { return };
    let result = if kind == "traceDone" {
        let bytes = get("result").unchecked_into::<Uint8Array>().to_vec();
        postcard::from_bytes::<TraceAnalysis>(&bytes).ok()
    } else {
        None
    };
    waiter(result);
}

/// Starts the analysis worker of a freshly loaded set (called by the load glue with the set's
/// `set_transfer` bytes): the worker decodes the set in the background and analyses it at once with
/// the current rules, so the analysis views usually open on a ready result.
pub fn remember_set_bytes(generation: u32, bytes: &Uint8Array) {
    CACHE.with(|c| c.borrow_mut().retain(|(g, _, _)| *g == generation));
    if let Err(e) = start_worker(generation, bytes) {
        web_sys::console::warn_1(&JsValue::from_str(&format!("analysis worker: {e}")));
        return;
    }
    send(generation, crate::views::rules_editor::current_rules_text(), None);
}

/// The analysis state of a page: the status and the active rules text.
#[derive(Clone, Copy)]
pub struct SetAnalysisCtx {
    pub status: RwSignal<Status>,
    pub rules_text: RwSignal<String>,
    /// The rules editor is expanded (kept while the views re-render with new rules).
    pub editor_open: RwSignal<bool>,
}

/// Creates the analysis state of a page and asks for the analysis of the loaded set (from the
/// cache, the request in flight, or a new request); it follows new loads and rule changes.
/// Call once per page and pass it down.
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
            Some(l) => request(ctx, &l, rules),
            None => ctx.status.set(Status::Idle),
        }
    });
    ctx
}

fn request(ctx: SetAnalysisCtx, loaded: &Loaded, rules: String) {
    let generation = loaded.generation;
    let hit = CACHE.with(|c| {
        c.borrow()
            .iter()
            .find(|(g, r, _)| *g == generation && *r == rules)
            .map(|(_, _, a)| a.clone())
    });
    if let Some(a) = hit {
        ctx.status.set(Status::Ready(Shared(a)));
        return;
    }
    ctx.status.set(Status::Running);
    let joined = PENDING.with(|p| match p.borrow_mut().as_mut() {
        Some(p) if p.generation == generation && p.rules == rules => {
            p.waiting.push(ctx.status);
            true
        }
        _ => false,
    });
    if joined {
        return;
    }
    let has_worker = WORKER.with(|w| w.borrow().as_ref().is_some_and(|w| w.generation == generation));
    if !has_worker {
        // No bytes from the load worker (e.g. an older build of it): encode the set here.
        let started = crate::set_transfer::encode(loaded.set.clone())
            .and_then(|v| start_worker(generation, &Uint8Array::from(v.as_slice())));
        if let Err(e) = started {
            ctx.status
                .set(Status::Failed(format!("The analysis could not start: {e}")));
            return;
        }
    }
    send(generation, rules, Some(ctx.status));
}

fn bindings_url() -> Option<String> {
    let doc = document();
    let link = doc.query_selector("link[rel=modulepreload]").ok().flatten()?;
    link.get_attribute("href")
        .and_then(|h| web_sys::Url::new_with_base(&h, &doc.base_uri().ok().flatten()?).ok())
        .map(|u| u.href())
}

fn start_worker(generation: u32, bytes: &Uint8Array) -> Result<(), String> {
    if let Some(old) = WORKER.with(|w| w.borrow_mut().take()) {
        old.worker.terminate();
        set_timeout(move || drop(old), std::time::Duration::from_millis(0));
    }
    PENDING.with(|p| *p.borrow_mut() = None);
    // The old worker's trace requests will never be answered: let their waiters fall back.
    for (_, waiter) in TRACE_PENDING.with(|p| std::mem::take(&mut *p.borrow_mut())) {
        waiter(None);
    }
    let js = bindings_url().ok_or("the app's module URL is unknown")?;
    let opts = WorkerOptions::new();
    opts.set_type(WorkerType::Module);
    let worker =
        Worker::new_with_options("/public/analysis-worker.js", &opts).map_err(|e| format!("{e:?}"))?;
    let on_message =
        Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| on_result(generation, ev.data()));
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let msg = Object::new();
    let _ = Reflect::set(&msg, &"type".into(), &"load".into());
    let _ = Reflect::set(&msg, &"module".into(), &wasm_bindgen::module());
    let _ = Reflect::set(&msg, &"js".into(), &js.into());
    let _ = Reflect::set(&msg, &"set".into(), bytes);
    // Transferred, not copied: the page keeps its own decoded set and needs no bytes.
    worker
        .post_message_with_transfer(&msg, &js_sys::Array::of1(&bytes.buffer()))
        .map_err(|e| format!("{e:?}"))?;
    WORKER.with(|w| {
        *w.borrow_mut() = Some(AnalysisWorker {
            generation,
            worker,
            _on_message: on_message,
        })
    });
    Ok(())
}

fn send(generation: u32, rules: String, waiting: Option<RwSignal<Status>>) {
    let id = next_id();
    let msg = Object::new();
    let _ = Reflect::set(&msg, &"type".into(), &"analyze".into());
    let _ = Reflect::set(&msg, &"id".into(), &JsValue::from(id));
    let _ = Reflect::set(&msg, &"rules".into(), &JsValue::from_str(&rules));
    let posted = post_to_worker(generation, &msg);
    if !posted {
        if let Some(s) = waiting {
            s.set(Status::Failed("The analysis worker is not running".into()));
        }
        return;
    }
    crate::worker::mark("spanlens:analysis-start");
    PENDING.with(|p| {
        *p.borrow_mut() = Some(Pending {
            id,
            generation,
            rules,
            waiting: waiting.into_iter().collect(),
        })
    });
}

fn on_result(generation: u32, data: JsValue) {
    let get = |k: &str| Reflect::get(&data, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    if let Some(kind @ ("traceDone" | "traceError")) = get("type").as_string().as_deref() {
        on_trace_result(kind, &data);
        return;
    }
    let id = get("id").as_f64().unwrap_or(-1.0) as u32;
    let pending = PENDING.with(|p| {
        let mut p = p.borrow_mut();
        if p.as_ref().is_some_and(|x| x.id == id) {
            p.take()
        } else {
            None
        }
    });
    let Some(pending) = pending else { return };
    let status = if get("type").as_string().as_deref() == Some("done") {
        let t0 = js_sys::Date::now();
        let bytes = get("result").unchecked_into::<Uint8Array>().to_vec();
        match postcard::from_bytes::<SetAnalysis>(&bytes) {
            Ok(a) => {
                let a = Arc::new(a);
                CACHE.with(|c| {
                    let mut c = c.borrow_mut();
                    c.retain(|(g, r, _)| !(*g == generation && *r == pending.rules));
                    c.push((generation, pending.rules.clone(), a.clone()));
                    if c.len() > 4 {
                        c.remove(0);
                    }
                });
                let timings = get("timings");
                let _ = Reflect::set(
                    &timings,
                    &"mainDecode".into(),
                    &JsValue::from_f64(js_sys::Date::now() - t0),
                );
                let _ = Reflect::set(&window(), &"__spanlensAnalysis".into(), &timings);
                crate::worker::mark("spanlens:analysis-ready");
                Status::Ready(Shared(a))
            }
            Err(e) => Status::Failed(format!("The analysis result could not be read: {e}")),
        }
    } else {
        let message = get("message")
            .as_string()
            .unwrap_or_else(|| "unknown error".into());
        Status::Failed(format!("The analysis failed: {message}"))
    };
    for s in pending.waiting {
        s.set(status.clone());
    }
}

/// Renders `body` with the analysis once it is ready; a progress note or the error meanwhile.
#[component]
pub fn WithSetAnalysis<F, V>(ctx: SetAnalysisCtx, body: F) -> impl IntoView
where
    F: Fn(Arc<SetAnalysis>) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    move || {
        match ctx.status.get() {
        Status::Ready(a) => body(a.0).into_any(),
        Status::Failed(e) => view! { <div class="banner banner-error" role="alert">{e}</div> }.into_any(),
        Status::Idle => view! { <p class="muted an-note">"Load traces to see their analysis."</p> }.into_any(),
        Status::Running => view! {
            <p class="muted an-note" data-testid="analysis-running" aria-live="polite">"Analysing the loaded traces in the background…"</p>
        }
        .into_any(),
    }
    }
}
