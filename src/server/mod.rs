//! `flou serve`: vector tiles, TileJSON, styles and the viewer over HTTP (axum, tokio).
//!
//! Every tile is rendered for the caller's rights (public, or an agent's verified grants)
//! from the access view; the tile cache is keyed by those rights in full.
#![forbid(unsafe_code)]

pub mod assets;
pub mod cache;
pub mod config;
pub mod extracts_routes;
pub mod indicators_routes;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod request;
pub mod routes;

pub use config::ServeConfig;

use crate::access::diffusion::PublicPolicy;
use crate::access::index::DayIndex;
use crate::access::token::TokenVerifier;
use crate::access::view::{AccessContext, AccessView, CellPlacement, RecordFilter};
use crate::access::Caller;
use crate::admin::AdminAreas;
use crate::date::Day;
use crate::store::Store;
use crate::taxonomy::Taxonomy;
use crate::tiles::render::ZoomPlan;
use arc_swap::ArcSwap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminError),
    #[error(transparent)]
    Taxonomy(#[from] crate::taxonomy::TaxonomyError),
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
}

/// A store generation opened for serving, with what the access decision needs beside it.
/// Requests hold an `Arc<Loaded>` for their whole life: a hot reload swaps in a new one and
/// the old mapping is released when the last request holding it ends.
pub struct Loaded {
    pub store: Store,
    /// The store's areas, indexed for point location (cell → department placement).
    pub areas: AdminAreas,
    pub taxonomy: Taxonomy,
    pub cells: CellPlacement,
    taxonomy_path: Option<PathBuf>,
    /// This process's number for this generation (cache keys): unlike the manifest's
    /// generation it never repeats, even if the store directory is rebuilt from scratch.
    serial: u64,
    /// Today's index (public precision per record, selection lists, public tallies);
    /// rebuilt by the first request of a new day.
    day_index: Mutex<Option<Arc<DayIndex>>>,
}

impl Loaded {
    pub fn open(store: &Path, taxonomy: Option<&Path>) -> Result<Self, ServerError> {
        let store = Store::open(store)?;
        let areas = store.areas().to_admin_areas()?;
        let taxonomy_file = taxonomy;
        let taxonomy = match taxonomy_file {
            Some(p) => Taxonomy::load(p)?,
            None => Taxonomy::empty(),
        };
        Ok(Loaded {
            store,
            areas,
            taxonomy,
            cells: CellPlacement::default(),
            taxonomy_path: taxonomy_file.map(Path::to_path_buf),
            serial: 0,
            day_index: Mutex::new(None),
        })
    }

    /// The manifest's generation number (what `/health` and the logs show).
    pub fn generation(&self) -> u64 {
        self.store.manifest().generation
    }

    /// This process's serial for this generation: part of every cache key.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// The day index built so far, if any (never builds one: for the metrics).
    pub fn built_day_index(&self) -> Option<Arc<DayIndex>> {
        match self.day_index.lock() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The index for `day`, built on first use (requests of that day wait for it once).
    pub fn day_index(&self, day: Day, policy: PublicPolicy, plan: &ZoomPlan) -> Arc<DayIndex> {
        let mut slot = match self.day_index.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(i) = slot.as_ref().filter(|i| i.day == day) {
            return i.clone();
        }
        let index = Arc::new(build_day_index(self, day, policy, plan));
        *slot = Some(index.clone());
        index
    }
}

/// A computation that panicked or was cancelled (the answer is a plain 500).
#[derive(Debug)]
pub struct ComputeFailed;

/// What a reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The manifest names the generation already served.
    Unchanged { generation: u64 },
    /// A new generation is served; requests in flight finish on the old one.
    Swapped { from: u64, to: u64 },
}

pub struct AppState {
    current: ArcSwap<Loaded>,
    pub policy: PublicPolicy,
    pub plan: ZoomPlan,
    pub verifier: Option<TokenVerifier>,
    pub cache: cache::TileCache,
    /// `[extracts] released_groups`: groups whose sensitive data goes to F2.
    pub released_groups: std::collections::BTreeSet<String>,
    /// One reload at a time (watcher, SIGHUP); readers never wait on it.
    reloading: Mutex<()>,
    next_serial: AtomicU64,
    /// The last reload failure, until a reload succeeds (shown by /health without detail).
    last_reload_error: Mutex<Option<String>>,
    reload_poll: Option<std::time::Duration>,
    /// `/metrics`' counters and who may read them.
    pub metrics: metrics::Metrics,
    /// Permits for CPU-bound work ([`AppState::compute`]).
    compute_slots: Arc<tokio::sync::Semaphore>,
    /// Tile encoders kept between renders, at most one per compute slot. (Thread-locals kept
    /// one per blocking-pool thread — dozens — each holding the buffers of the largest tile
    /// it ever drew: 1.2 GB of anonymous memory at 10 M.)
    encoders: Mutex<Vec<crate::tiles::mvt::TileEncoder>>,
    render_threads: usize,
}

impl AppState {
    pub fn new(loaded: Loaded, config: &ServeConfig) -> Result<Self, ServerError> {
        let mut loaded = loaded;
        loaded.serial = 1;
        let state = AppState {
            current: ArcSwap::from_pointee(loaded),
            policy: config.policy()?,
            plan: config.plan(),
            verifier: config.verifier()?,
            cache: cache::TileCache::new(config.cache_bytes()),
            released_groups: config.extracts.released_groups.iter().cloned().collect(),
            reloading: Mutex::new(()),
            next_serial: AtomicU64::new(2),
            last_reload_error: Mutex::new(None),
            reload_poll: config.reload_poll(),
            metrics: metrics::Metrics::new(metrics::MetricsAccess::from_config(&config.metrics)?),
            compute_slots: Arc::new(tokio::sync::Semaphore::new(config.render_threads())),
            encoders: Mutex::new(Vec::new()),
            render_threads: config.render_threads(),
        };
        state
            .current()
            .day_index(Day::today(), state.policy, &state.plan);
        Ok(state)
    }

    /// Runs CPU-bound work (a render, an indicator, an extract) on the blocking pool, at most
    /// `[tiles] render_threads` at once: more would not finish sooner on these cores, only
    /// hold more buffers at once (a dense tile's are megabytes). The permit goes with the
    /// work, so a request that timed out still counts until its work ends.
    pub async fn compute<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ComputeFailed> {
        let permit = self
            .compute_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ComputeFailed)?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|_| ComputeFailed)
    }

    /// Runs `f` with a pooled tile encoder (its buffers are reused between tiles).
    pub fn with_encoder<T>(&self, f: impl FnOnce(&mut crate::tiles::mvt::TileEncoder) -> T) -> T {
        let pooled = match self.encoders.lock() {
            Ok(mut pool) => pool.pop(),
            Err(_) => None,
        };
        let mut encoder = pooled.unwrap_or_else(|| {
            crate::tiles::mvt::TileEncoder::new(
                crate::tiles::render::EXTENT,
                crate::tiles::render::BUFFER,
            )
        });
        let out = f(&mut encoder);
        if let Ok(mut pool) = self.encoders.lock() {
            if pool.len() < self.render_threads {
                pool.push(encoder);
            }
        }
        out
    }

    /// The generation served now. A request takes it once and uses it throughout, so that
    /// everything it reads (records, index, cache key) belongs to one generation.
    pub fn current(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// Today's index of the current generation.
    pub fn day_index(&self, loaded: &Loaded, day: Day) -> Arc<DayIndex> {
        loaded.day_index(day, self.policy, &self.plan)
    }

    /// Opens the store's current manifest and, if it names another generation, validates it
    /// whole (every file's checksum), builds today's index, then swaps it in. On any error
    /// the served generation stays. Blocking: call it off the async runtime.
    pub fn reload(&self) -> Result<ReloadOutcome, ServerError> {
        let _one_at_a_time = match self.reloading.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let old = self.current();
        let result = self.reload_from(&old);
        let mut last = match self.last_reload_error.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *last = result.as_ref().err().map(|e| e.to_string());
        match &result {
            Ok(ReloadOutcome::Swapped { .. }) => self.metrics.reload(true),
            Ok(ReloadOutcome::Unchanged { .. }) => {}
            Err(_) => self.metrics.reload(false),
        }
        result
    }

    fn reload_from(&self, old: &Loaded) -> Result<ReloadOutcome, ServerError> {
        let dir = old.store.dir();
        let manifest = crate::store::Manifest::read(dir)?;
        if manifest == *old.store.manifest() {
            return Ok(ReloadOutcome::Unchanged {
                generation: old.generation(),
            });
        }
        let mut fresh = Loaded::open(dir, old.taxonomy_path.as_deref())?;
        fresh.serial = self.next_serial.fetch_add(1, Ordering::Relaxed);
        fresh.day_index(Day::today(), self.policy, &self.plan);
        let (from, to, serial) = (old.generation(), fresh.generation(), fresh.serial);
        self.current.store(Arc::new(fresh));
        // Entries of other generations can never be asked for again: free them now.
        self.cache.retain_serial(serial);
        Ok(ReloadOutcome::Swapped { from, to })
    }

    /// The message of the last failed reload, if no reload succeeded since.
    pub fn last_reload_error(&self) -> Option<String> {
        match self.last_reload_error.lock() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// The day index of a loaded store, tallies included.
pub fn build_day_index(l: &Loaded, day: Day, policy: PublicPolicy, plan: &ZoomPlan) -> DayIndex {
    let mut index = DayIndex::build(&l.store, day, policy);
    let ctx = AccessContext::new(&l.store, &l.areas, &l.taxonomy, policy, &l.cells);
    let filter = RecordFilter::default();
    let view = AccessView {
        ctx: &ctx,
        caller: &Caller::Public,
        today: day,
        filter: &filter,
    };
    let mut sizes = vec![crate::geo::grid::GridSize::Km10];
    if plan.maille1_max > plan.maille10_max {
        sizes.push(crate::geo::grid::GridSize::Km1);
    }
    index.tallies = view.public_tallies(&sizes);
    let everything = Caller::Agent {
        sub: String::new(),
        grants: vec![crate::access::Grant {
            max_sensitivity: crate::access::diffusion::sensitivity_rank(
                crate::sensitivity::SensiNiveau::Hidden,
            ),
            ..Default::default()
        }],
    };
    let all_precise = AccessView {
        caller: &everything,
        ..view
    };
    index.tallies_all_precise = Some(all_precise.public_tallies(&sizes));
    index
}

/// The router, for tests and for [`serve`]. Each feature keeps its routes in its own module
/// (`fn routes() -> Router<Arc<AppState>>`), merged here.
pub fn router(state: Arc<AppState>) -> axum::Router {
    observed(feature_routes(), state)
}

/// Every feature's routes, without layers.
fn feature_routes() -> axum::Router<Arc<AppState>> {
    routes::routes()
        .merge(extracts_routes::routes())
        .merge(indicators_routes::routes())
        .route("/metrics", axum::routing::get(metrics::metrics))
}

/// `routes` under the outermost layer: every answer, including those of limit or timeout
/// layers already on `routes`, gets a request id, a log line and its metrics.
fn observed(routes: axum::Router<Arc<AppState>>, state: Arc<AppState>) -> axum::Router {
    routes
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            logging::observe,
        ))
        .with_state(state)
}

/// Serves until Ctrl-C / SIGTERM with the default [`limits::Limits`] (`flou serve` passes
/// the configured ones to [`limits::serve_with_limits`]). `on_bound` receives the bound
/// address (port 0 picks one).
pub async fn serve(
    state: AppState,
    bind: &str,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    limits::serve_with_limits(state, limits::Limits::default(), bind, on_bound).await
}

/// The manifest poller and the SIGHUP listener; both end with the runtime.
fn spawn_reloaders(state: &Arc<AppState>) {
    if let Some(every) = state.reload_poll {
        let s = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                reload_and_log(&s, "manifest changed").await;
            }
        });
    }
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut hup) = signal(SignalKind::hangup()) {
            let s = state.clone();
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    reload_and_log(&s, "SIGHUP").await;
                }
            });
        }
    }
}

async fn reload_and_log(state: &Arc<AppState>, why: &'static str) {
    let before = state.last_reload_error();
    let s = state.clone();
    let done = tokio::task::spawn_blocking(move || s.reload()).await;
    let served = state.current().generation();
    match done {
        Ok(Ok(ReloadOutcome::Swapped { from, to })) => {
            tracing::info!(target: "flou::reload", why, from, to, "reload: serving the new generation")
        }
        Ok(Ok(ReloadOutcome::Unchanged { .. })) => {}
        // Store errors name files of the store, never a record.
        // The poller meets a broken store again every tick: say it once.
        Ok(Err(e)) if before.as_deref() == Some(e.to_string().as_str()) => {}
        Ok(Err(e)) => tracing::error!(
            target: "flou::reload",
            why,
            error = %e,
            served,
            "reload refused: still serving the previous generation"
        ),
        Err(_) => tracing::error!(
            target: "flou::reload",
            why,
            served,
            "reload failed: still serving the previous generation"
        ),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
