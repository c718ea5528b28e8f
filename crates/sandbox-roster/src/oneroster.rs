//! OneRoster 1.1 and 1.2 REST rostering reads, as `shared/specs/oneroster.md` §4 describes
//! them: wrapper keys, GUIDRefs, limit/offset with `X-Total-Count` and `Link`, the
//! `dateLastModified` filter, and `imsx_StatusInfo` errors.

use crate::data::{Coll, ProviderData};
use crate::ProviderState;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rosterbridge_model::roster::*;
use rosterbridge_model::SisId;
use serde_json::{json, Map, Value};
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

fn guid(base: &str, path: &str, id: &SisId, kind: &str) -> Value {
    json!({"href": format!("{base}/{path}/{id}"), "sourcedId": id.as_str(), "type": kind})
}

fn put_opt(m: &mut Map<String, Value>, k: &str, v: &Option<impl AsRef<str>>) {
    // Optional fields are left out when empty, as lean providers do: clients must cope.
    if let Some(v) = v {
        m.insert(k.into(), Value::String(v.as_ref().to_string()));
    }
}

fn strings(v: &[impl AsRef<str>]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.as_ref().to_string())).collect())
}

fn head(id: &SisId, status: &str, modified: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("sourcedId".into(), Value::String(id.to_string()));
    m.insert("status".into(), Value::String(status.into()));
    m.insert("dateLastModified".into(), Value::String(modified.into()));
    m
}

/// The JSON of record `i` of a collection.
pub fn record(data: &ProviderData, coll: Coll, i: usize, binding: Binding, base: &str) -> Value {
    let r = &data.roster;
    let org_ref = |id: &SisId| guid(base, "orgs", id, "org");
    let m = match coll {
        Coll::Orgs => {
            let o = &r.orgs[i];
            let mut m = head(&o.sourced_id, "active", data.modified_of(coll, &o.sourced_id));
            m.insert("name".into(), o.name.as_str().into());
            m.insert("type".into(), o.org_type.as_str().into());
            put_opt(&mut m, "identifier", &o.identifier);
            if let Some(p) = &o.parent {
                m.insert("parent".into(), org_ref(p));
            }
            m
        }
        Coll::Sessions => {
            let s = &r.sessions[i];
            let mut m = head(&s.sourced_id, "active", data.modified_of(coll, &s.sourced_id));
            m.insert("title".into(), s.title.as_str().into());
            m.insert("type".into(), s.session_type.as_str().into());
            m.insert("startDate".into(), s.start_date.to_string().into());
            m.insert("endDate".into(), s.end_date.to_string().into());
            if let Some(p) = &s.parent {
                m.insert("parent".into(), guid(base, "academicSessions", p, "academicSession"));
            }
            m.insert("schoolYear".into(), s.school_year.as_str().into());
            m
        }
        Coll::Courses => {
            let c = &r.courses[i];
            let mut m = head(&c.sourced_id, "active", data.modified_of(coll, &c.sourced_id));
            m.insert("title".into(), c.title.as_str().into());
            if let Some(y) = &c.school_year {
                m.insert("schoolYear".into(), guid(base, "academicSessions", y, "academicSession"));
            }
            put_opt(&mut m, "courseCode", &c.course_code);
            m.insert("grades".into(), strings(&c.grades));
            m.insert("subjects".into(), strings(&c.subjects));
            m.insert("org".into(), org_ref(&c.org));
            m.insert("subjectCodes".into(), strings(&c.subject_codes));
            m
        }
        Coll::Classes => {
            let c = &r.classes[i];
            let mut m = head(&c.sourced_id, "active", data.modified_of(coll, &c.sourced_id));
            m.insert("title".into(), c.title.as_str().into());
            put_opt(&mut m, "classCode", &c.class_code);
            m.insert("classType".into(), c.class_type.as_str().into());
            put_opt(&mut m, "location", &c.location);
            m.insert("grades".into(), strings(&c.grades));
            m.insert("subjects".into(), strings(&c.subjects));
            m.insert("course".into(), guid(base, "courses", &c.course, "course"));
            m.insert("school".into(), org_ref(&c.school));
            m.insert("terms".into(), Value::Array(c.terms.iter().map(|t| guid(base, "academicSessions", t, "academicSession")).collect()));
            m.insert("subjectCodes".into(), strings(&c.subject_codes));
            m.insert("periods".into(), strings(&c.periods));
            m
        }
        Coll::Users => user(data, i, binding, base),
        Coll::Enrollments => {
            let e = &r.enrollments[i];
            let mut m = head(&e.sourced_id, "active", data.modified_of(coll, &e.sourced_id));
            m.insert("user".into(), guid(base, "users", &r.users[e.user as usize].sourced_id, "user"));
            m.insert("class".into(), guid(base, "classes", &r.classes[e.class as usize].sourced_id, "class"));
            m.insert("school".into(), org_ref(&r.orgs[e.school as usize].sourced_id));
            m.insert("role".into(), e.role.as_str().into());
            if let Some(p) = e.primary {
                m.insert("primary".into(), p.to_string().into());
            }
            put_opt(&mut m, "beginDate", &e.begin_date.map(|d| d.to_string()));
            put_opt(&mut m, "endDate", &e.end_date.map(|d| d.to_string()));
            m
        }
        Coll::Demographics => {
            let d = &r.demographics[i];
            let mut m = head(&d.sourced_id, "active", data.modified_of(coll, &d.sourced_id));
            put_opt(&mut m, "birthDate", &d.birth_date.map(|d| d.to_string()));
            put_opt(&mut m, "sex", &d.sex);
            m
        }
    };
    Value::Object(m)
}

fn user(data: &ProviderData, i: usize, binding: Binding, base: &str) -> Map<String, Value> {
    let u = &data.roster.users[i];
    let x = u.extra();
    let mut m = head(&u.sourced_id, "active", data.modified_of(Coll::Users, &u.sourced_id));
    m.insert("username".into(), u.username.as_str().into());
    m.insert("enabledUser".into(), u.enabled.to_string().into());
    m.insert("givenName".into(), u.given_name.as_str().into());
    m.insert("familyName".into(), u.family_name.as_str().into());
    put_opt(&mut m, "middleName", &x.middle_name);
    put_opt(&mut m, "identifier", &u.identifier);
    put_opt(&mut m, "email", &u.email);
    put_opt(&mut m, "sms", &x.sms);
    put_opt(&mut m, "phone", &x.phone);
    if !x.user_ids.is_empty() {
        m.insert("userIds".into(), Value::Array(x.user_ids.iter().map(|(t, id)| json!({"type": t.as_str(), "identifier": id.as_str()})).collect()));
    }
    m.insert("agents".into(), Value::Array(u.agents.iter().map(|a| guid(base, "users", a, "user")).collect()));
    m.insert("grades".into(), strings(&u.grades));
    let org_ref = |id: &SisId| guid(base, "orgs", id, "org");
    match binding {
        Binding::V1p1 => {
            m.insert("role".into(), u.role.as_str().into());
            m.insert("orgs".into(), Value::Array(u.orgs.iter().map(org_ref).collect()));
        }
        Binding::V1p2 => {
            // 1.1 data has one role for all its orgs: a primary role at each (one per org).
            let roles: Vec<Value> = if x.roles.is_empty() {
                u.orgs.iter().map(|o| json!({"roleType": "primary", "role": u.role.as_str(), "org": org_ref(o)})).collect()
            } else {
                x.roles
                    .iter()
                    .map(|r| {
                        let mut v = json!({"roleType": if r.role_type == RoleType::Primary { "primary" } else { "secondary" }, "role": r.role.as_str(), "org": org_ref(&r.org)});
                        if let Some(d) = r.begin_date {
                            v["beginDate"] = d.to_string().into();
                        }
                        if let Some(d) = r.end_date {
                            v["endDate"] = d.to_string().into();
                        }
                        v
                    })
                    .collect()
            };
            m.insert("roles".into(), Value::Array(roles));
            put_opt(&mut m, "userMasterIdentifier", &x.user_master_identifier);
            put_opt(&mut m, "preferredFirstName", &x.preferred_given_name);
            put_opt(&mut m, "preferredMiddleName", &x.preferred_middle_name);
            put_opt(&mut m, "preferredLastName", &x.preferred_family_name);
            put_opt(&mut m, "pronouns", &x.pronouns);
            if let Some(p) = &x.primary_org {
                m.insert("primaryOrg".into(), org_ref(p));
            }
            m.insert("userProfiles".into(), Value::Array(vec![]));
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
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok().map(|d| d.timestamp_millis());
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x > y || (inclusive && x == y),
        _ => false,
    }
}

/// One page of a collection.
pub fn list(state: &ProviderState, binding: Binding, name: &str, query: &HashMap<String, String>, base: &str, self_url: &str) -> Response {
    let Some((coll, key)) = collection(name) else {
        return error(StatusCode::NOT_FOUND, "unknownobject", &format!("no collection {name:?}"));
    };
    let parse = |k: &str, default: usize| -> Result<usize, Response> {
        match query.get(k) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| error(StatusCode::BAD_REQUEST, "invaliddata", &format!("{k} must be a whole number"))),
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
            None => return error(StatusCode::BAD_REQUEST, "invalid_filter_field", &format!("unsupported filter {f:?}")),
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
        sub && filter.as_ref().is_none_or(|(inc, since)| after(data.modified_of(coll, id_of(&data, coll, i)), since, *inc))
    };
    let all_live = !(filter.is_some() || matches!(name, "schools" | "terms" | "students" | "teachers"));
    let live: Vec<usize> = if all_live { Vec::new() } else { (0..len(&data, coll)).filter(|i| wanted(*i)).collect() };
    let live_count = if all_live { len(&data, coll) } else { live.len() };
    let tombs: Vec<usize> = (0..data.tombstones.len())
        .filter(|t| {
            let ts = &data.tombstones[*t];
            ts.coll == coll && filter.as_ref().is_none_or(|(inc, since)| after(&ts.modified, since, *inc))
        })
        .collect();
    let total = live_count + tombs.len();
    let end = (offset + limit).min(total);
    let mut records = Vec::with_capacity(end.saturating_sub(offset));
    for k in offset..end {
        if k < live_count {
            let i = if all_live { k } else { live[k] };
            records.push(record(&data, coll, i, binding, base));
        } else {
            let t = &data.tombstones[tombs[k - live_count]];
            records.push(Value::Object(head(&t.id, "tobedeleted", &t.modified)));
        }
    }
    drop(data);
    let mut headers = HeaderMap::new();
    headers.insert("x-total-count", HeaderValue::from(total as u64));
    if state.config.link_headers {
        let mut links = Vec::new();
        let page = |off: usize| {
            let mut q: Vec<(String, String)> = query.iter().filter(|(k, _)| *k != "offset" && *k != "limit").map(|(k, v)| (k.clone(), v.clone())).collect();
            q.sort();
            q.push(("limit".into(), limit.to_string()));
            q.push(("offset".into(), off.to_string()));
            let q = serde_urlencoded::to_string(&q).unwrap_or_default().replace('+', "%20");
            format!("{self_url}?{q}")
        };
        if end < total {
            links.push(format!("<{}>; rel=\"next\"", page(end)));
        }
        links.push(format!("<{}>; rel=\"last\"", page(total.saturating_sub(1) / limit * limit)));
        if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
            headers.insert("link", v);
        }
    }
    let mut body = Map::new();
    body.insert(key.into(), Value::Array(records));
    (StatusCode::OK, headers, axum::Json(Value::Object(body))).into_response()
}
