//! Tile paths, query filters and the request limits: `z/x/y.mvt?query` as text; any input
//! is a tile in range with bounded filters, or a refusal, never a panic.
#![no_main]

use flou::server::limits::{check_uri, Limits};
use flou::server::request::{parse_tile_path, parse_tile_query, MAX_LIST};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (path, query) = match text.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (text.as_ref(), None),
    };
    let mut parts = path.splitn(3, '/');
    let (z, x, y) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let limits = Limits::default();
    if check_uri(path, query, &limits).is_ok() {
        let q = query.unwrap_or("");
        assert!(path.len() + q.len() <= limits.max_uri_bytes);
        assert!(q.split('&').filter(|p| !p.is_empty()).count() <= limits.max_query_params);
    }
    if let Ok(tile) = parse_tile_path(z, x, y) {
        assert!(tile.z() <= 22);
        assert!(u64::from(tile.x()) < 1u64 << tile.z());
        assert!(u64::from(tile.y()) < 1u64 << tile.z());
    }
    if let Ok(q) = parse_tile_query(query) {
        let q = q.filter;
        assert!(q
            .taxa
            .as_ref()
            .is_none_or(|t| !t.is_empty() && t.len() <= MAX_LIST));
        assert!(q
            .datasets
            .as_ref()
            .is_none_or(|d| !d.is_empty() && d.len() <= MAX_LIST));
        if let (Some(f), Some(t)) = (q.from, q.to) {
            assert!(f <= t);
        }
    }
});
