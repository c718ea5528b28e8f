//! REST reads the engine uses to verify results (canvas-rest.md §6).

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};

use super::ids::{
    resolve_course, resolve_group, resolve_group_category, resolve_section, resolve_user,
};
use super::{base_url, json, link_header, paged, resolve_account, resolve_term, Page, Params};
use crate::error::ApiError;
use crate::model::{ActiveDeleted, CourseState, Enrollment, EnrollmentState, EnrollmentType};
use crate::render;
use crate::state::AppState;
use crate::store::Store;

/// Common shape of a list request.
struct ListReq {
    params: Params,
    page: Page,
    path: String,
}

fn list_req(query: Option<String>, path: String) -> ListReq {
    let params = Params::parse(query.as_deref());
    let page = Page::from(&params);
    ListReq { params, page, path }
}

/// Serve one page of an id list (already in id order), rendering only that page.
fn page_of(
    headers: &HeaderMap,
    req: &ListReq,
    ids: impl Iterator<Item = u64> + Clone,
    render: impl Fn(u64) -> Option<Value>,
    wrap: Option<&str>,
) -> Response {
    let total = ids.clone().count();
    let (page_ids, more) = req.page.take(ids);
    let items: Vec<Value> = page_ids.into_iter().filter_map(render).collect();
    let body = match wrap {
        Some(key) => json!({ key: items }),
        None => Value::Array(items),
    };
    paged(
        body,
        link_header(
            headers,
            &req.path,
            &req.params,
            &req.page,
            more,
            Some(total),
        ),
    )
}

pub async fn account(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_account(&store, &id)?;
    let a = store.account(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::account(&store, a)))
}

/// `GET /api/v1/accounts`: the accounts the caller can view or manage. The sandbox's tokens
/// are root-account admins: the root account (its sub-accounts are under `sub_accounts`).
pub async fn accounts(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let req = list_req(query, "/api/v1/accounts".to_string());
    let s = &store;
    Ok(page_of(
        &headers,
        &req,
        std::iter::once(crate::store::ROOT_ACCOUNT_ID),
        |i| s.account(i).map(|a| render::account(s, a)),
        None,
    ))
}

pub async fn sub_accounts(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_account(&store, &id)?;
    let req = list_req(query, format!("/api/v1/accounts/{id}/sub_accounts"));
    let mut ids: Vec<u64> = Vec::new();
    // Breadth-first for `recursive`; Canvas lists active sub-accounts only.
    let mut frontier = vec![id];
    while let Some(parent) = frontier.pop() {
        for c in store.sub_accounts.get(&parent).into_iter().flatten() {
            if store
                .account(*c)
                .is_some_and(|a| a.workflow_state == ActiveDeleted::Active)
            {
                ids.push(*c);
                if req.params.bool("recursive") {
                    frontier.push(*c);
                }
            }
        }
    }
    ids.sort_unstable();
    let s = &store;
    Ok(page_of(
        &headers,
        &req,
        ids.into_iter(),
        |i| s.account(i).map(|a| render::account(s, a)),
        None,
    ))
}

pub async fn terms(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_account(&store, &id)?;
    let req = list_req(query, format!("/api/v1/accounts/{id}/terms"));
    let states = req.params.all("workflow_state");
    let want = |s: ActiveDeleted| {
        if states.is_empty() {
            s == ActiveDeleted::Active
        } else {
            states.contains(&"all") || states.contains(&s.as_str())
        }
    };
    let name = req.params.get("term_name").map(str::to_lowercase);
    let s = &store;
    let ids = s
        .terms
        .iter()
        .filter(move |t| want(t.workflow_state))
        .filter(move |t| {
            name.as_ref()
                .is_none_or(|n| t.name.to_lowercase().contains(n))
        })
        .map(|t| t.id);
    Ok(page_of(
        &headers,
        &req,
        ids,
        |i| s.term(i).map(|t| render::term(s, t)),
        Some("enrollment_terms"),
    ))
}

pub async fn term(
    State(state): State<AppState>,
    Path((account, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    resolve_account(&store, &account)?;
    let id = resolve_term(&store, &id)?;
    let t = store.term(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::term(&store, t)))
}

pub async fn account_users(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_account(&store, &id)?;
    let req = list_req(query, format!("/api/v1/accounts/{id}/users"));
    let term = req.params.get("search_term").map(str::to_lowercase);
    if let Some(t) = &term {
        if t.chars().count() < 2 {
            return Err(ApiError::InvalidParam(
                "2 or more characters is required".into(),
            ));
        }
    }
    let include_deleted = req.params.bool("include_deleted_users");
    let s = &store;
    let ids = s
        .users
        .iter()
        .filter(move |u| {
            let mut logins = s
                .logins_by_user
                .get(&u.id)
                .into_iter()
                .flatten()
                .filter_map(|l| s.login(*l));
            if !include_deleted && !logins.clone().any(|l| l.is_active()) {
                return false;
            }
            match &term {
                None => true,
                Some(t) => {
                    u.name.to_lowercase().contains(t)
                        || u.id.to_string() == *t
                        || logins.any(|l| {
                            l.unique_id.to_lowercase().contains(t)
                                || l.sis_user_id
                                    .as_deref()
                                    .is_some_and(|x| x.to_lowercase() == *t)
                                || l.integration_id
                                    .as_deref()
                                    .is_some_and(|x| x.to_lowercase() == *t)
                                || l.email
                                    .as_ref()
                                    .is_some_and(|e| e.0.to_lowercase().contains(t))
                        })
                }
            }
        })
        .map(|u| u.id);
    // Bookmark-paginated in Canvas: no `last` link.
    let (page_ids, more) = req.page.take(ids);
    let items: Vec<Value> = page_ids
        .into_iter()
        .filter_map(|i| s.user(i).map(|u| render::user(s, u)))
        .collect();
    Ok(paged(
        Value::Array(items),
        link_header(&headers, &req.path, &req.params, &req.page, more, None),
    ))
}

pub async fn user(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_user(&store, &id)?;
    let u = store.user(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::user(&store, u)))
}

/// `GET /users/:id/profile` (Canvas's `user_profile_json`).
pub async fn user_profile(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_user(&store, &id)?;
    let u = store.user(id).ok_or(ApiError::NotFound)?;
    let login = store.primary_login(id);
    let mut v = json!({
        "id": u.id,
        "name": u.name,
        "short_name": u.short_name,
        "sortable_name": u.sortable_name,
        "sis_user_id": login.and_then(|l| l.sis_user_id.clone()),
        "integration_id": login.and_then(|l| l.integration_id.clone()),
        "login_id": login.map(|l| l.unique_id.clone()),
        "avatar_url": format!("{}/images/messages/avatar-50.png", base_url(&headers)),
        "pronouns": u.pronouns,
        "title": null,
        "bio": null,
        "primary_email": login.and_then(|l| l.email.as_ref().filter(|e| e.1 == "active").map(|e| e.0.clone())),
        "time_zone": "Etc/UTC",
        "locale": null,
    });
    // Canvas adds the calendar feed only when users read their own profile.
    if store.api_user == Some(id) {
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "calendar".into(),
                json!({"ics": format!("{}/feeds/calendars/user_sandbox{}.ics", base_url(&headers), u.id)}),
            );
        }
    }
    Ok(json(v))
}

pub async fn user_logins(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_user(&store, &id)?;
    let req = list_req(query, format!("/api/v1/users/{id}/logins"));
    let s = &store;
    // Deleted logins are not listed.
    let ids = s
        .logins_by_user
        .get(&id)
        .into_iter()
        .flatten()
        .copied()
        .filter(move |l| s.login(*l).is_some_and(|l| l.is_active()));
    Ok(page_of(
        &headers,
        &req,
        ids,
        |i| s.login(i).map(render::login),
        None,
    ))
}

pub async fn user_observees(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_user(&store, &id)?;
    let req = list_req(query, format!("/api/v1/users/{id}/observees"));
    let s = &store;
    let ids = s
        .links_by_observer
        .get(&id)
        .into_iter()
        .flatten()
        .filter_map(move |l| s.observer_links.get((*l - 1) as usize))
        .filter(|l| l.workflow_state == ActiveDeleted::Active)
        .map(|l| l.student_id);
    Ok(page_of(
        &headers,
        &req,
        ids,
        |i| {
            s.user(i).map(|u| {
                let mut v = render::user(s, u);
                if let Some(o) = v.as_object_mut() {
                    o.insert(
                        "observation_link_root_account_ids".into(),
                        json!([crate::store::ROOT_ACCOUNT_ID]),
                    );
                }
                v
            })
        },
        None,
    ))
}

fn course_state_filter(params: &Params) -> Vec<CourseState> {
    let states = params.all("state");
    if states.is_empty() {
        // Canvas lists every course except deleted ones by default.
        return vec![
            CourseState::Created,
            CourseState::Claimed,
            CourseState::Available,
            CourseState::Completed,
        ];
    }
    let mut out = Vec::new();
    for s in states {
        match s {
            "created" => out.push(CourseState::Created),
            "claimed" | "unpublished" => out.extend([CourseState::Created, CourseState::Claimed]),
            "available" => out.push(CourseState::Available),
            "completed" => out.push(CourseState::Completed),
            "deleted" => out.push(CourseState::Deleted),
            "all" => out.extend([
                CourseState::Created,
                CourseState::Claimed,
                CourseState::Available,
                CourseState::Completed,
                CourseState::Deleted,
            ]),
            _ => {}
        }
    }
    out
}

/// All course ids under an account (itself and its sub-accounts), ascending.
fn courses_under(store: &Store, account: u64) -> Vec<u64> {
    let mut ids = Vec::new();
    let mut frontier = vec![account];
    while let Some(a) = frontier.pop() {
        ids.extend(
            store
                .courses_by_account
                .get(&a)
                .into_iter()
                .flatten()
                .copied(),
        );
        frontier.extend(store.sub_accounts.get(&a).into_iter().flatten().copied());
    }
    ids.sort_unstable();
    ids
}

pub async fn account_courses(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_account(&store, &id)?;
    let req = list_req(query, format!("/api/v1/accounts/{id}/courses"));
    let term = match req.params.get("enrollment_term_id") {
        Some(t) => Some(resolve_term(&store, t)?),
        None => None,
    };
    let states = course_state_filter(&req.params);
    let search = req.params.get("search_term").map(str::to_lowercase);
    let s = &store;
    // The root account's list walks the course table directly (no id list to build).
    let all: Box<dyn Iterator<Item = u64> + '_> = if id == crate::store::ROOT_ACCOUNT_ID {
        Box::new(s.courses.iter().map(|c| c.id))
    } else {
        Box::new(courses_under(s, id).into_iter())
    };
    let ids: Vec<u64> = all
        .filter(|c| {
            s.course(*c).is_some_and(|c| {
                states.contains(&c.workflow_state)
                    && term.is_none_or(|t| c.enrollment_term_id == t)
                    && search.as_ref().is_none_or(|q| {
                        c.name.to_lowercase().contains(q)
                            || c.course_code.to_lowercase().contains(q)
                            || c.sis_source_id
                                .as_deref()
                                .is_some_and(|x| x.to_lowercase().contains(q))
                    })
            })
        })
        .collect();
    Ok(page_of(
        &headers,
        &req,
        ids.into_iter(),
        |i| s.course(i).map(|c| render::course(s, c)),
        None,
    ))
}

pub async fn course(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_course(&store, &id)?;
    let c = store.course(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::course(&store, c)))
}

pub async fn account_course(
    State(state): State<AppState>,
    Path((account, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    resolve_account(&store, &account)?;
    let id = resolve_course(&store, &id)?;
    let c = store.course(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::course(&store, c)))
}

pub async fn course_sections(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_course(&store, &id)?;
    let req = list_req(query, format!("/api/v1/courses/{id}/sections"));
    let s = &store;
    let ids = s
        .sections_by_course
        .get(&id)
        .into_iter()
        .flatten()
        .copied()
        .filter(move |x| {
            s.section(*x)
                .is_some_and(|x| x.workflow_state == ActiveDeleted::Active)
        });
    Ok(page_of(
        &headers,
        &req,
        ids,
        |i| s.section(i).map(|x| render::section(s, x)),
        None,
    ))
}

pub async fn section(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_section(&store, &id)?;
    let x = store
        .section(id)
        .filter(|x| x.workflow_state == ActiveDeleted::Active)
        .ok_or(ApiError::NotFound)?;
    Ok(json(render::section(&store, x)))
}

pub async fn course_section(
    State(state): State<AppState>,
    Path((course, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let course = resolve_course(&store, &course)?;
    let id = resolve_section(&store, &id)?;
    let x = store
        .section(id)
        .filter(|x| x.course_id == course && x.workflow_state == ActiveDeleted::Active)
        .ok_or(ApiError::NotFound)?;
    Ok(json(render::section(&store, x)))
}

/// Filters shared by the three enrollment lists.
struct EnrollmentFilter {
    types: Vec<EnrollmentType>,
    states: Vec<EnrollmentState>,
    roles: Vec<String>,
    user: Option<u64>,
    sis_user_ids: Vec<String>,
    sis_section_ids: Vec<String>,
    sis_course_ids: Vec<String>,
}

impl EnrollmentFilter {
    fn from(
        store: &Store,
        params: &Params,
        default_states: &[EnrollmentState],
    ) -> Result<Self, ApiError> {
        let mut states = Vec::new();
        for s in params.all("state") {
            match s {
                "current_and_invited" => {
                    states.extend([EnrollmentState::Active, EnrollmentState::Invited])
                }
                "current_and_future" | "current_future_and_restricted" => {
                    states.extend([EnrollmentState::Active, EnrollmentState::Invited])
                }
                "current_and_concluded" => {
                    states.extend([EnrollmentState::Active, EnrollmentState::Completed])
                }
                other => states.extend(EnrollmentState::parse(other)),
            }
        }
        if states.is_empty() {
            states = default_states.to_vec();
        }
        let user = match params.get("user_id") {
            Some(u) => Some(resolve_user(store, u)?),
            None => None,
        };
        Ok(EnrollmentFilter {
            types: params
                .all("type")
                .into_iter()
                .filter_map(EnrollmentType::parse)
                .collect(),
            states,
            roles: params.all("role").into_iter().map(str::to_string).collect(),
            user,
            sis_user_ids: params
                .all("sis_user_id")
                .into_iter()
                .map(str::to_string)
                .collect(),
            sis_section_ids: params
                .all("sis_section_id")
                .into_iter()
                .map(str::to_string)
                .collect(),
            sis_course_ids: params
                .all("sis_course_id")
                .into_iter()
                .map(str::to_string)
                .collect(),
        })
    }

    fn accepts(&self, store: &Store, e: &Enrollment) -> bool {
        let role_name = || {
            store
                .role(e.role_id)
                .map(|r| r.name.as_str())
                .unwrap_or(e.kind.as_str())
        };
        (self.types.is_empty() || self.types.contains(&e.kind))
            && self.states.contains(&e.workflow_state)
            && (self.roles.is_empty() || self.roles.iter().any(|r| r == role_name()))
            && self.user.is_none_or(|u| e.user_id == u)
            && (self.sis_user_ids.is_empty()
                || store
                    .primary_login(e.user_id)
                    .and_then(|l| l.sis_user_id.as_ref())
                    .is_some_and(|x| self.sis_user_ids.contains(x)))
            && (self.sis_section_ids.is_empty()
                || store
                    .section(e.course_section_id)
                    .and_then(|x| x.sis_source_id.as_ref())
                    .is_some_and(|x| self.sis_section_ids.contains(x)))
            && (self.sis_course_ids.is_empty()
                || store
                    .course(e.course_id)
                    .and_then(|x| x.sis_source_id.as_ref())
                    .is_some_and(|x| self.sis_course_ids.contains(x)))
    }
}

/// Course and section lists read by an admin include inactive enrollments by default.
const ADMIN_COURSE_DEFAULT: [EnrollmentState; 3] = [
    EnrollmentState::Active,
    EnrollmentState::Invited,
    EnrollmentState::Inactive,
];
const USER_DEFAULT: [EnrollmentState; 2] = [EnrollmentState::Active, EnrollmentState::Invited];

fn enrollment_page(
    store: &Store,
    headers: &HeaderMap,
    req: &ListReq,
    ids: Option<&Vec<u64>>,
    filter: &EnrollmentFilter,
) -> Response {
    let base = base_url(headers);
    let ids = ids.into_iter().flatten().copied().filter(|i| {
        store
            .enrollment(*i)
            .is_some_and(|e| filter.accepts(store, e))
    });
    page_of(
        headers,
        req,
        ids,
        |i| {
            store
                .enrollment(i)
                .map(|e| render::enrollment(store, &base, e))
        },
        None,
    )
}

pub async fn course_enrollments(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_course(&store, &id)?;
    let req = list_req(query, format!("/api/v1/courses/{id}/enrollments"));
    let filter = EnrollmentFilter::from(&store, &req.params, &ADMIN_COURSE_DEFAULT)?;
    Ok(enrollment_page(
        &store,
        &headers,
        &req,
        store.enrollments_by_course.get(&id),
        &filter,
    ))
}

pub async fn section_enrollments(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_section(&store, &id)?;
    let req = list_req(query, format!("/api/v1/sections/{id}/enrollments"));
    let filter = EnrollmentFilter::from(&store, &req.params, &ADMIN_COURSE_DEFAULT)?;
    Ok(enrollment_page(
        &store,
        &headers,
        &req,
        store.enrollments_by_section.get(&id),
        &filter,
    ))
}

pub async fn user_enrollments(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_user(&store, &id)?;
    let req = list_req(query, format!("/api/v1/users/{id}/enrollments"));
    let filter = EnrollmentFilter::from(&store, &req.params, &USER_DEFAULT)?;
    Ok(enrollment_page(
        &store,
        &headers,
        &req,
        store.enrollments_by_user.get(&id),
        &filter,
    ))
}

pub async fn account_admins(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_account(&store, &id)?;
    let req = list_req(query, format!("/api/v1/accounts/{id}/admins"));
    let s = &store;
    let ids = s
        .admins
        .iter()
        .filter(move |a| a.account_id == id && a.workflow_state == ActiveDeleted::Active)
        .map(|a| a.id);
    Ok(page_of(
        &headers,
        &req,
        ids,
        |i| {
            let a = s.admins.get((i - 1) as usize)?;
            let role = s.role(a.role_id).map(|r| r.name.clone());
            Some(json!({
                "id": a.id,
                "role": role,
                "role_id": a.role_id,
                "user": s.user(a.user_id).map(|u| render::user(s, u)),
                "workflow_state": a.workflow_state.as_str(),
            }))
        },
        None,
    ))
}

pub async fn group(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_group(&store, &id)?;
    let g = store.group(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::group(&store, g)))
}

pub async fn group_category(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_group_category(&store, &id)?;
    let c = store.group_category(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::group_category(c)))
}

pub async fn group_memberships(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_group(&store, &id)?;
    let req = list_req(query, format!("/api/v1/groups/{id}/memberships"));
    let s = &store;
    let ids = s.active_memberships(id).map(|m| m.id);
    Ok(page_of(
        &headers,
        &req,
        ids,
        |i| {
            s.group_memberships
                .get((i - 1) as usize)
                .map(|m| render::membership(s, m))
        },
        None,
    ))
}

pub async fn group_users(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_group(&store, &id)?;
    let req = list_req(query, format!("/api/v1/groups/{id}/users"));
    let s = &store;
    let ids = s.active_memberships(id).map(|m| m.user_id);
    Ok(page_of(
        &headers,
        &req,
        ids,
        |i| s.user(i).map(|u| render::user(s, u)),
        None,
    ))
}

fn groups_in(
    store: &Store,
    context: crate::model::Context,
) -> impl Iterator<Item = u64> + Clone + '_ {
    store
        .groups
        .iter()
        .filter(move |g| g.context == context && g.workflow_state != "deleted")
        .map(|g| g.id)
}

pub async fn course_groups(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_course(&store, &id)?;
    let req = list_req(query, format!("/api/v1/courses/{id}/groups"));
    let s = &store;
    Ok(page_of(
        &headers,
        &req,
        groups_in(s, crate::model::Context::Course(id)),
        |i| s.group(i).map(|g| render::group(s, g)),
        None,
    ))
}

pub async fn account_groups(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_account(&store, &id)?;
    let req = list_req(query, format!("/api/v1/accounts/{id}/groups"));
    let s = &store;
    Ok(page_of(
        &headers,
        &req,
        groups_in(s, crate::model::Context::Account(id)),
        |i| s.group(i).map(|g| render::group(s, g)),
        None,
    ))
}
