//! The leak invariant, tested metamorphically: what a caller receives about a record is a
//! function of its diffusion area (for that caller) and its public attributes only. Store B
//! differs from store A only in that every record the caller sees blurred is moved to
//! another random point of its diffusion area; every tile, at every zoom, with every
//! filter, must then be byte-identical for that caller.
//!
//! Which records are blurred, and at which area, is decided here by this test's own reading
//! of the rules (DOMAIN.md), not by flou's access module; the sensitivity level in force
//! comes from `flou sensitivity-report`, whose algorithm has its own oracle.

mod common;

use common::moves::*;
use common::oracle::*;
use common::*;
use flou::access::diffusion::PublicPolicy;
use flou::date::Day;
use flou::geo::webmercator::{tiles_covering, TileId};
use flou::geo::BBox;
use flou::server::build_day_index;
use flou::tiles::render::AggregateMode;
use flou::tiles::render::ZoomPlan;
use std::collections::{BTreeMap, BTreeSet};

/// Tiles to compare: all tiles over the data at z3–z8, and at z9–z14 the tiles holding the
/// old and the new position of moved records.
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
fn moving_blurred_records_inside_their_area_changes_no_byte_of_any_tile() {
    let fx = LeakFixture::new();
    let (input, a) = (&fx.input, &fx.a);
    let filters = fx.filters();
    let scenarios = fx.scenarios();
    let data_box = input.rows.iter().fold(BBox::EMPTY, |mut b, r| {
        b.extend([r.lon, r.lat]);
        b
    });
    for (k, sc) in scenarios.iter().enumerate() {
        let (b, moves) = fx.moved_store(k, sc, 100 + k as u64);
        let across = moves
            .iter()
            .filter(|(a, b)| a.commune[..2] != b.commune[..2])
            .count();
        eprintln!("{}: {across} moves cross a department border", sc.name);

        let policy = PublicPolicy {
            min_precision: sc.policy,
        };
        // The path that serves: with the day index (its equivalence to the scan is tested
        // in tests/fast_path_equivalence.rs).
        let index_a = build_day_index(a, Day::today(), policy, &ZoomPlan::default());
        let index_b = build_day_index(&b, Day::today(), policy, &ZoomPlan::default());
        let mut compared = 0;
        let mut non_empty = 0;
        let mut layers: BTreeMap<String, u64> = BTreeMap::new();
        let mut groups = 0;
        let grouping = ZoomPlan {
            group_points_above: 0,
            ..ZoomPlan::default()
        };
        for (z, x, y) in tiles_for(&moves, &data_box) {
            let t = TileId::new(z, x, y).unwrap();
            let modes: &[AggregateMode] = if z <= 9 {
                &[AggregateMode::Grid, AggregateMode::H3]
            } else {
                &[AggregateMode::Grid]
            };
            for (f, mode) in filters
                .iter()
                .flat_map(|f| modes.iter().map(move |m| (f, *m)))
            {
                let ta = render_tile(a, policy, &sc.caller, f, t, mode, Some(&index_a));
                let tb = render_tile(&b, policy, &sc.caller, f, t, mode, Some(&index_b));
                if z >= 10 {
                    // Point groups, in every tile with points: they count precise records
                    // only, so moving blurred ones changes no byte either.
                    let ga = render_tile_with(
                        a,
                        policy,
                        &sc.caller,
                        f,
                        t,
                        mode,
                        Some(&index_a),
                        &grouping,
                    );
                    let gb = render_tile_with(
                        &b,
                        policy,
                        &sc.caller,
                        f,
                        t,
                        mode,
                        Some(&index_b),
                        &grouping,
                    );
                    assert!(ga == gb, "{}: tile {z}/{x}/{y} with {f:?}, point groups differ after moving blurred records", sc.name);
                    groups += decode(&ga).get("observations").map_or(0, |v| {
                        v.iter()
                            .filter(|f| f.properties.contains_key("observations"))
                            .count()
                    });
                }
                assert!(
                    ta == tb,
                    "{}: tile {z}/{x}/{y} with {f:?} {mode:?} differs after moving blurred records:\nA: {:?}\nB: {:?}",
                    sc.name,
                    decode(&ta).get("blurred").map(|v| v.len()),
                    decode(&tb).get("blurred").map(|v| v.len())
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
        eprintln!(
            "{}: {} moved, {compared} tiles compared, {non_empty} non-empty, features {layers:?}",
            sc.name,
            moves.len()
        );
        eprintln!("{}: {groups} point groups compared", sc.name);
        assert!(
            non_empty > 100,
            "{}: too few non-empty tiles to prove anything",
            sc.name
        );
        for l in ["aggregates", "blurred"] {
            assert!(
                layers.get(l).copied().unwrap_or(0) > 0,
                "{}: no {l} feature was compared",
                sc.name
            );
        }
    }
}
