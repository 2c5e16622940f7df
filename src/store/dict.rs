//! Dictionary building for segment tables (datasets, cited names, timelines): each distinct
//! value once, records hold its index.
#![forbid(unsafe_code)]

use std::collections::HashMap;

pub struct Interner<K> {
    index: HashMap<K, u32>,
    values: Vec<K>,
}

impl<K> Default for Interner<K> {
    fn default() -> Self {
        Interner {
            index: HashMap::new(),
            values: Vec::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> Interner<K> {
    /// The index of `key`, added if new.
    pub fn intern<Q>(&mut self, key: &Q) -> u32
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(i) = self.index.get(key) {
            return *i;
        }
        let i = self.values.len() as u32;
        self.values.push(key.to_owned());
        self.index.insert(key.to_owned(), i);
        i
    }

    pub fn into_values(self) -> Vec<K> {
        self.values
    }
}
