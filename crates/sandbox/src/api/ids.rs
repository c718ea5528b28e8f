//! Canvas's id forms in paths and parameters (canvas-rest.md §2): a plain Canvas id (digits, at
//! most 19), or `<prefix>:<value>` for SIS lookups, or the deprecated `hex:<prefix>:<hex>`.
//! Axum has already percent-decoded the path segment.

use crate::error::ApiError;
use crate::model::CourseState;
use crate::store::{Store, DEFAULT_TERM_ID, ROOT_ACCOUNT_ID};

enum IdForm {
    Canvas(u64),
    Prefixed(String, String),
    Special(String),
}

fn decode_hex(s: &str) -> Option<String> {
    if s.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn parse(raw: &str) -> Option<IdForm> {
    let raw = raw.trim();
    if !raw.is_empty() && raw.len() <= 19 && raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.parse().ok().map(IdForm::Canvas);
    }
    if let Some(rest) = raw.strip_prefix("hex:") {
        let (prefix, hex) = rest.split_once(':')?;
        return Some(IdForm::Prefixed(prefix.to_string(), decode_hex(hex)?));
    }
    match raw.split_once(':') {
        Some((prefix, value)) => Some(IdForm::Prefixed(prefix.to_string(), value.to_string())),
        None => Some(IdForm::Special(raw.to_string())),
    }
}

pub fn resolve_account(store: &Store, raw: &str) -> Result<u64, ApiError> {
    let id = match parse(raw).ok_or(ApiError::NotFound)? {
        IdForm::Canvas(id) => Some(id),
        IdForm::Prefixed(p, v) => match p.as_str() {
            "sis_account_id" => store.account_by_sis.get(&v).copied(),
            "sis_integration_id" => store.account_by_integration.get(&v).copied(),
            _ => None,
        },
        IdForm::Special(s) => matches!(s.as_str(), "self" | "default").then_some(ROOT_ACCOUNT_ID),
    };
    id.filter(|id| store.account(*id).is_some())
        .ok_or(ApiError::NotFound)
}

pub fn resolve_term(store: &Store, raw: &str) -> Result<u64, ApiError> {
    let id = match parse(raw).ok_or(ApiError::NotFound)? {
        IdForm::Canvas(id) => Some(id),
        IdForm::Prefixed(p, v) => match p.as_str() {
            "sis_term_id" => store.term_by_sis.get(&v).copied(),
            "sis_integration_id" => store.term_by_integration.get(&v).copied(),
            _ => None,
        },
        IdForm::Special(s) => match s.as_str() {
            "default" => Some(DEFAULT_TERM_ID),
            "current" => {
                // The one active term whose dates contain now; none if several match.
                let now = chrono::Utc::now();
                let mut it = store.terms.iter().filter(|t| {
                    t.workflow_state == crate::model::ActiveDeleted::Active
                        && t.start_at.is_some_and(|s| s <= now)
                        && t.end_at.is_some_and(|e| e >= now)
                });
                match (it.next(), it.next()) {
                    (Some(t), None) => Some(t.id),
                    _ => None,
                }
            }
            _ => None,
        },
    };
    id.filter(|id| store.term(*id).is_some())
        .ok_or(ApiError::NotFound)
}

pub fn resolve_user(store: &Store, raw: &str) -> Result<u64, ApiError> {
    let id = match parse(raw).ok_or(ApiError::NotFound)? {
        IdForm::Canvas(id) => Some(id),
        IdForm::Prefixed(p, v) => {
            let login = match p.as_str() {
                "sis_user_id" => store.login_by_sis.get(&v).copied(),
                "sis_integration_id" => store.login_by_integration.get(&v).copied(),
                // Compared case-insensitively, like Canvas's LOWER() on both sides.
                "sis_login_id" => {
                    store
                        .logins_by_unique_id
                        .get(&v.to_lowercase())
                        .and_then(|ids| {
                            let live = ids
                                .iter()
                                .copied()
                                .find(|id| store.login(*id).is_some_and(|l| l.is_active()));
                            live.or_else(|| ids.first().copied())
                        })
                }
                _ => None,
            };
            login.and_then(|l| store.login(l)).map(|l| l.user_id)
        }
        // `self` is the caller: every sandbox token acts as the one API user.
        IdForm::Special(s) if s == "self" => store.api_user,
        IdForm::Special(_) => None,
    };
    id.filter(|id| store.user(*id).is_some())
        .ok_or(ApiError::NotFound)
}

pub fn resolve_course(store: &Store, raw: &str) -> Result<u64, ApiError> {
    let id = match parse(raw).ok_or(ApiError::NotFound)? {
        IdForm::Canvas(id) => Some(id),
        IdForm::Prefixed(p, v) => match p.as_str() {
            "sis_course_id" => store.course_by_sis.get(&v).copied(),
            "sis_integration_id" => store.course_by_integration.get(&v).copied(),
            _ => None,
        },
        IdForm::Special(_) => None,
    };
    // A deleted course is not found through GET /courses/:id in Canvas.
    id.filter(|id| {
        store
            .course(*id)
            .is_some_and(|c| c.workflow_state != CourseState::Deleted)
    })
    .ok_or(ApiError::NotFound)
}

pub fn resolve_section(store: &Store, raw: &str) -> Result<u64, ApiError> {
    let id = match parse(raw).ok_or(ApiError::NotFound)? {
        IdForm::Canvas(id) => Some(id),
        IdForm::Prefixed(p, v) => match p.as_str() {
            "sis_section_id" => store.section_by_sis.get(&v).copied(),
            "sis_integration_id" => store.section_by_integration.get(&v).copied(),
            _ => None,
        },
        IdForm::Special(_) => None,
    };
    id.filter(|id| store.section(*id).is_some())
        .ok_or(ApiError::NotFound)
}

pub fn resolve_group(store: &Store, raw: &str) -> Result<u64, ApiError> {
    let id = match parse(raw).ok_or(ApiError::NotFound)? {
        IdForm::Canvas(id) => Some(id),
        IdForm::Prefixed(p, v) if p == "sis_group_id" => store.group_by_sis.get(&v).copied(),
        _ => None,
    };
    id.filter(|id| {
        store
            .group(*id)
            .is_some_and(|g| g.workflow_state != "deleted")
    })
    .ok_or(ApiError::NotFound)
}

pub fn resolve_group_category(store: &Store, raw: &str) -> Result<u64, ApiError> {
    let id = match parse(raw).ok_or(ApiError::NotFound)? {
        IdForm::Canvas(id) => Some(id),
        IdForm::Prefixed(p, v) if p == "sis_group_category_id" => {
            store.group_category_by_sis.get(&v).copied()
        }
        _ => None,
    };
    id.filter(|id| store.group_category(*id).is_some_and(|c| !c.deleted))
        .ok_or(ApiError::NotFound)
}
