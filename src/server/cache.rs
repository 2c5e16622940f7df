//! The in-process tile cache. Its key holds the caller's whole rights (not a hash of them):
//! two callers share an entry only when their rights are identical, so no entry is ever
//! served to a caller of other rights.

use axum::body::Bytes;
use axum::http::HeaderValue;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TileKey {
    /// "public", or the agent's grants in a canonical text form.
    pub rights: Arc<str>,
    /// The served generation's serial ([`super::Loaded::serial`]): a new generation
    /// never meets an entry of an older one.
    pub serial: u64,
    /// Sensitivity is evaluated per day: yesterday's tiles are not today's.
    pub day: i32,
    pub z: u8,
    pub x: u32,
    pub y: u32,
    /// The filters in canonical form.
    pub filter: Arc<str>,
}

/// A rendered tile. Bodies are `Bytes`: a response shares them, never copies them (a dense
/// tile is megabytes). The gzip form is made on the first request that accepts it, so
/// clients that do not ask for it never pay for it.
#[derive(Debug)]
pub struct TileEntry {
    pub raw: Bytes,
    gzip: OnceLock<Bytes>,
    pub etag: String,
    /// `etag` as a header value, made once: a response shares it.
    etag_value: HeaderValue,
}

impl TileEntry {
    pub fn new(raw: Vec<u8>) -> Self {
        // Two CRC32s with different seeds (hardware-accelerated): a 64-bit content tag for
        // the price of a memory pass, where a byte-wise hash cost ms on multi-MB tiles.
        let mut second = crc32fast::Hasher::new_with_initial(0x9e37_79b9);
        second.update(&raw);
        let etag = format!(
            "\"{:08x}{:08x}-{}\"",
            crc32fast::hash(&raw),
            second.finalize(),
            raw.len()
        );
        // Hex digits, a dash and quotes: always a valid header value.
        let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
        TileEntry {
            raw: Bytes::from(raw),
            gzip: OnceLock::new(),
            etag,
            etag_value,
        }
    }

    /// The gzip form, compressed now if no request asked for it before.
    pub fn gzip(&self) -> Bytes {
        self.gzip
            .get_or_init(|| {
                let mut gz = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.raw.len() / 3),
                    flate2::Compression::fast(),
                );
                let done = gz.write_all(&self.raw).and_then(|_| gz.finish());
                // An empty gzip form means "send it uncompressed" (never fails in memory).
                Bytes::from(done.unwrap_or_default())
            })
            .clone()
    }

    pub fn etag_value(&self) -> &HeaderValue {
        &self.etag_value
    }

    pub fn has_gzip(&self) -> bool {
        self.gzip.get().is_some()
    }

    /// Charged as if compressed already: the gzip form may be added after insertion.
    fn bytes(&self) -> u64 {
        (self.raw.len() * 3 / 2 + self.etag.len() + 128) as u64
    }
}

pub struct TileCache {
    capacity: u64,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What `/metrics` shows of the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: u64,
    pub bytes: u64,
    pub capacity: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<TileKey, (Arc<TileEntry>, u64)>,
    bytes: u64,
    tick: u64,
}

impl TileCache {
    pub fn new(capacity_bytes: u64) -> Self {
        TileCache {
            capacity: capacity_bytes,
            inner: Mutex::new(Inner::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn get(&self, key: &TileKey) -> Option<Arc<TileEntry>> {
        let found = self.lookup(key);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn lookup(&self, key: &TileKey) -> Option<Arc<TileEntry>> {
        let mut g = self.inner.lock().ok()?;
        g.tick += 1;
        let tick = g.tick;
        let e = g.map.get_mut(key)?;
        e.1 = tick;
        Some(e.0.clone())
    }

    pub fn stats(&self) -> CacheStats {
        let (entries, bytes) = self
            .inner
            .lock()
            .map(|g| (g.map.len() as u64, g.bytes))
            .unwrap_or((0, 0));
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries,
            bytes,
            capacity: self.capacity,
        }
    }

    pub fn insert(&self, key: TileKey, entry: Arc<TileEntry>) {
        let Ok(mut g) = self.inner.lock() else { return };
        if entry.bytes() > self.capacity {
            return;
        }
        g.tick += 1;
        let tick = g.tick;
        g.bytes += entry.bytes();
        if let Some((old, _)) = g.map.insert(key, (entry, tick)) {
            g.bytes -= old.bytes();
        }
        if g.bytes > self.capacity {
            // Evict the least recently used half: rare, amortised.
            let mut ticks: Vec<u64> = g.map.values().map(|v| v.1).collect();
            ticks.sort_unstable();
            let Some(&cut) = ticks.get(ticks.len() / 2) else {
                return;
            };
            let mut freed = 0;
            g.map.retain(|_, v| {
                let keep = v.1 > cut;
                if !keep {
                    freed += v.0.bytes();
                }
                keep
            });
            g.bytes -= freed;
        }
    }

    /// Drops every entry not of generation `serial` (called after a hot reload).
    pub fn retain_serial(&self, serial: u64) {
        let Ok(mut g) = self.inner.lock() else { return };
        g.map.retain(|k, _| k.serial == serial);
        g.bytes = g.map.values().map(|(e, _)| e.bytes()).sum();
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|g| g.map.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
