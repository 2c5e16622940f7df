//! Web Mercator positions quantized to 2^32 steps per world side (under 1 cm at any
//! latitude, as fine as the store's 1e-7 degree), and the square a tile draws points from.
//!
//! Every precise point drawn at zoom ≤ [`QUANTIZED_MAX_ZOOM`] is placed from its quantized
//! position, and point groups are the points sharing a world cell of [`GROUP_CELL_UNITS`]
//! tile units, read off the position's high bits. Integers make the scan of a tile and the
//! store's point order (sorted by [`morton`]) agree to the bit on which points a tile holds,
//! where each group cell starts and what its members' mean is.
#![forbid(unsafe_code)]

use super::webmercator::{forward, TileId, HALF_WORLD};

/// Units per tile side (the MVT extent the tiles use).
pub const TILE_UNITS: i64 = 4096;
/// Side of a point-group cell in tile units; also the buffer drawn around a tile.
pub const GROUP_CELL_UNITS: i64 = 64;
/// Group cells per side of a tile and its buffer: one buffer cell each side.
pub const GRID_SIDE: i64 = TILE_UNITS / GROUP_CELL_UNITS + 2;
/// The highest zoom whose tile units a quantized position resolves (2^(20 + 12) = 2^32).
pub const QUANTIZED_MAX_ZOOM: u8 = 20;

/// The quantized position of a lon/lat: (x east, y south) in 2^32 steps of the world.
pub fn quantize(lon: f64, lat: f64) -> [u32; 2] {
    let (mx, my) = forward(lon.clamp(-180.0, 180.0), lat);
    let world = 2.0 * HALF_WORLD;
    let step = |f: f64| {
        let v = (f * 4_294_967_296.0).floor();
        // NaN clamps to 0 by `as`; the edges to the last step.
        v.clamp(0.0, f64::from(u32::MAX)) as u32
    };
    [
        step((mx + HALF_WORLD) / world),
        step((HALF_WORLD - my) / world),
    ]
}

/// The quantized position of a stored position (1e-7 degrees).
pub fn quantize_e7(lon_e7: i32, lat_e7: i32) -> [u32; 2] {
    quantize(f64::from(lon_e7) / 1e7, f64::from(lat_e7) / 1e7)
}

/// Spreads the 32 bits of `v` to the even bits of a u64.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Z-order key: x on the even bits, y on the odd ones. Every quadtree node (a tile, a group
/// cell) is one contiguous range of keys.
pub fn morton(q: [u32; 2]) -> u64 {
    spread(q[0]) | (spread(q[1]) << 1)
}

/// The key range `[start, end)` of the quadtree node at `level` (bits per axis from the
/// top) holding `q`'s top `level` bits.
pub fn node_keys(level: u32, q: [u32; 2]) -> (u64, u128) {
    let shift = 32 - level.min(32);
    let prefix = [
        u64::from(q[0]) >> shift << shift,
        u64::from(q[1]) >> shift << shift,
    ];
    let start = morton([prefix[0] as u32, prefix[1] as u32]);
    (start, u128::from(start) + (1u128 << (2 * shift)))
}

/// The points of one tile at zoom ≤ [`QUANTIZED_MAX_ZOOM`]: those whose quantized position
/// lies in the tile or the one-cell buffer around it ([`GRID_SIDE`]² group cells, world
/// aligned, half-open).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileSquare {
    tile: TileId,
    /// Quantized steps per tile unit, as a shift (32 - 12 - z).
    unit_shift: u32,
}

/// Finds the group cell of a point in one tile's square (see [`TileSquare::locator`]).
#[derive(Clone, Copy, Debug)]
pub struct CellLocator {
    first: [i64; 2],
    shift: u32,
}

impl CellLocator {
    /// Quantized steps per group cell, as a shift.
    pub fn shift(&self) -> u32 {
        self.shift
    }

    /// Index (row-major, [`GRID_SIDE`] per row) of `q`'s group cell in the square, or None
    /// when `q` lies outside.
    #[inline]
    pub fn index(&self, q: [u32; 2]) -> Option<usize> {
        let cx = i64::from(q[0] >> self.shift) - self.first[0];
        let cy = i64::from(q[1] >> self.shift) - self.first[1];
        ((0..GRID_SIDE).contains(&cx) && (0..GRID_SIDE).contains(&cy))
            .then_some((cy * GRID_SIDE + cx) as usize)
    }
}

impl TileSquare {
    /// None above [`QUANTIZED_MAX_ZOOM`].
    pub fn new(tile: TileId) -> Option<TileSquare> {
        (tile.z() <= QUANTIZED_MAX_ZOOM).then(|| TileSquare {
            tile,
            unit_shift: 20 - u32::from(tile.z()),
        })
    }

    pub fn tile(&self) -> TileId {
        self.tile
    }

    /// Quantized steps per group cell, as a shift.
    pub fn cell_shift(&self) -> u32 {
        self.unit_shift + 6
    }

    /// The world cell (at this zoom, [`GROUP_CELL_UNITS`] units wide) of the square's first
    /// cell: the buffer cell north-west of the tile.
    fn first_cell(&self) -> [i64; 2] {
        let per_tile = TILE_UNITS / GROUP_CELL_UNITS;
        [
            i64::from(self.tile.x()) * per_tile - 1,
            i64::from(self.tile.y()) * per_tile - 1,
        ]
    }

    /// The world cell of `q` at this zoom.
    pub fn world_cell(&self, q: [u32; 2]) -> [i64; 2] {
        let s = self.cell_shift();
        [i64::from(q[0] >> s), i64::from(q[1] >> s)]
    }

    /// Index (row-major, [`GRID_SIDE`] per row) of `q`'s group cell in the square, or None
    /// when `q` lies outside.
    pub fn cell_index(&self, q: [u32; 2]) -> Option<usize> {
        self.locator().index(q)
    }

    /// [`TileSquare::cell_index`] with the square's origin worked out once, for loops over
    /// many points.
    pub fn locator(&self) -> CellLocator {
        CellLocator {
            first: self.first_cell(),
            shift: self.cell_shift(),
        }
    }

    /// The world cell of the square's cell `index`.
    pub fn world_cell_of_index(&self, index: usize) -> [i64; 2] {
        let [fx, fy] = self.first_cell();
        let i = index as i64;
        [fx + i % GRID_SIDE, fy + i / GRID_SIDE]
    }

    /// The square's quantized bounds, half-open: `[x0, y0, x1, y1]` (may reach below 0 or
    /// beyond 2^32 at the world's edges; no position lies there).
    pub fn bounds(&self) -> [i64; 4] {
        let [fx, fy] = self.first_cell();
        let s = self.cell_shift();
        [
            fx << s,
            fy << s,
            (fx + GRID_SIDE) << s,
            (fy + GRID_SIDE) << s,
        ]
    }

    /// `q` in tile units of this tile, rounded half up (within
    /// [-GROUP_CELL_UNITS, TILE_UNITS + GROUP_CELL_UNITS] for a position in the square).
    pub fn units(&self, q: [u32; 2]) -> [f64; 2] {
        let s = self.unit_shift;
        let round = |v: u32, origin: u32| {
            let half = if s == 0 { 0 } else { 1i64 << (s - 1) };
            ((i64::from(v) + half) >> s) - i64::from(origin) * TILE_UNITS
        };
        [
            round(q[0], self.tile.x()) as f64,
            round(q[1], self.tile.y()) as f64,
        ]
    }

    /// The mean of `n` positions summing to `sum`, in tile units, rounded down: a function
    /// of the members alone, whatever order they were added in, and inside the group cell
    /// of its members when they share one.
    pub fn mean_units(&self, sum: [u64; 2], n: u64) -> [f64; 2] {
        let div = u128::from(n.max(1)) << self.unit_shift;
        let mean =
            |v: u64, origin: u32| (u128::from(v) / div) as i64 - i64::from(origin) * TILE_UNITS;
        [
            mean(sum[0], self.tile.x()) as f64,
            mean(sum[1], self.tile.y()) as f64,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn morton_interleaves_x_on_even_bits() {
        assert_eq!(morton([0, 0]), 0);
        assert_eq!(morton([1, 0]), 1);
        assert_eq!(morton([0, 1]), 2);
        assert_eq!(morton([3, 3]), 15);
        assert_eq!(morton([u32::MAX, 0]), 0x5555_5555_5555_5555);
        assert_eq!(morton([u32::MAX, u32::MAX]), u64::MAX);
    }

    /// Every point of a node has a key in the node's range, and the points just outside it
    /// do not (checked against the node's square by plain comparisons).
    #[test]
    fn node_keys_hold_exactly_the_node() {
        let q = [0x1234_5678u32, 0x9abc_def0u32];
        for level in [0u32, 1, 7, 16, 26, 31, 32] {
            let (a, b) = node_keys(level, q);
            let shift = 32 - level;
            let x0 = u64::from(q[0]) >> shift << shift;
            let y0 = u64::from(q[1]) >> shift << shift;
            let side = 1u64 << shift;
            for (dx, dy) in [(0, 0), (side - 1, side - 1), (side / 2, 0)] {
                let k = morton([(x0 + dx) as u32, (y0 + dy) as u32]);
                assert!(
                    u128::from(k) >= u128::from(a) && u128::from(k) < b,
                    "level {level}"
                );
            }
            if x0 + side <= u64::from(u32::MAX) {
                let k = morton([(x0 + side) as u32, y0 as u32]);
                assert!(!(u128::from(k) >= u128::from(a) && u128::from(k) < b));
            }
        }
    }

    /// Tile units from quantized positions agree with the floating-point projection to
    /// within one unit (the quantization is 2^-(20 - z) unit).
    #[test]
    fn units_agree_with_the_float_projection() {
        use crate::geo::webmercator::lonlat_to_tile_pixel;
        let tile = TileId::new(14, 8447, 5941).unwrap();
        let sq = TileSquare::new(tile).unwrap();
        let b = tile.bounds_lonlat();
        for i in 0..50 {
            let lon = b.min[0] + (b.max[0] - b.min[0]) * f64::from(i) / 50.0;
            let lat = b.min[1] + (b.max[1] - b.min[1]) * f64::from(49 - i) / 50.0;
            let u = sq.units(quantize(lon, lat));
            let (px, py) = lonlat_to_tile_pixel(lon, lat, tile, 4096);
            assert!(
                (u[0] - px).abs() <= 1.0 && (u[1] - py).abs() <= 1.0,
                "{u:?} {px} {py}"
            );
            assert!(sq.cell_index(quantize(lon, lat)).is_some());
        }
    }

    /// The square is the tile plus exactly one cell each side; its cells are world-aligned.
    #[test]
    fn the_square_is_the_tile_and_one_cell_of_buffer() {
        let tile = TileId::new(10, 525, 364).unwrap();
        let sq = TileSquare::new(tile).unwrap();
        let [x0, y0, x1, y1] = sq.bounds();
        let tile_steps = 1i64 << 22;
        let cell = tile_steps / 64;
        assert_eq!(x0, 525 * tile_steps - cell);
        assert_eq!(x1, 526 * tile_steps + cell);
        assert_eq!(y1 - y0, tile_steps + 2 * cell);
        let at = |x: i64, y: i64| sq.cell_index([x as u32, y as u32]);
        assert_eq!(at(x0, y0), Some(0));
        assert_eq!(at(x0 - 1, y0), None);
        assert_eq!(
            at(x1 - 1, y1 - 1),
            Some((GRID_SIDE * GRID_SIDE - 1) as usize)
        );
        assert_eq!(at(x1, y0), None);
        assert_eq!(sq.units([x0 as u32, y0 as u32]), [-64.0, -64.0]);
        assert_eq!(
            sq.units([(x1 - 1) as u32, (y1 - 1) as u32]),
            [4160.0, 4160.0]
        );
        assert_eq!(sq.world_cell_of_index(0), [525 * 64 - 1, 364 * 64 - 1]);
        assert_eq!(sq.mean_units([(x0 + x0 + 2 * cell) as u64, 0], 2)[0], 0.0);
        // Members at the last step of a cell: their mean stays in the cell.
        let last = (x0 + cell - 1) as u64;
        assert_eq!(sq.mean_units([3 * last, 0], 3)[0], -1.0);
        assert!(TileSquare::new(TileId::new(21, 0, 0).unwrap()).is_none());
    }
}
