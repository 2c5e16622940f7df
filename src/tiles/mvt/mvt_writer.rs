//! The tile, layer and feature writers.
//!
//! Each layer keeps its encoded features, keys and values as protobuf bytes while
//! features are added; `encode` only concatenates them behind exact length prefixes.
//! Per-feature work reuses the layer's scratch buffers: adding a feature allocates
//! nothing once the buffers have grown, except a first-seen key or string value.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::clip::{round_coord, ClipSquare, IPoint, RingScratch};
use super::pbf::{self, command, zigzag};
use super::whole_ring::WholeRing;

/// Largest extent and buffer accepted: keeps every coordinate delta inside the 32-bit
/// zigzag parameters of the spec (extent + 2 × buffer < 2^31).
pub const MAX_EXTENT: u32 = 1 << 28;

/// A feature property value, borrowed so adding a feature copies nothing that the
/// layer already holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PropValue<'a> {
    /// `string_value`.
    Str(&'a str),
    /// `int_value` (int64).
    Int(i64),
    /// `uint_value` (uint64).
    UInt(u64),
    /// `double_value`.
    Double(f64),
    /// `float_value`.
    Float(f32),
    /// `bool_value`.
    Bool(bool),
}

impl<'a> From<&'a str> for PropValue<'a> {
    fn from(v: &'a str) -> Self {
        PropValue::Str(v)
    }
}
impl From<i64> for PropValue<'_> {
    fn from(v: i64) -> Self {
        PropValue::Int(v)
    }
}
impl From<i32> for PropValue<'_> {
    fn from(v: i32) -> Self {
        PropValue::Int(i64::from(v))
    }
}
impl From<u64> for PropValue<'_> {
    fn from(v: u64) -> Self {
        PropValue::UInt(v)
    }
}
impl From<u32> for PropValue<'_> {
    fn from(v: u32) -> Self {
        PropValue::UInt(u64::from(v))
    }
}
impl From<f64> for PropValue<'_> {
    fn from(v: f64) -> Self {
        PropValue::Double(v)
    }
}
impl From<f32> for PropValue<'_> {
    fn from(v: f32) -> Self {
        PropValue::Float(v)
    }
}
impl From<bool> for PropValue<'_> {
    fn from(v: bool) -> Self {
        PropValue::Bool(v)
    }
}

/// FxHash (rustc's hasher): keys and values come from our own store, not from the
/// caller, so a fast non-keyed hash is safe and several times cheaper than SipHash.
#[derive(Default, Clone, Copy)]
struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
    #[inline]
    fn write_i64(&mut self, v: i64) {
        self.add(v as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

type FxMap<K> = HashMap<K, u32, BuildHasherDefault<FxHasher>>;

/// A string value of a layer: its index, and its bytes' place in the encoded values.
#[derive(Debug)]
struct StringValue {
    index: u32,
    bytes: std::ops::Range<usize>,
}

/// Per-layer dictionaries of keys and values (spec 4.2: each stored once per layer).
#[derive(Default, Debug)]
struct Dictionary {
    key_index: FxMap<Box<str>>,
    /// Key names by index.
    key_names: Vec<Box<str>>,
    /// The key index last seen at each position of a feature's property list: callers
    /// pass the same keys in the same order, so most lookups are one string compare.
    key_by_position: Vec<u32>,
    /// Encoded `keys` fields.
    keys: Vec<u8>,
    /// String values by the hash of their bytes, with where those bytes lie in `values`
    /// (read back to confirm a match): a dense tile adds thousands of distinct names and
    /// codes, and keeping a copy of each as a key cost an allocation apiece.
    strings: HashMap<u64, StringValue, BuildHasherDefault<FxHasher>>,
    /// The rare strings whose hash another string already holds.
    collided: FxMap<Box<str>>,
    /// Tests narrow the hash to force collisions.
    #[cfg(test)]
    hash_mask: Option<u64>,
    ints: FxMap<i64>,
    uints: FxMap<u64>,
    /// Keyed by bit pattern: 0.0 and -0.0 stay distinct, NaN is stored once.
    doubles: FxMap<u64>,
    floats: FxMap<u32>,
    bools: [Option<u32>; 2],
    /// Value indices by a caller's token (see [`LayerEncoder::value_index_by_token`]).
    tokens: FxMap<(u64, u64)>,
    /// Encoded `values` fields.
    values: Vec<u8>,
    value_count: u32,
}

impl Dictionary {
    fn clear(&mut self) {
        self.key_index.clear();
        self.key_names.clear();
        self.key_by_position.clear();
        self.keys.clear();
        self.strings.clear();
        self.collided.clear();
        self.ints.clear();
        self.uints.clear();
        self.doubles.clear();
        self.floats.clear();
        self.bools = [None, None];
        self.tokens.clear();
        self.values.clear();
        self.value_count = 0;
    }

    /// Index of `key`, the `position`-th key of a feature's property list.
    #[inline]
    fn key(&mut self, key: &str, position: usize) -> u32 {
        if let Some(&i) = self.key_by_position.get(position) {
            if self.key_names.get(i as usize).is_some_and(|k| **k == *key) {
                return i;
            }
        }
        let i = self.key_lookup(key);
        if position >= self.key_by_position.len() {
            self.key_by_position.resize(position + 1, u32::MAX);
        }
        self.key_by_position[position] = i;
        i
    }

    /// Index of `key`, added if new.
    fn key_lookup(&mut self, key: &str) -> u32 {
        match self.key_index.get(key) {
            Some(&i) => i,
            None => {
                let i = self.key_names.len() as u32;
                pbf::put_bytes_field(&mut self.keys, pbf::LAYER_KEYS, key.as_bytes());
                self.key_index.insert(key.into(), i);
                self.key_names.push(key.into());
                i
            }
        }
    }

    #[inline]
    fn value(&mut self, value: PropValue<'_>) -> u32 {
        let next = self.value_count;
        let (index, is_new) = match value {
            PropValue::Str(s) => {
                let mut h = FxHasher::default();
                h.write(s.as_bytes());
                let hash = h.finish();
                #[cfg(test)]
                let hash = hash & self.hash_mask.unwrap_or(u64::MAX);
                match self.strings.get(&hash) {
                    Some(v) if self.values.get(v.bytes.clone()) == Some(s.as_bytes()) => {
                        (v.index, false)
                    }
                    Some(_) => lookup_or_insert(&mut self.collided, Box::from(s), next),
                    None => {
                        self.value_count += 1;
                        write_value(&mut self.values, value);
                        // The string's bytes end the value just written.
                        let end = self.values.len();
                        let bytes = end - s.len()..end;
                        self.strings
                            .insert(hash, StringValue { index: next, bytes });
                        return next;
                    }
                }
            }
            PropValue::Int(v) => lookup_or_insert(&mut self.ints, v, next),
            PropValue::UInt(v) => lookup_or_insert(&mut self.uints, v, next),
            PropValue::Double(v) => lookup_or_insert(&mut self.doubles, v.to_bits(), next),
            PropValue::Float(v) => lookup_or_insert(&mut self.floats, v.to_bits(), next),
            PropValue::Bool(v) => match self.bools[usize::from(v)] {
                Some(i) => (i, false),
                None => {
                    self.bools[usize::from(v)] = Some(next);
                    (next, true)
                }
            },
        };
        if is_new {
            self.value_count += 1;
            write_value(&mut self.values, value);
        }
        index
    }
}

#[inline]
fn lookup_or_insert<K: std::hash::Hash + Eq>(map: &mut FxMap<K>, key: K, next: u32) -> (u32, bool) {
    let mut is_new = false;
    let index = *map.entry(key).or_insert_with(|| {
        is_new = true;
        next
    });
    (index, is_new)
}

/// Appends one `Layer.values` field holding a `Value` message.
fn write_value(out: &mut Vec<u8>, value: PropValue<'_>) {
    out.push(pbf::LAYER_VALUES);
    match value {
        PropValue::Str(s) => {
            let len = pbf::bytes_field_len(s.len());
            pbf::put_varint(out, len as u64);
            pbf::put_bytes_field(out, pbf::VALUE_STRING, s.as_bytes());
        }
        PropValue::Int(v) => {
            // int64 negative values are sign-extended to 10 bytes, as protobuf does.
            let v = v as u64;
            pbf::put_varint(out, 1 + pbf::varint_len(v) as u64);
            out.push(pbf::VALUE_INT);
            pbf::put_varint(out, v);
        }
        PropValue::UInt(v) => {
            pbf::put_varint(out, 1 + pbf::varint_len(v) as u64);
            out.push(pbf::VALUE_UINT);
            pbf::put_varint(out, v);
        }
        PropValue::Double(v) => {
            out.push(9);
            out.push(pbf::VALUE_DOUBLE);
            out.extend_from_slice(&v.to_le_bytes());
        }
        PropValue::Float(v) => {
            out.push(5);
            out.push(pbf::VALUE_FLOAT);
            out.extend_from_slice(&v.to_le_bytes());
        }
        PropValue::Bool(v) => {
            out.push(2);
            out.push(pbf::VALUE_BOOL);
            out.push(u8::from(v));
        }
    }
}

/// One layer of a tile. Obtained from [`TileEncoder::layer`].
#[derive(Debug)]
pub struct LayerEncoder {
    name: String,
    extent: u32,
    square: ClipSquare,
    /// Encoded `features` fields.
    features: Vec<u8>,
    feature_count: usize,
    dictionary: Dictionary,
    // Scratch reused by every feature.
    tags: Vec<u32>,
    /// The feature's geometry, already as packed varint bytes.
    geometry: Vec<u8>,
    /// Kept points of a multipoint, written once their count is known.
    points: Vec<IPoint>,
    ring: RingScratch,
}

impl LayerEncoder {
    fn new(name: &str, extent: u32, buffer: u32) -> Self {
        LayerEncoder {
            name: name.to_owned(),
            extent,
            square: ClipSquare {
                min: -i64::from(buffer),
                max: i64::from(extent) + i64::from(buffer),
            },
            features: Vec::new(),
            feature_count: 0,
            dictionary: Dictionary::default(),
            tags: Vec::new(),
            geometry: Vec::new(),
            points: Vec::new(),
            ring: RingScratch::default(),
        }
    }

    fn clear(&mut self) {
        self.features.clear();
        self.feature_count = 0;
        self.dictionary.clear();
    }

    /// The layer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Features written so far.
    pub fn feature_count(&self) -> usize {
        self.feature_count
    }

    /// Rounds `p` (tile units, y down) to the nearest integer and, if it lies in the
    /// buffered square `[-buffer, extent + buffer]²`, writes a Point feature. Returns
    /// whether a feature was written.
    pub fn add_point(
        &mut self,
        id: Option<u64>,
        p: [f64; 2],
        props: &[(&str, PropValue<'_>)],
    ) -> bool {
        let Some(q) = self.round_point(p) else {
            return false;
        };
        self.geometry.clear();
        put_u32(&mut self.geometry, command(pbf::CMD_MOVE_TO, 1));
        // The cursor starts at (0, 0) for every feature.
        push_delta(&mut self.geometry, &mut [0, 0], q);
        self.write_feature(id, pbf::GEOM_POINT, props);
        true
    }

    /// Writes a MultiPoint feature of the points that lie in the buffered square (same
    /// rounding and test as [`add_point`](Self::add_point)). Returns whether any point
    /// was kept.
    pub fn add_multi_point<I>(
        &mut self,
        id: Option<u64>,
        points: I,
        props: &[(&str, PropValue<'_>)],
    ) -> bool
    where
        I: IntoIterator<Item = [f64; 2]>,
    {
        self.points.clear();
        for p in points {
            if self.points.len() == pbf::MAX_COMMAND_COUNT {
                break;
            }
            if let Some(q) = self.round_point(p) {
                self.points.push(q);
            }
        }
        if self.points.is_empty() {
            return false;
        }
        self.geometry.clear();
        put_u32(
            &mut self.geometry,
            command(pbf::CMD_MOVE_TO, self.points.len() as u32),
        );
        let mut cursor = [0i64; 2];
        for &q in &self.points {
            push_delta(&mut self.geometry, &mut cursor, q);
        }
        self.write_feature(id, pbf::GEOM_POINT, props);
        true
    }

    /// Writes a (multi)polygon feature. `polygons` holds polygons, each a list of rings
    /// whose first is the exterior and the others its holes, in tile units (y down),
    /// open or closed, in either winding. Rings are rounded, clipped to the buffered
    /// square and cleaned; see [`PolygonFeature`]. Returns whether a feature was
    /// written (false when no ring is left).
    pub fn add_polygon<P, R>(
        &mut self,
        id: Option<u64>,
        polygons: &[P],
        props: &[(&str, PropValue<'_>)],
    ) -> bool
    where
        P: AsRef<[R]>,
        R: AsRef<[[f64; 2]]>,
    {
        let mut feature = self.polygon();
        for polygon in polygons {
            let mut rings = polygon.as_ref().iter();
            let Some(exterior) = rings.next() else {
                continue;
            };
            if feature.exterior(exterior.as_ref().iter().copied()) {
                for hole in rings {
                    feature.interior(hole.as_ref().iter().copied());
                }
            }
        }
        feature.finish(id, props)
    }

    /// Starts a polygon feature fed ring by ring from iterators, so callers can project
    /// coordinates on the fly without building nested vectors.
    pub fn polygon(&mut self) -> PolygonFeature<'_> {
        self.geometry.clear();
        PolygonFeature {
            layer: self,
            cursor: [0, 0],
            exterior_kept: false,
        }
    }

    #[inline]
    fn round_point(&self, p: [f64; 2]) -> Option<IPoint> {
        let q = [round_coord(p[0])?, round_coord(p[1])?];
        self.square.contains(q).then_some(q)
    }

    /// The index of `key` in this layer's dictionary, added if new: with
    /// [`value_index`](Self::value_index) and [`add_point_tags`](Self::add_point_tags), a
    /// caller writing many features with the same keys resolves them once.
    pub fn key_index(&mut self, key: &str) -> u32 {
        self.dictionary.key_lookup(key)
    }

    /// The index of `value` in this layer's dictionary, added if new (each value is stored
    /// once per layer, as with [`add_point`](Self::add_point)).
    pub fn value_index(&mut self, value: PropValue<'_>) -> u32 {
        self.dictionary.value(value)
    }

    /// The index of the value a caller named `token` earlier in this tile (with
    /// [`value_index_for_token`](Self::value_index_for_token)): lets a caller that writes
    /// many features skip building and hashing values it has already given.
    pub fn token_value(&self, token: (u64, u64)) -> Option<u32> {
        self.dictionary.tokens.get(&token).copied()
    }

    /// The index of `value` (looked up as by [`value_index`](Self::value_index), so a
    /// value given under two tokens is still stored once), remembered under `token` for
    /// [`token_value`](Self::token_value). Equal tokens must stand for equal values for
    /// the rest of the tile (e.g. a namespace with the address and length of a string
    /// borrowed for the whole tile).
    pub fn value_index_for_token(&mut self, token: (u64, u64), value: PropValue<'_>) -> u32 {
        let i = self.dictionary.value(value);
        self.dictionary.tokens.insert(token, i);
        i
    }

    /// Whether [`add_point`](Self::add_point) would keep `p`.
    pub fn keeps_point(&self, p: [f64; 2]) -> bool {
        self.round_point(p).is_some()
    }

    /// Appends `value` without looking it up, for a value the caller knows no other
    /// feature of this layer carries (a record's id): saves hashing and keeping it.
    pub fn unique_value_index(&mut self, value: PropValue<'_>) -> u32 {
        let i = self.dictionary.value_count;
        self.dictionary.value_count += 1;
        write_value(&mut self.dictionary.values, value);
        i
    }

    /// Like [`add_point`](Self::add_point), with the properties given as (key index,
    /// value index) pairs from [`key_index`](Self::key_index) and the value index methods.
    /// Each key must appear once.
    pub fn add_point_tags(&mut self, id: Option<u64>, p: [f64; 2], tags: &[[u32; 2]]) -> bool {
        let Some(q) = self.round_point(p) else {
            return false;
        };
        self.geometry.clear();
        put_u32(&mut self.geometry, command(pbf::CMD_MOVE_TO, 1));
        push_delta(&mut self.geometry, &mut [0, 0], q);
        self.tags.clear();
        self.tags.extend(tags.iter().flatten());
        self.write_tagged_feature(id, pbf::GEOM_POINT);
        true
    }

    /// Appends the feature message from `self.geometry` and `props`.
    fn write_feature(&mut self, id: Option<u64>, geom_type: u8, props: &[(&str, PropValue<'_>)]) {
        self.tags.clear();
        for (position, (key, value)) in props.iter().enumerate() {
            let key_index = self.dictionary.key(key, position);
            // A key given twice keeps its first value: decoders read tags into maps.
            if self.tags.chunks_exact(2).any(|pair| pair[0] == key_index) {
                continue;
            }
            let value_index = self.dictionary.value(*value);
            self.tags.push(key_index);
            self.tags.push(value_index);
        }
        self.write_tagged_feature(id, geom_type);
    }

    /// Appends the feature message from `self.geometry` and `self.tags`.
    fn write_tagged_feature(&mut self, id: Option<u64>, geom_type: u8) {
        let tags_len = pbf::packed_len(&self.tags);
        let geometry_len = self.geometry.len();
        let mut body_len = 2 + pbf::bytes_field_len(geometry_len);
        if let Some(id) = id {
            body_len += 1 + pbf::varint_len(id);
        }
        if !self.tags.is_empty() {
            body_len += pbf::bytes_field_len(tags_len);
        }
        let out = &mut self.features;
        out.reserve(pbf::bytes_field_len(body_len));
        out.push(pbf::LAYER_FEATURES);
        pbf::put_varint(out, body_len as u64);
        if let Some(id) = id {
            out.push(pbf::FEATURE_ID);
            pbf::put_varint(out, id);
        }
        if !self.tags.is_empty() {
            pbf::put_packed(out, pbf::FEATURE_TAGS, &self.tags, tags_len);
        }
        out.push(pbf::FEATURE_TYPE);
        out.push(geom_type);
        pbf::put_bytes_field(out, pbf::FEATURE_GEOMETRY, &self.geometry);
        self.feature_count += 1;
    }

    /// Payload bytes of this layer's `Layer` message.
    fn encoded_len(&self) -> usize {
        pbf::bytes_field_len(self.name.len())
            + self.features.len()
            + self.dictionary.keys.len()
            + self.dictionary.values.len()
            + 1
            + pbf::varint_len(u64::from(self.extent))
            + 2
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(pbf::TILE_LAYERS);
        pbf::put_varint(out, self.encoded_len() as u64);
        pbf::put_bytes_field(out, pbf::LAYER_NAME, self.name.as_bytes());
        out.extend_from_slice(&self.features);
        out.extend_from_slice(&self.dictionary.keys);
        out.extend_from_slice(&self.dictionary.values);
        out.push(pbf::LAYER_EXTENT);
        pbf::put_varint(out, u64::from(self.extent));
        out.push(pbf::LAYER_VERSION);
        out.push(2);
    }
}

/// A polygon feature under construction: call [`exterior`](Self::exterior) to start
/// each polygon, [`interior`](Self::interior) for its holes, then
/// [`finish`](Self::finish). Dropping it without `finish` writes nothing.
///
/// Each ring is rounded to the nearest integer, clipped to the buffered square
/// `[-buffer, extent + buffer]²`, stripped of repeated, collinear and spike vertices,
/// and dropped if it keeps fewer than 3 vertices or no area. Exterior rings are
/// written with a positive area by the spec's surveyor's formula (clockwise on screen,
/// y down) and holes with a negative one, whatever the input winding.
#[must_use = "nothing is written until finish() is called"]
pub struct PolygonFeature<'l> {
    layer: &'l mut LayerEncoder,
    cursor: IPoint,
    exterior_kept: bool,
}

impl PolygonFeature<'_> {
    /// Adds the exterior ring of a new polygon. Returns whether it survived clipping;
    /// when it did not, the holes given next are ignored.
    pub fn exterior<I: IntoIterator<Item = [f64; 2]>>(&mut self, ring: I) -> bool {
        self.exterior_kept = self.push_ring(ring, true);
        self.exterior_kept
    }

    /// Adds a hole to the polygon started by the last [`exterior`](Self::exterior).
    /// Returns whether it was written.
    pub fn interior<I: IntoIterator<Item = [f64; 2]>>(&mut self, ring: I) -> bool {
        self.exterior_kept && self.push_ring(ring, false)
    }

    /// Writes the feature if any ring was kept; returns whether it was written.
    pub fn finish(self, id: Option<u64>, props: &[(&str, PropValue<'_>)]) -> bool {
        if self.layer.geometry.is_empty() {
            return false;
        }
        self.layer.write_feature(id, pbf::GEOM_POLYGON, props);
        true
    }

    /// Adds a ring in integer tile units (already rounded); otherwise as
    /// [`exterior`](Self::exterior).
    pub fn exterior_int<I: IntoIterator<Item = [i64; 2]>>(&mut self, ring: I) -> bool {
        let layer = &mut *self.layer;
        let prepared = layer.ring.prepare_int(ring, layer.square);
        self.exterior_kept = write_ring(&mut layer.geometry, &mut self.cursor, prepared, true);
        self.exterior_kept
    }

    /// A hole in integer tile units; otherwise as [`interior`](Self::interior).
    pub fn interior_int<I: IntoIterator<Item = [i64; 2]>>(&mut self, ring: I) -> bool {
        if !self.exterior_kept {
            return false;
        }
        let layer = &mut *self.layer;
        let prepared = layer.ring.prepare_int(ring, layer.square);
        write_ring(&mut layer.geometry, &mut self.cursor, prepared, false)
    }

    /// Adds a ring encoded once by [`super::WholeRingEncoder`] in units that are this tile's
    /// plus `origin`, when the buffered square holds it whole: `Some(kept)` as
    /// [`exterior`](Self::exterior) or [`interior`](Self::interior) would answer (and
    /// the same bytes), or `None`, having done nothing, when it does not: give its
    /// vertices then. `exterior` must be what the ring was encoded as.
    pub fn whole_ring(
        &mut self,
        ring: &WholeRing,
        bytes: &[u8],
        origin: [i64; 2],
        exterior: bool,
    ) -> Option<bool> {
        let square = self.layer.square;
        let min = [
            ring.min[0].saturating_sub(origin[0]),
            ring.min[1].saturating_sub(origin[1]),
        ];
        let max = [
            ring.max[0].saturating_sub(origin[0]),
            ring.max[1].saturating_sub(origin[1]),
        ];
        if !(square.contains(min) && square.contains(max)) {
            return None;
        }
        if !exterior && !self.exterior_kept {
            return Some(false);
        }
        let kept = !bytes.is_empty();
        if kept {
            let geometry = &mut self.layer.geometry;
            put_u32(geometry, command(pbf::CMD_MOVE_TO, 1));
            push_delta(
                geometry,
                &mut self.cursor,
                [ring.first[0] - origin[0], ring.first[1] - origin[1]],
            );
            geometry.extend_from_slice(bytes);
            put_u32(geometry, command(pbf::CMD_CLOSE_PATH, 1));
            self.cursor = [ring.last[0] - origin[0], ring.last[1] - origin[1]];
        }
        if exterior {
            self.exterior_kept = kept;
        }
        Some(kept)
    }

    fn push_ring<I: IntoIterator<Item = [f64; 2]>>(&mut self, ring: I, exterior: bool) -> bool {
        let layer = &mut *self.layer;
        let prepared = layer.ring.prepare(ring, layer.square);
        write_ring(&mut layer.geometry, &mut self.cursor, prepared, exterior)
    }
}

/// Writes a prepared ring (MoveTo, LineTo, ClosePath) from `cursor`, wound as the spec
/// wants for an exterior ring or a hole. False when nothing is left to write.
fn write_ring(
    geometry: &mut Vec<u8>,
    cursor: &mut IPoint,
    prepared: Option<(&[IPoint], i128)>,
    exterior: bool,
) -> bool {
    let Some((points, area2)) = prepared else {
        return false;
    };
    if points.len() > pbf::MAX_COMMAND_COUNT {
        return false;
    }
    let (first, rest) = points.split_at(1);
    put_u32(geometry, command(pbf::CMD_MOVE_TO, 1));
    push_delta(geometry, cursor, first[0]);
    write_line_to(geometry, cursor, rest, (area2 > 0) == exterior);
    put_u32(geometry, command(pbf::CMD_CLOSE_PATH, 1));
    true
}

/// The LineTo command of a ring's vertices after the first, in their order (`forward`) or
/// the reverse, from `cursor`.
pub(super) fn write_line_to(
    geometry: &mut Vec<u8>,
    cursor: &mut IPoint,
    rest: &[IPoint],
    forward: bool,
) {
    put_u32(geometry, command(pbf::CMD_LINE_TO, rest.len() as u32));
    // Keep the start vertex and walk the other way when the winding is wrong.
    if forward {
        rest.iter().for_each(|&p| push_delta(geometry, cursor, p));
    } else {
        rest.iter()
            .rev()
            .for_each(|&p| push_delta(geometry, cursor, p));
    }
}

/// Appends a geometry integer as a varint; one byte for most deltas.
#[inline]
fn put_u32(geometry: &mut Vec<u8>, v: u32) {
    if v < 0x80 {
        geometry.push(v as u8);
    } else {
        pbf::put_varint(geometry, u64::from(v));
    }
}

/// Appends the zigzag delta from `cursor` to `p` and moves the cursor.
#[inline]
fn push_delta(geometry: &mut Vec<u8>, cursor: &mut IPoint, p: IPoint) {
    // Both points lie in the buffered square, so each delta fits an i32 (MAX_EXTENT).
    put_u32(geometry, zigzag((p[0] - cursor[0]) as i32));
    put_u32(geometry, zigzag((p[1] - cursor[1]) as i32));
    *cursor = p;
}

/// Builds one Mapbox Vector Tile (spec v2.1).
///
/// Coordinates are tile units as `f64`: `0..extent` inside the tile, y down.
/// Everything is kept inside the buffered square `[-buffer, extent + buffer]²`.
#[derive(Debug)]
pub struct TileEncoder {
    extent: u32,
    buffer: u32,
    layers: Vec<LayerEncoder>,
}

impl TileEncoder {
    /// A tile of `extent` units a side (usually 4096) keeping `buffer` units around it.
    /// Both are clamped to [`MAX_EXTENT`] (extent at least 1).
    pub fn new(extent: u32, buffer: u32) -> Self {
        TileEncoder {
            extent: extent.clamp(1, MAX_EXTENT),
            buffer: buffer.min(MAX_EXTENT),
            layers: Vec::new(),
        }
    }

    /// The extent written in every layer.
    pub fn extent(&self) -> u32 {
        self.extent
    }

    /// The buffer around the tile, in tile units.
    pub fn buffer(&self) -> u32 {
        self.buffer
    }

    /// The layer called `name`, created on first use. Layers are written in the order
    /// they were first asked for.
    pub fn layer(&mut self, name: &str) -> &mut LayerEncoder {
        let index = match self.layers.iter().position(|l| l.name == name) {
            Some(i) => i,
            None => {
                self.layers
                    .push(LayerEncoder::new(name, self.extent, self.buffer));
                self.layers.len() - 1
            }
        };
        &mut self.layers[index]
    }

    /// True when no layer holds a feature (the tile would encode to zero bytes).
    pub fn is_empty(&self) -> bool {
        self.layers.iter().all(|l| l.feature_count == 0)
    }

    /// The encoded tile. Layers without features are left out.
    pub fn encode(mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoded tile to `out` and empties every layer, keeping the buffers
    /// for the next tile.
    pub fn encode_into(&mut self, out: &mut Vec<u8>) {
        let total: usize = self
            .layers
            .iter()
            .filter(|l| l.feature_count > 0)
            .map(|l| pbf::bytes_field_len(l.encoded_len()))
            .sum();
        out.reserve(total);
        for layer in self.layers.iter_mut().filter(|l| l.feature_count > 0) {
            layer.encode_into(out);
        }
        for layer in &mut self.layers {
            layer.clear();
        }
    }
}

#[cfg(test)]
mod dictionary_tests {
    use super::*;

    /// Each distinct string gets one index, in first-seen order, however its hash
    /// collides with the others' (a two-bit hash: nearly every string collides).
    #[test]
    fn string_values_are_found_again_when_their_hashes_collide() {
        for mask in [None, Some(0b11)] {
            let mut d = Dictionary {
                hash_mask: mask,
                ..Dictionary::default()
            };
            let words: Vec<String> = (0..500).map(|i| format!("commune-{}", i % 137)).collect();
            let mut first: HashMap<&str, u32> = HashMap::new();
            for (k, w) in words.iter().enumerate() {
                // Other kinds of values in between take indexes of their own.
                if k % 50 == 0 {
                    d.value(PropValue::UInt(k as u64));
                }
                let i = d.value(PropValue::Str(w));
                assert_eq!(*first.entry(w).or_insert(i), i, "{w} with mask {mask:?}");
            }
            let mut indexes: Vec<u32> = first.values().copied().collect();
            indexes.sort_unstable();
            indexes.dedup();
            assert_eq!(indexes.len(), 137, "mask {mask:?}");
            assert_eq!(d.value_count, 137 + 10, "mask {mask:?}");
            let written = d.values.iter().filter(|b| **b == pbf::LAYER_VALUES).count();
            assert!(written >= 147, "mask {mask:?}: {written} value fields");
        }
    }
}
