//! Point groups (dense tiles below `points_max_zoom`) against this test's own oracle: a
//! group counts only records the caller may see precisely, all of them inside the small
//! square it stands for, and carries nothing of any single member (no id, name, date or
//! dataset). The oracle is `common::oracle` (DOMAIN.md read by the test) and the
//! Web-Mercator formulas written below, not flou's access module or projection.

mod common;

use common::oracle::*;
use common::*;
use flou::access::diffusion::{Precision, PublicPolicy};
use flou::access::view::RecordFilter;
use flou::access::{Caller, Grant};
use flou::date::Day;
use flou::geo::webmercator::TileId;
use flou::server::build_day_index;
use flou::tiles::render::{AggregateMode, ZoomPlan};
use std::collections::{BTreeMap, HashMap};

/// A decoded observation feature: its integer position and properties.
struct Obs {
    x: i32,
    y: i32,
    props: BTreeMap<String, String>,
}

fn observations(tile: &[u8]) -> Vec<Obs> {
    decode(tile)
        .remove("observations")
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            // "Point(Point(Coord { x: 1, y: 2 }))" or a one-point MultiPoint.
            let nums: Vec<i32> = f
                .geometry
                .split(|c: char| !(c.is_ascii_digit() || c == '-'))
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect();
            assert_eq!(
                nums.len(),
                2,
                "observation is not one point: {}",
                f.geometry
            );
            Obs {
                x: nums[0],
                y: nums[1],
                props: f.properties,
            }
        })
        .collect()
}

/// A record as the oracle sees it in one tile: its pixel in the tile, whether the caller
/// may see it precisely, its taxon.
struct Placed {
    x: f64,
    y: f64,
    precise: bool,
    cd_ref: u32,
}

fn placed(
    input: &Input,
    levels: &HashMap<String, String>,
    caller: &Caller,
    taxon: Option<u32>,
    t: TileId,
) -> Vec<Placed> {
    input
        .rows
        .iter()
        .filter(|r| taxon.is_none_or(|c| r.cd_ref == c))
        .filter_map(|r| {
            let level = levels.get(&r.id)?;
            let (px, py) = pixel(r.lon, r.lat, t.z());
            Some(Placed {
                x: px - f64::from(t.x()) * 4096.0,
                y: py - f64::from(t.y()) * 4096.0,
                precise: expected_blur(r, level, caller, Blur::Precise) == Blur::Precise,
                cd_ref: r.cd_ref,
            })
        })
        .collect()
}

/// The `k` tiles of zoom `z` holding the most records, by this test's own projection.
fn densest(input: &Input, z: u8, k: usize) -> Vec<TileId> {
    let mut count: HashMap<(u32, u32), usize> = HashMap::new();
    for r in &input.rows {
        let (px, py) = pixel(r.lon, r.lat, z);
        *count
            .entry(((px / 4096.0) as u32, (py / 4096.0) as u32))
            .or_default() += 1;
    }
    let mut by: Vec<_> = count.into_iter().collect();
    by.sort_by_key(|(k, n)| (std::cmp::Reverse(*n), *k));
    by.iter()
        .take(k)
        .map(|((x, y), _)| TileId::new(z, *x, *y).unwrap())
        .collect()
}

fn within(p: &Placed, lo: [f64; 2], hi: [f64; 2]) -> bool {
    (lo[0]..=hi[0]).contains(&p.x) && (lo[1]..=hi[1]).contains(&p.y)
}

#[test]
fn point_groups_count_only_precise_records_of_their_square_and_show_no_member() {
    let SyntheticStore {
        input,
        levels,
        loaded,
        ..
    } = synthetic_store();
    let policy = PublicPolicy {
        min_precision: Precision::Precise,
    };
    let index = build_day_index(&loaded, Day::today(), policy, &ZoomPlan::default());
    let grouping = ZoomPlan {
        group_points_above: 0,
        ..ZoomPlan::default()
    };

    // The densest tiles at z10–z12, by this test's own projection.
    let tiles: Vec<TileId> = (10..=12).flat_map(|z| densest(&input, z, 6)).collect();
    let departement = input.rows[0].commune[..2].to_string();
    let callers = [
        Caller::Public,
        Caller::Agent {
            sub: "a".into(),
            grants: vec![Grant {
                departements: Some(vec![departement]),
                communes: None,
                taxa: None,
                from: None,
                to: None,
                datasets: None,
                max_sensitivity: 2,
            }],
        },
        // Sees every record precisely: read from the point order, as the public is.
        Caller::Agent {
            sub: "all".into(),
            grants: vec![Grant {
                max_sensitivity: 4,
                ..Grant::default()
            }],
        },
    ];
    // The commonest taxon: a taxon filter keeps groups in the densest tiles.
    let mut per_taxon: HashMap<u32, usize> = HashMap::new();
    for r in &input.rows {
        *per_taxon.entry(r.cd_ref).or_default() += 1;
    }
    let common_taxon = per_taxon
        .iter()
        .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
        .map(|(c, _)| *c);

    let (mut groups, mut multi, mut blurred_beside) = (0, 0, 0);
    for (caller, taxon) in callers.iter().flat_map(|c| [(c, None), (c, common_taxon)]) {
        let filter = RecordFilter {
            taxa: taxon.map(|c| [c].into()),
            ..RecordFilter::default()
        };
        for t in &tiles {
            let records = placed(&input, &levels, caller, taxon, *t);
            let tile = render_tile_with(
                &loaded,
                policy,
                caller,
                &filter,
                *t,
                AggregateMode::Grid,
                Some(&index),
                &grouping,
            );
            let obs = observations(&tile);
            let mut shown = 0u64;
            for o in &obs {
                let n = match o.props.get("observations") {
                    None => {
                        // A single point: a record the caller may see precisely.
                        let id = o.props.get("id").expect("a single point has its id");
                        assert!(id.contains('"'), "id is a string: {id}");
                        1
                    }
                    Some(_) => {
                        let n = prop_u64_of(o, "observations");
                        for key in ["id", "name", "date_debut", "date_fin", "dataset"] {
                            assert!(
                                !o.props.contains_key(key),
                                "tile {t}: a group carries its members' {key}: {:?}",
                                o.props
                            );
                        }
                        // The square this group stands for: 64 units, aligned on -64.
                        let lo = [
                            (f64::from(o.x) / 64.0).floor() * 64.0,
                            (f64::from(o.y) / 64.0).floor() * 64.0,
                        ];
                        let hi = [lo[0] + 63.0, lo[1] + 63.0];
                        let inner = |precise_only: bool| {
                            records
                                .iter()
                                .filter(|p| {
                                    (p.precise || !precise_only)
                                        && within(
                                            p,
                                            [lo[0] + 1.0, lo[1] + 1.0],
                                            [hi[0] - 1.0, hi[1] - 1.0],
                                        )
                                })
                                .count() as u64
                        };
                        let outer: Vec<&Placed> = records
                            .iter()
                            .filter(|p| {
                                p.precise
                                    && within(
                                        p,
                                        [lo[0] - 1.0, lo[1] - 1.0],
                                        [hi[0] + 1.0, hi[1] + 1.0],
                                    )
                            })
                            .collect();
                        assert!(
                            inner(true) <= n && n <= outer.len() as u64,
                            "tile {t} {caller:?} {taxon:?}: group at ({}, {}) counts {n}, the oracle {}..={} precise records in its square",
                            o.x,
                            o.y,
                            inner(true),
                            outer.len()
                        );
                        assert!(n >= 2, "a group of one: {:?}", o.props);
                        if o.props.contains_key("cd_ref") {
                            let cd = prop_u64_of(o, "cd_ref");
                            let inner_taxa: Vec<u32> = records
                                .iter()
                                .filter(|p| {
                                    p.precise
                                        && within(
                                            p,
                                            [lo[0] + 1.0, lo[1] + 1.0],
                                            [hi[0] - 1.0, hi[1] - 1.0],
                                        )
                                })
                                .map(|p| p.cd_ref)
                                .collect();
                            assert!(
                                inner_taxa.iter().all(|c| u64::from(*c) == cd),
                                "tile {t}: group says taxon {cd} but holds {inner_taxa:?}"
                            );
                        }
                        groups += 1;
                        multi += usize::from(n > 2);
                        // The oracle can tell a count of all records from a count of the
                        // precise ones here: a mutant counting blurred records would fail.
                        if inner(false) > outer.len() as u64 {
                            blurred_beside += 1;
                        }
                        n
                    }
                };
                shown += n;
            }
            // Every record the caller sees precisely in the tile and its buffer is drawn
            // once, alone or in a group (margins: rounding, and quantization).
            let count = |m: f64| {
                records
                    .iter()
                    .filter(|p| {
                        p.precise && within(p, [-64.0 + m, -64.0 + m], [4160.0 - m, 4160.0 - m])
                    })
                    .count() as u64
            };
            assert!(
                count(1.0) <= shown && shown <= count(-1.0),
                "tile {t} {caller:?} {taxon:?}: {shown} records drawn, the oracle {}..={}",
                count(1.0),
                count(-1.0)
            );
        }
    }
    eprintln!(
        "{groups} groups checked, {multi} of more than 2, {blurred_beside} beside blurred records"
    );
    assert!(groups > 20, "too few groups to prove anything: {groups}");
    assert!(multi > 0);
    assert!(
        blurred_beside > 0,
        "no group shares its square with a blurred record"
    );
}

fn prop_u64_of(o: &Obs, key: &str) -> u64 {
    let v = o.props.get(key).unwrap();
    v.split_once('(')
        .and_then(|(_, r)| r.strip_suffix(')'))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{key} is not an integer: {v}"))
}

/// Grouping follows the plan: none under the threshold or from `points_max_zoom`, and the
/// same tile grouped or not holds the same records.
#[test]
fn point_groups_appear_only_above_the_threshold_and_below_points_max_zoom() {
    let SyntheticStore { input, loaded, .. } = synthetic_store();
    let policy = PublicPolicy {
        min_precision: Precision::Precise,
    };
    let t = densest(&input, 10, 1)[0];
    let render = |plan: &ZoomPlan| {
        observations(&render_tile_with(
            &loaded,
            policy,
            &Caller::Public,
            &RecordFilter::default(),
            t,
            AggregateMode::Grid,
            None,
            plan,
        ))
    };
    let total = |obs: &[Obs]| -> u64 {
        obs.iter()
            .map(|o| {
                o.props
                    .get("observations")
                    .map_or(1, |_| prop_u64_of(o, "observations"))
            })
            .sum()
    };
    let plain = render(&ZoomPlan::default());
    let n = plain.len() as u32;
    assert!(n > 3, "tile {t} has {n} points");
    assert!(plain.iter().all(|o| !o.props.contains_key("observations")));
    let at = |above: u32, max_zoom: u8| {
        render(&ZoomPlan {
            group_points_above: above,
            points_max_zoom: max_zoom,
            ..ZoomPlan::default()
        })
    };
    let grouped = |obs: &[Obs]| obs.iter().any(|o| o.props.contains_key("observations"));
    assert!(!grouped(&at(n, 16)), "{n} points, threshold {n}: no group");
    let below = at(n - 1, 16);
    assert!(grouped(&below), "{n} points, threshold {}: groups", n - 1);
    assert_eq!(total(&below), u64::from(n));
    assert!(below.len() < plain.len());
    assert!(
        !grouped(&at(0, 10)),
        "z10 with points_max_zoom 10: every point alone"
    );
}
