//! The day index (the path that serves) gives byte-identical tiles to the reference scan of
//! departments, for public and agent callers, every policy, filters and aggregate modes.

mod common;

use common::oracle::*;
use flou::access::diffusion::{Precision, PublicPolicy};
use flou::access::view::RecordFilter;
use flou::access::{Caller, Grant};
use flou::date::Day;
use flou::geo::grid::GridSize;
use flou::geo::webmercator::{tiles_covering, TileId};
use flou::geo::BBox;
use flou::server::build_day_index;
use flou::tiles::render::{tile_source, AggregateMode, TileSource, ZoomPlan};
use std::collections::BTreeSet;

#[test]
fn indexed_tiles_equal_scanned_tiles() {
    let SyntheticStore {
        input,
        levels,
        loaded: l,
        ..
    } = synthetic_store();
    let sensitive: Vec<&Row> = input
        .rows
        .iter()
        .filter(|r| levels.get(&r.id).is_some_and(|x| x != "0"))
        .collect();
    let data_box = input.rows.iter().fold(BBox::EMPTY, |mut b, r| {
        b.extend([r.lon, r.lat]);
        b
    });
    let mut tiles: BTreeSet<(u8, u32, u32)> = BTreeSet::new();
    for z in 2..=7 {
        tiles.extend(tiles_covering(&data_box, z).map(|t| (t.z(), t.x(), t.y())));
    }
    for r in sensitive.iter().step_by(sensitive.len() / 25) {
        let p = BBox {
            min: [r.lon, r.lat],
            max: [r.lon, r.lat],
        };
        for z in 8..=15 {
            tiles.extend(tiles_covering(&p, z).map(|t| (t.z(), t.x(), t.y())));
        }
    }
    let callers = [
        Caller::Public,
        Caller::Agent {
            sub: "a".into(),
            grants: vec![
                Grant {
                    departements: Some(vec!["05".into(), "69".into()]),
                    max_sensitivity: 2,
                    ..Grant::default()
                },
                Grant {
                    taxa: Some(vec![sensitive[0].cd_ref]),
                    max_sensitivity: 4,
                    ..Grant::default()
                },
            ],
        },
        // Covers everything: low zooms from the all-precise tallies.
        Caller::Agent {
            sub: "admin".into(),
            grants: vec![Grant {
                max_sensitivity: 4,
                ..Grant::default()
            }],
        },
    ];
    let filters = [
        RecordFilter::default(),
        RecordFilter {
            taxa: Some(BTreeSet::from([sensitive[0].cd_ref])),
            ..RecordFilter::default()
        },
        // Several taxa, sensitive and common: per-unit taxon counts are sums, not copies.
        RecordFilter {
            taxa: Some(
                sensitive
                    .iter()
                    .step_by(7)
                    .map(|r| r.cd_ref)
                    .chain(input.rows.iter().step_by(97).map(|r| r.cd_ref))
                    .take(40)
                    .collect(),
            ),
            ..RecordFilter::default()
        },
        RecordFilter {
            from: Day::parse("2000-01-01").ok(),
            to: Day::parse("2020-12-31").ok(),
            ..RecordFilter::default()
        },
    ];
    let mut compared = 0;
    let mut non_empty = 0;
    let mut point_order = 0;
    let dense = ZoomPlan {
        maille1_max: 11,
        ..ZoomPlan::default()
    };
    for (policy, plan) in [
        (Precision::Precise, ZoomPlan::default()),
        (Precision::Precise, dense),
        (Precision::Commune, dense),
        // Point groups in every tile with points: scan and index must group alike.
        (
            Precision::Commune,
            ZoomPlan {
                group_points_above: 0,
                ..ZoomPlan::default()
            },
        ),
        // Groups from a handful of points: tiles on both sides of the threshold, read
        // from the point order (public, all-precise agent) and from the scan.
        (
            Precision::Precise,
            ZoomPlan {
                group_points_above: 5,
                ..ZoomPlan::default()
            },
        ),
        (Precision::Grid(GridSize::Km10), ZoomPlan::default()),
    ] {
        let policy = PublicPolicy {
            min_precision: policy,
        };
        let index = build_day_index(&l, Day::today(), policy, &plan);
        for caller in &callers {
            for f in &filters {
                for mode in [AggregateMode::Grid, AggregateMode::H3] {
                    for (z, x, y) in &tiles {
                        let t = TileId::new(*z, *x, *y).unwrap();
                        let fast =
                            render_tile_with(&l, policy, caller, f, t, mode, Some(&index), &plan);
                        let source =
                            with_request(&l, policy, caller, f, t, mode, Some(&index), |c, r| {
                                tile_source(c, r, &plan)
                            });
                        if source == TileSource::PointOrder {
                            point_order += 1;
                        }
                        let slow = render_tile_with(&l, policy, caller, f, t, mode, None, &plan);
                        assert!(fast == slow, "tile {t} {policy:?} {plan:?} {caller:?} {f:?} {mode:?}: indexed and scanned differ");
                        compared += 1;
                        non_empty += usize::from(!fast.is_empty());
                    }
                }
            }
        }
    }
    eprintln!(
        "{compared} tiles compared, {non_empty} non-empty, {point_order} from the point order"
    );
    assert!(non_empty > compared / 2);
    // The point order served a good share (public and the all-precise agent at point
    // zooms, unfiltered or by taxa), so the comparison above covers it.
    assert!(point_order > compared / 10, "{point_order} of {compared}");
}
