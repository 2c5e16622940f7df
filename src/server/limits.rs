//! Bounds on what one client can make the server hold: connections, requests in flight,
//! header and body sizes, URI and query sizes, and time. `[limits]` in flou.toml.
//!
//! The HTTP/1 connection loop is ours (not `axum::serve`) because hyper's header read
//! timeout needs a timer that `axum::serve` does not set: without it a client that opens a
//! connection and never finishes its headers holds it forever (slowloris).
//! Refusals are the plain JSON [`Refusal`] of the routes; hyper's own answers (431 header
//! too large, 414 URI too long, a closed connection on a header timeout) have no body.
#![forbid(unsafe_code)]

use super::logging::Observation;
use super::metrics::Route;
use super::routes::{bad, Refusal};
use super::{AppState, ServerError};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};

/// `[limits]` as written in flou.toml; every key optional (see [`Limits::default`]).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    pub max_body_bytes: Option<usize>,
    pub max_header_bytes: Option<usize>,
    pub max_uri_bytes: Option<usize>,
    pub max_query_bytes: Option<usize>,
    pub max_query_params: Option<usize>,
    pub max_list_values: Option<usize>,
    pub header_timeout_seconds: Option<u64>,
    pub request_timeout_seconds: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_in_flight: Option<usize>,
}

/// The limits in force, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body; a larger declared `Content-Length` is a 413 before reading.
    pub max_body_bytes: usize,
    /// Largest request head (request line + headers) hyper buffers; beyond: 431.
    pub max_header_bytes: usize,
    /// Longest path + query; beyond: 414.
    pub max_uri_bytes: usize,
    /// Longest query string; beyond: 400. At most the routes' own bound.
    pub max_query_bytes: usize,
    /// Most `key=value` pairs in a query string.
    pub max_query_params: usize,
    /// Most comma-separated values for one parameter (repeated keys added up). At most
    /// the routes' own bound.
    pub max_list_values: usize,
    /// Time a client has to send a request's headers (from the connection's start or the
    /// end of the previous response); then the connection is closed.
    pub header_timeout: Duration,
    /// Time a request has, body reading and answer included; then 408 and close.
    pub request_timeout: Duration,
    /// Open connections at once; further ones wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Requests handled at once; further ones wait (within their request timeout). Also
    /// the size of the blocking pool `flou serve` renders on, so work a timed-out request
    /// left running counts against it too.
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_header_bytes: 128 * 1024,
            max_uri_bytes: 8 * 1024,
            max_query_bytes: super::request::MAX_QUERY,
            max_query_params: 32,
            max_list_values: super::request::MAX_LIST,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_connections: 1024,
            max_in_flight: 256,
        }
    }
}

impl Limits {
    /// The defaults overridden by `section`; a value out of its range is a config error.
    pub fn from_section(section: &LimitsSection) -> Result<Limits, ServerError> {
        let d = Limits::default();
        fn pick(
            name: &str,
            value: Option<usize>,
            default: usize,
            range: std::ops::RangeInclusive<usize>,
        ) -> Result<usize, ServerError> {
            let v = value.unwrap_or(default);
            if range.contains(&v) {
                Ok(v)
            } else {
                Err(ServerError::Config(format!(
                    "limits.{name} = {v}: expected {} to {}",
                    range.start(),
                    range.end()
                )))
            }
        }
        let seconds = |name: &str, value: Option<u64>, default: Duration| {
            pick(
                name,
                value.map(|s| usize::try_from(s).unwrap_or(usize::MAX)),
                usize::try_from(default.as_secs()).unwrap_or(usize::MAX),
                1..=3600,
            )
            .map(|s| Duration::from_secs(s as u64))
        };
        let s = section;
        Ok(Limits {
            max_body_bytes: pick(
                "max_body_bytes",
                s.max_body_bytes,
                d.max_body_bytes,
                1024..=64 << 20,
            )?,
            // hyper's smallest buffer is 8 KiB.
            max_header_bytes: pick(
                "max_header_bytes",
                s.max_header_bytes,
                d.max_header_bytes,
                8192..=1 << 20,
            )?,
            max_uri_bytes: pick(
                "max_uri_bytes",
                s.max_uri_bytes,
                d.max_uri_bytes,
                256..=65_534,
            )?,
            max_query_bytes: pick(
                "max_query_bytes",
                s.max_query_bytes,
                d.max_query_bytes,
                64..=super::request::MAX_QUERY,
            )?,
            max_query_params: pick(
                "max_query_params",
                s.max_query_params,
                d.max_query_params,
                1..=1024,
            )?,
            max_list_values: pick(
                "max_list_values",
                s.max_list_values,
                d.max_list_values,
                1..=super::request::MAX_LIST,
            )?,
            header_timeout: seconds(
                "header_timeout_seconds",
                s.header_timeout_seconds,
                d.header_timeout,
            )?,
            request_timeout: seconds(
                "request_timeout_seconds",
                s.request_timeout_seconds,
                d.request_timeout,
            )?,
            max_connections: pick(
                "max_connections",
                s.max_connections,
                d.max_connections,
                1..=100_000,
            )?,
            max_in_flight: pick(
                "max_in_flight",
                s.max_in_flight,
                d.max_in_flight,
                1..=10_000,
            )?,
        })
    }
}

/// Checks a request's path and query against `limits`, before any route sees them.
pub fn check_uri(path: &str, query: Option<&str>, limits: &Limits) -> Result<(), Refusal> {
    let q = query.unwrap_or("");
    if path.len() + q.len() > limits.max_uri_bytes {
        return Err(Refusal(
            StatusCode::URI_TOO_LONG,
            format!("URI longer than {} bytes", limits.max_uri_bytes),
        ));
    }
    if q.len() > limits.max_query_bytes {
        return Err(bad(format!(
            "query string longer than {} bytes",
            limits.max_query_bytes
        )));
    }
    // Counted on the raw text: the separators `&` and `,` are never percent-encoded by
    // a client that means them, and an encoded `%2C` is counted by the route's parser.
    let mut params = 0usize;
    let mut values: Vec<(&str, usize)> = Vec::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        params += 1;
        if params > limits.max_query_params {
            return Err(bad(format!(
                "more than {} query parameters",
                limits.max_query_params
            )));
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let n = value.split(',').filter(|v| !v.trim().is_empty()).count();
        let total = match values.iter_mut().find(|(k, _)| *k == key) {
            Some((_, count)) => {
                *count += n;
                *count
            }
            None => {
                values.push((key, n));
                n
            }
        };
        if total > limits.max_list_values {
            return Err(bad(format!(
                "a parameter takes at most {} comma-separated values",
                limits.max_list_values
            )));
        }
    }
    Ok(())
}

/// What the request guard shares between requests.
pub struct Guard {
    limits: Limits,
    in_flight: Semaphore,
}

impl Guard {
    pub fn new(limits: Limits) -> Guard {
        Guard {
            in_flight: Semaphore::new(limits.max_in_flight),
            limits,
        }
    }
}

impl Guard {
    /// The refusal of what is refused before a route sees the request: a URI, query or
    /// declared body too large, or an invalid `Content-Length`.
    fn precheck<B>(&self, req: &axum::http::Request<B>) -> Option<Response> {
        if let Err(r) = check_uri(req.uri().path(), req.uri().query(), &self.limits) {
            return Some(r.into_response());
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().parse::<u64>());
        match declared {
            Some(Ok(n)) if n > self.limits.max_body_bytes as u64 => {
                Some(closing(too_large(self.limits.max_body_bytes)))
            }
            Some(Err(_)) => Some(closing(bad("invalid Content-Length"))),
            _ => None,
        }
    }

    /// Runs `answer` within the request timeout, once a permit for requests in flight is
    /// granted.
    async fn bounded(&self, answer: impl std::future::Future<Output = Response>) -> Response {
        let limit = self.limits.request_timeout;
        let answer = tokio::time::timeout(limit, async {
            // Closed only if the semaphore is dropped, which the guard never does.
            let _permit = self.in_flight.acquire().await.ok();
            answer.await
        })
        .await;
        match answer {
            // axum's own rejection of a body cut by the limit is plain text: say it as the
            // routes say their refusals.
            Ok(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json(&r) => {
                closing(too_large(self.limits.max_body_bytes))
            }
            Ok(r) => r,
            Err(_) => closing(Refusal(
                StatusCode::REQUEST_TIMEOUT,
                format!("request not completed within {} s", limit.as_secs()),
            )),
        }
    }
}

/// Refuses what is too large before a route sees it, bounds requests in flight and time.
/// The matched route goes on the response (for the observer outside the router).
pub async fn guard(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    if let Some(refused) = g.precheck(&req) {
        return refused;
    }
    let matched = req.extensions().get::<MatchedPath>().cloned();
    // A chunked body declares no length: cut it at the limit while it is read.
    let req = req.map(|body| {
        axum::body::Body::new(http_body_util::Limited::new(body, g.limits.max_body_bytes))
    });
    let mut resp = g.bounded(next.run(req)).await;
    if let Some(m) = matched {
        resp.extensions_mut().insert(m);
    }
    resp
}

fn too_large(max: usize) -> Refusal {
    Refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body larger than {max} bytes"),
    )
}

fn is_json(r: &Response) -> bool {
    r.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

/// A refusal after which the connection is closed (the rest of the body is not read).
fn closing(r: Refusal) -> Response {
    let mut r = r.into_response();
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// The router with the request guard and the body limit, not observed: [`Front`] observes.
fn limited_router(state: Arc<AppState>, guard: Arc<Guard>, limits: &Limits) -> axum::Router {
    super::feature_routes()
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(guard, self::guard))
        .with_state(state)
}

/// The router with the request guard and the body limit, observed.
pub fn guarded_router(state: Arc<AppState>, limits: &Limits) -> axum::Router {
    let guard = Arc::new(Guard::new(limits.clone()));
    let limited = super::feature_routes()
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(guard, self::guard));
    // Refusals of the guard are logged and counted like every other answer.
    super::observed(limited, state)
}

/// The service of one connection: observes every request (request id, log line, metrics),
/// answers a plain `GET /tiles/{z}/{x}/{y}.mvt` itself (guard, then the tile route's own
/// code, without the router's layers: a cached tile is the hot path), and hands every other
/// request to the guarded router.
#[derive(Clone)]
struct Front {
    state: Arc<AppState>,
    guard: Arc<Guard>,
    router: TowerToHyperService<axum::Router>,
    /// The peer address for `/metrics`' allow list, as axum's ConnectInfo.
    peer: SocketAddr,
}

/// The three segments of a tile path the tile route would match, when they need no
/// percent-decoding (anything else goes through the router, which decodes).
fn plain_tile_path(path: &str) -> Option<(&str, &str, &str)> {
    let rest = path.strip_prefix("/tiles/")?;
    if rest.contains('%') {
        return None;
    }
    let mut segments = rest.split('/');
    let (z, x, y) = (segments.next()?, segments.next()?, segments.next()?);
    let all_there = segments.next().is_none() && ![z, x, y].iter().any(|s| s.is_empty());
    all_there.then_some((z, x, y))
}

impl Front {
    async fn answer(self, req: axum::http::Request<Incoming>) -> Response {
        let seen = Observation::start(&self.state, &req);
        let (route, mut resp) = match (req.method() == Method::GET)
            .then(|| plain_tile_path(req.uri().path()))
            .flatten()
        {
            Some((z, x, y)) => {
                let resp = match self.guard.precheck(&req) {
                    Some(refused) => refused,
                    None => {
                        let (query, headers) = (req.uri().query(), req.headers());
                        let answer =
                            super::routes::tile_answer(&self.state, z, x, y, query, headers);
                        self.guard
                            .bounded(async {
                                answer.await.unwrap_or_else(IntoResponse::into_response)
                            })
                            .await
                    }
                };
                (Route::Tile, resp)
            }
            None => {
                let mut req = req;
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(self.peer));
                let resp = match self.router.call(req).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                let route = Route::of_template(
                    resp.extensions()
                        .get::<MatchedPath>()
                        .map(MatchedPath::as_str),
                );
                (route, resp)
            }
        };
        seen.finish(&self.state, route, &mut resp);
        resp
    }
}

impl hyper::service::Service<axum::http::Request<Incoming>> for Front {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, Self::Error>> + Send>>;

    fn call(&self, req: axum::http::Request<Incoming>) -> Self::Future {
        let front = self.clone();
        Box::pin(async move { Ok(front.answer(req).await) })
    }
}

/// Serves until Ctrl-C / SIGTERM with `limits`. `on_bound` receives the bound address.
pub async fn serve_with_limits(
    state: AppState,
    limits: Limits,
    bind: &str,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| ServerError::Io(format!("bind {bind}"), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError::Io(format!("bind {bind}"), e))?;
    on_bound(addr);
    let state = Arc::new(state);
    super::spawn_reloaders(&state);
    let guard = Arc::new(Guard::new(limits.clone()));
    let router = limited_router(state.clone(), guard.clone(), &limits);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes)
        .keep_alive(true);
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(());
    let mut stop = pin!(super::shutdown_signal());
    loop {
        let permit = tokio::select! {
            p = connections.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: the next accept may succeed.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let service = Front {
            state: state.clone(),
            guard: guard.clone(),
            router: TowerToHyperService::new(router.clone()),
            peer,
        };
        let http = http.clone();
        let mut stop_rx = stop_rx.clone();
        tokio::spawn(async move {
            let mut conn = pin!(http.serve_connection(TokioIo::new(stream), service));
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop_rx.changed() => {
                    // Requests in flight finish; idle connections close now.
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(());
    // Every connection gives its permit back when done; wait for them, boundedly.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(limits.request_timeout, connections.acquire_many(all)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(path: &str, query: &str, limits: &Limits) -> Option<(StatusCode, String)> {
        check_uri(path, Some(query), limits)
            .err()
            .map(|r| (r.0, r.1))
    }

    #[test]
    fn uri_query_params_and_lists_are_bounded() {
        let l = Limits::default();
        assert_eq!(
            refusal("/tiles/1/0/0.mvt", "taxon=1,2&from=2020-01-01", &l),
            None
        );
        let long = "a".repeat(l.max_uri_bytes);
        assert_eq!(
            refusal(&format!("/{long}"), "", &l).map(|r| r.0),
            Some(StatusCode::URI_TOO_LONG)
        );
        let params = vec!["v=1"; l.max_query_params + 1].join("&");
        assert!(refusal("/", &params, &l).is_some_and(|r| r.1.contains("query parameters")));
        let values: Vec<String> = (0..=l.max_list_values).map(|i| i.to_string()).collect();
        assert!(refusal("/", &format!("taxon={}", values.join(",")), &l)
            .is_some_and(|r| r.1.contains("comma-separated")));
        // Repeated keys add up.
        let half = values[..60].join(",");
        assert!(refusal("/", &format!("taxon={half}&taxon={half}"), &l).is_some());
        assert!(refusal("/", &format!("taxon={half}&dataset={half}"), &l).is_none());
    }

    #[test]
    fn the_example_config_documents_the_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flou.example.toml");
        let cfg = super::super::ServeConfig::read(&path).ok().unwrap();
        assert_eq!(
            Limits::from_section(&cfg.limits).ok(),
            Some(Limits::default())
        );
        // And every key is written there, not left to the defaults.
        let text = std::fs::read_to_string(&path).unwrap();
        for key in [
            "max_body_bytes",
            "max_header_bytes",
            "max_uri_bytes",
            "max_query_bytes",
            "max_query_params",
            "max_list_values",
            "header_timeout_seconds",
            "request_timeout_seconds",
            "max_connections",
            "max_in_flight",
        ] {
            assert!(text.contains(&format!("\n{key} = ")), "{key}");
        }
    }

    #[test]
    fn configured_values_are_range_checked() {
        let ok = Limits::from_section(&LimitsSection {
            max_list_values: Some(10),
            header_timeout_seconds: Some(2),
            ..Default::default()
        })
        .ok();
        assert_eq!(ok.as_ref().map(|l| l.max_list_values), Some(10));
        assert_eq!(ok.map(|l| l.header_timeout), Some(Duration::from_secs(2)));
        for bad in [
            LimitsSection {
                max_list_values: Some(super::super::request::MAX_LIST + 1),
                ..Default::default()
            },
            LimitsSection {
                header_timeout_seconds: Some(0),
                ..Default::default()
            },
            LimitsSection {
                max_header_bytes: Some(100),
                ..Default::default()
            },
        ] {
            assert!(Limits::from_section(&bad).is_err(), "{bad:?}");
        }
    }
}
