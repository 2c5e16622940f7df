//! SINP standard CSV (and GeoNature synthese exports): UTF-8, optional BOM, delimiter
//! `,` `;` or tab detected from the header line.
//!
//! Records are read sequentially into a reused batch of `ByteRecord`s (no allocation per
//! row once the batch is warm), then validated in parallel with rayon, in file order.
//! Two batches alternate: while one is validated, the next is read (`rayon::join`), so the
//! sequential CSV tokenizing overlaps the parallel validation.
//!
//! Line numbers: csv's `position().line()` of a record is where the reader stood when it
//! started the record — before any blank lines it skips, and, with CRLF line ends, on the
//! previous line (csv-core ends a record at `\r` and counts the line at the next `\n`).
//! So the input goes through [`LfInput`], which turns CRLF into LF, and a record's first
//! line is computed from the line csv reached right after the record (its last line + 1,
//! as the `\n` ending it is consumed) minus the newlines inside its quoted fields.

use crate::ingest::fields::{self, ColumnMap, Geometry, RawRecord, RawValue, BATCH_SIZE};
use crate::ingest::mapping::Mapping;
use crate::ingest::occurrence::Origin;
use crate::ingest::{IngestError, Occurrence, OccurrenceReader, Reject, Srid};
use csv::ByteRecord;
use rayon::prelude::*;
use std::fs::File;
use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::Arc;

/// The header line is looked for in this many first bytes.
const MAX_HEADER_BYTES: usize = 1 << 20;

/// The delimiters a SINP CSV may use, by preference on a tie.
const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

pub struct CsvOccurrenceReader {
    /// The path as given, for rejects and errors.
    file: String,
    reader: csv::Reader<LfInput>,
    columns: ColumnMap,
    mapping: Option<Arc<Mapping>>,
    header_len: usize,
    delimiter: u8,
    srid: Srid,
    file_index: u32,
    batch_size: usize,
    /// The batch read ahead (validated at the next call) and a spare one, both reused.
    ahead: RecordBatch,
    spare: RecordBatch,
    /// Whether `ahead` holds the batch to validate next.
    started: bool,
    /// The end of the file was reached while reading.
    at_end: bool,
    /// An error met while reading ahead, returned after the batch before it.
    pending_error: Option<IngestError>,
}

impl CsvOccurrenceReader {
    /// Opens a CSV file; `srid` is the reference system of its `geometrie` (WKT) column.
    pub fn open(path: &Path, srid: Srid) -> Result<Self, IngestError> {
        Self::open_mapped(path, srid, None)
    }

    /// [`CsvOccurrenceReader::open`] under a column mapping file.
    pub fn open_mapped(
        path: &Path,
        srid: Srid,
        mapping: Option<Arc<Mapping>>,
    ) -> Result<Self, IngestError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| IngestError::Io {
            path: name.clone(),
            source,
        })?;
        Self::from_reader_mapped(name, file, srid, mapping)
    }

    /// Reads CSV from any byte stream; `name` stands for the file in rejects and errors.
    pub fn from_reader(
        name: impl Into<String>,
        input: impl Read + Send + 'static,
        srid: Srid,
    ) -> Result<Self, IngestError> {
        Self::from_reader_mapped(name, input, srid, None)
    }

    /// [`CsvOccurrenceReader::from_reader`] under a column mapping file.
    pub fn from_reader_mapped(
        name: impl Into<String>,
        mut input: impl Read + Send + 'static,
        srid: Srid,
        mapping: Option<Arc<Mapping>>,
    ) -> Result<Self, IngestError> {
        let file = name.into();
        let io_error = |source| IngestError::Io {
            path: file.clone(),
            source,
        };
        let mut head = read_first_line(&mut input).map_err(io_error)?;
        if head.starts_with(UTF8_BOM) {
            head.drain(..UTF8_BOM.len());
        }
        let delimiter = detect_delimiter(&head);
        let chained: Box<dyn Read + Send> = Box::new(Cursor::new(head).chain(input));
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true) // a short or long row is a reject, not the end of the file
            .buffer_capacity(256 * 1024)
            .from_reader(LfInput::new(chained));
        let headers = reader
            .byte_headers()
            .map_err(|e| csv_error(&file, e))?
            .clone();
        if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
            return Err(IngestError::File {
                file,
                reason: "empty file: no header line".to_string(),
            });
        }
        let names: Vec<String> = headers
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect();
        let columns =
            ColumnMap::from_names_mapped(names.iter().map(String::as_str), mapping.as_deref())
                .map_err(|reason| IngestError::File {
                    file: file.clone(),
                    reason,
                })?;
        if let Some(reason) = columns.missing_required(true) {
            return Err(IngestError::File {
                file,
                reason: format!(
                    "{reason} (header, delimiter {:?}: {})",
                    delimiter as char,
                    fields::shown(&names.join(&(delimiter as char).to_string()))
                ),
            });
        }
        Ok(CsvOccurrenceReader {
            file,
            reader,
            columns,
            mapping,
            header_len: headers.len(),
            delimiter,
            srid,
            file_index: 0,
            batch_size: BATCH_SIZE,
            ahead: RecordBatch::default(),
            spare: RecordBatch::default(),
            started: false,
            at_end: false,
            pending_error: None,
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

    /// The delimiter found on the header line.
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }
}

impl CsvOccurrenceReader {
    /// Records how a read ended; an error waits until the records read before it are out.
    fn note_read(&mut self, read: Result<bool, IngestError>) {
        match read {
            Ok(at_end) => self.at_end = at_end,
            Err(e) => {
                self.at_end = true;
                self.pending_error = Some(e);
            }
        }
    }
}

/// Records read from the file, with the line each one ends on.
#[derive(Default)]
struct RecordBatch {
    records: Vec<ByteRecord>,
    last_lines: Vec<u64>,
    len: usize,
}

/// Fills `batch` with up to `batch_size` records; returns whether the file ended. On an
/// error, `batch` keeps the records read before it.
fn read_batch(
    reader: &mut csv::Reader<LfInput>,
    batch: &mut RecordBatch,
    batch_size: usize,
    file: &str,
) -> Result<bool, IngestError> {
    batch.len = 0;
    while batch.len < batch_size {
        let n = batch.len;
        if n == batch.records.len() {
            batch.records.push(ByteRecord::new());
            batch.last_lines.push(0);
        }
        match reader.read_byte_record(&mut batch.records[n]) {
            Ok(true) => {
                // csv stands just after the `\n` that ended the record (so on the next
                // line), unless the record ended the stream without one.
                let position = reader.position();
                let input = reader.get_ref();
                let unterminated = input.at_end
                    && position.byte() == input.delivered
                    && !input.ended_with_newline();
                batch.last_lines[n] = position.line() - u64::from(!unterminated);
                batch.len += 1;
            }
            Ok(false) => return Ok(true),
            Err(e) => return Err(csv_error(file, e)),
        }
    }
    Ok(false)
}

impl OccurrenceReader for CsvOccurrenceReader {
    fn next_batch(&mut self) -> Result<Option<Vec<Result<Occurrence, Reject>>>, IngestError> {
        if !self.started {
            self.started = true;
            let read = read_batch(
                &mut self.reader,
                &mut self.ahead,
                self.batch_size,
                &self.file,
            );
            self.note_read(read);
        }
        if self.ahead.len == 0 {
            return match self.pending_error.take() {
                Some(e) => Err(e),
                None => Ok(None),
            };
        }
        let rows = RowContext {
            file: &self.file,
            columns: &self.columns,
            mapping: self.mapping.as_deref(),
            header_len: self.header_len,
            srid: self.srid,
            file_index: self.file_index,
        };
        let current = &self.ahead;
        let (reader, spare, at_end) = (&mut self.reader, &mut self.spare, self.at_end);
        let (batch_size, file) = (self.batch_size, self.file.as_str());
        let (parsed, read) = rayon::join(
            || rows.parse_batch(current),
            || {
                if at_end {
                    spare.len = 0;
                    Ok(true)
                } else {
                    read_batch(reader, spare, batch_size, file)
                }
            },
        );
        self.note_read(read);
        std::mem::swap(&mut self.ahead, &mut self.spare);
        Ok(Some(parsed))
    }
}

/// What parsing one record needs, shared by the rayon workers.
struct RowContext<'a> {
    file: &'a str,
    columns: &'a ColumnMap,
    mapping: Option<&'a Mapping>,
    header_len: usize,
    srid: Srid,
    file_index: u32,
}

impl RowContext<'_> {
    fn parse_batch(&self, batch: &RecordBatch) -> Vec<Result<Occurrence, Reject>> {
        batch.records[..batch.len]
            .par_iter()
            .zip(&batch.last_lines[..batch.len])
            .with_min_len(256)
            .map(|(record, &last_line)| {
                let newlines = record.as_slice().iter().filter(|&&b| b == b'\n').count();
                self.parse(record, last_line.saturating_sub(newlines as u64))
            })
            .collect()
    }

    /// Parses the record that starts on `line`.
    fn parse(&self, record: &ByteRecord, line: u64) -> Result<Occurrence, Reject> {
        if record.len() != self.header_len {
            return Err(fields::row_reject(
                self.file,
                line,
                format!(
                    "{} fields where the header has {} (a missing or extra delimiter, \
                     or an unclosed quote?)",
                    record.len(),
                    self.header_len
                ),
            ));
        }
        let mut raw = RawRecord::default();
        for (field, column) in self.columns.mapped() {
            let bytes = record.get(column).unwrap_or_default();
            let value = match std::str::from_utf8(bytes) {
                Ok(text) => RawValue::Text(text),
                Err(_) => RawValue::Unsupported("text that is not valid UTF-8"),
            };
            raw.set(field, value);
        }
        if let Some(m) = self.mapping {
            m.apply(&mut raw);
        }
        let origin = Origin {
            file: self.file_index,
            line,
        };
        fields::validate(&raw, &Geometry::FromFields, self.srid, origin)
            .map_err(|e| e.into_reject(self.file, line))
    }
}

/// The input with every CRLF turned into LF (also inside quoted fields), remembering
/// whether the stream ended with a newline.
pub(crate) struct LfInput {
    inner: Box<dyn Read + Send>,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    /// A `\r` ending the last chunk, held until the next byte is known.
    pending_cr: bool,
    last_byte: Option<u8>,
    at_end: bool,
    /// Bytes handed out so far.
    delivered: u64,
}

impl LfInput {
    fn new(inner: Box<dyn Read + Send>) -> Self {
        LfInput {
            inner,
            buf: vec![0; 256 * 1024],
            pos: 0,
            filled: 0,
            pending_cr: false,
            last_byte: None,
            at_end: false,
            delivered: 0,
        }
    }

    /// Whether the stream, once read to its end, ended with `\n` (or was empty).
    fn ended_with_newline(&self) -> bool {
        matches!(self.last_byte, None | Some(b'\n'))
    }

    /// Reads the next chunk into `buf`, CRLF turned into LF.
    fn refill(&mut self) -> std::io::Result<()> {
        let start = usize::from(self.pending_cr);
        if self.pending_cr {
            self.buf[0] = b'\r';
            self.pending_cr = false;
        }
        let n = loop {
            match self.inner.read(&mut self.buf[start..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        let mut len = start + n;
        if n == 0 {
            self.at_end = true;
        } else if self.buf[..len].contains(&b'\r') {
            let mut w = 0;
            for r in 0..len {
                let b = self.buf[r];
                if !(b == b'\r' && r + 1 < len && self.buf[r + 1] == b'\n') {
                    self.buf[w] = b;
                    w += 1;
                }
            }
            len = w;
            if self.buf[len - 1] == b'\r' {
                // Maybe the first half of a CRLF split across reads.
                self.pending_cr = true;
                len -= 1;
            }
        }
        self.pos = 0;
        self.filled = len;
        Ok(())
    }
}

impl Read for LfInput {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.filled {
            if self.at_end || out.is_empty() {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = out.len().min(self.filled - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.delivered += n as u64;
        self.last_byte = Some(out[n - 1]);
        Ok(n)
    }
}

/// Reads the stream up to and including its first `\n` (or [`MAX_HEADER_BYTES`]).
fn read_first_line(input: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(64 * 1024);
    let mut chunk = [0u8; 8192];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(head);
        }
        let had_newline = chunk[..n].contains(&b'\n');
        head.extend_from_slice(&chunk[..n]);
        if had_newline || head.len() >= MAX_HEADER_BYTES {
            return Ok(head);
        }
    }
}

/// The delimiter that splits the first line (outside quotes) into the most fields.
fn detect_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; DELIMITERS.len()];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let mut best = 0;
    for i in 1..DELIMITERS.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    DELIMITERS[best]
}

fn csv_error(file: &str, error: csv::Error) -> IngestError {
    let line = error.position().map(|p| p.line());
    match error.into_kind() {
        csv::ErrorKind::Io(source) => IngestError::Io {
            path: file.to_string(),
            source,
        },
        other => IngestError::File {
            file: file.to_string(),
            reason: match line {
                Some(line) => format!("line {line}: {other:?}"),
                None => format!("{other:?}"),
            },
        },
    }
}

#[cfg(test)]
#[path = "csv_reader_tests.rs"]
mod tests;
