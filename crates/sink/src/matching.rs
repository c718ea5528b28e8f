//! First contact: finding the Canvas user a new SIS user already is, instead of creating a
//! duplicate. The SIS id comes first; then, as configured, the login and the email. A
//! match by login or email is adopted only when it is unambiguous and carries no other
//! SIS id; anything else is a conflict for a person to settle.

use rosterbridge_model::kind::Row;
use rustc_hash::FxHashMap;
use serde_json::Value;

/// How a user not found by SIS id is looked for on first contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserMatch {
    /// The login (`unique_id`) equals the row's `login_id`.
    Login,
    /// Exactly one user of the account has the row's email.
    Email,
    /// A login carries the row's `integration_id`.
    IntegrationId,
}

impl UserMatch {
    pub fn as_str(self) -> &'static str {
        match self {
            UserMatch::Login => "login",
            UserMatch::Email => "email",
            UserMatch::IntegrationId => "integration_id",
        }
    }
}

/// What to do with a user the plan would create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Canvas has a user with this SIS id already; the import updates it.
    Known,
    /// Adopt Canvas user `id`: put the SIS id on its login first.
    Adopt { id: i64, how: UserMatch },
    /// Ambiguous or claimed: do not send the row.
    Conflict(String),
    /// Nobody: create.
    New,
}

/// The account's users, indexed for matching (one listing, then lookups in memory).
#[derive(Default)]
pub struct CanvasUsers {
    users: Vec<Value>,
    by_sis: FxHashMap<String, usize>,
    by_login: FxHashMap<String, Vec<usize>>,
    by_email: FxHashMap<String, Vec<usize>>,
    by_integration: FxHashMap<String, Vec<usize>>,
}

impl CanvasUsers {
    pub fn new(users: Vec<Value>) -> CanvasUsers {
        let mut c = CanvasUsers::default();
        for (i, u) in users.iter().enumerate() {
            let field = |name: &str| u.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
            if let Some(sis) = field("sis_user_id") {
                c.by_sis.insert(sis.to_string(), i);
            }
            if let Some(login) = field("login_id") {
                c.by_login.entry(login.to_lowercase()).or_default().push(i);
            }
            if let Some(email) = field("email") {
                c.by_email.entry(email.to_lowercase()).or_default().push(i);
            }
            if let Some(integration) = field("integration_id") {
                c.by_integration.entry(integration.to_lowercase()).or_default().push(i);
            }
        }
        c.users = users;
        c
    }

    pub fn decide(&self, row: &Row, order: &[UserMatch]) -> Decision {
        let sis = row.get("user_id");
        if self.by_sis.contains_key(sis) {
            return Decision::Known;
        }
        for how in order {
            let (value, index) = match how {
                UserMatch::Login => (row.get("login_id"), &self.by_login),
                UserMatch::Email => (row.get("email"), &self.by_email),
                UserMatch::IntegrationId => (row.get("integration_id"), &self.by_integration),
            };
            if value.is_empty() {
                continue;
            }
            let Some(found) = index.get(&value.to_lowercase()) else { continue };
            if found.len() > 1 {
                return Decision::Conflict(format!("{} Canvas users have the {} {value}; not guessing which is SIS user {sis}", found.len(), how.as_str()));
            }
            let u = &self.users[found[0]];
            let id = u.get("id").and_then(Value::as_i64).unwrap_or_default();
            if let Some(other) = u.get("sis_user_id").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                return Decision::Conflict(format!("Canvas user {id} found by {} {value} already has SIS id {other}; not adopting it as SIS user {sis}", how.as_str()));
            }
            return Decision::Adopt { id, how: *how };
        }
        Decision::New
    }
}

/// Terms and sub-accounts the plan creates, matched by name against what Canvas has (there
/// are few, so they are listed whole). One match without an SIS id is adopted: the SIS id is
/// set on it, so the sink then updates it instead of creating a twin. A match that carries
/// another SIS id, or two matches, is held back as a conflict.
pub async fn settle_by_name(
    client: &rosterbridge_canvas_client::CanvasClient,
    account_id: u64,
    plan: &rosterbridge_plan::Plan,
    kinds: &[rosterbridge_model::kind::Kind],
) -> Result<(FxHashMap<usize, String>, FxHashMap<usize, i64>), rosterbridge_canvas_client::CanvasError> {
    use rosterbridge_canvas_client::Retry;
    use rosterbridge_model::kind::Kind;
    use rosterbridge_plan::Action;
    let mut held = FxHashMap::default();
    let mut adopted = FxHashMap::default();
    for (kind, sis_column, sis_field) in [(Kind::Terms, "term_id", "sis_term_id"), (Kind::Accounts, "account_id", "sis_account_id")] {
        if !kinds.contains(&kind) {
            continue;
        }
        let creates: Vec<usize> = plan.changes.iter().enumerate().filter(|(_, c)| c.kind == kind && c.action == Action::Create).map(|(i, _)| i).collect();
        if creates.is_empty() {
            continue;
        }
        let existing: Vec<Value> = match kind {
            Kind::Terms => list_terms(client, account_id).await?,
            _ => client.get_all(&format!("/api/v1/accounts/{account_id}/sub_accounts"), &[("recursive", "true".into())]).await?,
        };
        let live: Vec<&Value> = existing.iter().filter(|v| v.get("workflow_state").and_then(Value::as_str) != Some("deleted")).collect();
        for i in creates {
            let row = plan.row(&plan.changes[i]);
            let sis = row.get(sis_column);
            let name = row.get("name");
            if live.iter().any(|v| v.get(sis_field).and_then(Value::as_str) == Some(sis)) || name.is_empty() {
                continue;
            }
            let same_name: Vec<&&Value> = live.iter().filter(|v| v.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name))).collect();
            let what = if kind == Kind::Terms { "term" } else { "sub-account" };
            match same_name.as_slice() {
                [] => {}
                [one] => {
                    let id = one.get("id").and_then(Value::as_i64).unwrap_or_default();
                    if let Some(other) = one.get(sis_field).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                        held.insert(i, format!("Canvas {what} {id} named {name:?} already has SIS id {other}; not creating a second {what} of that name for SIS id {sis}"));
                        continue;
                    }
                    let (path, field) = match kind {
                        Kind::Terms => (format!("/api/v1/accounts/{account_id}/terms/{id}"), "enrollment_term[sis_term_id]"),
                        _ => (format!("/api/v1/accounts/{id}"), "account[sis_account_id]"),
                    };
                    let _: Value = client.write(reqwest::Method::PUT, &path, vec![(field.to_string(), sis.to_string())], Retry::Safe).await?;
                    adopted.insert(i, id);
                }
                many => {
                    held.insert(i, format!("{} Canvas {what}s are named {name:?}; not guessing which is SIS id {sis}", many.len()));
                }
            }
        }
    }
    Ok((held, adopted))
}

/// Every term of the account (the list is wrapped in `enrollment_terms`).
async fn list_terms(client: &rosterbridge_canvas_client::CanvasClient, account_id: u64) -> Result<Vec<Value>, rosterbridge_canvas_client::CanvasError> {
    use rosterbridge_canvas_client::{Body, Retry};
    let mut out = Vec::new();
    let mut next = Some(format!("/api/v1/accounts/{account_id}/terms?per_page=100"));
    while let Some(url) = next.take() {
        let resp = client.send(reqwest::Method::GET, &url, &[], &Body::None, Retry::Safe).await?;
        next = resp.headers().get(reqwest::header::LINK).and_then(|v| v.to_str().ok()).and_then(rosterbridge_canvas_client::next_link);
        let page_url = resp.url().to_string();
        let page: Value = resp.json().await.map_err(|e| rosterbridge_canvas_client::CanvasError::Decode { url: page_url, message: e.to_string() })?;
        out.extend(page.get("enrollment_terms").and_then(Value::as_array).into_iter().flatten().cloned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rosterbridge_model::kind::Kind;
    use serde_json::json;

    fn row(sis: &str, login: &str, email: &str) -> Row {
        Row::from_pairs(Kind::Users, [("user_id", sis), ("login_id", login), ("email", email), ("status", "active")])
    }

    #[test]
    fn sis_id_first_then_login_then_email_with_conflicts_never_guessed() {
        let users = CanvasUsers::new(vec![
            json!({"id": 1, "sis_user_id": "S1", "login_id": "ann", "email": "ann@x.org"}),
            json!({"id": 2, "sis_user_id": null, "login_id": "bob", "email": "bob@x.org"}),
            json!({"id": 3, "login_id": "cy1", "email": "cy@x.org"}),
            json!({"id": 4, "login_id": "cy2", "email": "CY@x.org"}),
        ]);
        let order = [UserMatch::Login, UserMatch::Email];
        assert_eq!(users.decide(&row("S1", "other", ""), &order), Decision::Known);
        assert_eq!(users.decide(&row("S2", "BOB", ""), &order), Decision::Adopt { id: 2, how: UserMatch::Login });
        assert_eq!(users.decide(&row("S2", "nobody", "bob@x.org"), &order), Decision::Adopt { id: 2, how: UserMatch::Email });
        assert!(matches!(users.decide(&row("S3", "ann", ""), &order), Decision::Conflict(m) if m.contains("S1")));
        assert!(matches!(users.decide(&row("S4", "", "cy@x.org"), &order), Decision::Conflict(m) if m.contains("2 Canvas users")));
        assert_eq!(users.decide(&row("S2", "bob", ""), &[]), Decision::New, "SIS id only");
        assert_eq!(users.decide(&row("S5", "zed", "zed@x.org"), &order), Decision::New);
    }
}
