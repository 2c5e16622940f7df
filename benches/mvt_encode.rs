//! Vector tile encoding cost for one z10-like tile, extent 4096, buffer 64:
//! 10,000 precise observations (points with id and 3 properties), 1,000 blurred areas
//! (polygons of 50 vertices, about a fifth crossing the tile edge), and one
//! department-sized polygon of 20,000 vertices clipped to the tile.
//!
//! `fresh` builds a new encoder per tile (allocations included); `reused` keeps one
//! encoder and its buffers across tiles, as a server thread would.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use flou::tiles::mvt::{PropValue, TileEncoder};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const EXTENT: u32 = 4096;
const BUFFER: u32 = 64;

struct Point {
    id: u64,
    xy: [f64; 2],
    cd_ref: i64,
    name: usize,
    year: i64,
}

fn points(rng: &mut SmallRng) -> (Vec<Point>, Vec<String>) {
    let names: Vec<String> = (0..500)
        .map(|i| format!("Taxon species {i} (Author, 18{:02})", i % 100))
        .collect();
    let pts = (0..10_000)
        .map(|i| {
            let t = rng.gen_range(0..500usize);
            Point {
                id: 1_000_000 + i,
                // A few points in or beyond the buffer, as a bbox query returns them.
                xy: [rng.gen_range(-80.0..4176.0), rng.gen_range(-80.0..4176.0)],
                cd_ref: 60_000 + t as i64,
                name: t,
                year: rng.gen_range(1990..2025),
            }
        })
        .collect();
    (pts, names)
}

fn star(rng: &mut SmallRng, cx: f64, cy: f64, radius: f64, vertices: usize) -> Vec<[f64; 2]> {
    let mut ring: Vec<[f64; 2]> = (0..vertices)
        .map(|i| {
            let a = i as f64 / vertices as f64 * std::f64::consts::TAU;
            let r = radius * rng.gen_range(0.7..1.0);
            [cx + r * a.cos(), cy + r * a.sin()]
        })
        .collect();
    // GeoJSON-style input: close the ring; half of them in the other winding.
    if rng.gen_bool(0.5) {
        ring.reverse();
    }
    ring.push(ring[0]);
    ring
}

fn areas(rng: &mut SmallRng) -> Vec<Vec<Vec<[f64; 2]>>> {
    (0..1000)
        .map(|_| {
            let (cx, cy) = (rng.gen_range(-100.0..4196.0), rng.gen_range(-100.0..4196.0));
            let radius = rng.gen_range(20.0..150.0);
            vec![star(rng, cx, cy, radius, 49)]
        })
        .collect()
}

fn encode_points(tile: &mut TileEncoder, pts: &[Point], names: &[String]) {
    let layer = tile.layer("observations");
    for p in pts {
        layer.add_point(
            Some(p.id),
            p.xy,
            &[
                ("cd_ref", PropValue::Int(p.cd_ref)),
                ("nom", PropValue::Str(&names[p.name])),
                ("annee", PropValue::Int(p.year)),
            ],
        );
    }
}

fn encode_areas(tile: &mut TileEncoder, polys: &[Vec<Vec<[f64; 2]>>], codes: &[String]) {
    let layer = tile.layer("areas");
    for (i, (poly, code)) in polys.iter().zip(codes).enumerate() {
        layer.add_polygon(
            Some(i as u64),
            std::slice::from_ref(poly),
            &[
                ("code", PropValue::Str(code)),
                ("n", PropValue::UInt(i as u64 % 37)),
            ],
        );
    }
}

fn bench(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(42);
    let (pts, names) = points(&mut rng);
    let polys = areas(&mut rng);
    let codes: Vec<String> = (0..polys.len())
        .map(|i| format!("10kmL93E{:03}N{:03}", i % 100, 600 + i / 100))
        .collect();
    let department = vec![star(&mut rng, 2048.0, 2048.0, 9000.0, 20_000)];

    let mut g = c.benchmark_group("mvt_encode");
    g.bench_function("10k_points_fresh", |b| {
        b.iter(|| {
            let mut tile = TileEncoder::new(EXTENT, BUFFER);
            encode_points(&mut tile, black_box(&pts), &names);
            tile.encode()
        })
    });
    let mut reused = TileEncoder::new(EXTENT, BUFFER);
    let mut out = Vec::new();
    g.bench_function("10k_points_reused", |b| {
        b.iter(|| {
            encode_points(&mut reused, black_box(&pts), &names);
            out.clear();
            reused.encode_into(&mut out);
            out.len()
        })
    });
    g.bench_function("10k_points_no_props", |b| {
        b.iter(|| {
            let layer = reused.layer("observations");
            for p in black_box(&pts) {
                layer.add_point(Some(p.id), p.xy, &[]);
            }
            out.clear();
            reused.encode_into(&mut out);
            out.len()
        })
    });
    g.bench_function("10k_points_ints_only", |b| {
        b.iter(|| {
            let layer = reused.layer("observations");
            for p in black_box(&pts) {
                layer.add_point(
                    Some(p.id),
                    p.xy,
                    &[
                        ("cd_ref", PropValue::Int(p.cd_ref)),
                        ("annee", PropValue::Int(p.year)),
                    ],
                );
            }
            out.clear();
            reused.encode_into(&mut out);
            out.len()
        })
    });
    g.bench_function("1000_polygons_x50_fresh", |b| {
        b.iter(|| {
            let mut tile = TileEncoder::new(EXTENT, BUFFER);
            encode_areas(&mut tile, black_box(&polys), &codes);
            tile.encode()
        })
    });
    let mut reused = TileEncoder::new(EXTENT, BUFFER);
    g.bench_function("1000_polygons_x50_reused", |b| {
        b.iter(|| {
            encode_areas(&mut reused, black_box(&polys), &codes);
            out.clear();
            reused.encode_into(&mut out);
            out.len()
        })
    });
    g.bench_function("department_20k_vertices_clipped", |b| {
        b.iter(|| {
            let mut tile = TileEncoder::new(EXTENT, BUFFER);
            tile.layer("departements").add_polygon(
                Some(34),
                black_box(std::slice::from_ref(&department)),
                &[("code", PropValue::Str("34"))],
            );
            tile.encode()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
