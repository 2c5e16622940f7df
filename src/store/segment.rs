//! A segment: the observations of one ingest (full or delta), as columns.
//!
//! Records are sorted by (department, commune, Hilbert position), so every commune and every
//! department is one contiguous record range (their posting lists cost 8 bytes per area),
//! and consecutive records are close in space, so 64-record blocks have tight bounding boxes
//! for the packed R-tree that finds a tile's records without scanning the segment.
//!
//! Fixed bytes per record: position 8, taxa 8, dates 6, commune 2, sensitivity timeline 4,
//! dataset 4, cited name 4, producer level / public status / biological status /
//! behaviour 4, the file's own cdRef and sensiNiveau 5 (re-evaluation inputs) = 45, plus the id string and ¼ byte of index.
//!
//! The point order adds 16 bytes a record: every record's quantized Web Mercator position
//! and cd_ref, sorted by Z-order key, with the record it belongs to. A dense tile's points
//! are then one sequential read (see `access::points`); the records stay in area order.
#![forbid(unsafe_code)]

use super::container::{Container, ContainerWriter, Magic};
use super::StoreError;
use crate::date::Day;
use crate::geo::quantized::{morton, quantize_e7};
use crate::sensitivity::{SensiNiveau, SensitivityStep};
use bytemuck::{Pod, Zeroable};
use std::ops::Range;
use std::path::Path;

pub const SEGMENT_MAGIC: Magic = *b"FLOUSEG2";
/// The magic of segments written before the point order (flou 0.1 up to session 4): such
/// a store must be ingested again.
pub const SEGMENT_MAGIC_V1: Magic = *b"FLOUSEG1";
/// Records per leaf block of the spatial index.
pub const BLOCK: usize = 64;
/// Children per node of the spatial index.
pub const FANOUT: usize = 16;
/// Coordinates are stored as integers in units of 1e-7 degree (≈ 1 cm).
pub const E7: f64 = 1e7;
/// "Absent" for the optional one-byte codes.
pub const ABSENT: u8 = u8::MAX;

mod id {
    pub const META: u32 = 1;
    pub const LON: u32 = 10;
    pub const LAT: u32 = 11;
    pub const CD_NOM: u32 = 12;
    pub const CD_REF: u32 = 13;
    pub const DATE_DEBUT: u32 = 14;
    pub const DATE_SPAN: u32 = 15;
    pub const COMMUNE: u32 = 16;
    pub const TIMELINE: u32 = 17;
    pub const DATASET: u32 = 18;
    pub const NOM_CITE: u32 = 19;
    pub const PRODUCER: u32 = 20;
    pub const DS_PUBLIQUE: u32 = 21;
    pub const STATUT_BIO: u32 = 22;
    pub const COMPORTEMENT: u32 = 23;
    pub const CD_REF_GIVEN: u32 = 24;
    pub const DECLARED: u32 = 25;
    pub const ID_OFFSETS: u32 = 30;
    pub const ID_BLOB: u32 = 31;
    pub const DATASET_OFFSETS: u32 = 32;
    pub const DATASET_BLOB: u32 = 33;
    pub const NOM_CITE_OFFSETS: u32 = 34;
    pub const NOM_CITE_BLOB: u32 = 35;
    pub const TOMBSTONE_OFFSETS: u32 = 36;
    pub const TOMBSTONE_BLOB: u32 = 37;
    pub const TIMELINE_OFFSETS: u32 = 40;
    pub const TIMELINE_STEPS: u32 = 41;
    pub const COMMUNE_RANGES: u32 = 50;
    pub const DEPARTEMENT_RANGES: u32 = 51;
    pub const INDEX_LEVELS: u32 = 60;
    pub const INDEX_BOXES: u32 = 61;
    pub const POINT_X: u32 = 70;
    pub const POINT_Y: u32 = 71;
    pub const POINT_RECORD: u32 = 72;
    pub const POINT_CD_REF: u32 = 73;
}

/// One sensitivity step as stored (12 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct StoredStep {
    pub until: i32,
    pub rule_id: u32,
    pub cd_sl: u16,
    pub level: u8,
    /// bit 0: alert, bit 1: declared.
    pub flags: u8,
}

impl StoredStep {
    pub fn from_step(s: &SensitivityStep) -> Self {
        StoredStep {
            until: s.until.0,
            rule_id: s.rule_id,
            cd_sl: s.cd_sl,
            level: s.level as u8,
            flags: u8::from(s.alert) | (u8::from(s.declared) << 1),
        }
    }

    /// Valid once the segment is open (levels are checked there).
    pub fn to_step(self) -> SensitivityStep {
        SensitivityStep {
            until: Day(self.until),
            level: SensiNiveau::from_u8(self.level).unwrap_or(SensiNiveau::N4),
            rule_id: self.rule_id,
            cd_sl: self.cd_sl,
            alert: self.flags & 1 != 0,
            declared: self.flags & 2 != 0,
        }
    }
}

/// One record, ready to be written (dictionary fields are indexes into [`SegmentContents`]).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordRow {
    pub id: String,
    pub lon_e7: i32,
    pub lat_e7: i32,
    pub cd_nom: u32,
    pub cd_ref: u32,
    pub date_debut: Day,
    pub date_span: u16,
    pub commune: u16,
    pub timeline: u32,
    pub dataset: u32,
    pub nom_cite: u32,
    pub producer: u8,
    pub ds_publique: u8,
    pub statut_biologique: u8,
    pub comportement: u8,
    /// The file's own `cdRef` (0: not given). Kept apart from `cd_ref` (the taxonomy's) because
    /// the sensitivity algorithm also matches rules on it: re-evaluation needs it.
    pub cd_ref_given: u32,
    /// The file's own `sensiNiveau` as a [`SensiNiveau`] byte ([`ABSENT`]: not given). The
    /// timeline only keeps it where it beat the computed level; re-evaluation needs it whole.
    pub declared: u8,
}

/// Everything a segment file holds. `records` must be sorted so that each commune's records
/// are contiguous and communes of a department are contiguous (the pipeline sorts them).
#[derive(Debug, Default)]
pub struct SegmentContents {
    pub records: Vec<RecordRow>,
    pub datasets: Vec<String>,
    pub nom_cites: Vec<String>,
    pub timelines: Vec<Vec<SensitivityStep>>,
    /// Department index of every commune of the areas file.
    pub commune_departements: Vec<u16>,
    pub departement_count: usize,
    /// Ids of earlier records this segment deletes (a changed record is deleted and re-added).
    pub tombstones: Vec<String>,
    /// Free JSON about the ingest (sources, summary).
    pub meta: String,
}

fn push_strings<'a>(
    w: &mut ContainerWriter,
    off_id: u32,
    blob_id: u32,
    items: impl Iterator<Item = &'a str>,
) {
    let mut offsets = vec![0u64];
    let mut blob = Vec::new();
    for s in items {
        blob.extend_from_slice(s.as_bytes());
        offsets.push(blob.len() as u64);
    }
    w.add(off_id, &offsets);
    w.add(blob_id, &blob);
}

fn column<T: Pod>(records: &[RecordRow], f: impl Fn(&RecordRow) -> T) -> Vec<T> {
    records.iter().map(f).collect()
}

/// Writes `contents` to `path` (a fresh file); returns its size in bytes.
pub fn write_segment(path: &Path, contents: &SegmentContents) -> Result<u64, StoreError> {
    let r = &contents.records;
    let mut w = ContainerWriter::new(SEGMENT_MAGIC);
    w.add(id::META, contents.meta.as_bytes());
    w.add(id::LON, &column(r, |x| x.lon_e7));
    w.add(id::LAT, &column(r, |x| x.lat_e7));
    w.add(id::CD_NOM, &column(r, |x| x.cd_nom));
    w.add(id::CD_REF, &column(r, |x| x.cd_ref));
    w.add(id::DATE_DEBUT, &column(r, |x| x.date_debut.0));
    w.add(id::DATE_SPAN, &column(r, |x| x.date_span));
    w.add(id::COMMUNE, &column(r, |x| x.commune));
    w.add(id::TIMELINE, &column(r, |x| x.timeline));
    w.add(id::DATASET, &column(r, |x| x.dataset));
    w.add(id::NOM_CITE, &column(r, |x| x.nom_cite));
    w.add(id::PRODUCER, &column(r, |x| x.producer));
    w.add(id::DS_PUBLIQUE, &column(r, |x| x.ds_publique));
    w.add(id::STATUT_BIO, &column(r, |x| x.statut_biologique));
    w.add(id::COMPORTEMENT, &column(r, |x| x.comportement));
    w.add(id::CD_REF_GIVEN, &column(r, |x| x.cd_ref_given));
    w.add(id::DECLARED, &column(r, |x| x.declared));
    push_strings(
        &mut w,
        id::ID_OFFSETS,
        id::ID_BLOB,
        r.iter().map(|x| x.id.as_str()),
    );
    push_strings(
        &mut w,
        id::DATASET_OFFSETS,
        id::DATASET_BLOB,
        contents.datasets.iter().map(String::as_str),
    );
    push_strings(
        &mut w,
        id::NOM_CITE_OFFSETS,
        id::NOM_CITE_BLOB,
        contents.nom_cites.iter().map(String::as_str),
    );
    push_strings(
        &mut w,
        id::TOMBSTONE_OFFSETS,
        id::TOMBSTONE_BLOB,
        contents.tombstones.iter().map(String::as_str),
    );

    let mut t_offsets = vec![0u32];
    let mut steps = Vec::new();
    for t in &contents.timelines {
        steps.extend(t.iter().map(StoredStep::from_step));
        t_offsets.push(steps.len() as u32);
    }
    w.add(id::TIMELINE_OFFSETS, &t_offsets);
    w.add(id::TIMELINE_STEPS, &steps);

    let (communes, departements) = area_ranges(contents)?;
    w.add(id::COMMUNE_RANGES, &communes);
    w.add(id::DEPARTEMENT_RANGES, &departements);

    let (levels, boxes) = build_index(r);
    w.add(id::INDEX_LEVELS, &levels);
    w.add(id::INDEX_BOXES, &boxes);

    let order = point_order(r);
    w.add(
        id::POINT_X,
        &order.iter().map(|p| p.1[0]).collect::<Vec<u32>>(),
    );
    w.add(
        id::POINT_Y,
        &order.iter().map(|p| p.1[1]).collect::<Vec<u32>>(),
    );
    w.add(
        id::POINT_RECORD,
        &order.iter().map(|p| p.2).collect::<Vec<u32>>(),
    );
    w.add(
        id::POINT_CD_REF,
        &order
            .iter()
            .map(|p| r[p.2 as usize].cd_ref)
            .collect::<Vec<u32>>(),
    );
    w.write(path)
}

/// The point order: every record's quantized Web Mercator position, sorted by Z-order key
/// (ties by record), so a tile or a group cell is one run of it and a dense tile's points
/// are read in sequence, without touching the records (see `access::points`).
fn point_order(r: &[RecordRow]) -> Vec<(u64, [u32; 2], u32)> {
    use rayon::prelude::*;
    let mut order: Vec<(u64, [u32; 2], u32)> = r
        .par_iter()
        .enumerate()
        .map(|(i, x)| {
            let q = quantize_e7(x.lon_e7, x.lat_e7);
            (morton(q), q, i as u32)
        })
        .collect();
    order.par_sort_unstable_by_key(|p| (p.0, p.2));
    order
}

/// `[start, end)` record ranges, one per area.
type AreaRanges = Vec<[u32; 2]>;

/// The ranges of every commune and department; checks each is contiguous.
fn area_ranges(c: &SegmentContents) -> Result<(AreaRanges, AreaRanges), StoreError> {
    let mut communes = vec![[0u32, 0u32]; c.commune_departements.len()];
    let mut departements = vec![[0u32, 0u32]; c.departement_count];
    let not_sorted = |what: &str, i: usize| StoreError::Corrupt {
        path: "(segment being written)".into(),
        reason: format!("records not grouped by {what} at record {i}"),
    };
    let mut i = 0;
    let r = &c.records;
    while i < r.len() {
        let com = r[i].commune as usize;
        let j = i + r[i..]
            .iter()
            .take_while(|x| x.commune as usize == com)
            .count();
        let slot = communes
            .get_mut(com)
            .ok_or_else(|| not_sorted("a known commune", i))?;
        if slot[1] != 0 {
            return Err(not_sorted("commune", i));
        }
        *slot = [i as u32, j as u32];
        let dep = c.commune_departements[com] as usize;
        let d = departements
            .get_mut(dep)
            .ok_or_else(|| not_sorted("a known department", i))?;
        if d[1] == 0 {
            *d = [i as u32, j as u32];
        } else if d[1] as usize == i {
            d[1] = j as u32;
        } else {
            return Err(not_sorted("department", i));
        }
        i = j;
    }
    Ok((communes, departements))
}

/// Packed R-tree: level 0 holds one box per block of [`BLOCK`] records, each next level one
/// box per [`FANOUT`] boxes of the level below, up to a single root. Boxes are
/// `[min_lon, min_lat, max_lon, max_lat]` in 1e-7 degrees. `levels[k]` is where level k
/// starts in `boxes` (with a final entry = `boxes.len()`).
fn build_index(r: &[RecordRow]) -> (Vec<u32>, Vec<[i32; 4]>) {
    let mut boxes: Vec<[i32; 4]> = r
        .chunks(BLOCK)
        .map(|block| {
            block
                .iter()
                .fold([i32::MAX, i32::MAX, i32::MIN, i32::MIN], |b, x| {
                    [
                        b[0].min(x.lon_e7),
                        b[1].min(x.lat_e7),
                        b[2].max(x.lon_e7),
                        b[3].max(x.lat_e7),
                    ]
                })
        })
        .collect();
    let mut levels = vec![0u32];
    let mut start = 0;
    while boxes.len() - start > 1 {
        let end = boxes.len();
        let parents: Vec<[i32; 4]> = boxes[start..end]
            .chunks(FANOUT)
            .map(|c| {
                c.iter()
                    .fold([i32::MAX, i32::MAX, i32::MIN, i32::MIN], |b, x| {
                        [
                            b[0].min(x[0]),
                            b[1].min(x[1]),
                            b[2].max(x[2]),
                            b[3].max(x[3]),
                        ]
                    })
            })
            .collect();
        levels.push(end as u32);
        boxes.extend(parents);
        start = end;
    }
    levels.push(boxes.len() as u32);
    (levels, boxes)
}

/// A segment opened by mmap. Column accessors return slices of the mapping.
#[derive(Debug)]
pub struct Segment {
    c: Container,
    len: usize,
    meta: Range<usize>,
    lon: Range<usize>,
    lat: Range<usize>,
    cd_nom: Range<usize>,
    cd_ref: Range<usize>,
    date_debut: Range<usize>,
    date_span: Range<usize>,
    commune: Range<usize>,
    timeline: Range<usize>,
    dataset: Range<usize>,
    nom_cite: Range<usize>,
    producer: Range<usize>,
    ds_publique: Range<usize>,
    statut_bio: Range<usize>,
    comportement: Range<usize>,
    cd_ref_given: Range<usize>,
    declared: Range<usize>,
    ids: Strings,
    datasets: Strings,
    nom_cites: Strings,
    tombstones: Strings,
    timeline_offsets: Range<usize>,
    timeline_steps: Range<usize>,
    commune_ranges: Range<usize>,
    departement_ranges: Range<usize>,
    index_levels: Range<usize>,
    index_boxes: Range<usize>,
    point_x: Range<usize>,
    point_y: Range<usize>,
    point_record: Range<usize>,
    point_cd_ref: Range<usize>,
}

#[derive(Debug)]
struct Strings {
    offsets: Range<usize>,
    blob: Range<usize>,
}

impl Strings {
    fn open(c: &Container, off_id: u32, blob_id: u32, name: &str) -> Result<Self, StoreError> {
        let s = Strings {
            offsets: c.section_range::<u64>(off_id, name)?,
            blob: c.section_range::<u8>(blob_id, name)?,
        };
        let offsets = c.slice::<u64>(&s.offsets);
        let blob = c.bytes(&s.blob);
        let ok = offsets.first() == Some(&0)
            && offsets.windows(2).all(|w| w[0] <= w[1])
            && offsets.last().is_some_and(|l| *l as usize == blob.len());
        let text = std::str::from_utf8(blob).ok();
        let boundaries =
            text.is_some_and(|t| offsets.iter().all(|o| t.is_char_boundary(*o as usize)));
        if !ok || !boundaries {
            return Err(corrupt(c, format!("string table {name} is inconsistent")));
        }
        Ok(s)
    }

    fn len(&self, c: &Container) -> usize {
        c.slice::<u64>(&self.offsets).len() - 1
    }

    fn get<'a>(&self, c: &'a Container, i: usize) -> &'a str {
        // Checked whole at open; cannot fail.
        std::str::from_utf8(self.get_bytes(c, i)).unwrap_or_default()
    }

    /// The UTF-8 bytes of entry `i` (checked at open), for callers that check many at once.
    fn get_bytes<'a>(&self, c: &'a Container, i: usize) -> &'a [u8] {
        let o = c.slice::<u64>(&self.offsets);
        &c.bytes(&self.blob)[o[i] as usize..o[i + 1] as usize]
    }
}

fn corrupt(c: &Container, reason: String) -> StoreError {
    StoreError::Corrupt {
        path: c.path().display().to_string(),
        reason,
    }
}

impl Segment {
    /// Opens and fully validates a segment: every index a column holds points inside the
    /// table it refers to, so reads never go out of bounds. `commune_count` and
    /// `departement_count` come from the store's areas file.
    pub fn open(
        path: &Path,
        commune_count: usize,
        departement_count: usize,
    ) -> Result<Self, StoreError> {
        let c = match Container::open(path, SEGMENT_MAGIC) {
            Err(e) if Container::open(path, SEGMENT_MAGIC_V1).is_ok() => {
                return Err(StoreError::Corrupt {
                    path: path.display().to_string(),
                    reason: format!(
                        "written by an older flou (FLOUSEG1, without the point order): \
                         ingest the observations again ({e})"
                    ),
                })
            }
            other => other?,
        };
        let lon = c.section_range::<i32>(id::LON, "lon")?;
        let len = c.slice::<i32>(&lon).len();
        let col = |sid: u32, name: &str, size: usize| -> Result<Range<usize>, StoreError> {
            let r = match size {
                1 => c.section_range::<u8>(sid, name)?,
                2 => c.section_range::<u16>(sid, name)?,
                _ => c.section_range::<u32>(sid, name)?,
            };
            if (r.end - r.start) / size != len {
                return Err(corrupt(&c, format!("column {name} has a different length")));
            }
            Ok(r)
        };
        let seg = Segment {
            meta: c.section_range::<u8>(id::META, "meta")?,
            lat: col(id::LAT, "lat", 4)?,
            cd_nom: col(id::CD_NOM, "cd_nom", 4)?,
            cd_ref: col(id::CD_REF, "cd_ref", 4)?,
            date_debut: col(id::DATE_DEBUT, "date_debut", 4)?,
            date_span: col(id::DATE_SPAN, "date_span", 2)?,
            commune: col(id::COMMUNE, "commune", 2)?,
            timeline: col(id::TIMELINE, "timeline", 4)?,
            dataset: col(id::DATASET, "dataset", 4)?,
            nom_cite: col(id::NOM_CITE, "nom_cite", 4)?,
            producer: col(id::PRODUCER, "producer", 1)?,
            ds_publique: col(id::DS_PUBLIQUE, "ds_publique", 1)?,
            statut_bio: col(id::STATUT_BIO, "statut_bio", 1)?,
            comportement: col(id::COMPORTEMENT, "comportement", 1)?,
            cd_ref_given: col(id::CD_REF_GIVEN, "cd_ref_given", 4)?,
            declared: col(id::DECLARED, "declared", 1)?,
            ids: Strings::open(&c, id::ID_OFFSETS, id::ID_BLOB, "ids")?,
            datasets: Strings::open(&c, id::DATASET_OFFSETS, id::DATASET_BLOB, "datasets")?,
            nom_cites: Strings::open(&c, id::NOM_CITE_OFFSETS, id::NOM_CITE_BLOB, "nom_cites")?,
            tombstones: Strings::open(&c, id::TOMBSTONE_OFFSETS, id::TOMBSTONE_BLOB, "tombstones")?,
            timeline_offsets: c.section_range::<u32>(id::TIMELINE_OFFSETS, "timeline offsets")?,
            timeline_steps: c.section_range::<StoredStep>(id::TIMELINE_STEPS, "timeline steps")?,
            commune_ranges: c.section_range::<[u32; 2]>(id::COMMUNE_RANGES, "commune ranges")?,
            departement_ranges: c
                .section_range::<[u32; 2]>(id::DEPARTEMENT_RANGES, "departement ranges")?,
            index_levels: c.section_range::<u32>(id::INDEX_LEVELS, "index levels")?,
            index_boxes: c.section_range::<[i32; 4]>(id::INDEX_BOXES, "index boxes")?,
            point_x: col(id::POINT_X, "point x", 4)?,
            point_y: col(id::POINT_Y, "point y", 4)?,
            point_record: col(id::POINT_RECORD, "point record", 4)?,
            point_cd_ref: col(id::POINT_CD_REF, "point cd_ref", 4)?,
            lon,
            len,
            c,
        };
        seg.validate(commune_count, departement_count)?;
        Ok(seg)
    }

    fn validate(&self, commune_count: usize, departement_count: usize) -> Result<(), StoreError> {
        let bad = |what: &str| Err(corrupt(&self.c, format!("{what} out of range")));
        if self.ids.len(&self.c) != self.len {
            return bad("id table length");
        }
        let t_off = self.c.slice::<u32>(&self.timeline_offsets);
        let steps = self.c.slice::<StoredStep>(&self.timeline_steps);
        let timelines_ok = t_off.first() == Some(&0)
            && t_off.last().is_some_and(|l| *l as usize == steps.len())
            && t_off.windows(2).all(|w| {
                w[0] < w[1] && {
                    let t = &steps[w[0] as usize..w[1] as usize];
                    t.last().is_some_and(|s| s.until == Day::FOREVER.0)
                        && t.windows(2).all(|p| p[0].until < p[1].until)
                }
            })
            && steps
                .iter()
                .all(|s| SensiNiveau::from_u8(s.level).is_some());
        if !timelines_ok {
            return bad("sensitivity timelines");
        }
        let n_timelines = t_off.len() - 1;
        if self.timeline().iter().any(|t| *t as usize >= n_timelines) {
            return bad("timeline index");
        }
        if self
            .dataset()
            .iter()
            .any(|d| *d as usize >= self.datasets.len(&self.c))
        {
            return bad("dataset index");
        }
        if self
            .nom_cite()
            .iter()
            .any(|d| *d as usize >= self.nom_cites.len(&self.c))
        {
            return bad("cited name index");
        }
        if self.commune().iter().any(|d| *d as usize >= commune_count) {
            return bad("commune index");
        }
        let ranges_ok = |r: &[[u32; 2]], n: usize| {
            r.len() == n && r.iter().all(|[a, b]| a <= b && *b as usize <= self.len)
        };
        if !ranges_ok(self.c.slice(&self.commune_ranges), commune_count)
            || !ranges_ok(self.c.slice(&self.departement_ranges), departement_count)
        {
            return bad("area ranges");
        }
        let levels = self.c.slice::<u32>(&self.index_levels);
        let boxes = self.c.slice::<[i32; 4]>(&self.index_boxes);
        let expected_leaves = self.len.div_ceil(BLOCK);
        let index_ok = levels.len() >= 2
            && levels[0] == 0
            && levels.windows(2).all(|w| w[0] <= w[1])
            && levels.last().is_some_and(|l| *l as usize == boxes.len())
            && levels[1] as usize == expected_leaves;
        if !index_ok {
            return bad("spatial index");
        }
        // The point order: a permutation of the records, sorted by key, each entry the
        // position and taxon of its record (so reading it can never disagree with them).
        let (xs, ys, rec, cd) = (
            self.point_x(),
            self.point_y(),
            self.point_record(),
            self.point_cd_ref(),
        );
        let mut seen = vec![false; self.len];
        let mut last = (0u64, 0u32);
        for i in 0..self.len {
            let key = (morton([xs[i], ys[i]]), rec[i]);
            let fresh = seen
                .get_mut(rec[i] as usize)
                .is_some_and(|s| !std::mem::replace(s, true));
            if !fresh || (i > 0 && key <= last) {
                return bad("point order");
            }
            last = key;
        }
        use rayon::prelude::*;
        let (lon, lat, cd_ref) = (self.lon_e7(), self.lat_e7(), self.cd_ref());
        let agrees = (0..self.len).into_par_iter().all(|i| {
            let r = rec[i] as usize;
            quantize_e7(lon[r], lat[r]) == [xs[i], ys[i]] && cd[i] == cd_ref[r]
        });
        if !agrees {
            return bad("point order");
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        self.c.path()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn size_bytes(&self) -> u64 {
        self.c.len_bytes()
    }

    pub fn meta(&self) -> &str {
        std::str::from_utf8(self.c.bytes(&self.meta)).unwrap_or("")
    }

    /// The point order (see [`point_order`]): quantized x of each entry.
    pub fn point_x(&self) -> &[u32] {
        self.c.slice(&self.point_x)
    }
    pub fn point_y(&self) -> &[u32] {
        self.c.slice(&self.point_y)
    }
    /// The record of each point-order entry.
    pub fn point_record(&self) -> &[u32] {
        self.c.slice(&self.point_record)
    }
    /// The cd_ref of each point-order entry's record.
    pub fn point_cd_ref(&self) -> &[u32] {
        self.c.slice(&self.point_cd_ref)
    }
    pub fn lon_e7(&self) -> &[i32] {
        self.c.slice(&self.lon)
    }
    pub fn lat_e7(&self) -> &[i32] {
        self.c.slice(&self.lat)
    }
    pub fn cd_nom(&self) -> &[u32] {
        self.c.slice(&self.cd_nom)
    }
    pub fn cd_ref(&self) -> &[u32] {
        self.c.slice(&self.cd_ref)
    }
    pub fn date_debut(&self) -> &[Day] {
        self.c.slice(&self.date_debut)
    }
    pub fn date_span(&self) -> &[u16] {
        self.c.slice(&self.date_span)
    }
    pub fn commune(&self) -> &[u16] {
        self.c.slice(&self.commune)
    }
    pub fn timeline(&self) -> &[u32] {
        self.c.slice(&self.timeline)
    }
    pub fn dataset(&self) -> &[u32] {
        self.c.slice(&self.dataset)
    }
    pub fn nom_cite(&self) -> &[u32] {
        self.c.slice(&self.nom_cite)
    }
    /// `diffusionNiveauPrecision`, [`ABSENT`] when not given.
    pub fn producer(&self) -> &[u8] {
        self.c.slice(&self.producer)
    }
    /// `dSPublique` as [`crate::sensitivity::DsPublique`] bytes.
    pub fn ds_publique(&self) -> &[u8] {
        self.c.slice(&self.ds_publique)
    }
    pub fn statut_biologique(&self) -> &[u8] {
        self.c.slice(&self.statut_bio)
    }
    pub fn comportement(&self) -> &[u8] {
        self.c.slice(&self.comportement)
    }
    /// The file's own `cdRef` (0: not given).
    pub fn cd_ref_given(&self) -> &[u32] {
        self.c.slice(&self.cd_ref_given)
    }
    /// The file's own `sensiNiveau` byte ([`ABSENT`]: not given).
    pub fn declared(&self) -> &[u8] {
        self.c.slice(&self.declared)
    }

    /// Record `i` as a row to write again (compaction, re-evaluation); dictionary indexes are
    /// this segment's and must be remapped by the caller.
    pub fn row(&self, i: usize) -> RecordRow {
        RecordRow {
            id: self.id(i).to_string(),
            lon_e7: self.lon_e7()[i],
            lat_e7: self.lat_e7()[i],
            cd_nom: self.cd_nom()[i],
            cd_ref: self.cd_ref()[i],
            date_debut: self.date_debut()[i],
            date_span: self.date_span()[i],
            commune: self.commune()[i],
            timeline: self.timeline()[i],
            dataset: self.dataset()[i],
            nom_cite: self.nom_cite()[i],
            producer: self.producer()[i],
            ds_publique: self.ds_publique()[i],
            statut_biologique: self.statut_biologique()[i],
            comportement: self.comportement()[i],
            cd_ref_given: self.cd_ref_given()[i],
            declared: self.declared()[i],
        }
    }

    /// Entries of the datasets table.
    pub fn dataset_count(&self) -> usize {
        self.datasets.len(&self.c)
    }

    /// Entries of the cited names table.
    pub fn nom_cite_count(&self) -> usize {
        self.nom_cites.len(&self.c)
    }

    /// Dictionary value `d` of the datasets table.
    pub fn dataset_value(&self, d: u32) -> &str {
        self.datasets.get(&self.c, d as usize)
    }

    /// Dictionary value `n` of the cited names table.
    pub fn nom_cite_value(&self, n: u32) -> &str {
        self.nom_cites.get(&self.c, n as usize)
    }

    pub fn date_fin(&self, i: usize) -> Day {
        Day(self.date_debut()[i].0 + i32::from(self.date_span()[i]))
    }

    pub fn id(&self, i: usize) -> &str {
        self.ids.get(&self.c, i)
    }

    /// [`Segment::id`] as bytes (UTF-8, checked at open): a tile of thousands of points
    /// checks their ids in one pass instead of one call each.
    pub fn id_bytes(&self, i: usize) -> &[u8] {
        self.ids.get_bytes(&self.c, i)
    }

    pub fn dataset_name(&self, i: usize) -> &str {
        self.datasets.get(&self.c, self.dataset()[i] as usize)
    }

    pub fn nom_cite_text(&self, i: usize) -> &str {
        self.nom_cites.get(&self.c, self.nom_cite()[i] as usize)
    }

    pub fn tombstones(&self) -> impl Iterator<Item = &str> {
        (0..self.tombstones.len(&self.c)).map(|i| self.tombstones.get(&self.c, i))
    }

    /// The sensitivity steps of record `i`.
    pub fn steps(&self, i: usize) -> &[StoredStep] {
        self.timeline_value(self.timeline()[i])
    }

    /// Timeline `t` of this segment's timeline table.
    pub fn timeline_value(&self, t: u32) -> &[StoredStep] {
        let t = t as usize;
        let o = self.c.slice::<u32>(&self.timeline_offsets);
        &self.c.slice::<StoredStep>(&self.timeline_steps)[o[t] as usize..o[t + 1] as usize]
    }

    /// The sensitivity step of record `i` in force on `day`.
    pub fn step_at(&self, i: usize, day: Day) -> SensitivityStep {
        let steps = self.steps(i);
        let k = steps
            .partition_point(|s| s.until <= day.0)
            .min(steps.len() - 1);
        steps[k].to_step()
    }

    /// Records of commune `c` (index in the areas file).
    pub fn commune_records(&self, c: usize) -> Range<usize> {
        let [a, b] = self.c.slice::<[u32; 2]>(&self.commune_ranges)[c];
        a as usize..b as usize
    }

    /// Records of department `d` (index in the areas file).
    pub fn departement_records(&self, d: usize) -> Range<usize> {
        let [a, b] = self.c.slice::<[u32; 2]>(&self.departement_ranges)[d];
        a as usize..b as usize
    }

    /// Appends to `out` the record ranges of the blocks whose box meets `bbox`
    /// (`[min_lon, min_lat, max_lon, max_lat]` in 1e-7 degrees). Records inside those ranges
    /// may still lie outside `bbox`: callers test each point.
    pub fn blocks_in(&self, bbox: [i32; 4], out: &mut Vec<Range<usize>>) {
        let levels = self.c.slice::<u32>(&self.index_levels);
        let boxes = self.c.slice::<[i32; 4]>(&self.index_boxes);
        let meets =
            |b: &[i32; 4]| b[0] <= bbox[2] && bbox[0] <= b[2] && b[1] <= bbox[3] && bbox[1] <= b[3];
        if self.len == 0 {
            return;
        }
        // (level, index within level)
        let top = levels.len() - 2;
        let mut stack = vec![(top, 0usize)];
        while let Some((level, i)) = stack.pop() {
            let b = &boxes[levels[level] as usize + i];
            if !meets(b) {
                continue;
            }
            if level == 0 {
                let start = i * BLOCK;
                let end = (start + BLOCK).min(self.len);
                match out.last_mut() {
                    Some(last) if last.end == start => last.end = end,
                    _ => out.push(start..end),
                }
                continue;
            }
            let below = (levels[level] - levels[level - 1]) as usize;
            let first = i * FANOUT;
            let last = (first + FANOUT).min(below);
            // Reverse so blocks come out in record order.
            stack.extend((first..last).rev().map(|j| (level - 1, j)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const COMMUNES: usize = 7;
    /// Commune → department: communes 0–3 in department 0, 4–6 in department 1.
    const DEPTS: [u16; COMMUNES] = [0, 0, 0, 0, 1, 1, 1];

    fn record(i: usize, commune: u16, lon_e7: i32, lat_e7: i32) -> RecordRow {
        RecordRow {
            id: format!("id-{i}-é"),
            lon_e7,
            lat_e7,
            cd_nom: 1000 + i as u32,
            cd_ref: 2000 + i as u32,
            date_debut: Day(10_000 + i as i32),
            date_span: (i % 3) as u16,
            commune,
            timeline: (i % 2) as u32,
            dataset: 0,
            nom_cite: (i % 2) as u32,
            producer: if i.is_multiple_of(4) {
                ABSENT
            } else {
                (i % 6) as u8
            },
            ds_publique: (i % 5) as u8,
            statut_biologique: ABSENT,
            comportement: 3,
            cd_ref_given: (i % 3) as u32,
            declared: if i.is_multiple_of(2) { ABSENT } else { 3 },
        }
    }

    fn contents(points: Vec<(u16, i32, i32)>) -> SegmentContents {
        let mut records: Vec<RecordRow> = points
            .into_iter()
            .enumerate()
            .map(|(i, (c, x, y))| record(i, c, x, y))
            .collect();
        // Grouped by department, then commune, as the pipeline sorts them.
        records.sort_by_key(|r| (DEPTS[r.commune as usize], r.commune));
        let sensitive = vec![
            SensitivityStep {
                until: Day(20_000),
                level: SensiNiveau::N3,
                rule_id: 7,
                cd_sl: 9,
                alert: true,
                declared: false,
            },
            SensitivityStep::NOT_SENSITIVE,
        ];
        SegmentContents {
            records,
            datasets: vec!["jdd-1".into()],
            nom_cites: vec!["Aquila chrysaetos".into(), "Bubo bubo".into()],
            timelines: vec![vec![SensitivityStep::NOT_SENSITIVE], sensitive],
            commune_departements: DEPTS.to_vec(),
            departement_count: 2,
            tombstones: vec!["old-id".into()],
            meta: "{}".into(),
        }
    }

    fn points() -> impl Strategy<Value = Vec<(u16, i32, i32)>> {
        prop::collection::vec(
            (
                0..COMMUNES as u16,
                40_000_000..60_000_000i32,
                430_000_000..460_000_000i32,
            ),
            0..700,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn columns_read_back_as_written(pts in points()) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.flou");
            let c = contents(pts);
            write_segment(&path, &c).unwrap();
            let s = Segment::open(&path, COMMUNES, 2).unwrap();
            prop_assert_eq!(s.len(), c.records.len());
            for (i, r) in c.records.iter().enumerate() {
                prop_assert_eq!(s.id(i), r.id.as_str());
                prop_assert_eq!((s.lon_e7()[i], s.lat_e7()[i]), (r.lon_e7, r.lat_e7));
                prop_assert_eq!((s.cd_nom()[i], s.cd_ref()[i]), (r.cd_nom, r.cd_ref));
                prop_assert_eq!(s.date_fin(i), Day(r.date_debut.0 + i32::from(r.date_span)));
                prop_assert_eq!(s.nom_cite_text(i), c.nom_cites[r.nom_cite as usize].as_str());
                prop_assert_eq!(s.producer()[i], r.producer);
                prop_assert_eq!(s.ds_publique()[i], r.ds_publique);
                prop_assert_eq!(&s.row(i), r);
                let steps: Vec<SensitivityStep> = s.steps(i).iter().map(|x| x.to_step()).collect();
                prop_assert_eq!(&steps, &c.timelines[r.timeline as usize]);
            }
            for com in 0..COMMUNES {
                let range = s.commune_records(com);
                prop_assert!(s.commune()[range.clone()].iter().all(|x| *x as usize == com));
                let n = c.records.iter().filter(|r| r.commune as usize == com).count();
                prop_assert_eq!(range.len(), n);
            }
            for d in 0..2u16 {
                let n = c.records.iter().filter(|r| DEPTS[r.commune as usize] == d).count();
                prop_assert_eq!(s.departement_records(d as usize).len(), n);
            }
            prop_assert_eq!(s.tombstones().collect::<Vec<_>>(), vec!["old-id"]);
        }

        #[test]
        fn spatial_index_finds_exactly_the_points_a_scan_finds(
            pts in points(),
            q in (40_000_000..60_000_000i32, 430_000_000..460_000_000i32, 0..8_000_000i32, 0..8_000_000i32),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.flou");
            let c = contents(pts);
            write_segment(&path, &c).unwrap();
            let s = Segment::open(&path, COMMUNES, 2).unwrap();
            let bbox = [q.0, q.1, q.0 + q.2, q.1 + q.3];
            let inside = |i: usize| {
                let (x, y) = (s.lon_e7()[i], s.lat_e7()[i]);
                x >= bbox[0] && x <= bbox[2] && y >= bbox[1] && y <= bbox[3]
            };
            let mut ranges = Vec::new();
            s.blocks_in(bbox, &mut ranges);
            let found: Vec<usize> = ranges.into_iter().flatten().filter(|i| inside(*i)).collect();
            let expected: Vec<usize> = (0..s.len()).filter(|i| inside(*i)).collect();
            prop_assert_eq!(found, expected);
        }
    }

    #[test]
    fn records_not_grouped_by_commune_are_refused_at_write() {
        let mut c = contents(vec![
            (0, 50_000_000, 440_000_000),
            (1, 50_000_000, 440_000_000),
        ]);
        c.records.push(record(9, 0, 50_000_000, 440_000_000));
        let dir = tempfile::tempdir().unwrap();
        let e = write_segment(&dir.path().join("s.flou"), &c)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not grouped by commune"), "{e}");
    }

    #[test]
    fn a_segment_naming_a_commune_the_areas_lack_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.flou");
        write_segment(&path, &contents(vec![(6, 50_000_000, 440_000_000)])).unwrap();
        let e = Segment::open(&path, 5, 2).unwrap_err().to_string();
        assert!(e.contains("out of range"), "{e}");
    }
}
