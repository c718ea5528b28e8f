//! The HTTP surface: `/health`, `/ready`, `/metrics`, and the JSON API under `/api/v1`
//! (described by `openapi.json`, served at `/api/v1/openapi.json`). Every `/api/v1` route
//! but login and the description needs a session cookie; every one that changes something
//! also needs the session's CSRF token in `X-CSRF-Token`.

use crate::admins::{AdminError, Session};
use crate::runner::TriggerError;
use crate::AppState;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use rosterbridge_state::{HeldStatus, StateStore};
use serde_json::{json, Value};

/// The OpenAPI description of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");

const COOKIE: &str = "rb_session";

/// Every route, as (method, path): the OpenAPI description must list exactly these (a test
/// checks both ways, and that the router answers each).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/metrics"),
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/login"),
    ("post", "/api/v1/logout"),
    ("get", "/api/v1/session"),
    ("get", "/api/v1/profiles"),
    ("get", "/api/v1/runs"),
    ("post", "/api/v1/runs"),
    ("get", "/api/v1/runs/{id}"),
    ("get", "/api/v1/plans"),
    ("post", "/api/v1/plans/preview"),
    ("post", "/api/v1/plans/{id}/approve"),
];

pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/session", get(session))
        .route("/api/v1/profiles", get(profiles))
        .route("/api/v1/runs", get(runs).post(trigger))
        .route("/api/v1/runs/{id}", get(run))
        .route("/api/v1/plans", get(plans))
        .route("/api/v1/plans/preview", post(preview))
        .route("/api/v1/plans/{id}/approve", post(approve))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_session,
        ));
    Router::new()
        .merge(crate::ui::routes())
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/login", post(login))
        .merge(protected)
        .with_state(state)
}

/// `{"error": {"kind", "message"}}` with a status.
fn error(status: StatusCode, kind: &str, message: impl std::fmt::Display) -> Response {
    (
        status,
        Json(json!({"error": {"kind": kind, "message": message.to_string()}})),
    )
        .into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e)
}

/// The session cookie: HttpOnly, Secure behind HTTPS, SameSite=Lax: Canvas sends the admin
/// back to `/canvas/authorize` by a cross-site navigation, which a Strict cookie would miss;
/// cross-site POSTs still carry no cookie, and every change needs the CSRF token anyway.
pub(crate) fn session_cookie(session: &Session, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
        session.token,
        crate::admins::SESSION_SECS
    )
}

pub(crate) fn cleared_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
}

pub(crate) fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

async fn require_session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(token) = cookie_token(req.headers()) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in first (POST /api/v1/login)",
        );
    };
    let session = match state.admins.session(&token) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return error(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "the session expired or was closed; log in again",
            )
        }
        Err(e) => return internal(e),
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let sent = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if sent != Some(session.csrf.as_str()) {
            return error(
                StatusCode::FORBIDDEN,
                "csrf",
                "missing or wrong X-CSRF-Token: send the csrf_token the login returned",
            );
        }
    }
    req.extensions_mut().insert(session);
    next.run(req).await
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the configuration validates and its state store opens.
async fn ready(State(state): State<AppState>) -> Response {
    let runner = state.runner.clone();
    let check = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let config = runner.load(None).map_err(|e| e.to_string())?;
        rosterbridge_engine::open_store(&config.state_path).map_err(|e| e.to_string())?;
        Ok(())
    })
    .await;
    match check {
        Ok(Ok(())) => Json(json!({"status": "ready"})).into_response(),
        Ok(Err(why)) => error(StatusCode::SERVICE_UNAVAILABLE, "not_ready", why),
        Err(e) => internal(e),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.runner.metrics.render(),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(State(state): State<AppState>, Json(body): Json<Login>) -> Response {
    let admins = state.admins.clone();
    let result =
        tokio::task::spawn_blocking(move || admins.login(&body.username, &body.password)).await;
    match result {
        Ok(Ok(session)) => {
            let cookie = session_cookie(&session, state.secure_cookies);
            (
                [(header::SET_COOKIE, cookie)],
                Json(json!({"admin": session.admin, "csrf_token": session.csrf})),
            )
                .into_response()
        }
        Ok(Err(AdminError::Invalid)) => error(
            StatusCode::UNAUTHORIZED,
            "invalid_login",
            AdminError::Invalid,
        ),
        Ok(Err(e @ AdminError::Locked(_))) => error(StatusCode::TOO_MANY_REQUESTS, "locked", e),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

async fn logout(State(state): State<AppState>, Extension(session): Extension<Session>) -> Response {
    match state.admins.logout(&session.token) {
        Ok(()) => (
            [(header::SET_COOKIE, cleared_cookie())],
            Json(json!({"logged_out": true})),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

async fn session(Extension(session): Extension<Session>) -> Json<Value> {
    Json(json!({"admin": session.admin, "csrf_token": session.csrf}))
}

/// Runs a read of the state store on a blocking thread.
async fn with_store<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&rosterbridge_config::Config, &mut dyn StateStore) -> Result<T, String>
        + Send
        + 'static,
) -> Result<T, Response> {
    let runner = state.runner.clone();
    // (status, kind, message): a Response is too big to pass around in a Result.
    let joined =
        tokio::task::spawn_blocking(move || -> Result<T, (StatusCode, &'static str, String)> {
            let config = runner
                .load(None)
                .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, "config", e.to_string()))?;
            let mut store = rosterbridge_engine::open_store(&config.state_path)
                .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
            f(&config, &mut store).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, "internal", e))
        })
        .await;
    match joined {
        Ok(Ok(v)) => Ok(v),
        Ok(Err((status, kind, message))) => Err(error(status, kind, message)),
        Err(e) => Err(internal(e)),
    }
}

async fn profiles(State(state): State<AppState>) -> Response {
    let busy = state.runner.busy();
    let result = with_store(&state, move |config, store| {
        let today = rosterbridge_engine::today();
        let runs = store.runs(500).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for p in &config.profiles {
            let last_run = runs
                .iter()
                .find(|r| r.profile.as_deref() == Some(p.name.as_str()));
            let last_ok = rosterbridge_engine::notify::last_success_of(store, Some(&p.name))
                .map_err(|e| e.to_string())?;
            out.push(json!({
                "name": p.name,
                "start": p.start.to_string(),
                "end": p.end.to_string(),
                "academic_period": p.academic_period,
                "enabled": p.enabled,
                "course_template": p.course_template.as_str(),
                "schedule": p.schedule,
                "active": p.enabled && p.contains(today),
                "running": busy.contains(&p.name),
                "last_run": last_run,
                "last_successful_run": last_ok,
            }));
        }
        Ok(json!({"profiles": out}))
    })
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

#[derive(serde::Deserialize)]
struct Paging {
    limit: Option<usize>,
}

async fn runs(State(state): State<AppState>, Query(paging): Query<Paging>) -> Response {
    let limit = paging.limit.unwrap_or(50).clamp(1, 1000);
    match with_store(&state, move |_, store| {
        store.runs(limit).map_err(|e| e.to_string())
    })
    .await
    {
        Ok(runs) => Json(json!({"runs": runs, "running": state.runner.busy()})).into_response(),
        Err(r) => r,
    }
}

/// A run with its summary, per-row errors (`summary.rejections`: kind, key, action and
/// Canvas's message, with the SIS row they came from) and archived files.
async fn run(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    match with_store(&state, move |_, store| {
        store.run(id).map_err(|e| e.to_string())
    })
    .await
    {
        Ok(Some(run)) => Json(json!({"run": run})).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no run {id}"),
        ),
        Err(r) => r,
    }
}

#[derive(serde::Deserialize, Default)]
struct Trigger {
    profile: Option<String>,
}

/// Starts a sync now (of `profile`, else of the profile active today): 202 at once; the run
/// shows in `GET /api/v1/runs` when it ends.
async fn trigger(State(state): State<AppState>, body: Option<Json<Trigger>>) -> Response {
    let profile = body.and_then(|Json(t)| t.profile);
    match state.runner.start(profile.clone()) {
        Ok(_) => (
            StatusCode::ACCEPTED,
            Json(json!({"started": true, "profile": profile})),
        )
            .into_response(),
        Err(e @ TriggerError::Busy(_)) => error(StatusCode::CONFLICT, "busy", e),
        Err(e @ TriggerError::UnknownProfile(_)) => error(StatusCode::NOT_FOUND, "not_found", e),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "config", e),
    }
}

/// Plans the safety checks hold, waiting for approval.
async fn plans(State(state): State<AppState>) -> Response {
    let result = with_store(&state, |_, store| {
        let mut held = Vec::new();
        for r in store.runs(500).map_err(|e| e.to_string())? {
            if let Some(id) = r.summary.get("held_plan").and_then(Value::as_i64) {
                if let Some(p) = store.held_plan(id).map_err(|e| e.to_string())? {
                    if matches!(p.status, HeldStatus::Held)
                        && !held
                            .iter()
                            .any(|h: &rosterbridge_state::HeldPlan| h.id == p.id)
                    {
                        held.push(p);
                    }
                }
            }
        }
        Ok(held)
    })
    .await;
    match result {
        Ok(held) => Json(json!({"plans": held})).into_response(),
        Err(r) => r,
    }
}

/// Plans a profile now without applying anything (`rosterbridge plan --json`).
async fn preview(State(state): State<AppState>, body: Option<Json<Trigger>>) -> Response {
    let profile = body.and_then(|Json(t)| t.profile);
    match state.runner.preview(profile).await {
        Ok(Ok(plan)) => Json(plan).into_response(),
        Ok(Err(why)) => error(StatusCode::UNPROCESSABLE_ENTITY, "not_planned", why),
        Err(e @ TriggerError::UnknownProfile(_)) => error(StatusCode::NOT_FOUND, "not_found", e),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "config", e),
    }
}

/// Applies held plan `id`, exactly as held, once.
async fn approve(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    match state.runner.approve(id).await {
        Ok(r) if r.run.is_some() => Json(json!({"approved": id, "result": r})).into_response(),
        Ok(r) => error(
            StatusCode::CONFLICT,
            "not_applied",
            r.message.unwrap_or_else(|| r.outcome.clone()),
        ),
        Err(e @ TriggerError::Busy(_)) => error(StatusCode::CONFLICT, "busy", e),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "config", e),
    }
}
