//! The roster source in the admin UI: which kind, and where it is. Secrets of network
//! sources stay in environment variables, named here (as in the file).

use crate::config_edit::{self, SourceForm, SOURCE_KEYS};
use crate::ui::{back_to, check_csrf, csrf_field, esc, flash, page, Admin, Msg};
use crate::AppState;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub fn routes() -> Router<AppState> {
    Router::new().route("/source", get(source_page).post(save))
}

const KINDS: [(&str, &str); 4] = [
    ("oneroster-csv", "OneRoster CSV (a folder or zip: path)"),
    (
        "oneroster-rest",
        "OneRoster REST (base_url, client_id, client_secret_env)",
    ),
    ("clever", "Clever API v3 (token_env)"),
    ("sis-csv", "SIS CSV export (a folder: path)"),
];

fn current(state: &AppState) -> Result<SourceForm, String> {
    let text = std::fs::read_to_string(state.runner.config_path()).map_err(|e| e.to_string())?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.to_string())?;
    let get = |k: &str| {
        doc.get("source")
            .and_then(|s| s.get(k))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    Ok(SourceForm {
        kind: get("kind"),
        path: get("path"),
        base_url: get("base_url"),
        client_id: get("client_id"),
        client_secret_env: get("client_secret_env"),
        token_env: get("token_env"),
    })
}

fn form_page(
    s: &crate::admins::Session,
    f: &SourceForm,
    errors: &BTreeMap<String, Vec<String>>,
    q: &Msg,
) -> Response {
    let err = |k: &str| {
        errors
            .get(k)
            .map(|m| {
                m.iter()
                    .map(|m| format!(" <span class=\"error\" id=\"error-{k}\">{}</span>", esc(m)))
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
    let kinds: String = KINDS
        .iter()
        .map(|(k, label)| {
            format!(
                "<option value=\"{k}\"{}>{}</option>",
                if f.kind == *k { " selected" } else { "" },
                esc(label)
            )
        })
        .collect();
    let _ = write!(b, "<form method=\"post\" action=\"/source\" id=\"source-form\">{}<label>Kind <select name=\"kind\">{kinds}</select>{}</label>", csrf_field(s), err("kind"));
    let labels = [
        "Path (relative to the configuration file's folder)",
        "Base URL",
        "Client id",
        "Environment variable holding the client secret",
        "Environment variable holding the token",
    ];
    for ((key, label), v) in SOURCE_KEYS.iter().zip(labels).zip([
        &f.path,
        &f.base_url,
        &f.client_id,
        &f.client_secret_env,
        &f.token_env,
    ]) {
        let _ = write!(
            b,
            "<label>{label} <input type=\"text\" name=\"{key}\" value=\"{}\">{}</label>",
            esc(v),
            err(key)
        );
    }
    b.push_str("<p><button>Save</button> <a href=\"/\">Cancel</a></p></form><p>Other source options (row-error policy, paging, delta mode, SIS CSV tables) are in the configuration file; <code>rosterbridge config example</code> lists them.</p>");
    page("Roster source", Some(s), &b)
}

async fn source_page(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(q): Query<Msg>,
) -> Response {
    match current(&state) {
        Ok(f) => form_page(&s, &f, &BTreeMap::new(), &q),
        Err(e) => back_to("/", "error", &e),
    }
}

#[derive(serde::Deserialize)]
struct SaveForm {
    csrf_token: String,
    #[serde(flatten)]
    source: SourceForm,
}

async fn save(State(state): State<AppState>, Admin(s): Admin, Form(f): Form<SaveForm>) -> Response {
    if let Err(r) = check_csrf(&s, &f.csrf_token) {
        return *r;
    }
    let path = state.runner.config_path().to_path_buf();
    let result = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| config_edit::set_source(&t, &f.source).map_err(|e| e.to_string()));
    let new_text = match result {
        Ok(t) => t,
        Err(e) => return back_to("/source", "error", &e),
    };
    let problems = config_edit::validate(&new_text, &path);
    if !problems.is_empty() {
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (field, m) in problems {
            let key = field
                .strip_prefix("source.")
                .filter(|k| *k == "kind" || SOURCE_KEYS.contains(k))
                .unwrap_or("")
                .to_string();
            errors.entry(key).or_default().push(m);
        }
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(&s, &f.source, &errors, &Msg::default()),
        )
            .into_response();
    }
    match config_edit::write(&path, &new_text) {
        Ok(()) => back_to(
            "/source",
            "msg",
            "Source saved. /ready and the next run read it.",
        ),
        Err(e) => back_to("/source", "error", &e.to_string()),
    }
}
