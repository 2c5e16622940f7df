//! A CSV file read record by record: columns found by header name (trimmed, lower-cased),
//! every error naming the file, the line and the field. Shared by the taxonomy and the
//! sensitivity readers.
//!
//! Line numbers are computed here, not taken from `csv::Position::line`: that counter
//! is one short after every CRLF terminator (rust-csv #395; the shipped
//! `especesensible.csv` is CRLF) and after blank lines (rust-csv #208). The record's
//! byte offset is right, so [`LineIndex`] records where each '\n' falls and converts.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

#[derive(Debug)]
pub(crate) enum TableError {
    Io {
        path: String,
        source: io::Error,
    },
    Parse {
        file: String,
        line: u64,
        field: String,
        reason: String,
    },
}

/// Passes bytes through, remembering the offsets of the '\n' not yet behind the record
/// being read (the csv reader's read-ahead bounds how many are pending).
pub(crate) struct LineIndex<R> {
    inner: R,
    /// Bytes passed through so far.
    offset: u64,
    last_was_cr: bool,
    /// (offset of a '\n', whether a '\r' precedes it), ascending.
    pending: VecDeque<(u64, bool)>,
    /// The '\n' before the current record start.
    passed: u64,
}

impl<R: Read> LineIndex<R> {
    pub(crate) fn new(inner: R) -> Self {
        LineIndex {
            inner,
            offset: 0,
            last_was_cr: false,
            pending: VecDeque::new(),
            passed: 0,
        }
    }

    /// The line of the record the csv reader places at byte `start`. Starts only grow.
    /// csv may place a record on the '\n' of a CRLF or on a blank line before it: skip
    /// those terminators to the record's first byte.
    pub(crate) fn line_at(&mut self, start: u64) -> u64 {
        let mut start = start;
        loop {
            while let Some(&(nl, _)) = self.pending.front() {
                if nl >= start {
                    break;
                }
                self.pending.pop_front();
                self.passed += 1;
            }
            match self.pending.front() {
                Some(&(nl, cr)) if nl == start || (cr && nl == start + 1) => {
                    self.pending.pop_front();
                    self.passed += 1;
                    start = nl + 1;
                }
                _ => break,
            }
        }
        self.passed + 1
    }
}

impl<R: Read> Read for LineIndex<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut previous_cr = self.last_was_cr;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' {
                self.pending
                    .push_back((self.offset + i as u64, previous_cr));
            }
            previous_cr = b == b'\r';
        }
        self.last_was_cr = previous_cr;
        self.offset += n as u64;
        Ok(n)
    }
}

pub(crate) struct Table {
    file: String,
    reader: csv::Reader<LineIndex<File>>,
    headers: Vec<String>,
    record: csv::ByteRecord,
    line: u64,
}

impl Table {
    /// Opens `path` and reads its header. `quoting: false` for files whose fields may
    /// hold a lone '"' and are never quoted (TAXREF's tab-separated export).
    pub(crate) fn open(path: &Path, delimiter: u8, quoting: bool) -> Result<Table, TableError> {
        let file = path.display().to_string();
        let handle = File::open(path).map_err(|source| TableError::Io {
            path: file.clone(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .quoting(quoting)
            .from_reader(LineIndex::new(handle));
        let headers = match reader.byte_headers() {
            Ok(h) => h
                .iter()
                .map(|name| {
                    String::from_utf8_lossy(name)
                        .trim_start_matches('\u{feff}')
                        .trim()
                        .to_ascii_lowercase()
                })
                .collect(),
            Err(e) => return Err(csv_error(&file, 1, e)),
        };
        Ok(Table {
            file,
            reader,
            headers,
            record: csv::ByteRecord::new(),
            line: 1,
        })
    }

    pub(crate) fn optional_column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    pub(crate) fn column(&self, name: &str) -> Result<usize, TableError> {
        self.optional_column(name).ok_or_else(|| TableError::Parse {
            file: self.file.clone(),
            line: 1,
            field: name.to_string(),
            reason: format!("missing column (header: {})", self.headers.join(",")),
        })
    }

    /// Reads the next record; `false` at the end of the file.
    pub(crate) fn next_record(&mut self) -> Result<bool, TableError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(more) => {
                if let Some(p) = self.record.position() {
                    let start = p.byte();
                    self.line = self.reader.get_mut().line_at(start);
                }
                Ok(more)
            }
            Err(e) => {
                let line = match e.position() {
                    Some(p) => {
                        let start = p.byte();
                        self.reader.get_mut().line_at(start)
                    }
                    None => self.line,
                };
                Err(csv_error(&self.file, line, e))
            }
        }
    }

    /// The line the current record starts on (1 = the header), counting the newlines
    /// inside quoted fields of earlier records.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// The trimmed text of column `col` in the current record ("" when absent).
    pub(crate) fn text(&self, col: usize) -> Result<&str, TableError> {
        let bytes = self.record.get(col).unwrap_or_default();
        std::str::from_utf8(bytes)
            .map(str::trim)
            .map_err(|e| self.error(col, format!("not UTF-8: {e}")))
    }

    /// An error on column `col` of the current record.
    pub(crate) fn error(&self, col: usize, reason: impl Into<String>) -> TableError {
        TableError::Parse {
            file: self.file.clone(),
            line: self.line,
            field: self.headers.get(col).cloned().unwrap_or_default(),
            reason: reason.into(),
        }
    }

    /// Column `col` as an integer of type `T`, or `None` when empty.
    pub(crate) fn optional_int<T: std::str::FromStr>(
        &self,
        col: usize,
    ) -> Result<Option<T>, TableError> {
        let s = self.text(col)?;
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<T>().map(Some).map_err(|_| {
            let kind = std::any::type_name::<T>();
            self.error(col, format!("{s:?} is not an integer (expected {kind})"))
        })
    }

    /// Column `col` as a required integer of type `T`.
    pub(crate) fn int<T: std::str::FromStr>(&self, col: usize) -> Result<T, TableError> {
        self.optional_int(col)?
            .ok_or_else(|| self.error(col, "empty, an integer is required"))
    }
}

fn csv_error(file: &str, line: u64, e: csv::Error) -> TableError {
    let reason = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(source) => TableError::Io {
            path: file.to_string(),
            source,
        },
        _ => TableError::Parse {
            file: file.to_string(),
            line,
            field: "(record)".to_string(),
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The line of every record of `text`, and the first field (which names its line).
    fn lines_of(text: &[u8]) -> Vec<(u64, String)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text)
            .unwrap();
        let mut t = Table::open(&path, b',', true).unwrap();
        let mut out = Vec::new();
        while t.next_record().unwrap() {
            out.push((t.line(), t.text(0).unwrap().to_string()));
        }
        out
    }

    fn expected(lines: &[u64]) -> Vec<(u64, String)> {
        lines.iter().map(|l| (*l, format!("l{l}"))).collect()
    }

    #[test]
    fn lines_are_right_with_lf_crlf_blank_lines_and_quoted_newlines() {
        assert_eq!(lines_of(b"h,x\nl2,a\nl3,b\n"), expected(&[2, 3]));
        // csv's own counter says 1 and 2 here.
        assert_eq!(lines_of(b"h,x\r\nl2,a\r\nl3,b\r\n"), expected(&[2, 3]));
        assert_eq!(
            lines_of(b"h,x\r\nl2,\"a\r\nb\"\r\nl4,c\r\n\r\n\r\nl7,d"),
            expected(&[2, 4, 7])
        );
        assert_eq!(lines_of(b"h,x\nl2,\"a\n\nb\"\n\nl6,c\n"), expected(&[2, 6]));
    }

    #[test]
    fn lines_stay_right_across_read_buffers() {
        // Enough CRLF records to need many reads of the csv reader's buffer.
        let mut text = b"h,x\r\n".to_vec();
        for l in 2..20_000u64 {
            if l % 1000 == 0 {
                text.extend_from_slice(format!("l{l},\"two\r\nlines\"\r\n").as_bytes());
            } else if l % 1000 == 1 {
                continue; // the second line of the record above
            } else {
                text.extend_from_slice(format!("l{l},v\r\n").as_bytes());
            }
        }
        let got = lines_of(&text);
        assert_eq!(got.len(), 19_998 - 19);
        assert!(got.iter().all(|(line, first)| *first == format!("l{line}")));
    }

    #[test]
    fn an_unequal_record_is_reported_on_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"a,b\r\n1,2\r\n3\r\n")
            .unwrap();
        let mut t = Table::open(&path, b',', true).unwrap();
        assert!(t.next_record().unwrap());
        match t.next_record() {
            Err(TableError::Parse { line, field, .. }) => {
                assert_eq!((line, field.as_str()), (3, "(record)"))
            }
            other => panic!("{other:?}"),
        }
    }
}
