//! Polygon rings in integer tile space: rounding, clipping to the buffered tile square
//! (Sutherland–Hodgman, one pass per side the ring actually crosses), removal of
//! repeated, collinear and spike vertices, and the spec's signed area.
//!
//! Everything after rounding is exact integer arithmetic, so the same input always
//! gives the same tile and a ring never gains a zero-length segment from float noise.

/// A vertex in tile units (y down).
pub(crate) type IPoint = [i64; 2];

/// Input coordinates are clamped to ±2^61 tile units before any arithmetic so
/// differences fit an `i64` and products an `i128`; such values are trillions of tiles
/// away and only ever meet the clip square through an edge's direction.
const COORD_LIMIT: f64 = (1u64 << 61) as f64;
const COORD_LIMIT_INT: i64 = 1 << 61;

/// Rounds a tile-unit coordinate to the nearest integer (halves away from zero);
/// `None` for NaN or infinity.
#[inline]
pub(crate) fn round_coord(v: f64) -> Option<i64> {
    if !v.is_finite() {
        return None;
    }
    // `f64::round` is a libm call; truncating and looking at the fraction is exact
    // (beyond 2^52 every f64 is an integer, so the fraction is 0) and inlines.
    let v = v.clamp(-COORD_LIMIT, COORD_LIMIT);
    let t = v as i64;
    let fraction = v - t as f64;
    // Branch-free: on real coordinates the fraction is random and a branch mispredicts.
    Some(t + i64::from(fraction >= 0.5) - i64::from(fraction <= -0.5))
}

/// The buffered tile square `[min, max]²`, inclusive.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClipSquare {
    pub min: i64,
    pub max: i64,
}

impl ClipSquare {
    #[inline]
    pub(crate) fn contains(&self, p: IPoint) -> bool {
        p[0] >= self.min && p[0] <= self.max && p[1] >= self.min && p[1] <= self.max
    }
}

/// Reusable buffers for one ring, so a tile's rings share two allocations.
#[derive(Default, Debug)]
pub(crate) struct RingScratch {
    ring: Vec<IPoint>,
    spare: Vec<IPoint>,
}

/// The bounding box of the vertices pushed so far.
#[derive(Clone, Copy)]
struct Bounds {
    min: IPoint,
    max: IPoint,
}

impl Bounds {
    const EMPTY: Bounds = Bounds {
        min: [i64::MAX, i64::MAX],
        max: [i64::MIN, i64::MIN],
    };
}

impl RingScratch {
    /// Rounds, clips and cleans a ring. Returns the vertices (open: the first vertex
    /// is not repeated) and twice its signed area by the spec formula, or `None` when
    /// nothing with an area is left inside the square (or a coordinate is not finite).
    pub(crate) fn prepare<I>(&mut self, input: I, square: ClipSquare) -> Option<(&[IPoint], i128)>
    where
        I: IntoIterator<Item = [f64; 2]>,
    {
        self.ring.clear();
        let mut bounds = Bounds::EMPTY;
        for [x, y] in input {
            self.push([round_coord(x)?, round_coord(y)?], &mut bounds);
        }
        self.finish(bounds, square)
    }

    /// [`prepare`](Self::prepare) of a ring already in integer units: the same cleaning,
    /// clipping and area.
    pub(crate) fn prepare_int<I>(
        &mut self,
        input: I,
        square: ClipSquare,
    ) -> Option<(&[IPoint], i128)>
    where
        I: IntoIterator<Item = IPoint>,
    {
        self.ring.clear();
        let mut bounds = Bounds::EMPTY;
        for [x, y] in input {
            let p = [
                x.clamp(-COORD_LIMIT_INT, COORD_LIMIT_INT),
                y.clamp(-COORD_LIMIT_INT, COORD_LIMIT_INT),
            ];
            self.push(p, &mut bounds);
        }
        self.finish(bounds, square)
    }

    /// Appends a vertex unless it repeats the last one.
    #[inline]
    fn push(&mut self, p: IPoint, b: &mut Bounds) {
        if self.ring.last() == Some(&p) {
            return;
        }
        b.min = [b.min[0].min(p[0]), b.min[1].min(p[1])];
        b.max = [b.max[0].max(p[0]), b.max[1].max(p[1])];
        self.ring.push(p);
    }

    /// Clips and cleans the pushed vertices (whose box is `b`).
    fn finish(&mut self, b: Bounds, square: ClipSquare) -> Option<(&[IPoint], i128)> {
        let ([min_x, min_y], [max_x, max_y]) = (b.min, b.max);
        if self.ring.len() < 3 {
            return None;
        }
        if max_x < square.min || min_x > square.max || max_y < square.min || min_y > square.max {
            return None;
        }
        // Clip only against the sides the bounding box crosses: rings wholly inside the
        // tile (the usual case) are not copied at all.
        if min_x < square.min {
            self.clip_pass(0, square.min, true);
        }
        if max_x > square.max {
            self.clip_pass(0, square.max, false);
        }
        if min_y < square.min {
            self.clip_pass(1, square.min, true);
        }
        if max_y > square.max {
            self.clip_pass(1, square.max, false);
        }
        simplify_in_place(&mut self.ring);
        if self.ring.len() < 3 {
            return None;
        }
        let area2 = signed_area2(&self.ring);
        if area2 == 0 {
            return None;
        }
        Some((&self.ring, area2))
    }

    /// One Sutherland–Hodgman pass against the line `p[axis] == bound`, keeping the
    /// side `>= bound` when `keep_greater`, else `<= bound`.
    fn clip_pass(&mut self, axis: usize, bound: i64, keep_greater: bool) {
        let inside = |p: &IPoint| {
            if keep_greater {
                p[axis] >= bound
            } else {
                p[axis] <= bound
            }
        };
        self.spare.clear();
        let Some(&last) = self.ring.last() else {
            return;
        };
        let mut prev = last;
        let mut prev_in = inside(&prev);
        for &cur in &self.ring {
            let cur_in = inside(&cur);
            if cur_in != prev_in {
                push_distinct(&mut self.spare, intersection(prev, cur, axis, bound));
            }
            if cur_in {
                push_distinct(&mut self.spare, cur);
            }
            prev = cur;
            prev_in = cur_in;
        }
        std::mem::swap(&mut self.ring, &mut self.spare);
    }
}

#[inline]
fn push_distinct(out: &mut Vec<IPoint>, p: IPoint) {
    if out.last() != Some(&p) {
        out.push(p);
    }
}

/// Where segment `a`–`b` meets the line `p[axis] == bound`, the other coordinate
/// rounded to the nearest integer. The endpoints are put in a fixed order first, so two
/// polygons sharing an edge (adjacent communes) get the very same clipped vertex.
#[inline]
fn intersection(a: IPoint, b: IPoint, axis: usize, bound: i64) -> IPoint {
    let other = 1 - axis;
    let (p, q) = if a < b { (a, b) } else { (b, a) };
    // One endpoint is strictly beyond `bound`, the other not: the denominator is not 0.
    let num = i128::from(q[other] - p[other]) * i128::from(bound - p[axis]);
    let den = i128::from(q[axis] - p[axis]);
    let offset = div_round(num, den);
    // |offset| <= |q[other] - p[other]|, so the sum lies between the endpoints.
    let mut out = [0; 2];
    out[axis] = bound;
    out[other] = p[other] + offset as i64;
    out
}

/// `num / den` rounded to the nearest integer, halves away from zero.
#[inline]
fn div_round(num: i128, den: i128) -> i128 {
    let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
    if num >= 0 {
        (num + den / 2) / den
    } else {
        -((-num + den / 2) / den)
    }
}

/// z component of (b - a) × (c - b): 0 when the three points are collinear.
/// Only for clipped points: the square's side is below 2^30 (`MAX_EXTENT`), so each
/// product is below 2^60 and the difference fits an `i64`.
#[inline]
fn cross(a: IPoint, b: IPoint, c: IPoint) -> i64 {
    (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
}

/// Points must lie in the clip square (see [`cross`]).
/// Removes repeated vertices, vertices in the middle of a straight run and the tips of
/// zero-width spikes (A, B, A), around the whole cycle. A ring left with fewer than 3
/// vertices has no area.
pub(crate) fn simplify_in_place(ring: &mut Vec<IPoint>) {
    let mut kept = 0;
    for i in 0..ring.len() {
        let p = ring[i];
        while kept >= 2 && cross(ring[kept - 2], ring[kept - 1], p) == 0 {
            kept -= 1;
        }
        if kept >= 1 && ring[kept - 1] == p {
            continue;
        }
        ring[kept] = p;
        kept += 1;
    }
    ring.truncate(kept);
    // The run above does not look across the seam between the last and first vertex.
    let mut start = 0;
    loop {
        let len = ring.len() - start;
        if len < 3 {
            break;
        }
        let n = ring.len();
        if cross(ring[n - 2], ring[n - 1], ring[start]) == 0 {
            ring.pop();
        } else if cross(ring[n - 1], ring[start], ring[start + 1]) == 0 {
            start += 1;
        } else {
            break;
        }
    }
    if start > 0 {
        ring.drain(..start);
    }
    if ring.len() < 3 {
        ring.clear();
    }
}

/// Twice the signed area by the surveyor's formula in tile coordinates (spec 4.3.4.4):
/// positive for an exterior ring (clockwise on screen, y down), negative for a hole.
/// Points must lie in the clip square: taken relative to the first vertex, coordinates
/// stay below 2^30, so each term fits an `i64`; their sum may not, hence `i128`.
pub(crate) fn signed_area2(ring: &[IPoint]) -> i128 {
    let Some(&origin) = ring.first() else {
        return 0;
    };
    let mut sum: i128 = 0;
    let mut prev = [0i64, 0i64];
    for p in &ring[1..] {
        let cur = [p[0] - origin[0], p[1] - origin[1]];
        sum += i128::from(prev[0] * cur[1] - cur[0] * prev[1]);
        prev = cur;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: ClipSquare = ClipSquare {
        min: -64,
        max: 4160,
    };

    fn prepare(ring: &[[f64; 2]]) -> Option<(Vec<IPoint>, i128)> {
        let mut scratch = RingScratch::default();
        scratch
            .prepare(ring.iter().copied(), SQUARE)
            .map(|(r, a)| (r.to_vec(), a))
    }

    #[test]
    fn rounds_to_nearest_not_floor() {
        assert_eq!(round_coord(10.6), Some(11));
        assert_eq!(round_coord(10.4), Some(10));
        assert_eq!(round_coord(-10.6), Some(-11));
        assert_eq!(round_coord(2.5), Some(3));
        assert_eq!(round_coord(f64::NAN), None);
        assert_eq!(round_coord(1e300), Some(1 << 61));
    }

    #[test]
    fn div_round_rounds_halves_away_from_zero() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(5, -2), -3);
        assert_eq!(div_round(7, 3), 2);
        assert_eq!(div_round(-7, 3), -2);
        assert_eq!(div_round(0, 9), 0);
    }

    #[test]
    fn area_of_unit_square_by_hand() {
        // (0,0) (1,0) (1,1) (0,1): x_i*y_{i+1} - x_{i+1}*y_i summed = 2 (twice area 1).
        assert_eq!(signed_area2(&[[0, 0], [1, 0], [1, 1], [0, 1]]), 2);
        assert_eq!(signed_area2(&[[0, 1], [1, 1], [1, 0], [0, 0]]), -2);
    }

    #[test]
    fn inside_ring_is_untouched_but_collinear_points_removed() {
        let (ring, area2) = prepare(&[
            [10.0, 10.0],
            [20.0, 10.0],
            [30.0, 10.0],
            [30.0, 30.0],
            [10.0, 30.0],
            [10.0, 10.0],
        ])
        .expect("square kept");
        assert_eq!(ring, vec![[10, 10], [30, 10], [30, 30], [10, 30]]);
        assert_eq!(area2, 800);
    }

    #[test]
    fn clipping_a_huge_square_gives_the_buffer_square() {
        let big = [[-1e7, -1e7], [1e7, -1e7], [1e7, 1e7], [-1e7, 1e7]];
        let (ring, area2) = prepare(&big).expect("clipped square kept");
        let mut sorted = ring.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            vec![[-64, -64], [-64, 4160], [4160, -64], [4160, 4160]]
        );
        assert_eq!(area2, 2 * 4224 * 4224);
    }

    #[test]
    fn diagonal_edge_intersection_is_exact() {
        // Triangle (0,0) (200,0) (0,-200) crosses y = -64 along x + (-y) = 200 → x = 136.
        let (ring, _) = prepare(&[[0.0, 0.0], [200.0, 0.0], [0.0, -200.0]]).expect("kept");
        assert!(ring.contains(&[136, -64]), "{ring:?}");
        assert!(ring.contains(&[0, -64]), "{ring:?}");
    }

    #[test]
    fn shared_edge_clips_to_the_same_vertex_both_ways() {
        let a = [0, 0];
        let b = [7_001, -9_999];
        assert_eq!(intersection(a, b, 1, -64), intersection(b, a, 1, -64));
    }

    #[test]
    fn spikes_and_slivers_vanish() {
        assert!(
            prepare(&[[5.0, 5.0], [5.2, 5.0], [5.3, 5.1]]).is_none(),
            "sliver rounds to one point"
        );
        assert!(
            prepare(&[[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]]).is_none(),
            "collinear"
        );
        let (ring, _) = prepare(&[
            [0.0, 0.0],
            [10.0, 0.0],
            [10.0, 10.0],
            [10.0, 20.0],
            [10.0, 10.0],
            [0.0, 10.0],
        ])
        .expect("square with a spike");
        assert_eq!(ring, vec![[0, 0], [10, 0], [10, 10], [0, 10]]);
    }

    #[test]
    fn seam_collinear_vertices_are_removed() {
        // Start in the middle of an edge: the first vertex is itself redundant.
        let (ring, _) = prepare(&[
            [5.0, 0.0],
            [10.0, 0.0],
            [10.0, 10.0],
            [0.0, 10.0],
            [0.0, 0.0],
        ])
        .expect("kept");
        assert_eq!(ring.len(), 4, "{ring:?}");
        assert!(!ring.contains(&[5, 0]));
    }

    #[test]
    fn ring_outside_or_around_a_corner_is_dropped() {
        assert!(prepare(&[[5000.0, 5000.0], [6000.0, 5000.0], [6000.0, 6000.0]]).is_none());
        // L-shaped ring whose bounding box covers the corner but which misses the square.
        let l_shape = [
            [-300.0, -300.0],
            [5000.0, -300.0],
            [5000.0, -100.0],
            [-100.0, -100.0],
            [-100.0, 5000.0],
            [-300.0, 5000.0],
        ];
        assert!(prepare(&l_shape).is_none());
    }

    #[test]
    fn non_finite_coordinates_drop_the_ring() {
        assert!(prepare(&[[0.0, 0.0], [f64::NAN, 0.0], [10.0, 10.0], [0.0, 10.0]]).is_none());
    }

    /// Which sides of the square a point lies beyond (bits: x below, x above, y below,
    /// y above).
    fn beyond(p: IPoint) -> u8 {
        u8::from(p[0] < SQUARE.min)
            | u8::from(p[0] > SQUARE.max) << 1
            | u8::from(p[1] < SQUARE.min) << 2
            | u8::from(p[1] > SQUARE.max) << 3
    }

    /// Runs of consecutive vertices all beyond one common side, each cut to its ends.
    fn collapsed(ring: &[IPoint], run: usize) -> Vec<IPoint> {
        let mut out = Vec::new();
        for chunk in ring.chunks(run) {
            let common = chunk.iter().fold(0xf, |m, p| m & beyond(*p));
            if common != 0 && chunk.len() > 2 {
                out.push(chunk[0]);
                out.push(chunk[chunk.len() - 1]);
            } else {
                out.extend_from_slice(chunk);
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]

        /// A ring's vertices that lie beyond one side of the square can be cut to the
        /// first and last of their run: clipping gives the same ring, maybe starting from
        /// another of its vertices (what `world_shapes`' ring sections rely on). Checked
        /// by hand over 400,000 cases and runs up to 70.
        #[test]
        fn runs_beyond_one_side_clip_like_their_ends(
            start in (-3000i64..7000, -3000i64..7000),
            steps in proptest::collection::vec((-400i64..=400, -400i64..=400), 3..120),
            run in 3usize..70,
        ) {
            let mut p = [start.0, start.1];
            let mut ring = vec![p];
            for (dx, dy) in steps {
                p = [p[0] + dx, p[1] + dy];
                ring.push(p);
            }
            let mut scratch = RingScratch::default();
            // The same ring, maybe starting from another of its vertices.
            let rotated = |r: &[IPoint]| {
                (0..r.len())
                    .map(|k| [&r[k..], &r[..k]].concat())
                    .min()
                    .unwrap_or_default()
            };
            let full = scratch
                .prepare_int(ring.iter().copied(), SQUARE)
                .map(|(r, a)| (rotated(r), a));
            let cut = collapsed(&ring, run);
            let short = scratch
                .prepare_int(cut.iter().copied(), SQUARE)
                .map(|(r, a)| (rotated(r), a));
            proptest::prop_assert_eq!(full, short);
        }
    }
}
