//! Property tests on random grants: for any agent's grants and public policy,
//! - a tile's `observations` layer holds exactly the records this test's own reading of the
//!   rules says the agent may see precisely (no more: no leak; no less: grants work);
//! - at z0, the department aggregates count exactly the records not hidden from the caller
//!   (nothing is lost or counted twice, hidden records are never counted).

mod common;

use common::oracle::*;
use common::*;
use flou::access::diffusion::{Precision, PublicPolicy};
use flou::access::index::DayIndex;
use flou::access::view::RecordFilter;
use flou::access::{Caller, Grant};
use flou::date::Day;
use flou::geo::grid::GridSize;
use flou::geo::webmercator::TileId;
use flou::server::{build_day_index, Loaded};
use flou::tiles::render::AggregateMode;
use flou::tiles::render::ZoomPlan;
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

struct Fixture {
    _dir: tempfile::TempDir,
    input: Input,
    levels: HashMap<String, String>,
    loaded: Loaded,
    /// z11 tiles holding sensitive records.
    tiles: Vec<TileId>,
    departements: Vec<String>,
    communes: Vec<String>,
    taxa: Vec<u32>,
    datasets: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let SyntheticStore {
            dir,
            input,
            levels,
            loaded,
            ..
        } = synthetic_store();
        let sensitive: Vec<&Row> = input
            .rows
            .iter()
            .filter(|r| levels.get(&r.id).is_some_and(|l| l != "0"))
            .collect();
        let mut tiles: Vec<TileId> = sensitive
            .iter()
            .step_by(sensitive.len() / 6)
            .map(|r| tile_of(r.lon, r.lat, 11))
            .collect();
        tiles.dedup();
        let set = |f: &dyn Fn(&Row) -> String| -> Vec<String> {
            let s: BTreeSet<String> = sensitive.iter().map(|r| f(r)).collect();
            s.into_iter().collect()
        };
        let departements = set(&|r| r.commune[..2].to_string());
        let communes: Vec<String> = set(&|r| r.commune.clone()).into_iter().take(40).collect();
        let taxa: Vec<u32> = set(&|r| r.cd_ref.to_string())
            .iter()
            .map(|t| t.parse().unwrap())
            .take(40)
            .collect();
        let datasets = set(&|r| r.dataset.clone());
        Fixture {
            _dir: dir,
            input,
            levels,
            loaded,
            tiles,
            departements,
            communes,
            taxa,
            datasets,
        }
    })
}

/// The day index per policy, built once (the serving path).
fn index_for(f: &'static Fixture, policy: PublicPolicy) -> std::sync::Arc<DayIndex> {
    static CACHE: std::sync::Mutex<Vec<(PublicPolicy, std::sync::Arc<DayIndex>)>> =
        std::sync::Mutex::new(Vec::new());
    let mut c = CACHE.lock().unwrap();
    if let Some((_, i)) = c.iter().find(|(p, _)| *p == policy) {
        return i.clone();
    }
    let i = std::sync::Arc::new(build_day_index(
        &f.loaded,
        Day::today(),
        policy,
        &ZoomPlan::default(),
    ));
    c.push((policy, i.clone()));
    i
}

fn tile_of(lon: f64, lat: f64, z: u8) -> TileId {
    let (x, y) = pixel(lon, lat, z);
    TileId::new(z, (x / 4096.0) as u32, (y / 4096.0) as u32).unwrap()
}

/// Inside the tile, `margin` pixels away from its edges. Encoded points are rounded to
/// whole pixels, so sets are compared with two margins half a pixel apart and more.
fn inside(px: f64, py: f64, margin: f64) -> bool {
    let r = margin..=4096.0 - margin;
    r.contains(&px) && r.contains(&py)
}

/// Precise points of a decoded tile: (id, x, y) by mvt-reader.
fn decoded_points(tile: &[u8]) -> Vec<(String, i32, i32)> {
    if tile.is_empty() {
        return Vec::new();
    }
    let reader = mvt_reader::Reader::new(tile.to_vec()).unwrap();
    let names = reader.get_layer_names().unwrap();
    let Some(i) = names.iter().position(|n| n == "observations") else {
        return Vec::new();
    };
    reader
        .get_features_as::<i32>(i)
        .unwrap()
        .into_iter()
        .map(|f| {
            let id = match f.properties.unwrap_or_default().get("id") {
                Some(mvt_reader::feature::Value::String(s)) => s.clone(),
                other => panic!("observation without a string id: {other:?}"),
            };
            match f.geometry {
                geo_types::Geometry::Point(p) => (id, p.x(), p.y()),
                geo_types::Geometry::MultiPoint(m) if m.0.len() == 1 => {
                    (id, m.0[0].x(), m.0[0].y())
                }
                g => panic!("observation is not a point: {g:?}"),
            }
        })
        .collect()
}

fn grant_strategy(f: &'static Fixture) -> impl Strategy<Value = Grant> {
    (
        proptest::option::of(proptest::sample::subsequence(f.departements.clone(), 1..=2)),
        proptest::option::of(proptest::sample::subsequence(f.communes.clone(), 1..=8)),
        proptest::option::of(proptest::sample::subsequence(f.taxa.clone(), 1..=6)),
        proptest::option::of((1985..2025i32, 0..25i32)),
        proptest::option::of(proptest::sample::select(f.datasets.clone())),
        0..=4u8,
    )
        .prop_map(
            |(departements, communes, taxa, period, dataset, max_sensitivity)| Grant {
                departements,
                communes,
                taxa,
                from: period.and_then(|(y, _)| Day::from_ymd(y, 1, 1)),
                to: period.and_then(|(y, n)| Day::from_ymd(y + n, 12, 31)),
                datasets: dataset.map(|d| vec![d]),
                max_sensitivity,
            },
        )
}

fn policy_strategy() -> impl Strategy<Value = (Precision, Blur)> {
    prop_oneof![
        Just((Precision::Precise, Blur::Precise)),
        Just((Precision::Commune, Blur::Commune)),
        Just((Precision::Grid(GridSize::Km5), Blur::Km5)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn precise_points_are_exactly_those_the_grants_cover(
        grants in proptest::collection::vec(grant_strategy(fixture()), 0..=3),
        (policy, min) in policy_strategy(),
    ) {
        let f = fixture();
        let caller = Caller::Agent { sub: "p".into(), grants };
        let policy = PublicPolicy { min_precision: policy };
        for t in &f.tiles {
            let tile = render_tile(
                &f.loaded,
                policy,
                &caller,
                &RecordFilter::default(),
                *t,
                AggregateMode::Grid,
                Some(&index_for(f, policy)),
            );
            let points = decoded_points(&tile);
            let got = |margin: f64| -> BTreeSet<String> {
                points
                    .iter()
                    .filter(|(_, x, y)| inside(f64::from(*x), f64::from(*y), margin))
                    .map(|(id, _, _)| id.clone())
                    .collect()
            };
            let expected = |margin: f64| -> BTreeSet<String> {
                f.input
                    .rows
                    .iter()
                    .filter(|r| {
                        let Some(level) = f.levels.get(&r.id) else { return false };
                        let (px, py) = pixel(r.lon, r.lat, t.z());
                        let (lx, ly) = (px - f64::from(t.x()) * 4096.0, py - f64::from(t.y()) * 4096.0);
                        inside(lx, ly, margin) && expected_blur(r, level, &caller, min) == Blur::Precise
                    })
                    .map(|r| r.id.clone())
                    .collect()
            };
            let (got_inner, got_outer) = (got(3.0), got(1.0));
            let (expected_inner, expected_outer) = (expected(3.0), expected(1.0));
            let extra: Vec<&String> = got_inner.difference(&expected_outer).collect();
            let missing: Vec<&String> = expected_inner.difference(&got_outer).collect();
            prop_assert!(!got_inner.is_empty() || expected_inner.is_empty());
            prop_assert!(
                extra.is_empty() && missing.is_empty(),
                "tile {}: shown but not allowed {:?}; allowed but not shown {:?}",
                t,
                extra,
                missing
            );
        }
    }

    #[test]
    fn z0_aggregates_count_every_visible_record_once(
        grants in proptest::collection::vec(grant_strategy(fixture()), 0..=3),
        (policy, min) in policy_strategy(),
    ) {
        let f = fixture();
        let caller = Caller::Agent { sub: "p".into(), grants };
        let policy = PublicPolicy { min_precision: policy };
        let tile = render_tile(
            &f.loaded,
            policy,
            &caller,
            &RecordFilter::default(),
            TileId::new(0, 0, 0).unwrap(),
            AggregateMode::Grid,
            Some(&index_for(f, policy)),
        );
        let counted: u64 = decode(&tile)
            .get("aggregates")
            .map(|fs| fs.iter().map(|x| prop_u64(x, "observations").unwrap()).sum())
            .unwrap_or(0);
        let visible = f
            .input
            .rows
            .iter()
            .filter(|r| f.levels.get(&r.id).is_some_and(|l| expected_blur(r, l, &caller, min) != Blur::Hidden))
            .count() as u64;
        prop_assert_eq!(counted, visible);
    }
}
