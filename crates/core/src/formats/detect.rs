//! Content-based format detection (stub: tries every reader in turn).
use super::{read_with, Format, ReadError, Rejection};
use crate::model::TraceSetBuilder;

/// Detects the format of `bytes`, reads it into `builder`, and returns the format.
pub(crate) fn read_detected(bytes: &[u8], builder: &mut TraceSetBuilder) -> Result<Format, ReadError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ReadError::Empty);
    }
    let mut rejections = Vec::new();
    for format in Format::ALL {
        match read_with(format, bytes, builder) {
            Ok(()) => return Ok(format),
            Err(reason) => rejections.push(Rejection { format, reason }),
        }
    }
    Err(ReadError::NotATrace(rejections))
}
