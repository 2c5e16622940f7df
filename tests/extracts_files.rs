//! `flou extract`: the F1 / F2 / F3 files and the summary checked against this test's own
//! computation from the input CSV — the sensitivity level from `flou sensitivity-report`,
//! the blur from `tests/common/oracle.rs` (`expected_blur`), the diffusion area from the
//! row's commune, point and department code, the taxonomic group from the taxonomy.
//!
//! Whether an area meets the perimeter is decided here without flou's intersection code:
//! an area is *in* when a point known to lie in it (an input observation of that commune,
//! a sample point of the cell located in the communes) lies in the perimeter, *out* when
//! its box misses the perimeter's box; otherwise undecided, and then its records must be
//! all in the file or all absent (an area is taken whole or not at all).

mod common;

use common::oracle::*;
use common::*;
use flou::access::{Caller, Grant};
use flou::admin::AdminAreas;
use flou::geo::grid::Cell;
use flou::geo::BBox;
use flou::taxonomy::Taxonomy;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// One output row, as compared: file, id, cdRef, dateDebut, dateFin, idSINPJdd,
/// sensiNiveau, precisionDiffusion, codeDiffusion.
type RowTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

#[derive(Clone, Copy, PartialEq, Debug)]
enum Decision {
    In,
    Out,
    Undecided,
}

enum Per<'a> {
    Departements(&'a [&'a str]),
    Communes(&'a [String]),
    Rect(BBox),
}

struct World {
    areas: AdminAreas,
    commune_box: HashMap<String, BBox>,
    dep_box: HashMap<String, BBox>,
    points_of_commune: HashMap<String, Vec<[f64; 2]>>,
}

fn geojson_boxes(path: &Path) -> HashMap<String, BBox> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut out = HashMap::new();
    for f in v["features"].as_array().unwrap() {
        let code = f["properties"]["code"].as_str().unwrap().to_string();
        let mut bb = BBox::EMPTY;
        let mut walk = vec![&f["geometry"]["coordinates"]];
        while let Some(v) = walk.pop() {
            let a = v.as_array().unwrap();
            if a.len() == 2 && a[0].is_number() && a[1].is_number() {
                bb.extend([a[0].as_f64().unwrap(), a[1].as_f64().unwrap()]);
            } else {
                walk.extend(a.iter());
            }
        }
        out.insert(code, bb);
    }
    out
}

fn dep_of(commune: &str) -> &str {
    &commune[..2]
}

impl World {
    fn in_perimeter(&self, p: [f64; 2], per: &Per) -> bool {
        match per {
            Per::Rect(r) => r.contains(p),
            _ => self
                .areas
                .locate(p[0], p[1])
                .map(|c| self.areas.communes[c as usize].code.clone())
                .is_some_and(|code| match per {
                    Per::Departements(d) => d.contains(&dep_of(&code)),
                    Per::Communes(s) => s.contains(&code),
                    Per::Rect(_) => unreachable!(),
                }),
        }
    }

    fn per_box(&self, per: &Per) -> BBox {
        match per {
            Per::Rect(r) => *r,
            Per::Departements(d) => d
                .iter()
                .fold(BBox::EMPTY, |b, x| b.union(&self.dep_box[*x])),
            Per::Communes(s) => s
                .iter()
                .fold(BBox::EMPTY, |b, x| b.union(&self.commune_box[x])),
        }
    }

    /// Does the diffusion area (precision label, code) of a record meet the perimeter?
    fn decide(&self, precision: &str, code: &str, per: &Per) -> Decision {
        let in_or = |yes: bool, bb: &BBox| {
            if yes {
                Decision::In
            } else if !bb.intersects(&self.per_box(per)) {
                Decision::Out
            } else {
                Decision::Undecided
            }
        };
        match (precision, per) {
            ("commune", Per::Communes(s)) => bool_decision(s.iter().any(|c| c == code)),
            ("commune", Per::Departements(d)) => bool_decision(d.contains(&dep_of(code))),
            ("departement", Per::Departements(d)) => bool_decision(d.contains(&code)),
            ("departement", Per::Communes(s)) => bool_decision(s.iter().any(|c| dep_of(c) == code)),
            ("commune", Per::Rect(r)) => in_or(
                self.points_of_commune[code].iter().any(|p| r.contains(*p)),
                &self.commune_box[code],
            ),
            ("departement", Per::Rect(r)) => in_or(
                self.points_of_commune
                    .iter()
                    .any(|(c, ps)| dep_of(c) == code && ps.iter().any(|p| r.contains(*p))),
                &self.dep_box[code],
            ),
            (_, _) => {
                let cell = Cell::parse(code).unwrap();
                let mut bb = BBox::EMPTY;
                for p in cell.polygon_wgs84(4) {
                    bb.extend(p);
                }
                let sq = cell.square_l93();
                let (x0, y0, side) = (sq[0][0], sq[0][1], sq[2][0] - sq[0][0]);
                let hit = (0..21).any(|i| {
                    (0..21).any(|j| {
                        let (lon, lat) = flou::geo::lambert93::inverse(
                            x0 + side * (0.001 + 0.998 * f64::from(i) / 20.0),
                            y0 + side * (0.001 + 0.998 * f64::from(j) / 20.0),
                        );
                        self.in_perimeter([lon, lat], per)
                    })
                });
                in_or(hit, &bb)
            }
        }
    }
}

fn bool_decision(b: bool) -> Decision {
    if b {
        Decision::In
    } else {
        Decision::Out
    }
}

fn precision_of(b: Blur) -> String {
    match grid(b) {
        Some(g) => format!("{}km", g.km()),
        None => match b {
            Blur::Precise => "precise".into(),
            Blur::Commune => "commune".into(),
            Blur::Departement => "departement".into(),
            other => panic!("{other:?}"),
        },
    }
}

/// Reads `F*.csv` of an extract directory into rows, checking each row's geometry.
fn read_files(dir: &Path, input: &Input) -> Vec<RowTuple> {
    let by_id: HashMap<&str, &Row> = input.rows.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut wkt_of_area: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(file) = name.strip_suffix(".csv") else {
            continue;
        };
        // The same rows in every format.
        let mut csv_rows = 0u64;
        let mut r = csv::Reader::from_path(&path).unwrap();
        let h: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            h,
            [
                "idSINPOccTax",
                "cdRef",
                "nomCite",
                "dateDebut",
                "dateFin",
                "idSINPJdd",
                "sensiNiveau",
                "precisionDiffusion",
                "codeDiffusion",
                "groupeTaxonomique",
                "geometrie"
            ]
        );
        for rec in r.records() {
            let rec = rec.unwrap();
            csv_rows += 1;
            let (id, precision, code, wkt) = (&rec[0], &rec[7], &rec[8], &rec[10]);
            if precision == "precise" {
                let row = by_id[id];
                let p = wkt
                    .strip_prefix("POINT (")
                    .and_then(|s| s.strip_suffix(')'))
                    .unwrap();
                let (x, y) = p.split_once(' ').unwrap();
                assert!((x.parse::<f64>().unwrap() - row.lon).abs() < 1e-6, "{id}");
                assert!((y.parse::<f64>().unwrap() - row.lat).abs() < 1e-6, "{id}");
                assert_eq!(code, "");
            } else {
                // Blurred: no id, and a geometry that is a function of the area alone.
                assert_eq!(id, "", "a blurred row carries no id");
                assert!(wkt.starts_with("MULTIPOLYGON ((("), "{wkt:.40}");
                let key = format!("{precision}/{code}");
                let first = wkt_of_area.entry(key.clone()).or_insert(wkt.to_string());
                assert!(first == wkt, "two geometries for {key}");
            }
            out.push((
                file.to_string(),
                id.to_string(),
                rec[1].to_string(),
                rec[3].to_string(),
                rec[4].to_string(),
                rec[5].to_string(),
                rec[6].to_string(),
                precision.to_string(),
                code.to_string(),
            ));
        }
        let gj: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{file}.geojson"))).unwrap())
                .unwrap();
        assert_eq!(gj["features"].as_array().unwrap().len() as u64, csv_rows);
        let fgb = std::fs::File::open(dir.join(format!("{file}.fgb"))).unwrap();
        let reader = flatgeobuf::FgbReader::open(std::io::BufReader::new(fgb)).unwrap();
        assert_eq!(reader.header().features_count(), csv_rows, "{file}.fgb");
    }
    out.sort();
    out
}

struct Case<'a> {
    name: &'a str,
    request: serde_json::Value,
    per: Per<'a>,
    caller: Caller,
    min: Blur,
    token: Option<String>,
    released: Vec<String>,
}

#[test]
fn extract_files_and_summary_match_an_independent_computation() {
    let SyntheticStore {
        dir,
        store,
        input,
        levels,
        ..
    } = synthetic_store();
    let taxonomy = Taxonomy::load(&data().join("taxonomy/bib_noms.csv")).unwrap();
    let group = |cd: u32| taxonomy.group(cd).unwrap_or("Autres").to_string();
    let admin = data().join("admin");
    let world = World {
        areas: AdminAreas::load(
            &admin.join("communes.geojson"),
            &admin.join("departements.geojson"),
        )
        .unwrap(),
        commune_box: geojson_boxes(&admin.join("communes.geojson")),
        dep_box: geojson_boxes(&admin.join("departements.geojson")),
        points_of_commune: input
            .rows
            .iter()
            .filter(|r| levels.contains_key(&r.id))
            .fold(HashMap::new(), |mut m, r| {
                m.entry(r.commune.clone())
                    .or_insert_with(Vec::new)
                    .push([r.lon, r.lat]);
                m
            }),
    };
    let cfg = config(dir.path(), "commune");
    // 40 communes of the data, from several departments.
    let mut communes: Vec<String> = input
        .rows
        .iter()
        .filter(|r| levels.contains_key(&r.id) && !r.commune.is_empty())
        .map(|r| r.commune.clone())
        .collect();
    communes.sort();
    communes.dedup();
    let communes: Vec<String> = communes
        .iter()
        .step_by(communes.len() / 40)
        .cloned()
        .collect();
    let centre = input
        .rows
        .iter()
        .find(|r| r.commune.starts_with("38"))
        .map(|r| [r.lon, r.lat])
        .unwrap();
    let rect = BBox {
        min: [centre[0] - 0.4, centre[1] - 0.3],
        max: [centre[0] + 0.4, centre[1] + 0.3],
    };
    let grant = Grant {
        departements: Some(vec!["38".into(), "73".into()]),
        max_sensitivity: 4,
        ..Grant::default()
    };
    let token = hs256_token(
        SECRET,
        json!([{ "departements": ["38", "73"], "max_sensitivity": 4 }]),
        3600,
    );
    let agent = Caller::Agent {
        sub: "agent-1".into(),
        grants: vec![grant],
    };
    let deps = ["38", "26"];
    let cases = [
        Case {
            name: "public, two departments",
            request: json!({ "departements": deps }),
            per: Per::Departements(&deps),
            caller: Caller::Public,
            min: Blur::Commune,
            token: None,
            released: vec![],
        },
        Case {
            name: "agent, commune list, insects released",
            request: json!({ "communes": communes, "released_groups": ["Insectes"] }),
            per: Per::Communes(&communes),
            caller: agent.clone(),
            min: Blur::Commune,
            token: Some(token.clone()),
            released: vec!["Insectes".into()],
        },
        Case {
            name: "agent, small polygon",
            request: json!({ "perimeter": { "type": "Polygon", "coordinates": [[
                [rect.min[0], rect.min[1]], [rect.max[0], rect.min[1]],
                [rect.max[0], rect.max[1]], [rect.min[0], rect.max[1]],
                [rect.min[0], rect.min[1]]]] } }),
            per: Per::Rect(rect),
            caller: agent,
            min: Blur::Commune,
            token: Some(token),
            released: vec![],
        },
    ];
    for (k, case) in cases.iter().enumerate() {
        let req_path = dir.path().join(format!("req{k}.json"));
        std::fs::write(&req_path, case.request.to_string()).unwrap();
        let out_dir = dir.path().join(format!("out{k}"));
        let mut args = vec![
            "extract".to_string(),
            "--store".into(),
            store.display().to_string(),
            "--request".into(),
            req_path.display().to_string(),
            "--out".into(),
            out_dir.display().to_string(),
            "--config".into(),
            cfg.display().to_string(),
        ];
        if let Some(t) = &case.token {
            args.extend(["--token".into(), t.clone()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let summary: serde_json::Value = serde_json::from_str(&flou_ok(&args)).unwrap();
        let got = read_files(&out_dir, &input);

        // The expected rows, grouped by diffusion area.
        let mut by_area: BTreeMap<(String, String), Vec<RowTuple>> = BTreeMap::new();
        let mut precise: Vec<(Decision, RowTuple)> = Vec::new();
        for r in &input.rows {
            // Rows the ingest rejected (in STORE.rejects.csv) are not in the store.
            let Some(level) = levels.get(&r.id) else {
                continue;
            };
            let blur = expected_blur(r, level, &case.caller, case.min);
            if blur == Blur::Hidden {
                continue;
            }
            let precision = precision_of(blur);
            let code = match blur {
                Blur::Precise => String::new(),
                Blur::Commune => r.commune.clone(),
                Blur::Departement => dep_of(&r.commune).to_string(),
                b => Cell::of_lonlat(grid(b).unwrap(), r.lon, r.lat).code(),
            };
            let file = if blur == Blur::Precise && level != "0" {
                let g = group(r.cd_ref);
                if case.released.contains(&g) {
                    "F2".to_string()
                } else {
                    // File naming is flou's; which group a record goes to is checked here.
                    flou::extracts::FileKey::F3(g).name()
                }
            } else {
                "F1".to_string()
            };
            let t: RowTuple = (
                file,
                if blur == Blur::Precise {
                    r.id.clone()
                } else {
                    String::new()
                },
                r.cd_ref.to_string(),
                r.debut.clone(),
                if r.fin.is_empty() {
                    r.debut.clone()
                } else {
                    r.fin.clone()
                },
                r.dataset.clone(),
                level.clone(),
                precision.clone(),
                code.clone(),
            );
            if blur == Blur::Precise {
                precise.push((
                    bool_decision(world.in_perimeter([r.lon, r.lat], &case.per)),
                    t,
                ));
            } else {
                by_area.entry((precision, code)).or_default().push(t);
            }
        }
        let mut expected: Vec<RowTuple> = Vec::new();
        let mut undecided = 0;
        for ((precision, code), rows) in &by_area {
            let d = world.decide(precision, code, &case.per);
            let present: Vec<&RowTuple> = got
                .iter()
                .filter(|t| &t.7 == precision && &t.8 == code)
                .collect();
            match d {
                Decision::In => expected.extend(rows.iter().cloned()),
                Decision::Out => {}
                Decision::Undecided => {
                    undecided += 1;
                    if !present.is_empty() {
                        expected.extend(rows.iter().cloned());
                    }
                }
            }
        }
        // Points on a perimeter's edge are rare; the test's point location decides them.
        expected.extend(
            precise
                .into_iter()
                .filter(|(d, _)| *d == Decision::In)
                .map(|(_, t)| t),
        );
        expected.sort();
        let files: BTreeMap<&str, usize> = got.iter().fold(BTreeMap::new(), |mut m, t| {
            *m.entry(t.0.as_str()).or_default() += 1;
            m
        });
        eprintln!(
            "{}: {} rows, files {files:?}, {undecided} undecided areas of {}",
            case.name,
            got.len(),
            by_area.len()
        );
        if got != expected {
            let only_got: Vec<_> = got
                .iter()
                .filter(|t| !expected.contains(t))
                .take(5)
                .collect();
            let only_exp: Vec<_> = expected
                .iter()
                .filter(|t| !got.contains(t))
                .take(5)
                .collect();
            panic!(
                "{}: {} rows, {} expected\nonly in output: {only_got:#?}\nonly expected: {only_exp:#?}",
                case.name,
                got.len(),
                expected.len()
            );
        }
        assert!(
            got.len() > 100,
            "{}: too few rows to prove anything",
            case.name
        );
        assert!(
            undecided * 5 <= by_area.len(),
            "{}: too many undecided areas",
            case.name
        );

        // The summary counts the same rows.
        assert_eq!(
            summary["totals"]["observations"].as_u64(),
            Some(got.len() as u64)
        );
        let sensitive = got.iter().filter(|t| t.6 != "0").count() as u64;
        assert_eq!(summary["totals"]["sensitive"].as_u64(), Some(sensitive));
        for (f, n) in &files {
            assert_eq!(
                summary["files"][f].as_u64(),
                Some(*n as u64),
                "{}: {f}",
                case.name
            );
        }
        let per_group_total: u64 = summary["per_group"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v["observations"].as_u64().unwrap())
            .sum();
        assert_eq!(per_group_total, got.len() as u64);
        // Per public/private status: every row once, and both kinds the synthetic data has.
        let statuses = summary["per_public_status"].as_object().unwrap();
        let per_status_total: u64 = statuses.values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(per_status_total, got.len() as u64);
        assert!(
            statuses.contains_key("Pu") && statuses.contains_key("Pr"),
            "{statuses:?}"
        );
        if let Per::Departements(d) = case.per {
            let n = world
                .commune_box
                .keys()
                .filter(|c| d.contains(&dep_of(c)))
                .count();
            assert_eq!(summary["communes_intersected"].as_u64(), Some(n as u64));
        }
        let reasons: Vec<&str> = summary["review_reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            reasons.iter().any(|r| r.contains("not a member")),
            case.caller == Caller::Public,
            "{}",
            case.name
        );
        if !case.released.is_empty() {
            assert!(files.contains_key("F2"), "{}: no F2", case.name);
        }
        if case.caller != Caller::Public {
            assert!(
                files
                    .keys()
                    .any(|f| f.starts_with("F2") || f.starts_with("F3")),
                "{}: the agent's grant should yield sensitive precise records",
                case.name
            );
        }
    }
}
