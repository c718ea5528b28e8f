//! accounts.csv (canvas-sis-csv.md §5.3).

use super::{status_starts, Ctx, Row};
use crate::model::{Account, ActiveDeleted, CourseState, RbKind, StuckFields};
use crate::store::{Store, ROOT_ACCOUNT_ID};

pub fn row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    let Some(sis) = row.get("account_id") else {
        ctx.warn(row, "No account_id given for an account");
        return false;
    };
    let parent = match row.get("parent_account_id") {
        None => ROOT_ACCOUNT_ID,
        Some(p) => match store.account_by_sis.get(p) {
            Some(id) => *id,
            None => {
                ctx.warn(row, format!("Parent account didn't exist for {sis}"));
                return false;
            }
        },
    };
    let status = row
        .get("status")
        .map(|s| status_starts(s, &["active", "deleted"]));
    let existing = store.account_by_sis.get(sis).copied();
    let Some(id) = existing else {
        let Some(name) = row.get("name") else {
            ctx.warn(row, format!("No name given for account {sis}, skipping"));
            return false;
        };
        let Some(Some(status)) = status else {
            let s = row.get("status").unwrap_or("");
            ctx.warn(
                row,
                format!("Improper status \"{s}\" for account {sis}, skipping"),
            );
            return false;
        };
        let mut stuck = StuckFields::new();
        ctx.wrote(&mut stuck, "name");
        ctx.wrote(&mut stuck, "parent_account_id");
        let new_id = store.insert_account(Account {
            id: 0,
            parent_account_id: Some(parent),
            root_account_id: Some(ROOT_ACCOUNT_ID),
            name: name.to_string(),
            workflow_state: if status == "deleted" {
                ActiveDeleted::Deleted
            } else {
                ActiveDeleted::Active
            },
            sis_source_id: Some(sis.to_string()),
            integration_id: row.get("integration_id").map(str::to_string),
            sis_batch_id: Some(ctx.batch_id),
            stuck,
            created_at: ctx.now,
        });
        store.record_new(ctx.batch_id, RbKind::Account, new_id);
        return true;
    };

    let before = store.state_of(RbKind::Account, id);
    let Some(acct) = store.account(id).cloned() else {
        return false;
    };
    if let Some(Some(status)) = status {
        if status == "deleted" && acct.workflow_state == ActiveDeleted::Active {
            let active_sub = store.sub_accounts.get(&id).into_iter().flatten().any(|s| {
                store
                    .account(*s)
                    .is_some_and(|a| a.workflow_state == ActiveDeleted::Active)
            });
            if active_sub {
                ctx.warn(row, format!("Cannot delete the sub_account with ID: {sis} because it has active sub accounts."));
                return false;
            }
            let active_course = store
                .courses_by_account
                .get(&id)
                .into_iter()
                .flatten()
                .any(|c| {
                    store
                        .course(*c)
                        .is_some_and(|c| c.workflow_state != CourseState::Deleted)
                });
            if active_course {
                ctx.warn(row, format!("Cannot delete the sub_account with ID: {sis} because it has active courses."));
                return false;
            }
        }
        if status == "active" && acct.workflow_state == ActiveDeleted::Deleted {
            if let Some(p) = store.account(parent) {
                if p.workflow_state == ActiveDeleted::Deleted {
                    let psis = p.sis_source_id.clone().unwrap_or_default();
                    ctx.warn(row, format!("Cannot restore sub_account with ID: {sis} because parent_account with ID: {psis} has been deleted."));
                    return false;
                }
            }
        }
    }
    if acct.parent_account_id != Some(parent) && ctx.may_write(&acct.stuck, "parent_account_id") {
        // Walk up from the new parent: reaching this account would make a cycle.
        let mut cur = Some(parent);
        while let Some(c) = cur {
            if c == id {
                let psis = row.get("parent_account_id").unwrap_or("");
                ctx.warn(
                    row,
                    format!("Setting account {sis}'s parent to {psis} would create a loop"),
                );
                return false;
            }
            cur = store.account(c).and_then(|a| a.parent_account_id);
        }
        store.move_account_parent(id, parent);
    }
    store.set_account_integration_id(id, row.get("integration_id").map(str::to_string));
    let (may_name, batch) = (ctx.may_write(&acct.stuck, "name"), ctx.batch_id);
    let Some(a) = store.account_mut(id) else {
        return false;
    };
    if let Some(name) = row.get("name") {
        if may_name {
            a.name = name.to_string();
            ctx.wrote(&mut a.stuck, "name");
        }
    }
    if let Some(Some(status)) = status {
        a.workflow_state = if status == "deleted" {
            ActiveDeleted::Deleted
        } else {
            ActiveDeleted::Active
        };
    }
    a.sis_batch_id = Some(batch);
    store.record_since(batch, RbKind::Account, id, before);
    true
}
