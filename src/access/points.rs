//! The precise points of one tile, for the observation layer: every point this caller sees
//! precisely in the tile's square ([`TileSquare`]), or — past a count — the same points
//! grouped by world cell, with the lone ones whole.
//!
//! Two ways to the same answer. [`GroupGrid`] groups rows the view handed out as
//! [`Shown`] (the scan, any caller and filter). [`AccessView::tile_points`] reads the
//! segments' point order (records sorted by Z-order of their quantized position, see
//! `store::segment`) with the day index's one byte per entry: for the public, and for an
//! agent who sees every record precisely, unfiltered or filtered by taxa, a dense tile
//! then costs a sequential read of its points instead of a decision per record.
//! `tests/fast_path_equivalence.rs` checks the two give the same tiles.

use super::diffusion::{grant_covers_every_record, Precision};
use super::index::{precision_code, DayIndex};
use super::rights::Caller;
use super::view::{AccessView, RecordFilter, Shown};
use crate::geo::quantized::{morton, CellLocator, TileSquare, GRID_SIDE};
use crate::sensitivity::SensiNiveau;
use std::ops::Range;

/// One group cell while points are added (`n == 0`: no point yet).
#[derive(Clone, Copy, Debug, Default)]
struct CellAcc<M> {
    n: u64,
    sum: [u64; 2],
    /// The first member: the whole point when it stays alone.
    first: (M, [u32; 2]),
    cd_ref: u32,
    /// Position of the first member's level in [`SensiNiveau::ALL`].
    level: u8,
    same_taxon: bool,
    same_level: bool,
}

/// Two or more precise points of one group cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupCell {
    /// The cell on the zoom's world grid of group cells.
    pub world: [i64; 2],
    pub observations: u64,
    /// Sum of the members' quantized positions (their mean is [`TileSquare::mean_units`]).
    pub sum: [u64; 2],
    /// The members' taxon, when they all share it.
    pub cd_ref: Option<u32>,
    /// The members' sensitivity level, when they all share it.
    pub level: Option<SensiNiveau>,
}

/// Precise points per group cell of a tile's square (a flat grid, indexed without hashing).
pub struct GroupGrid<M> {
    square: TileSquare,
    cells: Vec<CellAcc<M>>,
    count: u64,
}

/// A level's slot in [`SensiNiveau::ALL`] (the point order's high nibble).
fn level_slot(level: SensiNiveau) -> u8 {
    SensiNiveau::ALL
        .iter()
        .position(|x| *x == level)
        .map_or(DEAD_LEVEL, |p| p as u8)
}

impl<M: Copy + Default> GroupGrid<M> {
    pub fn new(square: TileSquare) -> Self {
        GroupGrid {
            square,
            cells: vec![CellAcc::default(); (GRID_SIDE * GRID_SIDE) as usize],
            count: 0,
        }
    }

    /// Adds a point; false (and nothing added) when it lies outside the square.
    pub fn add(&mut self, q: [u32; 2], cd_ref: u32, level: SensiNiveau, member: M) -> bool {
        let Some(k) = self.square.cell_index(q) else {
            return false;
        };
        self.add_at(k, q, cd_ref, level_slot(level), || member);
        true
    }

    /// Adds a point to cell `k`; `member` is asked for only when it is the cell's first
    /// (a dense tile's reads then skip most of the record column).
    #[inline]
    fn add_at(
        &mut self,
        k: usize,
        q: [u32; 2],
        cd_ref: u32,
        level: u8,
        member: impl FnOnce() -> M,
    ) {
        self.count += 1;
        let Some(acc) = self.cells.get_mut(k) else {
            return;
        };
        if acc.n == 0 {
            *acc = CellAcc {
                n: 0,
                sum: [0, 0],
                first: (member(), q),
                cd_ref,
                level,
                same_taxon: true,
                same_level: true,
            };
        }
        acc.n += 1;
        acc.sum[0] += u64::from(q[0]);
        acc.sum[1] += u64::from(q[1]);
        acc.same_taxon &= acc.cd_ref == cd_ref;
        acc.same_level &= acc.level == level;
    }

    /// Adds the points of one group cell summed by [`CellSum::of`] (`member` is the
    /// first's, asked for only when the cell has no point yet).
    #[inline]
    fn add_sum(&mut self, k: usize, s: &CellSum, member: impl FnOnce() -> M) {
        self.count += s.n;
        let Some(acc) = self.cells.get_mut(k) else {
            return;
        };
        if acc.n == 0 {
            *acc = CellAcc {
                n: 0,
                sum: [0, 0],
                first: (member(), s.first_q),
                cd_ref: s.cd_ref,
                level: s.level,
                same_taxon: true,
                same_level: true,
            };
        }
        acc.n += s.n;
        acc.sum[0] += s.sum[0];
        acc.sum[1] += s.sum[1];
        acc.same_taxon &= s.same_taxon && acc.cd_ref == s.cd_ref;
        acc.same_level &= s.same_level && acc.level == s.level;
    }

    /// Points added (inside the square).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The cells of two or more points, and the lone points (member and position), both
    /// in cell order.
    pub fn finish(self) -> (Vec<GroupCell>, Vec<(M, [u32; 2])>) {
        let mut groups = Vec::new();
        let mut single = Vec::new();
        for (k, acc) in self.cells.into_iter().enumerate() {
            if acc.n == 0 {
                continue;
            }
            if acc.n == 1 {
                single.push(acc.first);
                continue;
            }
            groups.push(GroupCell {
                world: self.square.world_cell_of_index(k),
                observations: acc.n,
                sum: acc.sum,
                cd_ref: acc.same_taxon.then_some(acc.cd_ref),
                level: SensiNiveau::ALL
                    .get(usize::from(acc.level))
                    .copied()
                    .filter(|_| acc.same_level),
            });
        }
        (groups, single)
    }
}

/// A tile's precise points: drawn one by one, or grouped past a count.
pub struct TilePoints<'a> {
    /// Each point drawn on its own: every point of the square, or when grouped the lone
    /// ones. With its quantized position.
    pub single: Vec<([u32; 2], Shown<'a>)>,
    /// Cells of two or more points (empty unless grouped).
    pub groups: Vec<GroupCell>,
}

/// Groups `rows` (precise points this caller sees, positions quantized) when there are
/// more than `group_above` of them in the square; rows outside the square are dropped.
pub fn group_rows<'a>(
    square: TileSquare,
    rows: Vec<([u32; 2], Shown<'a>)>,
    group_above: Option<u64>,
) -> TilePoints<'a> {
    let inside: Vec<([u32; 2], Shown<'a>)> = rows
        .into_iter()
        .filter(|(q, _)| square.cell_index(*q).is_some())
        .collect();
    if group_above.is_none_or(|cap| inside.len() as u64 <= cap) {
        return TilePoints {
            single: inside,
            groups: Vec::new(),
        };
    }
    let mut grid = GroupGrid::new(square);
    for (i, (q, s)) in inside.iter().enumerate() {
        grid.add(*q, s.cd_ref, s.level, i);
    }
    let (groups, lone) = grid.finish();
    let single = lone
        .into_iter()
        .filter_map(|(i, q)| inside.get(i).map(|(_, s)| (q, *s)))
        .collect();
    TilePoints { single, groups }
}

/// Consecutive entries of one group cell, summed over those the class sees.
struct CellSum {
    n: u64,
    sum: [u64; 2],
    /// The first kept entry: its offset in the run, position, taxon and level slot.
    first: usize,
    first_q: [u32; 2],
    cd_ref: u32,
    level: u8,
    same_taxon: bool,
    same_level: bool,
}

impl CellSum {
    /// None when the class sees none of the entries. All entries lie in one group cell of
    /// `shift` bits (see [`CellLocator::shift`]).
    #[inline(always)]
    fn of(
        x: &[u32],
        y: &[u32],
        cd: &[u32],
        code: &[u8],
        shift: u32,
        seen: &impl Fn(u8) -> bool,
    ) -> Option<Self> {
        let first = code.iter().position(|c| seen(*c))?;
        let (cd_ref, level) = (*cd.get(first)?, code.get(first)? >> 4);
        let first_q = [*x.get(first)?, *y.get(first)?];
        // Within the cell, positions differ in their low `shift` bits only: those are
        // summed in u32 lanes (twice as many per instruction as u64), over chunks short
        // enough not to overflow, and the cell's corner added back per point.
        let low = u32::MAX >> (32 - shift.clamp(1, 31));
        let corner = [first_q[0] & !low, first_q[1] & !low];
        let chunk = 1usize << (32 - shift.clamp(1, 31));
        let (mut n, mut sum) = (0u64, [0u64; 2]);
        let (mut other_taxon, mut other_level) = (0u32, 0u8);
        fn rest<T>(v: &[T], first: usize) -> &[T] {
            v.get(first..).unwrap_or(&[])
        }
        let parts = rest(x, first)
            .chunks(chunk)
            .zip(rest(y, first).chunks(chunk))
            .zip(rest(cd, first).chunks(chunk))
            .zip(rest(code, first).chunks(chunk));
        for (((x, y), cd), code) in parts {
            let (mut kept_n, mut sx, mut sy) = (0u32, 0u32, 0u32);
            // Masks instead of branches: the loop vectorizes.
            for (((&x, &y), &cd), &code) in x.iter().zip(y).zip(cd).zip(code) {
                let kept = u32::from(seen(code));
                let mask = 0u32.wrapping_sub(kept);
                kept_n += kept;
                sx = sx.wrapping_add(x & low & mask);
                sy = sy.wrapping_add(y & low & mask);
                other_taxon |= (cd ^ cd_ref) & mask;
                other_level |= ((code >> 4) ^ level) & mask as u8;
            }
            n += u64::from(kept_n);
            sum[0] += u64::from(sx);
            sum[1] += u64::from(sy);
        }
        sum[0] += n * u64::from(corner[0]);
        sum[1] += n * u64::from(corner[1]);
        Some(CellSum {
            n,
            sum,
            first,
            first_q,
            cd_ref,
            level,
            same_taxon: other_taxon == 0,
            same_level: other_level == 0,
        })
    }
}

/// Whose precise points a point-order read gathers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PointClass {
    /// Records the public sees precisely.
    Public,
    /// Every live record (an agent with a grant covering every record).
    All,
}

/// One run of the point order: its entries' columns and day-index bytes, all of one length.
struct RunColumns<'c> {
    x: &'c [u32],
    y: &'c [u32],
    rec: &'c [u32],
    cd: &'c [u32],
    code: &'c [u8],
}

/// What a point-order read keeps of a run: points seen by the class, of the filter's taxa,
/// inside the square. A dense tile reads ~10^5 entries, so this loop is kept tight (no
/// bounds checks, the cell found by shifts).
struct PointRead<'t> {
    si: u32,
    locate: CellLocator,
    taxa: Option<&'t [u32]>,
    group_above: Option<u64>,
}

impl PointRead<'_> {
    /// One entry: kept if seen by the class, of the filter's taxa, inside the square.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn entry(
        &self,
        q: [u32; 2],
        cd_ref: u32,
        code: u8,
        rec: impl Fn() -> u32,
        seen: &impl Fn(u8) -> bool,
        grid: &mut GroupGrid<(u32, u32)>,
        each: &mut Option<Vec<(u32, u32, [u32; 2])>>,
    ) {
        if let Some(t) = self.taxa {
            if t.binary_search(&cd_ref).is_err() {
                return;
            }
        }
        if !seen(code) {
            return;
        }
        let Some(k) = self.locate.index(q) else {
            return;
        };
        grid.add_at(k, q, cd_ref, code >> 4, || (self.si, rec()));
        if let Some(e) = each {
            e.push((self.si, rec(), q));
            if self.group_above.is_some_and(|cap| e.len() as u64 > cap) {
                *each = None;
            }
        }
    }

    /// A run of consecutive entries.
    #[inline(always)]
    fn run(
        &self,
        run: &RunColumns<'_>,
        seen: impl Fn(u8) -> bool,
        grid: &mut GroupGrid<(u32, u32)>,
        each: &mut Option<Vec<(u32, u32, [u32; 2])>>,
    ) {
        // Which entries to keep is found without branching first (whether the class sees
        // an entry is close to random along the point order: a branch on it mispredicted
        // often), then the kept ones are added.
        const CHUNK: usize = 256;
        let mut kept = [0u8; CHUNK];
        let mut start = 0;
        while start < run.x.len() {
            let end = (start + CHUNK).min(run.x.len());
            let (Some(x), Some(y), Some(cd), Some(code)) = (
                run.x.get(start..end),
                run.y.get(start..end),
                run.cd.get(start..end),
                run.code.get(start..end),
            ) else {
                return;
            };
            let mut n = 0;
            for (j, (((&x, &y), &cd_ref), &code)) in x.iter().zip(y).zip(cd).zip(code).enumerate() {
                let taxon = self.taxa.is_none_or(|t| t.binary_search(&cd_ref).is_ok());
                let keep = seen(code) & taxon & self.locate.index([x, y]).is_some();
                if let Some(slot) = kept.get_mut(n) {
                    *slot = j as u8;
                }
                n += usize::from(keep);
            }
            for &j in kept.iter().take(n) {
                let i = start + usize::from(j);
                let (Some(&x), Some(&y), Some(&cd_ref), Some(&code)) =
                    (run.x.get(i), run.y.get(i), run.cd.get(i), run.code.get(i))
                else {
                    continue;
                };
                let rec = || run.rec.get(i).copied().unwrap_or(u32::MAX);
                self.entry([x, y], cd_ref, code, rec, &seen, grid, each);
            }
            start = end;
        }
    }

    /// A run of consecutive entries into the grid only, a group cell at a time: the point
    /// order keeps a cell's entries together, so each cell's end is found by galloping
    /// and its entries summed in one branch-free loop.
    #[inline(always)]
    fn cells(
        &self,
        run: &RunColumns<'_>,
        seen: impl Fn(u8) -> bool,
        grid: &mut GroupGrid<(u32, u32)>,
        _each: &mut Option<Vec<(u32, u32, [u32; 2])>>,
    ) {
        let s = self.locate.shift();
        let (xs, ys) = (run.x, run.y);
        let len = xs.len().min(ys.len()).min(run.cd.len()).min(run.code.len());
        let mut start = 0;
        while start < len {
            let (Some(&x0), Some(&y0)) = (xs.get(start), ys.get(start)) else {
                return;
            };
            let cell = [x0 >> s, y0 >> s];
            let same = |j: usize| match (xs.get(j), ys.get(j)) {
                (Some(&x), Some(&y)) => [x >> s, y >> s] == cell,
                _ => false,
            };
            // `lo` is in the cell, `hi` is not (or is the end).
            let (mut lo, mut step) = (start, 1);
            while lo + step < len && same(lo + step) {
                lo += step;
                step *= 2;
            }
            let mut hi = (lo + step).min(len);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if same(mid) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let end = hi;
            if let Some(k) = self.locate.index([x0, y0]) {
                let sum = CellSum::of(
                    xs.get(start..end).unwrap_or(&[]),
                    ys.get(start..end).unwrap_or(&[]),
                    run.cd.get(start..end).unwrap_or(&[]),
                    run.code.get(start..end).unwrap_or(&[]),
                    s,
                    &seen,
                );
                if let Some(sum) = sum {
                    let rec = run.rec.get(start + sum.first).copied();
                    grid.add_sum(k, &sum, || (self.si, rec.unwrap_or(u32::MAX)));
                }
            }
            start = end;
        }
    }

    /// Entries given by position: one taxon's, from
    /// [`super::index::SegmentDayIndex::taxon_points`].
    #[inline(always)]
    fn gathered(
        &self,
        positions: &[u32],
        cd_ref: u32,
        columns: &RunColumns<'_>,
        seen: impl Fn(u8) -> bool,
        grid: &mut GroupGrid<(u32, u32)>,
        each: &mut Option<Vec<(u32, u32, [u32; 2])>>,
    ) {
        // Positions jump across the columns: each read is a cache miss, so the taxon (that
        // of the list) is not read, and the position only for entries the class sees.
        for &i in positions {
            let i = i as usize;
            let Some(&code) = columns.code.get(i) else {
                continue;
            };
            if !seen(code) {
                continue;
            }
            let (Some(&x), Some(&y)) = (columns.x.get(i), columns.y.get(i)) else {
                continue;
            };
            let rec = || columns.rec.get(i).copied().unwrap_or(u32::MAX);
            self.entry([x, y], cd_ref, code, rec, &seen, grid, each);
        }
    }
}

/// High nibble of a point-order code for a dead record.
pub const DEAD_LEVEL: u8 = 15;

/// One point-order entry's byte in the day index: the record's public precision code
/// (low nibble) and its level's position in [`SensiNiveau::ALL`] that day (high nibble,
/// [`DEAD_LEVEL`] for a deleted record).
pub fn point_code(public: u8, level: Option<SensiNiveau>) -> u8 {
    let slot = level
        .and_then(|l| SensiNiveau::ALL.iter().position(|x| *x == l))
        .map_or(DEAD_LEVEL, |p| p as u8);
    (public & 15) | (slot << 4)
}

impl<'a> AccessView<'_, 'a> {
    /// Whose points the point order serves for this view, when it can: a day index for
    /// this day, a filter on taxa alone (or none), and a caller who is the public or sees
    /// every record precisely.
    fn point_class(&self) -> Option<(PointClass, &'a DayIndex)> {
        let index = self.index()?;
        let taxa_only = RecordFilter {
            taxa: None,
            ..self.filter.clone()
        } == RecordFilter::default();
        if !taxa_only {
            return None;
        }
        let class = match self.caller {
            Caller::Public => PointClass::Public,
            Caller::Agent { grants, .. } if grants.iter().any(grant_covers_every_record) => {
                PointClass::All
            }
            Caller::Agent { .. } => return None,
        };
        Some((class, index))
    }

    /// Whether [`AccessView::tile_points`] reads the point order for this view.
    pub fn has_point_order(&self) -> bool {
        self.point_class().is_some()
    }

    /// The precise points of `square` read from the point order, grouped when there are
    /// more than `group_above`; None when this view cannot use it (see
    /// [`AccessView::has_point_order`]): the caller then scans.
    pub fn tile_points(
        &self,
        square: TileSquare,
        group_above: Option<u64>,
    ) -> Option<TilePoints<'a>> {
        let (class, index) = self.point_class()?;
        let taxa: Option<Vec<u32>> = self
            .filter
            .taxa
            .as_ref()
            .map(|t| t.iter().copied().collect());
        let mut grid: GroupGrid<(u32, u32)> = GroupGrid::new(square);
        // Every point, until there are too many to draw one by one.
        let mut each: Option<Vec<(u32, u32, [u32; 2])>> = Some(Vec::new());
        // Unfiltered, a tile that may be grouped is first read a group cell at a time; only
        // if it then holds too few points to group are they read again one by one.
        let summed = taxa.is_none()
            && group_above.is_some_and(|cap| {
                let read = Read::Summed;
                self.read_points(class, index, square, None, read, &mut grid, &mut each)
                    .is_some()
                    && grid.count() > cap
            });
        if summed {
            each = None;
        } else {
            grid = GroupGrid::new(square);
            let read = Read::Each { group_above };
            self.read_points(
                class,
                index,
                square,
                taxa.as_deref(),
                read,
                &mut grid,
                &mut each,
            )?;
        }
        // The lone points, or all of them, as the view hands out any record: through the
        // one decision (and with the same answer as the byte above, or not at all).
        let shown = |(si, r, q): (u32, u32, [u32; 2])| {
            let code = index
                .segments
                .get(si as usize)?
                .public
                .get(r as usize)
                .copied();
            let s = self.shown_precise(si as usize, r as usize, code)?;
            Some((q, s))
        };
        // In record order: the records' columns are then read forward, not at random
        // (the caller orders the points itself).
        Some(match each {
            Some(mut all) => {
                all.sort_unstable_by_key(|(si, r, _)| (*si, *r));
                TilePoints {
                    single: all.into_iter().filter_map(shown).collect(),
                    groups: Vec::new(),
                }
            }
            None => {
                let (groups, mut lone) = grid.finish();
                lone.sort_unstable_by_key(|((si, r), _)| (*si, *r));
                TilePoints {
                    single: lone
                        .into_iter()
                        .filter_map(|((si, r), q)| shown((si, r, q)))
                        .collect(),
                    groups,
                }
            }
        })
    }

    /// Reads the points of `square` from every segment's point order into `grid` (and
    /// `each`), by taxa's entries when filtered.
    #[allow(clippy::too_many_arguments)]
    fn read_points(
        &self,
        class: PointClass,
        index: &DayIndex,
        square: TileSquare,
        taxa: Option<&[u32]>,
        how: Read,
        grid: &mut GroupGrid<(u32, u32)>,
        each: &mut Option<Vec<(u32, u32, [u32; 2])>>,
    ) -> Option<()> {
        let store = self.ctx.store;
        let precise = precision_code(Precision::Precise);
        let mut ranges = Vec::new();
        let locate = square.locator();
        let group_above = match how {
            Read::Each { group_above } => group_above,
            Read::Summed => None,
        };
        for (si, seg) in store.segments().iter().enumerate() {
            let seg_index = index.segments.get(si)?;
            let columns = RunColumns {
                x: seg.point_x(),
                y: seg.point_y(),
                rec: seg.point_record(),
                cd: seg.point_cd_ref(),
                code: seg_index.points.as_slice(),
            };
            let read = PointRead {
                si: si as u32,
                locate,
                taxa,
                group_above,
            };
            macro_rules! by_class {
                ($read:ident, $method:ident, $($arg:expr),*) => {
                    match class {
                        PointClass::Public => {
                            $read.$method($($arg,)* |c| c & 15 == precise, grid, each)
                        }
                        PointClass::All => {
                            $read.$method($($arg,)* |c| c >> 4 != DEAD_LEVEL, grid, each)
                        }
                    }
                };
            }
            if let Some(taxa) = taxa {
                // A taxon filter reads only its taxa's entries (each taxon's in point
                // order), not every entry under the square.
                let read = PointRead { taxa: None, ..read };
                for cd_ref in taxa {
                    let Some(positions) = seg_index.taxon_points.get(cd_ref) else {
                        continue;
                    };
                    let key = |j: usize| {
                        let i = positions.get(j).map_or(0, |i| *i as usize);
                        morton([
                            columns.x.get(i).copied().unwrap_or(0),
                            columns.y.get(i).copied().unwrap_or(0),
                        ])
                    };
                    ranges.clear();
                    ranges_by_key(&key, positions.len(), square, &mut ranges);
                    for r in &ranges {
                        let Some(run) = positions.get(r.clone()) else {
                            continue;
                        };
                        by_class!(read, gathered, run, *cd_ref, &columns);
                    }
                }
                continue;
            }
            ranges.clear();
            square_ranges(columns.x, columns.y, square, &mut ranges);
            for r in &ranges {
                // Every column holds one entry per point; the day index's too.
                let (Some(x), Some(y), Some(rec), Some(cd), Some(code)) = (
                    columns.x.get(r.clone()),
                    columns.y.get(r.clone()),
                    columns.rec.get(r.clone()),
                    columns.cd.get(r.clone()),
                    columns.code.get(r.clone()),
                ) else {
                    continue;
                };
                let run = RunColumns {
                    x,
                    y,
                    rec,
                    cd,
                    code,
                };
                match how {
                    Read::Each { .. } => by_class!(read, run, &run),
                    Read::Summed => by_class!(read, cells, &run),
                }
            }
        }
        Some(())
    }
}

/// How [`AccessView::tile_points`] reads a square's entries.
#[derive(Clone, Copy)]
enum Read {
    /// Entry by entry, every point kept in `each` up to `group_above`.
    Each { group_above: Option<u64> },
    /// Summed a group cell at a time into the grid only.
    Summed,
}

/// The runs of the point order (`xs`, `ys`, sorted by [`morton`]) that hold the points of
/// `square`: quadtree nodes met by it, down to its group cells or to runs of 64 entries.
/// A run may hold points outside the square; none of the square's is missed.
fn square_ranges(xs: &[u32], ys: &[u32], square: TileSquare, out: &mut Vec<Range<usize>>) {
    let key = |i: usize| morton([xs[i], ys[i]]);
    ranges_by_key(&key, xs.len().min(ys.len()), square, out);
}

/// [`square_ranges`] over `len` entries sorted by `key` (their Z-order keys).
fn ranges_by_key(
    key: &dyn Fn(usize) -> u64,
    len: usize,
    square: TileSquare,
    out: &mut Vec<Range<usize>>,
) {
    let [x0, y0, x1, y1] = square.bounds();
    let limit = 1i64 << 32;
    let b = [x0.max(0), y0.max(0), x1.min(limit), y1.min(limit)];
    if b[0] >= b[2] || b[1] >= b[3] {
        return;
    }
    let max_level = 32 - square.cell_shift();
    descend(key, 0, [0, 0], 0..len, b, max_level, out);
}

fn descend(
    key: &dyn Fn(usize) -> u64,
    level: u32,
    node: [i64; 2],
    run: Range<usize>,
    b: [i64; 4],
    max_level: u32,
    out: &mut Vec<Range<usize>>,
) {
    if run.is_empty() {
        return;
    }
    let shift = 32 - level;
    let (nx0, ny0) = (node[0] << shift, node[1] << shift);
    let side = 1i64 << shift;
    if nx0 >= b[2] || nx0 + side <= b[0] || ny0 >= b[3] || ny0 + side <= b[1] {
        return;
    }
    let inside = nx0 >= b[0] && nx0 + side <= b[2] && ny0 >= b[1] && ny0 + side <= b[3];
    if inside || level >= max_level || run.len() <= 64 {
        out.push(run);
        return;
    }
    // Children in key order: (x0, y0), (x1, y0), (x0, y1), (x1, y1).
    let child_shift = 2 * (shift - 1);
    let base = u128::from(key(run.start)) >> (2 * shift) << (2 * shift);
    let mut start = run.start;
    for c in 0..4u32 {
        let end = if c == 3 {
            run.end
        } else {
            let limit = base + (u128::from(c + 1) << child_shift);
            start + partition(start..run.end, |i| u128::from(key(i)) < limit)
        };
        let child = [
            node[0] * 2 + i64::from(c & 1),
            node[1] * 2 + i64::from(c >> 1),
        ];
        descend(key, level + 1, child, start..end, b, max_level, out);
        start = end;
    }
}

/// The number of leading indexes of `run` for which `below` holds (it holds for a prefix).
fn partition(run: Range<usize>, below: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (run.start, run.end);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if below(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo - run.start
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::quantized::quantize;
    use crate::geo::TileId;
    use rand::{Rng, SeedableRng};

    /// The runs hold every point of the square (checked by testing each point of a random,
    /// clustered set against the square directly).
    #[test]
    fn square_ranges_miss_no_point_of_the_square() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        let tile = TileId::new(12, 2094, 1463).unwrap();
        let b = tile.bounds_lonlat();
        let (w, h) = (b.max[0] - b.min[0], b.max[1] - b.min[1]);
        let mut pts: Vec<[u32; 2]> = (0..20_000)
            .map(|i| {
                // Half clustered on the tile's edges and corners, half spread around it.
                let (fx, fy) = if i % 2 == 0 {
                    (
                        f64::from(rng.gen_range(0..3)) * 0.5 + rng.gen_range(-0.02..0.02),
                        f64::from(rng.gen_range(0..3)) * 0.5 + rng.gen_range(-0.02..0.02),
                    )
                } else {
                    (rng.gen_range(-1.0..2.0), rng.gen_range(-1.0..2.0))
                };
                quantize(b.min[0] + fx * w, b.min[1] + fy * h)
            })
            .collect();
        pts.sort_by_key(|q| morton(*q));
        let xs: Vec<u32> = pts.iter().map(|q| q[0]).collect();
        let ys: Vec<u32> = pts.iter().map(|q| q[1]).collect();
        let sq = TileSquare::new(tile).unwrap();
        let mut runs = Vec::new();
        square_ranges(&xs, &ys, sq, &mut runs);
        let mut covered = vec![false; pts.len()];
        for r in &runs {
            for i in r.clone() {
                assert!(!covered[i], "entry {i} in two runs");
                covered[i] = true;
            }
        }
        let [x0, y0, x1, y1] = sq.bounds();
        let mut inside = 0;
        for (i, q) in pts.iter().enumerate() {
            let (x, y) = (i64::from(q[0]), i64::from(q[1]));
            if x >= x0 && x < x1 && y >= y0 && y < y1 {
                inside += 1;
                assert!(covered[i], "point {q:?} of the square missed");
            }
        }
        assert!(inside > 5_000, "{inside}");
        // And the runs do not read the whole set.
        assert!(covered.iter().filter(|c| **c).count() < pts.len() * 3 / 4);
    }

    #[test]
    fn a_grid_groups_by_cell_and_keeps_lone_points_whole() {
        let tile = TileId::new(10, 525, 364).unwrap();
        let sq = TileSquare::new(tile).unwrap();
        let [x0, y0, _, _] = sq.bounds();
        let cell = 1i64 << sq.cell_shift();
        let at =
            |cx: i64, cy: i64, dx: i64| [(x0 + cx * cell + dx) as u32, (y0 + cy * cell) as u32];
        let mut g = GroupGrid::new(sq);
        assert!(g.add(at(1, 1, 0), 7, SensiNiveau::N0, 'a'));
        assert!(g.add(at(1, 1, 10), 7, SensiNiveau::N1, 'b'));
        assert!(g.add(at(5, 2, 3), 9, SensiNiveau::N0, 'c'));
        assert!(!g.add([(x0 - 1) as u32, y0 as u32], 9, SensiNiveau::N0, 'd'));
        assert_eq!(g.count(), 3);
        let (groups, single) = g.finish();
        assert_eq!(single, vec![('c', at(5, 2, 3))]);
        assert_eq!(groups.len(), 1);
        let first = sq.world_cell_of_index(0);
        assert_eq!(groups[0].world, [first[0] + 1, first[1] + 1]);
        assert_eq!(groups[0].observations, 2);
        assert_eq!(groups[0].cd_ref, Some(7));
        assert_eq!(groups[0].level, None);
    }
}
