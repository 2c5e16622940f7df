//! Bearer tokens. Modes (first byte): the input as an `Authorization` header, as a compact
//! JWT, or as the claims of a JWT correctly signed with the configured HS256 secret (so the
//! fuzzer reaches the claims and grants decoder). Unsigned input is never accepted; signed
//! claims give an agent with bounded grants, or an error; never a panic.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use flou::access::token::{TokenConfig, TokenVerifier, MAX_GRANTS};
use flou::access::Caller;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const SECRET: &[u8] = b"fuzz-secret-of-at-least-32-bytes-0123456789";

fn verifier() -> &'static TokenVerifier {
    static V: OnceLock<TokenVerifier> = OnceLock::new();
    V.get_or_init(|| {
        let config = TokenConfig::hs256(SECRET)
            .expect("secret")
            .with_audience("flou")
            .with_issuer("https://sinp.example");
        TokenVerifier::new(config).expect("verifier")
    })
}

fn signed(header: &[u8], claims: &[u8]) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET).expect("hmac key");
    mac.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let v = verifier();
    match mode % 4 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            assert!(
                v.caller_from_header(Some(&text)).is_err(),
                "unsigned header accepted"
            );
        }
        1 => {
            let text = String::from_utf8_lossy(rest);
            assert!(v.verify(&text).is_err(), "unsigned token accepted");
        }
        2 => {
            let token = signed(br#"{"alg":"HS256","typ":"JWT"}"#, rest);
            if let Ok(caller) = v.verify(&token) {
                match caller {
                    Caller::Agent { sub, grants } => {
                        assert!(!sub.trim().is_empty());
                        assert!(grants.len() <= MAX_GRANTS);
                        for g in &grants {
                            assert!(g.max_sensitivity <= 4);
                        }
                    }
                    Caller::Public => panic!("a verified token gave the public"),
                }
            }
        }
        _ => {
            // The fuzzer's header, signed: anything but {"alg":"HS256"} must be refused
            // whatever the claims.
            let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            let (header, claims) = rest.split_at(split);
            let _ = v.verify(&signed(header, claims.get(1..).unwrap_or(&[])));
        }
    }
});
