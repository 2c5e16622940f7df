//! The day index: what the public diffusion of every record is on one day, under one
//! policy, computed once (in parallel) and shared by all requests of that day.
//!
//! It lets the view find a tile's records by diffusion area without scanning departments:
//! precise candidates come from the segment's R-tree; commune-blurred records from their
//! commune's record range; grid-blurred records from a small packed index per grid size;
//! department-blurred records from a list per department. Agents' grants can only make a
//! record finer (precise), so the same lists serve them.
//!
//! It also holds the public, unfiltered tallies per aggregation unit and per blurred area,
//! so low-zoom public tiles cost a lookup instead of a scan of the store.

use super::diffusion::{public_precision, DiffusionArea, Precision, PublicPolicy, RecordFacts};
use super::points::{point_code, DEAD_LEVEL};
use crate::date::Day;
use crate::geo::grid::{Cell, GridSize};
use crate::geo::BBox;
use crate::store::segment::{BLOCK, E7};
use crate::store::Store;
use rayon::prelude::*;
use std::collections::HashMap;

/// [`Precision`] as one byte.
pub fn precision_code(p: Precision) -> u8 {
    match p {
        Precision::Precise => 0,
        Precision::Grid(s) => 1 + grid_slot(s) as u8,
        Precision::Commune => 7,
        Precision::Departement => 8,
        Precision::Hidden => 9,
    }
}

pub fn precision_of_code(c: u8) -> Precision {
    match c {
        0 => Precision::Precise,
        1..=6 => Precision::Grid(GridSize::ALL[(c - 1) as usize]),
        7 => Precision::Commune,
        8 => Precision::Departement,
        _ => Precision::Hidden,
    }
}

fn grid_slot(s: GridSize) -> usize {
    GridSize::ALL.iter().position(|g| *g == s).unwrap_or(0)
}

/// Records blurred to one grid size, in store order, with one position box per block of
/// [`BLOCK`] of them (a box index is all a tile query needs at these counts).
#[derive(Debug, Default)]
pub struct GridList {
    pub records: Vec<u32>,
    pub boxes: Vec<[i32; 4]>,
}

impl GridList {
    fn build(records: Vec<u32>, lon: &[i32], lat: &[i32]) -> Self {
        let boxes = records
            .chunks(BLOCK)
            .map(|c| {
                c.iter()
                    .fold([i32::MAX, i32::MAX, i32::MIN, i32::MIN], |b, r| {
                        let (x, y) = (lon[*r as usize], lat[*r as usize]);
                        [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)]
                    })
            })
            .collect();
        GridList { records, boxes }
    }

    /// Records whose position lies in `bbox` (1e-7 degrees), by block.
    pub fn candidates(&self, bbox: [i32; 4]) -> impl Iterator<Item = u32> + '_ {
        self.boxes
            .iter()
            .enumerate()
            .filter(move |(_, b)| {
                b[0] <= bbox[2] && bbox[0] <= b[2] && b[1] <= bbox[3] && bbox[1] <= b[3]
            })
            .flat_map(move |(i, _)| {
                let end = ((i + 1) * BLOCK).min(self.records.len());
                self.records[i * BLOCK..end].iter().copied()
            })
    }
}

#[derive(Debug, Default)]
pub struct SegmentDayIndex {
    /// Public precision code of every record; dead records are hidden.
    pub public: Vec<u8>,
    /// Per grid size (in [`GridSize::ALL`] order), the records blurred to it.
    pub grids: Vec<GridList>,
    /// Per department, the records blurred to it.
    pub departements: Vec<Vec<u32>>,
    /// Per cd_ref, its records in store order: a taxon-filtered request visits only these.
    pub taxa: TaxonRecords,
    /// One byte per entry of the segment's point order ([`super::points::point_code`]):
    /// public precision and level, read in sequence with the points of a dense tile.
    pub points: Vec<u8>,
    /// Per cd_ref, its entries of the point order (positions, in point order): a tile
    /// filtered by taxa reads only these.
    pub taxon_points: TaxonRecords,
}

/// Indexes per cd_ref (records, or point-order entries), in one flat list grouped by taxon
/// (ascending within a taxon): four bytes each, where a map of vectors cost half as much
/// again in growth slack.
#[derive(Debug, Default)]
pub struct TaxonRecords {
    /// The cd_refs present, sorted.
    taxa: Vec<u32>,
    /// `records[starts[i]..starts[i + 1]]` are the records of `taxa[i]`.
    starts: Vec<u32>,
    records: Vec<u32>,
}

impl TaxonRecords {
    /// Groups the records of a segment by cd_ref (a counting sort: no per-taxon vectors).
    pub fn build(cd_ref: &[u32]) -> Self {
        let mut per: HashMap<u32, u32> = HashMap::new();
        for c in cd_ref {
            *per.entry(*c).or_default() += 1;
        }
        let mut taxa: Vec<u32> = per.keys().copied().collect();
        taxa.sort_unstable();
        let mut starts = Vec::with_capacity(taxa.len() + 1);
        let mut next = 0u32;
        for t in &taxa {
            starts.push(next);
            let n = per.get(t).copied().unwrap_or(0);
            // Where each taxon's next record goes.
            per.insert(*t, next);
            next += n;
        }
        starts.push(next);
        let mut records = vec![0u32; cd_ref.len()];
        for (r, c) in cd_ref.iter().enumerate() {
            if let Some(at) = per.get_mut(c) {
                if let Some(slot) = records.get_mut(*at as usize) {
                    *slot = r as u32;
                }
                *at += 1;
            }
        }
        TaxonRecords {
            taxa,
            starts,
            records,
        }
    }

    /// The indexes of `cd_ref` (records in store order, or point-order entries in point
    /// order), ascending.
    pub fn get(&self, cd_ref: &u32) -> Option<&[u32]> {
        let i = self.taxa.binary_search(cd_ref).ok()?;
        let (a, b) = (*self.starts.get(i)?, *self.starts.get(i + 1)?);
        self.records.get(a as usize..b as usize)
    }

    /// Number of distinct cd_refs.
    pub fn len(&self) -> usize {
        self.taxa.len()
    }

    pub fn is_empty(&self) -> bool {
        self.taxa.is_empty()
    }

    fn heap_bytes(&self) -> usize {
        vec_bytes(&self.taxa) + vec_bytes(&self.starts) + vec_bytes(&self.records)
    }
}

/// Observations and distinct taxa of one unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub observations: u64,
    pub taxa: u64,
}

/// Public, unfiltered counts per unit, for low-zoom tiles.
#[derive(Debug, Default)]
pub struct PublicTallies {
    /// Per department (aggregates at z ≤ departement_max).
    pub departements: Vec<Tally>,
    /// Per aggregation grid (10 km, and 1 km when the zoom plan has that stage).
    pub cells: Vec<CellTallies>,
    /// The same counts split by taxon, for tiles filtered by taxa only.
    pub by_taxon: TaxonTallies,
    /// Every blurred diffusion area's counts, for the `blurred` layer of point zooms.
    pub areas: AreaTallies,
}

/// Side, in degrees, of the buckets [`AreaTallies`] finds areas by.
const AREA_BUCKET_DEG: f64 = 0.25;

/// Observations and distinct taxa of every diffusion area some record is blurred to (all
/// records with that area, whichever tile asks), found by place through buckets of
/// [`AREA_BUCKET_DEG`], and split by taxon for taxon filters.
#[derive(Debug, Default)]
pub struct AreaTallies {
    /// (area, lon/lat box, tally), sorted by area.
    areas: Vec<(DiffusionArea, BBox, Tally)>,
    /// Per bucket, the positions in `areas` of the areas whose box meets it.
    buckets: HashMap<(i32, i32), Vec<u32>>,
    by_taxon: TaxonCounts<DiffusionArea>,
}

fn bucket_span(b: &BBox) -> (i32, i32, i32, i32) {
    let at = |v: f64| (v / AREA_BUCKET_DEG).floor() as i32;
    (at(b.min[0]), at(b.max[0]), at(b.min[1]), at(b.max[1]))
}

impl AreaTallies {
    /// From every area's tally and box and the (taxon, area) counts.
    pub fn build(
        mut areas: Vec<(DiffusionArea, BBox, Tally)>,
        by_taxon: HashMap<(u32, DiffusionArea), u64>,
    ) -> Self {
        areas.sort_unstable_by_key(|a| a.0);
        areas.shrink_to_fit();
        let mut buckets: HashMap<(i32, i32), Vec<u32>> = HashMap::new();
        for (i, (_, b, _)) in areas.iter().enumerate() {
            let (x0, x1, y0, y1) = bucket_span(b);
            for x in x0..=x1 {
                for y in y0..=y1 {
                    buckets.entry((x, y)).or_default().push(i as u32);
                }
            }
        }
        for v in buckets.values_mut() {
            v.shrink_to_fit();
        }
        AreaTallies {
            areas,
            buckets,
            by_taxon: TaxonCounts::from_counts(by_taxon),
        }
    }

    /// The areas whose box meets `bbox`, each once, with their tally; for a filter on
    /// `taxa`, the tally of those taxa (areas without any of them left out).
    pub fn meeting(
        &self,
        bbox: &BBox,
        taxa: Option<&std::collections::BTreeSet<u32>>,
    ) -> Vec<(DiffusionArea, Tally)> {
        let (x0, x1, y0, y1) = bucket_span(bbox);
        let mut found: Vec<u32> = Vec::new();
        if i64::from(x1 - x0 + 1) * i64::from(y1 - y0 + 1) > self.buckets.len() as i64 {
            found.extend(0..self.areas.len() as u32);
        } else {
            for x in x0..=x1 {
                for y in y0..=y1 {
                    found.extend(self.buckets.get(&(x, y)).into_iter().flatten());
                }
            }
            found.sort_unstable();
            found.dedup();
        }
        found
            .into_iter()
            .filter_map(|i| self.areas.get(i as usize))
            .filter(|(_, b, _)| b.intersects(bbox))
            .filter_map(|(a, _, t)| match taxa {
                None => Some((*a, *t)),
                Some(taxa) => {
                    let mut tally = Tally::default();
                    for cd in taxa {
                        let n = self.by_taxon.count(*cd, a);
                        if n > 0 {
                            tally.observations += n;
                            tally.taxa += 1;
                        }
                    }
                    (tally.observations > 0).then_some((*a, tally))
                }
            })
            .collect()
    }

    fn heap_bytes(&self) -> usize {
        vec_bytes(&self.areas)
            + map_bytes(&self.buckets)
            + self.buckets.values().map(vec_bytes).sum::<usize>()
            + self.by_taxon.heap_bytes()
    }
}

/// Observations per taxon (cd_ref) and unit. A taxon filter's tally of a unit is the sum
/// over its taxa, and its number of taxa the number of its taxa with observations there:
/// records of different cd_refs never share a taxon, so the split loses nothing.
#[derive(Debug, Default)]
pub struct TaxonTallies {
    pub departements: TaxonCounts<u16>,
    /// Per grid of [`PublicTallies::cells`], in the same order: cells, then the areas no
    /// cell of that grid can hold.
    pub cells: Vec<TaxonCells>,
}

#[derive(Debug, Default)]
pub struct TaxonCells {
    pub units: TaxonCounts<Cell>,
    pub coarse: TaxonCounts<DiffusionArea>,
}

/// A count read from [`TaxonCounts`] (stored narrower): dereferences to the `u64` it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count(pub u64);

impl std::ops::Deref for Count {
    type Target = u64;
    fn deref(&self) -> &u64 {
        &self.0
    }
}

/// Observations per (taxon, unit), flat: the units are kept once in a dictionary, and each
/// (unit, count) pair takes 8 bytes — instead of 24 in a vector per taxon, plus its growth
/// slack and a hash table. Millions of pairs at 10 M records.
#[derive(Debug)]
pub struct TaxonCounts<U> {
    /// The cd_refs with observations, sorted.
    taxa: Vec<u32>,
    /// `taxa[i]`'s pairs are `starts[i]..starts[i + 1]`.
    starts: Vec<usize>,
    /// Distinct units, sorted; pairs name them by position.
    units: Vec<U>,
    pairs: Pairs,
}

impl<U> Default for TaxonCounts<U> {
    fn default() -> Self {
        TaxonCounts {
            taxa: Vec::new(),
            starts: vec![0],
            units: Vec::new(),
            pairs: Pairs::Narrow(Vec::new()),
        }
    }
}

/// (unit position, count) pairs: two u32 each, or two u64 when one does not fit (more
/// than 4 G observations of a taxon in a unit: never seen, but then still exact).
#[derive(Debug)]
enum Pairs {
    Narrow(Vec<[u32; 2]>),
    Wide(Vec<[u64; 2]>),
}

impl Pairs {
    fn get(&self, i: usize) -> Option<(usize, u64)> {
        match self {
            Pairs::Narrow(v) => v.get(i).map(|p| (p[0] as usize, u64::from(p[1]))),
            Pairs::Wide(v) => v.get(i).map(|p| (p[0] as usize, p[1])),
        }
    }

    fn len(&self) -> usize {
        match self {
            Pairs::Narrow(v) => v.len(),
            Pairs::Wide(v) => v.len(),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Pairs::Narrow(v) => vec_bytes(v),
            Pairs::Wide(v) => vec_bytes(v),
        }
    }
}

impl<U: Copy + Ord + std::hash::Hash> TaxonCounts<U> {
    /// From (cd_ref, unit) → observations.
    pub fn from_counts(counts: HashMap<(u32, U), u64>) -> Self {
        let mut units: Vec<U> = counts.keys().map(|(_, u)| *u).collect();
        units.sort_unstable();
        units.dedup();
        units.shrink_to_fit();
        let position: HashMap<U, usize> = units.iter().enumerate().map(|(i, u)| (*u, i)).collect();
        let mut rows: Vec<(u32, usize, u64)> = counts
            .into_iter()
            .filter_map(|((t, u), n)| position.get(&u).map(|p| (t, *p, n)))
            .collect();
        rows.sort_unstable();
        let mut taxa = Vec::new();
        let mut starts = Vec::new();
        for (i, (t, _, _)) in rows.iter().enumerate() {
            if taxa.last() != Some(t) {
                taxa.push(*t);
                starts.push(i);
            }
        }
        starts.push(rows.len());
        taxa.shrink_to_fit();
        starts.shrink_to_fit();
        let mut narrow = Vec::with_capacity(rows.len());
        for (_, p, n) in &rows {
            match (u32::try_from(*p), u32::try_from(*n)) {
                (Ok(p), Ok(n)) => narrow.push([p, n]),
                _ => break,
            }
        }
        let pairs = if narrow.len() == rows.len() {
            Pairs::Narrow(narrow)
        } else {
            Pairs::Wide(rows.iter().map(|(_, p, n)| [*p as u64, *n]).collect())
        };
        TaxonCounts {
            taxa,
            starts,
            units,
            pairs,
        }
    }

    /// The units where `cd_ref` has observations, with their number.
    pub fn get(&self, cd_ref: &u32) -> Option<impl Iterator<Item = (&U, Count)> + '_> {
        let i = self.taxa.binary_search(cd_ref).ok()?;
        let (a, b) = (*self.starts.get(i)?, *self.starts.get(i + 1)?);
        Some((a..b).filter_map(move |k| {
            let (p, n) = self.pairs.get(k)?;
            Some((self.units.get(p)?, Count(n)))
        }))
    }

    /// Observations of `cd_ref` in `unit` (0 when none).
    pub fn count(&self, cd_ref: u32, unit: &U) -> u64 {
        let (Ok(i), Ok(p)) = (
            self.taxa.binary_search(&cd_ref),
            self.units.binary_search(unit),
        ) else {
            return 0;
        };
        let (Some(a), Some(b)) = (self.starts.get(i), self.starts.get(i + 1)) else {
            return 0;
        };
        // A taxon's pairs are sorted by unit position.
        let (mut lo, mut hi) = (*a, *b);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.pairs.get(mid) {
                Some((q, n)) if q == p => return n,
                Some((q, _)) if q < p => lo = mid + 1,
                _ => hi = mid,
            }
        }
        0
    }

    /// Number of (taxon, unit) pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.len() == 0
    }

    fn heap_bytes(&self) -> usize {
        vec_bytes(&self.taxa)
            + vec_bytes(&self.starts)
            + vec_bytes(&self.units)
            + self.pairs.heap_bytes()
    }
}

/// The 10 km blocks (see [`super::view::block_of`]) a lon/lat box may meet, one block of
/// margin on each side: (east min, east max, north min, north max).
pub fn block_range(bbox: &BBox) -> (i32, i32, i32, i32) {
    // The box's extent in Lambert-93, plus a block.
    let [x0, y0, x1, y1] = crate::geo::world_shapes::lambert_extent(bbox);
    let lo = |v: f64| (v / 10_000.0).floor() as i32 - 1;
    let hi = |v: f64| (v / 10_000.0).floor() as i32 + 1;
    (lo(x0), hi(x1), lo(y0), hi(y1))
}

/// A cell, its lon/lat box and its counts.
pub type CellTally = (Cell, BBox, Tally);

/// Counts per cell of one grid, bucketed by 10 km block for tile lookups, and per
/// diffusion area for the records no cell of that grid can hold (the `blurred` layer).
#[derive(Debug)]
pub struct CellTallies {
    pub size: GridSize,
    pub by_block: HashMap<(i32, i32), Vec<CellTally>>,
    pub coarse: Vec<(DiffusionArea, BBox, Tally)>,
}

impl CellTallies {
    /// Cells whose 10 km block may meet `bbox` (lon/lat): the caller tests each box.
    pub fn meeting(&self, bbox: &BBox) -> impl Iterator<Item = &CellTally> {
        let (e0, e1, n0, n1) = block_range(bbox);
        // A box far larger than the data: scanning every block is cheaper than every key.
        let huge = (i64::from(e1) - i64::from(e0)) * (i64::from(n1) - i64::from(n0))
            > self.by_block.len() as i64;
        let keys: Vec<(i32, i32)> = if huge {
            self.by_block
                .keys()
                .copied()
                .filter(|(e, n)| (e0..=e1).contains(e) && (n0..=n1).contains(n))
                .collect()
        } else {
            (e0..=e1)
                .flat_map(|e| (n0..=n1).map(move |n| (e, n)))
                .collect()
        };
        keys.into_iter()
            .filter_map(|k| self.by_block.get(&k))
            .flatten()
    }
}

#[derive(Debug)]
pub struct DayIndex {
    pub day: Day,
    pub policy: PublicPolicy,
    pub generation: u64,
    pub segments: Vec<SegmentDayIndex>,
    pub tallies: PublicTallies,
    /// The same counts as seen by a caller who sees every record precisely (an agent with a
    /// grant that [`super::diffusion::grant_covers_every_record`]); None if not built.
    pub tallies_all_precise: Option<PublicTallies>,
}

/// Heap bytes of a day index, by part (capacities, not lengths: what the allocator holds
/// for it; hash tables are estimated from their capacity and hashbrown's layout).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexBytes {
    /// Public precision codes, one byte per record.
    pub public: usize,
    /// The point order's codes, one byte per record.
    pub points: usize,
    /// The point order's entries per taxon, four bytes per record.
    pub taxon_points: usize,
    /// Grid-blurred record lists and their block boxes.
    pub grids: usize,
    /// Department-blurred record lists.
    pub departements: usize,
    /// Per-taxon record lists.
    pub taxa: usize,
    /// Public tallies (per unit and per taxon).
    pub tallies: usize,
    /// All-precise tallies.
    pub tallies_all_precise: usize,
}

impl IndexBytes {
    pub fn total(&self) -> usize {
        self.public
            + self.points
            + self.taxon_points
            + self.grids
            + self.departements
            + self.taxa
            + self.tallies
            + self.tallies_all_precise
    }

    /// (part name, bytes), for the metrics.
    pub fn parts(&self) -> [(&'static str, usize); 8] {
        [
            ("public", self.public),
            ("points", self.points),
            ("taxon_points", self.taxon_points),
            ("grids", self.grids),
            ("departements", self.departements),
            ("taxa", self.taxa),
            ("tallies", self.tallies),
            ("tallies_all_precise", self.tallies_all_precise),
        ]
    }
}

fn vec_bytes<T>(v: &Vec<T>) -> usize {
    v.capacity() * std::mem::size_of::<T>()
}

/// hashbrown: a power-of-two number of buckets, at most 7/8 full, one control byte per
/// bucket plus a group's worth.
fn map_bytes<K, V>(m: &HashMap<K, V>) -> usize {
    if m.capacity() == 0 {
        return 0;
    }
    let buckets = (m.capacity() * 8 / 7).next_power_of_two();
    buckets * (std::mem::size_of::<(K, V)>() + 1) + 16
}

impl PublicTallies {
    /// Heap bytes (see [`IndexBytes`]).
    pub fn heap_bytes(&self) -> usize {
        let cells: usize = self
            .cells
            .iter()
            .map(|c| {
                map_bytes(&c.by_block)
                    + c.by_block.values().map(vec_bytes).sum::<usize>()
                    + vec_bytes(&c.coarse)
            })
            .sum();
        let t = &self.by_taxon;
        let by_taxon = t.departements.heap_bytes()
            + vec_bytes(&t.cells)
            + t.cells
                .iter()
                .map(|g| g.units.heap_bytes() + g.coarse.heap_bytes())
                .sum::<usize>();
        vec_bytes(&self.departements)
            + vec_bytes(&self.cells)
            + cells
            + by_taxon
            + self.areas.heap_bytes()
    }
}

impl DayIndex {
    /// Heap bytes held by this index, by part.
    pub fn heap_bytes(&self) -> IndexBytes {
        let mut b = IndexBytes {
            tallies: self.tallies.heap_bytes(),
            tallies_all_precise: self
                .tallies_all_precise
                .as_ref()
                .map_or(0, PublicTallies::heap_bytes),
            ..IndexBytes::default()
        };
        for s in &self.segments {
            b.public += vec_bytes(&s.public);
            b.points += vec_bytes(&s.points);
            b.taxon_points += s.taxon_points.heap_bytes();
            b.grids += vec_bytes(&s.grids)
                + s.grids
                    .iter()
                    .map(|g| vec_bytes(&g.records) + vec_bytes(&g.boxes))
                    .sum::<usize>();
            b.departements +=
                vec_bytes(&s.departements) + s.departements.iter().map(vec_bytes).sum::<usize>();
            b.taxa += s.taxa.heap_bytes();
        }
        b
    }

    /// Computes the index of `store` for `day` under `policy`. The tallies are filled by
    /// [`super::view::AccessView::public_tallies`], the same code the tiles use.
    pub fn build(store: &Store, day: Day, policy: PublicPolicy) -> DayIndex {
        let areas = store.areas();
        let nd = areas.departement_count();
        let segments = store
            .segments()
            .iter()
            .enumerate()
            .map(|(si, seg)| {
                let (producer, dsp, commune) = (seg.producer(), seg.ds_publique(), seg.commune());
                // Public precision code and point code (level) of every record.
                let coded: Vec<(u8, u8)> = (0..seg.len())
                    .into_par_iter()
                    .map(|r| {
                        let hidden = precision_code(Precision::Hidden);
                        if !store.is_live(si, r) {
                            return (hidden, point_code(hidden, None));
                        }
                        let c = commune[r] as usize;
                        let level = seg.step_at(r, day).level;
                        let facts = RecordFacts {
                            lon: f64::from(seg.lon_e7()[r]) / E7,
                            lat: f64::from(seg.lat_e7()[r]) / E7,
                            commune: c as u16,
                            departement: areas.commune_departement(c),
                            commune_code: "",
                            departement_code: "",
                            cd_ref: 0,
                            date_debut: Day(0),
                            date_fin: Day(0),
                            dataset: "",
                            level,
                            producer: producer[r],
                            ds_publique: dsp[r],
                        };
                        let code = precision_code(public_precision(&facts, &policy));
                        (code, point_code(code, Some(level)))
                    })
                    .collect();
                let points: Vec<u8> = seg
                    .point_record()
                    .par_iter()
                    .map(|r| coded.get(*r as usize).map_or(DEAD_LEVEL << 4, |c| c.1))
                    .collect();
                let public: Vec<u8> = coded.iter().map(|c| c.0).collect();
                drop(coded);
                let mut grid_records: Vec<Vec<u32>> = vec![Vec::new(); GridSize::ALL.len()];
                let mut departements = vec![Vec::new(); nd];
                for (r, code) in public.iter().enumerate() {
                    match precision_of_code(*code) {
                        Precision::Grid(s) => grid_records[grid_slot(s)].push(r as u32),
                        Precision::Departement => departements
                            [areas.commune_departement(commune[r] as usize) as usize]
                            .push(r as u32),
                        _ => {}
                    }
                }
                // Kept all day: no growth slack.
                for d in &mut departements {
                    d.shrink_to_fit();
                }
                let grids = grid_records
                    .into_iter()
                    .map(|mut g| {
                        g.shrink_to_fit();
                        GridList::build(g, seg.lon_e7(), seg.lat_e7())
                    })
                    .collect();
                let taxa = TaxonRecords::build(seg.cd_ref());
                let taxon_points = TaxonRecords::build(seg.point_cd_ref());
                SegmentDayIndex {
                    public,
                    grids,
                    departements,
                    taxa,
                    points,
                    taxon_points,
                }
            })
            .collect();
        DayIndex {
            day,
            policy,
            generation: store.manifest().generation,
            segments,
            tallies: PublicTallies::default(),
            tallies_all_precise: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn taxon_records_hold_each_taxons_records_in_store_order() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let cd_ref: Vec<u32> = (0..5000)
            .map(|_| [3, 17, 17, 42, 99_999, 1][rng.gen_range(0..6)])
            .collect();
        let t = TaxonRecords::build(&cd_ref);
        // The plain reading: for each taxon, the positions where it occurs.
        let mut expected: HashMap<u32, Vec<u32>> = HashMap::new();
        for (r, c) in cd_ref.iter().enumerate() {
            expected.entry(*c).or_default().push(r as u32);
        }
        assert_eq!(t.len(), expected.len());
        for (c, records) in &expected {
            assert_eq!(t.get(c), Some(records.as_slice()), "taxon {c}");
        }
        assert_eq!(t.get(&4), None);
        assert_eq!(t.get(&0), None);
        assert_eq!(t.get(&u32::MAX), None);
        assert!(TaxonRecords::build(&[]).get(&3).is_none());
    }

    fn read<U: Copy + Ord + std::hash::Hash>(t: &TaxonCounts<U>, cd: u32) -> Vec<(U, u64)> {
        let mut v: Vec<(U, u64)> = t
            .get(&cd)
            .into_iter()
            .flatten()
            .map(|(u, n)| (*u, *n))
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn taxon_counts_give_back_every_pair_exactly() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
        let mut counts: HashMap<(u32, u16), u64> = HashMap::new();
        for _ in 0..3000 {
            let key = (rng.gen_range(0..50) * 7, rng.gen_range(0..300));
            *counts.entry(key).or_default() += rng.gen_range(1..1000);
        }
        let t = TaxonCounts::from_counts(counts.clone());
        assert_eq!(t.len(), counts.len());
        for cd in 0..400 {
            let mut expected: Vec<(u16, u64)> = counts
                .iter()
                .filter(|((t, _), _)| *t == cd)
                .map(|((_, u), n)| (*u, *n))
                .collect();
            expected.sort_unstable();
            assert_eq!(read(&t, cd), expected, "taxon {cd}");
            assert_eq!(t.get(&cd).is_some(), !expected.is_empty());
        }
        assert!(TaxonCounts::<u16>::default().get(&0).is_none());
    }

    #[test]
    fn taxon_counts_beyond_u32_stay_exact() {
        let big = u64::from(u32::MAX) + 5;
        let counts = HashMap::from([((1, 'a'), big), ((1, 'b'), 3), ((2, 'a'), 1)]);
        let t = TaxonCounts::from_counts(counts);
        assert!(matches!(t.pairs, Pairs::Wide(_)));
        assert_eq!(read(&t, 1), vec![('a', big), ('b', 3)]);
        assert_eq!(read(&t, 2), vec![('a', 1)]);
        let small = TaxonCounts::from_counts(HashMap::from([((1, 'a'), u64::from(u32::MAX))]));
        assert!(matches!(small.pairs, Pairs::Narrow(_)));
        assert_eq!(read(&small, 1), vec![('a', u64::from(u32::MAX))]);
    }
}
