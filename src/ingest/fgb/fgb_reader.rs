//! FlatGeobuf files of point features whose columns carry the SINP fields (same names and
//! aliases as the CSV columns). CRS 4326 unless the header says 2154.
//!
//! Features are read sequentially (flatgeobuf verifies each one) and decoded into owned
//! rows — the properties with bounds-checked reads of our own, since the crate's
//! property reader indexes its buffer unchecked and would panic on a truncated feature —
//! then validated in parallel with rayon. Feature numbers follow the file order (which is
//! the spatial-index order when the file has an index).

use crate::ingest::fields::{ColumnMap, Field, OwnedGeometry, OwnedRecord, OwnedValue, BATCH_SIZE};
use crate::ingest::occurrence::Origin;
use crate::ingest::{IngestError, Occurrence, OccurrenceReader, Reject, Srid};
use flatgeobuf::{
    ColumnType, FallibleStreamingIterator, FeatureIter, FgbFeature, FgbReader, GeometryType,
    NotSeekable,
};
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

pub struct FgbOccurrenceReader {
    file: String,
    features: FeatureIter<Box<dyn Read + Send>, NotSeekable>,
    /// By column index: the field it gives (if any) and its type.
    columns: Vec<(Option<Field>, ColumnType)>,
    geometry_type: GeometryType,
    srid: Srid,
    file_index: u32,
    batch_size: usize,
    /// 1-based number of the next feature.
    next_feature: u64,
    finished: bool,
}

impl FgbOccurrenceReader {
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| IngestError::Io {
            path: name.clone(),
            source,
        })?;
        Self::from_reader(name, BufReader::with_capacity(1 << 20, file))
    }

    /// Reads FlatGeobuf from any byte stream; `name` stands for the file in rejects.
    pub fn from_reader(
        name: impl Into<String>,
        input: impl Read + Send + 'static,
    ) -> Result<Self, IngestError> {
        let file = name.into();
        let file_error = |reason: String| IngestError::File {
            file: file.clone(),
            reason,
        };
        let boxed: Box<dyn Read + Send> = Box::new(input);
        let reader = FgbReader::open(boxed)
            .map_err(|e| file_error(format!("not a FlatGeobuf file: {e}")))?;
        let header = reader.header();
        let srid = header_srid(&header).map_err(file_error)?;
        let geometry_type = header.geometry_type();
        let names_and_types: Vec<(String, ColumnType)> = header
            .columns()
            .map(|cols| {
                cols.iter()
                    .map(|c| (c.name().to_string(), c.type_()))
                    .collect()
            })
            .unwrap_or_default();
        let map = ColumnMap::from_names(names_and_types.iter().map(|(n, _)| n.as_str()))
            .map_err(file_error)?;
        if let Some(reason) = map.missing_required(false) {
            return Err(file_error(reason));
        }
        let mut columns: Vec<(Option<Field>, ColumnType)> =
            names_and_types.iter().map(|(_, t)| (None, *t)).collect();
        for (field, index) in map.mapped() {
            columns[index].0 = Some(field);
        }
        let features = reader
            .select_all_seq()
            .map_err(|e| file_error(format!("cannot read the features: {e}")))?;
        Ok(FgbOccurrenceReader {
            file,
            features,
            columns,
            geometry_type,
            srid,
            file_index: 0,
            batch_size: BATCH_SIZE,
            next_feature: 1,
            finished: false,
        })
    }

    /// Sets the index of this file in the ingest's file list ([`Origin::file`]).
    pub fn with_file_index(mut self, file_index: u32) -> Self {
        self.file_index = file_index;
        self
    }

    /// Rows per batch (at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The reference system of the point coordinates, from the header.
    pub fn srid(&self) -> Srid {
        self.srid
    }
}

impl OccurrenceReader for FgbOccurrenceReader {
    fn next_batch(&mut self) -> Result<Option<Vec<Result<Occurrence, Reject>>>, IngestError> {
        if self.finished {
            return Ok(None);
        }
        let mut rows = Vec::with_capacity(self.batch_size.min(BATCH_SIZE));
        while rows.len() < self.batch_size {
            let feature_number = self.next_feature + rows.len() as u64;
            let next = self.features.next().map_err(|e| IngestError::File {
                file: self.file.clone(),
                reason: format!("feature {feature_number}: {e}"),
            })?;
            let Some(feature) = next else {
                self.finished = true;
                break;
            };
            rows.push(decode(&self.columns, self.geometry_type, feature));
        }
        if rows.is_empty() {
            return Ok(None);
        }
        let (file, file_index, srid, first) = (
            self.file.as_str(),
            self.file_index,
            self.srid,
            self.next_feature,
        );
        self.next_feature += rows.len() as u64;
        let batch = rows
            .par_iter()
            .enumerate()
            .with_min_len(256)
            .map(|(i, row)| {
                let origin = Origin {
                    file: file_index,
                    line: first + i as u64,
                };
                row.validate(srid, origin, file)
            })
            .collect();
        Ok(Some(batch))
    }
}

/// Decodes one feature into an owned row.
fn decode(
    columns: &[(Option<Field>, ColumnType)],
    geometry_type: GeometryType,
    feature: &FgbFeature,
) -> OwnedRecord {
    let mut row = OwnedRecord::default();
    let fb = feature.fbs_feature();
    row.geometry = match fb.geometry() {
        None => OwnedGeometry::Missing,
        Some(g) => {
            let kind = if geometry_type == GeometryType::Unknown {
                g.type_()
            } else {
                geometry_type
            };
            if kind != GeometryType::Point {
                OwnedGeometry::NotPoint(format!("{kind:?}"))
            } else {
                match g.xy() {
                    Some(xy) if xy.len() >= 2 => OwnedGeometry::Point {
                        x: xy.get(0),
                        y: xy.get(1),
                    },
                    _ => OwnedGeometry::Invalid("empty point: no coordinates".into()),
                }
            }
        }
    };
    if let Some(properties) = fb.properties() {
        if let Err(reason) = decode_properties(columns, properties.bytes(), &mut row) {
            row.problem = Some((None, reason));
        }
    }
    row
}

/// Reads the `(column index: u16, value)` pairs of a feature's property buffer.
fn decode_properties(
    columns: &[(Option<Field>, ColumnType)],
    bytes: &[u8],
    row: &mut OwnedRecord,
) -> Result<(), String> {
    let mut cursor = Cursor { bytes, at: 0 };
    // Writers may leave one trailing byte after the last value.
    while bytes.len() - cursor.at >= 2 {
        let index = usize::from(u16::from_le_bytes(cursor.take()?));
        let Some(&(field, kind)) = columns.get(index) else {
            return Err(format!(
                "corrupt feature: a property of column {index}, but the header has {}",
                columns.len()
            ));
        };
        let value = match kind {
            ColumnType::Byte => OwnedValue::Int(i8::from_le_bytes(cursor.take()?).into()),
            ColumnType::UByte => OwnedValue::Int(u8::from_le_bytes(cursor.take()?).into()),
            ColumnType::Bool => {
                cursor.take::<1>()?;
                OwnedValue::Unsupported("a boolean")
            }
            ColumnType::Short => OwnedValue::Int(i16::from_le_bytes(cursor.take()?).into()),
            ColumnType::UShort => OwnedValue::Int(u16::from_le_bytes(cursor.take()?).into()),
            ColumnType::Int => OwnedValue::Int(i32::from_le_bytes(cursor.take()?).into()),
            ColumnType::UInt => OwnedValue::Int(u32::from_le_bytes(cursor.take()?).into()),
            ColumnType::Long => OwnedValue::Int(i64::from_le_bytes(cursor.take()?)),
            ColumnType::ULong => {
                let v = u64::from_le_bytes(cursor.take()?);
                i64::try_from(v).map_or(OwnedValue::Float(v as f64), OwnedValue::Int)
            }
            ColumnType::Float => OwnedValue::Float(f32::from_le_bytes(cursor.take()?).into()),
            ColumnType::Double => OwnedValue::Float(f64::from_le_bytes(cursor.take()?)),
            ColumnType::String | ColumnType::Json | ColumnType::DateTime => {
                let text = cursor.take_sized()?;
                match std::str::from_utf8(text) {
                    // Only the mapped columns are copied.
                    Ok(t) if field.is_some() => OwnedValue::Text(t.to_string()),
                    Ok(_) => OwnedValue::Absent,
                    Err(_) => OwnedValue::Unsupported("text that is not valid UTF-8"),
                }
            }
            ColumnType::Binary => {
                cursor.take_sized()?;
                OwnedValue::Unsupported("binary data")
            }
            other => {
                return Err(format!(
                    "column {index} has an unknown type {other:?}: cannot read on"
                ))
            }
        };
        if let Some(field) = field {
            row.set(field, value);
        }
    }
    Ok(())
}

/// The header's CRS: 2154 → Lambert-93; 4326, CRS84 or none → WGS84; others refused.
fn header_srid(header: &flatgeobuf::Header<'_>) -> Result<Srid, String> {
    let Some(crs) = header.crs() else {
        return Ok(Srid::Wgs84);
    };
    let org = crs.org().unwrap_or("EPSG");
    match (org.to_ascii_uppercase().as_str(), crs.code()) {
        (_, 0) => Ok(Srid::Wgs84), // unknown: assumed WGS84, rows are range-checked
        ("EPSG", 4326) => Ok(Srid::Wgs84),
        ("EPSG", 2154) => Ok(Srid::Lambert93),
        ("OGC", _) if crs.code_string() == Some("CRS84") => Ok(Srid::Wgs84),
        (org, code) => Err(format!(
            "unsupported CRS {org}:{code}: expected EPSG:4326 (assumed when absent) or EPSG:2154"
        )),
    }
}

/// Bounds-checked reads from a property buffer.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let slice = self.slice(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    /// A `u32` length followed by that many bytes.
    fn take_sized(&mut self) -> Result<&'a [u8], String> {
        let len = u32::from_le_bytes(self.take()?) as usize;
        self.slice(len)
    }

    fn slice(&mut self, len: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| "corrupt feature: its properties are truncated".to_string())?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
}

#[cfg(test)]
#[path = "fgb_reader_tests.rs"]
mod tests;
