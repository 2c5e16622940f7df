//! Valid SINP nomenclature codes for the optional coded fields.
//!
//! Codes and labels as published by the SINP (standards-sinp.mnhn.fr) and shipped by
//! GeoNature's nomenclature module (`ref_nomenclatures`, types STATUT_BIO and
//! OCC_COMPORTEMENT). Files carry the `cd_nomenclature`, never GeoNature's internal ids.

/// Highest `occStatutBiologique` code (STATUT_BIO).
///
/// 0 Inconnu, 1 Non renseigné, 2 Non déterminé, 3 Reproduction, 4 Hibernation,
/// 5 Estivation, 6 Halte migratoire, 7 Swarming, 8 Chasse/alimentation,
/// 9 Pas de reproduction, 10 Passage en vol, 11 Erratique, 12 Sédentaire, 13 Végétatif.
///
/// Since the 2018 standard, 6, 7, 8, 10, 11 and 12 are frozen in STATUT_BIO (their meaning
/// moved to OCC_COMPORTEMENT), but older exports still carry them, and the sensitivity
/// referential matches on the code as written: they stay valid.
const STATUT_BIO_MAX: u8 = 13;

/// Highest `occComportement` code (OCC_COMPORTEMENT, 2018-05).
///
/// 0 Inconnu, 1 Non renseigné, 2 Echouage, 3 Dortoir, 4 Migration,
/// 5 Construction de toile, 6 Halte migratoire, 7 Swarming, 8 Chasse/alimentation,
/// 9 Hivernage, 10 Passage en vol, 11 Erratique, 12 Sédentaire, 13 Estivage,
/// 14 Nourrissage des jeunes, 15 Posé, 16 Déplacement, 17 Repos, 18 Chant,
/// 19 Accouplement, 20 Cœur copulatoire, 21 Tandem, 22 Territorial, 23 Pond.
const OCC_COMPORTEMENT_MAX: u8 = 23;

/// `occStatutBiologique` (nomenclature STATUT_BIO).
pub fn is_statut_biologique(code: u8) -> bool {
    code <= STATUT_BIO_MAX
}

/// `occComportement` (nomenclature OCC_COMPORTEMENT).
pub fn is_comportement(code: u8) -> bool {
    code <= OCC_COMPORTEMENT_MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statut_biologique_accepts_0_to_13_only() {
        assert!((0..=13).all(is_statut_biologique));
        assert!(!is_statut_biologique(14));
        assert!(!is_statut_biologique(30)); // a GeoNature internal id seen in exports
    }

    #[test]
    fn comportement_accepts_0_to_23_only() {
        assert!((0..=23).all(is_comportement));
        assert!(!is_comportement(24)); // a local addition (couvaison), not SINP
        assert!(!is_comportement(255));
    }
}
