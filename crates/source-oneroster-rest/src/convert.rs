//! OneRoster JSON records → rows of the OneRoster CSV tables.
//!
//! Why CSV: the CSV source already validates every rostering rule (required values,
//! duplicates, references, dates, vocabularies) with located diagnostics, merges deltas and
//! snapshots exchanges for the next run. Feeding it the same tables means a district read
//! over REST yields exactly the roster its CSV export yields, and the rules live in one place.
//! Omitted optional fields become empty cells; omitted required ones become the parser's
//! `missing-value` diagnostics, so a sloppy provider costs rows, not the run.

use rosterbridge_model::SisId;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// How one CSV cell is taken from a JSON record.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cell {
    /// A string (numbers and booleans as text).
    Str(&'static str),
    /// A GUIDRef's `sourcedId` (or a bare string, as some providers send).
    Ref(&'static str),
    /// A list of GUIDRefs → comma list of sourcedIds.
    Refs(&'static str),
    /// A list of strings → comma list.
    List(&'static str),
    /// A boolean sent as JSON `true` or as the string "true"/"TRUE".
    Bool(&'static str),
    /// 1.1 `userIds` [{type, identifier}] → `{type:identifier},...`.
    UserIds,
    /// Never read (passwords).
    Empty,
}

/// One collection and its CSV table.
#[derive(Debug)]
pub(crate) struct TableSpec {
    pub file: &'static str,
    /// The path after the base URL.
    pub path: &'static str,
    /// The JSON wrapper key of a page.
    pub key: &'static str,
    /// The columns after sourcedId, status, dateLastModified.
    pub columns: &'static [(&'static str, Cell)],
}

use Cell::*;

pub(crate) const ORGS: TableSpec = TableSpec {
    file: "orgs.csv",
    path: "orgs",
    key: "orgs",
    columns: &[
        ("name", Str("name")),
        ("type", Str("type")),
        ("identifier", Str("identifier")),
        ("parentSourcedId", Ref("parent")),
    ],
};
pub(crate) const SESSIONS: TableSpec = TableSpec {
    file: "academicSessions.csv",
    path: "academicSessions",
    key: "academicSessions",
    columns: &[
        ("title", Str("title")),
        ("type", Str("type")),
        ("startDate", Str("startDate")),
        ("endDate", Str("endDate")),
        ("parentSourcedId", Ref("parent")),
        ("schoolYear", Str("schoolYear")),
    ],
};
pub(crate) const COURSES: TableSpec = TableSpec {
    file: "courses.csv",
    path: "courses",
    key: "courses",
    columns: &[
        ("schoolYearSourcedId", Ref("schoolYear")),
        ("title", Str("title")),
        ("courseCode", Str("courseCode")),
        ("grades", List("grades")),
        ("orgSourcedId", Ref("org")),
        ("subjects", List("subjects")),
        ("subjectCodes", List("subjectCodes")),
    ],
};
pub(crate) const CLASSES: TableSpec = TableSpec {
    file: "classes.csv",
    path: "classes",
    key: "classes",
    columns: &[
        ("title", Str("title")),
        ("grades", List("grades")),
        ("courseSourcedId", Ref("course")),
        ("classCode", Str("classCode")),
        ("classType", Str("classType")),
        ("location", Str("location")),
        ("schoolSourcedId", Ref("school")),
        ("termSourcedIds", Refs("terms")),
        ("subjects", List("subjects")),
        ("subjectCodes", List("subjectCodes")),
        ("periods", List("periods")),
    ],
};
pub(crate) const USERS_11: TableSpec = TableSpec {
    file: "users.csv",
    path: "users",
    key: "users",
    columns: &[
        ("enabledUser", Bool("enabledUser")),
        ("orgSourcedIds", Refs("orgs")),
        ("role", Str("role")),
        ("username", Str("username")),
        ("userIds", UserIds),
        ("givenName", Str("givenName")),
        ("familyName", Str("familyName")),
        ("middleName", Str("middleName")),
        ("identifier", Str("identifier")),
        ("email", Str("email")),
        ("sms", Str("sms")),
        ("phone", Str("phone")),
        ("agentSourcedIds", Refs("agents")),
        ("grades", List("grades")),
        ("password", Empty),
    ],
};
/// 1.2 users: `role`/`orgs` moved to `roles[]` (see [`role_rows`]); preferred names are
/// First/Last in JSON but Given/Family in CSV.
pub(crate) const USERS_12: TableSpec = TableSpec {
    file: "users.csv",
    path: "users",
    key: "users",
    columns: &[
        ("enabledUser", Bool("enabledUser")),
        ("username", Str("username")),
        ("userIds", UserIds),
        ("givenName", Str("givenName")),
        ("familyName", Str("familyName")),
        ("middleName", Str("middleName")),
        ("identifier", Str("identifier")),
        ("email", Str("email")),
        ("sms", Str("sms")),
        ("phone", Str("phone")),
        ("agentSourcedIds", Refs("agents")),
        ("grades", List("grades")),
        ("password", Empty),
        ("userMasterIdentifier", Str("userMasterIdentifier")),
        ("preferredGivenName", Str("preferredFirstName")),
        ("preferredMiddleName", Str("preferredMiddleName")),
        ("preferredFamilyName", Str("preferredLastName")),
        ("primaryOrgSourcedId", Ref("primaryOrg")),
        ("pronouns", Str("pronouns")),
    ],
};
/// 1.2 roles.csv, built from each user's `roles[]`.
pub(crate) const ROLES: TableSpec = TableSpec {
    file: "roles.csv",
    path: "users",
    key: "users",
    columns: &[
        ("userSourcedId", Str("userSourcedId")),
        ("roleType", Str("roleType")),
        ("role", Str("role")),
        ("beginDate", Str("beginDate")),
        ("endDate", Str("endDate")),
        ("orgSourcedId", Ref("org")),
        ("userProfileSourcedId", Str("userProfile")),
    ],
};
pub(crate) const ENROLLMENTS: TableSpec = TableSpec {
    file: "enrollments.csv",
    path: "enrollments",
    key: "enrollments",
    columns: &[
        ("classSourcedId", Ref("class")),
        ("schoolSourcedId", Ref("school")),
        ("userSourcedId", Ref("user")),
        ("role", Str("role")),
        ("primary", Bool("primary")),
        ("beginDate", Str("beginDate")),
        ("endDate", Str("endDate")),
    ],
};
pub(crate) const DEMOGRAPHICS: TableSpec = TableSpec {
    file: "demographics.csv",
    path: "demographics",
    key: "demographics",
    columns: &[("birthDate", Str("birthDate")), ("sex", Str("sex"))],
};

/// One record's fields as borrowed slices of the page body: nothing is built per field until
/// a cell asks for it. (A `serde_json::Value` per record made the allocator the hot spot of
/// a district pull.)
#[derive(Debug, Default)]
pub(crate) struct Fields<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

/// A map key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Fields<'de>, M::Error> {
                let mut v = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((k, val)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    v.push((k.0, val));
                }
                Ok(Fields(v))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Fields<'a> {
    /// Parses one JSON object (tests and nested objects).
    pub fn parse(json: &'a str) -> Result<Fields<'a>, serde_json::Error> {
        serde_json::from_str(json)
    }

    pub fn get(&self, k: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| *v)
    }

    /// A field as text ("" when absent or null).
    pub fn text(&self, k: &str) -> Cow<'a, str> {
        self.get(k).map(text).unwrap_or(Cow::Borrowed(""))
    }
}

/// A scalar as text: strings unquoted (borrowed when they have no escapes), null empty,
/// numbers and booleans as written; objects and arrays where a scalar belongs are kept as
/// their JSON so the parser's checks see them.
fn text(v: &RawValue) -> Cow<'_, str> {
    let s = v.get();
    match s.as_bytes().first() {
        Some(b'"') if !s.contains('\\') => Cow::Borrowed(&s[1..s.len() - 1]),
        Some(b'"') => serde_json::from_str::<String>(s)
            .map(Cow::Owned)
            .unwrap_or(Cow::Borrowed(s)),
        Some(b'n') if s == "null" => Cow::Borrowed(""),
        _ => Cow::Borrowed(s),
    }
}

fn sourced_id(v: &RawValue) -> Cow<'_, str> {
    if v.get().starts_with('{') {
        match Fields::parse(v.get()) {
            Ok(f) => f.text("sourcedId"),
            Err(_) => Cow::Borrowed(v.get()),
        }
    } else {
        text(v)
    }
}

/// The items of an array (or the value itself when it is not one).
fn items(v: &RawValue) -> Vec<&RawValue> {
    if v.get().starts_with('[') {
        serde_json::from_str::<Vec<&RawValue>>(v.get()).unwrap_or_else(|_| vec![v])
    } else if v.get() == "null" {
        Vec::new()
    } else {
        vec![v]
    }
}

fn join<'x>(items: impl Iterator<Item = Cow<'x, str>>) -> String {
    let mut out = String::new();
    for s in items.filter(|s| !s.is_empty()) {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&s);
    }
    out
}

/// The cell for one column of one record.
pub(crate) fn cell<'a>(record: &Fields<'a>, how: Cell) -> Cow<'a, str> {
    let Some(v) = (match how {
        Str(k) | Ref(k) | Refs(k) | List(k) | Bool(k) => record.get(k),
        UserIds => record.get("userIds"),
        Empty => None,
    }) else {
        return Cow::Borrowed("");
    };
    match how {
        Str(_) => text(v),
        Ref(_) => sourced_id(v),
        Refs(_) => Cow::Owned(join(items(v).into_iter().map(sourced_id))),
        List(_) => Cow::Owned(join(items(v).into_iter().map(text))),
        Bool(_) => {
            let t = text(v);
            if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
                Cow::Owned(t.to_ascii_lowercase())
            } else {
                t
            }
        }
        UserIds => Cow::Owned(join(items(v).into_iter().map(|u| {
            match Fields::parse(u.get()) {
                Ok(f) => Cow::Owned(format!("{{{}:{}}}", f.text("type"), f.text("identifier"))),
                Err(_) => text(u),
            }
        }))),
        Empty => Cow::Borrowed(""),
    }
}

/// The objects of a 1.2 user's `roles[]`, each with the id its roles.csv row gets (made up
/// from the user's and the position, because roles have none in JSON).
pub(crate) fn role_rows<'a>(user_id: &str, user: &Fields<'a>) -> Vec<(String, Fields<'a>)> {
    let Some(roles) = user.get("roles") else {
        return Vec::new();
    };
    items(roles)
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| Some((format!("{user_id}#role{i}"), Fields::parse(r.get()).ok()?)))
        .collect()
}

fn push_cell(buf: &mut Vec<u8>, s: &str) -> u32 {
    if s.contains([',', '"', '\n', '\r']) {
        buf.push(b'"');
        buf.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        buf.push(b'"');
        s.matches('\n').count() as u32
    } else {
        buf.extend_from_slice(s.as_bytes());
        0
    }
}

/// One CSV table being filled from pages, de-duplicated by sourcedId (a later copy of a
/// record replaces the earlier one: it is the fresher).
pub(crate) struct TableBuilder {
    pub spec: &'static TableSpec,
    rows: Vec<Vec<u8>>,
    index: FxHashMap<SisId, u32>,
    /// Fill status/dateLastModified (delta tables); bulk tables leave them blank, as the
    /// OneRoster CSV binding asks.
    delta: bool,
}

impl TableBuilder {
    pub fn new(spec: &'static TableSpec, delta: bool) -> Self {
        TableBuilder {
            spec,
            rows: Vec::new(),
            index: FxHashMap::default(),
            delta,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    /// Adds or replaces the record; true when it was new. `set` gives values that win over
    /// the record's own fields (roles rows get their user's id, status and date this way).
    pub fn push(&mut self, id: &str, record: &Fields<'_>, set: &[(&str, &str)]) -> bool {
        let field = |k: &str| -> Cow<'_, str> {
            match set.iter().find(|(n, _)| *n == k) {
                Some((_, v)) => Cow::Borrowed(*v),
                None => record.text(k),
            }
        };
        let mut row = Vec::with_capacity(128);
        push_cell(&mut row, id);
        row.push(b',');
        if self.delta {
            let status = field("status");
            push_cell(&mut row, if status.is_empty() { "active" } else { &status });
            row.push(b',');
            push_cell(&mut row, &field("dateLastModified"));
        } else {
            row.push(b',');
        }
        for (_, how) in self.spec.columns {
            row.push(b',');
            let value = match how {
                Str(k) if set.iter().any(|(n, _)| n == k) => field(k),
                _ => cell(record, *how),
            };
            push_cell(&mut row, &value);
        }
        row.push(b'\n');
        match self.index.get(id) {
            Some(&i) => {
                self.rows[i as usize] = row;
                false
            }
            None => {
                self.index.insert(SisId::new(id), self.rows.len() as u32);
                self.rows.push(row);
                true
            }
        }
    }

    /// The CSV bytes, and the physical line each record starts on (for mapping the parser's
    /// line numbers back to record numbers).
    pub fn finish(self) -> (Vec<u8>, Vec<u32>) {
        let mut out = Vec::with_capacity(self.rows.iter().map(Vec::len).sum::<usize>() + 256);
        let mut header = vec!["sourcedId", "status", "dateLastModified"];
        header.extend(self.spec.columns.iter().map(|(n, _)| *n));
        out.extend_from_slice(header.join(",").as_bytes());
        out.push(b'\n');
        let mut lines = Vec::with_capacity(self.rows.len());
        let mut line = 2u32;
        for r in &self.rows {
            lines.push(line);
            line += 1 + memchr_count(r);
            out.extend_from_slice(r);
        }
        (out, lines)
    }
}

/// Line breaks inside quoted cells (the row's own final `\n` excluded).
fn memchr_count(row: &[u8]) -> u32 {
    row.iter()
        .filter(|b| **b == b'\n')
        .count()
        .saturating_sub(1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_tolerate_provider_shapes() {
        let json = json!({"enabledUser": true, "orgs": [{"sourcedId": "s1", "type": "org"}, "s2"], "grades": ["09", "10"],
                       "userIds": [{"type": "LDAP", "identifier": "12"}], "primary": "TRUE", "n": 7, "esc": "a\"b", "nul": null}).to_string();
        let u = Fields::parse(&json).unwrap();
        assert_eq!(cell(&u, Str("esc")), "a\"b");
        assert_eq!(cell(&u, Str("nul")), "");
        assert_eq!(cell(&u, Refs("nul")), "");
        assert_eq!(cell(&u, Bool("enabledUser")), "true");
        assert_eq!(cell(&u, Refs("orgs")), "s1,s2");
        assert_eq!(cell(&u, List("grades")), "09,10");
        assert_eq!(cell(&u, UserIds), "{LDAP:12}");
        assert_eq!(cell(&u, Bool("primary")), "true");
        assert_eq!(cell(&u, Str("n")), "7");
        assert_eq!(cell(&u, Str("missing")), "");
        assert_eq!(cell(&u, Ref("missing")), "");
    }

    fn push(t: &mut TableBuilder, id: &str, v: serde_json::Value) -> bool {
        let s = v.to_string();
        t.push(id, &Fields::parse(&s).unwrap(), &[])
    }

    #[test]
    fn builder_dedupes_quotes_and_counts_lines() {
        let mut t = TableBuilder::new(&ORGS, false);
        assert!(push(
            &mut t,
            "o1",
            json!({"name": "A, \"B\"\nC", "type": "school"})
        ));
        assert!(push(&mut t, "o2", json!({"name": "D", "type": "school"})));
        assert!(!push(&mut t, "o1", json!({"name": "A2", "type": "school"})));
        assert_eq!(t.len(), 2);
        let (bytes, lines) = t.finish();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\no1,,,A2,school,,\n"));
        assert_eq!(lines, vec![2, 3]);
        let mut t = TableBuilder::new(&ORGS, false);
        push(&mut t, "o1", json!({"name": "A\nB"}));
        push(&mut t, "o2", json!({"name": "C"}));
        assert_eq!(t.finish().1, vec![2, 4]);
    }
}
