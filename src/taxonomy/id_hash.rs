//! A fast hasher for integer keys (cd_nom, packed department + cd_nom): the ingest looks
//! these up several times per observation, where SipHash's DoS resistance buys nothing
//! (the keys come from referentials, not from callers).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-and-fold hashing: the 128-bit product's halves are xor-ed so that both the
/// low bits (hashbrown's bucket index) and the high bits (its control byte) depend on
/// every input bit. A plain multiply would leave the low bits depending only on the
/// key's low bits: the same cd_nom in 100 departments would land in one bucket run.
#[derive(Clone, Copy, Default, Debug)]
pub struct IdHasher(u64);

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }

    #[inline]
    fn write_u64(&mut self, x: u64) {
        self.0 = fold_mul(self.0 ^ x ^ MULTIPLIER.rotate_left(17), MULTIPLIER);
    }
}

pub type BuildIdHasher = BuildHasherDefault<IdHasher>;

/// A `HashMap` keyed by integer ids, hashed with [`IdHasher`].
pub type IdMap<K, V> = HashMap<K, V, BuildIdHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn same_low_bits_keys_spread_over_buckets() {
        // The same cd_nom packed with 100 department codes: a weak hash would give them
        // identical low bits. Count distinct values of the low 7 bits (a 128-bucket table).
        let b = BuildIdHasher::default();
        let mut seen = std::collections::HashSet::new();
        for dept in 0u64..100 {
            let key = (dept << 32) | 60518;
            seen.insert(b.hash_one(key) & 0x7f);
        }
        assert!(seen.len() > 50, "only {} distinct buckets", seen.len());
    }
}
