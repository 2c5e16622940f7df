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
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

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

/// A store opened for serving, with what the access decision needs beside it.
pub struct Loaded {
    pub store: Store,
    /// The store's areas, indexed for point location (cell → department placement).
    pub areas: AdminAreas,
    pub taxonomy: Taxonomy,
    pub cells: CellPlacement,
}

impl Loaded {
    pub fn open(store: &Path, taxonomy: Option<&Path>) -> Result<Self, ServerError> {
        let store = Store::open(store)?;
        let areas = store.areas().to_admin_areas()?;
        let taxonomy = match taxonomy {
            Some(p) => Taxonomy::load(p)?,
            None => Taxonomy::empty(),
        };
        Ok(Loaded {
            store,
            areas,
            taxonomy,
            cells: CellPlacement::default(),
        })
    }
}

pub struct AppState {
    pub loaded: Arc<Loaded>,
    pub policy: PublicPolicy,
    pub plan: ZoomPlan,
    pub verifier: Option<TokenVerifier>,
    pub cache: cache::TileCache,
    /// `[extracts] released_groups`: groups whose sensitive data goes to F2.
    pub released_groups: std::collections::BTreeSet<String>,
    /// Today's index (public precision per record, selection lists, public tallies);
    /// rebuilt by the first request of a new day.
    day_index: std::sync::Mutex<Option<Arc<DayIndex>>>,
}

impl AppState {
    pub fn new(loaded: Loaded, config: &ServeConfig) -> Result<Self, ServerError> {
        let state = AppState {
            loaded: Arc::new(loaded),
            policy: config.policy()?,
            plan: config.plan(),
            verifier: config.verifier()?,
            cache: cache::TileCache::new(config.cache_bytes()),
            released_groups: config.extracts.released_groups.iter().cloned().collect(),
            day_index: std::sync::Mutex::new(None),
        };
        state.day_index(Day::today());
        Ok(state)
    }

    /// The index for `day`, built on first use (requests of that day wait for it once).
    pub fn day_index(&self, day: Day) -> Arc<DayIndex> {
        let mut slot = match self.day_index.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(i) = slot.as_ref().filter(|i| i.day == day) {
            return i.clone();
        }
        let index = Arc::new(build_day_index(&self.loaded, day, self.policy, &self.plan));
        *slot = Some(index.clone());
        index
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
    index
}

/// The router, for tests and for [`serve`]. Each feature keeps its routes in its own module
/// (`fn routes() -> Router<Arc<AppState>>`), merged here.
pub fn router(state: Arc<AppState>) -> axum::Router {
    routes::routes()
        .merge(extracts_routes::routes())
        .merge(indicators_routes::routes())
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
