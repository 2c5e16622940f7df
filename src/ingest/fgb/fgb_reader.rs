//! FlatGeobuf files of point features whose columns carry the SINP fields (same names and
//! aliases as the CSV columns). CRS 4326 unless the header says 2154.
//!
//! The file is framed here rather than with `FgbReader`: flatgeobuf 6 resizes its buffer
//! to whatever size a feature claims (a corrupt size means gigabytes), panics on an index
//! node size of 1, and indexes property bytes unchecked. So the header and each feature
//! are read with bounded sizes, then checked with flatgeobuf's verifying accessors
//! (`size_prefixed_root_as_header`/`_feature`) and decoded with bounds-checked reads; a
//! corrupt feature whose frame is intact is one reject. Features are read sequentially,
//! then verified, decoded and validated in parallel with rayon. Feature numbers follow the
//! file order (the spatial-index order when the file has an index).

use crate::ingest::fields::{ColumnMap, Field, OwnedGeometry, OwnedRecord, OwnedValue, BATCH_SIZE};
use crate::ingest::mapping::Mapping;
use crate::ingest::occurrence::Origin;
use crate::ingest::{IngestError, Occurrence, OccurrenceReader, Reject, Srid};
use flatgeobuf::{ColumnType, Feature, GeometryType, Header};
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

/// FlatGeobuf's magic bytes are `fgb`, the major version, `fgb`, a patch byte.
const MAGIC: &[u8; 3] = b"fgb";
const MAX_VERSION: u8 = 3;
/// As flatgeobuf's own reader.
const MAX_HEADER_BYTES: usize = 10 * 1024 * 1024;
/// Far above any point occurrence: a bigger size means a corrupt file.
const MAX_FEATURE_BYTES: usize = 16 * 1024 * 1024;
/// Bytes per packed R-tree node: 4 × f64 bounds + u64 offset.
const INDEX_NODE_BYTES: u64 = 40;

pub struct FgbOccurrenceReader {
    file: String,
    input: Box<dyn Read + Send>,
    /// By column index: the field it gives (if any) and its type.
    columns: Vec<(Option<Field>, ColumnType)>,
    geometry_type: GeometryType,
    srid: Srid,
    /// From the header; 0 when unknown (then features run to the end of the file).
    features_count: u64,
    mapping: Option<Arc<Mapping>>,
    file_index: u32,
    batch_size: usize,
    /// Raw features (size prefix included) of the current batch, reused.
    buffers: Vec<Vec<u8>>,
    /// 1-based number of the next feature.
    next_feature: u64,
    finished: bool,
}

impl FgbOccurrenceReader {
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        Self::open_mapped(path, None)
    }

    /// [`FgbOccurrenceReader::open`] under a column mapping file.
    pub fn open_mapped(path: &Path, mapping: Option<Arc<Mapping>>) -> Result<Self, IngestError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| IngestError::Io {
            path: name.clone(),
            source,
        })?;
        Self::from_reader_mapped(name, BufReader::with_capacity(1 << 20, file), mapping)
    }

    /// Reads FlatGeobuf from any byte stream; `name` stands for the file in rejects.
    pub fn from_reader(
        name: impl Into<String>,
        input: impl Read + Send + 'static,
    ) -> Result<Self, IngestError> {
        Self::from_reader_mapped(name, input, None)
    }

    /// [`FgbOccurrenceReader::from_reader`] under a column mapping file.
    pub fn from_reader_mapped(
        name: impl Into<String>,
        input: impl Read + Send + 'static,
        mapping: Option<Arc<Mapping>>,
    ) -> Result<Self, IngestError> {
        let file = name.into();
        let mut input: Box<dyn Read + Send> = Box::new(input);
        let file_error = |reason: String| IngestError::File {
            file: file.clone(),
            reason,
        };
        let io_error = |source: std::io::Error| {
            if source.kind() == std::io::ErrorKind::UnexpectedEof {
                file_error("not a FlatGeobuf file: too short".into())
            } else {
                IngestError::Io {
                    path: file.clone(),
                    source,
                }
            }
        };
        let mut magic = [0u8; 8];
        input.read_exact(&mut magic).map_err(io_error)?;
        if &magic[..3] != MAGIC || &magic[4..7] != MAGIC || magic[3] > MAX_VERSION {
            return Err(file_error(
                "not a FlatGeobuf file (no fgb magic bytes)".into(),
            ));
        }
        let header_buf = read_frame(&mut input, MAX_HEADER_BYTES)
            .map_err(io_error)?
            .map_err(|size| file_error(format!("corrupt header: it claims {size} bytes")))?
            .ok_or_else(|| file_error("not a FlatGeobuf file: no header".into()))?;
        let header = flatgeobuf::size_prefixed_root_as_header(&header_buf)
            .map_err(|e| file_error(format!("corrupt header: {e}")))?;
        let srid = header_srid(&header).map_err(file_error)?;
        let names_and_types: Vec<(String, ColumnType)> = header
            .columns()
            .map(|cols| {
                cols.iter()
                    .map(|c| (c.name().to_string(), c.type_()))
                    .collect()
            })
            .unwrap_or_default();
        let map = ColumnMap::from_names_mapped(
            names_and_types.iter().map(|(n, _)| n.as_str()),
            mapping.as_deref(),
        )
        .map_err(file_error)?;
        if let Some(reason) = map.missing_required(false) {
            return Err(file_error(reason));
        }
        let mut columns: Vec<(Option<Field>, ColumnType)> =
            names_and_types.iter().map(|(_, t)| (None, *t)).collect();
        for (field, index) in map.mapped() {
            columns[index].0 = Some(field);
        }
        let features_count = header.features_count();
        let index_bytes = index_size(features_count, header.index_node_size())
            .ok_or_else(|| file_error("corrupt header: impossible index size".into()))?;
        let skipped = std::io::copy(&mut (&mut input).take(index_bytes), &mut std::io::sink())
            .map_err(io_error)?;
        if skipped < index_bytes {
            return Err(file_error("truncated in its spatial index".into()));
        }
        Ok(FgbOccurrenceReader {
            file,
            input,
            columns,
            mapping,
            geometry_type: header.geometry_type(),
            srid,
            features_count,
            file_index: 0,
            batch_size: BATCH_SIZE,
            buffers: Vec::new(),
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

    /// Reads up to a batch of raw features into `self.buffers`; returns how many.
    fn read_features(&mut self) -> Result<usize, IngestError> {
        let mut n = 0;
        while n < self.batch_size {
            let number = self.next_feature + n as u64;
            if self.features_count > 0 && number > self.features_count {
                self.finished = true;
                break;
            }
            if n == self.buffers.len() {
                self.buffers.push(Vec::new());
            }
            let frame = read_frame_into(&mut self.input, MAX_FEATURE_BYTES, &mut self.buffers[n])
                .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => IngestError::File {
                    file: self.file.clone(),
                    reason: format!("truncated in feature {number}"),
                },
                _ => IngestError::Io {
                    path: self.file.clone(),
                    source: e,
                },
            })?;
            match frame {
                Ok(true) => n += 1,
                Ok(false) => {
                    if self.features_count > 0 {
                        return Err(IngestError::File {
                            file: self.file.clone(),
                            reason: format!(
                                "ends after {} features, its header announces {}",
                                number - 1,
                                self.features_count
                            ),
                        });
                    }
                    self.finished = true;
                    break;
                }
                Err(size) => {
                    return Err(IngestError::File {
                        file: self.file.clone(),
                        reason: format!(
                            "feature {number} claims {size} bytes: corrupt file (cannot read on)"
                        ),
                    })
                }
            }
        }
        Ok(n)
    }
}

impl OccurrenceReader for FgbOccurrenceReader {
    fn next_batch(&mut self) -> Result<Option<Vec<Result<Occurrence, Reject>>>, IngestError> {
        if self.finished {
            return Ok(None);
        }
        let n = self.read_features()?;
        if n == 0 {
            return Ok(None);
        }
        let (file, file_index, srid, first) = (
            self.file.as_str(),
            self.file_index,
            self.srid,
            self.next_feature,
        );
        self.next_feature += n as u64;
        let (columns, geometry_type) = (&self.columns, self.geometry_type);
        let mapping = self.mapping.as_deref();
        let batch = self.buffers[..n]
            .par_iter()
            .enumerate()
            .with_min_len(256)
            .map(|(i, buffer)| {
                let origin = Origin {
                    file: file_index,
                    line: first + i as u64,
                };
                let mut row = decode(columns, geometry_type, buffer);
                if let Some(m) = mapping {
                    m.apply_owned(&mut row);
                }
                row.validate(srid, origin, file)
            })
            .collect();
        Ok(Some(batch))
    }
}

/// Reads a `u32`-size-prefixed frame: `Ok(Ok(Some(bytes)))` with the prefix, `Ok(Ok(None))`
/// at a clean end of stream, `Ok(Err(size))` when the size exceeds `max`.
fn read_frame(input: &mut dyn Read, max: usize) -> std::io::Result<Result<Option<Vec<u8>>, u64>> {
    let mut buf = Vec::new();
    Ok(read_frame_into(input, max, &mut buf)?.map(|read| read.then_some(buf)))
}

/// [`read_frame`] into a reused buffer; `Ok(Ok(false))` at a clean end of stream.
fn read_frame_into(
    input: &mut dyn Read,
    max: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<Result<bool, u64>> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match input.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Ok(Ok(false)),
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let size = u32::from_le_bytes(prefix);
    if size as usize > max {
        return Ok(Err(u64::from(size)));
    }
    buf.clear();
    buf.extend_from_slice(&prefix);
    buf.resize(4 + size as usize, 0);
    input.read_exact(&mut buf[4..])?;
    Ok(Ok(true))
}

/// Bytes of the packed Hilbert R-tree that follows the header (FlatGeobuf spec).
fn index_size(features_count: u64, node_size: u16) -> Option<u64> {
    if node_size == 0 || features_count == 0 {
        return Some(0);
    }
    let node_size = u64::from(node_size.max(2));
    // At least one level above the leaves, even for a single feature.
    let (mut level, mut nodes) = (features_count, features_count);
    loop {
        level = level.div_ceil(node_size);
        nodes = nodes.checked_add(level)?;
        if level <= 1 {
            break;
        }
    }
    nodes.checked_mul(INDEX_NODE_BYTES)
}

/// Decodes one feature into an owned row.
fn decode(
    columns: &[(Option<Field>, ColumnType)],
    geometry_type: GeometryType,
    buffer: &[u8],
) -> OwnedRecord {
    let mut row = OwnedRecord::default();
    let fb: Feature<'_> = match flatgeobuf::size_prefixed_root_as_feature(buffer) {
        Ok(feature) => feature,
        Err(e) => {
            row.problem = Some((None, format!("corrupt feature: {e}")));
            return row;
        }
    };
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
fn header_srid(header: &Header<'_>) -> Result<Srid, String> {
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
