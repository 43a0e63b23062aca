//! The HTTP API: one route table ([`routes`]), Tempo-compatible query endpoints ([`tempo`]),
//! the analysis endpoints ([`tracing_api`]), Prometheus ([`prometheus`]), and the one mapping
//! from errors to HTTP answers ([`error`]).

pub mod error;
pub mod prometheus;
pub mod routes;
pub mod tempo;
pub mod tracing_api;
