//! terms.csv (canvas-sis-csv.md §5.4).

use super::{row_date, status_starts, Ctx, Row};
use crate::model::{ActiveDeleted, CourseState, RbKind, StuckFields, Term};
use crate::store::{Store, ROOT_ACCOUNT_ID};

const OVERRIDE_TYPES: [&str; 4] = [
    "StudentEnrollment",
    "TeacherEnrollment",
    "TaEnrollment",
    "DesignerEnrollment",
];

pub fn row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    let Some(sis) = row.get("term_id") else {
        ctx.warn(row, "No term_id given for a term");
        return false;
    };
    let raw_status = row.get("status").unwrap_or("");
    let Some(status) = status_starts(raw_status, &["active", "deleted"]) else {
        ctx.warn(
            row,
            format!("Improper status \"{raw_status}\" for term {sis}"),
        );
        return false;
    };
    let existing = store.term_by_sis.get(sis).copied();

    let start = row_date(row, "start_date");
    let end = row_date(row, "end_date");
    let bad_date = start.is_err() || end.is_err();
    let (start, end) = (start.unwrap_or(None), end.unwrap_or(None));

    if let Some(kind) = row.get("date_override_enrollment_type") {
        if !OVERRIDE_TYPES.contains(&kind) {
            ctx.warn(row, "Invalid date_override_enrollment_type");
            return false;
        }
        let Some(id) = existing else {
            ctx.warn(row, "Cannot set date override on non-existent term");
            return false;
        };
        if bad_date {
            ctx.warn(row, format!("Bad date format for term {sis}"));
        }
        let Some(t) = store.term_mut(id) else {
            return false;
        };
        t.overrides.retain(|(k, _, _)| k != kind);
        if status == "active" {
            t.overrides.push((kind.to_string(), start, end));
        }
        t.sis_batch_id = Some(ctx.batch_id);
        return true;
    }

    let Some(name) = row.get("name") else {
        ctx.warn(row, format!("No name given for term {sis}"));
        return false;
    };
    if status == "deleted" {
        if let Some(id) = existing {
            let has_active = store
                .courses
                .iter()
                .any(|c| c.enrollment_term_id == id && c.workflow_state != CourseState::Deleted);
            if has_active {
                ctx.warn(row, "Cannot delete a term with active courses");
                return false;
            }
        }
    }
    if bad_date {
        ctx.warn(row, format!("Bad date format for term {sis}"));
    }
    let state = if status == "deleted" {
        ActiveDeleted::Deleted
    } else {
        ActiveDeleted::Active
    };
    let integration = row.get("integration_id").map(str::to_string);
    let Some(id) = existing else {
        let mut stuck = StuckFields::new();
        for f in ["name", "start_date", "end_date"] {
            ctx.wrote(&mut stuck, f);
        }
        let new_id = store.insert_term(Term {
            id: 0,
            root_account_id: ROOT_ACCOUNT_ID,
            name: name.to_string(),
            start_at: start,
            end_at: end,
            workflow_state: state,
            sis_source_id: Some(sis.to_string()),
            integration_id: integration,
            sis_batch_id: Some(ctx.batch_id),
            overrides: Vec::new(),
            stuck,
            created_at: ctx.now,
        });
        store.record_new(ctx.batch_id, RbKind::EnrollmentTerm, new_id);
        return true;
    };
    let before = store.state_of(RbKind::EnrollmentTerm, id);
    store.set_term_integration_id(id, integration);
    let Some(stuck) = store.term(id).map(|t| t.stuck.clone()) else {
        return false;
    };
    let (w_name, w_start, w_end) = (
        ctx.may_write(&stuck, "name"),
        ctx.may_write(&stuck, "start_date"),
        ctx.may_write(&stuck, "end_date"),
    );
    let Some(t) = store.term_mut(id) else {
        return false;
    };
    if w_name {
        t.name = name.to_string();
        ctx.wrote(&mut t.stuck, "name");
    }
    if w_start {
        t.start_at = start;
        ctx.wrote(&mut t.stuck, "start_date");
    }
    if w_end {
        t.end_at = end;
        ctx.wrote(&mut t.stuck, "end_date");
    }
    t.workflow_state = state;
    t.sis_batch_id = Some(ctx.batch_id);
    store.record_since(ctx.batch_id, RbKind::EnrollmentTerm, id, before);
    true
}
