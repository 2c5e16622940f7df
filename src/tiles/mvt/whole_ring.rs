//! Polygon rings encoded once for every tile that holds them whole.
//!
//! Rounding aside, what a tile writes for a ring it holds whole (no clipping) does not
//! change when the ring moves by whole units: the cleaning (repeated, collinear and spike
//! vertices), the winding and every delta after the first vertex. So a ring given in
//! integer units of a zoom's world grid is cleaned and encoded once; a tile of that zoom
//! that holds it whole writes its first vertex relative to the tile and copies the rest
//! ([`super::PolygonFeature::whole_ring`]). A dense z7 tile draws ~2,500 commune rings;
//! this turns their ~170,000 vertices from arithmetic into copies.

use super::clip::{ClipSquare, IPoint, RingScratch};
use super::mvt_writer::write_line_to;
use super::pbf;

/// A ring encoded by [`WholeRingEncoder`], in its world units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WholeRing {
    /// The box of its vertices before cleaning, as a tile sees it when deciding to clip:
    /// a tile holds the ring whole when both corners lie in its buffered square.
    pub min: [i64; 2],
    pub max: [i64; 2],
    /// The first and last vertex written.
    pub first: [i64; 2],
    pub last: [i64; 2],
}

/// Encodes rings for [`super::PolygonFeature::whole_ring`], reusing its buffers.
#[derive(Debug, Default)]
pub struct WholeRingEncoder {
    scratch: RingScratch,
}

/// No clipping: the cleaning of a ring held whole, and nothing else.
const UNBOUNDED: ClipSquare = ClipSquare {
    min: i64::MIN,
    max: i64::MAX,
};

/// Coordinates of encoded rings stay within ±2^30, where the cleaning's integer
/// arithmetic is exact (as in a tile's buffered square).
const WORLD_LIMIT: i64 = 1 << 30;

impl WholeRingEncoder {
    /// Appends to `out` the bytes a tile holding the ring whole writes after its first
    /// vertex's MoveTo (LineTo command and deltas), as an exterior ring or a hole. None
    /// when a coordinate lies beyond ±2^30 (draw that ring from its vertices). When the
    /// cleaning leaves no area, nothing is appended: a tile holding it whole writes nothing.
    pub fn encode(
        &mut self,
        ring: impl IntoIterator<Item = [i64; 2]>,
        exterior: bool,
        out: &mut Vec<u8>,
    ) -> Option<WholeRing> {
        let mut min = [i64::MAX, i64::MAX];
        let mut max = [i64::MIN, i64::MIN];
        let mut bounded = true;
        let prepared = self.scratch.prepare_int(
            ring.into_iter().inspect(|p| {
                min = [min[0].min(p[0]), min[1].min(p[1])];
                max = [max[0].max(p[0]), max[1].max(p[1])];
                bounded &= p[0].abs() <= WORLD_LIMIT && p[1].abs() <= WORLD_LIMIT;
            }),
            UNBOUNDED,
        );
        let mut whole = WholeRing {
            min,
            max,
            first: [0, 0],
            last: [0, 0],
        };
        let Some((points, area2)) = prepared else {
            return bounded.then_some(whole);
        };
        if !bounded {
            return None;
        }
        if points.len() > pbf::MAX_COMMAND_COUNT {
            return Some(whole);
        }
        let (first, rest) = points.split_at(1);
        let mut cursor: IPoint = first[0];
        write_line_to(out, &mut cursor, rest, (area2 > 0) == exterior);
        whole.first = first[0];
        whole.last = cursor;
        Some(whole)
    }
}
