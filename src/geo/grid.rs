//! The INPN Lambert-93 grids (1, 2, 5, 10, 20, 50 km): cell of a point, code and polygon.
//!
//! Every grid is anchored at the Lambert-93 origin (0, 0), so a cell is `floor(x / size)`,
//! `floor(y / size)`. Codes name the south-west corner:
//!
//! | size | code | corner unit | E / N digits (zero-padded minimum) |
//! |---|---|---|---|
//! | 1 km | `1kmL93E742N6946` | km | 3 / 4 |
//! | 2 km | `2kmL93E370N6526` | km | 3 / 4 |
//! | 5 km | `5kmL93E0905N6250` | km | 4 / 4 |
//! | 10 km | `10kmL93E074N695` | 10 km | 3 / 3 |
//! | 20 km | `20kmL93E0740N6940` | km | 4 / 4 |
//! | 50 km | `50kmL93E0700N6900` | km | 4 / 4 |
//!
//! 1, 5 and 10 km are the DOMAIN.md rules. 2 km follows the 1 km rule because that is
//! what INPN's own 2 km grid layer (`METROP_L932X2`, field `CD_SIG`) uses, e.g.
//! `2kmL93E370N6526` as cited in public scripts. No INPN 20 / 50 km code was found: they
//! take the 5 km form (kilometres, 4 digits), a choice of this crate. Padding is a
//! minimum width: Corsica's 1 km cells read `1kmL93E1216N6051`.
//!
//! [`Cell::parse`] accepts any number of digits (INPN files mix `5kmL93E0740N6945` and
//! `5kmL93E740N6945`), but rejects a corner that is not on the grid (`5kmL93E0741N6945`).

use std::fmt;

use super::lambert93;

/// A square grid size in kilometres.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GridSize {
    Km1,
    Km2,
    Km5,
    Km10,
    Km20,
    Km50,
}

/// A cell, by its south-west corner in whole grid steps (x / size, y / size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub size: GridSize,
    pub e: i32,
    pub n: i32,
}

impl GridSize {
    /// All sizes, finest first.
    pub const ALL: [GridSize; 6] = [
        GridSize::Km1,
        GridSize::Km2,
        GridSize::Km5,
        GridSize::Km10,
        GridSize::Km20,
        GridSize::Km50,
    ];

    /// Side length in kilometres.
    pub fn km(self) -> u32 {
        match self {
            GridSize::Km1 => 1,
            GridSize::Km2 => 2,
            GridSize::Km5 => 5,
            GridSize::Km10 => 10,
            GridSize::Km20 => 20,
            GridSize::Km50 => 50,
        }
    }

    /// Side length in metres.
    pub fn metres(self) -> f64 {
        f64::from(self.km()) * 1000.0
    }

    /// The size whose side is `km` kilometres, if it is one of the grids.
    pub fn from_km(km: u32) -> Option<GridSize> {
        GridSize::ALL.into_iter().find(|s| s.km() == km)
    }

    /// True when every cell of `self` lies inside one cell of `coarser` (both grids share
    /// the origin, so this holds exactly when the side of `coarser` is a multiple of the
    /// side of `self`). Nesting chains: 1 ⊂ 2 ⊂ 10 ⊂ 20 and 1 ⊂ 5 ⊂ 10 ⊂ 50; 2 km does NOT
    /// nest in 5 km (a 2 km cell from 4 to 6 km straddles the 5 km line), nor 20 in 50.
    pub fn nests_in(self, coarser: GridSize) -> bool {
        coarser.km().is_multiple_of(self.km())
    }

    fn metres_i64(self) -> i64 {
        i64::from(self.km()) * 1000
    }

    /// Kilometres per unit of the code's E / N numbers.
    fn code_unit_km(self) -> i64 {
        match self {
            GridSize::Km10 => 10,
            _ => 1,
        }
    }

    /// Minimum digits of the code's (E, N) numbers.
    fn code_widths(self) -> (usize, usize) {
        match self {
            GridSize::Km1 | GridSize::Km2 => (3, 4),
            GridSize::Km10 => (3, 3),
            GridSize::Km5 | GridSize::Km20 | GridSize::Km50 => (4, 4),
        }
    }
}

/// `floor(v / step)`, exact at cell edges: `k · step` is exact for these whole-metre steps
/// and division is correctly rounded and monotonic, so a point on an edge gets `k`. The
/// quotient can still round up onto an edge it lies below: a tiny negative `v` underflows
/// to −0 (cell 0 instead of −1). One multiply catches that.
#[inline]
fn floor_div(v: f64, step: f64) -> i32 {
    let mut i = (v / step).floor();
    if i * step > v {
        i -= 1.0;
    }
    // `as` saturates (and maps NaN to 0): callers validate coordinates beforehand.
    i as i32
}

impl Cell {
    /// The one cell holding Lambert-93 point (x, y); a point on an edge belongs to the
    /// cell to its north-east.
    ///
    /// Non-finite or astronomically large coordinates give a saturated, meaningless cell:
    /// validate coordinates first.
    #[inline]
    pub fn of_l93(size: GridSize, x: f64, y: f64) -> Cell {
        let step = size.metres();
        Cell {
            size,
            e: floor_div(x, step),
            n: floor_div(y, step),
        }
    }

    /// The cell holding a WGS84/ETRS89 longitude, latitude (degrees), via Lambert-93.
    #[inline]
    pub fn of_lonlat(size: GridSize, lon: f64, lat: f64) -> Cell {
        let (x, y) = lambert93::forward(lon, lat);
        Cell::of_l93(size, x, y)
    }

    /// The INPN code, e.g. `10kmL93E074N695`, `5kmL93E0905N6250`, `1kmL93E742N6946`.
    pub fn code(&self) -> String {
        self.to_string()
    }

    /// Parses a code written by [`Cell::code`].
    pub fn parse(code: &str) -> Option<Cell> {
        let (km, rest) = code.split_once("kmL93E")?;
        let size = GridSize::from_km(parse_digits(km)?.try_into().ok()?)?;
        let (e, n) = rest.split_once('N')?;
        let to_index = |s: &str| -> Option<i32> {
            let km = parse_signed(s)? * size.code_unit_km();
            let step = i64::from(size.km());
            if km % step != 0 {
                return None;
            }
            i32::try_from(km / step).ok()
        };
        Some(Cell {
            size,
            e: to_index(e)?,
            n: to_index(n)?,
        })
    }

    /// Lambert-93 south-west corner (metres).
    pub fn sw_l93(&self) -> [f64; 2] {
        let step = self.size.metres();
        [f64::from(self.e) * step, f64::from(self.n) * step]
    }

    /// The cell's square in Lambert-93, counter-clockwise from the south-west corner, closed.
    pub fn square_l93(&self) -> [[f64; 2]; 5] {
        let [x0, y0] = self.sw_l93();
        let step = self.size.metres();
        let (x1, y1) = (x0 + step, y0 + step);
        [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    }

    /// The cell as a WGS84 lon/lat ring: each Lambert-93 edge cut into `points_per_edge`
    /// segments (so curved parallels of the grid are followed; 0 counts as 1), then
    /// inverse-projected. Closed (first point repeated last, `4·k + 1` points) and
    /// counter-clockwise in lon/lat, since Lambert-93 keeps orientation.
    pub fn polygon_wgs84(&self, points_per_edge: usize) -> Vec<[f64; 2]> {
        let k = points_per_edge.max(1);
        let square = self.square_l93();
        let mut ring = Vec::with_capacity(4 * k + 1);
        for edge in square.windows(2) {
            let ([x0, y0], [x1, y1]) = (edge[0], edge[1]);
            for i in 0..k {
                let t = i as f64 / k as f64;
                let (lon, lat) = lambert93::inverse(x0 + t * (x1 - x0), y0 + t * (y1 - y0));
                ring.push([lon, lat]);
            }
        }
        ring.push(ring[0]);
        ring
    }

    /// True when `other`'s square lies inside (or equals) this cell's square. Always false
    /// when `other` is coarser. A 2 km cell may or may not lie inside a 5 km cell (see
    /// [`GridSize::nests_in`]): this answers for the given cells, exactly.
    pub fn contains_cell(&self, other: &Cell) -> bool {
        let (s, o) = (self.size.metres_i64(), other.size.metres_i64());
        let (sx, sy) = (i64::from(self.e) * s, i64::from(self.n) * s);
        let (ox, oy) = (i64::from(other.e) * o, i64::from(other.n) * o);
        ox >= sx && oy >= sy && ox + o <= sx + s && oy + o <= sy + s
    }

    /// The `coarser` cell containing this one, when the grids nest (else `None`).
    pub fn coarsen(&self, coarser: GridSize) -> Option<Cell> {
        if !self.size.nests_in(coarser) {
            return None;
        }
        let ratio = i64::from(coarser.km() / self.size.km());
        let up = |i: i32| i32::try_from(i64::from(i).div_euclid(ratio)).ok();
        Some(Cell {
            size: coarser,
            e: up(self.e)?,
            n: up(self.n)?,
        })
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per_index = i64::from(self.size.km()) / self.size.code_unit_km();
        let (we, wn) = self.size.code_widths();
        write!(
            f,
            "{}kmL93E{:0we$}N{:0wn$}",
            self.size.km(),
            i64::from(self.e) * per_index,
            i64::from(self.n) * per_index,
        )
    }
}

/// Unsigned decimal, at least one digit, nothing else.
fn parse_digits(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Decimal with an optional leading `-` (cells west / south of the Lambert-93 origin).
fn parse_signed(s: &str) -> Option<i64> {
    match s.strip_prefix('-') {
        Some(digits) => parse_digits(digits).map(|v| -v),
        None => parse_digits(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::geometry::{ring_contains, ring_signed_area};

    fn code(size: GridSize, x: f64, y: f64) -> String {
        Cell::of_l93(size, x, y).code()
    }

    #[test]
    fn metres() {
        let m: Vec<f64> = GridSize::ALL.iter().map(|s| s.metres()).collect();
        assert_eq!(m, [1000.0, 2000.0, 5000.0, 10000.0, 20000.0, 50000.0]);
    }

    #[test]
    fn domain_md_examples() {
        assert_eq!(code(GridSize::Km10, 749648.0, 6956485.0), "10kmL93E074N695");
        assert_eq!(code(GridSize::Km5, 905000.0, 6250000.0), "5kmL93E0905N6250");
        assert_eq!(
            code(GridSize::Km5, 909999.99, 6254999.99),
            "5kmL93E0905N6250"
        );
        assert_eq!(code(GridSize::Km5, 910000.0, 6250000.0), "5kmL93E0910N6250");
        assert_eq!(code(GridSize::Km1, 742500.0, 6946500.0), "1kmL93E742N6946");
        // INPN's own 2 km code cited in public scripts.
        assert_eq!(code(GridSize::Km2, 371999.0, 6527999.0), "2kmL93E370N6526");
    }

    #[test]
    fn all_sizes_for_one_point() {
        // Chosen forms for 20 and 50 km (see the module table).
        let (x, y) = (749648.0, 6956485.0);
        let codes: Vec<String> = GridSize::ALL.iter().map(|&s| code(s, x, y)).collect();
        assert_eq!(
            codes,
            [
                "1kmL93E749N6956",
                "2kmL93E748N6956",
                "5kmL93E0745N6955",
                "10kmL93E074N695",
                "20kmL93E0740N6940",
                "50kmL93E0700N6950",
            ]
        );
    }

    #[test]
    fn point_on_an_edge_belongs_to_the_north_east_cell() {
        let c = Cell::of_l93(GridSize::Km10, 750000.0, 6960000.0);
        assert_eq!((c.e, c.n), (75, 696));
        let c = Cell::of_l93(GridSize::Km10, 749999.999, 6959999.999);
        assert_eq!((c.e, c.n), (74, 695));
        // The largest double below an edge stays in the south-west cell.
        let below = f64::from_bits(750000.0f64.to_bits() - 1);
        assert_eq!(Cell::of_l93(GridSize::Km10, below, 6955000.0).e, 74);
        for size in GridSize::ALL {
            for k in 0i32..1400 {
                let edge = f64::from(k) * size.metres();
                // The largest double below the edge (below 0: the smallest negative).
                let just_below = if k > 0 {
                    f64::from_bits(edge.to_bits() - 1)
                } else {
                    -f64::from_bits(1)
                };
                let c = Cell::of_l93(size, edge, edge);
                assert_eq!((c.e, c.n), (k, k), "{size:?} {edge}");
                let c = Cell::of_l93(size, just_below, just_below);
                assert_eq!((c.e, c.n), (k - 1, k - 1), "{size:?} {just_below}");
            }
        }
    }

    #[test]
    fn negative_coordinates_floor_towards_minus_infinity() {
        let c = Cell::of_l93(GridSize::Km10, -0.5, -10000.0);
        assert_eq!((c.e, c.n), (-1, -1));
        let c = Cell::of_l93(GridSize::Km10, -10000.5, -0.0);
        assert_eq!((c.e, c.n), (-2, 0));
        assert_eq!(c.code(), "10kmL93E-02N000");
        assert_eq!(Cell::parse("10kmL93E-02N000"), Some(c));
        let c = Cell::of_l93(GridSize::Km5, -1.0, 3.0);
        assert_eq!(c.code(), "5kmL93E-005N0000");
        assert_eq!(Cell::parse(&c.code()), Some(c));
    }

    #[test]
    fn both_ends_of_france() {
        // Lambert-93 coordinates from pyproj 3.7.2 / PROJ 9.5.1 (see lambert93 tests);
        // codes worked out by hand from them.
        let places = [
            // Dunkerque
            ((2.3768, 51.0344), (656187.5, 7104472.9)),
            // Brest
            ((-4.4861, 48.3904), (146633.0, 6836262.3)),
            // Bonifacio
            ((9.159, 41.3875), (1216132.2, 6051878.9)),
        ];
        let expected = [
            [
                "1kmL93E656N7104",
                "2kmL93E656N7104",
                "5kmL93E0655N7100",
                "10kmL93E065N710",
                "20kmL93E0640N7100",
                "50kmL93E0650N7100",
            ],
            [
                "1kmL93E146N6836",
                "2kmL93E146N6836",
                "5kmL93E0145N6835",
                "10kmL93E014N683",
                "20kmL93E0140N6820",
                "50kmL93E0100N6800",
            ],
            [
                "1kmL93E1216N6051",
                "2kmL93E1216N6050",
                "5kmL93E1215N6050",
                "10kmL93E121N605",
                "20kmL93E1200N6040",
                "50kmL93E1200N6050",
            ],
        ];
        for (((lon, lat), (x, y)), codes) in places.into_iter().zip(expected) {
            for (size, want) in GridSize::ALL.into_iter().zip(codes) {
                assert_eq!(code(size, x, y), want);
                assert_eq!(Cell::of_lonlat(size, lon, lat).code(), want);
            }
        }
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage() {
        for size in GridSize::ALL {
            for (e, n) in [(0, 0), (1, 2), (74, 695), (-3, 7)] {
                let c = Cell { size, e, n };
                assert_eq!(Cell::parse(&c.code()), Some(c), "{}", c.code());
            }
        }
        // INPN's unpadded variant parses to the same cell.
        assert_eq!(
            Cell::parse("5kmL93E740N6945"),
            Cell::parse("5kmL93E0740N6945")
        );
        assert_eq!(
            Cell::parse("5kmL93E0740N6945"),
            Some(Cell {
                size: GridSize::Km5,
                e: 148,
                n: 1389
            })
        );
        for bad in [
            "",
            "10kmL93E074",
            "10kmL93E074N",
            "10kmL93EN695",
            "3kmL93E074N695",
            "10kmL93E07aN695",
            "10kmL93E074N695x",
            "10kmL93E+74N695",
            "10kmWGSE074N695",
            "5kmL93E0741N6945",
            "2kmL93E371N6526",
            "20kmL93E0750N6940",
            "1kmL93E99999999999999N1",
            "kmL93E1N1",
        ] {
            assert_eq!(Cell::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn square_is_closed_counter_clockwise() {
        let c = Cell::parse("10kmL93E074N695").expect("valid code");
        let sq = c.square_l93();
        assert_eq!(sq[0], [740000.0, 6950000.0]);
        assert_eq!(sq[2], [750000.0, 6960000.0]);
        assert_eq!(sq[0], sq[4]);
        assert_eq!(ring_signed_area(&sq), 1.0e8);
    }

    #[test]
    fn wgs84_polygon_is_closed_ccw_and_projects_back_onto_the_square() {
        let c = Cell::of_lonlat(GridSize::Km10, 2.3522, 48.8566);
        let ring = c.polygon_wgs84(8);
        assert_eq!(ring.len(), 33);
        assert_eq!(ring[0], ring[32]);
        assert!(ring_signed_area(&ring) > 0.0);
        let sq = c.square_l93();
        for (i, p) in ring.iter().enumerate() {
            let (x, y) = lambert93::forward(p[0], p[1]);
            // Every vertex lands back on the square's boundary.
            let on_x = (x - sq[0][0]).abs() < 1e-6 || (x - sq[1][0]).abs() < 1e-6;
            let on_y = (y - sq[0][1]).abs() < 1e-6 || (y - sq[2][1]).abs() < 1e-6;
            assert!(on_x || on_y, "vertex {i}: ({x}, {y})");
        }
        // Paris lies inside, a point 10 km east does not.
        assert!(ring_contains(&ring, [2.3522, 48.8566]));
        assert!(!ring_contains(&ring, [2.49, 48.8566]));
        assert_eq!(c.polygon_wgs84(0).len(), 5);
    }

    #[test]
    fn nesting() {
        use GridSize::*;
        for (fine, coarse) in [
            (Km1, Km2),
            (Km2, Km10),
            (Km10, Km20),
            (Km1, Km5),
            (Km5, Km10),
            (Km10, Km50),
            (Km1, Km50),
            (Km2, Km20),
            (Km5, Km20),
            (Km2, Km50),
        ] {
            assert!(fine.nests_in(coarse), "{fine:?} in {coarse:?}");
        }
        for (fine, coarse) in [
            (Km2, Km5),
            (Km20, Km50),
            (Km10, Km5),
            (Km5, Km2),
            (Km50, Km1),
        ] {
            assert!(!fine.nests_in(coarse), "{fine:?} in {coarse:?}");
        }
        let ten = Cell::parse("10kmL93E074N695").expect("valid");
        let one = Cell::parse("1kmL93E749N6959").expect("valid");
        assert!(ten.contains_cell(&one));
        assert!(ten.contains_cell(&ten));
        assert!(!one.contains_cell(&ten));
        assert!(!ten.contains_cell(&Cell::parse("1kmL93E750N6959").expect("valid")));
        assert_eq!(one.coarsen(Km10), Some(ten));
        assert_eq!(one.coarsen(Km1), Some(one));
        // 2 km in 5 km: the 2 km cell spanning 4–6 km straddles the 5 km line and is in
        // neither 5 km neighbour; coarsen refuses the pair altogether.
        let straddling = Cell::parse("2kmL93E004N0000").expect("valid");
        let west = Cell::parse("5kmL93E0000N0000").expect("valid");
        let east = Cell::parse("5kmL93E0005N0000").expect("valid");
        assert!(!west.contains_cell(&straddling) && !east.contains_cell(&straddling));
        assert!(west.contains_cell(&Cell::parse("2kmL93E002N0000").expect("valid")));
        assert_eq!(straddling.coarsen(Km5), None);
        // Negative indices coarsen towards minus infinity.
        let c = Cell::of_l93(Km1, -500.0, -500.0);
        assert_eq!(
            c.coarsen(Km10),
            Some(Cell {
                size: Km10,
                e: -1,
                n: -1
            })
        );
        // Every 1 km cell of a 50 km cell coarsens back into it.
        let fifty = Cell::of_l93(Km50, 700000.0, 6600000.0);
        for i in 0..50 {
            let one = Cell {
                size: Km1,
                e: fifty.e * 50 + i,
                n: fifty.n * 50 + 49 - i,
            };
            assert!(fifty.contains_cell(&one));
            assert_eq!(one.coarsen(Km50), Some(fifty));
        }
    }
}
