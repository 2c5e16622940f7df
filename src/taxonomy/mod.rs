//! Taxonomy (a TAXREF extract): cd_nom → cd_ref, parents when the file has them, and the
//! taxonomic group (group2_inpn) for indicators.
#![forbid(unsafe_code)]

pub mod id_hash;
pub(crate) mod table;
mod taxonomy_reader;

use id_hash::IdMap;
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

impl From<table::TableError> for TaxonomyError {
    fn from(e: table::TableError) -> Self {
        match e {
            table::TableError::Io { path, source } => TaxonomyError::Io { path, source },
            table::TableError::Parse {
                file,
                line,
                field,
                reason,
            } => TaxonomyError::Parse {
                file,
                line,
                field,
                reason,
            },
        }
    }
}

/// A walk up the parents stops after this many steps: TAXREF has about 30 ranks, so a
/// longer chain is a broken file.
pub const MAX_DEPTH: usize = 64;

/// What the taxonomy knows of one cd_nom.
#[derive(Debug, Clone)]
struct Taxon {
    cd_ref: u32,
    /// Index in `Taxonomy::groups`.
    group: Option<u16>,
    name: Option<Box<str>>,
}

#[derive(Debug, Default)]
pub struct Taxonomy {
    taxa: IdMap<u32, Taxon>,
    /// cd_ref → the cd_ref of its parent.
    parents: IdMap<u32, u32>,
    /// cd_ref → range of `children` holding the cd_ref directly below it, ascending.
    children_of: IdMap<u32, (u32, u32)>,
    children: Vec<u32>,
    /// cd_ref → group, when the cd_ref itself has none but one of its synonyms has.
    ref_groups: IdMap<u32, u16>,
    groups: Vec<Box<str>>,
}

impl Taxonomy {
    /// No taxonomy: every cd_nom is its own cd_ref, no parents, no group.
    pub fn empty() -> Self {
        Taxonomy::default()
    }

    /// Reads a GeoNature `bib_noms.csv` (with `cor_nom_liste.csv` and `bib_listes.csv`
    /// beside it for groups) or a TAXREF table (CD_NOM, CD_REF, CD_SUP, GROUP2_INPN…).
    pub fn load(path: &Path) -> Result<Self, TaxonomyError> {
        taxonomy_reader::read(path)
    }

    /// The valid name of `cd_nom`, if the taxonomy knows it.
    pub fn cd_ref(&self, cd_nom: u32) -> Option<u32> {
        self.taxa.get(&cd_nom).map(|t| t.cd_ref)
    }

    /// The ancestors of `cd_ref`, nearest first (empty when parents are unknown).
    pub fn ancestors(&self, cd_ref: u32) -> Vec<u32> {
        let mut out = Vec::new();
        self.ancestors_into(cd_ref, &mut out);
        out
    }

    /// [`Taxonomy::ancestors`] into a buffer the caller reuses (cleared first): no
    /// allocation per observation. A synonym given instead of a cd_ref is resolved first.
    /// Stops at a taxon already met (a cycle in the file) or after [`MAX_DEPTH`] steps.
    pub fn ancestors_into(&self, cd_ref: u32, out: &mut Vec<u32>) {
        out.clear();
        let start = self.cd_ref(cd_ref).unwrap_or(cd_ref);
        let mut current = start;
        while out.len() < MAX_DEPTH {
            let Some(&parent) = self.parents.get(&current) else {
                break;
            };
            if parent == start || out.contains(&parent) {
                break;
            }
            out.push(parent);
            current = parent;
        }
    }

    /// What the sensitivity algorithm needs of an observed cd_nom: the cd_nom, its cd_ref
    /// when different, then the cd_ref's ancestors, nearest first, each once.
    pub fn lineage_into(&self, cd_nom: u32, out: &mut Vec<u32>) {
        let cd_ref = self.cd_ref(cd_nom).unwrap_or(cd_nom);
        self.ancestors_into(cd_ref, out);
        if cd_ref != cd_nom && !out.contains(&cd_ref) {
            out.insert(0, cd_ref);
        }
        if !out.contains(&cd_nom) {
            out.insert(0, cd_nom);
        }
    }

    /// The taxonomic group (group2_inpn) of `cd_ref` (or of its valid name when it has
    /// none itself).
    pub fn group(&self, cd_ref: u32) -> Option<&str> {
        let own = self.taxa.get(&cd_ref);
        let index = own.and_then(|t| t.group).or_else(|| {
            let valid = own.map_or(cd_ref, |t| t.cd_ref);
            self.taxa
                .get(&valid)
                .and_then(|t| t.group)
                .or_else(|| self.ref_groups.get(&valid).copied())
        })?;
        self.groups.get(usize::from(index)).map(|g| &**g)
    }

    /// Every cd_ref below `cd_ref` (children, grandchildren…), ascending, without
    /// `cd_ref` itself even if the file has a cycle through it.
    pub fn descendants(&self, cd_ref: u32) -> Vec<u32> {
        let root = self.cd_ref(cd_ref).unwrap_or(cd_ref);
        let mut found: Vec<u32> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        seen.insert(root);
        let mut next = 0;
        let mut frontier = vec![root];
        while next < frontier.len() {
            let parent = frontier[next];
            next += 1;
            for &child in self.children_of_ref(parent) {
                if seen.insert(child) {
                    found.push(child);
                    frontier.push(child);
                }
            }
        }
        found.sort_unstable();
        found
    }

    fn children_of_ref(&self, cd_ref: u32) -> &[u32] {
        match self.children_of.get(&cd_ref) {
            Some(&(start, len)) => &self.children[start as usize..(start + len) as usize],
            None => &[],
        }
    }

    /// The name the file gives `cd` (LB_NOM, else NOM_VERN; `nom_francais` in bib_noms).
    pub fn name(&self, cd: u32) -> Option<&str> {
        self.taxa.get(&cd).and_then(|t| t.name.as_deref())
    }

    /// The number of cd_nom known.
    pub fn len(&self) -> usize {
        self.taxa.len()
    }

    pub fn is_empty(&self) -> bool {
        self.taxa.is_empty()
    }

    /// Every group name, in the order first met.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(|g| &**g)
    }
}

#[cfg(test)]
mod tests;
