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
    pub taxa: HashMap<u32, Vec<u32>>,
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
        // The box's extent in Lambert-93, from its corners and edge midpoints, plus a block.
        let mut xs = Vec::with_capacity(8);
        let mut ys = Vec::with_capacity(8);
        let (mx, my) = (
            (bbox.min[0] + bbox.max[0]) / 2.0,
            (bbox.min[1] + bbox.max[1]) / 2.0,
        );
        for (lon, lat) in [
            (bbox.min[0], bbox.min[1]),
            (bbox.min[0], bbox.max[1]),
            (bbox.max[0], bbox.min[1]),
            (bbox.max[0], bbox.max[1]),
            (mx, bbox.min[1]),
            (mx, bbox.max[1]),
            (bbox.min[0], my),
            (bbox.max[0], my),
        ] {
            let (x, y) =
                crate::geo::lambert93::forward(lon.clamp(-180.0, 180.0), lat.clamp(-85.0, 85.0));
            xs.push(x);
            ys.push(y);
        }
        let lo = |v: &[f64]| {
            (v.iter().cloned().fold(f64::INFINITY, f64::min) / 10_000.0).floor() as i32 - 1
        };
        let hi = |v: &[f64]| {
            (v.iter().cloned().fold(f64::NEG_INFINITY, f64::max) / 10_000.0).floor() as i32 + 1
        };
        let (e0, e1, n0, n1) = (lo(&xs), hi(&xs), lo(&ys), hi(&ys));
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

impl DayIndex {
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
                let public: Vec<u8> = (0..seg.len())
                    .into_par_iter()
                    .map(|r| {
                        if !store.is_live(si, r) {
                            return precision_code(Precision::Hidden);
                        }
                        let c = commune[r] as usize;
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
                            level: seg.step_at(r, day).level,
                            producer: producer[r],
                            ds_publique: dsp[r],
                        };
                        precision_code(public_precision(&facts, &policy))
                    })
                    .collect();
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
                let grids = grid_records
                    .into_iter()
                    .map(|g| GridList::build(g, seg.lon_e7(), seg.lat_e7()))
                    .collect();
                let mut taxa: HashMap<u32, Vec<u32>> = HashMap::new();
                for (r, cd_ref) in seg.cd_ref().iter().enumerate() {
                    taxa.entry(*cd_ref).or_default().push(r as u32);
                }
                SegmentDayIndex {
                    public,
                    grids,
                    departements,
                    taxa,
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
