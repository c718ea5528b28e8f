//! logins.csv: extra logins for existing users (canvas-sis-csv.md §5.2).

use super::{Ctx, Row};
use crate::model::{Login, LoginState, RbKind, StuckFields};
use crate::store::{Store, ROOT_ACCOUNT_ID};

pub fn row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    let Some(sis) = row.get("user_id") else {
        ctx.warn(row, "No user_id given for a user");
        return false;
    };
    let Some(login_id) = row.get("login_id") else {
        ctx.warn(row, format!("No login_id given for user {sis}"));
        return false;
    };
    let by_sis = row.get("existing_user_id").map(|x| {
        store
            .login_by_sis
            .get(x)
            .and_then(|l| store.login(*l))
            .map(|l| l.user_id)
    });
    let by_integration = row.get("existing_integration_id").map(|x| {
        store
            .login_by_integration
            .get(x)
            .and_then(|l| store.login(*l))
            .map(|l| l.user_id)
    });
    let by_canvas = row
        .get("existing_canvas_user_id")
        .map(|x| x.parse::<u64>().ok().filter(|id| store.user(*id).is_some()));
    let given: Vec<Option<u64>> = [by_sis, by_integration, by_canvas]
        .into_iter()
        .flatten()
        .collect();
    if given.is_empty() {
        ctx.warn(
            row,
            format!("No existing user provided for login with SIS ID {sis}"),
        );
        return false;
    }
    let found: Vec<u64> = given.iter().flatten().copied().collect();
    let Some(user_id) = found.first().copied() else {
        ctx.warn(
            row,
            format!("Could not find the existing user for login with SIS ID {sis}, skipping"),
        );
        return false;
    };
    if found.len() != given.len() || found.iter().any(|u| *u != user_id) {
        ctx.warn(row, format!("An existing user does not match existing user ids provided for login with SIS ID {sis}, skipping"));
        return false;
    }
    let provider = row.get("authentication_provider_id");
    let login_taken = store
        .logins_by_unique_id
        .get(&login_id.to_lowercase())
        .into_iter()
        .flatten()
        .any(|id| {
            store.login(*id).is_some_and(|l| {
                l.is_active() && l.authentication_provider_id.as_deref() == provider
            })
        });
    if store.login_by_sis.contains_key(sis) || login_taken {
        ctx.warn(row, format!("An existing Canvas user with the SIS ID {sis} or login of {login_id} already exists, skipping"));
        return false;
    }
    let has_password = row.get("password").is_some() || row.get("ssha_password").is_some();
    let new_id = store.insert_login(Login {
        id: 0,
        user_id,
        account_id: ROOT_ACCOUNT_ID,
        unique_id: login_id.to_string(),
        sis_user_id: Some(sis.to_string()),
        integration_id: row.get("integration_id").map(str::to_string),
        authentication_provider_id: provider.map(str::to_string),
        declared_user_type: None,
        // Logins are removed through users.csv; this file only adds active ones.
        workflow_state: LoginState::Active,
        sis_batch_id: Some(ctx.batch_id),
        password_auto_generated: has_password,
        has_password,
        email: row
            .get("email")
            .map(|e| (e.to_string(), "active".to_string())),
        stuck: StuckFields::new(),
        created_at: ctx.now,
    });
    store.record_new(ctx.batch_id, RbKind::Pseudonym, new_id);
    true
}
