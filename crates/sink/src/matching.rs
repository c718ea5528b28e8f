//! First contact: finding the Canvas user (or term, sub-account, course, section) a new SIS
//! object already is, instead of creating a duplicate. The SIS id comes first; then, as configured, the login and the email. A
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
            let field = |name: &str| {
                u.get(name)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            };
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
                c.by_integration
                    .entry(integration.to_lowercase())
                    .or_default()
                    .push(i);
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
            let Some(found) = index.get(&value.to_lowercase()) else {
                continue;
            };
            if found.len() > 1 {
                return Decision::Conflict(format!(
                    "{} Canvas users have the {} {value}; not guessing which is SIS user {sis}",
                    found.len(),
                    how.as_str()
                ));
            }
            let u = &self.users[found[0]];
            let id = u.get("id").and_then(Value::as_i64).unwrap_or_default();
            if let Some(other) = u
                .get("sis_user_id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                return Decision::Conflict(format!("Canvas user {id} found by {} {value} already has SIS id {other}; not adopting it as SIS user {sis}", how.as_str()));
            }
            return Decision::Adopt { id, how: *how };
        }
        Decision::New
    }
}

/// How a term, sub-account, course or section the plan creates is looked for in Canvas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectMatch {
    /// The same name, ignoring ASCII case: a term's or sub-account's name, a course's name
    /// (`long_name`), a section's name within its course.
    Name,
    /// The same `integration_id` (for accounts, their external id).
    IntegrationId,
}

/// First-contact rules for objects other than users, kind by kind.
pub type ObjectRules = Vec<(rosterbridge_model::kind::Kind, Vec<ObjectMatch>)>;

/// The rules rosterbridge uses unless configured: terms and sub-accounts by name.
pub fn default_object_rules() -> ObjectRules {
    use rosterbridge_model::kind::Kind;
    vec![
        (Kind::Terms, vec![ObjectMatch::Name]),
        (Kind::Accounts, vec![ObjectMatch::Name]),
    ]
}

/// Where a kind keeps its SIS id in a plan row and in Canvas's JSON, and what it is called.
struct Shape {
    sis_column: &'static str,
    sis_field: &'static str,
    name_column: &'static str,
    what: &'static str,
}

fn shape(kind: rosterbridge_model::kind::Kind) -> Option<Shape> {
    use rosterbridge_model::kind::Kind;
    let (sis_column, sis_field, name_column, what) = match kind {
        Kind::Terms => ("term_id", "sis_term_id", "name", "term"),
        Kind::Accounts => ("account_id", "sis_account_id", "name", "sub-account"),
        Kind::Courses => ("course_id", "sis_course_id", "long_name", "course"),
        Kind::Sections => ("section_id", "sis_section_id", "name", "section"),
        _ => return None,
    };
    Some(Shape {
        sis_column,
        sis_field,
        name_column,
        what,
    })
}

fn text<'v>(v: &'v Value, field: &str) -> Option<&'v str> {
    v.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// What first contact decided for one object the plan creates.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// Canvas has it by SIS id already, or nothing matches: send the row as planned.
    Nothing,
    /// Exactly one Canvas object matches and it has no SIS id: adopt it.
    Adopt(i64),
    /// Ambiguous, or claimed by another SIS id: do not send the row.
    Conflict(String),
}

fn find(row: &Row, live: &[&Value], how: &[ObjectMatch], s: &Shape) -> Found {
    let sis = row.get(s.sis_column);
    if sis.is_empty() || live.iter().any(|v| text(v, s.sis_field) == Some(sis)) {
        return Found::Nothing;
    }
    for m in how {
        let (value, field) = match m {
            ObjectMatch::Name => (row.get(s.name_column), "name"),
            ObjectMatch::IntegrationId => (row.get("integration_id"), "integration_id"),
        };
        if value.is_empty() {
            continue;
        }
        let same: Vec<&&Value> = live
            .iter()
            .filter(|v| {
                text(v, field).is_some_and(|x| match m {
                    ObjectMatch::Name => x.eq_ignore_ascii_case(value),
                    ObjectMatch::IntegrationId => x == value,
                })
            })
            .collect();
        let (what, by) = (
            s.what,
            match m {
                ObjectMatch::Name => format!("named {value:?}"),
                ObjectMatch::IntegrationId => format!("with integration id {value:?}"),
            },
        );
        match same.as_slice() {
            [] => continue,
            [one] => {
                let id = one.get("id").and_then(Value::as_i64).unwrap_or_default();
                return match text(one, s.sis_field) {
                    // Canvas keeps integration ids unique per root account and they are set on
                    // purpose (by the integration being replaced, typically): the same one is the
                    // same object, so it takes our SIS id in place of the old one.
                    Some(_) if *m == ObjectMatch::IntegrationId => Found::Adopt(id),
                    Some(other) => Found::Conflict(format!(
                        "Canvas {what} {id} {by} already has SIS id {other}; not creating a second {what} {by} for SIS id {sis}"
                    )),
                    None => Found::Adopt(id),
                };
            }
            many => {
                let ids: Vec<String> = many
                    .iter()
                    .map(|v| v.get("id").map(|i| i.to_string()).unwrap_or_default())
                    .collect();
                return Found::Conflict(format!(
                    "{} Canvas {what}s {by} ({}); not guessing which is SIS id {sis}",
                    many.len(),
                    ids.join(", ")
                ));
            }
        }
    }
    Found::Nothing
}

/// Terms, sub-accounts, courses and sections the plan creates, looked for in Canvas as
/// `rules` say (by name, or by integration id). One match without an SIS id is adopted: the
/// SIS id is set on it first, so the sink then updates it instead of creating a twin. A match
/// by name that carries another SIS id, or several matches, is held back as a conflict with
/// the reason; a match by integration id takes our SIS id even over another one. Returns the held changes (plan index → why) and the adopted ones (→ Canvas id).
pub async fn settle_objects(
    client: &rosterbridge_canvas_client::CanvasClient,
    account_id: u64,
    plan: &rosterbridge_plan::Plan,
    rules: &[(rosterbridge_model::kind::Kind, Vec<ObjectMatch>)],
) -> Result<
    (FxHashMap<usize, String>, FxHashMap<usize, i64>),
    rosterbridge_canvas_client::CanvasError,
> {
    use rosterbridge_canvas_client::Retry;
    use rosterbridge_model::kind::Kind;
    use rosterbridge_plan::Action;
    let mut held = FxHashMap::default();
    let mut adopted = FxHashMap::default();
    // Canvas courses by SIS id (adoptions included), to find a new section's course.
    let mut course_ids: Option<FxHashMap<String, i64>> = None;
    // Parents first: a section is looked for in a course adopted just before.
    for kind in [Kind::Terms, Kind::Accounts, Kind::Courses, Kind::Sections] {
        let (Some(how), Some(s)) = (
            rules.iter().find(|(k, _)| *k == kind).map(|(_, h)| h),
            shape(kind),
        ) else {
            continue;
        };
        if how.is_empty() {
            continue;
        }
        let creates: Vec<usize> = plan
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == kind && c.action == Action::Create)
            .map(|(i, _)| i)
            .collect();
        if creates.is_empty() {
            continue;
        }
        let mut sections_of: FxHashMap<i64, Vec<Value>> = FxHashMap::default();
        let listed: Vec<Value> = match kind {
            Kind::Terms => list_terms(client, account_id).await?,
            Kind::Accounts => {
                client
                    .get_all(
                        &format!("/api/v1/accounts/{account_id}/sub_accounts"),
                        &[("recursive", "true".into())],
                    )
                    .await?
            }
            Kind::Courses => {
                let courses = list_courses(client, account_id).await?;
                course_ids = Some(by_sis_course_id(&courses));
                courses
            }
            _ => Vec::new(),
        };
        if kind == Kind::Sections && course_ids.is_none() {
            course_ids = Some(by_sis_course_id(&list_courses(client, account_id).await?));
        }
        for i in creates {
            let row = plan.row(&plan.changes[i]);
            let live_owned;
            let live: Vec<&Value> = if kind == Kind::Sections {
                // Within the section's course; a course Canvas does not have yet has none.
                let Some(course) = course_ids
                    .as_ref()
                    .and_then(|c| c.get(row.get("course_id")))
                    .copied()
                else {
                    continue;
                };
                if let std::collections::hash_map::Entry::Vacant(slot) = sections_of.entry(course) {
                    slot.insert(
                        client
                            .get_all(
                                &format!("/api/v1/courses/{course}/sections"),
                                &[("per_page", "100".into())],
                            )
                            .await?,
                    );
                }
                live_owned = sections_of
                    .get(&course)
                    .map(|v| v.iter().collect())
                    .unwrap_or_default();
                live_owned
            } else {
                listed
                    .iter()
                    .filter(|v| text(v, "workflow_state") != Some("deleted"))
                    .collect()
            };
            match find(&row, &live, how, &s) {
                Found::Nothing => {}
                Found::Conflict(why) => {
                    held.insert(i, why);
                }
                Found::Adopt(id) => {
                    let sis = row.get(s.sis_column).to_string();
                    let (path, field) = match kind {
                        Kind::Terms => (
                            format!("/api/v1/accounts/{account_id}/terms/{id}"),
                            "enrollment_term[sis_term_id]",
                        ),
                        Kind::Accounts => {
                            (format!("/api/v1/accounts/{id}"), "account[sis_account_id]")
                        }
                        Kind::Courses => (format!("/api/v1/courses/{id}"), "course[sis_course_id]"),
                        _ => (
                            format!("/api/v1/sections/{id}"),
                            "course_section[sis_section_id]",
                        ),
                    };
                    let _: Value = client
                        .write(
                            reqwest::Method::PUT,
                            &path,
                            vec![(field.to_string(), sis.clone())],
                            Retry::Safe,
                        )
                        .await?;
                    if kind == Kind::Courses {
                        course_ids
                            .get_or_insert_with(Default::default)
                            .insert(sis, id);
                    }
                    adopted.insert(i, id);
                }
            }
        }
    }
    Ok((held, adopted))
}

/// Every course of the account and its sub-accounts.
async fn list_courses(
    client: &rosterbridge_canvas_client::CanvasClient,
    account_id: u64,
) -> Result<Vec<Value>, rosterbridge_canvas_client::CanvasError> {
    client
        .get_all(
            &format!("/api/v1/accounts/{account_id}/courses"),
            &[("per_page", "100".into())],
        )
        .await
}

fn by_sis_course_id(courses: &[Value]) -> FxHashMap<String, i64> {
    courses
        .iter()
        .filter_map(|c| {
            Some((
                text(c, "sis_course_id")?.to_string(),
                c.get("id")?.as_i64()?,
            ))
        })
        .collect()
}

/// Every term of the account (the list is wrapped in `enrollment_terms`).
async fn list_terms(
    client: &rosterbridge_canvas_client::CanvasClient,
    account_id: u64,
) -> Result<Vec<Value>, rosterbridge_canvas_client::CanvasError> {
    use rosterbridge_canvas_client::{Body, Retry};
    let mut out = Vec::new();
    let mut next = Some(format!("/api/v1/accounts/{account_id}/terms?per_page=100"));
    while let Some(url) = next.take() {
        let resp = client
            .send(reqwest::Method::GET, &url, &[], &Body::None, Retry::Safe)
            .await?;
        next = resp
            .headers()
            .get(reqwest::header::LINK)
            .and_then(|v| v.to_str().ok())
            .and_then(rosterbridge_canvas_client::next_link);
        let page_url = resp.url().to_string();
        let page: Value =
            resp.json()
                .await
                .map_err(|e| rosterbridge_canvas_client::CanvasError::Decode {
                    url: page_url,
                    message: e.to_string(),
                })?;
        out.extend(
            page.get("enrollment_terms")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .cloned(),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rosterbridge_model::kind::Kind;
    use serde_json::json;

    fn row(sis: &str, login: &str, email: &str) -> Row {
        Row::from_pairs(
            Kind::Users,
            [
                ("user_id", sis),
                ("login_id", login),
                ("email", email),
                ("status", "active"),
            ],
        )
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
        assert_eq!(
            users.decide(&row("S1", "other", ""), &order),
            Decision::Known
        );
        assert_eq!(
            users.decide(&row("S2", "BOB", ""), &order),
            Decision::Adopt {
                id: 2,
                how: UserMatch::Login
            }
        );
        assert_eq!(
            users.decide(&row("S2", "nobody", "bob@x.org"), &order),
            Decision::Adopt {
                id: 2,
                how: UserMatch::Email
            }
        );
        assert!(
            matches!(users.decide(&row("S3", "ann", ""), &order), Decision::Conflict(m) if m.contains("S1"))
        );
        assert!(
            matches!(users.decide(&row("S4", "", "cy@x.org"), &order), Decision::Conflict(m) if m.contains("2 Canvas users"))
        );
        assert_eq!(
            users.decide(&row("S2", "bob", ""), &[]),
            Decision::New,
            "SIS id only"
        );
        assert_eq!(
            users.decide(&row("S5", "zed", "zed@x.org"), &order),
            Decision::New
        );
    }

    #[test]
    fn objects_are_adopted_by_name_only_when_unambiguous_and_unclaimed_and_by_integration_id_even_when_claimed(
    ) {
        let shape = shape(Kind::Courses).unwrap();
        let listed = [
            json!({"id": 10, "name": "Physics - P1", "sis_course_id": null}),
            json!({"id": 11, "name": "physics - p2", "sis_course_id": "OLD-2"}),
            json!({"id": 12, "name": "Chem", "integration_id": "C-1", "sis_course_id": "OLD-3"}),
            json!({"id": 13, "name": "Bio"}),
            json!({"id": 14, "name": "Bio"}),
            json!({"id": 15, "name": "Known", "sis_course_id": "cls-9"}),
        ];
        let live: Vec<&Value> = listed.iter().collect();
        let course = |sis: &str, name: &str, integration: &str| {
            Row::from_pairs(
                Kind::Courses,
                [
                    ("course_id", sis),
                    ("long_name", name),
                    ("integration_id", integration),
                ],
            )
        };
        let by_name = [ObjectMatch::Name];
        assert_eq!(
            find(
                &course("cls-1", "PHYSICS - P1", ""),
                &live,
                &by_name,
                &shape
            ),
            Found::Adopt(10)
        );
        assert!(
            matches!(find(&course("cls-2", "Physics - P2", ""), &live, &by_name, &shape), Found::Conflict(m) if m.contains("already has SIS id OLD-2"))
        );
        assert!(
            matches!(find(&course("cls-4", "Bio", ""), &live, &by_name, &shape), Found::Conflict(m) if m.contains("2 Canvas courses named \"Bio\" (13, 14)"))
        );
        assert_eq!(
            find(
                &course("cls-9", "Physics - P1", ""),
                &live,
                &by_name,
                &shape
            ),
            Found::Nothing,
            "Canvas has it by SIS id"
        );
        assert_eq!(
            find(&course("cls-5", "Art", ""), &live, &by_name, &shape),
            Found::Nothing
        );
        let by_integration = [ObjectMatch::IntegrationId];
        assert_eq!(
            find(
                &course("cls-3", "Chemistry", "C-1"),
                &live,
                &by_integration,
                &shape
            ),
            Found::Adopt(12),
            "integration ids are unique: re-keyed"
        );
        assert_eq!(
            find(
                &course("cls-3", "Chemistry", "c-1"),
                &live,
                &by_integration,
                &shape
            ),
            Found::Nothing,
            "integration ids compare exactly"
        );
        assert_eq!(
            find(&course("cls-1", "Physics - P1", ""), &live, &[], &shape),
            Found::Nothing,
            "SIS id only"
        );
    }
}
