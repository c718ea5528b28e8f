//! OAuth 2 developer keys and Canvas's authorization-code flow (canvas-rest.md §7).
//!
//! The sandbox has no login page: `GET /login/oauth2/auth` approves at once, as the sandbox
//! admin, and redirects back with a code. Tokens issued here live in memory only (they are not
//! part of the `--db` snapshot): a restart signs OAuth clients out, like a revoked key would.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::api::{form::Form, resolve_account, value_to_boolean, Params};
use crate::error::ApiError;
use crate::state::AppState;

/// A developer key: `id` is the client id, `api_key` the client secret.
#[derive(Clone)]
struct DevKey {
    id: u64,
    name: String,
    api_key: String,
    redirect_uris: Vec<String>,
    require_scopes: bool,
    scopes: Vec<String>,
}

struct Grant {
    client_id: u64,
    redirect_uri: String,
}

#[derive(Default)]
struct Inner {
    keys: Vec<DevKey>,
    codes: HashMap<String, Grant>,
    /// refresh token → client id
    refresh: HashMap<String, u64>,
    /// access token → expiry
    access: HashMap<String, Instant>,
}

pub struct OAuth {
    inner: Mutex<Inner>,
    ttl: Duration,
}

impl OAuth {
    pub fn new(ttl: Duration) -> Self {
        OAuth {
            inner: Mutex::new(Inner::default()),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn secret(&self) -> String {
        crate::secret::random_hex(4)
    }

    /// Whether an OAuth-issued access token is valid now.
    pub fn token_valid(&self, token: &str) -> bool {
        self.lock()
            .access
            .get(token)
            .is_some_and(|exp| *exp > Instant::now())
    }

    fn issue(&self, inner: &mut Inner) -> String {
        let t = self.secret();
        inner.access.insert(t.clone(), Instant::now() + self.ttl);
        t
    }
}

fn key_json(k: &DevKey) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "api_key": k.api_key,
        "redirect_uri": k.redirect_uris.first(),
        "redirect_uris": k.redirect_uris,
        "require_scopes": k.require_scopes,
        "scopes": k.scopes,
        "workflow_state": "active",
    })
}

/// `POST /api/v1/accounts/:account_id/developer_keys` (developer_key[name],
/// developer_key[redirect_uris] newline-separated or developer_key[redirect_uri],
/// developer_key[require_scopes], developer_key[scopes][]).
pub async fn create_key(
    State(state): State<AppState>,
    Path(account): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    resolve_account(&state.store().read(), &account)?;
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let mut uris: Vec<String> = f
        .get("developer_key[redirect_uris]")
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(u) = f.text("developer_key[redirect_uri]") {
        uris.insert(0, u.to_string());
    }
    let oauth = &state.inner.oauth;
    let api_key = oauth.secret();
    let mut inner = oauth.lock();
    let key = DevKey {
        id: inner.keys.len() as u64 + 1,
        name: f.text("developer_key[name]").unwrap_or("").to_string(),
        api_key,
        redirect_uris: uris,
        require_scopes: f.bool_or("developer_key[require_scopes]", false),
        scopes: f.all("developer_key[scopes][]"),
    };
    inner.keys.push(key.clone());
    Ok(Json(key_json(&key)).into_response())
}

/// Host part of a URL (`scheme://host[:port]/…`).
fn host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(
        authority
            .rsplit_once('@')
            .map(|x| x.1)
            .unwrap_or(authority)
            .split(':')
            .next()
            .unwrap_or(""),
    )
}

/// Canvas accepts a redirect URI whose host is the key's host or a subdomain of it.
fn redirect_ok(key: &DevKey, uri: &str) -> bool {
    if uri == "urn:ietf:wg:oauth:2.0:oob" {
        return true;
    }
    let Some(h) = host(uri) else { return false };
    key.redirect_uris
        .iter()
        .filter_map(|k| host(k))
        .any(|k| h == k || h.ends_with(&format!(".{k}")))
}

fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|x| x.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

fn redirect(uri: &str, params: &[(&str, &str)]) -> Response {
    let sep = if uri.contains('?') { '&' } else { '?' };
    let q: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    let location = format!("{uri}{sep}{}", q.join("&"));
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn unknown_client(status: StatusCode) -> Response {
    let mut r = (
        status,
        Json(json!({"error": "invalid_client", "error_description": "unknown client"})),
    )
        .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"canvas-lms\""),
    );
    r
}

/// `GET /login/oauth2/auth`: approves at once and redirects back with `code` and `state`.
pub async fn authorize(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let p = Params::parse(q.as_deref());
    let oauth = &state.inner.oauth;
    let mut inner = oauth.lock();
    let key = p
        .get("client_id")
        .and_then(|c| c.parse::<u64>().ok())
        .and_then(|id| inner.keys.iter().find(|k| k.id == id))
        .cloned();
    let Some(key) = key else {
        return unknown_client(StatusCode::UNAUTHORIZED);
    };
    let uri = p.get("redirect_uri").unwrap_or("").to_string();
    if !redirect_ok(&key, &uri) {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_request", "error_description": "redirect_uri does not match client settings"}))).into_response();
    }
    let st = p.get("state").unwrap_or("").to_string();
    if p.get("response_type") != Some("code") {
        return redirect(
            &uri,
            &[("error", "unsupported_response_type"), ("state", &st)],
        );
    }
    if key.require_scopes && p.get("scope").is_none_or(|s| s.trim().is_empty()) {
        return redirect(&uri, &[("error", "invalid_scope"), ("state", &st)]);
    }
    let code = oauth.secret();
    inner.codes.insert(
        code.clone(),
        Grant {
            client_id: key.id,
            redirect_uri: uri.clone(),
        },
    );
    redirect(&uri, &[("code", &code), ("state", &st)])
}

fn grant_error(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_grant", "error_description": description})),
    )
        .into_response()
}

/// `POST /login/oauth2/token`: authorization_code and refresh_token grants.
pub async fn token(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = match Form::read(q.as_deref(), &headers, &body) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    // Every token acts as the sandbox's API user (read before the OAuth lock is taken).
    let user = {
        let store = state.store().read();
        let u = store.api_user.and_then(|id| store.user(id));
        json!({"id": u.map(|u| u.id), "name": u.map(|u| u.name.clone()),
            "global_id": u.map(|u| u.id.to_string()), "effective_locale": "en"})
    };
    let oauth = &state.inner.oauth;
    let mut inner = oauth.lock();
    let key = f
        .text("client_id")
        .and_then(|c| c.parse::<u64>().ok())
        .and_then(|id| inner.keys.iter().find(|k| k.id == id))
        .cloned();
    let Some(key) = key.filter(|k| f.get("client_secret") == Some(k.api_key.as_str())) else {
        return unknown_client(StatusCode::UNAUTHORIZED);
    };
    // A missing grant_type with a code means authorization_code.
    let grant = f
        .text("grant_type")
        .or(f.text("code").map(|_| "authorization_code"));
    match grant {
        Some("authorization_code") => {
            let Some(code) = f.text("code") else { return grant_error("code is required") };
            let Some(g) = inner.codes.get(code) else { return grant_error("authorization_code not found") };
            if g.client_id != key.id {
                return grant_error("incorrect client");
            }
            if f.text("redirect_uri").is_some_and(|u| u != g.redirect_uri) {
                return grant_error("redirect_uri does not match");
            }
            // Codes are single-use.
            inner.codes.remove(code);
            if f.get("replace_tokens").is_some_and(value_to_boolean) {
                inner.refresh.retain(|_, c| *c != key.id);
            }
            let access = oauth.issue(&mut inner);
            let refresh = oauth.secret();
            inner.refresh.insert(refresh.clone(), key.id);
            Json(json!({
                "access_token": access, "token_type": "Bearer", "user": user,
                "refresh_token": refresh, "expires_in": oauth.ttl.as_secs(), "canvas_region": "sandbox",
            }))
            .into_response()
        }
        Some("refresh_token") => {
            let valid = f.text("refresh_token").and_then(|r| inner.refresh.get(r)).is_some_and(|c| *c == key.id);
            if !valid {
                return grant_error("refresh_token not found");
            }
            let access = oauth.issue(&mut inner);
            Json(json!({
                "access_token": access, "token_type": "Bearer", "user": user,
                "expires_in": oauth.ttl.as_secs(), "canvas_region": "sandbox",
            }))
            .into_response()
        }
        _ => (StatusCode::BAD_REQUEST, Json(json!({"error": "unsupported_grant_type", "error_description": "The grant_type is not supported"}))).into_response(),
    }
}

/// `DELETE /login/oauth2/token`: revoke the access token used to call it.
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    let removed = token.is_some_and(|t| state.inner.oauth.lock().access.remove(t).is_some());
    if !removed {
        return ApiError::InvalidToken.into_response();
    }
    Json(json!({})).into_response()
}
