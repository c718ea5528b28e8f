//! user_observers.csv (canvas-sis-csv.md §5.9).

use super::{status_is, Ctx, Row};
use crate::store::Store;

pub fn row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    let Some(observer_sis) = row.get("observer_id") else {
        ctx.warn(row, "No observer_id given for a user observer");
        return false;
    };
    let Some(student_sis) = row.get("student_id") else {
        ctx.warn(row, "No user_id given for a user observer");
        return false;
    };
    if observer_sis == student_sis {
        ctx.warn(row, format!("Can't observe yourself user {student_sis}"));
        return false;
    }
    let raw_status = row.get("status").unwrap_or("");
    let Some(status) = status_is(raw_status, &["active", "deleted"]) else {
        ctx.warn(
            row,
            format!("Improper status \"{raw_status}\" for a user_observer"),
        );
        return false;
    };
    if status == "deleted" && ctx.opts.skip_deletes {
        return false;
    }
    // Only active logins count when looking users up.
    let Some(observer) = store.user_by_active_sis_id(observer_sis) else {
        ctx.warn(
            row,
            format!("An observer referenced a non-existent user {observer_sis}"),
        );
        return false;
    };
    let Some(student) = store.user_by_active_sis_id(student_sis) else {
        ctx.warn(
            row,
            format!("A student referenced a non-existent user {student_sis}"),
        );
        return false;
    };
    if status == "active" {
        store.link_observer(observer, student, Some(ctx.batch_id));
        return true;
    }
    if !store.unlink_observer(observer, student, Some(ctx.batch_id)) {
        ctx.warn(
            row,
            format!("Can't delete a non-existent observer for observer: {observer_sis}, student: {student_sis}"),
        );
        return false;
    }
    true
}
