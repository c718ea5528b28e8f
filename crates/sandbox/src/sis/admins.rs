//! admins.csv (canvas-sis-csv.md §5.10).

use super::{status_starts, Ctx, Row};
use crate::model::{AccountUser, ActiveDeleted, RbKind};
use crate::store::{Store, ROOT_ACCOUNT_ID};

pub fn row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    let Some(user_sis) = row.get("user_id") else {
        ctx.warn(row, "No user_id given for admin");
        return false;
    };
    let Some(raw_status) = row.get("status") else {
        ctx.warn(row, "No status given for admin");
        return false;
    };
    let (role, role_id) = (row.get("role"), row.get("role_id"));
    if role.is_none() && role_id.is_none() {
        ctx.warn(row, "No role_id or role given for admin");
        return false;
    }
    let Some(status) = status_starts(raw_status, &["active", "deleted"]) else {
        ctx.warn(row, format!("Invalid status {raw_status} for admin"));
        return false;
    };
    let account = match row.get("account_id") {
        None => ROOT_ACCOUNT_ID,
        Some(a) => match store.account_by_sis.get(a) {
            Some(id) => *id,
            None => {
                ctx.warn(row, "Invalid account_id given for admin");
                return false;
            }
        },
    };
    let account_role = |r: &crate::model::Role| {
        r.base_role_type == "AccountMembership" && r.workflow_state != "inactive"
    };
    let role_id = match role_id {
        Some(rid) => match rid
            .parse::<u64>()
            .ok()
            .and_then(|id| store.role(id))
            .filter(|r| account_role(r))
        {
            Some(r) => r.id,
            None => {
                ctx.warn(row, format!("Invalid role_id '{rid}' for admin"));
                return false;
            }
        },
        // Account role names are matched case-sensitively.
        None => {
            let name = role.unwrap_or("");
            match store
                .roles
                .iter()
                .find(|r| account_role(r) && r.name == name)
            {
                Some(r) => r.id,
                None => {
                    ctx.warn(row, format!("Invalid role '{name}' for admin"));
                    return false;
                }
            }
        }
    };
    let Some(user_id) = store.user_by_active_sis_id(user_sis) else {
        ctx.warn(
            row,
            format!("Invalid or unknown user_id '{user_sis}' for admin"),
        );
        return false;
    };
    if status == "deleted" && ctx.opts.skip_deletes {
        return false;
    }
    let existing = store
        .admins
        .iter()
        .find(|a| a.user_id == user_id && a.account_id == account && a.role_id == role_id)
        .map(|a| a.id);
    let before = existing.and_then(|id| store.state_of(RbKind::AccountUser, id));
    let batch = ctx.batch_id;
    match (
        status,
        existing.and_then(|id| store.admins.get_mut((id - 1) as usize)),
    ) {
        ("deleted", Some(a)) => {
            // Only SIS-managed admins are removed; others are silently left.
            if a.sis_batch_id.is_some() {
                a.workflow_state = ActiveDeleted::Deleted;
                a.sis_batch_id = Some(batch);
            }
        }
        ("deleted", None) => {}
        (_, Some(a)) => {
            a.workflow_state = ActiveDeleted::Active;
            a.sis_batch_id = Some(batch);
        }
        (_, None) => {
            let id = store.admins.len() as u64 + 1;
            store.admins.push(AccountUser {
                id,
                user_id,
                account_id: account,
                role_id,
                workflow_state: ActiveDeleted::Active,
                sis_batch_id: Some(batch),
            });
            store.record_new(batch, RbKind::AccountUser, id);
        }
    }
    if let Some(id) = existing {
        store.record_since(batch, RbKind::AccountUser, id, before);
    }
    true
}
