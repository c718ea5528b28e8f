//! Enrollment role mapping: SIS enrollment role (and teacher type) → Canvas base role or
//! custom role by name. Without configuration: student → student, teacher → teacher (ta
//! for an aide), the rest not synced.

use rosterbridge_config::options::{RoleTarget, TEACHER_TYPES};
use rosterbridge_model::canvas::CanvasRole;
use rosterbridge_model::roster::{Enrollment, EnrollmentRole, User, UserRole};
use std::collections::BTreeMap;

/// The Canvas role of an enrollment, or `Err(key)`: the SIS role key that is not synced.
pub fn resolve<'a>(
    e: &'a Enrollment,
    user: Option<&User>,
    roles: &'a BTreeMap<String, RoleTarget>,
) -> Result<CanvasRole, &'a str> {
    if roles.is_empty() {
        return match &e.role {
            EnrollmentRole::Student => Ok(CanvasRole::Student),
            EnrollmentRole::Teacher => Ok(match user.map(|u| &u.role) {
                Some(UserRole::Aide) => CanvasRole::Ta,
                _ => CanvasRole::Teacher,
            }),
            other => Err(other.as_str()),
        };
    }
    let pick = |key: &str| roles.get(key);
    let found: Option<(&RoleTarget, &str)> = match &e.role {
        EnrollmentRole::Other(s) => {
            let bare = s.strip_prefix("ext:").unwrap_or(s);
            pick(s.as_str()).map(|t| (t, s.as_str())).or_else(|| {
                TEACHER_TYPES
                    .iter()
                    .find(|t| t.eq_ignore_ascii_case(bare))
                    .and_then(|t| pick(t).map(|r| (r, *t)))
            })
        }
        EnrollmentRole::Teacher => {
            let aide = user.is_some_and(|u| u.role == UserRole::Aide);
            if aide {
                pick("aide").map(|t| (t, "aide"))
            } else if e.primary == Some(false) {
                pick("secondary_teacher")
                    .map(|t| (t, "secondary_teacher"))
                    .or_else(|| pick("teacher").map(|t| (t, "teacher")))
            } else {
                pick("teacher").map(|t| (t, "teacher"))
            }
        }
        r => pick(r.as_str()).map(|t| (t, r.as_str())),
    };
    match found {
        Some((RoleTarget::Role(r), _)) => Ok(r.clone()),
        Some((RoleTarget::None, key)) => Err(key),
        // Not configured: the defaults for the four spec roles.
        None => match &e.role {
            EnrollmentRole::Student => Ok(CanvasRole::Student),
            EnrollmentRole::Teacher if user.is_some_and(|u| u.role == UserRole::Aide) => {
                Ok(CanvasRole::Ta)
            }
            EnrollmentRole::Teacher => Ok(CanvasRole::Teacher),
            other => Err(other.as_str()),
        },
    }
}
