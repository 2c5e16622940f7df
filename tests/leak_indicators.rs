//! The leak invariant for indicators, tested metamorphically like the tiles
//! (`leak_metamorphic.rs`): store B differs from store A only in that every record the caller
//! sees blurred is moved to another random point of its diffusion area (`common::moves`).
//! Every indicator answer — all indicators × units × filters, in JSON and GeoJSON — must then
//! be identical for that caller.

mod common;

use common::moves::*;
use common::*;
use flou::access::diffusion::PublicPolicy;
use flou::access::view::{AccessContext, AccessView, RecordFilter};
use flou::access::Caller;
use flou::date::Day;
use flou::geo::grid::GridSize;
use flou::indicators::{compute, output, Indicator, Lists, Query, UnitKind};
use flou::server::Loaded;
use std::collections::BTreeSet;

const UNITS: [UnitKind; 6] = [
    UnitKind::Maille10,
    UnitKind::Commune,
    UnitKind::Departement,
    UnitKind::Region,
    UnitKind::H3(6),
    UnitKind::All,
];

/// One answer, as the server would serialise it (JSON; GeoJSON when `geojson`).
fn answer(
    l: &Loaded,
    lists: &Lists,
    policy: PublicPolicy,
    caller: &Caller,
    filter: &RecordFilter,
    q: &Query,
    geojson: bool,
) -> (String, u64) {
    let ctx = AccessContext::new(&l.store, &l.areas, &l.taxonomy, policy, &l.cells);
    let view = AccessView {
        ctx: &ctx,
        caller,
        today: Day::today(),
        filter,
    };
    let a = compute(&view, &l.taxonomy, lists, q);
    let text = if geojson {
        output::to_geojson(&ctx, lists, &a).to_string()
    } else {
        output::to_json(&a).to_string()
    };
    (text, a.placed)
}

#[test]
fn moving_blurred_records_inside_their_area_changes_no_indicator() {
    let fx = LeakFixture::new();
    let a = &fx.a;
    let lists = Lists::load(Some(&data()), &a.taxonomy).unwrap();
    let filters = fx.filters();
    // Queries beside the plain one per indicator: by year and group, a group filter, a
    // short knowledge-gap window.
    let mut queries: Vec<(Query, bool)> = Vec::new();
    for unit in UNITS {
        for ind in Indicator::ALL {
            queries.push((Query::new(ind, unit), true));
        }
        let mut by = Query::new(Indicator::Richness, unit);
        by.by_year = true;
        by.by_group = true;
        queries.push((by, false));
        let mut insects = Query::new(Indicator::Observations, unit);
        insects.groups = Some(BTreeSet::from(["Insectes".to_string()]));
        queries.push((insects, false));
        let mut gaps = Query::new(Indicator::KnowledgeGaps, unit);
        gaps.years = 10;
        queries.push((gaps, false));
    }

    let scenarios = fx.scenarios();

    for (k, sc) in scenarios.iter().enumerate() {
        let (b, moves) = fx.moved_store(k, sc, 200 + k as u64);
        let cells_changed = moves
            .iter()
            .filter(|(x, y)| {
                flou::geo::grid::Cell::of_lonlat(GridSize::Km10, x.lon, x.lat)
                    != flou::geo::grid::Cell::of_lonlat(GridSize::Km10, y.lon, y.lat)
            })
            .count();
        let communes_changed = moves.iter().filter(|(x, y)| x.commune != y.commune).count();

        let policy = PublicPolicy {
            min_precision: sc.policy,
        };
        let (mut compared, mut non_empty) = (0, 0);
        for (fi, f) in filters.iter().enumerate() {
            for (q, with_geojson) in &queries {
                let formats: &[bool] = if *with_geojson && fi == 0 {
                    &[false, true]
                } else {
                    &[false]
                };
                for geojson in formats {
                    let (ta, placed) = answer(a, &lists, policy, &sc.caller, f, q, *geojson);
                    let (tb, _) = answer(&b, &lists, policy, &sc.caller, f, q, *geojson);
                    assert!(
                        ta == tb,
                        "{}: {} at {} with {f:?} (geojson {geojson}) differs after moving blurred records:\nA: {}\nB: {}",
                        sc.name,
                        q.indicator.name(),
                        q.unit.name(),
                        &ta[..ta.len().min(600)],
                        &tb[..tb.len().min(600)]
                    );
                    compared += 1;
                    if placed > 0 {
                        non_empty += 1;
                    }
                }
            }
        }
        eprintln!(
            "{}: {} moved ({cells_changed} to another 10 km cell, {communes_changed} to another commune), {compared} answers compared, {non_empty} with records placed",
            sc.name,
            moves.len()
        );
        assert!(non_empty > 100, "{}: too few non-empty answers", sc.name);
        assert!(
            cells_changed > 20,
            "{}: too few moves change the 10 km cell to prove anything",
            sc.name
        );
    }
}
