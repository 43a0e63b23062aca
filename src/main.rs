//! spanlens SPA entry point: mounts the Leptos app on `<body>`.
//!
//! The same wasm module also runs inside the parse worker (`public/worker.js`); there is no
//! `window` there, so nothing is mounted and the worker only calls the `SetLoader` export.
//! The browser code only builds for `wasm32`; on the host this binary is an empty stub so that
//! `cargo test --workspace` does not compile Leptos natively.

#[cfg(target_arch = "wasm32")]
pub use spanlens_web::worker::entry::SetLoader;

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    if web_sys::window().is_none() {
        return;
    }
    leptos::mount::mount_to_body(spanlens_web::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
