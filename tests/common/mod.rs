//! Shared by the integration tests: the real binary, a real server on loopback, a minimal
//! HTTP/1.1 client, and tile decoding by an independent decoder (mvt-reader).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn data() -> PathBuf {
    root().join("data")
}

pub fn sample() -> PathBuf {
    data().join("occurrences/geonature-synthese-sample.csv")
}

pub fn flou(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flou"))
        .args(args)
        .env("FLOU_DATA", data())
        .output()
        .expect("run flou")
}

pub fn flou_ok(args: &[&str]) -> String {
    let out = flou(args);
    assert!(
        out.status.success(),
        "flou {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

pub fn ingest(csv: &Path, store: &Path) {
    flou_ok(&[
        "ingest",
        "--json",
        "--out",
        store.to_str().unwrap(),
        "--occurrences",
        csv.to_str().unwrap(),
    ]);
}

/// A `flou serve` process on a free loopback port, killed on drop.
pub struct Server {
    child: Child,
    pub addr: String,
}

impl Server {
    pub fn start(store: &Path, config: Option<&Path>) -> Server {
        Server::spawn(store, config, Stdio::inherit())
    }

    /// As [`Server::start`], the server's stderr (its log) going to `log`.
    pub fn start_with_log(store: &Path, config: Option<&Path>, log: &Path) -> Server {
        let file = std::fs::File::create(log).expect("create the log file");
        Server::spawn(store, config, Stdio::from(file))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn spawn(store: &Path, config: Option<&Path>, stderr: Stdio) -> Server {
        let mut args = vec![
            "serve",
            "--store",
            store.to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
        ];
        if let Some(c) = config {
            args.extend(["--config", c.to_str().unwrap()]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_flou"))
            .args(&args)
            .env("FLOU_DATA", data())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start flou serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            assert!(Instant::now() < deadline, "flou serve did not start");
            let line = lines
                .next()
                .expect("flou serve exited")
                .expect("read stdout");
            if let Some(rest) = line.split("on http://").nth(1) {
                break rest.trim_end_matches('/').to_string();
            }
        };
        Server { child, addr }
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        http_get(&self.addr, path, headers)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// GET with `Connection: close`; reads a Content-Length or chunked body.
pub fn http_get(addr: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + size]);
        b = &b[nl + 2 + size + 2..];
    }
}

/// A decoded feature: geometry type, integer geometry as text, and properties as text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Feature {
    pub geometry: String,
    pub properties: BTreeMap<String, String>,
}

/// Decodes a tile with mvt-reader (not flou's encoder): layer name → features.
pub fn decode(tile: &[u8]) -> BTreeMap<String, Vec<Feature>> {
    let mut out = BTreeMap::new();
    if tile.is_empty() {
        return out;
    }
    let reader = mvt_reader::Reader::new(tile.to_vec()).expect("mvt-reader accepts the tile");
    let names = reader.get_layer_names().expect("layer names");
    for (i, name) in names.into_iter().enumerate() {
        let features = reader
            .get_features_as::<i32>(i)
            .expect("mvt-reader decodes every feature")
            .into_iter()
            .map(|f| Feature {
                geometry: format!("{:?}", f.geometry),
                properties: f
                    .properties
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, format!("{v:?}")))
                    .collect(),
            })
            .collect();
        out.insert(name, features);
    }
    out
}

/// The value of a string property as mvt-reader prints it (`String("x")` → `x`).
pub fn prop_str(f: &Feature, key: &str) -> Option<String> {
    let v = f.properties.get(key)?;
    let inner = v.split_once('(')?.1.strip_suffix(')')?;
    Some(inner.trim_matches('"').to_string())
}

/// The value of an integer property.
pub fn prop_u64(f: &Feature, key: &str) -> Option<u64> {
    prop_str(f, key)?.parse().ok()
}

/// Signs an HS256 agent token (with jsonwebtoken, as a platform would).
pub fn hs256_token(secret: &str, grants: serde_json::Value, exp_in_secs: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims =
        serde_json::json!({ "sub": "agent-1", "exp": now + exp_in_secs, "grants": grants });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign token")
}

pub const SECRET: &str = "test-secret-of-at-least-32-bytes-0123456789";

/// A flou.toml with HS256 auth and the given public policy.
pub fn config(dir: &Path, min_precision: &str) -> PathBuf {
    let p = dir.join("flou.toml");
    std::fs::write(
        &p,
        format!("[public]\nmin_precision = \"{min_precision}\"\n\n[auth]\nalgorithm = \"HS256\"\nsecret = \"{SECRET}\"\n"),
    )
    .unwrap();
    p
}
pub mod browser;
pub mod moves;
pub mod oracle;
