//! End to end through the real binary: real files → `flou ingest` → store →
//! `flou sensitivity-report` / `flou info`, checked against an independent oracle
//! (tests/oracle/sensitivity_oracle.py, its own implementation of the DOMAIN.md algorithm
//! fed with the commune GeoNature computed, not ours).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn data() -> PathBuf {
    root().join("data")
}

fn sample() -> PathBuf {
    data().join("occurrences/geonature-synthese-sample.csv")
}

fn flou(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_flou"))
        .args(args)
        .env("FLOU_DATA", data())
        .output()
        .expect("run flou");
    out
}

fn ok(args: &[&str]) -> String {
    let out = flou(args);
    assert!(
        out.status.success(),
        "flou {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn ingest(occurrences: &[&Path], store: &Path) -> serde_json::Value {
    let mut args = vec![
        "ingest",
        "--json",
        "--out",
        store.to_str().unwrap(),
        "--occurrences",
    ];
    args.extend(occurrences.iter().map(|p| p.to_str().unwrap()));
    serde_json::from_str(&ok(&args)).expect("summary JSON")
}

/// Report rows sorted by id (the report is in store order, the oracle in id order).
fn report(store: &Path, at: &str) -> Vec<String> {
    let text = ok(&[
        "sensitivity-report",
        "--store",
        store.to_str().unwrap(),
        "--at",
        at,
    ]);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(
        lines[0],
        "idSINPOccTax,sensiNiveau,sensiAlerte,cdSl,ruleId,sensitiveUntil"
    );
    lines[1..].sort();
    lines
}

fn oracle(occurrences: &Path, at: &str) -> Vec<String> {
    let out = Command::new("python3")
        .arg(root().join("tests/oracle/sensitivity_oracle.py"))
        .arg(data())
        .arg(occurrences)
        .arg(at)
        .output()
        .expect("python3 is needed for the oracle");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Compares flou's report to the oracle's on every id both have; returns how many were compared.
fn assert_matches_oracle(store: &Path, occurrences: &Path, at: &str) -> (usize, usize) {
    let ours = report(store, at);
    let theirs = oracle(occurrences, at);
    let theirs_by_id: std::collections::HashMap<&str, &str> = theirs[1..]
        .iter()
        .map(|l| (l.split(',').next().unwrap(), l.as_str()))
        .collect();
    let mut compared = 0;
    let mut sensitive = 0;
    for line in &ours[1..] {
        let id = line.split(',').next().unwrap();
        let Some(expected) = theirs_by_id.get(id) else {
            continue;
        };
        assert_eq!(line, expected, "on {at}, observation {id}");
        compared += 1;
        sensitive += usize::from(!line.contains(",0,NON,,,"));
    }
    (compared, sensitive)
}

#[test]
fn real_sample_to_store_and_back_through_the_sensitivity_report() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = ingest(&[&sample()], &store);
    assert_eq!(s["rows_read"], 1000);
    let accepted = s["accepted"].as_u64().unwrap();
    let rejected = s["rejected"].as_u64().unwrap();
    assert_eq!(accepted + rejected, 1000);
    // All 1,000 points lie in Hautes-Alpes and Isère, inside the embedded regions.
    assert_eq!(
        rejected,
        0,
        "rejects: {}",
        std::fs::read_to_string(dir.path().join("store.rejects.csv")).unwrap()
    );

    // Days before, during and after the expiry of the 10- and 20-year rules of the sample.
    let mut total_sensitive = 0;
    for at in ["2005-06-01", "2017-12-31", "2026-11-23", "2040-01-01"] {
        let (compared, sensitive) = assert_matches_oracle(&store, &sample(), at);
        assert_eq!(compared, 1000, "on {at}");
        total_sensitive += sensitive;
    }
    // The sample holds real sensitive taxa (e.g. Gypaetus barbatus, rule 950 in 05).
    assert!(
        total_sensitive > 0,
        "no sensitive observation at any date: the comparison proves little"
    );

    let info: serde_json::Value =
        serde_json::from_str(&ok(&["info", "--json", "--store", store.to_str().unwrap()])).unwrap();
    assert_eq!(info["records"], 1000);
    assert_eq!(info["live_records"], 1000);
    assert_eq!(info["format_version"], 2);
    assert_eq!(info["generation"], 1);
    assert_eq!(info["first_date"], "2000-01-10");
    assert_eq!(info["last_date"], "2017-10-02");
}

#[test]
fn synthetic_data_matches_the_oracle_with_statuses_and_durations() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("synth.csv");
    ok(&[
        "synth",
        "--records",
        "20000",
        "--seed",
        "3",
        "--out",
        csv.to_str().unwrap(),
    ]);
    let store = dir.path().join("store");
    let s = ingest(&[&csv], &store);
    assert_eq!(s["rows_read"], 20000);
    for at in ["2000-01-01", "2026-11-23", "2050-01-01"] {
        let (compared, sensitive) = assert_matches_oracle(&store, &csv, at);
        assert_eq!(compared as u64, s["accepted"].as_u64().unwrap(), "on {at}");
        if at == "2026-11-23" {
            // synth draws ~6 % of rows among the department's sensitive taxa.
            assert!(sensitive > 200, "only {sensitive} sensitive observations");
        }
    }
}

#[test]
fn sensitivity_expires_on_its_day_without_reimport() {
    // Real rule 944: Cottus petiti (159453) in Hautes-Alpes, level 2 for 20 years, no comment.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("obs.csv");
    std::fs::write(
        &csv,
        "idSINPOccTax,cdNom,nomCite,dateDebut,dateFin,idSINPJdd,longitude,latitude\n\
         cottus-1,159453,Cottus petiti,2010-05-01,2010-05-01,jdd,6.0794,44.5594\n",
    )
    .unwrap();
    let store = dir.path().join("store");
    ingest(&[&csv], &store);
    let before = report(&store, "2030-04-30");
    assert_eq!(before[1], "cottus-1,2,NON,9,944,2030-05-01");
    let after = report(&store, "2030-05-01");
    assert_eq!(after[1], "cottus-1,0,NON,,,");
}

#[test]
fn rejected_rows_are_reported_with_file_line_field_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "idSINPOccTax,cdNom,nomCite,dateDebut,dateFin,idSINPJdd,longitude,latitude\n\
         ok-1,3608,Dryocopus martius,2017-09-20,2017-09-20,jdd,6.0794,44.5594\n\
         bad-cdnom,abc,X,2017-09-20,2017-09-20,jdd,6.0794,44.5594\n\
         bad-order,3608,X,2017-09-20,2017-09-19,jdd,6.0794,44.5594\n\
         in-the-sea,3608,X,2017-09-20,2017-09-20,jdd,5.30,43.10\n\
         ok-1,3608,Dryocopus martius,2017-09-21,2017-09-21,jdd,6.0794,44.5594\n",
    )
    .unwrap();
    let store = dir.path().join("store");
    let s = ingest(&[&csv], &store);
    assert_eq!(s["rows_read"], 5);
    assert_eq!(s["accepted"], 1);
    assert_eq!(s["rejected"], 4);
    let rejects = std::fs::read_to_string(dir.path().join("store.rejects.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(rejects.as_bytes());
    let got: Vec<(u64, String)> = rows
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(&r[0], csv.to_str().unwrap());
            (r[1].parse().unwrap(), r[2].to_string())
        })
        .collect();
    let mut got = got;
    got.sort();
    assert_eq!(
        got,
        vec![
            (3, "cdNom".to_string()),
            (4, "dateFin".to_string()),
            (5, "longitude/latitude".to_string()),
            (6, "idSINPOccTax".to_string()),
        ]
    );
    assert!(rejects.contains("already given at"), "{rejects}");
}

#[test]
fn a_failed_ingest_leaves_the_previous_store_serving() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ingest(&[&sample()], &store);
    let manifest_before = std::fs::read(store.join("manifest.json")).unwrap();
    let files_before: Vec<_> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();

    // A missing referential: fails before anything is written.
    let out = flou(&[
        "ingest",
        "--out",
        store.to_str().unwrap(),
        "--communes",
        "/nonexistent.geojson",
        "--occurrences",
        sample().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.geojson"));

    // Every row rejected: refused rather than publishing an empty store.
    let csv = dir.path().join("all-bad.csv");
    std::fs::write(
        &csv,
        "idSINPOccTax,cdNom,dateDebut,longitude,latitude\nx,1,not-a-date,6.07,44.55\n",
    )
    .unwrap();
    let out = flou(&[
        "ingest",
        "--out",
        store.to_str().unwrap(),
        "--occurrences",
        csv.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("every one of the 1 rows was rejected"));

    assert_eq!(
        std::fs::read(store.join("manifest.json")).unwrap(),
        manifest_before
    );
    let mut files_after: Vec<_> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let mut files_before = files_before;
    files_before.sort();
    files_after.sort();
    assert_eq!(
        files_after, files_before,
        "no stray files left in the store"
    );
    let info: serde_json::Value =
        serde_json::from_str(&ok(&["info", "--json", "--store", store.to_str().unwrap()])).unwrap();
    assert_eq!(info["records"], 1000);

    // A successful re-ingest publishes generation 2 and removes generation 1's files.
    ingest(&[&sample()], &store);
    let info: serde_json::Value =
        serde_json::from_str(&ok(&["info", "--json", "--store", store.to_str().unwrap()])).unwrap();
    assert_eq!(info["generation"], 2);
    let flou_files = std::fs::read_dir(&store)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "flou")
        })
        .count();
    assert_eq!(flou_files, 2, "one areas file and one segment");
}

#[test]
fn ingest_refuses_to_write_into_a_directory_that_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), "keep me").unwrap();
    let out = flou(&[
        "ingest",
        "--out",
        dir.path().to_str().unwrap(),
        "--occurrences",
        sample().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no flou store"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("precious.txt")).unwrap(),
        "keep me"
    );
}
