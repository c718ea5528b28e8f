//! OneRoster 1.1 and 1.2 REST rostering reads, as `shared/specs/oneroster.md` §4 describes
//! them: wrapper keys, GUIDRefs, limit/offset with `X-Total-Count` and `Link`, the
//! `dateLastModified` filter, and `imsx_StatusInfo` errors.

use crate::data::{Coll, ProviderData};
use crate::ProviderState;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rosterbridge_model::roster::*;
use rosterbridge_model::SisId;
use serde_json::json;
use std::collections::HashMap;

/// Which binding a request came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    V1p1,
    V1p2,
}

/// A OneRoster error response.
pub fn error(status: StatusCode, minor: &str, description: &str) -> Response {
    let body = json!({
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_CodeMinor": {"imsx_codeMinorField": [{"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": minor}]},
    });
    (status, axum::Json(body)).into_response()
}

fn collection(name: &str) -> Option<(Coll, &'static str)> {
    Some(match name {
        "orgs" | "schools" => (Coll::Orgs, "orgs"),
        "academicSessions" | "terms" => (Coll::Sessions, "academicSessions"),
        "courses" => (Coll::Courses, "courses"),
        "classes" => (Coll::Classes, "classes"),
        "users" | "students" | "teachers" => (Coll::Users, "users"),
        "enrollments" => (Coll::Enrollments, "enrollments"),
        "demographics" => (Coll::Demographics, "demographics"),
        _ => return None,
    })
}

/// A JSON object written straight into a string: a district's pages are rendered without
/// building (and freeing) a `serde_json::Value` per record, which dominated serving time.
pub struct Obj {
    buf: String,
    empty: bool,
}

/// Appends `s` as a JSON string literal.
fn push_str_lit(buf: &mut String, s: &str) {
    buf.push('"');
    for c in s.chars() {
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            c if (c as u32) < 0x20 => buf.push_str(&format!("\\u{:04x}", c as u32)),
            c => buf.push(c),
        }
    }
    buf.push('"');
}

impl Obj {
    pub fn new() -> Self {
        Obj {
            buf: String::from("{"),
            empty: true,
        }
    }
    fn key(&mut self, k: &str) {
        if !self.empty {
            self.buf.push(',');
        }
        self.empty = false;
        push_str_lit(&mut self.buf, k);
        self.buf.push(':');
    }
    pub fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        push_str_lit(&mut self.buf, v);
    }
    /// Optional fields are left out when empty, as lean providers do: clients must cope.
    pub fn opt(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }
    pub fn strs<'i>(
        &mut self,
        k: &str,
        v: impl IntoIterator<Item = &'i (impl AsRef<str> + ?Sized + 'i)>,
    ) {
        self.key(k);
        self.buf.push('[');
        for (i, s) in v.into_iter().enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            push_str_lit(&mut self.buf, s.as_ref());
        }
        self.buf.push(']');
    }
    fn guid_lit(buf: &mut String, base: &str, path: &str, id: &str, kind: &str) {
        buf.push_str("{\"href\":");
        push_str_lit(buf, &format!("{base}/{path}/{id}"));
        buf.push_str(",\"sourcedId\":");
        push_str_lit(buf, id);
        buf.push_str(",\"type\":");
        push_str_lit(buf, kind);
        buf.push('}');
    }
    /// A GUIDRef `{href, sourcedId, type}`.
    pub fn guid(&mut self, k: &str, base: &str, path: &str, id: &str, kind: &str) {
        self.key(k);
        Obj::guid_lit(&mut self.buf, base, path, id, kind);
    }
    pub fn guids<'i>(
        &mut self,
        k: &str,
        base: &str,
        path: &str,
        ids: impl IntoIterator<Item = &'i (impl AsRef<str> + ?Sized + 'i)>,
        kind: &str,
    ) {
        self.key(k);
        self.buf.push('[');
        for (i, id) in ids.into_iter().enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            Obj::guid_lit(&mut self.buf, base, path, id.as_ref(), kind);
        }
        self.buf.push(']');
    }
    /// Already-rendered JSON (an array of objects).
    pub fn raw(&mut self, k: &str, json: &str) {
        self.key(k);
        self.buf.push_str(json);
    }
    pub fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

impl Default for Obj {
    fn default() -> Self {
        Obj::new()
    }
}

fn head(id: &SisId, status: &str, modified: &str) -> Obj {
    let mut m = Obj::new();
    m.str("sourcedId", id.as_str());
    m.str("status", status);
    m.str("dateLastModified", modified);
    m
}

/// The JSON of record `i` of a collection.
pub fn record(data: &ProviderData, coll: Coll, i: usize, binding: Binding, base: &str) -> String {
    let r = &data.roster;
    let m = match coll {
        Coll::Orgs => {
            let o = &r.orgs[i];
            let mut m = head(
                &o.sourced_id,
                "active",
                data.modified_of(coll, &o.sourced_id),
            );
            m.str("name", &o.name);
            m.str("type", o.org_type.as_str());
            m.opt("identifier", o.identifier.as_deref());
            if let Some(p) = &o.parent {
                m.guid("parent", base, "orgs", p.as_str(), "org");
            }
            m
        }
        Coll::Sessions => {
            let s = &r.sessions[i];
            let mut m = head(
                &s.sourced_id,
                "active",
                data.modified_of(coll, &s.sourced_id),
            );
            m.str("title", &s.title);
            m.str("type", s.session_type.as_str());
            m.str("startDate", &s.start_date.to_string());
            m.str("endDate", &s.end_date.to_string());
            if let Some(p) = &s.parent {
                m.guid(
                    "parent",
                    base,
                    "academicSessions",
                    p.as_str(),
                    "academicSession",
                );
            }
            m.str("schoolYear", &s.school_year);
            m
        }
        Coll::Courses => {
            let c = &r.courses[i];
            let mut m = head(
                &c.sourced_id,
                "active",
                data.modified_of(coll, &c.sourced_id),
            );
            m.str("title", &c.title);
            if let Some(y) = &c.school_year {
                m.guid(
                    "schoolYear",
                    base,
                    "academicSessions",
                    y.as_str(),
                    "academicSession",
                );
            }
            m.opt("courseCode", c.course_code.as_deref());
            m.strs("grades", &c.grades);
            m.strs("subjects", &c.subjects);
            m.guid("org", base, "orgs", c.org.as_str(), "org");
            m.strs("subjectCodes", &c.subject_codes);
            m
        }
        Coll::Classes => {
            let c = &r.classes[i];
            let mut m = head(
                &c.sourced_id,
                "active",
                data.modified_of(coll, &c.sourced_id),
            );
            m.str("title", &c.title);
            m.opt("classCode", c.class_code.as_deref());
            m.str("classType", c.class_type.as_str());
            m.opt("location", c.location.as_deref());
            m.strs("grades", &c.grades);
            m.strs("subjects", &c.subjects);
            m.guid("course", base, "courses", c.course.as_str(), "course");
            m.guid("school", base, "orgs", c.school.as_str(), "org");
            m.guids(
                "terms",
                base,
                "academicSessions",
                &c.terms,
                "academicSession",
            );
            m.strs("subjectCodes", &c.subject_codes);
            m.strs("periods", &c.periods);
            m
        }
        Coll::Users => user(data, i, binding, base),
        Coll::Enrollments => {
            let e = &r.enrollments[i];
            let mut m = head(
                &e.sourced_id,
                "active",
                data.modified_of(coll, &e.sourced_id),
            );
            m.guid(
                "user",
                base,
                "users",
                r.users[e.user as usize].sourced_id.as_str(),
                "user",
            );
            m.guid(
                "class",
                base,
                "classes",
                r.classes[e.class as usize].sourced_id.as_str(),
                "class",
            );
            m.guid(
                "school",
                base,
                "orgs",
                r.orgs[e.school as usize].sourced_id.as_str(),
                "org",
            );
            m.str("role", e.role.as_str());
            if let Some(p) = e.primary {
                m.str("primary", if p { "true" } else { "false" });
            }
            m.opt("beginDate", e.begin_date.map(|d| d.to_string()).as_deref());
            m.opt("endDate", e.end_date.map(|d| d.to_string()).as_deref());
            m
        }
        Coll::Demographics => {
            let d = &r.demographics[i];
            let mut m = head(
                &d.sourced_id,
                "active",
                data.modified_of(coll, &d.sourced_id),
            );
            m.opt("birthDate", d.birth_date.map(|d| d.to_string()).as_deref());
            m.opt("sex", d.sex.as_deref());
            m
        }
    };
    m.finish()
}

fn user(data: &ProviderData, i: usize, binding: Binding, base: &str) -> Obj {
    let u = &data.roster.users[i];
    let x = u.extra();
    let mut m = head(
        &u.sourced_id,
        "active",
        data.modified_of(Coll::Users, &u.sourced_id),
    );
    m.str("username", u.username());
    m.str("enabledUser", if u.enabled { "true" } else { "false" });
    m.str("givenName", u.given_name());
    m.str("familyName", u.family_name());
    m.opt("middleName", u.middle_name());
    m.opt("identifier", u.identifier());
    m.opt("email", u.email());
    m.opt("sms", u.sms());
    m.opt("phone", u.phone());
    if !x.user_ids().is_empty() {
        let ids: Vec<String> = x
            .user_ids()
            .iter()
            .map(|(t, id)| {
                let mut o = Obj::new();
                o.str("type", t);
                o.str("identifier", id);
                o.finish()
            })
            .collect();
        m.raw("userIds", &format!("[{}]", ids.join(",")));
    }
    m.guids("agents", base, "users", u.agents(), "user");
    m.strs("grades", u.grades());
    match binding {
        Binding::V1p1 => {
            m.str("role", u.role.as_str());
            m.guids("orgs", base, "orgs", u.orgs(), "org");
        }
        Binding::V1p2 => {
            let role = |role: &str,
                        role_type: &str,
                        org: &str,
                        begin: Option<chrono::NaiveDate>,
                        end: Option<chrono::NaiveDate>| {
                let mut o = Obj::new();
                o.str("roleType", role_type);
                o.str("role", role);
                o.guid("org", base, "orgs", org, "org");
                o.opt("beginDate", begin.map(|d| d.to_string()).as_deref());
                o.opt("endDate", end.map(|d| d.to_string()).as_deref());
                o.finish()
            };
            // 1.1 data has one role for all its orgs: a primary role at each (one per org).
            let roles: Vec<String> = if x.roles().is_empty() {
                u.orgs()
                    .map(|o| role(u.role.as_str(), "primary", o, None, None))
                    .collect()
            } else {
                x.roles()
                    .iter()
                    .map(|r| {
                        role(
                            r.role.as_str(),
                            if r.role_type == RoleType::Primary {
                                "primary"
                            } else {
                                "secondary"
                            },
                            r.org.as_str(),
                            r.begin_date,
                            r.end_date,
                        )
                    })
                    .collect()
            };
            m.raw("roles", &format!("[{}]", roles.join(",")));
            m.opt("userMasterIdentifier", u.user_master_identifier());
            m.opt("preferredFirstName", u.preferred_given_name());
            m.opt("preferredMiddleName", u.preferred_middle_name());
            m.opt("preferredLastName", u.preferred_family_name());
            m.opt("pronouns", u.pronouns());
            if let Some(p) = x.primary_org() {
                m.guid("primaryOrg", base, "orgs", p.as_str(), "org");
            }
            m.raw("userProfiles", "[]");
        }
    }
    m
}

fn len(data: &ProviderData, coll: Coll) -> usize {
    let r = &data.roster;
    match coll {
        Coll::Orgs => r.orgs.len(),
        Coll::Sessions => r.sessions.len(),
        Coll::Courses => r.courses.len(),
        Coll::Classes => r.classes.len(),
        Coll::Users => r.users.len(),
        Coll::Enrollments => r.enrollments.len(),
        Coll::Demographics => r.demographics.len(),
    }
}

fn id_of(data: &ProviderData, coll: Coll, i: usize) -> &SisId {
    let r = &data.roster;
    match coll {
        Coll::Orgs => &r.orgs[i].sourced_id,
        Coll::Sessions => &r.sessions[i].sourced_id,
        Coll::Courses => &r.courses[i].sourced_id,
        Coll::Classes => &r.classes[i].sourced_id,
        Coll::Users => &r.users[i].sourced_id,
        Coll::Enrollments => &r.enrollments[i].sourced_id,
        Coll::Demographics => &r.demographics[i].sourced_id,
    }
}

/// `dateLastModified>'…'` (or `>=`): the only filter served; anything else is refused as the
/// spec's `invalid_filter_field`.
fn parse_filter(f: &str) -> Option<(bool, String)> {
    let rest = f.trim().strip_prefix("dateLastModified")?.trim_start();
    let (inclusive, rest) = match rest.strip_prefix(">=") {
        Some(r) => (true, r),
        None => (false, rest.strip_prefix('>')?),
    };
    let v = rest.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    Some((inclusive, v.to_string()))
}

/// Compares ISO 8601 UTC instants (second or millisecond precision) as instants.
fn after(a: &str, b: &str, inclusive: bool) -> bool {
    let parse = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.timestamp_millis())
    };
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x > y || (inclusive && x == y),
        _ => false,
    }
}

/// One page of a collection.
pub fn list(
    state: &ProviderState,
    binding: Binding,
    name: &str,
    query: &HashMap<String, String>,
    base: &str,
    self_url: &str,
) -> Response {
    let Some((coll, key)) = collection(name) else {
        return error(
            StatusCode::NOT_FOUND,
            "unknownobject",
            &format!("no collection {name:?}"),
        );
    };
    let parse = |k: &str, default: usize| -> Result<usize, Response> {
        match query.get(k) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    "invaliddata",
                    &format!("{k} must be a whole number"),
                )
            }),
        }
    };
    let (limit, offset) = match (parse("limit", 100), parse("offset", 0)) {
        (Ok(l), Ok(o)) => (l.clamp(1, state.config.max_page_size), o),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let filter = match query.get("filter") {
        None => None,
        Some(f) => match parse_filter(f) {
            Some(x) => Some(x),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_filter_field",
                    &format!("unsupported filter {f:?}"),
                )
            }
        },
    };
    let data = state.data.read().unwrap_or_else(|p| p.into_inner());
    // The matching records, as (live index) or (tombstone index).
    let wanted = |i: usize| -> bool {
        let sub = match name {
            "schools" => data.roster.orgs[i].org_type == OrgType::School,
            "terms" => data.roster.sessions[i].session_type == SessionType::Term,
            "students" => data.roster.users[i].role == UserRole::Student,
            "teachers" => data.roster.users[i].role == UserRole::Teacher,
            _ => true,
        };
        sub && filter.as_ref().is_none_or(|(inc, since)| {
            after(data.modified_of(coll, id_of(&data, coll, i)), since, *inc)
        })
    };
    let all_live =
        !(filter.is_some() || matches!(name, "schools" | "terms" | "students" | "teachers"));
    let live: Vec<usize> = if all_live {
        Vec::new()
    } else {
        (0..len(&data, coll)).filter(|i| wanted(*i)).collect()
    };
    let live_count = if all_live {
        len(&data, coll)
    } else {
        live.len()
    };
    let tombs: Vec<usize> = (0..data.tombstones.len())
        .filter(|t| {
            let ts = &data.tombstones[*t];
            ts.coll == coll
                && filter
                    .as_ref()
                    .is_none_or(|(inc, since)| after(&ts.modified, since, *inc))
        })
        .collect();
    let total = live_count + tombs.len();
    let end = (offset + limit).min(total);
    let mut body = String::with_capacity(64 + end.saturating_sub(offset) * 400);
    body.push_str("{\"");
    body.push_str(key);
    body.push_str("\":[");
    for k in offset..end {
        if k > offset {
            body.push(',');
        }
        if k < live_count {
            let i = if all_live { k } else { live[k] };
            body.push_str(&record(&data, coll, i, binding, base));
        } else {
            let t = &data.tombstones[tombs[k - live_count]];
            body.push_str(&head(&t.id, "tobedeleted", &t.modified).finish());
        }
    }
    body.push_str("]}");
    drop(data);
    let mut headers = HeaderMap::new();
    headers.insert("x-total-count", HeaderValue::from(total as u64));
    if state.config.link_headers {
        let mut links = Vec::new();
        let page = |off: usize| {
            let mut q: Vec<(String, String)> = query
                .iter()
                .filter(|(k, _)| *k != "offset" && *k != "limit")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            q.sort();
            q.push(("limit".into(), limit.to_string()));
            q.push(("offset".into(), off.to_string()));
            let q = serde_urlencoded::to_string(&q)
                .unwrap_or_default()
                .replace('+', "%20");
            format!("{self_url}?{q}")
        };
        if end < total {
            links.push(format!("<{}>; rel=\"next\"", page(end)));
        }
        links.push(format!(
            "<{}>; rel=\"last\"",
            page(total.saturating_sub(1) / limit * limit)
        ));
        if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
            headers.insert("link", v);
        }
    }
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (StatusCode::OK, headers, body).into_response()
}
