//! Hostile tokens over real HTTP: every forged, stale, misdirected or malformed token is a
//! 401 whose body and headers are byte-identical across cases and name no reason, on every
//! route, for an HS256 server and an RS256 server. The verifier's reasons themselves are
//! tested in src/access/token/tests.rs; here, what reaches the client.

mod common;

use base64::Engine as _;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;

const AUDIENCE: &str = "flou";
const ISSUER: &str = "https://sinp.example";

fn key(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures/keys").join(name)).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims of a token the servers below accept, with `patch` merged in.
fn claims(patch: Value) -> Value {
    let mut c = json!({
        "sub": "agent-1",
        "exp": now() + 3600,
        "aud": AUDIENCE,
        "iss": ISSUER,
        "grants": [{ "max_sensitivity": 4 }],
    });
    if let (Some(c), Some(p)) = (c.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            if v.is_null() {
                c.remove(k);
            } else {
                c.insert(k.clone(), v.clone());
            }
        }
    }
    c
}

fn sign(alg: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, key).unwrap()
}

fn hs(secret: &[u8], claims: &Value) -> String {
    sign(Algorithm::HS256, &EncodingKey::from_secret(secret), claims)
}

fn rs(private_pem: &str, claims: &Value) -> String {
    let k = EncodingKey::from_rsa_pem(key(private_pem).as_bytes()).unwrap();
    sign(Algorithm::RS256, &k, claims)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `alg: none` with the claims of a valid token and an empty signature.
fn alg_none(claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    )
}

fn serve(dir: &Path, auth: &str) -> Server {
    let store = dir.join("store");
    ingest(&sample(), &store);
    let cfg = dir.join("flou.toml");
    std::fs::write(
        &cfg,
        format!(
            "[public]\nmin_precision = \"commune\"\n\n[auth]\n{auth}\naudience = \"{AUDIENCE}\"\nissuer = \"{ISSUER}\"\n"
        ),
    )
    .unwrap();
    Server::start(&store, Some(&cfg))
}

/// Routes that read the caller; each must refuse a bad token the same way.
const ROUTES: [&str; 3] = [
    "/tiles/5/16/11.mvt",
    "/tiles/10/529/367.mvt?taxon=61153",
    "/indicators/richness?unit=departement",
];

/// Words that would tell an attacker which check failed. (The one fixed message, "invalid
/// or expired token", is the same for every case, so its "expired" tells nothing.)
const REASONS: [&str; 13] = [
    "signature",
    "audience",
    "aud",
    "issuer",
    "iss",
    "algorithm",
    "alg",
    "none",
    "large",
    "byte",
    "malformed",
    "claim",
    "nbf",
];

/// Sends every `(name, Authorization values)` case to every route; all must be 401 with
/// the same body and headers. Returns the one body seen.
fn assert_uniform_401(server: &Server, cases: &[(&str, Vec<String>)]) -> String {
    let mut seen = BTreeSet::new();
    for route in ROUTES {
        for (name, values) in cases {
            let headers: Vec<(&str, &str)> = values
                .iter()
                .map(|v| ("Authorization", v.as_str()))
                .collect();
            let r = server.get(route, &headers);
            assert_eq!(r.status, 401, "{name} on {route}: {}", r.text());
            let visible = (
                r.text(),
                r.header("www-authenticate").map(String::from),
                r.header("content-type").map(String::from),
                r.header("cache-control").map(String::from),
            );
            seen.insert(visible);
        }
    }
    assert_eq!(seen.len(), 1, "refusals differ: {seen:#?}");
    let (body, www, _, cache) = seen.into_iter().next().unwrap();
    assert_eq!(www.as_deref(), Some("Bearer error=\"invalid_token\""));
    assert_eq!(cache.as_deref(), Some("no-store"));
    let lower = body.to_lowercase().replace("invalid or expired token", "");
    for word in REASONS {
        assert!(!lower.contains(word), "the 401 body names {word:?}: {body}");
    }
    body
}

fn bearer(t: &str) -> Vec<String> {
    vec![format!("Bearer {t}")]
}

/// Cases that are bad whatever the server's key.
fn common_cases(valid: &str) -> Vec<(&'static str, Vec<String>)> {
    let (head, rest) = valid.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let mut flipped = signature.as_bytes().to_vec();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    vec![
        ("alg none", bearer(&alg_none(&claims(json!({}))))),
        ("garbage", bearer("x.y.z")),
        ("not base64", bearer("%%%.%%%.%%%")),
        ("non-ASCII bytes", bearer("é.é.é")),
        ("truncated: two parts", bearer(&format!("{head}.{payload}"))),
        ("truncated: half", bearer(&valid[..valid.len() / 2])),
        (
            "truncated: signature cut",
            bearer(&valid[..valid.len() - 3]),
        ),
        (
            "tampered signature",
            bearer(&format!("{head}.{payload}.{flipped}")),
        ),
        (
            "oversized header (100 kB)",
            bearer(&format!(
                "{}.{payload}.{signature}",
                b64(format!(r#"{{"alg":"HS256","pad":"{}"}}"#, "a".repeat(75_000)).as_bytes())
            )),
        ),
        ("empty bearer", vec!["Bearer ".into()]),
        ("other scheme", vec!["Basic dXNlcjpwYXNz".into()]),
        ("empty header", vec![String::new()]),
        ("token without scheme", vec![valid.to_string()]),
        (
            "duplicate: valid then garbage",
            vec![format!("Bearer {valid}"), "Bearer x.y.z".into()],
        ),
        (
            "duplicate: garbage then valid",
            vec!["Bearer x.y.z".into(), format!("Bearer {valid}")],
        ),
        (
            "duplicate: valid twice",
            vec![format!("Bearer {valid}"), format!("Bearer {valid}")],
        ),
    ]
}

/// Claims-level defects, signed by `signer` with the server's own key.
fn claim_cases(signer: impl Fn(&Value) -> String) -> Vec<(&'static str, Vec<String>)> {
    vec![
        (
            "expired",
            bearer(&signer(&claims(json!({"exp": now() - 3600})))),
        ),
        (
            "not yet valid",
            bearer(&signer(&claims(json!({"nbf": now() + 3600})))),
        ),
        (
            "wrong audience",
            bearer(&signer(&claims(json!({"aud": "another-service"})))),
        ),
        (
            "no audience",
            bearer(&signer(&claims(json!({"aud": null})))),
        ),
        (
            "wrong issuer",
            bearer(&signer(&claims(json!({"iss": "https://evil.example"})))),
        ),
        ("no issuer", bearer(&signer(&claims(json!({"iss": null}))))),
        ("no exp", bearer(&signer(&claims(json!({"exp": null}))))),
        (
            "no grants",
            bearer(&signer(&claims(json!({"grants": null})))),
        ),
        (
            "bad grant",
            bearer(&signer(&claims(
                json!({"grants": [{"max_sensitivity": 9}]}),
            ))),
        ),
    ]
}

#[test]
fn hs256_server_refuses_every_bad_token_identically() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(
        dir.path(),
        &format!("algorithm = \"HS256\"\nsecret = \"{SECRET}\""),
    );
    let valid = hs(SECRET.as_bytes(), &claims(json!({})));
    // The control: the same server accepts a good token on every route.
    for route in ROUTES {
        let r = server.get(route, &[("Authorization", &format!("Bearer {valid}"))]);
        assert_eq!(r.status, 200, "{route}: {}", r.text());
    }
    let rsa_signed = rs("rsa_a_private.pem", &claims(json!({})));
    let mut cases = common_cases(&valid);
    cases.extend(claim_cases(|c| hs(SECRET.as_bytes(), c)));
    cases.extend([
        (
            "wrong secret",
            bearer(&hs(
                b"another-secret-of-at-least-32-bytes-xxxxxx",
                &claims(json!({})),
            )),
        ),
        ("RS256 when HS256 is pinned", bearer(&rsa_signed)),
    ]);
    let body = assert_uniform_401(&server, &cases);
    assert_eq!(body, r#"{"error":"invalid or expired token"}"#);
}

#[test]
fn rs256_server_refuses_hs_rs_confusion_and_every_bad_token_identically() {
    let dir = tempfile::tempdir().unwrap();
    let public = root().join("tests/fixtures/keys/rsa_a_public.pem");
    let server = serve(
        dir.path(),
        &format!(
            "algorithm = \"RS256\"\npublic_key_file = \"{}\"",
            public.display()
        ),
    );
    let valid = rs("rsa_a_private.pem", &claims(json!({})));
    for route in ROUTES {
        let r = server.get(route, &[("Authorization", &format!("Bearer {valid}"))]);
        assert_eq!(r.status, 200, "{route}: {}", r.text());
    }
    let public_pem = key("rsa_a_public.pem");
    let mut cases = common_cases(&valid);
    cases.extend(claim_cases(|c| rs("rsa_a_private.pem", c)));
    cases.extend([
        // The classic confusion: HS256 keyed with the server's RSA public key (PEM text,
        // and its DER as some libraries use it).
        (
            "HS256 with the RSA public key PEM as secret",
            bearer(&hs(public_pem.as_bytes(), &claims(json!({})))),
        ),
        (
            "HS256 with the RSA public key DER as secret",
            bearer(&hs(&pem_der(&public_pem), &claims(json!({})))),
        ),
        (
            "RS256 with another key",
            bearer(&rs("rsa_b_private.pem", &claims(json!({})))),
        ),
    ]);
    let body = assert_uniform_401(&server, &cases);
    assert_eq!(body, r#"{"error":"invalid or expired token"}"#);
}

/// The DER bytes inside a PEM.
fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}
