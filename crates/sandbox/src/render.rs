//! JSON for each Canvas object, with the fields canvas-rest.md lists. The sandbox token is a
//! root admin, so SIS fields are always shown.

use serde_json::{json, Value};

use crate::model::*;
use crate::store::Store;

/// Canvas's timestamp form: ISO 8601 UTC, second precision.
pub fn time(t: Time) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn opt_time(t: Option<Time>) -> Value {
    t.map(time).map(Value::String).unwrap_or(Value::Null)
}

fn sis_import_id(store: &Store, batch: Option<u64>) -> Value {
    // Only batches that still exist are referenced (they always do in the sandbox).
    batch
        .filter(|b| store.batch(*b).is_some())
        .map(Value::from)
        .unwrap_or(Value::Null)
}

pub fn account(store: &Store, a: &Account) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "uuid": format!("sandbox-account-{}", a.id),
        "parent_account_id": a.parent_account_id,
        "root_account_id": a.root_account_id,
        "workflow_state": a.workflow_state.as_str(),
        "sis_account_id": a.sis_source_id,
        "integration_id": a.integration_id,
        "sis_import_id": sis_import_id(store, a.sis_batch_id),
        "default_time_zone": "Etc/UTC",
        "lti_guid": format!("sandbox-account-{}", a.id),
    })
}

pub fn term(store: &Store, t: &Term) -> Value {
    let overrides: serde_json::Map<String, Value> = t
        .overrides
        .iter()
        .map(|(k, s, e)| {
            (
                k.clone(),
                json!({"start_at": opt_time(*s), "end_at": opt_time(*e)}),
            )
        })
        .collect();
    json!({
        "id": t.id,
        "name": t.name,
        "start_at": opt_time(t.start_at),
        "end_at": opt_time(t.end_at),
        "created_at": time(t.created_at),
        "workflow_state": t.workflow_state.as_str(),
        "grading_period_group_id": null,
        "sis_term_id": t.sis_source_id,
        "integration_id": t.integration_id,
        "sis_import_id": sis_import_id(store, t.sis_batch_id),
        "overrides": overrides,
    })
}

/// Canvas's first/last name split of a sortable name ("Last, First").
fn split_sortable(sortable: &str) -> (String, String) {
    match sortable.split_once(',') {
        Some((last, first)) => (first.trim().to_string(), last.trim().to_string()),
        None => (String::new(), sortable.trim().to_string()),
    }
}

pub fn user(store: &Store, u: &User) -> Value {
    let login = store.primary_login(u.id);
    let (first, last) = split_sortable(&u.sortable_name);
    json!({
        "id": u.id,
        "name": u.name,
        "sortable_name": u.sortable_name,
        "last_name": last,
        "first_name": first,
        "short_name": u.short_name,
        "sis_user_id": login.and_then(|l| l.sis_user_id.clone()),
        "sis_import_id": sis_import_id(store, login.and_then(|l| l.sis_batch_id)),
        "integration_id": login.and_then(|l| l.integration_id.clone()),
        "login_id": login.map(|l| l.unique_id.clone()),
        "email": login.and_then(|l| l.email.as_ref().filter(|e| e.1 == "active").map(|e| e.0.clone())),
        "created_at": time(u.created_at),
        "pronouns": u.pronouns,
        "locale": null,
        "effective_locale": "en",
        "time_zone": "Etc/UTC",
    })
}

pub fn login(l: &Login) -> Value {
    json!({
        "id": l.id,
        "account_id": l.account_id,
        "user_id": l.user_id,
        "unique_id": l.unique_id,
        "sis_user_id": l.sis_user_id,
        "integration_id": l.integration_id,
        "authentication_provider_id": l.authentication_provider_id,
        "authentication_provider_type": l.authentication_provider_id,
        "workflow_state": l.workflow_state.as_str(),
        "declared_user_type": l.declared_user_type,
        "created_at": time(l.created_at),
    })
}

pub fn course(store: &Store, c: &Course) -> Value {
    json!({
        "id": c.id,
        "sis_course_id": c.sis_source_id,
        "integration_id": c.integration_id,
        "sis_import_id": sis_import_id(store, c.sis_batch_id),
        "uuid": format!("sandbox-course-{}", c.id),
        "name": c.name,
        "course_code": c.course_code,
        "original_name": null,
        "workflow_state": c.workflow_state.api_str(),
        "account_id": c.account_id,
        "root_account_id": c.root_account_id,
        "enrollment_term_id": c.enrollment_term_id,
        "grading_standard_id": c.grading_standard_id,
        "grade_passback_setting": c.grade_passback_setting,
        "created_at": time(c.created_at),
        "start_at": opt_time(c.start_at),
        "end_at": opt_time(c.conclude_at),
        "restrict_enrollments_to_course_dates": c.restrict_enrollments_to_course_dates,
        "course_format": c.course_format,
        "time_zone": "Etc/UTC",
        "default_view": "modules",
    })
}

pub fn section(store: &Store, s: &Section) -> Value {
    let course_sis = store
        .course(s.course_id)
        .and_then(|c| c.sis_source_id.clone());
    json!({
        "id": s.id,
        "name": s.name,
        "sis_section_id": s.sis_source_id,
        "integration_id": s.integration_id,
        "sis_import_id": sis_import_id(store, s.sis_batch_id),
        "course_id": s.course_id,
        "sis_course_id": course_sis,
        "start_at": opt_time(s.start_at),
        "end_at": opt_time(s.end_at),
        "restrict_enrollments_to_section_dates": s.restrict_enrollments_to_section_dates,
        "nonxlist_course_id": s.nonxlist_course_id,
        "created_at": time(s.created_at),
    })
}

pub fn enrollment(store: &Store, base: &str, e: &Enrollment) -> Value {
    let course = store.course(e.course_id);
    let section = store.section(e.course_section_id);
    let login = store.primary_login(e.user_id);
    let user = store.user(e.user_id);
    let account_sis = course
        .and_then(|c| store.account(c.account_id))
        .and_then(|a| a.sis_source_id.clone());
    let role = store
        .role(e.role_id)
        .map(|r| r.name.clone())
        .unwrap_or_else(|| e.kind.as_str().into());
    let mut v = json!({
        "id": e.id,
        "course_id": e.course_id,
        "sis_course_id": course.and_then(|c| c.sis_source_id.clone()),
        "course_integration_id": course.and_then(|c| c.integration_id.clone()),
        "course_section_id": e.course_section_id,
        "section_integration_id": section.and_then(|s| s.integration_id.clone()),
        "sis_account_id": account_sis,
        "sis_section_id": section.and_then(|s| s.sis_source_id.clone()),
        "sis_user_id": login.and_then(|l| l.sis_user_id.clone()),
        "sis_import_id": sis_import_id(store, e.sis_batch_id),
        "root_account_id": e.root_account_id,
        "user_id": e.user_id,
        "associated_user_id": e.associated_user_id,
        "type": e.kind.as_str(),
        "role": role,
        "role_id": e.role_id,
        "enrollment_state": e.workflow_state.as_str(),
        "limit_privileges_to_course_section": e.limit_privileges_to_course_section,
        "created_at": time(e.created_at),
        "updated_at": time(e.updated_at),
        "start_at": opt_time(e.start_at),
        "end_at": opt_time(e.end_at),
        "last_activity_at": null,
        "last_attended_at": null,
        "total_activity_time": 0,
        "html_url": format!("{base}/courses/{}/users/{}", e.course_id, e.user_id),
        "user": user.map(|u| json!({
            "id": u.id, "name": u.name, "sortable_name": u.sortable_name, "short_name": u.short_name,
            "sis_user_id": login.and_then(|l| l.sis_user_id.clone()),
            "login_id": login.map(|l| l.unique_id.clone()),
        })),
    });
    if e.kind == EnrollmentType::Student {
        let g = &e.grades;
        // With a grading scheme on the course, letter grades are computed from the scores
        // (Canvas's way); without one they are what the sandbox endpoint set (Canvas: null).
        let standard = course
            .and_then(|c| c.grading_standard_id)
            .and_then(|id| store.grading_standard(id));
        let letter = |score: Option<f64>, set: &Option<String>| -> Option<String> {
            match standard {
                Some(s) => score
                    .and_then(|x| s.score_to_grade(x))
                    .or_else(|| set.clone()),
                None => set.clone(),
            }
        };
        let (current_grade, final_grade, override_grade) = (
            letter(g.current_score, &g.current_grade),
            letter(g.final_score, &g.final_grade),
            letter(g.override_score, &g.override_grade),
        );
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "grades".into(),
                json!({
                    "html_url": format!("{base}/courses/{}/grades/{}", e.course_id, e.user_id),
                    "current_score": g.current_score,
                    "final_score": g.final_score,
                    "current_grade": current_grade,
                    "final_grade": final_grade,
                    "unposted_current_score": g.current_score,
                    "unposted_final_score": g.final_score,
                    "unposted_current_grade": current_grade,
                    "unposted_final_grade": final_grade,
                    "override_score": g.override_score,
                    "override_grade": override_grade,
                }),
            );
            obj.insert("override_score".into(), json!(g.override_score));
            obj.insert("override_grade".into(), json!(override_grade));
        }
    }
    v
}

pub fn group(store: &Store, g: &Group) -> Value {
    let mut v = json!({
        "id": g.id,
        "name": g.name,
        "group_category_id": g.group_category_id,
        "sis_group_id": g.sis_source_id,
        "sis_import_id": sis_import_id(store, g.sis_batch_id),
        "members_count": store.active_memberships(g.id).count(),
        "workflow_state": g.workflow_state,
    });
    if let Some(o) = v.as_object_mut() {
        match g.context {
            Context::Account(a) => {
                o.insert("context_type".into(), json!("Account"));
                o.insert("account_id".into(), json!(a));
            }
            Context::Course(c) => {
                o.insert("context_type".into(), json!("Course"));
                o.insert("course_id".into(), json!(c));
            }
        }
    }
    v
}

pub fn group_category(c: &GroupCategory) -> Value {
    let (context_type, key, id) = match c.context {
        Context::Account(a) => ("Account", "account_id", a),
        Context::Course(x) => ("Course", "course_id", x),
    };
    json!({
        "id": c.id,
        "name": c.name,
        "context_type": context_type,
        key: id,
        "sis_group_category_id": c.sis_source_id,
        "sis_import_id": c.sis_batch_id,
    })
}

pub fn membership(store: &Store, m: &GroupMembership) -> Value {
    json!({
        "id": m.id,
        "group_id": m.group_id,
        "user_id": m.user_id,
        "workflow_state": m.workflow_state,
        "moderator": false,
        "sis_import_id": sis_import_id(store, m.sis_batch_id),
    })
}

pub fn progress(base: &str, p: &Progress) -> Value {
    json!({
        "id": p.id,
        "context_id": p.context_id,
        "context_type": p.context_type,
        "user_id": null,
        "tag": p.tag,
        "completion": p.completion,
        "workflow_state": p.workflow_state,
        "created_at": time(p.created_at),
        "updated_at": time(p.updated_at),
        "message": p.message,
        "url": format!("{base}/api/v1/progress/{}", p.id),
    })
}

/// A file as Canvas's `attachment_json` renders it for SIS imports (permission checks skipped,
/// so never locked or hidden). The URL carries the file's `verifier`, so it downloads without a
/// token, like Canvas's signed file URLs.
pub fn file(base: &str, f: &StoredFile) -> Value {
    json!({
        "id": f.id,
        "uuid": f.uuid,
        "folder_id": null,
        "display_name": f.display_name,
        "filename": f.display_name,
        "upload_status": if f.uploaded { "success" } else { "pending" },
        "content-type": f.content_type,
        "url": format!("{base}/files/{}/download?download_frd=1&verifier={}", f.id, f.uuid),
        "size": f.size,
        "created_at": time(f.created_at),
        "updated_at": time(f.created_at),
        "unlock_at": null,
        "locked": false,
        "hidden": false,
        "lock_at": null,
        "hidden_for_user": false,
        "thumbnail_url": null,
        "modified_at": time(f.created_at),
        "mime_class": "file",
        "media_entry_id": null,
        "category": "uncategorized",
        "locked_for_user": false,
    })
}

/// `GradingStandard` JSON (`lib/api/v1/grading_standard.rb`): bounds 0..1, highest first.
pub fn grading_standard(g: &GradingStandard) -> Value {
    json!({
        "id": g.id,
        "title": g.title,
        "context_type": g.context_type,
        "context_id": g.context_id,
        "points_based": false,
        "scaling_factor": 1.0,
        "grading_scheme": g.scheme.iter().map(|(name, value)| json!({"name": name, "value": value})).collect::<Vec<_>>(),
    })
}
