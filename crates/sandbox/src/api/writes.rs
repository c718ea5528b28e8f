//! REST writes (canvas-rest.md §6). Edits of SIS-managed fields made here become sticky
//! (canvas-sis-csv.md §4), so later imports leave them unless they override stickiness. The
//! endpoints' own `override_sis_stickiness` (default true) decides whether an API edit may
//! overwrite a field that is already stuck.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Utc;
use serde_json::json;

use super::form::{invalid, Form};
use super::ids::{resolve_course, resolve_section, resolve_user};
use super::{base_url, json, resolve_account, resolve_term};
use crate::error::ApiError;
use crate::model::*;
use crate::render;
use crate::state::AppState;
use crate::store::{Store, DEFAULT_TERM_ID, ROOT_ACCOUNT_ID};

/// May the API write this field, and if so mark it stuck.
fn sticky(stuck: &mut StuckFields, field: &'static str, override_sticky: bool) -> bool {
    if !override_sticky && stuck.contains(field) {
        return false;
    }
    stuck.insert(field);
    true
}

fn taken(object: &str, attribute: &str, id: &str) -> ApiError {
    invalid(
        Some(object),
        attribute,
        "taken",
        &format!("SIS ID \"{id}\" is already in use"),
    )
}

// ---------------------------------------------------------------- accounts

pub async fn create_sub_account(
    State(state): State<AppState>,
    Path(parent): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let mut store = state.store().write();
    let parent = resolve_account(&store, &parent)?;
    let Some(name) = f.text("account[name]") else {
        return Err(invalid(None, "name", "blank", "can't be blank"));
    };
    let sis = f.text("account[sis_account_id]").map(str::to_string);
    if let Some(s) = &sis {
        if store.account_by_sis.contains_key(s) {
            return Err(invalid(
                None,
                "sis_source_id",
                "taken",
                &format!("SIS ID \"{s}\" is already in use"),
            ));
        }
    }
    let id = store.insert_account(Account {
        id: 0,
        parent_account_id: Some(parent),
        root_account_id: Some(ROOT_ACCOUNT_ID),
        name: name.to_string(),
        workflow_state: ActiveDeleted::Active,
        sis_source_id: sis,
        integration_id: None,
        sis_batch_id: None,
        stuck: StuckFields::new(),
        created_at: Utc::now(),
    });
    let a = store.account(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::account(&store, a)))
}

pub async fn update_account(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let over = f.bool_or("override_sis_stickiness", true);
    let mut store = state.store().write();
    let id = resolve_account(&store, &id)?;
    if let Some(p) = f.text("account[parent_account_id]") {
        let parent = resolve_account(&store, p)?;
        let mut cur = Some(parent);
        while let Some(c) = cur {
            if c == id {
                return Err(invalid(
                    None,
                    "parent_account_id",
                    "invalid",
                    "would create a loop",
                ));
            }
            cur = store.account(c).and_then(|a| a.parent_account_id);
        }
        let may = store
            .account_mut(id)
            .is_some_and(|a| sticky(&mut a.stuck, "parent_account_id", over));
        if may {
            store.move_account_parent(id, parent);
        }
    }
    if let Some(s) = f.text("account[sis_account_id]") {
        if store
            .account_by_sis
            .get(s)
            .is_some_and(|other| *other != id)
        {
            return Err(invalid(
                None,
                "sis_source_id",
                "taken",
                &format!("SIS ID \"{s}\" is already in use"),
            ));
        }
        let old = store.account(id).and_then(|a| a.sis_source_id.clone());
        Store::rekey(&mut store.account_by_sis, &old, &Some(s.to_string()), id);
        if let Some(a) = store.account_mut(id) {
            a.sis_source_id = Some(s.to_string());
        }
    }
    let a = store.account_mut(id).ok_or(ApiError::NotFound)?;
    if let Some(n) = f.text("account[name]") {
        if sticky(&mut a.stuck, "name", over) {
            a.name = n.to_string();
        }
    }
    let a = store.account(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::account(&store, a)))
}

// ---------------------------------------------------------------- terms

pub async fn create_term(
    State(state): State<AppState>,
    Path(account): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let mut store = state.store().write();
    resolve_account(&store, &account)?;
    let sis = f.text("enrollment_term[sis_term_id]").map(str::to_string);
    if let Some(s) = &sis {
        if store.term_by_sis.contains_key(s) {
            return Err(invalid(
                None,
                "sis_source_id",
                "taken",
                &format!("SIS ID \"{s}\" is already in use"),
            ));
        }
    }
    let id = store.insert_term(Term {
        id: 0,
        root_account_id: ROOT_ACCOUNT_ID,
        name: f.text("enrollment_term[name]").unwrap_or("").to_string(),
        start_at: f.time("enrollment_term[start_at]")?.flatten(),
        end_at: f.time("enrollment_term[end_at]")?.flatten(),
        workflow_state: ActiveDeleted::Active,
        sis_source_id: sis,
        integration_id: None,
        sis_batch_id: None,
        overrides: Vec::new(),
        stuck: StuckFields::new(),
        created_at: Utc::now(),
    });
    let t = store.term(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::term(&store, t)))
}

pub async fn update_term(
    State(state): State<AppState>,
    Path((account, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let over = f.bool_or("override_sis_stickiness", true);
    let mut store = state.store().write();
    resolve_account(&store, &account)?;
    let id = resolve_term(&store, &id)?;
    let (start, end) = (
        f.time("enrollment_term[start_at]")?,
        f.time("enrollment_term[end_at]")?,
    );
    // Canvas's terms API sets the SIS id too (with the manage_sis permission).
    if let Some(s) = f.text("enrollment_term[sis_term_id]") {
        if store.term_by_sis.get(s).is_some_and(|other| *other != id) {
            return Err(invalid(
                None,
                "sis_source_id",
                "taken",
                &format!("SIS ID \"{s}\" is already in use"),
            ));
        }
        let old = store.term(id).and_then(|t| t.sis_source_id.clone());
        Store::rekey(&mut store.term_by_sis, &old, &Some(s.to_string()), id);
        if let Some(t) = store.term_mut(id) {
            t.sis_source_id = Some(s.to_string());
        }
    }
    let t = store.term_mut(id).ok_or(ApiError::NotFound)?;
    if let Some(n) = f.text("enrollment_term[name]") {
        if sticky(&mut t.stuck, "name", over) {
            t.name = n.to_string();
        }
    }
    if let Some(s) = start {
        if sticky(&mut t.stuck, "start_date", over) {
            t.start_at = s;
        }
    }
    if let Some(e) = end {
        if sticky(&mut t.stuck, "end_date", over) {
            t.end_at = e;
        }
    }
    let t = store.term(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::term(&store, t)))
}

pub async fn delete_term(
    State(state): State<AppState>,
    Path((account, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut store = state.store().write();
    resolve_account(&store, &account)?;
    let id = resolve_term(&store, &id)?;
    let busy = store
        .courses
        .iter()
        .any(|c| c.enrollment_term_id == id && c.workflow_state != CourseState::Deleted);
    if busy || id == DEFAULT_TERM_ID {
        return Err(invalid(
            None,
            "workflow_state",
            "invalid",
            "Cannot delete a term with active courses",
        ));
    }
    let t = store.term_mut(id).ok_or(ApiError::NotFound)?;
    t.workflow_state = ActiveDeleted::Deleted;
    let t = store.term(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::term(&store, t)))
}

// ---------------------------------------------------------------- courses

fn apply_course_event(c: &mut Course, event: &str) -> Result<(), ApiError> {
    c.workflow_state = match event {
        "claim" => CourseState::Claimed,
        "offer" => CourseState::Available,
        "conclude" => CourseState::Completed,
        "delete" => CourseState::Deleted,
        "undelete" => CourseState::Claimed,
        other => return Err(ApiError::InvalidParam(format!("invalid event: {other}"))),
    };
    Ok(())
}

pub async fn create_course(
    State(state): State<AppState>,
    Path(account): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let mut store = state.store().write();
    let account = resolve_account(&store, &account)?;
    let sis = f.text("course[sis_course_id]").map(str::to_string);
    if let Some(s) = &sis {
        if store.course_by_sis.contains_key(s) {
            return Err(invalid(
                None,
                "sis_source_id",
                "taken",
                &format!("SIS ID \"{s}\" is already in use"),
            ));
        }
    }
    let term = match f
        .text("course[term_id]")
        .or(f.text("course[enrollment_term_id]"))
    {
        Some(t) => resolve_term(&store, t)?,
        None => DEFAULT_TERM_ID,
    };
    let start_at = f.time("course[start_at]")?.flatten();
    let conclude_at = f.time("course[end_at]")?.flatten();
    let name = f
        .text("course[name]")
        .unwrap_or("Unnamed Course")
        .to_string();
    let id = store.insert_course(Course {
        id: 0,
        account_id: account,
        root_account_id: ROOT_ACCOUNT_ID,
        enrollment_term_id: term,
        course_code: f
            .text("course[course_code]")
            .map(str::to_string)
            .unwrap_or_else(|| name.clone()),
        name,
        workflow_state: if f.bool_or("offer", false) {
            CourseState::Available
        } else {
            CourseState::Claimed
        },
        sis_source_id: sis,
        integration_id: f.text("course[integration_id]").map(str::to_string),
        sis_batch_id: None,
        start_at,
        conclude_at,
        restrict_enrollments_to_course_dates: f
            .bool_or("course[restrict_enrollments_to_course_dates]", false),
        course_format: f.text("course[course_format]").map(str::to_string),
        grade_passback_setting: f.text("course[grade_passback_setting]").map(str::to_string),
        grading_standard_id: None,
        stuck: StuckFields::new(),
        created_at: Utc::now(),
    });
    let c = store.course(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::course(&store, c)))
}

pub async fn update_course(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let over = f.bool_or("override_sis_stickiness", true);
    let mut store = state.store().write();
    let id = resolve_course(&store, &id)?;
    if let Some(a) = f.text("course[account_id]") {
        let a = resolve_account(&store, a)?;
        if store
            .course_mut(id)
            .is_some_and(|c| sticky(&mut c.stuck, "account_id", over))
        {
            store.move_course_account(id, a);
        }
    }
    let term = match f
        .text("course[term_id]")
        .or(f.text("course[enrollment_term_id]"))
    {
        Some(t) => Some(resolve_term(&store, t)?),
        None => None,
    };
    if let Some(s) = f.text("course[sis_course_id]") {
        if store.course_by_sis.get(s).is_some_and(|o| *o != id) {
            return Err(invalid(
                None,
                "sis_source_id",
                "taken",
                &format!("SIS ID \"{s}\" is already in use"),
            ));
        }
        let old = store.course(id).and_then(|c| c.sis_source_id.clone());
        Store::rekey(&mut store.course_by_sis, &old, &Some(s.to_string()), id);
        if let Some(c) = store.course_mut(id) {
            c.sis_source_id = Some(s.to_string());
        }
    }
    if f.has("course[integration_id]") {
        store.set_course_integration_id(id, f.text("course[integration_id]").map(str::to_string));
    }
    let (start, end) = (f.time("course[start_at]")?, f.time("course[end_at]")?);
    let c = store.course_mut(id).ok_or(ApiError::NotFound)?;
    if let Some(n) = f.text("course[name]") {
        if sticky(&mut c.stuck, "name", over) {
            c.name = n.to_string();
        }
    }
    if let Some(n) = f.text("course[course_code]") {
        if sticky(&mut c.stuck, "course_code", over) {
            c.course_code = n.to_string();
        }
    }
    if let Some(t) = term {
        if sticky(&mut c.stuck, "term_id", over) {
            c.enrollment_term_id = t;
        }
    }
    if let Some(s) = start {
        if sticky(&mut c.stuck, "start_at", over) {
            c.start_at = s;
        }
    }
    if let Some(e) = end {
        if sticky(&mut c.stuck, "conclude_at", over) {
            c.conclude_at = e;
        }
    }
    if f.has("course[restrict_enrollments_to_course_dates]") {
        // Changing only this flag does not make the dates sticky (canvas-sis-csv.md §5.5).
        c.restrict_enrollments_to_course_dates =
            f.bool_or("course[restrict_enrollments_to_course_dates]", false);
    }
    if f.has("course[grading_standard_id]") {
        // Canvas: a standard the course can use (its own or its accounts'), or blank to clear.
        let gs = match f.text("course[grading_standard_id]") {
            None => None,
            Some(v) => {
                let gs: u64 = v.parse().map_err(|_| {
                    ApiError::InvalidParam(format!("invalid grading_standard_id: {v}"))
                })?;
                let usable = store.course(id).is_some()
                    && store
                        .grading_standards_for_course(id)
                        .iter()
                        .any(|g| g.id == gs);
                if !usable {
                    return Err(ApiError::NotFound);
                }
                Some(gs)
            }
        };
        if let Some(c) = store.course_mut(id) {
            c.grading_standard_id = gs;
        }
    }
    let c = store.course_mut(id).ok_or(ApiError::NotFound)?;
    if let Some(ev) = f.text("course[event]") {
        if sticky(&mut c.stuck, "workflow_state", over) {
            apply_course_event(c, ev)?;
        }
    }
    let c = store.course(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::course(&store, c)))
}

pub async fn delete_course(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let mut store = state.store().write();
    let id = resolve_course(&store, &id)?;
    let event = f.text("event").unwrap_or("");
    if event != "delete" && event != "conclude" {
        return Err(ApiError::BadRequestMessage(
            "Only 'delete' and 'conclude' events are allowed.".into(),
        ));
    }
    let c = store.course_mut(id).ok_or(ApiError::NotFound)?;
    c.stuck.insert("workflow_state");
    apply_course_event(c, event)?;
    Ok(json(json!({ event: true })))
}

// ---------------------------------------------------------------- sections

pub async fn create_section(
    State(state): State<AppState>,
    Path(course): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let mut store = state.store().write();
    let course = resolve_course(&store, &course)?;
    let sis = f.text("course_section[sis_section_id]").map(str::to_string);
    if let Some(s) = &sis {
        if store.section_by_sis.contains_key(s) {
            return Err(invalid(
                None,
                "sis_source_id",
                "taken",
                &format!("SIS ID \"{s}\" is already in use"),
            ));
        }
    }
    let start_at = f.time("course_section[start_at]")?.flatten();
    let end_at = f.time("course_section[end_at]")?.flatten();
    let id = store.insert_section(Section {
        id: 0,
        course_id: course,
        nonxlist_course_id: None,
        root_account_id: ROOT_ACCOUNT_ID,
        name: f
            .text("course_section[name]")
            .unwrap_or("Section")
            .to_string(),
        default_section: false,
        workflow_state: ActiveDeleted::Active,
        sis_source_id: sis,
        integration_id: f.text("course_section[integration_id]").map(str::to_string),
        sis_batch_id: None,
        start_at,
        end_at,
        restrict_enrollments_to_section_dates: f.bool_or(
            "course_section[restrict_enrollments_to_section_dates]",
            false,
        ),
        stuck: StuckFields::new(),
        created_at: Utc::now(),
    });
    let s = store.section(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::section(&store, s)))
}

pub async fn update_section(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let over = f.bool_or("override_sis_stickiness", true);
    let mut store = state.store().write();
    let id = resolve_section(&store, &id)?;
    if let Some(s) = f.text("course_section[sis_section_id]") {
        if store.section_by_sis.get(s).is_some_and(|o| *o != id) {
            return Err(invalid(
                None,
                "sis_source_id",
                "taken",
                &format!("SIS ID \"{s}\" is already in use"),
            ));
        }
        let old = store.section(id).and_then(|c| c.sis_source_id.clone());
        Store::rekey(&mut store.section_by_sis, &old, &Some(s.to_string()), id);
        if let Some(c) = store.section_mut(id) {
            c.sis_source_id = Some(s.to_string());
        }
    }
    let (start, end) = (
        f.time("course_section[start_at]")?,
        f.time("course_section[end_at]")?,
    );
    let s = store.section_mut(id).ok_or(ApiError::NotFound)?;
    if let Some(n) = f.text("course_section[name]") {
        if sticky(&mut s.stuck, "name", over) {
            s.name = n.to_string();
        }
    }
    if let Some(v) = start {
        if sticky(&mut s.stuck, "start_at", over) {
            s.start_at = v;
        }
    }
    if let Some(v) = end {
        if sticky(&mut s.stuck, "end_at", over) {
            s.end_at = v;
        }
    }
    if f.has("course_section[restrict_enrollments_to_section_dates]") {
        s.restrict_enrollments_to_section_dates = f.bool_or(
            "course_section[restrict_enrollments_to_section_dates]",
            false,
        );
    }
    let s = store.section(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::section(&store, s)))
}

/// `DELETE /sections/:id` (SectionsController#destroy): only a section without enrollments
/// can go (CourseSection#deletable?: none that are not deleted or rejected); a deleted section
/// is not found.
pub async fn delete_section(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut store = state.store().write();
    let id = resolve_section(&store, &id)?;
    if store
        .section(id)
        .is_none_or(|s| s.workflow_state == ActiveDeleted::Deleted)
    {
        return Err(ApiError::NotFound);
    }
    let has_enrollments = store
        .enrollments_by_section
        .get(&id)
        .into_iter()
        .flatten()
        .any(|e| {
            store
                .enrollment(*e)
                .is_some_and(|e| e.workflow_state != EnrollmentState::Deleted)
        });
    if has_enrollments {
        return Err(ApiError::BadRequestMessage(
            "You can't delete a section that has enrollments".into(),
        ));
    }
    let s = store.section_mut(id).ok_or(ApiError::NotFound)?;
    s.workflow_state = ActiveDeleted::Deleted;
    let s = store.section(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::section(&store, s)))
}

pub async fn crosslist(
    State(state): State<AppState>,
    Path((id, course)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let over = f.bool_or("override_sis_stickiness", true);
    let mut store = state.store().write();
    let id = resolve_section(&store, &id)?;
    let target = resolve_course(&store, &course)?;
    let s = store.section(id).cloned().ok_or(ApiError::NotFound)?;
    let may = store
        .section_mut(id)
        .is_some_and(|x| sticky(&mut x.stuck, "course_id", over));
    if may && s.course_id != target {
        store.move_section_course(id, target);
        if let Some(x) = store.section_mut(id) {
            x.nonxlist_course_id = Some(s.nonxlist_course_id.unwrap_or(s.course_id));
        }
    }
    let s = store.section(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::section(&store, s)))
}

pub async fn uncrosslist(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let over = f.bool_or("override_sis_stickiness", true);
    let mut store = state.store().write();
    let id = resolve_section(&store, &id)?;
    let s = store.section(id).cloned().ok_or(ApiError::NotFound)?;
    let Some(original) = s.nonxlist_course_id else {
        return Err(ApiError::BadRequestMessage(
            "section is not cross-listed".into(),
        ));
    };
    if store
        .section_mut(id)
        .is_some_and(|x| sticky(&mut x.stuck, "course_id", over))
    {
        store.move_section_course(id, original);
        if let Some(x) = store.section_mut(id) {
            x.nonxlist_course_id = None;
        }
    }
    let s = store.section(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::section(&store, s)))
}

// ---------------------------------------------------------------- enrollments

/// `enrollment[type]`, else the type of `enrollment[role_id]`, else StudentEnrollment.
fn enrollment_role(store: &Store, f: &Form) -> Result<(EnrollmentType, u64), ApiError> {
    if let Some(rid) = f.text("enrollment[role_id]") {
        let role = rid
            .parse::<u64>()
            .ok()
            .and_then(|r| store.role(r))
            .ok_or_else(|| ApiError::InvalidParam("role_id is invalid".into()))?;
        let t = EnrollmentType::parse(&role.base_role_type)
            .ok_or_else(|| ApiError::InvalidParam("role_id is not a course role".into()))?;
        return Ok((t, role.id));
    }
    let t = match f.text("enrollment[type]") {
        Some(t) => EnrollmentType::parse(t)
            .ok_or_else(|| ApiError::InvalidParam(format!("invalid enrollment type: {t}")))?,
        None => EnrollmentType::Student,
    };
    Ok((t, t.builtin_role_id()))
}

async fn enroll(
    state: AppState,
    course: Option<String>,
    section: Option<String>,
    q: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let mut store = state.store().write();
    let section_id = match (course, section) {
        (_, Some(s)) => resolve_section(&store, &s)?,
        (Some(c), None) => {
            let cid = resolve_course(&store, &c)?;
            match f.text("enrollment[course_section_id]") {
                Some(s) => {
                    let sid = resolve_section(&store, s)?;
                    if store.section(sid).is_none_or(|x| x.course_id != cid) {
                        return Err(ApiError::NotFound);
                    }
                    sid
                }
                None => store.default_section_for(cid).ok_or(ApiError::NotFound)?,
            }
        }
        (None, None) => return Err(ApiError::NotFound),
    };
    let user_raw = f
        .text("enrollment[user_id]")
        .ok_or_else(|| ApiError::InvalidParam("enrollment[user_id] is required".into()))?;
    let user_id = resolve_user(&store, user_raw)?;
    let (kind, role_id) = enrollment_role(&store, &f)?;
    let state_wanted = match f.text("enrollment[enrollment_state]") {
        Some("active") => EnrollmentState::Active,
        Some("inactive") => EnrollmentState::Inactive,
        _ => EnrollmentState::Invited,
    };
    let associated = match f
        .text("enrollment[associated_user_id]")
        .filter(|_| kind == EnrollmentType::Observer)
    {
        Some(a) => Some(resolve_user(&store, a)?),
        None => None,
    };
    let sec = store
        .section(section_id)
        .cloned()
        .ok_or(ApiError::NotFound)?;
    let key = (section_id, user_id, role_id, associated);
    let existing = store.enrollment_key.get(&key).copied();
    let id = match existing {
        // One enrollment per identity: repeat posts return the existing one.
        Some(id) => {
            if store
                .enrollment(id)
                .is_some_and(|e| e.workflow_state == EnrollmentState::Deleted)
            {
                store.set_enrollment_state(id, state_wanted, None);
            }
            id
        }
        None => {
            let now = Utc::now();
            store.insert_enrollment(Enrollment {
                id: 0,
                user_id,
                course_id: sec.course_id,
                course_section_id: section_id,
                root_account_id: ROOT_ACCOUNT_ID,
                kind,
                role_id,
                associated_user_id: associated,
                workflow_state: state_wanted,
                sis_batch_id: None,
                start_at: f.time("enrollment[start_at]")?.flatten(),
                end_at: f.time("enrollment[end_at]")?.flatten(),
                completed_at: None,
                limit_privileges_to_course_section: f
                    .bool_or("enrollment[limit_privileges_to_course_section]", false),
                grades: Grades::default(),
                stuck: StuckFields::new(),
                created_at: now,
                updated_at: now,
            })
        }
    };
    if existing.is_none() && kind == EnrollmentType::Student {
        for o in store.active_observers_of(user_id) {
            store.ensure_observer_enrollment(o, id, None);
        }
    }
    let e = store.enrollment(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::enrollment(&store, &base_url(&headers), e)))
}

pub async fn enroll_in_course(
    State(state): State<AppState>,
    Path(course): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    enroll(state, Some(course), None, q, headers, body).await
}

pub async fn enroll_in_section(
    State(state): State<AppState>,
    Path(section): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    enroll(state, None, Some(section), q, headers, body).await
}

fn course_enrollment(store: &Store, course: &str, id: &str) -> Result<u64, ApiError> {
    let course = resolve_course(store, course)?;
    let id: u64 = id.trim().parse().map_err(|_| ApiError::NotFound)?;
    store
        .enrollment(id)
        .filter(|e| e.course_id == course)
        .map(|e| e.id)
        .ok_or(ApiError::NotFound)
}

pub async fn end_enrollment(
    State(state): State<AppState>,
    Path((course, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let mut store = state.store().write();
    let id = course_enrollment(&store, &course, &id)?;
    let target = match f.text("task").unwrap_or("conclude") {
        "conclude" => EnrollmentState::Completed,
        "delete" => EnrollmentState::Deleted,
        "inactivate" | "deactivate" => EnrollmentState::Inactive,
        other => {
            return Err(ApiError::InvalidParam(format!(
                "{other} is not a valid task"
            )))
        }
    };
    store.set_enrollment_state(id, target, None);
    let e = store.enrollment(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::enrollment(&store, &base_url(&headers), e)))
}

pub async fn reactivate_enrollment(
    State(state): State<AppState>,
    Path((course, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut store = state.store().write();
    let id = course_enrollment(&store, &course, &id)?;
    store.set_enrollment_state(id, EnrollmentState::Active, None);
    let e = store.enrollment(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::enrollment(&store, &base_url(&headers), e)))
}

// ---------------------------------------------------------------- users, logins, observees

/// Canvas's duplicate-login body for user creation (canvas-rest.md §6.3).
fn login_taken_for_create() -> ApiError {
    ApiError::Validation(json!({
        "user": {"pseudonyms": [{"attribute": "pseudonyms", "type": "invalid", "message": "is invalid"}]},
        "pseudonym": {"unique_id": [{"attribute": "unique_id", "type": "taken",
            "message": "ID already in use for this account and authentication provider"}]},
        "observee": {}, "pairing_code": {}, "recaptcha": null
    }))
}

fn unique_id_taken(
    store: &Store,
    unique_id: &str,
    provider: Option<&str>,
    except: Option<u64>,
) -> bool {
    store
        .logins_by_unique_id
        .get(&unique_id.to_lowercase())
        .into_iter()
        .flatten()
        .any(|id| {
            Some(*id) != except
                && store.login(*id).is_some_and(|l| {
                    l.is_active() && l.authentication_provider_id.as_deref() == provider
                })
        })
}

pub async fn create_user(
    State(state): State<AppState>,
    Path(account): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let mut store = state.store().write();
    resolve_account(&store, &account)?;
    let Some(unique_id) = f.text("pseudonym[unique_id]") else {
        return Err(invalid(
            Some("pseudonym"),
            "unique_id",
            "blank",
            "can't be blank",
        ));
    };
    let provider = f.text("pseudonym[authentication_provider_id]");
    if unique_id_taken(&store, unique_id, provider, None) {
        return Err(login_taken_for_create());
    }
    let sis = f.text("pseudonym[sis_user_id]").map(str::to_string);
    if let Some(s) = &sis {
        if store.login_by_sis.contains_key(s) {
            return Err(taken("pseudonym", "sis_user_id", s));
        }
    }
    let now = Utc::now();
    let name = f.text("user[name]").unwrap_or(unique_id).to_string();
    let sortable = f
        .text("user[sortable_name]")
        .map(str::to_string)
        .unwrap_or_else(|| match name.rsplit_once(' ') {
            Some((given, family)) => format!("{family}, {given}"),
            None => name.clone(),
        });
    let user_id = store.insert_user(User {
        id: 0,
        short_name: f
            .text("user[short_name]")
            .map(str::to_string)
            .unwrap_or_else(|| name.clone()),
        name,
        sortable_name: sortable,
        pronouns: None,
        workflow_state: if f.bool_or("user[skip_registration]", false) {
            "registered"
        } else {
            "pre_registered"
        }
        .into(),
        stuck: StuckFields::new(),
        created_at: now,
    });
    store.insert_login(Login {
        id: 0,
        user_id,
        account_id: ROOT_ACCOUNT_ID,
        unique_id: unique_id.to_string(),
        sis_user_id: sis,
        integration_id: f.text("pseudonym[integration_id]").map(str::to_string),
        authentication_provider_id: provider.map(str::to_string),
        declared_user_type: None,
        workflow_state: LoginState::Active,
        sis_batch_id: None,
        password_auto_generated: false,
        has_password: f.text("pseudonym[password]").is_some(),
        email: f
            .text("communication_channel[address]")
            .map(|a| (a.to_string(), "active".to_string())),
        stuck: StuckFields::new(),
        created_at: now,
    });
    let u = store.user(user_id).ok_or(ApiError::NotFound)?;
    Ok(json(render::user(&store, u)))
}

pub async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let over = f.bool_or("override_sis_stickiness", true);
    let mut store = state.store().write();
    let id = resolve_user(&store, &id)?;
    if let Some(ev) = f.text("user[event]") {
        let to = match ev {
            "suspend" => LoginState::Suspended,
            "unsuspend" => LoginState::Active,
            other => return Err(ApiError::InvalidParam(format!("invalid event: {other}"))),
        };
        let ids = store.logins_by_user.get(&id).cloned().unwrap_or_default();
        for l in ids {
            if let Some(l) = store.login_mut(l) {
                if l.is_active() && sticky(&mut l.stuck, "workflow_state", over) {
                    l.workflow_state = to;
                }
            }
        }
    }
    if let Some(e) = f.text("user[email]") {
        if let Some(lid) = store.primary_login(id).map(|l| l.id) {
            if let Some(l) = store.login_mut(lid) {
                l.email = Some((e.to_string(), "active".into()));
            }
        }
    }
    let u = store.user_mut(id).ok_or(ApiError::NotFound)?;
    for (key, field) in [
        ("user[name]", "name"),
        ("user[short_name]", "short_name"),
        ("user[sortable_name]", "sortable_name"),
    ] {
        if let Some(v) = f.text(key) {
            if sticky(&mut u.stuck, field, over) {
                match field {
                    "name" => u.name = v.to_string(),
                    "short_name" => u.short_name = v.to_string(),
                    _ => u.sortable_name = v.to_string(),
                }
            }
        }
    }
    if f.has("user[pronouns]") {
        u.pronouns = f.text("user[pronouns]").map(str::to_string);
    }
    let u = store.user(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::user(&store, u)))
}

pub async fn update_login(
    State(state): State<AppState>,
    Path((account, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let over = f.bool_or("override_sis_stickiness", true);
    let mut store = state.store().write();
    resolve_account(&store, &account)?;
    let id: u64 = id.trim().parse().map_err(|_| ApiError::NotFound)?;
    let login = store
        .login(id)
        .cloned()
        .filter(|l| l.is_active())
        .ok_or(ApiError::NotFound)?;
    if let Some(u) = f.text("login[unique_id]") {
        if unique_id_taken(
            &store,
            u,
            login.authentication_provider_id.as_deref(),
            Some(id),
        ) {
            return Err(invalid(
                None,
                "unique_id",
                "taken",
                "ID already in use for this account and authentication provider",
            ));
        }
        if store
            .login_mut(id)
            .is_some_and(|l| sticky(&mut l.stuck, "unique_id", over))
        {
            store.set_login_unique_id(id, u.to_string());
        }
    }
    if let Some(s) = f.text("login[sis_user_id]") {
        if store.login_by_sis.get(s).is_some_and(|o| *o != id) {
            return Err(invalid(
                None,
                "sis_user_id",
                "taken",
                &format!("SIS ID \"{s}\" is already in use"),
            ));
        }
        store.set_login_sis_user_id(id, Some(s.to_string()));
    }
    if f.has("login[integration_id]") {
        store.set_login_integration_id(id, f.text("login[integration_id]").map(str::to_string));
    }
    if let Some(ws) = f.text("login[workflow_state]") {
        let to = match ws {
            "active" => LoginState::Active,
            "suspended" => LoginState::Suspended,
            other => {
                return Err(ApiError::InvalidParam(format!(
                    "invalid workflow_state: {other}"
                )))
            }
        };
        if let Some(l) = store.login_mut(id) {
            if sticky(&mut l.stuck, "workflow_state", over) {
                l.workflow_state = to;
            }
        }
    }
    let l = store.login(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::login(l)))
}

/// `DELETE /users/:user_id/logins/:id` (PseudonymsController#destroy): the login must be one
/// of the user's live logins, and a user keeps at least one.
pub async fn delete_login(
    State(state): State<AppState>,
    Path((user, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut store = state.store().write();
    let user = resolve_user(&store, &user)?;
    let id: u64 = id.trim().parse().map_err(|_| ApiError::NotFound)?;
    if !store
        .login(id)
        .is_some_and(|l| l.is_active() && l.user_id == user)
    {
        return Err(ApiError::NotFound);
    }
    if store.active_logins_of(user).count() < 2 {
        let m = "Users must have at least one login";
        return Err(invalid(None, "base", m, m));
    }
    let l = store.login_mut(id).ok_or(ApiError::NotFound)?;
    l.workflow_state = LoginState::Deleted;
    // The login's communication channel goes with it, as for a SIS delete.
    if let Some(e) = l.email.as_mut() {
        e.1 = "retired".into();
    }
    let l = store.login(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::login(l)))
}

pub async fn add_observee(
    State(state): State<AppState>,
    Path((observer, student)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut store = state.store().write();
    let observer = resolve_user(&store, &observer)?;
    let student = resolve_user(&store, &student)?;
    if observer == student {
        return Err(ApiError::InvalidParam("can't observe yourself".into()));
    }
    store.link_observer(observer, student, None);
    let u = store.user(student).ok_or(ApiError::NotFound)?;
    Ok(json(render::user(&store, u)))
}

pub async fn remove_observee(
    State(state): State<AppState>,
    Path((observer, student)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut store = state.store().write();
    let observer = resolve_user(&store, &observer)?;
    let student = resolve_user(&store, &student)?;
    if !store.unlink_observer(observer, student, None) {
        return Err(ApiError::NotFound);
    }
    let u = store.user(student).ok_or(ApiError::NotFound)?;
    Ok(json(render::user(&store, u)))
}

/// `DELETE /accounts/:account_id/sub_accounts/:id` (Canvas's SubAccountsController#destroy).
pub async fn delete_sub_account(
    State(state): State<AppState>,
    Path((parent, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut store = state.store().write();
    let parent = resolve_account(&store, &parent)?;
    let id = resolve_account(&store, &id)?;
    // The account itself or one of its sub-accounts.
    let mut cur = Some(id);
    let mut under = false;
    while let Some(c) = cur {
        if c == parent {
            under = true;
            break;
        }
        cur = store.account(c).and_then(|a| a.parent_account_id);
    }
    if !under
        || store
            .account(id)
            .is_some_and(|a| a.workflow_state == ActiveDeleted::Deleted)
    {
        return Err(ApiError::NotFound);
    }
    let conflict =
        |m: &str| ApiError::Json(axum::http::StatusCode::CONFLICT, json!({ "message": m }));
    let has_courses = store
        .courses_by_account
        .get(&id)
        .into_iter()
        .flatten()
        .any(|c| {
            store
                .course(*c)
                .is_some_and(|c| c.workflow_state != CourseState::Deleted)
        });
    if has_courses {
        return Err(conflict(
            "You can't delete a sub-account that has courses in it.",
        ));
    }
    let has_subs = store.sub_accounts.get(&id).into_iter().flatten().any(|a| {
        store
            .account(*a)
            .is_some_and(|a| a.workflow_state == ActiveDeleted::Active)
    });
    if has_subs {
        return Err(conflict(
            "You can't delete a sub-account that has sub-accounts in it.",
        ));
    }
    if store
        .account(id)
        .is_some_and(|a| a.parent_account_id.is_none())
    {
        return Err(ApiError::Json(
            axum::http::StatusCode::UNAUTHORIZED,
            json!({"message": "You can't delete a root_account."}),
        ));
    }
    let a = store.account_mut(id).ok_or(ApiError::NotFound)?;
    a.workflow_state = ActiveDeleted::Deleted;
    let a = store.account(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::account(&store, a)))
}

/// `POST /accounts/:account_id/logins`: add a login to an existing user.
pub async fn create_login(
    State(state): State<AppState>,
    Path(account): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let mut store = state.store().write();
    resolve_account(&store, &account)?;
    let user_raw = f
        .text("user[id]")
        .ok_or_else(|| ApiError::InvalidParam("user[id] is required".into()))?;
    let user_id = resolve_user(&store, user_raw)?;
    let Some(unique_id) = f.text("login[unique_id]") else {
        return Err(invalid(None, "unique_id", "blank", "can't be blank"));
    };
    let provider = f.text("login[authentication_provider_id]");
    if unique_id_taken(&store, unique_id, provider, None) {
        return Err(invalid(
            None,
            "unique_id",
            "taken",
            "ID already in use for this account and authentication provider",
        ));
    }
    let sis = f.text("login[sis_user_id]").map(str::to_string);
    if let Some(s) = &sis {
        if store.login_by_sis.contains_key(s) {
            return Err(invalid(
                None,
                "sis_user_id",
                "taken",
                &format!("SIS ID \"{s}\" is already in use"),
            ));
        }
    }
    let id = store.insert_login(Login {
        id: 0,
        user_id,
        account_id: ROOT_ACCOUNT_ID,
        unique_id: unique_id.to_string(),
        sis_user_id: sis,
        integration_id: f.text("login[integration_id]").map(str::to_string),
        authentication_provider_id: provider.map(str::to_string),
        declared_user_type: f.text("login[declared_user_type]").map(str::to_string),
        workflow_state: LoginState::Active,
        sis_batch_id: None,
        password_auto_generated: false,
        has_password: f.text("login[password]").is_some(),
        email: None,
        stuck: StuckFields::new(),
        created_at: Utc::now(),
    });
    let l = store.login(id).ok_or(ApiError::NotFound)?;
    Ok(json(render::login(l)))
}
