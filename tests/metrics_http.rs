//! `GET /metrics` of a real `flou serve`: counters that match the requests the test made,
//! tiles served through the day index (never the scan), cache and reload figures, labels
//! from a fixed set (no path, no x/y), and the endpoint closed to proxied or unknown callers.

mod common;

use common::*;
use flou::geo::webmercator::tiles_covering;
use flou::geo::BBox;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SAMPLE_BOX: BBox = BBox {
    min: [5.86, 44.47],
    max: [6.62, 45.15],
};
const SCRAPE_TOKEN: &str = "scrape-token-0123456789abcdef";

/// Series → value, from the exposition text; checks the text's shape on the way.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') {
            assert!(
                line.starts_with("# HELP flou_") || line.starts_with("# TYPE flou_"),
                "{line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value: {line}"));
        assert!(series.starts_with("flou_"), "{line}");
        assert!(
            out.insert(series.to_string(), value).is_none(),
            "series twice: {series}"
        );
    }
    out
}

fn scrape(server: &Server) -> BTreeMap<String, f64> {
    let r = server.get("/metrics", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")));
    parse(&r.text())
}

fn get(m: &BTreeMap<String, f64>, series: &str) -> f64 {
    *m.get(series)
        .unwrap_or_else(|| panic!("no series {series} in {m:#?}"))
}

/// Records of the input file that the ingest kept: data rows minus rejected rows (both
/// counted as CSV records by the csv crate, not by flou).
fn accepted_rows(store: &std::path::Path) -> f64 {
    let rows = csv::Reader::from_path(sample()).unwrap().records().count();
    let rejects = store.with_extension("rejects.csv");
    let rejected = if rejects.exists() {
        csv::Reader::from_path(&rejects).unwrap().records().count()
    } else {
        0
    };
    (rows - rejected) as f64
}

#[test]
fn metrics_count_the_requests_made_and_say_nothing_per_place() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ingest(&sample(), &store);
    let cfg = config(dir.path(), "commune");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!(
        "\n[reload]\npoll_ms = 50\n\n[metrics]\ntoken = \"{SCRAPE_TOKEN}\"\n"
    ));
    std::fs::write(&cfg, text).unwrap();
    let server = Server::start(&store, Some(&cfg));
    let agent = format!(
        "Bearer {}",
        hs256_token(SECRET, json!([{ "max_sensitivity": 4 }]), 3600)
    );

    let z5 = tiles_covering(&SAMPLE_BOX, 5).next().unwrap();
    let z5 = format!("/tiles/5/{}/{}.mvt", z5.x(), z5.y());
    let z12: Vec<String> = tiles_covering(&SAMPLE_BOX, 12)
        .take(3)
        .map(|t| format!("/tiles/12/{}/{}.mvt", t.x(), t.y()))
        .collect();
    // Public z5 twice: rendered from the public tallies once, then a cache hit. An agent
    // who sees everything: the all-precise tallies.
    for _ in 0..2 {
        assert_eq!(server.get(&z5, &[]).status, 200);
    }
    assert_eq!(server.get(&z5, &[("Authorization", &agent)]).status, 200);
    // z12: public, agent, public with a filter: all through the index lists.
    for p in &z12 {
        assert_eq!(server.get(p, &[]).status, 200);
        assert_eq!(server.get(p, &[("Authorization", &agent)]).status, 200);
        assert_eq!(server.get(&format!("{p}?from=2015-01-01"), &[]).status, 200);
    }
    assert_eq!(
        server
            .get(&z12[0], &[("Authorization", "Bearer nonsense")])
            .status,
        401
    );
    for _ in 0..2 {
        let r = server.get("/indicators/richness?unit=departement", &[]);
        assert_eq!(r.status, 200);
    }
    assert_eq!(server.get("/nowhere/6.4863/44.9289", &[]).status, 404);

    let text = server.get("/metrics", &[]).text();
    let m = parse(&text);
    assert_eq!(
        get(
            &m,
            r#"flou_http_requests_total{route="tile",zoom="5",class="2xx"}"#
        ),
        3.0
    );
    assert_eq!(
        get(
            &m,
            r#"flou_http_requests_total{route="tile",zoom="12",class="2xx"}"#
        ),
        9.0
    );
    assert_eq!(
        get(
            &m,
            r#"flou_http_requests_total{route="tile",zoom="12",class="4xx"}"#
        ),
        1.0
    );
    assert_eq!(
        get(
            &m,
            r#"flou_http_requests_total{route="indicator",class="2xx"}"#
        ),
        2.0
    );
    assert_eq!(
        get(&m, r#"flou_http_requests_total{route="other",class="4xx"}"#),
        1.0
    );
    // The histogram of z12 tiles: cumulative buckets ending at the count.
    let z12_count = get(
        &m,
        r#"flou_http_request_duration_seconds_count{route="tile",zoom="12"}"#,
    );
    assert_eq!(z12_count, 10.0);
    let buckets: Vec<f64> = m
        .iter()
        .filter(|(k, _)| {
            k.starts_with(r#"flou_http_request_duration_seconds_bucket{route="tile",zoom="12","#)
        })
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(buckets.len(), 15, "14 bounds and +Inf");
    assert!(buckets.iter().all(|b| *b <= z12_count));
    assert_eq!(
        get(
            &m,
            r#"flou_http_request_duration_seconds_bucket{route="tile",zoom="12",le="+Inf"}"#
        ),
        z12_count
    );
    assert!(
        get(
            &m,
            r#"flou_http_request_duration_seconds_sum{route="tile",zoom="12"}"#
        ) > 0.0
    );

    // Which path rendered the tiles: the day index, never a scan (the incident this
    // counter is for: an index silently not used).
    assert_eq!(
        get(&m, r#"flou_tiles_rendered_total{source="public_tallies"}"#),
        1.0
    );
    assert_eq!(
        get(
            &m,
            r#"flou_tiles_rendered_total{source="all_precise_tallies"}"#
        ),
        1.0
    );
    // Point zooms for the public come from the point order; the rest (agents with a
    // partial grant, other filters) from the selection lists.
    assert_eq!(
        get(&m, r#"flou_tiles_rendered_total{source="point_order"}"#),
        6.0
    );
    assert_eq!(get(&m, r#"flou_tiles_rendered_total{source="index"}"#), 3.0);
    assert_eq!(get(&m, r#"flou_tiles_rendered_total{source="scan"}"#), 0.0);
    assert_eq!(
        get(&m, r#"flou_tile_cache_requests_total{result="hit"}"#),
        1.0
    );
    assert_eq!(
        get(&m, r#"flou_tile_cache_requests_total{result="miss"}"#),
        11.0
    );
    assert_eq!(get(&m, "flou_tile_cache_entries"), 11.0);
    assert!(get(&m, "flou_tile_cache_bytes") > 0.0);
    assert_eq!(
        get(&m, "flou_tile_cache_capacity_bytes"),
        256.0 * 1024.0 * 1024.0
    );
    assert_eq!(
        get(&m, r#"flou_indicator_cache_requests_total{result="hit"}"#),
        1.0
    );
    assert_eq!(
        get(&m, r#"flou_indicator_cache_requests_total{result="miss"}"#),
        1.0
    );
    assert_eq!(get(&m, "flou_store_generation"), 1.0);
    assert_eq!(get(&m, "flou_store_records_live"), accepted_rows(&store));
    assert_eq!(
        get(&m, "flou_http_requests_in_flight"),
        1.0,
        "the scrape itself"
    );

    // The day index's heap, by part: one precision byte per record of the (single-segment,
    // never appended) store, and some tallies for the public and for agents.
    assert_eq!(
        get(&m, r#"flou_day_index_bytes{part="public"}"#),
        accepted_rows(&store)
    );
    assert_eq!(
        get(&m, r#"flou_day_index_bytes{part="points"}"#),
        accepted_rows(&store)
    );
    // Four bytes per record, plus per taxon its cd_ref and start.
    assert!(get(&m, r#"flou_day_index_bytes{part="taxon_points"}"#) >= 4.0 * accepted_rows(&store));
    for part in ["taxa", "tallies", "tallies_all_precise"] {
        let series = format!("flou_day_index_bytes{{part=\"{part}\"}}");
        assert!(get(&m, &series) > 0.0, "{series}");
    }

    // Labels from a fixed set: no path, no coordinate, no x/y.
    for series in m.keys() {
        if let Some((_, labels)) = series.split_once('{') {
            for pair in labels.trim_end_matches('}').split(',') {
                let (k, _) = pair.split_once('=').unwrap();
                assert!(
                    ["route", "zoom", "class", "le", "source", "result", "outcome", "part"]
                        .contains(&k),
                    "label {k} in {series}"
                );
            }
        }
    }
    assert!(!text.contains("/tiles/") && !text.contains("nowhere") && !text.contains("6.4863"));

    // A broken manifest: one refused reload at least, the failure flagged, then cleared
    // when the manifest is back (same generation: nothing swapped).
    let manifest = store.join("manifest.json");
    let good = std::fs::read(&manifest).unwrap();
    std::fs::write(&manifest, b"{ broken").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = scrape(&server);
        if get(&m, "flou_store_reload_failing") == 1.0 {
            assert!(get(&m, r#"flou_store_reloads_total{outcome="refused"}"#) >= 1.0);
            break;
        }
        assert!(Instant::now() < deadline, "the failure never showed");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(&manifest, good).unwrap();
    loop {
        let m = scrape(&server);
        if get(&m, "flou_store_reload_failing") == 0.0 {
            assert_eq!(
                get(&m, r#"flou_store_reloads_total{outcome="swapped"}"#),
                0.0
            );
            assert_eq!(get(&m, "flou_store_generation"), 1.0);
            break;
        }
        assert!(Instant::now() < deadline, "the failure never cleared");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Who may scrape: loopback yes (above); through a proxy only with the token.
    let proxied = [("X-Forwarded-For", "203.0.113.7")];
    let r = server.get("/metrics", &proxied);
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), server.get("/nowhere", &[]).text(), "a plain 404");
    let with = |token: &str| {
        let auth = format!("Bearer {token}");
        server
            .get(
                "/metrics",
                &[("X-Forwarded-For", "203.0.113.7"), ("Authorization", &auth)],
            )
            .status
    };
    assert_eq!(with(SCRAPE_TOKEN), 200);
    assert_eq!(with(&format!("{SCRAPE_TOKEN}x")), 404);
    assert_eq!(
        with(&agent["Bearer ".len()..]),
        404,
        "an agent token is not the scrape token"
    );
    assert_eq!(
        server
            .get("/metrics", &[("Forwarded", "for=203.0.113.7")])
            .status,
        404
    );
}
