//! `flou.toml`: where the store is, the public policy, the token key, the tile plan.
//!
//! ```toml
//! bind = "127.0.0.1:8080"
//! store = "flou-store"
//! taxonomy = "data/taxonomy/bib_noms.csv"   # for taxon filters with descendants
//!
//! [public]
//! min_precision = "commune"   # precise | 1km | 2km | commune | 5km | 10km | 20km | 50km | departement
//!
//! [auth]                       # absent: no agent access (every token is refused)
//! algorithm = "HS256"          # HS256 | RS256 | EdDSA, pinned
//! secret_file = "secret.key"   # HS256 (≥ 32 bytes)
//! # public_key_file = "key.pem" # RS256 / EdDSA
//! audience = "flou"
//! issuer = "https://sinp.example"
//!
//! [extracts]
//! released_groups = ["Oiseaux"]   # F2 without review; other groups go to F3
//!
//! [reload]
//! poll_ms = 2000              # look for a new store generation this often; 0: SIGHUP only
//!
//! [metrics]
//! enabled = true              # GET /metrics (Prometheus)
//! allow = ["127.0.0.1/32", "::1/128"]   # peers allowed without a token (the default)
//! # token = "a-long-random-scrape-token"  # Authorization: Bearer … from anywhere
//!
//! [log]
//! level = "info"              # RUST_LOG wins when set
//! format = "json"             # json | text
//!
//! [tiles]
//! cache_mb = 256
//! departement_max_zoom = 6
//! maille10_max_zoom = 9
//! # maille1_max_zoom = 11     # dense stores: 1 km aggregates instead of points up to z11
//!
//! [limits]                     # every key optional; defaults in super::limits::Limits
//! max_body_bytes = 1048576
//! header_timeout_seconds = 10
//! request_timeout_seconds = 60
//! ```

use super::ServerError;
use crate::access::diffusion::{Precision, PublicPolicy};
use crate::access::token::{TokenAlgorithm, TokenConfig, TokenVerifier};
use crate::tiles::render::ZoomPlan;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    pub bind: Option<String>,
    pub store: Option<PathBuf>,
    pub taxonomy: Option<PathBuf>,
    #[serde(default)]
    pub public: PublicSection,
    pub auth: Option<AuthSection>,
    #[serde(default)]
    pub tiles: TilesSection,
    #[serde(default)]
    pub extracts: ExtractsSection,
    /// Request, connection and time bounds (see [`super::limits::Limits`]).
    #[serde(default)]
    pub limits: super::limits::LimitsSection,
    #[serde(default)]
    pub reload: ReloadSection,
    #[serde(default)]
    pub metrics: MetricsSection,
    #[serde(default)]
    pub log: LogSection,
}

/// `GET /metrics` (Prometheus). Enabled by default for loopback peers only; a request that
/// came through a proxy (X-Forwarded-For, X-Real-IP, Forwarded) needs the token.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// false: `/metrics` answers 404 to everyone.
    pub enabled: Option<bool>,
    /// Peers allowed without a token, as networks; default `["127.0.0.1/32", "::1/128"]`.
    pub allow: Option<Vec<String>>,
    /// A bearer token (≥ 16 characters) that opens `/metrics` from any peer.
    pub token: Option<String>,
}

/// Logs: one line per request and the reload events, to stderr.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// error | warn | info | debug | trace, or a `RUST_LOG`-style list of targets
    /// (`RUST_LOG` wins when set). Default `info`.
    pub level: Option<String>,
    /// `json` (default: one JSON object per line) or `text`.
    pub format: Option<String>,
}

/// Hot reload: the served store is replaced when its manifest names a new generation
/// (checked every `poll_ms`), or at once on SIGHUP.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReloadSection {
    /// How often to look at the manifest, in milliseconds; 0 turns polling off (SIGHUP
    /// still reloads). Default 2000.
    pub poll_ms: Option<u64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractsSection {
    /// Taxonomic groups (group2_inpn) whose sensitive data an authorised agent receives in
    /// F2, without the taxon-group leads' review (SINP Occitanie procedure).
    #[serde(default)]
    pub released_groups: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicSection {
    pub min_precision: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    pub algorithm: String,
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub public_key_file: Option<PathBuf>,
    pub audience: Option<String>,
    pub issuer: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TilesSection {
    pub cache_mb: Option<u64>,
    pub departement_max_zoom: Option<u8>,
    pub maille10_max_zoom: Option<u8>,
    /// 1 km aggregates instead of points up to this zoom (dense stores); default: none.
    pub maille1_max_zoom: Option<u8>,
    /// Renders, indicators and extracts computed at once; default: the number of cores.
    pub render_threads: Option<usize>,
    /// Below `points_max_zoom`, tiles with more precise points than this draw point groups;
    /// default 4096.
    pub group_points_above: Option<u32>,
    /// From this zoom every precise point is drawn on its own; default 16, at most 21 (groups
    /// are cells of quantized positions, resolved up to z20).
    pub points_max_zoom: Option<u8>,
}

impl ServeConfig {
    pub fn read(path: &Path) -> Result<Self, ServerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
    }

    pub fn policy(&self) -> Result<PublicPolicy, ServerError> {
        match &self.public.min_precision {
            None => Ok(PublicPolicy::default()),
            Some(s) => Precision::parse(s).map(|p| PublicPolicy { min_precision: p }).ok_or_else(|| {
                ServerError::Config(format!(
                    "public.min_precision {s:?}: expected precise, 1km, 2km, commune, 5km, 10km, 20km, 50km or departement"
                ))
            }),
        }
    }

    pub fn plan(&self) -> ZoomPlan {
        let d = ZoomPlan::default();
        ZoomPlan {
            departement_max: self.tiles.departement_max_zoom.unwrap_or(d.departement_max),
            maille10_max: self.tiles.maille10_max_zoom.unwrap_or(d.maille10_max),
            maille1_max: self
                .tiles
                .maille1_max_zoom
                .unwrap_or(d.maille1_max)
                .max(self.tiles.maille10_max_zoom.unwrap_or(d.maille10_max)),
            communes_from: d.communes_from,
            group_points_above: self
                .tiles
                .group_points_above
                .unwrap_or(d.group_points_above),
            points_max_zoom: self
                .tiles
                .points_max_zoom
                .unwrap_or(d.points_max_zoom)
                .clamp(1, crate::geo::quantized::QUANTIZED_MAX_ZOOM + 1),
        }
    }

    /// None: no polling.
    pub fn reload_poll(&self) -> Option<std::time::Duration> {
        match self.reload.poll_ms.unwrap_or(2000) {
            0 => None,
            ms => Some(std::time::Duration::from_millis(ms)),
        }
    }

    /// CPU-bound computations at once (at least 1).
    pub fn render_threads(&self) -> usize {
        self.tiles
            .render_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1)
    }

    pub fn cache_bytes(&self) -> u64 {
        self.tiles.cache_mb.unwrap_or(256) * 1024 * 1024
    }

    /// The token verifier, when agent access is configured.
    pub fn verifier(&self) -> Result<Option<TokenVerifier>, ServerError> {
        let Some(a) = &self.auth else { return Ok(None) };
        let cfg_err = |e: &dyn std::fmt::Display| ServerError::Config(format!("auth: {e}"));
        let read = |p: &PathBuf| {
            std::fs::read(p).map_err(|e| ServerError::Config(format!("auth: {}: {e}", p.display())))
        };
        let algorithm = TokenAlgorithm::from_jwa_name(&a.algorithm).ok_or_else(|| {
            ServerError::Config(format!(
                "auth.algorithm {:?}: expected HS256, RS256 or EdDSA",
                a.algorithm
            ))
        })?;
        let mut config = match algorithm {
            TokenAlgorithm::Hs256 => {
                let secret = match (&a.secret, &a.secret_file) {
                    (Some(s), None) => s.as_bytes().to_vec(),
                    (None, Some(p)) => read(p)?,
                    _ => {
                        return Err(ServerError::Config(
                            "auth: HS256 needs exactly one of secret, secret_file".into(),
                        ))
                    }
                };
                TokenConfig::hs256(secret).map_err(|e| cfg_err(&e))?
            }
            TokenAlgorithm::Rs256 | TokenAlgorithm::EdDsa => {
                let p = a.public_key_file.as_ref().ok_or_else(|| {
                    ServerError::Config(format!("auth: {} needs public_key_file", a.algorithm))
                })?;
                let pem = read(p)?;
                if algorithm == TokenAlgorithm::Rs256 {
                    TokenConfig::rs256_pem(pem).map_err(|e| cfg_err(&e))?
                } else {
                    TokenConfig::eddsa_pem(pem).map_err(|e| cfg_err(&e))?
                }
            }
        };
        if let Some(aud) = &a.audience {
            config = config.with_audience(aud.clone());
        }
        if let Some(iss) = &a.issuer {
            config = config.with_issuer(iss.clone());
        }
        TokenVerifier::new(config)
            .map(Some)
            .map_err(|e| cfg_err(&e))
    }
}
