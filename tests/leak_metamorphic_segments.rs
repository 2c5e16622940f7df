//! The metamorphic leak test of `leak_metamorphic.rs` on stores of several segments, as
//! daily appends leave them: a base ingest, then appends that add records, send earlier
//! records again (each replaces its previous version) and delete some. Store B is built the
//! same way from the input where every record blurred for the caller has been moved inside
//! its diffusion area; every tile must be byte-identical for that caller.

mod common;

use common::delta::{append, full_ingest, levels_in, open};
use common::moves::*;
use common::oracle::*;
use common::*;
use flou::access::diffusion::PublicPolicy;
use flou::date::Day;
use flou::geo::webmercator::{tiles_covering, TileId};
use flou::geo::BBox;
use flou::server::{build_day_index, Loaded};
use flou::tiles::render::{AggregateMode, ZoomPlan};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

/// Writes `input` as a base file and three daily deltas and builds the store: rows
/// [0, 70 %) first; then three appends of 10 % each, the second also sending again every
/// 9th base row (a new version, identical), the third also deleting every 13th base row.
fn segmented_store(input: &Input, dir: &Path, name: &str) -> Loaded {
    let n = input.rows.len();
    let cut = |a: usize, b: usize| input.rows[n * a / 10..n * b / 10].to_vec();
    let write = |file: &str, rows: Vec<Row>| {
        let p = dir.join(format!("{name}-{file}.csv"));
        write_input(
            &p,
            &Input {
                header: input.header.clone(),
                rows,
            },
        );
        p
    };
    let store = dir.join(name);
    full_ingest(&write("base", cut(0, 7)), &store);
    append(&store, &[&write("day1", cut(7, 8))], &[]).unwrap();
    let mut day2 = cut(8, 9);
    day2.extend(input.rows[..n * 7 / 10].iter().step_by(9).cloned());
    append(&store, &[&write("day2", day2)], &[]).unwrap();
    let deleted = dir.join(format!("{name}-deleted.csv"));
    let mut text = String::from("idSINPOccTax\n");
    for r in input.rows[..n * 7 / 10].iter().step_by(13) {
        text.push_str(&r.id);
        text.push('\n');
    }
    std::fs::write(&deleted, text).unwrap();
    append(&store, &[&write("day3", cut(9, 10))], &[&deleted]).unwrap();
    let l = open(&store);
    assert_eq!(l.store.segments().len(), 4);
    l
}

fn tiles_for(moves: &[(Row, Row)], data: &BBox) -> BTreeSet<(u8, u32, u32)> {
    let mut tiles = BTreeSet::new();
    for z in 3..=8 {
        tiles.extend(tiles_covering(data, z).map(|t| (t.z(), t.x(), t.y())));
    }
    for (a, b) in moves.iter().step_by((moves.len() / 60).max(1)) {
        for z in 9..=14 {
            for (lon, lat) in [(a.lon, a.lat), (b.lon, b.lat)] {
                let tb = BBox {
                    min: [lon, lat],
                    max: [lon, lat],
                };
                tiles.extend(tiles_covering(&tb, z).map(|t| (t.z(), t.x(), t.y())));
            }
        }
    }
    tiles
}

#[test]
fn moving_blurred_records_changes_no_tile_of_a_store_of_several_segments() {
    let dir = tempfile::tempdir().unwrap();
    let raw = synthetic_input(dir.path());
    let probe = dir.path().join("probe");
    full_ingest(&raw, &probe);
    let levels = levels_in(&probe);
    let mut input = read_input(&raw);
    input.rows.retain(|r| levels.contains_key(&r.id));
    let a = segmented_store(&input, dir.path(), "a");
    let ruled: HashSet<u32> = csv::Reader::from_path(data().join("sensitivity/especesensible.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap()[2].parse().unwrap())
        .collect();
    let sensitive_taxon = input
        .rows
        .iter()
        .find(|r| levels.get(&r.id).is_some_and(|l| l != "0"))
        .map(|r| r.cd_ref)
        .unwrap();
    let first_dataset = input.rows[0].dataset.clone();
    let fx = LeakFixture {
        dir,
        input,
        levels,
        a,
        ruled,
        sensitive_taxon,
        first_dataset,
    };
    let (input, a) = (&fx.input, &fx.a);
    let filters = fx.filters();
    let data_box = input.rows.iter().fold(BBox::EMPTY, |mut b, r| {
        b.extend([r.lon, r.lat]);
        b
    });
    for (k, sc) in fx.scenarios().iter().enumerate() {
        let (moved_input, moves) =
            moved(input, &fx.levels, &a.areas, sc, &fx.ruled, 300 + k as u64);
        assert!(moves.len() > 200, "{}: only {} moves", sc.name, moves.len());
        let b = segmented_store(&moved_input, fx.dir.path(), &format!("b{k}"));
        let policy = PublicPolicy {
            min_precision: sc.policy,
        };
        let index_a = build_day_index(a, Day::today(), policy, &ZoomPlan::default());
        let index_b = build_day_index(&b, Day::today(), policy, &ZoomPlan::default());
        let (mut compared, mut non_empty) = (0, 0);
        let mut layers: BTreeMap<String, u64> = BTreeMap::new();
        for (z, x, y) in tiles_for(&moves, &data_box) {
            let t = TileId::new(z, x, y).unwrap();
            let modes: &[AggregateMode] = if z <= 9 {
                &[AggregateMode::Grid, AggregateMode::H3]
            } else {
                &[AggregateMode::Grid]
            };
            for f in &filters {
                for mode in modes {
                    let ta = render_tile(a, policy, &sc.caller, f, t, *mode, Some(&index_a));
                    let tb = render_tile(&b, policy, &sc.caller, f, t, *mode, Some(&index_b));
                    assert!(
                        ta == tb,
                        "{}: tile {z}/{x}/{y} with {f:?} {mode:?} differs after moving blurred records",
                        sc.name
                    );
                    compared += 1;
                    if !ta.is_empty() {
                        non_empty += 1;
                        for (name, fs) in decode(&ta) {
                            *layers.entry(name).or_default() += fs.len() as u64;
                        }
                    }
                }
            }
        }
        eprintln!(
            "{} (4 segments): {} moved, {compared} tiles compared, {non_empty} non-empty, features {layers:?}",
            sc.name,
            moves.len()
        );
        assert!(non_empty > 100, "{}: too few non-empty tiles", sc.name);
        for l in ["aggregates", "blurred"] {
            assert!(
                layers.get(l).copied().unwrap_or(0) > 0,
                "{}: no {l} feature was compared",
                sc.name
            );
        }
    }
}
