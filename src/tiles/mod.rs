//! Vector tiles: the Mapbox Vector Tile encoder the server uses to publish blurred
//! observations (precise points, commune / department / grid-cell polygons).

pub mod mvt;
pub mod render;
