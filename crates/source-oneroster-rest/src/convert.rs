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
use serde_json::Value;

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
    columns: &[("name", Str("name")), ("type", Str("type")), ("identifier", Str("identifier")), ("parentSourcedId", Ref("parent"))],
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

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        // Objects and arrays where a scalar belongs: keep them visible to the parser's checks.
        other => other.to_string(),
    }
}

fn sourced_id(v: &Value) -> String {
    match v {
        Value::Object(o) => o.get("sourcedId").map(text).unwrap_or_default(),
        other => text(other),
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.filter(|s| !s.is_empty()).collect::<Vec<_>>().join(",")
}

/// The cell for one column of one record.
pub(crate) fn cell(record: &Value, how: Cell) -> String {
    let get = |k: &str| record.get(k).unwrap_or(&Value::Null);
    match how {
        Str(k) => text(get(k)),
        Ref(k) => sourced_id(get(k)),
        Refs(k) => match get(k) {
            Value::Array(a) => join(a.iter().map(sourced_id)),
            other => sourced_id(other),
        },
        List(k) => match get(k) {
            Value::Array(a) => join(a.iter().map(text)),
            other => text(other),
        },
        Bool(k) => match get(k) {
            Value::Bool(b) => b.to_string(),
            Value::String(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => s.to_ascii_lowercase(),
            other => text(other),
        },
        UserIds => match get("userIds") {
            Value::Array(a) => join(a.iter().map(|u| format!("{{{}:{}}}", text(u.get("type").unwrap_or(&Value::Null)), text(u.get("identifier").unwrap_or(&Value::Null))))),
            other => text(other),
        },
        Empty => String::new(),
    }
}

/// The roles.csv rows (as JSON objects shaped for [`ROLES`]) of one 1.2 user. Their
/// sourcedIds are made up from the user's and the position, because roles have none in JSON.
pub(crate) fn role_rows(user_id: &str, user: &Value) -> Vec<(String, Value)> {
    let Some(Value::Array(roles)) = user.get("roles") else { return Vec::new() };
    roles
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut r = r.clone();
            if let Value::Object(o) = &mut r {
                o.insert("userSourcedId".into(), Value::String(user_id.to_string()));
            }
            (format!("{user_id}#role{i}"), r)
        })
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
        TableBuilder { spec, rows: Vec::new(), index: FxHashMap::default(), delta }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    /// Adds or replaces the record; true when it was new.
    pub fn push(&mut self, id: &str, record: &Value) -> bool {
        let mut row = Vec::with_capacity(128);
        push_cell(&mut row, id);
        row.push(b',');
        let (status, dlm) = if self.delta {
            let status = text(record.get("status").unwrap_or(&Value::Null));
            (if status.is_empty() { "active".to_string() } else { status }, text(record.get("dateLastModified").unwrap_or(&Value::Null)))
        } else {
            (String::new(), String::new())
        };
        push_cell(&mut row, &status);
        row.push(b',');
        push_cell(&mut row, &dlm);
        for (_, how) in self.spec.columns {
            row.push(b',');
            push_cell(&mut row, &cell(record, *how));
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
    row.iter().filter(|b| **b == b'\n').count().saturating_sub(1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_tolerate_provider_shapes() {
        let u = json!({"enabledUser": true, "orgs": [{"sourcedId": "s1", "type": "org"}, "s2"], "grades": ["09", "10"],
                       "userIds": [{"type": "LDAP", "identifier": "12"}], "primary": "TRUE", "n": 7});
        assert_eq!(cell(&u, Bool("enabledUser")), "true");
        assert_eq!(cell(&u, Refs("orgs")), "s1,s2");
        assert_eq!(cell(&u, List("grades")), "09,10");
        assert_eq!(cell(&u, UserIds), "{LDAP:12}");
        assert_eq!(cell(&u, Bool("primary")), "true");
        assert_eq!(cell(&u, Str("n")), "7");
        assert_eq!(cell(&u, Str("missing")), "");
        assert_eq!(cell(&u, Ref("missing")), "");
    }

    #[test]
    fn builder_dedupes_quotes_and_counts_lines() {
        let mut t = TableBuilder::new(&ORGS, false);
        assert!(t.push("o1", &json!({"name": "A, \"B\"\nC", "type": "school"})));
        assert!(t.push("o2", &json!({"name": "D", "type": "school"})));
        assert!(!t.push("o1", &json!({"name": "A2", "type": "school"})));
        assert_eq!(t.len(), 2);
        let (bytes, lines) = t.finish();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\no1,,,A2,school,,\n"));
        assert_eq!(lines, vec![2, 3]);
        let mut t = TableBuilder::new(&ORGS, false);
        t.push("o1", &json!({"name": "A\nB"}));
        t.push("o2", &json!({"name": "C"}));
        assert_eq!(t.finish().1, vec![2, 4]);
    }
}
