//! Structured logs (tracing → one JSON object per line on stderr) and the per-request
//! middleware that writes the request line and feeds `/metrics`.
//!
//! What a request line holds, and why nothing more:
//! - the route's **name** and, for tiles, the **zoom** only. A tile's x/y is never logged:
//!   an agent zooming on z14 tiles names a 2.4 km square where it looks at precise data,
//!   that is, where sensitive records are. One rule for every caller is easier to audit.
//! - the **names** of the query filters (`taxon,from`), never their values (a taxon or
//!   dataset an agent filters on, next to its other requests, says what it looks for).
//! - the **caller kind** (`public`; `agent`: a token was sent and not refused; `rejected`:
//!   a 401; `scraper`: a token sent to `/metrics`): never the token, the Authorization
//!   header, the subject or the grants.
//! - the store **generation** that answered, the status and the latency.
//!
//! Bodies (extract perimeters) are never read here. The request id is generated, or taken
//! from `X-Request-Id` when it is short and made of `[A-Za-z0-9_-]` only (no dot: a
//! caller-supplied id cannot carry a decimal coordinate into the log), and is returned in
//! `X-Request-Id`.

use super::config::LogSection;
use super::metrics::{InFlight, Route, MAX_ZOOM};
use super::{AppState, ServerError};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const MAX_REQUEST_ID: usize = 64;

/// UTC timestamps to the millisecond: a timestamp's fraction never has the 4+ decimals of
/// a coordinate (the log test scans for every record's coordinates).
struct MillisUtc;

impl FormatTime for MillisUtc {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        write!(w, "{}", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"))
    }
}

/// Installs the process's log subscriber: `RUST_LOG` (when set) or `[log] level`, default
/// `info`; `[log] format` `json` (default) or `text`; to stderr. A second call is a no-op.
pub fn init(section: &LogSection) -> Result<(), ServerError> {
    let level = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| section.level.clone())
        .unwrap_or_else(|| "info".into());
    let targets = Targets::from_str(&level)
        .map_err(|e| ServerError::Config(format!("log level {level:?}: {e}")))?;
    let json = match section.format.as_deref() {
        None | Some("json") => true,
        Some("text") => false,
        Some(other) => {
            return Err(ServerError::Config(format!(
                "log.format {other:?}: expected json or text"
            )))
        }
    };
    let base = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_timer(MillisUtc);
    // Err: a subscriber is already installed (tests calling init twice); keep it.
    let _ = if json {
        let layer = base.json().flatten_event(true).with_current_span(false);
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(layer).with(targets),
        )
    } else {
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(base).with(targets),
        )
    };
    Ok(())
}

/// The request id: the caller's `X-Request-Id` if short and safe (its header value, reused
/// as it came), else a new one.
fn request_id(headers: &HeaderMap) -> HeaderValue {
    if let Some(given) = headers.get(&REQUEST_ID) {
        let b = given.as_bytes();
        if (1..=MAX_REQUEST_ID).contains(&b.len())
            && b.iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        {
            return given.clone();
        }
    }
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    // A random prefix per process: ids do not repeat across restarts.
    let prefix = *PREFIX.get_or_init(rand::random::<u32>);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // `{prefix:08x}-{n:010x}` written on the stack: this runs on every request.
    let mut id = [0u8; 19];
    hex_into(&mut id[..8], u64::from(prefix));
    id[8] = b'-';
    hex_into(&mut id[9..], n);
    HeaderValue::from_bytes(&id).unwrap_or(HeaderValue::from_static("0"))
}

/// `v` in lower-case hex, zero-padded to `out`'s length (its low digits if longer).
fn hex_into(out: &mut [u8], mut v: u64) {
    for b in out.iter_mut().rev() {
        let d = (v & 0xf) as u8;
        *b = if d < 10 { b'0' + d } else { b'a' + d - 10 };
        v >>= 4;
    }
}

/// The zoom of a `/tiles/{z}/{x}/{y}.mvt` path, when it is a valid zoom.
fn tile_zoom(path: &str) -> Option<u8> {
    path.strip_prefix("/tiles/")?
        .split('/')
        .next()?
        .parse::<u8>()
        .ok()
        .filter(|z| *z <= MAX_ZOOM)
}

/// The query's parameter names, known ones only (an unknown name is `other`: names are
/// caller text too), in order of first appearance. Never the values.
fn filter_names(query: Option<&str>) -> String {
    const KNOWN: [&str; 14] = [
        "taxon",
        "from",
        "to",
        "dataset",
        "aggregate",
        "unit",
        "group",
        "by",
        "format",
        "years",
        "file",
        "indicator",
        "_",
        "v",
    ];
    let mut names: Vec<&'static str> = Vec::new();
    for (k, _) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let name = KNOWN.iter().find(|n| **n == k).copied().unwrap_or("other");
        if !names.contains(&name) {
            names.push(name);
        }
        if names.len() > KNOWN.len() {
            break;
        }
    }
    names.join(",")
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// One request being observed: what its log line and metrics need, taken from the request
/// before it is handed on. [`Observation::finish`] writes them from the response.
pub struct Observation<'s> {
    start: Instant,
    _in_flight: InFlight<'s>,
    /// The path's zoom if it is a tile path (used when the route is the tile route).
    path_zoom: Option<u8>,
    id: HeaderValue,
    method: &'static str,
    with_token: bool,
    /// The filter names, only when the request line will be written (level `info`).
    filters: Option<String>,
}

impl<'s> Observation<'s> {
    pub fn start<B>(s: &'s AppState, req: &axum::http::Request<B>) -> Self {
        let start = Instant::now();
        let _in_flight = s.metrics.start();
        // The request line's own fields cost formatting: skip them when the level filters
        // the line out (a server under load usually runs at `warn`).
        let filters = tracing::enabled!(target: "flou::request", tracing::Level::INFO)
            .then(|| filter_names(req.uri().query()));
        Observation {
            start,
            _in_flight,
            path_zoom: tile_zoom(req.uri().path()),
            id: request_id(req.headers()),
            method: method_name(req.method()),
            with_token: req.headers().contains_key(header::AUTHORIZATION),
            filters,
        }
    }

    /// Counts the request, writes its log line and gives the response its request id.
    pub fn finish(self, s: &AppState, route: Route, resp: &mut Response) {
        let micros = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let status = resp.status().as_u16();
        let zoom = match route {
            Route::Tile => self.path_zoom,
            _ => None,
        };
        s.metrics.record(route, zoom, status, micros);
        if let Some(filters) = &self.filters {
            let generation = resp
                .headers()
                .get("x-flou-generation")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or_else(|| s.current().generation());
            let caller = match (self.with_token, status, route) {
                (false, _, _) => "public",
                (true, _, Route::Metrics) => "scraper",
                (true, 401, _) => "rejected",
                (true, _, _) => "agent",
            };
            tracing::info!(
                target: "flou::request",
                id = self.id.to_str().unwrap_or(""),
                method = self.method,
                route = route.name(),
                zoom,
                status,
                latency_us = micros,
                caller,
                generation,
                filters = filters.as_str(),
                "request"
            );
        }
        resp.headers_mut().insert(REQUEST_ID, self.id);
    }
}

/// The middleware of every route (for [`super::router`]; `flou serve` observes in its
/// connection service, [`super::limits`]): request id, one log line, the request's metrics.
pub async fn observe(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = Route::of_template(req.extensions().get::<MatchedPath>().map(|m| m.as_str()));
    let seen = Observation::start(&s, &req);
    let mut resp = next.run(req).await;
    seen.finish(&s, route, &mut resp);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incoming_request_id_is_kept_only_when_short_and_safe() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(REQUEST_ID, HeaderValue::from_str(v).unwrap());
            request_id(&h).to_str().unwrap().to_string()
        };
        assert_eq!(with("abc-123_X"), "abc-123_X");
        for unsafe_id in ["45.7612", "a b", "a\"b", "x".repeat(65).as_str(), ""] {
            let id = with(unsafe_id);
            assert_ne!(id, unsafe_id);
            assert_eq!(id.len(), 19, "a generated id: {id}");
        }
        assert_ne!(request_id(&HeaderMap::new()), request_id(&HeaderMap::new()));
        let id = request_id(&HeaderMap::new());
        let (prefix, n) = id.to_str().unwrap().split_once('-').unwrap();
        assert_eq!((prefix.len(), n.len()), (8, 10), "{id:?}");
        assert!(u64::from_str_radix(n, 16).is_ok() && u32::from_str_radix(prefix, 16).is_ok());
        let mut out = [0u8; 6];
        hex_into(&mut out, 0xab_cdef);
        assert_eq!(&out, b"abcdef");
        hex_into(&mut out, 0x1f);
        assert_eq!(&out, b"00001f");
    }

    #[test]
    fn filters_are_named_never_valued_and_unknown_names_are_other() {
        assert_eq!(
            filter_names(Some("taxon=60612&from=2020-01-01&taxon=1&45.76=4.83")),
            "taxon,from,other"
        );
        assert_eq!(filter_names(None), "");
        assert_eq!(tile_zoom("/tiles/14/8000/5000.mvt"), Some(14));
        assert_eq!(tile_zoom("/tiles/99/0/0.mvt"), None);
    }
}
