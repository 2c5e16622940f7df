//! The leak invariant for indicators, tested metamorphically like the tiles
//! (`leak_metamorphic.rs`): store B differs from store A only in that every record the caller
//! sees blurred is moved to another random point of its diffusion area (`common::moves`).
//! Every indicator answer — all indicators × units × filters, in JSON and GeoJSON — must then
//! be identical for that caller.

mod common;

use common::moves::*;
use common::oracle::*;
use common::*;
use flou::access::diffusion::{Precision, PublicPolicy};
use flou::access::view::{AccessContext, AccessView, RecordFilter};
use flou::access::{Caller, Grant};
use flou::date::Day;
use flou::geo::grid::GridSize;
use flou::indicators::{compute, output, Indicator, Lists, Query, UnitKind};
use flou::server::Loaded;
use std::collections::{BTreeSet, HashSet};

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
    let dir = tempfile::tempdir().unwrap();
    let input_path = synthetic_input(dir.path());
    let input = read_input(&input_path);
    let store_a = dir.path().join("a");
    ingest(&input_path, &store_a);
    let levels = levels_of(&store_a);
    let taxonomy = data().join("taxonomy/bib_noms.csv");
    let a = Loaded::open(&store_a, Some(&taxonomy)).unwrap();
    let lists = Lists::load(Some(&data()), &a.taxonomy).unwrap();

    let sensitive_taxon = input
        .rows
        .iter()
        .find(|r| levels.get(&r.id).is_some_and(|l| l != "0"))
        .map(|r| r.cd_ref)
        .unwrap();
    let first_dataset = input.rows[0].dataset.clone();
    let filters = [
        RecordFilter::default(),
        RecordFilter {
            taxa: Some(BTreeSet::from([sensitive_taxon])),
            ..RecordFilter::default()
        },
        RecordFilter {
            from: Day::parse("1995-01-01").ok(),
            to: Day::parse("2015-12-31").ok(),
            ..RecordFilter::default()
        },
        RecordFilter {
            datasets: Some(vec![first_dataset.clone()]),
            ..RecordFilter::default()
        },
    ];
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

    let agent = |grants: Vec<Grant>| Caller::Agent {
        sub: "agent".into(),
        grants,
    };
    let scenarios = [
        Scenario {
            name: "public, non-sensitive data precise",
            caller: Caller::Public,
            min: Blur::Precise,
            policy: Precision::Precise,
            across_communes: true,
        },
        Scenario {
            name: "public, GINCO default (commune at least)",
            caller: Caller::Public,
            min: Blur::Commune,
            policy: Precision::Commune,
            across_communes: false,
        },
        Scenario {
            name: "agent: two departments up to level 2, one taxon at any level",
            caller: agent(vec![
                Grant {
                    departements: Some(vec!["05".into(), "38".into()]),
                    max_sensitivity: 2,
                    ..Grant::default()
                },
                Grant {
                    taxa: Some(vec![sensitive_taxon]),
                    max_sensitivity: 4,
                    ..Grant::default()
                },
            ]),
            min: Blur::Precise,
            policy: Precision::Precise,
            across_communes: false,
        },
        Scenario {
            name: "agent: one dataset over a period, public at 5 km",
            caller: agent(vec![Grant {
                from: Day::parse("2000-01-01").ok(),
                to: Day::parse("2015-12-31").ok(),
                datasets: Some(vec![first_dataset]),
                max_sensitivity: 3,
                ..Grant::default()
            }]),
            min: Blur::Km5,
            policy: Precision::Grid(GridSize::Km5),
            across_communes: false,
        },
    ];
    let ruled: HashSet<u32> = csv::Reader::from_path(data().join("sensitivity/especesensible.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap()[2].parse().unwrap())
        .collect();

    for (k, sc) in scenarios.iter().enumerate() {
        let (moved_input, moves) = moved(&input, &levels, &a.areas, sc, &ruled, 200 + k as u64);
        assert!(
            moves.len() > 200,
            "{}: only {} records moved",
            sc.name,
            moves.len()
        );
        let cells_changed = moves
            .iter()
            .filter(|(x, y)| {
                flou::geo::grid::Cell::of_lonlat(GridSize::Km10, x.lon, x.lat)
                    != flou::geo::grid::Cell::of_lonlat(GridSize::Km10, y.lon, y.lat)
            })
            .count();
        let communes_changed = moves.iter().filter(|(x, y)| x.commune != y.commune).count();
        let b_csv = dir.path().join(format!("b{k}.csv"));
        write_input(&b_csv, &moved_input);
        let store_b = dir.path().join(format!("b{k}"));
        ingest(&b_csv, &store_b);
        let b = Loaded::open(&store_b, Some(&taxonomy)).unwrap();
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
                    let (ta, placed) = answer(&a, &lists, policy, &sc.caller, f, q, *geojson);
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
