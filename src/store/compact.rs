//! `flou compact`: the live records of every segment merged into one segment, in the order
//! a full ingest gives ([`super::order`]), published as a new generation. The files of the
//! old generation are unlinked after the manifest rename: a server still mapping them keeps
//! reading them (Linux keeps an unlinked, mapped file until it is unmapped).
#![forbid(unsafe_code)]

use super::dict::Interner;
use super::manifest::{Manifest, SegmentEntry, Staging};
use super::segment::{self, SegmentContents};
use super::{order, Store, StoreError};
use crate::sensitivity::SensitivityStep;
use std::path::Path;
use std::time::Instant;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CompactSummary {
    pub generation: u64,
    pub segments_before: usize,
    /// Records stored before, live or not.
    pub records_before: u64,
    /// Records of the single segment written (the live records).
    pub records_after: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub seconds: f64,
}

/// The live records of `store` as one segment's contents, in segment order.
pub fn merged_contents(store: &Store, meta: String) -> Result<SegmentContents, StoreError> {
    let areas = store
        .areas()
        .to_admin_areas()
        .map_err(|e| StoreError::Corrupt {
            path: store.dir().display().to_string(),
            reason: format!("areas file: {e}"),
        })?;
    let mut datasets: Interner<String> = Interner::default();
    let mut nom_cites: Interner<String> = Interner::default();
    let mut timelines: Interner<Vec<SensitivityStep>> = Interner::default();
    let mut records = Vec::with_capacity(store.live_count() as usize);
    for (s, seg) in store.segments().iter().enumerate() {
        // Per segment, its dictionary index → the merged one, filled on first use.
        let mut ds_map = vec![u32::MAX; seg.dataset_count()];
        let mut nc_map = vec![u32::MAX; seg.nom_cite_count()];
        let mut tl_map: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        for r in (0..seg.len()).filter(|r| store.is_live(s, *r)) {
            let mut row = seg.row(r);
            let d = row.dataset as usize;
            if ds_map[d] == u32::MAX {
                ds_map[d] = datasets.intern(seg.dataset_value(row.dataset));
            }
            row.dataset = ds_map[d];
            let n = row.nom_cite as usize;
            if nc_map[n] == u32::MAX {
                nc_map[n] = nom_cites.intern(seg.nom_cite_value(row.nom_cite));
            }
            row.nom_cite = nc_map[n];
            let t = row.timeline;
            row.timeline = *tl_map.entry(t).or_insert_with(|| {
                let steps: Vec<SensitivityStep> =
                    seg.timeline_value(t).iter().map(|x| x.to_step()).collect();
                timelines.intern(steps.as_slice())
            });
            records.push(row);
        }
    }
    Ok(SegmentContents {
        records: order::sort_records(&areas, records),
        datasets: datasets.into_values(),
        nom_cites: nom_cites.into_values(),
        timelines: timelines.into_values(),
        commune_departements: store.areas().commune_departements().to_vec(),
        departement_count: store.areas().departement_count(),
        // The only segment: nothing earlier to delete.
        tombstones: Vec::new(),
        meta,
    })
}

/// Compacts the store at `dir` into one segment and publishes it.
pub fn compact(dir: &Path) -> Result<CompactSummary, StoreError> {
    let start = Instant::now();
    let store = Store::open(dir)?;
    let before = store.manifest().clone();
    let meta = serde_json::json!({
        "kind": "compact",
        "from_generation": before.generation,
        "segments": before.segments.iter().map(|s| s.file.clone()).collect::<Vec<_>>(),
    });
    let contents = merged_contents(&store, meta.to_string())?;
    let mut staging = Staging::begin(dir)?;
    let (file, path) = staging.new_file("seg");
    let bytes = segment::write_segment(&path, &contents)?;
    let manifest = Manifest {
        generation: staging.generation(),
        created: chrono::Local::now().to_rfc3339(),
        segments: vec![SegmentEntry {
            file,
            records: contents.records.len() as u64,
            bytes,
        }],
        ..before.clone()
    };
    let areas_bytes = store.areas().size_bytes();
    let summary = CompactSummary {
        generation: manifest.generation,
        segments_before: before.segments.len(),
        records_before: before.segments.iter().map(|s| s.records).sum(),
        records_after: contents.records.len() as u64,
        bytes_before: store.size_bytes(),
        bytes_after: areas_bytes + bytes,
        seconds: 0.0,
    };
    // Our own mappings of the old files go before they are unlinked.
    drop(store);
    staging.publish_over(before.generation, &manifest)?;
    Ok(CompactSummary {
        seconds: start.elapsed().as_secs_f64(),
        ..summary
    })
}
