//! The full ingest: referentials → occurrence files → located, sensitivity-computed records
//! → one sorted segment → a new store generation, published atomically. Rejected rows go to
//! a report beside the store; nothing is dropped silently.

use super::mapping::Mapping;
use super::{open_reader_mapped, IngestError, Occurrence, Reject, Srid};
use crate::admin::AdminAreas;
use crate::date::Day;
use crate::error::Result;
use crate::sensitivity::{SensitivityQuery, SensitivityReferential, SensitivityStep};
use crate::store::dict::Interner;
use crate::store::manifest::{Manifest, SegmentEntry, Staging, MANIFEST_FORMAT};
use crate::store::segment::{RecordRow, SegmentContents, ABSENT, E7};
use crate::store::{areas, container::FORMAT_VERSION, order, segment};
use crate::taxonomy::Taxonomy;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Where the referentials are; [`ReferentialPaths::embedded`] gives the shipped `data/`.
#[derive(Clone, Debug)]
pub struct ReferentialPaths {
    pub rules: PathBuf,
    pub lists: PathBuf,
    pub departement_regions: PathBuf,
    pub taxonomy: Option<PathBuf>,
    pub communes: PathBuf,
    pub departements: PathBuf,
}

impl ReferentialPaths {
    /// The referentials shipped in `data/` of the given data directory.
    pub fn embedded(data: &Path) -> Self {
        ReferentialPaths {
            rules: data.join("sensitivity/especesensible.csv"),
            lists: data.join("sensitivity/especesensiblelistes.csv"),
            departement_regions: data.join("sensitivity/departements_regions_2015.csv"),
            taxonomy: Some(data.join("taxonomy/bib_noms.csv")),
            communes: data.join("admin/communes.geojson"),
            departements: data.join("admin/departements.geojson"),
        }
    }
}

/// The `data/` directory: `$FLOU_DATA`, else `./data`, else the one this binary was built from.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("FLOU_DATA") {
        return PathBuf::from(d);
    }
    let local = PathBuf::from("data");
    if local.join("sensitivity").is_dir() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

#[derive(Clone, Debug)]
pub struct IngestOptions {
    pub occurrences: Vec<PathBuf>,
    pub srid: Srid,
    pub referentials: ReferentialPaths,
    pub out: PathBuf,
    pub progress: bool,
    /// The day the summary evaluates sensitivity on (the store keeps the whole timeline).
    pub today: Day,
    /// A column mapping file (`--mapping`, see docs/column-mapping.md).
    pub mapping: Option<PathBuf>,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct FileSummary {
    pub path: String,
    pub rows: u64,
    pub rejected: u64,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct IngestSummary {
    pub generation: u64,
    pub rows_read: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub rejected_by_field: BTreeMap<String, u64>,
    /// Rows deleting an observation (change status D, or rows of `--delete` files).
    pub deletions: u64,
    /// Append only: accepted records that replace a live record of the store.
    pub replaced: u64,
    /// Append only: deletions naming no live record of the store.
    pub deletions_unmatched: u64,
    /// Accepted observations per sensitivity level in force on `today`.
    pub per_level: BTreeMap<String, u64>,
    /// Observations whose chosen rule needs a manual check (`sensiAlerte`).
    pub alerts: u64,
    pub files: Vec<FileSummary>,
    /// Bytes of the new store generation (segment + areas).
    pub store_bytes: u64,
    /// Bytes of the segment alone (observations, strings, indexes).
    pub segment_bytes: u64,
    pub rejects_report: String,
    pub seconds: f64,
}

/// The report of rejected rows for a store at `out`: `<out>.rejects.csv`, beside it.
pub fn rejects_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "store".into());
    out.with_file_name(format!("{name}.rejects.csv"))
}

/// What a row becomes once located and its sensitivity computed.
struct Located {
    occ: Occurrence,
    commune: u32,
    cd_ref: u32,
    timeline: Vec<SensitivityStep>,
}

/// The referentials an ingest locates and evaluates rows with.
pub(crate) struct Referentials {
    pub areas: AdminAreas,
    pub sensitivity: SensitivityReferential,
    pub taxonomy: Taxonomy,
}

fn load_referentials(p: &ReferentialPaths) -> Result<Referentials> {
    let (areas, rules) = rayon::join(
        || AdminAreas::load(&p.communes, &p.departements),
        || load_rules(p),
    );
    let (sensitivity, taxonomy) = rules?;
    Ok(Referentials {
        areas: areas?,
        sensitivity,
        taxonomy,
    })
}

/// The sensitivity referential and taxonomy of `p` (its areas are not read).
pub(crate) fn load_rules(p: &ReferentialPaths) -> Result<(SensitivityReferential, Taxonomy)> {
    let (sensitivity, taxonomy) = rayon::join(
        || SensitivityReferential::load(&p.rules, &p.lists, &p.departement_regions),
        || match &p.taxonomy {
            Some(t) => Taxonomy::load(t),
            None => Ok(Taxonomy::empty()),
        },
    );
    Ok((sensitivity?, taxonomy?))
}

/// A `--mapping` file, loaded once and shared by the readers.
pub(crate) fn load_mapping(path: Option<&Path>) -> Result<Option<Arc<Mapping>>> {
    match path {
        Some(p) => Ok(Some(Arc::new(Mapping::load(p).map_err(IngestError::from)?))),
        None => Ok(None),
    }
}

/// Runs a full ingest into a new generation of the store at `opts.out`.
pub fn run(opts: &IngestOptions) -> Result<IngestSummary> {
    let start = Instant::now();
    let mapping = load_mapping(opts.mapping.as_deref())?;
    let refs = load_referentials(&opts.referentials)?;
    let mut inputs = Inputs::begin(&opts.out)?;
    let _cleanup = inputs.cleanup_guard();
    inputs.read_occurrences(&opts.occurrences, opts.srid, mapping, &refs, opts.progress)?;
    inputs.reject_duplicates()?;
    // A full ingest holds the platform's current data: a deleted row is simply not stored.
    let rows_read = inputs.summary.rows_read;
    let meta = serde_json::json!({
        "kind": "full",
        "occurrences": display_paths(&opts.occurrences),
        "referentials": referentials_json(&opts.referentials),
        "mapping": opts.mapping.as_ref().map(|p| p.display().to_string()),
        "rows_read": rows_read,
    });
    let (mut summary, rejects_tmp, records, dicts) = inputs.finish(opts.today)?;
    if summary.accepted == 0 && summary.rows_read > 0 {
        return Err(all_rejected(&opts.out, &rejects_tmp, &summary));
    }
    let contents = dicts.into_contents(records, &refs.areas, Vec::new(), meta.to_string());

    let mut staging = Staging::begin(&opts.out)?;
    let (areas_name, areas_path) = staging.new_file("areas");
    let areas_bytes = areas::write_areas(&areas_path, &refs.areas)?;
    let (seg_name, seg_path) = staging.new_file("seg");
    let seg_bytes = segment::write_segment(&seg_path, &contents)?;
    summary.generation = staging.generation();
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        version: FORMAT_VERSION,
        generation: staging.generation(),
        created: chrono::Local::now().to_rfc3339(),
        areas: areas_name,
        segments: vec![SegmentEntry {
            file: seg_name,
            records: contents.records.len() as u64,
            bytes: seg_bytes,
        }],
    };
    staging.publish(&manifest)?;
    summary.rejects_report = publish_rejects(&opts.out, &rejects_tmp)?;
    summary.store_bytes = areas_bytes + seg_bytes;
    summary.segment_bytes = seg_bytes;
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

pub(crate) fn display_paths(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
}

pub(crate) fn referentials_json(r: &ReferentialPaths) -> serde_json::Value {
    serde_json::json!({
        "rules": r.rules.display().to_string(),
        "lists": r.lists.display().to_string(),
        "departement_regions": r.departement_regions.display().to_string(),
        "taxonomy": r.taxonomy.as_ref().map(|p| p.display().to_string()),
        "communes": r.communes.display().to_string(),
        "departements": r.departements.display().to_string(),
    })
}

/// The error of an ingest whose every row was rejected; the report is kept for reading.
pub(crate) fn all_rejected(
    out: &Path,
    rejects_tmp: &Path,
    summary: &IngestSummary,
) -> crate::error::Error {
    let report = rejects_path(out);
    let _ = std::fs::rename(rejects_tmp, &report);
    IngestError::File {
        file: out.display().to_string(),
        reason: format!(
            "every one of the {} rows was rejected (see {}): the previous store is kept",
            summary.rows_read,
            report.display()
        ),
    }
    .into()
}

/// Moves the rejects report of a published generation to its place beside the store.
pub(crate) fn publish_rejects(out: &Path, rejects_tmp: &Path) -> Result<String> {
    let report = rejects_path(out);
    std::fs::rename(rejects_tmp, &report).map_err(|e| IngestError::Io {
        path: report.display().to_string(),
        source: e,
    })?;
    Ok(report.display().to_string())
}

/// A temporary file removed on drop (a no-op once it has been renamed).
pub(crate) struct TmpFile(PathBuf);

impl Drop for TmpFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An observation deleted by the input (change status D, or a `--delete` file row).
pub(crate) struct Deletion {
    pub id: String,
    /// The file, as shown in rejects, and its line.
    pub file: String,
    pub line: u64,
}

/// The rows of one ingest or append as they are read: accepted records, deletions, the
/// rejects report being written and the summary.
pub(crate) struct Inputs {
    pub collector: Collector,
    pub deletions: Vec<Deletion>,
    pub summary: IngestSummary,
    /// Display names of the files read, by file index.
    pub files: Vec<String>,
    rejects: RejectWriter,
    rejects_tmp: PathBuf,
}

impl Inputs {
    /// Starts the rejects report for a store at `out`.
    pub fn begin(out: &Path) -> Result<Self> {
        let rejects_tmp =
            rejects_path(out).with_extension(format!("csv.{}.tmp", std::process::id()));
        let rejects = RejectWriter::create(&rejects_tmp)?;
        Ok(Inputs {
            collector: Collector::default(),
            deletions: Vec::new(),
            summary: IngestSummary::default(),
            files: Vec::new(),
            rejects,
            rejects_tmp,
        })
    }

    /// Removes the rejects report being written when dropped before it is moved to its
    /// place (a failed ingest or append leaves no stray file).
    pub fn cleanup_guard(&self) -> TmpFile {
        TmpFile(self.rejects_tmp.clone())
    }

    pub fn reject(&mut self, rej: &Reject, file_index: usize) -> Result<()> {
        if let Some(f) = self.summary.files.get_mut(file_index) {
            f.rejected += 1;
        }
        self.rejects.write(rej, &mut self.summary)
    }

    /// Reads, validates, locates and evaluates every row of `paths`.
    pub fn read_occurrences(
        &mut self,
        paths: &[PathBuf],
        srid: Srid,
        mapping: Option<Arc<Mapping>>,
        refs: &Referentials,
        show_progress: bool,
    ) -> Result<()> {
        // Open every file first: a missing file or a bad header fails before anything is written.
        let mut readers = Vec::with_capacity(paths.len());
        for path in paths {
            let i = self.files.len() as u32 + readers.len() as u32;
            readers.push(open_reader_mapped(path, srid, i, mapping.clone())?);
        }
        let progress = progress_bar(show_progress);
        for (k, reader) in readers.into_iter().enumerate() {
            let path = paths[k].display().to_string();
            let file_index = self.files.len();
            self.files.push(path.clone());
            self.summary.files.push(FileSummary {
                path: path.clone(),
                ..FileSummary::default()
            });
            // Reading (and parsing, in the reader) overlaps with locating the previous batch.
            let (tx, rx) = mpsc::sync_channel(2);
            let producer = std::thread::spawn(move || {
                let mut reader = reader;
                loop {
                    let batch = reader.next_batch();
                    let end = !matches!(batch, Ok(Some(_)));
                    if tx.send(batch).is_err() || end {
                        break;
                    }
                }
            });
            for batch in rx {
                let Some(rows) = batch? else { break };
                self.summary.files[file_index].rows += rows.len() as u64;
                progress.inc(rows.len() as u64);
                let located: Vec<Result<Located, Reject>> = rows
                    .into_par_iter()
                    .map(|row| locate(refs, row?, &path))
                    .collect();
                for r in located {
                    match r {
                        Ok(l) if l.occ.deleted => self.deletions.push(Deletion {
                            id: l.occ.id,
                            file: path.clone(),
                            line: l.occ.origin.line,
                        }),
                        Ok(l) => self.collector.push(l),
                        Err(rej) => self.reject(&rej, file_index)?,
                    }
                }
            }
            producer.join().map_err(|_| IngestError::File {
                file: path.clone(),
                reason: "reader thread panicked".into(),
            })?;
            self.summary.rows_read += self.summary.files[file_index].rows;
        }
        progress.finish_and_clear();
        Ok(())
    }

    /// Rejects every later row giving an id already given (as a record or a deletion).
    pub fn reject_duplicates(&mut self) -> Result<()> {
        for (origin_index, first) in self.collector.duplicates() {
            let o = self.collector.origins[origin_index];
            let f = self.collector.origins[first];
            let rej = Reject {
                file: self.files[o.file as usize].clone(),
                line: o.line,
                field: "idSINPOccTax".into(),
                reason: format!(
                    "duplicate idSINPOccTax {:?}: already given at {}:{}",
                    truncate(&self.collector.records[origin_index].id, 60),
                    self.files[f.file as usize],
                    f.line
                ),
            };
            self.reject(&rej, o.file as usize)?;
            self.collector.drop_record(origin_index);
        }
        // Deletions: an id deleted twice, or both given and deleted, is ambiguous.
        let mut given: HashMap<&str, (String, u64)> = HashMap::new();
        for (i, r) in self.collector.records.iter().enumerate() {
            if !self.collector.removed[i] {
                let o = self.collector.origins[i];
                given.insert(&r.id, (self.files[o.file as usize].clone(), o.line));
            }
        }
        let mut kept = Vec::with_capacity(self.deletions.len());
        let mut rejects = Vec::new();
        for d in std::mem::take(&mut self.deletions) {
            if let Some((file, line)) = given.get(d.id.as_str()) {
                rejects.push(Reject {
                    file: d.file.clone(),
                    line: d.line,
                    field: "idSINPOccTax".into(),
                    reason: format!(
                        "duplicate idSINPOccTax {:?}: already given at {file}:{line}",
                        truncate(&d.id, 60)
                    ),
                });
                continue;
            }
            kept.push(d);
        }
        drop(given);
        let mut seen: HashMap<String, (String, u64)> = HashMap::new();
        for d in kept {
            if let Some((file, line)) = seen.get(&d.id) {
                rejects.push(Reject {
                    file: d.file.clone(),
                    line: d.line,
                    field: "idSINPOccTax".into(),
                    reason: format!(
                        "duplicate idSINPOccTax {:?}: already given at {file}:{line}",
                        truncate(&d.id, 60)
                    ),
                });
                continue;
            }
            seen.insert(d.id.clone(), (d.file.clone(), d.line));
            self.deletions.push(d);
        }
        for rej in rejects {
            let index = self
                .files
                .iter()
                .position(|f| *f == rej.file)
                .unwrap_or(usize::MAX);
            self.reject(&rej, index)?;
        }
        Ok(())
    }

    /// Closes the rejects report and fills the summary: (summary, rejects report being
    /// written, accepted records in input order, their dictionaries).
    pub fn finish(
        self,
        today: Day,
    ) -> Result<(IngestSummary, PathBuf, Vec<RecordRow>, Dictionaries)> {
        let Inputs {
            collector,
            deletions,
            mut summary,
            rejects,
            rejects_tmp,
            ..
        } = self;
        summary.rejected = rejects.count;
        rejects.finish()?;
        summary.deletions = deletions.len() as u64;
        let (records, mut dicts) = collector.into_parts();
        dicts.deletions = deletions.into_iter().map(|d| d.id).collect();
        summary.accepted = records.len() as u64;
        for r in &records {
            let steps = &dicts.timelines[r.timeline as usize];
            let s = crate::sensitivity::timeline::at(steps, today);
            *summary
                .per_level
                .entry(s.level.code().to_string())
                .or_insert(0) += 1;
            summary.alerts += u64::from(s.alert);
        }
        Ok((summary, rejects_tmp, records, dicts))
    }
}

/// Locates a row and computes its sensitivity (deletions pass through untouched).
fn locate(refs: &Referentials, occ: Occurrence, path: &str) -> Result<Located, Reject> {
    if occ.deleted {
        return Ok(Located {
            occ,
            commune: 0,
            cd_ref: 0,
            timeline: Vec::new(),
        });
    }
    let Some(commune) = refs.areas.locate(occ.lon, occ.lat) else {
        return Err(Reject {
            file: path.to_string(),
            line: occ.origin.line,
            field: "longitude/latitude".into(),
            reason: format!(
                "position ({:.6}, {:.6}) is in no commune of the referential: it could not be blurred",
                occ.lon, occ.lat
            ),
        });
    };
    let c = &refs.areas.communes[commune as usize];
    let dept = &refs.areas.departements[c.departement as usize].code;
    let (cd_ref, timeline) = evaluate(
        &refs.sensitivity,
        &refs.taxonomy,
        &EvaluationInput {
            departement: dept,
            cd_nom: occ.cd_nom,
            cd_ref_given: occ.cd_ref,
            statut_biologique: occ.statut_biologique,
            comportement: occ.comportement,
            date_fin: occ.date_fin,
            declared: occ.sensi_niveau,
        },
    );
    Ok(Located {
        occ,
        commune,
        cd_ref,
        timeline,
    })
}

/// What the sensitivity of one observation depends on, as the store keeps it.
pub(crate) struct EvaluationInput<'a> {
    pub departement: &'a str,
    pub cd_nom: u32,
    /// The file's own cdRef.
    pub cd_ref_given: Option<u32>,
    pub statut_biologique: Option<u8>,
    pub comportement: Option<u8>,
    pub date_fin: Day,
    pub declared: Option<crate::sensitivity::SensiNiveau>,
}

/// The valid name (cd_ref) and sensitivity timeline of an observation: the one computation
/// ingest, append and re-evaluation share.
pub(crate) fn evaluate(
    sensitivity: &SensitivityReferential,
    taxonomy: &Taxonomy,
    o: &EvaluationInput<'_>,
) -> (u32, Vec<SensitivityStep>) {
    let tax_ref = taxonomy.cd_ref(o.cd_nom);
    let cd_ref = tax_ref.or(o.cd_ref_given).unwrap_or(o.cd_nom);
    // Every name the observation may be known by: a rule on any of them applies.
    let mut taxa: Vec<u32> = Vec::with_capacity(8);
    taxonomy.lineage_into(o.cd_nom, &mut taxa);
    if let Some(r) = o.cd_ref_given.filter(|r| !taxa.contains(r)) {
        // The file's own cdRef (another TAXREF version, say) and its ancestors too.
        taxa.push(r);
        taxa.extend(taxonomy.ancestors(r));
    }
    let timeline = sensitivity.timeline(&SensitivityQuery {
        departement: o.departement,
        taxa: &taxa,
        statut_biologique: o.statut_biologique,
        comportement: o.comportement,
        date_fin: o.date_fin,
        declared: o.declared,
    });
    (cd_ref, timeline.steps)
}

/// Interns dictionary values and keeps rows in arrival order.
#[derive(Default)]
pub(crate) struct Collector {
    records: Vec<RecordRow>,
    origins: Vec<super::occurrence::Origin>,
    removed: Vec<bool>,
    datasets: Interner<String>,
    nom_cites: Interner<String>,
    timelines: Interner<Vec<SensitivityStep>>,
}

/// The dictionaries of accepted records, and the ids the input deletes.
pub(crate) struct Dictionaries {
    pub datasets: Vec<String>,
    pub nom_cites: Vec<String>,
    pub timelines: Vec<Vec<SensitivityStep>>,
    pub deletions: Vec<String>,
}

impl Dictionaries {
    /// A segment of `records` (sorted here) deleting `tombstones`.
    pub fn into_contents(
        self,
        records: Vec<RecordRow>,
        areas: &AdminAreas,
        tombstones: Vec<String>,
        meta: String,
    ) -> SegmentContents {
        SegmentContents {
            records: order::sort_records(areas, records),
            datasets: self.datasets,
            nom_cites: self.nom_cites,
            timelines: self.timelines,
            commune_departements: areas.communes.iter().map(|c| c.departement).collect(),
            departement_count: areas.departements.len(),
            tombstones,
            meta,
        }
    }
}

impl Collector {
    fn push(&mut self, l: Located) {
        let o = l.occ;
        let dataset = self.datasets.intern(o.dataset.as_str());
        let nom_cite = self.nom_cites.intern(o.nom_cite.as_str());
        let timeline = self.timelines.intern(l.timeline.as_slice());
        self.origins.push(o.origin);
        self.removed.push(false);
        self.records.push(RecordRow {
            lon_e7: (o.lon * E7).round() as i32,
            lat_e7: (o.lat * E7).round() as i32,
            cd_nom: o.cd_nom,
            cd_ref: l.cd_ref,
            date_debut: o.date_debut,
            // Readers refuse spans over u16::MAX days.
            date_span: (o.date_fin.0 - o.date_debut.0).clamp(0, i32::from(u16::MAX)) as u16,
            commune: l.commune as u16,
            timeline,
            dataset,
            nom_cite,
            producer: o.diffusion_niveau_precision.unwrap_or(ABSENT),
            ds_publique: o.ds_publique as u8,
            statut_biologique: o.statut_biologique.unwrap_or(ABSENT),
            comportement: o.comportement.unwrap_or(ABSENT),
            cd_ref_given: o.cd_ref.unwrap_or(0),
            declared: o.sensi_niveau.map_or(ABSENT, |l| l as u8),
            id: o.id,
        });
    }

    /// (later record, first record) for every id given twice, later ones in input order.
    fn duplicates(&self) -> Vec<(usize, usize)> {
        let mut by_id: Vec<(u64, u32)> = self
            .records
            .par_iter()
            .enumerate()
            .map(|(i, r)| (hash_str(&r.id), i as u32))
            .collect();
        by_id.par_sort_unstable();
        let mut dups = Vec::new();
        for run in by_id.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
            // Equal hashes: compare the strings themselves (collisions are possible).
            for (k, (_, i)) in run.iter().enumerate() {
                let first = run[..k]
                    .iter()
                    .find(|(_, j)| self.records[*j as usize].id == self.records[*i as usize].id);
                if let Some((_, j)) = first {
                    dups.push((*i as usize, *j as usize));
                }
            }
        }
        dups.sort_unstable();
        dups
    }

    fn drop_record(&mut self, i: usize) {
        self.removed[i] = true;
    }

    /// The records not dropped, in input order, and the dictionaries they index.
    fn into_parts(self) -> (Vec<RecordRow>, Dictionaries) {
        let records = self
            .records
            .into_iter()
            .zip(self.removed)
            .filter(|(_, gone)| !gone)
            .map(|(r, _)| r)
            .collect();
        (
            records,
            Dictionaries {
                datasets: self.datasets.into_values(),
                nom_cites: self.nom_cites.into_values(),
                timelines: self.timelines.into_values(),
                deletions: Vec::new(),
            },
        )
    }
}

fn hash_str(s: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // A fixed-key hasher: duplicates are confirmed by comparing strings anyway.
    let mut h =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .build_hasher();
    h.write(s.as_bytes());
    h.finish()
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

struct RejectWriter {
    path: PathBuf,
    out: ::csv::Writer<std::io::BufWriter<std::fs::File>>,
    count: u64,
}

impl RejectWriter {
    fn create(path: &Path) -> Result<Self> {
        let f = std::fs::File::create(path).map_err(|e| IngestError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let mut out = ::csv::Writer::from_writer(std::io::BufWriter::new(f));
        let w = RejectWriter {
            path: path.to_path_buf(),
            count: 0,
            out: {
                out.write_record(["file", "line", "field", "reason"])
                    .map_err(|e| csv_err(path, e))?;
                out
            },
        };
        Ok(w)
    }

    fn write(&mut self, r: &Reject, summary: &mut IngestSummary) -> Result<()> {
        self.count += 1;
        *summary
            .rejected_by_field
            .entry(r.field.clone())
            .or_insert(0) += 1;
        let line = r.line.to_string();
        self.out
            .write_record([
                r.file.as_str(),
                line.as_str(),
                r.field.as_str(),
                r.reason.as_str(),
            ])
            .map_err(|e| csv_err(&self.path, e).into())
    }

    fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|e| IngestError::Io {
            path: self.path.display().to_string(),
            source: e,
        })?;
        Ok(())
    }
}

fn csv_err(path: &Path, e: ::csv::Error) -> IngestError {
    IngestError::File {
        file: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn progress_bar(show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {human_pos} rows read ({per_sec}) {elapsed}",
    ) {
        pb.set_style(style);
    }
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_report_sits_beside_the_store() {
        assert_eq!(
            rejects_path(Path::new("/tmp/x/flou-store")),
            PathBuf::from("/tmp/x/flou-store.rejects.csv")
        );
        assert_eq!(
            rejects_path(Path::new("st/")),
            PathBuf::from("st.rejects.csv")
        );
    }
}
