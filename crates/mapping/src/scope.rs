//! What is in scope: the profile's academic period, `[mapping.scope]` (schools, roles,
//! grades) and `sync_users_without_enrollments`. Objects out of scope are left out of the
//! desired state, so the planner plans their removal as configured (visible in the plan),
//! and a diagnostic says how many left the scope and why. Nothing is computed when no
//! filter is configured.

use rosterbridge_config::{MappingConfig, Profile};
use rosterbridge_model::roster::{Roster, UserRole};
use rosterbridge_model::{Diagnostic, Location};
use rustc_hash::{FxHashMap, FxHashSet};

/// `None` masks mean "everything is in scope".
#[derive(Debug, Default)]
pub struct Masks {
    pub classes: Option<Vec<bool>>,
    pub users: Option<Vec<bool>>,
    pub orgs: Option<Vec<bool>>,
    /// Classes outside the profile's academic period (their Canvas objects are left as
    /// they are, not removed: a past year is concluded, not deleted).
    pub outside_period: Vec<usize>,
}

impl Masks {
    pub fn class(&self, i: usize) -> bool {
        self.classes
            .as_ref()
            .is_none_or(|m| m.get(i).copied().unwrap_or(false))
    }
    pub fn user(&self, i: usize) -> bool {
        self.users
            .as_ref()
            .is_none_or(|m| m.get(i).copied().unwrap_or(false))
    }
    pub fn org(&self, i: usize) -> bool {
        self.orgs
            .as_ref()
            .is_none_or(|m| m.get(i).copied().unwrap_or(false))
    }
}

/// True when session `id` is `period` or lies under it.
pub fn within(
    by_id: &FxHashMap<&str, &rosterbridge_model::roster::AcademicSession>,
    id: &str,
    period: &str,
) -> bool {
    let mut cur = Some(id);
    for _ in 0..8 {
        match cur {
            Some(c) if c == period => return true,
            Some(c) => {
                cur = by_id
                    .get(c)
                    .and_then(|s| s.parent.as_ref())
                    .map(|p| p.as_str())
            }
            None => return false,
        }
    }
    false
}

/// `enrollments` are the roster's (passed apart: [`crate::map_owned`] holds them outside it).
pub fn compute(
    roster: &Roster,
    enrollments: &[rosterbridge_model::roster::Enrollment],
    config: &MappingConfig,
    profile: Option<&Profile>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Masks {
    let scope = &config.scope;
    let period = profile.and_then(|p| p.academic_period.as_deref());
    let users_need_enrollments = !config.enrollments.sync_users_without_enrollments;
    if scope.is_empty() && period.is_none() && !users_need_enrollments {
        return Masks::default();
    }
    let mut masks = Masks::default();
    let schools: FxHashSet<&str> = scope.schools.iter().map(String::as_str).collect();
    let grades: FxHashSet<&str> = scope.grades.iter().map(String::as_str).collect();
    let roles: FxHashSet<&str> = scope.roles.iter().map(String::as_str).collect();

    // Orgs: by sourcedId or identifier; a district stays when one of its schools does.
    let named = |o: &rosterbridge_model::roster::Org| {
        schools.contains(o.sourced_id.as_str())
            || o.identifier.as_deref().is_some_and(|i| schools.contains(i))
    };
    let org_in: Vec<bool> = roster
        .orgs
        .iter()
        .map(|o| {
            schools.is_empty()
                || named(o)
                || roster
                    .orgs
                    .iter()
                    .any(|c| c.parent.as_ref() == Some(&o.sourced_id) && named(c))
        })
        .collect();
    let school_ok: FxHashSet<&str> = roster
        .orgs
        .iter()
        .zip(&org_in)
        .filter(|(_, k)| **k)
        .map(|(o, _)| o.sourced_id.as_str())
        .collect();
    if !schools.is_empty() {
        masks.orgs = Some(org_in);
    }

    let sessions: FxHashMap<&str, &rosterbridge_model::roster::AcademicSession> = roster
        .sessions
        .iter()
        .map(|s| (s.sourced_id.as_str(), s))
        .collect();
    if let (Some(p), Some(prof)) = (period, profile) {
        if !sessions.contains_key(p) {
            // Every class would leave the scope: a mass removal, surely a typo.
            diagnostics.push(
                Diagnostic::error("academic-period-unknown", format!("profile {:?} names academic period {p:?}, which is not in the source's academic sessions; no class would be in scope", prof.name))
                    .at(Location::file("rosterbridge.toml").with_field("profiles.academic_period"))
                    .value(p)
                    .hint("name the sourcedId of an academic session (usually the school year) in academicSessions"),
            );
        }
    }
    let mut out_reasons: Vec<(String, usize)> = Vec::new();
    if !schools.is_empty() || !grades.is_empty() || period.is_some() {
        let mut by_school = 0;
        let mut by_grade = 0;
        let mut by_period = 0;
        let mut outside_period = Vec::new();
        let m: Vec<bool> = roster
            .classes
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                if let Some(p) = period {
                    if !c.terms.iter().any(|t| within(&sessions, t.as_str(), p)) {
                        by_period += 1;
                        outside_period.push(ci);
                        return false;
                    }
                }
                if !schools.is_empty() && !school_ok.contains(c.school.as_str()) {
                    by_school += 1;
                    return false;
                }
                if !grades.is_empty()
                    && !c.grades.is_empty()
                    && !c.grades.iter().any(|g| grades.contains(g.as_str()))
                {
                    by_grade += 1;
                    return false;
                }
                true
            })
            .collect();
        masks.outside_period = outside_period;
        out_reasons.push(("classes outside `mapping.scope.schools`".into(), by_school));
        out_reasons.push(("classes outside `mapping.scope.grades`".into(), by_grade));
        if let Some(p) = period {
            if by_period > 0 {
                diagnostics.push(
                    Diagnostic::info("outside-academic-period", format!("{by_period} classes are outside the profile's academic period {p:?}: not synced, and what Canvas has of them is left as it is (not removed)"))
                        .at(Location::file("rosterbridge.toml").with_field("profiles.academic_period")),
                );
            }
        }
        masks.classes = Some(m);
    }

    if !schools.is_empty() || !grades.is_empty() || !roles.is_empty() {
        let (mut by_school, mut by_role, mut by_grade) = (0, 0, 0);
        let m: Vec<bool> = roster
            .users
            .iter()
            .map(|u| {
                if !roles.is_empty() && !roles.contains(u.role.as_str()) {
                    by_role += 1;
                    return false;
                }
                if !schools.is_empty()
                    && u.orgs().len() > 0
                    && !u.orgs().any(|o| school_ok.contains(o))
                {
                    by_school += 1;
                    return false;
                }
                if !grades.is_empty()
                    && u.role == UserRole::Student
                    && u.grades().len() > 0
                    && !u.grades().any(|g| grades.contains(g))
                {
                    by_grade += 1;
                    return false;
                }
                true
            })
            .collect();
        out_reasons.push(("users outside `mapping.scope.roles`".into(), by_role));
        out_reasons.push(("users outside `mapping.scope.schools`".into(), by_school));
        out_reasons.push(("students outside `mapping.scope.grades`".into(), by_grade));
        masks.users = Some(m);
    }

    if users_need_enrollments {
        let mut has = vec![false; roster.users.len()];
        for e in enrollments {
            if masks.class(e.class as usize)
                && crate::roles::resolve(
                    e,
                    roster.users.get(e.user as usize),
                    &config.enrollments.roles,
                )
                .is_ok()
            {
                if let Some(h) = has.get_mut(e.user as usize) {
                    *h = true;
                }
            }
        }
        // Parents stay when they observe a student who stays.
        let by_id: FxHashMap<&str, usize> = roster
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.sourced_id.as_str(), i))
            .collect();
        let mut keep = has.clone();
        for (ui, u) in roster.users.iter().enumerate() {
            if u.role.is_agent() {
                keep[ui] = u
                    .agents()
                    .any(|a| by_id.get(a).is_some_and(|&s| has[s] && masks.user(s)));
            } else if u.role == UserRole::Student {
                for a in u.agents() {
                    if let Some(&p) = by_id.get(a) {
                        if has[ui] && masks.user(ui) && roster.users[p].role.is_agent() {
                            keep[p] = true;
                        }
                    }
                }
            }
        }
        let mut without = 0;
        let m: Vec<bool> = (0..roster.users.len())
            .map(|i| {
                let inside = masks.user(i);
                if inside && !keep[i] {
                    without += 1;
                }
                inside && keep[i]
            })
            .collect();
        out_reasons.push((
            "users with no synced enrollment (`sync_users_without_enrollments = false`)".into(),
            without,
        ));
        masks.users = Some(m);
    }

    for (what, n) in out_reasons {
        if n > 0 {
            diagnostics.push(
                Diagnostic::info("out-of-scope", format!("{n} {what} are not synced; any synced before are planned for removal as configured"))
                    .at(Location::file("rosterbridge.toml").with_field("mapping.scope")),
            );
        }
    }
    masks
}
