//! Fuzz target: format detection plus whichever reader it picks (`formats::read` without a
//! format). Any input must give a trace set or an error, never a panic. Successful reads are
//! also checked for consistent span ranges.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spanlens_core::formats::read;

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = read(data, None) {
        let total: usize = set.traces().iter().map(|t| t.spans.len as usize).sum();
        assert_eq!(total, set.span_count());
    }
});
