//! sections.csv (canvas-sis-csv.md §5.6).

use super::{row_date, status_starts, Ctx, Row};
use crate::model::{ActiveDeleted, RbKind, Section, StuckFields};
use crate::store::{Store, ROOT_ACCOUNT_ID};

pub fn row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    let course_sis = row.get("course_id");
    let Some(sis) = row.get("section_id") else {
        ctx.warn(
            row,
            format!(
                "No section_id given for a section in course {}",
                course_sis.unwrap_or("")
            ),
        );
        return false;
    };
    let Some(course_sis) = course_sis else {
        ctx.warn(row, format!("No course_id given for a section {sis}"));
        return false;
    };
    let raw_status = row.get("status").unwrap_or("");
    let Some(status) = status_starts(raw_status, &["active", "deleted"]) else {
        ctx.warn(
            row,
            format!("Improper status \"{raw_status}\" for section {sis} in course {course_sis}"),
        );
        return false;
    };
    let existing = store.section_by_sis.get(sis).copied();
    let name = row.get("name");
    if name.is_none() && (status == "active" || existing.is_none()) {
        ctx.warn(
            row,
            format!("No name given for section {sis} in course {course_sis}"),
        );
        return false;
    }
    let Some(course_id) = store.course_by_sis.get(course_sis).copied() else {
        ctx.warn(
            row,
            format!("Section {sis} references course {course_sis} which doesn't exist"),
        );
        return false;
    };
    let start = row_date(row, "start_date");
    let end = row_date(row, "end_date");
    if start.is_err() || end.is_err() {
        ctx.warn(row, format!("Bad date format for section {sis}"));
    }
    let (start, end) = (start.unwrap_or(None), end.unwrap_or(None));
    let state = if status == "deleted" {
        ActiveDeleted::Deleted
    } else {
        ActiveDeleted::Active
    };
    let integration = row.get("integration_id").map(str::to_string);

    let Some(id) = existing else {
        let mut stuck = StuckFields::new();
        for f in ["name", "course_id", "start_at", "end_at"] {
            ctx.wrote(&mut stuck, f);
        }
        let new_id = store.insert_section(Section {
            id: 0,
            course_id,
            nonxlist_course_id: None,
            root_account_id: ROOT_ACCOUNT_ID,
            name: name.unwrap_or_default().to_string(),
            default_section: false,
            workflow_state: state,
            sis_source_id: Some(sis.to_string()),
            integration_id: integration,
            sis_batch_id: Some(ctx.batch_id),
            start_at: start,
            end_at: end,
            restrict_enrollments_to_section_dates: start.is_some() || end.is_some(),
            stuck,
            created_at: ctx.now,
        });
        store.record_new(ctx.batch_id, RbKind::CourseSection, new_id);
        return true;
    };

    let before = store.state_of(RbKind::CourseSection, id);
    let Some(section) = store.section(id).cloned() else {
        return false;
    };
    // A cross-listed section stays put while the CSV names its original course.
    let stays = section.nonxlist_course_id == Some(course_id);
    if section.course_id != course_id && !stays && ctx.may_write(&section.stuck, "course_id") {
        store.move_section_course(id, course_id);
        if let Some(s) = store.section_mut(id) {
            s.nonxlist_course_id = None;
            ctx.wrote(&mut s.stuck, "course_id");
        }
    }
    store.set_section_integration_id(id, integration);
    let w = |f| ctx.may_write(&section.stuck, f);
    let (w_name, w_start, w_end) = (w("name"), w("start_at"), w("end_at"));
    let Some(s) = store.section_mut(id) else {
        return false;
    };
    if let (Some(n), true) = (name, w_name) {
        s.name = n.to_string();
        ctx.wrote(&mut s.stuck, "name");
    }
    if w_start {
        s.start_at = start;
        ctx.wrote(&mut s.stuck, "start_at");
    }
    if w_end {
        s.end_at = end;
        ctx.wrote(&mut s.stuck, "end_at");
    }
    s.restrict_enrollments_to_section_dates = s.start_at.is_some() || s.end_at.is_some();
    let was_active = s.workflow_state == ActiveDeleted::Active;
    s.workflow_state = state;
    s.sis_batch_id = Some(ctx.batch_id);
    store.record_since(ctx.batch_id, RbKind::CourseSection, id, before);
    if state == ActiveDeleted::Deleted && was_active {
        store.delete_section_enrollments(id, Some(ctx.batch_id));
    }
    true
}
