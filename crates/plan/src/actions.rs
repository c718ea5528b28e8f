//! Configured action rules applied to a built plan: changes the configuration does not
//! allow are moved out of [`Plan::changes`] into [`Plan::skipped`], each with its reason,
//! so the plan shows them and no sink sends them. Pure; runs only when something is
//! configured.
//!
//! * `[mapping.actions]`: create, update (also reactivate) and deactivate (also delete)
//!   per entity and role class. The role of a desired user comes from the mapping; of a
//!   user gone from the source, from its enrollments or observer links gone with it; when
//!   nothing tells, a removal is allowed only if every role allows it.
//! * `enrollments.sync_start`: before that day, student enrollment changes are skipped.
//! * `enrollments.keep_previous`: enrollments are never removed.
//! * `enrollments.disable_sync_for_new_sections`: sections new to Canvas are not created.
//!
//! Enrollments and observer links that need a user or section whose creation was skipped
//! are skipped too.

use crate::{Action, Change, KindSummary, Plan, Target};
use chrono::NaiveDate;
use rosterbridge_config::{ActionRules, EntityAction, RoleClass};
use rosterbridge_model::canvas::CanvasRole;
use rosterbridge_model::kind::Kind;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

/// Why a change was not planned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "why")]
pub enum SkipReason {
    /// `[mapping.actions]` does not allow this action for this entity (and role).
    NotAllowed {
        entity: String,
        role: Option<String>,
        action: String,
    },
    /// Student enrollments before `enrollments.sync_start`.
    BeforeSyncStart { date: NaiveDate },
    /// `enrollments.keep_previous`: enrol, never unenrol.
    KeepPrevious,
    /// `enrollments.disable_sync_for_new_sections`.
    NewSection,
    /// Its user or section is not created (skipped).
    NeedsSkipped { what: String },
}

impl SkipReason {
    pub fn describe(&self) -> String {
        match self {
            SkipReason::NotAllowed { entity, role: Some(r), action } => format!("skipped: mapping.actions.{entity}.{r} does not allow {action}"),
            SkipReason::NotAllowed { entity, role: None, action } => format!("skipped: mapping.actions.{entity} does not allow {action}"),
            SkipReason::BeforeSyncStart { date } => format!("skipped: student enrollments are synced from {date} (mapping.enrollments.sync_start)"),
            SkipReason::KeepPrevious => "skipped: previous enrollments are kept (mapping.enrollments.keep_previous)".into(),
            SkipReason::NewSection => "skipped: sync is disabled for new sections (mapping.enrollments.disable_sync_for_new_sections)".into(),
            SkipReason::NeedsSkipped { what } => format!("skipped: its {what} is not created in this run"),
        }
    }
}

/// A change the configuration held back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub change: Change,
    pub reason: SkipReason,
}

/// What the rules need besides the plan.
pub struct Rules<'a> {
    pub actions: &'a ActionRules,
    /// Role class per desired user (empty when `actions` is the default).
    pub user_roles: &'a [RoleClass],
    pub today: NaiveDate,
    pub sync_start: Option<NaiveDate>,
    pub keep_previous: bool,
    pub disable_new_sections: bool,
}

impl Rules<'_> {
    /// True when no rule can skip anything (then [`apply`] is not worth calling).
    pub fn is_noop(&self) -> bool {
        self.actions.is_default()
            && self.sync_start.is_none_or(|d| self.today >= d)
            && !self.keep_previous
            && !self.disable_new_sections
    }
}

fn needed(action: Action) -> EntityAction {
    match action {
        Action::Create => EntityAction::Create,
        Action::Update | Action::Reactivate => EntityAction::Update,
        Action::Deactivate | Action::Delete => EntityAction::Deactivate,
    }
}

fn role_of_canvas_role(role: &str) -> RoleClass {
    match CanvasRole::parse(role) {
        CanvasRole::Student => RoleClass::Student,
        CanvasRole::Observer => RoleClass::Parent,
        CanvasRole::Ta => RoleClass::Staff,
        _ => RoleClass::Teacher,
    }
}

/// Moves the changes the rules do not allow into `plan.skipped`, adjusts the summary and
/// recomputes the safety verdict (skipped removals do not count).
pub fn apply(plan: &mut Plan, rules: &Rules<'_>, max_removal_percent: f64) {
    if rules.is_noop() {
        return;
    }
    // Roles of users gone from the source, from what was removed with them.
    let mut gone_roles: FxHashMap<String, RoleClass> = FxHashMap::default();
    for c in &plan.changes {
        if let Target::Removed(i) = c.target {
            let row = &plan.removed[i as usize].row;
            match c.kind {
                Kind::Enrollments => {
                    let r = role_of_canvas_role(row.get("role"));
                    gone_roles
                        .entry(row.get("user_id").to_string())
                        .and_modify(|x| *x = (*x).min(r))
                        .or_insert(r);
                }
                Kind::UserObservers => {
                    gone_roles
                        .entry(row.get("observer_id").to_string())
                        .or_insert(RoleClass::Parent);
                }
                _ => {}
            }
        }
    }
    let role_of_user_index = |u: u32| rules.user_roles.get(u as usize).copied();
    let before_start = rules.sync_start.is_some_and(|d| rules.today < d);

    let mut skipped_users: FxHashSet<u32> = FxHashSet::default();
    let mut skipped_sections: FxHashSet<u32> = FxHashSet::default();
    let mut kept = Vec::with_capacity(plan.changes.len());
    let mut skipped = std::mem::take(&mut plan.skipped);
    let changes = std::mem::take(&mut plan.changes);
    for c in changes {
        let role: Option<RoleClass> = match (c.kind, c.target) {
            (Kind::Users, Target::Desired(i)) => role_of_user_index(i),
            (Kind::Users, Target::Removed(i)) => gone_roles
                .get(plan.removed[i as usize].row.get("user_id"))
                .copied(),
            (Kind::Enrollments, Target::Desired(i)) => {
                plan.desired.enrollments.get(i as usize).and_then(|e| {
                    role_of_user_index(e.user).or(Some(role_of_canvas_role(e.role.as_str())))
                })
            }
            (Kind::Enrollments, Target::Removed(i)) => Some(role_of_canvas_role(
                plan.removed[i as usize].row.get("role"),
            )),
            (Kind::UserObservers, _) => Some(RoleClass::Parent),
            _ => None,
        };
        let roled = matches!(
            c.kind,
            Kind::Users | Kind::Enrollments | Kind::UserObservers
        );
        let want = needed(c.action);
        let mut reason = None;
        if !rules.actions.allows(
            c.kind,
            if roled {
                role
            } else {
                Some(RoleClass::Student)
            },
            want,
        ) {
            reason = Some(SkipReason::NotAllowed {
                entity: rosterbridge_config::entity_name(c.kind).to_string(),
                role: if roled {
                    Some(
                        role.map(|r| r.as_str().to_string())
                            .unwrap_or_else(|| "(role unknown)".into()),
                    )
                } else {
                    None
                },
                action: want.as_str().to_string(),
            });
        }
        if reason.is_none() && c.kind == Kind::Enrollments {
            if before_start && role == Some(RoleClass::Student) {
                reason = rules
                    .sync_start
                    .map(|date| SkipReason::BeforeSyncStart { date });
            } else if rules.keep_previous && c.action.is_removal() {
                reason = Some(SkipReason::KeepPrevious);
            } else if let Target::Desired(i) = c.target {
                if let Some(e) = plan.desired.enrollments.get(i as usize) {
                    if skipped_users.contains(&e.user) {
                        reason = Some(SkipReason::NeedsSkipped {
                            what: "user".into(),
                        });
                    } else if skipped_sections.contains(&e.section) {
                        reason = Some(SkipReason::NeedsSkipped {
                            what: "section".into(),
                        });
                    }
                }
            }
        }
        if reason.is_none() && c.kind == Kind::UserObservers {
            if let Target::Desired(i) = c.target {
                if plan.desired.observers.get(i as usize).is_some_and(|o| {
                    skipped_users.contains(&o.observer) || skipped_users.contains(&o.student)
                }) {
                    reason = Some(SkipReason::NeedsSkipped {
                        what: "user".into(),
                    });
                }
            }
        }
        if reason.is_none()
            && c.kind == Kind::Sections
            && c.action == Action::Create
            && rules.disable_new_sections
        {
            reason = Some(SkipReason::NewSection);
        }
        match reason {
            None => kept.push(c),
            Some(r) => {
                if let (Action::Create, Target::Desired(i)) = (c.action, c.target) {
                    match c.kind {
                        Kind::Users => {
                            skipped_users.insert(i);
                        }
                        Kind::Sections => {
                            skipped_sections.insert(i);
                        }
                        _ => {}
                    }
                }
                let s = plan.summary.entry(c.kind).or_default();
                unbump(s, c.action);
                s.skipped += 1;
                skipped.push(Skipped {
                    change: c,
                    reason: r,
                });
            }
        }
    }
    plan.changes = kept;
    plan.skipped = skipped;
    plan.safety = crate::safety(&plan.summary, max_removal_percent);
}

/// Marks removals of objects that are still in the source but out of scope (users by
/// SIS id; courses, sections and enrollments by the class their SIS id starts with) so the
/// plan says "left the configured scope" instead of "gone from the source".
/// Removals of courses, sections and enrollments of classes in `keep` (outside the profile's
/// academic period) are dropped from the plan: a past period is left as it is, never
/// removed for being absent (field lesson 2). Returns how many were dropped.
pub fn keep_outside_period(
    plan: &mut Plan,
    keep: &FxHashSet<String>,
    max_removal_percent: f64,
) -> usize {
    if keep.is_empty() {
        return 0;
    }
    let class_of = |id: &str| id.split('~').next().unwrap_or(id).to_string();
    let before = plan.changes.len();
    let (removed, summary) = (&plan.removed, &mut plan.summary);
    plan.changes.retain(|c| {
        let Target::Removed(i) = c.target else {
            return true;
        };
        let row = &removed[i as usize].row;
        let column = match c.kind {
            Kind::Courses => "course_id",
            Kind::Sections | Kind::Enrollments => "section_id",
            _ => return true,
        };
        if keep.contains(&class_of(row.get(column))) {
            unbump(summary.entry(c.kind).or_default(), c.action);
            false
        } else {
            true
        }
    });
    let dropped = before - plan.changes.len();
    if dropped > 0 {
        plan.safety = crate::safety(&plan.summary, max_removal_percent);
    }
    dropped
}

pub fn mark_out_of_scope(plan: &mut Plan, users: &FxHashSet<String>, classes: &FxHashSet<String>) {
    if users.is_empty() && classes.is_empty() {
        return;
    }
    let class_of = |id: &str| id.split('~').next().unwrap_or(id).to_string();
    for c in &mut plan.changes {
        let (Target::Removed(i), crate::Reason::Gone { status }) = (c.target, c.reason) else {
            continue;
        };
        let row = &plan.removed[i as usize].row;
        let out = match c.kind {
            Kind::Users => users.contains(row.get("user_id")),
            Kind::Courses => classes.contains(&class_of(row.get("course_id"))),
            Kind::Sections => classes.contains(&class_of(row.get("section_id"))),
            Kind::Enrollments => {
                users.contains(row.get("user_id"))
                    || classes.contains(&class_of(row.get("section_id")))
            }
            Kind::UserObservers => {
                users.contains(row.get("observer_id")) || users.contains(row.get("student_id"))
            }
            _ => false,
        };
        if out {
            c.reason = crate::Reason::OutOfScope { status };
        }
    }
}

fn unbump(s: &mut KindSummary, action: Action) {
    let n = match action {
        Action::Create => &mut s.create,
        Action::Update => &mut s.update,
        Action::Reactivate => &mut s.reactivate,
        Action::Deactivate => &mut s.deactivate,
        Action::Delete => &mut s.delete,
    };
    *n = n.saturating_sub(1);
}
