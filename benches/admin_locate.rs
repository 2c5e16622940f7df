//! Loading the national commune file and locating points in it.
//!
//! `cargo bench --bench admin_locate`. The national files live outside the repository
//! (/work/shared/data/admin, or FLOU_ADMIN_DIR); the embedded default data is used for the
//! GeoNature sample points.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flou::admin::AdminAreas;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::path::PathBuf;

fn national_dir() -> PathBuf {
    std::env::var_os("FLOU_ADMIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/data/admin"))
}

fn load_national() -> AdminAreas {
    let dir = national_dir();
    match AdminAreas::load(
        &dir.join("communes.geojson"),
        &dir.join("departements.geojson"),
    ) {
        Ok(areas) => areas,
        Err(e) => panic!("{e}"),
    }
}

/// Points inside communes, spread like the communes themselves: a random commune, then a
/// random point of its bounding box kept if the commune contains it.
fn points_in_communes(areas: &AdminAreas, n: usize, rng: &mut SmallRng) -> Vec<[f64; 2]> {
    let mut points = Vec::with_capacity(n);
    while points.len() < n {
        let c = rng.gen_range(0..areas.communes.len());
        let b = areas.communes[c].bbox;
        let p = [
            rng.gen_range(b.min[0]..=b.max[0]),
            rng.gen_range(b.min[1]..=b.max[1]),
        ];
        if areas.commune_contains(c as u32, p[0], p[1]) {
            points.push(p);
        }
    }
    points
}

/// lon, lat of the 1,000 GeoNature observations (columns found by name).
fn geonature_sample() -> Vec<[f64; 2]> {
    let path = "/work/shared/data/occurrences/geonature-synthese-sample.csv";
    let mut reader = match csv::Reader::from_path(path) {
        Ok(r) => r,
        Err(e) => panic!("{path}: {e}"),
    };
    let headers = reader.headers().cloned().unwrap_or_default();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(lon), Some(lat)) = (col("lon_wgs84"), col("lat_wgs84")) else {
        panic!("{path}: no lon_wgs84 / lat_wgs84 columns");
    };
    reader
        .records()
        .flatten()
        .filter_map(|r| Some([r.get(lon)?.parse().ok()?, r.get(lat)?.parse().ok()?]))
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("admin");
    group.sample_size(10);
    group.bench_function("load_national", |b| b.iter(load_national));

    let areas = load_national();
    eprintln!(
        "national: {} communes, index tables {:.1} MB",
        areas.communes.len(),
        areas.index_bytes() as f64 / 1e6
    );
    let mut rng = SmallRng::seed_from_u64(2154);
    let inside = points_in_communes(&areas, 100_000, &mut rng);
    // Uniform over mainland France's box: about a third falls in the sea or abroad.
    let uniform: Vec<[f64; 2]> = (0..100_000)
        .map(|_| [rng.gen_range(-5.2..9.6), rng.gen_range(41.3..51.1)])
        .collect();
    for (name, points) in [("in_communes", &inside), ("uniform_mainland_box", &uniform)] {
        group.throughput(Throughput::Elements(points.len() as u64));
        group.sample_size(20);
        group.bench_function(format!("locate_{name}"), |b| {
            b.iter(|| {
                let mut found = 0u32;
                for p in points.iter() {
                    found += u32::from(areas.locate(black_box(p[0]), black_box(p[1])).is_some());
                }
                found
            })
        });
    }

    // Real observations (Écrins, clustered) against the embedded default areas.
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/admin");
    let embedded = match AdminAreas::load(
        &data.join("communes.geojson"),
        &data.join("departements.geojson"),
    ) {
        Ok(areas) => areas,
        Err(e) => panic!("{e}"),
    };
    let sample = geonature_sample();
    group.throughput(Throughput::Elements(sample.len() as u64));
    group.bench_function("locate_geonature_sample_embedded", |b| {
        b.iter(|| {
            sample
                .iter()
                .filter(|p| embedded.locate(black_box(p[0]), black_box(p[1])).is_some())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
