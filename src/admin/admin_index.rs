//! Point location over commune polygons: an R-tree of bounding boxes picks the candidates;
//! a 32 × 32 raster per commune answers at once for points in cells that no boundary
//! crosses; elsewhere an even-odd ray cast, restricted to the edges of the point's
//! horizontal band, decides. The raster is filled with that same ray cast (at cell
//! centres), so it only saves work and never changes an answer.
//!
//! Determinism on shared borders comes from two rules:
//! - every edge is stored from its lower end (by latitude) to its upper end, so the two
//!   communes sharing an edge compute bit-identical crossings whichever way their rings
//!   run;
//! - a crossing counts when the edge spans `y_lo <= y < y_hi` and the point lies strictly
//!   west of it (half-open on both axes), so a point on a shared edge or vertex of a clean
//!   partition falls in exactly one of the communes around it.
//!
//! Where polygons overlap (or a point sits on a non-shared boundary of two overlapping
//! rings), the commune with the lowest INSEE code among those containing the point wins.

use crate::geo::{BBox, MultiPolygon};
use rstar::{PointDistance, RTree, RTreeObject, AABB};
use std::fmt;
use std::ops::ControlFlow;

/// An edge, lower end first; horizontal edges are dropped (a horizontal ray never crosses
/// them under the half-open rule).
#[derive(Clone, Copy, Debug)]
struct Edge {
    y_lo: f64,
    y_hi: f64,
    x_at_lo: f64,
    /// dx / dy, computed once from the canonical ends so every user gets the same value.
    dx_dy: f64,
}

impl Edge {
    fn new(a: [f64; 2], b: [f64; 2]) -> Option<Edge> {
        let (lo, hi) = if a[1] < b[1] {
            (a, b)
        } else if b[1] < a[1] {
            (b, a)
        } else {
            return None;
        };
        Some(Edge {
            y_lo: lo[1],
            y_hi: hi[1],
            x_at_lo: lo[0],
            dx_dy: (hi[0] - lo[0]) / (hi[1] - lo[1]),
        })
    }

    /// Whether a ray going east from (x, y) crosses this edge.
    #[inline]
    fn crossed_by_ray_from(&self, x: f64, y: f64) -> bool {
        y >= self.y_lo && y < self.y_hi && x < self.x_at_lo + (y - self.y_lo) * self.dx_dy
    }
}

/// Raster side: every shape's bounding box is cut into `RASTER` × `RASTER` cells, each
/// marked inside, outside or crossed by the boundary; only points in crossed cells need the
/// ray cast. One row (64 bits) is one memory access.
const RASTER: usize = 32;
const CELL_OUTSIDE: u64 = 0;
const CELL_INSIDE: u64 = 1;
const CELL_BOUNDARY: u64 = 2;
/// A row of `RASTER` boundary cells.
const BOUNDARY_ROW: u64 = 0xAAAA_AAAA_AAAA_AAAA;
const _: () = assert!(2 * RASTER == u64::BITS as usize, "a raster row is one u64");

/// Average number of edges wanted in one band: a few edge tests per candidate.
const EDGES_PER_BAND: usize = 4;
/// Caps the band table of very large or very detailed shapes.
const MAX_BANDS_PER_SHAPE: usize = 4096;
/// Candidates sorted on the stack; more (never seen on real data) take a slower path.
const STACK_CANDIDATES: usize = 32;

/// Everything point location needs about one shape, stored in the R-tree leaf itself so
/// that a candidate costs no extra lookup before its raster row.
#[derive(Clone, Copy, Debug)]
struct ShapeInfo {
    min: [f64; 2],
    max: [f64; 2],
    /// Raster cells per degree, on each axis.
    cells_per_degree: [f64; 2],
    /// Bands per degree of latitude; bands are of equal height from `min[1]` to `max[1]`.
    bands_per_degree: f64,
    shape: u32,
    /// Tie-break: the lower rank wins where shapes overlap.
    rank: u32,
    /// Index of the shape's first band in `PointIndex::band_ends`.
    first_band: u32,
    band_count: u32,
}

impl ShapeInfo {
    /// Cell index of `v` on an axis; monotonic in `v`, saturating at both ends.
    #[inline]
    fn cell(v: f64, min: f64, per_degree: f64) -> usize {
        // `as` saturates: below `min` (or NaN) gives 0.
        (((v - min) * per_degree) as usize).min(RASTER - 1)
    }

    /// The band holding latitude `y`; monotonic in `y`, so an edge spanning [y_lo, y_hi]
    /// is filed under every band a point of that span can map to.
    #[inline]
    fn band_of(&self, y: f64) -> u32 {
        let b = ((y - self.min[1]) * self.bands_per_degree) as u32;
        b.min(self.band_count.saturating_sub(1))
    }
}

impl RTreeObject for ShapeInfo {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.min, self.max)
    }
}

impl PointDistance for ShapeInfo {
    fn distance_2(&self, p: &[f64; 2]) -> f64 {
        self.envelope().distance_2(p)
    }
    #[inline]
    fn contains_point(&self, p: &[f64; 2]) -> bool {
        p[0] >= self.min[0] && p[0] <= self.max[0] && p[1] >= self.min[1] && p[1] <= self.max[1]
    }
}

/// Finds which of a list of (multi)polygons contains a point.
pub(crate) struct PointIndex {
    tree: RTree<ShapeInfo>,
    /// The same records, by shape index.
    shapes: Vec<ShapeInfo>,
    /// `RASTER` rows of 2-bit cells per shape, row 0 to the south.
    rasters: Vec<[u64; RASTER]>,
    /// For band `b` (global numbering), its edges are `edges[band_ends[b]..band_ends[b + 1]]`.
    band_ends: Vec<u32>,
    edges: Vec<Edge>,
}

impl fmt::Debug for PointIndex {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("PointIndex")
            .field("shapes", &self.shapes.len())
            .field("bands", &self.band_ends.len().saturating_sub(1))
            .field("edges", &self.edges.len())
            .finish()
    }
}

impl PointIndex {
    /// Indexes `shapes`; where several contain a point, the one with the smallest `rank`
    /// wins (`rank` is a permutation of `0..shapes.len()`).
    pub(crate) fn build(shapes: &[&MultiPolygon], rank: &[u32]) -> Result<PointIndex, String> {
        if shapes.len() != rank.len() || u32::try_from(shapes.len()).is_err() {
            return Err(format!(
                "{} shapes for {} ranks (at most {} shapes)",
                shapes.len(),
                rank.len(),
                u32::MAX
            ));
        }
        let mut index = PointIndex {
            tree: RTree::new(),
            shapes: Vec::with_capacity(shapes.len()),
            rasters: Vec::with_capacity(shapes.len()),
            band_ends: vec![0],
            edges: Vec::new(),
        };
        let mut shape_edges = Vec::new();
        let mut band_fill = Vec::new();
        for (i, shape) in shapes.iter().enumerate() {
            shape_edges.clear();
            let mut bbox = BBox::EMPTY;
            for (a, b) in segments(shape) {
                bbox.extend(a);
                shape_edges.extend(Edge::new(a, b));
            }
            let info = index.file_edges_in_bands(
                i as u32,
                rank[i],
                &shape_edges,
                &bbox,
                &mut band_fill,
            )?;
            index.shapes.push(info);
            index.rasters.push(index.raster(&info, shape));
        }
        let boxed = index
            .shapes
            .iter()
            .filter(|s| s.min[0] <= s.max[0] && s.min[1] <= s.max[1])
            .copied()
            .collect();
        index.tree = RTree::bulk_load(boxed);
        Ok(index)
    }

    /// Whether shape `shape` contains (x, y) by the even-odd rule over all its rings.
    #[inline]
    pub(crate) fn contains(&self, shape: u32, x: f64, y: f64) -> bool {
        match self.shapes.get(shape as usize) {
            Some(info) => info.contains_point(&[x, y]) && self.contains_in_box(info, x, y),
            None => false,
        }
    }

    /// `contains` for a point already known to be in the shape's bounding box.
    #[inline]
    fn contains_in_box(&self, info: &ShapeInfo, x: f64, y: f64) -> bool {
        let col = ShapeInfo::cell(x, info.min[0], info.cells_per_degree[0]);
        let row = ShapeInfo::cell(y, info.min[1], info.cells_per_degree[1]);
        match (self.rasters[info.shape as usize][row] >> (2 * col)) & 3 {
            CELL_INSIDE => true,
            CELL_OUTSIDE => false,
            _ => self.ray_cast(info, x, y),
        }
    }

    /// The exact test: even-odd count of the edges of the point's band east of it.
    #[inline]
    fn ray_cast(&self, info: &ShapeInfo, x: f64, y: f64) -> bool {
        if !(y >= info.min[1] && y < info.max[1]) || info.band_count == 0 {
            return false;
        }
        let band = (info.first_band + info.band_of(y)) as usize;
        let (lo, hi) = (
            self.band_ends[band] as usize,
            self.band_ends[band + 1] as usize,
        );
        let mut inside = false;
        for edge in &self.edges[lo..hi] {
            inside ^= edge.crossed_by_ray_from(x, y);
        }
        inside
    }

    /// The shape containing (x, y), the lowest ranked one if several do.
    pub(crate) fn locate(&self, x: f64, y: f64) -> Option<u32> {
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        let mut candidates = [None::<&ShapeInfo>; STACK_CANDIDATES];
        let mut found = 0usize;
        let overflow = self
            .tree
            .locate_all_at_point_int(&[x, y], |info| {
                if found == STACK_CANDIDATES {
                    return ControlFlow::Break(());
                }
                candidates[found] = Some(info);
                found += 1;
                ControlFlow::Continue(())
            })
            .is_break();
        if overflow {
            return self
                .tree
                .locate_all_at_point(&[x, y])
                .filter(|info| self.contains_in_box(info, x, y))
                .min_by_key(|info| info.rank)
                .map(|info| info.shape);
        }
        let candidates = &mut candidates[..found];
        candidates.sort_unstable_by_key(|c| c.map_or(u32::MAX, |info| info.rank));
        candidates
            .iter()
            .flatten()
            .find(|info| self.contains_in_box(info, x, y))
            .map(|info| info.shape)
    }

    /// Bytes used by the rasters, band tables and edges (the R-tree aside).
    pub(crate) fn table_bytes(&self) -> usize {
        self.edges.len() * std::mem::size_of::<Edge>()
            + self.band_ends.len() * 4
            + self.shapes.len() * std::mem::size_of::<ShapeInfo>()
            + self.rasters.len() * std::mem::size_of::<[u64; RASTER]>()
    }

    /// Appends the bands of one shape to the global tables.
    fn file_edges_in_bands(
        &mut self,
        shape: u32,
        rank: u32,
        shape_edges: &[Edge],
        bbox: &BBox,
        band_fill: &mut Vec<u32>,
    ) -> Result<ShapeInfo, String> {
        let too_many = || "more than 2^32 edges in the commune index".to_owned();
        let first_band = u32::try_from(self.band_ends.len() - 1).map_err(|_| too_many())?;
        let per_degree = |count: usize, min: f64, max: f64| {
            if max > min {
                count as f64 / (max - min)
            } else {
                0.0
            }
        };
        let band_count = if shape_edges.is_empty() || bbox.is_empty() {
            0
        } else {
            (shape_edges.len() / EDGES_PER_BAND).clamp(1, MAX_BANDS_PER_SHAPE)
        };
        let info = ShapeInfo {
            min: bbox.min,
            max: bbox.max,
            cells_per_degree: [
                per_degree(RASTER, bbox.min[0], bbox.max[0]),
                per_degree(RASTER, bbox.min[1], bbox.max[1]),
            ],
            bands_per_degree: per_degree(band_count, bbox.min[1], bbox.max[1]),
            shape,
            rank,
            first_band,
            band_count: band_count as u32,
        };
        // Counting pass, then filling pass: one contiguous run of edges per band.
        band_fill.clear();
        band_fill.resize(band_count, 0);
        if band_count == 0 {
            return Ok(info);
        }
        for e in shape_edges {
            for b in info.band_of(e.y_lo)..=info.band_of(e.y_hi) {
                band_fill[b as usize] += 1;
            }
        }
        let mut start = self.edges.len();
        for fill in band_fill.iter_mut() {
            let len = *fill as usize;
            *fill = u32::try_from(start).map_err(|_| too_many())?;
            start += len;
            self.band_ends
                .push(u32::try_from(start).map_err(|_| too_many())?);
        }
        self.edges.resize(
            start,
            Edge {
                y_lo: 0.0,
                y_hi: 0.0,
                x_at_lo: 0.0,
                dx_dy: 0.0,
            },
        );
        for e in shape_edges {
            for b in info.band_of(e.y_lo)..=info.band_of(e.y_hi) {
                let slot = &mut band_fill[b as usize];
                self.edges[*slot as usize] = *e;
                *slot += 1;
            }
        }
        Ok(info)
    }

    /// Classifies the raster cells of a shape whose bands are filed. A cell that no
    /// segment's bounding box reaches holds no boundary point, so the parity of any of its
    /// points is that of its centre: the ray cast gives the same answer everywhere in it.
    fn raster(&self, info: &ShapeInfo, shape: &MultiPolygon) -> [u64; RASTER] {
        let mut rows = [0u64; RASTER];
        let mark = |rows: &mut [u64; RASTER], row: usize, col: usize| {
            rows[row] |= CELL_BOUNDARY << (2 * col);
        };
        for (a, b) in segments(shape) {
            let cols = ShapeInfo::cell(a[0].min(b[0]), info.min[0], info.cells_per_degree[0])
                ..=ShapeInfo::cell(a[0].max(b[0]), info.min[0], info.cells_per_degree[0]);
            let rows_spanned =
                ShapeInfo::cell(a[1].min(b[1]), info.min[1], info.cells_per_degree[1])
                    ..=ShapeInfo::cell(a[1].max(b[1]), info.min[1], info.cells_per_degree[1]);
            for row in rows_spanned {
                for col in cols.clone() {
                    mark(&mut rows, row, col);
                }
            }
        }
        let centre =
            |i: usize, axis: usize| info.min[axis] + (i as f64 + 0.5) / info.cells_per_degree[axis];
        // A flat box (zero cells per degree) or rounding can put a centre in another cell:
        // that cell is then left to the exact test.
        let mut col_centres = [None::<f64>; RASTER];
        for (col, slot) in col_centres.iter_mut().enumerate() {
            let x = centre(col, 0);
            if x.is_finite()
                && ShapeInfo::cell(x, info.min[0], info.cells_per_degree[0]) == col
                && x >= info.min[0]
                && x <= info.max[0]
            {
                *slot = Some(x);
            }
        }
        let mut crossings = Vec::new();
        for (row, bits) in rows.iter_mut().enumerate() {
            let y = centre(row, 1);
            let row_ok = y.is_finite()
                && ShapeInfo::cell(y, info.min[1], info.cells_per_degree[1]) == row
                && y >= info.min[1]
                && y < info.max[1]
                && info.band_count > 0;
            if !row_ok {
                *bits = BOUNDARY_ROW;
                continue;
            }
            // The ray cast of every cell centre of the row at once: the x of each crossing
            // edge of the band, computed exactly as `Edge::crossed_by_ray_from` does.
            let band = (info.first_band + info.band_of(y)) as usize;
            let edges =
                &self.edges[self.band_ends[band] as usize..self.band_ends[band + 1] as usize];
            crossings.clear();
            crossings.extend(
                edges
                    .iter()
                    .filter(|e| y >= e.y_lo && y < e.y_hi)
                    .map(|e| e.x_at_lo + (y - e.y_lo) * e.dx_dy),
            );
            crossings.sort_unstable_by(f64::total_cmp);
            // Columns run west to east, so the crossings at or west of the centre only grow.
            let mut west = 0;
            for (col, x) in col_centres.iter().enumerate() {
                if (*bits >> (2 * col)) & 3 == CELL_BOUNDARY {
                    continue;
                }
                let cell = match x {
                    None => CELL_BOUNDARY,
                    Some(x) => {
                        while west < crossings.len() && crossings[west] <= *x {
                            west += 1;
                        }
                        // Crossings strictly east of x, as in the ray cast.
                        if (crossings.len() - west) % 2 == 1 {
                            CELL_INSIDE
                        } else {
                            CELL_OUTSIDE
                        }
                    }
                };
                *bits |= cell << (2 * col);
            }
        }
        rows
    }

    /// `contains` without the raster shortcut, to check that the shortcut never changes
    /// an answer.
    #[cfg(test)]
    pub(crate) fn contains_by_ray_cast(&self, shape: u32, x: f64, y: f64) -> bool {
        match self.shapes.get(shape as usize) {
            Some(info) => info.contains_point(&[x, y]) && self.ray_cast(info, x, y),
            None => false,
        }
    }
}

/// Every segment of every ring of `shape`, each ring closed back to its first vertex (for
/// an explicitly closed ring that adds a zero-length segment, which is harmless).
fn segments(shape: &MultiPolygon) -> impl Iterator<Item = ([f64; 2], [f64; 2])> + '_ {
    shape
        .polygons
        .iter()
        .flat_map(|p| std::iter::once(&p.exterior).chain(&p.interiors))
        .flat_map(|ring| {
            ring.iter()
                .enumerate()
                .map(move |(k, &a)| (a, ring[(k + 1) % ring.len()]))
        })
}
