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
}

impl UserMatch {
    pub fn as_str(self) -> &'static str {
        match self {
            UserMatch::Login => "login",
            UserMatch::Email => "email",
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
