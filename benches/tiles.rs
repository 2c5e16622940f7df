//! Hot paths of tile serving on a real store: record selection for a tile (the access
//! view), the whole render (selection + blurring + MVT encoding) for the public and for an
//! agent, and building the day index. The store is `$FLOU_BENCH_STORE` (e.g. one made by
//! `bash benches/ingest.sh 1000000`), else a 100,000-record synthetic store built here.
//!
//! cargo bench --bench tiles

use criterion::{criterion_group, criterion_main, Criterion};
use flou::access::diffusion::{Precision, PublicPolicy};
use flou::access::view::{AccessContext, AccessView, RecordFilter};
use flou::access::{Caller, Grant};
use flou::date::Day;
use flou::geo::webmercator::TileId;
use flou::server::{build_day_index, Loaded};
use flou::tiles::mvt::TileEncoder;
use flou::tiles::render::{render, AggregateMode, TileRequest, ZoomPlan, BUFFER, EXTENT};
use std::path::PathBuf;
use std::time::Duration;

fn store() -> PathBuf {
    if let Some(p) = std::env::var_os("FLOU_BENCH_STORE") {
        return PathBuf::from(p);
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/out");
    let store = dir.join("bench-store-100000");
    // Built here when absent, or rebuilt when left by a flou of another store format.
    if flou::store::Store::open(&store).is_err() {
        let _ = std::fs::remove_dir_all(&store);
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("bench-synth-100000.csv");
        let refs = flou::ingest::pipeline::ReferentialPaths::embedded(
            &flou::ingest::pipeline::default_data_dir(),
        );
        flou::synth::write_csv(&refs, 100_000, 7, &csv).unwrap();
        let opts = flou::ingest::pipeline::IngestOptions {
            occurrences: vec![csv],
            srid: flou::ingest::Srid::Wgs84,
            referentials: refs,
            out: store.clone(),
            progress: false,
            today: Day::today(),
            mapping: None,
        };
        flou::ingest::pipeline::run(&opts).unwrap();
    }
    store
}

fn tile_of(lon: f64, lat: f64, z: u8) -> TileId {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let r = lat.to_radians();
    let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    TileId::new(z, x, y).unwrap()
}

fn bench(c: &mut Criterion) {
    let l = Loaded::open(&store(), None).unwrap();
    let policy = PublicPolicy {
        min_precision: Precision::Precise,
    };
    let today = Day::today();
    let mut g = c.benchmark_group("tiles");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("day_index_build", |b| {
        b.iter(|| build_day_index(&l, today, policy, &ZoomPlan::default()))
    });
    let index = build_day_index(&l, today, policy, &ZoomPlan::default());
    let ctx = AccessContext::new(&l.store, &l.areas, &l.taxonomy, policy, &l.cells)
        .with_index(Some(&index));
    let filter = RecordFilter::default();
    let agent = Caller::Agent {
        sub: "bench".into(),
        grants: vec![Grant {
            departements: Some(vec!["69".into(), "13".into()]),
            max_sensitivity: 4,
            ..Grant::default()
        }],
    };
    // Lyon: the densest synthetic area; Gap: a rural one.
    for (place, lon, lat) in [("lyon", 4.835, 45.76), ("gap", 6.08, 44.56)] {
        for z in [5u8, 8, 10, 12, 14] {
            let t = tile_of(lon, lat, z);
            let view = AccessView {
                ctx: &ctx,
                caller: &Caller::Public,
                today,
                filter: &filter,
            };
            let b = t.bounds_lonlat();
            g.bench_function(format!("select_public_{place}_z{z}"), |bch| {
                bch.iter(|| {
                    let mut n = 0u64;
                    view.for_each_in(&b, |_| n += 1);
                    n
                })
            });
            for (who, caller) in [("public", &Caller::Public), ("agent", &agent)] {
                let req = TileRequest {
                    tile: t,
                    caller,
                    filter: &filter,
                    today,
                    aggregate: AggregateMode::Grid,
                };
                let mut enc = TileEncoder::new(EXTENT, BUFFER);
                g.bench_function(format!("render_{who}_{place}_z{z}"), |bch| {
                    bch.iter(|| render(&ctx, &req, &ZoomPlan::default(), &mut enc))
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
