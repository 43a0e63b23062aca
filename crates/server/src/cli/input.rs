//! Reading trace files named on the command line (`-` is standard input) into one set.

use spanlens_core::formats::{self, Format};
use spanlens_core::model::{TraceSet, TraceSetBuilder};
use std::io::Read;

/// Reads every file into one set. On an unreadable file, returns a one-line reason naming it.
pub fn read_files(files: &[String], format: Option<Format>) -> Result<TraceSet, String> {
    let mut builder = TraceSetBuilder::new();
    for file in files {
        let bytes = if file == "-" {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| format!("<stdin>: {e}"))?;
            buf
        } else {
            std::fs::read(file).map_err(|e| format!("{file}: {e}"))?
        };
        let label = if file == "-" { "<stdin>" } else { file.as_str() };
        formats::read_into(&mut builder, &bytes, format, Some(label)).map_err(|e| format!("{label}: {e}"))?;
    }
    Ok(builder.finish())
}
