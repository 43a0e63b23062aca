//! Views of loaded traces: the trace header, the virtualized waterfall, the minimap, span
//! details, the diagnostics panel, and the bridge to the core's analysis. Views read the
//! immutable set and the view state; they never parse or compute statistics themselves.

pub mod analysis;
pub mod compare;
pub mod diagnostics;
pub mod errors;
pub mod flame;
pub mod grades;
pub mod minimap;
pub mod red_charts;
pub mod rules_editor;
pub mod service_graph;
pub mod set_analysis;
pub mod span_details;
pub mod stats;
pub mod trace_graph;
pub mod trace_header;
pub mod trace_tabs;
pub mod waterfall;
