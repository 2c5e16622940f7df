//! Indicator values over HTTP against this test's own computation: it reads the input CSV
//! (csv crate), the sensitivity levels in force (`flou sensitivity-report`), the taxonomy's
//! cd_nom → cd_ref (bib_noms.csv), applies its own reading of the diffusion rules
//! (`tests/common/oracle.rs`'s `expected_blur`) and the placement rule of the issue, and
//! counts observations, richness, days, datasets, precise records, first / last years and
//! the records not placed per department, region, commune and 10 km cell. Run on the real
//! GeoNature sample and on synthetic data with every kind of diffusion area.

mod common;

use common::oracle::*;
use common::*;
use flou::access::{Caller, Grant};
use flou::admin::AdminAreas;
use flou::geo::grid::{Cell, GridSize};
use flou::server::Loaded;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// The 2016 regions of the embedded departments (INSEE codes: 84 Auvergne-Rhône-Alpes,
/// 93 Provence-Alpes-Côte d'Azur), written here from the published list.
fn region_of(dep: &str) -> &'static str {
    match dep {
        "01" | "03" | "07" | "15" | "26" | "38" | "42" | "43" | "63" | "69" | "73" | "74" => "84",
        "04" | "05" | "06" | "13" | "83" | "84" => "93",
        other => panic!("department {other} outside the embedded data"),
    }
}

/// What the oracle reads from the data files itself (csv crate): taxa, their groups, the
/// invasive list and the thresholds.
struct Refs {
    cd_ref: HashMap<u32, u32>,
    /// cd_ref → group2_inpn: the group of the cd_ref's own name, else of a synonym's.
    groups: HashMap<u32, String>,
    invasive: BTreeSet<u32>,
    thresholds: BTreeMap<String, u64>,
    this_year: i32,
}

fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    csv::Reader::from_path(path)
        .unwrap()
        .deserialize::<HashMap<String, String>>()
        .map(Result::unwrap)
        .collect()
}

fn refs() -> Refs {
    let cd_ref = cd_refs();
    let noms = read_csv(&data().join("taxonomy/bib_noms.csv"));
    // The taxonomy's documented rule (taxonomy_reader.rs): a name in several grouped lists
    // takes a real group before a placeholder in angle brackets, then the lowest id_liste;
    // a cd_ref without a group of its own takes that of its synonym with the lowest cd_nom.
    let list_group: HashMap<u32, String> = read_csv(&data().join("taxonomy/bib_listes.csv"))
        .into_iter()
        .filter(|l| !l["group2_inpn"].is_empty())
        .map(|l| (l["id_liste"].parse().unwrap(), l["group2_inpn"].clone()))
        .collect();
    let mut group_of_nom: HashMap<String, (bool, u32)> = HashMap::new();
    for c in read_csv(&data().join("taxonomy/cor_nom_liste.csv")) {
        let id: u32 = c["id_liste"].parse().unwrap();
        if let Some(g) = list_group.get(&id) {
            let cand = (g.starts_with('<'), id);
            let e = group_of_nom.entry(c["id_nom"].clone()).or_insert(cand);
            if cand < *e {
                *e = cand;
            }
        }
    }
    let mut own: HashMap<u32, String> = HashMap::new();
    let mut synonyms: Vec<(u32, u32, String)> = Vec::new();
    for n in &noms {
        let (nom, r): (u32, u32) = (n["cd_nom"].parse().unwrap(), n["cd_ref"].parse().unwrap());
        if let Some((_, id)) = group_of_nom.get(&n["id_nom"]) {
            let g = list_group[id].clone();
            if nom == r {
                own.insert(r, g);
            } else {
                synonyms.push((nom, r, g));
            }
        }
    }
    synonyms.sort();
    for (_, r, g) in synonyms {
        own.entry(r).or_insert(g);
    }
    let invasive = read_csv(&data().join("indicators/invasive_example.csv"))
        .iter()
        .map(|r| {
            let n: u32 = r["cd_nom"].parse().unwrap();
            cd_ref.get(&n).copied().unwrap_or(n)
        })
        .collect();
    let thresholds = read_csv(&data().join("indicators/knowledge_gap_thresholds.csv"))
        .iter()
        .map(|r| (r["group"].clone(), r["threshold"].parse().unwrap()))
        .collect();
    Refs {
        cd_ref,
        groups: own,
        invasive,
        thresholds,
        this_year: chrono::Local::now()
            .format("%Y")
            .to_string()
            .parse()
            .unwrap(),
    }
}

fn cd_refs() -> HashMap<u32, u32> {
    csv::Reader::from_path(data().join("taxonomy/bib_noms.csv"))
        .unwrap()
        .deserialize::<HashMap<String, String>>()
        .map(|r| {
            let r = r.unwrap();
            (r["cd_nom"].parse().unwrap(), r["cd_ref"].parse().unwrap())
        })
        .collect()
}

/// The real sample's GeoNature columns as the shared `Row`.
fn read_sample() -> Vec<Row> {
    let mut r = csv::Reader::from_path(sample()).unwrap();
    r.deserialize::<HashMap<String, String>>()
        .map(|rec| {
            let rec = rec.unwrap();
            Row {
                fields: Vec::new(),
                id: rec["unique_id_sinp"].clone(),
                cd_nom: rec["cd_nom"].parse().unwrap(),
                cd_ref: 0,
                debut: rec["date_min"][..10].to_string(),
                fin: rec["date_max"][..10].to_string(),
                dataset: rec["id_dataset"].clone(),
                dsp: String::new(),
                producer: String::new(),
                lon: rec["lon_wgs84"].parse().unwrap(),
                lat: rec["lat_wgs84"].parse().unwrap(),
                commune: rec["id_municipality"].clone(),
            }
        })
        .collect()
}

/// The documented cell → department rule, written again here: the department of the
/// commune at the cell's centre, else at the first of a 5 × 5 pattern of points, else of the
/// lowest-coded commune met on a 41 × 41 grid of points.
fn departement_of_cell(areas: &AdminAreas, cell: Cell) -> Option<String> {
    let side = cell.size.metres();
    let [x0, y0] = [f64::from(cell.e) * side, f64::from(cell.n) * side];
    let mut pts = vec![(0.5, 0.5)];
    for i in 0..5 {
        for j in 0..5 {
            pts.push((0.1 + 0.2 * f64::from(i), 0.1 + 0.2 * f64::from(j)));
        }
    }
    let at = |fx: f64, fy: f64| {
        let (lon, lat) = flou::geo::lambert93::inverse(x0 + fx * side, y0 + fy * side);
        areas
            .locate(lon, lat)
            .map(|c| areas.communes[c as usize].code.clone())
    };
    let mut grid = Vec::new();
    for i in 0..41 {
        for j in 0..41 {
            grid.extend(at(f64::from(i) / 40.0, f64::from(j) / 40.0));
        }
    }
    pts.into_iter()
        .find_map(|(fx, fy)| at(fx, fy))
        .or_else(|| grid.into_iter().min())
        .map(|code| code[..2].to_string())
}

/// (unit code, cd_ref) → (first year, last year).
type FirstLast = BTreeMap<(String, u32), (i32, i32)>;

#[derive(Default, Debug, PartialEq)]
struct Expected {
    /// decade → (invasive cd_refs, observations of them).
    invasive: BTreeMap<i32, (BTreeSet<u32>, u64)>,
    /// group → cd_refs seen in the knowledge-gap window.
    gap_taxa: BTreeMap<String, BTreeSet<u32>>,
    observations: u64,
    precise: u64,
    taxa: BTreeSet<u32>,
    days: BTreeSet<String>,
    datasets: BTreeSet<String>,
}

/// unit code → expected values, and the number of records not placed.
fn expected(
    refs: &Refs,
    rows: &[Row],
    levels: &HashMap<String, String>,
    areas: &AdminAreas,
    caller: &Caller,
    min: Blur,
    unit: &str,
) -> (BTreeMap<String, Expected>, u64, FirstLast) {
    let mut out: BTreeMap<String, Expected> = BTreeMap::new();
    let mut first_last = BTreeMap::new();
    let mut not_placed = 0;
    for r in rows {
        let blur = expected_blur(r, &levels[&r.id], caller, min);
        let dep = r.commune[..2].to_string();
        let place = match (blur, unit) {
            (Blur::Hidden, _) => continue,
            (Blur::Precise | Blur::Commune, "commune") => Some(r.commune.clone()),
            (Blur::Precise | Blur::Commune | Blur::Departement, "departement") => Some(dep),
            (Blur::Precise | Blur::Commune | Blur::Departement, "region") => {
                Some(region_of(&dep).to_string())
            }
            (Blur::Precise, "maille10") => {
                Some(Cell::of_lonlat(GridSize::Km10, r.lon, r.lat).code())
            }
            (Blur::Km1 | Blur::Km2 | Blur::Km5 | Blur::Km10, "maille10") => {
                // Each of these grids nests in the 10 km one: the 10 km cell of the point.
                Some(Cell::of_lonlat(GridSize::Km10, r.lon, r.lat).code())
            }
            (b, "departement" | "region") if grid(b).is_some() => {
                let cell = Cell::of_lonlat(grid(b).unwrap(), r.lon, r.lat);
                departement_of_cell(areas, cell).map(|d| {
                    if unit == "region" {
                        region_of(&d).to_string()
                    } else {
                        d
                    }
                })
            }
            _ => None,
        };
        let Some(code) = place else {
            not_placed += 1;
            continue;
        };
        let e = out.entry(code.clone()).or_default();
        e.observations += 1;
        if blur == Blur::Precise {
            e.precise += 1;
        }
        e.taxa.insert(r.cd_ref);
        e.days.insert(r.debut.clone());
        e.datasets.insert(r.dataset.clone());
        let fl_code = code.clone();
        let fl = first_last
            .entry((code, r.cd_ref))
            .or_insert((i32::MAX, i32::MIN));
        fl.0 = fl.0.min(r.debut[..4].parse().unwrap());
        fl.1 = fl.1.max(r.fin[..4].parse().unwrap());
        let e = out.get_mut(&fl_code).unwrap();
        if refs.invasive.contains(&r.cd_ref) {
            let decade = r.debut[..4].parse::<i32>().unwrap() / 10 * 10;
            let v = e.invasive.entry(decade).or_default();
            v.0.insert(r.cd_ref);
            v.1 += 1;
        }
        let fin_year: i32 = r.fin[..4].parse().unwrap();
        if fin_year > refs.this_year - 20 {
            if let Some(g) = refs.groups.get(&r.cd_ref) {
                if refs.thresholds.contains_key(g) {
                    e.gap_taxa.entry(g.clone()).or_default().insert(r.cd_ref);
                }
            }
        }
    }
    (out, not_placed, first_last)
}

fn get_json(server: &Server, path: &str, token: Option<&str>) -> Value {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    let r = server.get(path, &headers);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    serde_json::from_slice(&r.body).unwrap()
}

fn not_placed_total(v: &Value) -> u64 {
    v["not_placed"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

/// Compares every indicator the oracle computes, for one caller, at four units.
#[allow(clippy::too_many_arguments)]
fn check_caller(
    refs: &Refs,
    server: &Server,
    token: Option<&str>,
    rows: &[Row],
    levels: &HashMap<String, String>,
    areas: &AdminAreas,
    caller: &Caller,
    min: Blur,
    label: &str,
) -> u64 {
    let mut compared = 0;
    let (mut invasive_rows, mut gap_values) = (0, 0);
    for unit in ["departement", "region", "commune", "maille10"] {
        let (exp, exp_not_placed, exp_fl) = expected(refs, rows, levels, areas, caller, min, unit);
        let get = |ind: &str| get_json(server, &format!("/indicators/{ind}?unit={unit}"), token);
        let by_code = |v: &Value| -> BTreeMap<String, Value> {
            v["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["code"].as_str().unwrap().to_string(), r.clone()))
                .collect()
        };
        let rich = get("richness");
        let press = get("pressure");
        let share = get("precise-share");
        let obs = get("observations");
        assert_eq!(
            not_placed_total(&rich),
            exp_not_placed,
            "{label} {unit}: not placed"
        );
        assert_eq!(
            rich["placed"].as_u64().unwrap() + exp_not_placed,
            rows.iter()
                .filter(|r| expected_blur(r, &levels[&r.id], caller, min) != Blur::Hidden)
                .count() as u64,
            "{label} {unit}: placed + not placed = visible"
        );
        let (rich, press, share, obs) = (
            by_code(&rich),
            by_code(&press),
            by_code(&share),
            by_code(&obs),
        );
        assert_eq!(
            rich.keys().collect::<Vec<_>>(),
            exp.keys().collect::<Vec<_>>(),
            "{label} {unit}: units"
        );
        for (code, e) in &exp {
            let n = e.observations;
            assert_eq!(obs[code]["observations"], json!(n), "{label} {unit} {code}");
            assert_eq!(
                rich[code]["observations"],
                json!(n),
                "{label} {unit} {code}"
            );
            assert_eq!(
                rich[code]["richness"],
                json!(e.taxa.len()),
                "{label} {unit} {code}: richness"
            );
            assert_eq!(
                press[code]["days"],
                json!(e.days.len()),
                "{label} {unit} {code}: days"
            );
            assert_eq!(
                press[code]["datasets"],
                json!(e.datasets.len()),
                "{label} {unit} {code}: datasets"
            );
            assert_eq!(
                share[code]["precise"],
                json!(e.precise),
                "{label} {unit} {code}"
            );
            let s = share[code]["share"].as_f64().unwrap();
            assert!(
                (s - e.precise as f64 / n as f64).abs() < 1e-4,
                "{label} {unit} {code}: share {s}"
            );
            compared += 1;
        }
        if unit == "departement" || unit == "maille10" {
            // Invasive taxa per unit and decade.
            let inv = get("invasive");
            let got: BTreeMap<(String, i64), (String, u64)> = inv["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        (
                            r["code"].as_str().unwrap().to_string(),
                            r["decade"].as_i64().unwrap(),
                        ),
                        (
                            r["cd_refs"].as_str().unwrap().to_string(),
                            r["observations"].as_u64().unwrap(),
                        ),
                    )
                })
                .collect();
            let want: BTreeMap<(String, i64), (String, u64)> = exp
                .iter()
                .flat_map(|(code, e)| {
                    e.invasive.iter().map(move |(d, (t, n))| {
                        let list: Vec<String> = t.iter().map(u32::to_string).collect();
                        ((code.clone(), i64::from(*d)), (list.join(" "), *n))
                    })
                })
                .collect();
            assert_eq!(got, want, "{label} {unit}: invasive per decade");
            invasive_rows += got.len();
            // Knowledge gaps: richness per group in the last 20 years, against thresholds.
            let kg = get("knowledge-gaps");
            let mut got_rich: BTreeMap<(String, String), u64> = BTreeMap::new();
            for r in kg["rows"].as_array().unwrap() {
                let rich = r["richness"].as_u64().unwrap();
                let th = r["threshold"].as_u64().unwrap();
                let group = r["group"].as_str().unwrap().to_string();
                assert_eq!(th, refs.thresholds[&group]);
                assert_eq!(r["status"], if rich >= th { "known" } else { "gap" });
                if rich > 0 {
                    got_rich.insert((r["code"].as_str().unwrap().to_string(), group), rich);
                }
            }
            let want_rich: BTreeMap<(String, String), u64> = exp
                .iter()
                .flat_map(|(code, e)| {
                    e.gap_taxa
                        .iter()
                        .map(move |(g, t)| ((code.clone(), g.clone()), t.len() as u64))
                })
                .collect();
            assert_eq!(
                got_rich, want_rich,
                "{label} {unit}: knowledge-gap richness"
            );
            let units: BTreeSet<&str> = kg["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["code"].as_str().unwrap())
                .collect();
            assert_eq!(
                units,
                exp.keys().map(String::as_str).collect::<BTreeSet<_>>(),
                "{label} {unit}: knowledge-gap units"
            );
            gap_values += want_rich.len();
        }
        if unit == "departement" {
            let fl = get("first-last");
            let got: BTreeMap<(String, u32), (i32, i32)> = fl["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        (
                            r["code"].as_str().unwrap().to_string(),
                            r["cd_ref"].as_u64().unwrap() as u32,
                        ),
                        (
                            r["first_year"].as_i64().unwrap() as i32,
                            r["last_year"].as_i64().unwrap() as i32,
                        ),
                    )
                })
                .collect();
            assert_eq!(got, exp_fl, "{label}: first-last per department and taxon");
        }
    }
    eprintln!(
        "{label}: {compared} unit values, {invasive_rows} invasive rows, {gap_values} knowledge-gap values compared"
    );
    compared
}

fn run(rows: &mut Vec<Row>, input: &Path, agent_grants: Value, agent: Caller) {
    let refs = refs();
    for r in rows.iter_mut() {
        r.cd_ref = refs.cd_ref.get(&r.cd_nom).copied().unwrap_or(r.cd_nom);
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ingest(input, &store);
    let levels = levels_of(&store);
    // Rows the ingest rejected (listed in STORE.rejects.csv) are not in the store.
    let before = rows.len();
    rows.retain(|r| levels.contains_key(&r.id));
    eprintln!("{} of {before} rows ingested", rows.len());
    assert!(rows.len() * 100 >= before * 99, "too many rows rejected");
    let loaded = Loaded::open(&store, None).unwrap();
    let areas = &loaded.areas;
    // The store places each record in the commune holding its point (the admin module,
    // tested on its own): a GeoNature export's commune column may disagree near borders,
    // so the oracle keys on the located commune, and says how many rows differ.
    let mut relocated = 0;
    for r in rows.iter_mut() {
        let c = areas.locate(r.lon, r.lat).expect("row in a commune");
        let code = &areas.communes[c as usize].code;
        if *code != r.commune {
            relocated += 1;
            r.commune = code.clone();
        }
    }
    eprintln!("{relocated} rows whose commune column differs from the commune of their point");
    let token = hs256_token(SECRET, agent_grants, 3600);
    for (policy, min) in [("commune", Blur::Commune), ("precise", Blur::Precise)] {
        let cfg_dir = dir.path().join(policy);
        std::fs::create_dir_all(&cfg_dir).unwrap();
        let server = Server::start(&store, Some(&config(&cfg_dir, policy)));
        let n = check_caller(
            &refs,
            &server,
            None,
            rows,
            &levels,
            areas,
            &Caller::Public,
            min,
            &format!("public ({policy})"),
        );
        assert!(n > 10, "too few values compared");
        if policy == "commune" {
            let n = check_caller(
                &refs,
                &server,
                Some(&token),
                rows,
                &levels,
                areas,
                &agent,
                min,
                "agent",
            );
            assert!(n > 10, "too few values compared");
        }
    }
}

#[test]
fn indicators_match_an_independent_count_on_the_real_sample() {
    let mut rows = read_sample();
    assert_eq!(rows.len(), 1000);
    let grants = json!([{ "departements": ["38"], "max_sensitivity": 2 }]);
    let agent = Caller::Agent {
        sub: "agent-1".into(),
        grants: vec![Grant {
            departements: Some(vec!["38".into()]),
            max_sensitivity: 2,
            ..Grant::default()
        }],
    };
    run(&mut rows, &sample(), grants, agent);
}

#[test]
fn indicators_match_an_independent_count_on_synthetic_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_input(dir.path());
    let mut input = read_input(&path);
    let first_dataset = input.rows[0].dataset.clone();
    let grants = json!([
        { "departements": ["05", "38"], "max_sensitivity": 2 },
        { "datasets": [first_dataset], "max_sensitivity": 4 }
    ]);
    let agent = Caller::Agent {
        sub: "agent-1".into(),
        grants: vec![
            Grant {
                departements: Some(vec!["05".into(), "38".into()]),
                max_sensitivity: 2,
                ..Grant::default()
            },
            Grant {
                datasets: Some(vec![first_dataset]),
                max_sensitivity: 4,
                ..Grant::default()
            },
        ],
    };
    run(&mut input.rows, &path, grants, agent);
}
