//! Reads with ten daily segments against one: the same 100,000 synthetic records as
//! (a) one full ingest, (b) a base ingest plus nine daily appends (each 1 % new records and
//! 0.2 % new versions of earlier records, so older segments hold dead records), (c) store
//! (b) after `flou compact`. Measures store open (liveness of every record), the day index
//! build, record selection and the whole public render of tiles at z5, z10, z14.
//!
//! cargo bench --bench segments     (stores are built once under benches/out/)

use criterion::{criterion_group, criterion_main, Criterion};
use flou::access::diffusion::{Precision, PublicPolicy};
use flou::access::view::{AccessContext, AccessView, RecordFilter};
use flou::access::Caller;
use flou::date::Day;
use flou::geo::webmercator::TileId;
use flou::ingest::append::{run_append, AppendOptions};
use flou::ingest::pipeline::{self, IngestOptions, ReferentialPaths};
use flou::ingest::Srid;
use flou::server::{build_day_index, Loaded};
use flou::tiles::mvt::TileEncoder;
use flou::tiles::render::{render, AggregateMode, TileRequest, ZoomPlan, BUFFER, EXTENT};
use std::path::{Path, PathBuf};
use std::time::Duration;

const RECORDS: usize = 100_000;
const DAYS: usize = 9;

fn ingest(csv: &Path, out: &Path, refs: &ReferentialPaths) {
    pipeline::run(&IngestOptions {
        occurrences: vec![csv.to_path_buf()],
        srid: Srid::Wgs84,
        referentials: refs.clone(),
        out: out.to_path_buf(),
        progress: false,
        today: Day::today(),
        mapping: None,
    })
    .unwrap();
}

/// Writes `lines` (CSV rows without header) under `header` to `path`.
fn write_part(path: &Path, header: &str, lines: &[&str]) {
    let mut text = String::with_capacity(lines.len() * 200);
    text.push_str(header);
    text.push('\n');
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// (one segment, ten segments, compacted) store directories, built on first use.
fn stores() -> (PathBuf, PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/out/segments");
    let (one, ten, compacted) = (dir.join("one"), dir.join("ten"), dir.join("compacted"));
    // Kept between runs, unless an older flou wrote them (the format moved on).
    let readable = [&one, &ten, &compacted]
        .iter()
        .all(|p| flou::store::Store::open(p).is_ok());
    if compacted.join("manifest.json").exists() && readable {
        return (one, ten, compacted);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let refs = ReferentialPaths::embedded(&pipeline::default_data_dir());
    let csv = dir.join("synth.csv");
    flou::synth::write_csv(&refs, RECORDS as u64, 7, &csv).unwrap();
    ingest(&csv, &one, &refs);

    // The synthetic CSV has no quoted newlines: lines are rows.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let daily = rows.len() / 100;
    let base_len = rows.len() - DAYS * daily;
    let base = dir.join("base.csv");
    write_part(&base, header, &rows[..base_len]);
    ingest(&base, &ten, &refs);
    for day in 0..DAYS {
        let start = base_len + day * daily;
        let mut part: Vec<&str> = rows[start..start + daily].to_vec();
        // New versions of earlier records (same values): older copies become dead.
        part.extend(rows[..base_len].iter().skip(day).step_by(500));
        let p = dir.join(format!("day{day}.csv"));
        write_part(&p, header, &part);
        run_append(&AppendOptions {
            store: ten.clone(),
            occurrences: vec![p],
            deletions: Vec::new(),
            srid: Srid::Wgs84,
            referentials: refs.clone(),
            mapping: None,
            progress: false,
            today: Day::today(),
        })
        .unwrap();
    }
    copy_dir(&ten, &compacted);
    flou::store::compact::compact(&compacted).unwrap();
    (one, ten, compacted)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn tile_of(lon: f64, lat: f64, z: u8) -> TileId {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let r = lat.to_radians();
    let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    TileId::new(z, x, y).unwrap()
}

fn bench(c: &mut Criterion) {
    let (one, ten, compacted) = stores();
    let policy = PublicPolicy {
        min_precision: Precision::Precise,
    };
    let today = Day::today();
    let filter = RecordFilter::default();
    let mut g = c.benchmark_group("segments");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    for (name, path) in [("one", &one), ("ten", &ten), ("compacted", &compacted)] {
        g.bench_function(format!("open_{name}"), |b| {
            b.iter(|| flou::store::Store::open(path).unwrap().live_count())
        });
        let l = Loaded::open(path, None).unwrap();
        eprintln!(
            "{name}: {} segments, {} records, {} live",
            l.store.segments().len(),
            l.store.segments().iter().map(|s| s.len()).sum::<usize>(),
            l.store.live_count()
        );
        g.bench_function(format!("day_index_{name}"), |b| {
            b.iter(|| build_day_index(&l, today, policy, &ZoomPlan::default()))
        });
        let index = build_day_index(&l, today, policy, &ZoomPlan::default());
        for (mode, idx) in [("scan", None), ("index", Some(&index))] {
            let ctx = AccessContext::new(&l.store, &l.areas, &l.taxonomy, policy, &l.cells)
                .with_index(idx);
            for z in [5u8, 10, 14] {
                let t = tile_of(4.835, 45.76, z);
                let view = AccessView {
                    ctx: &ctx,
                    caller: &Caller::Public,
                    today,
                    filter: &filter,
                };
                let b = t.bounds_lonlat();
                g.bench_function(format!("select_{mode}_{name}_z{z}"), |bch| {
                    bch.iter(|| {
                        let mut n = 0u64;
                        view.for_each_in(&b, |_| n += 1);
                        n
                    })
                });
                let req = TileRequest {
                    tile: t,
                    caller: &Caller::Public,
                    filter: &filter,
                    today,
                    aggregate: AggregateMode::Grid,
                };
                let mut enc = TileEncoder::new(EXTENT, BUFFER);
                g.bench_function(format!("render_{mode}_{name}_z{z}"), |bch| {
                    bch.iter(|| render(&ctx, &req, &ZoomPlan::default(), &mut enc))
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
