use super::*;
use crate::ingest::test_support::{self, assert_same_rows, read_all, Table};
use flatgeobuf::{FgbCrs, FgbWriter, FgbWriterOptions};
use geozero::geojson::GeoJson;
use geozero::{ColumnValue, GeomProcessor, GeozeroGeometry, PropertyProcessor};
use std::io::Cursor;

/// Columns written as integers; the others as strings.
const INTEGER: [&str; 7] = [
    "cdNom",
    "cd_nom",
    "cdRef",
    "occStatutBiologique",
    "occComportement",
    "diffusionNiveauPrecision",
    "id_dataset",
];

struct Point(f64, f64);

impl GeozeroGeometry for Point {
    fn process_geom<P: GeomProcessor>(&self, p: &mut P) -> geozero::error::Result<()> {
        p.point_begin(0)?;
        p.xy(self.0, self.1, 0)?;
        p.point_end(0)
    }
}

struct Options {
    crs: i32,
    index: bool,
    geometry_type: GeometryType,
}

const PLAIN: Options = Options {
    crs: 4326,
    index: false,
    geometry_type: GeometryType::Point,
};

/// The table as FlatGeobuf, the position (columns `x`, `y`) as point geometries and all
/// columns as properties; empty values are left out (null) on every other row.
fn fgb(table: &Table, x: &str, y: &str, options: &Options) -> Vec<u8> {
    let (x, y) = (table.column(x), table.column(y));
    let mut writer = FgbWriter::create_with_options(
        "occurrences",
        options.geometry_type,
        FgbWriterOptions {
            write_index: options.index,
            crs: FgbCrs {
                code: options.crs,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .unwrap();
    let kinds: Vec<ColumnType> = table
        .header
        .iter()
        .map(|name| {
            if INTEGER.contains(&name.as_str()) {
                ColumnType::Long
            } else {
                ColumnType::String
            }
        })
        .collect();
    for (name, kind) in table.header.iter().zip(&kinds) {
        writer.add_column(name, *kind, |_, c| c.nullable = true);
    }
    for (i, row) in table.rows.iter().enumerate() {
        let point = Point(row[x].parse().unwrap(), row[y].parse().unwrap());
        writer
            .add_feature_geom(point, |feature| {
                for (c, ((name, value), kind)) in
                    table.header.iter().zip(row).zip(&kinds).enumerate()
                {
                    let v = match kind {
                        // An integer column has no empty value: null.
                        _ if value.is_empty() && (i % 2 == 0 || *kind == ColumnType::Long) => {
                            continue
                        }
                        &ColumnType::Long => ColumnValue::Long(value.parse().unwrap()),
                        _ => ColumnValue::String(value),
                    };
                    feature.property(c, name, &v).unwrap();
                }
            })
            .unwrap();
    }
    let mut out = Vec::new();
    writer.write(&mut out).unwrap();
    out
}

fn reader(bytes: Vec<u8>) -> Result<FgbOccurrenceReader, IngestError> {
    FgbOccurrenceReader::from_reader("test.fgb", Cursor::new(bytes))
}

fn read_bytes(bytes: Vec<u8>) -> Vec<Result<Occurrence, Reject>> {
    read_all(&mut reader(bytes).unwrap())
}

fn file_error(bytes: Vec<u8>) -> String {
    match reader(bytes) {
        Err(IngestError::File { file, reason }) => {
            assert_eq!(file, "test.fgb");
            reason
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("accepted"),
    }
}

fn small_table(header: &[&str], rows: &[&[&str]]) -> Table {
    Table {
        header: header.iter().map(|s| s.to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect(),
    }
}

#[test]
fn geonature_sample_round_trips_equal_to_csv() {
    let table = test_support::sample_table();
    let from_csv = test_support::read_csv(&table.to_csv());
    let from_fgb = read_bytes(fgb(&table, "lon_wgs84", "lat_wgs84", &PLAIN));
    assert_eq!(from_fgb.len(), 1000);
    assert_same_rows(&from_csv, &from_fgb);
}

#[test]
fn every_sinp_field_round_trips_equal_to_csv() {
    let table = test_support::full_table();
    let from_csv = test_support::read_csv(&table.to_csv());
    let from_fgb = read_bytes(fgb(&table, "longitude", "latitude", &PLAIN));
    assert_same_rows(&from_csv, &from_fgb);
}

#[test]
fn indexed_file_gives_the_same_rows_in_index_order() {
    let table = test_support::sample_table();
    let mut from_csv: Vec<Occurrence> = test_support::read_csv(&table.to_csv())
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let options = Options {
        index: true,
        ..PLAIN
    };
    let mut from_fgb: Vec<Occurrence> = read_bytes(fgb(&table, "lon_wgs84", "lat_wgs84", &options))
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let lines: Vec<u64> = from_fgb.iter().map(|o| o.origin.line).collect();
    assert_eq!(lines, (1..=1000).collect::<Vec<u64>>());
    assert_ne!(
        from_fgb[0].id, from_csv[0].id,
        "Hilbert order differs from the file"
    );
    from_csv.sort_by(|a, b| a.id.cmp(&b.id));
    from_fgb.sort_by(|a, b| a.id.cmp(&b.id));
    for (c, f) in from_csv.iter_mut().zip(&from_fgb) {
        c.origin.line = f.origin.line;
    }
    assert_eq!(from_csv, from_fgb);
}

#[test]
fn lambert93_header_crs_is_inverse_projected() {
    // The sample's x_l93/y_l93 and lon/lat were both computed by PostGIS.
    let table = test_support::sample_table();
    let options = Options { crs: 2154, ..PLAIN };
    let reader = reader(fgb(&table, "x_l93", "y_l93", &options)).unwrap();
    assert_eq!(reader.srid(), Srid::Lambert93);
    let rows = read_all(&mut { reader });
    let (lon, lat) = (table.column("lon_wgs84"), table.column("lat_wgs84"));
    assert_eq!(rows.len(), 1000);
    for (row, values) in rows.iter().zip(&table.rows) {
        let o = row.as_ref().unwrap();
        let expected: (f64, f64) = (values[lon].parse().unwrap(), values[lat].parse().unwrap());
        assert!((o.lon - expected.0).abs() < 1e-8 && (o.lat - expected.1).abs() < 1e-8);
    }
}

#[test]
fn unsupported_crs_is_a_file_error() {
    let table = test_support::full_table();
    let options = Options { crs: 3857, ..PLAIN };
    let reason = file_error(fgb(&table, "longitude", "latitude", &options));
    assert!(reason.contains("EPSG:3857"), "{reason}");
}

#[test]
fn rejects_non_point_geometries() {
    let header = ["idSINPOccTax", "cdNom", "dateDebut"];
    let mut writer = FgbWriter::create_with_options(
        "mixed",
        GeometryType::Unknown,
        FgbWriterOptions {
            write_index: false,
            detect_type: false,
            promote_to_multi: false,
            ..Default::default()
        },
    )
    .unwrap();
    for name in header {
        writer.add_column(name, ColumnType::String, |_, _| {});
    }
    let geometries = [
        r#"{"type":"Point","coordinates":[6.4,44.6]}"#,
        r#"{"type":"LineString","coordinates":[[6,44],[7,45]]}"#,
        r#"{"type":"MultiPoint","coordinates":[[6,44]]}"#,
    ];
    for (i, geometry) in geometries.iter().enumerate() {
        let id = format!("g{i}");
        writer
            .add_feature_geom(GeoJson(geometry), |f| {
                for (c, v) in [id.as_str(), "1", "2020-01-01"].iter().enumerate() {
                    f.property(c, header[c], &ColumnValue::String(v)).unwrap();
                }
            })
            .unwrap();
    }
    let mut bytes = Vec::new();
    writer.write(&mut bytes).unwrap();
    let rows = read_bytes(bytes);
    assert_eq!(rows[0].as_ref().unwrap().id, "g0");
    for (row, kind) in rows[1..].iter().zip(["LineString", "MultiPoint"]) {
        let r = row.as_ref().unwrap_err();
        assert_eq!(r.field, "geometrie");
        assert!(
            r.reason.contains("only point geometries are supported"),
            "{r:?}"
        );
        assert!(r.reason.contains(kind), "{r:?}");
    }
    assert_eq!(rows[2].as_ref().unwrap_err().line, 3);
}

#[test]
fn missing_required_column_is_a_file_error() {
    let table = small_table(
        &["idSINPOccTax", "dateDebut", "x", "y"],
        &[&["a", "2020-01-01", "1", "2"]],
    );
    let reason = file_error(fgb(&table, "x", "y", &PLAIN));
    assert!(reason.contains("missing required column cdNom"), "{reason}");
}

#[test]
fn not_flatgeobuf_is_a_file_error() {
    let reason = file_error(b"idSINPOccTax,cdNom\n".to_vec());
    assert!(reason.contains("not a FlatGeobuf file"), "{reason}");
}

#[test]
fn rejects_feature_with_truncated_properties() {
    let table = small_table(
        &["idSINPOccTax", "cdNom", "dateDebut", "x", "y"],
        &[
            &["first-row", "1", "2020-01-01", "1", "2"],
            &["MARKER-ROW", "1", "2020-01-01", "1", "2"],
        ],
    );
    let mut bytes = fgb(&table, "x", "y", &PLAIN);
    // Make the id's length prefix claim more bytes than the feature holds: the flatbuffer
    // stays valid (properties are opaque bytes), only our decoding can notice.
    let at = bytes.windows(10).position(|w| w == b"MARKER-ROW").unwrap();
    bytes[at - 4..at].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    let rows = read_bytes(bytes);
    assert!(rows[0].is_ok());
    let r = rows[1].as_ref().unwrap_err();
    assert_eq!((r.field.as_str(), r.line), ("row", 2));
    assert!(r.reason.contains("truncated"), "{r:?}");
}

#[test]
fn rejects_boolean_column_value() {
    let mut writer = FgbWriter::create_with_options(
        "b",
        GeometryType::Point,
        FgbWriterOptions {
            write_index: false,
            ..Default::default()
        },
    )
    .unwrap();
    writer.add_column("idSINPOccTax", ColumnType::String, |_, _| {});
    writer.add_column("cdNom", ColumnType::Bool, |_, _| {});
    writer.add_column("dateDebut", ColumnType::DateTime, |_, _| {});
    writer
        .add_feature_geom(Point(6.4, 44.6), |f| {
            f.property(0, "idSINPOccTax", &ColumnValue::String("a"))
                .unwrap();
            f.property(1, "cdNom", &ColumnValue::Bool(true)).unwrap();
            f.property(
                2,
                "dateDebut",
                &ColumnValue::DateTime("2020-01-01T10:00:00Z"),
            )
            .unwrap();
        })
        .unwrap();
    let mut bytes = Vec::new();
    writer.write(&mut bytes).unwrap();
    let r = read_bytes(bytes).remove(0).unwrap_err();
    assert_eq!(r.field, "cdNom");
    assert!(r.reason.contains("a boolean"), "{r:?}");
}

#[test]
fn batches_keep_feature_order_and_file_index() {
    let table = test_support::sample_table();
    let mut reader = reader(fgb(&table, "lon_wgs84", "lat_wgs84", &PLAIN))
        .unwrap()
        .with_batch_size(300)
        .with_file_index(5);
    let mut sizes = Vec::new();
    let mut lines = Vec::new();
    while let Some(batch) = reader.next_batch().unwrap() {
        sizes.push(batch.len());
        for row in batch {
            let o = row.unwrap();
            assert_eq!(o.origin.file, 5);
            lines.push(o.origin.line);
        }
    }
    assert_eq!(sizes, [300, 300, 300, 100]);
    assert_eq!(lines, (1..=1000).collect::<Vec<u64>>());
    assert!(reader.next_batch().unwrap().is_none());
}

proptest::proptest! {
    #[test]
    fn corrupted_feature_bytes_never_panic(at in 0usize..10_000, byte in proptest::prelude::any::<u8>()) {
        let table = test_support::full_table();
        let mut bytes = fgb(&table, "longitude", "latitude", &PLAIN);
        let at = at % bytes.len();
        bytes[at] = byte;
        if let Ok(mut reader) = reader(bytes) {
            while let Ok(Some(_)) = reader.next_batch() {}
        }
    }
}

#[test]
fn index_size_matches_flatgeobuf() {
    use flatgeobuf::packed_r_tree::PackedRTree;
    for count in [1u64, 2, 15, 16, 17, 255, 256, 257, 1000, 123_457] {
        for node in [2u16, 16, 100] {
            let ours = index_size(count, node).unwrap();
            let theirs = PackedRTree::index_size(count as usize, node) as u64;
            assert_eq!(ours, theirs, "{count} features, node size {node}");
        }
    }
    assert_eq!(index_size(0, 16), Some(0));
    assert_eq!(index_size(1000, 0), Some(0));
    assert_eq!(index_size(1000, 1), index_size(1000, 2));
}

#[test]
fn feature_claiming_a_huge_size_is_a_file_error_without_allocating_it() {
    let table = test_support::full_table();
    let bytes = fgb(&table, "longitude", "latitude", &PLAIN);
    // The first feature follows the magic bytes and the size-prefixed header.
    let header_size = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let first_feature = 12 + header_size;
    let mut corrupt = bytes.clone();
    corrupt[first_feature + 3] = 0xf0; // about 4 GB
    let mut reader = reader(corrupt).unwrap();
    let error = reader.next_batch().unwrap_err().to_string();
    assert!(error.contains("feature 1 claims"), "{error}");
    // A truncated file: the rows before the cut, then an error.
    let cut = bytes[..bytes.len() - 10].to_vec();
    let mut reader = reader_with_batch(cut, 7);
    let mut good = 0;
    let error = loop {
        match reader.next_batch() {
            Ok(Some(batch)) => good += batch.len(),
            Ok(None) => panic!("a cut file must fail"),
            Err(e) => break e.to_string(),
        }
    };
    assert_eq!(good, 56, "the full batches before the cut one");
    assert!(error.contains("truncated in feature 60"), "{error}");
}

fn reader_with_batch(bytes: Vec<u8>, batch: usize) -> FgbOccurrenceReader {
    reader(bytes).unwrap().with_batch_size(batch)
}

#[test]
fn corrupt_feature_with_intact_frame_is_one_reject() {
    let table = test_support::full_table();
    let mut bytes = fgb(&table, "longitude", "latitude", &PLAIN);
    let header_size = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let first_feature = 12 + header_size;
    // Point the feature's root table offset outside its buffer.
    bytes[first_feature + 4..first_feature + 8].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let rows = read_bytes(bytes);
    assert_eq!(rows.len(), 60);
    let r = rows[0].as_ref().unwrap_err();
    assert_eq!((r.field.as_str(), r.line), ("row", 1));
    assert!(r.reason.contains("corrupt feature"), "{r:?}");
    assert!(rows[1..].iter().all(Result::is_ok));
}

#[test]
fn indexed_files_of_one_and_seventeen_features_are_read() {
    let table = test_support::full_table();
    let options = Options {
        index: true,
        ..PLAIN
    };
    for n in [1, 17] {
        let small = Table {
            header: table.header.clone(),
            rows: table.rows[..n].to_vec(),
        };
        let rows = read_bytes(fgb(&small, "longitude", "latitude", &options));
        assert_eq!(rows.len(), n);
        assert!(rows.iter().all(Result::is_ok));
    }
}

#[test]
fn open_reader_indexed_picks_the_reader_by_extension_and_sets_the_file_index() {
    let dir = tempfile::tempdir().unwrap();
    let table = test_support::full_table();
    let fgb_path = dir.path().join("occ.FGB");
    std::fs::write(&fgb_path, fgb(&table, "longitude", "latitude", &PLAIN)).unwrap();
    let geojson_path = dir.path().join("occ.geojson");
    std::fs::write(
        &geojson_path,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature",
           "properties":{"idSINPOccTax":"a","cdNom":1,"dateDebut":"2020-01-01"},
           "geometry":{"type":"Point","coordinates":[1,2]}}]}"#,
    )
    .unwrap();
    let csv_path = std::path::PathBuf::from(test_support::SAMPLE);
    for (path, rows) in [(&fgb_path, 60), (&geojson_path, 1), (&csv_path, 1000)] {
        let mut reader = crate::ingest::open_reader_indexed(path, Srid::Wgs84, 9).unwrap();
        let got = read_all(reader.as_mut());
        assert_eq!(got.len(), rows, "{}", path.display());
        assert!(got.iter().all(|r| r.as_ref().unwrap().origin.file == 9));
        let mut plain = crate::ingest::open_reader(path, Srid::Wgs84).unwrap();
        let first = plain.next_batch().unwrap().unwrap().remove(0).unwrap();
        assert_eq!(first.origin.file, 0);
    }
    let other = dir.path().join("occ.shp");
    std::fs::write(&other, b"").unwrap();
    assert!(crate::ingest::open_reader_indexed(&other, Srid::Wgs84, 0).is_err());
}
