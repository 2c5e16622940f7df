//! Bearer tokens (JWT) → [`Caller`].
//!
//! No `Authorization` header means [`Caller::Public`]. A header that is present but not a
//! valid, unexpired token signed with the configured key is an error (the server answers
//! 401), never a silent downgrade to public: a caller who believes they see everything
//! must not be shown the blurred map without knowing it.
//!
//! The algorithm is pinned by the configuration, not read from the token: a header naming
//! another algorithm (`none`, or HS256 against an RSA key) is refused before any
//! cryptography. Key-selecting headers (`kid`, `jku`, `jwk`, `x5u`, `x5c`) are ignored:
//! there is exactly one key.
#![forbid(unsafe_code)]
// Every byte here comes from a request: no index that could panic (with the crate-wide
// unwrap/expect/panic denial of lib.rs).
#![deny(clippy::indexing_slicing)]

use std::fmt;

use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::rights::{Caller, Grant};
use crate::date::Day;

/// Default clock skew tolerated on `exp` and `nbf`.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 60;
/// Largest accepted leeway: more would make `exp` meaningless.
pub const MAX_LEEWAY_SECONDS: u64 = 3600;
/// Default bound on the token length (bytes), checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Bounds accepted for [`TokenConfig::max_token_bytes`].
pub const MIN_MAX_TOKEN_BYTES: usize = 256;
pub const MAX_MAX_TOKEN_BYTES: usize = 64 * 1024;
/// At most this many grants in one token.
pub const MAX_GRANTS: usize = 64;
/// At most this many list entries (departements + communes + taxa + datasets) over all
/// grants of one token.
pub const MAX_GRANT_ENTRIES: usize = 10_000;
/// Shortest HS256 secret: RFC 7518 §3.2 wants a key at least as long as the hash (256 bits).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;
/// Smallest RSA modulus accepted for RS256.
pub const MIN_RSA_BITS: usize = 2048;
/// Longest `sub` and dataset identifier (bytes).
const MAX_IDENTIFIER_BYTES: usize = 256;

/// The one text the server returns for every refused token.
const PUBLIC_MESSAGE: &str = "invalid or expired token";
/// `WWW-Authenticate` value for every refused token (RFC 6750 §3).
const WWW_AUTHENTICATE: &str = "Bearer error=\"invalid_token\"";

/// JWA algorithms a [`TokenConfig`] can pin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenAlgorithm {
    /// HMAC SHA-256 with a shared secret.
    Hs256,
    /// RSASSA-PKCS1-v1_5 SHA-256 with an RSA public key.
    Rs256,
    /// Ed25519 with an Ed25519 public key.
    EdDsa,
}

impl TokenAlgorithm {
    /// The `alg` header value (RFC 7518 §3.1, RFC 8037 §3.1).
    pub fn jwa_name(self) -> &'static str {
        match self {
            TokenAlgorithm::Hs256 => "HS256",
            TokenAlgorithm::Rs256 => "RS256",
            TokenAlgorithm::EdDsa => "EdDSA",
        }
    }

    /// Reads a JWA name as written in a configuration ("HS256", "RS256", "EdDSA";
    /// case-insensitive here because an operator types it, unlike the token header).
    pub fn from_jwa_name(name: &str) -> Option<TokenAlgorithm> {
        [
            TokenAlgorithm::Hs256,
            TokenAlgorithm::Rs256,
            TokenAlgorithm::EdDsa,
        ]
        .into_iter()
        .find(|a| a.jwa_name().eq_ignore_ascii_case(name.trim()))
    }

    fn jwt_algorithm(self) -> Algorithm {
        match self {
            TokenAlgorithm::Hs256 => Algorithm::HS256,
            TokenAlgorithm::Rs256 => Algorithm::RS256,
            TokenAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for TokenAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jwa_name())
    }
}

/// A configuration that cannot verify anything safely; raised at start-up, never per request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenConfigError {
    #[error("HS256 secret of {len} bytes is too short (at least {MIN_HMAC_SECRET_BYTES} bytes)")]
    SecretTooShort { len: usize },
    #[error("{algorithm} key: not a usable public key PEM ({reason})")]
    BadKey {
        algorithm: TokenAlgorithm,
        reason: &'static str,
    },
    #[error("RS256 key of {bits} bits is too small (at least {MIN_RSA_BITS} bits)")]
    RsaKeyTooSmall { bits: usize },
    #[error("leeway of {seconds} s is too large (at most {MAX_LEEWAY_SECONDS} s)")]
    LeewayTooLarge { seconds: u64 },
    #[error(
        "max_token_bytes {value} is out of range ({MIN_MAX_TOKEN_BYTES}..={MAX_MAX_TOKEN_BYTES})"
    )]
    MaxTokenBytesOutOfRange { value: usize },
    #[error("{field} is configured but empty")]
    EmptyExpectation { field: &'static str },
}

/// Why a token was refused. [`TokenError::public_message`] is what a client may see; the
/// detailed `Display` is for logs and never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("token signature does not verify with the configured key")]
    BadSignature,
    #[error("token algorithm {found} refused: the server accepts only {expected}")]
    WrongAlgorithm {
        expected: &'static str,
        /// The header's `alg` if it is a registered JWA name, else "unrecognised"
        /// (no attacker-chosen text reaches the logs).
        found: &'static str,
    },
    #[error("token expired (exp is past, beyond the leeway)")]
    Expired,
    #[error("token not yet valid (nbf is in the future, beyond the leeway)")]
    NotYetValid,
    #[error("token audience (aud) missing or not the configured one")]
    WrongAudience,
    #[error("token issuer (iss) missing or not the configured one")]
    WrongIssuer,
    #[error("token of {len} bytes is longer than the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("bad token claims: {0}")]
    BadClaims(String),
    #[error("Authorization header does not use the Bearer scheme")]
    NotBearer,
}

impl TokenError {
    /// The text returned to the client: the same for every variant, so a refusal tells an
    /// attacker nothing about which check failed.
    pub fn public_message(&self) -> &'static str {
        PUBLIC_MESSAGE
    }

    /// The `WWW-Authenticate` header value to send with the 401: the same for every variant.
    pub fn www_authenticate(&self) -> &'static str {
        WWW_AUTHENTICATE
    }

    /// A short stable name for metrics labels and structured logs.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenError::Malformed(_) => "malformed",
            TokenError::BadSignature => "bad_signature",
            TokenError::WrongAlgorithm { .. } => "wrong_algorithm",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::WrongAudience => "wrong_audience",
            TokenError::WrongIssuer => "wrong_issuer",
            TokenError::TooLarge { .. } => "too_large",
            TokenError::BadClaims(_) => "bad_claims",
            TokenError::NotBearer => "not_bearer",
        }
    }
}

/// How tokens are verified. The key is parsed and checked by the constructors, so a
/// `TokenConfig` always holds a usable key for its algorithm.
#[derive(Clone)]
pub struct TokenConfig {
    algorithm: TokenAlgorithm,
    key: DecodingKey,
    /// When set, `aud` is required and must contain this value. When unset, a token that
    /// carries an `aud` is refused (RFC 7519 §4.1.3: a recipient not named must reject).
    pub audience: Option<String>,
    /// When set, `iss` is required and must equal this value.
    pub issuer: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`, at most [`MAX_LEEWAY_SECONDS`].
    pub leeway_seconds: u64,
    /// Longer tokens are refused before decoding.
    pub max_token_bytes: usize,
}

impl fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenConfig")
            .field("algorithm", &self.algorithm)
            .field("key", &"[redacted]")
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .field("leeway_seconds", &self.leeway_seconds)
            .field("max_token_bytes", &self.max_token_bytes)
            .finish()
    }
}

impl TokenConfig {
    fn with_key(algorithm: TokenAlgorithm, key: DecodingKey) -> TokenConfig {
        TokenConfig {
            algorithm,
            key,
            audience: None,
            issuer: None,
            leeway_seconds: DEFAULT_LEEWAY_SECONDS,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }

    /// HS256 with a shared secret of at least [`MIN_HMAC_SECRET_BYTES`] bytes.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<TokenConfig, TokenConfigError> {
        let secret = secret.as_ref();
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(TokenConfigError::SecretTooShort { len: secret.len() });
        }
        Ok(Self::with_key(
            TokenAlgorithm::Hs256,
            DecodingKey::from_secret(secret),
        ))
    }

    /// RS256 with an RSA public key PEM ("PUBLIC KEY" or "RSA PUBLIC KEY"), 2048–4096 bits.
    pub fn rs256_pem(pem: impl AsRef<[u8]>) -> Result<TokenConfig, TokenConfigError> {
        use rsa::pkcs1::DecodeRsaPublicKey;
        use rsa::traits::PublicKeyParts;
        let bad = |reason| TokenConfigError::BadKey {
            algorithm: TokenAlgorithm::Rs256,
            reason,
        };
        let key = DecodingKey::from_rsa_pem(pem.as_ref())
            .map_err(|_| bad("not an RSA public key PEM"))?;
        // jsonwebtoken re-parses the DER at each verification and would only then fail
        // (every token refused as a bad signature): check it once here instead.
        let parsed = rsa::RsaPublicKey::from_pkcs1_der(key.as_bytes())
            .map_err(|_| bad("RSA key does not parse (or is over 4096 bits)"))?;
        let bits = parsed.n().bits();
        if bits < MIN_RSA_BITS {
            return Err(TokenConfigError::RsaKeyTooSmall { bits });
        }
        Ok(Self::with_key(TokenAlgorithm::Rs256, key))
    }

    /// EdDSA with an Ed25519 public key PEM ("PUBLIC KEY").
    pub fn eddsa_pem(pem: impl AsRef<[u8]>) -> Result<TokenConfig, TokenConfigError> {
        let bad = |reason| TokenConfigError::BadKey {
            algorithm: TokenAlgorithm::EdDsa,
            reason,
        };
        let key = DecodingKey::from_ed_pem(pem.as_ref())
            .map_err(|_| bad("not an Ed25519 public key PEM"))?;
        // jsonwebtoken slices the first 32 bytes at each verification and panics on a
        // shorter key: check the length and the point once here.
        let bytes: &[u8; 32] = key
            .as_bytes()
            .try_into()
            .map_err(|_| bad("Ed25519 key is not 32 bytes"))?;
        let point = ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map_err(|_| bad("Ed25519 key is not a curve point"))?;
        if point.is_weak() {
            return Err(bad("Ed25519 key has small order"));
        }
        Ok(Self::with_key(TokenAlgorithm::EdDsa, key))
    }

    /// Dispatches on `algorithm`: `key` is the HS256 secret or the public key PEM.
    pub fn new(
        algorithm: TokenAlgorithm,
        key: impl AsRef<[u8]>,
    ) -> Result<TokenConfig, TokenConfigError> {
        match algorithm {
            TokenAlgorithm::Hs256 => Self::hs256(key),
            TokenAlgorithm::Rs256 => Self::rs256_pem(key),
            TokenAlgorithm::EdDsa => Self::eddsa_pem(key),
        }
    }

    pub fn algorithm(&self) -> TokenAlgorithm {
        self.algorithm
    }

    pub fn with_audience(mut self, audience: impl Into<String>) -> TokenConfig {
        self.audience = Some(audience.into());
        self
    }

    pub fn with_issuer(mut self, issuer: impl Into<String>) -> TokenConfig {
        self.issuer = Some(issuer.into());
        self
    }

    pub fn with_leeway_seconds(mut self, seconds: u64) -> TokenConfig {
        self.leeway_seconds = seconds;
        self
    }

    pub fn with_max_token_bytes(mut self, bytes: usize) -> TokenConfig {
        self.max_token_bytes = bytes;
        self
    }
}

/// Verifies bearer tokens against one [`TokenConfig`]; cheap to share between requests.
#[derive(Clone)]
pub struct TokenVerifier {
    algorithm: TokenAlgorithm,
    key: DecodingKey,
    validation: Validation,
    max_token_bytes: usize,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("algorithm", &self.algorithm)
            .field("audience", &self.validation.aud)
            .field("issuer", &self.validation.iss)
            .field("leeway_seconds", &self.validation.leeway)
            .field("max_token_bytes", &self.max_token_bytes)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// Checks the configurable bounds (the key was checked by the `TokenConfig` constructor).
    pub fn new(config: TokenConfig) -> Result<TokenVerifier, TokenConfigError> {
        if config.leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(TokenConfigError::LeewayTooLarge {
                seconds: config.leeway_seconds,
            });
        }
        if !(MIN_MAX_TOKEN_BYTES..=MAX_MAX_TOKEN_BYTES).contains(&config.max_token_bytes) {
            return Err(TokenConfigError::MaxTokenBytesOutOfRange {
                value: config.max_token_bytes,
            });
        }
        let mut validation = Validation::new(config.algorithm.jwt_algorithm());
        validation.leeway = config.leeway_seconds;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        let mut required = vec!["exp", "sub"];
        if let Some(aud) = &config.audience {
            if aud.is_empty() {
                return Err(TokenConfigError::EmptyExpectation { field: "audience" });
            }
            validation.set_audience(&[aud]);
            required.push("aud");
        }
        if let Some(iss) = &config.issuer {
            if iss.is_empty() {
                return Err(TokenConfigError::EmptyExpectation { field: "issuer" });
            }
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        Ok(TokenVerifier {
            algorithm: config.algorithm,
            key: config.key,
            validation,
            max_token_bytes: config.max_token_bytes,
        })
    }

    pub fn algorithm(&self) -> TokenAlgorithm {
        self.algorithm
    }

    /// Reads an `Authorization` header value: none → [`Caller::Public`];
    /// `Bearer <token>` (scheme case-insensitive, RFC 7235 §2.1) → [`Self::verify`];
    /// anything else, including an empty header, → an error.
    pub fn caller_from_header(&self, header: Option<&str>) -> Result<Caller, TokenError> {
        let Some(value) = header else {
            return Ok(Caller::Public);
        };
        let value = value.trim_matches(|c| c == ' ' || c == '\t');
        let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(TokenError::NotBearer);
        }
        let token = rest.trim_start_matches([' ', '\t']);
        if token.is_empty() {
            return Err(TokenError::Malformed("Bearer scheme without a token"));
        }
        self.verify(token)
    }

    /// Verifies one compact JWT (the text after `Bearer `) and returns the agent it names.
    pub fn verify(&self, bearer: &str) -> Result<Caller, TokenError> {
        let token = bearer.as_bytes();
        if token.len() > self.max_token_bytes {
            return Err(TokenError::TooLarge {
                len: token.len(),
                max: self.max_token_bytes,
            });
        }
        let header_segment = split_compact(token)?;
        self.check_header(header_segment)?;

        let data = jsonwebtoken::decode::<RawClaims>(token, &self.key, &self.validation)
            .map_err(|e| self.map_library_error(e.kind()))?;
        agent_from_claims(data.claims)
    }

    /// Refuses before any cryptography a header whose `alg` is not the pinned one, and any
    /// `crit` extension (RFC 7515 §4.1.11: none is understood here).
    fn check_header(&self, segment: &[u8]) -> Result<(), TokenError> {
        let expected = self.algorithm.jwa_name();
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(segment)
            .map_err(|_| TokenError::Malformed("header is not base64url"))?;
        // serde would also read a struct from a JSON array: `["RS256"]` is not a header.
        if json.trim_ascii_start().first() != Some(&b'{') {
            return Err(TokenError::Malformed("header is not a JSON object"));
        }
        let header: HeaderProbe = serde_json::from_slice(&json)
            .map_err(|_| TokenError::Malformed("header is not a JSON object with a string alg"))?;
        let Some(alg) = header.alg else {
            return Err(TokenError::Malformed("header has no alg"));
        };
        if alg != expected {
            return Err(TokenError::WrongAlgorithm {
                expected,
                found: registered_alg_name(&alg),
            });
        }
        if header.crit.is_some() {
            return Err(TokenError::Malformed("header has crit extensions"));
        }
        Ok(())
    }

    fn map_library_error(&self, kind: &JwtErrorKind) -> TokenError {
        match kind {
            JwtErrorKind::InvalidSignature => TokenError::BadSignature,
            JwtErrorKind::ExpiredSignature => TokenError::Expired,
            JwtErrorKind::ImmatureSignature => TokenError::NotYetValid,
            JwtErrorKind::InvalidAudience => TokenError::WrongAudience,
            JwtErrorKind::InvalidIssuer => TokenError::WrongIssuer,
            JwtErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
                "aud" => TokenError::WrongAudience,
                "iss" => TokenError::WrongIssuer,
                "exp" => TokenError::BadClaims("exp is missing".into()),
                "sub" => TokenError::BadClaims("sub is missing or not a string".into()),
                _ => TokenError::BadClaims("a required claim is missing".into()),
            },
            JwtErrorKind::InvalidClaimFormat(claim) => match claim.as_str() {
                "exp" => TokenError::BadClaims("exp is not a non-negative number".into()),
                "nbf" => TokenError::BadClaims("nbf is not a non-negative number".into()),
                _ => TokenError::BadClaims("a claim has an invalid format".into()),
            },
            JwtErrorKind::InvalidAlgorithm
            | JwtErrorKind::InvalidAlgorithmName
            | JwtErrorKind::MissingAlgorithm => TokenError::WrongAlgorithm {
                expected: self.algorithm.jwa_name(),
                found: "unrecognised",
            },
            JwtErrorKind::InvalidToken
            | JwtErrorKind::Base64(_)
            | JwtErrorKind::Utf8(_)
            | JwtErrorKind::Json(_) => TokenError::Malformed("not a JWT (base64url JSON parts)"),
            // Key problems are caught by the TokenConfig constructors; fail closed anyway.
            _ => TokenError::BadSignature,
        }
    }
}

/// Checks the compact serialisation's shape — three non-empty base64url segments — and
/// returns the header segment. Rejects garbage before any allocation.
fn split_compact(token: &[u8]) -> Result<&[u8], TokenError> {
    if token.is_empty() {
        return Err(TokenError::Malformed("empty token"));
    }
    if !token
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(TokenError::Malformed(
            "token has characters outside base64url",
        ));
    }
    let mut parts = token.split(|&b| b == b'.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(_signature), None)
            if !header.is_empty() && !payload.is_empty() =>
        {
            // An empty signature is left to the header check, so `alg: none` tokens are
            // reported as the algorithm attack they are; the library refuses it anyway.
            Ok(header)
        }
        _ => Err(TokenError::Malformed(
            "token is not three dot-separated parts",
        )),
    }
}

/// Maps a header `alg` to a fixed string, so logs never carry attacker-chosen text.
fn registered_alg_name(alg: &str) -> &'static str {
    const REGISTERED: [&str; 16] = [
        "none", "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512", "ES256K", "EdDSA", "Ed25519",
    ];
    REGISTERED
        .into_iter()
        .find(|r| *r == alg)
        .unwrap_or("unrecognised")
}

#[derive(Deserialize)]
struct HeaderProbe {
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

/// The claims as decoded with the signature. Kept raw so a grant error never masks an
/// expiry (the library checks times after this decoding); validated by
/// [`agent_from_claims`]. Raw JSON rather than `Value` so a duplicated key inside a grant
/// is refused by the struct decoder instead of silently keeping the last one.
/// Decoded only from a JSON object: serde's derive would also read a struct from an array.
struct RawClaims {
    sub: Option<serde_json::Value>,
    grants: Option<Box<RawValue>>,
}

impl<'de> Deserialize<'de> for RawClaims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectOnly;
        impl<'de> serde::de::Visitor<'de> for ObjectOnly {
            type Value = RawClaims;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawClaims, A::Error> {
                use serde::de::Error as _;
                let mut claims = RawClaims {
                    sub: None,
                    grants: None,
                };
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match &*key {
                        "sub" if claims.sub.is_some() => {
                            return Err(A::Error::duplicate_field("sub"))
                        }
                        "sub" => claims.sub = Some(map.next_value()?),
                        "grants" if claims.grants.is_some() => {
                            return Err(A::Error::duplicate_field("grants"))
                        }
                        "grants" => claims.grants = Some(map.next_value()?),
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                // `"grants": null` reads as absent, like a missing field.
                claims.grants = claims.grants.filter(|raw| raw.get() != "null");
                Ok(claims)
            }
        }
        d.deserialize_map(ObjectOnly)
    }
}

/// One grant as written in the token. Every filter is optional, but an explicit `null`
/// or an empty list is refused: an issuer bug must not turn "nothing" into "everything".
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantClaim {
    #[serde(default, deserialize_with = "present")]
    departements: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    communes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    taxa: Option<Vec<u32>>,
    #[serde(default, deserialize_with = "present")]
    from: Option<String>,
    #[serde(default, deserialize_with = "present")]
    to: Option<String>,
    #[serde(default, deserialize_with = "present")]
    datasets: Option<Vec<String>>,
    max_sensitivity: u8,
}

/// A field that, when present, must hold a value (not `null`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn agent_from_claims(claims: RawClaims) -> Result<Caller, TokenError> {
    let sub = match claims.sub {
        Some(serde_json::Value::String(s)) => s,
        _ => {
            return Err(TokenError::BadClaims(
                "sub is missing or not a string".into(),
            ))
        }
    };
    if sub.trim().is_empty() {
        return Err(TokenError::BadClaims("sub is empty".into()));
    }
    if !is_clean_identifier(&sub) {
        return Err(TokenError::BadClaims(format!(
            "sub is longer than {MAX_IDENTIFIER_BYTES} bytes or has control characters"
        )));
    }
    let Some(raw_grants) = claims.grants else {
        return Err(TokenError::BadClaims("grants is missing or null".into()));
    };
    let raw_grants: Vec<&RawValue> = serde_json::from_str(raw_grants.get())
        .map_err(|_| TokenError::BadClaims("grants is not an array".into()))?;
    if raw_grants.len() > MAX_GRANTS {
        return Err(TokenError::BadClaims(format!(
            "{} grants (at most {MAX_GRANTS})",
            raw_grants.len()
        )));
    }
    let mut entries = 0usize;
    let mut grants = Vec::with_capacity(raw_grants.len());
    for (index, raw) in raw_grants.into_iter().enumerate() {
        // serde's derive would also read a grant from a positional array.
        if !raw.get().trim_start().starts_with('{') {
            return Err(TokenError::BadClaims(format!(
                "grant {index}: not a JSON object"
            )));
        }
        let claim: GrantClaim = serde_json::from_str(raw.get()).map_err(|e| {
            TokenError::BadClaims(format!("grant {index}: {}", sanitize(&e.to_string())))
        })?;
        let grant = grant_from_claim(claim)
            .map_err(|reason| TokenError::BadClaims(format!("grant {index}: {reason}")))?;
        entries += grant_entries(&grant);
        if entries > MAX_GRANT_ENTRIES {
            return Err(TokenError::BadClaims(format!(
                "grants list more than {MAX_GRANT_ENTRIES} entries in total"
            )));
        }
        grants.push(grant);
    }
    Ok(Caller::Agent { sub, grants })
}

fn grant_entries(grant: &Grant) -> usize {
    grant.departements.as_ref().map_or(0, Vec::len)
        + grant.communes.as_ref().map_or(0, Vec::len)
        + grant.taxa.as_ref().map_or(0, Vec::len)
        + grant.datasets.as_ref().map_or(0, Vec::len)
}

/// Validates one grant; the error names the field and position, not the value.
fn grant_from_claim(claim: GrantClaim) -> Result<Grant, String> {
    if claim.max_sensitivity > 4 {
        return Err(format!(
            "max_sensitivity {} is not 0..=4",
            claim.max_sensitivity
        ));
    }
    check_list("departements", &claim.departements, |c| {
        is_departement_code(c)
    })?;
    check_list("communes", &claim.communes, |c| is_commune_code(c))?;
    check_list("taxa", &claim.taxa, |&t| t > 0)?;
    check_list("datasets", &claim.datasets, |d| {
        !d.trim().is_empty() && is_clean_identifier(d)
    })?;
    let from = claim
        .from
        .as_deref()
        .map(|s| parse_day("from", s))
        .transpose()?;
    let to = claim
        .to
        .as_deref()
        .map(|s| parse_day("to", s))
        .transpose()?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(format!("from {from} is after to {to}"));
        }
    }
    Ok(Grant {
        departements: claim.departements,
        communes: claim.communes,
        taxa: claim.taxa,
        from,
        to,
        datasets: claim.datasets,
        max_sensitivity: claim.max_sensitivity,
    })
}

fn check_list<T>(
    field: &str,
    list: &Option<Vec<T>>,
    valid: impl Fn(&T) -> bool,
) -> Result<(), String> {
    let Some(list) = list else { return Ok(()) };
    if list.is_empty() {
        return Err(format!(
            "{field} is an empty list (leave the field out for no restriction)"
        ));
    }
    match list.iter().position(|item| !valid(item)) {
        Some(i) => Err(format!("{field}[{i}] is not valid")),
        None => Ok(()),
    }
}

/// Exactly `YYYY-MM-DD`: a grant bound is a day, not a timestamp.
fn parse_day(field: &str, text: &str) -> Result<Day, String> {
    if text.len() != 10 {
        return Err(format!("{field} is not a YYYY-MM-DD date"));
    }
    Day::parse(text).map_err(|_| format!("{field} is not a YYYY-MM-DD date"))
}

/// INSEE department code in its canonical form: "01"–"95" except "20" (Corsica is
/// "2A"/"2B" since 1976), "2A", "2B", and overseas "971"–"978".
fn is_departement_code(code: &str) -> bool {
    match *code.as_bytes() {
        [b'2', b'A' | b'B'] => true,
        [x, y] if x.is_ascii_digit() && y.is_ascii_digit() => {
            let n = (x - b'0') * 10 + (y - b'0');
            (1..=95).contains(&n) && n != 20
        }
        [b'9', b'7', z] => (b'1'..=b'8').contains(&z),
        _ => false,
    }
}

/// INSEE commune code: a two-character department prefix and three digits ("34172",
/// "2A004"), or an overseas "97x" prefix and two digits ("97411").
fn is_commune_code(code: &str) -> bool {
    let [d0, d1, rest @ ..] = code.as_bytes() else {
        return false;
    };
    if rest.len() != 3 || !rest.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if [*d0, *d1] == *b"97" {
        return rest.first().is_some_and(|d| (b'1'..=b'8').contains(d));
    }
    code.get(..2).is_some_and(is_departement_code)
}

fn is_clean_identifier(s: &str) -> bool {
    s.len() <= MAX_IDENTIFIER_BYTES && !s.chars().any(char::is_control)
}

/// serde messages may quote claim text: escape it and bound its length for the logs.
fn sanitize(message: &str) -> String {
    const MAX_CHARS: usize = 160;
    let escaped: String = message.escape_debug().take(MAX_CHARS).collect();
    if message.escape_debug().nth(MAX_CHARS).is_some() {
        format!("{escaped}…")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests;
