//! Clever API v3 reads (`shared/specs/clever.md`): the `{"data": [{"data": {...}}], "links"}`
//! envelope, `starting_after` paging in id order, users by role with one sub-object per role,
//! sections carrying their members inline, contacts linked to students, and the event feed.
//!
//! A OneRoster roster maps onto Clever as Clever's own data model allows: the org tree
//! becomes one district and its schools; every academic session becomes a term; a class is a
//! section whose first term is its `term_id`; enrollments become the sections' `students` and
//! `teachers`; parents, guardians and relatives become contacts. Record ids are the
//! sourcedIds (a real Clever id is an ObjectId; only their order matters to paging).

use crate::data::ProviderData;
use rosterbridge_model::roster::*;
use rosterbridge_model::SisId;
use rustc_hash::FxHashMap;
use serde_json::{json, Map, Value};

/// Memberships and ordering derived from the roster (rebuilt when the data changes).
pub struct Links {
    pub district: SisId,
    pub section_students: Vec<Vec<u32>>,
    pub section_teachers: Vec<Vec<u32>>,
    pub section_primary: Vec<Option<u32>>,
    /// Record indexes sorted by id, per collection name.
    pub order: FxHashMap<&'static str, Vec<u32>>,
}

impl Links {
    pub fn new(r: &Roster) -> Links {
        let district = r
            .orgs
            .iter()
            .find(|o| o.org_type == OrgType::District)
            .map(|o| o.sourced_id.clone())
            .unwrap_or_else(|| SisId::new("district"));
        let n = r.classes.len();
        let (mut students, mut teachers, mut primary) =
            (vec![Vec::new(); n], vec![Vec::new(); n], vec![None; n]);
        for e in &r.enrollments {
            let c = e.class as usize;
            match e.role {
                EnrollmentRole::Student => students[c].push(e.user),
                EnrollmentRole::Teacher => {
                    teachers[c].push(e.user);
                    if e.primary == Some(true) && primary[c].is_none() {
                        primary[c] = Some(e.user);
                    }
                }
                _ => {}
            }
        }
        let mut order = FxHashMap::default();
        let sorted = |ids: Vec<(&SisId, u32)>| -> Vec<u32> {
            let mut ids = ids;
            ids.sort();
            ids.into_iter().map(|(_, i)| i).collect()
        };
        order.insert(
            "schools",
            sorted(
                r.orgs
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| o.org_type != OrgType::District)
                    .map(|(i, o)| (&o.sourced_id, i as u32))
                    .collect(),
            ),
        );
        order.insert(
            "terms",
            sorted(
                r.sessions
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (&s.sourced_id, i as u32))
                    .collect(),
            ),
        );
        order.insert(
            "courses",
            sorted(
                r.courses
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (&c.sourced_id, i as u32))
                    .collect(),
            ),
        );
        order.insert(
            "sections",
            sorted(
                r.classes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (&c.sourced_id, i as u32))
                    .collect(),
            ),
        );
        order.insert(
            "users",
            sorted(
                r.users
                    .iter()
                    .enumerate()
                    .map(|(i, u)| (&u.sourced_id, i as u32))
                    .collect(),
            ),
        );
        Links {
            district,
            section_students: students,
            section_teachers: teachers,
            section_primary: primary,
            order,
        }
    }
}

/// The Clever role key a OneRoster role maps to.
pub fn role_key(role: &UserRole) -> &'static str {
    match role {
        UserRole::Student => "student",
        UserRole::Teacher => "teacher",
        UserRole::Parent | UserRole::Guardian | UserRole::Relative => "contact",
        UserRole::DistrictAdministrator => "district_admin",
        _ => "staff",
    }
}

fn name(first: &str, middle: Option<&str>, last: &str) -> Value {
    let mut m = Map::new();
    m.insert("first".into(), first.into());
    if let Some(mid) = middle {
        m.insert("middle".into(), mid.into());
    }
    m.insert("last".into(), last.into());
    Value::Object(m)
}

/// One user as Clever sends it.
pub fn user_json(r: &Roster, i: usize, links: &Links) -> Value {
    let u = &r.users[i];
    let credentials = json!({"district_username": u.username()});
    let schools: Vec<&str> = u.orgs().collect();
    let school = schools.first().copied();
    let role = match role_key(&u.role) {
        "student" => {
            json!({"sis_id": u.sourced_id.as_str(), "student_number": u.identifier(), "school": school, "schools": schools,
                            "grade": u.grades().next(), "credentials": credentials})
        }
        "teacher" => {
            json!({"sis_id": u.sourced_id.as_str(), "teacher_number": u.identifier(), "school": school, "schools": schools, "credentials": credentials})
        }
        "contact" => {
            let relationship = match u.role {
                UserRole::Parent => "Parent",
                UserRole::Relative => "Grandparent",
                _ => "Other",
            };
            let rel: Vec<Value> = u.agents().map(|s| json!({"student": s, "relationship": relationship, "type": "Parent/Guardian"})).collect();
            json!({"sis_id": u.sourced_id.as_str(), "student_relationships": rel})
        }
        "district_admin" => json!({"title": "District administrator"}),
        _ => {
            json!({"staff_id": u.sourced_id.as_str(), "schools": schools, "roles": [u.role.as_str()], "credentials": credentials})
        }
    };
    let mut roles = Map::new();
    roles.insert(role_key(&u.role).into(), role);
    json!({
        "id": u.sourced_id.as_str(),
        "district": links.district.as_str(),
        "email": u.email(),
        "name": name(u.given_name(), u.middle_name(), u.family_name()),
        "roles": roles,
    })
}

fn section_json(r: &Roster, i: usize, links: &Links) -> Value {
    let c = &r.classes[i];
    let ids = |v: &[u32]| -> Vec<&str> {
        v.iter()
            .map(|u| r.users[*u as usize].sourced_id.as_str())
            .collect()
    };
    json!({
        "id": c.sourced_id.as_str(),
        "district": links.district.as_str(),
        "school": c.school.as_str(),
        "course": c.course.as_str(),
        "term_id": c.terms.first().map(SisId::as_str),
        "name": c.title.as_str(),
        "section_number": c.class_code.as_deref(),
        "period": c.periods.first().map(|p| p.as_str()),
        "grade": c.grades.first().map(|g| g.as_str()),
        "sis_id": c.sourced_id.as_str(),
        "teacher": links.section_primary[i].map(|u| r.users[u as usize].sourced_id.as_str()),
        "teachers": ids(&links.section_teachers[i]),
        "students": ids(&links.section_students[i]),
    })
}

/// Record `i` of a Clever collection.
pub fn record(data: &ProviderData, links: &Links, coll: &str, i: usize) -> Value {
    let r = &data.roster;
    match coll {
        "schools" => {
            let o = &r.orgs[i];
            json!({"id": o.sourced_id.as_str(), "district": links.district.as_str(), "name": o.name.as_str(), "sis_id": o.sourced_id.as_str(), "school_number": o.identifier.as_deref()})
        }
        "terms" => {
            let s = &r.sessions[i];
            json!({"id": s.sourced_id.as_str(), "district": links.district.as_str(), "name": s.title.as_str(), "start_date": s.start_date.to_string(), "end_date": s.end_date.to_string()})
        }
        "courses" => {
            let c = &r.courses[i];
            json!({"id": c.sourced_id.as_str(), "district": links.district.as_str(), "name": c.title.as_str(), "number": c.course_code.as_deref()})
        }
        "sections" => section_json(r, i, links),
        _ => user_json(r, i, links),
    }
}

/// The district record.
pub fn district(data: &ProviderData, links: &Links) -> Value {
    let name = data
        .roster
        .orgs
        .iter()
        .find(|o| o.sourced_id == links.district)
        .map(|o| o.name.to_string())
        .unwrap_or_else(|| "Sandbox district".into());
    json!({"id": links.district.as_str(), "name": name, "state": "success", "sis_type": "rosterbridge sandbox"})
}
