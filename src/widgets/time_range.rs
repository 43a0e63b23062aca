//! The time range picker of the search and insights pages: a relative range (`15m` … `7d`) or
//! an absolute one from two `datetime-local` inputs, resolved to Unix seconds by [`resolve`].

use crate::routes;
use leptos::prelude::*;

/// The picker's choices: a relative range (`routes::parse_relative_secs`) or `abs`.
pub const RANGES: [(&str, &str); 6] = [
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("6h", "Last 6 hours"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("abs", "Absolute…"),
];

/// Unix seconds of a `datetime-local` value (read as local time by the browser).
pub fn parse_local_datetime(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let ms = js_sys::Date::parse(s);
    ms.is_finite().then(|| (ms / 1000.0) as i64)
}

/// The `datetime-local` value (local time, minutes) of Unix seconds.
pub fn local_datetime_value(unix_secs: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix_secs as f64 * 1000.0));
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// The picker's state: the choice and the two absolute inputs.
#[derive(Clone, Copy)]
pub struct TimeRange {
    pub range: RwSignal<String>,
    pub abs_start: RwSignal<String>,
    pub abs_end: RwSignal<String>,
    /// The exact seconds of the URL, used while the (minute-precision) inputs still show them.
    pub exact: (Option<i64>, Option<i64>),
}

impl TimeRange {
    /// From URL parameters: `range` when relative, else `start`/`end` (absolute); `default`
    /// when neither is given.
    pub fn new(range: Option<String>, start: Option<i64>, end: Option<i64>, default: &str) -> Self {
        let choice = range.unwrap_or_else(|| {
            if start.is_some() {
                "abs".into()
            } else {
                default.into()
            }
        });
        TimeRange {
            range: RwSignal::new(choice),
            abs_start: RwSignal::new(start.map(local_datetime_value).unwrap_or_default()),
            abs_end: RwSignal::new(end.map(local_datetime_value).unwrap_or_default()),
            exact: (start, end),
        }
    }

    /// The range in Unix seconds now (relative ranges end at the browser's clock; an untouched
    /// absolute bound keeps the URL's exact second).
    pub fn resolve(&self) -> (Option<i64>, Option<i64>) {
        let r = self.range.get_untracked();
        if r == "abs" {
            let bound = |input: RwSignal<String>, exact: Option<i64>| {
                let text = input.get_untracked();
                match exact {
                    Some(x) if local_datetime_value(x) == text => Some(x),
                    _ => parse_local_datetime(&text),
                }
            };
            (
                bound(self.abs_start, self.exact.0),
                bound(self.abs_end, self.exact.1),
            )
        } else {
            let now = crate::state::now_secs();
            (routes::parse_relative_secs(&r).map(|s| now - s), Some(now))
        }
    }
}

/// The picker: a select of [`RANGES`] and, for `abs`, the from/to inputs.
#[component]
pub fn TimeRangePicker(range: TimeRange, #[prop(into, optional)] disabled: Signal<bool>) -> impl IntoView {
    let TimeRange {
        range,
        abs_start,
        abs_end,
        ..
    } = range;
    view! {
        <label>"Time range"
            <select data-testid="time-range" prop:value=move || range.get() on:change=move |ev| range.set(event_target_value(&ev))
                disabled=move || disabled.get()>
                {RANGES.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
            </select>
        </label>
        <Show when=move || range.get() == "abs" && !disabled.get()>
            <label>"From"<input type="datetime-local" data-testid="range-from" prop:value=move || abs_start.get() on:input=move |ev| abs_start.set(event_target_value(&ev))/></label>
            <label>"To"<input type="datetime-local" data-testid="range-to" prop:value=move || abs_end.get() on:input=move |ev| abs_end.set(event_target_value(&ev))/></label>
        </Show>
    }
}
