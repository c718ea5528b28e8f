//! enrollments.csv (canvas-sis-csv.md §5.7).

use super::{row_date, status_starts, Ctx, Row};
use crate::model::{
    ActiveDeleted, Enrollment, EnrollmentState, EnrollmentType, Grades, LoginState, RbKind,
    StuckFields,
};
use crate::store::{Store, ROOT_ACCOUNT_ID};

/// Resolve the `role` / `role_id` columns to (type, role id).
fn resolve_role(store: &Store, row: &Row) -> Option<(EnrollmentType, u64)> {
    if let Some(rid) = row.get("role_id") {
        let role = store.role(rid.parse().ok()?)?;
        if role.workflow_state == "inactive" {
            return None;
        }
        return EnrollmentType::parse(&role.base_role_type).map(|t| (t, role.id));
    }
    let name = row.get("role")?;
    let lower = name.to_ascii_lowercase();
    let builtin = if lower.starts_with("student") {
        Some(EnrollmentType::Student)
    } else {
        match lower.as_str() {
            "teacher" => Some(EnrollmentType::Teacher),
            "ta" => Some(EnrollmentType::Ta),
            "observer" => Some(EnrollmentType::Observer),
            "designer" => Some(EnrollmentType::Designer),
            _ => None,
        }
    };
    if let Some(t) = builtin {
        return Some((t, t.builtin_role_id()));
    }
    // Custom course roles match their exact name.
    let role = store
        .roles
        .iter()
        .find(|r| !r.built_in && r.name == name && r.workflow_state == "active")?;
    EnrollmentType::parse(&role.base_role_type).map(|t| (t, role.id))
}

pub fn row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    let course_sis = row.get("course_id");
    let section_sis = row.get("section_id");
    if course_sis.is_none() && section_sis.is_none() {
        ctx.warn(row, "No course_id or section_id given for an enrollment");
        return false;
    }
    let user_integration = row.get("user_integration_id");
    let user_sis = row.get("user_id");
    if user_sis.is_none() && user_integration.is_none() {
        ctx.warn(row, "No user_id given for an enrollment");
        return false;
    }
    let raw_status = row.get("status").unwrap_or("");
    let Some(status) = status_starts(raw_status, &["active", "deleted", "completed", "inactive"])
    else {
        ctx.warn(
            row,
            format!("Improper status \"{raw_status}\" for an enrollment"),
        );
        return false;
    };
    let last_completed = raw_status.eq_ignore_ascii_case("deleted_last_completed");
    if status == "deleted" && ctx.opts.skip_deletes {
        return false;
    }
    let (c, s) = (course_sis.unwrap_or(""), section_sis.unwrap_or(""));
    let u = user_integration.or(user_sis).unwrap_or("");

    // The user, through their login (user_integration_id wins when present).
    let login_id = match user_integration {
        Some(i) => store.login_by_integration.get(i).copied(),
        None => user_sis.and_then(|x| store.login_by_sis.get(x).copied()),
    };
    let Some(login) = login_id.and_then(|id| store.login(id)).cloned() else {
        ctx.warn(
            row,
            format!(
                "User not found for enrollment (User ID: {u}, Course ID: {c}, Section ID: {s})"
            ),
        );
        return false;
    };
    let user_id = login.user_id;

    // Course and section.
    let course = course_sis.and_then(|x| store.course_by_sis.get(x).copied());
    let section = section_sis.and_then(|x| store.section_by_sis.get(x).copied());
    if course.is_none() && section.is_none() {
        ctx.warn(row, format!("Neither course nor section existed for user enrollment (Course ID: {c}, Section ID: {s}, User ID: {u})"));
        return false;
    }
    if section_sis.is_some() && section.is_none() {
        ctx.warn(
            row,
            format!("An enrollment referenced a non-existent section {s}"),
        );
        return false;
    }
    if course_sis.is_some() && course.is_none() {
        ctx.warn(
            row,
            format!("An enrollment referenced a non-existent course {c}"),
        );
        return false;
    }
    if let (Some(cid), Some(sid)) = (course, section) {
        let related = store
            .section(sid)
            .is_some_and(|x| x.course_id == cid || x.nonxlist_course_id == Some(cid));
        if !related {
            ctx.warn(row, format!("An enrollment listed a section ({s}) and a course ({c}) that are unrelated for user ({u})"));
            return false;
        }
    }
    let Some((kind, role_id)) = resolve_role(store, row) else {
        let r = row.get("role").or(row.get("role_id")).unwrap_or("");
        ctx.warn(row, format!("Improper role \"{r}\" for an enrollment"));
        return false;
    };
    let associated = match (kind, row.get("associated_user_id")) {
        (EnrollmentType::Observer, Some(a)) => match store.user_by_active_sis_id(a) {
            Some(id) => Some(id),
            None => {
                ctx.warn(
                    row,
                    format!("An enrollment referenced a non-existent associated user {a}"),
                );
                return false;
            }
        },
        _ => None,
    };
    let section_id = match section {
        Some(sid) => sid,
        None => {
            let Some(cid) = course else { return false };
            let Some(sid) = store.default_section_for(cid) else {
                return false;
            };
            sid
        }
    };
    let Some(sec) = store.section(section_id).cloned() else {
        return false;
    };
    let course_id = sec.course_id;
    let role_name = row.get("role").or(row.get("role_id")).unwrap_or("");

    let start = row_date(row, "start_date");
    let end = row_date(row, "end_date");
    if start.is_err() || end.is_err() {
        let place = match section_sis {
            Some(s) => format!("section {s}"),
            None => format!("course {c}"),
        };
        ctx.warn(row, format!("Bad date format for user {u} in {place}"));
    }
    let (start, end) = (start.unwrap_or(None), end.unwrap_or(None));

    let key = (section_id, user_id, role_id, associated);
    let existing = store.enrollment_key.get(&key).copied();

    // What state the row asks for.
    let mut target = match status {
        "active" => EnrollmentState::Active,
        "completed" => EnrollmentState::Completed,
        "inactive" => EnrollmentState::Inactive,
        _ if last_completed => {
            let other_active = store
                .enrollments_by_course
                .get(&course_id)
                .into_iter()
                .flatten()
                .any(|id| {
                    Some(*id) != existing
                        && store.enrollment(*id).is_some_and(|e| {
                            e.user_id == user_id
                                && e.role_id == role_id
                                && e.associated_user_id == associated
                                && e.workflow_state == EnrollmentState::Active
                        })
                });
            if other_active {
                EnrollmentState::Deleted
            } else {
                EnrollmentState::Completed
            }
        }
        _ => EnrollmentState::Deleted,
    };

    // Deleted logins (canvas-sis-csv.md §5.7).
    if login.workflow_state == LoginState::Deleted {
        let other_active = store.active_logins_of(user_id).next().is_some();
        if other_active {
            ctx.warn(
                row,
                format!("Enrolled a user {u} in course {c}, but referenced a deleted sis login"),
            );
        } else {
            let already_deleted = existing
                .and_then(|id| store.enrollment(id))
                .is_some_and(|e| e.workflow_state == EnrollmentState::Deleted);
            if target == EnrollmentState::Deleted && already_deleted {
                ctx.warn(
                    row,
                    format!(
                        "Attempted enrolling with deleted sis login {} in course {c}",
                        login.unique_id
                    ),
                );
                return false;
            }
            ctx.warn(
                row,
                format!("Attempted enrolling of deleted user {u} in course {c}"),
            );
            target = EnrollmentState::Deleted;
        }
    }
    if sec.workflow_state == ActiveDeleted::Deleted && target != EnrollmentState::Deleted {
        ctx.warn(row, format!("An enrollment did not pass validation (course: {c}, section: {s}, user: {u}, role: {role_name}, error: Course section is not a valid section)"));
        return false;
    }
    let limit = row
        .get("limit_section_privileges")
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1"));

    let id = match existing {
        Some(id) => {
            let Some(e) = store.enrollment(id).cloned() else {
                return false;
            };
            if ctx.may_write(&e.stuck, "start_at") || ctx.may_write(&e.stuck, "end_at") {
                if let Some(m) = store.enrollment_mut(id) {
                    if !m.stuck.contains("start_at") || ctx.opts.override_sis_stickiness {
                        m.start_at = start;
                    }
                    if !m.stuck.contains("end_at") || ctx.opts.override_sis_stickiness {
                        m.end_at = end;
                    }
                }
            }
            if let (Some(l), Some(m)) = (limit, store.enrollment_mut(id)) {
                m.limit_privileges_to_course_section = l;
            }
            store.set_enrollment_state(id, target, Some(ctx.batch_id));
            id
        }
        None => {
            let new_id = store.insert_enrollment(Enrollment {
                id: 0,
                user_id,
                course_id,
                course_section_id: section_id,
                root_account_id: ROOT_ACCOUNT_ID,
                kind,
                role_id,
                associated_user_id: associated,
                workflow_state: target,
                sis_batch_id: Some(ctx.batch_id),
                start_at: start,
                end_at: end,
                completed_at: (target == EnrollmentState::Completed).then_some(ctx.now),
                limit_privileges_to_course_section: limit.unwrap_or(false),
                grades: Grades::default(),
                stuck: StuckFields::new(),
                created_at: ctx.now,
                updated_at: ctx.now,
            });
            store.record_new(ctx.batch_id, RbKind::Enrollment, new_id);
            new_id
        }
    };
    // Linked observers follow a student into every new enrollment; changes to existing ones
    // reach them through `set_enrollment_state`.
    if existing.is_none() && kind == EnrollmentType::Student && target != EnrollmentState::Deleted {
        for observer in store.active_observers_of(user_id) {
            store.ensure_observer_enrollment(observer, id, Some(ctx.batch_id));
        }
    }
    true
}
