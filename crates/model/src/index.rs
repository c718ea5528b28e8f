//! [`IdIndex`]: find a record by its id without a second copy of every id.
//!
//! A `HashMap<SisId, u32>` over half a million users costs ~32 MB, most of it copies of
//! ids the records already hold. This index keeps a position and 32 bits of the id's hash
//! (8 bytes an id), so growing never reads the records, and a lookup reads a record only
//! to confirm a match.

use hashbrown::HashTable;
use std::hash::BuildHasher;

/// Positions of records by id; the ids themselves stay in the records.
#[derive(Default, Clone)]
pub struct IdIndex {
    /// (position, 32-bit hash of its id).
    table: HashTable<(u32, u32)>,
}

impl std::fmt::Debug for IdIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdIndex({} ids)", self.table.len())
    }
}

#[inline]
fn hash32(id: &str) -> u32 {
    let h = rustc_hash::FxBuildHasher.hash_one(id);
    (h ^ (h >> 32)) as u32
}

/// The table's hash from the stored 32 bits: hashbrown takes buckets from the low bits
/// and its tags from the top 7, so both halves carry them.
#[inline]
fn widen(h: u32) -> u64 {
    ((h as u64) << 32) | h as u64
}

impl IdIndex {
    pub fn with_capacity(n: usize) -> Self {
        IdIndex {
            table: HashTable::with_capacity(n),
        }
    }

    /// Indexes every record of a slice by the id `id_of` gives; on equal ids the first wins.
    pub fn of<T>(records: &[T], id_of: impl Fn(&T) -> &str) -> Self {
        let mut index = IdIndex::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let _ = index.insert(id_of(r), i as u32, |p| id_of(&records[p as usize]));
        }
        index
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The position of `id`; `id_at` gives the id of an indexed position.
    pub fn get<'a>(&self, id: &str, id_at: impl Fn(u32) -> &'a str) -> Option<u32> {
        let h = hash32(id);
        self.table
            .find(widen(h), |&(p, ph)| ph == h && id_at(p) == id)
            .map(|&(p, _)| p)
    }

    /// Adds `id` at `pos`, or returns the position that already holds it.
    pub fn insert<'a>(
        &mut self,
        id: &str,
        pos: u32,
        id_at: impl Fn(u32) -> &'a str,
    ) -> Result<(), u32> {
        if let Some(first) = self.get(id, id_at) {
            return Err(first);
        }
        self.insert_new(id, pos);
        Ok(())
    }

    /// Adds `id` at `pos` without looking for it first: for a caller that just did.
    pub fn insert_new(&mut self, id: &str, pos: u32) {
        let h = hash32(id);
        self.table
            .insert_unique(widen(h), (pos, h), |&(_, h)| widen(h));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_id_reports_the_first_holder_of_a_duplicate_and_compares_exactly() {
        let ids = ["007", "7", "Abc", "abc", "élève"];
        let mut ix = IdIndex::default();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(ix.insert(id, i as u32, |p| ids[p as usize]), Ok(()));
        }
        assert_eq!(ix.insert("abc", 9, |p| ids[p as usize]), Err(3));
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(ix.get(id, |p| ids[p as usize]), Some(i as u32));
        }
        assert_eq!(ix.get("ABC", |p| ids[p as usize]), None);
        assert_eq!(ix.get("07", |p| ids[p as usize]), None);
        assert_eq!(ix.len(), 5);
        let of = IdIndex::of(&["x", "y", "x"], |s| s);
        assert_eq!(of.len(), 2);
        assert_eq!(of.get("x", |p| ["x", "y", "x"][p as usize]), Some(0));
    }

    #[test]
    fn grows_past_its_first_capacity() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("u{i:05}")).collect();
        let mut ix = IdIndex::with_capacity(4);
        for (i, id) in ids.iter().enumerate() {
            ix.insert(id, i as u32, |p| ids[p as usize].as_str())
                .unwrap();
        }
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(ix.get(id, |p| ids[p as usize].as_str()), Some(i as u32));
        }
    }
}
