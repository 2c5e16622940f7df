//! Taxonomy (a TAXREF extract): cd_nom → cd_ref, parents when the file has them, and the
//! taxonomic group (group2_inpn) for indicators.
#![forbid(unsafe_code)]

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: field {field}: {reason}")]
    Parse {
        file: String,
        line: u64,
        field: String,
        reason: String,
    },
}

#[derive(Debug, Default)]
pub struct Taxonomy {}

impl Taxonomy {
    /// No taxonomy: every cd_nom is its own cd_ref, no parents, no group.
    pub fn empty() -> Self {
        Taxonomy::default()
    }

    /// Reads a GeoNature `bib_noms.csv` (with `cor_nom_liste.csv` and `bib_listes.csv`
    /// beside it for groups) or a TAXREF table (CD_NOM, CD_REF, CD_SUP, GROUP2_INPN…).
    pub fn load(path: &Path) -> Result<Self, TaxonomyError> {
        let _ = path;
        unimplemented!("helper sensitivity")
    }

    /// The valid name of `cd_nom`, if the taxonomy knows it.
    pub fn cd_ref(&self, cd_nom: u32) -> Option<u32> {
        let _ = cd_nom;
        None
    }

    /// The ancestors of `cd_ref`, nearest first (empty when parents are unknown).
    pub fn ancestors(&self, cd_ref: u32) -> Vec<u32> {
        let _ = cd_ref;
        Vec::new()
    }

    /// The taxonomic group (group2_inpn) of `cd_ref`.
    pub fn group(&self, cd_ref: u32) -> Option<&str> {
        let _ = cd_ref;
        None
    }
}
