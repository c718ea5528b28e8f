//! The per-entity configuration in the admin UI: actions per role, first-contact matching,
//! field mappings and role mappings. The form edits the `[mapping]` tables of the
//! configuration file (comments elsewhere kept); the whole file is validated as every command
//! validates it, and each problem is shown next to its section, nothing written.

use crate::config_edit::{
    self, MappingForm, ACTIONS, ACTION_ENTITIES, FIELD_ENTITIES, MATCH_ENTITIES, ROLES,
};
use crate::ui::{back_to, check_csrf, csrf_field, esc, flash, page, Admin, Msg};
use crate::AppState;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rosterbridge_config::{EntityAction, RoleClass};
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub fn routes() -> Router<AppState> {
    Router::new().route("/mapping", get(mapping_page).post(save))
}

fn role_class(r: &str) -> Option<RoleClass> {
    RoleClass::parse(r)
}

fn action(a: &str) -> EntityAction {
    match a {
        "create" => EntityAction::Create,
        "update" => EntityAction::Update,
        _ => EntityAction::Deactivate,
    }
}

/// The form as the configuration file has it now.
fn current(state: &AppState) -> Result<MappingForm, String> {
    let config = state.runner.load(None).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(state.runner.config_path()).map_err(|e| e.to_string())?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.to_string())?;
    let mut f = MappingForm::default();
    for (entity, kind, by_role) in ACTION_ENTITIES {
        let roles: Vec<&str> = if by_role { ROLES.to_vec() } else { vec![""] };
        for r in roles {
            let allowed = ACTIONS
                .iter()
                .filter(|a| {
                    config
                        .mapping
                        .actions
                        .allows(kind, role_class(r), action(a))
                })
                .map(|a| a.to_string())
                .collect();
            f.actions
                .insert((entity.to_string(), r.to_string()), allowed);
        }
    }
    let m = &config.mapping.matching;
    for entity in MATCH_ENTITIES {
        let keys: Vec<&str> = match entity {
            "users" => m
                .users
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .map(|k| k.as_str())
                .collect(),
            other => rosterbridge_model::kind::Kind::parse(other)
                .map(|k| m.of(k).iter().map(|k| k.as_str()).collect())
                .unwrap_or_default(),
        };
        f.matching.insert(entity.to_string(), keys.join(", "));
    }
    let mapping = doc.get("mapping");
    for entity in FIELD_ENTITIES {
        f.fields.insert(
            entity.to_string(),
            config_edit::table_lines(
                mapping
                    .and_then(|m| m.get("fields"))
                    .and_then(|x| x.get(entity)),
            ),
        );
    }
    f.roles = config_edit::table_lines(
        mapping
            .and_then(|m| m.get("enrollments"))
            .and_then(|e| e.get("roles")),
    );
    Ok(f)
}

fn form_page(
    s: &crate::admins::Session,
    f: &MappingForm,
    errors: &BTreeMap<String, Vec<String>>,
    q: &Msg,
) -> Response {
    let err = |section: &str| {
        errors
            .get(section)
            .map(|m| {
                m.iter()
                    .map(|m| {
                        format!(
                            "<p class=\"error\" id=\"error-{}\">{}</p>",
                            section.replace('.', "-"),
                            esc(m)
                        )
                    })
                    .collect::<String>()
            })
            .unwrap_or_default()
    };
    let mut b = flash(q);
    if let Some(general) = errors.get("") {
        for m in general {
            let _ = write!(b, "<p class=\"error\">{}</p>", esc(m));
        }
    }
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/mapping\" id=\"mapping-form\">{}",
        csrf_field(s)
    );
    b.push_str("<h2>Actions per entity and role</h2><p>What rosterbridge may do in Canvas. A change the actions do not allow is shown in the plan as skipped, with the reason.</p>");
    b.push_str(&err("actions"));
    b.push_str("<table id=\"actions\"><tr><th>Entity</th><th>Role</th><th>Create</th><th>Update</th><th>Deactivate</th></tr>");
    for (entity, _, by_role) in ACTION_ENTITIES {
        let roles: Vec<&str> = if by_role { ROLES.to_vec() } else { vec![""] };
        for r in roles {
            let allowed = f
                .actions
                .get(&(entity.to_string(), r.to_string()))
                .cloned()
                .unwrap_or_default();
            let _ = write!(
                b,
                "<tr><td>{entity}</td><td>{}</td>",
                if r.is_empty() { "every role" } else { r }
            );
            for a in ACTIONS {
                let _ = write!(
                    b,
                    "<td><input type=\"checkbox\" name=\"act:{entity}:{r}:{a}\"{}></td>",
                    if allowed.iter().any(|x| x == a) {
                        " checked"
                    } else {
                        ""
                    }
                );
            }
            b.push_str("</tr>");
        }
    }
    b.push_str("</table><h2>First-contact matching</h2><p>How an existing Canvas record is found before one is created, after the SIS id (comma-separated). users: login, email, integration_id · terms: name · accounts: name, external_id · courses and sections: name, integration_id.</p>");
    b.push_str(&err("match"));
    for entity in MATCH_ENTITIES {
        let _ = write!(
            b,
            "<label>{entity} <input type=\"text\" name=\"match:{entity}\" value=\"{}\"></label>",
            esc(f.matching.get(entity).map(String::as_str).unwrap_or(""))
        );
    }
    b.push_str("<h2>Field mappings</h2><p>One per line: <code>field = \"{givenName} {familyName}\"</code> (a template), or <code>field = { property = \"email\", case = \"lower\" }</code>, or <code>{ static = \"...\" }</code>. Empty: the defaults.</p>");
    for entity in FIELD_ENTITIES {
        let _ = write!(
            b,
            "<label>{entity}<br><textarea name=\"fields:{entity}\" rows=\"4\" cols=\"80\">{}</textarea></label>{}",
            esc(f.fields.get(entity).map(String::as_str).unwrap_or("")),
            err(&format!("fields.{entity}"))
        );
    }
    let _ = write!(
        b,
        "<h2>Role mappings</h2><p>SIS role (or teacher type) = Canvas base role or custom role by name, one per line, e.g. <code>aide = \"ta\"</code>.</p><textarea name=\"roles\" rows=\"4\" cols=\"80\">{}</textarea>{}\
<p><button>Save</button> <a href=\"/\">Cancel</a></p></form>",
        esc(&f.roles),
        err("roles")
    );
    page("Mapping configuration", Some(s), &b)
}

async fn mapping_page(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(q): Query<Msg>,
) -> Response {
    match current(&state) {
        Ok(f) => form_page(&s, &f, &BTreeMap::new(), &q),
        Err(e) => back_to("/", "error", &e),
    }
}

/// The section a validation problem belongs to, from its field (`mapping.fields.users.x`).
fn section_of(field: &str) -> String {
    let rest = field.strip_prefix("mapping.").unwrap_or("");
    if let Some(f) = rest.strip_prefix("fields.") {
        return format!("fields.{}", f.split('.').next().unwrap_or(""));
    }
    if rest.starts_with("enrollments.roles") {
        return "roles".into();
    }
    match rest.split('.').next().unwrap_or("") {
        "actions" => "actions".into(),
        "match" => "match".into(),
        _ => String::new(),
    }
}

async fn save(
    State(state): State<AppState>,
    Admin(s): Admin,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if let Err(r) = check_csrf(&s, csrf) {
        return *r;
    }
    let mut f = MappingForm::default();
    for (entity, _, by_role) in ACTION_ENTITIES {
        let roles: Vec<&str> = if by_role { ROLES.to_vec() } else { vec![""] };
        for r in roles {
            f.actions
                .insert((entity.to_string(), r.to_string()), Vec::new());
        }
    }
    for (k, v) in &pairs {
        let parts: Vec<&str> = k.split(':').collect();
        match parts.as_slice() {
            ["act", entity, role, a] => f
                .actions
                .entry((entity.to_string(), role.to_string()))
                .or_default()
                .push(a.to_string()),
            ["match", entity] => {
                f.matching.insert(entity.to_string(), v.clone());
            }
            ["fields", entity] => {
                f.fields.insert(entity.to_string(), v.replace("\r\n", "\n"));
            }
            ["roles"] => f.roles = v.replace("\r\n", "\n"),
            _ => {}
        }
    }
    let path = state.runner.config_path().to_path_buf();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return back_to(
                "/mapping",
                "error",
                &format!("reading {}: {e}", path.display()),
            )
        }
    };
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let new_text = match config_edit::set_mapping(&text, &f) {
        Ok(Ok(t)) => t,
        Ok(Err(problems)) => {
            for (section, m) in problems {
                errors.entry(section_of(&section)).or_default().push(m);
            }
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                form_page(&s, &f, &errors, &Msg::default()),
            )
                .into_response();
        }
        Err(e) => return back_to("/mapping", "error", &e.to_string()),
    };
    let problems = config_edit::validate(&new_text, &path);
    if !problems.is_empty() {
        for (field, m) in problems {
            errors.entry(section_of(&field)).or_default().push(m);
        }
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(&s, &f, &errors, &Msg::default()),
        )
            .into_response();
    }
    match config_edit::write(&path, &new_text) {
        Ok(()) => back_to("/mapping", "msg", "Mapping saved. The next run plans with it (see the plan's skipped changes for what the actions hold back)."),
        Err(e) => back_to("/mapping", "error", &e.to_string()),
    }
}
