//! Tempo-compatible query endpoints, answering as a real Tempo does (`shared/design/tempo-api.md`
//! and the recorded answers in `shared/tempo-api/responses/`): readiness, trace by id (v1 and
//! v2), search, tag names and values, and TraceQL metrics.
//!
//! Parameters and response shapes come from `spanlens_core::tempo_api`, queries from
//! `spanlens_core::query`, the trace JSON/protobuf from `spanlens_core::formats::writers`; this
//! module only reads the store and glues those together. Errors are `400 text/plain` with
//! Tempo's text (see [`ApiError`]).
//!
//! Submodules: [`common`] (tenants, blocking store calls, time), [`metrics`] (TraceQL metrics
//! evaluation over the stored spans), [`render`] (trace bodies), [`search`] (the TraceQL
//! search loop over the store's prefiltered candidates).

pub mod common;
pub mod metrics;
pub mod render;
pub mod search;

use crate::api::error::ApiError;
use crate::state::AppState;
use crate::store::{TagScope, TraceFilter};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::{blocking, pairs, param, tenants, Json};
use spanlens_core::model::{TraceId, TraceSet};
use spanlens_core::query::{self, FieldRef, Intrinsic, QueryError};
use spanlens_core::tempo_api::{
    self, BuildInfo, ParamError, QueryMetrics, SearchParams, TagNamesResponse, TagNamesV2Response,
    TagScopeNames, TagScopeParam, TagValuesResponse, TagValuesV2Response, TraceSearchMetadata, TypedTagValue,
};
use std::collections::BTreeSet;

/// Query pairs as decoded by axum.
pub type QueryPairs = Query<Vec<(String, String)>>;

impl From<ParamError> for ApiError {
    fn from(e: ParamError) -> Self {
        ApiError::BadRequest(e.0)
    }
}

fn text(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// `GET /ready`: `ready\n`.
pub async fn ready() -> Response {
    text("ready\n")
}

/// `GET /api/echo`: `echo\n` (Grafana's data-source test).
pub async fn echo() -> Response {
    text("echo\n")
}

/// `GET /api/status/buildinfo`: Tempo's keys, our version. `goVersion` names the Rust
/// toolchain target instead (the key stays for clients that read it).
pub async fn buildinfo() -> Response {
    Json(BuildInfo {
        version: format!("v{}", env!("CARGO_PKG_VERSION")),
        revision: option_env!("SPANLENS_GIT_REVISION").unwrap_or("").to_string(),
        branch: option_env!("SPANLENS_GIT_BRANCH").unwrap_or("").to_string(),
        build_user: String::new(),
        build_date: option_env!("SPANLENS_BUILD_DATE").unwrap_or("").to_string(),
        go_version: String::new(),
    })
    .into_response()
}

/// `start`/`end` of trace by id (unix seconds) as a nanosecond window; 0 or absent = open.
fn trace_window(pairs: &[(String, String)]) -> Result<Option<(u64, u64)>, ApiError> {
    let start = match param(pairs, "start") {
        Some(v) => tempo_api::parse_unix_seconds("start", v)?,
        None => 0,
    };
    let end = match param(pairs, "end") {
        Some(v) => tempo_api::parse_unix_seconds("end", v)?,
        None => 0,
    };
    if start == 0 && end == 0 {
        return Ok(None);
    }
    if end != 0 && start > end {
        return Err(ApiError::BadRequest(format!(
            "http parameter start must be before end. received start={start} end={end}"
        )));
    }
    let to_nanos = |s: i64| u64::try_from(s).unwrap_or(0).saturating_mul(1_000_000_000);
    let end_nanos = if end == 0 { u64::MAX } else { to_nanos(end) };
    Ok(Some((to_nanos(start), end_nanos)))
}

fn wants_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/protobuf") || v.contains("application/x-protobuf"))
}

/// `GET /api/traces/{id}`: `{"batches":[…]}` or protobuf; unknown → 404 with an empty body.
pub async fn trace_v1(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): QueryPairs,
) -> Result<Response, ApiError> {
    let trace_id = tempo_api::parse_trace_id(&id)?;
    let window = trace_window(&q)?;
    let tenants = tenants(&state, &headers)?;
    let store = state.store.clone();
    let found = blocking(move || Ok(store.get_trace(&tenants, trace_id, window)?)).await?;
    let Some(stored) = found else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    if wants_protobuf(&headers) {
        return render::protobuf_v1(&stored.set);
    }
    render::json_v1(&stored.set)
}

/// `GET /api/v2/traces/{id}`: `{"trace":{…},"metrics":{…}}`; unknown → 200 with empty objects;
/// `q=` keeps the matching spans (with `keep_hierarchy=true`, their ancestors too) and marks the
/// answer PARTIAL, as does a trace cut at the size cap.
pub async fn trace_v2(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): QueryPairs,
) -> Result<Response, ApiError> {
    let trace_id = tempo_api::parse_trace_id(&id)?;
    let window = trace_window(&q)?;
    let filter = match param(&q, "q").map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => Some(query::parse_single_filter(text).map_err(|e| match e {
            QueryError::Parse(p) => ApiError::BadRequest(format!("invalid TraceQL filter: {p}")),
            other => ApiError::BadRequest(format!("invalid TraceQL filter: {other}")),
        })?),
        None => None,
    };
    let keep = param(&q, "keep_hierarchy").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let tenants = tenants(&state, &headers)?;
    let store = state.store.clone();
    let found = blocking(move || Ok(store.get_trace(&tenants, trace_id, window)?)).await?;
    let protobuf = wants_protobuf(&headers);
    let Some(stored) = found else {
        return render::v2(None, protobuf);
    };
    let mut message = None;
    let set = stored.set;
    if stored.partial {
        message = Some(render::TRUNCATED_MESSAGE);
    }
    let spans = match filter {
        Some(filter) => {
            message = Some(render::FILTERED_MESSAGE);
            filtered_spans(&set, trace_id, &filter, keep)
        }
        None => render::every_span(&set),
    };
    render::v2(Some((&set, &spans, message)), protobuf)
}

/// The spans of `trace_id` in `set` that `filter` selects (plus ancestors when `keep`), in
/// set order.
fn filtered_spans(set: &TraceSet, trace_id: TraceId, filter: &query::Query, keep: bool) -> Vec<u32> {
    let Some(trace_index) = set.find_trace(trace_id) else {
        return Vec::new();
    };
    let chosen = query::matching_spans(set, trace_index, filter);
    if keep {
        query::keep_hierarchy(set, &chosen)
    } else {
        chosen
    }
}

/// `GET /api/search`: TraceQL (`q`) through the core evaluator, or `tags`/durations through the
/// store's indexes. Most recent first, at most `limit`.
pub async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): QueryPairs,
) -> Result<Response, ApiError> {
    let params = SearchParams::from_pairs(pairs(&q))?;
    let parsed = match params.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => Some(
            query::parse_search(text)
                .map_err(|e| ApiError::BadRequest(format!("invalid TraceQL query: {e}")))?,
        ),
        None => None,
    };
    let tenants = tenants(&state, &headers)?;
    let mut filter = TraceFilter {
        start_unix_nanos: params.start.map(secs_to_nanos),
        end_unix_nanos: params.end.map(secs_to_nanos),
        min_duration_nanos: params.min_duration_nanos.filter(|d| *d > 0),
        max_duration_nanos: params.max_duration_nanos.filter(|d| *d > 0),
        limit: params.limit as usize,
        ..TraceFilter::default()
    };
    for (k, v) in &params.tags {
        match k.as_str() {
            "name" | "span.name" => filter.span_name = Some(v.clone()),
            "service.name" | "resource.service.name" => filter.service = Some(v.clone()),
            "error" if v == "true" => filter.errors_only = true,
            "status.code" | "status" if v == "error" || v == "2" => filter.errors_only = true,
            _ => filter.attributes.push((k.clone(), v.clone())),
        }
    }
    let store = state.store.clone();
    let body = blocking(move || {
        let Some(parsed) = parsed else {
            let summaries = store.find_traces(&tenants, &filter)?;
            let traces = summaries.iter().map(summary_to_tempo).collect();
            let metrics = QueryMetrics {
                inspected_traces: summaries.len() as u32,
                completed_jobs: 1,
                total_jobs: 1,
                ..QueryMetrics::default()
            };
            return serde_json::to_value(tempo_api::SearchResponse { traces, metrics })
                .map_err(|e| ApiError::Internal(e.to_string()));
        };
        let found = search::traceql(store.as_ref(), &tenants, &filter, &parsed, params.spss as usize)?;
        let inspected = found.inspected_traces;
        let found = found.traces;
        let out = found
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let metrics = QueryMetrics {
            inspected_traces: inspected,
            completed_jobs: 1,
            total_jobs: 1,
            ..QueryMetrics::default()
        };
        Ok(serde_json::json!({ "traces": out, "metrics": metrics }))
    })
    .await?;
    Ok(Json(body).into_response())
}

fn secs_to_nanos(s: i64) -> u64 {
    u64::try_from(s).unwrap_or(0).saturating_mul(1_000_000_000)
}

fn summary_to_tempo(s: &crate::store::TraceSummary) -> TraceSearchMetadata {
    let duration_ms = s.end_unix_nanos.saturating_sub(s.start_unix_nanos) / 1_000_000;
    TraceSearchMetadata {
        trace_id: s.trace_id.to_hex_trimmed(),
        root_service_name: if s.root_service.is_empty() {
            tempo_api::ROOT_SPAN_NOT_YET_RECEIVED.to_string()
        } else {
            s.root_service.clone()
        },
        root_trace_name: s.root_name.clone(),
        start_time_unix_nano: s.start_unix_nanos,
        duration_ms: u32::try_from(duration_ms).unwrap_or(u32::MAX),
        ..TraceSearchMetadata::default()
    }
}

fn store_scope(s: TagScopeParam) -> Option<TagScope> {
    match s {
        TagScopeParam::Resource => Some(TagScope::Resource),
        TagScopeParam::Span => Some(TagScope::Span),
        TagScopeParam::Event => Some(TagScope::Event),
        TagScopeParam::Link => Some(TagScope::Link),
        TagScopeParam::Intrinsic => None,
    }
}

fn scope_param(s: TagScope) -> TagScopeParam {
    match s {
        TagScope::Resource => TagScopeParam::Resource,
        TagScope::Span => TagScopeParam::Span,
        TagScope::Event => TagScopeParam::Event,
        TagScope::Link => TagScopeParam::Link,
    }
}

/// Recent traces a `q=` narrowing of the tag endpoints looks at.
const TAG_QUERY_TRACES: usize = 1000;

/// Tag names per scope from the spans `q` matches in recent traces.
fn names_matching(
    store: &dyn crate::store::TraceStore,
    tenants: &[String],
    q: &query::Query,
) -> Result<Vec<(TagScope, String)>, ApiError> {
    let recent = store.find_traces(
        tenants,
        &TraceFilter {
            limit: TAG_QUERY_TRACES,
            ..TraceFilter::default()
        },
    )?;
    let ids: Vec<TraceId> = recent.iter().map(|s| s.trace_id).collect();
    let set = store.load_traces(tenants, &ids)?;
    let mut out = BTreeSet::new();
    for (ti, _) in set.traces().iter().enumerate() {
        for si in query::matching_spans(&set, ti as u32, q) {
            let Some(span) = set.span(si) else { continue };
            for kv in set.attrs(span) {
                out.insert((TagScope::Span, set.str(kv.key).to_string()));
            }
            for kv in set.arena.kv_slice(set.resource(span).attrs) {
                out.insert((TagScope::Resource, set.str(kv.key).to_string()));
            }
            for ev in set.events(span) {
                for kv in set.arena.kv_slice(ev.attrs) {
                    out.insert((TagScope::Event, set.str(kv.key).to_string()));
                }
            }
            for link in set.links(span) {
                for kv in set.arena.kv_slice(link.attrs) {
                    out.insert((TagScope::Link, set.str(kv.key).to_string()));
                }
            }
        }
    }
    Ok(out.into_iter().collect())
}

fn parse_tag_query(q: &[(String, String)]) -> Result<Option<query::Query>, ApiError> {
    match param(q, "q")
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "{}")
    {
        Some(text) => {
            Ok(Some(query::parse_search(text).map_err(|e| {
                ApiError::BadRequest(format!("invalid TraceQL query: {e}"))
            })?))
        }
        None => Ok(None),
    }
}

/// Tag names for the tag endpoints: from the store's index, or from `q`'s matches.
async fn tag_names(
    state: &AppState,
    headers: &HeaderMap,
    q: &[(String, String)],
) -> Result<(Option<TagScopeParam>, Vec<(TagScope, String)>), ApiError> {
    let scope = TagScopeParam::parse(param(q, "scope").unwrap_or(""))?;
    let narrowing = parse_tag_query(q)?;
    let tenants = tenants(state, headers)?;
    let store = state.store.clone();
    let names = blocking(move || match narrowing {
        Some(nq) => names_matching(store.as_ref(), &tenants, &nq),
        None => Ok(store.tag_names(&tenants, None)?),
    })
    .await?;
    let names = match scope {
        Some(s) => names
            .into_iter()
            .filter(|(ts, _)| Some(*ts) == store_scope(s))
            .collect(),
        None => names,
    };
    Ok((scope, names))
}

/// `GET /api/search/tags`: sorted attribute names (span, resource, event, link), no intrinsics
/// unless `scope=intrinsic`.
pub async fn tags_v1(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): QueryPairs,
) -> Result<Response, ApiError> {
    let (scope, names) = tag_names(&state, &headers, &q).await?;
    let mut tag_names: BTreeSet<String> = names.into_iter().map(|(_, n)| n).collect();
    if scope == Some(TagScopeParam::Intrinsic) {
        tag_names = tempo_api::INTRINSIC_TAGS.iter().map(|s| s.to_string()).collect();
    }
    Ok(Json(TagNamesResponse {
        tag_names: tag_names.into_iter().collect(),
        metrics: QueryMetrics::default(),
    })
    .into_response())
}

/// `GET /api/v2/search/tags`: names per scope, in Tempo's scope order (intrinsic, resource,
/// link, span, event); empty attribute scopes are left out.
pub async fn tags_v2(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): QueryPairs,
) -> Result<Response, ApiError> {
    let (scope, names) = tag_names(&state, &headers, &q).await?;
    let mut scopes = Vec::new();
    if scope.is_none() || scope == Some(TagScopeParam::Intrinsic) {
        scopes.push(TagScopeNames {
            name: "intrinsic".into(),
            tags: tempo_api::INTRINSIC_TAGS.iter().map(|s| s.to_string()).collect(),
        });
    }
    for s in [
        TagScope::Resource,
        TagScope::Link,
        TagScope::Span,
        TagScope::Event,
    ] {
        let tags: BTreeSet<String> = names
            .iter()
            .filter(|(ts, _)| *ts == s)
            .map(|(_, n)| n.clone())
            .collect();
        if !tags.is_empty() {
            scopes.push(TagScopeNames {
                name: scope_param(s).name().into(),
                tags: tags.into_iter().collect(),
            });
        }
    }
    Ok(Json(TagNamesV2Response {
        scopes,
        metrics: QueryMetrics::default(),
    })
    .into_response())
}

/// Most values listed per tag.
const TAG_VALUES_LIMIT: usize = 1000;

/// `GET /api/search/tag/{tag}/values`: the values of an unscoped attribute name as strings.
pub async fn tag_values_v1(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(tag): Path<String>,
) -> Result<Response, ApiError> {
    let tenants = tenants(&state, &headers)?;
    let store = state.store.clone();
    let values = blocking(move || Ok(store.tag_values(&tenants, None, &tag, TAG_VALUES_LIMIT)?)).await?;
    let set: BTreeSet<String> = values.into_iter().map(|v| v.value).collect();
    Ok(Json(TagValuesResponse {
        tag_values: set.into_iter().collect(),
        metrics: QueryMetrics::default(),
    })
    .into_response())
}

fn keyword(values: &[&str]) -> Vec<TypedTagValue> {
    values
        .iter()
        .map(|v| TypedTagValue {
            value_type: "keyword".into(),
            value: (*v).to_string(),
        })
        .collect()
}

/// `GET /api/v2/search/tag/{tag}/values`: typed values of a scoped attribute or intrinsic;
/// `status` and `kind` are keywords; an unscoped name is Tempo's 400.
pub async fn tag_values_v2(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(tag): Path<String>,
    Query(q): QueryPairs,
) -> Result<Response, ApiError> {
    let field = query::parse_field_name(&tag).map_err(|e| {
        ApiError::BadRequest(format!(
            "please provide a valid tagName: failed to parse identifier {tag}: {e}"
        ))
    })?;
    let narrowing = parse_tag_query(&q)?;
    let tenants = tenants(&state, &headers)?;
    let tag_values = match field {
        FieldRef::Intrinsic(Intrinsic::Status) => keyword(&["ok", "error", "unset"]),
        FieldRef::Intrinsic(Intrinsic::Kind) => keyword(&[
            "unspecified",
            "internal",
            "server",
            "client",
            "producer",
            "consumer",
        ]),
        FieldRef::Intrinsic(i) => {
            let store = state.store.clone();
            blocking(move || intrinsic_values(store.as_ref(), &tenants, i, narrowing.as_ref())).await?
        }
        FieldRef::Attr { scope, name } => {
            let store = state.store.clone();
            blocking(move || {
                let store_scope = match scope {
                    query::AttrScope::Any => None,
                    query::AttrScope::Span => Some(TagScope::Span),
                    query::AttrScope::Resource => Some(TagScope::Resource),
                };
                let values = store.tag_values(&tenants, store_scope, &name, TAG_VALUES_LIMIT)?;
                let values = match narrowing {
                    Some(nq) => {
                        let seen = attr_values_matching(store.as_ref(), &tenants, &nq, store_scope, &name)?;
                        values.into_iter().filter(|v| seen.contains(&v.value)).collect()
                    }
                    None => values,
                };
                Ok(values
                    .into_iter()
                    .map(|v| TypedTagValue {
                        value_type: v.value_type.to_string(),
                        value: v.value,
                    })
                    .collect())
            })
            .await?
        }
    };
    Ok(Json(TagValuesV2Response {
        tag_values,
        metrics: QueryMetrics::default(),
    })
    .into_response())
}

fn recent_set(store: &dyn crate::store::TraceStore, tenants: &[String]) -> Result<TraceSet, ApiError> {
    let recent = store.find_traces(
        tenants,
        &TraceFilter {
            limit: TAG_QUERY_TRACES,
            ..TraceFilter::default()
        },
    )?;
    let ids: Vec<TraceId> = recent.iter().map(|s| s.trace_id).collect();
    Ok(store.load_traces(tenants, &ids)?)
}

fn matched_spans(set: &TraceSet, q: Option<&query::Query>) -> Vec<u32> {
    match q {
        Some(q) => (0..set.traces().len() as u32)
            .flat_map(|t| query::matching_spans(set, t, q))
            .collect(),
        None => (0..set.span_count() as u32).collect(),
    }
}

/// Text values of one attribute over the spans `q` matches in recent traces.
fn attr_values_matching(
    store: &dyn crate::store::TraceStore,
    tenants: &[String],
    q: &query::Query,
    scope: Option<TagScope>,
    name: &str,
) -> Result<BTreeSet<String>, ApiError> {
    let set = recent_set(store, tenants)?;
    let mut out = BTreeSet::new();
    for si in matched_spans(&set, Some(q)) {
        let Some(span) = set.span(si) else { continue };
        let span_value = if scope != Some(TagScope::Resource) {
            set.span_attr(span, name)
        } else {
            None
        };
        let value = span_value.or_else(|| {
            if scope != Some(TagScope::Span) {
                set.resource_attr(span, name)
            } else {
                None
            }
        });
        if let Some(v) = value {
            out.insert(set.arena.value_text(v));
        }
    }
    Ok(out)
}

/// Values of the text intrinsics (`name`, `rootName`, `rootServiceName`, `statusMessage`) in
/// recent traces; other intrinsics (durations, ids) have no value list.
fn intrinsic_values(
    store: &dyn crate::store::TraceStore,
    tenants: &[String],
    intrinsic: Intrinsic,
    q: Option<&query::Query>,
) -> Result<Vec<TypedTagValue>, ApiError> {
    if !matches!(
        intrinsic,
        Intrinsic::Name | Intrinsic::RootName | Intrinsic::RootServiceName | Intrinsic::StatusMessage
    ) {
        return Ok(Vec::new());
    }
    let set = recent_set(store, tenants)?;
    let mut out = BTreeSet::new();
    for si in matched_spans(&set, q) {
        let Some(span) = set.span(si) else { continue };
        let value = match intrinsic {
            Intrinsic::Name => set.name(span).to_string(),
            Intrinsic::StatusMessage => set.str(span.status_message).to_string(),
            Intrinsic::RootName | Intrinsic::RootServiceName => {
                let root = set
                    .trace_of(span)
                    .and_then(|t| set.root_of(t))
                    .and_then(|r| set.span(r));
                match (root, intrinsic) {
                    (Some(r), Intrinsic::RootName) => set.name(r).to_string(),
                    (Some(r), _) => set.service_name(r).to_string(),
                    (None, _) => String::new(),
                }
            }
            _ => String::new(),
        };
        if !value.is_empty() {
            out.insert(value);
        }
    }
    Ok(out
        .into_iter()
        .map(|value| TypedTagValue {
            value_type: "string".into(),
            value,
        })
        .collect())
}

/// `GET /api/metrics/query_range`: see [`metrics`].
pub async fn metrics_query_range(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): QueryPairs,
) -> Result<Response, ApiError> {
    metrics::handle(state, headers, q, false).await
}

/// `GET /api/metrics/query`: the instant version (one value per series over the range).
pub async fn metrics_query(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): QueryPairs,
) -> Result<Response, ApiError> {
    metrics::handle(state, headers, q, true).await
}
