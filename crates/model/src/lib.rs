//! Plain data shared by every stage of rosterbridge.
//!
//! * [`roster`]: the canonical SIS model every source produces (OneRoster-shaped).
//! * [`canvas`]: the desired Canvas state the mapping produces.
//! * [`kind`]: the Canvas SIS-import CSV kinds, their columns and statuses, and [`Row`].
//! * [`hash`]: stable key and content hashes (the state store persists them, so they
//!   must never change between versions).
//!
//! No I/O, no clock, no randomness: everything here is data.

pub mod canvas;
pub mod date;
pub mod diag;
pub mod hash;
pub mod index;
pub mod kind;
pub mod provenance;
pub mod roster;
pub mod texts;

pub use compact_str::CompactString as Str;
pub use diag::{Diagnostic, Location, Severity};
pub use kind::{Kind, Row};
pub use provenance::{SourceRef, SourceTable};

use serde::{Deserialize, Serialize};
use std::fmt;

/// An identifier from the SIS (a OneRoster `sourcedId`) or a Canvas SIS id.
///
/// Ids are exact strings: leading zeros, case and Unicode are preserved and compared
/// byte for byte. Short ids (up to 24 bytes) are stored inline without allocation,
/// which matters at state-wide scale.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct SisId(Str);

impl SisId {
    pub fn new(s: impl AsRef<str>) -> Self {
        SisId(Str::new(s.as_ref()))
    }
    // Called in every hot loop of mapping and planning, across crates: without the hint
    // each call is a real call unless the build uses LTO.
    #[inline]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SisId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0.as_str())
    }
}

impl fmt::Display for SisId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl From<&str> for SisId {
    fn from(s: &str) -> Self {
        SisId::new(s)
    }
}

impl AsRef<str> for SisId {
    #[inline]
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for SisId {
    #[inline]
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sis_ids_keep_leading_zeros_case_and_unicode() {
        let a = SisId::new("007");
        let b = SisId::new("7");
        assert_ne!(a, b);
        assert_ne!(SisId::new("Abc"), SisId::new("abc"));
        assert_eq!(SisId::new("élève-01").as_str(), "élève-01");
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"007\"");
    }
}
