//! xlists.csv: cross-listing sections into other courses (canvas-sis-csv.md §5.8).

use super::{status_is, Ctx, Row};
use crate::model::{Course, CourseState, StuckFields};
use crate::store::Store;

pub fn row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    let Some(xlist_sis) = row.get("xlist_course_id") else {
        ctx.warn(row, "No xlist_course_id given for a cross-listing");
        return false;
    };
    let Some(section_sis) = row.get("section_id") else {
        ctx.warn(row, "No section_id given for a cross-listing");
        return false;
    };
    // Anchored at both ends, unlike most kinds.
    let raw_status = row.get("status").unwrap_or("");
    let Some(status) = status_is(raw_status, &["active", "deleted"]) else {
        ctx.warn(
            row,
            format!("Improper status \"{raw_status}\" for a cross-listing"),
        );
        return false;
    };
    let Some(section_id) = store.section_by_sis.get(section_sis).copied() else {
        ctx.warn(
            row,
            format!("A cross-listing referenced a non-existent section {section_sis}"),
        );
        return false;
    };
    let Some(section) = store.section(section_id).cloned() else {
        return false;
    };
    // A section moved by hand (course_id stuck) is left alone by xlist rows.
    if !ctx.may_write(&section.stuck, "course_id") {
        return true;
    }
    let xlist_course = store.course_by_sis.get(xlist_sis).copied();

    if status == "deleted" {
        let Some(original) = section.nonxlist_course_id else {
            return true;
        };
        if xlist_course.is_none_or(|x| x == section.course_id) {
            store.move_section_course(section_id, original);
            if let Some(s) = store.section_mut(section_id) {
                s.nonxlist_course_id = None;
                s.sis_batch_id = Some(ctx.batch_id);
            }
        }
        return true;
    }

    let target = match xlist_course {
        Some(id) => {
            if let Some(c) = store.course_mut(id) {
                if c.workflow_state == CourseState::Deleted {
                    c.workflow_state = CourseState::Claimed;
                }
            }
            id
        }
        None => {
            // A new course templated on the section's current course.
            let Some(from) = store.course(section.course_id).cloned() else {
                return false;
            };
            store.insert_course(Course {
                id: 0,
                sis_source_id: Some(xlist_sis.to_string()),
                integration_id: None,
                sis_batch_id: Some(ctx.batch_id),
                workflow_state: CourseState::Claimed,
                stuck: StuckFields::new(),
                created_at: ctx.now,
                ..from
            })
        }
    };
    if section.course_id != target {
        store.move_section_course(section_id, target);
        if let Some(s) = store.section_mut(section_id) {
            s.nonxlist_course_id = Some(section.nonxlist_course_id.unwrap_or(section.course_id));
        }
    }
    if let Some(s) = store.section_mut(section_id) {
        s.sis_batch_id = Some(ctx.batch_id);
    }
    true
}
