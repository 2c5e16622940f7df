//! Tokens are signed for real with jsonwebtoken's `encode` and with test-only keys from
//! `tests/fixtures/keys/` (see its README); three tokens there were signed by OpenSSL,
//! an independent implementation.

use super::*;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

const SECRET: &[u8] = b"flou-test-secret-0123456789abcdef-xyz";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hs_verifier() -> TokenVerifier {
    TokenVerifier::new(TokenConfig::hs256(SECRET).unwrap()).unwrap()
}

fn rs_verifier() -> TokenVerifier {
    TokenVerifier::new(TokenConfig::rs256_pem(fixture("rsa_a_public.pem")).unwrap()).unwrap()
}

fn ed_verifier() -> TokenVerifier {
    TokenVerifier::new(TokenConfig::eddsa_pem(fixture("ed_a_public.pem")).unwrap()).unwrap()
}

fn sign_hs(claims: &Value) -> String {
    sign_hs_with(claims, SECRET)
}

fn sign_hs_with(claims: &Value, secret: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn sign_rs(claims: &Value, private_pem: &str) -> String {
    let key = EncodingKey::from_rsa_pem(fixture(private_pem).as_bytes()).unwrap();
    encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
}

fn sign_ed(claims: &Value, private_pem: &str) -> String {
    let key = EncodingKey::from_ed_pem(fixture(private_pem).as_bytes()).unwrap();
    encode(&Header::new(Algorithm::EdDSA), claims, &key).unwrap()
}

/// An HS256 token over a payload written by hand (`json!` cannot write duplicate keys).
fn sign_raw_hs(payload: &str) -> String {
    let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let message = format!("{header}.{}", b64(payload.as_bytes()));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(SECRET),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{message}.{signature}")
}

/// A token from an arbitrary header and payload, signature as given (not signed).
fn hand_made(header: &Value, payload: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    )
}

fn claims_with(grants: Value) -> Value {
    json!({ "sub": "agent-42", "exp": now() + 600, "grants": grants })
}

fn full_grants() -> Value {
    json!([
        {
            "departements": ["34", "2A", "974"],
            "communes": ["34172", "2A004", "97411"],
            "taxa": [60015, 4001],
            "from": "2010-01-01",
            "to": "2024-12-31",
            "datasets": ["4d4e2c6b-1f0a-4a54-8a43-6c2f0f3c1a10"],
            "max_sensitivity": 4
        },
        { "max_sensitivity": 0 }
    ])
}

fn expected_full_grants() -> Vec<Grant> {
    vec![
        Grant {
            departements: Some(vec!["34".into(), "2A".into(), "974".into()]),
            communes: Some(vec!["34172".into(), "2A004".into(), "97411".into()]),
            taxa: Some(vec![60015, 4001]),
            from: Day::from_ymd(2010, 1, 1),
            to: Day::from_ymd(2024, 12, 31),
            datasets: Some(vec!["4d4e2c6b-1f0a-4a54-8a43-6c2f0f3c1a10".into()]),
            max_sensitivity: 4,
        },
        Grant {
            max_sensitivity: 0,
            ..Grant::default()
        },
    ]
}

/// Verifies, expects a refusal, and checks the refusal leaks neither the token nor any
/// of its parts into the log text.
fn refused(verifier: &TokenVerifier, token: &str) -> TokenError {
    let err = match verifier.verify(token) {
        Ok(caller) => panic!("token accepted as {caller:?}"),
        Err(e) => e,
    };
    assert_no_leak(&err, token);
    err
}

fn assert_no_leak(err: &TokenError, token: &str) {
    let shown = format!("{err} / {err:?}");
    if !token.is_empty() {
        assert!(!shown.contains(token), "{shown:?} contains the token");
    }
    for part in token.split('.').filter(|p| p.len() >= 8) {
        assert!(!shown.contains(part), "{shown:?} contains a token part");
    }
    assert_eq!(err.public_message(), "invalid or expired token");
}

fn bad_claims(verifier: &TokenVerifier, token: &str) -> String {
    match refused(verifier, token) {
        TokenError::BadClaims(reason) => reason,
        other => panic!("expected BadClaims, got {other:?}"),
    }
}

#[test]
fn valid_tokens_of_each_algorithm_give_the_agent_and_its_grants() {
    let claims = claims_with(full_grants());
    let expected = Caller::Agent {
        sub: "agent-42".into(),
        grants: expected_full_grants(),
    };
    assert_eq!(
        hs_verifier().verify(&sign_hs(&claims)),
        Ok(expected.clone())
    );
    assert_eq!(
        rs_verifier().verify(&sign_rs(&claims, "rsa_a_private.pem")),
        Ok(expected.clone())
    );
    assert_eq!(
        ed_verifier().verify(&sign_ed(&claims, "ed_a_private.pem")),
        Ok(expected)
    );
}

#[test]
fn tokens_signed_by_openssl_verify() {
    let expected = Caller::Agent {
        sub: "agent-openssl".into(),
        grants: vec![Grant {
            departements: Some(vec!["34".into(), "2A".into()]),
            taxa: Some(vec![60015]),
            from: Day::from_ymd(2000, 1, 1),
            to: Day::from_ymd(2024, 12, 31),
            max_sensitivity: 3,
            ..Grant::default()
        }],
    };
    let issuer = "https://auth.example.test";
    let cases = [
        (TokenConfig::hs256(SECRET), "openssl_hs256.jwt"),
        (
            TokenConfig::rs256_pem(fixture("rsa_a_public.pem")),
            "openssl_rs256.jwt",
        ),
        (
            TokenConfig::eddsa_pem(fixture("ed_a_public.pem")),
            "openssl_eddsa.jwt",
        ),
    ];
    for (config, file) in cases {
        let verifier = TokenVerifier::new(config.unwrap().with_issuer(issuer)).unwrap();
        let token = fixture(file);
        let token = token.trim();
        assert_eq!(verifier.verify(token), Ok(expected.clone()), "{file}");

        // The same header and signature over a payload raised to max_sensitivity 4.
        let parts: Vec<&str> = token.split('.').collect();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap();
        let raised = String::from_utf8(payload)
            .unwrap()
            .replace("\"max_sensitivity\":3", "\"max_sensitivity\":4");
        let forged = format!("{}.{}.{}", parts[0], b64(raised.as_bytes()), parts[2]);
        assert_eq!(
            refused(&verifier, &forged),
            TokenError::BadSignature,
            "{file}"
        );
    }
}

#[test]
fn alg_none_is_refused_by_every_verifier() {
    let payload = claims_with(full_grants());
    for verifier in [hs_verifier(), rs_verifier(), ed_verifier()] {
        let expected = verifier.algorithm().jwa_name();
        for header in [json!({"alg": "none"}), json!({"alg": "none", "typ": "JWT"})] {
            for signature in ["", "c2lnbmF0dXJl"] {
                let token = hand_made(&header, &payload, signature);
                assert_eq!(
                    refused(&verifier, &token),
                    TokenError::WrongAlgorithm {
                        expected,
                        found: "none"
                    }
                );
            }
        }
        for alg in ["None", "NONE", "nOnE", ""] {
            let token = hand_made(&json!({ "alg": alg }), &payload, "");
            assert_eq!(
                refused(&verifier, &token),
                TokenError::WrongAlgorithm {
                    expected,
                    found: "unrecognised"
                },
                "alg {alg:?}"
            );
        }
        // No alg at all, or not a string.
        let own = json!([expected]);
        for header in [
            json!({"typ": "JWT"}),
            json!({"alg": 256}),
            json!(["RS256"]),
            own,
        ] {
            let token = hand_made(&header, &payload, "c2ln");
            assert!(matches!(
                refused(&verifier, &token),
                TokenError::Malformed(_)
            ));
        }
    }
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let verifier = rs_verifier();
    let public_pem = fixture("rsa_a_public.pem");
    let token = sign_hs_with(&claims_with(full_grants()), public_pem.as_bytes());
    assert_eq!(
        refused(&verifier, &token),
        TokenError::WrongAlgorithm {
            expected: "RS256",
            found: "HS256"
        }
    );
    // Defence in depth: without our header check, the library refuses it too.
    let library = jsonwebtoken::decode::<Value>(&token, &verifier.key, &verifier.validation);
    assert!(library.is_err());
    // And the Ed25519 public key as an HMAC secret against the EdDSA verifier.
    let ed_pem = fixture("ed_a_public.pem");
    let token = sign_hs_with(&claims_with(full_grants()), ed_pem.as_bytes());
    assert_eq!(
        refused(&ed_verifier(), &token),
        TokenError::WrongAlgorithm {
            expected: "EdDSA",
            found: "HS256"
        }
    );
}

#[test]
fn other_algorithms_in_the_header_are_refused() {
    let claims = claims_with(full_grants());
    let rs_token = sign_rs(&claims, "rsa_a_private.pem");
    let ed_token = sign_ed(&claims, "ed_a_private.pem");
    let hs_token = sign_hs(&claims);
    assert_eq!(
        refused(&hs_verifier(), &rs_token),
        TokenError::WrongAlgorithm {
            expected: "HS256",
            found: "RS256"
        }
    );
    assert_eq!(
        refused(&rs_verifier(), &ed_token),
        TokenError::WrongAlgorithm {
            expected: "RS256",
            found: "EdDSA"
        }
    );
    assert_eq!(
        refused(&ed_verifier(), &hs_token),
        TokenError::WrongAlgorithm {
            expected: "EdDSA",
            found: "HS256"
        }
    );
}

#[test]
fn wrong_keys_and_tampered_signatures_are_bad_signatures() {
    let claims = claims_with(full_grants());
    let other_secret = b"another-secret-of-enough-length-0123456789";
    assert_eq!(
        refused(&hs_verifier(), &sign_hs_with(&claims, other_secret)),
        TokenError::BadSignature
    );
    assert_eq!(
        refused(&rs_verifier(), &sign_rs(&claims, "rsa_b_private.pem")),
        TokenError::BadSignature
    );
    assert_eq!(
        refused(&ed_verifier(), &sign_ed(&claims, "ed_b_private.pem")),
        TokenError::BadSignature
    );
    // A header naming another key changes nothing: there is one key.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa_b".into());
    let key = EncodingKey::from_rsa_pem(fixture("rsa_b_private.pem").as_bytes()).unwrap();
    let with_kid = encode(&header, &claims, &key).unwrap();
    assert_eq!(refused(&rs_verifier(), &with_kid), TokenError::BadSignature);

    for (verifier, token) in [
        (hs_verifier(), sign_hs(&claims)),
        (rs_verifier(), sign_rs(&claims, "rsa_a_private.pem")),
        (ed_verifier(), sign_ed(&claims, "ed_a_private.pem")),
    ] {
        // Flip one character in the middle of the signature.
        let (head, signature) = token.rsplit_once('.').unwrap();
        let mut sig: Vec<u8> = signature.bytes().collect();
        let mid = sig.len() / 2;
        sig[mid] = if sig[mid] == b'A' { b'B' } else { b'A' };
        let tampered = format!("{head}.{}", String::from_utf8(sig).unwrap());
        assert_eq!(refused(&verifier, &tampered), TokenError::BadSignature);
        // No signature at all.
        assert_eq!(
            refused(&verifier, &format!("{head}.")),
            TokenError::BadSignature
        );
    }
}

#[test]
fn expiry_is_checked_with_the_leeway() {
    let verifier = hs_verifier();
    let mut claims = claims_with(full_grants());
    claims["exp"] = json!(now() - 3600);
    assert_eq!(refused(&verifier, &sign_hs(&claims)), TokenError::Expired);
    claims["exp"] = json!(now() - 120);
    assert_eq!(refused(&verifier, &sign_hs(&claims)), TokenError::Expired);
    // 10 s past exp is inside the default 60 s leeway, outside a zero leeway.
    claims["exp"] = json!(now() - 10);
    assert!(verifier.verify(&sign_hs(&claims)).is_ok());
    let strict =
        TokenVerifier::new(TokenConfig::hs256(SECRET).unwrap().with_leeway_seconds(0)).unwrap();
    assert_eq!(refused(&strict, &sign_hs(&claims)), TokenError::Expired);
    // An expired token with broken grants is still reported as expired.
    let mut expired_bad = claims_with(json!([{ "max_sensitivity": 9 }]));
    expired_bad["exp"] = json!(now() - 3600);
    assert_eq!(
        refused(&verifier, &sign_hs(&expired_bad)),
        TokenError::Expired
    );
}

#[test]
fn nbf_in_the_future_is_not_yet_valid() {
    let verifier = hs_verifier();
    let mut claims = claims_with(full_grants());
    claims["nbf"] = json!(now() + 600);
    assert_eq!(
        refused(&verifier, &sign_hs(&claims)),
        TokenError::NotYetValid
    );
    claims["nbf"] = json!(now() + 10); // inside the leeway
    assert!(verifier.verify(&sign_hs(&claims)).is_ok());
    claims["nbf"] = json!(now() - 600);
    assert!(verifier.verify(&sign_hs(&claims)).is_ok());
    claims["nbf"] = json!("yesterday");
    assert!(matches!(
        refused(&verifier, &sign_hs(&claims)),
        TokenError::BadClaims(_)
    ));
}

#[test]
fn audience_is_required_and_checked_when_configured() {
    let verifier =
        TokenVerifier::new(TokenConfig::hs256(SECRET).unwrap().with_audience("flou")).unwrap();
    let mut claims = claims_with(full_grants());
    assert_eq!(
        refused(&verifier, &sign_hs(&claims)),
        TokenError::WrongAudience
    );
    claims["aud"] = json!("geonature");
    assert_eq!(
        refused(&verifier, &sign_hs(&claims)),
        TokenError::WrongAudience
    );
    claims["aud"] = json!(["geonature", "atlas"]);
    assert_eq!(
        refused(&verifier, &sign_hs(&claims)),
        TokenError::WrongAudience
    );
    claims["aud"] = json!("flou");
    assert!(verifier.verify(&sign_hs(&claims)).is_ok());
    claims["aud"] = json!(["geonature", "flou"]);
    assert!(verifier.verify(&sign_hs(&claims)).is_ok());
    // Not configured: a token addressed to someone is not for us.
    claims["aud"] = json!("geonature");
    assert_eq!(
        refused(&hs_verifier(), &sign_hs(&claims)),
        TokenError::WrongAudience
    );
}

#[test]
fn issuer_is_required_and_checked_when_configured() {
    let verifier = TokenVerifier::new(
        TokenConfig::hs256(SECRET)
            .unwrap()
            .with_issuer("https://auth.example.test"),
    )
    .unwrap();
    let mut claims = claims_with(full_grants());
    assert_eq!(
        refused(&verifier, &sign_hs(&claims)),
        TokenError::WrongIssuer
    );
    claims["iss"] = json!("https://evil.example.test");
    assert_eq!(
        refused(&verifier, &sign_hs(&claims)),
        TokenError::WrongIssuer
    );
    claims["iss"] = json!("https://auth.example.test");
    assert!(verifier.verify(&sign_hs(&claims)).is_ok());
    // Not configured: any issuer passes.
    claims["iss"] = json!("https://evil.example.test");
    assert!(hs_verifier().verify(&sign_hs(&claims)).is_ok());
}

#[test]
fn exp_and_sub_are_required() {
    let verifier = hs_verifier();
    let mut claims = claims_with(full_grants());
    claims.as_object_mut().unwrap().remove("exp");
    assert!(bad_claims(&verifier, &sign_hs(&claims)).contains("exp"));
    for exp in [json!("tomorrow"), json!(-5), json!(null)] {
        claims["exp"] = exp;
        assert!(bad_claims(&verifier, &sign_hs(&claims)).contains("exp"));
    }

    let mut claims = claims_with(full_grants());
    claims.as_object_mut().unwrap().remove("sub");
    assert!(bad_claims(&verifier, &sign_hs(&claims)).contains("sub"));
    for sub in [
        json!(""),
        json!("   "),
        json!(42),
        json!(null),
        json!("a\nb"),
    ] {
        claims["sub"] = sub.clone();
        assert!(
            bad_claims(&verifier, &sign_hs(&claims)).contains("sub"),
            "sub {sub}"
        );
    }
}

#[test]
fn grants_are_required_and_bounded() {
    let verifier = hs_verifier();
    let mut claims = claims_with(json!([]));
    assert_eq!(
        verifier.verify(&sign_hs(&claims)),
        Ok(Caller::Agent {
            sub: "agent-42".into(),
            grants: vec![]
        })
    );
    claims.as_object_mut().unwrap().remove("grants");
    assert!(bad_claims(&verifier, &sign_hs(&claims)).contains("grants is missing"));
    claims["grants"] = json!(null);
    assert!(bad_claims(&verifier, &sign_hs(&claims)).contains("grants is missing or null"));
    for not_a_list in [json!({"max_sensitivity": 0}), json!("all"), json!(3)] {
        claims["grants"] = not_a_list;
        assert!(bad_claims(&verifier, &sign_hs(&claims)).contains("not an array"));
    }

    let many: Vec<Value> = (0..=MAX_GRANTS)
        .map(|_| json!({"max_sensitivity": 0}))
        .collect();
    let reason = bad_claims(&verifier, &sign_hs(&claims_with(json!(many))));
    assert!(reason.contains("65 grants"), "{reason}");
    let just_enough: Vec<Value> = many[..MAX_GRANTS].to_vec();
    assert!(verifier
        .verify(&sign_hs(&claims_with(json!(just_enough))))
        .is_ok());

    // 10,001 list entries need a bigger token than the default 8 KiB.
    let big = TokenVerifier::new(
        TokenConfig::hs256(SECRET)
            .unwrap()
            .with_max_token_bytes(MAX_MAX_TOKEN_BYTES),
    )
    .unwrap();
    let taxa: Vec<u32> = (1..=5_000).collect();
    let over = json!([
        {"taxa": taxa, "max_sensitivity": 1},
        {"taxa": taxa, "departements": ["34"], "max_sensitivity": 1}
    ]);
    let reason = bad_claims(&big, &sign_hs(&claims_with(over)));
    assert!(reason.contains("10000 entries"), "{reason}");
    let at_limit = json!([
        {"taxa": taxa, "max_sensitivity": 1},
        {"taxa": taxa, "max_sensitivity": 1}
    ]);
    assert!(big.verify(&sign_hs(&claims_with(at_limit))).is_ok());
}

#[test]
fn grant_fields_are_validated_strictly() {
    let verifier = hs_verifier();
    let check = |grant: Value, needle: &str| {
        let reason = bad_claims(&verifier, &sign_hs(&claims_with(json!([grant.clone()]))));
        assert!(
            reason.contains(needle),
            "{grant}: {reason:?} lacks {needle:?}"
        );
    };
    for dept in [
        "20", "00", "96", "99", "2C", "2a", "3", "034", "970", "979", "980", " 34", "",
    ] {
        check(
            json!({"departements": ["34", dept], "max_sensitivity": 1}),
            "departements[1]",
        );
    }
    for commune in [
        "3417", "341722", "2C004", "00123", "20004", "97911", "9741A", "2a004", "34 72",
    ] {
        check(
            json!({"communes": [commune], "max_sensitivity": 1}),
            "communes[0]",
        );
    }
    check(json!({"taxa": [0], "max_sensitivity": 1}), "taxa[0]");
    check(json!({"taxa": [-3], "max_sensitivity": 1}), "grant 0");
    check(json!({"taxa": ["60015"], "max_sensitivity": 1}), "grant 0");
    check(
        json!({"datasets": [""], "max_sensitivity": 1}),
        "datasets[0]",
    );
    check(
        json!({"datasets": ["x".repeat(300)], "max_sensitivity": 1}),
        "datasets[0]",
    );
    check(
        json!({"from": "2024-01-02", "to": "2024-01-01", "max_sensitivity": 1}),
        "from 2024-01-02 is after to 2024-01-01",
    );
    for date in [
        "2024-13-01",
        "2024-02-30",
        "2024-1-01",
        "2024-01-01T00:00:00",
        "01/01/2024",
        "",
    ] {
        check(
            json!({"from": date, "max_sensitivity": 1}),
            "from is not a YYYY-MM-DD date",
        );
        check(
            json!({"to": date, "max_sensitivity": 1}),
            "to is not a YYYY-MM-DD date",
        );
    }
    check(
        json!({"max_sensitivity": 5}),
        "max_sensitivity 5 is not 0..=4",
    );
    check(json!({"max_sensitivity": 300}), "grant 0");
    check(json!({"max_sensitivity": -1}), "grant 0");
    check(json!({"max_sensitivity": "4"}), "grant 0");
    check(json!({"max_sensitivity": null}), "grant 0");
    check(json!({"departements": ["34"]}), "max_sensitivity");
    check(
        json!({"max_sensitivity": 1, "departments": ["34"]}),
        "unknown field",
    );
    check(
        json!({"max_sensitivity": 1, "scope": "all"}),
        "unknown field",
    );
    // An explicit null or an empty list must not widen a grant to "no restriction".
    for field in ["departements", "communes", "taxa", "datasets"] {
        check(json!({ field: null, "max_sensitivity": 1 }), "grant 0");
        check(json!({ field: [], "max_sensitivity": 1 }), "empty list");
    }
    check(json!({"from": null, "max_sensitivity": 1}), "grant 0");
    check(json!("max_sensitivity"), "grant 0: not a JSON object");
    check(
        json!([null, null, null, null, null, null, 4]),
        "grant 0: not a JSON object",
    );
    check(
        json!([["34"], ["34172"], [1], "2000-01-01", "2001-01-01", ["d"], 4]),
        "not a JSON object",
    );

    // The same day for from and to is a valid one-day window.
    let one_day = json!([{"from": "2024-06-01", "to": "2024-06-01", "max_sensitivity": 2}]);
    let Ok(Caller::Agent { grants, .. }) = verifier.verify(&sign_hs(&claims_with(one_day))) else {
        panic!("one-day grant refused")
    };
    assert_eq!(grants[0].from, Day::from_ymd(2024, 6, 1));
    assert_eq!(grants[0].from, grants[0].to);
}

#[test]
fn duplicated_keys_in_a_grant_are_refused() {
    // serde_json's `json!` cannot build duplicates: write the payload by hand.
    let payload = format!(
        r#"{{"sub":"a","exp":{},"grants":[{{"max_sensitivity":0,"max_sensitivity":4}}]}}"#,
        now() + 600
    );
    let token = sign_raw_hs(&payload);
    assert!(bad_claims(&hs_verifier(), &token).contains("duplicate field"));
}

#[test]
fn oversized_tokens_are_refused_before_decoding() {
    let verifier = hs_verifier();
    let datasets: Vec<String> = (0..400).map(|i| format!("dataset-{i:05}")).collect();
    let claims = claims_with(json!([{"datasets": datasets, "max_sensitivity": 0}]));
    let token = sign_hs(&claims);
    assert!(token.len() > DEFAULT_MAX_TOKEN_BYTES);
    assert_eq!(
        refused(&verifier, &token),
        TokenError::TooLarge {
            len: token.len(),
            max: DEFAULT_MAX_TOKEN_BYTES
        }
    );
    let garbage = "A".repeat(1 << 20);
    assert!(matches!(
        refused(&verifier, &garbage),
        TokenError::TooLarge { .. }
    ));
    let small = TokenVerifier::new(
        TokenConfig::hs256(SECRET)
            .unwrap()
            .with_max_token_bytes(MIN_MAX_TOKEN_BYTES),
    )
    .unwrap();
    let normal = sign_hs(&claims_with(full_grants()));
    assert!(normal.len() > MIN_MAX_TOKEN_BYTES);
    assert!(matches!(
        refused(&small, &normal),
        TokenError::TooLarge { .. }
    ));
}

#[test]
fn garbage_is_refused_never_public() {
    let verifier = hs_verifier();
    let valid = sign_hs(&claims_with(full_grants()));
    let (header, rest) = valid.split_once('.').unwrap();
    let mut pseudo_random = String::new();
    let mut x: u32 = 0x2545_F491;
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        pseudo_random.push(char::from_u32(x % 0x3000).unwrap_or('?'));
    }
    let tokens = [
        String::new(),
        "Bearer".into(),
        "Bearer a.b".into(),
        "a.b".into(),
        "a.b.c".into(),
        "..".into(),
        "...".into(),
        "a.b.c.d".into(),
        format!("{valid}.x"),
        format!(".{rest}"),
        format!("{header}..x"),
        format!("{valid} "),
        format!(" {valid}"),
        format!("{header}=.{rest}"),
        valid.replace('.', "+"),
        "é.é.é".into(),
        "eyJhbGciOiJIUzI1NiJ9.e30.".into(),
        "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln".into(),
        pseudo_random,
        "\0\0\0".into(),
    ];
    for token in &tokens {
        refused(&verifier, token);
        if token.trim() != token {
            continue; // the header parser trims spaces around the token
        }
        match verifier.caller_from_header(Some(&format!("Bearer {token}"))) {
            Ok(caller) => panic!("{token:?} accepted as {caller:?}"),
            Err(e) => assert_no_leak(&e, token),
        }
    }
    // Validly signed payloads that are not a JSON object of claims.
    let exp = now() + 600;
    for payload in [
        "[1,2,3]".to_string(),
        r#"["agent", [{"max_sensitivity": 4}]]"#.to_string(),
        format!(r#"[{exp}, 0, "agent", "iss", "aud"]"#),
        format!(r#"{{"sub":"a","sub":"b","exp":{exp},"grants":[]}}"#),
        format!(r#"{{"sub":"a","exp":{exp},"grants":[],"grants":[]}}"#),
        "not json".to_string(),
        String::new(),
    ] {
        let token = sign_raw_hs(&payload);
        assert!(
            matches!(refused(&verifier, &token), TokenError::Malformed(_)),
            "{payload}"
        );
    }
}

#[test]
fn crit_headers_are_refused() {
    let token = hand_made(
        &json!({"alg": "HS256", "crit": ["exp"]}),
        &claims_with(full_grants()),
        "c2ln",
    );
    assert!(matches!(
        refused(&hs_verifier(), &token),
        TokenError::Malformed(_)
    ));
}

#[test]
fn authorization_header_parsing() {
    let verifier = hs_verifier();
    let token = sign_hs(&claims_with(full_grants()));
    let agent = Caller::Agent {
        sub: "agent-42".into(),
        grants: expected_full_grants(),
    };
    assert_eq!(verifier.caller_from_header(None), Ok(Caller::Public));
    for header in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("BEARER  {token}"),
        format!("Bearer\t{token}"),
        format!(" Bearer {token} "),
    ] {
        assert_eq!(
            verifier.caller_from_header(Some(&header)),
            Ok(agent.clone()),
            "{header:?}"
        );
    }
    for header in [
        "Basic xyz",
        "Basic",
        "",
        "   ",
        "Token abc",
        "Bearer,abc",
        "Bearerabc",
    ] {
        assert_eq!(
            verifier.caller_from_header(Some(header)),
            Err(TokenError::NotBearer),
            "{header:?}"
        );
    }
    let basic = format!("Basic {token}");
    let err = verifier.caller_from_header(Some(&basic)).unwrap_err();
    assert_eq!(err, TokenError::NotBearer);
    assert_no_leak(&err, &token);
    for header in ["Bearer", "Bearer ", "bearer \t "] {
        assert!(matches!(
            verifier.caller_from_header(Some(header)),
            Err(TokenError::Malformed(_))
        ));
    }
    // Two tokens, or a token with a trailing parameter, are not one token.
    for header in [
        format!("Bearer {token} {token}"),
        format!("Bearer {token}, x"),
    ] {
        assert!(verifier.caller_from_header(Some(&header)).is_err());
    }
}

#[test]
fn every_error_shows_the_same_public_message() {
    let all = [
        TokenError::Malformed("x"),
        TokenError::BadSignature,
        TokenError::WrongAlgorithm {
            expected: "RS256",
            found: "HS256",
        },
        TokenError::Expired,
        TokenError::NotYetValid,
        TokenError::WrongAudience,
        TokenError::WrongIssuer,
        TokenError::TooLarge {
            len: 9000,
            max: 8192,
        },
        TokenError::BadClaims("grant 0: max_sensitivity 5 is not 0..=4".into()),
        TokenError::NotBearer,
    ];
    let mut kinds: Vec<&str> = all.iter().map(TokenError::kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds.len(), all.len(), "kinds must be distinct");
    for err in &all {
        assert_eq!(err.public_message(), "invalid or expired token");
        assert_eq!(err.www_authenticate(), "Bearer error=\"invalid_token\"");
        // The detailed text differs from the public one: it is for logs only.
        assert_ne!(err.to_string(), err.public_message());
    }
}

#[test]
fn configuration_is_checked_at_start_up() {
    assert_eq!(
        TokenConfig::hs256(b"short").unwrap_err(),
        TokenConfigError::SecretTooShort { len: 5 }
    );
    assert!(matches!(
        TokenConfig::rs256_pem(fixture("ed_a_public.pem")),
        Err(TokenConfigError::BadKey {
            algorithm: TokenAlgorithm::Rs256,
            ..
        })
    ));
    assert!(matches!(
        TokenConfig::eddsa_pem(fixture("rsa_a_public.pem")),
        Err(TokenConfigError::BadKey {
            algorithm: TokenAlgorithm::EdDsa,
            ..
        })
    ));
    assert_eq!(
        TokenConfig::rs256_pem(fixture("rsa_1024_public.pem")).unwrap_err(),
        TokenConfigError::RsaKeyTooSmall { bits: 1024 }
    );
    for garbage in [
        &b""[..],
        b"not a pem",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    ] {
        assert!(TokenConfig::rs256_pem(garbage).is_err());
        assert!(TokenConfig::eddsa_pem(garbage).is_err());
    }
    // A private key is not a verification key here.
    assert!(TokenConfig::eddsa_pem(fixture("ed_a_private.pem")).is_err());

    let leeway = TokenConfig::hs256(SECRET)
        .unwrap()
        .with_leeway_seconds(MAX_LEEWAY_SECONDS + 1);
    assert_eq!(
        TokenVerifier::new(leeway).unwrap_err(),
        TokenConfigError::LeewayTooLarge {
            seconds: MAX_LEEWAY_SECONDS + 1
        }
    );
    for bytes in [0, MIN_MAX_TOKEN_BYTES - 1, MAX_MAX_TOKEN_BYTES + 1] {
        let config = TokenConfig::hs256(SECRET)
            .unwrap()
            .with_max_token_bytes(bytes);
        assert!(TokenVerifier::new(config).is_err());
    }
    assert!(TokenVerifier::new(TokenConfig::hs256(SECRET).unwrap().with_audience("")).is_err());
    assert!(TokenVerifier::new(TokenConfig::hs256(SECRET).unwrap().with_issuer("")).is_err());

    assert_eq!(
        TokenAlgorithm::from_jwa_name("eddsa"),
        Some(TokenAlgorithm::EdDsa)
    );
    assert_eq!(TokenAlgorithm::from_jwa_name("none"), None);
    let config = TokenConfig::new(TokenAlgorithm::Rs256, fixture("rsa_a_public.pem")).unwrap();
    assert_eq!(config.algorithm(), TokenAlgorithm::Rs256);
    assert_eq!(config.leeway_seconds, 60);
    assert_eq!(config.max_token_bytes, 8 * 1024);

    // The secret never shows in Debug output.
    let secret_text = std::str::from_utf8(SECRET).unwrap();
    let config = TokenConfig::hs256(SECRET).unwrap();
    assert!(!format!("{config:?}").contains(secret_text));
    assert!(!format!("{:?}", TokenVerifier::new(config).unwrap()).contains(secret_text));
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_passes(text in ".{0,300}") {
        let verifier = hs_verifier();
        proptest::prop_assert!(verifier.verify(&text).is_err());
        proptest::prop_assert!(verifier.caller_from_header(Some(&text)).is_err());
    }

    #[test]
    fn arbitrary_base64url_parts_never_pass(
        header in "[A-Za-z0-9_-]{0,60}",
        payload in "[A-Za-z0-9_-]{0,120}",
        signature in "[A-Za-z0-9_-]{0,90}",
    ) {
        let token = format!("{header}.{payload}.{signature}");
        for verifier in [hs_verifier(), ed_verifier()] {
            let result = verifier.verify(&token);
            proptest::prop_assert!(result.is_err());
        }
    }
}
