//! spanlens SPA: UI only. Parsing and analysis live in `spanlens-core`; this crate renders them.
//!
//! Layout: `pages` (one per route) → `views` → `widgets`; `state` holds the loaded set and the
//! view state; `worker` runs the core in a Web Worker; `api` talks to Tempo/spanlens; `routes`
//! has every URL. Everything browser-specific is gated on `wasm32` so the host build of the
//! workspace stays light; `routes`, `units`, `raster`, `set_transfer` and `tag_suggestions`
//! are pure and unit-tested on the host.

pub mod raster;
pub mod routes;
pub mod set_transfer;
pub mod tag_suggestions;
pub mod units;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod pages;
#[cfg(target_arch = "wasm32")]
pub mod state;
#[cfg(target_arch = "wasm32")]
mod views;
#[cfg(target_arch = "wasm32")]
mod widgets;
#[cfg(target_arch = "wasm32")]
pub mod worker;

#[cfg(target_arch = "wasm32")]
pub use app::App;
