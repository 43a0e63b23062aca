//! Compare two traces (`view=compare`): pick A and B from the loaded set (search results, a
//! multi-trace file, or several dropped files), then see the duration and span-count
//! differences, the per-operation count and duration deltas (B − A), and side by side the
//! spans present in only one trace (`data-only-in="a|b"`). Everything is the core's
//! `compare_traces`; clicking an unmatched span opens it in the waterfall.

use crate::state::Loaded;
use crate::units;
use crate::views::service_graph::ellipsize;
use leptos::prelude::*;
use spanlens_core::analysis::{compare_traces, TraceComparison, UnmatchedSpans};
use std::sync::Arc;

fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{}", units::duration(n.unsigned_abs()))
    } else if n < 0 {
        format!("−{}", units::duration(n.unsigned_abs()))
    } else {
        "0".into()
    }
}

fn signed_count(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else if n < 0 {
        format!("−{}", n.unsigned_abs())
    } else {
        "0".into()
    }
}

fn trace_label(l: &Loaded, index: u32) -> String {
    l.summaries
        .get(index as usize)
        .map(|s| {
            format!(
                "{} · {} / {} · {} · {} spans",
                s.id.get(..8).unwrap_or(""),
                s.root_service,
                ellipsize(&s.root_name, 30),
                units::duration(s.duration_nanos),
                s.spans
            )
        })
        .unwrap_or_default()
}

#[component]
fn Unmatched(
    side: &'static str,
    items: Vec<UnmatchedSpans>,
    trace_id: String,
    loaded: Arc<Loaded>,
    on_open_span: Callback<(String, String)>,
) -> impl IntoView {
    let empty = items.is_empty();
    view! {
        <div class="cmp-side">
            <h3>{format!("Only in {}", side.to_uppercase())}<span class="muted">{format!(" · {} kinds", items.len())}</span></h3>
            {empty.then(|| view! { <p class="muted">"None"</p> })}
            <ul class="cmp-list">
                {items.into_iter().map(|u| {
                    let first = u.spans.first().and_then(|&i| loaded.set.span(i)).map(|s| s.span_id.to_hex());
                    let t = trace_id.clone();
                    let path = u.path.join(" › ");
                    view! {
                        <li data-only-in=side data-operation=format!("{}/{}", u.service, u.name) data-count=u.count.to_string()>
                            <button class="link" title=if path.is_empty() { "(root)".to_string() } else { path.clone() }
                                on:click=move |_| on_open_span.run((t.clone(), first.clone().unwrap_or_default()))>
                                <span class="chip" style:background=units::service_colour(&u.service)></span>
                                <span class="muted">{format!("{} / ", u.service)}</span>{ellipsize(&u.name, 50)}
                                {(u.count > 1).then(|| format!(" ×{}", u.count))}
                            </button>
                            <div class="muted cmp-path">{ellipsize(&path, 90)}</div>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

/// The comparison of two traces of the loaded set. `a`/`b` are trace ids (kept in the URL).
#[component]
pub fn CompareView(
    loaded: Arc<Loaded>,
    a: RwSignal<Option<String>>,
    b: RwSignal<Option<String>>,
    /// Opens (trace id, span id).
    #[prop(into)]
    on_open_span: Callback<(String, String)>,
) -> impl IntoView {
    let l2 = loaded.clone();
    let result = Memo::new(move |_| -> Option<Result<Arc<TraceComparison>, String>> {
        let (ia, ib) = (l2.find(a.get()?.as_str())?, l2.find(b.get()?.as_str())?);
        Some(
            compare_traces(&l2.set, ia, &l2.set, ib)
                .map(Arc::new)
                .map_err(|e| e.to_string()),
        )
    });
    let options: Vec<(String, String)> = loaded
        .summaries
        .iter()
        .take(1000)
        .map(|s| (s.id.clone(), trace_label(&loaded, s.index)))
        .collect();
    let picker = move |which: &'static str, sig: RwSignal<Option<String>>, options: Vec<(String, String)>| {
        view! {
            <label class="cmp-pick">{format!("Trace {} ", which.to_uppercase())}
                <select data-testid=format!("compare-{which}") on:change=move |ev| {
                    let v = event_target_value(&ev);
                    sig.set((!v.is_empty()).then_some(v));
                }>
                    <option value="" selected=move || sig.get().is_none()>"— pick a trace —"</option>
                    {options.into_iter().map(|(id, label)| {
                        let id2 = id.clone();
                        view! { <option value=id selected=move || sig.get().as_deref() == Some(id2.as_str())>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
        }
    };
    let loaded2 = loaded.clone();
    let body = move || {
        let r = match result.get() {
            None => {
                return view! { <p class="muted an-note">"Pick two traces to compare. Load several traces (a multi-trace file, several files, or search results) to choose from."</p> }.into_any()
            }
            Some(Err(e)) => return view! { <div class="banner banner-error" role="alert">{e}</div> }.into_any(),
            Some(Ok(r)) => r,
        };
        let mut ops = r.operations.clone();
        ops.sort_by_key(|o| std::cmp::Reverse(o.total_delta_nanos.unsigned_abs()));
        view! {
            <dl class="an-figures cmp-figures" data-testid="compare-summary">
                <div><dt>"Duration A"</dt><dd>{units::duration(r.duration_a_nanos)}</dd></div>
                <div><dt>"Duration B"</dt><dd>{units::duration(r.duration_b_nanos)}</dd></div>
                <div><dt>"B − A"</dt><dd data-testid="compare-duration-delta" class:error-text=r.duration_delta_nanos.gt(&0)>{signed(r.duration_delta_nanos)}</dd></div>
                <div><dt>"Spans A / B"</dt><dd>{format!("{} / {}", r.span_count_a, r.span_count_b)}</dd></div>
            </dl>
            <div class="cmp-sides">
                <Unmatched side="a" items=r.only_in_a.clone() trace_id=r.trace_id_a.clone() loaded=loaded2.clone() on_open_span=on_open_span/>
                <Unmatched side="b" items=r.only_in_b.clone() trace_id=r.trace_id_b.clone() loaded=loaded2.clone() on_open_span=on_open_span/>
            </div>
            <h3>"Operations" <span class="muted">" count and duration, B − A, largest total change first"</span></h3>
            <div class="an-scroll">
            <table class="an-table" data-testid="compare-operations">
                <thead><tr><th>"Operation"</th><th class="num">"Count A"</th><th class="num">"Count B"</th><th class="num">"Δ count"</th>
                    <th class="num">"Total A"</th><th class="num">"Total B"</th><th class="num">"Δ total"</th><th class="num">"Avg A"</th><th class="num">"Avg B"</th><th class="num">"Δ avg"</th></tr></thead>
                <tbody>
                    {ops.into_iter().map(|o| view! {
                        <tr data-compare-op=format!("{}/{}", o.service, o.name) data-count-delta=o.count_delta.to_string()>
                            <td class="op-cell"><span class="chip" style:background=units::service_colour(&o.service)></span>
                                <span class="muted">{format!("{} / ", ellipsize(&o.service, 24))}</span>{ellipsize(&o.name, 50)}</td>
                            <td class="num">{o.count_a}</td><td class="num">{o.count_b}</td>
                            <td class="num" class:delta-up=o.count_delta.gt(&0) class:delta-down=o.count_delta.lt(&0)>{signed_count(o.count_delta)}</td>
                            <td class="num">{units::duration(o.total_a_nanos)}</td><td class="num">{units::duration(o.total_b_nanos)}</td>
                            <td class="num" class:delta-up=o.total_delta_nanos.gt(&0) class:delta-down=o.total_delta_nanos.lt(&0)>{signed(o.total_delta_nanos)}</td>
                            <td class="num">{units::duration(o.avg_a_nanos)}</td><td class="num">{units::duration(o.avg_b_nanos)}</td>
                            <td class="num" class:delta-up=o.avg_delta_nanos.gt(&0) class:delta-down=o.avg_delta_nanos.lt(&0)>{signed(o.avg_delta_nanos)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="an-view compare" data-testid="compare-view">
            <div class="an-toolbar">
                {picker("a", a, options.clone())}
                <button title="Swap A and B" aria-label="Swap A and B" on:click=move |_| {
                    let (x, y) = (a.get_untracked(), b.get_untracked());
                    a.set(y);
                    b.set(x);
                }>"⇄"</button>
                {picker("b", b, options)}
            </div>
            {body}
        </section>
    }
}
