//! Display formatting shared by every view: durations (`850µs`, `12.4ms`, `1.25s`, `2m 05s`),
//! relative offsets (`+12.4ms`), UTC timestamps, byte counts, ruler steps (1, 2, 5 × 10^k) and
//! the stable service → palette slot hash.
//!
//! Pure functions with no browser dependency, so they are unit-tested on the host. Not here:
//! any figure about a trace (those come from `spanlens-core`).

/// Number of service colours in the palette (`--svc-0` … in `style/tokens.css`).
pub const PALETTE_SIZE: u64 = 12;

/// A duration in nanoseconds for people: three significant digits, unit from ns to minutes.
pub fn duration(nanos: u64) -> String {
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    if nanos < US {
        format!("{nanos}ns")
    } else if nanos < MS {
        format!("{}µs", sig3(nanos as f64 / US as f64))
    } else if nanos < S {
        format!("{}ms", sig3(nanos as f64 / MS as f64))
    } else if nanos < 60 * S {
        format!("{}s", sig3(nanos as f64 / S as f64))
    } else {
        let total_s = nanos / S;
        let (h, m, s) = (total_s / 3600, (total_s / 60) % 60, total_s % 60);
        if h > 0 {
            format!("{h}h {m:02}m")
        } else {
            format!("{m}m {s:02}s")
        }
    }
}

/// A signed offset from a reference time, `+12.4ms` / `-3µs`.
pub fn offset(nanos: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "+" };
    format!(
        "{sign}{}",
        duration(nanos.unsigned_abs().min(u64::MAX as u128) as u64)
    )
}

/// Three significant digits, trailing zeros trimmed (`12.4`, `1.25`, `850`).
fn sig3(v: f64) -> String {
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// A byte count (`12.3 MB`).
pub fn bytes(n: f64) -> String {
    if n < 1024.0 {
        format!("{n:.0} B")
    } else if n < 1024.0 * 1024.0 {
        format!("{:.1} KB", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MB", n / (1024.0 * 1024.0))
    } else {
        format!("{:.2} GB", n / (1024.0 * 1024.0 * 1024.0))
    }
}

/// A Unix-nanosecond timestamp as `2026-11-21 09:07:26.123 UTC`.
pub fn utc(unix_nanos: u64) -> String {
    let secs = unix_nanos / 1_000_000_000;
    let millis = (unix_nanos / 1_000_000) % 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}.{millis:03} UTC",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A "nice" ruler step (1, 2 or 5 × 10^k nanoseconds) giving about `target` ticks over `span`.
pub fn nice_step(span_nanos: f64, target: f64) -> f64 {
    if span_nanos <= 0.0 || target <= 0.0 {
        return 1.0;
    }
    let raw = span_nanos / target;
    let pow = 10f64.powf(raw.log10().floor());
    let norm = raw / pow;
    let m = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    (m * pow).max(1.0)
}

/// The palette slot of a service: FNV-1a of its name, so the colour is the same in every view
/// and every session.
pub fn service_slot(service: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in service.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % PALETTE_SIZE
}

/// The CSS colour of a service (a variable from `tokens.css`).
pub fn service_colour(service: &str) -> String {
    format!("var(--svc-{})", service_slot(service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_design() {
        assert_eq!(duration(850), "850ns");
        assert_eq!(duration(850_000), "850µs");
        assert_eq!(duration(12_400_000), "12.4ms");
        assert_eq!(duration(1_250_000_000), "1.25s");
        assert_eq!(duration(125_000_000_000), "2m 05s");
        assert_eq!(duration(1_000_000), "1ms");
        assert_eq!(offset(-3_000), "-3µs");
        assert_eq!(offset(12_400_000), "+12.4ms");
    }

    #[test]
    fn utc_and_steps() {
        assert_eq!(utc(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(utc(1_795_000_000_123_000_000), "2026-11-18 11:06:40.123 UTC");
        assert_eq!(nice_step(1000.0, 10.0), 100.0);
        assert_eq!(nice_step(1700.0, 10.0), 200.0);
        assert_eq!(nice_step(4000.0, 10.0), 500.0);
    }

    #[test]
    fn service_colours_are_stable() {
        assert_eq!(service_slot("frontend"), service_slot("frontend"));
        assert!(service_slot("x") < PALETTE_SIZE);
        assert_eq!(service_colour("a"), format!("var(--svc-{})", service_slot("a")));
    }
}
