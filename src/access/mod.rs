//! Who may see what: the one place that decides, for a record and a caller, the area the
//! record is diffused at. Tiles, indicators and extracts read records only through it.
#![forbid(unsafe_code)]

pub mod diffusion;
pub mod index;
pub mod points;
pub mod rights;
pub mod token;
pub mod view;

pub use rights::{Caller, Grant};
