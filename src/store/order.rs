//! The record order of a segment: by department, commune and Hilbert position, so each
//! commune and department is one contiguous record range and 64-record blocks are compact
//! in space (tight R-tree boxes). Full ingest, append and compaction all sort through here.
#![forbid(unsafe_code)]

use super::segment::{RecordRow, E7};
use crate::admin::AdminAreas;
use crate::geo::BBox;
use rayon::prelude::*;

/// Sorts `records` into segment order for `areas` (the store's areas).
pub fn sort_records(areas: &AdminAreas, records: Vec<RecordRow>) -> Vec<RecordRow> {
    let rank = commune_ranks(areas);
    let bounds = communes_bounds(areas);
    let mut rows: Vec<(u64, RecordRow)> = records
        .into_par_iter()
        .map(|r| {
            let h = hilbert_key(&bounds, f64::from(r.lon_e7) / E7, f64::from(r.lat_e7) / E7);
            let rank = rank.get(r.commune as usize).copied().unwrap_or(u32::MAX);
            ((u64::from(rank) << 32) | u64::from(h), r)
        })
        .collect();
    // Ties (same cell of the curve) by date, then id: the order is a function of the record
    // set alone, whichever segments or files the records came from.
    rows.par_sort_unstable_by(|(ka, a), (kb, b)| {
        (ka, a.date_debut, &a.id).cmp(&(kb, b.date_debut, &b.id))
    });
    rows.into_iter().map(|(_, r)| r).collect()
}

fn communes_bounds(areas: &AdminAreas) -> BBox {
    areas
        .communes
        .iter()
        .fold(BBox::EMPTY, |b, c| b.union(&c.bbox))
}

/// Sort rank of each commune: departments in Hilbert order of their centres, then communes
/// of a department in Hilbert order, so departments and communes are contiguous runs.
fn commune_ranks(areas: &AdminAreas) -> Vec<u32> {
    let bounds = communes_bounds(areas);
    let centre = |b: &BBox| {
        hilbert_key(
            &bounds,
            (b.min[0] + b.max[0]) / 2.0,
            (b.min[1] + b.max[1]) / 2.0,
        )
    };
    let dept_key: Vec<u32> = areas.departements.iter().map(|d| centre(&d.bbox)).collect();
    let mut order: Vec<usize> = (0..areas.communes.len()).collect();
    order.sort_by_key(|&i| {
        let c = &areas.communes[i];
        (
            dept_key[c.departement as usize],
            c.departement,
            centre(&c.bbox),
            i,
        )
    });
    let mut rank = vec![0u32; areas.communes.len()];
    for (r, i) in order.into_iter().enumerate() {
        rank[i] = r as u32;
    }
    rank
}

/// Position on a 2^16 × 2^16 Hilbert curve over `bounds`.
pub fn hilbert_key(bounds: &BBox, lon: f64, lat: f64) -> u32 {
    const N: u32 = 1 << 16;
    let scale = |v: f64, lo: f64, hi: f64| {
        let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
        ((t * f64::from(N - 1)).round().clamp(0.0, f64::from(N - 1))) as u32
    };
    let (mut x, mut y) = (
        scale(lon, bounds.min[0], bounds.max[0]),
        scale(lat, bounds.min[1], bounds.max[1]),
    );
    let mut d: u32 = 0;
    let mut s = N / 2;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d = d.wrapping_add(s.wrapping_mul(s).wrapping_mul((3 * rx) ^ ry));
        if ry == 0 {
            if rx == 1 {
                x = N - 1 - x;
                y = N - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hilbert_key_is_a_bijection_on_a_small_grid_and_neighbours_stay_close() {
        let b = BBox {
            min: [0.0, 0.0],
            max: [65535.0, 65535.0],
        };
        let mut seen = std::collections::HashSet::new();
        for x in 0..64 {
            for y in 0..64 {
                assert!(seen.insert(hilbert_key(&b, f64::from(x), f64::from(y))));
            }
        }
        // Consecutive curve positions are adjacent cells: the first 4 form the 2×2 corner.
        let mut first: Vec<u32> = (0..2)
            .flat_map(|x| (0..2).map(move |y| hilbert_key(&b, f64::from(x), f64::from(y))))
            .collect();
        first.sort_unstable();
        assert_eq!(first, vec![0, 1, 2, 3]);
    }
}
