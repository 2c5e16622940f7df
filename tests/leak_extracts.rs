//! The leak invariant for extracts, tested metamorphically (as tests/leak_metamorphic.rs
//! does for tiles): store B differs from store A only in that every record the caller sees
//! blurred is moved to another random point of its diffusion area. For every caller and
//! perimeter (a small polygon, a commune list, departments), the request summary and every
//! file (F1, F2, F3-*) in every format must be byte-identical between A and B.
//!
//! Which records are blurred, and where they may move, is this test's own reading of the
//! rules (tests/common/oracle.rs and moves.rs), not flou's access module.

mod common;

use common::moves::*;
use common::oracle::*;
use flou::access::diffusion::PublicPolicy;
use flou::access::view::AccessContext;
use flou::access::Caller;
use flou::date::Day;
use flou::extracts::output::{self, Format};
use flou::extracts::{self, ExtractRequest};
use flou::server::Loaded;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// The summary and every file of an extract, as bytes.
fn extract_bytes(
    l: &Loaded,
    policy: PublicPolicy,
    caller: &Caller,
    req: &ExtractRequest,
) -> BTreeMap<String, Vec<u8>> {
    let ctx = AccessContext::new(&l.store, &l.areas, &l.taxonomy, policy, &l.cells);
    let released: BTreeSet<String> = ["Insectes".to_string()].into();
    let ex = extracts::run(&ctx, &l.taxonomy, caller, req, &released, Day::today()).unwrap();
    let mut out = BTreeMap::new();
    out.insert(
        "summary".to_string(),
        serde_json::to_vec(&ex.summary).unwrap(),
    );
    for name in ex.summary.files.keys() {
        let rows = ex.file(name).unwrap();
        for f in [Format::Csv, Format::GeoJson, Format::FlatGeobuf] {
            let bytes = output::write(&ctx, &l.taxonomy, &rows, f, name).unwrap();
            out.insert(format!("{name}.{}", f.extension()), bytes);
        }
    }
    out
}

fn blurred_rows(csv: &[u8]) -> usize {
    csv::Reader::from_reader(csv)
        .records()
        .filter(|r| r.as_ref().unwrap()[7] != *"precise")
        .count()
}

#[test]
fn moving_blurred_records_inside_their_area_changes_no_byte_of_any_extract() {
    let fx = LeakFixture::new();
    let (input, levels, a) = (&fx.input, &fx.levels, &fx.a);
    let live: Vec<&Row> = input
        .rows
        .iter()
        .filter(|r| levels.contains_key(&r.id))
        .collect();
    let mut communes: Vec<String> = live.iter().map(|r| r.commune.clone()).collect();
    communes.sort();
    communes.dedup();
    let communes: Vec<String> = communes
        .iter()
        .step_by(communes.len() / 30)
        .cloned()
        .collect();
    let c = live
        .iter()
        .find(|r| r.commune.starts_with("38"))
        .map(|r| [r.lon, r.lat])
        .unwrap();
    let (w, h) = (0.3, 0.2);
    let polygon = json!({ "type": "Polygon", "coordinates": [[
        [c[0] - w, c[1] - h], [c[0] + w, c[1] - h], [c[0] + w * 1.3, c[1] + h],
        [c[0] - w, c[1] + h * 0.7], [c[0] - w, c[1] - h]]] });
    let requests: Vec<(&str, ExtractRequest)> = vec![
        (
            "small polygon",
            serde_json::from_value(json!({ "perimeter": polygon })).unwrap(),
        ),
        (
            "commune list",
            serde_json::from_value(json!({ "communes": communes })).unwrap(),
        ),
        (
            "two departments, 1995-2020",
            serde_json::from_value(
                json!({ "departements": ["38", "05"], "from": "1995-01-01", "to": "2020-12-31" }),
            )
            .unwrap(),
        ),
    ];
    let scenarios = fx.scenarios();
    for (k, sc) in scenarios.iter().enumerate() {
        let (b, moves) = fx.moved_store(k, sc, 200 + k as u64);
        let policy = PublicPolicy {
            min_precision: sc.policy,
        };
        for (name, req) in &requests {
            let ea = extract_bytes(a, policy, &sc.caller, req);
            let eb = extract_bytes(&b, policy, &sc.caller, req);
            assert_eq!(
                ea.keys().collect::<Vec<_>>(),
                eb.keys().collect::<Vec<_>>(),
                "{} / {name}: not the same files",
                sc.name
            );
            for (file, bytes) in &ea {
                assert!(
                    *bytes == eb[file],
                    "{} / {name}: {file} differs after moving blurred records\nA: {:.300}\nB: {:.300}",
                    sc.name,
                    String::from_utf8_lossy(bytes),
                    String::from_utf8_lossy(&eb[file])
                );
            }
            let blurred = blurred_rows(&ea["F1.csv"]);
            eprintln!(
                "{} / {name}: {} moved, files {:?}, {blurred} blurred rows in F1",
                sc.name,
                moves.len(),
                ea.keys()
                    .filter(|f| f.ends_with(".csv"))
                    .collect::<Vec<_>>()
            );
            assert!(
                blurred >= 20,
                "{} / {name}: too few blurred rows to prove anything",
                sc.name
            );
        }
    }
}
