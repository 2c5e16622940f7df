use super::*;
use crate::date::Day;
use crate::sensitivity::{DsPublique, SensiNiveau};
use std::path::PathBuf;

const SAMPLE: &str = "/work/shared/data/occurrences/geonature-synthese-sample.csv";

const HEADER: &str = "idSINPOccTax,cdNom,cdRef,nomCite,dateDebut,dateFin,occStatutBiologique,\
occComportement,dSPublique,diffusionNiveauPrecision,sensiNiveau,idSINPJdd,longitude,latitude";

/// A valid row for [`HEADER`]; tests break one field at a time.
const GOOD: [&str; 14] = [
    "d856324f-bb03-4c81-b453-c74d45ec8206",
    "3608",
    "3608",
    "Dryocopus martius",
    "2017-09-20",
    "2017-09-21",
    "3",
    "8",
    "Pu",
    "0",
    "0",
    "jdd-1",
    "6.436179171615313",
    "44.64772336429795",
];

fn read_text(text: &str, srid: Srid) -> Result<Vec<Result<Occurrence, Reject>>, IngestError> {
    let mut reader =
        CsvOccurrenceReader::from_reader("test.csv", Cursor::new(text.as_bytes().to_vec()), srid)?;
    let mut all = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        all.extend(batch);
    }
    Ok(all)
}

fn read_ok(text: &str) -> Vec<Result<Occurrence, Reject>> {
    match read_text(text, Srid::Wgs84) {
        Ok(rows) => rows,
        Err(e) => panic!("file refused: {e}"),
    }
}

/// The one row of a file made of [`HEADER`] and [`GOOD`] with `column` set to `value`.
fn with_value(column: &str, value: &str) -> Result<Occurrence, Reject> {
    let names: Vec<&str> = HEADER.split(',').collect();
    let mut row = GOOD.map(|v| v.to_string());
    let i = names
        .iter()
        .position(|n| *n == column)
        .expect("a HEADER column");
    row[i] = value.to_string();
    let quoted: Vec<String> = row
        .iter()
        .map(|v| format!("\"{}\"", v.replace('"', "\"\"")))
        .collect();
    let mut rows = read_ok(&format!("{HEADER}\n{}\n", quoted.join(",")));
    assert_eq!(rows.len(), 1);
    rows.remove(0)
}

/// The reject of a row with `column` set to `value`, checked to name `field` at line 2.
fn rejected(column: &str, value: &str, field: &str) -> Reject {
    match with_value(column, value) {
        Ok(o) => panic!("{column}={value:?} accepted: {o:?}"),
        Err(r) => {
            assert_eq!(r.file, "test.csv");
            assert_eq!(r.line, 2);
            assert_eq!(r.field, field, "{r:?}");
            r
        }
    }
}

fn assert_reason(r: &Reject, words: &[&str]) {
    for w in words {
        assert!(r.reason.contains(w), "reason {:?} lacks {w:?}", r.reason);
    }
}

#[test]
fn a_good_row_gives_every_field() {
    let o = with_value("nomCite", "Dryocopus martius").unwrap();
    assert_eq!(o.id, GOOD[0]);
    assert_eq!((o.cd_nom, o.cd_ref), (3608, Some(3608)));
    assert_eq!(o.nom_cite, "Dryocopus martius");
    assert_eq!(o.date_debut, Day::from_ymd(2017, 9, 20).unwrap());
    assert_eq!(o.date_fin, Day::from_ymd(2017, 9, 21).unwrap());
    assert_eq!((o.statut_biologique, o.comportement), (Some(3), Some(8)));
    assert_eq!(o.ds_publique, DsPublique::Pu);
    assert_eq!(o.diffusion_niveau_precision, Some(0));
    assert_eq!(o.sensi_niveau, Some(SensiNiveau::N0));
    assert_eq!(o.dataset, "jdd-1");
    assert_eq!((o.lon, o.lat), (6.436179171615313, 44.64772336429795));
    assert_eq!(o.origin, Origin { file: 0, line: 2 });
}

#[test]
fn optional_fields_may_be_empty() {
    let text = "idSINPOccTax;cdNom;cdRef;dateDebut;dateFin;dSPublique;sensiNiveau;\
                occStatutBiologique;idSINPJdd;longitude;latitude\n\
                a;1;;2020-01-02;;;;;;1;2\n";
    let rows = read_ok(text);
    let o = rows[0].as_ref().unwrap();
    assert_eq!(o.cd_ref, None);
    assert_eq!(o.date_fin, o.date_debut, "dateFin defaults to dateDebut");
    assert_eq!(o.ds_publique, DsPublique::Nsp, "empty dSPublique is NSP");
    assert_eq!((o.sensi_niveau, o.statut_biologique), (None, None));
    assert_eq!((o.dataset.as_str(), o.nom_cite.as_str()), ("", ""));
}

#[test]
fn sensi_niveau_grid_codes_are_read() {
    assert_eq!(
        with_value("sensiNiveau", "2.3").unwrap().sensi_niveau,
        Some(SensiNiveau::Km5)
    );
}

// ---- one test per reject reason ----

#[test]
fn rejects_empty_id_sinp_occ_tax() {
    let r = rejected("idSINPOccTax", "  ", "idSINPOccTax");
    assert_reason(&r, &["required", "empty"]);
}

#[test]
fn rejects_id_sinp_occ_tax_longer_than_100_characters() {
    assert!(with_value("idSINPOccTax", &"é".repeat(100)).is_ok());
    let r = rejected("idSINPOccTax", &"é".repeat(101), "idSINPOccTax");
    assert_reason(&r, &["longer than 100", "(101)", "…"]);
    assert!(r.reason.len() < 200, "the value is cut: {}", r.reason);
}

#[test]
fn rejects_id_that_is_not_utf8() {
    let mut text = format!("{HEADER}\n").into_bytes();
    text.extend_from_slice(b"\xff\xfeabc,");
    text.extend_from_slice(GOOD[1..].join(",").as_bytes());
    text.push(b'\n');
    let mut reader =
        CsvOccurrenceReader::from_reader("test.csv", Cursor::new(text), Srid::Wgs84).unwrap();
    let batch = reader.next_batch().unwrap().unwrap();
    let r = batch[0].as_ref().unwrap_err();
    assert_eq!((r.field.as_str(), r.line), ("idSINPOccTax", 2));
    assert_reason(r, &["UTF-8"]);
}

#[test]
fn rejects_empty_cd_nom() {
    assert_reason(&rejected("cdNom", "", "cdNom"), &["required"]);
}

#[test]
fn rejects_cd_nom_that_is_not_an_integer() {
    assert_reason(
        &rejected("cdNom", "36o8", "cdNom"),
        &["not a positive integer", "\"36o8\""],
    );
    assert_reason(
        &rejected("cdNom", "-3608", "cdNom"),
        &["not a positive integer"],
    );
    assert_reason(
        &rejected("cdNom", "3608.5", "cdNom"),
        &["not a positive integer"],
    );
}

#[test]
fn rejects_cd_nom_zero() {
    assert_reason(&rejected("cdNom", "0", "cdNom"), &["positive", "\"0\""]);
}

#[test]
fn rejects_cd_nom_too_large() {
    assert!(with_value("cdNom", "4294967295").is_ok());
    assert_reason(&rejected("cdNom", "4294967296", "cdNom"), &["too large"]);
}

#[test]
fn rejects_cd_ref_that_is_not_a_positive_integer() {
    assert_reason(
        &rejected("cdRef", "abc", "cdRef"),
        &["not a positive integer"],
    );
}

#[test]
fn rejects_empty_date_debut() {
    assert_reason(&rejected("dateDebut", "", "dateDebut"), &["required"]);
}

#[test]
fn rejects_date_debut_that_is_not_a_date() {
    let r = rejected("dateDebut", "20/09/2017", "dateDebut");
    assert_reason(&r, &["not a date", "YYYY-MM-DD", "\"20/09/2017\""]);
    rejected("dateDebut", "2017-02-30", "dateDebut");
}

#[test]
fn rejects_date_fin_that_is_not_a_date() {
    assert_reason(&rejected("dateFin", "hier", "dateFin"), &["not a date"]);
}

#[test]
fn rejects_date_fin_before_date_debut() {
    let r = rejected("dateFin", "2017-09-19", "dateFin");
    assert_reason(&r, &["2017-09-19", "before", "2017-09-20"]);
}

#[test]
fn rejects_date_span_longer_than_65535_days() {
    // 2017-09-20 + 65,535 days = 2197-02-23 (Python: date(2017,9,20) + timedelta(65535)).
    assert!(with_value("dateFin", "2197-02-23").is_ok());
    let r = rejected("dateFin", "2197-02-24", "dateFin");
    assert_reason(&r, &["65536 days", "at most 65535"]);
}

#[test]
fn accepts_datetimes_and_keeps_the_day() {
    let o = with_value("dateDebut", "2017-09-20T23:59:00+02:00").unwrap();
    assert_eq!(o.date_debut, Day::from_ymd(2017, 9, 20).unwrap());
}

#[test]
fn rejects_longitude_out_of_range() {
    let r = rejected("longitude", "180.5", "longitude");
    assert_reason(&r, &["out of range", "180", "\"180.5\""]);
    assert!(with_value("longitude", "-180").is_ok());
}

#[test]
fn rejects_latitude_out_of_range() {
    assert_reason(
        &rejected("latitude", "-90.01", "latitude"),
        &["out of range"],
    );
}

#[test]
fn rejects_longitude_that_is_not_a_number() {
    assert_reason(
        &rejected("longitude", "6°26'", "longitude"),
        &["not a number"],
    );
}

#[test]
fn rejects_latitude_that_is_not_finite() {
    assert_reason(
        &rejected("latitude", "NaN", "latitude"),
        &["not a finite number"],
    );
    assert_reason(
        &rejected("latitude", "inf", "latitude"),
        &["not a finite number"],
    );
}

#[test]
fn rejects_longitude_without_latitude() {
    assert_reason(
        &rejected("latitude", "", "latitude"),
        &["required with longitude"],
    );
}

#[test]
fn rejects_row_without_any_position() {
    let text = "idSINPOccTax,cdNom,dateDebut,longitude,latitude\na,1,2020-01-01,,\n";
    let r = read_ok(text).remove(0).unwrap_err();
    assert_eq!(r.field, "longitude");
    assert_reason(&r, &["required"]);
}

#[test]
fn rejects_statut_biologique_outside_the_nomenclature() {
    let r = rejected("occStatutBiologique", "14", "occStatutBiologique");
    assert_reason(&r, &["STATUT_BIO", "\"14\""]);
    assert_eq!(
        with_value("occStatutBiologique", "13")
            .unwrap()
            .statut_biologique,
        Some(13)
    );
}

#[test]
fn rejects_comportement_outside_the_nomenclature() {
    let r = rejected("occComportement", "24", "occComportement");
    assert_reason(&r, &["OCC_COMPORTEMENT"]);
    rejected("occComportement", "Chant", "occComportement");
    assert_eq!(
        with_value("occComportement", "23").unwrap().comportement,
        Some(23)
    );
}

#[test]
fn rejects_unknown_ds_publique() {
    let r = rejected("dSPublique", "Public", "dSPublique");
    assert_reason(&r, &["Pu, Re, Ac, Pr or NSP", "\"Public\""]);
}

#[test]
fn rejects_diffusion_niveau_precision_above_5() {
    let r = rejected("diffusionNiveauPrecision", "6", "diffusionNiveauPrecision");
    assert_reason(&r, &["0 to 5"]);
    assert_eq!(
        with_value("diffusionNiveauPrecision", "5")
            .unwrap()
            .diffusion_niveau_precision,
        Some(5)
    );
}

#[test]
fn rejects_unknown_sensi_niveau() {
    assert_reason(
        &rejected("sensiNiveau", "2.9", "sensiNiveau"),
        &["2.1 to 2.8"],
    );
    rejected("sensiNiveau", "5", "sensiNiveau");
}

#[test]
fn rejects_row_with_wrong_number_of_fields() {
    let text = format!("{HEADER}\n{}\n{},extra\n", GOOD.join(","), GOOD.join(","));
    let rows = read_ok(&text);
    assert!(rows[0].is_ok());
    let r = rows[1].as_ref().unwrap_err();
    assert_eq!((r.field.as_str(), r.line), ("row", 3));
    assert_reason(r, &["15 fields", "header has 14"]);
    let short = format!("{HEADER}\na,1\n");
    let r = read_ok(&short).remove(0).unwrap_err();
    assert_eq!(r.field, "row");
}

// ---- WKT positions ----

fn wkt_file(wkt: &str) -> String {
    format!("idSINPOccTax;cdNom;dateDebut;geometrie\na;1;2020-01-01;\"{wkt}\"\n")
}

#[test]
fn rejects_non_point_wkt() {
    let text = wkt_file("LINESTRING(6 44, 7 45)");
    let r = read_ok(&text).remove(0).unwrap_err();
    assert_eq!(r.field, "geometrie");
    assert_reason(&r, &["only point geometries are supported"]);
    let text = wkt_file("MULTIPOINT((6 44))");
    assert_reason(
        &read_ok(&text).remove(0).unwrap_err(),
        &["only point geometries are supported"],
    );
}

#[test]
fn rejects_wkt_that_is_not_wkt() {
    let r = read_ok(&wkt_file("6.4 44.6")).remove(0).unwrap_err();
    assert_eq!(r.field, "geometrie");
    assert_reason(&r, &["not a WKT POINT"]);
}

#[test]
fn rejects_wkt_point_with_infinite_coordinates() {
    let r = read_ok(&wkt_file("POINT(inf 44)")).remove(0).unwrap_err();
    assert_reason(&r, &["not finite"]);
}

#[test]
fn rejects_empty_geometrie() {
    let r = read_ok(&wkt_file("")).remove(0).unwrap_err();
    assert_eq!(r.field, "geometrie");
    assert_reason(&r, &["required"]);
}

#[test]
fn rejects_wkt_degrees_read_as_lambert93() {
    let rows = read_text(&wkt_file("POINT(6.4 44.6)"), Srid::Lambert93).unwrap();
    let r = rows[0].as_ref().unwrap_err();
    assert_eq!(r.field, "geometrie");
    assert_reason(r, &["Lambert-93", "--srid 2154"]);
}

#[test]
fn wkt_4326_gives_longitude_latitude() {
    let o = read_ok(&wkt_file("POINT (6.436179171615313 44.64772336429795)"))
        .remove(0)
        .unwrap();
    assert_eq!((o.lon, o.lat), (6.436179171615313, 44.64772336429795));
}

/// (unique_id_sinp, lon_wgs84, lat_wgs84, x_l93, y_l93) of the GeoNature sample, read with
/// a plain split (the file has no quoted fields).
fn sample_positions() -> Vec<(String, f64, f64, String, String)> {
    let text = std::fs::read_to_string(SAMPLE).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (id, lon, lat, x, y) = (
        col("unique_id_sinp"),
        col("lon_wgs84"),
        col("lat_wgs84"),
        col("x_l93"),
        col("y_l93"),
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[id].to_string(),
                f[lon].parse().unwrap(),
                f[lat].parse().unwrap(),
                f[x].to_string(),
                f[y].to_string(),
            )
        })
        .collect()
}

#[test]
fn wkt_2154_matches_the_wgs84_coordinates_of_the_geonature_sample() {
    // The sample's lon/lat and Lambert-93 x/y were both computed by PostGIS: reading
    // POINT(x y) with --srid 2154 must land on lon/lat.
    let positions = sample_positions();
    let mut text = String::from("idSINPOccTax\tcdNom\tdateDebut\tgeometrie\n");
    for (id, _, _, x, y) in &positions {
        text.push_str(&format!("{id}\t1\t2020-01-01\tPOINT({x} {y})\n"));
    }
    let rows = read_text(&text, Srid::Lambert93).unwrap();
    assert_eq!(rows.len(), 1000);
    for (row, (id, lon, lat, _, _)) in rows.iter().zip(&positions) {
        let o = row.as_ref().unwrap();
        assert_eq!(&o.id, id);
        assert!((o.lon - lon).abs() < 1e-8, "{id}: {} vs {lon}", o.lon);
        assert!((o.lat - lat).abs() < 1e-8, "{id}: {} vs {lat}", o.lat);
    }
}

#[test]
fn ewkt_srid_overrides_the_command_line_srid() {
    // Paris, DOMAIN.md: (2.3522, 48.8566) ↔ (652469.02, 6862035.26) in Lambert-93.
    let o = read_ok(&wkt_file("SRID=2154;POINT(652469.02 6862035.26)"))
        .remove(0)
        .unwrap();
    assert!(
        (o.lon - 2.3522).abs() < 1e-6 && (o.lat - 48.8566).abs() < 1e-6,
        "{o:?}"
    );
    let r = read_ok(&wkt_file("SRID=3857;POINT(1 2)"))
        .remove(0)
        .unwrap_err();
    assert_reason(&r, &["SRID=3857"]);
}

// ---- the file as a whole ----

#[test]
fn geonature_sample_reads_through_its_aliases() {
    let mut reader = CsvOccurrenceReader::open(&PathBuf::from(SAMPLE), Srid::Wgs84)
        .unwrap()
        .with_file_index(7);
    let mut rows = Vec::new();
    while let Some(batch) = reader.next_batch().unwrap() {
        rows.extend(batch);
    }
    assert_eq!(rows.len(), 1000);
    let rows: Vec<Occurrence> = rows
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e:?}")))
        .collect();
    // Line 2 of the file, by hand.
    let first = &rows[0];
    assert_eq!(first.id, "d856324f-bb03-4c81-b453-c74d45ec8206");
    assert_eq!(first.cd_nom, 66102);
    assert_eq!(first.nom_cite, "Stenobothrus nigromaculatus");
    assert_eq!(first.date_debut.to_string(), "2017-08-03");
    assert_eq!(first.date_fin.to_string(), "2017-08-03");
    assert_eq!(
        (first.lon, first.lat),
        (6.486308269730003, 44.928924383156705)
    );
    assert_eq!(first.dataset, "1");
    assert_eq!(first.origin, Origin { file: 7, line: 2 });
    // GeoNature's internal nomenclature ids (bio_status 30…) are not taken as SINP codes.
    assert_eq!(first.statut_biologique, None);
    assert_eq!(first.sensi_niveau, None);
    // Line 4 and the last line (1001).
    assert_eq!(
        (rows[2].cd_nom, rows[2].nom_cite.as_str()),
        (3608, "Dryocopus martius")
    );
    assert_eq!(rows[2].date_debut.to_string(), "2017-09-20");
    let last = &rows[999];
    assert_eq!(last.id, "0dc0853b-42ed-459f-81e3-dac282dc63d5");
    assert_eq!(
        (last.cd_nom, last.date_debut.to_string()),
        (249785, "2017-08-02".into())
    );
    assert_eq!(
        (last.lon, last.lat),
        (6.1497446403200104, 44.647560403056715)
    );
    assert_eq!(last.origin.line, 1001);
    // Every position matches the file's lon_wgs84/lat_wgs84, read independently.
    for (o, (id, lon, lat, _, _)) in rows.iter().zip(sample_positions()) {
        assert_eq!((&o.id, o.lon, o.lat), (&id, lon, lat));
    }
}

#[test]
fn detects_semicolon_tab_and_comma_delimiters() {
    for delimiter in [",", ";", "\t"] {
        let text = format!(
            "{}\n{}\n",
            HEADER.replace(',', delimiter),
            GOOD.join(delimiter)
        );
        let reader = CsvOccurrenceReader::from_reader(
            "test.csv",
            Cursor::new(text.clone().into_bytes()),
            Srid::Wgs84,
        )
        .unwrap();
        assert_eq!(reader.delimiter(), delimiter.as_bytes()[0]);
        assert!(read_ok(&text)[0].is_ok(), "delimiter {delimiter:?}");
    }
    // A comma inside a quoted header name does not count.
    let text = "\"id,SINP\";idSINPOccTax;cdNom;dateDebut;longitude;latitude\n\
                x;a;1;2020-01-01;6,5;44,5\n";
    let rows = read_ok(text);
    let o = rows[0].as_ref().unwrap();
    assert_eq!((o.lon, o.lat), (6.5, 44.5), "decimal commas with ';'");
}

#[test]
fn header_names_match_ignoring_case() {
    let text = "IDSINPOCCTAX,CdNom,DATEDEBUT,Longitude,LATITUDE\na,1,2020-01-01,1,2\n";
    assert!(read_ok(text)[0].is_ok());
}

#[test]
fn strips_a_utf8_bom() {
    let text = format!("\u{feff}{HEADER}\n{}\n", GOOD.join(","));
    let rows = read_ok(&text);
    assert_eq!(rows[0].as_ref().unwrap().id, GOOD[0]);
}

#[test]
fn line_numbers_count_quoted_newlines_crlf_and_blank_lines() {
    let text = "idSINPOccTax,cdNom,nomCite,dateDebut,longitude,latitude\r\n\
                a,1,\"two\r\nlines\",2020-01-01,1,2\r\n\
                b,x,plain,2020-01-01,1,2\r\n\
                \r\n\
                c,1,\"three\nlines\nhere\",2020-01-01,1,2\n\
                d,0,plain,2020-01-01,1,2\n";
    let rows = read_ok(text);
    assert_eq!(rows.len(), 4);
    // CRLF inside quotes is read as LF, like the line ends.
    assert_eq!(rows[0].as_ref().unwrap().nom_cite, "two\nlines");
    assert_eq!(rows[0].as_ref().unwrap().origin.line, 2);
    assert_eq!(rows[1].as_ref().unwrap_err().line, 4);
    assert_eq!(rows[2].as_ref().unwrap().origin.line, 6);
    assert_eq!(rows[3].as_ref().unwrap_err().line, 9);
}

#[test]
fn batches_keep_file_order() {
    let mut text = String::from("idSINPOccTax,cdNom,dateDebut,longitude,latitude\n");
    for i in 1..=1000 {
        text.push_str(&format!("id{i},{i},2020-01-01,1,2\n"));
    }
    let mut reader =
        CsvOccurrenceReader::from_reader("t.csv", Cursor::new(text.into_bytes()), Srid::Wgs84)
            .unwrap()
            .with_batch_size(300);
    let mut sizes = Vec::new();
    let mut cd_noms = Vec::new();
    while let Some(batch) = reader.next_batch().unwrap() {
        sizes.push(batch.len());
        cd_noms.extend(batch.into_iter().map(|r| r.unwrap().cd_nom));
    }
    assert_eq!(sizes, [300, 300, 300, 100]);
    assert_eq!(cd_noms, (1..=1000).collect::<Vec<u32>>());
    assert!(reader.next_batch().unwrap().is_none(), "stays at the end");
}

fn file_error(text: &str) -> String {
    match read_text(text, Srid::Wgs84) {
        Err(IngestError::File { file, reason }) => {
            assert_eq!(file, "test.csv");
            reason
        }
        other => panic!("expected a file error, got {other:?}"),
    }
}

#[test]
fn missing_required_columns_are_file_errors() {
    let cases = [
        ("cdNom,dateDebut,longitude,latitude", "idSINPOccTax"),
        ("idSINPOccTax,dateDebut,longitude,latitude", "cdNom"),
        ("idSINPOccTax,cdNom,longitude,latitude", "dateDebut"),
        ("idSINPOccTax,cdNom,dateDebut,longitude", "latitude"),
        ("idSINPOccTax,cdNom,dateDebut", "geometrie"),
    ];
    for (header, column) in cases {
        let reason = file_error(&format!("{header}\n"));
        assert!(reason.contains(column), "{header}: {reason}");
        assert!(reason.contains("missing"), "{header}: {reason}");
    }
    assert!(file_error("").contains("empty file"));
}

#[test]
fn duplicate_columns_are_file_errors() {
    let reason = file_error("idSINPOccTax,cdNom,cd_nom,dateDebut,longitude,latitude\n");
    assert!(reason.contains("both give cdNom"), "{reason}");
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = CsvOccurrenceReader::open(Path::new("/nonexistent/x.csv"), Srid::Wgs84)
        .err()
        .unwrap();
    assert!(matches!(err, IngestError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/x.csv"));
}

/// Yields one byte per read, to split every CRLF across reads.
struct OneByte(Vec<u8>, usize);

impl Read for OneByte {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.1 == self.0.len() || out.is_empty() {
            return Ok(0);
        }
        out[0] = self.0[self.1];
        self.1 += 1;
        Ok(1)
    }
}

#[test]
fn crlf_becomes_lf_even_split_across_reads() {
    let mut input = LfInput::new(Box::new(OneByte(b"a\r\nb\rc\r\r\nd\r".to_vec(), 0)));
    let mut out = Vec::new();
    input.read_to_end(&mut out).unwrap();
    assert_eq!(out, b"a\nb\rc\r\nd\r");
    assert!(!input.ended_with_newline());
}

#[test]
fn line_numbers_without_final_newline_and_with_one_byte_reads() {
    let text = "idSINPOccTax,cdNom,nomCite,dateDebut,longitude,latitude\r\n\
                a,1,x,2020-01-01,1,2\r\n\
                \r\n\
                b,1,\"y\r\nz\",2020-01-01,1,2";
    let reader = CsvOccurrenceReader::from_reader(
        "t.csv",
        OneByte(text.as_bytes().to_vec(), 0),
        Srid::Wgs84,
    );
    let mut reader = reader.unwrap().with_batch_size(1);
    let mut lines = Vec::new();
    while let Some(batch) = reader.next_batch().unwrap() {
        lines.extend(batch.into_iter().map(|r| r.unwrap().origin.line));
    }
    assert_eq!(lines, [2, 4]);
}

/// Gives `good` bytes, then fails.
struct FailsAfter(Cursor<Vec<u8>>);

impl Read for FailsAfter {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(out)? {
            0 => Err(std::io::Error::other("disk on fire")),
            n => Ok(n),
        }
    }
}

#[test]
fn read_error_comes_after_the_rows_read_before_it() {
    let mut text = String::from("idSINPOccTax,cdNom,dateDebut,longitude,latitude\n");
    for i in 1..=10 {
        text.push_str(&format!("id{i},{i},2020-01-01,1,2\n"));
    }
    let input = FailsAfter(Cursor::new(text.into_bytes()));
    let mut reader = CsvOccurrenceReader::from_reader("f.csv", input, Srid::Wgs84)
        .unwrap()
        .with_batch_size(4);
    let mut rows = 0;
    let error = loop {
        match reader.next_batch() {
            Ok(Some(batch)) => rows += batch.len(),
            Ok(None) => panic!("the error was lost"),
            Err(e) => break e,
        }
    };
    assert_eq!(rows, 10);
    assert!(matches!(error, IngestError::Io { .. }));
    assert!(error.to_string().contains("f.csv") && error.to_string().contains("disk on fire"));
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
        let mut text = format!("{HEADER}\n").into_bytes();
        text.extend_from_slice(&body);
        if let Ok(mut reader) = CsvOccurrenceReader::from_reader("p.csv", Cursor::new(text), Srid::Wgs84) {
            while let Ok(Some(_)) = reader.next_batch() {}
        }
    }
}
