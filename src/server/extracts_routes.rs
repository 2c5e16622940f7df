//! `POST /extracts`: an extract request (JSON body, see [`crate::extracts::ExtractRequest`])
//! answered for the caller's rights. Without a query: the request summary as JSON.
//! `?file=F1|F2|F3-GROUP&format=geojson|fgb|csv`: that file (404 when the caller has no such
//! file). Unknown fields or parameters → 400; an invalid token → 401.
//!
//! `released_groups` (groups whose sensitive data goes to F2 without review) is the
//! platform's decision, `[extracts] released_groups` in flou.toml (default: none, so every
//! sensitive precise record goes to an F3 file); a request may not set it.

use super::routes::{bad, caller, Refusal};
use super::AppState;
use crate::access::view::AccessContext;
use crate::date::Day;
use crate::extracts::output::{self, Format};
use crate::extracts::{self, ExtractError, ExtractRequest};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::sync::Arc;

/// Largest request body (a perimeter of ~40,000 vertices).
pub const MAX_BODY: usize = 1024 * 1024;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/extracts", post(extract))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

async fn extract(
    State(s): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let caller = caller(&s, &headers)?;
    let mut file: Option<String> = None;
    let mut format = Format::GeoJson;
    for (k, v) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "file" => file = Some(v.into_owned()),
            "format" => {
                format =
                    Format::parse(&v).ok_or_else(|| bad("format: expected geojson, fgb or csv"))?
            }
            other => {
                return Err(bad(format!(
                    "unknown parameter {:?}: extracts take file and format",
                    short(other)
                )))
            }
        }
    }
    let req: ExtractRequest = serde_json::from_slice(&body)
        .map_err(|e| bad(format!("request body: {}", short_err(&e))))?;
    if req.released_groups.is_some() {
        return Err(bad(
            "released_groups is set by the platform, not by a request",
        ));
    }
    let public = caller == crate::access::Caller::Public;
    let state = s.clone();
    let loaded = s.current();
    let out = s
        .compute(move || -> Result<Response, ExtractError> {
            let l = &loaded;
            let today = Day::today();
            let index = state.day_index(l, today);
            let ctx = AccessContext::new(&l.store, &l.areas, &l.taxonomy, state.policy, &l.cells)
                .with_index(Some(&index));
            let ex = extracts::run(
                &ctx,
                &l.taxonomy,
                &caller,
                &req,
                &state.released_groups,
                today,
            )?;
            let cache = if public {
                "public, max-age=60"
            } else {
                "private, no-store"
            };
            let Some(name) = file else {
                let body = serde_json::to_string(&ex.summary)
                    .map_err(|e| ExtractError::Write("summary".into(), e.to_string()))?;
                return Ok((
                    [
                        (header::CONTENT_TYPE, "application/json"),
                        (header::CACHE_CONTROL, cache),
                        (header::VARY, "Authorization"),
                    ],
                    body,
                )
                    .into_response());
            };
            let Some(rows) = ex.file(&name) else {
                return Ok(
                    Refusal(StatusCode::NOT_FOUND, "no such file in this extract".into())
                        .into_response(),
                );
            };
            let bytes = output::write(&ctx, &l.taxonomy, &rows, format, &name)?;
            // `name` matched a file of the extract: letters, digits, '_' and '-' only.
            let disposition = format!("attachment; filename=\"{name}.{}\"", format.extension());
            Ok((
                [
                    (header::CONTENT_TYPE, format.content_type().to_string()),
                    (header::CACHE_CONTROL, cache.to_string()),
                    (header::VARY, "Authorization".to_string()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response())
        })
        .await
        .map_err(|_| Refusal(StatusCode::INTERNAL_SERVER_ERROR, "extract failed".into()))?;
    out.map_err(|e| match e {
        ExtractError::Request(m) => bad(m),
        _ => Refusal(StatusCode::INTERNAL_SERVER_ERROR, "extract failed".into()),
    })
}

/// serde's message names the field and the position in the body, never store content.
fn short_err(e: &serde_json::Error) -> String {
    e.to_string().chars().take(200).collect()
}
