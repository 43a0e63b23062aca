//! spanlens SPA: UI only. Parsing and analysis live in `spanlens-core`; this crate renders them.
//!
//! Layout: `pages` (one per route) → `views` → `widgets`. Everything browser-specific is gated
//! on `wasm32` so the host build of the workspace stays light.

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
pub use app::App;
