//! Fuzz target: the otlp_json reader alone (`formats::read` with `Format::OtlpJson`). Any input must
//! give a trace set or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spanlens_core::formats::{read, Format};

fuzz_target!(|data: &[u8]| {
    let _ = read(data, Some(Format::OtlpJson));
});
