//! Execution profiles in the admin UI: create, edit, copy, enable and disable. The form edits
//! the `[[profiles]]` tables of the configuration file itself; the whole file is validated as
//! every command validates it, and a problem is shown next to its field, nothing written.

use crate::config_edit::{self, ProfileForm};
use crate::ui::{back_to, check_csrf, csrf_field, esc, page, Admin, CsrfForm};
use crate::AppState;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profiles/new", get(new_profile))
        .route("/profiles/{name}/edit", get(edit_profile))
        .route("/profiles/{name}/copy", get(copy_profile))
        .route("/profiles/save", post(save))
        .route("/profiles/{name}/enable", post(enable))
        .route("/profiles/{name}/disable", post(disable))
}

const FIELDS: [&str; 7] = [
    "name",
    "start",
    "end",
    "academic_period",
    "enabled",
    "course_template",
    "schedule",
];

/// The profile form; `errors` maps a field (or "" for the whole profile) to what to fix.
fn form_page(
    s: &crate::admins::Session,
    title: &str,
    original: &str,
    f: &ProfileForm,
    errors: &BTreeMap<String, Vec<String>>,
) -> Response {
    let err = |field: &str| {
        errors
            .get(field)
            .map(|m| {
                m.iter()
                    .map(|m| {
                        format!(
                            "<span class=\"error\" id=\"error-{field}\">{}</span>",
                            esc(m)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    };
    let mut b = String::new();
    if let Some(general) = errors.get("") {
        for m in general {
            let _ = write!(b, "<p class=\"error\">{}</p>", esc(m));
        }
    }
    let templates: String = rosterbridge_config::CourseTemplate::ALL
        .iter()
        .map(|(n, _)| {
            format!(
                "<option value=\"{n}\"{}>{n}</option>",
                if f.course_template == *n || (f.course_template.is_empty() && *n == "period+group")
                {
                    " selected"
                } else {
                    ""
                }
            )
        })
        .collect();
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/profiles/save\" id=\"profile-form\">{}<input type=\"hidden\" name=\"original\" value=\"{}\">\
<label>Name <input type=\"text\" name=\"name\" value=\"{}\" required> {}</label>\
<label>First day <input type=\"text\" name=\"start\" value=\"{}\" placeholder=\"2026-08-01\" required> {}</label>\
<label>Last day <input type=\"text\" name=\"end\" value=\"{}\" placeholder=\"2027-07-31\" required> {}</label>\
<label>Academic period (OneRoster session sourcedId; empty: every session) <input type=\"text\" name=\"academic_period\" value=\"{}\"> {}</label>\
<label>Course template <select name=\"course_template\">{templates}</select> {}</label>\
<label>Schedule (cron, UTC; empty: nightly at 02:00) <input type=\"text\" name=\"schedule\" value=\"{}\" placeholder=\"0 0 2 * * *\"> {}</label>\
<label><input type=\"checkbox\" name=\"enabled\"{}> Enabled</label>\
<button name=\"action\" value=\"save\">Save</button> <button name=\"action\" value=\"save_enable\">Save &amp; enable</button> <a href=\"/\">Cancel</a></form>",
        csrf_field(s),
        esc(original),
        esc(&f.name),
        err("name"),
        esc(&f.start),
        err("start"),
        esc(&f.end),
        err("end"),
        esc(&f.academic_period),
        err("academic_period"),
        err("course_template"),
        esc(&f.schedule),
        err("schedule"),
        if f.enabled.is_some() { " checked" } else { "" },
    );
    page(title, Some(s), &b)
}

fn load_profile(state: &AppState, name: &str) -> Result<ProfileForm, String> {
    let config = state.runner.load(None).map_err(|e| e.to_string())?;
    config
        .profiles
        .iter()
        .find(|p| p.name == name)
        .map(ProfileForm::from_profile)
        .ok_or_else(|| format!("no profile is named {name:?}"))
}

async fn new_profile(Admin(s): Admin) -> Response {
    let f = ProfileForm {
        enabled: Some("on".into()),
        course_template: "period+group".into(),
        ..ProfileForm::default()
    };
    form_page(&s, "New execution profile", "", &f, &BTreeMap::new())
}

async fn edit_profile(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(name): Path<String>,
) -> Response {
    match load_profile(&state, &name) {
        Ok(f) => form_page(
            &s,
            &format!("Edit profile {name}"),
            &name,
            &f,
            &BTreeMap::new(),
        ),
        Err(e) => back_to("/", "error", &e),
    }
}

async fn copy_profile(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(name): Path<String>,
) -> Response {
    match load_profile(&state, &name) {
        // A copy needs its own name and (usually) its own window: the form says so if not.
        Ok(f) => form_page(
            &s,
            &format!("Copy of profile {name}"),
            "",
            &ProfileForm {
                name: format!("{name} (copy)"),
                enabled: None,
                ..f
            },
            &BTreeMap::new(),
        ),
        Err(e) => back_to("/", "error", &e),
    }
}

#[derive(serde::Deserialize)]
struct SaveForm {
    csrf_token: String,
    #[serde(default)]
    original: String,
    #[serde(default)]
    action: String,
    #[serde(flatten)]
    profile: ProfileForm,
}

async fn save(State(state): State<AppState>, Admin(s): Admin, Form(f): Form<SaveForm>) -> Response {
    if let Err(r) = check_csrf(&s, &f.csrf_token) {
        return *r;
    }
    let path = state.runner.config_path().to_path_buf();
    let original = Some(f.original.as_str()).filter(|o| !o.is_empty());
    let enable = f.action == "save_enable";
    let title = if original.is_some() {
        format!("Edit profile {}", f.original)
    } else {
        "New execution profile".into()
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => return back_to("/", "error", &format!("reading {}: {e}", path.display())),
    };
    let (new_text, index) = match config_edit::set_profile(&text, original, &f.profile, enable) {
        Ok(x) => x,
        Err(e) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                form_page(
                    &s,
                    &title,
                    &f.original,
                    &f.profile,
                    &BTreeMap::from([(String::new(), vec![e.to_string()])]),
                ),
            )
                .into_response()
        }
    };
    let problems = config_edit::validate(&new_text, &path);
    if !problems.is_empty() {
        // Problems of this profile go next to their field; any other one above the form.
        let prefix = format!("profiles[{index}].");
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (field, message) in problems {
            let key = field
                .strip_prefix(&prefix)
                .map(|k| k.split('.').next().unwrap_or(k).to_string())
                .filter(|k| FIELDS.contains(&k.as_str()))
                .unwrap_or_default();
            errors.entry(key).or_default().push(message);
        }
        let mut shown = f.profile.clone();
        if enable {
            shown.enabled = Some("on".into());
        }
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(&s, &title, &f.original, &shown, &errors),
        )
            .into_response();
    }
    match config_edit::write(&path, &new_text) {
        Ok(()) => back_to(
            "/",
            "msg",
            &format!(
                "Profile {} saved{}.",
                f.profile.name.trim(),
                if enable { " and enabled" } else { "" }
            ),
        ),
        Err(e) => back_to("/", "error", &e.to_string()),
    }
}

async fn toggle(
    state: AppState,
    Admin(s): Admin,
    name: String,
    csrf: &str,
    enabled: bool,
) -> Response {
    if let Err(r) = check_csrf(&s, csrf) {
        return *r;
    }
    let path = state.runner.config_path().to_path_buf();
    let result = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| config_edit::set_enabled(&t, &name, enabled).map_err(|e| e.to_string()))
        .and_then(|t| {
            let problems = config_edit::validate(&t, &path);
            match problems.first() {
                // Enabling can make two windows overlap: say so, write nothing.
                Some((_, m)) => Err(m.clone()),
                None => config_edit::write(&path, &t).map_err(|e| e.to_string()),
            }
        });
    match result {
        Ok(()) => back_to(
            "/",
            "msg",
            &format!(
                "Profile {name} {}.",
                if enabled { "enabled" } else { "disabled" }
            ),
        ),
        Err(e) => back_to("/", "error", &format!("Profile {name} not changed: {e}")),
    }
}

async fn enable(
    State(state): State<AppState>,
    admin: Admin,
    Path(name): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    toggle(state, admin, name, &f.csrf_token, true).await
}

async fn disable(
    State(state): State<AppState>,
    admin: Admin,
    Path(name): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    toggle(state, admin, name, &f.csrf_token, false).await
}
