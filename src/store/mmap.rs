//! The one place that needs `unsafe`: mapping a store file into memory.

use super::StoreError;
use memmap2::Mmap;
use std::fs::File;
use std::path::Path;

/// A read-only mapping of a whole file. Store files are immutable once published (written
/// under a fresh name, then referenced by the manifest; never rewritten in place), so the
/// mapping cannot change under the reader.
#[derive(Debug)]
pub struct MappedFile {
    map: Option<Mmap>,
}

impl MappedFile {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
        let len = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
        if len == 0 {
            // mmap of an empty file fails on Linux; an empty file is simply no bytes.
            return Ok(MappedFile { map: None });
        }
        // SAFETY: flou never modifies a published store file (new data goes to new files and
        // the manifest is swapped by rename), so the mapped bytes stay valid and unchanged
        // for the life of the mapping. A file truncated by someone else would fault, but
        // that is outside what the store format can defend against.
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(&file) }.map_err(|e| StoreError::io(path, e))?;
        Ok(MappedFile { map: Some(map) })
    }

    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}
