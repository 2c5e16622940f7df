//! `flou ingest`: occurrence files → validated [`Occurrence`]s (or [`Reject`]s naming file,
//! line and field) → sensitivity → the store.
#![forbid(unsafe_code)]

pub mod append;
pub mod csv;
pub mod fgb;
pub mod fields;
pub mod geojson;
pub mod mapping;
pub mod nomenclature;
pub mod occurrence;
pub mod pipeline;
pub mod reevaluate;
#[cfg(test)]
mod test_support;

pub use occurrence::{Occurrence, Reject};

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file as a whole cannot be read (bad header, not GeoJSON, not FlatGeobuf…).
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    #[error(transparent)]
    Mapping(#[from] mapping::MappingError),
    /// A row of a deletion file (`--delete`) that names no observation.
    #[error("{file}:{line}: field {field}: {reason}")]
    Row {
        file: String,
        line: u64,
        field: String,
        reason: String,
    },
}

/// Spatial reference of WKT `geometrie` columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Srid {
    Wgs84,
    Lambert93,
}

/// A streaming source of occurrences: batches of rows, each valid or rejected, so a bad row
/// never stops the file and nothing is dropped silently.
pub trait OccurrenceReader: Send {
    /// The next batch, or `None` at the end of the file.
    #[allow(clippy::type_complexity)]
    fn next_batch(&mut self) -> Result<Option<Vec<Result<Occurrence, Reject>>>, IngestError>;
}

/// Opens an occurrence file by its extension: `.csv`, `.geojson`/`.json`, `.fgb`.
pub fn open_reader(path: &Path, srid: Srid) -> Result<Box<dyn OccurrenceReader>, IngestError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "csv" | "tsv" | "txt" => Ok(Box::new(csv::CsvOccurrenceReader::open(path, srid)?)),
        "geojson" | "json" => Ok(Box::new(geojson::GeoJsonOccurrenceReader::open(path)?)),
        "fgb" => Ok(Box::new(fgb::FgbOccurrenceReader::open(path)?)),
        _ => Err(IngestError::File {
            file: path.display().to_string(),
            reason: format!("unknown occurrence format {ext:?}: expected .csv, .geojson or .fgb"),
        }),
    }
}

/// [`open_reader`] for the `file_index`-th file of an ingest: its occurrences carry that
/// index in [`Origin::file`](occurrence::Origin).
pub fn open_reader_indexed(
    path: &Path,
    srid: Srid,
    file_index: u32,
) -> Result<Box<dyn OccurrenceReader>, IngestError> {
    open_reader_mapped(path, srid, file_index, None)
}

/// [`open_reader_indexed`] under a column mapping file (`--mapping`).
pub fn open_reader_mapped(
    path: &Path,
    srid: Srid,
    file_index: u32,
    mapping: Option<std::sync::Arc<mapping::Mapping>>,
) -> Result<Box<dyn OccurrenceReader>, IngestError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "geojson" | "json" => Ok(Box::new(
            geojson::GeoJsonOccurrenceReader::open_mapped(path, mapping)?
                .with_file_index(file_index),
        )),
        "fgb" => Ok(Box::new(
            fgb::FgbOccurrenceReader::open_mapped(path, mapping)?.with_file_index(file_index),
        )),
        "csv" | "tsv" | "txt" => Ok(Box::new(
            csv::CsvOccurrenceReader::open_mapped(path, srid, mapping)?.with_file_index(file_index),
        )),
        _ => open_reader(path, srid),
    }
}
