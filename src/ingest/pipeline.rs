//! The full ingest: referentials → occurrence files → located, sensitivity-computed records
//! → one sorted segment → a new store generation, published atomically. Rejected rows go to
//! a report beside the store; nothing is dropped silently.

use super::{open_reader_indexed, IngestError, Occurrence, Reject, Srid};
use crate::admin::AdminAreas;
use crate::date::Day;
use crate::error::Result;
use crate::sensitivity::{SensitivityQuery, SensitivityReferential, SensitivityStep};
use crate::store::manifest::{Manifest, SegmentEntry, Staging, MANIFEST_FORMAT};
use crate::store::segment::{RecordRow, SegmentContents, ABSENT, E7};
use crate::store::{areas, container::FORMAT_VERSION, segment};
use crate::taxonomy::Taxonomy;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
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

struct Referentials {
    areas: AdminAreas,
    sensitivity: SensitivityReferential,
    taxonomy: Taxonomy,
}

fn load_referentials(p: &ReferentialPaths) -> Result<Referentials> {
    let (areas, (sensitivity, taxonomy)) = rayon::join(
        || AdminAreas::load(&p.communes, &p.departements),
        || {
            rayon::join(
                || SensitivityReferential::load(&p.rules, &p.lists, &p.departement_regions),
                || match &p.taxonomy {
                    Some(t) => Taxonomy::load(t),
                    None => Ok(Taxonomy::empty()),
                },
            )
        },
    );
    Ok(Referentials {
        areas: areas?,
        sensitivity: sensitivity?,
        taxonomy: taxonomy?,
    })
}

/// Runs a full ingest into a new generation of the store at `opts.out`.
pub fn run(opts: &IngestOptions) -> Result<IngestSummary> {
    let start = Instant::now();
    let refs = load_referentials(&opts.referentials)?;
    // Open every file first: a missing file or a bad header fails before anything is written.
    let mut readers = Vec::with_capacity(opts.occurrences.len());
    for (i, path) in opts.occurrences.iter().enumerate() {
        readers.push(open_reader_indexed(path, opts.srid, i as u32)?);
    }

    let progress = progress_bar(opts.progress);
    let mut summary = IngestSummary::default();
    let mut collector = Collector::default();
    let rejects_tmp =
        rejects_path(&opts.out).with_extension(format!("csv.{}.tmp", std::process::id()));
    let mut rejects = RejectWriter::create(&rejects_tmp)?;

    for (file_index, reader) in readers.into_iter().enumerate() {
        let path = opts.occurrences[file_index].display().to_string();
        let mut file = FileSummary {
            path: path.clone(),
            ..FileSummary::default()
        };
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
            file.rows += rows.len() as u64;
            progress.inc(rows.len() as u64);
            let located: Vec<Result<Located, Reject>> = rows
                .into_par_iter()
                .map(|row| locate(&refs, row?, &path))
                .collect();
            for r in located {
                match r {
                    Ok(l) => collector.push(l),
                    Err(rej) => {
                        file.rejected += 1;
                        rejects.write(&rej, &mut summary)?;
                    }
                }
            }
        }
        producer.join().map_err(|_| IngestError::File {
            file: path.clone(),
            reason: "reader thread panicked".into(),
        })?;
        summary.rows_read += file.rows;
        summary.files.push(file);
    }
    progress.finish_and_clear();

    for (origin_index, first) in collector.duplicates() {
        let o = collector.origins[origin_index];
        let f = collector.origins[first];
        let rej = Reject {
            file: opts.occurrences[o.file as usize].display().to_string(),
            line: o.line,
            field: "idSINPOccTax".into(),
            reason: format!(
                "duplicate idSINPOccTax {:?}: already given at {}:{}",
                truncate(&collector.records[origin_index].id, 60),
                opts.occurrences[f.file as usize].display(),
                f.line
            ),
        };
        summary.files[o.file as usize].rejected += 1;
        rejects.write(&rej, &mut summary)?;
        collector.drop_record(origin_index);
    }
    let rejected_total = rejects.count;
    rejects.finish()?;
    summary.rejected = rejected_total;

    let contents = collector.into_contents(&refs.areas, opts, &summary);
    summary.accepted = contents.records.len() as u64;
    for r in &contents.records {
        let steps = &contents.timelines[r.timeline as usize];
        let s = crate::sensitivity::timeline::at(steps, opts.today);
        *summary
            .per_level
            .entry(s.level.code().to_string())
            .or_insert(0) += 1;
        summary.alerts += u64::from(s.alert);
    }
    if summary.accepted == 0 && summary.rows_read > 0 {
        let report = rejects_path(&opts.out);
        let _ = std::fs::rename(&rejects_tmp, &report);
        return Err(IngestError::File {
            file: opts.out.display().to_string(),
            reason: format!(
                "every one of the {} rows was rejected (see {}): the previous store is kept",
                summary.rows_read,
                report.display()
            ),
        }
        .into());
    }

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
    let report = rejects_path(&opts.out);
    std::fs::rename(&rejects_tmp, &report).map_err(|e| IngestError::Io {
        path: report.display().to_string(),
        source: e,
    })?;
    summary.store_bytes = areas_bytes + seg_bytes;
    summary.segment_bytes = seg_bytes;
    summary.rejects_report = report.display().to_string();
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

fn locate(refs: &Referentials, occ: Occurrence, path: &str) -> Result<Located, Reject> {
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
    let tax_ref = refs.taxonomy.cd_ref(occ.cd_nom);
    let cd_ref = tax_ref.or(occ.cd_ref).unwrap_or(occ.cd_nom);
    // Every name the observation may be known by: a rule on any of them applies.
    let mut taxa: Vec<u32> = Vec::with_capacity(8);
    refs.taxonomy.lineage_into(occ.cd_nom, &mut taxa);
    if let Some(r) = occ.cd_ref.filter(|r| !taxa.contains(r)) {
        // The file's own cdRef (another TAXREF version, say) and its ancestors too.
        taxa.push(r);
        taxa.extend(refs.taxonomy.ancestors(r));
    }
    let timeline = refs.sensitivity.timeline(&SensitivityQuery {
        departement: dept,
        taxa: &taxa,
        statut_biologique: occ.statut_biologique,
        comportement: occ.comportement,
        date_fin: occ.date_fin,
        declared: occ.sensi_niveau,
    });
    Ok(Located {
        occ,
        commune,
        cd_ref,
        timeline: timeline.steps,
    })
}

/// Interns dictionary values and keeps rows in arrival order.
#[derive(Default)]
struct Collector {
    records: Vec<RecordRow>,
    origins: Vec<super::occurrence::Origin>,
    removed: Vec<bool>,
    datasets: Interner<String>,
    nom_cites: Interner<String>,
    timelines: Interner<Vec<SensitivityStep>>,
}

struct Interner<K> {
    index: HashMap<K, u32>,
    values: Vec<K>,
}

impl<K> Default for Interner<K> {
    fn default() -> Self {
        Interner {
            index: HashMap::new(),
            values: Vec::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> Interner<K> {
    fn intern<Q>(&mut self, key: &Q) -> u32
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(i) = self.index.get(key) {
            return *i;
        }
        let i = self.values.len() as u32;
        self.values.push(key.to_owned());
        self.index.insert(key.to_owned(), i);
        i
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

    fn into_contents(
        self,
        areas: &AdminAreas,
        opts: &IngestOptions,
        summary: &IngestSummary,
    ) -> SegmentContents {
        let rank = commune_ranks(areas);
        let bounds = areas
            .communes
            .iter()
            .fold(crate::geo::BBox::EMPTY, |b, c| b.union(&c.bbox));
        let removed = self.removed;
        let mut rows: Vec<(u64, RecordRow)> = self
            .records
            .into_par_iter()
            .zip(removed.into_par_iter())
            .filter(|(_, gone)| !gone)
            .map(|(r, _)| {
                let h = hilbert_key(&bounds, f64::from(r.lon_e7) / E7, f64::from(r.lat_e7) / E7);
                (
                    (u64::from(rank[r.commune as usize]) << 32) | u64::from(h),
                    r,
                )
            })
            .collect();
        rows.par_sort_unstable_by_key(|(k, r)| (*k, r.date_debut));
        let meta = serde_json::json!({
            "kind": "full",
            "occurrences": opts.occurrences.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "referentials": {
                "rules": opts.referentials.rules.display().to_string(),
                "lists": opts.referentials.lists.display().to_string(),
                "departement_regions": opts.referentials.departement_regions.display().to_string(),
                "taxonomy": opts.referentials.taxonomy.as_ref().map(|p| p.display().to_string()),
                "communes": opts.referentials.communes.display().to_string(),
                "departements": opts.referentials.departements.display().to_string(),
            },
            "rows_read": summary.rows_read,
            "rejected": summary.rejected,
        });
        SegmentContents {
            records: rows.into_iter().map(|(_, r)| r).collect(),
            datasets: self.datasets.values,
            nom_cites: self.nom_cites.values,
            timelines: self.timelines.values,
            commune_departements: areas.communes.iter().map(|c| c.departement).collect(),
            departement_count: areas.departements.len(),
            tombstones: Vec::new(),
            meta: meta.to_string(),
        }
    }
}

/// Sort rank of each commune: departments in Hilbert order of their centres, then communes
/// of a department in Hilbert order, so departments and communes are contiguous runs.
fn commune_ranks(areas: &AdminAreas) -> Vec<u32> {
    let bounds = areas
        .communes
        .iter()
        .fold(crate::geo::BBox::EMPTY, |b, c| b.union(&c.bbox));
    let centre = |b: &crate::geo::BBox| {
        hilbert_key(
            &bounds,
            (b.min[0] + b.max[0]) / 2.0,
            (b.min[1] + b.max[1]) / 2.0,
        )
    };
    let dept_key: Vec<u32> = areas.departements.iter().map(|d| centre(&d.bbox)).collect();
    let mut order: Vec<usize> = (0..areas.communes.len()).collect();
    order.sort_by_key(|&i| {
        let c = &areas.communes[i];
        (
            dept_key[c.departement as usize],
            c.departement,
            centre(&c.bbox),
            i,
        )
    });
    let mut rank = vec![0u32; areas.communes.len()];
    for (r, i) in order.into_iter().enumerate() {
        rank[i] = r as u32;
    }
    rank
}

/// Position on a 2^16 × 2^16 Hilbert curve over `bounds`.
fn hilbert_key(bounds: &crate::geo::BBox, lon: f64, lat: f64) -> u32 {
    const N: u32 = 1 << 16;
    let scale = |v: f64, lo: f64, hi: f64| {
        let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
        ((t * f64::from(N - 1)).round().clamp(0.0, f64::from(N - 1))) as u32
    };
    let (mut x, mut y) = (
        scale(lon, bounds.min[0], bounds.max[0]),
        scale(lat, bounds.min[1], bounds.max[1]),
    );
    let mut d: u32 = 0;
    let mut s = N / 2;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d = d.wrapping_add(s.wrapping_mul(s).wrapping_mul((3 * rx) ^ ry));
        if ry == 0 {
            if rx == 1 {
                x = N - 1 - x;
                y = N - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
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
    fn hilbert_key_is_a_bijection_on_a_small_grid_and_neighbours_stay_close() {
        let b = crate::geo::BBox {
            min: [0.0, 0.0],
            max: [65535.0, 65535.0],
        };
        let mut seen = std::collections::HashSet::new();
        for x in 0..64 {
            for y in 0..64 {
                assert!(seen.insert(hilbert_key(&b, f64::from(x), f64::from(y))));
            }
        }
        // Consecutive curve positions are adjacent cells: the first 4 form the 2×2 corner.
        let mut first: Vec<u32> = (0..2)
            .flat_map(|x| (0..2).map(move |y| hilbert_key(&b, f64::from(x), f64::from(y))))
            .collect();
        first.sort_unstable();
        assert_eq!(first, vec![0, 1, 2, 3]);
    }

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
