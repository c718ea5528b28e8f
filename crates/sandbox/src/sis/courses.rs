//! courses.csv (canvas-sis-csv.md §5.5).

use super::{parse_date, status_starts, Ctx, Row};
use crate::model::{ActiveDeleted, Course, CourseState, RbKind, StuckFields, Time};
use crate::store::{Store, DEFAULT_TERM_ID, ROOT_ACCOUNT_ID};

const STATUSES: [&str; 5] = ["active", "unpublished", "published", "completed", "deleted"];

/// The course status mapping table: CSV status × current state → new state.
fn next_state(status: &str, current: Option<CourseState>) -> CourseState {
    use CourseState::*;
    match status {
        "completed" => Completed,
        "deleted" => Deleted,
        "published" => Available,
        // active / unpublished
        _ => match current {
            Some(Completed) => Available,
            Some(Available) => Available,
            _ => Claimed,
        },
    }
}

/// A date column: `None` = leave as is (column absent); `Some(Ok(v))` = write v.
fn date_col(row: &Row, col: &str) -> Option<Result<Option<Time>, ()>> {
    if !row.has(col) {
        return None;
    }
    Some(match row.get(col) {
        None => Ok(None),
        Some("<delete>") => Ok(None),
        Some(v) => parse_date(v).map(Some).ok_or(()),
    })
}

pub fn row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    let Some(sis) = row.get("course_id") else {
        ctx.warn(row, "No course_id given for a course");
        return false;
    };
    let Some(short) = row.get("short_name") else {
        ctx.warn(row, format!("No short_name given for course {sis}"));
        return false;
    };
    let Some(long) = row.get("long_name") else {
        ctx.warn(row, format!("No long_name given for course {sis}"));
        return false;
    };
    let raw_status = row.get("status").unwrap_or("");
    let Some(status) = status_starts(raw_status, &STATUSES) else {
        ctx.warn(
            row,
            format!("Improper status \"{raw_status}\" for course {sis}"),
        );
        return false;
    };
    if let Some(f) = row.get("course_format") {
        if !["on_campus", "online", "blended"].contains(&f) {
            ctx.warn(
                row,
                format!("Invalid course_format \"{f}\" for course {sis}"),
            );
            return false;
        }
    }
    if let Some(g) = row.get("grade_passback_setting") {
        if !["nightly_sync", "disabled", "not_set"].contains(&g) {
            ctx.warn(
                row,
                format!("Invalid grade_passback_setting \"{g}\" for course {sis}"),
            );
            return false;
        }
    }
    let account = match row.get("account_id") {
        None => None,
        Some(a) => {
            let found = store.account_by_sis.get(a).copied().or_else(|| {
                row.get("fallback_account_id")
                    .and_then(|f| store.account_by_sis.get(f).copied())
            });
            match found {
                Some(id) => Some(id),
                None => {
                    ctx.warn(row, format!("Account not found \"{a}\" for course {sis}"));
                    return false;
                }
            }
        }
    };
    // Unknown or blank term: the default term, without a warning.
    let term = row
        .get("term_id")
        .and_then(|t| store.term_by_sis.get(t).copied())
        .unwrap_or(DEFAULT_TERM_ID);
    let start = date_col(row, "start_date");
    let end = date_col(row, "end_date");
    if matches!(start, Some(Err(()))) || matches!(end, Some(Err(()))) {
        ctx.warn(row, format!("Bad date format for course {sis}"));
    }
    let both_deleted =
        row.get("start_date") == Some("<delete>") && row.get("end_date") == Some("<delete>");
    let integration = row.get("integration_id").map(str::to_string);
    let existing = store.course_by_sis.get(sis).copied();

    let Some(id) = existing else {
        let account = account.unwrap_or(ROOT_ACCOUNT_ID);
        let start_at = start.and_then(|r| r.ok()).flatten();
        let conclude_at = end.and_then(|r| r.ok()).flatten();
        let mut stuck = StuckFields::new();
        for f in [
            "name",
            "course_code",
            "account_id",
            "term_id",
            "workflow_state",
            "start_at",
            "conclude_at",
        ] {
            ctx.wrote(&mut stuck, f);
        }
        let new_id = store.insert_course(Course {
            id: 0,
            account_id: account,
            root_account_id: ROOT_ACCOUNT_ID,
            enrollment_term_id: term,
            name: long.to_string(),
            course_code: short.to_string(),
            workflow_state: next_state(status, None),
            sis_source_id: Some(sis.to_string()),
            integration_id: integration,
            sis_batch_id: Some(ctx.batch_id),
            start_at,
            conclude_at,
            restrict_enrollments_to_course_dates: start_at.is_some() || conclude_at.is_some(),
            course_format: row.get("course_format").map(str::to_string),
            grade_passback_setting: row.get("grade_passback_setting").map(str::to_string),
            grading_standard_id: None,
            stuck,
            created_at: ctx.now,
        });
        store.record_new(ctx.batch_id, RbKind::Course, new_id);
        return true;
    };

    let before = store.state_of(RbKind::Course, id);
    let Some(course) = store.course(id).cloned() else {
        return false;
    };
    let new_state = next_state(status, Some(course.workflow_state));
    if course.workflow_state == CourseState::Deleted && new_state != CourseState::Deleted {
        if let Some(a) = store.account(account.unwrap_or(course.account_id)) {
            if a.workflow_state == ActiveDeleted::Deleted {
                let asis = a.sis_source_id.clone().unwrap_or_default();
                ctx.warn(row, format!("Cannot restore course {sis} because the associated account {asis} is deleted"));
                return false;
            }
        }
    }
    if let Some(a) = account {
        if ctx.may_write(&course.stuck, "account_id") {
            store.move_course_account(id, a);
        }
    }
    store.set_course_integration_id(id, integration);
    let w = |f| ctx.may_write(&course.stuck, f);
    let (w_name, w_code, w_term, w_state, w_start, w_end) = (
        w("name"),
        w("course_code"),
        w("term_id"),
        w("workflow_state"),
        w("start_at"),
        w("conclude_at"),
    );
    let Some(c) = store.course_mut(id) else {
        return false;
    };
    if w_name {
        c.name = long.to_string();
        ctx.wrote(&mut c.stuck, "name");
    }
    if w_code {
        c.course_code = short.to_string();
        ctx.wrote(&mut c.stuck, "course_code");
    }
    if w_term {
        c.enrollment_term_id = term;
        ctx.wrote(&mut c.stuck, "term_id");
    }
    if w_state {
        c.workflow_state = new_state;
        ctx.wrote(&mut c.stuck, "workflow_state");
    }
    if w_start {
        if let Some(v) = start {
            c.start_at = v.unwrap_or(None);
            ctx.wrote(&mut c.stuck, "start_at");
        }
    }
    if w_end {
        if let Some(v) = end {
            c.conclude_at = v.unwrap_or(None);
            ctx.wrote(&mut c.stuck, "conclude_at");
        }
    }
    if both_deleted {
        c.restrict_enrollments_to_course_dates = false;
    } else if c.start_at.is_some() || c.conclude_at.is_some() {
        c.restrict_enrollments_to_course_dates = true;
    }
    if row.has("course_format") {
        c.course_format = row.get("course_format").map(str::to_string);
    }
    if row.has("grade_passback_setting") {
        c.grade_passback_setting = row.get("grade_passback_setting").map(str::to_string);
    }
    c.sis_batch_id = Some(ctx.batch_id);
    store.record_since(ctx.batch_id, RbKind::Course, id, before);
    true
}
