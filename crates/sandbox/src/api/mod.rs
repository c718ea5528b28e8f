//! The HTTP surface: router, authentication, throttling, pagination helpers.

mod files;
pub(crate) mod form;
mod grading_standards;
mod graphql;
mod ids;
mod reads;
mod roles;
mod sandbox_admin;
mod sis_imports;
mod writes;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) use ids::{resolve_account, resolve_term};

/// SIS uploads can be large (a district is hundreds of MB of CSV).
const MAX_UPLOAD: usize = 2 * 1024 * 1024 * 1024 - 1;

/// The sandbox's router. Tests and the CLI share it; `serve` adds nothing but the listener.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/accounts/{account_id}/sis_imports",
            get(sis_imports::list)
                .post(sis_imports::create)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route(
            "/accounts/{account_id}/sis_imports/importing",
            get(sis_imports::importing),
        )
        .route(
            "/accounts/{account_id}/sis_imports/abort_all_pending",
            put(sis_imports::abort_all_pending),
        )
        .route(
            "/accounts/{account_id}/sis_imports/{id}",
            get(sis_imports::show),
        )
        .route(
            "/accounts/{account_id}/sis_imports/{id}/abort",
            put(sis_imports::abort),
        )
        .route(
            "/accounts/{account_id}/sis_imports/{id}/restore_states",
            put(sis_imports::restore_states),
        )
        .route("/progress/{id}", get(sis_imports::progress))
        .route("/files/{id}", get(files::show))
        .route(
            "/accounts/{account_id}",
            get(reads::account).put(writes::update_account),
        )
        .route("/accounts", get(reads::accounts))
        .route(
            "/accounts/{account_id}/sub_accounts",
            get(reads::sub_accounts).post(writes::create_sub_account),
        )
        .route(
            "/accounts/{account_id}/terms",
            get(reads::terms).post(writes::create_term),
        )
        .route(
            "/accounts/{account_id}/terms/{id}",
            get(reads::term)
                .put(writes::update_term)
                .delete(writes::delete_term),
        )
        .route(
            "/accounts/{account_id}/users",
            get(reads::account_users).post(writes::create_user),
        )
        .route(
            "/accounts/{account_id}/logins/{id}",
            put(writes::update_login),
        )
        .route("/accounts/{account_id}/logins", post(writes::create_login))
        .route(
            "/accounts/{account_id}/sub_accounts/{id}",
            delete(writes::delete_sub_account),
        )
        .route(
            "/accounts/{account_id}/courses",
            get(reads::account_courses).post(writes::create_course),
        )
        .route(
            "/accounts/{account_id}/courses/{id}",
            get(reads::account_course),
        )
        .route("/accounts/{account_id}/admins", get(reads::account_admins))
        .route(
            "/accounts/{account_id}/roles",
            get(roles::list).post(roles::create),
        )
        .route(
            "/accounts/{account_id}/developer_keys",
            post(crate::oauth::create_key),
        )
        .route("/users/{id}", get(reads::user).put(writes::update_user))
        .route("/users/{id}/logins", get(reads::user_logins))
        .route(
            "/users/{id}/logins/{login_id}",
            delete(writes::delete_login),
        )
        .route("/users/{id}/profile", get(reads::user_profile))
        .route("/users/{id}/observees", get(reads::user_observees))
        .route(
            "/users/{id}/observees/{observee_id}",
            put(writes::add_observee).delete(writes::remove_observee),
        )
        .route("/users/{id}/enrollments", get(reads::user_enrollments))
        .route(
            "/courses/{id}",
            get(reads::course)
                .put(writes::update_course)
                .delete(writes::delete_course),
        )
        .route(
            "/courses/{id}/sections",
            get(reads::course_sections).post(writes::create_section),
        )
        .route(
            "/courses/{course_id}/sections/{id}",
            get(reads::course_section),
        )
        .route(
            "/courses/{id}/enrollments",
            get(reads::course_enrollments).post(writes::enroll_in_course),
        )
        .route(
            "/courses/{course_id}/enrollments/{id}",
            delete(writes::end_enrollment),
        )
        .route(
            "/courses/{course_id}/enrollments/{id}/reactivate",
            put(writes::reactivate_enrollment),
        )
        .route(
            "/sections/{id}",
            get(reads::section)
                .put(writes::update_section)
                .delete(writes::delete_section),
        )
        .route(
            "/sections/{id}/enrollments",
            get(reads::section_enrollments).post(writes::enroll_in_section),
        )
        .route(
            "/sections/{id}/crosslist/{new_course_id}",
            post(writes::crosslist),
        )
        .route("/sections/{id}/crosslist", delete(writes::uncrosslist))
        .route(
            "/sandbox/enrollments/{id}/grades",
            put(sandbox_admin::set_grades),
        )
        .route(
            "/courses/{id}/grading_standards",
            get(grading_standards::list_for_course).post(grading_standards::create_for_course),
        )
        .route(
            "/courses/{course_id}/grading_standards/{id}",
            get(grading_standards::show_for_course),
        )
        .route(
            "/accounts/{id}/grading_standards",
            get(grading_standards::list_for_account).post(grading_standards::create_for_account),
        )
        .route("/groups/{id}", get(reads::group))
        .route("/groups/{id}/memberships", get(reads::group_memberships))
        .route("/groups/{id}/users", get(reads::group_users))
        .route("/group_categories/{id}", get(reads::group_category))
        .route("/courses/{id}/groups", get(reads::course_groups))
        .route("/accounts/{account_id}/groups", get(reads::account_groups))
        .fallback(|| async { ApiError::NotFound })
        .route_layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state.clone());
    // Canvas's GraphQL endpoint sits beside /api/v1, behind the same auth and throttle.
    let graphql = Router::new()
        .route("/api/graphql", post(graphql::handle))
        .route_layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state.clone());
    Router::new()
        .nest("/api/v1", api)
        .merge(graphql)
        .route("/login/oauth2/auth", get(crate::oauth::authorize))
        .route(
            "/login/oauth2/token",
            post(crate::oauth::token).delete(crate::oauth::revoke),
        )
        .route("/files/{id}/download", get(files::download))
        .route("/sandbox/throttle", get(sandbox_admin::throttle_stats))
        .route(
            "/sandbox/uploads/{id}",
            post(sis_imports::upload).layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .with_state(state)
}

/// The client's token: `Authorization: Bearer`, or `access_token` in the query string.
fn token_of(req: &Request) -> Option<String> {
    if let Some(h) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let t = h
            .strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))?;
        return Some(t.trim().to_string());
    }
    let q = req.uri().query()?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).ok()?;
    pairs
        .into_iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v)
}

/// A configured token, or an OAuth access token that has not expired.
fn token_valid(state: &AppState, token: &str) -> bool {
    state.inner.config.tokens.iter().any(|t| t == token) || state.inner.oauth.token_valid(token)
}

/// Authentication, then Canvas's throttle, on every API route.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(token) = token_of(&req) else {
        return ApiError::Unauthenticated.into_response();
    };
    if !token_valid(&state, &token) {
        return ApiError::InvalidToken.into_response();
    }
    if let Some(resp) = injected_fault(&state).await {
        return resp;
    }
    let throttle = &state.inner.throttle;
    if !throttle.begin(&token) {
        return ApiError::Throttled {
            legacy_403: throttle.legacy_403(),
        }
        .into_response();
    }
    let mut resp = next.run(req).await;
    let (cost, remaining) = throttle.end(&token);
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("{cost:.1}")) {
        h.insert("x-request-cost", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{remaining:.1}")) {
        h.insert("x-rate-limit-remaining", v);
    }
    resp
}

/// A repeatable pseudo-random draw in [0, 1) for request `n` (splitmix64 of seed and n).
pub(crate) fn draw(seed: u64, n: u64, salt: u64) -> f64 {
    let mut z = seed
        .wrapping_add(salt)
        .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Fault injection: added latency and a deterministic share of 5xx answers. (Dropped
/// connections are injected by the listener in `serve`.)
async fn injected_fault(state: &AppState) -> Option<Response> {
    let faults = &state.inner.config.faults;
    if faults.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(faults.latency_ms)).await;
    }
    if faults.error_rate <= 0.0 {
        return None;
    }
    let n = state
        .inner
        .request_counter
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if draw(faults.seed, n, 0) < faults.error_rate {
        let status = [
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            axum::http::StatusCode::BAD_GATEWAY,
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
        ][(n % 3) as usize];
        return Some((status, "sandbox fault injection\n").into_response());
    }
    None
}

/// The server's base URL as the client sees it (from `Host`), for links in bodies and headers.
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Query-string parameters, with Canvas's `key[]` arrays.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        Params(
            query
                .and_then(|q| serde_urlencoded::from_str(q).ok())
                .unwrap_or_default(),
        )
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// Values of `key[]` (and a bare `key`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        let arr = format!("{key}[]");
        self.0
            .iter()
            .filter(|(k, _)| *k == arr || k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn bool(&self, key: &str) -> bool {
        self.get(key).is_some_and(value_to_boolean)
    }
}

/// Canvas's `value_to_boolean`.
pub(crate) fn value_to_boolean(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "on" | "t"
    )
}

/// A page request: `page` (1-based) and `per_page`, clamped as Canvas clamps them.
pub(crate) struct Page {
    pub page: usize,
    pub per_page: usize,
}

impl Page {
    pub fn from(params: &Params) -> Self {
        // Canvas: default 10, max 100; 0, negatives and non-numbers become 1.
        let per_page = match params.get("per_page") {
            None => 10,
            Some(v) => v.trim().parse::<i64>().unwrap_or(1).clamp(1, 100) as usize,
        };
        let page = params
            .get("page")
            .and_then(|p| p.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        Page { page, per_page }
    }

    /// Take this page out of an iterator; the flag says whether a next page exists.
    pub fn take<T>(&self, iter: impl Iterator<Item = T>) -> (Vec<T>, bool) {
        let mut items: Vec<T> = iter
            .skip((self.page - 1) * self.per_page)
            .take(self.per_page + 1)
            .collect();
        let more = items.len() > self.per_page;
        items.truncate(self.per_page);
        (items, more)
    }
}

/// Percent-encode a query component.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Canvas's `Link` header: current, next, prev, first, last (each only when it applies),
/// joined by a comma with no space. `total` is the item count when it is known.
pub(crate) fn link_header(
    headers: &HeaderMap,
    path: &str,
    params: &Params,
    page: &Page,
    more: bool,
    total: Option<usize>,
) -> String {
    let base = base_url(headers);
    let kept: String = params
        .0
        .iter()
        .filter(|(k, _)| !["page", "per_page", "access_token", "api_key"].contains(&k.as_str()))
        .map(|(k, v)| format!("{}={}&", enc(k), enc(v)))
        .collect();
    let url = |n: usize| format!("<{base}{path}?{kept}page={n}&per_page={}>", page.per_page);
    let mut links = vec![format!("{}; rel=\"current\"", url(page.page))];
    if more {
        links.push(format!("{}; rel=\"next\"", url(page.page + 1)));
    }
    if page.page > 1 {
        links.push(format!("{}; rel=\"prev\"", url(page.page - 1)));
    }
    links.push(format!("{}; rel=\"first\"", url(1)));
    if let Some(t) = total {
        let last = t.div_ceil(page.per_page).max(1);
        links.push(format!("{}; rel=\"last\"", url(last)));
    }
    links.join(",")
}

/// A JSON page with its Link header.
pub(crate) fn paged(body: Value, link: String) -> Response {
    let mut r = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&link) {
        r.headers_mut().insert(header::LINK, v);
    }
    r
}

/// Plain JSON.
pub(crate) fn json(body: Value) -> Response {
    Json(body).into_response()
}
