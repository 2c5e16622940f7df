//! A short soak (the CI version of `scripts/soak.sh`): ~35 s of wrk load mixing public and
//! agent tiles at every zoom, filters, indicators and TileJSON (`scripts/soak.lua`) on a
//! real `flou serve` over a synthetic store, with a small tile cache so that it fills and
//! evicts early. Checks: no failed request, no socket error, nothing but 2xx in the
//! server's own counters, tiles read through the day index, and memory flat once warm: no
//! RSS sample of the second half above 1.25 × the sample at the half.
//!
//! Why that bound: by the half every cache is full (tile cache capped at 2 MB, the indicator
//! answers of the script's fixed variants all computed), so what the second half may still
//! add is allocator slack, not data. What it catches: an unbounded cache, or a leak of the
//! order of a tile per request (a debug build answers a few thousand requests here, so
//! 25 % of ~100 MB is ~20 KB per request). Smaller leaks are for `scripts/soak.sh` (minutes,
//! a release build, hundreds of thousands of requests).

mod common;

use common::*;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::process::Command;
use std::time::{Duration, Instant};

const LOAD_SECONDS: u64 = 35;

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// The filter values and places of the input file, as scripts/soak.sh computes them.
fn load_env(csv_path: &std::path::Path) -> Vec<(&'static str, String)> {
    let mut taxa: HashMap<String, u64> = HashMap::new();
    let mut datasets: HashMap<String, u64> = HashMap::new();
    let mut deps: HashMap<String, (u64, f64, f64)> = HashMap::new();
    let mut r = csv::Reader::from_path(csv_path).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (cd_ref, jdd, lon, lat, commune) = (
        col("cdRef"),
        col("idSINPJdd"),
        col("longitude"),
        col("latitude"),
        col("codeCommune"),
    );
    for row in r.records() {
        let row = row.unwrap();
        *taxa.entry(row[cd_ref].to_string()).or_default() += 1;
        *datasets.entry(row[jdd].to_string()).or_default() += 1;
        let d = deps
            .entry(row[commune].get(..2).unwrap_or("").to_string())
            .or_default();
        d.0 += 1;
        d.1 += row[lon].parse::<f64>().unwrap();
        d.2 += row[lat].parse::<f64>().unwrap();
    }
    let top = |m: HashMap<String, u64>, n: usize| {
        let mut v: Vec<(String, u64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.into_iter()
            .take(n)
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut places: Vec<(u64, f64, f64)> = deps.into_values().collect();
    places.sort_by_key(|p| std::cmp::Reverse(p.0));
    let places = places
        .iter()
        .take(8)
        .map(|(n, x, y)| format!("{:.3}:{:.3}", x / *n as f64, y / *n as f64))
        .collect::<Vec<_>>()
        .join(",");
    vec![
        ("SOAK_TAXA", top(taxa, 12)),
        ("SOAK_DATASETS", top(datasets, 4)),
        ("SOAK_PLACES", places),
    ]
}

/// wrk's totals: (requests, non-2xx/3xx, socket errors).
fn wrk_totals(text: &str) -> (u64, u64, u64) {
    let total = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let non_2xx = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let socket = text
        .lines()
        .find(|l| l.contains("Socket errors"))
        .map(|l| {
            l.split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    (total, non_2xx, socket)
}

fn metrics(addr: &str) -> BTreeMap<String, f64> {
    let r = http_get(addr, "/metrics", &[]);
    assert_eq!(r.status, 200);
    r.text()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
        .collect()
}

#[test]
fn mixed_load_for_half_a_minute_fails_nothing_and_memory_stays_flat() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("synth.csv");
    flou_ok(&[
        "synth",
        "--records",
        "20000",
        "--seed",
        "42",
        "--out",
        csv_path.to_str().unwrap(),
    ]);
    let store = dir.path().join("store");
    ingest(&csv_path, &store);
    let cfg = config(dir.path(), "commune");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("\n[tiles]\ncache_mb = 2\n");
    std::fs::write(&cfg, text).unwrap();
    let log = dir.path().join("serve.log");
    let server = Server::start_with_log(&store, Some(&cfg), &log);
    let token = hs256_token(
        SECRET,
        json!([
            { "departements": ["15", "63", "69"], "max_sensitivity": 4 },
            { "max_sensitivity": 1 }
        ]),
        3600,
    );

    let script = root().join("scripts/soak.lua");
    let mut wrk = Command::new("wrk")
        .args([
            "-t1",
            "-c4",
            &format!("-d{LOAD_SECONDS}s"),
            "--timeout",
            "30s",
            "-s",
            script.to_str().unwrap(),
            &format!("http://{}", server.addr),
        ])
        .env("SOAK_TOKEN", &token)
        .envs(load_env(&csv_path))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("wrk is installed (scripts/test.sh installs it)");
    let start = Instant::now();
    let mut samples: Vec<(u64, u64)> = Vec::new();
    while wrk.try_wait().unwrap().is_none() {
        samples.push((start.elapsed().as_secs(), rss_kb(server.pid())));
        std::thread::sleep(Duration::from_secs(1));
        assert!(
            start.elapsed() < Duration::from_secs(LOAD_SECONDS + 60),
            "wrk did not end"
        );
    }
    let out = wrk.wait_with_output().unwrap();
    let wrk_text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "wrk failed: {wrk_text}");
    let (total, non_2xx, socket) = wrk_totals(&wrk_text);
    eprintln!("wrk:\n{wrk_text}\nRSS samples (s, kB): {samples:?}");

    assert!(total > 200, "too little load to mean anything: {wrk_text}");
    assert_eq!(non_2xx, 0, "{wrk_text}");
    assert_eq!(socket, 0, "{wrk_text}");
    let m = metrics(&server.addr);
    let failed: f64 = m
        .iter()
        .filter(|(k, _)| {
            k.starts_with("flou_http_requests_total")
                && (k.contains("class=\"4xx\"") || k.contains("class=\"5xx\""))
        })
        .map(|(_, v)| v)
        .sum();
    assert_eq!(failed, 0.0, "the server counted failures: {m:#?}");
    let tiles: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("flou_http_requests_total{route=\"tile\""))
        .map(|(_, v)| v)
        .sum();
    assert!(tiles > 100.0, "{m:#?}");
    assert!(m["flou_tiles_rendered_total{source=\"index\"}"] > 0.0);
    assert_eq!(m["flou_tiles_rendered_total{source=\"scan\"}"], 0.0);
    assert!(m["flou_tile_cache_bytes"] <= m["flou_tile_cache_capacity_bytes"]);
    assert_eq!(m["flou_http_requests_in_flight"], 1.0, "only the scrape");

    // Memory: flat once warm.
    assert!(samples.len() >= 20, "{samples:?}");
    let half = samples[samples.len() / 2].1;
    let worst = samples[samples.len() / 2..]
        .iter()
        .map(|s| s.1)
        .max()
        .unwrap();
    assert!(
        worst as f64 <= 1.25 * half as f64,
        "RSS grew in the second half: {half} kB at the half, up to {worst} kB: {samples:?}"
    );
}
