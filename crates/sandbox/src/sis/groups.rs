//! group_categories.csv, groups.csv and group_memberships.csv (canvas-sis-csv.md §5.12;
//! wording checked against lib/sis/group*_importer.rb).

use super::{status_starts, Ctx, Row};
use crate::model::{
    ActiveDeleted, Context, CourseState, EnrollmentState, Group, GroupCategory, GroupMembership,
    RbKind, StuckFields,
};
use crate::store::{Store, ROOT_ACCOUNT_ID};

fn active_account(store: &Store, sis: &str) -> Option<u64> {
    let id = *store.account_by_sis.get(sis)?;
    store
        .account(id)
        .filter(|a| a.workflow_state == ActiveDeleted::Active)
        .map(|a| a.id)
}

fn active_course(store: &Store, sis: &str) -> Option<u64> {
    let id = *store.course_by_sis.get(sis)?;
    store
        .course(id)
        .filter(|c| c.workflow_state != CourseState::Deleted)
        .map(|c| c.id)
}

pub fn category_row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    let Some(sis) = row.get("group_category_id") else {
        ctx.warn(row, "No sis_id given for a group category");
        return false;
    };
    let Some(name) = row.get("category_name") else {
        ctx.warn(row, format!("No name given for group category {sis}"));
        return false;
    };
    let Some(raw_status) = row.get("status") else {
        ctx.warn(row, format!("No status given for group category {sis}"));
        return false;
    };
    let Some(status) = status_starts(raw_status, &["active", "deleted"]) else {
        ctx.warn(
            row,
            format!("Improper status \"{raw_status}\" for group category {sis}, skipping"),
        );
        return false;
    };
    if status == "deleted" && ctx.opts.skip_deletes {
        return false;
    }
    let (account, course) = (row.get("account_id"), row.get("course_id"));
    if account.is_some() && course.is_some() {
        ctx.warn(row, format!("Only one context is allowed and both course_id and account_id where provided for group category {sis}."));
        return false;
    }
    let mut context = Context::Account(ROOT_ACCOUNT_ID);
    if let Some(a) = account {
        let Some(id) = active_account(store, a) else {
            ctx.warn(
                row,
                format!("Account with id \"{a}\" didn't exist for group category {sis}"),
            );
            return false;
        };
        context = Context::Account(id);
    }
    if let Some(c) = course {
        let Some(id) = active_course(store, c) else {
            ctx.warn(
                row,
                format!("Course with id \"{c}\" didn't exist for group category {sis}"),
            );
            return false;
        };
        context = Context::Course(id);
    }
    let existing = store.group_category_by_sis.get(sis).copied();
    if let Some(id) = existing {
        let has_groups = store
            .groups
            .iter()
            .any(|g| g.group_category_id == Some(id) && g.workflow_state != "deleted");
        if has_groups
            && store
                .group_category(id)
                .is_some_and(|c| c.context != context)
        {
            ctx.warn(
                row,
                format!("Cannot move group category {sis} because it has groups in it."),
            );
            return false;
        }
    }
    let deleted = status == "deleted";
    let before = existing.and_then(|id| store.state_of(RbKind::GroupCategory, id));
    match existing.and_then(|id| store.group_category_mut(id)) {
        Some(c) => {
            c.name = name.to_string();
            c.context = context;
            c.deleted = deleted;
            c.sis_batch_id = Some(ctx.batch_id);
        }
        None => {
            let new_id = store.insert_group_category(GroupCategory {
                id: 0,
                name: name.to_string(),
                context,
                sis_source_id: Some(sis.to_string()),
                deleted,
                sis_batch_id: Some(ctx.batch_id),
            });
            store.record_new(ctx.batch_id, RbKind::GroupCategory, new_id);
        }
    }
    if let Some(id) = existing {
        store.record_since(ctx.batch_id, RbKind::GroupCategory, id, before);
    }
    true
}

pub fn group_row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    let Some(sis) = row.get("group_id") else {
        ctx.warn(row, "No group_id given for a group.");
        return false;
    };
    let Some(name) = row.get("name") else {
        ctx.warn(row, format!("No name given for group {sis}."));
        return false;
    };
    // closed and completed are legacy values, still accepted (as available).
    let raw_status = row.get("status").unwrap_or("");
    if status_starts(raw_status, &["available", "closed", "completed", "deleted"]).is_none() {
        ctx.warn(
            row,
            format!("Improper status \"{raw_status}\" for group {sis}."),
        );
        return false;
    }
    if raw_status.to_ascii_lowercase().contains("deleted") && ctx.opts.skip_deletes {
        return false;
    }
    let (account, course, category) = (
        row.get("account_id"),
        row.get("course_id"),
        row.get("group_category_id"),
    );
    if account.is_some() && course.is_some() {
        ctx.warn(row, format!("Only one context is allowed and both course_id and account_id where provided for group {sis}."));
        return false;
    }
    let mut context = None;
    if let Some(a) = account {
        let Some(id) = active_account(store, a) else {
            ctx.warn(
                row,
                format!("Account with sis id {a} didn't exist for group {sis}."),
            );
            return false;
        };
        context = Some(Context::Account(id));
    }
    if let Some(c) = course {
        let Some(id) = active_course(store, c) else {
            ctx.warn(
                row,
                format!("Course with sis id {c} didn't exist for group {sis}."),
            );
            return false;
        };
        context = Some(Context::Course(id));
    }
    let mut group_category = None;
    if let Some(gc) = category {
        let found = store
            .group_category_by_sis
            .get(gc)
            .copied()
            .and_then(|id| store.group_category(id))
            .filter(|c| !c.deleted && context.is_none_or(|x| c.context == x));
        let Some(found) = found else {
            let msg = match (account, course) {
                (Some(a), _) => {
                    format!("Group Category {gc} didn't exist in account {a} for group {sis}.")
                }
                (_, Some(c)) => {
                    format!("Group Category {gc} didn't exist in course {c} for group {sis}.")
                }
                _ => format!("Group Category {gc} didn't exist for group {sis}."),
            };
            ctx.warn(row, msg);
            return false;
        };
        // The category's context wins.
        context = Some(found.context);
        group_category = Some(found.id);
    }
    let context = context.unwrap_or(Context::Account(ROOT_ACCOUNT_ID));
    let existing = store.group_by_sis.get(sis).copied();
    if let Some(g) = existing.and_then(|id| store.group(id)) {
        let moving_course_group = g.context != context
            && (matches!(g.context, Context::Course(_)) || matches!(context, Context::Course(_)));
        if moving_course_group && store.active_memberships(g.id).next().is_some() {
            ctx.warn(
                row,
                format!("Cannot move group {sis} because it has group_memberships."),
            );
            return false;
        }
    }
    // Canvas compares the raw value: only exactly "deleted" deletes.
    let state = if raw_status == "deleted" {
        "deleted"
    } else {
        "available"
    };
    let (batch, over) = (ctx.batch_id, ctx.opts.override_sis_stickiness);
    let before = existing.and_then(|id| store.state_of(RbKind::Group, id));
    match existing.and_then(|id| store.group_mut(id)) {
        Some(g) => {
            if over || !g.stuck.contains("name") {
                g.name = name.to_string();
                ctx.wrote(&mut g.stuck, "name");
            }
            g.context = context;
            if group_category.is_some() {
                g.group_category_id = group_category;
            }
            g.workflow_state = state.into();
            g.sis_batch_id = Some(batch);
        }
        None => {
            let mut stuck = StuckFields::new();
            ctx.wrote(&mut stuck, "name");
            let new_id = store.insert_group(Group {
                id: 0,
                name: name.to_string(),
                context,
                group_category_id: group_category,
                sis_source_id: Some(sis.to_string()),
                workflow_state: state.into(),
                sis_batch_id: Some(batch),
                stuck,
            });
            store.record_new(ctx.batch_id, RbKind::Group, new_id);
        }
    }
    if let Some(id) = existing {
        store.record_since(ctx.batch_id, RbKind::Group, id, before);
    }
    true
}

pub fn membership_row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    let Some(group_sis) = row.get("group_id") else {
        ctx.warn(row, "No group_id given for a group user");
        return false;
    };
    let Some(user_sis) = row.get("user_id") else {
        ctx.warn(row, "No user_id given for a group user");
        return false;
    };
    let raw_status = row.get("status").unwrap_or("");
    let Some(status) = status_starts(raw_status, &["accepted", "deleted"]) else {
        ctx.warn(
            row,
            format!("Improper status \"{raw_status}\" for a group user"),
        );
        return false;
    };
    if status == "deleted" && ctx.opts.skip_deletes {
        return false;
    }
    let user = store
        .login_by_sis
        .get(user_sis)
        .and_then(|l| store.login(*l))
        .map(|l| l.user_id);
    let group = store.group_by_sis.get(group_sis).copied();
    let Some(user) = user else {
        ctx.warn(row, format!("User {user_sis} didn't exist for group user"));
        return false;
    };
    let Some(group) = group else {
        ctx.warn(
            row,
            format!("Group {group_sis} didn't exist for group user"),
        );
        return false;
    };
    if let Some(Context::Course(course)) = store.group(group).map(|g| g.context) {
        let enrolled = store
            .enrollments_by_user
            .get(&user)
            .into_iter()
            .flatten()
            .any(|e| {
                store.enrollment(*e).is_some_and(|e| {
                    e.course_id == course && e.workflow_state != EnrollmentState::Deleted
                })
            });
        if !enrolled {
            ctx.warn(row, format!("User {user_sis} doesn't have an enrollment in the course of group {group_sis}."));
            return false;
        }
    }
    // Prefer the accepted membership when several exist.
    let ids = store
        .memberships_by_group
        .get(&group)
        .cloned()
        .unwrap_or_default();
    let mine: Vec<u64> = ids
        .into_iter()
        .filter(|id| {
            store
                .group_memberships
                .get((*id - 1) as usize)
                .is_some_and(|m| m.user_id == user)
        })
        .collect();
    let existing = mine
        .iter()
        .copied()
        .find(|id| {
            store
                .group_memberships
                .get((*id - 1) as usize)
                .is_some_and(|m| m.workflow_state == "accepted")
        })
        .or(mine.first().copied());
    let before = existing.and_then(|id| store.state_of(RbKind::GroupMembership, id));
    match existing.and_then(|id| store.membership_mut(id)) {
        Some(m) => {
            m.workflow_state = status.into();
            m.sis_batch_id = Some(ctx.batch_id);
        }
        None => {
            let new_id = store.insert_membership(GroupMembership {
                id: 0,
                group_id: group,
                user_id: user,
                workflow_state: status.into(),
                sis_batch_id: Some(ctx.batch_id),
            });
            store.record_new(ctx.batch_id, RbKind::GroupMembership, new_id);
        }
    }
    if let Some(id) = existing {
        store.record_since(ctx.batch_id, RbKind::GroupMembership, id, before);
    }
    true
}
