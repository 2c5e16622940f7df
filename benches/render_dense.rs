//! Render time of given tiles on a real store, in-process, the minimum and median of N
//! renders each: the per-tile cost without HTTP, and robust to a busy machine (the minimum).
//!
//! cargo run --release --example render_dense -- STORE [N] [z/x/y ...]
//! (default tiles: the densest public tiles of the 10 M bench list, z7–z14)
//! GROUP_POINTS_ABOVE=N sets the plan's point-group threshold (default: the plan's 4096;
//! a huge N draws every point alone, as before point groups).
//! TILES_TSV=benches/out/tiles-N/tiles.tsv takes the tiles (and their `taxon` filters) of
//! the load bench's list instead; MIN_ZOOM=z keeps those of zoom z and above.
//! CALLER=agent renders for an agent whose grant covers every record.

use flou::access::diffusion::{Precision, PublicPolicy};
use flou::access::view::{AccessContext, RecordFilter};
use flou::access::Caller;
use flou::date::Day;
use flou::geo::webmercator::TileId;
use flou::server::{build_day_index, Loaded};
use flou::tiles::mvt::TileEncoder;
use flou::tiles::render::{render, AggregateMode, TileRequest, ZoomPlan, BUFFER, EXTENT};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let store = PathBuf::from(
        args.first()
            .ok_or("usage: render_dense STORE [N] [z/x/y ...]")?,
    );
    let n: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(10);
    let mut tiles: Vec<String> = args.iter().skip(2).cloned().collect();
    // Tiles and their taxon filter.
    let mut taxa: Vec<Option<u32>> = Vec::new();
    if let Ok(tsv) = std::env::var("TILES_TSV") {
        let min_zoom: u32 = std::env::var("MIN_ZOOM").map_or(Ok(0), |v| v.parse())?;
        for line in std::fs::read_to_string(tsv)?.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let [z, x, y, taxon, ..] = f.as_slice() else {
                continue;
            };
            if z.parse::<u32>()? < min_zoom {
                continue;
            }
            tiles.push(format!("{z}/{x}/{y}"));
            taxa.push((!taxon.is_empty()).then(|| taxon.parse()).transpose()?);
        }
    }
    if tiles.is_empty() {
        tiles = [
            "7/65/45",
            "9/262/182",
            "10/525/364",
            "12/2094/1463",
            "14/8447/5941",
        ]
        .map(String::from)
        .to_vec();
    }
    let l = Loaded::open(&store, None)?;
    let policy = PublicPolicy {
        min_precision: Precision::Precise,
    };
    let today = Day::today();
    let mut plan = ZoomPlan::default();
    if let Ok(v) = std::env::var("GROUP_POINTS_ABOVE") {
        plan.group_points_above = v.parse()?;
    }
    let index = build_day_index(&l, today, policy, &plan);
    let ctx = AccessContext::new(&l.store, &l.areas, &l.taxonomy, policy, &l.cells)
        .with_index(Some(&index));
    let filters: Vec<RecordFilter> = (0..tiles.len())
        .map(|i| RecordFilter {
            taxa: taxa.get(i).copied().flatten().map(|t| [t].into()),
            ..RecordFilter::default()
        })
        .collect();
    let caller = match std::env::var("CALLER").as_deref() {
        Ok("agent") => Caller::Agent {
            sub: "bench-agent".into(),
            grants: vec![flou::access::rights::Grant {
                max_sensitivity: 4,
                ..Default::default()
            }],
        },
        _ => Caller::Public,
    };
    let mut enc = TileEncoder::new(EXTENT, BUFFER);
    let mut reqs = Vec::new();
    for t in &tiles {
        let p: Vec<u32> = t.split('/').map(|v| v.parse()).collect::<Result<_, _>>()?;
        let &[z, x, y] = p.as_slice() else {
            return Err(format!("bad tile {t}").into());
        };
        reqs.push(TileId::new(z as u8, x, y).ok_or("tile out of range")?);
    }
    // Round robin over the tiles, as a server sees them: rendering one tile N times in a
    // row would find its records in the CPU caches and hide the memory traffic.
    let mut times = vec![Vec::new(); reqs.len()];
    let mut bytes = vec![0; reqs.len()];
    for _ in 0..n {
        for (i, tile) in reqs.iter().enumerate() {
            let req = TileRequest {
                tile: *tile,
                caller: &caller,
                filter: &filters[i],
                today,
                aggregate: AggregateMode::Grid,
            };
            let t0 = Instant::now();
            bytes[i] = render(&ctx, &req, &plan, &mut enc).len();
            times[i].push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    println!("tile\ttaxon\tbytes\tmin_ms\tmedian_ms");
    for (i, t) in tiles.iter().enumerate() {
        let taxon = taxa
            .get(i)
            .copied()
            .flatten()
            .map(|t| t.to_string())
            .unwrap_or_default();
        let ts = &mut times[i];
        ts.sort_by(f64::total_cmp);
        println!(
            "{t}\t{taxon}\t{}\t{:.2}\t{:.2}",
            bytes[i],
            ts[0],
            ts[ts.len() / 2]
        );
    }
    Ok(())
}
