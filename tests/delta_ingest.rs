//! Daily deltas: a base ingest plus an append that adds, changes (moves a point, changes the
//! taxon, changes the dates) and deletes observations (a `--delete` file and `last_action`
//! D rows) must serve exactly what a full ingest of the resulting data serves — live
//! records, tiles for public and agent callers, indicators, extracts — and so must the
//! store after `flou compact`. A deleted record appears nowhere. A failed append leaves the
//! previous generation intact, and an append's rejects are a full ingest's rejects.

mod common;

use common::delta::*;
use common::oracle::*;
use common::*;
use flou::geo::BBox;
use flou::store::Store;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// What one delta does, by base row index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    Keep,
    Move,
    Taxon,
    Dates,
    DeleteByFile,
    DeleteByStatus,
}

fn change_of(i: usize) -> Change {
    match i % 23 {
        3 => Change::Move,
        7 => Change::Taxon,
        11 => Change::Dates,
        15 => Change::DeleteByFile,
        19 => Change::DeleteByStatus,
        _ => Change::Keep,
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    base_csv: PathBuf,
    delta_csv: PathBuf,
    delete_csv: PathBuf,
    final_csv: PathBuf,
    final_input: Input,
    deleted: Vec<Row>,
    /// Old and new positions of every record the delta touches.
    touched: Vec<(f64, f64)>,
}

fn shift_years(date: &str, years: i32) -> String {
    let y: i32 = date[..4].parse().unwrap();
    let md = &date[4..];
    // 29 February stays valid by moving to the 28th.
    let md = if md == "-02-29" { "-02-28" } else { md };
    format!("{:04}{md}", y + years)
}

/// The synthetic input without the rows a full ingest rejects (points in no commune…), so
/// that every change a delta makes is an accepted one.
fn valid_input(dir: &Path) -> Input {
    let raw = synthetic_input(dir);
    let probe = dir.join("probe");
    full_ingest(&raw, &probe);
    let stored = levels_in(&probe);
    let mut input = read_input(&raw);
    input.rows.retain(|r| stored.contains_key(&r.id));
    assert!(input.rows.len() > 2500, "{} valid rows", input.rows.len());
    input
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let input = valid_input(dir.path());
    let n_base = input.rows.len() * 9 / 10;
    let (c_nom, c_ref, c_cite, c_debut, c_fin) = (
        col(&input, "cdNom"),
        col(&input, "cdRef"),
        col(&input, "nomCite"),
        col(&input, "dateDebut"),
        col(&input, "dateFin"),
    );
    let base = Input {
        header: input.header.clone(),
        rows: input.rows[..n_base].to_vec(),
    };
    let mut finals: Vec<Row> = Vec::new();
    let mut delta: Vec<(Row, &str)> = Vec::new();
    let mut deleted = Vec::new();
    let mut touched = Vec::new();
    let mut by_file = Vec::new();
    for (i, r) in base.rows.iter().enumerate() {
        let mut new = r.clone();
        match change_of(i) {
            Change::Keep => {
                finals.push(new);
                continue;
            }
            Change::Move => {
                // To another record's place (inside a commune of the referential).
                let other = &base.rows[(i * 7 + 13) % n_base];
                new.lon = other.lon;
                new.lat = other.lat;
                new.commune = other.commune.clone();
            }
            Change::Taxon => {
                let other = &base.rows[(i * 11 + 5) % n_base];
                for c in [c_nom, c_ref, c_cite] {
                    new.fields[c] = other.fields[c].clone();
                }
                new.cd_nom = other.cd_nom;
                new.cd_ref = other.cd_ref;
            }
            Change::Dates => {
                // Ten years earlier: a sensitivity with a duration may have expired.
                new.fields[c_debut] = shift_years(&r.fields[c_debut], -10);
                new.fields[c_fin] = shift_years(&r.fields[c_fin], -10);
                new.debut = new.fields[c_debut].clone();
                new.fin = new.fields[c_fin].clone();
            }
            Change::DeleteByFile => {
                by_file.push(r.id.clone());
                deleted.push(r.clone());
                touched.push((r.lon, r.lat));
                continue;
            }
            Change::DeleteByStatus => {
                // A D row needs nothing but its id: every other field is left empty.
                let mut gone = r.clone();
                for (k, f) in gone.fields.iter_mut().enumerate() {
                    if input.header[k] != "idSINPOccTax" {
                        f.clear();
                    }
                }
                delta.push((gone, "D"));
                deleted.push(r.clone());
                touched.push((r.lon, r.lat));
                continue;
            }
        }
        touched.push((r.lon, r.lat));
        touched.push((new.lon, new.lat));
        delta.push((new.clone(), "U"));
        finals.push(new);
    }
    for r in &input.rows[n_base..] {
        touched.push((r.lon, r.lat));
        delta.push((r.clone(), "I"));
        finals.push(r.clone());
    }

    let base_csv = dir.path().join("base.csv");
    write_input(&base_csv, &base);
    let final_input = Input {
        header: input.header.clone(),
        rows: finals,
    };
    let final_csv = dir.path().join("final.csv");
    write_input(&final_csv, &final_input);

    // The delta: the same columns plus GeoNature's change status.
    let delta_csv = dir.path().join("delta.csv");
    {
        let tmp = dir.path().join("delta-rows.csv");
        write_input(
            &tmp,
            &Input {
                header: input.header.clone(),
                rows: delta.iter().map(|(r, _)| r.clone()).collect(),
            },
        );
        let mut rd = csv::Reader::from_path(&tmp).unwrap();
        let mut w = csv::Writer::from_path(&delta_csv).unwrap();
        let mut header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
        header.push("last_action".into());
        w.write_record(&header).unwrap();
        let (lon, lat) = (col(&input, "longitude"), col(&input, "latitude"));
        for (rec, (_, action)) in rd.records().zip(&delta) {
            let mut f: Vec<String> = rec.unwrap().iter().map(String::from).collect();
            if *action == "D" {
                // write_input filled the position back in: empty it again.
                f[lon].clear();
                f[lat].clear();
            }
            f.push(action.to_string());
            w.write_record(&f).unwrap();
        }
        w.flush().unwrap();
    }
    // The deletion file uses GeoNature's name for the SINP id, and another column.
    let delete_csv = dir.path().join("deleted.csv");
    let mut text = String::from("id_synthese;unique_id_sinp\n");
    for (k, id) in by_file.iter().enumerate() {
        text.push_str(&format!("{k};{id}\n"));
    }
    std::fs::write(&delete_csv, text).unwrap();

    Fixture {
        dir,
        base_csv,
        delta_csv,
        delete_csv,
        final_csv,
        final_input,
        deleted,
        touched,
    }
}

#[test]
fn base_plus_delta_serves_what_a_full_ingest_of_the_result_serves_and_so_does_compact() {
    let fx = fixture();
    let d = fx.dir.path();
    let (full, delta) = (d.join("full"), d.join("delta"));
    full_ingest(&fx.final_csv, &full);
    full_ingest(&fx.base_csv, &delta);
    let s = append(&delta, &[&fx.delta_csv], &[&fx.delete_csv]).unwrap();
    let n_deleted = fx.deleted.len() as u64;
    assert_eq!(s.rejected, 0, "{:?}", s.rejected_by_field);
    assert_eq!(s.deletions, n_deleted);
    assert_eq!(s.deletions_unmatched, 0);
    assert!(s.replaced > 100 && s.accepted > s.replaced, "{s:?}");
    assert_eq!(s.generation, 2);

    // The stores hold the same live records, field for field.
    let (sf, sd) = (Store::open(&full).unwrap(), Store::open(&delta).unwrap());
    assert_eq!(sd.segments().len(), 2);
    assert_eq!(sd.live_count(), fx.final_input.rows.len() as u64);
    assert_eq!(live_records(&sd), live_records(&sf));
    drop((sf, sd));

    let (lf, ld) = (open(&full), open(&delta));
    let levels = levels_in(&full);
    let sensitive_taxon = fx
        .final_input
        .rows
        .iter()
        .find(|r| levels.get(&r.id).is_some_and(|l| l != "0"))
        .unwrap()
        .cd_ref;
    let callers = callers(sensitive_taxon);
    let data_box = fx
        .final_input
        .rows
        .iter()
        .chain(&fx.deleted)
        .fold(BBox::EMPTY, |mut b, r| {
            b.extend([r.lon, r.lat]);
            b
        });
    let mut points: Vec<(f64, f64)> = fx.touched.clone();
    points.extend(fx.deleted.iter().map(|r| (r.lon, r.lat)));
    points.extend(
        fx.final_input
            .rows
            .iter()
            .step_by(60)
            .map(|r| (r.lon, r.lat)),
    );
    let tiles = tile_set(&data_box, &points);
    let (compared, non_empty) = assert_same_tiles("base + delta", &lf, &ld, &tiles, &callers);
    eprintln!("base + delta: {compared} tiles compared, {non_empty} non-empty");
    assert!(non_empty > 1000, "too few non-empty tiles: {non_empty}");
    let placed = assert_same_indicators("base + delta", &lf, &ld, &callers);
    assert!(
        placed > 10_000,
        "indicators placed too few records: {placed}"
    );
    let depts: Vec<String> = {
        let mut v: Vec<String> = fx
            .final_input
            .rows
            .iter()
            .map(|r| r.commune[..2].to_string())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        v.sort();
        v
    };
    let depts: Vec<&str> = depts.iter().map(String::as_str).collect();
    for (k, (name, caller, policy)) in callers.iter().enumerate() {
        let ef = extract_files(&lf, caller, *policy, &depts, &d.join(format!("xf{k}")));
        let ed = extract_files(&ld, caller, *policy, &depts, &d.join(format!("xd{k}")));
        assert!(ef.len() > 3, "{name}: extract has too few files");
        assert!(ef == ed, "{name}: extract files differ");
    }

    // A deleted record is nowhere: no live record, no precise feature, no extract row.
    let everything = &callers[3];
    let ex = extract_files(&ld, &everything.1, everything.2, &depts, &d.join("all"));
    // Every CSV file (F1, F2, F3-…): this caller sees every record precisely, with its id.
    let csv_text: String = ex
        .iter()
        .filter(|(n, _)| n.ends_with(".csv"))
        .map(|(_, b)| String::from_utf8(b.clone()).unwrap())
        .collect();
    let ids_shown: HashSet<&str> = csv_text
        .lines()
        .flat_map(|l| l.split(','))
        .filter(|f| f.len() == 36)
        .collect();
    assert!(
        ids_shown.len() > fx.final_input.rows.len() * 9 / 10,
        "extract CSV files hold {} ids",
        ids_shown.len()
    );
    let live: HashSet<String> = {
        let s = Store::open(&delta).unwrap();
        s.live_records()
            .map(|(si, r)| s.segments()[si].id(r).to_string())
            .collect()
    };
    for r in &fx.deleted {
        assert!(!live.contains(&r.id), "{} still live", r.id);
        assert!(!ids_shown.contains(r.id.as_str()), "{} in an extract", r.id);
        let t = flou::geo::webmercator::tiles_covering(
            &BBox {
                min: [r.lon, r.lat],
                max: [r.lon, r.lat],
            },
            14,
        )
        .next()
        .unwrap();
        let index = flou::server::build_day_index(
            &ld,
            flou::date::Day::today(),
            everything.2,
            &flou::tiles::render::ZoomPlan::default(),
        );
        let tile = render_tile(
            &ld,
            everything.2,
            &everything.1,
            &Default::default(),
            t,
            flou::tiles::render::AggregateMode::Grid,
            Some(&index),
        );
        let ids: Vec<String> = decode(&tile)
            .get("observations")
            .map(|fs| fs.iter().filter_map(|f| prop_str(f, "id")).collect())
            .unwrap_or_default();
        assert!(!ids.contains(&r.id), "{} drawn at z14", r.id);
    }
    drop(ld);

    // After compaction: one segment, the same records, tiles and indicators; the files of
    // the two-segment generation are gone.
    let before: HashSet<String> = files_of(&delta);
    let c = flou::store::compact::compact(&delta).unwrap();
    assert_eq!((c.segments_before, c.generation), (2, 3));
    let sc = Store::open(&delta).unwrap();
    assert_eq!(sc.segments().len(), 1);
    assert_eq!(
        live_records(&sc),
        live_records(&Store::open(&full).unwrap())
    );
    drop(sc);
    let after = files_of(&delta);
    assert!(
        before
            .iter()
            .filter(|f| f.starts_with("seg-"))
            .all(|f| !after.contains(f)),
        "old segments left behind: {after:?}"
    );
    let lc = open(&delta);
    assert_same_tiles("compacted", &lf, &lc, &tiles, &callers);
    assert_same_indicators("compacted", &lf, &lc, &callers);
}

fn files_of(dir: &Path) -> HashSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_failed_append_leaves_the_previous_generation_and_rejects_match_a_full_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let input = valid_input(dir.path());
    let base_csv = dir.path().join("base.csv");
    write_input(
        &base_csv,
        &Input {
            header: input.header.clone(),
            rows: input.rows[..500].to_vec(),
        },
    );
    let store = dir.path().join("store");
    full_ingest(&base_csv, &store);
    let manifest = std::fs::read(store.join("manifest.json")).unwrap();
    let live_before = live_records(&Store::open(&store).unwrap());

    // Every row bad: the append fails and nothing changes.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "idSINPOccTax,cdNom,dateDebut,longitude,latitude\n\
         x1,abc,2020-01-01,6.1,44.9\n\
         x2,3608,2020-13-01,6.1,44.9\n\
         x3,3608,2020-01-01,-40.0,10.0\n",
    )
    .unwrap();
    let e = append(&store, &[&bad], &[]).unwrap_err().to_string();
    assert!(e.contains("every one of the 3 rows was rejected"), "{e}");
    assert_eq!(
        std::fs::read(store.join("manifest.json")).unwrap(),
        manifest
    );
    assert_eq!(live_records(&Store::open(&store).unwrap()), live_before);
    // A file that cannot be read at all (no id column) fails before anything is written.
    let no_id = dir.path().join("no-id.csv");
    std::fs::write(&no_id, "cdNom,dateDebut\n3608,2020-01-01\n").unwrap();
    let e = append(&store, &[&no_id], &[]).unwrap_err().to_string();
    assert!(e.contains("missing required column idSINPOccTax"), "{e}");
    // A deletion file without an id column too.
    let e = append(&store, &[], &[&no_id]).unwrap_err().to_string();
    assert!(e.contains("needs an idSINPOccTax column"), "{e}");
    assert_eq!(
        std::fs::read(store.join("manifest.json")).unwrap(),
        manifest
    );
    let names = files_of(&store);
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".flou")).count(),
        2,
        "stray files: {names:?}"
    );

    // Some rows bad: the same rejects, line for line, as a full ingest of the same file.
    let mixed = dir.path().join("mixed.csv");
    let mut rows = input.rows[500..700].to_vec();
    rows[3].fields[col(&input, "dateDebut")] = "2020-13-45".into(); // line 5: not a date
    rows[7] = rows[1].clone(); // line 9: a duplicate id (of line 3)
    write_input(
        &mixed,
        &Input {
            header: input.header.clone(),
            rows,
        },
    );
    let s = append(&store, &[&mixed], &[]).unwrap();
    assert_eq!(s.rejected, 2, "{:?}", s.rejected_by_field);
    let appended_rejects = std::fs::read_to_string(dir.path().join("store.rejects.csv")).unwrap();
    let scratch = dir.path().join("scratch");
    let f = full_ingest(&mixed, &scratch);
    assert_eq!((f.rejected, f.accepted), (s.rejected, s.accepted));
    assert_eq!(f.rejected_by_field, s.rejected_by_field);
    let full_rejects = std::fs::read_to_string(dir.path().join("scratch.rejects.csv")).unwrap();
    assert_eq!(appended_rejects, full_rejects);
    assert!(
        full_rejects.contains(",9,idSINPOccTax,\"duplicate"),
        "{full_rejects}"
    );
    assert!(full_rejects.contains(",5,dateDebut,"), "{full_rejects}");
    assert_eq!(Store::open(&store).unwrap().live_count(), 500 + 198);
}

#[test]
fn a_record_changed_twice_is_served_in_its_latest_version_only() {
    let dir = tempfile::tempdir().unwrap();
    let input = valid_input(dir.path());
    let rows = &input.rows[..300];
    let base = dir.path().join("base.csv");
    write_input(
        &base,
        &Input {
            header: input.header.clone(),
            rows: rows.to_vec(),
        },
    );
    let store = dir.path().join("store");
    full_ingest(&base, &store);
    let target = rows[10].clone();
    let mut expect: HashMap<String, (f64, f64)> = HashMap::new();
    for day in 0..3 {
        let mut r = target.clone();
        let other = &rows[20 + day];
        r.lon = other.lon;
        r.lat = other.lat;
        r.commune = other.commune.clone();
        let p = dir.path().join(format!("day{day}.csv"));
        write_input(
            &p,
            &Input {
                header: input.header.clone(),
                rows: vec![r.clone()],
            },
        );
        append(&store, &[&p], &[]).unwrap();
        expect.insert(r.id.clone(), (r.lon, r.lat));
    }
    let s = Store::open(&store).unwrap();
    assert_eq!(s.segments().len(), 4);
    assert_eq!(s.live_count(), 300);
    let versions: Vec<(usize, f64, f64)> = s
        .live_records()
        .filter(|(si, r)| s.segments()[*si].id(*r) == target.id)
        .map(|(si, r)| {
            let seg = &s.segments()[si];
            (
                si,
                f64::from(seg.lon_e7()[r]) / 1e7,
                f64::from(seg.lat_e7()[r]) / 1e7,
            )
        })
        .collect();
    assert_eq!(versions.len(), 1, "{versions:?}");
    let (lon, lat) = expect[&target.id];
    assert_eq!(versions[0].0, 3);
    assert!((versions[0].1 - lon).abs() < 1e-6 && (versions[0].2 - lat).abs() < 1e-6);
}
