//! `flou ingest --append`: a daily delta as one more segment of an existing store.
//!
//! The files are read exactly as by a full ingest (same readers, mapping, validation,
//! sensitivity, rejects report and summary), but points are located with the store's own
//! areas file, so commune and department indexes match the segments already there. The new
//! segment's records replace earlier records with the same `idSINPOccTax`; deleted ids (rows
//! whose change status is D, rows of `--delete` files) become its tombstones. The new
//! generation (old segments + the new one) is published by manifest rename: a failed append
//! leaves the previous generation as it was.

use super::mapping::Mapping;
use super::pipeline::{
    self, all_rejected, display_paths, load_mapping, publish_rejects, referentials_json, Deletion,
    IngestSummary, Inputs, ReferentialPaths, Referentials,
};
use super::{IngestError, Reject, Srid};
use crate::date::Day;
use crate::error::Result;
use crate::ingest::fields::Field;
use crate::store::manifest::{SegmentEntry, Staging};
use crate::store::{segment, Store};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct AppendOptions {
    /// The store to append to (it must exist).
    pub store: PathBuf,
    pub occurrences: Vec<PathBuf>,
    /// CSV files listing deleted observations (an `idSINPOccTax` column, or an alias).
    pub deletions: Vec<PathBuf>,
    pub srid: Srid,
    /// Sensitivity rules, lists and taxonomy (their `communes`/`departements` are not read:
    /// the store's areas are used).
    pub referentials: ReferentialPaths,
    pub mapping: Option<PathBuf>,
    pub progress: bool,
    pub today: Day,
}

/// Appends one segment to the store at `opts.store`.
pub fn run_append(opts: &AppendOptions) -> Result<IngestSummary> {
    let start = Instant::now();
    let store = Store::open(&opts.store)?;
    let mapping = load_mapping(opts.mapping.as_deref())?;
    let areas = store.areas().to_admin_areas()?;
    let (sensitivity, taxonomy) = pipeline::load_rules(&opts.referentials)?;
    let refs = Referentials {
        areas,
        sensitivity,
        taxonomy,
    };
    let mut inputs = Inputs::begin(&opts.store)?;
    let _cleanup = inputs.cleanup_guard();
    inputs.read_occurrences(
        &opts.occurrences,
        opts.srid,
        mapping.clone(),
        &refs,
        opts.progress,
    )?;
    for path in &opts.deletions {
        read_deletion_file(path, mapping.as_deref(), &mut inputs)?;
    }
    inputs.reject_duplicates()?;
    let meta = serde_json::json!({
        "kind": "append",
        "base_generation": store.manifest().generation,
        "occurrences": display_paths(&opts.occurrences),
        "deletions": display_paths(&opts.deletions),
        "referentials": referentials_json(&opts.referentials),
        "mapping": opts.mapping.as_ref().map(|p| p.display().to_string()),
        "rows_read": inputs.summary.rows_read,
    });
    let (mut summary, rejects_tmp, records, mut dicts) = inputs.finish(opts.today)?;
    if summary.accepted == 0 && summary.deletions == 0 && summary.rows_read > 0 {
        return Err(all_rejected(&opts.store, &rejects_tmp, &summary));
    }

    // How the delta relates to what the store holds (for the summary only).
    let new_ids: HashSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let deleted: HashSet<&str> = dicts.deletions.iter().map(String::as_str).collect();
    let (mut replaced, mut matched_deletions) = (0u64, 0u64);
    for (s, r) in store.live_records() {
        let id = store.segments()[s].id(r);
        replaced += u64::from(new_ids.contains(id));
        matched_deletions += u64::from(deleted.contains(id));
    }
    summary.replaced = replaced;
    summary.deletions_unmatched = summary.deletions - matched_deletions;
    drop((new_ids, deleted));

    let mut tombstones = std::mem::take(&mut dicts.deletions);
    tombstones.sort_unstable();
    let contents = dicts.into_contents(records, &refs.areas, tombstones, meta.to_string());

    let mut staging = Staging::begin(&opts.store)?;
    let (file, path) = staging.new_file("seg");
    let seg_bytes = segment::write_segment(&path, &contents)?;
    let mut manifest = store.manifest().clone();
    manifest.generation = staging.generation();
    manifest.created = chrono::Local::now().to_rfc3339();
    manifest.segments.push(SegmentEntry {
        file,
        records: contents.records.len() as u64,
        bytes: seg_bytes,
    });
    summary.generation = manifest.generation;
    summary.store_bytes = store.size_bytes() + seg_bytes;
    summary.segment_bytes = seg_bytes;
    let base = store.manifest().generation;
    drop(store);
    staging.publish_over(base, &manifest)?;
    summary.rejects_report = publish_rejects(&opts.store, &rejects_tmp)?;
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// Reads a deletion file: CSV (`,` `;` or tab) with an `idSINPOccTax` column (or any name
/// the readers, or the mapping, accept for it); every other column is ignored.
fn read_deletion_file(path: &Path, mapping: Option<&Mapping>, inputs: &mut Inputs) -> Result<()> {
    let file = path.display().to_string();
    let text = std::fs::read(path).map_err(|source| IngestError::Io {
        path: file.clone(),
        source,
    })?;
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&text);
    let first_line = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first_line.iter().filter(|b| *b == d).count())
        .unwrap_or(b',');
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text);
    let headers = reader
        .headers()
        .map_err(|e| IngestError::File {
            file: file.clone(),
            reason: format!("unreadable header: {e}"),
        })?
        .clone();
    let field_of = |name: &str| match mapping {
        Some(m) => m.field_of(name),
        None => Field::from_column_name(name),
    };
    let Some(column) = headers
        .iter()
        .position(|h| field_of(h) == Some(Field::IdSinpOccTax))
    else {
        return Err(IngestError::File {
            file,
            reason: format!(
                "a deletion file needs an idSINPOccTax column (or unique_id_sinp); header: {}",
                crate::ingest::fields::shown(&headers.iter().collect::<Vec<_>>().join(","))
            ),
        }
        .into());
    };
    let file_index = inputs.files.len();
    inputs.files.push(file.clone());
    inputs.summary.files.push(pipeline::FileSummary {
        path: file.clone(),
        ..Default::default()
    });
    let mut rows = 0u64;
    for (i, record) in reader.records().enumerate() {
        rows += 1;
        // The header is line 1 (deletion files hold no multi-line values).
        let line = i as u64 + 2;
        let id = match &record {
            Ok(r) => r.get(column).map(str::trim).unwrap_or_default(),
            Err(e) => {
                let rej = Reject {
                    file: file.clone(),
                    line,
                    field: "row".into(),
                    reason: format!("unreadable row: {e}"),
                };
                inputs.reject(&rej, file_index)?;
                continue;
            }
        };
        let problem = if id.is_empty() {
            Some("required, but empty".to_string())
        } else if id.chars().count() > crate::ingest::fields::MAX_ID_CHARS {
            Some(format!(
                "longer than {} characters",
                crate::ingest::fields::MAX_ID_CHARS
            ))
        } else {
            None
        };
        if let Some(reason) = problem {
            let rej = Reject {
                file: file.clone(),
                line,
                field: "idSINPOccTax".into(),
                reason,
            };
            inputs.reject(&rej, file_index)?;
            continue;
        }
        inputs.deletions.push(Deletion {
            id: id.to_string(),
            file: file.clone(),
            line,
        });
    }
    inputs.summary.files[file_index].rows = rows;
    inputs.summary.rows_read += rows;
    Ok(())
}
