//! Writers stub: replaced by the real writers.
