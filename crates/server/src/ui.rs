//! The admin web UI: server-rendered HTML pages and plain forms, served by the same binary
//! (no separate front end, no JavaScript needed). Every page needs a login; every form that
//! changes something carries the session's CSRF token in a hidden field.

use crate::admins::{AdminError, Session};
use crate::runner::TriggerError;
use crate::AppState;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use rosterbridge_state::StateStore;
use serde::Deserialize;
use serde_json::Value;
use std::fmt::Write as _;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/ui/run", post(run_now))
        .route("/ui/plans/{id}/approve", post(approve))
        .route("/runs/{id}", get(run_page))
        .route("/connection", get(connection_page))
        .route("/connection/token", post(connect_token))
        .route("/connection/oauth", post(connect_oauth))
        .route("/connection/account", post(choose_account))
        .route("/canvas/authorize", get(oauth_return))
        .merge(crate::ui_profiles::routes())
        .merge(crate::ui_mapping::routes())
        .merge(crate::ui_source::routes())
}

/// HTML-escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d2733}header{background:#1d3557;color:#fff;padding:.6em 1.2em;display:flex;gap:1.2em;align-items:center}\
header a{color:#fff}header form{margin-left:auto}main{padding:1em 1.2em;max-width:72em}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccd;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#eef}.error{color:#b00020}.note{background:#eef6ee;padding:.5em;border-left:4px solid #2a7a2a}.warn{background:#fff4e5;padding:.5em;border-left:4px solid #c77700}\
label{display:block;margin:.4em 0}input[type=text],input[type=password],input[type=url],input[type=number]{width:28em;max-width:95%}fieldset{margin:1em 0;max-width:40em}";

pub(crate) fn page(title: &str, session: Option<&Session>, body: &str) -> Response {
    let nav = match session {
        Some(s) => format!(
            "<a href=\"/\">Dashboard</a><a href=\"/source\">Source</a><a href=\"/mapping\">Mapping</a><a href=\"/connection\">Canvas connection</a><form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf_token\" value=\"{}\">{} <button>Log out</button></form>",
            esc(&s.csrf),
            esc(&s.admin)
        ),
        None => String::new(),
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · rosterbridge</title><style>{STYLE}</style></head><body><header><strong>rosterbridge</strong>{nav}</header><main><h1>{}</h1>{body}</main></body></html>",
        esc(title),
        esc(title)
    ))
    .into_response()
}

pub(crate) fn csrf_field(s: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
        esc(&s.csrf)
    )
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    crate::api::cookie_token(headers)
}

/// The session of this browser, or a redirect to the login page.
pub(crate) fn session(state: &AppState, headers: &HeaderMap) -> Result<Session, Box<Response>> {
    match cookie_token(headers).map(|t| state.admins.session(&t)) {
        Some(Ok(Some(s))) => Ok(s),
        Some(Err(e)) => Err(Box::new(
            (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        )),
        _ => Err(Box::new(Redirect::to("/login").into_response())),
    }
}

/// The logged-in admin of a page request; without a session the browser goes to the login page.
pub(crate) struct Admin(pub(crate) Session);

impl axum::extract::FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        session(state, &parts.headers).map(Admin).map_err(|r| *r)
    }
}

/// A form that changes something must carry the session's CSRF token.
pub(crate) fn check_csrf(s: &Session, sent: &str) -> Result<(), Box<Response>> {
    if sent == s.csrf {
        Ok(())
    } else {
        Err(Box::new((StatusCode::FORBIDDEN, page("Refused", Some(s), "<p class=\"error\">The form's security token is missing or stale. Go back, reload the page and try again.</p>")).into_response()))
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct Msg {
    pub(crate) msg: Option<String>,
    pub(crate) error: Option<String>,
}

pub(crate) fn flash(q: &Msg) -> String {
    let mut out = String::new();
    if let Some(m) = &q.msg {
        let _ = write!(out, "<p class=\"note\" id=\"flash\">{}</p>", esc(m));
    }
    if let Some(e) = &q.error {
        let _ = write!(out, "<p class=\"error\" id=\"flash\">{}</p>", esc(e));
    }
    out
}

pub(crate) fn back_to(path: &str, key: &str, text: &str) -> Response {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(key, text)
        .finish();
    Redirect::to(&format!("{path}?{q}")).into_response()
}

async fn login_page(Query(q): Query<Msg>) -> Response {
    login_form(q.error.as_deref(), "")
}

fn login_form(error: Option<&str>, name: &str) -> Response {
    let error = error
        .map(|e| format!("<span class=\"error\" id=\"login-error\">{}</span>", esc(e)))
        .unwrap_or_default();
    page(
        "Log in",
        None,
        &format!(
            "<form method=\"post\" action=\"/login\"><label>Admin name <input type=\"text\" name=\"username\" value=\"{}\" autofocus required></label>\
<label>Password <input type=\"password\" name=\"password\" required> {error}</label><button>Log in</button></form>\
<p>Admins are created on the server with <code>rosterbridge admin create NAME</code>.</p>",
            esc(name)
        ),
    )
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login(State(state): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    let admins = state.admins.clone();
    let name = f.username.clone();
    match tokio::task::spawn_blocking(move || admins.login(&f.username, &f.password)).await {
        Ok(Ok(s)) => {
            let cookie = crate::api::session_cookie(&s, state.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
        }
        Ok(Err(e @ (AdminError::Invalid | AdminError::Locked(_)))) => (
            StatusCode::UNAUTHORIZED,
            login_form(Some(&e.to_string()), &name),
        )
            .into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub(crate) csrf_token: String,
}

async fn logout(
    State(state): State<AppState>,
    Admin(s): Admin,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Err(r) = check_csrf(&s, &f.csrf_token) {
        return *r;
    }
    let _ = state.admins.logout(&s.token);
    (
        [(header::SET_COOKIE, crate::api::cleared_cookie())],
        Redirect::to("/login"),
    )
        .into_response()
}

fn store_read<T>(
    state: &AppState,
    f: impl FnOnce(&rosterbridge_config::Config, &mut dyn StateStore) -> Result<T, String>,
) -> Result<T, String> {
    let config = state.runner.load(None).map_err(|e| e.to_string())?;
    let mut store =
        rosterbridge_engine::open_store(&config.state_path).map_err(|e| e.to_string())?;
    f(&config, &mut store)
}

/// A profile name as one path segment.
pub(crate) fn segment(name: &str) -> String {
    // RFC 3986 unreserved characters stay as they are.
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(name, SEGMENT).to_string()
}

/// Edit, copy and enable/disable of a profile.
fn profile_actions(p: &rosterbridge_config::Profile, csrf: &str) -> String {
    let seg = segment(&p.name);
    let (verb, label) = if p.enabled {
        ("disable", "Disable")
    } else {
        ("enable", "Enable")
    };
    format!(
        " <a href=\"/profiles/{seg}/edit\">Edit</a> <a href=\"/profiles/{seg}/copy\">Copy</a> <form method=\"post\" action=\"/profiles/{seg}/{verb}\" style=\"display:inline\">{csrf}<button>{label}</button></form>"
    )
}

fn run_cell(r: Option<&rosterbridge_state::RunRecord>) -> String {
    match r {
        Some(r) => format!(
            "<a href=\"/runs/{}\">#{}</a> {} {}",
            r.id,
            r.id,
            esc(r.outcome.as_str()),
            esc(r.ended_at.as_deref().unwrap_or(&r.started_at))
        ),
        None => "never".into(),
    }
}

async fn dashboard(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(q): Query<Msg>,
) -> Response {
    let busy = state.runner.busy();
    let conn = state.connection.view().ok().flatten();
    let st = state.clone();
    let csrf = csrf_field(&s);
    let body = tokio::task::spawn_blocking(move || {
        store_read(&st, |config, store| {
            let mut b = String::new();
            match &conn {
                Some(c) => {
                    let _ = write!(b, "<p>Canvas: <strong>{}</strong>, account {} ({}). <a href=\"/connection\">Change</a></p>", esc(&c.url), c.account_id, esc(&c.kind));
                }
                None => {
                    let _ = write!(b, "<p class=\"warn\">No Canvas connection is set up here: runs use <code>[canvas]</code> of the configuration and its token variable. <a href=\"/connection\">Set up the connection</a>.</p>");
                }
            }
            let runs = store.runs(500).map_err(|e| e.to_string())?;
            let today = rosterbridge_engine::today();
            b.push_str("<h2>Execution profiles</h2><table id=\"profiles\"><tr><th>Profile</th><th>Window</th><th>Schedule (UTC)</th><th>State</th><th>Last run</th><th>Last synchronized</th><th></th></tr>");
            let mut names: Vec<Option<String>> = config.profiles.iter().map(|p| Some(p.name.clone())).collect();
            if names.is_empty() {
                names.push(None);
            }
            for name in names {
                let p = name.as_ref().and_then(|n| config.profiles.iter().find(|p| &p.name == n));
                let last = runs.iter().find(|r| r.profile == name);
                let last_ok = rosterbridge_engine::notify::last_success_of(store, name.as_deref()).map_err(|e| e.to_string())?;
                let label = name.clone().unwrap_or_else(|| "(no profiles: the whole roster)".into());
                let state_text = match p {
                    Some(p) if !p.enabled => "disabled",
                    Some(p) if !p.contains(today) => "outside its window",
                    _ if busy.contains(&label) || busy.iter().any(|b| b == crate::runner::NO_PROFILE) && name.is_none() => "running",
                    _ => "active",
                };
                let window = p.map(|p| format!("{} – {}", p.start, p.end)).unwrap_or_default();
                let schedule = p.map(|p| p.schedule.clone()).unwrap_or_default();
                let _ = write!(
                    b,
                    "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/ui/run\">{csrf}<input type=\"hidden\" name=\"profile\" value=\"{}\"><button>Run now</button></form>{}</td></tr>",
                    esc(&label),
                    esc(&window),
                    esc(&schedule),
                    state_text,
                    run_cell(last),
                    run_cell(last_ok.as_ref()),
                    esc(name.as_deref().unwrap_or("")),
                    p.map(|p| profile_actions(p, &csrf)).unwrap_or_default()
                );
            }
            b.push_str("</table><p><a href=\"/profiles/new\" id=\"new-profile\">New profile</a></p>");
            b.push_str("<h2>Held plans</h2>");
            let mut held = Vec::new();
            for r in &runs {
                if let Some(id) = r.summary.get("held_plan").and_then(Value::as_i64) {
                    if let Some(p) = store.held_plan(id).map_err(|e| e.to_string())? {
                        if matches!(p.status, rosterbridge_state::HeldStatus::Held) && !held.iter().any(|h: &rosterbridge_state::HeldPlan| h.id == p.id) {
                            held.push(p);
                        }
                    }
                }
            }
            if held.is_empty() {
                b.push_str("<p>None: nothing is waiting for approval.</p>");
            } else {
                b.push_str("<table id=\"held\"><tr><th>Plan</th><th>Held by run</th><th>Why</th><th>Changes</th><th></th></tr>");
                for p in &held {
                    let reasons: Vec<String> = p.reasons.iter().map(|r| esc(r)).collect();
                    let _ = write!(
                        b,
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/ui/plans/{}/approve\">{csrf}<button>Approve and apply</button></form></td></tr>",
                        p.id,
                        p.run.map(|r| format!("<a href=\"/runs/{r}\">#{r}</a>")).unwrap_or_default(),
                        reasons.join("<br>"),
                        p.summary.get("changes").map(|v| v.to_string()).unwrap_or_default(),
                        p.id
                    );
                }
                b.push_str("</table>");
            }
            b.push_str("<h2>Recent runs</h2><table id=\"runs\"><tr><th>Run</th><th>Command</th><th>Profile</th><th>Outcome</th><th>Started</th><th>Ended</th></tr>");
            for r in runs.iter().take(20) {
                let _ = write!(
                    b,
                    "<tr><td><a href=\"/runs/{}\">#{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    r.id,
                    r.id,
                    esc(&r.command),
                    esc(r.profile.as_deref().unwrap_or("")),
                    esc(r.outcome.as_str()),
                    esc(&r.started_at),
                    esc(r.ended_at.as_deref().unwrap_or(""))
                );
            }
            b.push_str("</table>");
            Ok(b)
        })
    })
    .await;
    match body {
        Ok(Ok(b)) => page("Dashboard", Some(&s), &format!("{}{b}", flash(&q))),
        Ok(Err(e)) => page(
            "Dashboard",
            Some(&s),
            &format!("<p class=\"error\">{}</p>", esc(&e)),
        ),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
struct RunForm {
    csrf_token: String,
    #[serde(default)]
    profile: String,
}

async fn run_now(
    State(state): State<AppState>,
    Admin(s): Admin,
    Form(f): Form<RunForm>,
) -> Response {
    if let Err(r) = check_csrf(&s, &f.csrf_token) {
        return *r;
    }
    let profile = Some(f.profile.clone()).filter(|p| !p.is_empty());
    match state.runner.start(profile) {
        Ok(_) => back_to(
            "/",
            "msg",
            &format!(
                "Run of {} started; it shows under Recent runs when it ends.",
                if f.profile.is_empty() {
                    "the roster"
                } else {
                    &f.profile
                }
            ),
        ),
        Err(e @ TriggerError::Busy(_)) => back_to("/", "error", &e.to_string()),
        Err(e) => back_to("/", "error", &e.to_string()),
    }
}

async fn approve(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Err(r) = check_csrf(&s, &f.csrf_token) {
        return *r;
    }
    match state.runner.approve(id).await {
        Ok(r) => match r.run {
            Some(run) => back_to(
                &format!("/runs/{run}"),
                "msg",
                &format!(
                    "Plan {id} approved and applied as run {run} ({}).",
                    r.outcome
                ),
            ),
            None => back_to("/", "error", &r.message.unwrap_or(r.outcome)),
        },
        Err(e) => back_to("/", "error", &e.to_string()),
    }
}

async fn run_page(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<i64>,
    Query(q): Query<Msg>,
) -> Response {
    let st = state.clone();
    let found = tokio::task::spawn_blocking(move || {
        store_read(&st, |_, store| store.run(id).map_err(|e| e.to_string()))
    })
    .await;
    let run = match found {
        Ok(Ok(Some(r))) => r,
        Ok(Ok(None)) => {
            return (
                StatusCode::NOT_FOUND,
                page(
                    "Not found",
                    Some(&s),
                    &format!("<p>There is no run {id}.</p>"),
                ),
            )
                .into_response()
        }
        Ok(Err(e)) => {
            return page(
                "Run",
                Some(&s),
                &format!("<p class=\"error\">{}</p>", esc(&e)),
            )
        }
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let mut b = flash(&q);
    let _ = write!(
        b,
        "<table id=\"run\"><tr><th>Command</th><td>{}</td></tr><tr><th>Profile</th><td>{}</td></tr><tr><th>Outcome</th><td id=\"outcome\">{}</td></tr><tr><th>Started</th><td>{}</td></tr><tr><th>Ended</th><td>{}</td></tr><tr><th>Message</th><td>{}</td></tr></table>",
        esc(&run.command),
        esc(run.profile.as_deref().unwrap_or("")),
        esc(run.outcome.as_str()),
        esc(&run.started_at),
        esc(run.ended_at.as_deref().unwrap_or("")),
        esc(run.message.as_deref().unwrap_or(""))
    );
    if let Some(plan) = run.summary.get("plan").and_then(Value::as_object) {
        b.push_str("<h2>Plan</h2><table id=\"plan\"><tr><th>Kind</th><th>Create</th><th>Update</th><th>Reactivate</th><th>Deactivate</th><th>Delete</th><th>Unchanged</th></tr>");
        for (kind, c) in plan {
            let n = |k: &str| c.get(k).and_then(Value::as_u64).unwrap_or(0);
            let _ = write!(b, "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", esc(kind), n("create"), n("update"), n("reactivate"), n("deactivate"), n("delete"), n("unchanged"));
        }
        b.push_str("</table>");
    }
    let rejections = run
        .summary
        .get("rejections")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let _ = write!(
        b,
        "<h2>Rows Canvas refused ({})</h2>",
        run.summary
            .get("rejected")
            .and_then(Value::as_u64)
            .unwrap_or(rejections.len() as u64)
    );
    if rejections.is_empty() {
        b.push_str("<p>None.</p>");
    } else {
        b.push_str("<table id=\"errors\"><tr><th>Action</th><th>Kind</th><th>SIS key</th><th>Canvas said</th></tr>");
        for x in &rejections {
            let t = |k: &str| esc(x.get(k).and_then(Value::as_str).unwrap_or(""));
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                t("action"),
                t("kind"),
                t("key"),
                t("message")
            );
        }
        b.push_str("</table>");
    }
    if !run.artifacts.is_empty() {
        b.push_str("<h2>Archived files</h2><ul>");
        for a in &run.artifacts {
            let _ = write!(b, "<li><code>{}</code></li>", esc(a));
        }
        b.push_str("</ul>");
    }
    page(&format!("Run {id}"), Some(&s), &b)
}

fn redirect_uri_for(headers: &HeaderMap, secure: bool) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    format!(
        "{}://{host}/canvas/authorize",
        if secure { "https" } else { "http" }
    )
}

async fn connection_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Admin(s): Admin,
    Query(q): Query<Msg>,
) -> Response {
    let csrf = csrf_field(&s);
    let mut b = flash(&q);
    let view = state.connection.view().ok().flatten();
    match &view {
        Some(c) => {
            let _ = write!(
                b,
                "<p id=\"connected\">Connected to <strong>{}</strong>, root account <strong>{}</strong>, by {}{}. The token is stored encrypted and is never shown again.</p>",
                esc(&c.url),
                c.account_id,
                if c.kind == "oauth" { "OAuth (developer key " } else { "access token" },
                if c.kind == "oauth" { format!("{})", esc(c.client_id.as_deref().unwrap_or(""))) } else { String::new() }
            );
            // Connect: verify the stored token and list the accounts it can manage.
            match state.connection.access_token().await {
                Ok((_, token)) => match crate::connection::verify(&c.url, &token).await {
                    Ok((who, accounts)) => {
                        let _ = write!(b, "<p>Canvas answers as <strong>{}</strong>. Choose the account rosterbridge syncs into:</p><form method=\"post\" action=\"/connection/account\">{csrf}<select name=\"account_id\" id=\"account\">", esc(&who));
                        for (id, name) in &accounts {
                            let _ = write!(b, "<option value=\"{id}\"{}>{} ({id})</option>", if *id == c.account_id { " selected" } else { "" }, esc(name));
                        }
                        b.push_str("</select> <button>Use this account</button></form>");
                    }
                    Err(e) => {
                        let _ = write!(b, "<p class=\"error\">Canvas refused the stored connection: {}</p>", esc(&e.to_string()));
                    }
                },
                Err(e) => {
                    let _ = write!(b, "<p class=\"error\">{}</p>", esc(&e.to_string()));
                }
            }
        }
        None => b.push_str("<p>No connection yet. Enter an access token, or connect with a Canvas developer key (OAuth 2).</p>"),
    }
    let url = view.as_ref().map(|c| c.url.clone()).unwrap_or_default();
    let _ = write!(
        b,
        "<fieldset><legend>Access token</legend><form method=\"post\" action=\"/connection/token\">{csrf}\
<label>Canvas URL <input type=\"url\" name=\"url\" value=\"{}\" placeholder=\"https://canvas.example.edu\" required></label>\
<label>Access token <input type=\"password\" name=\"token\" autocomplete=\"off\" required></label><button>Connect</button></form></fieldset>\
<fieldset><legend>OAuth 2 developer key</legend><form method=\"post\" action=\"/connection/oauth\">{csrf}\
<label>Canvas URL <input type=\"url\" name=\"url\" value=\"{}\" placeholder=\"https://canvas.example.edu\" required></label>\
<label>Client id <input type=\"text\" name=\"client_id\" required></label>\
<label>Client secret <input type=\"password\" name=\"client_secret\" autocomplete=\"off\" required></label>\
<label>Redirect URI (give Canvas the same in the developer key) <input type=\"url\" name=\"redirect_uri\" value=\"{}\" required></label>\
<button>Connect with Canvas</button></form></fieldset>",
        esc(&url),
        esc(&url),
        esc(&redirect_uri_for(&headers, state.secure_cookies))
    );
    page("Canvas connection", Some(&s), &b)
}

#[derive(Deserialize)]
struct TokenForm {
    csrf_token: String,
    url: String,
    token: String,
}

async fn connect_token(
    State(state): State<AppState>,
    Admin(s): Admin,
    Form(f): Form<TokenForm>,
) -> Response {
    if let Err(r) = check_csrf(&s, &f.csrf_token) {
        return *r;
    }
    match crate::connection::verify(&f.url, f.token.trim()).await {
        Ok((_, accounts)) => {
            let first = accounts.first().map(|a| a.0).unwrap_or(1);
            match state.connection.set_token(&f.url, first, f.token.trim()) {
                Ok(()) => back_to("/connection", "msg", "Connected. Choose the account below."),
                Err(e) => back_to("/connection", "error", &e.to_string()),
            }
        }
        Err(e) => back_to(
            "/connection",
            "error",
            &format!("Not connected: {e}. Check the URL and the token."),
        ),
    }
}

#[derive(Deserialize)]
struct OAuthForm {
    csrf_token: String,
    url: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
}

async fn connect_oauth(
    State(state): State<AppState>,
    Admin(s): Admin,
    Form(f): Form<OAuthForm>,
) -> Response {
    if let Err(r) = check_csrf(&s, &f.csrf_token) {
        return *r;
    }
    let account = state
        .connection
        .view()
        .ok()
        .flatten()
        .map(|c| c.account_id)
        .unwrap_or(1);
    match state.connection.begin_oauth(
        &f.url,
        account,
        f.client_id.trim(),
        f.client_secret.trim(),
        f.redirect_uri.trim(),
        &s.token,
    ) {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e) => back_to("/connection", "error", &e.to_string()),
    }
}

#[derive(Deserialize)]
struct OAuthReturn {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn oauth_return(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(q): Query<OAuthReturn>,
) -> Response {
    if let Some(e) = q.error {
        return back_to(
            "/connection",
            "error",
            &format!(
                "Canvas did not authorize: {e} {}",
                q.error_description.unwrap_or_default()
            ),
        );
    }
    let (Some(code), Some(st)) = (q.code, q.state) else {
        return back_to("/connection", "error", "Canvas sent no code and state back");
    };
    match state.connection.complete_oauth(&code, &st, &s.token).await {
        Ok(_) => back_to(
            "/connection",
            "msg",
            "Connected with OAuth. Choose the account below.",
        ),
        Err(e) => back_to("/connection", "error", &e.to_string()),
    }
}

#[derive(Deserialize)]
struct AccountForm {
    csrf_token: String,
    account_id: u64,
}

async fn choose_account(
    State(state): State<AppState>,
    Admin(s): Admin,
    Form(f): Form<AccountForm>,
) -> Response {
    if let Err(r) = check_csrf(&s, &f.csrf_token) {
        return *r;
    }
    match state.connection.set_account(f.account_id) {
        Ok(()) => back_to(
            "/",
            "msg",
            &format!("Runs now sync into Canvas account {}.", f.account_id),
        ),
        Err(e) => back_to("/connection", "error", &e.to_string()),
    }
}
