//! The store: immutable, memory-mapped segments under a manifest.
//!
//! A store is a directory: `manifest.json` names one areas file (communes and departments
//! with geometry) and a list of segments, oldest first. Each segment is written once and
//! never changed; a later segment may delete or replace earlier records by `idSINPOccTax`
//! (its tombstones and its own ids), so daily deltas are added without rewriting the rest.
#![deny(unsafe_code)]

pub mod areas;
pub mod compact;
pub mod container;
pub mod dict;
pub mod manifest;
mod mmap;
pub mod order;
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
    /// Another writer published a generation while this one was being written.
    #[error("{path}: generation {found} was published while this change was written over generation {expected}: nothing was published; run it again")]
    Conflict {
        path: String,
        expected: u64,
        found: u64,
    },
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
    /// The areas and 10 km cells in Web Mercator, built on first use (tiles only).
    world_shapes: std::sync::OnceLock<crate::geo::world_shapes::WorldShapes>,
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
            world_shapes: std::sync::OnceLock::new(),
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

    /// Every commune (index `c`) and department (index `commune_count + d`) outline, and
    /// the 10 km cells over the departments, projected to Web Mercator once.
    pub fn world_shapes(&self) -> &crate::geo::world_shapes::WorldShapes {
        self.world_shapes.get_or_init(|| {
            let a = &self.areas;
            let nc = a.commune_count();
            let extent = (0..a.departement_count()).fold(crate::geo::BBox::EMPTY, |b, d| {
                b.union(&a.departement_bbox(d))
            });
            crate::geo::world_shapes::WorldShapes::build(
                nc + a.departement_count(),
                |i| {
                    if i < nc {
                        a.commune_geometry(i)
                    } else {
                        a.departement_geometry(i - nc)
                    }
                },
                crate::geo::world_shapes::lambert_extent(&extent),
            )
        })
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

#[cfg(test)]
mod tests {
    use super::manifest::{Manifest, SegmentEntry, Staging, MANIFEST_FORMAT};
    use super::*;
    use crate::admin::{AdminAreas, Commune, Departement};
    use crate::date::Day;
    use crate::geo::{MultiPolygon, Polygon};
    use crate::sensitivity::SensitivityStep;

    fn square(x: f64, y: f64, d: f64) -> MultiPolygon {
        MultiPolygon {
            polygons: vec![Polygon {
                exterior: vec![[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]],
                interiors: vec![],
            }],
        }
    }

    fn areas() -> AdminAreas {
        let commune = |code: &str, x: f64| {
            let geometry = square(x, 44.0, 0.1);
            Commune {
                code: code.into(),
                name: format!("Commune {code}"),
                departement: 0,
                bbox: geometry.bbox(),
                geometry,
            }
        };
        let geometry = square(6.0, 44.0, 0.2);
        let dept = Departement {
            code: "05".into(),
            name: "Hautes-Alpes".into(),
            bbox: geometry.bbox(),
            geometry,
        };
        AdminAreas::from_parts(
            vec![commune("05001", 6.0), commune("05002", 6.1)],
            vec![dept],
        )
        .unwrap()
    }

    fn segment(ids: &[&str], tombstones: &[&str]) -> SegmentContents {
        let records = ids
            .iter()
            .enumerate()
            .map(|(i, id)| RecordRow {
                id: id.to_string(),
                lon_e7: 60_500_000,
                lat_e7: 440_500_000 + i as i32,
                cd_nom: 1,
                cd_ref: 1,
                date_debut: Day(0),
                date_span: 0,
                commune: 0,
                timeline: 0,
                dataset: 0,
                nom_cite: 0,
                producer: segment::ABSENT,
                ds_publique: 0,
                statut_biologique: segment::ABSENT,
                comportement: segment::ABSENT,
                cd_ref_given: 0,
                declared: segment::ABSENT,
            })
            .collect();
        SegmentContents {
            records,
            datasets: vec!["jdd".into()],
            nom_cites: vec!["x".into()],
            timelines: vec![vec![SensitivityStep::NOT_SENSITIVE]],
            commune_departements: vec![0, 0],
            departement_count: 1,
            tombstones: tombstones.iter().map(|s| s.to_string()).collect(),
            meta: "{}".into(),
        }
    }

    fn publish(dir: &Path, segments: &[SegmentContents]) {
        let mut staging = Staging::begin(dir).unwrap();
        let (areas_name, areas_path) = staging.new_file("areas");
        areas::write_areas(&areas_path, &areas()).unwrap();
        let entries = segments
            .iter()
            .map(|c| {
                let (file, path) = staging.new_file("seg");
                let bytes = segment::write_segment(&path, c).unwrap();
                SegmentEntry {
                    file,
                    records: c.records.len() as u64,
                    bytes,
                }
            })
            .collect();
        let manifest = Manifest {
            format: MANIFEST_FORMAT.into(),
            version: container::FORMAT_VERSION,
            generation: staging.generation(),
            created: "2026-11-23T00:00:00Z".into(),
            areas: areas_name,
            segments: entries,
        };
        staging.publish(&manifest).unwrap();
    }

    fn live_ids(store: &Store) -> Vec<String> {
        let mut ids: Vec<String> = store
            .live_records()
            .map(|(s, r)| store.segments()[s].id(r).to_string())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn later_segments_delete_and_replace_earlier_records_by_id() {
        let dir = tempfile::tempdir().unwrap();
        publish(
            dir.path(),
            &[
                segment(&["a", "b", "c", "d"], &[]),
                // Day 2: "b" changed (new version), "c" deleted, "e" added.
                segment(&["b", "e"], &["c"]),
                // Day 3: "e" deleted again, "a" changed.
                segment(&["a"], &["e"]),
            ],
        );
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(live_ids(&store), vec!["a", "b", "d"]);
        assert_eq!(store.live_count(), 3);
        // The surviving "a" and "b" are the newest versions.
        assert!(store.is_live(2, 0), "a from day 3");
        assert!(!store.is_live(0, 0), "a from day 1 is superseded");
        assert!(store.is_live(1, 0), "b from day 2");
        assert!(!store.is_live(0, 1), "b from day 1 is superseded");
    }

    #[test]
    fn a_change_computed_over_an_older_generation_is_refused_and_cleaned_up() {
        let dir = tempfile::tempdir().unwrap();
        publish(dir.path(), &[segment(&["a"], &[])]);
        let base = Manifest::read(dir.path()).unwrap();
        // A writer starts from generation 1…
        let mut late = Staging::begin(dir.path()).unwrap();
        let (file, path) = late.new_file("seg");
        let bytes = segment::write_segment(&path, &segment(&["b"], &[])).unwrap();
        // …while another publishes generation 2.
        publish(dir.path(), &[segment(&["a"], &[]), segment(&["c"], &[])]);
        let mut m = base.clone();
        m.generation = late.generation();
        m.segments.push(SegmentEntry {
            file,
            records: 1,
            bytes,
        });
        let e = late
            .publish_over(base.generation, &m)
            .unwrap_err()
            .to_string();
        assert!(e.contains("generation 2 was published"), "{e}");
        assert!(!path.exists(), "the refused segment is removed");
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(live_ids(&store), vec!["a", "c"]);
    }

    #[test]
    fn the_areas_file_reads_back_as_the_same_areas() {
        let dir = tempfile::tempdir().unwrap();
        publish(dir.path(), &[segment(&["a"], &[])]);
        let store = Store::open(dir.path()).unwrap();
        let a = store.areas();
        let original = areas();
        assert_eq!(a.commune_count(), 2);
        assert_eq!(a.commune_code(1), "05002");
        assert_eq!(a.commune_name(1), "Commune 05002");
        assert_eq!(a.departement_code(0), "05");
        assert_eq!(a.departement_name(0), "Hautes-Alpes");
        assert_eq!(a.commune_geometry(1), original.communes[1].geometry);
        let back = a.to_admin_areas().unwrap();
        assert_eq!(back.locate(6.15, 44.05), Some(1));
        assert_eq!(back.locate(6.05, 44.05), Some(0));
        assert_eq!(back.locate(7.0, 44.05), None);
    }

    #[test]
    fn a_manifest_naming_a_file_outside_the_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        publish(dir.path(), &[segment(&["a"], &[])]);
        let path = dir.path().join(manifest::MANIFEST);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut m: Manifest = serde_json::from_str(&text).unwrap();
        m.areas = "../../etc/passwd".into();
        std::fs::write(&path, serde_json::to_string(&m).unwrap()).unwrap();
        let e = Store::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("outside the store"), "{e}");
    }
}
