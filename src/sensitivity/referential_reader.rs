//! Reading the three referential files as the INPN ships them to GINCO.

use super::departement::DeptKey;
use super::{Rule, SensiNiveau, SensitivityError};
use crate::taxonomy::table::Table;
use std::path::Path;

/// One row of `especesensiblelistes.csv`.
#[derive(Clone, Copy, Debug)]
pub(super) struct ListRow {
    pub cd_sl: u16,
    /// Region code before 2016 as an integer ("4" and "04" are the same); `None` for a
    /// national list.
    pub region: Option<u16>,
    pub line: u64,
}

/// Reads `especesensible.csv`: columns found by name in any order; `cd_occ_comportement`
/// is optional (newer referentials only). Rules come back in file order.
pub(super) fn read_rules(path: &Path) -> Result<Vec<Rule>, SensitivityError> {
    let mut t = Table::open(path, b',', true)?;
    let c_dept = t.column("cd_dept")?;
    let c_id = t.column("id")?;
    let c_nom = t.column("cd_nom")?;
    let c_duree = t.column("duree")?;
    let c_codage = t.column("codage")?;
    let c_autre = t.column("autre")?;
    let c_sl = t.column("cd_sl")?;
    let c_statut = t.column("cd_occ_statut_biologique")?;
    let c_nom_cite = t.column("nom_cite")?;
    let c_comportement = t.optional_column("cd_occ_comportement");

    let mut rules = Vec::new();
    while t.next_record()? {
        let dept_text = t.text(c_dept)?;
        let dept = DeptKey::parse(dept_text).ok_or_else(|| {
            t.error(
                c_dept,
                format!("{dept_text:?} is not a department code (01–95, 2A, 2B, 97x, D4)"),
            )
        })?;
        let codage = t.text(c_codage)?;
        let level = SensiNiveau::parse(codage).ok_or_else(|| {
            t.error(
                c_codage,
                format!("{codage:?} is not a sensitivity level (0–4, 2.1–2.8)"),
            )
        })?;
        let comment = t.text(c_autre)?;
        let comportement = match c_comportement {
            Some(c) => t.optional_int::<u8>(c)?,
            None => None,
        };
        rules.push(Rule {
            id: t.int(c_id)?,
            departement: dept.to_string(),
            cd_nom: t.int(c_nom)?,
            duree: t.optional_int(c_duree)?,
            level,
            comment: (!comment.is_empty()).then(|| comment.to_string()),
            cd_sl: t.int(c_sl)?,
            statut_biologique: t.optional_int(c_statut)?,
            comportement,
            nom_cite: t.text(c_nom_cite)?.to_string(),
            line: t.line(),
        });
    }
    Ok(rules)
}

/// Reads `especesensiblelistes.csv` (cd_sl, cd_insee_reg).
pub(super) fn read_lists(path: &Path) -> Result<Vec<ListRow>, SensitivityError> {
    let mut t = Table::open(path, b',', true)?;
    let c_sl = t.column("cd_sl")?;
    let c_reg = t.column("cd_insee_reg")?;
    let mut lists = Vec::new();
    while t.next_record()? {
        lists.push(ListRow {
            cd_sl: t.int(c_sl)?,
            region: t.optional_int(c_reg)?,
            line: t.line(),
        });
    }
    Ok(lists)
}

/// Reads `departements_regions_2015.csv` (code_departement, code_region_2015); a
/// department listed twice with two regions is an error.
pub(super) fn read_departement_regions(
    path: &Path,
) -> Result<Vec<(DeptKey, u16)>, SensitivityError> {
    let mut t = Table::open(path, b',', true)?;
    let c_dept = t.column("code_departement")?;
    let c_reg = t.column("code_region_2015")?;
    let mut rows = Vec::new();
    while t.next_record()? {
        let text = t.text(c_dept)?;
        let dept = DeptKey::parse(text)
            .ok_or_else(|| t.error(c_dept, format!("{text:?} is not a department code")))?;
        let region: u16 = t.int(c_reg)?;
        if let Some((_, other)) = rows.iter().find(|(d, r)| *d == dept && *r != region) {
            return Err(t
                .error(
                    c_reg,
                    format!("department {dept} already given region {other}"),
                )
                .into());
        }
        rows.push((dept, region));
    }
    Ok(rows)
}
