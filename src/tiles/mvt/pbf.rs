//! The few protobuf wire-format primitives the vector tile schema needs.
//!
//! Field tags are written as constants (`(field_number << 3) | wire_type`) so each
//! message field costs one byte push; see `vector_tile.proto` of the MVT spec v2.1.

/// `Tile.layers` (field 3, length-delimited).
pub(crate) const TILE_LAYERS: u8 = (3 << 3) | 2;

/// `Layer.name` (field 1, string).
pub(crate) const LAYER_NAME: u8 = (1 << 3) | 2;
/// `Layer.features` (field 2, message).
pub(crate) const LAYER_FEATURES: u8 = (2 << 3) | 2;
/// `Layer.keys` (field 3, string).
pub(crate) const LAYER_KEYS: u8 = (3 << 3) | 2;
/// `Layer.values` (field 4, message).
pub(crate) const LAYER_VALUES: u8 = (4 << 3) | 2;
/// `Layer.extent` (field 5, uint32).
pub(crate) const LAYER_EXTENT: u8 = 5 << 3;
/// `Layer.version` (field 15, uint32).
pub(crate) const LAYER_VERSION: u8 = 15 << 3;

/// `Feature.id` (field 1, uint64).
pub(crate) const FEATURE_ID: u8 = 1 << 3;
/// `Feature.tags` (field 2, packed uint32).
pub(crate) const FEATURE_TAGS: u8 = (2 << 3) | 2;
/// `Feature.type` (field 3, enum).
pub(crate) const FEATURE_TYPE: u8 = 3 << 3;
/// `Feature.geometry` (field 4, packed uint32).
pub(crate) const FEATURE_GEOMETRY: u8 = (4 << 3) | 2;

/// `Value.string_value` (field 1).
pub(crate) const VALUE_STRING: u8 = (1 << 3) | 2;
/// `Value.float_value` (field 2, fixed32).
pub(crate) const VALUE_FLOAT: u8 = (2 << 3) | 5;
/// `Value.double_value` (field 3, fixed64).
pub(crate) const VALUE_DOUBLE: u8 = (3 << 3) | 1;
/// `Value.int_value` (field 4, int64 varint).
pub(crate) const VALUE_INT: u8 = 4 << 3;
/// `Value.uint_value` (field 5, uint64 varint).
pub(crate) const VALUE_UINT: u8 = 5 << 3;
/// `Value.bool_value` (field 7, varint).
pub(crate) const VALUE_BOOL: u8 = 7 << 3;

/// `GeomType.POINT`.
pub(crate) const GEOM_POINT: u8 = 1;
/// `GeomType.POLYGON`.
pub(crate) const GEOM_POLYGON: u8 = 3;

/// Geometry command ids (spec 4.3.1).
pub(crate) const CMD_MOVE_TO: u32 = 1;
pub(crate) const CMD_LINE_TO: u32 = 2;
pub(crate) const CMD_CLOSE_PATH: u32 = 7;

/// Largest command count: the count shares a `u32` with the 3-bit command id.
pub(crate) const MAX_COMMAND_COUNT: usize = (1 << 29) - 1;

/// A command integer: id in the low 3 bits, repeat count above.
#[inline]
pub(crate) fn command(id: u32, count: u32) -> u32 {
    (count << 3) | (id & 0x7)
}

/// Zigzag-encodes a 32-bit signed parameter (spec 4.3.2).
#[inline]
pub(crate) fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// Bytes a value takes as a varint.
#[inline]
pub(crate) fn varint_len(v: u64) -> usize {
    // 1 byte per started group of 7 bits; 0 still takes one byte.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Appends `v` as a varint.
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-delimited field: tag, length, bytes.
#[inline]
pub(crate) fn put_bytes_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Bytes a length-delimited field of `len` payload bytes takes, tag included.
#[inline]
pub(crate) fn bytes_field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// Payload bytes of a packed `uint32` field.
#[inline]
pub(crate) fn packed_len(values: &[u32]) -> usize {
    values.iter().map(|&v| varint_len(u64::from(v))).sum()
}

/// Appends a packed `uint32` field whose payload length is already known.
#[inline]
pub(crate) fn put_packed(out: &mut Vec<u8>, tag: u8, values: &[u32], payload_len: usize) {
    out.push(tag);
    put_varint(out, payload_len as u64);
    for &v in values {
        put_varint(out, u64::from(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_lengths_match_written_bytes() {
        for v in [0u64, 1, 127, 128, 16_383, 16_384, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "varint length of {v}");
        }
        // Protobuf documentation example: 300 is encoded as ac 02.
        let mut out = Vec::new();
        put_varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }

    #[test]
    fn zigzag_matches_spec_table() {
        // MVT spec 4.3.2 / protobuf sint32 table.
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(-2), 3);
        assert_eq!(zigzag(2_147_483_647), 4_294_967_294);
        assert_eq!(zigzag(-2_147_483_648), 4_294_967_295);
    }

    #[test]
    fn command_integers_match_spec_examples() {
        // Spec 4.3.1: MoveTo ×1 = 9, LineTo ×3 = 26, ClosePath = 15.
        assert_eq!(command(CMD_MOVE_TO, 1), 9);
        assert_eq!(command(CMD_LINE_TO, 3), 26);
        assert_eq!(command(CMD_CLOSE_PATH, 1), 15);
    }
}
