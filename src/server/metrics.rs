//! `GET /metrics`: Prometheus text exposition, written by hand from atomics.
//!
//! The hot path (one request) costs a few relaxed atomic additions and no lock. Labels are
//! fixed and few: the route's name (never its raw path), the zoom for tiles, the status
//! class. Nothing is counted per area, per tile x/y, per taxon or per caller, so the
//! figures say nothing about where sensitive records are. The endpoint is still restricted
//! (`[metrics]`: loopback by default, or a bearer token) because request rates and cache
//! sizes are operational detail a public caller has no use for.

use super::config::MetricsSection;
use super::routes::Refusal;
use super::{AppState, ServerError};
use crate::tiles::render::TileSource;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

/// The routes, by name. A request is labelled with its route's name, never its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Viewer,
    Asset,
    Style,
    Health,
    Metrics,
    TileJson,
    Tile,
    IndicatorList,
    Indicator,
    Dashboard,
    Extracts,
    /// No route matched (404 fallback).
    Other,
}

impl Route {
    pub const ALL: [Route; 12] = [
        Route::Viewer,
        Route::Asset,
        Route::Style,
        Route::Health,
        Route::Metrics,
        Route::TileJson,
        Route::Tile,
        Route::IndicatorList,
        Route::Indicator,
        Route::Dashboard,
        Route::Extracts,
        Route::Other,
    ];

    /// The route of a matched path template (axum's `MatchedPath`).
    pub fn of_template(template: Option<&str>) -> Route {
        match template {
            Some("/") => Route::Viewer,
            Some("/assets/{*path}") => Route::Asset,
            Some("/styles/{file}") => Route::Style,
            Some("/health") => Route::Health,
            Some("/metrics") => Route::Metrics,
            Some("/tiles.json") => Route::TileJson,
            Some("/tiles/{z}/{x}/{y}") => Route::Tile,
            Some("/indicators") => Route::IndicatorList,
            Some("/indicators/{indicator}") => Route::Indicator,
            Some("/dashboard") => Route::Dashboard,
            Some("/extracts") => Route::Extracts,
            _ => Route::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Route::Viewer => "viewer",
            Route::Asset => "asset",
            Route::Style => "style",
            Route::Health => "health",
            Route::Metrics => "metrics",
            Route::TileJson => "tilejson",
            Route::Tile => "tile",
            Route::IndicatorList => "indicator_list",
            Route::Indicator => "indicator",
            Route::Dashboard => "dashboard",
            Route::Extracts => "extracts",
            Route::Other => "other",
        }
    }
}

/// Highest zoom a tile request may have (`TileId`'s bound); a tile's series is per zoom.
pub const MAX_ZOOM: u8 = 22;
const ROUTES: usize = Route::ALL.len();
/// One series per route, plus one per zoom for tiles (a tile of unknown zoom uses the
/// route's own series).
const SLOTS: usize = ROUTES + MAX_ZOOM as usize + 1;
/// Status classes 1xx..5xx.
const CLASSES: usize = 5;
/// Latency bucket upper bounds, in microseconds (0.5 ms .. 10 s).
const BUCKETS_US: [u64; 14] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];

fn slot(route: Route, zoom: Option<u8>) -> usize {
    match (route, zoom) {
        (Route::Tile, Some(z)) if z <= MAX_ZOOM => ROUTES + usize::from(z),
        _ => route as usize,
    }
}

fn counters<const N: usize>() -> [AtomicU64; N] {
    std::array::from_fn(|_| AtomicU64::new(0))
}

struct Histogram {
    /// Per bucket (not cumulative), plus one for "above the last bound".
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            buckets: counters(),
            sum_us: AtomicU64::new(0),
        }
    }

    fn observe(&self, us: u64) {
        let i = BUCKETS_US.partition_point(|b| *b < us);
        // The last bucket (+Inf) catches what lies beyond every bound.
        if let Some(b) = self.buckets.get(i).or(self.buckets.last()) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }
}

/// Who may read `/metrics`.
#[derive(Clone, Debug, Default)]
pub struct MetricsAccess {
    pub enabled: bool,
    /// Peers allowed without a token (network, prefix length).
    pub allow: Vec<(IpAddr, u8)>,
    /// A bearer token that opens the endpoint from anywhere.
    pub token: Option<String>,
}

impl MetricsAccess {
    /// `[metrics]`: enabled by default, loopback only, no token.
    pub fn from_config(section: &MetricsSection) -> Result<Self, ServerError> {
        let allow = match &section.allow {
            None => vec!["127.0.0.1/32".to_string(), "::1/128".to_string()],
            Some(list) => list.clone(),
        };
        let allow = allow
            .iter()
            .map(|c| {
                parse_cidr(c).ok_or_else(|| {
                    ServerError::Config(format!(
                        "metrics.allow {c:?}: expected an address with a prefix, e.g. 127.0.0.1/32 or ::1/128"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(t) = &section.token {
            if t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ServerError::Config(
                    "metrics.token: at least 16 printable ASCII characters".into(),
                ));
            }
        }
        Ok(MetricsAccess {
            enabled: section.enabled.unwrap_or(true),
            allow,
            token: section.token.clone(),
        })
    }

    /// Whether this request may read the metrics. A request that came through a proxy
    /// (forwarding headers) is not taken for a local scraper even if its peer is loopback.
    pub fn permits(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> bool {
        if !self.enabled {
            return false;
        }
        if let (Some(token), Some(given)) = (
            &self.token,
            headers
                .get(header::AUTHORIZATION)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| h.strip_prefix("Bearer ")),
        ) {
            return constant_time_eq(token.as_bytes(), given.trim().as_bytes());
        }
        let proxied = ["x-forwarded-for", "x-real-ip", "forwarded"]
            .iter()
            .any(|h| headers.contains_key(*h));
        !proxied
            && peer.is_some_and(|ip| {
                let ip = canonical(ip);
                self.allow
                    .iter()
                    .any(|(net, len)| in_network(ip, *net, *len))
            })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// IPv4-mapped IPv6 peers (dual-stack sockets) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = text.trim().split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((addr, len))
}

fn in_network(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    let mask = |bits: u32, len: u8| -> u128 {
        if len == 0 {
            0
        } else {
            (!0u128 << (bits - u32::from(len))) & (!0u128 >> (128 - bits))
        }
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let m = mask(32, len);
            (u128::from(u32::from(a)) & m) == (u128::from(u32::from(b)) & m)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let m = mask(128, len);
            (u128::from(a) & m) == (u128::from(b) & m)
        }
        _ => false,
    }
}

/// The server's counters. Lives in [`AppState`] for the process's life (across reloads).
pub struct Metrics {
    pub access: MetricsAccess,
    requests: [[AtomicU64; CLASSES]; SLOTS],
    latency: [Histogram; SLOTS],
    in_flight: AtomicI64,
    tile_sources: [AtomicU64; TileSource::ALL.len()],
    indicator_cache: [AtomicU64; 2],
    reloads_swapped: AtomicU64,
    reloads_refused: AtomicU64,
}

/// Decrements the in-flight gauge when the request ends, even if its future is dropped.
pub struct InFlight<'m>(&'m Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn new(access: MetricsAccess) -> Self {
        Metrics {
            access,
            requests: std::array::from_fn(|_| counters()),
            latency: std::array::from_fn(|_| Histogram::new()),
            in_flight: AtomicI64::new(0),
            tile_sources: counters(),
            indicator_cache: counters(),
            reloads_swapped: AtomicU64::new(0),
            reloads_refused: AtomicU64::new(0),
        }
    }

    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// One finished request.
    pub fn record(&self, route: Route, zoom: Option<u8>, status: u16, micros: u64) {
        let slot = slot(route, zoom);
        let class = usize::from(status / 100).clamp(1, CLASSES) - 1;
        if let Some(c) = self.requests.get(slot).and_then(|r| r.get(class)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(h) = self.latency.get(slot) {
            h.observe(micros);
        }
    }

    /// A tile rendered (not served from the cache), by the source it was read from.
    pub fn tile_rendered(&self, source: TileSource) {
        let i = TileSource::ALL
            .iter()
            .position(|s| *s == source)
            .unwrap_or(0);
        if let Some(c) = self.tile_sources.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn indicator_cache(&self, hit: bool) {
        if let Some(c) = self.indicator_cache.get(usize::from(!hit)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn reload(&self, swapped: bool) {
        if swapped {
            self.reloads_swapped.fetch_add(1, Ordering::Relaxed);
        } else {
            self.reloads_refused.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The exposition text (Prometheus text format 0.0.4).
    pub fn render(&self, state: &AppState) -> String {
        let mut out = String::with_capacity(8192);
        let loaded = state.current();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let labels = |slot: usize| -> String {
            if slot >= ROUTES {
                format!("route=\"tile\",zoom=\"{}\"", slot - ROUTES)
            } else {
                let name = Route::ALL.get(slot).map_or("other", |r| r.name());
                format!("route=\"{name}\"")
            }
        };

        out.push_str("# HELP flou_http_requests_total Requests answered, by route name, tile zoom and status class.\n");
        out.push_str("# TYPE flou_http_requests_total counter\n");
        for (slot, classes) in self.requests.iter().enumerate() {
            for (c, n) in classes.iter().enumerate() {
                let n = load(n);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "flou_http_requests_total{{{},class=\"{}xx\"}} {n}",
                        labels(slot),
                        c + 1
                    );
                }
            }
        }

        out.push_str("# HELP flou_http_request_duration_seconds Time to the response head, by route name and tile zoom.\n");
        out.push_str("# TYPE flou_http_request_duration_seconds histogram\n");
        for (slot, h) in self.latency.iter().enumerate() {
            let counts: Vec<u64> = h.buckets.iter().map(load).collect();
            let total: u64 = counts.iter().sum();
            if total == 0 {
                continue;
            }
            let l = labels(slot);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS_US.iter().zip(&counts) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "flou_http_request_duration_seconds_bucket{{{l},le=\"{}\"}} {cumulative}",
                    *bound as f64 / 1e6
                );
            }
            let _ = writeln!(
                out,
                "flou_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {total}"
            );
            let _ = writeln!(
                out,
                "flou_http_request_duration_seconds_sum{{{l}}} {}",
                load(&h.sum_us) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "flou_http_request_duration_seconds_count{{{l}}} {total}"
            );
        }

        let gauge = |out: &mut String, name: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        let counter = |out: &mut String, name: &str, help: &str, rows: &[(&str, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, v) in rows {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        gauge(
            &mut out,
            "flou_http_requests_in_flight",
            "Requests being answered now.",
            self.in_flight.load(Ordering::Relaxed).to_string(),
        );
        let sources: Vec<String> = TileSource::ALL
            .iter()
            .map(|s| format!("{{source=\"{}\"}}", s.name()))
            .collect();
        let rows: Vec<(&str, u64)> = sources
            .iter()
            .zip(&self.tile_sources)
            .map(|(l, n)| (l.as_str(), load(n)))
            .collect();
        counter(
            &mut out,
            "flou_tiles_rendered_total",
            "Tiles rendered (cache misses), by where their records were read: the day index's public tallies, its all-precise tallies, its selection lists, or a scan.",
            &rows,
        );
        let cache = state.cache.stats();
        counter(
            &mut out,
            "flou_tile_cache_requests_total",
            "Tile cache look-ups.",
            &[
                ("{result=\"hit\"}", cache.hits),
                ("{result=\"miss\"}", cache.misses),
            ],
        );
        gauge(
            &mut out,
            "flou_tile_cache_entries",
            "Tiles held in the cache.",
            cache.entries.to_string(),
        );
        gauge(
            &mut out,
            "flou_tile_cache_bytes",
            "Bytes held by the tile cache.",
            cache.bytes.to_string(),
        );
        gauge(
            &mut out,
            "flou_tile_cache_capacity_bytes",
            "The tile cache's capacity ([tiles] cache_mb).",
            cache.capacity.to_string(),
        );
        counter(
            &mut out,
            "flou_indicator_cache_requests_total",
            "Indicator answer cache look-ups.",
            &[
                ("{result=\"hit\"}", load(&self.indicator_cache[0])),
                ("{result=\"miss\"}", load(&self.indicator_cache[1])),
            ],
        );
        gauge(
            &mut out,
            "flou_store_generation",
            "The store generation served (the manifest's number).",
            loaded.generation().to_string(),
        );
        gauge(
            &mut out,
            "flou_store_records_live",
            "Live records in the served generation (all sensitivities, visible or not).",
            loaded.store.live_count().to_string(),
        );
        // What the day index holds on the heap: the bulk of the anonymous memory at start.
        let index_bytes = loaded
            .built_day_index()
            .map(|i| i.heap_bytes())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "# HELP flou_day_index_bytes Heap bytes held by the served generation's day index, by part (0 before it is built).\n# TYPE flou_day_index_bytes gauge"
        );
        for (part, bytes) in index_bytes.parts() {
            let _ = writeln!(out, "flou_day_index_bytes{{part=\"{part}\"}} {bytes}");
        }
        counter(
            &mut out,
            "flou_store_reloads_total",
            "Reload attempts that found a new generation: swapped in, or refused (the poller retries a refused generation every poll).",
            &[
                ("{outcome=\"swapped\"}", load(&self.reloads_swapped)),
                ("{outcome=\"refused\"}", load(&self.reloads_refused)),
            ],
        );
        gauge(
            &mut out,
            "flou_store_reload_failing",
            "1 while the last reload failed and the previous generation is served.",
            u8::from(state.last_reload_error().is_some()).to_string(),
        );
        out
    }
}

/// `GET /metrics`: the exposition for permitted scrapers; to anyone else the same 404 as an
/// unknown path (the endpoint's existence is not advertised).
pub async fn metrics(State(s): State<Arc<AppState>>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if !s.metrics.access.permits(peer, req.headers()) {
        return Refusal(StatusCode::NOT_FOUND, "no such resource".into()).into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        s.metrics.render(&s),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(allow: &[&str], token: Option<&str>) -> MetricsAccess {
        MetricsAccess::from_config(&MetricsSection {
            enabled: None,
            allow: Some(allow.iter().map(|s| s.to_string()).collect()),
            token: token.map(String::from),
        })
        .unwrap()
    }

    #[test]
    fn networks_match_by_prefix() {
        let a = access(&["10.1.0.0/16", "::1/128"], None);
        let h = HeaderMap::new();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert!(a.permits(ip("10.1.255.3"), &h));
        assert!(!a.permits(ip("10.2.0.1"), &h));
        assert!(a.permits(ip("::1"), &h));
        assert!(!a.permits(ip("::2"), &h));
        // An IPv4 peer on a dual-stack socket.
        assert!(a.permits(ip("::ffff:10.1.0.9"), &h));
        assert!(!a.permits(None, &h));
        assert!(access(&["0.0.0.0/0"], None).permits(ip("203.0.113.9"), &h));
        assert!(MetricsAccess::from_config(&MetricsSection {
            allow: Some(vec!["10.0.0.0/33".into()]),
            ..Default::default()
        })
        .is_err());
    }

    #[test]
    fn a_proxied_request_needs_the_token_and_a_wrong_token_is_refused() {
        let a = access(&["127.0.0.1/32"], Some("0123456789abcdef-token"));
        let lo = Some(IpAddr::from([127, 0, 0, 1]));
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9".parse().unwrap());
        assert!(!a.permits(lo, &h));
        h.insert(
            header::AUTHORIZATION,
            "Bearer 0123456789abcdef-token".parse().unwrap(),
        );
        assert!(a.permits(lo, &h));
        h.insert(
            header::AUTHORIZATION,
            "Bearer 0123456789abcdef-tokeN".parse().unwrap(),
        );
        assert!(!a.permits(lo, &h));
        assert!(!a.permits(Some(IpAddr::from([192, 0, 2, 1])), &h));
    }

    #[test]
    fn latency_buckets_take_the_first_bound_at_or_above_the_value() {
        let h = Histogram::new();
        for us in [1, 500, 501, 20_000_000] {
            h.observe(us);
        }
        let counts: Vec<u64> = h
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts[0], 2, "1 µs and 500 µs are ≤ 0.5 ms");
        assert_eq!(counts[1], 1);
        assert_eq!(counts[BUCKETS_US.len()], 1, "above 10 s");
        assert_eq!(h.sum_us.load(Ordering::Relaxed), 20_001_002);
    }
}
