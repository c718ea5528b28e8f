//! Mapping: `(Roster, MappingConfig) -> DesiredState`, a pure, deterministic function.
//!
//! Documented defaults (the full option set grows with the configuration):
//! * orgs of type `school`, and any org a class names as its school → sub-accounts,
//!   under the configured static root sub-account, or the root account;
//! * `semester`/`term` sessions → terms; a class's course gets one term (see [`terms`]);
//! * each class → one course and one section, both with the class's sourcedId as SIS id;
//!   course dates from its sessions;
//! * users → users with a login from `username`, falling back to `email`;
//!   `enabledUser=false` → suspended;
//! * enrollment roles student → student, teacher → teacher (ta when the user is an aide);
//!   administrator/proctor enrollments are not synced (reported once);
//! * parents/guardians/relatives linked through `agentSourcedIds` (either direction) →
//!   observer links.
//!
//! The result is deterministic: accounts and terms are sorted by SIS id, observer links by
//! user, and everything else keeps the source's (deterministic) order.

use rosterbridge_config::{CourseTemplate, MappingConfig, Profile, RoleClass};
use rosterbridge_model::canvas::{self as cv, DesiredState};
use rosterbridge_model::index::IdIndex;
use rosterbridge_model::kind::Status;
use rosterbridge_model::roster::{Roster, UserRole};
use rosterbridge_model::{Diagnostic, Location, SisId, Str};
use rustc_hash::{FxHashMap, FxHashSet};

pub mod courses;
pub mod fields;
pub mod roles;
pub mod scope;
pub mod terms;

/// What a mapping run knows besides the roster and the configuration.
#[derive(Clone, Copy, Debug, Default)]
pub struct MapContext<'a> {
    /// The execution profile in use (its academic period and course template).
    pub profile: Option<&'a Profile>,
}

/// The result of mapping: the desired state and what could not be mapped.
#[derive(Debug, Default)]
pub struct Mapped {
    pub desired: DesiredState,
    pub diagnostics: Vec<Diagnostic>,
    /// The role class of each desired user (parallel to `desired.users`); filled only when
    /// `[mapping.actions]` restricts something, for the planner's action rules.
    pub user_roles: Vec<RoleClass>,
    /// SIS ids of users and classes in the source but out of scope (empty without a scope).
    pub out_of_scope_users: FxHashSet<String>,
    pub out_of_scope_classes: FxHashSet<String>,
    /// SIS ids of classes outside the profile's academic period: left as they are in Canvas.
    pub outside_period_classes: FxHashSet<String>,
}

/// Maps a roster to the desired Canvas state, with no profile.
pub fn map(roster: &Roster, config: &MappingConfig) -> Mapped {
    map_with(roster, config, &MapContext::default())
}

/// Maps a roster to the desired Canvas state under a profile.
pub fn map_with(roster: &Roster, config: &MappingConfig, ctx: &MapContext<'_>) -> Mapped {
    let mut mapped = map_impl(
        roster,
        Enrollments::Borrowed(&roster.enrollments),
        config,
        ctx,
    );
    sort_and_dedupe(&mut mapped.desired, &mut mapped.diagnostics);
    mapped
}

/// [`map_with`], consuming the roster: the enrollments become desired enrollments in the
/// same memory (Rust collects a mapped `Vec` in place when the new items are no larger),
/// so a state-wide roster's enrollments are never held twice.
///
/// The roster's millions of small allocations are freed on a second thread while the
/// desired state is sorted (nothing after the mapping reads the roster).
pub fn map_owned(mut roster: Roster, config: &MappingConfig, ctx: &MapContext<'_>) -> Mapped {
    let enrollments = std::mem::take(&mut roster.enrollments);
    let mut mapped = map_impl(&roster, Enrollments::Owned(enrollments), config, ctx);
    std::thread::scope(|s| {
        s.spawn(move || drop(roster));
        sort_and_dedupe(&mut mapped.desired, &mut mapped.diagnostics);
    });
    mapped
}

enum Enrollments<'r> {
    Borrowed(&'r [rosterbridge_model::roster::Enrollment]),
    Owned(Vec<rosterbridge_model::roster::Enrollment>),
}

impl Enrollments<'_> {
    fn as_slice(&self) -> &[rosterbridge_model::roster::Enrollment] {
        match self {
            Enrollments::Borrowed(s) => s,
            Enrollments::Owned(v) => v,
        }
    }
}

/// The desired state before [`sort_and_dedupe`], which the callers run.
fn map_impl(
    roster: &Roster,
    source_enrollments: Enrollments<'_>,
    config: &MappingConfig,
    ctx: &MapContext<'_>,
) -> Mapped {
    let mut diagnostics = Vec::new();
    let mut desired = DesiredState::default();
    let masks = scope::compute(
        roster,
        source_enrollments.as_slice(),
        config,
        ctx.profile,
        &mut diagnostics,
    );
    let template = ctx.profile.map(|p| p.course_template).unwrap_or_default();
    let default_shape = template == CourseTemplate::PeriodGroup
        && masks.classes.is_none()
        && masks.orgs.is_none()
        && config.accounts.is_default();

    // Accounts.
    let root_parent = config.root_account.as_ref().map(|r| SisId::new(&r.sis_id));
    if let Some(root) = &config.root_account {
        desired.accounts.push(cv::Account {
            sis_id: SisId::new(&root.sis_id),
            integration_id: None,
            parent: None,
            name: Str::new(&root.name),
            src: None,
        });
    }
    let class_schools: FxHashSet<&str> = roster.classes.iter().map(|c| c.school.as_str()).collect();
    for org in &roster.orgs {
        let is_school = matches!(org.org_type, rosterbridge_model::roster::OrgType::School);
        if is_school || class_schools.contains(org.sourced_id.as_str()) {
            desired.accounts.push(cv::Account {
                sis_id: org.sourced_id.clone(),
                integration_id: None,
                parent: root_parent.clone(),
                name: org.name.clone(),
                src: Some(org.src),
            });
        }
    }
    let account_ids: FxHashSet<&str> = desired.accounts.iter().map(|a| a.sis_id.as_str()).collect();

    // Terms, and the term of every class.
    let period = ctx.profile.and_then(|p| p.academic_period.as_deref());
    let term_plan = terms::plan_terms_for(roster, config.terms, period);
    desired.terms = term_plan.terms;
    fields::apply_terms(&mut desired.terms, roster, &config.fields);

    // Courses and sections, one of each per class.
    let courses_by_id: FxHashMap<&str, &rosterbridge_model::roster::Course> = roster
        .courses
        .iter()
        .map(|c| (c.sourced_id.as_str(), c))
        .collect();
    for (ci, class) in roster.classes.iter().enumerate() {
        let short_name = class
            .class_code
            .clone()
            .filter(|c| !c.trim().is_empty())
            .or_else(|| {
                courses_by_id
                    .get(class.course.as_str())
                    .and_then(|c| c.course_code.clone())
            })
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| class.title.clone());
        let class_term = &term_plan.class_terms[ci];
        desired.courses.push(cv::Course {
            sis_id: class.sourced_id.clone(),
            integration_id: None,
            short_name,
            long_name: class.title.clone(),
            account: account_ids
                .contains(class.school.as_str())
                .then(|| class.school.clone()),
            term: class_term.term.clone(),
            start: class_term.start,
            end: class_term.end,
            src: Some(class.src),
        });
        desired.sections.push(cv::Section {
            sis_id: class.sourced_id.clone(),
            integration_id: None,
            course: class.sourced_id.clone(),
            name: class.title.clone(),
            start: None,
            end: None,
            src: Some(class.src),
        });
    }

    // Configured shapes replace the default accounts, courses and sections.
    let sections_of: Option<Vec<u32>> = if default_shape {
        fields::apply_class_shaped(&mut desired, roster, &term_plan.class_terms, &config.fields);
        None
    } else {
        let shaped = courses::build(roster, config, template, &term_plan.class_terms, &masks);
        desired.accounts = shaped.accounts;
        desired.courses = shaped.courses;
        desired.sections = shaped.sections;
        Some(shaped.sections_of)
    };
    fields::apply_accounts(&mut desired.accounts, roster, &config.fields);

    // Enrollments (section index = class index before sorting), on a second thread while
    // the users are mapped: they carry the roster's user index until `user_slot` is known.
    // Moved into the thread: the owned enrollments; borrowed: the rest.
    let (masks_ref, sections_of_ref) = (&masks, &sections_of);
    let map_enrollments = move || {
        let (masks, sections_of) = (masks_ref, sections_of_ref);
        // Enrollments of roles that are not synced, by roster user (few: counted below).
        let mut role_skips: Vec<(Str, u32)> = Vec::new();
        let mut convert = |e: &rosterbridge_model::roster::Enrollment| -> Option<cv::Enrollment> {
            if !masks.user(e.user as usize) || !masks.class(e.class as usize) {
                return None;
            }
            match roles::resolve(
                e,
                roster.users.get(e.user as usize),
                &config.enrollments.roles,
            ) {
                Ok(role) => Some(cv::Enrollment {
                    section: e.class,
                    user: e.user,
                    role,
                    status: Status::Active,
                    start: e.begin_date,
                    end: e.end_date,
                    src: Some(e.src),
                }),
                Err(key) => {
                    role_skips.push((Str::new(key), e.user));
                    None
                }
            }
        };
        let out: Vec<cv::Enrollment> = match (sections_of, source_enrollments) {
            (None, Enrollments::Owned(v)) => {
                let mut out: Vec<cv::Enrollment> =
                    v.into_iter().filter_map(|e| convert(&e)).collect();
                out.shrink_to_fit();
                out
            }
            (None, Enrollments::Borrowed(v)) => v.iter().filter_map(&mut convert).collect(),
            (Some(of), source) => {
                let mut out = Vec::with_capacity(source.as_slice().len());
                for e in source.as_slice() {
                    let Some(enrollment) = convert(e) else {
                        continue;
                    };
                    let (from, to) = (
                        of.get(e.class as usize).copied().unwrap_or(0),
                        of.get(e.class as usize + 1).copied().unwrap_or(0),
                    );
                    for s in from..to {
                        out.push(cv::Enrollment {
                            section: s,
                            ..enrollment.clone()
                        });
                    }
                }
                out
            }
        };
        // Observer pairs in roster indexes, from either direction of agentSourcedIds
        // (mapped to desired users once `user_slot` is known).
        let users = &roster.users;
        let id_at = |p: u32| users[p as usize].sourced_id.as_str();
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let by_id = if users.iter().any(|u| u.agents().len() > 0) {
            IdIndex::of(users, |u| u.sourced_id.as_str())
        } else {
            IdIndex::default()
        };
        for (ui, user) in users.iter().enumerate() {
            for agent in user.agents() {
                let Some(ai) = by_id.get(agent, id_at) else {
                    continue;
                };
                let other = &roster.users[ai as usize];
                if user.role.is_agent() && other.role == UserRole::Student {
                    pairs.push((ui as u32, ai));
                } else if user.role == UserRole::Student && other.role.is_agent() {
                    pairs.push((ai, ui as u32));
                }
            }
        }
        (out, role_skips, pairs)
    };
    let mut user_slot: Vec<Option<u32>> = vec![None; roster.users.len()];
    let (enrollments, role_skips, observer_pairs) = std::thread::scope(|scope| {
        let enrollments = scope.spawn(map_enrollments);
        {
            // Users. `user_slot[i]` = index in desired.users of roster user i, before sorting.
            // Canvas compares logins case-insensitively; most logins are lower case already, so
            // only the others are copied.
            // Desired users by folded login; the logins stay in `desired.users`.
            let mut logins: hashbrown::HashTable<u32> =
                hashbrown::HashTable::with_capacity(roster.users.len());
            desired.users.reserve_exact(roster.users.len());
            let login_rule = config
                .fields
                .user(rosterbridge_config::fields::UserField::LoginId);
            for (ui, user) in roster.users.iter().enumerate() {
                if !masks.user(ui) {
                    continue;
                }
                let mapped_login: std::borrow::Cow<'_, str> = match login_rule {
                    Some(rule) => std::borrow::Cow::Owned(
                        rule.render(|p, out| fields::user_prop(user, p, out)),
                    ),
                    None => {
                        let username = user.username().trim();
                        std::borrow::Cow::Borrowed(if !username.is_empty() {
                            username
                        } else {
                            user.email().map(str::trim).unwrap_or("")
                        })
                    }
                };
                let login: &str = &mapped_login;
                let loc = || Location::at(user.src.table.file_name(), user.src.line);
                if login.is_empty() {
                    diagnostics.push(
                        Diagnostic::error("no-login", "user has neither a username nor an email, so no Canvas login can be made")
                            .at(loc().with_field("username"))
                            .sis_id(user.sourced_id.as_str())
                            .hint("fill `username` (or `email`) for this user in the SIS export"),
                    );
                    continue;
                }
                let folded = fold_login(login);
                let hash = login_hash(&folded);
                let slot_now = desired.users.len() as u32;
                let users_so_far = &desired.users;
                match logins.entry(
                    hash,
                    |&slot| fold_login(&users_so_far[slot as usize].login_id) == folded,
                    |&slot| login_hash(&fold_login(&users_so_far[slot as usize].login_id)),
                ) {
                    hashbrown::hash_table::Entry::Occupied(first) => {
                        let other = &users_so_far[*first.get() as usize];
                        diagnostics.push(
                            Diagnostic::error(
                                "duplicate-login",
                                format!(
                                    "login is already used by user {} ({}); Canvas logins must be unique (case-insensitively)",
                                    other.sis_id,
                                    other.src.map(|s| s.to_string()).unwrap_or_default()
                                ),
                            )
                            .at(loc().with_field("username"))
                            .value(login)
                            .sis_id(user.sourced_id.as_str())
                            .hint("give each person a distinct username in the SIS"),
                        );
                        continue;
                    }
                    hashbrown::hash_table::Entry::Vacant(v) => {
                        v.insert(slot_now);
                    }
                }
                user_slot[ui] = Some(desired.users.len() as u32);
                desired.users.push(cv::User {
                    sis_id: user.sourced_id.clone(),
                    login_id: Str::new(login),
                    first_name: Str::new(user.given_name()),
                    last_name: Str::new(user.family_name()),
                    email: user.email().filter(|e| !e.trim().is_empty()).map(Str::new),
                    status: if user.enabled {
                        Status::Active
                    } else {
                        Status::Suspended
                    },
                    src: Some(user.src),
                    extra: None,
                });
            }
        }
        match enrollments.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let slot_of = |roster_user: u32| user_slot.get(roster_user as usize).copied().flatten();
    let mut skipped_users = 0usize;
    let mut skipped_roles: FxHashMap<Str, usize> = FxHashMap::default();
    for (role, user) in role_skips {
        if slot_of(user).is_some() {
            *skipped_roles.entry(role).or_insert(0) += 1;
        } else {
            skipped_users += 1;
        }
    }
    desired.enrollments = enrollments;
    desired.enrollments.retain_mut(|e| match slot_of(e.user) {
        Some(slot) => {
            e.user = slot;
            true
        }
        None => {
            skipped_users += 1;
            false
        }
    });
    let mut skipped_roles: Vec<_> = skipped_roles.into_iter().collect();
    skipped_roles.sort();
    for (role, n) in skipped_roles {
        diagnostics.push(
            Diagnostic::info("role-not-synced", format!("{n} enrollment(s) with role `{role}` are not synced to Canvas"))
                .at(Location::file("enrollments.csv"))
                .hint("only student and teacher enrollments are mapped by default; [mapping.enrollments] roles maps others"),
        );
    }
    if skipped_users > 0 {
        diagnostics.push(
            Diagnostic::warning(
                "enrollment-user-not-synced",
                format!("{skipped_users} enrollment(s) left out because their user could not be mapped (see the user errors above)"),
            )
            .at(Location::file("enrollments.csv")),
        );
    }

    // Observer links (sorted and de-duplicated with the other kinds below).
    desired.observers = observer_pairs
        .into_iter()
        .filter_map(|(o, s)| {
            Some(cv::ObserverLink {
                observer: slot_of(o)?,
                student: slot_of(s)?,
            })
        })
        .collect();

    fields::apply_users(&mut desired.users, roster, &user_slot, &config.fields);
    let user_roles = if config.actions.is_default() {
        Vec::new()
    } else {
        let mut roles = vec![RoleClass::Staff; desired.users.len()];
        for (ui, slot) in user_slot.iter().enumerate() {
            if let (Some(slot), Some(u)) = (slot, roster.users.get(ui)) {
                roles[*slot as usize] = RoleClass::of(&u.role);
            }
        }
        roles
    };

    let out_of_scope_users = masks
        .users
        .as_ref()
        .map(|m| {
            roster
                .users
                .iter()
                .zip(m)
                .filter(|(_, k)| !**k)
                .map(|(u, _)| u.sourced_id.to_string())
                .collect()
        })
        .unwrap_or_default();
    let out_of_scope_classes = masks
        .classes
        .as_ref()
        .map(|m| {
            roster
                .classes
                .iter()
                .zip(m)
                .filter(|(_, k)| !**k)
                .map(|(c, _)| c.sourced_id.to_string())
                .collect()
        })
        .unwrap_or_default();

    let outside_period_classes = masks
        .outside_period
        .iter()
        .filter_map(|&ci| roster.classes.get(ci))
        .map(|c| c.sourced_id.to_string())
        .collect();

    // Sorted by the callers (see map_owned).
    Mapped {
        desired,
        diagnostics,
        user_roles,
        out_of_scope_users,
        out_of_scope_classes,
        outside_period_classes,
    }
}

/// A login as Canvas compares it (case-insensitively); most are lower case already and
/// are not copied.
fn fold_login(login: &str) -> std::borrow::Cow<'_, str> {
    if login.chars().any(char::is_uppercase) {
        std::borrow::Cow::Owned(login.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(login)
    }
}

fn login_hash(folded: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(folded)
}

/// Sorts the small kinds by SIS key, and collapses duplicate enrollments to one decisive
/// row per (section, user, role), the first in source order (field lesson 7). Users,
/// sections and enrollments keep source order: it is deterministic, and sorting millions
/// of rows would cost more than the whole plan.
fn sort_and_dedupe(d: &mut DesiredState, diagnostics: &mut Vec<Diagnostic>) {
    d.accounts.sort_by(|a, b| a.sis_id.cmp(&b.sis_id));
    d.terms.sort_by(|a, b| a.sis_id.cmp(&b.sis_id));
    // The observer links are sorted on a second thread meanwhile (the other core is idle).
    let mut observers = std::mem::take(&mut d.observers);
    std::thread::scope(|s| {
        s.spawn(|| {
            observers.sort_unstable();
            observers.dedup();
        });
        dedupe_enrollments(d, diagnostics);
    });
    d.observers = observers;
}

/// Collapses duplicate enrollments (see [`sort_and_dedupe`]).
fn dedupe_enrollments(d: &mut DesiredState, diagnostics: &mut Vec<Diagnostic>) {
    // Duplicates share a user, and a user has a handful of enrollments: group enrollment
    // indexes by user (a counting sort, source order kept within a user) and compare
    // within each group. Linear, where a hash set of 1.5M triples costs a cache miss each.
    let users = d.users.len();
    let mut starts = vec![0u32; users + 1];
    for e in &d.enrollments {
        starts[e.user as usize + 1] += 1;
    }
    for u in 0..users {
        starts[u + 1] += starts[u];
    }
    let mut fill = starts.clone();
    let mut by_user = vec![0u32; d.enrollments.len()];
    for (i, e) in d.enrollments.iter().enumerate() {
        let slot = &mut fill[e.user as usize];
        by_user[*slot as usize] = i as u32;
        *slot += 1;
    }
    drop(fill);
    let mut keep = vec![true; d.enrollments.len()];
    let mut dup_pairs: Vec<(u32, u32)> = Vec::new();
    let mut group: Vec<u32> = Vec::new();
    for u in 0..users {
        let list = &by_user[starts[u] as usize..starts[u + 1] as usize];
        if list.len() < 2 {
            continue;
        }
        if list.len() <= 16 {
            // A handful (nearly every user): each is compared with the ones before it in
            // source order, and a repeat is a duplicate of the first equal one.
            for (k, &i) in list.iter().enumerate().skip(1) {
                let e = &d.enrollments[i as usize];
                let first = list[..k].iter().find(|&&j| {
                    let f = &d.enrollments[j as usize];
                    f.section == e.section && f.role == e.role
                });
                if let Some(&first) = first {
                    keep[i as usize] = false;
                    dup_pairs.push((i, first));
                }
            }
            continue;
        }
        // Sorted by (section, role, source order): the first of equal neighbours is kept.
        group.clear();
        group.extend_from_slice(list);
        group.sort_by(|&a, &b| {
            let (x, y) = (&d.enrollments[a as usize], &d.enrollments[b as usize]);
            x.section
                .cmp(&y.section)
                .then_with(|| x.role.as_str().cmp(y.role.as_str()))
                .then(a.cmp(&b))
        });
        let mut first = group[0];
        for &i in &group[1..] {
            let (f, e) = (&d.enrollments[first as usize], &d.enrollments[i as usize]);
            if f.section != e.section || f.role != e.role {
                first = i;
                continue;
            }
            keep[i as usize] = false;
            dup_pairs.push((i, first));
        }
    }
    // Reported in source order, the first 1000.
    dup_pairs.sort_unstable();
    let dup_count = dup_pairs.len();
    let mut dups: Vec<Diagnostic> = dup_pairs
        .iter()
        .take(1000)
        .map(|&(i, first)| {
            let (f, e) = (&d.enrollments[first as usize], &d.enrollments[i as usize]);
            let loc = e
                .src
                .map(|s| Location::at(s.table.file_name(), s.line))
                .unwrap_or_default();
            Diagnostic::warning(
                "duplicate-enrollment",
                format!(
                    "user {} is enrolled more than once as {} in {}; the first row ({}) is used",
                    d.users[e.user as usize].sis_id,
                    e.role.as_str(),
                    d.sections[e.section as usize].sis_id,
                    f.src.map(|s| s.to_string()).unwrap_or_default()
                ),
            )
            .at(loc)
        })
        .collect();
    if dup_count > 0 {
        let mut i = 0;
        d.enrollments.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }
    if dup_count > dups.len() {
        dups.push(Diagnostic::warning(
            "duplicate-enrollment",
            format!(
                "{dup_count} duplicate enrollment rows in all (only the first 1000 are listed)"
            ),
        ));
    }
    diagnostics.extend(dups);
}
