//! flou: SINP biodiversity observations, blurred to the precision each caller may see.
//!
//! `ingest` turns occurrence files into an immutable, memory-mapped [`store`] in which
//! every observation carries its computed [`sensitivity`]; the server (later) reads it.
//! Only `store::mmap` needs `unsafe` (mapping a file); every other module forbids it.
#![deny(unsafe_code)]
// No unwrap, expect or panic outside tests (clippy.toml allows them there): a bad request,
// token or input file is an error answer, never a dead worker or a dead ingest.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod access;
pub mod admin;
pub mod date;
pub mod error;
pub mod extracts;
pub mod geo;
pub mod indicators;
pub mod ingest;
pub mod pmtiles_export;
pub mod report;
pub mod sensitivity;
// Request handlers: no index that could panic either.
#[deny(clippy::indexing_slicing)]
pub mod server;
pub mod store;
pub mod synth;
pub mod taxonomy;
pub mod tiles;

pub use error::{Error, Result};
