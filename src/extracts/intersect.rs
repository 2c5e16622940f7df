//! Exact polygon–polygon intersection predicate (no clipping, no tolerance): two polygons
//! meet when an edge of one meets an edge of the other (touching counts), or when one lies
//! inside the other (a vertex of one inside the other, holes respected).

use crate::geo::{BBox, MultiPolygon, Polygon};

/// Sign of the cross product (b − a) × (c − a): 1 left turn, −1 right turn, 0 collinear.
fn orientation(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> i8 {
    let v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

/// `p` lies on segment [a, b], given that the three points are collinear.
fn within_box(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> bool {
    p[0] >= a[0].min(b[0])
        && p[0] <= a[0].max(b[0])
        && p[1] >= a[1].min(b[1])
        && p[1] <= a[1].max(b[1])
}

/// True when the closed segments [a, b] and [c, d] share a point.
pub fn segments_intersect(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> bool {
    let (o1, o2) = (orientation(a, b, c), orientation(a, b, d));
    let (o3, o4) = (orientation(c, d, a), orientation(c, d, b));
    // Each segment's ends on different sides of (or one on) the other's line.
    if o1 != o2 && o3 != o4 {
        return true;
    }
    (o1 == 0 && within_box(a, b, c))
        || (o2 == 0 && within_box(a, b, d))
        || (o3 == 0 && within_box(c, d, a))
        || (o4 == 0 && within_box(c, d, b))
}

/// The edges of a ring, closing it when its last point is not its first.
fn edges(ring: &[[f64; 2]]) -> impl Iterator<Item = ([f64; 2], [f64; 2])> + '_ {
    let n = ring.len();
    let closing = (n >= 2 && ring[0] != ring[n - 1]).then(|| (ring[n - 1], ring[0]));
    ring.windows(2).map(|w| (w[0], w[1])).chain(closing)
}

fn rings(p: &Polygon) -> impl Iterator<Item = &[[f64; 2]]> {
    std::iter::once(p.exterior.as_slice()).chain(p.interiors.iter().map(Vec::as_slice))
}

fn seg_box(a: [f64; 2], b: [f64; 2]) -> BBox {
    BBox {
        min: [a[0].min(b[0]), a[1].min(b[1])],
        max: [a[0].max(b[0]), a[1].max(b[1])],
    }
}

/// True when any edge of `p` meets any edge of `q`.
fn boundaries_meet(p: &Polygon, q: &Polygon, q_box: &BBox) -> bool {
    let q_edges: Vec<([f64; 2], [f64; 2], BBox)> = rings(q)
        .flat_map(edges)
        .map(|(a, b)| (a, b, seg_box(a, b)))
        .collect();
    rings(p).flat_map(edges).any(|(a, b)| {
        let sb = seg_box(a, b);
        sb.intersects(q_box)
            && q_edges
                .iter()
                .any(|(c, d, qb)| sb.intersects(qb) && segments_intersect(a, b, *c, *d))
    })
}

/// True when the two polygons share at least one point.
pub fn polygons_intersect(p: &Polygon, q: &Polygon) -> bool {
    let (pb, qb) = (p.bbox(), q.bbox());
    if p.exterior.len() < 3 || q.exterior.len() < 3 || !pb.intersects(&qb) {
        return false;
    }
    if boundaries_meet(p, q, &qb) {
        return true;
    }
    // No boundary crossing: either one lies inside the other, or they are apart. Any
    // vertex decides (a vertex on the other's boundary was caught above).
    p.exterior.first().is_some_and(|v| q.contains(*v))
        || q.exterior.first().is_some_and(|v| p.contains(*v))
}

/// True when any member of `a` meets any member of `b`.
pub fn multipolygons_intersect(a: &MultiPolygon, b: &MultiPolygon) -> bool {
    let bb = b.bbox();
    a.bbox().intersects(&bb)
        && a.polygons.iter().any(|p| {
            let pb = p.bbox();
            pb.intersects(&bb) && b.polygons.iter().any(|q| polygons_intersect(p, q))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, side: f64) -> Vec<[f64; 2]> {
        vec![
            [x0, y0],
            [x0 + side, y0],
            [x0 + side, y0 + side],
            [x0, y0 + side],
            [x0, y0],
        ]
    }

    fn poly(ring: Vec<[f64; 2]>) -> Polygon {
        Polygon {
            exterior: ring,
            interiors: vec![],
        }
    }

    #[test]
    fn segments_cross_touch_overlap_and_miss() {
        let s = |a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]| segments_intersect(a, b, c, d);
        assert!(s([0., 0.], [2., 2.], [0., 2.], [2., 0.]), "X crossing");
        assert!(s([0., 0.], [2., 0.], [1., 0.], [1., 5.]), "T touch");
        assert!(
            s([0., 0.], [2., 0.], [2., 0.], [3., 1.]),
            "shared end point"
        );
        assert!(
            s([0., 0.], [2., 0.], [1., 0.], [3., 0.]),
            "collinear overlap"
        );
        assert!(
            !s([0., 0.], [2., 0.], [3., 0.], [4., 0.]),
            "collinear apart"
        );
        assert!(!s([0., 0.], [2., 0.], [0., 1.], [2., 1.]), "parallel");
        assert!(!s([0., 0.], [2., 2.], [3., 0.], [2.1, 1.9]), "near miss");
        assert!(
            !s([0., 0.], [1., 1.], [3., 0.], [0., 3.01]),
            "beyond the end"
        );
    }

    #[test]
    fn polygon_cases() {
        let a = poly(square(0., 0., 10.));
        assert!(
            polygons_intersect(&a, &poly(square(5., 5., 10.))),
            "overlap"
        );
        assert!(polygons_intersect(&a, &poly(square(2., 2., 1.))), "inside");
        assert!(
            polygons_intersect(&poly(square(2., 2., 1.)), &a),
            "contains"
        );
        assert!(
            polygons_intersect(&a, &poly(square(10., 0., 3.))),
            "shared edge"
        );
        assert!(
            polygons_intersect(&a, &poly(square(10., 10., 3.))),
            "shared corner"
        );
        assert!(
            !polygons_intersect(&a, &poly(square(10.5, 0., 3.))),
            "apart"
        );
        // A cross whose boxes overlap but whose shapes do not: an L and a square in its notch.
        let l = poly(vec![
            [0., 0.],
            [10., 0.],
            [10., 2.],
            [2., 2.],
            [2., 10.],
            [0., 10.],
        ]);
        assert!(
            !polygons_intersect(&l, &poly(square(4., 4., 3.))),
            "in the notch"
        );
        assert!(
            polygons_intersect(&l, &poly(square(1., 1., 3.))),
            "over the corner"
        );
        // A square inside a hole misses; one across the hole's edge meets.
        let holed = Polygon {
            exterior: square(0., 0., 10.),
            interiors: vec![square(3., 3., 4.)],
        };
        assert!(
            !polygons_intersect(&holed, &poly(square(4., 4., 1.))),
            "in the hole"
        );
        assert!(
            polygons_intersect(&holed, &poly(square(6., 6., 2.))),
            "across the hole edge"
        );
        let m = MultiPolygon {
            polygons: vec![poly(square(20., 20., 1.)), poly(square(4., 4., 1.))],
        };
        assert!(multipolygons_intersect(
            &m,
            &MultiPolygon {
                polygons: vec![a.clone()]
            }
        ));
        let far = MultiPolygon {
            polygons: vec![poly(square(20., 20., 1.))],
        };
        assert!(!multipolygons_intersect(
            &far,
            &MultiPolygon { polygons: vec![a] }
        ));
    }

    /// Against a brute-force oracle: two axis-aligned squares on an integer lattice meet
    /// exactly when their closed intervals overlap on both axes.
    #[test]
    fn random_squares_match_interval_overlap() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut hits = 0;
        for _ in 0..5000 {
            let (x0, y0, s0) = (
                rng.gen_range(0..20),
                rng.gen_range(0..20),
                rng.gen_range(1..8),
            );
            let (x1, y1, s1) = (
                rng.gen_range(0..20),
                rng.gen_range(0..20),
                rng.gen_range(1..8),
            );
            let expect = x0 <= x1 + s1 && x1 <= x0 + s0 && y0 <= y1 + s1 && y1 <= y0 + s0;
            let a = poly(square(f64::from(x0), f64::from(y0), f64::from(s0)));
            let b = poly(square(f64::from(x1), f64::from(y1), f64::from(s1)));
            assert_eq!(
                polygons_intersect(&a, &b),
                expect,
                "{x0},{y0},{s0} vs {x1},{y1},{s1}"
            );
            hits += usize::from(expect);
        }
        assert!(hits > 500 && hits < 4500);
    }
}
