//! In-process ingest, append, compaction and re-evaluation for the delta tests, and the
//! comparisons they share (live records, tiles, indicators, extracts). In-process so that the
//! store format is always this crate's.

use super::oracle::*;
use super::*;
use flou::access::diffusion::{Precision, PublicPolicy};
use flou::access::view::{AccessContext, AccessView, RecordFilter};
use flou::access::{Caller, Grant};
use flou::date::Day;
use flou::geo::webmercator::{tiles_covering, TileId};
use flou::geo::BBox;
use flou::ingest::append::{run_append, AppendOptions};
use flou::ingest::pipeline::{self, IngestOptions, IngestSummary, ReferentialPaths};
use flou::ingest::Srid;
use flou::server::{build_day_index, Loaded};
use flou::tiles::render::{AggregateMode, ZoomPlan};
use std::collections::{BTreeSet, HashMap};

pub fn full_ingest(csv: &Path, out: &Path) -> IngestSummary {
    pipeline::run(&IngestOptions {
        occurrences: vec![csv.to_path_buf()],
        srid: Srid::Wgs84,
        referentials: ReferentialPaths::embedded(&data()),
        out: out.to_path_buf(),
        progress: false,
        today: Day::today(),
        mapping: None,
    })
    .unwrap()
}

pub fn append(
    store: &Path,
    files: &[&Path],
    deletes: &[&Path],
) -> flou::error::Result<IngestSummary> {
    run_append(&AppendOptions {
        store: store.to_path_buf(),
        occurrences: files.iter().map(|p| p.to_path_buf()).collect(),
        deletions: deletes.iter().map(|p| p.to_path_buf()).collect(),
        srid: Srid::Wgs84,
        referentials: ReferentialPaths::embedded(&data()),
        mapping: None,
        progress: false,
        today: Day::today(),
    })
}

pub fn open(store: &Path) -> Loaded {
    Loaded::open(store, Some(&data().join("taxonomy/bib_noms.csv"))).unwrap()
}

/// Levels in force today per id, from the store (flou's sensitivity report, in-process).
pub fn levels_in(store: &Path) -> HashMap<String, String> {
    let s = flou::store::Store::open(store).unwrap();
    let mut out = Vec::new();
    flou::report::sensitivity_report(&s, Day::today(), None, &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split(',');
            (f.next().unwrap().to_string(), f.next().unwrap().to_string())
        })
        .collect()
}

/// Every live record with every stored field (dictionaries resolved), sorted by id.
pub fn live_records(store: &flou::store::Store) -> Vec<String> {
    let mut v: Vec<String> = store
        .live_records()
        .map(|(s, r)| {
            let seg = &store.segments()[s];
            let mut row = seg.row(r);
            let steps: Vec<_> = seg.steps(r).to_vec();
            let (ds, nc) = (
                seg.dataset_name(r).to_string(),
                seg.nom_cite_text(r).to_string(),
            );
            row.dataset = 0;
            row.nom_cite = 0;
            row.timeline = 0;
            format!("{row:?} {ds} {nc} {steps:?}")
        })
        .collect();
    v.sort();
    v
}

/// The callers the equivalence tests compare for: the public under the most revealing
/// policy and under GINCO's default, an agent with limited grants, and an agent who sees
/// everything precisely.
pub fn callers(sensitive_taxon: u32) -> Vec<(&'static str, Caller, PublicPolicy)> {
    let precise = PublicPolicy {
        min_precision: Precision::Precise,
    };
    vec![
        ("public (precise policy)", Caller::Public, precise),
        (
            "public (commune policy)",
            Caller::Public,
            PublicPolicy {
                min_precision: Precision::Commune,
            },
        ),
        (
            "agent (two departments up to 2, one taxon)",
            Caller::Agent {
                sub: "a".into(),
                grants: vec![
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
                ],
            },
            precise,
        ),
        (
            "agent (everything)",
            Caller::Agent {
                sub: "all".into(),
                grants: vec![Grant {
                    max_sensitivity: 4,
                    ..Grant::default()
                }],
            },
            precise,
        ),
    ]
}

/// All tiles over `data` at z5–z10, and at z11–z14 the tiles holding any of `points`.
pub fn tile_set(data: &BBox, points: &[(f64, f64)]) -> BTreeSet<(u8, u32, u32)> {
    let mut tiles = BTreeSet::new();
    for z in 5..=10 {
        tiles.extend(tiles_covering(data, z).map(|t| (t.z(), t.x(), t.y())));
    }
    for &(lon, lat) in points {
        let p = BBox {
            min: [lon, lat],
            max: [lon, lat],
        };
        for z in 11..=14 {
            tiles.extend(tiles_covering(&p, z).map(|t| (t.z(), t.x(), t.y())));
        }
    }
    tiles
}

/// Asserts `a` and `b` give byte-identical tiles for every caller, through the day index
/// (the serving path) and, for `b`, through the plain scan as well; returns (tiles compared,
/// non-empty).
pub fn assert_same_tiles(
    what: &str,
    a: &Loaded,
    b: &Loaded,
    tiles: &BTreeSet<(u8, u32, u32)>,
    callers: &[(&'static str, Caller, PublicPolicy)],
) -> (usize, usize) {
    let (mut compared, mut non_empty) = (0, 0);
    let filter = RecordFilter::default();
    for (name, caller, policy) in callers {
        let ia = build_day_index(a, Day::today(), *policy, &ZoomPlan::default());
        let ib = build_day_index(b, Day::today(), *policy, &ZoomPlan::default());
        for &(z, x, y) in tiles {
            let t = TileId::new(z, x, y).unwrap();
            let ta = render_tile(
                a,
                *policy,
                caller,
                &filter,
                t,
                AggregateMode::Grid,
                Some(&ia),
            );
            let tb = render_tile(
                b,
                *policy,
                caller,
                &filter,
                t,
                AggregateMode::Grid,
                Some(&ib),
            );
            assert!(ta == tb, "{what}: {name}: tile {z}/{x}/{y} differs");
            if z <= 8 || (x + y) % 4 == 0 {
                let scan = render_tile(b, *policy, caller, &filter, t, AggregateMode::Grid, None);
                assert!(scan == tb, "{what}: {name}: tile {z}/{x}/{y}: scan ≠ index");
            }
            compared += 1;
            non_empty += usize::from(!ta.is_empty());
        }
    }
    (compared, non_empty)
}

/// Asserts every indicator at every unit is the same JSON for every caller.
pub fn assert_same_indicators(
    what: &str,
    a: &Loaded,
    b: &Loaded,
    callers: &[(&'static str, Caller, PublicPolicy)],
) -> usize {
    use flou::indicators::{compute, output, Indicator, Lists, Query, UnitKind};
    let lists = Lists::load(Some(&data()), &a.taxonomy).unwrap();
    let mut placed = 0;
    for (name, caller, policy) in callers {
        for unit in [
            UnitKind::Maille10,
            UnitKind::Commune,
            UnitKind::Departement,
            UnitKind::All,
        ] {
            for ind in Indicator::ALL {
                let q = Query::new(ind, unit);
                let answer = |l: &Loaded| {
                    let ctx =
                        AccessContext::new(&l.store, &l.areas, &l.taxonomy, *policy, &l.cells);
                    let view = AccessView {
                        ctx: &ctx,
                        caller,
                        today: Day::today(),
                        filter: &RecordFilter::default(),
                    };
                    let ans = compute(&view, &l.taxonomy, &lists, &q);
                    (output::to_json(&ans).to_string(), ans.placed)
                };
                let (ja, pa) = answer(a);
                let (jb, _) = answer(b);
                assert!(
                    ja == jb,
                    "{what}: {name}: {} at {} differs:\nA: {}\nB: {}",
                    ind.name(),
                    unit.name(),
                    &ja[..ja.len().min(400)],
                    &jb[..jb.len().min(400)]
                );
                placed += pa as usize;
            }
        }
    }
    placed
}

/// The files of an extract over `departements` for `caller`, by name.
pub fn extract_files(
    l: &Loaded,
    caller: &Caller,
    policy: PublicPolicy,
    departements: &[&str],
    dir: &Path,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    let req: flou::extracts::ExtractRequest = serde_json::from_value(serde_json::json!({
        "departements": departements,
    }))
    .unwrap();
    let ctx = AccessContext::new(&l.store, &l.areas, &l.taxonomy, policy, &l.cells);
    let ex = flou::extracts::run(
        &ctx,
        &l.taxonomy,
        caller,
        &req,
        &BTreeSet::new(),
        Day::today(),
    )
    .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let names = flou::extracts::output::write_all(&ctx, &l.taxonomy, &ex, dir).unwrap();
    names
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

/// Column index in an input header.
pub fn col(input: &Input, name: &str) -> usize {
    input.header.iter().position(|h| h == name).unwrap()
}
