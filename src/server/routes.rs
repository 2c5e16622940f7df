//! HTTP routes. Errors are JSON `{"error": "..."}` whose text depends on the request only,
//! never on what the store holds: nothing reveals whether a hidden record exists.

use super::cache::{TileEntry, TileKey};
use super::{assets, request, AppState, Loaded};
use crate::access::view::AccessContext;
use crate::access::Caller;
use crate::date::Day;
use crate::tiles::render::{self, TileRequest};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

const MVT: &str = "application/vnd.mapbox-vector-tile";

/// Tiles, TileJSON, styles, the viewer and health. Other features merge theirs in
/// [`super::router`].
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(index))
        .route("/health", get(health))
        .route("/tiles.json", get(tilejson))
        .route("/tiles/{z}/{x}/{y}", get(tile))
        .route("/styles/{file}", get(style))
        .route("/assets/{*path}", get(asset))
        .fallback(not_found)
}

/// A request refused: status and a message about the request itself.
pub struct Refusal(pub StatusCode, pub String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.1 }).to_string();
        let mut r = (self.0, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

pub fn bad(msg: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, msg.into())
}

async fn not_found() -> Refusal {
    Refusal(StatusCode::NOT_FOUND, "no such resource".into())
}

async fn index() -> Response {
    asset_response("index.html")
}

async fn asset(Path(path): Path<String>) -> Response {
    asset_response(&path)
}

fn asset_response(path: &str) -> Response {
    match assets::asset(path) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            a.bytes,
        )
            .into_response(),
        None => Refusal(StatusCode::NOT_FOUND, "no such asset".into()).into_response(),
    }
}

async fn style(Path(file): Path<String>) -> Response {
    let Some(name) = file.strip_suffix(".json") else {
        return Refusal(
            StatusCode::NOT_FOUND,
            "styles are /styles/{name}.json".into(),
        )
        .into_response();
    };
    match assets::style(name) {
        Some(b) => ([(header::CONTENT_TYPE, "application/json")], b).into_response(),
        None => Refusal(
            StatusCode::NOT_FOUND,
            format!("no style named {:?}", truncate(name)),
        )
        .into_response(),
    }
}

async fn health(State(s): State<Arc<AppState>>) -> Response {
    let body = serde_json::json!({
        "status": "ok",
        "generation": s.current().generation(),
        "reload": if s.last_reload_error().is_some() { "failed: serving the previous generation" } else { "ok" },
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The caller from the Authorization header: absent → public; anything present must be a
/// valid token, or the request is refused (never silently served as public).
pub fn caller(s: &AppState, headers: &HeaderMap) -> Result<Caller, Refusal> {
    let refused = || Refusal(StatusCode::UNAUTHORIZED, "invalid or expired token".into());
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(h) = values.next() else {
        return Ok(Caller::Public);
    };
    // Two Authorization headers: a proxy may have checked the other one.
    if values.next().is_some() {
        return Err(refused());
    }
    let text = h.to_str().map_err(|_| refused())?;
    let verifier = s.verifier.as_ref().ok_or_else(refused)?;
    verifier
        .caller_from_header(Some(text))
        .map_err(|e| Refusal(StatusCode::UNAUTHORIZED, e.public_message().into()))
}

/// The caller's rights in a canonical text form: equal rights give equal text.
pub fn rights_key(caller: &Caller) -> Arc<str> {
    match caller {
        Caller::Public => {
            // Every public request's key holds this one text (no allocation per request).
            static PUBLIC: OnceLock<Arc<str>> = OnceLock::new();
            PUBLIC.get_or_init(|| Arc::from("public")).clone()
        }
        Caller::Agent { grants, .. } => {
            let mut g: Vec<String> = grants.iter().map(|g| format!("{g:?}")).collect();
            g.sort();
            g.dedup();
            Arc::from(format!("agent:{}", g.join("|")))
        }
    }
}

/// Today, computed at most once per second of the clock: a tile request needs the day, and
/// the local calendar date costs a time-zone lookup. Exact: a local midnight falls on a
/// whole second, and the day is recomputed as soon as the second changes.
fn today() -> Day {
    // The second (high 40 bits) and the day (low 24 bits) in one word, so that a reader
    // never pairs a second with another second's day.
    static TODAY: AtomicU64 = AtomicU64::new(0);
    let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) else {
        return Day::today();
    };
    let second = now.as_secs() & ((1 << 40) - 1);
    let seen = TODAY.load(Ordering::Relaxed);
    if seen != 0 && seen >> 24 == second {
        return Day((seen & 0xff_ffff) as i32);
    }
    let day = Day::today();
    if (1..0xff_ffff).contains(&day.0) {
        TODAY.store(second << 24 | day.0 as u64, Ordering::Relaxed);
    }
    day
}

async fn tile(
    State(s): State<Arc<AppState>>,
    Path((z, x, y)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    tile_answer(&s, &z, &x, &y, query.as_deref(), &headers).await
}

/// A tile for this request: `GET /tiles/{z}/{x}/{y}` with the path segments as decoded.
/// [`super::limits`]' connection service calls it directly for plain tile paths (no router
/// in between: a cached tile is the hot path), the tile route for the others.
pub async fn tile_answer(
    s: &Arc<AppState>,
    z: &str,
    x: &str,
    y: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, Refusal> {
    let tile = request::parse_tile_path(z, x, y)?;
    let (z, x, y) = (tile.z(), tile.x(), tile.y());
    let q = request::parse_tile_query(query)?;
    let caller = caller(s, headers)?;
    let public = caller == Caller::Public;
    // One generation for the whole request: filter expansion, cache key and rendering.
    let loaded = s.current();
    let today = today();
    let key = TileKey {
        rights: rights_key(&caller),
        serial: loaded.serial(),
        day: today.0,
        z,
        x,
        y,
        // The filters as written (canonical): with the generation's serial in the key, the
        // taxa they expand to are the same for every request that finds this entry.
        filter: request::tile_query_key(&q),
    };
    let wants_gzip = accepts_gzip(headers);
    let entry = match s.cache.get(&key) {
        // A cached tile first asked for compressed: compress off the async workers.
        Some(e) if wants_gzip && !e.has_gzip() => {
            let e2 = e.clone();
            tokio::task::spawn_blocking(move || e2.gzip())
                .await
                .map_err(|_| {
                    Refusal(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "tile rendering failed".into(),
                    )
                })?;
            e
        }
        Some(e) => e,
        None => {
            let filter = q.filter.into_filter(&loaded.taxonomy);
            let aggregate = q.aggregate;
            let state = s.clone();
            let l = loaded.clone();
            let s2 = state.clone();
            let e = s2
                .compute(move || {
                    let index = state.day_index(&l, today);
                    let ctx =
                        AccessContext::new(&l.store, &l.areas, &l.taxonomy, state.policy, &l.cells)
                            .with_index(Some(&index));
                    let req = TileRequest {
                        tile,
                        caller: &caller,
                        filter: &filter,
                        today,
                        aggregate,
                    };
                    state
                        .metrics
                        .tile_rendered(render::tile_source(&ctx, &req, &state.plan));
                    let raw =
                        state.with_encoder(|enc| render::render(&ctx, &req, &state.plan, enc));
                    let entry = TileEntry::new(raw);
                    if wants_gzip {
                        entry.gzip();
                    }
                    Arc::new(entry)
                })
                .await
                .map_err(|_| {
                    Refusal(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "tile rendering failed".into(),
                    )
                })?;
            s.cache.insert(key, e.clone());
            e
        }
    };
    Ok(with_generation(
        tile_response(&entry, public, wants_gzip, headers),
        &loaded,
    ))
}

/// Names the store generation a response was computed from (`X-Flou-Generation`): a client
/// (and the hot-reload test) can tell which generation answered.
pub fn with_generation(mut r: Response, loaded: &Loaded) -> Response {
    // The header value of the generation last seen by this thread, reused while it is
    // served (a new value per request was an allocation per tile).
    thread_local! {
        static LAST: RefCell<Option<(u64, HeaderValue)>> = const { RefCell::new(None) };
    }
    let generation = loaded.generation();
    let value = LAST.with(|last| {
        let mut last = last.borrow_mut();
        match last.as_ref() {
            Some((g, v)) if *g == generation => v.clone(),
            _ => {
                let v = HeaderValue::from(generation);
                *last = Some((generation, v.clone()));
                v
            }
        }
    });
    r.headers_mut().insert(GENERATION, value);
    r
}

const GENERATION: HeaderName = HeaderName::from_static("x-flou-generation");

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().split(';').next() == Some("gzip"))
        })
}

fn tile_response(e: &TileEntry, public: bool, wants_gzip: bool, headers: &HeaderMap) -> Response {
    // Static header values and the entry's own ETag value: no header is built per request.
    let mut h = HeaderMap::with_capacity(8);
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == e.etag || t.trim() == "*"));
    if !not_modified {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if public {
            "public, max-age=300"
        } else {
            "private, max-age=60"
        }),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Authorization, Accept-Encoding"),
    );
    h.insert(header::ETAG, e.etag_value().clone());
    if not_modified {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        *r.headers_mut() = h;
        return r;
    }
    let gzip = if wants_gzip {
        Some(e.gzip()).filter(|g| !g.is_empty())
    } else {
        None
    };
    let body = match gzip {
        Some(gzip) => {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            gzip
        }
        None => e.raw.clone(),
    };
    let mut r = Response::new(Body::from(body));
    *r.headers_mut() = h;
    r
}

async fn tilejson(
    State(s): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    // Validate the filters now so a viewer learns of a bad one here, not per tile.
    request::parse_tile_query(query.as_deref())?;
    let loaded = s.current();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("127.0.0.1");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    let qs = query.map(|q| format!("?{q}")).unwrap_or_default();
    // Bounds and centre of the areas (public geography), never of the observations.
    let areas = loaded.store.areas();
    let b = (0..areas.departement_count()).fold(crate::geo::BBox::EMPTY, |b, d| {
        b.union(&areas.departement_bbox(d))
    });
    let (bounds, center) = if b.is_empty() {
        (vec![-180.0, -85.0, 180.0, 85.0], vec![2.5, 46.5, 5.0])
    } else {
        (
            vec![b.min[0], b.min[1], b.max[0], b.max[1]],
            vec![
                (b.min[0] + b.max[0]) / 2.0,
                (b.min[1] + b.max[1]) / 2.0,
                7.0,
            ],
        )
    };
    let p = &s.plan;
    // Past this zoom, clients overzoom: from `points_max_zoom` on, tiles hold every point.
    let maxzoom = p.points_max_zoom.max(p.communes_from);
    let body = serde_json::json!({
        "tilejson": "3.0.0",
        "name": "flou",
        "description": "SINP observations, each at the precision this caller may see",
        "attribution": "Observations: SINP producers; areas: IGN ADMIN EXPRESS (Licence Ouverte)",
        "scheme": "xyz",
        "tiles": [format!("{scheme}://{host}/tiles/{{z}}/{{x}}/{{y}}.mvt{qs}")],
        "minzoom": 0,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": center,
        "vector_layers": [
            {"id": "aggregates", "minzoom": 0, "maxzoom": p.aggregates_max(),
             "description": "Counts and species richness per department (low zooms), 10 km cell, 1 km cell (when configured) or H3 cell",
             "fields": {"unit": "String", "code": "String", "name": "String", "observations": "Number", "taxa": "Number"}},
            {"id": "blurred", "minzoom": p.departement_max + 1, "maxzoom": maxzoom,
             "description": "One feature per diffusion area: observations this caller sees blurred there",
             "fields": {"kind": "String", "precision": "String", "code": "String", "name": "String", "observations": "Number", "taxa": "Number"}},
            {"id": "observations", "minzoom": p.aggregates_max() + 1, "maxzoom": maxzoom,
             "description": "Observations this caller may see precisely; in dense tiles below maxzoom, those sharing a small square are one point group (observations = their count, no id)",
             "fields": {"id": "String", "cd_ref": "Number", "name": "String", "date_debut": "String", "date_fin": "String", "dataset": "String", "level": "String", "observations": "Number"}},
            {"id": "boundaries", "minzoom": 0, "maxzoom": maxzoom,
             "description": "Departments, and communes from zoom 10",
             "fields": {"kind": "String", "code": "String", "name": "String"}}
        ]
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body.to_string(),
    )
        .into_response())
}
