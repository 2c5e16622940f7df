//! `GET /indicators`, `GET /indicators/{indicator}` and the ORB dashboard (`GET /dashboard`).
//! Indicators are computed for the caller's rights (public, or an agent's verified grants)
//! from the access view, like tiles; errors name the parameter at fault and nothing else.

use super::request::{self, FilterQuery};
use super::routes::{bad, caller, rights_key, with_generation, Refusal};
use super::{assets, AppState, Loaded};
use crate::access::view::{AccessContext, AccessView, RecordFilter};
use crate::access::Caller;
use crate::date::Day;
use crate::indicators::{self, output, Indicator, Lists, Query, UnitKind};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use super::request::MAX_QUERY;
const MAX_YEARS: u32 = 500;
/// Bytes of answers kept; when full, the cache is emptied (answers are cheap to redo,
/// a whole-store scan each).
const CACHE_BYTES: usize = 64 << 20;

/// Answers by (caller's full rights, day, store generation, request): a store scan per
/// request costs seconds at 10 M records, and the dashboard asks the same again. An entry
/// is used only for the very store it was computed from (a weak reference to it) and by
/// callers of exactly the same rights.
struct AnswerCache {
    /// Bodies as `Bytes`: a response shares the cached body instead of copying it (a copy
    /// of a 1.6 MB answer per hit made RSS climb to ~1 GB in the soak, allocator slack).
    entries: HashMap<String, (Weak<super::Loaded>, Bytes)>,
    bytes: usize,
}

fn answer_cache() -> &'static Mutex<AnswerCache> {
    static CACHE: OnceLock<Mutex<AnswerCache>> = OnceLock::new();
    CACHE.get_or_init(|| {
        Mutex::new(AnswerCache {
            entries: HashMap::new(),
            bytes: 0,
        })
    })
}

fn cached(key: &str, loaded: &Arc<super::Loaded>) -> Option<Bytes> {
    let c = answer_cache().lock().ok()?;
    let (store, body) = c.entries.get(key)?;
    store
        .upgrade()
        .filter(|l| Arc::ptr_eq(l, loaded))
        .map(|_| body.clone())
}

fn remember(key: String, loaded: &Arc<super::Loaded>, body: Bytes) {
    let Ok(mut c) = answer_cache().lock() else {
        return;
    };
    if c.bytes + body.len() > CACHE_BYTES {
        c.entries.clear();
        c.bytes = 0;
    }
    if body.len() <= CACHE_BYTES {
        c.bytes += body.len();
        c.entries.insert(key, (Arc::downgrade(loaded), body));
    }
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/indicators", get(list))
        .route("/indicators/{indicator}", get(indicator))
        .route("/dashboard", get(dashboard))
}

async fn dashboard() -> Response {
    match assets::asset("dashboard.html") {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            a.bytes,
        )
            .into_response(),
        None => Refusal(StatusCode::NOT_FOUND, "no dashboard".into()).into_response(),
    }
}

async fn list() -> Response {
    let items: Vec<serde_json::Value> = Indicator::ALL
        .iter()
        .map(|i| {
            serde_json::json!({
                "name": i.name(),
                "description": i.description(),
                "href": format!("/indicators/{}", i.name()),
                "by": i.takes_by(),
            })
        })
        .collect();
    let body = serde_json::json!({
        "indicators": items,
        "units": ["maille10", "commune", "departement", "region", "h3:{0-10}", "all"],
        "formats": ["json", "csv", "geojson"],
        "parameters": {
            "unit": "spatial unit (default maille10)",
            "from": "YYYY-MM-DD: observations ending on or after",
            "to": "YYYY-MM-DD: observations starting on or before",
            "taxon": "cd_ref list (descendants included)",
            "group": "taxonomic group list (group2_inpn)",
            "dataset": "idSINPJdd list",
            "by": "year (of the start date) and/or group (group2_inpn), for observations, richness, pressure and precise-share",
            "years": "knowledge-gaps window in years (default 20)",
            "format": "json (default), csv or geojson",
        },
        "placement": "a record counts in a unit only if the unit contains its diffusion area for the caller, or is chosen from that area alone; the others are counted per reason in not_placed",
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    GeoJson,
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

fn names_of_indicators() -> String {
    Indicator::ALL
        .iter()
        .map(|i| i.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Validated request: the query, the record filter and the format.
fn parse(
    loaded: &Loaded,
    name: &str,
    q: Option<&str>,
) -> Result<(Query, RecordFilter, Format), Refusal> {
    let ind = Indicator::parse(name).ok_or_else(|| {
        bad(format!(
            "unknown indicator {:?}: expected one of {}",
            truncate(name),
            names_of_indicators()
        ))
    })?;
    let q = q.unwrap_or("");
    if q.len() > MAX_QUERY {
        return Err(bad(format!("query string longer than {MAX_QUERY} bytes")));
    }
    let mut query = Query::new(ind, UnitKind::Maille10);
    let mut filters = FilterQuery::default();
    let mut format = Format::Json;
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        if filters.take(&k, &v)? {
            continue;
        }
        match k.as_ref() {
            "unit" => {
                query.unit = UnitKind::parse(&v).ok_or_else(|| {
                    bad(format!(
                        "unknown unit {:?}: expected maille10, commune, departement, region, all or h3:0 to h3:{}",
                        truncate(&v),
                        indicators::MAX_H3_RES
                    ))
                })?
            }
            "format" => {
                format = match v.as_ref() {
                    "json" => Format::Json,
                    "csv" => Format::Csv,
                    "geojson" => Format::GeoJson,
                    other => {
                        return Err(bad(format!(
                            "unknown format {:?}: expected json, csv or geojson",
                            truncate(other)
                        )))
                    }
                }
            }
            "group" => {
                query
                    .groups
                    .get_or_insert_with(BTreeSet::new)
                    .extend(request::list(&v)?);
            }
            "years" => {
                query.years = v
                    .parse()
                    .ok()
                    .filter(|y| (1..=MAX_YEARS).contains(y))
                    .ok_or_else(|| bad(format!("years: expected 1 to {MAX_YEARS}")))?
            }
            "by" => {
                if !ind.takes_by() {
                    return Err(bad(format!(
                        "by: {} does not take by (observations, richness, pressure and precise-share do)",
                        ind.name()
                    )));
                }
                for b in request::list(&v)? {
                    match b.as_str() {
                        "year" => query.by_year = true,
                        "group" => query.by_group = true,
                        other => {
                            return Err(bad(format!(
                                "by {:?}: expected year, group or year,group",
                                truncate(other)
                            )))
                        }
                    }
                }
            }
            "_" | "v" => {}
            other => {
                return Err(bad(format!(
                    "unknown parameter {:?}: indicators take unit, from, to, taxon, group, dataset, by, years and format",
                    truncate(other)
                )))
            }
        }
    }
    filters.finish()?;
    Ok((query, filters.into_filter(&loaded.taxonomy), format))
}

async fn indicator(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let loaded = s.current();
    let (query, filter, format) = parse(&loaded, &name, q.as_deref())?;
    let caller = caller(&s, &headers)?;
    let public = caller == Caller::Public;
    let today = Day::today();
    let fmt_name = match format {
        Format::Json => "json",
        Format::Csv => "csv",
        Format::GeoJson => "geojson",
    };
    let key = format!(
        "{}\n{:?}\n{}\n{}\n{}\n{query:?}\n{filter:?}",
        rights_key(&caller),
        s.policy,
        today.0,
        loaded.serial(),
        fmt_name
    );
    let file_name = format!(
        "{}-{}.csv",
        query.indicator.name(),
        query.unit.name().replace(':', "")
    );
    let hit = cached(&key, &loaded);
    s.metrics.indicator_cache(hit.is_some());
    let body = match hit {
        Some(b) => b,
        None => {
            let b = Bytes::from(
                compute_body(
                    s.clone(),
                    loaded.clone(),
                    caller,
                    query,
                    filter,
                    format,
                    today,
                )
                .await?,
            );
            remember(key, &loaded, b.clone());
            b
        }
    };
    respond(body, format, public, &file_name).map(|r| with_generation(r, &loaded))
}

async fn compute_body(
    state: Arc<AppState>,
    loaded: Arc<Loaded>,
    caller: Caller,
    query: Query,
    filter: RecordFilter,
    format: Format,
    today: Day,
) -> Result<Vec<u8>, Refusal> {
    let s = state.clone();
    s.compute(move || -> Result<Vec<u8>, String> {
        let l = &loaded;
        let lists = Lists::load(
            Some(&crate::ingest::pipeline::default_data_dir()),
            &l.taxonomy,
        )
        .map_err(|e| e.to_string())?;
        let ctx = AccessContext::new(&l.store, &l.areas, &l.taxonomy, state.policy, &l.cells);
        let view = AccessView {
            ctx: &ctx,
            caller: &caller,
            today,
            filter: &filter,
        };
        let answer = indicators::compute(&view, &l.taxonomy, &lists, &query);
        Ok(match format {
            Format::Json => output::to_json(&answer).to_string().into_bytes(),
            Format::Csv => output::to_csv(&answer),
            Format::GeoJson => output::to_geojson(&ctx, &lists, &answer)
                .to_string()
                .into_bytes(),
        })
    })
    .await
    .map_err(|_| {
        Refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "indicator computation failed".into(),
        )
    })?
    .map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, e))
}

fn respond(
    body: Bytes,
    format: Format,
    public: bool,
    file_name: &str,
) -> Result<Response, Refusal> {
    let content_type = match format {
        Format::Json => "application/json",
        Format::Csv => "text/csv; charset=utf-8",
        Format::GeoJson => "application/geo+json",
    };
    let cache = if public {
        "public, max-age=300"
    } else {
        "private, no-store"
    };
    let mut r = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
            (header::VARY, "Authorization"),
        ],
        body,
    )
        .into_response();
    if format == Format::Csv {
        let file = format!("attachment; filename=\"{file_name}\"");
        if let Ok(v) = header::HeaderValue::from_str(&file) {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(r)
}
