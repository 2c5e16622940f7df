//! Reading a GeoNature `bib_noms.csv` (+ its group lists) or a TAXREF-like table.

use super::id_hash::IdMap;
use super::table::{Table, TableError};
use super::{Taxon, Taxonomy, TaxonomyError};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Reads `path`, telling the two layouts apart by the header: `id_nom` means bib_noms.
pub(super) fn read(path: &Path) -> Result<Taxonomy, TaxonomyError> {
    let delimiter = sniff_delimiter(path)?;
    // TAXREF's tab-separated export does not quote, and an author name may hold a lone
    // '"'; comma-separated exports (GeoNature dumps) do quote.
    let table = Table::open(path, delimiter, delimiter != b'\t')?;
    if table.optional_column("id_nom").is_some() {
        read_bib_noms(path, table)
    } else {
        read_taxref(table)
    }
}

/// The header's most frequent separator among tab, comma and semicolon.
fn sniff_delimiter(path: &Path) -> Result<u8, TaxonomyError> {
    let io_error = |source| TaxonomyError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut header = Vec::new();
    BufReader::new(File::open(path).map_err(io_error)?)
        .read_until(b'\n', &mut header)
        .map_err(io_error)?;
    let count = |d: u8| header.iter().filter(|b| **b == d).count();
    Ok([b'\t', b',', b';']
        .into_iter()
        .max_by_key(|d| (count(*d), *d == b'\t'))
        .unwrap_or(b','))
}

/// Collects rows, then resolves parents, children and groups.
#[derive(Default)]
struct Builder {
    taxa: IdMap<u32, Taxon>,
    /// (cd_nom, cd_ref, parent cd_nom) as read.
    raw_parents: Vec<(u32, u32, u32)>,
    groups: Vec<Box<str>>,
    group_index: HashMap<Box<str>, u16>,
}

impl Builder {
    fn intern_group(&mut self, t: &Table, col: usize, name: &str) -> Result<u16, TableError> {
        if let Some(&i) = self.group_index.get(name) {
            return Ok(i);
        }
        let i = u16::try_from(self.groups.len())
            .map_err(|_| t.error(col, "more than 65,536 distinct groups"))?;
        self.groups.push(name.into());
        self.group_index.insert(name.into(), i);
        Ok(i)
    }

    /// Adds a row; the same cd_nom twice is accepted only with the same cd_ref.
    fn add(
        &mut self,
        t: &Table,
        cd_nom_col: usize,
        cd_nom: u32,
        taxon: Taxon,
    ) -> Result<(), TableError> {
        if let Some(known) = self.taxa.get(&cd_nom) {
            if known.cd_ref != taxon.cd_ref {
                return Err(t.error(
                    cd_nom_col,
                    format!(
                        "cd_nom {cd_nom} already read with cd_ref {}, here {}",
                        known.cd_ref, taxon.cd_ref
                    ),
                ));
            }
            return Ok(());
        }
        self.taxa.insert(cd_nom, taxon);
        Ok(())
    }

    fn finish(self) -> Taxonomy {
        let Builder {
            taxa,
            raw_parents,
            groups,
            ..
        } = self;
        let resolve = |cd: u32| taxa.get(&cd).map_or(cd, |t| t.cd_ref);

        // A cd_ref's parent comes from its own row; a synonym's row only fills a gap
        // (partial extracts may lack the valid row).
        let mut parents: IdMap<u32, u32> = IdMap::default();
        for valid_rows in [true, false] {
            for &(cd_nom, cd_ref, sup) in &raw_parents {
                if (cd_nom == cd_ref) != valid_rows {
                    continue;
                }
                let parent = resolve(sup);
                if parent == cd_ref {
                    continue;
                }
                parents.entry(cd_ref).or_insert(parent);
            }
        }

        let mut pairs: Vec<(u32, u32)> = parents.iter().map(|(&c, &p)| (p, c)).collect();
        pairs.sort_unstable();
        let mut children_of: IdMap<u32, (u32, u32)> = IdMap::default();
        let mut children = Vec::with_capacity(pairs.len());
        for (parent, child) in pairs {
            // `children.len()` fits in u32: at most one entry per taxon read.
            let at = children.len() as u32;
            children_of.entry(parent).or_insert((at, 0)).1 += 1;
            children.push(child);
        }

        // A cd_ref absent from the file, or without a group of its own, takes the group
        // of its synonym with the lowest cd_nom.
        let mut synonyms: Vec<(u32, u32, u16)> = taxa
            .iter()
            .filter(|(cd_nom, t)| **cd_nom != t.cd_ref)
            .filter_map(|(cd_nom, t)| t.group.map(|g| (*cd_nom, t.cd_ref, g)))
            .collect();
        synonyms.sort_unstable();
        let mut ref_groups: IdMap<u32, u16> = IdMap::default();
        for (_, cd_ref, group) in synonyms {
            if taxa.get(&cd_ref).and_then(|t| t.group).is_none() {
                ref_groups.entry(cd_ref).or_insert(group);
            }
        }

        Taxonomy {
            taxa,
            parents,
            children_of,
            children,
            ref_groups,
            groups,
        }
    }
}

/// TAXREF-like: CD_NOM, CD_REF, optionally CD_SUP (or CD_TAXSUP), GROUP2_INPN, LB_NOM,
/// NOM_VERN, any case, any order.
fn read_taxref(mut t: Table) -> Result<Taxonomy, TaxonomyError> {
    let c_nom = t.column("cd_nom")?;
    let c_ref = t.column("cd_ref")?;
    let c_sup = t
        .optional_column("cd_sup")
        .or_else(|| t.optional_column("cd_taxsup"));
    let c_group = t.optional_column("group2_inpn");
    let c_lb_nom = t.optional_column("lb_nom");
    let c_nom_vern = t.optional_column("nom_vern");

    let mut b = Builder::default();
    while t.next_record()? {
        let cd_nom = t.int(c_nom)?;
        let cd_ref = t.int(c_ref)?;
        if let Some(c) = c_sup {
            if let Some(sup) = t.optional_int(c)? {
                b.raw_parents.push((cd_nom, cd_ref, sup));
            }
        }
        let group = match c_group {
            Some(c) => match t.text(c)? {
                "" => None,
                g => Some(b.intern_group(&t, c, g)?),
            },
            None => None,
        };
        let mut name = None;
        for c in [c_lb_nom, c_nom_vern].into_iter().flatten() {
            let s = t.text(c)?;
            if !s.is_empty() {
                name = Some(s.into());
                break;
            }
        }
        b.add(
            &t,
            c_nom,
            cd_nom,
            Taxon {
                cd_ref,
                group,
                name,
            },
        )?;
    }
    Ok(b.finish())
}

/// GeoNature's `bib_noms.csv` (id_nom, cd_nom, cd_ref, nom_francais); groups come from
/// `cor_nom_liste.csv` and `bib_listes.csv` in the same folder when both are there.
fn read_bib_noms(path: &Path, mut t: Table) -> Result<Taxonomy, TaxonomyError> {
    let c_id = t.column("id_nom")?;
    let c_nom = t.column("cd_nom")?;
    let c_ref = t.column("cd_ref")?;
    let c_name = t.optional_column("nom_francais");

    let mut b = Builder::default();
    let mut cd_nom_of_id: IdMap<u32, u32> = IdMap::default();
    while t.next_record()? {
        let id_nom = t.int(c_id)?;
        let cd_nom = t.int(c_nom)?;
        let cd_ref = t.int(c_ref)?;
        if cd_nom_of_id.insert(id_nom, cd_nom).is_some() {
            return Err(t
                .error(c_id, format!("id_nom {id_nom} appears twice"))
                .into());
        }
        let name = match c_name {
            Some(c) => Some(t.text(c)?).filter(|s| !s.is_empty()).map(Into::into),
            None => None,
        };
        b.add(
            &t,
            c_nom,
            cd_nom,
            Taxon {
                cd_ref,
                group: None,
                name,
            },
        )?;
    }

    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let (cor_path, lists_path) = (dir.join("cor_nom_liste.csv"), dir.join("bib_listes.csv"));
    if cor_path.is_file() && lists_path.is_file() {
        read_groups(&mut b, &cd_nom_of_id, &cor_path, &lists_path)?;
    }
    Ok(b.finish())
}

/// Gives each cd_nom the group2_inpn of the lists it belongs to. Lists without a group
/// ("Saisie possible", "Flore"…) are skipped; when a name sits in several grouped lists
/// (a snail in "Gastéropodes" and in "Mollusques" = "<Autres>"), a real group beats a
/// placeholder in angle brackets, then the lowest id_liste wins.
fn read_groups(
    b: &mut Builder,
    cd_nom_of_id: &IdMap<u32, u32>,
    cor_path: &Path,
    lists_path: &Path,
) -> Result<(), TaxonomyError> {
    let mut lists = Table::open(lists_path, b',', true)?;
    let c_list = lists.column("id_liste")?;
    let c_group = lists.column("group2_inpn")?;
    let mut group_of_list: IdMap<u32, u16> = IdMap::default();
    while lists.next_record()? {
        let id_liste = lists.int(c_list)?;
        let group = lists.text(c_group)?;
        if !group.is_empty() {
            let g = b.intern_group(&lists, c_group, group)?;
            group_of_list.insert(id_liste, g);
        }
    }

    let mut cor = Table::open(cor_path, b',', true)?;
    let c_cor_list = cor.column("id_liste")?;
    let c_cor_nom = cor.column("id_nom")?;
    // cd_nom → (placeholder group?, id_liste, group)
    let mut best: IdMap<u32, (bool, u32, u16)> = IdMap::default();
    while cor.next_record()? {
        let id_liste = cor.int(c_cor_list)?;
        let id_nom = cor.int(c_cor_nom)?;
        let (Some(&group), Some(&cd_nom)) =
            (group_of_list.get(&id_liste), cd_nom_of_id.get(&id_nom))
        else {
            continue;
        };
        let placeholder = b.groups[usize::from(group)].starts_with('<');
        let candidate = (placeholder, id_liste, group);
        best.entry(cd_nom)
            .and_modify(|current| {
                if candidate < *current {
                    *current = candidate;
                }
            })
            .or_insert(candidate);
    }
    for (cd_nom, (_, _, group)) in best {
        if let Some(taxon) = b.taxa.get_mut(&cd_nom) {
            taxon.group = Some(group);
        }
    }
    Ok(())
}
