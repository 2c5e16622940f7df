//! The on-disk container shared by segment and areas files: a versioned header, a section
//! table, and sections aligned to 64 bytes so that each one maps as a typed slice
//! (`bytemuck`) straight out of the mmap, without copying.
//!
//! ```text
//! 0   magic [u8; 8]          "FLOUSEG2" | "FLOUARE1"
//! 8   format version u32     FORMAT_VERSION
//! 12  section count u32
//! 16  file length u64        a truncated file is refused at open
//! 24  crc32 u32              of every byte after the header: a corrupt file is refused
//! 28  endianness mark u32    0x01020304 written little-endian
//! 32  reserved [u8; 32]
//! 64  section table          count × { id u32, elem size u32, offset u64, bytes u64, reserved u64 }
//! …   sections               each at a multiple of 64
//! ```
#![forbid(unsafe_code)]

use super::mmap::MappedFile;
use super::StoreError;
use bytemuck::Pod;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// 2: segments keep the file's own cdRef and sensiNiveau (inputs of re-evaluation).
pub const FORMAT_VERSION: u32 = 2;
pub const HEADER_LEN: usize = 64;
const TABLE_ENTRY_LEN: usize = 32;
const ALIGN: usize = 64;
const ENDIAN_MARK: u32 = 0x0102_0304;

pub type Magic = [u8; 8];

/// Sections written in memory, then laid out and written in one pass.
pub struct ContainerWriter {
    magic: Magic,
    sections: Vec<(u32, u32, Vec<u8>)>,
}

impl ContainerWriter {
    pub fn new(magic: Magic) -> Self {
        ContainerWriter {
            magic,
            sections: Vec::new(),
        }
    }

    /// Adds a typed section; `id`s are unique per file.
    pub fn add<T: Pod>(&mut self, id: u32, items: &[T]) {
        debug_assert!(
            self.sections.iter().all(|s| s.0 != id),
            "section {id} twice"
        );
        let bytes = bytemuck::cast_slice::<T, u8>(items).to_vec();
        self.sections
            .push((id, std::mem::size_of::<T>() as u32, bytes));
    }

    /// Writes the file at `path` (which must not be the live file: callers write to a fresh
    /// name and publish it through the manifest), flushed and synced.
    pub fn write(self, path: &Path) -> Result<u64, StoreError> {
        let io = |e| StoreError::io(path, e);
        let table_len = self.sections.len() * TABLE_ENTRY_LEN;
        let mut offset = align_up(HEADER_LEN + table_len);
        let mut table = Vec::with_capacity(table_len);
        let mut placed = Vec::with_capacity(self.sections.len());
        for (id, elem, bytes) in &self.sections {
            table.extend_from_slice(&id.to_le_bytes());
            table.extend_from_slice(&elem.to_le_bytes());
            table.extend_from_slice(&(offset as u64).to_le_bytes());
            table.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            table.extend_from_slice(&0u64.to_le_bytes());
            placed.push(offset);
            offset = align_up(offset + bytes.len());
        }
        let file_len = offset as u64;

        let file = File::create(path).map_err(io)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut crc = crc32fast::Hasher::new();
        out.write_all(&[0u8; HEADER_LEN]).map_err(io)?;
        let mut pos = HEADER_LEN;
        let mut emit =
            |out: &mut BufWriter<File>, bytes: &[u8], pos: &mut usize| -> std::io::Result<()> {
                crc.update(bytes);
                *pos += bytes.len();
                out.write_all(bytes)
            };
        emit(&mut out, &table, &mut pos).map_err(io)?;
        for ((_, _, bytes), at) in self.sections.iter().zip(&placed) {
            let pad = vec![0u8; at - pos];
            emit(&mut out, &pad, &mut pos).map_err(io)?;
            emit(&mut out, bytes, &mut pos).map_err(io)?;
        }
        let pad = vec![0u8; offset - pos];
        emit(&mut out, &pad, &mut pos).map_err(io)?;

        let mut header = [0u8; HEADER_LEN];
        header[0..8].copy_from_slice(&self.magic);
        header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        header[12..16].copy_from_slice(&(self.sections.len() as u32).to_le_bytes());
        header[16..24].copy_from_slice(&file_len.to_le_bytes());
        header[24..28].copy_from_slice(&crc.finalize().to_le_bytes());
        header[28..32].copy_from_slice(&ENDIAN_MARK.to_le_bytes());
        let mut file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(&header).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(file_len)
    }
}

fn align_up(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

#[derive(Clone, Debug)]
struct SectionEntry {
    id: u32,
    elem: u32,
    range: Range<usize>,
}

/// A container opened by mmap, its header and checksum verified.
#[derive(Debug)]
pub struct Container {
    path: PathBuf,
    map: MappedFile,
    sections: Vec<SectionEntry>,
}

impl Container {
    pub fn open(path: &Path, magic: Magic) -> Result<Self, StoreError> {
        let map = MappedFile::open(path)?;
        let corrupt = |reason: String| StoreError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        let bytes = map.bytes();
        if bytes.len() < HEADER_LEN {
            return Err(corrupt(format!(
                "{} bytes: too short for a flou file",
                bytes.len()
            )));
        }
        if bytes[0..8] != magic {
            return Err(corrupt(format!(
                "not a {} file (magic {:?})",
                String::from_utf8_lossy(&magic),
                String::from_utf8_lossy(&bytes[0..8])
            )));
        }
        let u32_at =
            |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let u64_at = |o: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[o..o + 8]);
            u64::from_le_bytes(b)
        };
        if u32_at(28) != ENDIAN_MARK {
            return Err(corrupt("written on a machine of another byte order".into()));
        }
        let version = u32_at(8);
        if version != FORMAT_VERSION {
            return Err(corrupt(format!(
                "format version {version}, this flou reads version {FORMAT_VERSION}: re-run `flou ingest`"
            )));
        }
        let file_len = u64_at(16);
        if file_len != bytes.len() as u64 {
            return Err(corrupt(format!(
                "truncated or extended: header says {file_len} bytes, file has {}",
                bytes.len()
            )));
        }
        let crc = crc32fast::hash(&bytes[HEADER_LEN..]);
        if crc != u32_at(24) {
            return Err(corrupt("checksum mismatch: the file is corrupt".into()));
        }
        let count = u32_at(12) as usize;
        let table_end = HEADER_LEN + count * TABLE_ENTRY_LEN;
        if table_end > bytes.len() {
            return Err(corrupt("section table runs past the end".into()));
        }
        let mut sections = Vec::with_capacity(count);
        for i in 0..count {
            let o = HEADER_LEN + i * TABLE_ENTRY_LEN;
            let (start, len) = (u64_at(o + 8) as usize, u64_at(o + 16) as usize);
            let end = start.checked_add(len).filter(|e| *e <= bytes.len());
            let Some(end) = end else {
                return Err(corrupt(format!("section {} runs past the end", u32_at(o))));
            };
            sections.push(SectionEntry {
                id: u32_at(o),
                elem: u32_at(o + 4),
                range: start..end,
            });
        }
        Ok(Container {
            path: path.to_path_buf(),
            map,
            sections,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len_bytes(&self) -> u64 {
        self.map.bytes().len() as u64
    }

    pub fn has(&self, id: u32) -> bool {
        self.sections.iter().any(|s| s.id == id)
    }

    /// The byte range of section `id`, checked against `T` once (at open, by the callers).
    pub fn section_range<T: Pod>(&self, id: u32, name: &str) -> Result<Range<usize>, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            path: self.path.display().to_string(),
            reason,
        };
        let s = self
            .sections
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| corrupt(format!("section {name} is missing")))?;
        if s.elem as usize != std::mem::size_of::<T>() {
            return Err(corrupt(format!(
                "section {name} has {}-byte items, expected {}",
                s.elem,
                std::mem::size_of::<T>()
            )));
        }
        // Validates alignment and length now, so `slice` cannot fail later.
        bytemuck::try_cast_slice::<u8, T>(&self.map.bytes()[s.range.clone()])
            .map_err(|e| corrupt(format!("section {name}: {e:?}")))?;
        Ok(s.range.clone())
    }

    /// The typed view of a range returned by [`Container::section_range`] for the same `T`.
    pub fn slice<T: Pod>(&self, range: &Range<usize>) -> &[T] {
        bytemuck::cast_slice(&self.map.bytes()[range.clone()])
    }

    pub fn bytes(&self, range: &Range<usize>) -> &[u8] {
        &self.map.bytes()[range.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: Magic = *b"FLOUTST1";

    fn written(dir: &Path) -> PathBuf {
        let p = dir.join("t.flou");
        let mut w = ContainerWriter::new(MAGIC);
        w.add::<u32>(1, &[1, 2, 3]);
        w.add::<u8>(2, b"hello");
        w.add::<[f64; 2]>(3, &[[1.5, -2.5]]);
        w.write(&p).unwrap();
        p
    }

    #[test]
    fn sections_read_back_typed_and_aligned() {
        let dir = tempfile::tempdir().unwrap();
        let c = Container::open(&written(dir.path()), MAGIC).unwrap();
        let r = c.section_range::<u32>(1, "ints").unwrap();
        assert_eq!(r.start % 64, 0);
        assert_eq!(c.slice::<u32>(&r), &[1, 2, 3]);
        let r = c.section_range::<u8>(2, "text").unwrap();
        assert_eq!(c.bytes(&r), b"hello");
        let r = c.section_range::<[f64; 2]>(3, "points").unwrap();
        assert_eq!(c.slice::<[f64; 2]>(&r), &[[1.5, -2.5]]);
        assert!(c.section_range::<u64>(1, "ints as u64").is_err());
        assert!(c.section_range::<u8>(9, "absent").is_err());
    }

    #[test]
    fn truncated_corrupt_and_foreign_files_are_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let p = written(dir.path());
        let good = std::fs::read(&p).unwrap();

        std::fs::write(&p, &good[..good.len() - 1]).unwrap();
        let e = Container::open(&p, MAGIC).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");

        let mut flipped = good.clone();
        let last = flipped.len() - 70;
        flipped[last] ^= 0x40;
        std::fs::write(&p, &flipped).unwrap();
        let e = Container::open(&p, MAGIC).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");

        std::fs::write(&p, &good).unwrap();
        let e = Container::open(&p, *b"FLOUSEG1").unwrap_err().to_string();
        assert!(e.contains("not a FLOUSEG1 file"), "{e}");

        let mut future = good.clone();
        future[8] = 99;
        std::fs::write(&p, &future).unwrap();
        let e = Container::open(&p, MAGIC).unwrap_err().to_string();
        assert!(e.contains("format version 99"), "{e}");
    }
}
