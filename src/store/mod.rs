//! The store: immutable, memory-mapped segments under a manifest.
//!
//! A store is a directory: `manifest.json` names one areas file (communes and departments
//! with geometry) and a list of segments, oldest first. Each segment is written once and
//! never changed; a later segment may delete or replace earlier records by `idSINPOccTax`
//! (its tombstones and its own ids), so daily deltas are added without rewriting the rest.
#![deny(unsafe_code)]

pub mod areas;
pub mod container;
pub mod manifest;
mod mmap;
pub mod segment;

pub use areas::AreasFile;
pub use manifest::{Manifest, SegmentEntry, Staging};
pub use segment::{RecordRow, Segment, SegmentContents};

use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Corrupt { path: String, reason: String },
}

impl StoreError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// An opened store generation: its areas and segments, and which records are live.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    manifest: Manifest,
    areas: AreasFile,
    segments: Vec<Segment>,
    /// Per segment, the records deleted or replaced by a later segment (None: all live).
    dead: Vec<Option<Vec<u64>>>,
    live_count: u64,
}

impl Store {
    /// Opens the generation the manifest names, validating every file.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let manifest = Manifest::read(dir)?;
        let areas = AreasFile::open(&dir.join(&manifest.areas))?;
        let (nc, nd) = (areas.commune_count(), areas.departement_count());
        let segments = manifest
            .segments
            .iter()
            .map(|s| {
                let seg = Segment::open(&dir.join(&s.file), nc, nd)?;
                if seg.len() as u64 != s.records {
                    return Err(StoreError::Corrupt {
                        path: seg.path().display().to_string(),
                        reason: format!(
                            "manifest says {} records, segment has {}",
                            s.records,
                            seg.len()
                        ),
                    });
                }
                Ok(seg)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let dead = liveness(&segments);
        let live_count = segments
            .iter()
            .zip(&dead)
            .map(|(s, d)| {
                s.len() as u64
                    - d.as_ref()
                        .map_or(0, |b| b.iter().map(|w| w.count_ones() as u64).sum())
            })
            .sum();
        Ok(Store {
            dir: dir.to_path_buf(),
            manifest,
            areas,
            segments,
            dead,
            live_count,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn areas(&self) -> &AreasFile {
        &self.areas
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Records not deleted or replaced by a later segment.
    pub fn live_count(&self) -> u64 {
        self.live_count
    }

    pub fn is_live(&self, segment: usize, record: usize) -> bool {
        match &self.dead[segment] {
            None => true,
            Some(bits) => bits[record / 64] & (1 << (record % 64)) == 0,
        }
    }

    /// Total bytes of the files of this generation.
    pub fn size_bytes(&self) -> u64 {
        self.areas.size_bytes() + self.segments.iter().map(Segment::size_bytes).sum::<u64>()
    }

    /// Live records as (segment, record) pairs, segment by segment.
    pub fn live_records(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.segments.iter().enumerate().flat_map(move |(s, seg)| {
            (0..seg.len())
                .filter(move |r| self.is_live(s, *r))
                .map(move |r| (s, r))
        })
    }
}

/// A record is dead when a later segment names its id, as a tombstone or as a new version.
fn liveness(segments: &[Segment]) -> Vec<Option<Vec<u64>>> {
    let mut dead = vec![None; segments.len()];
    // Ids superseded by segments after the one being examined, built from the newest back.
    let mut later: HashSet<&str> = HashSet::new();
    for (s, seg) in segments.iter().enumerate().rev() {
        if !later.is_empty() {
            let mut bits = vec![0u64; seg.len().div_ceil(64)];
            let mut any = false;
            for r in 0..seg.len() {
                if later.contains(seg.id(r)) {
                    bits[r / 64] |= 1 << (r % 64);
                    any = true;
                }
            }
            if any {
                dead[s] = Some(bits);
            }
        }
        if s > 0 {
            later.extend(seg.tombstones());
            later.extend((0..seg.len()).map(|r| seg.id(r)));
        }
    }
    dead
}
