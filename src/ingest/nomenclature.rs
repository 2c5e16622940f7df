//! Valid SINP nomenclature codes for the optional coded fields.

/// `occStatutBiologique` (nomenclature STATUT_BIO).
pub fn is_statut_biologique(code: u8) -> bool {
    let _ = code;
    unimplemented!("helper ingest")
}

/// `occComportement` (nomenclature OCC_COMPORTEMENT).
pub fn is_comportement(code: u8) -> bool {
    let _ = code;
    unimplemented!("helper ingest")
}
