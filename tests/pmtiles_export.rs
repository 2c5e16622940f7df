//! `flou export-pmtiles`: every tile read back from the archive — by this test's own
//! PMTiles v3 reader, written from the specification (header, varint directories, Hilbert
//! tile ids), not the pmtiles crate — equals, byte for byte, the tile a real `flou serve`
//! sends the public over HTTP; tiles absent from the archive are those the server sends
//! empty.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::Read;

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn varint(b: &[u8], pos: &mut usize) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let byte = b[*pos];
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return v;
        }
        shift += 7;
    }
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .expect("gzip");
    out
}

/// (tile_id, offset, length, run_length) of a directory.
fn directory(b: &[u8]) -> Vec<(u64, u64, u64, u64)> {
    let mut pos = 0;
    let n = varint(b, &mut pos) as usize;
    let mut ids = Vec::with_capacity(n);
    let mut last = 0;
    for _ in 0..n {
        last += varint(b, &mut pos);
        ids.push(last);
    }
    let runs: Vec<u64> = (0..n).map(|_| varint(b, &mut pos)).collect();
    let lens: Vec<u64> = (0..n).map(|_| varint(b, &mut pos)).collect();
    let mut out: Vec<(u64, u64, u64, u64)> = Vec::with_capacity(n);
    for i in 0..n {
        let v = varint(b, &mut pos);
        let offset = if v == 0 && i > 0 {
            out[i - 1].1 + out[i - 1].2
        } else {
            v - 1
        };
        out.push((ids[i], offset, lens[i], runs[i]));
    }
    out
}

/// The spec's tile id: tiles of lower zooms first, then the Hilbert index in the zoom.
fn tile_id(z: u8, x: u32, y: u32) -> u64 {
    let before: u64 = (0..z).map(|i| 1u64 << (2 * i)).sum();
    let n = 1u64 << z;
    let (mut x, mut y) = (u64::from(x), u64::from(y));
    let mut d = 0u64;
    let mut s = n / 2;
    while s > 0 {
        let rx = u64::from(x & s > 0);
        let ry = u64::from(y & s > 0);
        d += s * s * ((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = n - 1 - x;
                y = n - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    before + d
}

/// The layer messages of a tile (field 3 of the Tile message), sorted. flou's tile encoder
/// writes layers in the order they were first asked for *by that encoder*, and the server
/// reuses one encoder per worker thread, so two threads may order the same layers
/// differently; everything inside a layer is compared byte for byte.
fn layers(tile: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < tile.len() {
        assert_eq!(tile[pos], 0x1a, "a Tile holds only layers (field 3, bytes)");
        pos += 1;
        let len = varint(tile, &mut pos) as usize;
        out.push(tile[pos..pos + len].to_vec());
        pos += len;
    }
    out.sort();
    out
}

/// Every tile of the archive, decompressed: tile id → bytes.
fn read_archive(b: &[u8]) -> (BTreeMap<u64, Vec<u8>>, [u8; 4]) {
    assert_eq!(&b[0..7], b"PMTiles", "magic");
    assert_eq!(b[7], 3, "version 3");
    let (root_off, root_len) = (u64_at(b, 8) as usize, u64_at(b, 16) as usize);
    let (leaf_off, data_off) = (u64_at(b, 40) as usize, u64_at(b, 56) as usize);
    let (internal, tile_comp, tile_type, minz, maxz) = (b[97], b[98], b[99], b[100], b[101]);
    assert_eq!(internal, 2, "directories gzip-compressed");
    let dir_bytes = |off: usize, len: usize| gunzip(&b[off..off + len]);
    let mut tiles = BTreeMap::new();
    let mut pending = vec![dir_bytes(root_off, root_len)];
    while let Some(d) = pending.pop() {
        for (id, off, len, run) in directory(&d) {
            let (off, len) = (off as usize, len as usize);
            if run == 0 {
                pending.push(dir_bytes(leaf_off + off, len));
                continue;
            }
            let raw = &b[data_off + off..data_off + off + len];
            let tile = if tile_comp == 2 {
                gunzip(raw)
            } else {
                raw.to_vec()
            };
            for k in 0..run {
                tiles.insert(id + k, tile.clone());
            }
        }
    }
    (tiles, [tile_comp, tile_type, minz, maxz])
}

#[test]
fn archive_tiles_equal_the_public_tiles_served_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ingest(&sample(), &store);
    let out = dir.path().join("public.pmtiles");
    let maxzoom = 10u8;
    // Non-sensitive points shown precisely to the public, so the observations layer is
    // compared too; the same config for the export and the server.
    let cfg = config(dir.path(), "precise");
    let summary: serde_json::Value = serde_json::from_str(&flou_ok(&[
        "export-pmtiles",
        "--store",
        store.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--maxzoom",
        &maxzoom.to_string(),
        "--config",
        cfg.to_str().unwrap(),
    ]))
    .unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let (tiles, [comp, ttype, minz, maxz]) = read_archive(&bytes);
    assert_eq!(
        (comp, ttype, minz, maxz),
        (2, 1, 0, maxzoom),
        "gzip MVT, z0..maxzoom"
    );
    assert_eq!(summary["tiles_stored"].as_u64(), Some(tiles.len() as u64));

    // The pyramid over the store's areas (the departments of data/admin), independently.
    let deps: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data().join("admin/departements.geojson")).unwrap())
            .unwrap();
    let mut bb = flou::geo::BBox::EMPTY;
    let mut walk = vec![&deps["features"]];
    while let Some(v) = walk.pop() {
        match v {
            serde_json::Value::Array(a) if a.len() == 2 && a[0].is_f64() && a[1].is_f64() => {
                bb.extend([a[0].as_f64().unwrap(), a[1].as_f64().unwrap()])
            }
            serde_json::Value::Array(a) => walk.extend(a.iter()),
            serde_json::Value::Object(o) => walk.extend(o.values()),
            _ => {}
        }
    }
    let server = Server::start(&store, Some(&cfg));
    let (mut compared, mut non_empty, mut with_obs, mut identical) = (0, 0, 0, 0);
    let mut seen = 0;
    for z in 0..=maxzoom {
        let n = 1u32 << z;
        let to_x = |lon: f64| (((lon + 180.0) / 360.0 * f64::from(n)).floor() as u32).min(n - 1);
        let to_y = |lat: f64| {
            let r = lat.to_radians();
            let y = (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0;
            ((y * f64::from(n)).floor() as u32).min(n - 1)
        };
        for x in to_x(bb.min[0])..=to_x(bb.max[0]) {
            for y in to_y(bb.max[1])..=to_y(bb.min[1]) {
                let served = server.get(&format!("/tiles/{z}/{x}/{y}.mvt"), &[]);
                assert_eq!(served.status, 200, "{z}/{x}/{y}");
                assert!(served.header("content-encoding").is_none());
                let stored = tiles.get(&tile_id(z, x, y));
                seen += usize::from(stored.is_some());
                match stored {
                    Some(t) => {
                        // Same layers, byte for byte; the order of layers in a served
                        // tile depends on the server thread's encoder history (see
                        // `layers` below), so it is compared apart.
                        assert_eq!(
                            layers(t),
                            layers(&served.body),
                            "tile {z}/{x}/{y}: layers differ from the server's"
                        );
                        identical += usize::from(*t == served.body);
                        non_empty += 1;
                        with_obs += usize::from(decode(t).contains_key("observations"));
                    }
                    None => assert!(served.body.is_empty(), "tile {z}/{x}/{y} missing"),
                }
                compared += 1;
            }
        }
    }
    assert_eq!(
        seen,
        tiles.len(),
        "the archive holds only tiles of the pyramid"
    );
    eprintln!(
        "{compared} tiles compared, {non_empty} non-empty, {with_obs} with observations, \
         {identical} byte-identical including layer order"
    );
    assert!(
        non_empty > 100 && with_obs >= 5,
        "too few tiles to prove anything"
    );
}
