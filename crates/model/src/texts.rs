//! A user's text fields and id lists packed into one allocation.
//!
//! A state-wide roster holds half a million users and more. Held as separate strings
//! and small vectors, their names, login, email and id lists took 216 bytes of every
//! user record plus a heap allocation for each long email and each second org or agent;
//! packed, they take 16 bytes and one allocation of about the size of the text itself
//! (docs/benchmarks.md).
//!
//! The encoding: each field is its length then its bytes; each list is its item count
//! then its items. A length or count below 127 is one byte (an ASCII character); a
//! larger one is the byte 127, its decimal digits and `:`. Every byte outside the texts
//! is ASCII, so the whole is valid UTF-8 and every field is a `&str` slice of it.

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::fmt;

/// The packed texts of a [`crate::roster::User`]. Equal texts pack to equal bytes.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "UserTextsOwned", into = "UserTextsOwned")]
pub struct UserTexts(Box<str>);

/// The fields of [`UserTexts`], borrowed: what a source fills in to build them.
/// Empty `identifier` and `email` mean "none".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserTextsRef<'a> {
    pub username: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub identifier: &'a str,
    pub email: &'a str,
    pub middle_name: &'a str,
    pub preferred_given_name: &'a str,
    pub preferred_middle_name: &'a str,
    pub preferred_family_name: &'a str,
    pub pronouns: &'a str,
    pub user_master_identifier: &'a str,
    pub sms: &'a str,
    pub phone: &'a str,
    pub grades: &'a [&'a str],
    pub orgs: &'a [&'a str],
    pub agents: &'a [&'a str],
}

/// The fields of [`UserTexts`], owned: for changing one of them, and for serde.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTextsOwned {
    pub username: String,
    pub given_name: String,
    pub family_name: String,
    #[serde(default)]
    pub identifier: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub middle_name: String,
    #[serde(default)]
    pub preferred_given_name: String,
    #[serde(default)]
    pub preferred_middle_name: String,
    #[serde(default)]
    pub preferred_family_name: String,
    #[serde(default)]
    pub pronouns: String,
    #[serde(default)]
    pub user_master_identifier: String,
    #[serde(default)]
    pub sms: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub grades: Vec<String>,
    #[serde(default)]
    pub orgs: Vec<String>,
    #[serde(default)]
    pub agents: Vec<String>,
}

const LONG: u8 = 0x7f;

fn len_size(n: usize) -> usize {
    if n < LONG as usize {
        1
    } else {
        // 127, the digits, ':'
        2 + n.checked_ilog10().unwrap_or(0) as usize + 1
    }
}

fn put_len(out: &mut String, n: usize) {
    if n < LONG as usize {
        out.push(char::from(n as u8));
    } else {
        out.push(char::from(LONG));
        out.push_str(&n.to_string());
        out.push(':');
    }
}

fn put_text(out: &mut String, s: &str) {
    put_len(out, s.len());
    out.push_str(s);
}

fn put_list(out: &mut String, items: &[&str]) {
    put_len(out, items.len());
    for s in items {
        put_text(out, s);
    }
}

fn list_size(items: &[&str]) -> usize {
    len_size(items.len())
        + items
            .iter()
            .map(|s| len_size(s.len()) + s.len())
            .sum::<usize>()
}

/// Reads fields off the packed text, front to back.
#[derive(Clone)]
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn len(&mut self) -> usize {
        let bytes = self.s.as_bytes();
        match bytes.get(self.pos) {
            Some(&b) if b < LONG => {
                self.pos += 1;
                b as usize
            }
            Some(_) => {
                self.pos += 1;
                let mut n = 0usize;
                while let Some(&d) = bytes.get(self.pos) {
                    self.pos += 1;
                    if d == b':' {
                        break;
                    }
                    n = n
                        .saturating_mul(10)
                        .saturating_add(d.wrapping_sub(b'0') as usize);
                }
                n
            }
            None => 0,
        }
    }

    fn text(&mut self) -> &'a str {
        let n = self.len();
        let start = self.pos;
        self.pos = start.saturating_add(n);
        // Always a char boundary for packed texts built here; "" rather than a panic if not.
        self.s.get(start..self.pos).unwrap_or("")
    }

    fn skip(&mut self, fields: usize) {
        for _ in 0..fields {
            self.text();
        }
    }

    fn skip_list(&mut self) {
        let n = self.len();
        self.skip(n);
    }
}

/// The items of one packed list (a user's grades, orgs or agents).
#[derive(Clone)]
pub struct ListIter<'a> {
    cursor: Cursor<'a>,
    left: usize,
}

impl<'a> Iterator for ListIter<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(self.cursor.text())
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for ListIter<'_> {}

impl fmt::Debug for ListIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

/// `UserTexts::email()` and the like: the optional fields, `None` when empty.
macro_rules! optional_accessors {
    ($($name:ident => $field:ident),* $(,)?) => {
        impl UserTexts {
            $(pub fn $name(&self) -> Option<&str> {
                self.optional(Field::$field)
            })*
        }
    };
}

optional_accessors!(
    identifier => Identifier,
    email => Email,
    middle_name => MiddleName,
    preferred_given_name => PreferredGivenName,
    preferred_middle_name => PreferredMiddleName,
    preferred_family_name => PreferredFamilyName,
    pronouns => Pronouns,
    user_master_identifier => UserMasterIdentifier,
    sms => Sms,
    phone => Phone,
);

/// The position of each field in the packed order.
#[derive(Clone, Copy)]
enum Field {
    Username = 0,
    GivenName,
    FamilyName,
    Identifier,
    Email,
    MiddleName,
    PreferredGivenName,
    PreferredMiddleName,
    PreferredFamilyName,
    Pronouns,
    UserMasterIdentifier,
    Sms,
    Phone,
}

const SCALARS: usize = Field::Phone as usize + 1;

#[derive(Clone, Copy)]
enum List {
    Grades = 0,
    Orgs,
    Agents,
}

impl UserTexts {
    /// Packs the fields in one allocation of exactly their size.
    pub fn new(r: &UserTextsRef<'_>) -> Self {
        // In `Field` order.
        let scalars = [
            r.username,
            r.given_name,
            r.family_name,
            r.identifier,
            r.email,
            r.middle_name,
            r.preferred_given_name,
            r.preferred_middle_name,
            r.preferred_family_name,
            r.pronouns,
            r.user_master_identifier,
            r.sms,
            r.phone,
        ];
        let size = scalars
            .iter()
            .map(|s| len_size(s.len()) + s.len())
            .sum::<usize>()
            + list_size(r.grades)
            + list_size(r.orgs)
            + list_size(r.agents);
        let mut out = String::with_capacity(size);
        for s in scalars {
            put_text(&mut out, s);
        }
        put_list(&mut out, r.grades);
        put_list(&mut out, r.orgs);
        put_list(&mut out, r.agents);
        UserTexts(out.into_boxed_str())
    }

    fn scalar(&self, f: Field) -> &str {
        let mut c = Cursor { s: &self.0, pos: 0 };
        c.skip(f as usize);
        c.text()
    }

    fn list(&self, l: List) -> ListIter<'_> {
        let mut c = Cursor { s: &self.0, pos: 0 };
        c.skip(SCALARS);
        for _ in 0..l as usize {
            c.skip_list();
        }
        let left = c.len();
        ListIter { cursor: c, left }
    }

    pub fn username(&self) -> &str {
        self.scalar(Field::Username)
    }
    pub fn given_name(&self) -> &str {
        self.scalar(Field::GivenName)
    }
    pub fn family_name(&self) -> &str {
        self.scalar(Field::FamilyName)
    }
    fn optional(&self, f: Field) -> Option<&str> {
        Some(self.scalar(f)).filter(|s| !s.is_empty())
    }
    pub fn grades(&self) -> ListIter<'_> {
        self.list(List::Grades)
    }
    pub fn orgs(&self) -> ListIter<'_> {
        self.list(List::Orgs)
    }
    pub fn agents(&self) -> ListIter<'_> {
        self.list(List::Agents)
    }

    /// Every field, owned.
    pub fn to_owned_fields(&self) -> UserTextsOwned {
        let own = |it: ListIter<'_>| it.map(str::to_string).collect();
        UserTextsOwned {
            username: self.username().to_string(),
            given_name: self.given_name().to_string(),
            family_name: self.family_name().to_string(),
            identifier: self.identifier().unwrap_or("").to_string(),
            email: self.email().unwrap_or("").to_string(),
            middle_name: self.middle_name().unwrap_or("").to_string(),
            preferred_given_name: self.preferred_given_name().unwrap_or("").to_string(),
            preferred_middle_name: self.preferred_middle_name().unwrap_or("").to_string(),
            preferred_family_name: self.preferred_family_name().unwrap_or("").to_string(),
            pronouns: self.pronouns().unwrap_or("").to_string(),
            user_master_identifier: self.user_master_identifier().unwrap_or("").to_string(),
            sms: self.sms().unwrap_or("").to_string(),
            phone: self.phone().unwrap_or("").to_string(),
            grades: own(self.grades()),
            orgs: own(self.orgs()),
            agents: own(self.agents()),
        }
    }

    /// Changes fields (repacks: for the rare edits, not for reading).
    pub fn edit(&mut self, f: impl FnOnce(&mut UserTextsOwned)) {
        let mut owned = self.to_owned_fields();
        f(&mut owned);
        *self = UserTexts::from(owned);
    }
}

impl From<UserTextsOwned> for UserTexts {
    fn from(o: UserTextsOwned) -> Self {
        fn refs(v: &[String]) -> SmallVec<[&str; 4]> {
            v.iter().map(String::as_str).collect()
        }
        let (grades, orgs, agents) = (refs(&o.grades), refs(&o.orgs), refs(&o.agents));
        UserTexts::new(&UserTextsRef {
            username: &o.username,
            given_name: &o.given_name,
            family_name: &o.family_name,
            identifier: &o.identifier,
            email: &o.email,
            middle_name: &o.middle_name,
            preferred_given_name: &o.preferred_given_name,
            preferred_middle_name: &o.preferred_middle_name,
            preferred_family_name: &o.preferred_family_name,
            pronouns: &o.pronouns,
            user_master_identifier: &o.user_master_identifier,
            sms: &o.sms,
            phone: &o.phone,
            grades: &grades,
            orgs: &orgs,
            agents: &agents,
        })
    }
}

impl From<UserTexts> for UserTextsOwned {
    fn from(t: UserTexts) -> Self {
        t.to_owned_fields()
    }
}

impl fmt::Debug for UserTexts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserTexts")
            .field("username", &self.username())
            .field("given_name", &self.given_name())
            .field("family_name", &self.family_name())
            .field("identifier", &self.identifier())
            .field("email", &self.email())
            .field("middle_name", &self.middle_name())
            .field("preferred_given_name", &self.preferred_given_name())
            .field("preferred_middle_name", &self.preferred_middle_name())
            .field("preferred_family_name", &self.preferred_family_name())
            .field("pronouns", &self.pronouns())
            .field("user_master_identifier", &self.user_master_identifier())
            .field("sms", &self.sms())
            .field("phone", &self.phone())
            .field("grades", &self.grades())
            .field("orgs", &self.orgs())
            .field("agents", &self.agents())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_fields_read_back_exactly() {
        let long = "x".repeat(300);
        let t = UserTexts::new(&UserTextsRef {
            username: "Ünïcode.user",
            given_name: "Mary\nAnn",
            family_name: "",
            identifier: "007",
            email: &long,
            phone: "555-0100",
            grades: &["09"],
            orgs: &["s1", "", "s,2"],
            agents: &[],
            ..Default::default()
        });
        assert_eq!(t.username(), "Ünïcode.user");
        assert_eq!(t.given_name(), "Mary\nAnn");
        assert_eq!(t.family_name(), "");
        assert_eq!(t.identifier(), Some("007"));
        assert_eq!(t.email(), Some(long.as_str()));
        assert_eq!(
            (t.phone(), t.sms(), t.middle_name()),
            (Some("555-0100"), None, None)
        );
        assert_eq!(t.grades().collect::<Vec<_>>(), ["09"]);
        assert_eq!(t.orgs().len(), 3);
        assert_eq!(t.orgs().collect::<Vec<_>>(), ["s1", "", "s,2"]);
        assert_eq!(t.agents().next(), None);
        // One allocation of exactly the packed size.
        // 15 + 9 + 1 + 4 + 305 (email: 127, "300", ':', text) + 7 empty + 9 (phone)
        // + 4 + 9 + 1 (lists)
        assert_eq!(t.0.len(), 364);
    }

    #[test]
    fn lengths_at_and_over_one_byte_round_trip() {
        for n in [0usize, 1, 126, 127, 128, 999, 1000, 70_000] {
            let s = "é".repeat(n / 2) + &"a".repeat(n % 2);
            let items: Vec<&str> = std::iter::repeat_n("id", n.min(300)).collect();
            let t = UserTexts::new(&UserTextsRef {
                username: &s,
                agents: &items,
                email: "e@x",
                ..Default::default()
            });
            assert_eq!(t.username(), s, "length {n}");
            assert_eq!(t.agents().count(), n.min(300));
            assert_eq!(t.email(), Some("e@x"));
            assert_eq!(t.identifier(), None);
        }
    }

    #[test]
    fn edits_repack_and_serde_keeps_the_fields() {
        let mut t = UserTexts::new(&UserTextsRef {
            username: "u1",
            orgs: &["s1"],
            agents: &["p1", "p2"],
            ..Default::default()
        });
        t.edit(|f| {
            f.agents.retain(|a| a != "p1");
            f.email = "u1@x".into();
        });
        assert_eq!(t.agents().collect::<Vec<_>>(), ["p2"]);
        assert_eq!(t.email(), Some("u1@x"));
        assert_eq!(t.orgs().collect::<Vec<_>>(), ["s1"]);
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("\"agents\":[\"p2\"]"), "{json}");
        let back: UserTexts = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
    }
}
