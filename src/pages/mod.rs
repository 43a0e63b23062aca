//! One component per route: home (drop, pick, paste, demo), the loaded trace list, search, and
//! the trace page. Pages load their data and compose views.

pub mod home;
pub mod insights;
pub mod search;
pub mod trace;
pub mod traces;
