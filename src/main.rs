//! spanlens SPA entry point: mounts the Leptos app on `<body>`.
//!
//! The browser code only builds for `wasm32`; on the host this binary is an empty stub so that
//! `cargo test --workspace` does not compile Leptos natively.

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(spanlens_web::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
