//! Identifiers and dates of records a caller sees blurred never reach that caller's tiles,
//! in any layer. MVT stores string values as raw bytes, so a byte search over every tile
//! finds an id or a date wherever it would be (a property of any layer, a key, a value).
//!
//! The metamorphic leak tests move blurred records but keep their ids, so they cannot see
//! this channel; here the oracle is the input file itself (read with the csv crate) and
//! GeoNature's own commune column for the agent's grant.

mod common;

use common::*;
use flou::geo::webmercator::{tiles_covering, TileId};
use flou::geo::BBox;
use serde_json::json;
use std::collections::BTreeSet;

/// Around the real sample (Écrins, Hautes-Alpes and Isère).
const SAMPLE_BOX: BBox = BBox {
    min: [5.86, 44.47],
    max: [6.62, 45.15],
};

struct Record {
    id: String,
    date: String,
    commune: String,
    lon: f64,
    lat: f64,
}

fn records() -> Vec<Record> {
    let mut r = csv::Reader::from_path(sample()).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (id, date, commune, lon, lat) = (
        col("unique_id_sinp"),
        col("date_min"),
        col("id_municipality"),
        col("lon_wgs84"),
        col("lat_wgs84"),
    );
    r.records()
        .map(|x| x.unwrap())
        .map(|x| Record {
            id: x[id].to_string(),
            date: x[date].to_string(),
            commune: x[commune].to_string(),
            lon: x[lon].parse().unwrap(),
            lat: x[lat].parse().unwrap(),
        })
        .collect()
}

/// Every tile over the sample at z5–z12, and at z13–z14 every tile holding a record.
fn tiles(records: &[Record]) -> BTreeSet<TileId> {
    let mut out: BTreeSet<TileId> = (5..=12)
        .flat_map(|z| tiles_covering(&SAMPLE_BOX, z))
        .collect();
    for r in records {
        let at = BBox {
            min: [r.lon, r.lat],
            max: [r.lon, r.lat],
        };
        for z in [13, 14] {
            out.extend(tiles_covering(&at, z));
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn blurred_records_ids_and_dates_appear_in_no_tile_of_any_layer() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ingest(&sample(), &store);
    // The default public policy: every record at least at the commune, so the public sees
    // no record precisely, and no id or date of any record may reach it.
    let cfg = config(dir.path(), "commune");
    let server = Server::start(&store, Some(&cfg));
    let recs = records();
    let isere = format!(
        "Bearer {}",
        hs256_token(
            SECRET,
            json!([{ "departements": ["38"], "max_sensitivity": 4 }]),
            3600
        )
    );
    let in_isere: BTreeSet<&str> = recs
        .iter()
        .filter(|r| r.commune.starts_with("38"))
        .map(|r| r.id.as_str())
        .collect();
    assert!(!in_isere.is_empty() && in_isere.len() < recs.len());

    let mut public_bytes = Vec::new();
    let mut agent_ids: BTreeSet<String> = BTreeSet::new();
    let mut agent_bytes = Vec::new();
    let tiles = tiles(&recs);
    assert!(tiles.len() > 200, "{} tiles", tiles.len());
    for t in &tiles {
        let path = format!("/tiles/{}/{}/{}.mvt", t.z(), t.x(), t.y());
        let p = server.get(&path, &[]);
        assert_eq!(p.status, 200, "{path}");
        public_bytes.extend_from_slice(&p.body);
        public_bytes.push(0);
        let a = server.get(&path, &[("Authorization", &isere)]);
        assert_eq!(a.status, 200, "{path}");
        // Ids the agent receives, as a decoder reads them (for the non-vacuity check).
        if let Some(fs) = decode(&a.body).get("observations") {
            agent_ids.extend(fs.iter().filter_map(|f| prop_str(f, "id")));
        }
        agent_bytes.extend_from_slice(&a.body);
        agent_bytes.push(0);
    }

    let dates: BTreeSet<&str> = recs.iter().map(|r| r.date.as_str()).collect();
    for r in &recs {
        assert!(
            !contains(&public_bytes, r.id.as_bytes()),
            "the public received the id of {}",
            r.id
        );
        if !in_isere.contains(r.id.as_str()) {
            assert!(
                !contains(&agent_bytes, r.id.as_bytes()),
                "an agent granted Isère only received the id of {} (commune {})",
                r.id,
                r.commune
            );
        }
    }
    for d in &dates {
        assert!(
            !contains(&public_bytes, d.as_bytes()),
            "the public received a record date {d}"
        );
    }
    assert!(
        !agent_ids.is_empty(),
        "the agent sees its Isère records precisely (the check is not vacuous)"
    );
    assert!(agent_ids.iter().all(|id| in_isere.contains(id.as_str())));
}
