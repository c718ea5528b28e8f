//! users.csv (canvas-sis-csv.md §5.1).

use super::{status_starts, Ctx, Row};
use crate::model::{Login, LoginState, RbKind, StuckFields, User};
use crate::store::{Store, ROOT_ACCOUNT_ID};

/// Canvas's validation of `unique_id`.
const MAX_UNIQUE_ID: usize = 100;

/// A loose email check in the spirit of Canvas's: one `@`, text on both sides, no spaces.
fn valid_email(s: &str) -> bool {
    let mut parts = s.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), None) => {
            !a.is_empty() && b.contains('.') && !s.contains(char::is_whitespace)
        }
        _ => false,
    }
}

/// "User One" → "One, User": the last word is taken as the family name.
fn infer_sortable(name: &str) -> String {
    let name = name.trim();
    match name.rsplit_once(' ') {
        Some((given, family)) => format!("{family}, {}", given.trim()),
        None => name.to_string(),
    }
}

/// Names from the row: (name, sortable, short); `None` when the row has no name columns.
fn row_names(row: &Row) -> Option<(String, String, Option<String>)> {
    let first = row.get("first_name");
    let last = row.get("last_name");
    let full = row.get("full_name");
    let sortable = row.get("sortable_name");
    let short = row.get("short_name").map(str::to_string);
    let (name, inferred) = if let Some(full) = full {
        (full.to_string(), infer_sortable(full))
    } else if first.is_some() || last.is_some() {
        let name = [first, last]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let sortable = match (last, first) {
            (Some(l), Some(f)) => format!("{l}, {f}"),
            (Some(l), None) => l.to_string(),
            (None, Some(f)) => f.to_string(),
            (None, None) => String::new(),
        };
        (name, sortable)
    } else if let Some(s) = sortable {
        (s.to_string(), s.to_string())
    } else if let Some(s) = &short {
        (s.clone(), infer_sortable(s))
    } else {
        return None;
    };
    Some((
        name,
        sortable.map(str::to_string).unwrap_or(inferred),
        short,
    ))
}

/// An active login with this unique_id (case-insensitive), within the provider if given.
fn active_login_by_unique_id(
    store: &Store,
    unique_id: &str,
    provider: Option<&str>,
) -> Option<u64> {
    store
        .logins_by_unique_id
        .get(&unique_id.to_lowercase())?
        .iter()
        .copied()
        .find(|id| {
            store.login(*id).is_some_and(|l| {
                l.is_active()
                    && (provider.is_none() || l.authentication_provider_id.as_deref() == provider)
            })
        })
}

pub fn row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    if row.has_nul() {
        ctx.warn(row, "Some of the fields contain NULL character");
        return false;
    }
    let Some(sis) = row.get("user_id") else {
        ctx.warn(row, "No user_id given for a user");
        return false;
    };
    let Some(login_id) = row.get("login_id") else {
        ctx.warn(row, format!("No login_id given for user {sis}"));
        return false;
    };
    let Some(raw_status) = row.get("status") else {
        ctx.warn(row, format!("No status given for user {sis}"));
        return false;
    };
    let Some(status) = status_starts(raw_status, &["active", "suspended", "deleted"]) else {
        ctx.warn(row, format!("Improper status for user {sis}"));
        return false;
    };
    if status == "deleted" && ctx.opts.skip_deletes {
        return false;
    }
    let provider = row.get("authentication_provider_id");
    if let Some(p) = provider {
        // The sandbox knows Canvas's own provider types only.
        if ![
            "canvas",
            "google",
            "microsoft",
            "saml",
            "cas",
            "ldap",
            "openid_connect",
        ]
        .contains(&p)
            && p.parse::<u64>().is_err()
        {
            ctx.warn(
                row,
                format!("unrecognized authentication provider {p} for {sis}, skipping"),
            );
            return false;
        }
    }

    let by_sis = store.login_by_sis.get(sis).copied();
    let holder = active_login_by_unique_id(store, login_id, provider);
    let mut login = by_sis;
    if let Some(h) = holder.filter(|h| Some(*h) != by_sis) {
        let Some(hl) = store.login(h) else {
            return false;
        };
        match (&hl.sis_user_id, by_sis) {
            // Someone else's SIS login holds it.
            (Some(other), _) if other != sis => {
                if ctx.opts.update_sis_id_if_login_claimed && by_sis.is_none() {
                    store.set_login_sis_user_id(h, Some(sis.to_string()));
                    login = Some(h);
                } else {
                    let other = other.clone();
                    ctx.warn(row, format!("An existing Canvas user with the SIS ID {other} has already claimed {sis}'s user_id requested login information, skipping"));
                    return false;
                }
            }
            // A non-SIS login: adopt it when this SIS id is new, else it blocks the change.
            (None, None) => {
                store.set_login_sis_user_id(h, Some(sis.to_string()));
                login = Some(h);
            }
            (None, Some(_)) => {
                let uid = hl.user_id;
                ctx.warn(row, format!("An existing Canvas user with the Canvas ID {uid} has already claimed {sis}'s user_id requested login information, skipping"));
                return false;
            }
            _ => {}
        }
    }
    let integration = row.get("integration_id");
    if let Some(i) = integration {
        if let Some(other) = store.login_by_integration.get(i).copied() {
            if Some(other) != login && status != "deleted" {
                let who = store
                    .login(other)
                    .and_then(|l| l.sis_user_id.clone())
                    .unwrap_or_default();
                ctx.warn(row, format!("An existing Canvas user with the SIS ID {who} has already claimed {sis}'s requested integration_id, skipping"));
                return false;
            }
        }
    }
    if login_id.chars().count() > MAX_UNIQUE_ID {
        ctx.warn(row, format!("Could not save the user with user_id: '{sis}'. Unknown reason: unique_id is too long (maximum is 100 characters)"));
        return false;
    }
    let email = row.get("email");
    let email_ok = match email {
        Some(e) if !valid_email(e) => {
            ctx.warn(
                row,
                format!("The email address associated with user '{sis}' is invalid (email: '{e}')"),
            );
            false
        }
        Some(_) => true,
        None => false,
    };
    let state = match status {
        "deleted" => LoginState::Deleted,
        "suspended" => LoginState::Suspended,
        _ => LoginState::Active,
    };
    let names = row_names(row);
    let has_password = row.get("password").is_some() || row.get("ssha_password").is_some();

    let Some(login_id_num) = login else {
        // A new user and login.
        let (name, sortable, short) =
            names.unwrap_or_else(|| (login_id.to_string(), login_id.to_string(), None));
        let mut stuck = StuckFields::new();
        for f in ["name", "sortable_name", "short_name"] {
            ctx.wrote(&mut stuck, f);
        }
        let user_id = store.insert_user(User {
            id: 0,
            short_name: short.unwrap_or_else(|| name.clone()),
            name,
            sortable_name: sortable,
            pronouns: row
                .get("pronouns")
                .filter(|p| *p != "<delete>")
                .map(str::to_string),
            workflow_state: "registered".into(),
            stuck,
            created_at: ctx.now,
        });
        let mut lstuck = StuckFields::new();
        ctx.wrote(&mut lstuck, "unique_id");
        ctx.wrote(&mut lstuck, "workflow_state");
        let new_id = store.insert_login(Login {
            id: 0,
            user_id,
            account_id: ROOT_ACCOUNT_ID,
            unique_id: login_id.to_string(),
            sis_user_id: Some(sis.to_string()),
            integration_id: integration.map(str::to_string),
            authentication_provider_id: provider.map(str::to_string),
            declared_user_type: row.get("declared_user_type").map(str::to_string),
            workflow_state: state,
            sis_batch_id: Some(ctx.batch_id),
            password_auto_generated: has_password,
            has_password,
            email: email.filter(|_| email_ok).map(|e| {
                (
                    e.to_string(),
                    if state == LoginState::Deleted {
                        "retired"
                    } else {
                        "active"
                    }
                    .to_string(),
                )
            }),
            stuck: lstuck,
            created_at: ctx.now,
        });
        store.record_new(ctx.batch_id, RbKind::Pseudonym, new_id);
        return true;
    };

    // An existing login (and its user).
    let before = store.state_of(RbKind::Pseudonym, login_id_num);
    let Some(existing) = store.login(login_id_num).cloned() else {
        return false;
    };
    let user_id = existing.user_id;
    if existing.unique_id != login_id && ctx.may_write(&existing.stuck, "unique_id") {
        store.set_login_unique_id(login_id_num, login_id.to_string());
    }
    if let Some(i) = integration {
        store.set_login_integration_id(login_id_num, Some(i.to_string()));
    }
    let may_state = ctx.may_write(&existing.stuck, "workflow_state");
    let mut now_deleted = false;
    if let Some(l) = store.login_mut(login_id_num) {
        if l.unique_id == login_id {
            ctx.wrote(&mut l.stuck, "unique_id");
        }
        if may_state {
            now_deleted = state == LoginState::Deleted && l.workflow_state != LoginState::Deleted;
            l.workflow_state = state;
            ctx.wrote(&mut l.stuck, "workflow_state");
        }
        if let Some(p) = provider {
            l.authentication_provider_id = Some(p.to_string());
        }
        if let Some(t) = row.get("declared_user_type") {
            l.declared_user_type = (t != "<delete>").then(|| t.to_string());
        }
        if has_password && (l.password_auto_generated || !l.has_password) {
            l.has_password = true;
            l.password_auto_generated = true;
        }
        if let (Some(e), true) = (email, email_ok) {
            l.email = Some((e.to_string(), "active".into()));
        }
        if l.workflow_state == LoginState::Deleted {
            if let Some(e) = l.email.as_mut() {
                e.1 = "retired".into();
            }
        }
        l.sis_batch_id = Some(ctx.batch_id);
    }
    if let Some(u) = store.user(user_id).cloned() {
        let w = |f| ctx.may_write(&u.stuck, f);
        let (w_name, w_sort, w_short) = (w("name"), w("sortable_name"), w("short_name"));
        if let Some(u) = store.user_mut(user_id) {
            if let Some((name, sortable, short)) = names {
                if w_name {
                    u.name = name;
                    ctx.wrote(&mut u.stuck, "name");
                }
                if w_sort {
                    u.sortable_name = sortable;
                    ctx.wrote(&mut u.stuck, "sortable_name");
                }
                if let (Some(s), true) = (short, w_short) {
                    u.short_name = s;
                    ctx.wrote(&mut u.stuck, "short_name");
                }
            }
            match row.get("pronouns") {
                Some("<delete>") => u.pronouns = None,
                Some(p) => u.pronouns = Some(p.to_string()),
                None => {}
            }
        }
    }
    store.record_since(ctx.batch_id, RbKind::Pseudonym, login_id_num, before);
    // Deleting the last active login removes the user from the root account's courses.
    if now_deleted && store.active_logins_of(user_id).next().is_none() {
        store.delete_user_enrollments(user_id, Some(ctx.batch_id));
    }
    true
}
