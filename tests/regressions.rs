//! Regression tests, each named after what it caught.

mod common;

use common::*;
use flou::access::diffusion::{Precision, PublicPolicy};
use flou::access::view::{AccessContext, RecordFilter};
use flou::access::{Caller, Grant};
use flou::date::Day;
use flou::geo::webmercator::TileId;
use flou::server::{build_day_index, Loaded};
use flou::tiles::mvt::TileEncoder;
use flou::tiles::render::{render, AggregateMode, TileRequest, ZoomPlan, BUFFER, EXTENT};

/// Found by the PMTiles export: the per-thread encoder kept layers in first-met order, so
/// a tile's bytes (and ETag) depended on which tiles, of which callers, that thread had
/// rendered before.
#[test]
fn tile_bytes_do_not_depend_on_what_the_reused_encoder_rendered_before() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ingest(&sample(), &store);
    let l = Loaded::open(&store, None).unwrap();
    let policy = PublicPolicy {
        min_precision: Precision::Precise,
    };
    let plan = ZoomPlan::default();
    let index = build_day_index(&l, Day::today(), policy, &plan);
    let ctx = AccessContext::new(&l.store, &l.areas, &l.taxonomy, policy, &l.cells)
        .with_index(Some(&index));
    let filter = RecordFilter::default();
    let agent = Caller::Agent {
        sub: "a".into(),
        grants: vec![Grant {
            max_sensitivity: 4,
            ..Grant::default()
        }],
    };
    let tiles = [
        TileId::new(10, 529, 367).unwrap(),
        TileId::new(8, 132, 91).unwrap(),
        TileId::new(5, 16, 11).unwrap(),
    ];
    let req = |t: TileId, caller: &'static Caller| TileRequest {
        tile: t,
        caller,
        filter: &filter,
        today: Day::today(),
        aggregate: AggregateMode::Grid,
    };
    let agent: &'static Caller = Box::leak(Box::new(agent));
    for t in tiles {
        let fresh = render(
            &ctx,
            &req(t, &Caller::Public),
            &plan,
            &mut TileEncoder::new(EXTENT, BUFFER),
        );
        // The same encoder after other tiles, of another caller, with other layers.
        let mut reused = TileEncoder::new(EXTENT, BUFFER);
        for other in tiles {
            render(&ctx, &req(other, agent), &plan, &mut reused);
        }
        assert_eq!(
            render(&ctx, &req(t, &Caller::Public), &plan, &mut reused),
            fresh,
            "tile {t}"
        );
    }
}
