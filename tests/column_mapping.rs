//! `--mapping`: the shipped mapping files read the platforms' exports as they are — the
//! real GeoNature synthese sample unchanged, a SINP v2 export with nomenclature labels —
//! and a mapping changes the outcome where it matters (a renamed column, recoded values).

mod common;

use common::delta::live_records;
use common::*;
use flou::date::Day;
use flou::ingest::pipeline::{self, IngestOptions, IngestSummary, ReferentialPaths};
use flou::ingest::Srid;
use flou::store::segment::ABSENT;
use flou::store::Store;
use std::path::{Path, PathBuf};

fn ingest_with(
    csv: &Path,
    out: &Path,
    mapping: Option<PathBuf>,
) -> flou::error::Result<IngestSummary> {
    pipeline::run(&IngestOptions {
        occurrences: vec![csv.to_path_buf()],
        srid: Srid::Wgs84,
        referentials: ReferentialPaths::embedded(&data()),
        out: out.to_path_buf(),
        progress: false,
        today: Day::today(),
        mapping,
    })
}

fn mapping(name: &str) -> PathBuf {
    data().join("mappings").join(name)
}

#[test]
fn the_geonature_mapping_reads_the_real_sample_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, mapped) = (dir.path().join("plain"), dir.path().join("mapped"));
    let a = ingest_with(&sample(), &plain, None).unwrap();
    let b = ingest_with(&sample(), &mapped, Some(mapping("geonature-synthese.toml"))).unwrap();
    assert_eq!((b.rows_read, b.accepted, b.rejected), (1000, 1000, 0));
    assert_eq!(
        (a.accepted, a.per_level.clone()),
        (b.accepted, b.per_level.clone())
    );
    let (sa, sb) = (Store::open(&plain).unwrap(), Store::open(&mapped).unwrap());
    assert_eq!(live_records(&sa), live_records(&sb));
    // Spot check against the file itself (read with the csv crate): the first row.
    let mut r = csv::Reader::from_path(sample()).unwrap();
    let first = r.records().next().unwrap().unwrap();
    let id = &first[1];
    let (s, i) = sb
        .live_records()
        .find(|(s, i)| sb.segments()[*s].id(*i) == id)
        .unwrap();
    let seg = &sb.segments()[s];
    assert_eq!(seg.cd_nom()[i].to_string(), &first[4]);
    assert_eq!(seg.nom_cite_text(i), &first[5]);
    assert_eq!(seg.date_debut()[i].to_string(), &first[6]);
}

#[test]
fn a_renamed_column_needs_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(sample()).unwrap();
    let (header, rest) = text.split_once('\n').unwrap();
    let renamed = dir.path().join("renamed.csv");
    std::fs::write(
        &renamed,
        format!("{}\n{rest}", header.replace("unique_id_sinp", "uuid_obs")),
    )
    .unwrap();
    let e = ingest_with(&renamed, &dir.path().join("s1"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing required column idSINPOccTax"), "{e}");

    // The shipped GeoNature mapping with one line edited.
    let own = dir.path().join("own.toml");
    let m = std::fs::read_to_string(mapping("geonature-synthese.toml")).unwrap();
    std::fs::write(&own, m.replace("\"unique_id_sinp\"", "\"uuid_obs\"")).unwrap();
    let s = ingest_with(&renamed, &dir.path().join("s2"), Some(own)).unwrap();
    assert_eq!((s.accepted, s.rejected), (1000, 0));
    let plain = dir.path().join("plain");
    ingest_with(&sample(), &plain, None).unwrap();
    assert_eq!(
        live_records(&Store::open(&dir.path().join("s2")).unwrap()),
        live_records(&Store::open(&plain).unwrap())
    );
}

/// The sample's first rows as a SINP v2 export of GeoNature's export module writes them:
/// v2 column names, WKT geometry, nomenclature labels.
fn sinp_v2_export(path: &Path) -> Vec<(String, &'static str, &'static str)> {
    let mut r = csv::Reader::from_path(sample()).unwrap();
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_path(path)
        .unwrap();
    w.write_record([
        "ID_synthese",
        "idSINPOccTax",
        "idSINPJdd",
        "dateDebut",
        "dateFin",
        "cdNom",
        "codeHabRef",
        "nomCite",
        "geometrie",
        "occStatutBiologique",
        "occComportement",
        "diffusionNiveauPrecision",
        "sensiNiveau",
        "dSPublique",
    ])
    .unwrap();
    let statuts = ["Reproduction", "Inconnu", "Hibernation", ""];
    let publics = ["Privée", "Publique", "Ne sait pas"];
    let mut expected = Vec::new();
    for (k, rec) in r.records().take(40).enumerate() {
        let rec = rec.unwrap();
        let (statut, public) = (statuts[k % 4], publics[k % 3]);
        w.write_record([
            &rec[0],
            &rec[1],
            "jdd-uuid",
            &rec[6],
            &rec[7],
            &rec[4],
            &rec[4],
            &rec[5],
            &format!("POINT({} {})", &rec[8], &rec[9]),
            statut,
            "Posé",
            "Standard",
            "Non sensible - Diffusion précise",
            public,
        ])
        .unwrap();
        expected.push((rec[1].to_string(), statut, public));
    }
    w.flush().unwrap();
    expected
}

#[test]
fn the_sinp_v2_mapping_recodes_nomenclature_labels() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export-sinp.csv");
    let expected = sinp_v2_export(&export);
    // Labels are not codes: without the mapping every row is a reject naming the field.
    let e = ingest_with(&export, &dir.path().join("s1"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("every one of the 40 rows was rejected"), "{e}");
    let rejects = std::fs::read_to_string(dir.path().join("s1.rejects.csv")).unwrap();
    assert!(
        rejects.contains("occComportement,\"not an OCC_COMPORTEMENT code"),
        "{rejects}"
    );

    let store = dir.path().join("s2");
    let s = ingest_with(&export, &store, Some(mapping("sinp-dee-v2.toml"))).unwrap();
    assert_eq!(
        (s.accepted, s.rejected),
        (40, 0),
        "{:?}",
        s.rejected_by_field
    );
    let st = Store::open(&store).unwrap();
    let statut_code = |l: &str| match l {
        "Reproduction" => 3,
        "Inconnu" => 0,
        "Hibernation" => 4,
        _ => ABSENT,
    };
    let public_code = |l: &str| match l {
        "Privée" => flou::sensitivity::DsPublique::Pr as u8,
        "Publique" => flou::sensitivity::DsPublique::Pu as u8,
        _ => flou::sensitivity::DsPublique::Nsp as u8,
    };
    for (id, statut, public) in expected {
        let (si, i) = st
            .live_records()
            .find(|(s, i)| st.segments()[*s].id(*i) == id)
            .unwrap();
        let seg = &st.segments()[si];
        assert_eq!(seg.statut_biologique()[i], statut_code(statut), "{id}");
        assert_eq!(seg.ds_publique()[i], public_code(public), "{id}");
        assert_eq!(seg.comportement()[i], 15, "{id}: Posé");
        assert_eq!(seg.producer()[i], 0, "{id}: Standard");
        assert_eq!(seg.declared()[i], 0, "{id}: non sensible");
        assert_eq!(
            seg.cd_ref_given()[i],
            seg.cd_nom()[i],
            "{id}: codeHabRef → cdRef"
        );
    }
}

#[test]
fn an_unknown_target_field_names_the_mapping_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[columns]\ncdNom = \"cd_nom\"\n\n[values.statutBio]\n\"x\" = \"1\"\n",
    )
    .unwrap();
    let e = ingest_with(&sample(), &dir.path().join("s"), Some(bad.clone()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!(
            "{}:4: values.statutBio: unknown SINP field",
            bad.display()
        )),
        "{e}"
    );
    assert!(!dir.path().join("s").exists(), "nothing is written");
}

#[test]
fn geojson_properties_are_mapped_and_recoded_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = csv::Reader::from_path(sample()).unwrap();
    let features: Vec<serde_json::Value> = r
        .records()
        .take(50)
        .map(|rec| {
            let rec = rec.unwrap();
            serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [
                    rec[8].parse::<f64>().unwrap(), rec[9].parse::<f64>().unwrap()
                ]},
                "properties": {
                    "uuid_obs": &rec[1],
                    "cd_nom": rec[4].parse::<u32>().unwrap(),
                    "date_min": &rec[6],
                    "statut": "Reproduction",
                }
            })
        })
        .collect();
    let path = dir.path().join("export.geojson");
    std::fs::write(
        &path,
        serde_json::json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .unwrap();
    let own = dir.path().join("m.toml");
    std::fs::write(
        &own,
        "[columns]\nidSINPOccTax = \"uuid_obs\"\noccStatutBiologique = \"statut\"\n\n\
         [values.occStatutBiologique]\n\"reproduction\" = 3\n",
    )
    .unwrap();
    let e = ingest_with(&path, &dir.path().join("s1"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("every one of the 50 rows was rejected"), "{e}");
    let store = dir.path().join("s2");
    let s = ingest_with(&path, &store, Some(own)).unwrap();
    assert_eq!((s.accepted, s.rejected), (50, 0));
    let st = Store::open(&store).unwrap();
    assert!(st
        .live_records()
        .all(|(si, i)| st.segments()[si].statut_biologique()[i] == 3));
}
