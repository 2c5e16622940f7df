//! Department codes as the referential writes them, normalised and packed for hashing.

use std::fmt;

/// An INSEE department code ("01", "2A", "974") packed into a `u32`, first byte highest,
/// so the integer order is the text order. Two-character codes leave the last byte 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeptKey(u32);

impl DeptKey {
    /// Normalises the codes found in referentials and occurrence files: "1" → "01",
    /// "2a" → "2A", "D4" → "974" (the INPN's code for Réunion; D1–D6 are read as 971–976
    /// by the same pattern, only D4 occurs in the shipped referential). Refuses anything
    /// else: empty, "00", "2C", more than 3 characters, 3 digits not starting with 97/98.
    /// No allocation: called once per observation.
    pub fn parse(code: &str) -> Option<DeptKey> {
        let b = code.trim().as_bytes();
        let packed = |x: u8, y: u8, z: u8| {
            Some(DeptKey(
                (u32::from(x) << 16) | (u32::from(y) << 8) | u32::from(z),
            ))
        };
        match *b {
            [d] if d.is_ascii_digit() && d != b'0' => packed(b'0', d, 0),
            [b'2', c] if matches!(c, b'A' | b'B' | b'a' | b'b') => {
                packed(b'2', c.to_ascii_uppercase(), 0)
            }
            [x, y] if x.is_ascii_digit() && y.is_ascii_digit() && (x, y) != (b'0', b'0') => {
                packed(x, y, 0)
            }
            [b'D' | b'd', n] if (b'1'..=b'6').contains(&n) => packed(b'9', b'7', n),
            [b'9', y, z] if matches!(y, b'7' | b'8') && z.is_ascii_digit() => packed(b'9', y, z),
            _ => None,
        }
    }

    /// The packed value: the high half of the referential's (department, cd_nom) keys.
    pub(crate) fn raw(self) -> u32 {
        self.0
    }
}

impl fmt::Display for DeptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for shift in [16, 8, 0] {
            let byte = (self.0 >> shift) as u8;
            if byte != 0 {
                write!(f, "{}", char::from(byte))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> Option<String> {
        DeptKey::parse(s).map(|k| k.to_string())
    }

    #[test]
    fn normalises_referential_quirks() {
        assert_eq!(norm("1").as_deref(), Some("01"));
        assert_eq!(norm("01").as_deref(), Some("01"));
        assert_eq!(norm("D4").as_deref(), Some("974"));
        assert_eq!(norm("974").as_deref(), Some("974"));
        assert_eq!(norm("2A").as_deref(), Some("2A"));
        assert_eq!(norm("2b").as_deref(), Some("2B"));
        assert_eq!(norm(" 95 ").as_deref(), Some("95"));
        for bad in ["", "0", "00", "2C", "D7", "123", "9741", "A1", "x"] {
            assert_eq!(norm(bad), None, "{bad:?} should be refused");
        }
    }

    #[test]
    fn packed_order_is_text_order() {
        let mut codes = ["974", "2B", "01", "95", "2A", "10"];
        let mut keys: Vec<DeptKey> = codes.iter().filter_map(|c| DeptKey::parse(c)).collect();
        keys.sort();
        codes.sort();
        let back: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        assert_eq!(back, codes);
    }
}
