//! `flou export-pmtiles`: the public tile pyramid as one PMTiles v3 archive, for static
//! hosting (a CDN, a bucket) without a running server.
//!
//! Every tile is rendered by [`render::render`] for [`Caller::Public`] with the same
//! policy and zoom plan the server uses, so a tile of the archive is byte-identical to what
//! `/tiles/{z}/{x}/{y}.mvt` serves the public (before HTTP compression) — up to the order
//! of the layers, which in a served tile depends on the history of the server thread's
//! encoder; here it is fixed (aggregates, blurred, observations, boundaries). Tiles are stored
//! **gzip-compressed** (the PMTiles header says `tile_compression = gzip`, as readers
//! expect for MVT); a reader that decompresses gets the server's raw bytes. Empty tiles are
//! not stored (the PMTiles spec forbids zero-length entries): a missing tile is an empty one.
#![forbid(unsafe_code)]

use crate::access::diffusion::PublicPolicy;
use crate::access::view::{AccessContext, RecordFilter};
use crate::access::Caller;
use crate::date::Day;
use crate::geo::webmercator::tiles_covering;
use crate::geo::BBox;
use crate::server::Loaded;
use crate::tiles::mvt::TileEncoder;
use crate::tiles::render::{self, AggregateMode, TileRequest, ZoomPlan, BUFFER, EXTENT};
use pmtiles::{PmTilesWriter, TileCoord, TileId, TileType};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PmtilesError {
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{0}: writing the PMTiles archive: {1}")]
    Write(String, String),
    #[error("--maxzoom {0}: expected 0 to 16")]
    MaxZoom(u8),
}

/// What was written.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExportSummary {
    pub tiles_rendered: u64,
    pub tiles_stored: u64,
    pub bytes: u64,
    pub maxzoom: u8,
}

/// The extent of the store's areas (public geography), never of the observations.
pub fn areas_bbox(loaded: &Loaded) -> BBox {
    let a = loaded.store.areas();
    (0..a.departement_count()).fold(BBox::EMPTY, |b, d| b.union(&a.departement_bbox(d)))
}

/// The tiles of the pyramid over `bbox`, z0..=maxzoom, in PMTiles tile-id (Hilbert) order
/// so the archive is clustered.
pub fn pyramid(bbox: &BBox, maxzoom: u8) -> Vec<TileCoord> {
    let mut tiles: Vec<(u64, TileCoord)> = Vec::new();
    if bbox.is_empty() {
        return Vec::new();
    }
    for z in 0..=maxzoom {
        for t in tiles_covering(bbox, z) {
            if let Ok(c) = TileCoord::new(t.z(), t.x(), t.y()) {
                tiles.push((TileId::from(c).value(), c));
            }
        }
    }
    tiles.sort_by_key(|(id, _)| *id);
    tiles.dedup_by_key(|(id, _)| *id);
    tiles.into_iter().map(|(_, c)| c).collect()
}

/// Renders the public pyramid and writes it to `out` (through a temporary file renamed at
/// the end, so a failed export leaves no half archive).
pub fn export_public(
    loaded: &Loaded,
    policy: PublicPolicy,
    plan: &ZoomPlan,
    maxzoom: u8,
    today: Day,
    out: &Path,
) -> Result<ExportSummary, PmtilesError> {
    if maxzoom > 16 {
        return Err(PmtilesError::MaxZoom(maxzoom));
    }
    let name = out.display().to_string();
    let io = |e: std::io::Error| PmtilesError::Io(name.clone(), e);
    let wr = |e: pmtiles::PmtError| PmtilesError::Write(name.clone(), e.to_string());
    let bbox = areas_bbox(loaded);
    let tmp = out.with_extension("pmtiles.tmp");
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let mut writer = PmTilesWriter::new(TileType::Mvt)
        .min_zoom(0)
        .max_zoom(maxzoom);
    if !bbox.is_empty() {
        writer = writer
            .bounds(bbox.min[0], bbox.min[1], bbox.max[0], bbox.max[1])
            .center(
                (bbox.min[0] + bbox.max[0]) / 2.0,
                (bbox.min[1] + bbox.max[1]) / 2.0,
            )
            .center_zoom(maxzoom.min(7));
    }
    let metadata = serde_json::json!({
        "name": "flou (public)",
        "description": "SINP observations at the precision the public may see",
        "attribution": "Observations: SINP producers; areas: IGN ADMIN EXPRESS (Licence Ouverte)",
        "vector_layers": [
            {"id": "aggregates"}, {"id": "blurred"}, {"id": "observations"}, {"id": "boundaries"}
        ]
    });
    let mut stream = writer
        .metadata(metadata.to_string())
        .create(std::io::BufWriter::new(file))
        .map_err(wr)?;
    let ctx = AccessContext::new(
        &loaded.store,
        &loaded.areas,
        &loaded.taxonomy,
        policy,
        &loaded.cells,
    );
    let filter = RecordFilter::default();
    let caller = Caller::Public;
    // The encoder writes layers in the order they were first asked for over its life;
    // asking for all of them first makes that order the same for every tile.
    let mut enc = TileEncoder::new(EXTENT, BUFFER);
    for name in [
        render::LAYER_AGGREGATES,
        render::LAYER_BLURRED,
        render::LAYER_OBSERVATIONS,
        render::LAYER_BOUNDARIES,
    ] {
        enc.layer(name);
    }
    let (mut rendered, mut stored) = (0u64, 0u64);
    for coord in pyramid(&bbox, maxzoom) {
        let Some(tile) = crate::geo::webmercator::TileId::new(coord.z(), coord.x(), coord.y())
        else {
            continue;
        };
        let req = TileRequest {
            tile,
            caller: &caller,
            filter: &filter,
            today,
            aggregate: AggregateMode::Grid,
        };
        let raw = render::render(&ctx, &req, plan, &mut enc);
        rendered += 1;
        if !raw.is_empty() {
            stored += 1;
            stream.add_tile(coord, &raw).map_err(wr)?;
        }
    }
    stream.finalize().map_err(wr)?;
    std::fs::rename(&tmp, out).map_err(io)?;
    let bytes = std::fs::metadata(out).map_err(io)?.len();
    Ok(ExportSummary {
        tiles_rendered: rendered,
        tiles_stored: stored,
        bytes,
        maxzoom,
    })
}
