//! Geometry primitives, Lambert-93 (EPSG:2154), the INPN grids and Web Mercator tiles.
#![forbid(unsafe_code)]

pub mod geometry;
pub mod grid;
pub mod lambert93;
pub mod quantized;
pub mod webmercator;
pub mod world_shapes;

pub use geometry::{ring_contains, ring_signed_area, BBox, MultiPolygon, Polygon, Ring};
pub use grid::{Cell, GridSize};
pub use webmercator::TileId;
