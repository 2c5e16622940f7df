//! Test data shared by the reader tests: the real GeoNature sample and a synthetic table
//! that fills every SINP field, as plain (header, rows) text tables.

use crate::ingest::csv::CsvOccurrenceReader;
use crate::ingest::{Occurrence, OccurrenceReader, Reject, Srid};
use std::io::Cursor;

pub const SAMPLE: &str = "/work/shared/data/occurrences/geonature-synthese-sample.csv";

/// A text table: column names and rows of text values.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn column(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    /// As CSV with `,` (the values hold no `,`, `"` or newline).
    pub fn to_csv(&self) -> String {
        let mut text = self.header.join(",");
        text.push('\n');
        for row in &self.rows {
            assert!(row.iter().all(|v| !v.contains([',', '"', '\n'])));
            text.push_str(&row.join(","));
            text.push('\n');
        }
        text
    }
}

/// The GeoNature synthese sample, split by hand (it has no quoted fields).
pub fn sample_table() -> Table {
    let text = std::fs::read_to_string(SAMPLE).expect("the GeoNature sample");
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("a header")
        .split(',')
        .map(String::from)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    Table { header, rows }
}

/// Rows that use every SINP field, with varied but valid values.
pub fn full_table() -> Table {
    let header = [
        "idSINPOccTax",
        "cdNom",
        "cdRef",
        "nomCite",
        "dateDebut",
        "dateFin",
        "occStatutBiologique",
        "occComportement",
        "dSPublique",
        "diffusionNiveauPrecision",
        "sensiNiveau",
        "idSINPJdd",
        "longitude",
        "latitude",
    ];
    let ds = ["Pu", "Re", "Ac", "Pr", "NSP", ""];
    let sensi = ["0", "1", "2", "3", "4", "2.1", "2.3", "2.8", ""];
    let rows = (0..60)
        .map(|i: u32| {
            vec![
                format!("occ-{i:04}-é"),
                (1000 + i * 37).to_string(),
                if i.is_multiple_of(3) {
                    String::new()
                } else {
                    (900 + i).to_string()
                },
                format!("Taxon {i} (L. 1758)"),
                format!("20{:02}-{:02}-{:02}", i % 25, 1 + i % 12, 1 + i % 28),
                if i.is_multiple_of(4) {
                    String::new()
                } else {
                    format!("20{:02}-12-31", i % 25)
                },
                (i % 14).to_string(),
                if i.is_multiple_of(5) {
                    String::new()
                } else {
                    (i % 24).to_string()
                },
                ds[i as usize % ds.len()].to_string(),
                (i % 6).to_string(),
                sensi[i as usize % sensi.len()].to_string(),
                format!("jdd-{}", i % 7),
                format!("{}", -4.5 + f64::from(i) * 0.173_456_789_012_345),
                format!("{}", 42.1 + f64::from(i) * 0.091_234_567_890_123),
            ]
        })
        .collect();
    Table {
        header: header.iter().map(|h| h.to_string()).collect(),
        rows,
    }
}

/// All rows of a CSV text, read by the CSV reader.
pub fn read_csv(text: &str) -> Vec<Result<Occurrence, Reject>> {
    let mut reader = CsvOccurrenceReader::from_reader(
        "table.csv",
        Cursor::new(text.as_bytes().to_vec()),
        Srid::Wgs84,
    )
    .expect("a valid CSV header");
    read_all(&mut reader)
}

pub fn read_all(reader: &mut dyn OccurrenceReader) -> Vec<Result<Occurrence, Reject>> {
    let mut rows = Vec::new();
    while let Some(batch) = reader.next_batch().expect("a readable file") {
        rows.extend(batch);
    }
    rows
}

/// Occurrences from two readers are the same rows when all fields but the line match
/// (CSV lines count the header; feature numbers do not).
pub fn assert_same_rows(
    expected: &[Result<Occurrence, Reject>],
    got: &[Result<Occurrence, Reject>],
) {
    assert_eq!(expected.len(), got.len());
    for (i, (e, g)) in expected.iter().zip(got).enumerate() {
        let e = e
            .as_ref()
            .unwrap_or_else(|r| panic!("row {i} from CSV: {r:?}"));
        let g = g.as_ref().unwrap_or_else(|r| panic!("row {i}: {r:?}"));
        let mut g = g.clone();
        assert_eq!(g.origin.line, i as u64 + 1, "feature number");
        g.origin.line = e.origin.line;
        assert_eq!(e, &g, "row {i}");
    }
}
