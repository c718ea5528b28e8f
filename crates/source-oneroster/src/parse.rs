//! From tables to the typed roster, with a diagnostic for every row left out.

use crate::package::Counting;
use crate::table::{for_each_row, trim_cell, ColumnSpec, Input};
use crate::{ReadObserver, SourceError, TableMode, TableSummary};
use chrono::NaiveDate;
use rosterbridge_model::index::IdIndex;
use rosterbridge_model::roster::*;
use rosterbridge_model::{Diagnostic, Location, SisId, SourceRef, SourceTable, Str};
use rustc_hash::FxHashMap;
use xxhash_like::hash64;

mod xxhash_like {
    //! A fast 64-bit hash of an id, for duplicate detection without storing every id twice.
    use std::hash::{BuildHasher, Hasher};
    pub fn hash64(s: &str) -> u64 {
        let mut h = rustc_hash::FxBuildHasher.build_hasher();
        h.write(s.as_bytes());
        h.finish()
    }
}

const STATUS: usize = 1;
const DLM: usize = 2;

const ORGS: &[ColumnSpec] = &[
    ("sourcedId", true),
    ("status", false),
    ("dateLastModified", false),
    ("name", true),
    ("type", true),
    ("identifier", false),
    ("parentSourcedId", false),
];
const SESSIONS: &[ColumnSpec] = &[
    ("sourcedId", true),
    ("status", false),
    ("dateLastModified", false),
    ("title", true),
    ("type", true),
    ("startDate", true),
    ("endDate", true),
    ("parentSourcedId", false),
    ("schoolYear", true),
];
const COURSES: &[ColumnSpec] = &[
    ("sourcedId", true),
    ("status", false),
    ("dateLastModified", false),
    ("schoolYearSourcedId", false),
    ("title", true),
    ("courseCode", false),
    ("grades", false),
    ("orgSourcedId", true),
    ("subjects", false),
    ("subjectCodes", false),
];
const CLASSES: &[ColumnSpec] = &[
    ("sourcedId", true),
    ("status", false),
    ("dateLastModified", false),
    ("title", true),
    ("grades", false),
    ("courseSourcedId", true),
    ("classCode", false),
    ("classType", true),
    ("location", false),
    ("schoolSourcedId", true),
    ("termSourcedIds", true),
    ("subjects", false),
    ("subjectCodes", false),
    ("periods", false),
];
const USERS_11: &[ColumnSpec] = &[
    ("sourcedId", true),
    ("status", false),
    ("dateLastModified", false),
    ("enabledUser", true),
    ("orgSourcedIds", true),
    ("role", true),
    ("username", true),
    ("userIds", false),
    ("givenName", true),
    ("familyName", true),
    ("middleName", false),
    ("identifier", false),
    ("email", false),
    ("sms", false),
    ("phone", false),
    ("agentSourcedIds", false),
    ("grades", false),
    ("userMasterIdentifier", false),
    ("preferredGivenName", false),
    ("preferredMiddleName", false),
    ("preferredFamilyName", false),
    ("primaryOrgSourcedId", false),
    ("pronouns", false),
];
const USERS_12: &[ColumnSpec] = &[
    ("sourcedId", true),
    ("status", false),
    ("dateLastModified", false),
    ("enabledUser", true),
    ("orgSourcedIds", false),
    ("role", false),
    ("username", true),
    ("userIds", false),
    ("givenName", true),
    ("familyName", true),
    ("middleName", false),
    ("identifier", false),
    ("email", false),
    ("sms", false),
    ("phone", false),
    ("agentSourcedIds", false),
    ("grades", false),
    ("userMasterIdentifier", false),
    ("preferredGivenName", false),
    ("preferredMiddleName", false),
    ("preferredFamilyName", false),
    ("primaryOrgSourcedId", false),
    ("pronouns", false),
];
const ROLES: &[ColumnSpec] = &[
    ("sourcedId", true),
    ("status", false),
    ("dateLastModified", false),
    ("userSourcedId", true),
    ("roleType", true),
    ("role", true),
    ("beginDate", false),
    ("endDate", false),
    ("orgSourcedId", true),
];
const ENROLLMENTS: &[ColumnSpec] = &[
    ("sourcedId", true),
    ("status", false),
    ("dateLastModified", false),
    ("classSourcedId", true),
    ("schoolSourcedId", true),
    ("userSourcedId", true),
    ("role", true),
    ("primary", false),
    ("beginDate", false),
    ("endDate", false),
];
const DEMOGRAPHICS: &[ColumnSpec] = &[
    ("sourcedId", true),
    ("status", false),
    ("dateLastModified", false),
    ("birthDate", false),
    ("sex", false),
];

/// Row diagnostics of one table.
struct Rows<'s> {
    file: &'static str,
    spec: &'s [ColumnSpec],
    list: Vec<Diagnostic>,
    bulk: bool,
    filled_status: Option<u32>,
}

impl<'s> Rows<'s> {
    fn new(file: &'static str, spec: &'s [ColumnSpec], mode: TableMode) -> Self {
        Rows {
            file,
            spec,
            list: Vec::new(),
            bulk: mode == TableMode::Bulk,
            filled_status: None,
        }
    }

    fn loc(&self, line: u32, col: usize, pos: &[Option<usize>]) -> Location {
        let mut l = Location::at(self.file, line).with_field(self.spec[col].0);
        if let Some(p) = pos[col] {
            l = l.with_column(p as u32 + 1);
        }
        l
    }

    // A row diagnostic names all of these; a struct for them would only move the list.
    #[allow(clippy::too_many_arguments)]
    fn error(
        &mut self,
        code: &str,
        msg: String,
        line: u32,
        col: usize,
        pos: &[Option<usize>],
        value: &str,
        id: &str,
        hint: &str,
    ) {
        let mut d = Diagnostic::error(code, msg)
            .at(self.loc(line, col, pos))
            .hint(hint);
        if !value.is_empty() {
            d = d.value(value);
        }
        if !id.is_empty() {
            d = d.sis_id(id);
        }
        self.list.push(d);
    }

    #[allow(clippy::too_many_arguments)]
    fn warn(
        &mut self,
        code: &str,
        msg: String,
        line: u32,
        col: usize,
        pos: &[Option<usize>],
        value: &str,
        id: &str,
    ) {
        let mut d = Diagnostic::warning(code, msg).at(self.loc(line, col, pos));
        if !value.is_empty() {
            d = d.value(value);
        }
        if !id.is_empty() {
            d = d.sis_id(id);
        }
        self.list.push(d);
    }

    /// Checks the required columns have values; reports the first empty one.
    fn required(&mut self, line: u32, cells: &[&str], pos: &[Option<usize>]) -> bool {
        if self.bulk
            && self.filled_status.is_none()
            && (!cells[STATUS].is_empty() || !cells[DLM].is_empty())
        {
            self.filled_status = Some(line);
        }
        for (i, (name, required)) in self.spec.iter().enumerate() {
            if *required && cells[i].is_empty() {
                let id = cells[0];
                self.error(
                    "missing-value",
                    format!("`{name}` is required but empty"),
                    line,
                    i,
                    pos,
                    "",
                    id,
                    "fill the value in the SIS export",
                );
                return false;
            }
        }
        true
    }

    fn finish(mut self) -> Vec<Diagnostic> {
        if let Some(line) = self.filled_status {
            self.list.push(
                Diagnostic::warning("bulk-with-status", "a bulk file fills status/dateLastModified; the values are ignored (every row counts as present)")
                    .at(Location::at(self.file, line)),
            );
        }
        self.list
    }
}

fn date(s: &str) -> Option<NaiveDate> {
    rosterbridge_model::date::parse_date(s)
}

/// The items of a comma-separated cell (a user's orgs, agents, grades), without copying.
type ListCells<'a> = smallvec::SmallVec<[&'a str; 4]>;

fn items(s: &str) -> ListCells<'_> {
    s.split(',')
        .map(trim_cell)
        .filter(|x| !x.is_empty())
        .collect()
}

fn list(s: &str) -> Vec<Str> {
    items(s).into_iter().map(Str::new).collect()
}

fn ids(s: &str) -> Vec<SisId> {
    items(s).into_iter().map(SisId::new).collect()
}

fn opt(s: &str) -> Option<Str> {
    (!s.is_empty()).then(|| Str::new(s))
}

fn boolean(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// `{LDAP:12},{LTI:15}` → pairs.
fn user_ids(s: &str) -> Vec<(Str, Str)> {
    s.split('}')
        .filter_map(|part| {
            let part = part
                .trim()
                .trim_start_matches(',')
                .trim()
                .trim_start_matches('{');
            let (t, id) = part.split_once(':')?;
            Some((Str::new(t.trim()), Str::new(id.trim())))
        })
        .collect()
}

fn dup_error(rows: &mut Rows<'_>, line: u32, first: u32, id: &str, pos: &[Option<usize>]) {
    rows.error(
        "duplicate-id",
        format!(
            "sourcedId {id:?} appears twice (first at line {first}); the later row is left out"
        ),
        line,
        0,
        pos,
        id,
        id,
        "sourcedIds must be unique within a file",
    );
}

struct Wrapped<'a> {
    input: Input<'a>,
    mode: TableMode,
}

fn wrap<'a>(
    file: &'static str,
    input: Input<'static>,
    mode: TableMode,
    size: u64,
    report: &'a (dyn Fn(&str, u64, u64) + Sync),
) -> Wrapped<'a> {
    let input = match input {
        Input::Stream(r) => Input::Stream(Box::new(Counting {
            inner: r,
            done: 0,
            reported: 0,
            total: size,
            file,
            report,
        })),
        m => m,
    };
    Wrapped { input, mode }
}

type Inputs = FxHashMap<&'static str, (Input<'static>, TableMode, u64)>;

pub(crate) fn build(
    version: OneRosterVersion,
    mut inputs: Inputs,
    observer: &dyn ReadObserver,
) -> Result<(Roster, Vec<TableSummary>, Vec<Diagnostic>), SourceError> {
    let report = |file: &str, done: u64, total: u64| observer.bytes_read(file, done, total);
    let report: &(dyn Fn(&str, u64, u64) + Sync) = &report;
    let mut take = |file: &'static str| {
        inputs
            .remove(file)
            .map(|(i, m, size)| wrap(file, i, m, size, report))
    };
    let mut roster = Roster::default();
    let mut tables = Vec::new();
    let mut diags = Vec::new();

    // Users (and 1.2 roles) need no other table: their thread starts first, and the
    // small tables, then the enrollments, are read on this one meanwhile. The users are
    // usually read first: that thread then checks their references (it needs only the org
    // ids, sent once the small tables are read) until the enrollments are done too.
    let users_in = take("users.csv");
    let roles_in = take("roles.csv");
    let (org_ids_tx, org_ids_rx) = std::sync::mpsc::channel::<Vec<SisId>>();
    let enrollments_read = std::sync::atomic::AtomicBool::new(false);
    let done = &enrollments_read;
    let (users_result, enrollments_result) = std::thread::scope(|s| {
        let users_thread = s.spawn(move || {
            let users = read_users(version, users_in, roles_in)?;
            let early = match org_ids_rx.recv() {
                Ok(org_ids) => {
                    let org_ix: FxHashMap<&str, u32> = org_ids
                        .iter()
                        .zip(0..)
                        .map(|(o, i)| (o.as_str(), i))
                        .collect();
                    check_users_until(&users.0, &users.1, &org_ix, done)
                }
                // The small tables failed: the read is over.
                Err(_) => EarlyCheck::default(),
            };
            Ok::<_, SourceError>((users, early))
        });
        // Moved in, so that it is dropped (and the users' thread stops waiting) however
        // this closure ends.
        let org_ids_tx = org_ids_tx;
        read_small_tables(&mut take, &mut roster, &mut tables, &mut diags)?;
        let (org_ix, class_ix) = (org_index(&roster), class_index(&roster));
        let _ = org_ids_tx.send(roster.orgs.iter().map(|o| o.sourced_id.clone()).collect());
        let enrollments = read_enrollments(take("enrollments.csv"), &class_ix, &org_ix);
        done.store(true, std::sync::atomic::Ordering::Release);
        Ok::<_, SourceError>((users_thread.join(), enrollments))
    })?;
    let org_ix = org_index(&roster);
    let demographics_in = take("demographics.csv");
    let ((mut users, user_ix, user_tables, user_diags), early) = match users_result {
        Ok(r) => r?,
        Err(p) => std::panic::resume_unwind(p),
    };
    let (mut enrollments, provisional, enr_table, mut enr_diags) = enrollments_result?;
    tables.extend(user_tables);
    tables.extend(enr_table);
    diags.extend(user_diags);

    // The enrollments' users are resolved here while the users not checked yet are
    // checked on a second thread: both only read the users. The check takes longer (a
    // lookup for every agent of every user), so this thread then checks the last users.
    let split = early.checked + (users.len() - early.checked) * 3 / 5;
    let (user_diags, agent_fixes) = std::thread::scope(|s2| {
        let check =
            s2.spawn(|| check_user_references(&users, early.checked..split, &user_ix, &org_ix));
        let resolved: Vec<Option<u32>> = provisional
            .iter()
            .map(|id| user_ix.get(id.as_str(), |p| users[p as usize].sourced_id.as_str()))
            .collect();
        enrollments.retain_mut(|e| match resolved[e.user as usize] {
            Some(u) => {
                e.user = u;
                true
            }
            None => {
                let id = &provisional[e.user as usize];
                enr_diags.push(
                    Diagnostic::error(
                        "unknown-reference",
                        format!(
                            "user {:?} is not in users.csv; the enrollment is left out",
                            id.as_str()
                        ),
                    )
                    .at(Location::at("enrollments.csv", e.src.line).with_field("userSourcedId"))
                    .value(id.as_str())
                    .sis_id(e.sourced_id.as_str())
                    .hint("add the user to users.csv or remove the enrollment"),
                );
                false
            }
        });
        let (last_diags, last_fixes) =
            check_user_references(&users, split..users.len(), &user_ix, &org_ix);
        let (middle_diags, middle_fixes) = match check.join() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        };
        // In user order, as one pass would give them.
        let (mut diags, mut fixes) = (early.diags, early.fixes);
        diags.extend(middle_diags);
        diags.extend(last_diags);
        fixes.extend(middle_fixes);
        fixes.extend(last_fixes);
        (diags, fixes)
    });
    enrollments.shrink_to_fit();
    diags.extend(enr_diags);
    for (ui, agents) in agent_fixes {
        users[ui].edit_texts(|t| t.agents = agents);
    }
    diags.extend(user_diags);

    if let Some(w) = demographics_in {
        let mut rows = Rows::new("demographics.csv", DEMOGRAPHICS, w.mode);
        let n = for_each_row("demographics.csv", w.input, DEMOGRAPHICS, |line, c, pos| {
            if !rows.required(line, c, pos) {
                return;
            }
            let birth_date = if c[3].is_empty() {
                None
            } else {
                match date(c[3]) {
                    Some(d) => Some(d),
                    None => {
                        rows.error(
                            "bad-date",
                            "`birthDate` is not a date".into(),
                            line,
                            3,
                            pos,
                            c[3],
                            c[0],
                            "write dates as YYYY-MM-DD",
                        );
                        return;
                    }
                }
            };
            roster.demographics.push(Demographics {
                sourced_id: SisId::new(c[0]),
                birth_date,
                sex: opt(c[4]),
                src: SourceRef::new(SourceTable::Demographics, line),
            });
        })?;
        tables.push(TableSummary {
            file: "demographics.csv".into(),
            mode: w.mode,
            rows: n,
        });
        diags.extend(rows.finish());
    }

    roster.users = users;
    roster.enrollments = enrollments;
    Ok((roster, tables, diags))
}

/// Reads orgs, academic sessions, courses and classes into the roster (the small tables the
/// enrollments refer to).
fn read_small_tables<'r>(
    take: &mut impl FnMut(&'static str) -> Option<Wrapped<'r>>,
    roster: &mut Roster,
    tables: &mut Vec<TableSummary>,
    diags: &mut Vec<Diagnostic>,
) -> Result<(), SourceError> {
    if let Some(w) = take("orgs.csv") {
        let mut rows = Rows::new("orgs.csv", ORGS, w.mode);
        let mut seen: FxHashMap<SisId, u32> = FxHashMap::default();
        let n = for_each_row("orgs.csv", w.input, ORGS, |line, c, pos| {
            if !rows.required(line, c, pos) {
                return;
            }
            let id = SisId::new(c[0]);
            if let Some(first) = seen.get(&id) {
                return dup_error(&mut rows, line, *first, c[0], pos);
            }
            seen.insert(id.clone(), line);
            let org_type = OrgType::parse(c[4]);
            if org_type.is_unknown() {
                rows.warn(
                    "unknown-value",
                    format!("org type {:?} is not in the OneRoster vocabulary", c[4]),
                    line,
                    4,
                    pos,
                    c[4],
                    c[0],
                );
            }
            roster.orgs.push(Org {
                sourced_id: id,
                name: Str::new(c[3]),
                org_type,
                identifier: opt(c[5]),
                parent: opt(c[6]).map(SisId::new),
                src: SourceRef::new(SourceTable::Orgs, line),
            });
        })?;
        tables.push(TableSummary {
            file: "orgs.csv".into(),
            mode: w.mode,
            rows: n,
        });
        diags.extend(rows.finish());
    }
    if let Some(w) = take("academicSessions.csv") {
        let mut rows = Rows::new("academicSessions.csv", SESSIONS, w.mode);
        let mut seen: FxHashMap<SisId, u32> = FxHashMap::default();
        let n = for_each_row("academicSessions.csv", w.input, SESSIONS, |line, c, pos| {
            if !rows.required(line, c, pos) {
                return;
            }
            let id = SisId::new(c[0]);
            if let Some(first) = seen.get(&id) {
                return dup_error(&mut rows, line, *first, c[0], pos);
            }
            let (Some(start), Some(end)) = (date(c[5]), date(c[6])) else {
                let col = if date(c[5]).is_none() { 5 } else { 6 };
                rows.error(
                    "bad-date",
                    format!("`{}` is not a date", SESSIONS[col].0),
                    line,
                    col,
                    pos,
                    c[col],
                    c[0],
                    "write dates as YYYY-MM-DD",
                );
                return;
            };
            let session_type = SessionType::parse(c[4]);
            if session_type.is_unknown() {
                rows.warn(
                    "unknown-value",
                    format!("session type {:?} is not in the OneRoster vocabulary", c[4]),
                    line,
                    4,
                    pos,
                    c[4],
                    c[0],
                );
            }
            seen.insert(id.clone(), line);
            roster.sessions.push(AcademicSession {
                sourced_id: id,
                title: Str::new(c[3]),
                session_type,
                start_date: start,
                end_date: end,
                parent: opt(c[7]).map(SisId::new),
                school_year: Str::new(c[8]),
                src: SourceRef::new(SourceTable::AcademicSessions, line),
            });
        })?;
        tables.push(TableSummary {
            file: "academicSessions.csv".into(),
            mode: w.mode,
            rows: n,
        });
        diags.extend(rows.finish());
    }
    let org_ix = org_index(roster);
    let session_ids: FxHashMap<&str, ()> = roster
        .sessions
        .iter()
        .map(|s| (s.sourced_id.as_str(), ()))
        .collect();
    {
        let mut parent_warnings = Vec::new();
        for o in &roster.orgs {
            if let Some(p) = &o.parent {
                if !org_ix.contains_key(p.as_str()) {
                    parent_warnings.push(
                        Diagnostic::warning(
                            "unknown-reference",
                            format!("parent org {p} is not in orgs.csv"),
                        )
                        .at(Location::at("orgs.csv", o.src.line).with_field("parentSourcedId"))
                        .value(p.as_str())
                        .sis_id(o.sourced_id.as_str()),
                    );
                }
            }
        }
        for s in &roster.sessions {
            if let Some(p) = &s.parent {
                if !session_ids.contains_key(p.as_str()) {
                    parent_warnings.push(
                        Diagnostic::warning(
                            "unknown-reference",
                            format!("parent session {p} is not in academicSessions.csv"),
                        )
                        .at(Location::at("academicSessions.csv", s.src.line)
                            .with_field("parentSourcedId"))
                        .value(p.as_str())
                        .sis_id(s.sourced_id.as_str()),
                    );
                }
            }
        }
        diags.extend(parent_warnings);
    }

    let mut courses = Vec::new();
    if let Some(w) = take("courses.csv") {
        let mut rows = Rows::new("courses.csv", COURSES, w.mode);
        let mut seen: FxHashMap<SisId, u32> = FxHashMap::default();
        let n = for_each_row("courses.csv", w.input, COURSES, |line, c, pos| {
            if !rows.required(line, c, pos) {
                return;
            }
            let id = SisId::new(c[0]);
            if let Some(first) = seen.get(&id) {
                return dup_error(&mut rows, line, *first, c[0], pos);
            }
            if !org_ix.contains_key(c[7]) {
                rows.warn(
                    "unknown-reference",
                    format!("org {:?} is not in orgs.csv", c[7]),
                    line,
                    7,
                    pos,
                    c[7],
                    c[0],
                );
            }
            seen.insert(id.clone(), line);
            courses.push(Course {
                sourced_id: id,
                school_year: opt(c[3]).map(SisId::new),
                title: Str::new(c[4]),
                course_code: opt(c[5]),
                grades: list(c[6]),
                org: SisId::new(c[7]),
                subjects: list(c[8]),
                subject_codes: list(c[9]),
                src: SourceRef::new(SourceTable::Courses, line),
            });
        })?;
        tables.push(TableSummary {
            file: "courses.csv".into(),
            mode: w.mode,
            rows: n,
        });
        diags.extend(rows.finish());
    }
    let course_ids: FxHashMap<&str, ()> = courses
        .iter()
        .map(|c| (c.sourced_id.as_str(), ()))
        .collect();
    let check_courses = !courses.is_empty();

    let mut classes = Vec::new();
    if let Some(w) = take("classes.csv") {
        let mut rows = Rows::new("classes.csv", CLASSES, w.mode);
        let mut seen: FxHashMap<SisId, u32> = FxHashMap::default();
        let n = for_each_row("classes.csv", w.input, CLASSES, |line, c, pos| {
            if !rows.required(line, c, pos) {
                return;
            }
            let id = SisId::new(c[0]);
            if let Some(first) = seen.get(&id) {
                return dup_error(&mut rows, line, *first, c[0], pos);
            }
            if !org_ix.contains_key(c[9]) {
                rows.error(
                    "unknown-reference",
                    format!("school {:?} is not in orgs.csv", c[9]),
                    line,
                    9,
                    pos,
                    c[9],
                    c[0],
                    "add the school to orgs.csv or correct schoolSourcedId",
                );
                return;
            }
            if check_courses && !course_ids.contains_key(c[5]) {
                rows.warn(
                    "unknown-reference",
                    format!("course {:?} is not in courses.csv", c[5]),
                    line,
                    5,
                    pos,
                    c[5],
                    c[0],
                );
            }
            let mut terms: Vec<SisId> = ids(c[10]);
            for t in &terms {
                if !session_ids.contains_key(t.as_str()) {
                    rows.warn(
                        "unknown-reference",
                        format!("term {t:?} is not in academicSessions.csv; it is ignored"),
                        line,
                        10,
                        pos,
                        t.as_str(),
                        c[0],
                    );
                }
            }
            terms.retain(|t| session_ids.contains_key(t.as_str()));
            let class_type = ClassType::parse(c[7]);
            if class_type.is_unknown() {
                rows.warn(
                    "unknown-value",
                    format!("classType {:?} is not in the OneRoster vocabulary", c[7]),
                    line,
                    7,
                    pos,
                    c[7],
                    c[0],
                );
            }
            seen.insert(id.clone(), line);
            classes.push(Class {
                sourced_id: id,
                title: Str::new(c[3]),
                grades: list(c[4]),
                course: SisId::new(c[5]),
                class_code: opt(c[6]),
                class_type,
                location: opt(c[8]),
                school: SisId::new(c[9]),
                terms,
                subjects: list(c[11]),
                subject_codes: list(c[12]),
                periods: list(c[13]),
                src: SourceRef::new(SourceTable::Classes, line),
            });
        })?;
        tables.push(TableSummary {
            file: "classes.csv".into(),
            mode: w.mode,
            rows: n,
        });
        diags.extend(rows.finish());
    }
    roster.courses = courses;
    roster.classes = classes;
    Ok(())
}

fn org_index(roster: &Roster) -> FxHashMap<&str, u32> {
    roster
        .orgs
        .iter()
        .enumerate()
        .map(|(i, o)| (o.sourced_id.as_str(), i as u32))
        .collect()
}

fn class_index(roster: &Roster) -> FxHashMap<&str, u32> {
    roster
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.sourced_id.as_str(), i as u32))
        .collect()
}

/// Warnings for the orgs and agents of `users[range]` that are not in the package, and
/// the agent lists without the unknown ones (by user position) for the users that had any.
fn check_user_references(
    users: &[User],
    range: std::ops::Range<usize>,
    user_ix: &IdIndex,
    org_ix: &FxHashMap<&str, u32>,
) -> (Vec<Diagnostic>, Vec<(usize, Vec<String>)>) {
    let mut diags = Vec::new();
    let mut fixes = Vec::new();
    let known = |id: &str| {
        user_ix
            .get(id, |p| users[p as usize].sourced_id.as_str())
            .is_some()
    };
    for (ui, u) in users.iter().enumerate().take(range.end).skip(range.start) {
        for o in u.orgs() {
            if !org_ix.contains_key(o) {
                diags.push(
                    Diagnostic::warning("unknown-reference", format!("org {o} is not in orgs.csv"))
                        .at(Location::at(u.src.table.file_name(), u.src.line)
                            .with_field("orgSourcedIds"))
                        .value(o)
                        .sis_id(u.sourced_id.as_str()),
                );
            }
        }
        // Checked before copying anything: nearly every user's agents are all known.
        if u.agents().all(known) {
            continue;
        }
        for a in u.agents().filter(|a| !known(a)) {
            diags.push(
                Diagnostic::warning(
                    "unknown-reference",
                    format!("agent {a} is not in users.csv; the link is dropped"),
                )
                .at(Location::at("users.csv", u.src.line).with_field("agentSourcedIds"))
                .value(a)
                .sis_id(u.sourced_id.as_str()),
            );
        }
        fixes.push((
            ui,
            u.agents()
                .filter(|a| known(a))
                .map(str::to_string)
                .collect(),
        ));
    }
    (diags, fixes)
}

/// What the users' thread checked while the enrollments were still being read: the
/// users before `checked`, with their warnings and agent fixes.
#[derive(Default)]
struct EarlyCheck {
    checked: usize,
    diags: Vec<Diagnostic>,
    fixes: Vec<(usize, Vec<String>)>,
}

/// [`check_user_references`] from the first user on, a block at a time, until every user
/// is checked or `stop` is set (the other thread has finished and will share the rest).
fn check_users_until(
    users: &[User],
    user_ix: &IdIndex,
    org_ix: &FxHashMap<&str, u32>,
    stop: &std::sync::atomic::AtomicBool,
) -> EarlyCheck {
    const BLOCK: usize = 4096;
    let mut early = EarlyCheck::default();
    while early.checked < users.len() && !stop.load(std::sync::atomic::Ordering::Acquire) {
        let end = (early.checked + BLOCK).min(users.len());
        let (diags, fixes) = check_user_references(users, early.checked..end, user_ix, org_ix);
        early.diags.extend(diags);
        early.fixes.extend(fixes);
        early.checked = end;
    }
    early
}

type UsersResult = (Vec<User>, IdIndex, Vec<TableSummary>, Vec<Diagnostic>);

fn read_users(
    version: OneRosterVersion,
    users_in: Option<Wrapped<'_>>,
    roles_in: Option<Wrapped<'_>>,
) -> Result<UsersResult, SourceError> {
    let mut users: Vec<User> = Vec::new();
    let mut tables = Vec::new();
    let mut diags = Vec::new();
    let spec = if version == OneRosterVersion::V1_2 {
        USERS_12
    } else {
        USERS_11
    };
    let mut index = IdIndex::default();
    if let Some(Wrapped { input, mode }) = users_in {
        let mut rows = Rows::new("users.csv", spec, mode);
        let n = for_each_row("users.csv", input, spec, |line, c, pos| {
            if !rows.required(line, c, pos) {
                return;
            }
            if let Some(first) = index.get(c[0], |p| users[p as usize].sourced_id.as_str()) {
                let first_line = users[first as usize].src.line;
                return dup_error(&mut rows, line, first_line, c[0], pos);
            }
            let Some(enabled) = boolean(c[3]) else {
                rows.error(
                    "bad-value",
                    format!("enabledUser must be true or false, not {:?}", c[3]),
                    line,
                    3,
                    pos,
                    c[3],
                    c[0],
                    "write true or false",
                );
                return;
            };
            let role = if c[5].is_empty() {
                UserRole::Other(Box::default())
            } else {
                UserRole::parse(c[5])
            };
            if !c[5].is_empty() && role.is_unknown() {
                rows.warn(
                    "unknown-value",
                    format!("role {:?} is not in the OneRoster vocabulary", c[5]),
                    line,
                    5,
                    pos,
                    c[5],
                    c[0],
                );
            }
            // Most users have none of the rarest fields: look before building.
            let extra = if c[7].is_empty() && c[21].is_empty() {
                None
            } else {
                UserExtra::pack(UserMore {
                    roles: Vec::new(),
                    user_ids: user_ids(c[7]),
                    primary_org: opt(c[21]).map(SisId::new),
                })
            };
            index.insert_new(c[0], users.len() as u32);
            let (grades, orgs, agents): (ListCells, ListCells, ListCells) =
                (items(c[16]), items(c[4]), items(c[15]));
            users.push(User {
                sourced_id: SisId::new(c[0]),
                enabled,
                role,
                texts: UserTexts::new(&UserTextsRef {
                    username: c[6],
                    given_name: c[8],
                    family_name: c[9],
                    identifier: c[11],
                    email: c[12],
                    middle_name: c[10],
                    preferred_given_name: c[18],
                    preferred_middle_name: c[19],
                    preferred_family_name: c[20],
                    pronouns: c[22],
                    user_master_identifier: c[17],
                    sms: c[13],
                    phone: c[14],
                    grades: &grades,
                    orgs: &orgs,
                    agents: &agents,
                }),
                src: SourceRef::new(SourceTable::Users, line),
                extra,
            });
        })?;
        tables.push(TableSummary {
            file: "users.csv".into(),
            mode,
            rows: n,
        });
        diags.extend(rows.finish());
    }
    users.shrink_to_fit();

    if let Some(Wrapped { input, mode }) = roles_in {
        let mut rows = Rows::new("roles.csv", ROLES, mode);
        let mut assignments: Vec<(u32, RoleAssignment)> = Vec::new();
        let n = for_each_row("roles.csv", input, ROLES, |line, c, pos| {
            if !rows.required(line, c, pos) {
                return;
            }
            let Some(u) = index.get(c[3], |p| users[p as usize].sourced_id.as_str()) else {
                rows.warn(
                    "unknown-reference",
                    format!("user {:?} is not in users.csv; the role is ignored", c[3]),
                    line,
                    3,
                    pos,
                    c[3],
                    c[0],
                );
                return;
            };
            let role_type = if c[4].eq_ignore_ascii_case("primary") {
                RoleType::Primary
            } else if c[4].eq_ignore_ascii_case("secondary") {
                RoleType::Secondary
            } else {
                rows.error(
                    "bad-value",
                    format!("roleType must be primary or secondary, not {:?}", c[4]),
                    line,
                    4,
                    pos,
                    c[4],
                    c[0],
                    "write primary or secondary",
                );
                return;
            };
            let (begin, end) = (c[6], c[7]);
            let begin_date = if begin.is_empty() { None } else { date(begin) };
            let end_date = if end.is_empty() { None } else { date(end) };
            if (!begin.is_empty() && begin_date.is_none())
                || (!end.is_empty() && end_date.is_none())
            {
                let col = if !begin.is_empty() && begin_date.is_none() {
                    6
                } else {
                    7
                };
                rows.error(
                    "bad-date",
                    format!("`{}` is not a date", ROLES[col].0),
                    line,
                    col,
                    pos,
                    c[col],
                    c[0],
                    "write dates as YYYY-MM-DD",
                );
                return;
            }
            assignments.push((
                u,
                RoleAssignment {
                    role: UserRole::parse(c[5]),
                    role_type,
                    org: SisId::new(c[8]),
                    begin_date,
                    end_date,
                },
            ));
        })?;
        tables.push(TableSummary {
            file: "roles.csv".into(),
            mode,
            rows: n,
        });
        diags.extend(rows.finish());
        for (u, a) in assignments {
            let user = &mut users[u as usize];
            let extra = user.extra.get_or_insert_with(Default::default);
            extra.more_mut().roles.push(a);
        }
        for user in &mut users {
            let Some(extra) = user.extra.as_deref() else {
                continue;
            };
            if extra.roles().is_empty() {
                continue;
            }
            let primary_org = extra.primary_org();
            let primary = extra
                .roles()
                .iter()
                .filter(|r| r.role_type == RoleType::Primary)
                .max_by_key(|r| Some(&r.org) == primary_org)
                .or_else(|| extra.roles().first());
            if let Some(p) = primary {
                if user.role.as_str().is_empty() {
                    user.role = p.role.clone();
                }
            }
            if user.orgs().len() == 0 {
                let mut orgs: Vec<String> = Vec::new();
                for r in extra.roles() {
                    if !orgs.iter().any(|o| o == r.org.as_str()) {
                        orgs.push(r.org.to_string());
                    }
                }
                user.edit_texts(|t| t.orgs = orgs);
            }
        }
    }
    if version == OneRosterVersion::V1_2 {
        for u in &users {
            if u.role.as_str().is_empty() {
                diags.push(
                    Diagnostic::warning("no-role", "user has no role in roles.csv")
                        .at(Location::at("users.csv", u.src.line))
                        .sis_id(u.sourced_id.as_str()),
                );
            }
        }
    }
    Ok((users, index, tables, diags))
}

type EnrollmentsResult = (
    Vec<Enrollment>,
    Vec<SisId>,
    Vec<TableSummary>,
    Vec<Diagnostic>,
);

fn read_enrollments(
    input: Option<Wrapped<'_>>,
    class_ix: &FxHashMap<&str, u32>,
    org_ix: &FxHashMap<&str, u32>,
) -> Result<EnrollmentsResult, SourceError> {
    let mut out: Vec<Enrollment> = Vec::new();
    let mut provisional: Vec<SisId> = Vec::new();
    let mut tables = Vec::new();
    let Some(w) = input else {
        return Ok((out, provisional, tables, Vec::new()));
    };
    let mut prov_ix = IdIndex::default();
    // Duplicate ids are found after the pass, by sorting 64-bit hashes of the ids (a hash
    // map of 1.5M ids costs a cache miss a row), and confirmed against the ids.
    let mut id_hashes: Vec<u64> = Vec::new();
    let mut positions: Vec<Option<usize>> = Vec::new();
    let mut rows = Rows::new("enrollments.csv", ENROLLMENTS, w.mode);
    let mut last_class: Option<(Str, u32)> = None;
    let mut last_school: Option<(Str, u32)> = None;
    let n = for_each_row("enrollments.csv", w.input, ENROLLMENTS, |line, c, pos| {
        if !rows.required(line, c, pos) {
            return;
        }
        if positions.is_empty() {
            positions = pos.to_vec();
        }
        // Exports list a class's enrollments together: remember the last lookup.
        let class = match &last_class {
            Some((id, ix)) if id.as_str() == c[3] => Some(*ix),
            _ => class_ix
                .get(c[3])
                .copied()
                .inspect(|ix| last_class = Some((Str::new(c[3]), *ix))),
        };
        let Some(class) = class else {
            rows.error(
                "unknown-reference",
                format!(
                    "class {:?} is not in classes.csv; the enrollment is left out",
                    c[3]
                ),
                line,
                3,
                pos,
                c[3],
                c[0],
                "add the class to classes.csv or remove the enrollment",
            );
            return;
        };
        let school = match &last_school {
            Some((id, ix)) if id.as_str() == c[4] => Some(*ix),
            _ => org_ix
                .get(c[4])
                .copied()
                .inspect(|ix| last_school = Some((Str::new(c[4]), *ix))),
        };
        let Some(school) = school else {
            rows.error(
                "unknown-reference",
                format!(
                    "school {:?} is not in orgs.csv; the enrollment is left out",
                    c[4]
                ),
                line,
                4,
                pos,
                c[4],
                c[0],
                "add the school to orgs.csv or correct schoolSourcedId",
            );
            return;
        };
        let role = EnrollmentRole::parse(c[6]);
        if role.is_unknown() {
            rows.warn(
                "unknown-value",
                format!(
                    "enrollment role {:?} is not in the OneRoster vocabulary",
                    c[6]
                ),
                line,
                6,
                pos,
                c[6],
                c[0],
            );
        }
        let mut dates = [None, None];
        for (k, col) in [8usize, 9].into_iter().enumerate() {
            if !c[col].is_empty() {
                match date(c[col]) {
                    Some(d) => dates[k] = Some(d),
                    None => {
                        rows.error(
                            "bad-date",
                            format!("`{}` is not a date", ENROLLMENTS[col].0),
                            line,
                            col,
                            pos,
                            c[col],
                            c[0],
                            "write dates as YYYY-MM-DD",
                        );
                        return;
                    }
                }
            }
        }
        let primary = if c[7].is_empty() { None } else { boolean(c[7]) };
        let user = match prov_ix.get(c[5], |p| provisional[p as usize].as_str()) {
            Some(u) => u,
            None => {
                let u = provisional.len() as u32;
                provisional.push(SisId::new(c[5]));
                prov_ix.insert_new(c[5], u);
                u
            }
        };
        id_hashes.push(hash64(c[0]));
        out.push(Enrollment {
            sourced_id: SisId::new(c[0]),
            class,
            user,
            school,
            role,
            primary,
            begin_date: dates[0],
            end_date: dates[1],
            src: SourceRef::new(SourceTable::Enrollments, line),
        });
    })?;
    drop_duplicate_ids(&mut out, id_hashes, &mut rows, &positions);
    tables.push(TableSummary {
        file: "enrollments.csv".into(),
        mode: w.mode,
        rows: n,
    });
    Ok((out, provisional, tables, rows.finish()))
}

/// Leaves out every enrollment whose sourcedId an earlier row already has, with a
/// `duplicate-id` error at its line. `hashes[i]` is the id hash of `out[i]`.
fn drop_duplicate_ids(
    out: &mut Vec<Enrollment>,
    mut hashes: Vec<u64>,
    rows: &mut Rows<'_>,
    pos: &[Option<usize>],
) {
    // Nearly every export has none: the bare hashes are sorted in place (half the time of
    // sorting them with their rows, and no copy) and only when one repeats are the rows
    // of the repeated hashes found again and compared by id.
    hashes.sort_unstable();
    let mut repeated: Vec<u64> = hashes
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    drop(hashes);
    if repeated.is_empty() {
        return;
    }
    repeated.dedup();
    let mut order: Vec<(u64, u32)> = out
        .iter()
        .zip(0u32..)
        .filter_map(|(e, i)| {
            let h = hash64(e.sourced_id.as_str());
            repeated.binary_search(&h).is_ok().then_some((h, i))
        })
        .collect();
    order.sort_unstable();
    let mut dups: Vec<(u32, u32)> = Vec::new(); // (duplicate, first)
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && order[j].0 == order[i].0 {
            j += 1;
        }
        // Equal hashes: in row order, each row is a duplicate of the first with its id.
        for a in i + 1..j {
            let id = &out[order[a].1 as usize].sourced_id;
            if let Some(first) = order[i..a]
                .iter()
                .find(|(_, k)| out[*k as usize].sourced_id == *id)
            {
                dups.push((order[a].1, first.1));
            }
        }
        i = j;
    }
    if dups.is_empty() {
        return;
    }
    dups.sort_unstable();
    let mut keep = vec![true; out.len()];
    for &(dup, first) in &dups {
        keep[dup as usize] = false;
        let (d, f) = (&out[dup as usize], &out[first as usize]);
        let id = d.sourced_id.clone();
        dup_error(rows, d.src.line, f.src.line, id.as_str(), pos);
    }
    let mut k = keep.into_iter();
    out.retain(|_| k.next().unwrap_or(true));
}

#[cfg(test)]
mod tests {
    use super::*;
    use rosterbridge_model::texts::{UserTexts, UserTextsRef};
    use std::sync::atomic::AtomicBool;

    /// Ten thousand users (more than two blocks), every 7th naming an unknown org and every
    /// 11th an unknown agent.
    fn users() -> Vec<User> {
        (0..10_000)
            .map(|i| {
                let org = if i % 7 == 0 { "nowhere" } else { "sch-1" };
                let agent = if i % 11 == 0 {
                    "ghost".to_string()
                } else {
                    format!("u{}", (i + 1) % 10_000)
                };
                User {
                    sourced_id: SisId::new(format!("u{i}")),
                    enabled: true,
                    role: UserRole::Student,
                    texts: UserTexts::new(&UserTextsRef {
                        username: "x",
                        orgs: &[org],
                        agents: &[agent.as_str()],
                        ..Default::default()
                    }),
                    src: SourceRef::new(SourceTable::Users, i + 2),
                    extra: None,
                }
            })
            .collect()
    }

    #[test]
    fn users_checked_early_and_the_rest_checked_later_give_what_one_pass_gives() {
        let users = users();
        let user_ix = IdIndex::of(&users, |u| u.sourced_id.as_str());
        let org_ix: FxHashMap<&str, u32> = [("sch-1", 0)].into_iter().collect();
        let (all_diags, all_fixes) =
            check_user_references(&users, 0..users.len(), &user_ix, &org_ix);
        assert_eq!(all_diags.len(), 10_000 / 7 + 1 + 10_000 / 11 + 1);

        // Not stopped: every user, in blocks.
        let early = check_users_until(&users, &user_ix, &org_ix, &AtomicBool::new(false));
        assert_eq!(early.checked, users.len());
        assert_eq!(early.diags, all_diags);
        assert_eq!(early.fixes, all_fixes);

        // Stopped before it starts: nothing; the two later ranges then give it all.
        let none = check_users_until(&users, &user_ix, &org_ix, &AtomicBool::new(true));
        assert_eq!((none.checked, none.diags.len()), (0, 0));

        // Any point of stopping, joined in order, is the one pass.
        for checked in [4096, 8192] {
            let (mut diags, mut fixes) =
                check_user_references(&users, 0..checked, &user_ix, &org_ix);
            let (d, f) = check_user_references(&users, checked..users.len(), &user_ix, &org_ix);
            diags.extend(d);
            fixes.extend(f);
            assert_eq!((diags, fixes), (all_diags.clone(), all_fixes.clone()));
        }
    }
}
