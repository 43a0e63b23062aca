//! Pixel arithmetic for canvas views: merging many thin span lines into few rectangles, so a
//! 100k-span minimap draws in a few milliseconds. Pure: no canvas calls here (see
//! `views::minimap`).

/// One horizontal run of device pixels to fill in one service colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// Colour slot (service palette index).
    pub slot: u32,
    /// Device-pixel row.
    pub row: u32,
    /// First device-pixel column.
    pub x0: u32,
    /// One past the last column.
    pub x1: u32,
}

const X_BITS: u32 = 22;
const ROW_BITS: u32 = 12;
const X_MAX: u32 = (1 << X_BITS) - 1;
const ROW_MAX: u32 = (1 << ROW_BITS) - 1;

/// Merges span lines (colour slot, device-pixel row, x from, x to) into as few runs as cover
/// the same pixels, grouped by colour: 100k spans on a 56-pixel-high minimap become a few
/// thousand rectangles, so drawing stays a few milliseconds.
pub fn merge_runs(lines: impl Iterator<Item = Run>) -> Vec<Run> {
    let mut keys: Vec<u64> = lines
        .map(|r| {
            let x0 = r.x0.min(X_MAX);
            let x1 = r.x1.clamp(x0, X_MAX);
            (u64::from(r.slot.min(255)) << (ROW_BITS + 2 * X_BITS))
                | (u64::from(r.row.min(ROW_MAX)) << (2 * X_BITS))
                | (u64::from(x0) << X_BITS)
                | u64::from(x1)
        })
        .collect();
    keys.sort_unstable();
    let x_mask = u64::from(X_MAX);
    let mut out: Vec<Run> = Vec::new();
    for key in keys {
        let run = Run {
            slot: (key >> (ROW_BITS + 2 * X_BITS)) as u32,
            row: ((key >> (2 * X_BITS)) & u64::from(ROW_MAX)) as u32,
            x0: ((key >> X_BITS) & x_mask) as u32,
            x1: (key & x_mask) as u32,
        };
        match out.last_mut() {
            Some(last) if last.slot == run.slot && last.row == run.row && run.x0 <= last.x1 => {
                last.x1 = last.x1.max(run.x1);
            }
            _ => out.push(run),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(slot: u32, row: u32, x0: u32, x1: u32) -> Run {
        Run { slot, row, x0, x1 }
    }

    #[test]
    fn overlapping_lines_of_one_colour_and_row_merge() {
        let merged = merge_runs(
            [
                run(1, 0, 10, 20),
                run(1, 0, 15, 30),
                run(1, 0, 30, 31),
                run(1, 0, 40, 41),
                run(2, 0, 12, 13),
                run(1, 1, 10, 20),
            ]
            .into_iter(),
        );
        assert_eq!(
            merged,
            vec![
                run(1, 0, 10, 31),
                run(1, 0, 40, 41),
                run(1, 1, 10, 20),
                run(2, 0, 12, 13)
            ]
        );
    }

    #[test]
    fn out_of_range_coordinates_are_clamped() {
        let merged = merge_runs([run(300, 5000, 9_000_000, 10)].into_iter());
        assert_eq!(merged, vec![run(255, ROW_MAX, X_MAX, X_MAX)]);
    }
}
