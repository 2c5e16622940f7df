use super::*;
use crate::ingest::test_support::{self, assert_same_rows, read_all, Table};
use serde_json::{json, Map, Value};
use std::io::Cursor;

/// Columns written as JSON numbers (on even rows; odd rows keep text, as files mix both).
const NUMERIC: [&str; 9] = [
    "cdNom",
    "cd_nom",
    "cdRef",
    "occStatutBiologique",
    "occComportement",
    "diffusionNiveauPrecision",
    "sensiNiveau",
    "id_dataset",
    "id_synthese",
];

/// A FeatureCollection of the table's rows, the position as a Point geometry written
/// with the table's own digits.
fn feature_collection(table: &Table, lon: &str, lat: &str) -> String {
    let (lon, lat) = (table.column(lon), table.column(lat));
    let features: Vec<String> = table
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut properties = Map::new();
            for (name, value) in table.header.iter().zip(row) {
                let as_number = i % 2 == 0 && NUMERIC.contains(&name.as_str());
                let v = match value.parse::<serde_json::Number>() {
                    Ok(n) if as_number => Value::Number(n),
                    _ if value.is_empty() && i % 3 == 0 => Value::Null,
                    _ => Value::String(value.clone()),
                };
                properties.insert(name.clone(), v);
            }
            format!(
                r#"{{"type":"Feature","id":{i},"properties":{},"geometry":{{"type":"Point","coordinates":[{},{}]}}}}"#,
                Value::Object(properties),
                row[lon],
                row[lat]
            )
        })
        .collect();
    format!(
        "{{\"type\":\"FeatureCollection\",\"bbox\":[-5,41,10,52],\n\"features\":[\n{}\n]}}\n",
        features.join(",\n")
    )
}

fn reader(text: &str) -> GeoJsonOccurrenceReader {
    GeoJsonOccurrenceReader::from_reader("test.geojson", Cursor::new(text.as_bytes().to_vec()))
        .unwrap()
}

fn read_text(text: &str) -> Vec<Result<Occurrence, Reject>> {
    read_all(&mut reader(text))
}

/// The result of one feature with these properties and this geometry.
fn one(properties: Value, geometry: Value) -> Result<Occurrence, Reject> {
    let text = json!({
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": properties, "geometry": geometry}]
    })
    .to_string();
    let mut rows = read_text(&text);
    assert_eq!(rows.len(), 1);
    rows.remove(0)
}

fn good_properties() -> Value {
    json!({"idSINPOccTax": "a", "cdNom": 3608, "dateDebut": "2017-09-20"})
}

fn point() -> Value {
    json!({"type": "Point", "coordinates": [6.4, 44.6]})
}

fn file_error(text: &str) -> String {
    let mut reader = reader(text);
    loop {
        match reader.next_batch() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("no error for {text}"),
            Err(IngestError::File { file, reason }) => {
                assert_eq!(file, "test.geojson");
                return reason;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn geonature_sample_round_trips_equal_to_csv() {
    let table = test_support::sample_table();
    let from_csv = test_support::read_csv(&table.to_csv());
    let from_geojson = read_text(&feature_collection(&table, "lon_wgs84", "lat_wgs84"));
    assert_eq!(from_csv.len(), 1000);
    assert_same_rows(&from_csv, &from_geojson);
}

#[test]
fn every_sinp_field_round_trips_equal_to_csv() {
    let table = test_support::full_table();
    let from_csv = test_support::read_csv(&table.to_csv());
    let from_geojson = read_text(&feature_collection(&table, "longitude", "latitude"));
    assert_same_rows(&from_csv, &from_geojson);
    // The table does exercise the optional fields.
    let o = from_geojson[7].as_ref().unwrap();
    assert!(o.cd_ref.is_some() && o.comportement.is_some() && o.sensi_niveau.is_some());
}

#[test]
fn numbers_and_strings_are_the_same_values() {
    let text_props = json!({"idSINPOccTax": "a", "cdNom": "3608", "dateDebut": "2017-09-20",
                             "sensiNiveau": "2.1", "idSINPJdd": "12"});
    let number_props = json!({"idSINPOccTax": "a", "cdNom": 3608, "dateDebut": "2017-09-20",
                               "sensiNiveau": 2.1, "idSINPJdd": 12});
    let a = one(text_props, point()).unwrap();
    assert_eq!(a, one(number_props, point()).unwrap());
    assert_eq!((a.cd_nom, a.dataset.as_str()), (3608, "12"));
}

#[test]
fn rejects_non_point_geometry() {
    let line = json!({"type": "LineString", "coordinates": [[6, 44], [7, 45]]});
    let r = one(good_properties(), line).unwrap_err();
    assert_eq!((r.field.as_str(), r.line), ("geometrie", 1));
    assert!(
        r.reason.contains("only point geometries are supported"),
        "{r:?}"
    );
    assert!(r.reason.contains("LineString"), "{r:?}");
    let multi = json!({"type": "MultiPoint", "coordinates": [[6, 44]]});
    assert!(one(good_properties(), multi).is_err());
}

#[test]
fn rejects_point_with_malformed_coordinates() {
    for coordinates in [
        json!([6.4]),
        json!(["6.4", "44.6"]),
        json!([[6.4, 44.6]]),
        json!(null),
    ] {
        let geometry = json!({"type": "Point", "coordinates": coordinates});
        let r = one(good_properties(), geometry).unwrap_err();
        assert_eq!(r.field, "geometrie", "{coordinates}");
    }
}

#[test]
fn rejects_point_out_of_range() {
    let geometry = json!({"type": "Point", "coordinates": [652469.02, 6862035.26]});
    let r = one(good_properties(), geometry).unwrap_err();
    assert_eq!(r.field, "geometrie");
    assert!(r.reason.contains("not a longitude, latitude"), "{r:?}");
}

#[test]
fn null_geometry_falls_back_to_longitude_latitude_properties() {
    let mut props = good_properties();
    props["longitude"] = json!(6.4);
    props["latitude"] = json!("44.6");
    let o = one(props, Value::Null).unwrap();
    assert_eq!((o.lon, o.lat), (6.4, 44.6));
    let r = one(good_properties(), Value::Null).unwrap_err();
    assert_eq!(r.field, "geometrie");
    assert!(r.reason.contains("no position"), "{r:?}");
}

#[test]
fn rejects_missing_required_property() {
    let r = one(
        json!({"idSINPOccTax": "a", "dateDebut": "2017-09-20"}),
        point(),
    )
    .unwrap_err();
    assert_eq!(r.field, "cdNom");
    assert!(r.reason.contains("missing"), "{r:?}");
}

#[test]
fn rejects_boolean_property() {
    let mut props = good_properties();
    props["cdNom"] = json!(true);
    let r = one(props, point()).unwrap_err();
    assert_eq!(r.field, "cdNom");
    assert!(r.reason.contains("a boolean"), "{r:?}");
}

#[test]
fn rejects_property_given_under_two_names() {
    let mut props = good_properties();
    props["cd_nom"] = json!(3609);
    let r = one(props, point()).unwrap_err();
    assert_eq!(r.field, "cdNom");
    assert!(r.reason.contains("given twice"), "{r:?}");
}

#[test]
fn rejects_feature_that_is_not_an_object() {
    let text = r#"{"type":"FeatureCollection","features":[42,
        {"type":"Feature","properties":{"idSINPOccTax":"a","cdNom":1,"dateDebut":"2020-01-01"},
         "geometry":{"type":"Point","coordinates":[1,2]}}]}"#;
    let rows = read_text(text);
    let r = rows[0].as_ref().unwrap_err();
    assert_eq!((r.field.as_str(), r.line), ("row", 1));
    assert_eq!(rows[1].as_ref().unwrap().origin.line, 2);
}

#[test]
fn lambert93_crs_member_is_honoured() {
    // The sample's x_l93/y_l93 and lon/lat were both computed by PostGIS.
    let table = test_support::sample_table();
    let text = feature_collection(&table, "x_l93", "y_l93").replacen(
        "\"bbox\"",
        r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::2154"}},"bbox""#,
        1,
    );
    let rows = read_text(&text);
    let (lon, lat) = (table.column("lon_wgs84"), table.column("lat_wgs84"));
    for (row, values) in rows.iter().zip(&table.rows) {
        let o = row.as_ref().unwrap();
        let expected: (f64, f64) = (values[lon].parse().unwrap(), values[lat].parse().unwrap());
        assert!((o.lon - expected.0).abs() < 1e-8 && (o.lat - expected.1).abs() < 1e-8);
    }
    assert_eq!(rows.len(), 1000);
}

#[test]
fn unknown_crs_is_a_file_error() {
    let text = r#"{"type":"FeatureCollection",
        "crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}},"features":[]}"#;
    assert!(file_error(text).contains("unsupported crs"));
}

#[test]
fn not_a_feature_collection_is_a_file_error() {
    let feature = r#"{"type":"Feature","properties":{},"geometry":null}"#;
    assert!(file_error(feature).contains("not a FeatureCollection"));
    assert!(file_error(r#"{"type":"FeatureCollection"}"#).contains("without features"));
    assert!(file_error("[1,2]").contains("not a valid GeoJSON"));
}

#[test]
fn invalid_json_is_a_file_error_after_the_good_batches() {
    let table = test_support::sample_table();
    let text = feature_collection(&table, "lon_wgs84", "lat_wgs84");
    let cut = &text[..text.len() / 2];
    let mut reader = GeoJsonOccurrenceReader::start(
        "cut.geojson".into(),
        Cursor::new(cut.as_bytes().to_vec()),
        100,
        None,
    )
    .unwrap();
    let mut good = 0;
    let error = loop {
        match reader.next_batch() {
            Ok(Some(batch)) => good += batch.len(),
            Ok(None) => panic!("a cut file must fail"),
            Err(e) => break e.to_string(),
        }
    };
    assert!((400..600).contains(&good), "{good} features before the cut");
    assert!(error.starts_with("cut.geojson: "), "{error}");
    assert!(error.contains("line"), "serde_json's position: {error}");
}

#[test]
fn batches_keep_feature_order_and_file_index() {
    let table = test_support::sample_table();
    let text = feature_collection(&table, "lon_wgs84", "lat_wgs84");
    let mut reader = GeoJsonOccurrenceReader::start(
        "b.geojson".into(),
        Cursor::new(text.into_bytes()),
        300,
        None,
    )
    .unwrap()
    .with_file_index(3);
    let mut sizes = Vec::new();
    let mut lines = Vec::new();
    while let Some(batch) = reader.next_batch().unwrap() {
        sizes.push(batch.len());
        for row in batch {
            let o = row.unwrap();
            assert_eq!(o.origin.file, 3);
            lines.push(o.origin.line);
        }
    }
    assert_eq!(sizes, [300, 300, 300, 100]);
    assert_eq!(lines, (1..=1000).collect::<Vec<u64>>());
    assert!(reader.next_batch().unwrap().is_none());
}

#[test]
fn dropping_the_reader_early_is_fine() {
    let table = test_support::sample_table();
    let text = feature_collection(&table, "lon_wgs84", "lat_wgs84");
    let mut reader = GeoJsonOccurrenceReader::start(
        "d.geojson".into(),
        Cursor::new(text.into_bytes()),
        10,
        None,
    )
    .unwrap();
    assert_eq!(reader.next_batch().unwrap().unwrap().len(), 10);
    drop(reader); // the parsing thread sees the closed channel and stops
}

proptest::proptest! {
    #[test]
    fn arbitrary_json_text_never_panics(body in "[\\[\\]{}:,\"a-z0-9.\\- ]{0,200}") {
        let text = format!(r#"{{"type":"FeatureCollection","features":[{body}"#);
        let mut reader = reader(&text);
        while let Ok(Some(_)) = reader.next_batch() {}
    }
}
