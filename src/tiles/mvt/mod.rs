//! A Mapbox Vector Tile (spec v2.1) encoder: hand-written protobuf, integer clipping to
//! the buffered tile square, spec winding, per-layer key/value dictionaries.
//!
//! Written by hand because the published encoders produce tiles a strict reader
//! rejects or draws wrong (clamping instead of clipping, no rewinding, flooring
//! coordinates, zero-length segments; see the project's crate notes).
//!
//! ```
//! use flou::tiles::mvt::{PropValue, TileEncoder};
//!
//! let mut tile = TileEncoder::new(4096, 64);
//! let points = tile.layer("observations");
//! points.add_point(Some(42), [100.4, 2000.6], &[("cd_ref", PropValue::Int(61_153))]);
//! let areas = tile.layer("areas");
//! // A 10 km cell larger than the tile: clipped to [-64, 4160]².
//! let cell = vec![vec![[-5000.0, -5000.0], [9000.0, -5000.0], [9000.0, 9000.0], [-5000.0, 9000.0]]];
//! areas.add_polygon(Some(7), &[cell], &[("code", PropValue::Str("10kmL93E074N695"))]);
//! assert!(!tile.is_empty());
//! let bytes = tile.encode();
//! assert!(!bytes.is_empty());
//! ```
//!
//! Limits: points, multipoints and (multi)polygons only (no linestrings); a ring of
//! more than 2^29 − 1 vertices after cleaning is dropped; input coordinates beyond
//! ±2^61 tile units are clamped before clipping.

mod clip;
mod mvt_writer;
mod pbf;
#[cfg(test)]
mod tests;
mod whole_ring;

pub use mvt_writer::{LayerEncoder, PolygonFeature, PropValue, TileEncoder, MAX_EXTENT};
pub use whole_ring::{WholeRing, WholeRingEncoder};
