//! Hot reload: a running `flou serve` replaces its store generation atomically.
//!
//! Two real stores A and B (different synthetic observations) are copied into one served
//! directory, and its manifest is flipped between them while wrk loads the server and
//! checker threads compare every body with what A and B serve on their own. The oracle is
//! the pair of byte sets fetched before the flipping starts: a response that mixed the two
//! generations (records of one, index or cache entry of the other) matches neither.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A store built by the real binary from synthetic data of `seed`.
fn build_store(dir: &Path, name: &str, seed: &str, records: &str) -> PathBuf {
    let csv = dir.join(format!("{name}.csv"));
    flou_ok(&[
        "synth",
        "--records",
        records,
        "--seed",
        seed,
        "--out",
        csv.to_str().unwrap(),
    ]);
    let store = dir.join(name);
    ingest(&csv, &store);
    store
}

/// The files of a built store copied into `served` under `prefix`, as manifest entries.
fn copy_into(store: &Path, served: &Path, prefix: &str) -> Value {
    let m: Value =
        serde_json::from_str(&fs::read_to_string(store.join("manifest.json")).unwrap()).unwrap();
    let copy = |name: &str| {
        let to = format!("{prefix}-{name}");
        fs::copy(store.join(name), served.join(&to)).unwrap();
        to
    };
    let areas = copy(m["areas"].as_str().unwrap());
    let segments: Vec<Value> = m["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s["file"] = json!(copy(s["file"].as_str().unwrap()));
            s
        })
        .collect();
    json!({ "template": m, "areas": areas, "segments": segments })
}

/// Publishes `files` as generation `generation` of `served`, by rename as flou does.
fn publish(served: &Path, files: &Value, generation: u64) {
    let mut m = files["template"].clone();
    m["generation"] = json!(generation);
    m["areas"] = files["areas"].clone();
    m["segments"] = files["segments"].clone();
    let tmp = served.join(format!("manifest.json.{generation}.tmp"));
    fs::write(&tmp, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    fs::rename(&tmp, served.join("manifest.json")).unwrap();
}

fn health(addr: &str) -> Value {
    let r = http_get(addr, "/health", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    serde_json::from_slice(&r.body).unwrap()
}

fn wait_for_generation(addr: &str, generation: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while health(addr)["generation"] != json!(generation) {
        assert!(
            Instant::now() < deadline,
            "generation {generation} not served within 30 s: {}",
            health(addr)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn reload_config(dir: &Path, poll_ms: u64) -> PathBuf {
    let p = config(dir, "commune");
    let mut text = fs::read_to_string(&p).unwrap();
    text.push_str(&format!("\n[reload]\npoll_ms = {poll_ms}\n"));
    fs::write(&p, text).unwrap();
    p
}

/// Tiles over the synthetic data's regions at zooms that exercise every layer kind.
fn tile_paths() -> Vec<String> {
    let places = [(5.72, 45.19), (5.37, 43.30), (4.83, 45.76), (6.64, 44.56)];
    let mut paths = Vec::new();
    for z in [5u8, 7, 9, 11, 13] {
        for (lon, lat) in places {
            let n = f64::from(1u32 << z);
            let x = ((lon + 180.0) / 360.0 * n) as u32;
            let lat_r = f64::to_radians(lat);
            let y = ((1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / std::f64::consts::PI) / 2.0
                * n) as u32;
            paths.push(format!("/tiles/{z}/{x}/{y}.mvt"));
        }
    }
    paths.push("/indicators/richness?unit=departement".into());
    paths
}

struct Request {
    path: String,
    auth: Option<String>,
}

impl Request {
    fn get(&self, addr: &str) -> Response {
        match &self.auth {
            Some(a) => http_get(addr, &self.path, &[("Authorization", a)]),
            None => http_get(addr, &self.path, &[]),
        }
    }
}

fn requests() -> Vec<Request> {
    let agent = format!(
        "Bearer {}",
        hs256_token(SECRET, json!([{ "max_sensitivity": 4 }]), 3600)
    );
    tile_paths()
        .into_iter()
        .flat_map(|path| {
            [
                Request {
                    path: path.clone(),
                    auth: None,
                },
                Request {
                    path,
                    auth: Some(agent.clone()),
                },
            ]
        })
        .collect()
}

fn bodies(addr: &str, reqs: &[Request]) -> Vec<Vec<u8>> {
    reqs.iter()
        .map(|r| {
            let resp = r.get(addr);
            assert_eq!(resp.status, 200, "{} → {}", r.path, resp.text());
            resp.body
        })
        .collect()
}

/// wrk over the tile paths for `seconds`; returns (requests, non-2xx/3xx, socket errors).
fn wrk(addr: &str, dir: &Path, seconds: u32) -> (u64, u64, u64, String) {
    let paths: Vec<String> = tile_paths()
        .into_iter()
        .filter(|p| p.starts_with("/tiles"))
        .map(|p| format!("{p:?}"))
        .collect();
    let script = dir.join("paths.lua");
    fs::write(
        &script,
        format!(
            "local paths = {{{}}}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n",
            paths.join(", ")
        ),
    )
    .unwrap();
    let out = std::process::Command::new("wrk")
        .args([
            "-t1",
            "-c4",
            &format!("-d{seconds}s"),
            "--timeout",
            "10s",
            "-s",
            script.to_str().unwrap(),
            &format!("http://{addr}"),
        ])
        .output()
        .expect("wrk is installed (scripts/test.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "wrk failed: {text}");
    let number_after = |label: &str| -> u64 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|rest| {
                rest.trim()
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    };
    let total: u64 = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let non_2xx = number_after("Non-2xx or 3xx responses:");
    // "Socket errors: connect 0, read 0, write 0, timeout 0"
    let socket: u64 = text
        .lines()
        .find(|l| l.contains("Socket errors"))
        .map(|l| {
            l.split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    (total, non_2xx, socket, text)
}

fn mapped_store_files(pid: u32, served: &Path) -> Vec<String> {
    let maps = fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let dir = served.to_str().unwrap();
    let mut files: Vec<String> = maps
        .lines()
        .filter(|l| l.contains(dir))
        .filter_map(|l| l.split_whitespace().nth(5).map(|s| s.to_string()))
        .map(|p| {
            let deleted = maps.contains(&format!("{p} (deleted)"));
            if deleted {
                format!("{p} (deleted)")
            } else {
                p
            }
        })
        .collect();
    files.sort();
    files.dedup();
    files
}

#[test]
fn stores_swapped_under_load_serve_every_request_from_exactly_one_generation() {
    let dir = tempfile::tempdir().unwrap();
    let a = build_store(dir.path(), "a", "101", "4000");
    let b = build_store(dir.path(), "b", "202", "4000");
    let served = dir.path().join("served");
    fs::create_dir(&served).unwrap();
    let files_a = copy_into(&a, &served, "a");
    let files_b = copy_into(&b, &served, "b");
    publish(&served, &files_a, 1);
    let log = dir.path().join("serve.log");
    let cfg = reload_config(dir.path(), 50);
    let server = Server::start_with_log(&served, Some(&cfg), &log);
    let addr = server.addr.clone();

    // The oracle: what each generation serves alone.
    let reqs = requests();
    wait_for_generation(&addr, 1);
    let body_a = bodies(&addr, &reqs);
    publish(&served, &files_b, 2);
    wait_for_generation(&addr, 2);
    let body_b = bodies(&addr, &reqs);
    let differing = body_a.iter().zip(&body_b).filter(|(x, y)| x != y).count();
    assert!(
        differing * 2 > reqs.len(),
        "A and B must differ on most requests for the check to mean anything ({differing} of {})",
        reqs.len()
    );

    // Flip the manifest every 120 ms while wrk and two checkers load the server.
    let stop = Arc::new(AtomicBool::new(false));
    let generation = Arc::new(AtomicU64::new(2));
    let flipper = {
        let (stop, generation, served) = (stop.clone(), generation.clone(), served.clone());
        let (fa, fb) = (files_a.clone(), files_b.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(120));
                let g = generation.fetch_add(1, Ordering::Relaxed) + 1;
                publish(&served, if g % 2 == 1 { &fa } else { &fb }, g);
            }
        })
    };
    let reqs = Arc::new(reqs);
    let (body_a, body_b) = (Arc::new(body_a), Arc::new(body_b));
    let checkers: Vec<_> = (0..2)
        .map(|t| {
            let (stop, addr, reqs) = (stop.clone(), addr.clone(), reqs.clone());
            let (body_a, body_b) = (body_a.clone(), body_b.clone());
            std::thread::spawn(move || {
                let mut seen: HashMap<&'static str, u64> = HashMap::new();
                let mut i = t * 7;
                while !stop.load(Ordering::Relaxed) {
                    i = (i + 1) % reqs.len();
                    let r = reqs[i].get(&addr);
                    assert_eq!(r.status, 200, "{} during swaps: {}", reqs[i].path, r.text());
                    // Odd generations are A, even ones B: the body must be the one of
                    // the generation the response names, not merely one of the two.
                    let generation: u64 = r
                        .header("x-flou-generation")
                        .and_then(|g| g.parse().ok())
                        .expect("X-Flou-Generation");
                    let (which, expected) = if generation % 2 == 1 {
                        ("a", &body_a[i])
                    } else {
                        ("b", &body_b[i])
                    };
                    assert!(
                        r.body == *expected,
                        "{} answered as generation {generation} with other bytes ({})",
                        reqs[i].path,
                        if r.body == body_a[i] || r.body == body_b[i] {
                            "the other generation's"
                        } else {
                            "neither generation's"
                        }
                    );
                    *seen.entry(which).or_default() += 1;
                }
                seen
            })
        })
        .collect();
    let (total, non_2xx, socket_errors, wrk_text) = wrk(&addr, dir.path(), 8);
    stop.store(true, Ordering::Relaxed);
    flipper.join().unwrap();
    let mut seen: HashMap<&str, u64> = HashMap::new();
    for c in checkers {
        for (k, v) in c.join().expect("a checker saw a wrong response") {
            *seen.entry(k).or_default() += v;
        }
    }
    let flips = generation.load(Ordering::Relaxed) - 2;
    eprintln!("{flips} swaps; checkers saw {seen:?}; wrk:\n{wrk_text}");
    assert!(total > 0, "wrk made no request: {wrk_text}");
    assert_eq!(non_2xx, 0, "failed requests during swaps: {wrk_text}");
    assert_eq!(socket_errors, 0, "socket errors during swaps: {wrk_text}");
    assert!(flips >= 20, "only {flips} swaps in 8 s");
    assert!(
        seen.get("a").copied().unwrap_or(0) > 0 && seen.get("b").copied().unwrap_or(0) > 0,
        "checkers must have met both generations: {seen:?}"
    );
    let last = generation.load(Ordering::Relaxed);
    wait_for_generation(&addr, last);

    // A new generation with new files; the old files are deleted as `flou compact` does.
    // Once served, no mapping of the old generations may remain (released, not leaked).
    let files_c = copy_into(&b, &served, "c");
    publish(&served, &files_c, last + 1);
    wait_for_generation(&addr, last + 1);
    for entry in fs::read_dir(&served).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.starts_with("a-") || name.starts_with("b-") {
            fs::remove_file(served.join(name)).unwrap();
        }
    }
    for (i, r) in reqs.iter().enumerate() {
        assert_eq!(r.get(&addr).body, body_b[i], "C is a copy of B");
    }
    let mapped = mapped_store_files(server.pid(), &served);
    assert!(
        !mapped.is_empty() && mapped.iter().all(|f| f.contains("/c-")),
        "only generation C's files may stay mapped: {mapped:?}"
    );

    // A truncated segment: refused whole, C keeps serving, the log names the file.
    let seg_c = files_c["segments"][0]["file"].as_str().unwrap().to_string();
    let bytes = fs::read(served.join(&seg_c)).unwrap();
    fs::write(served.join("d-truncated.seg"), &bytes[..bytes.len() / 2]).unwrap();
    let mut files_d = files_c.clone();
    files_d["segments"][0]["file"] = json!("d-truncated.seg");
    publish(&served, &files_d, last + 2);
    std::thread::sleep(Duration::from_millis(600));
    let h = health(&addr);
    assert_eq!(h["generation"], json!(last + 1), "{h}");
    assert_ne!(h["reload"], json!("ok"), "{h}");
    let text = h.to_string();
    assert!(
        !text.contains("d-truncated"),
        "/health gives no detail: {text}"
    );
    for (i, r) in reqs.iter().enumerate() {
        let resp = r.get(&addr);
        assert_eq!((resp.status, &resp.body), (200, &body_b[i]), "{}", r.path);
    }
    // A corrupt manifest is refused the same way.
    fs::write(served.join("manifest.json"), b"{ not json").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(health(&addr)["generation"], json!(last + 1));
    // A good generation again: served, and the failure is cleared.
    publish(&served, &files_c, last + 3);
    wait_for_generation(&addr, last + 3);
    assert_eq!(health(&addr)["reload"], json!("ok"));

    let log_text = fs::read_to_string(&log).unwrap();
    let refusals: Vec<&str> = log_text.lines().filter(|l| l.contains("refused")).collect();
    assert!(
        refusals.iter().any(|l| l.contains("d-truncated.seg")),
        "the log names the truncated file: {log_text}"
    );
    assert!(
        refusals.iter().any(|l| l.contains("manifest")),
        "the log names the corrupt manifest: {log_text}"
    );
    // Said once per distinct failure, not on every poll.
    assert!(refusals.len() <= 4, "{refusals:?}");
}

#[test]
fn sighup_reloads_when_polling_is_off_and_a_corrupt_store_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let a = build_store(dir.path(), "a", "303", "1500");
    let b = build_store(dir.path(), "b", "404", "1500");
    let served = dir.path().join("served");
    fs::create_dir(&served).unwrap();
    let files_a = copy_into(&a, &served, "a");
    let files_b = copy_into(&b, &served, "b");
    publish(&served, &files_a, 1);
    let cfg = reload_config(dir.path(), 0);
    let server = Server::start(&served, Some(&cfg));
    wait_for_generation(&server.addr, 1);
    publish(&served, &files_b, 2);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        health(&server.addr)["generation"],
        json!(1),
        "polling is off: nothing changes before SIGHUP"
    );
    let kill = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    wait_for_generation(&server.addr, 2);

    // Start-up on a truncated store: a clear error naming the file, no server.
    let broken = dir.path().join("broken");
    fs::create_dir(&broken).unwrap();
    let files = copy_into(&a, &broken, "x");
    let seg = broken.join(files["segments"][0]["file"].as_str().unwrap());
    let bytes = fs::read(&seg).unwrap();
    fs::write(&seg, &bytes[..bytes.len() - 100]).unwrap();
    publish(&broken, &files, 1);
    let out = flou(&[
        "serve",
        "--store",
        broken.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(seg.file_name().unwrap().to_str().unwrap()),
        "the error names the file: {err}"
    );
}
