//! Web Mercator (EPSG:3857) and XYZ tile arithmetic, for the tile server.
//!
//! Tiles follow the XYZ ("slippy map") scheme: at zoom z the square world
//! [−π·R, π·R]² is cut into 2^z × 2^z tiles, x growing east from −180°, y growing south
//! from the north edge (≈ 85.05°N).

use std::f64::consts::PI;
use std::fmt;

use super::geometry::BBox;

/// Sphere radius of EPSG:3857 (the WGS84 semi-major axis), metres.
pub const EARTH_RADIUS: f64 = 6_378_137.0;
/// Half the side of the square world, metres: π·R.
pub const HALF_WORLD: f64 = PI * EARTH_RADIUS;
/// Latitude of the world square's north / south edge, degrees (where y = ±π·R).
pub const MAX_LAT: f64 = 85.051_128_78;
/// Highest zoom level accepted by [`TileId::new`].
pub const MAX_ZOOM: u8 = 22;

/// Longitude, latitude (degrees) → Web Mercator metres. Latitude is clamped to
/// ±[`MAX_LAT`], so poles map to the world's edge instead of infinity.
#[inline]
pub fn forward(lon: f64, lat: f64) -> (f64, f64) {
    let phi = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    // ln(tan(π/4 + φ/2)) written as atanh(sin φ): same value, better conditioned.
    (
        EARTH_RADIUS * lon.to_radians(),
        EARTH_RADIUS * phi.sin().atanh(),
    )
}

/// Web Mercator metres → longitude, latitude (degrees).
#[inline]
pub fn inverse(x: f64, y: f64) -> (f64, f64) {
    let lon = (x / EARTH_RADIUS).to_degrees();
    let lat = (y / EARTH_RADIUS).sinh().atan().to_degrees();
    (lon, lat)
}

/// One XYZ tile; always valid (z ≤ [`MAX_ZOOM`], x and y < 2^z).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    z: u8,
    x: u32,
    y: u32,
}

impl TileId {
    /// The tile z/x/y, or `None` when z > [`MAX_ZOOM`] or x or y ≥ 2^z.
    pub fn new(z: u8, x: u32, y: u32) -> Option<TileId> {
        if z > MAX_ZOOM {
            return None;
        }
        let n = 1u32 << z;
        (x < n && y < n).then_some(TileId { z, x, y })
    }

    pub fn z(&self) -> u8 {
        self.z
    }

    pub fn x(&self) -> u32 {
        self.x
    }

    pub fn y(&self) -> u32 {
        self.y
    }

    /// Side of a tile at this zoom, metres.
    pub fn side(&self) -> f64 {
        2.0 * HALF_WORLD / f64::from(1u32 << self.z)
    }

    /// The tile's square in Web Mercator metres.
    pub fn bounds_mercator(&self) -> BBox {
        let side = self.side();
        let min_x = -HALF_WORLD + f64::from(self.x) * side;
        let max_y = HALF_WORLD - f64::from(self.y) * side;
        BBox {
            min: [min_x, max_y - side],
            max: [min_x + side, max_y],
        }
    }

    /// The tile's extent in longitude / latitude (degrees).
    pub fn bounds_lonlat(&self) -> BBox {
        let m = self.bounds_mercator();
        let (west, south) = inverse(m.min[0], m.min[1]);
        let (east, north) = inverse(m.max[0], m.max[1]);
        BBox {
            min: [west, south],
            max: [east, north],
        }
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

/// Position of a lon/lat point inside `tile`, in tile pixels of an `extent`-wide square
/// (MVT: 4096), x to the east and y DOWN from the tile's north-west corner. Points
/// outside the tile give values outside 0..extent (for clipping buffers).
#[inline]
pub fn lonlat_to_tile_pixel(lon: f64, lat: f64, tile: TileId, extent: u32) -> (f64, f64) {
    let (mx, my) = forward(lon, lat);
    let b = tile.bounds_mercator();
    let scale = f64::from(extent) / tile.side();
    ((mx - b.min[0]) * scale, (b.max[1] - my) * scale)
}

/// Fractional tile coordinates (x east, y south) of a lon/lat at zoom z.
fn tile_fraction(lon: f64, lat: f64, z: u8) -> (f64, f64) {
    let (mx, my) = forward(lon.clamp(-180.0, 180.0), lat);
    let n = f64::from(1u32 << z);
    (
        (mx + HALF_WORLD) / (2.0 * HALF_WORLD) * n,
        (HALF_WORLD - my) / (2.0 * HALF_WORLD) * n,
    )
}

/// The tiles of zoom `z` that overlap a lon/lat box with positive area, row by row from
/// the north-west. A box edge lying on a tile edge does not pull in the tile beyond
/// (edges are shrunk by 1e-9 tile, so `tiles_covering(&t.bounds_lonlat(), z)` is just
/// `t`); a degenerate box (a point) gives the tile holding it. Latitudes are clamped to
/// ±[`MAX_LAT`], longitudes to ±180 (boxes crossing the antimeridian are not handled).
/// Empty for an empty box or z > [`MAX_ZOOM`].
pub fn tiles_covering(bbox_lonlat: &BBox, z: u8) -> impl Iterator<Item = TileId> {
    const SHRINK: f64 = 1e-9;
    let (mut x0, mut x1, mut y0, mut y1) = (1u32, 0u32, 1u32, 0u32); // empty
    if z <= MAX_ZOOM && !bbox_lonlat.is_empty() {
        let last = f64::from((1u32 << z) - 1);
        let (fx0, fy0) = tile_fraction(bbox_lonlat.min[0], bbox_lonlat.max[1], z);
        let (fx1, fy1) = tile_fraction(bbox_lonlat.max[0], bbox_lonlat.min[1], z);
        if [fx0, fy0, fx1, fy1].iter().all(|v| v.is_finite()) {
            let lo = |v: f64| (v + SHRINK).floor().clamp(0.0, last);
            let hi = |v: f64, low: f64| ((v - SHRINK).ceil() - 1.0).clamp(low, last);
            let (ax, ay) = (lo(fx0), lo(fy0));
            // Values are clamped to 0..2^22: the casts are exact.
            (x0, y0) = (ax as u32, ay as u32);
            (x1, y1) = (hi(fx1, ax) as u32, hi(fy1, ay) as u32);
        }
    }
    (y0..=y1).flat_map(move |y| (x0..=x1).map(move |x| TileId { z, x, y }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pyproj 3.7.2 / PROJ 9.5.1 (EPSG:4326 → EPSG:3857) and mercantile 1.2.1
    /// (`mercantile.tile(lon, lat, z)`): name, lon, lat, x, y, [(z, tile x, tile y)].
    #[allow(clippy::type_complexity)]
    const ORACLE: [(&str, f64, f64, f64, f64, [(u8, u32, u32); 5]); 6] = [
        (
            "Paris",
            2.3522,
            48.8566,
            261845.7062,
            6250564.3495,
            [
                (0, 0, 0),
                (5, 16, 11),
                (10, 518, 352),
                (14, 8299, 5636),
                (22, 2124557, 1442959),
            ],
        ),
        (
            "Bonifacio",
            9.159,
            41.3875,
            1019575.2162,
            5069666.9397,
            [
                (0, 0, 0),
                (5, 16, 11),
                (10, 538, 382),
                (14, 8608, 6119),
                (22, 2203862, 1566553),
            ],
        ),
        (
            "Dunkerque",
            2.3768,
            51.0344,
            264584.1657,
            6627380.9417,
            [
                (0, 0, 0),
                (5, 16, 10),
                (10, 518, 342),
                (14, 8300, 5482),
                (22, 2124843, 1403521),
            ],
        ),
        (
            "Brest",
            -4.4861,
            48.3904,
            -499390.3676,
            6172050.9865,
            [
                (0, 0, 0),
                (5, 15, 11),
                (10, 499, 354),
                (14, 7987, 5668),
                (22, 2044885, 1451177),
            ],
        ),
        (
            "Sydney",
            151.2093,
            -33.8688,
            16832542.2792,
            -4011198.6473,
            [
                (0, 0, 0),
                (5, 29, 19),
                (10, 942, 614),
                (14, 15073, 9831),
                (22, 3858868, 2516969),
            ],
        ),
        (
            "Ushuaia",
            -68.303,
            -54.8019,
            -7603455.1797,
            -7323513.4775,
            [
                (0, 0, 0),
                (5, 9, 21),
                (10, 317, 699),
                (14, 5083, 11186),
                (22, 1301364, 2863640),
            ],
        ),
    ];

    fn tile_of(lon: f64, lat: f64, z: u8) -> TileId {
        let mut it = tiles_covering(
            &BBox {
                min: [lon, lat],
                max: [lon, lat],
            },
            z,
        );
        let t = it.next().expect("a point is in one tile");
        assert_eq!(it.next(), None);
        t
    }

    #[test]
    fn forward_inverse_against_pyproj() {
        assert_eq!(forward(0.0, 0.0), (0.0, 0.0));
        for (name, lon, lat, x_ref, y_ref, _) in ORACLE {
            let (x, y) = forward(lon, lat);
            assert!(
                (x - x_ref).abs() < 1e-3 && (y - y_ref).abs() < 1e-3,
                "{name}: {x} {y}"
            );
            let (lon2, lat2) = inverse(x, y);
            assert!(
                (lon2 - lon).abs() < 1e-11 && (lat2 - lat).abs() < 1e-11,
                "{name}"
            );
        }
    }

    #[test]
    fn latitude_is_clamped_to_the_world_square() {
        let (_, y) = forward(0.0, 90.0);
        assert!((y - HALF_WORLD).abs() < 1e-3, "{y}");
        let (_, y) = forward(0.0, -90.0);
        assert!((y + HALF_WORLD).abs() < 1e-3, "{y}");
        assert!(y.is_finite());
    }

    #[test]
    fn tiles_of_points_against_mercantile() {
        for (name, lon, lat, _, _, tiles) in ORACLE {
            for (z, x, y) in tiles {
                assert_eq!(tile_of(lon, lat, z), TileId { z, x, y }, "{name} z{z}");
                let t = TileId::new(z, x, y).expect("valid tile");
                let (px, py) = lonlat_to_tile_pixel(lon, lat, t, 4096);
                assert!(
                    (0.0..4096.0).contains(&px) && (0.0..4096.0).contains(&py),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn tile_validation() {
        assert!(TileId::new(0, 0, 0).is_some());
        assert!(TileId::new(0, 1, 0).is_none());
        assert!(TileId::new(10, 1023, 1023).is_some());
        assert!(TileId::new(10, 1024, 0).is_none());
        assert!(TileId::new(10, 0, 1024).is_none());
        assert!(TileId::new(22, (1 << 22) - 1, 0).is_some());
        assert!(TileId::new(23, 0, 0).is_none());
        let t = TileId::new(10, 518, 352).expect("valid");
        assert_eq!((t.z(), t.x(), t.y()), (10, 518, 352));
        assert_eq!(t.to_string(), "10/518/352");
    }

    #[test]
    fn bounds() {
        let world = TileId::new(0, 0, 0).expect("valid").bounds_mercator();
        assert_eq!(world.min, [-20037508.342789244, -20037508.342789244]);
        assert_eq!(world.max, [20037508.342789244, 20037508.342789244]);
        let ll = TileId::new(0, 0, 0).expect("valid").bounds_lonlat();
        assert!((ll.min[0] + 180.0).abs() < 1e-12 && (ll.max[0] - 180.0).abs() < 1e-12);
        assert!((ll.max[1] - MAX_LAT).abs() < 1e-8 && (ll.min[1] + MAX_LAT).abs() < 1e-8);
        // mercantile 1.2.1: xy_bounds(518, 352, 10) and bounds(518, 352, 10).
        let t = TileId::new(10, 518, 352).expect("valid");
        let m = t.bounds_mercator();
        let want = [
            234814.55089206249,
            6222585.598639629,
            273950.3093740727,
            6261721.357121639,
        ];
        for (got, want) in [m.min[0], m.min[1], m.max[0], m.max[1]]
            .into_iter()
            .zip(want)
        {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        let b = t.bounds_lonlat();
        let want = [2.109375, 48.6909603909255, 2.4609375, 48.92249926375824];
        for (got, want) in [b.min[0], b.min[1], b.max[0], b.max[1]]
            .into_iter()
            .zip(want)
        {
            assert!((got - want).abs() < 1e-10, "{got} vs {want}");
        }
    }

    #[test]
    fn pixel_coordinates_are_y_down() {
        let t = TileId::new(10, 518, 352).expect("valid");
        let b = t.bounds_lonlat();
        let (px, py) = lonlat_to_tile_pixel(b.min[0], b.max[1], t, 4096);
        assert!(
            px.abs() < 1e-6 && py.abs() < 1e-6,
            "north-west corner: {px} {py}"
        );
        let (px, py) = lonlat_to_tile_pixel(b.max[0], b.min[1], t, 4096);
        assert!(
            (px - 4096.0).abs() < 1e-6 && (py - 4096.0).abs() < 1e-6,
            "{px} {py}"
        );
        // North of the tile → negative y; west → negative x.
        let (px, py) = lonlat_to_tile_pixel(b.min[0] - 0.01, b.max[1] + 0.01, t, 4096);
        assert!(px < 0.0 && py < 0.0);
        // The world tile: (0, 0) is the centre pixel.
        let world = TileId::new(0, 0, 0).expect("valid");
        let (px, py) = lonlat_to_tile_pixel(0.0, 0.0, world, 4096);
        assert!(
            (px - 2048.0).abs() < 1e-9 && (py - 2048.0).abs() < 1e-9,
            "{px} {py}"
        );
    }

    #[test]
    fn covering_boxes() {
        // mercantile 1.2.1: tiles(-5.5, 41.0, 10.0, 51.5, [6]) → x 31..=33, y 21..=23;
        // 506 tiles at z9.
        let france = BBox {
            min: [-5.5, 41.0],
            max: [10.0, 51.5],
        };
        let z6: Vec<(u32, u32)> = tiles_covering(&france, 6).map(|t| (t.x(), t.y())).collect();
        let mut want = Vec::new();
        for y in 21..=23 {
            for x in 31..=33 {
                want.push((x, y));
            }
        }
        assert_eq!(z6, want);
        assert_eq!(tiles_covering(&france, 9).count(), 506);
        // A tile's own bounds cover exactly that tile.
        for (z, x, y) in [(10, 518, 352), (3, 0, 0), (3, 7, 7), (22, 2124557, 1442959)] {
            let t = TileId::new(z, x, y).expect("valid");
            let got: Vec<TileId> = tiles_covering(&t.bounds_lonlat(), z).collect();
            assert_eq!(got, vec![t]);
        }
        assert_eq!(tiles_covering(&BBox::EMPTY, 5).count(), 0);
        assert_eq!(tiles_covering(&france, 23).count(), 0);
        // The whole world, and beyond, at z2: 16 tiles.
        let all = BBox {
            min: [-200.0, -90.0],
            max: [200.0, 90.0],
        };
        assert_eq!(tiles_covering(&all, 2).count(), 16);
        let nan = BBox {
            min: [f64::NAN, 0.0],
            max: [1.0, 1.0],
        };
        assert_eq!(tiles_covering(&nan, 5).count(), 0);
    }
}
