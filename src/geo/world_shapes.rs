//! Area outlines and 10 km grid cells already projected to Web Mercator, as integer world
//! coordinates, computed once per store.
//!
//! A tile draws every commune, department and 10 km cell it meets; projecting their
//! vertices from lon/lat (a logarithm per vertex) and the cells from Lambert-93 (an
//! iterative inverse per vertex) was most of the cost of a z7–z9 tile. Here each vertex is
//! projected once; drawing it in a tile is then a subtraction and a multiplication.
//!
//! Vertices are kept as Web-Mercator metres (EPSG:3857), exactly as
//! [`lonlat_to_tile_pixel`](super::webmercator::lonlat_to_tile_pixel) computes them before
//! scaling to the tile, so a tile drawn from here has the same bytes as one projected
//! vertex by vertex.

use super::grid::{Cell, GridSize};
use super::webmercator::{forward, TileId};
use super::{BBox, MultiPolygon};

/// Lambert-93 segments per cell edge, as the tiles have always drawn cells (follows the
/// curved parallels of the grid).
pub const CELL_POINTS_PER_EDGE: usize = 8;
/// Vertices of a cell ring (closed).
const CELL_VERTICES: usize = 4 * CELL_POINTS_PER_EDGE + 1;

fn mercator(p: &[f64; 2]) -> [f64; 2] {
    let (x, y) = forward(p[0], p[1]);
    [x, y]
}

/// Maps Web-Mercator metres to the pixels of one tile (y down, 0..extent inside the
/// tile), with the arithmetic of `lonlat_to_tile_pixel`.
#[derive(Clone, Copy, Debug)]
pub struct TileProjector {
    min_x: f64,
    max_y: f64,
    scale: f64,
}

impl TileProjector {
    pub fn new(tile: TileId, extent: u32) -> Self {
        let b = tile.bounds_mercator();
        TileProjector {
            min_x: b.min[0],
            max_y: b.max[1],
            scale: f64::from(extent) / tile.side(),
        }
    }

    #[inline]
    pub fn project(&self, m: [f64; 2]) -> [f64; 2] {
        [
            (m[0] - self.min_x) * self.scale,
            (self.max_y - m[1]) * self.scale,
        ]
    }
}

/// One area's outline: polygons, each a list of rings whose first is the exterior.
#[derive(Clone, Copy)]
pub struct Shape<'a> {
    shapes: &'a WorldShapes,
    polygons: [usize; 2],
}

impl<'a> Shape<'a> {
    /// Rings of each polygon, exterior first.
    pub fn polygons(self) -> impl Iterator<Item = impl Iterator<Item = &'a [[f64; 2]]>> {
        let s = self.shapes;
        s.polygons[self.polygons[0]..self.polygons[1]]
            .iter()
            .map(move |&[r0, r1]| {
                s.rings[r0 as usize..r1 as usize]
                    .iter()
                    .map(move |&[v0, v1]| &s.vertices[v0 as usize..v1 as usize])
            })
    }
}

/// Every area's outline and the 10 km cells over the areas, in Web-Mercator metres.
#[derive(Debug, Default)]
pub struct WorldShapes {
    vertices: Vec<[f64; 2]>,
    /// Vertex range of each ring.
    rings: Vec<[u32; 2]>,
    /// Ring range of each polygon.
    polygons: Vec<[u32; 2]>,
    /// Polygon range of each area, in the order given to [`WorldShapes::build`].
    areas: Vec<[u32; 2]>,
    grid10: CellShapes,
}

/// The 10 km cells of a rectangle of the grid, [`CELL_VERTICES`] vertices each.
#[derive(Debug, Default)]
struct CellShapes {
    e0: i32,
    n0: i32,
    columns: i32,
    rows: i32,
    vertices: Vec<[f64; 2]>,
    /// Each cell's lon/lat box as [`cell_box_wgs84`] draws it: a tile meets thousands of
    /// cells, each box otherwise 8 inverse projections.
    boxes: Vec<BBox>,
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
        for i in 0..count {
            let p0 = s.polygons.len() as u32;
            for polygon in geometry(i).polygons {
                let r0 = s.rings.len() as u32;
                for ring in std::iter::once(&polygon.exterior).chain(&polygon.interiors) {
                    let v0 = s.vertices.len() as u32;
                    s.vertices.extend(ring.iter().map(mercator));
                    s.rings.push([v0, s.vertices.len() as u32]);
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
                    vertices.extend(
                        cell.polygon_wgs84(CELL_POINTS_PER_EDGE)
                            .iter()
                            .map(mercator),
                    );
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
        s
    }

    /// The outline of area `i` (None beyond the areas given to `build`).
    pub fn area(&self, i: usize) -> Option<Shape<'_>> {
        self.areas.get(i).map(|&[p0, p1]| Shape {
            shapes: self,
            polygons: [p0 as usize, p1 as usize],
        })
    }

    /// The ring of a 10 km cell over the areas; None for other cells (draw those from
    /// [`Cell::polygon_wgs84`] with [`CELL_POINTS_PER_EDGE`]).
    pub fn cell(&self, cell: &Cell) -> Option<&[[f64; 2]]> {
        let g = &self.grid10;
        if cell.size != GridSize::Km10 {
            return None;
        }
        let (c, r) = (cell.e - g.e0, cell.n - g.n0);
        if !(0..g.columns).contains(&c) || !(0..g.rows).contains(&r) {
            return None;
        }
        let k = (r * g.columns + c) as usize * CELL_VERTICES;
        g.vertices.get(k..k + CELL_VERTICES)
    }

    /// [`cell_box_wgs84`] of a 10 km cell over the areas, precomputed; computed for others.
    pub fn cell_box(&self, cell: &Cell) -> BBox {
        let g = &self.grid10;
        let (c, r) = (cell.e - g.e0, cell.n - g.n0);
        let known =
            cell.size == GridSize::Km10 && (0..g.columns).contains(&c) && (0..g.rows).contains(&r);
        known
            .then(|| g.boxes.get((r * g.columns + c) as usize).copied())
            .flatten()
            .unwrap_or_else(|| cell_box_wgs84(cell))
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        32 * self.grid10.boxes.capacity()
            + 16 * (self.vertices.capacity() + self.grid10.vertices.capacity())
            + 8 * (self.rings.capacity() + self.polygons.capacity() + self.areas.capacity())
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
    use crate::geo::webmercator::lonlat_to_tile_pixel;
    use crate::geo::Polygon;

    /// The precomputed path gives exactly the pixels of projecting each lon/lat directly
    /// (the per-vertex projection the tiles used before), at every zoom.
    fn containing(z: u8) -> TileId {
        let p = [4.87, 45.77];
        let b = BBox { min: p, max: p };
        match crate::geo::webmercator::tiles_covering(&b, z).next() {
            Some(t) => t,
            None => panic!("no tile at z{z}"),
        }
    }

    #[test]
    fn projected_vertices_match_direct_projection() {
        let ring = vec![[4.85, 45.75], [4.9, 45.75], [4.9, 45.8], [4.85, 45.75]];
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
        for z in 0..=22u8 {
            let tile = containing(z);
            let proj = TileProjector::new(tile, 4096);
            let Some(shape) = shapes.area(0) else {
                panic!("area 0 missing");
            };
            let got: Vec<[f64; 2]> = shape
                .polygons()
                .flat_map(|rings| rings.flat_map(|r| r.iter().map(|w| proj.project(*w))))
                .collect();
            for (g, p) in got.iter().zip(&ring) {
                let (x, y) = lonlat_to_tile_pixel(p[0], p[1], tile, 4096);
                assert_eq!(*g, [x, y], "z{z}");
            }
        }
        let cell = Cell {
            size: GridSize::Km10,
            e: 84,
            n: 651,
        };
        let tile = containing(12);
        let proj = TileProjector::new(tile, 4096);
        let Some(ring) = shapes.cell(&cell) else {
            panic!("cell inside the extent missing");
        };
        for (w, p) in ring.iter().zip(cell.polygon_wgs84(CELL_POINTS_PER_EDGE)) {
            let (x, y) = lonlat_to_tile_pixel(p[0], p[1], tile, 4096);
            let g = proj.project(*w);
            assert_eq!(g, [x, y]);
        }
        assert!(shapes.cell(&Cell { e: 90, ..cell }).is_none());
        assert!(shapes
            .cell(&Cell {
                size: GridSize::Km1,
                ..cell
            })
            .is_none());
    }
}
