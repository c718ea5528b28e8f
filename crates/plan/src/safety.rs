//! Safety beyond the kind-wide removal percent (design rule 2, field lessons 1–3, 22, 28):
//!
//! * thresholds per kind and per scope (school = sub-account, term), for removals and for
//!   updates, each a percent with an absolute floor and ceiling ([`assess`]);
//! * guards: an empty or sharply shrunken source table, and a mass re-keying (objects gone
//!   from the source that come back under new SIS ids with the same names, [`rekey`]);
//! * rollover: add-only windows drop removals, and enrollments and courses whose session
//!   has ended are concluded (`completed`), never deleted, when they leave the export.
//!
//! Pure: the caller passes today's date and the stored rows it loaded. Counting is one pass
//! over the desired objects and the changes, with scopes interned to small integers, so it
//! stays cheap on plans of millions of objects.

use crate::{Action, Change, Plan, Reason, Target, Violation};
use rosterbridge_config::chrono_free::Date;
use rosterbridge_config::{SafetyRules, Threshold, Thresholds};
use rosterbridge_model::hash::content_hash;
use rosterbridge_model::kind::{Kind, Row, Status};
use rosterbridge_state::StoredRecord;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Why a plan is held, beyond the kind-wide removal threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    /// `updates`, `scope_removals`, `scope_updates`, `empty_table`, `shrunken_table`, `rekey`.
    pub code: String,
    pub kind: Kind,
    /// `account:<sis id>` or `term:<sis id>` for scope holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// What was detected.
    pub message: String,
    /// How to proceed.
    pub hint: String,
}

/// What [`assess`] did besides holding: removals deferred by an add-only window, removals
/// turned into conclusions because their session ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Adjustments {
    /// Removals left out because today is in an add-only window (with the window's reason).
    pub deferred_removals: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_only_window: Option<String>,
    /// Removals sent as `completed` instead of `deleted` because their session ended.
    pub concluded_ended: usize,
}

/// Stored rows the planner did not load but the safety checks need: sections, courses and
/// terms referenced by removed objects that are no longer in the source.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub rows: FxHashMap<(Kind, String), Row>,
}

impl Context {
    pub fn from_records(records: &[StoredRecord]) -> Context {
        Context {
            rows: records
                .iter()
                .map(|r| ((r.kind, r.key.clone()), r.row.clone()))
                .collect(),
        }
    }
}

/// Which stored objects [`Context`] should hold for these prior records: the sections of
/// removed enrollments and the courses of removed sections (first pass), then the courses
/// and terms of those (second pass). Returns `(kind, SIS key)` pairs.
pub fn context_keys(records: &[StoredRecord]) -> Vec<(Kind, String)> {
    let mut out: Vec<(Kind, String)> = Vec::new();
    for r in records {
        match r.kind {
            Kind::Enrollments => out.push((Kind::Sections, r.row.get("section_id").to_string())),
            Kind::Sections => out.push((Kind::Courses, r.row.get("course_id").to_string())),
            Kind::Courses if !r.row.get("term_id").is_empty() => {
                out.push((Kind::Terms, r.row.get("term_id").to_string()))
            }
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out.retain(|(_, k)| !k.is_empty());
    out
}

/// Hold when at least `rules.rekey_min` objects of a kind are gone from the source while
/// objects of the same kind with the same names are new in it: a vendor re-keyed its ids.
/// `prior` are the stored rows the diff asked for (they include every gone object).
pub fn rekey(
    desired: &rosterbridge_model::canvas::DesiredState,
    diff: &crate::Diff,
    prior: &[StoredRecord],
    rules: &SafetyRules,
) -> Vec<Hold> {
    let gone: rustc_hash::FxHashSet<i64> = diff.gone.iter().map(|g| g.id).collect();
    let mut holds = Vec::new();
    // Sections are left out: they repeat their names every school year (a rollover is not a
    // re-key); courses carry their term in their shape, so a new year differs.
    for kind in [Kind::Accounts, Kind::Terms, Kind::Users, Kind::Courses] {
        let mut removed: FxHashMap<String, &str> = FxHashMap::default();
        for r in prior
            .iter()
            .filter(|r| r.kind == kind && gone.contains(&r.id))
        {
            if let Some(f) = shape(&r.row) {
                removed.insert(f, r.key.as_str());
            }
        }
        if removed.len() < rules.rekey_min {
            continue;
        }
        let mut matched = 0usize;
        let mut example = None;
        for c in diff
            .changed
            .iter()
            .filter(|c| c.kind == kind && c.stored.is_none())
        {
            let row = desired.row(kind, c.index as usize);
            if let Some(old) = shape(&row).and_then(|f| removed.get(&f)) {
                matched += 1;
                if example.is_none() {
                    example = Some((old.to_string(), desired.key(kind, c.index as usize)));
                }
            }
        }
        if matched >= rules.rekey_min {
            let (old, new) = example.unwrap_or_default();
            holds.push(Hold {
                code: "rekey".into(),
                kind,
                scope: None,
                message: format!(
                    "mass re-key of {kind}: {matched} object(s) gone from the source came back under new SIS ids with the same names (e.g. {} -> {}); applying would remove the old ones and create empty duplicates",
                    crate::display(&old),
                    crate::display(&new)
                ),
                hint: "ask the SIS vendor whether ids changed; if they did, change the SIS ids in Canvas (change_sis_id) rather than re-creating; if the plan is right, approve it".into(),
            });
        }
    }
    holds
}

/// The "shape" of an object apart from its ids: what a re-keyed object keeps.
fn shape(row: &Row) -> Option<String> {
    let cols: &[&str] = match row.kind {
        Kind::Accounts | Kind::Terms => &["name"],
        Kind::Users => &["first_name", "last_name", "email"],
        Kind::Courses => &["short_name", "long_name", "term_id"],
        _ => return None,
    };
    let parts: Vec<&str> = cols.iter().map(|c| row.get(c)).collect();
    if parts.iter().all(|p| p.is_empty()) {
        return None;
    }
    Some(parts.join("\u{1f}"))
}

/// Interned scope ids: `account:<id>` and `term:<id>`, numbered in the order first met.
#[derive(Default)]
struct Scopes {
    names: Vec<String>,
    accounts: FxHashMap<String, u32>,
    terms: FxHashMap<String, u32>,
}

impl Scopes {
    fn account(&mut self, id: &str) -> u32 {
        Self::intern(&mut self.names, &mut self.accounts, "account", id)
    }

    fn term(&mut self, id: &str) -> u32 {
        Self::intern(&mut self.names, &mut self.terms, "term", id)
    }

    // Looked up by the bare id, so that the objects of a known scope (nearly all of them)
    // cost no string.
    fn intern(
        names: &mut Vec<String>,
        index: &mut FxHashMap<String, u32>,
        prefix: &str,
        id: &str,
    ) -> u32 {
        if let Some(i) = index.get(id) {
            return *i;
        }
        let i = names.len() as u32;
        index.insert(id.to_string(), i);
        names.push(format!("{prefix}:{id}"));
        i
    }
}

/// A date as the safety rules compare it; `None` where a row's text would not parse
/// (years without four digits), as for stored rows.
fn date_of(d: chrono::NaiveDate) -> Option<Date> {
    (0..=9999).contains(&chrono_year(d)).then(|| Date {
        year: chrono_year(d),
        month: chrono_month(d),
        day: chrono_day(d),
    })
}

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Default)]
struct Counts {
    desired: usize,
    new: usize,
    updates: usize,
    removals: usize,
}

/// One object's place: (account scope, term scope, end date).
#[derive(Clone, Copy)]
struct Place {
    account: u32,
    term: u32,
    end: Option<Date>,
}

const NOWHERE: Place = Place {
    account: NONE,
    term: NONE,
    end: None,
};

/// Applies the rules to a built plan: add-only windows, conclusion of ended sessions, and
/// every threshold and guard. Replaces `plan.safety`. `extra` are holds computed earlier
/// (e.g. [`rekey`]). Returns what was adjusted.
pub fn assess(
    plan: &mut Plan,
    rules: &SafetyRules,
    context: &Context,
    extra: Vec<Hold>,
    today: Date,
) -> Adjustments {
    let mut adj = Adjustments::default();
    if plan.changes.is_empty() && extra.is_empty() {
        // Nothing to apply, so nothing to hold or adjust (and no need to place 2M objects).
        plan.safety = crate::Safety::default();
        return adj;
    }
    let add_only = rules.add_only.iter().find(|w| w.contains(today));

    // Where things are: scopes and end dates of courses and sections, desired or stored.
    // Desired objects are placed from their fields (no rows built: a district has tens of
    // thousands of courses), stored ones from their rows.
    let mut scopes = Scopes::default();
    let term_end: FxHashMap<&str, Option<Date>> = plan
        .desired
        .terms
        .iter()
        .map(|t| (t.sis_id.as_str(), t.end.and_then(date_of)))
        .collect();
    let stored_term_end = |term: &str| {
        context
            .rows
            .get(&(Kind::Terms, term.to_string()))
            .and_then(|r| Date::parse(r.get("end_date")))
    };
    let course_place_of = |scopes: &mut Scopes, account: &str, term: &str, end: Option<Date>| {
        let end = end
            .or_else(|| term_end.get(term).copied().flatten())
            .or_else(|| stored_term_end(term));
        Place {
            account: if account.is_empty() {
                NONE
            } else {
                scopes.account(account)
            },
            term: if term.is_empty() {
                NONE
            } else {
                scopes.term(term)
            },
            end,
        }
    };
    let place_of_course_row = |scopes: &mut Scopes, row: &Row| -> Place {
        course_place_of(
            scopes,
            row.get("account_id"),
            row.get("term_id"),
            Date::parse(row.get("end_date")),
        )
    };
    let desired_courses = &plan.desired.courses;
    let desired_course_places: Vec<Place> = desired_courses
        .iter()
        .map(|c| {
            course_place_of(
                &mut scopes,
                c.account.as_ref().map_or("", |a| a.as_str()),
                c.term.as_ref().map_or("", |t| t.as_str()),
                c.end.and_then(date_of),
            )
        })
        .collect();
    // By SIS key: desired courses (the last of a repeated key, as a map insert keeps), then
    // stored ones that are not desired.
    let desired_course_at = plan.desired.course_positions();
    let mut other_course_place: FxHashMap<String, Place> = FxHashMap::default();
    for (k, row) in context
        .rows
        .iter()
        .filter(|((k, _), _)| *k == Kind::Courses)
    {
        if !desired_course_at.contains_key(k.1.as_str()) && !other_course_place.contains_key(&k.1) {
            let p = place_of_course_row(&mut scopes, row);
            other_course_place.insert(k.1.clone(), p);
        }
    }
    for r in plan.removed.iter().filter(|r| r.row.kind == Kind::Courses) {
        if !desired_course_at.contains_key(r.key.as_str())
            && !other_course_place.contains_key(&r.key)
        {
            let p = place_of_course_row(&mut scopes, &r.row);
            other_course_place.insert(r.key.clone(), p);
        }
    }
    let course_place = |key: &str| -> Option<Place> {
        match desired_course_at.get(key) {
            Some(&i) => Some(desired_course_places[i as usize]),
            None => other_course_place.get(key).copied(),
        }
    };
    let section_place_of = |course: &str, end: Option<Date>| -> Place {
        let mut p = course_place(course).unwrap_or(NOWHERE);
        if let Some(end) = end {
            p.end = Some(end);
        }
        p
    };
    let section_place_of_row =
        |row: &Row| section_place_of(row.get("course_id"), Date::parse(row.get("end_date")));
    let desired_sections = &plan.desired.sections;
    let desired_section_places: Vec<Place> = desired_sections
        .iter()
        .map(|s| section_place_of(s.course.as_str(), s.end.and_then(date_of)))
        .collect();
    let desired_section_at = plan.desired.section_positions();
    let mut other_section_place: FxHashMap<String, Place> = FxHashMap::default();
    for (k, row) in context
        .rows
        .iter()
        .filter(|((k, _), _)| *k == Kind::Sections)
    {
        if !desired_section_at.contains_key(k.1.as_str()) {
            other_section_place
                .entry(k.1.clone())
                .or_insert_with(|| section_place_of_row(row));
        }
    }
    for r in plan.removed.iter().filter(|r| r.row.kind == Kind::Sections) {
        if !desired_section_at.contains_key(r.key.as_str())
            && !other_section_place.contains_key(&r.key)
        {
            let p = section_place_of_row(&r.row);
            other_section_place.insert(r.key.clone(), p);
        }
    }
    let section_place = |key: &str| -> Option<Place> {
        match desired_section_at.get(key) {
            Some(&i) => Some(desired_section_places[i as usize]),
            None => other_section_place.get(key).copied(),
        }
    };
    let place = |c: &Change, plan: &Plan| -> Place {
        match (c.kind, c.target) {
            (Kind::Courses, Target::Desired(i)) => desired_course_places[i as usize],
            (Kind::Sections, Target::Desired(i)) => desired_section_places[i as usize],
            (Kind::Enrollments, Target::Desired(i)) => {
                desired_section_places[plan.desired.enrollments[i as usize].section as usize]
            }
            (Kind::Courses, Target::Removed(i)) => {
                course_place(&plan.removed[i as usize].key).unwrap_or(NOWHERE)
            }
            (Kind::Sections, Target::Removed(i)) => {
                section_place(&plan.removed[i as usize].key).unwrap_or(NOWHERE)
            }
            (Kind::Enrollments, Target::Removed(i)) => {
                let row = &plan.removed[i as usize].row;
                let mut p = section_place(row.get("section_id")).unwrap_or(NOWHERE);
                if let Some(end) = Date::parse(row.get("end_date")) {
                    p.end = Some(end);
                }
                p
            }
            _ => NOWHERE,
        }
    };

    // Rollover: conclude, not delete, what leaves the export after its session ended.
    let mut concluded = Vec::new();
    for (ci, c) in plan.changes.iter().enumerate() {
        if c.action != Action::Delete
            || !matches!(c.reason, Reason::Gone { .. })
            || !matches!(c.kind, Kind::Enrollments | Kind::Courses)
        {
            continue;
        }
        if place(c, plan).end.is_some_and(|end| end < today) {
            concluded.push(ci);
        }
    }
    for ci in concluded {
        let c = &mut plan.changes[ci];
        let Target::Removed(ri) = c.target else {
            continue;
        };
        let removed = &mut plan.removed[ri as usize];
        removed.row.set_status(Status::Completed);
        c.action = Action::Deactivate;
        c.reason = Reason::Gone {
            status: Status::Completed,
        };
        c.content_hash = content_hash(&removed.row);
        if let Some(fi) = c.fields {
            for f in plan.fields[fi as usize]
                .iter_mut()
                .filter(|f| f.field == "status")
            {
                f.new = Status::Completed.as_str().to_string();
            }
        }
        if let Some(s) = plan.summary.get_mut(&c.kind) {
            s.delete = s.delete.saturating_sub(1);
            s.deactivate += 1;
        }
        adj.concluded_ended += 1;
    }

    // Add-only window: no removals at all.
    if let Some(w) = add_only {
        let before = plan.changes.len();
        plan.changes.retain(|c| !c.action.is_removal());
        adj.deferred_removals = before - plan.changes.len();
        adj.add_only_window = Some(format!(
            "{}..{}{}",
            w.start,
            w.end,
            w.reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
        for s in plan.summary.values_mut() {
            s.deactivate = 0;
            s.delete = 0;
        }
    }

    // Kind-wide thresholds.
    let mut violations = Vec::new();
    let mut holds = extra;
    for (kind, s) in &plan.summary {
        let t = rules.for_kind(*kind);
        if let Some(percent) = exceeds(t.removals, s.removals(), s.existing) {
            violations.push(Violation {
                kind: *kind,
                removals: s.removals(),
                existing: s.existing,
                percent,
                limit_percent: t.removals.percent,
            });
        }
        if let Some(percent) = exceeds(t.updates, s.update, s.existing) {
            holds.push(Hold {
                code: "updates".into(),
                kind: *kind,
                scope: None,
                message: format!("{} of {} existing {kind} would be updated ({percent:.1}% > {}%)", s.update, s.existing, t.updates.percent),
                hint: "check the mapping and the export (a renamed column or a changed template updates everything); approve the plan if it is intended".into(),
            });
        }
        // Guards: an empty or sharply shrunken table.
        let desired = plan.desired.len(*kind);
        let kept = desired.saturating_sub(s.create + s.reactivate);
        if s.existing >= 5 && desired == 0 {
            holds.push(Hold {
                code: "empty_table".into(),
                kind: *kind,
                scope: None,
                message: format!("the source has no {kind} at all, but {} are active in Canvas: an empty or failed export?", s.existing),
                hint: "check the export (an empty file looks exactly like this); if every one really left, approve the plan".into(),
            });
        } else if add_only.is_none() && s.existing >= rules.shrink_min_existing && kept < s.existing
        {
            let shrink = (s.existing - kept) as f64 * 100.0 / s.existing as f64;
            if shrink > rules.max_shrink_percent {
                holds.push(Hold {
                    code: "shrunken_table".into(),
                    kind: *kind,
                    scope: None,
                    message: format!("the source's {kind} shrank sharply: {kept} of {} active ones are still in it ({shrink:.1}% gone > {}%)", s.existing, rules.max_shrink_percent),
                    hint: "check that the export is complete (a truncated file or a filter looks like this); in a rollover, configure [[safety.add_only]] for the changeover or approve the plan".into(),
                });
            }
        }
    }

    // Per-scope thresholds: schools and terms of courses, sections and enrollments.
    if rules.per_scope || !rules.scopes.is_empty() {
        let n = scopes.names.len();
        let slot = |k: Kind| match k {
            Kind::Courses => Some(0),
            Kind::Sections => Some(1),
            Kind::Enrollments => Some(2),
            _ => None,
        };
        let mut counts = vec![vec![Counts::default(); n]; 3];
        let mut bump = |slot: usize, p: Place, f: &dyn Fn(&mut Counts)| {
            if p.account != NONE {
                f(&mut counts[slot][p.account as usize]);
            }
            if p.term != NONE {
                f(&mut counts[slot][p.term as usize]);
            }
        };
        for p in &desired_course_places {
            bump(0, *p, &|c| c.desired += 1);
        }
        for p in &desired_section_places {
            bump(1, *p, &|c| c.desired += 1);
        }
        for e in &plan.desired.enrollments {
            bump(2, desired_section_places[e.section as usize], &|c| {
                c.desired += 1
            });
        }
        for c in &plan.changes {
            let Some(s) = slot(c.kind) else { continue };
            let p = place(c, plan);
            match c.action {
                Action::Create | Action::Reactivate => bump(s, p, &|c| c.new += 1),
                Action::Update => bump(s, p, &|c| c.updates += 1),
                Action::Deactivate | Action::Delete => {
                    if matches!(c.target, Target::Removed(_)) {
                        bump(s, p, &|c| c.removals += 1)
                    } else {
                        // Disabled in the source: still desired, counted as existing.
                        bump(s, p, &|c| c.removals += 1);
                        bump(s, p, &|c| c.desired = c.desired.saturating_sub(1));
                    }
                }
            }
        }
        // A kind already held kind-wide needs no per-scope lines for the same reason.
        let held_kind_removals: Vec<Kind> = violations.iter().map(|v| v.kind).collect();
        let held_kind_updates: Vec<Kind> = holds
            .iter()
            .filter(|h| h.code == "updates")
            .map(|h| h.kind)
            .collect();
        for (si, kind) in [Kind::Courses, Kind::Sections, Kind::Enrollments]
            .into_iter()
            .enumerate()
        {
            let mut scope_holds: Vec<Hold> = Vec::new();
            for (scope_id, c) in counts[si].iter().enumerate() {
                if c.removals == 0 && c.updates == 0 {
                    continue;
                }
                let name = &scopes.names[scope_id];
                let rule = rules.scopes.iter().find(|r| {
                    r.account
                        .as_deref()
                        .is_some_and(|a| name.strip_prefix("account:") == Some(a))
                        || r.term
                            .as_deref()
                            .is_some_and(|t| name.strip_prefix("term:") == Some(t))
                });
                let t: Thresholds = match rule {
                    Some(r) => r.thresholds,
                    None if rules.per_scope => rules.for_kind(kind),
                    None => continue,
                };
                let existing = c.desired.saturating_sub(c.new) + c.removals;
                let (what, label) = scope_label(name);
                let key = if what == "school" { "account" } else { "term" };
                if let Some(percent) = exceeds(t.removals, c.removals, existing)
                    .filter(|_| !held_kind_removals.contains(&kind))
                {
                    scope_holds.push(Hold {
                        code: "scope_removals".into(),
                        kind,
                        scope: Some(name.clone()),
                        message: format!("{kind} in {what} {label}: {} of {existing} would be removed ({percent:.1}% > {}%)", c.removals, t.removals.percent),
                        hint: format!("check {what} {label}'s part of the export; set a [[safety.scope]] with {key} = \"{label}\" if this is normal there, or approve the plan"),
                    });
                }
                if let Some(percent) = exceeds(t.updates, c.updates, existing)
                    .filter(|_| !held_kind_updates.contains(&kind))
                {
                    scope_holds.push(Hold {
                        code: "scope_updates".into(),
                        kind,
                        scope: Some(name.clone()),
                        message: format!("{kind} in {what} {label}: {} of {existing} would be updated ({percent:.1}% > {}%)", c.updates, t.updates.percent),
                        hint: "check the export and the mapping; approve the plan if it is intended".into(),
                    });
                }
            }
            // Many schools at once: name the first ones, count the rest.
            const LISTED: usize = 10;
            if scope_holds.len() > LISTED {
                let more = scope_holds.len() - LISTED;
                scope_holds.truncate(LISTED);
                scope_holds.push(Hold {
                    code: "scope_removals".into(),
                    kind,
                    scope: None,
                    message: format!(
                        "… and {more} more school(s) or term(s) over their {kind} threshold"
                    ),
                    hint: "see `plan --json` (safety.holds) for the first ones".into(),
                });
            }
            holds.extend(scope_holds);
        }
    }

    plan.safety.violations = violations;
    plan.safety.holds = holds;
    plan.safety.held = !plan.safety.violations.is_empty() || !plan.safety.holds.is_empty();
    plan.safety.adjustments = adj.clone();
    adj
}

fn scope_label(name: &str) -> (&'static str, &str) {
    match name.split_once(':') {
        Some(("account", id)) => ("school", id),
        Some(("term", id)) => ("term", id),
        _ => ("scope", name),
    }
}

/// `Some(percent)` when `count` passes the threshold over `existing` objects.
pub fn exceeds(t: Threshold, count: usize, existing: usize) -> Option<f64> {
    if count == 0 || count <= t.floor {
        return None;
    }
    let percent = if existing == 0 {
        100.0
    } else {
        count as f64 * 100.0 / existing as f64
    };
    let over_ceiling = t.ceiling.is_some_and(|c| count > c);
    // With no existing objects there is nothing to lose: only the ceiling applies.
    let over_percent = existing > 0 && percent > t.percent;
    (over_percent || over_ceiling).then_some(percent)
}

/// A fingerprint of exactly what a plan would send: every change's kind, key, action and
/// content hash, in order, and the state version it was made against. An approval names
/// a held plan by id and is honoured only for a plan with the same fingerprint.
pub fn fingerprint(plan: &Plan) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&plan.base_version.to_le_bytes());
    for c in &plan.changes {
        h.update(c.kind.as_str().as_bytes());
        h.update(&[0]);
        h.update(plan.key(c).as_bytes());
        h.update(&[0, c.action as u8]);
        h.update(&c.content_hash.to_le_bytes());
    }
    h.digest()
}

fn chrono_year(d: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    d.year()
}
fn chrono_month(d: chrono::NaiveDate) -> u32 {
    use chrono::Datelike;
    d.month()
}
fn chrono_day(d: chrono::NaiveDate) -> u32 {
    use chrono::Datelike;
    d.day()
}
