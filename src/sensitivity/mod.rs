//! The SINP sensitivity of an observation: the referential (`especesensible.csv` and its
//! lists) and the GINCO algorithm of DOMAIN.md, producing a [`SensitivityTimeline`].
#![forbid(unsafe_code)]

pub mod level;
pub mod timeline;

pub use level::{DiffusionNiveauPrecision, DsPublique, SensiNiveau};
pub use timeline::{SensitivityStep, SensitivityTimeline};

use crate::date::Day;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SensitivityError {
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

/// What the algorithm needs to know of one observation.
#[derive(Clone, Debug)]
pub struct SensitivityQuery<'a> {
    /// INSEE department code with its leading zero ("05", "2A", "974").
    pub departement: &'a str,
    /// The observation's cd_nom, its cd_ref and the ancestors of its cd_ref.
    pub taxa: &'a [u32],
    pub statut_biologique: Option<u8>,
    pub comportement: Option<u8>,
    pub date_fin: Day,
    /// `sensiNiveau` as given in the input, if any: the result is never lower.
    pub declared: Option<SensiNiveau>,
}

/// The parsed referential, indexed for the algorithm.
#[derive(Debug, Default)]
pub struct SensitivityReferential {}

impl SensitivityReferential {
    /// Reads the rules (`especesensible.csv`), the lists (`especesensiblelistes.csv`) and
    /// the department → pre-2016 region table (`departements_regions_2015.csv`).
    pub fn load(
        rules: &Path,
        lists: &Path,
        departement_regions: &Path,
    ) -> Result<Self, SensitivityError> {
        let _ = (rules, lists, departement_regions);
        unimplemented!("helper sensitivity")
    }

    /// The observation's sensitivity over time (DOMAIN.md algorithm, steps 1–6).
    pub fn timeline(&self, q: &SensitivityQuery<'_>) -> SensitivityTimeline {
        let _ = q;
        unimplemented!("helper sensitivity")
    }
}
