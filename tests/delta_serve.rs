//! The command line end to end with a running server: `flou ingest --append` of a delta
//! (one record deleted by a `--delete` file, one moved by a new version) is picked up by
//! `flou serve` without a restart, and `flou compact` after it too; the deleted record is
//! gone from the tile that showed it, the moved one is drawn at its new place only.

mod common;

use common::*;
use flou::geo::webmercator::tiles_covering;
use flou::geo::BBox;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn health(addr: &str) -> Value {
    let r = http_get(addr, "/health", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    serde_json::from_slice(&r.body).unwrap()
}

fn wait_for_generation(addr: &str, generation: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while health(addr)["generation"] != json!(generation) {
        assert!(
            Instant::now() < deadline,
            "generation {generation} not served within 30 s: {}",
            health(addr)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ids drawn as points in the z14 tile holding (lon, lat), for the public.
fn ids_at(addr: &str, lon: f64, lat: f64) -> Vec<String> {
    let t = tiles_covering(
        &BBox {
            min: [lon, lat],
            max: [lon, lat],
        },
        14,
    )
    .next()
    .unwrap();
    let r = http_get(addr, &format!("/tiles/14/{}/{}.mvt", t.x(), t.y()), &[]);
    assert_eq!(r.status, 200);
    decode(&r.body)
        .get("observations")
        .map(|fs| fs.iter().filter_map(|f| prop_str(f, "id")).collect())
        .unwrap_or_default()
}

#[test]
fn a_running_server_serves_each_append_and_the_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ingest(&sample(), &store);
    let cfg = config(dir.path(), "precise");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("\n[reload]\npoll_ms = 50\n");
    std::fs::write(&cfg, text).unwrap();

    // Two records the public sees as points (level 0 today, no producer restriction).
    let levels = oracle::levels_of(&store);
    let mut rows = csv::Reader::from_path(sample()).unwrap();
    let header = rows.headers().unwrap().clone();
    let precise: Vec<csv::StringRecord> = rows
        .records()
        .map(|r| r.unwrap())
        .filter(|r| levels.get(&r[1]).is_some_and(|l| l == "0"))
        .collect();
    let (gone, moving, target) = (&precise[0], &precise[1], &precise[200]);
    let pos =
        |r: &csv::StringRecord| -> (f64, f64) { (r[8].parse().unwrap(), r[9].parse().unwrap()) };

    let server = Server::start(&store, Some(&cfg));
    let addr = server.addr.clone();
    assert_eq!(health(&addr)["generation"], json!(1));
    let (gx, gy) = pos(gone);
    let (mx, my) = pos(moving);
    let (tx, ty) = pos(target);
    assert!(ids_at(&addr, gx, gy).contains(&gone[1].to_string()));
    assert!(ids_at(&addr, mx, my).contains(&moving[1].to_string()));

    // Day 2: delete one record, move another onto a third one's place.
    let deleted = dir.path().join("deleted.csv");
    std::fs::write(&deleted, format!("unique_id_sinp\n{}\n", &gone[1])).unwrap();
    let delta = dir.path().join("delta.csv");
    let mut w = csv::Writer::from_path(&delta).unwrap();
    w.write_record(&header).unwrap();
    let mut moved: Vec<String> = moving.iter().map(String::from).collect();
    moved[8] = target[8].to_string();
    moved[9] = target[9].to_string();
    w.write_record(&moved).unwrap();
    w.flush().unwrap();
    let out = flou_ok(&[
        "ingest",
        "--append",
        "--store",
        store.to_str().unwrap(),
        "--delete",
        deleted.to_str().unwrap(),
        "--json",
        delta.to_str().unwrap(),
    ]);
    let s: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            &s["generation"],
            &s["accepted"],
            &s["deletions"],
            &s["replaced"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(1)),
        "{s}"
    );
    wait_for_generation(&addr, 2);
    assert!(!ids_at(&addr, gx, gy).contains(&gone[1].to_string()));
    if (tx, ty) != (mx, my) {
        assert!(!ids_at(&addr, mx, my).contains(&moving[1].to_string()));
    }
    assert!(ids_at(&addr, tx, ty).contains(&moving[1].to_string()));

    // Compaction: one segment, the old files unlinked while the server still maps them.
    let out = flou_ok(&["compact", "--store", store.to_str().unwrap(), "--json"]);
    let c: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&c["segments_before"], &c["records_after"]),
        (&json!(2), &json!(999))
    );
    wait_for_generation(&addr, 3);
    assert!(!ids_at(&addr, gx, gy).contains(&gone[1].to_string()));
    assert!(ids_at(&addr, tx, ty).contains(&moving[1].to_string()));
    let info: Value = serde_json::from_str(&flou_ok(&[
        "info",
        "--json",
        "--store",
        store.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(
        (&info["segments"], &info["live_records"]),
        (&json!(1), &json!(999))
    );
}
