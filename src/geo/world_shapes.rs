//! Area outlines and 10 km grid cells already projected to Web Mercator, as integer world
//! coordinates, computed once per store.
//!
//! A tile draws every commune, department and 10 km cell it meets; projecting their
//! vertices from lon/lat (a logarithm per vertex) and the cells from Lambert-93 (an
//! iterative inverse per vertex) was most of the cost of a z7–z9 tile. Here each vertex is
//! projected once, to the integer units of zoom [`WORLD_ZOOM`]'s tiles; a tile of a lower
//! zoom takes them by a rounding shift and a subtraction. Up to [`WHOLE_MAX_ZOOM`], each
//! ring is also encoded once per zoom as a tile holding it whole writes it
//! ([`crate::tiles::mvt::WholeRingEncoder`]): most rings of a z7–z12 tile are copied.

use super::grid::{Cell, GridSize};
use super::webmercator::{forward, HALF_WORLD};
use super::{BBox, MultiPolygon};
use crate::tiles::mvt::{WholeRing, WholeRingEncoder};
use std::ops::Range;
use std::sync::OnceLock;

/// Lambert-93 segments per cell edge, as the tiles have always drawn cells (follows the
/// curved parallels of the grid).
pub const CELL_POINTS_PER_EDGE: usize = 8;
/// Vertices of a cell ring (closed).
const CELL_VERTICES: usize = 4 * CELL_POINTS_PER_EDGE + 1;

/// Tile units per tile side, as a power of two: the shapes serve 4096-unit tiles.
pub const TILE_BITS: u32 = 12;
/// Vertices are kept in units of this zoom's tiles: 2^30 across the world, 3.7 cm at the
/// equator (finer than the outlines themselves), and an `i32` each.
pub const WORLD_ZOOM: u8 = 18;
/// Zooms up to which rings are encoded whole (a z13 tile, 4.9 km a side, clips most
/// communes anyway).
pub const WHOLE_MAX_ZOOM: u8 = 12;

/// A vertex in units of [`WORLD_ZOOM`]'s tiles (x east, y south from the world's
/// north-west corner).
fn world_units(lon: f64, lat: f64) -> [i32; 2] {
    let (x, y) = forward(lon, lat);
    let scale = f64::from(1u32 << (WORLD_ZOOM as u32 + TILE_BITS)) / (2.0 * HALF_WORLD);
    let unit = |v: f64| v.round().clamp(f64::from(-i32::MAX), f64::from(i32::MAX)) as i32;
    [
        unit((x + HALF_WORLD) * scale),
        unit((HALF_WORLD - y) * scale),
    ]
}

/// A world coordinate in units of zoom `z`'s tiles: rounded (halves up) below
/// [`WORLD_ZOOM`], scaled up above.
#[inline]
pub fn at_zoom(v: i32, z: u8) -> i64 {
    let v = i64::from(v);
    if z >= WORLD_ZOOM {
        v << u32::from(z - WORLD_ZOOM).min(30)
    } else {
        let s = u32::from(WORLD_ZOOM - z);
        (v + (1 << (s - 1))) >> s
    }
}

/// Where tile `x`, `y` (of any zoom) starts in its zoom's world units.
pub fn tile_origin(x: u32, y: u32) -> [i64; 2] {
    [i64::from(x) << TILE_BITS, i64::from(y) << TILE_BITS]
}

/// Rings of more vertices than this are cut in [`SECTION_VERTICES`]-vertex sections.
const SECTIONED_ABOVE: usize = 96;
/// Vertices per section of a long ring.
const SECTION_VERTICES: usize = 32;

/// A stretch of a long ring and its box: a tile that clips the ring draws only the ends
/// of a section lying wholly beyond one side of its square (the clipped ring is the same,
/// see `tiles::mvt::clip`'s `runs_beyond_one_side_clip_like_their_ends`). A department
/// has ~1,800 vertices, of which a z12 tile usually holds a few dozen.
#[derive(Clone, Copy, Debug)]
struct Section {
    /// End of its vertices in the ring (the start is the previous section's end).
    end: u32,
    min: [i32; 2],
    max: [i32; 2],
}

/// Every ring of one zoom as a tile holding it whole writes it.
#[derive(Debug, Default)]
pub struct WholeRings {
    /// Per ring (see [`RingId`]): None when it must be drawn from its vertices.
    heads: Vec<Option<WholeRing>>,
    /// End of each ring's bytes in `bytes`.
    ends: Vec<u32>,
    bytes: Vec<u8>,
}

impl WholeRings {
    /// Ring `r` as encoded, with its bytes.
    #[inline]
    pub fn get(&self, r: RingId) -> Option<(&WholeRing, &[u8])> {
        let i = r.0 as usize;
        let head = self.heads.get(i)?.as_ref()?;
        let start = match i {
            0 => 0,
            _ => *self.ends.get(i - 1)? as usize,
        };
        let end = *self.ends.get(i)? as usize;
        Some((head, self.bytes.get(start..end)?))
    }

    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Option<WholeRing>>() * self.heads.capacity()
            + 4 * self.ends.capacity()
            + self.bytes.capacity()
    }
}

/// A ring of [`WorldShapes`]: the areas' rings, then the 10 km cells'.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingId(u32);

/// Every area's outline and the 10 km cells over the areas, in world units.
#[derive(Debug, Default)]
pub struct WorldShapes {
    vertices: Vec<[i32; 2]>,
    /// Vertex range of each ring.
    rings: Vec<[u32; 2]>,
    /// Ring range of each polygon (its exterior first).
    polygons: Vec<[u32; 2]>,
    /// Polygon range of each area, in the order given to [`WorldShapes::build`].
    areas: Vec<[u32; 2]>,
    /// Section range of each area ring (empty when short).
    ring_sections: Vec<[u32; 2]>,
    sections: Vec<Section>,
    grid10: CellShapes,
    /// Per zoom up to [`WHOLE_MAX_ZOOM`], built on the first tile of that zoom.
    whole: Vec<OnceLock<WholeRings>>,
}

/// The 10 km cells of a rectangle of the grid, [`CELL_VERTICES`] vertices each.
#[derive(Debug, Default)]
struct CellShapes {
    e0: i32,
    n0: i32,
    columns: i32,
    rows: i32,
    vertices: Vec<[i32; 2]>,
    /// Each cell's lon/lat box as [`cell_box_wgs84`] draws it: a tile meets thousands of
    /// cells, each box otherwise 8 inverse projections.
    boxes: Vec<BBox>,
}

impl CellShapes {
    /// The index of `cell` in this rectangle.
    fn index(&self, cell: &Cell) -> Option<usize> {
        let (c, r) = (cell.e - self.e0, cell.n - self.n0);
        let known = cell.size == GridSize::Km10
            && (0..self.columns).contains(&c)
            && (0..self.rows).contains(&r);
        known.then(|| (r * self.columns + c) as usize)
    }
}

/// The lon/lat box of `cell`'s outline with 2 points per edge (not yet widened).
pub fn cell_box_wgs84(cell: &Cell) -> BBox {
    let mut b = BBox::EMPTY;
    for p in cell.polygon_wgs84(2) {
        b.extend(p);
    }
    b
}

impl WorldShapes {
    /// Projects `count` areas given by `geometry(i)`, and the 10 km cells over `extent_l93`
    /// ([x min, y min, x max, y max] in Lambert-93 metres).
    pub fn build(
        count: usize,
        geometry: impl Fn(usize) -> MultiPolygon,
        extent_l93: [f64; 4],
    ) -> Self {
        let mut s = WorldShapes::default();
        let project = |p: &[f64; 2]| world_units(p[0], p[1]);
        for i in 0..count {
            let p0 = s.polygons.len() as u32;
            for polygon in geometry(i).polygons {
                let r0 = s.rings.len() as u32;
                for ring in std::iter::once(&polygon.exterior).chain(&polygon.interiors) {
                    let v0 = s.vertices.len() as u32;
                    s.vertices.extend(ring.iter().map(project));
                    s.rings.push([v0, s.vertices.len() as u32]);
                    let s0 = s.sections.len() as u32;
                    let projected = s.vertices.get(v0 as usize..).unwrap_or(&[]);
                    if projected.len() > SECTIONED_ABOVE {
                        let mut end = 0;
                        for part in projected.chunks(SECTION_VERTICES) {
                            end += part.len() as u32;
                            let mut section = Section {
                                end,
                                min: [i32::MAX, i32::MAX],
                                max: [i32::MIN, i32::MIN],
                            };
                            for v in part {
                                section.min = [section.min[0].min(v[0]), section.min[1].min(v[1])];
                                section.max = [section.max[0].max(v[0]), section.max[1].max(v[1])];
                            }
                            s.sections.push(section);
                        }
                    }
                    s.ring_sections.push([s0, s.sections.len() as u32]);
                }
                s.polygons.push([r0, s.rings.len() as u32]);
            }
            s.areas.push([p0, s.polygons.len() as u32]);
        }
        let step = GridSize::Km10.metres();
        let (e0, n0) = (
            (extent_l93[0] / step).floor() as i32,
            (extent_l93[1] / step).floor() as i32,
        );
        let (e1, n1) = (
            (extent_l93[2] / step).floor() as i32,
            (extent_l93[3] / step).floor() as i32,
        );
        let (columns, rows) = (
            i64::from(e1) - i64::from(e0) + 1,
            i64::from(n1) - i64::from(n0) + 1,
        );
        // No grid for an empty or absurd extent: cells are then drawn one by one.
        if columns > 0 && rows > 0 && columns * rows <= 1 << 20 {
            let (columns, rows) = (columns as i32, rows as i32);
            let mut vertices = Vec::with_capacity((columns * rows) as usize * CELL_VERTICES);
            let mut boxes = Vec::with_capacity((columns * rows) as usize);
            for n in n0..=n1 {
                for e in e0..=e1 {
                    let cell = Cell {
                        size: GridSize::Km10,
                        e,
                        n,
                    };
                    vertices.extend(cell.polygon_wgs84(CELL_POINTS_PER_EDGE).iter().map(project));
                    boxes.push(cell_box_wgs84(&cell));
                }
            }
            s.grid10 = CellShapes {
                e0,
                n0,
                columns,
                rows,
                vertices,
                boxes,
            };
        }
        s.vertices.shrink_to_fit();
        s.whole = (0..=WHOLE_MAX_ZOOM).map(|_| OnceLock::new()).collect();
        s
    }

    /// The rings of area `i`'s polygons, each polygon's exterior first (none beyond the
    /// areas given to `build`).
    pub fn area_polygons(&self, i: usize) -> impl Iterator<Item = Range<u32>> + '_ {
        let [p0, p1] = self.areas.get(i).copied().unwrap_or([0, 0]);
        self.polygons
            .get(p0 as usize..p1 as usize)
            .unwrap_or(&[])
            .iter()
            .map(|&[r0, r1]| r0..r1)
    }

    /// The ring of a 10 km cell over the areas; None for other cells (draw those from
    /// [`Cell::polygon_wgs84`] with [`CELL_POINTS_PER_EDGE`]).
    pub fn cell_ring(&self, cell: &Cell) -> Option<RingId> {
        let k = self.grid10.index(cell)?;
        Some(RingId((self.rings.len() + k) as u32))
    }

    /// Ring `r` of an area's polygon (an index from [`WorldShapes::area_polygons`]).
    pub fn area_ring(&self, r: u32) -> RingId {
        RingId(r)
    }

    /// The vertices of ring `r`, in world units (closed, as given).
    pub fn ring_vertices(&self, r: RingId) -> &[[i32; 2]] {
        let r = r.0 as usize;
        if let Some(&[v0, v1]) = self.rings.get(r) {
            return self.vertices.get(v0 as usize..v1 as usize).unwrap_or(&[]);
        }
        let k = (r - self.rings.len()) * CELL_VERTICES;
        self.grid10
            .vertices
            .get(k..k + CELL_VERTICES)
            .unwrap_or(&[])
    }

    /// Sets `out` to the vertices of ring `r` at zoom `z` relative to `origin`, as a tile
    /// whose square is `[min, max]²` clips them: the sections of a long ring lying wholly
    /// beyond one side of the square cut to their ends.
    pub fn ring_for_clipping(
        &self,
        r: RingId,
        z: u8,
        origin: [i64; 2],
        [min, max]: [i64; 2],
        out: &mut Vec<[i64; 2]>,
    ) {
        out.clear();
        let vertices = self.ring_vertices(r);
        let at = |v: &[i32; 2]| [at_zoom(v[0], z) - origin[0], at_zoom(v[1], z) - origin[1]];
        let sections = self
            .ring_sections
            .get(r.0 as usize)
            .and_then(|&[s0, s1]| self.sections.get(s0 as usize..s1 as usize))
            .unwrap_or(&[]);
        if sections.is_empty() {
            out.extend(vertices.iter().map(at));
            return;
        }
        let mut start = 0;
        for section in sections {
            let part = vertices.get(start..section.end as usize).unwrap_or(&[]);
            start = section.end as usize;
            let (lo, hi) = (at(&section.min), at(&section.max));
            let beyond = hi[0] < min || lo[0] > max || hi[1] < min || lo[1] > max;
            match (beyond, part.first(), part.last()) {
                (true, Some(first), Some(last)) => out.extend([at(first), at(last)]),
                _ => out.extend(part.iter().map(at)),
            }
        }
    }

    /// Every ring encoded whole for zoom `z` (None above [`WHOLE_MAX_ZOOM`]); built on
    /// first use.
    pub fn whole_rings(&self, z: u8) -> Option<&WholeRings> {
        let slot = self.whole.get(usize::from(z))?;
        Some(slot.get_or_init(|| self.encode_whole(z)))
    }

    fn encode_whole(&self, z: u8) -> WholeRings {
        let ring_count = self.rings.len() + self.grid10.boxes.len();
        let mut out = WholeRings {
            heads: Vec::with_capacity(ring_count),
            ends: Vec::with_capacity(ring_count),
            bytes: Vec::new(),
        };
        let mut encoder = WholeRingEncoder::default();
        let mut exterior = vec![false; ring_count];
        for &[r0, _] in &self.polygons {
            if let Some(e) = exterior.get_mut(r0 as usize) {
                *e = true;
            }
        }
        exterior
            .get_mut(self.rings.len()..)
            .unwrap_or(&mut [])
            .fill(true);
        for (r, is_exterior) in exterior.into_iter().enumerate() {
            let vertices = self.ring_vertices(RingId(r as u32));
            let points = vertices
                .iter()
                .map(|v| [at_zoom(v[0], z), at_zoom(v[1], z)]);
            let head = encoder.encode(points, is_exterior, &mut out.bytes);
            out.heads.push(head);
            out.ends.push(out.bytes.len() as u32);
        }
        out.heads.shrink_to_fit();
        out.bytes.shrink_to_fit();
        out
    }

    /// [`cell_box_wgs84`] of a 10 km cell over the areas, precomputed; computed for others.
    pub fn cell_box(&self, cell: &Cell) -> BBox {
        let g = &self.grid10;
        g.index(cell)
            .and_then(|k| g.boxes.get(k).copied())
            .unwrap_or_else(|| cell_box_wgs84(cell))
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        32 * self.grid10.boxes.capacity()
            + 8 * (self.vertices.capacity() + self.grid10.vertices.capacity())
            + 8 * (self.rings.capacity() + self.polygons.capacity() + self.areas.capacity())
            + 8 * self.ring_sections.capacity()
            + std::mem::size_of::<Section>() * self.sections.capacity()
            + self
                .whole
                .iter()
                .filter_map(OnceLock::get)
                .map(WholeRings::heap_bytes)
                .sum::<usize>()
    }
}

/// The Lambert-93 extent of a lon/lat box (from its corners and edge midpoints, clamped to
/// ±180° and ±85°).
pub fn lambert_extent(b: &BBox) -> [f64; 4] {
    let (mx, my) = ((b.min[0] + b.max[0]) / 2.0, (b.min[1] + b.max[1]) / 2.0);
    let mut e = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for (lon, lat) in [
        (b.min[0], b.min[1]),
        (b.min[0], b.max[1]),
        (b.max[0], b.min[1]),
        (b.max[0], b.max[1]),
        (mx, b.min[1]),
        (mx, b.max[1]),
        (b.min[0], my),
        (b.max[0], my),
    ] {
        let (x, y) = super::lambert93::forward(lon.clamp(-180.0, 180.0), lat.clamp(-85.0, 85.0));
        e = [e[0].min(x), e[1].min(y), e[2].max(x), e[3].max(y)];
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::webmercator::{lonlat_to_tile_pixel, TileId};
    use crate::geo::Polygon;

    fn containing(z: u8) -> TileId {
        let p = [4.87, 45.77];
        let b = BBox { min: p, max: p };
        match crate::geo::webmercator::tiles_covering(&b, z).next() {
            Some(t) => t,
            None => panic!("no tile at z{z}"),
        }
    }

    /// How far a vertex taken from the world units may lie from the direct projection: a
    /// rounding, plus the first rounding to [`WORLD_ZOOM`]'s units seen at zoom `z`.
    fn tolerance(z: u8) -> f64 {
        // One world unit in zoom z's units.
        let world_unit = 2f64.powi(i32::from(z) - i32::from(WORLD_ZOOM));
        let second_rounding = if z < WORLD_ZOOM { 0.5 } else { 0.0 };
        second_rounding + 0.5 * world_unit + 1e-9
    }

    /// Each vertex drawn from the world units lies within a rounding of projecting its
    /// lon/lat directly to the tile (the per-vertex projection the tiles used before), at
    /// every zoom; and the rounding is to the nearest unit, not a floor.
    #[test]
    fn world_vertices_round_the_direct_projection() {
        let ring = vec![
            [4.85, 45.75],
            [4.9, 45.75],
            [4.9123457, 45.8],
            [4.85, 45.75],
        ];
        let shapes = WorldShapes::build(
            1,
            |_| MultiPolygon {
                polygons: vec![Polygon {
                    exterior: ring.clone(),
                    interiors: Vec::new(),
                }],
            },
            [840_000.0, 6_510_000.0, 850_000.0, 6_520_000.0],
        );
        let rings: Vec<Range<u32>> = shapes.area_polygons(0).collect();
        assert_eq!(rings, vec![0..1]);
        let vertices = shapes.ring_vertices(shapes.area_ring(0));
        assert_eq!(vertices.len(), ring.len());
        for z in 0..=22u8 {
            let tile = containing(z);
            let [ox, oy] = tile_origin(tile.x(), tile.y());
            for (w, p) in vertices.iter().zip(&ring) {
                let got = [at_zoom(w[0], z) - ox, at_zoom(w[1], z) - oy];
                let (x, y) = lonlat_to_tile_pixel(p[0], p[1], tile, 1 << TILE_BITS);
                for (g, d) in got.into_iter().zip([x, y]) {
                    assert!(
                        (g as f64 - d).abs() <= tolerance(z),
                        "z{z}: {g} against {d} for {p:?}"
                    );
                }
            }
        }
        let cell = Cell {
            size: GridSize::Km10,
            e: 84,
            n: 651,
        };
        let tile = containing(12);
        let [ox, oy] = tile_origin(tile.x(), tile.y());
        let Some(ring) = shapes.cell_ring(&cell) else {
            panic!("cell inside the extent missing");
        };
        let outline = cell.polygon_wgs84(CELL_POINTS_PER_EDGE);
        assert_eq!(shapes.ring_vertices(ring).len(), outline.len());
        for (w, p) in shapes.ring_vertices(ring).iter().zip(outline) {
            let (x, y) = lonlat_to_tile_pixel(p[0], p[1], tile, 1 << TILE_BITS);
            assert!(((at_zoom(w[0], 12) - ox) as f64 - x).abs() <= tolerance(12));
            assert!(((at_zoom(w[1], 12) - oy) as f64 - y).abs() <= tolerance(12));
        }
        assert!(shapes.cell_ring(&Cell { e: 90, ..cell }).is_none());
        assert!(shapes
            .cell_ring(&Cell {
                size: GridSize::Km1,
                ..cell
            })
            .is_none());
        assert!(shapes.area_polygons(1).next().is_none());
    }

    #[test]
    fn world_units_round_halves_up_at_every_zoom() {
        // 2^18 world units are one unit at z0: half of it rounds up, just below down.
        assert_eq!(at_zoom(1 << 17, 0), 1);
        assert_eq!(at_zoom((1 << 17) - 1, 0), 0);
        assert_eq!(at_zoom(-(1 << 17), 0), 0);
        assert_eq!(at_zoom(3, 18), 3);
        assert_eq!(at_zoom(3, 20), 12);
        assert_eq!(at_zoom(5, 17), 3);
        assert_eq!(tile_origin(3, 5), [3 * 4096, 5 * 4096]);
    }

    /// A long ring clipped by a tile: sections wholly beyond a side of the square are cut
    /// to their ends, and no vertex inside the square (or near it) is left out.
    #[test]
    fn long_rings_keep_every_vertex_near_the_tile() {
        let circle: Vec<[f64; 2]> = (0..=400)
            .map(|k| {
                let a = f64::from(k % 400) / 400.0 * std::f64::consts::TAU;
                [4.87 + 0.6 * a.cos(), 45.77 + 0.4 * a.sin()]
            })
            .collect();
        let shapes = WorldShapes::build(
            1,
            |_| MultiPolygon {
                polygons: vec![Polygon {
                    exterior: circle.clone(),
                    interiors: Vec::new(),
                }],
            },
            [840_000.0, 6_510_000.0, 850_000.0, 6_520_000.0],
        );
        let ring = shapes.area_ring(0);
        // The tile holding the circle's eastern point at z10: most of the circle is beyond.
        let east = BBox {
            min: [5.47, 45.77],
            max: [5.47, 45.77],
        };
        let tile = match crate::geo::webmercator::tiles_covering(&east, 10).next() {
            Some(t) => t,
            None => panic!("no tile"),
        };
        let origin = tile_origin(tile.x(), tile.y());
        let square = [-64, 4096 + 64];
        let mut cut = Vec::new();
        shapes.ring_for_clipping(ring, 10, origin, square, &mut cut);
        let all: Vec<[i64; 2]> = shapes
            .ring_vertices(ring)
            .iter()
            .map(|v| [at_zoom(v[0], 10) - origin[0], at_zoom(v[1], 10) - origin[1]])
            .collect();
        assert_eq!(all.len(), 401);
        assert!(
            cut.len() < all.len() / 2,
            "{} of {} kept",
            cut.len(),
            all.len()
        );
        let inside = |p: &[i64; 2]| {
            (square[0]..=square[1]).contains(&p[0]) && (square[0]..=square[1]).contains(&p[1])
        };
        let near: Vec<&[i64; 2]> = all.iter().filter(|p| inside(p)).collect();
        assert!(near.len() > 5, "the tile should hold part of the ring");
        for p in near {
            assert!(cut.contains(p), "{p:?} inside the square was dropped");
        }
        // A short ring is given whole.
        let cell = Cell {
            size: GridSize::Km10,
            e: 84,
            n: 651,
        };
        if let Some(r) = shapes.cell_ring(&cell) {
            shapes.ring_for_clipping(r, 10, origin, square, &mut cut);
            assert_eq!(cut.len(), CELL_VERTICES);
        }
    }
}
