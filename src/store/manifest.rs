//! The manifest names the files of one store generation. Data files are written under fresh
//! names first; the manifest is then replaced by rename, which is atomic: a reader sees the
//! old generation or the new one, never a mix, and a failed ingest leaves the old one whole.
#![forbid(unsafe_code)]

use super::StoreError;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "manifest.json";
pub const MANIFEST_FORMAT: &str = "flou-store";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// Increases with every published change.
    pub generation: u64,
    /// When this generation was published (RFC 3339).
    pub created: String,
    pub areas: String,
    /// Oldest first: a later segment's records and tombstones supersede earlier ones.
    pub segments: Vec<SegmentEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentEntry {
    pub file: String,
    pub records: u64,
    pub bytes: u64,
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(MANIFEST);
        let text = fs::read_to_string(&path).map_err(|e| StoreError::io(&path, e))?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            path: path.display().to_string(),
            reason: format!("manifest is not valid: {e}"),
        })?;
        if m.format != MANIFEST_FORMAT || m.version != super::container::FORMAT_VERSION {
            return Err(StoreError::Corrupt {
                path: path.display().to_string(),
                reason: format!(
                    "manifest of {} version {}, this flou reads {MANIFEST_FORMAT} version {}",
                    m.format,
                    m.version,
                    super::container::FORMAT_VERSION
                ),
            });
        }
        // File names come from the manifest: refuse anything that could leave the directory.
        let names = std::iter::once(&m.areas).chain(m.segments.iter().map(|s| &s.file));
        for name in names {
            if !is_plain_file_name(name) {
                return Err(StoreError::Corrupt {
                    path: path.display().to_string(),
                    reason: format!("manifest names a file outside the store: {name:?}"),
                });
            }
        }
        Ok(m)
    }
}

fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != ".."
}

/// A new generation being written into a store directory. Files it creates are removed
/// again unless [`Staging::publish`] succeeds.
pub struct Staging {
    dir: PathBuf,
    generation: u64,
    /// Distinguishes this writer's files from another's staging the same generation (two
    /// writers racing must never write, or clean up, each other's files).
    writer: String,
    created: Vec<PathBuf>,
    published: bool,
}

/// Stagings started by this process, for [`Staging::writer`].
static STAGINGS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Staging {
    /// Starts a new generation in `dir`, creating it if needed. Refuses a non-empty directory
    /// that is not a flou store, so that `--out` never clobbers unrelated files.
    pub fn begin(dir: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let previous = match Manifest::read(dir) {
            Ok(m) => Some(m.generation),
            Err(_) if !dir.join(MANIFEST).exists() => {
                let mut entries = fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))?;
                if entries.next().is_some() {
                    return Err(StoreError::Corrupt {
                        path: dir.display().to_string(),
                        reason: "directory is not empty and holds no flou store: refusing to write into it"
                            .into(),
                    });
                }
                None
            }
            // A corrupt manifest: start over above it rather than fail the new ingest; the
            // files it named are collected after publishing.
            Err(_) => None,
        };
        let n = STAGINGS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Staging {
            dir: dir.to_path_buf(),
            generation: previous.unwrap_or(0) + 1,
            writer: format!("{:x}{n:x}", std::process::id()),
            created: Vec::new(),
            published: false,
        })
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh file name for this generation (`seg`, `areas`…), registered for clean-up.
    pub fn new_file(&mut self, kind: &str) -> (String, PathBuf) {
        let name = format!(
            "{kind}-{:06}-{}-{:03}.flou",
            self.generation,
            self.writer,
            self.created.len()
        );
        let path = self.dir.join(&name);
        self.created.push(path.clone());
        (name, path)
    }

    /// [`Staging::publish`] for a change computed from generation `base` (append, compact,
    /// re-evaluation): refused when another writer published since, so that its segment is
    /// neither dropped from the manifest nor unlinked. (Two writers racing between this
    /// check and the rename are not excluded: run one writer per store.)
    pub fn publish_over(self, base: u64, manifest: &Manifest) -> Result<(), StoreError> {
        let found = Manifest::read(&self.dir)?.generation;
        if found != base {
            return Err(StoreError::Conflict {
                path: self.dir.display().to_string(),
                expected: base,
                found,
            });
        }
        self.publish(manifest)
    }

    /// Publishes `manifest` atomically, then removes files no manifest names any more
    /// (a server still mapping them keeps its mapping until it lets go).
    pub fn publish(mut self, manifest: &Manifest) -> Result<(), StoreError> {
        let tmp = self
            .dir
            .join(format!("{MANIFEST}.{}.tmp", std::process::id()));
        let text = serde_json::to_string_pretty(manifest).map_err(|e| StoreError::Corrupt {
            path: tmp.display().to_string(),
            reason: e.to_string(),
        })?;
        write_synced(&tmp, text.as_bytes())?;
        let target = self.dir.join(MANIFEST);
        if let Err(e) = fs::rename(&tmp, &target) {
            let _ = fs::remove_file(&tmp);
            return Err(StoreError::io(&target, e));
        }
        sync_dir(&self.dir);
        self.published = true;
        self.collect_garbage(manifest);
        Ok(())
    }

    fn collect_garbage(&self, manifest: &Manifest) {
        let live: Vec<&str> = std::iter::once(manifest.areas.as_str())
            .chain(manifest.segments.iter().map(|s| s.file.as_str()))
            .collect();
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            let ours =
                name.ends_with(".flou") || (name.starts_with(MANIFEST) && name.ends_with(".tmp"));
            if ours && !live.contains(&name) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            for p in &self.created {
                let _ = fs::remove_file(p);
            }
        }
    }
}

/// Writes a whole file and syncs it, so a rename that follows publishes complete bytes.
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let mut f = fs::File::create(path).map_err(|e| StoreError::io(path, e))?;
    f.write_all(bytes).map_err(|e| StoreError::io(path, e))?;
    f.sync_all().map_err(|e| StoreError::io(path, e))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
