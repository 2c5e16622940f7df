//! Plain geometry types in longitude/latitude (WGS84) unless a name says otherwise.

/// A closed ring: first point repeated last is allowed but not required.
pub type Ring = Vec<[f64; 2]>;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Polygon {
    pub exterior: Ring,
    pub interiors: Vec<Ring>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct MultiPolygon {
    pub polygons: Vec<Polygon>,
}

/// Axis-aligned box, `min` ≤ `max` on both axes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BBox {
    pub min: [f64; 2],
    pub max: [f64; 2],
}

impl BBox {
    pub const EMPTY: BBox = BBox {
        min: [f64::INFINITY, f64::INFINITY],
        max: [f64::NEG_INFINITY, f64::NEG_INFINITY],
    };

    pub fn extend(&mut self, p: [f64; 2]) {
        self.min[0] = self.min[0].min(p[0]);
        self.min[1] = self.min[1].min(p[1]);
        self.max[0] = self.max[0].max(p[0]);
        self.max[1] = self.max[1].max(p[1]);
    }

    pub fn union(&self, o: &BBox) -> BBox {
        BBox {
            min: [self.min[0].min(o.min[0]), self.min[1].min(o.min[1])],
            max: [self.max[0].max(o.max[0]), self.max[1].max(o.max[1])],
        }
    }

    pub fn contains(&self, p: [f64; 2]) -> bool {
        p[0] >= self.min[0] && p[0] <= self.max[0] && p[1] >= self.min[1] && p[1] <= self.max[1]
    }

    pub fn intersects(&self, o: &BBox) -> bool {
        self.min[0] <= o.max[0]
            && o.min[0] <= self.max[0]
            && self.min[1] <= o.max[1]
            && o.min[1] <= self.max[1]
    }

    pub fn is_empty(&self) -> bool {
        self.min[0] > self.max[0] || self.min[1] > self.max[1]
    }
}

impl Polygon {
    pub fn bbox(&self) -> BBox {
        let mut b = BBox::EMPTY;
        for p in &self.exterior {
            b.extend(*p);
        }
        b
    }
}

impl MultiPolygon {
    pub fn bbox(&self) -> BBox {
        self.polygons
            .iter()
            .fold(BBox::EMPTY, |acc, p| acc.union(&p.bbox()))
    }

    pub fn vertex_count(&self) -> usize {
        self.polygons
            .iter()
            .map(|p| p.exterior.len() + p.interiors.iter().map(Vec::len).sum::<usize>())
            .sum()
    }
}

/// Shoelace area of a ring: positive when counter-clockwise (x east, y north),
/// negative when clockwise. The closing point may be present or not (it adds a zero term).
pub fn ring_signed_area(ring: &[[f64; 2]]) -> f64 {
    let Some(&origin) = ring.first() else {
        return 0.0;
    };
    // Coordinates relative to the first vertex keep the cross products small (less
    // cancellation with Lambert-93 metres around 7e6).
    let mut twice = 0.0;
    let mut prev = [0.0, 0.0];
    for p in ring.iter().skip(1) {
        let cur = [p[0] - origin[0], p[1] - origin[1]];
        twice += prev[0] * cur[1] - cur[0] * prev[1];
        prev = cur;
    }
    twice / 2.0
}

/// Area (signed like [`ring_signed_area`]) and area-weighted first moments of a ring,
/// relative to `origin`.
fn ring_moments(ring: &[[f64; 2]], origin: [f64; 2]) -> (f64, f64, f64) {
    let (mut twice_area, mut mx, mut my) = (0.0, 0.0, 0.0);
    let n = ring.len();
    for i in 0..n {
        let a = ring[i];
        let b = ring[(i + 1) % n];
        let (ax, ay) = (a[0] - origin[0], a[1] - origin[1]);
        let (bx, by) = (b[0] - origin[0], b[1] - origin[1]);
        let cross = ax * by - bx * ay;
        twice_area += cross;
        mx += (ax + bx) * cross;
        my += (ay + by) * cross;
    }
    (twice_area / 2.0, mx / 6.0, my / 6.0)
}

/// Even-odd crossing test of one ring, with or without its closing point.
///
/// A horizontal ray goes east from the point; an edge counts when exactly one of its
/// ends is strictly north of the point and it meets the ray strictly east of the point. Consequence for boundary points: on an axis-aligned
/// square, points on the west and south edges are inside and points on the east and north
/// edges are outside (the south-west corner is inside, the three others outside), so a
/// point on an edge shared by two rings of a partition falls in exactly one of them
/// (the one to its east / north, the same rule as [`crate::geo::grid::Cell::of_l93`]).
pub fn ring_contains(ring: &[[f64; 2]], p: [f64; 2]) -> bool {
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let mut inside = false;
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (ring[i], ring[j]);
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x_cross = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
            if p[0] < x_cross {
                inside = !inside;
            }
        }
        j = i;
    }
    inside
}

impl Polygon {
    /// Even-odd point-in-polygon over the exterior and the holes (a point inside a hole
    /// is outside the polygon). Boundary points follow [`ring_contains`].
    pub fn contains(&self, p: [f64; 2]) -> bool {
        if !self.bbox().contains(p) {
            return false;
        }
        let mut inside = ring_contains(&self.exterior, p);
        for hole in &self.interiors {
            if ring_contains(hole, p) {
                inside = !inside;
            }
        }
        inside
    }

    /// Area of the exterior minus the holes, whatever the rings' orientation, in the
    /// units² of the coordinates.
    pub fn area(&self) -> f64 {
        ring_signed_area(&self.exterior).abs()
            - self
                .interiors
                .iter()
                .map(|h| ring_signed_area(h).abs())
                .sum::<f64>()
    }

    /// Area-weighted sum of the polygon's pieces: (area, area·cx, area·cy) about `origin`.
    fn weighted_moments(&self, origin: [f64; 2]) -> (f64, f64, f64) {
        let (a, mx, my) = ring_moments(&self.exterior, origin);
        let s = a.signum();
        let (mut area, mut sx, mut sy) = (a * s, mx * s, my * s);
        for hole in &self.interiors {
            let (a, mx, my) = ring_moments(hole, origin);
            let s = a.signum();
            area -= a * s;
            sx -= mx * s;
            sy -= my * s;
        }
        (area, sx, sy)
    }
}

impl MultiPolygon {
    /// True when a member polygon contains `p` (members are assumed not to overlap).
    pub fn contains(&self, p: [f64; 2]) -> bool {
        self.polygons.iter().any(|poly| poly.contains(p))
    }

    /// Planar area of the multipolygon (holes subtracted) in the units² of its
    /// coordinates.
    pub fn area(&self) -> f64 {
        self.polygons.iter().map(Polygon::area).sum()
    }

    /// Area in square metres of the lon/lat multipolygon projected to Lambert-93: the
    /// planar area on EPSG:2154, as `ST_Area(ST_Transform(geom, 2154))` gives. Lambert-93
    /// is conformal, not equal-area: over mainland France its scale factor stays within
    /// about 0.9990–1.003, so this differs from the ellipsoidal area by well under 1 %.
    pub fn area_l93_m2(&self) -> f64 {
        let project = |ring: &Ring| -> Ring {
            ring.iter()
                .map(|p| {
                    let (x, y) = super::lambert93::forward(p[0], p[1]);
                    [x, y]
                })
                .collect()
        };
        self.polygons
            .iter()
            .map(|poly| {
                Polygon {
                    exterior: project(&poly.exterior),
                    interiors: poly.interiors.iter().map(project).collect(),
                }
                .area()
            })
            .sum()
    }

    /// Area-weighted planar centroid (holes subtracted), in the coordinates' own plane
    /// (degrees for lon/lat). `None` when the total area is zero (empty or degenerate).
    /// It may fall outside the shape (concave or multi-part shapes).
    pub fn centroid(&self) -> Option<[f64; 2]> {
        let origin = self.polygons.first()?.exterior.first().copied()?;
        let (mut area, mut sx, mut sy) = (0.0, 0.0, 0.0);
        for poly in &self.polygons {
            let (a, mx, my) = poly.weighted_moments(origin);
            area += a;
            sx += mx;
            sy += my;
        }
        if area.abs() <= f64::MIN_POSITIVE || !area.is_finite() {
            return None;
        }
        Some([origin[0] + sx / area, origin[1] + sy / area])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, side: f64) -> Ring {
        vec![
            [x0, y0],
            [x0 + side, y0],
            [x0 + side, y0 + side],
            [x0, y0 + side],
        ]
    }

    fn closed(mut ring: Ring) -> Ring {
        ring.push(ring[0]);
        ring
    }

    /// 10×10 square with a 4×4 hole at (3, 3)–(7, 7).
    fn square_with_hole(close: bool) -> Polygon {
        let (ext, hole) = (square(0.0, 0.0, 10.0), square(3.0, 3.0, 4.0));
        if close {
            Polygon {
                exterior: closed(ext),
                interiors: vec![closed(hole)],
            }
        } else {
            Polygon {
                exterior: ext,
                interiors: vec![hole],
            }
        }
    }

    #[test]
    fn signed_area_follows_orientation_with_or_without_closing_point() {
        let ccw = square(0.0, 0.0, 2.0);
        assert_eq!(ring_signed_area(&ccw), 4.0);
        assert_eq!(ring_signed_area(&closed(ccw.clone())), 4.0);
        let cw: Ring = ccw.iter().rev().copied().collect();
        assert_eq!(ring_signed_area(&cw), -4.0);
        assert_eq!(ring_signed_area(&[]), 0.0);
        assert_eq!(ring_signed_area(&[[1.0, 1.0], [2.0, 2.0]]), 0.0);
        // Large offsets (Lambert-93 metres) keep full precision.
        let far = square(700_000.0, 6_600_000.0, 1000.0);
        assert_eq!(ring_signed_area(&far), 1.0e6);
    }

    #[test]
    fn hole_subtracts_for_both_ring_forms() {
        for close in [false, true] {
            let poly = square_with_hole(close);
            assert!(poly.contains([1.0, 1.0]), "close={close}");
            assert!(poly.contains([8.0, 5.0]));
            assert!(!poly.contains([5.0, 5.0]), "inside the hole");
            assert!(!poly.contains([11.0, 5.0]));
            assert!(!poly.contains([-1.0, 5.0]));
            assert_eq!(poly.area(), 100.0 - 16.0);
        }
    }

    #[test]
    fn boundary_points_go_to_the_east_and_north_neighbour() {
        let poly = Polygon {
            exterior: square(0.0, 0.0, 1.0),
            interiors: vec![],
        };
        // west and south edges: inside; east and north edges: outside.
        assert!(poly.contains([0.0, 0.5]));
        assert!(poly.contains([0.5, 0.0]));
        assert!(!poly.contains([1.0, 0.5]));
        assert!(!poly.contains([0.5, 1.0]));
        // vertices: only the south-west one.
        assert!(poly.contains([0.0, 0.0]));
        assert!(!poly.contains([1.0, 0.0]));
        assert!(!poly.contains([1.0, 1.0]));
        assert!(!poly.contains([0.0, 1.0]));
        // A 2×2 block of unit squares: every point on a shared edge or the shared corner
        // lies in exactly one square.
        let squares: Vec<Polygon> = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]
            .iter()
            .map(|&(x, y)| Polygon {
                exterior: square(x, y, 1.0),
                interiors: vec![],
            })
            .collect();
        for p in [
            [1.0, 0.5],
            [1.0, 1.5],
            [0.5, 1.0],
            [1.5, 1.0],
            [1.0, 1.0],
            [0.3, 1.0],
        ] {
            let hits = squares.iter().filter(|s| s.contains(p)).count();
            assert_eq!(hits, 1, "point {p:?}");
        }
        // Hole edges: the hole's own west edge belongs to the hole (so not the polygon).
        let holed = square_with_hole(false);
        assert!(!holed.contains([3.0, 5.0]));
        assert!(holed.contains([7.0, 5.0]));
    }

    #[test]
    fn concave_polygon() {
        // A "U": 0..3 × 0..3 minus the notch 1..2 × 1..3, clockwise on purpose.
        let u: Ring = vec![
            [0.0, 0.0],
            [0.0, 3.0],
            [1.0, 3.0],
            [1.0, 1.0],
            [2.0, 1.0],
            [2.0, 3.0],
            [3.0, 3.0],
            [3.0, 0.0],
        ];
        let poly = Polygon {
            exterior: u.clone(),
            interiors: vec![],
        };
        assert!(poly.contains([0.5, 2.5]));
        assert!(poly.contains([2.5, 2.5]));
        assert!(poly.contains([1.5, 0.5]));
        assert!(!poly.contains([1.5, 2.0]), "in the notch");
        assert!(!poly.contains([1.5, 3.5]));
        assert_eq!(ring_signed_area(&u), -7.0);
        // Centroid by hand: 3×3 square (centre 1.5, 1.5, area 9) minus notch (centre
        // 1.5, 2, area 2) → x = 1.5, y = (9·1.5 − 2·2) / 7 = 9.5 / 7.
        let mp = MultiPolygon {
            polygons: vec![poly],
        };
        let c = mp.centroid().expect("non-degenerate");
        assert!(
            (c[0] - 1.5).abs() < 1e-12 && (c[1] - 9.5 / 7.0).abs() < 1e-12,
            "{c:?}"
        );
    }

    #[test]
    fn multipolygon_contains_and_area_weighted_centroid() {
        let mp = MultiPolygon {
            polygons: vec![
                square_with_hole(true),
                Polygon {
                    exterior: square(20.0, 0.0, 2.0),
                    interiors: vec![],
                },
            ],
        };
        assert!(mp.contains([21.0, 1.0]));
        assert!(mp.contains([1.0, 1.0]));
        assert!(!mp.contains([5.0, 5.0]));
        assert!(!mp.contains([15.0, 1.0]));
        assert_eq!(mp.area(), 84.0 + 4.0);
        // The holed square's centroid is (5, 5) by symmetry, weight 84; the small square's
        // (21, 1), weight 4.
        let c = mp.centroid().expect("non-degenerate");
        let (ex, ey) = (
            (84.0 * 5.0 + 4.0 * 21.0) / 88.0,
            (84.0 * 5.0 + 4.0 * 1.0) / 88.0,
        );
        assert!(
            (c[0] - ex).abs() < 1e-12 && (c[1] - ey).abs() < 1e-12,
            "{c:?}"
        );
        // An off-centre hole moves the centroid away from it.
        let off = MultiPolygon {
            polygons: vec![Polygon {
                exterior: square(0.0, 0.0, 10.0),
                interiors: vec![square(0.0, 0.0, 5.0)],
            }],
        };
        let c = off.centroid().expect("non-degenerate");
        let expected = (100.0 * 5.0 - 25.0 * 2.5) / 75.0;
        assert!((c[0] - expected).abs() < 1e-12 && (c[1] - expected).abs() < 1e-12);
        assert_eq!(MultiPolygon::default().centroid(), None);
        let flat = Polygon {
            exterior: vec![[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]],
            interiors: vec![],
        };
        assert_eq!(
            MultiPolygon {
                polygons: vec![flat]
            }
            .centroid(),
            None
        );
    }

    #[test]
    fn area_l93_of_a_small_lonlat_square_matches_its_projected_size() {
        // A 0.01° square near Paris: its projected Lambert-93 corners, computed by the
        // shoelace formula on the projected vertices (independent path: explicit forward).
        let ring = square(2.35, 48.85, 0.01);
        let mp = MultiPolygon {
            polygons: vec![Polygon {
                exterior: ring.clone(),
                interiors: vec![],
            }],
        };
        let projected: Ring = ring
            .iter()
            .map(|p| {
                let (x, y) = crate::geo::lambert93::forward(p[0], p[1]);
                [x, y]
            })
            .collect();
        let expected = ring_signed_area(&projected);
        assert!((mp.area_l93_m2() - expected).abs() < 1e-6);
        // Rough size: 0.01° lon ≈ 733 m at 48.85°N, 0.01° lat ≈ 1112 m: ≈ 0.815 km².
        assert!(
            (mp.area_l93_m2() - 815_000.0).abs() < 5_000.0,
            "{}",
            mp.area_l93_m2()
        );
    }
}
