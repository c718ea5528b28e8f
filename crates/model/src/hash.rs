//! Stable hashes: the state store persists them, so the algorithm (XXH3) and the byte
//! layout fed to it must never change.

use crate::{Kind, Row};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64};

/// Identity of a Canvas object: 128-bit hash of its kind and SIS key. Collisions are
/// not a practical concern at 128 bits (2^-64 at billions of keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyHash(pub u128);

impl KeyHash {
    pub fn of(kind: Kind, key: &str) -> KeyHash {
        let mut buf = Vec::with_capacity(kind.as_str().len() + 1 + key.len());
        buf.extend_from_slice(kind.as_str().as_bytes());
        buf.push(0);
        buf.extend_from_slice(key.as_bytes());
        KeyHash(xxh3_128(&buf))
    }

    /// The key hash of a composite key given as parts, using `buf` as scratch space.
    pub fn of_parts(kind: Kind, parts: &[&str], buf: &mut Vec<u8>) -> KeyHash {
        buf.clear();
        buf.extend_from_slice(kind.as_str().as_bytes());
        buf.push(0);
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                let mut sep = [0u8; 4];
                buf.extend_from_slice(KEY_SEPARATOR.encode_utf8(&mut sep).as_bytes());
            }
            buf.extend_from_slice(p.as_bytes());
        }
        KeyHash(xxh3_128(buf))
    }

    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    pub fn from_bytes(b: [u8; 16]) -> KeyHash {
        KeyHash(u128::from_be_bytes(b))
    }
}

/// Separator between the parts of a composite key (enrollments, observer links).
/// U+001F (unit separator) cannot appear in a CSV id that Canvas would accept.
pub const KEY_SEPARATOR: char = '\u{1f}';

/// Builds a composite key from parts.
pub fn composite_key(parts: &[&str]) -> String {
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            key.push(KEY_SEPARATOR);
        }
        key.push_str(p);
    }
    key
}

/// Renders a composite key for people: parts joined with ` / `.
pub fn display_key(key: &str) -> String {
    key.replace(KEY_SEPARATOR, " / ")
}

/// Content hash of a row: every column name and value, in order. The status column
/// is included: a status change is a change.
pub fn content_hash(row: &Row) -> u64 {
    let mut buf = Vec::with_capacity(256);
    content_hash_of(row.kind, row.values.iter().map(|v| v.as_str()), &mut buf)
}

/// Content hash of a kind's cell values given in column order, using `buf` as scratch
/// space (hot path: no allocation once `buf` has grown). Equal to [`content_hash`] of
/// the same row.
pub fn content_hash_of<'a>(
    kind: Kind,
    values: impl Iterator<Item = &'a str>,
    buf: &mut Vec<u8>,
) -> u64 {
    buf.clear();
    buf.extend_from_slice(kind.as_str().as_bytes());
    for (col, value) in kind.columns().iter().zip(values) {
        buf.push(0x1e);
        buf.extend_from_slice(col.as_bytes());
        buf.push(0x1f);
        buf.extend_from_slice(value.as_bytes());
    }
    xxh3_64(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hash_separates_kinds_and_is_stable() {
        assert_ne!(
            KeyHash::of(Kind::Users, "1"),
            KeyHash::of(Kind::Courses, "1")
        );
        assert_eq!(KeyHash::of(Kind::Users, "1"), KeyHash::of(Kind::Users, "1"));
        let k = KeyHash::of(Kind::Users, "007");
        assert_eq!(KeyHash::from_bytes(k.to_bytes()), k);
        // Pinned: the state store relies on this value never changing.
        assert_eq!(
            format!("{:032x}", KeyHash::of(Kind::Users, "u1").0),
            format!("{:032x}", xxh3_128(b"users\0u1"))
        );
    }

    #[test]
    fn content_hash_sees_every_cell_and_its_position() {
        let a = Row::from_pairs(Kind::Users, [("user_id", "1"), ("first_name", "ab")]);
        let b = Row::from_pairs(Kind::Users, [("user_id", "1"), ("last_name", "ab")]);
        let c = Row::from_pairs(Kind::Users, [("user_id", "1"), ("first_name", "ab")]);
        assert_ne!(content_hash(&a), content_hash(&b));
        assert_eq!(content_hash(&a), content_hash(&c));
    }

    #[test]
    fn hashing_from_parts_equals_hashing_the_joined_key() {
        let mut buf = Vec::new();
        let joined = composite_key(&["S1", "U1", "student"]);
        assert_eq!(
            KeyHash::of_parts(Kind::Enrollments, &["S1", "U1", "student"], &mut buf),
            KeyHash::of(Kind::Enrollments, &joined)
        );
        let row = Row::from_pairs(Kind::Users, [("user_id", "1"), ("first_name", "ab")]);
        assert_eq!(
            content_hash_of(Kind::Users, row.values.iter().map(|v| v.as_str()), &mut buf),
            content_hash(&row)
        );
    }

    #[test]
    fn composite_keys_round_trip_for_display() {
        let k = composite_key(&["S1", "U1", "student"]);
        assert_eq!(display_key(&k), "S1 / U1 / student");
    }
}
