//! One observation as validated at ingest (SINP standard field names in comments).

use crate::date::Day;
use crate::sensitivity::{DsPublique, SensiNiveau};

#[derive(Clone, Debug, PartialEq)]
pub struct Occurrence {
    /// `idSINPOccTax`
    pub id: String,
    /// `cdNom`
    pub cd_nom: u32,
    /// `cdRef`, when given by the file.
    pub cd_ref: Option<u32>,
    /// `nomCite`
    pub nom_cite: String,
    /// `dateDebut`
    pub date_debut: Day,
    /// `dateFin` (defaults to `dateDebut`, never before it).
    pub date_fin: Day,
    /// `occStatutBiologique` nomenclature code.
    pub statut_biologique: Option<u8>,
    /// `occComportement` nomenclature code.
    pub comportement: Option<u8>,
    /// `dSPublique` (NSP when absent).
    pub ds_publique: DsPublique,
    /// `diffusionNiveauPrecision` 0–5.
    pub diffusion_niveau_precision: Option<u8>,
    /// `sensiNiveau` as declared by the file (the higher of it and the computed one applies).
    pub sensi_niveau: Option<SensiNiveau>,
    /// `idSINPJdd`
    pub dataset: String,
    /// WGS84 longitude, latitude (degrees).
    pub lon: f64,
    pub lat: f64,
    /// Where the row came from, for rejects found after parsing (no commune, duplicate id).
    pub origin: Origin,
    /// The row deletes observation `id` (change status D): only `id` and `origin` are set.
    pub deleted: bool,
}

impl Occurrence {
    /// A deletion of observation `id`.
    pub fn deletion(id: String, origin: Origin) -> Self {
        Occurrence {
            id,
            cd_nom: 0,
            cd_ref: None,
            nom_cite: String::new(),
            date_debut: Day(0),
            date_fin: Day(0),
            statut_biologique: None,
            comportement: None,
            ds_publique: DsPublique::Nsp,
            diffusion_niveau_precision: None,
            sensi_niveau: None,
            dataset: String::new(),
            lon: 0.0,
            lat: 0.0,
            origin,
            deleted: true,
        }
    }
}

/// File index (in the ingest's file list) and 1-based line (CSV) or feature number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Origin {
    pub file: u32,
    pub line: u64,
}

/// A row that could not be ingested, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    pub file: String,
    /// 1-based line of the CSV (the header is line 1), or 1-based feature number.
    pub line: u64,
    /// The SINP field at fault (`cdNom`, `dateFin`…), or `row` for the row as a whole.
    pub field: String,
    pub reason: String,
}
