//! Loading traces off the main thread. [`load`] starts one Web Worker (`public/worker.js`) per
//! load, hands it the app's already-compiled wasm module and the inputs (files, pasted text or
//! fetched bytes), shows its progress, and on completion decodes the assembled set into the app
//! state, a slice at a time between frames (`set_transfer`). [`cancel`] terminates the worker,
//! which also frees all of its memory, and stops a decode in progress.
//!
//! `entry` is the other side: the wasm export the worker calls. Not here: any parsing.

pub mod analyze;
pub mod entry;

use crate::routes::Source;
use crate::state::{AppState, Loaded, Progress};
use js_sys::{Array, Object, Reflect, Uint8Array};
use leptos::prelude::*;
use std::cell::RefCell;
use std::sync::Arc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{File, MessageEvent, Worker, WorkerOptions, WorkerType};

/// One input document.
pub enum Job {
    File(File),
    Text { name: String, text: String },
    Bytes { name: String, bytes: Vec<u8> },
}

impl Job {
    fn name(&self) -> String {
        match self {
            Job::File(f) => f.name(),
            Job::Text { name, .. } | Job::Bytes { name, .. } => name.clone(),
        }
    }
}

/// What to do once the set is in.
pub type Then = Box<dyn FnOnce(AppState)>;

struct Running {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

/// A kept copy of an input, for "Share" (upload) after the load.
#[derive(Clone)]
enum Kept {
    File(File),
    Bytes(String, Vec<u8>),
}

thread_local! {
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
    static LAST_INPUTS: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
    /// Changes with every load or cancel; a decode still running for an older load stops.
    static LOAD_TOKEN: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// What the worker handed back, waiting to be decoded.
struct Received {
    /// The set in the `set_transfer` format, copied into wasm memory.
    bytes: Vec<u8>,
    /// The same bytes as the worker sent them, passed on to the analysis worker.
    set_bytes: Uint8Array,
    diagnostics: String,
    names: Vec<String>,
    source: Source,
    kept: Option<Vec<Kept>>,
    then: Option<Then>,
}

/// Milliseconds of decoding per slice before the page gets the thread back.
const SLICE_MS: f64 = 8.0;

fn now_ms() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or(0.0)
}

/// Gives the thread back to the page (input, rendering) until the next task.
async fn yield_to_page() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Decodes the received set a slice at a time (so the page stays responsive while a big set
/// comes in), then puts it in the state and runs the load's continuation. Stops quietly when
/// another load or a cancel came in meanwhile.
async fn decode_in_slices(state: AppState, token: u32, received: Received) {
    let still_current = || LOAD_TOKEN.with(|t| t.get()) == token;
    let Received {
        bytes,
        set_bytes,
        diagnostics,
        names,
        source,
        kept,
        then,
    } = received;
    // Start in a task of its own, not inside the worker's message event.
    yield_to_page().await;
    if !still_current() {
        return;
    }
    let mut decoder = crate::set_transfer::Decoder::new(bytes);
    let mut slice_start = now_ms();
    while !decoder.is_done() {
        if let Err(e) = decoder.step() {
            state.progress.set(None);
            state.alert(format!("Loading failed: {e}"));
            return;
        }
        if now_ms() - slice_start >= SLICE_MS {
            let spans = decoder.spans_decoded() as u32;
            state.progress.update(|p| {
                if let Some(p) = p {
                    p.phase = "decoding".into();
                    p.spans = spans;
                }
            });
            yield_to_page().await;
            if !still_current() {
                return;
            }
            slice_start = now_ms();
        }
    }
    // Putting the set in the state renders its first view: a task of its own too.
    yield_to_page().await;
    if !still_current() {
        return;
    }
    let set = match decoder.finish() {
        Ok(set) => set,
        Err(e) => {
            state.progress.set(None);
            state.alert(format!("Loading failed: {e}"));
            return;
        }
    };
    let diagnostics = serde_json::from_str(&diagnostics).unwrap_or_default();
    mark("spanlens:set-decoded");
    let generation = state.generation.get_untracked() + 1;
    state.generation.set(generation);
    let loaded = Loaded::new(set, diagnostics, names, source, generation);
    crate::views::set_analysis::remember_set_bytes(generation, &set_bytes);
    if loaded.summaries.is_empty() {
        state.alert(format!(
            "{}: no spans found{}",
            loaded.names.join(", "),
            skipped_note(&loaded)
        ));
    }
    state.progress.set(None);
    if let Some(k) = kept {
        LAST_INPUTS.with(|l| *l.borrow_mut() = k);
    }
    state.loaded.set(Some(Arc::new(loaded)));
    mark("spanlens:set-ready");
    if let Some(then) = then {
        then(state);
    }
}

/// The inputs of the last successful load, as (name, bytes).
pub async fn last_inputs() -> Vec<(String, Vec<u8>)> {
    let kept = LAST_INPUTS.with(|k| k.borrow().clone());
    let mut out = Vec::new();
    for k in kept {
        match k {
            Kept::Bytes(name, bytes) => out.push((name, bytes)),
            Kept::File(f) => {
                if let Ok(buf) = wasm_bindgen_futures::JsFuture::from(f.array_buffer()).await {
                    out.push((f.name(), Uint8Array::new(&buf).to_vec()));
                }
            }
        }
    }
    out
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn get_str(obj: &JsValue, key: &str) -> String {
    get(obj, key).as_string().unwrap_or_default()
}

fn get_f64(obj: &JsValue, key: &str) -> f64 {
    get(obj, key).as_f64().unwrap_or(0.0)
}

/// The URL of the app's wasm-bindgen JS module (Trunk preloads it).
fn bindings_url() -> Option<String> {
    let doc = document();
    let link = doc.query_selector("link[rel=modulepreload]").ok().flatten()?;
    link.get_attribute("href")
        .and_then(|h| web_sys::Url::new_with_base(&h, &doc.base_uri().ok().flatten()?).ok())
        .map(|u| u.href())
}

/// Stops the running load, if any.
pub fn cancel(state: AppState) {
    LOAD_TOKEN.with(|t| t.set(t.get().wrapping_add(1)));
    RUNNING.with(|r| {
        if let Some(running) = r.borrow_mut().take() {
            running.worker.terminate();
        }
    });
    state.progress.set(None);
}

/// Loads `jobs` into a new set in a worker; `then` runs once the set is in the state.
pub fn load(state: AppState, jobs: Vec<Job>, source: Source, then: Then) {
    cancel(state);
    if jobs.is_empty() {
        return;
    }
    let first_name = jobs.first().map(Job::name).unwrap_or_default();
    state.progress.set(Some(Progress {
        name: first_name,
        bytes: 0.0,
        total: 0.0,
        spans: 0,
        phase: "starting".into(),
    }));
    if let Err(e) = start(state, jobs, source, then) {
        state.progress.set(None);
        state.alert(format!("Could not start the parser worker: {e}"));
    }
}

fn start(state: AppState, jobs: Vec<Job>, source: Source, then: Then) -> Result<(), String> {
    let js = bindings_url().ok_or("the app's module URL is unknown")?;
    let opts = WorkerOptions::new();
    opts.set_type(WorkerType::Module);
    let worker = Worker::new_with_options("/public/worker.js", &opts).map_err(|e| format!("{e:?}"))?;

    let job_list = Array::new();
    let kept: Vec<Kept> = jobs
        .iter()
        .map(|j| match j {
            Job::File(f) => Kept::File(f.clone()),
            Job::Text { name, text } => Kept::Bytes(name.clone(), text.as_bytes().to_vec()),
            Job::Bytes { name, bytes } => Kept::Bytes(name.clone(), bytes.clone()),
        })
        .collect();
    let kept = RefCell::new(Some(kept));
    for job in jobs {
        let o = Object::new();
        let _ = Reflect::set(&o, &"name".into(), &job.name().into());
        match job {
            Job::File(f) => {
                let _ = Reflect::set(&o, &"file".into(), &f);
            }
            Job::Text { text, .. } => {
                let _ = Reflect::set(&o, &"text".into(), &text.into());
            }
            Job::Bytes { bytes, .. } => {
                let _ = Reflect::set(&o, &"bytes".into(), &Uint8Array::from(bytes.as_slice()));
            }
        }
        job_list.push(&o);
    }
    let msg = Object::new();
    let _ = Reflect::set(&msg, &"module".into(), &wasm_bindgen::module());
    let _ = Reflect::set(&msg, &"js".into(), &js.into());
    let _ = Reflect::set(&msg, &"jobs".into(), &job_list);

    let then = RefCell::new(Some(then));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let data = ev.data();
        match get_str(&data, "type").as_str() {
            "progress" => state.progress.set(Some(Progress {
                name: get_str(&data, "name"),
                bytes: get_f64(&data, "bytes"),
                total: get_f64(&data, "total"),
                spans: get_f64(&data, "spans") as u32,
                phase: get_str(&data, "phase"),
            })),
            "fileError" => state.alert(format!(
                "{} could not be read: {}",
                get_str(&data, "name"),
                get_str(&data, "message")
            )),
            "fatal" => {
                finish_worker();
                state.progress.set(None);
                state.alert(format!("Loading failed: {}", get_str(&data, "message")));
            }
            "done" => {
                finish_worker();
                let set = get(&data, "set");
                if set.is_null() || set.is_undefined() {
                    state.progress.set(None);
                    return;
                }
                mark("spanlens:set-received");
                let set_bytes = set.unchecked_into::<Uint8Array>();
                let names: Vec<String> = Array::from(&get(&data, "names"))
                    .iter()
                    .filter_map(|v| v.as_string())
                    .collect();
                let received = Received {
                    bytes: set_bytes.to_vec(),
                    set_bytes,
                    diagnostics: get_str(&data, "diagnostics"),
                    names,
                    source: source.clone(),
                    kept: kept.borrow_mut().take(),
                    then: then.borrow_mut().take(),
                };
                let token = LOAD_TOKEN.with(|t| t.get());
                wasm_bindgen_futures::spawn_local(decode_in_slices(state, token, received));
            }
            _ => {}
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

fn skipped_note(l: &Loaded) -> String {
    if l.diagnostics.spans_skipped > 0 {
        format!(
            " ({} spans skipped, see diagnostics)",
            l.diagnostics.spans_skipped
        )
    } else {
        String::new()
    }
}

/// Terminates the finished worker after this message handler returns.
fn finish_worker() {
    let running = RUNNING.with(|r| r.borrow_mut().take());
    if let Some(running) = running {
        running.worker.terminate();
        // Dropping the closure while it runs is not allowed; free it on the next tick.
        set_timeout(move || drop(running), std::time::Duration::from_millis(0));
    }
}

/// A `performance.mark` for the benchmark.
pub fn mark(name: &str) {
    if let Some(p) = window().performance() {
        let _ = p.mark(name);
    }
}
