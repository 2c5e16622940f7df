//! Sensitivity that expires: the store keeps each record's sensitivity as a timeline, so the
//! same store served on later days shows records at their new level without any re-import.
//! For the records whose level changes between today and 40 years from now, at five days,
//! every caller's z14 tile draws a record as a point exactly when this test's oracle
//! (`expected_blur` of tests/common/oracle.rs, from the level `flou sensitivity-report --at`
//! gives for that day) says it may: nothing finer than allowed before the expiry, the precise
//! point after it. The day index of each day is the one the server builds.

mod common;

use common::delta::*;
use common::oracle::*;
use common::*;
use flou::access::diffusion::Precision;
use flou::access::view::AccessContext;
use flou::date::Day;
use flou::geo::webmercator::tiles_covering;
use flou::geo::BBox;
use flou::server::build_day_index;
use flou::tiles::mvt::TileEncoder;
use flou::tiles::render::{render, AggregateMode, TileRequest, ZoomPlan, BUFFER, EXTENT};
use std::collections::{HashMap, HashSet};
use std::path::Path;

fn levels_at(store: &Path, day: Day) -> HashMap<String, String> {
    flou_ok(&[
        "sensitivity-report",
        "--store",
        store.to_str().unwrap(),
        "--at",
        &day.to_string(),
    ])
    .lines()
    .skip(1)
    .map(|l| {
        let mut f = l.split(',');
        (f.next().unwrap().to_string(), f.next().unwrap().to_string())
    })
    .collect()
}

#[test]
fn records_whose_sensitivity_expires_are_blurred_until_the_day_and_precise_after() {
    let dir = tempfile::tempdir().unwrap();
    let raw = synthetic_input(dir.path());
    let store = dir.path().join("store");
    full_ingest(&raw, &store);
    let input = read_input(&raw);
    let today = Day::today();
    let days: Vec<Day> = [0u32, 3, 10, 20, 40]
        .iter()
        .map(|y| today.add_years(*y))
        .collect();
    let levels: Vec<HashMap<String, String>> = days.iter().map(|d| levels_at(&store, *d)).collect();
    // The records whose level is not the same on every day.
    let moving: Vec<&Row> = input
        .rows
        .iter()
        .filter(|r| {
            let seen: HashSet<Option<&String>> = levels.iter().map(|l| l.get(&r.id)).collect();
            seen.len() > 1 && levels.iter().all(|l| l.contains_key(&r.id))
        })
        .collect();
    let lowered = moving
        .iter()
        .filter(|r| level_rank(&levels[0][&r.id]) > level_rank(&levels[4][&r.id]))
        .count();
    assert!(
        lowered >= 10,
        "the synthetic data must hold records whose sensitivity expires ({lowered})"
    );

    let l = open(&store);
    let sensitive_taxon = moving[0].cd_ref;
    let mut checked = 0;
    let mut became_precise = 0;
    for (name, caller, policy) in callers(sensitive_taxon) {
        let min = match policy.min_precision {
            Precision::Precise => Blur::Precise,
            _ => Blur::Commune,
        };
        for (day, levels_of_day) in days.iter().zip(&levels) {
            let index = build_day_index(&l, *day, policy, &ZoomPlan::default());
            let ctx = AccessContext::new(&l.store, &l.areas, &l.taxonomy, policy, &l.cells)
                .with_index(Some(&index));
            let mut drawn: HashMap<(u32, u32), HashSet<String>> = HashMap::new();
            for r in &moving {
                let p = BBox {
                    min: [r.lon, r.lat],
                    max: [r.lon, r.lat],
                };
                let t = tiles_covering(&p, 14).next().unwrap();
                let ids = drawn.entry((t.x(), t.y())).or_insert_with(|| {
                    let req = TileRequest {
                        tile: t,
                        caller: &caller,
                        filter: &Default::default(),
                        today: *day,
                        aggregate: AggregateMode::Grid,
                    };
                    let tile = render(
                        &ctx,
                        &req,
                        &ZoomPlan::default(),
                        &mut TileEncoder::new(EXTENT, BUFFER),
                    );
                    decode(&tile)
                        .get("observations")
                        .map(|fs| fs.iter().filter_map(|f| prop_str(f, "id")).collect())
                        .unwrap_or_default()
                });
                let level = &levels_of_day[&r.id];
                let expected = expected_blur(r, level, &caller, min) == Blur::Precise;
                assert_eq!(
                    ids.contains(&r.id),
                    expected,
                    "{name} on {day}: {} at level {level} drawn as a point",
                    r.id
                );
                checked += 1;
                if expected && day != &days[0] {
                    let before = expected_blur(r, &levels[0][&r.id], &caller, min);
                    became_precise += usize::from(before != Blur::Precise);
                }
            }
        }
    }
    eprintln!(
        "{} moving records, {lowered} lowered, {checked} checks, {became_precise} became precise",
        moving.len()
    );
    assert!(
        became_precise > 0,
        "some record must turn precise after its expiry"
    );
}
