//! The editor of the category rules and thresholds (`shared/design/analysis.md` §4): a text area
//! for a TOML or JSON rules file, validated by the core's parser on every edit with the error
//! (line, column) shown inline. A valid text is kept in local storage and, when it differs from
//! the built-in rules, carried in the URL as `rules=` (base64url) so a shared link grades the same.
//!
//! Not here: the rules themselves (core `Rules`), the analysis (`set_analysis`).

use crate::state::{load_key, store_key, AppState};
use crate::views::set_analysis::SetAnalysisCtx;
use crate::worker::analyze::parse_rules;
use leptos::prelude::*;

const STORAGE_KEY: &str = "spanlens.rules";

/// A starting point for the editor: the built-in rules stay, one example category is added.
pub const EXAMPLE: &str = r#"# Category rules (TOML or JSON). First match wins; built-in categories stay unless
# `defaults = false`. Durations take a unit: ns, us, ms, s, m, h.
defaults = true

# Example: a tighter target for the Database category.
# [[category]]
# name = "Database"
# thresholds = { a = "50ms", b = "100ms", c = "250ms", d = "500ms", target = "50ms", alert = "100ms", critical = "250ms" }

# Example: a new category, inserted before the built-ins.
# [[category]]
# name = "Cache"
# grade_as = "Database"
# thresholds = { a = "5ms", b = "10ms", c = "25ms", d = "50ms", target = "5ms", alert = "10ms", critical = "25ms" }
# [[category.match]]
# attr_prefix = ["cache."]
"#;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding.
pub fn b64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            let idx = ((n >> (18 - 6 * i)) & 63) as usize;
            out.push(B64.get(idx).copied().unwrap_or(b'A') as char);
        }
    }
    out
}

/// Decodes base64url (padding and standard `+/` also accepted); `None` on a bad character.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// True when the text grades exactly like the built-in rules (nothing to carry in a URL).
fn is_builtin(text: &str) -> bool {
    parse_rules(text).is_ok_and(|r| r == spanlens_core::analysis::Rules::builtin())
}

/// The rules text to start with: the URL's, else the stored one, else empty (built-in).
pub fn initial_rules_text(state: AppState) -> String {
    rules_text_from(state.route.with_untracked(|r| r.params.rules.clone()))
}

/// The rules text of the current location (`rules=`), else the stored one, else empty.
pub fn current_rules_text() -> String {
    rules_text_from(location_rules_param())
}

/// The raw `rules=` parameter of the current location (the address bar, which
/// `AppState::replace_url` rewrites without touching the route signal).
pub fn location_rules_param() -> Option<String> {
    let search = window().location().search().unwrap_or_default();
    crate::routes::query_pairs(&search)
        .into_iter()
        .find(|(k, _)| k == "rules")
        .map(|(_, v)| v)
}

fn rules_text_from(param: Option<String>) -> String {
    let from_url = param
        .and_then(|b| b64url_decode(&b))
        .and_then(|v| String::from_utf8(v).ok())
        .filter(|t| parse_rules(t).is_ok());
    from_url
        .or_else(|| load_key(STORAGE_KEY).filter(|t| parse_rules(t).is_ok()))
        .unwrap_or_default()
}

/// The `rules` URL parameter for a rules text (`None` for the built-in rules).
pub fn rules_param(text: &str) -> Option<String> {
    (!text.trim().is_empty() && !is_builtin(text)).then(|| b64url_encode(text.as_bytes()))
}

/// The rules editor. `on_apply` runs after valid rules were applied (to update the URL).
#[component]
pub fn RulesEditor(ctx: SetAnalysisCtx, #[prop(into)] on_apply: Callback<()>) -> impl IntoView {
    let draft = RwSignal::new({
        let t = ctx.rules_text.get_untracked();
        if t.trim().is_empty() {
            EXAMPLE.to_string()
        } else {
            t
        }
    });
    let error = Memo::new(move |_| draft.with(|t| parse_rules(t).err()));
    let apply = move |_| {
        let text = draft.get_untracked();
        if parse_rules(&text).is_ok() {
            store_key(STORAGE_KEY, &text);
            ctx.rules_text
                .set(if is_builtin(&text) { String::new() } else { text });
            on_apply.run(());
        }
    };
    let reset = move |_| {
        draft.set(EXAMPLE.to_string());
        store_key(STORAGE_KEY, "");
        ctx.rules_text.set(String::new());
        on_apply.run(());
    };
    view! {
        <details class="rules-editor" data-testid="rules-editor" prop:open=move || ctx.editor_open.get()
            on:toggle=move |ev| {
                use wasm_bindgen::JsCast;
                if let Some(d) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                    ctx.editor_open.set(d.has_attribute("open"));
                }
            }>
            <summary>"Category rules and thresholds"
                <span class="muted">{move || if ctx.rules_text.with(|t| t.trim().is_empty()) { " · built-in" } else { " · custom" }}</span>
            </summary>
            <textarea data-testid="rules-text" aria-label="Rules (TOML or JSON)" spellcheck="false" rows="14"
                class:invalid=move || error.with(|e| e.is_some())
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
            <div class="rules-actions">
                <span class="rules-status" data-testid="rules-error" role="status" aria-live="polite"
                    class:error-text=move || error.with(|e| e.is_some())>
                    {move || error.get().unwrap_or_else(|| "Valid rules".to_string())}
                </span>
                <span class="spacer"></span>
                <button data-testid="rules-reset" on:click=reset>"Built-in rules"</button>
                <button class="primary" data-testid="rules-apply" disabled=move || error.with(|e| e.is_some()) on:click=apply>"Apply"</button>
            </div>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips() {
        for s in [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "defaults = true\n[[category]]\nname = \"é\"",
        ] {
            assert_eq!(b64url_decode(&b64url_encode(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(b64url_encode(b"\xfb\xff"), "-_8");
    }
}
