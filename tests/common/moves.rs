//! Moving records inside their diffusion area, for the metamorphic leak tests: store B
//! differs from store A only by such moves, so anything a caller receives must be equal.

use super::oracle::*;
use flou::access::diffusion::Precision;
use flou::access::Caller;
use flou::admin::AdminAreas;
use flou::geo::grid::Cell;
use flou::geo::BBox;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};

/// A caller and the public policy (as flou's [`Precision`] and this test's [`Blur`]).
pub struct Scenario {
    pub name: &'static str,
    pub caller: Caller,
    pub min: Blur,
    pub policy: Precision,
    pub across_communes: bool,
}

/// A random point of commune `c` (and of `cell` when given), or None after many tries.
pub fn random_point_in(
    areas: &AdminAreas,
    c: u32,
    cell: Option<Cell>,
    rng: &mut SmallRng,
) -> Option<(f64, f64)> {
    let b = areas.communes[c as usize].bbox;
    for _ in 0..20_000 {
        let lon = rng.gen_range(b.min[0]..=b.max[0]);
        let lat = rng.gen_range(b.min[1]..=b.max[1]);
        if areas.locate(lon, lat) == Some(c)
            && cell.is_none_or(|k| Cell::of_lonlat(k.size, lon, lat) == k)
        {
            return Some((lon, lat));
        }
    }
    None
}

/// A random point of `cell` lying in a commune of department `d`, with that commune.
pub fn random_point_in_cell(
    areas: &AdminAreas,
    cell: Cell,
    d: Option<u16>,
    rng: &mut SmallRng,
) -> Option<((f64, f64), u32)> {
    let mut b = BBox::EMPTY;
    for p in cell.polygon_wgs84(2) {
        b.extend(p);
    }
    for _ in 0..20_000 {
        let lon = rng.gen_range(b.min[0]..=b.max[0]);
        let lat = rng.gen_range(b.min[1]..=b.max[1]);
        if Cell::of_lonlat(cell.size, lon, lat) != cell {
            continue;
        }
        if let Some(c) = areas
            .locate(lon, lat)
            .filter(|c| d.is_none_or(|d| areas.communes[*c as usize].departement == d))
        {
            return Some(((lon, lat), c));
        }
    }
    None
}

/// Moves every record blurred for `caller` inside its diffusion area (and its commune, so
/// its department, sensitivity and grant coverage stay the same). With `across_communes`
/// (public callers only), department-level records move anywhere in their department and
/// cell-level records anywhere in their cell within their department.
pub fn moved(
    input: &Input,
    levels: &HashMap<String, String>,
    areas: &AdminAreas,
    sc: &Scenario,
    ruled: &HashSet<u32>,
    seed: u64,
) -> (Input, Vec<(Row, Row)>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut rows = Vec::new();
    let mut moves = Vec::new();
    for r in &input.rows {
        let mut n = r.clone();
        if let (Some(level), Some(c)) = (levels.get(&r.id), areas.commune_by_code(&r.commune)) {
            let blur = expected_blur(r, level, &sc.caller, sc.min);
            let target = match blur {
                Blur::Precise => None,
                Blur::Departement if sc.across_communes => {
                    let d = areas.communes[c as usize].departement;
                    let same: Vec<u32> = (0..areas.communes.len() as u32)
                        .filter(|k| areas.communes[*k as usize].departement == d)
                        .collect();
                    let other = same[rng.gen_range(0..same.len())];
                    random_point_in(areas, other, None, &mut rng).map(|p| (p, other))
                }
                b if sc.across_communes && grid(b).is_some() => {
                    // Anywhere in the cell: in any department when no sensitivity rule names
                    // the taxon (its level is then the same everywhere), else in its own.
                    let cell = grid(b).map(|s| Cell::of_lonlat(s, r.lon, r.lat)).unwrap();
                    let free = !ruled.contains(&r.cd_nom) && !ruled.contains(&r.cd_ref);
                    let d = (!free).then_some(areas.communes[c as usize].departement);
                    random_point_in_cell(areas, cell, d, &mut rng)
                }
                b => {
                    let cell = grid(b).map(|s| Cell::of_lonlat(s, r.lon, r.lat));
                    random_point_in(areas, c, cell, &mut rng).map(|p| (p, c))
                }
            };
            if let Some(((lon, lat), com)) = target {
                n.lon = lon;
                n.lat = lat;
                n.commune = areas.communes[com as usize].code.clone();
                moves.push((r.clone(), n.clone()));
            }
        }
        rows.push(n);
    }
    (
        Input {
            header: input.header.clone(),
            rows,
        },
        moves,
    )
}

/// Store A of the synthetic input, and what every metamorphic leak test derives from it:
/// the levels in force, the taxa a sensitivity rule names, the callers and filters.
pub struct LeakFixture {
    pub dir: tempfile::TempDir,
    pub input: Input,
    pub levels: HashMap<String, String>,
    pub a: flou::server::Loaded,
    /// Taxa some sensitivity rule names (read with the csv crate from the referential).
    pub ruled: HashSet<u32>,
    pub sensitive_taxon: u32,
    pub first_dataset: String,
}

impl LeakFixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let input_path = synthetic_input(dir.path());
        let input = read_input(&input_path);
        let store_a = dir.path().join("a");
        super::ingest(&input_path, &store_a);
        let levels = levels_of(&store_a);
        let a = flou::server::Loaded::open(
            &store_a,
            Some(&super::data().join("taxonomy/bib_noms.csv")),
        )
        .unwrap();
        let ruled = csv::Reader::from_path(super::data().join("sensitivity/especesensible.csv"))
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
        LeakFixture {
            dir,
            input,
            levels,
            a,
            ruled,
            sensitive_taxon,
            first_dataset,
        }
    }

    /// The callers every leak test compares under: the public with two policies, and two
    /// agents with different kinds of grants.
    pub fn scenarios(&self) -> Vec<Scenario> {
        use flou::access::Grant;
        use flou::date::Day;
        use flou::geo::grid::GridSize;
        let agent = |grants: Vec<Grant>| Caller::Agent {
            sub: "agent".into(),
            grants,
        };
        vec![
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
                        taxa: Some(vec![self.sensitive_taxon]),
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
                    datasets: Some(vec![self.first_dataset.clone()]),
                    max_sensitivity: 3,
                    ..Grant::default()
                }]),
                min: Blur::Km5,
                policy: Precision::Grid(GridSize::Km5),
                across_communes: false,
            },
        ]
    }

    /// The filters every leak test compares under: none, a sensitive taxon, a period, a dataset.
    pub fn filters(&self) -> Vec<flou::access::view::RecordFilter> {
        use flou::access::view::RecordFilter;
        use flou::date::Day;
        vec![
            RecordFilter::default(),
            RecordFilter {
                taxa: Some(std::collections::BTreeSet::from([self.sensitive_taxon])),
                ..RecordFilter::default()
            },
            RecordFilter {
                from: Day::parse("1995-01-01").ok(),
                to: Day::parse("2015-12-31").ok(),
                ..RecordFilter::default()
            },
            RecordFilter {
                datasets: Some(vec![self.first_dataset.clone()]),
                ..RecordFilter::default()
            },
        ]
    }

    /// Store B for `sc`: every record blurred for its caller moved inside its diffusion
    /// area; with the moves made (at least 200, or the comparison proves little).
    pub fn moved_store(
        &self,
        k: usize,
        sc: &Scenario,
        seed: u64,
    ) -> (flou::server::Loaded, Vec<(Row, Row)>) {
        let (moved_input, moves) = moved(
            &self.input,
            &self.levels,
            &self.a.areas,
            sc,
            &self.ruled,
            seed,
        );
        assert!(
            moves.len() > 200,
            "{}: only {} records moved",
            sc.name,
            moves.len()
        );
        let b_csv = self.dir.path().join(format!("b{k}.csv"));
        write_input(&b_csv, &moved_input);
        let store_b = self.dir.path().join(format!("b{k}"));
        super::ingest(&b_csv, &store_b);
        let b = flou::server::Loaded::open(
            &store_b,
            Some(&super::data().join("taxonomy/bib_noms.csv")),
        )
        .unwrap();
        (b, moves)
    }
}
