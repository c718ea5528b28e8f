//! A SIS's own CSV export, read through a column mapping (`kind = "sis-csv"`).
//!
//! Exports from SIS products such as Classter or Cloudwork differ in file names, column
//! names, date formats and how they spell roles, but carry the same facts: people with roles,
//! parent/guardian links, periods or semesters, subjects, groups and group memberships. The
//! configuration ([`SisCsvTables`]) says which file and column holds each fact; this crate
//! turns the files into OneRoster tables and reads them with the OneRoster CSV parser, so
//! every rule and diagnostic is the same as for a OneRoster export — with each diagnostic
//! pointed back at the SIS file, line and column it came from.

use rosterbridge_config::{EnrollmentsTable, PeopleTable, SisCsvTables};
use rosterbridge_model::{Diagnostic, Location};
use rosterbridge_source_oneroster::{MemoryPackage, SourceError, SourceRead};
use rosterbridge_state::SourceTableSnapshot;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where the export is and how it maps.
#[derive(Clone, Debug)]
pub struct SisCsvOptions {
    pub path: PathBuf,
    pub tables: SisCsvTables,
}

/// Problems with the export as a whole.
#[derive(Debug, thiserror::Error)]
pub enum SisCsvError {
    #[error("{path}: the export has no such file (named by `source.tables.{key}.file`)")]
    MissingFile { path: PathBuf, key: String },
    #[error(
        "{file}: no column {column:?} (named by `source.tables.{key}`); its columns are: {found}"
    )]
    MissingColumn {
        file: String,
        column: String,
        key: String,
        found: String,
    },
    #[error("{file}:{line}: {message}")]
    Csv {
        file: String,
        line: u64,
        message: String,
    },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl SisCsvError {
    pub fn to_diagnostic(&self) -> Diagnostic {
        let (code, loc, hint) = match self {
            SisCsvError::MissingFile { path, .. } => ("missing-file", Location::file(path.display().to_string()), "export the file, or correct its name in the configuration"),
            SisCsvError::MissingColumn { file, column, .. } => ("missing-column", Location::at(file.clone(), 1).with_field(column.clone()), "column names are matched exactly, then ignoring case; correct the configuration or the export"),
            SisCsvError::Csv { file, line, .. } => ("malformed-csv", Location::at(file.clone(), *line as u32), "look for an unbalanced double quote at or before this line"),
            SisCsvError::Io { path, .. } => ("source-unreadable", Location::file(path.display().to_string()), "check the file's permissions"),
            SisCsvError::Source(e) => return e.to_diagnostic(),
        };
        Diagnostic::error(code, self.to_string()).at(loc).hint(hint)
    }
}

/// A finished read.
#[derive(Debug)]
pub struct SisCsvRead {
    pub read: SourceRead,
    pub package: MemoryPackage,
}

/// One SIS file in memory.
struct File {
    name: String,
    header: Vec<String>,
    rows: Vec<(u64, csv::StringRecord)>,
}

impl File {
    fn open(dir: &Path, name: &str, key: &str) -> Result<File, SisCsvError> {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(SisCsvError::MissingFile {
                path,
                key: key.into(),
            });
        }
        let bytes = std::fs::read(&path).map_err(|source| SisCsvError::Io {
            path: path.clone(),
            source,
        })?;
        // Exports from Windows tools often start with a BOM; it is not part of the first name.
        let bytes = bytes
            .strip_prefix(b"\xef\xbb\xbf".as_slice())
            .unwrap_or(&bytes);
        let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
        let csv_err = |e: csv::Error| SisCsvError::Csv {
            file: name.into(),
            line: e.position().map(|p| p.line()).unwrap_or(0),
            message: e.to_string(),
        };
        let header = rdr
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let mut rows = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(csv_err)?;
            if rec.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            rows.push((rec.position().map(|p| p.line()).unwrap_or(0), rec));
        }
        Ok(File {
            name: name.into(),
            header,
            rows,
        })
    }

    /// The index of a configured column (exact, then ignoring case).
    fn col(&self, column: &str, key: &str) -> Result<usize, SisCsvError> {
        self.header
            .iter()
            .position(|h| h == column)
            .or_else(|| {
                self.header
                    .iter()
                    .position(|h| h.eq_ignore_ascii_case(column))
            })
            .ok_or_else(|| SisCsvError::MissingColumn {
                file: self.name.clone(),
                column: column.into(),
                key: key.into(),
                found: self.header.join(", "),
            })
    }

    fn opt_col(&self, column: &Option<String>, key: &str) -> Result<Option<usize>, SisCsvError> {
        column.as_deref().map(|c| self.col(c, key)).transpose()
    }
}

fn cell(rec: &csv::StringRecord, i: Option<usize>) -> String {
    i.and_then(|i| rec.get(i))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// A comma- or semicolon-separated list, as OneRoster's comma list.
fn list(s: &str) -> String {
    s.split([',', ';'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// An output OneRoster table and, per row, the SIS file and line it came from.
struct Out {
    header: &'static [&'static str],
    rows: Vec<Vec<String>>,
    origin: Vec<(String, u64)>,
}

impl Out {
    fn new(header: &'static [&'static str]) -> Self {
        Out {
            header,
            rows: Vec::new(),
            origin: Vec::new(),
        }
    }
    fn push(&mut self, row: Vec<String>, file: &str, line: u64) {
        self.rows.push(row);
        self.origin.push((file.to_string(), line));
    }
    fn bytes(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        // Writing into memory cannot fail.
        let _ = w.write_record(self.header);
        for r in &self.rows {
            let _ = w.write_record(r.iter().map(|c| c.replace(['\r', '\n'], " ")));
        }
        w.into_inner().unwrap_or_default()
    }
}

const ORGS: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "name",
    "type",
    "identifier",
    "parentSourcedId",
];
const SESSIONS: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
    "schoolYear",
];
const COURSES: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "schoolYearSourcedId",
    "title",
    "courseCode",
    "grades",
    "orgSourcedId",
    "subjects",
    "subjectCodes",
];
const CLASSES: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "grades",
    "courseSourcedId",
    "classCode",
    "classType",
    "location",
    "schoolSourcedId",
    "termSourcedIds",
    "subjects",
    "subjectCodes",
    "periods",
];
const USERS: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
];
const ENROLLMENTS: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
];

/// Dates into `YYYY-MM-DD`; a value that does not parse is passed on for the parser to report.
fn date(s: &str, format: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    chrono::NaiveDate::parse_from_str(s, format)
        .or_else(|_| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| s.to_string())
}

fn boolean(s: &str, default: &str) -> String {
    match s.to_ascii_lowercase().as_str() {
        "" => default.into(),
        "true" | "yes" | "y" | "1" | "active" | "enabled" => "true".into(),
        "false" | "no" | "n" | "0" | "inactive" | "disabled" => "false".into(),
        _ => s.into(),
    }
}

fn mapped(value: &str, map: &BTreeMap<String, String>) -> String {
    map.get(value)
        .cloned()
        .or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(value))
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_else(|| value.to_string())
}

/// Reads the export.
pub fn read(opts: &SisCsvOptions) -> Result<SisCsvRead, SisCsvError> {
    let t = &opts.tables;
    let dir = &opts.path;
    let fmt = t.date_format.as_deref().unwrap_or("%Y-%m-%d");
    let mut orgs = Out::new(ORGS);
    let default_school = t.school.as_ref().map(|s| s.id.clone()).unwrap_or_default();
    if let Some(s) = &t.school {
        orgs.push(
            vec![
                s.id.clone(),
                "".into(),
                "".into(),
                s.name.clone(),
                "school".into(),
                "".into(),
                "".into(),
            ],
            "(configuration)",
            0,
        );
    }
    if let Some(s) = &t.schools {
        let f = File::open(dir, &s.file, "schools")?;
        let (id, name) = (f.col(&s.id, "schools.id")?, f.col(&s.name, "schools.name")?);
        let (ident, kind, parent) = (
            f.opt_col(&s.identifier, "schools.identifier")?,
            f.opt_col(&s.type_column, "schools.type_column")?,
            f.opt_col(&s.parent, "schools.parent")?,
        );
        for (line, r) in &f.rows {
            let kind = cell(r, kind);
            let kind = if kind.is_empty() {
                "school".to_string()
            } else {
                kind
            };
            orgs.push(
                vec![
                    cell(r, Some(id)),
                    "".into(),
                    "".into(),
                    cell(r, Some(name)),
                    kind,
                    cell(r, ident),
                    cell(r, parent),
                ],
                &f.name,
                *line,
            );
        }
    }

    let s = &t.sessions;
    let mut sessions = Out::new(SESSIONS);
    {
        let f = File::open(dir, &s.file, "sessions")?;
        let (id, title, start, end) = (
            f.col(&s.id, "sessions.id")?,
            f.col(&s.title, "sessions.title")?,
            f.col(&s.start, "sessions.start")?,
            f.col(&s.end, "sessions.end")?,
        );
        let (kind_col, parent, year) = (
            f.opt_col(&s.type_column, "sessions.type_column")?,
            f.opt_col(&s.parent, "sessions.parent")?,
            f.opt_col(&s.school_year, "sessions.school_year")?,
        );
        let fixed = s.session_type.clone().unwrap_or_else(|| "term".into());
        for (line, r) in &f.rows {
            let end_date = date(&cell(r, Some(end)), fmt);
            let kind = if kind_col.is_some() {
                cell(r, kind_col)
            } else {
                fixed.clone()
            };
            let school_year = if year.is_some() {
                cell(r, year)
            } else {
                end_date.get(..4).unwrap_or("").to_string()
            };
            sessions.push(
                vec![
                    cell(r, Some(id)),
                    "".into(),
                    "".into(),
                    cell(r, Some(title)),
                    kind,
                    date(&cell(r, Some(start)), fmt),
                    end_date,
                    cell(r, parent),
                    school_year,
                ],
                &f.name,
                *line,
            );
        }
    }

    let mut courses = Out::new(COURSES);
    if let Some(c) = &t.courses {
        let f = File::open(dir, &c.file, "courses")?;
        let (id, title) = (
            f.col(&c.id, "courses.id")?,
            f.col(&c.title, "courses.title")?,
        );
        let (code, school, subject) = (
            f.opt_col(&c.code, "courses.code")?,
            f.opt_col(&c.school, "courses.school")?,
            f.opt_col(&c.subject, "courses.subject")?,
        );
        for (line, r) in &f.rows {
            let org = if school.is_some() {
                cell(r, school)
            } else {
                default_school.clone()
            };
            courses.push(
                vec![
                    cell(r, Some(id)),
                    "".into(),
                    "".into(),
                    "".into(),
                    cell(r, Some(title)),
                    cell(r, code),
                    "".into(),
                    org,
                    list(&cell(r, subject)),
                    "".into(),
                ],
                &f.name,
                *line,
            );
        }
    }

    let c = &t.classes;
    let mut classes = Out::new(CLASSES);
    let mut class_school: BTreeMap<String, String> = BTreeMap::new();
    {
        let f = File::open(dir, &c.file, "classes")?;
        let (id, title, terms) = (
            f.col(&c.id, "classes.id")?,
            f.col(&c.title, "classes.title")?,
            f.col(&c.terms, "classes.terms")?,
        );
        let (course, school, code) = (
            f.opt_col(&c.course, "classes.course")?,
            f.opt_col(&c.school, "classes.school")?,
            f.opt_col(&c.code, "classes.code")?,
        );
        let (period, subject, grade, kind) = (
            f.opt_col(&c.period, "classes.period")?,
            f.opt_col(&c.subject, "classes.subject")?,
            f.opt_col(&c.grade, "classes.grade")?,
            f.opt_col(&c.class_type, "classes.class_type")?,
        );
        for (line, r) in &f.rows {
            let class_id = cell(r, Some(id));
            let course_id = if course.is_some() {
                cell(r, course)
            } else {
                // Without a subject column each group is its own course (Period+Group templates).
                let cid = format!("{class_id}-course");
                courses.push(
                    vec![
                        cid.clone(),
                        "".into(),
                        "".into(),
                        "".into(),
                        cell(r, Some(title)),
                        "".into(),
                        "".into(),
                        default_school.clone(),
                        "".into(),
                        "".into(),
                    ],
                    &f.name,
                    *line,
                );
                cid
            };
            let school_id = if school.is_some() {
                cell(r, school)
            } else {
                default_school.clone()
            };
            class_school.insert(class_id.clone(), school_id.clone());
            let kind = cell(r, kind);
            let kind = if kind.is_empty() {
                "scheduled".to_string()
            } else {
                kind
            };
            classes.push(
                vec![
                    class_id,
                    "".into(),
                    "".into(),
                    cell(r, Some(title)),
                    list(&cell(r, grade)),
                    course_id,
                    cell(r, code),
                    kind,
                    "".into(),
                    school_id,
                    list(&cell(r, Some(terms))),
                    list(&cell(r, subject)),
                    "".into(),
                    list(&cell(r, period)),
                ],
                &f.name,
                *line,
            );
        }
    }

    // People first, agent links after (they may come from any people file or link file).
    let mut users = Out::new(USERS);
    let mut links: Vec<(String, String)> = Vec::new();
    for (i, p) in t.people.iter().enumerate() {
        read_people(dir, p, i, &default_school, &mut users, &mut links)?;
    }
    for (i, g) in t.guardians.iter().enumerate() {
        let f = File::open(dir, &g.file, &format!("guardians[{i}]"))?;
        let (gi, si) = (
            f.col(&g.guardian, &format!("guardians[{i}].guardian"))?,
            f.col(&g.student, &format!("guardians[{i}].student"))?,
        );
        for (_, r) in &f.rows {
            links.push((cell(r, Some(gi)), cell(r, Some(si))));
        }
    }
    let mut agents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (a, b) in links {
        if a.is_empty() || b.is_empty() || !seen.insert((a.clone(), b.clone())) {
            continue;
        }
        // Links hold both ways (OneRoster asks for the reverse link too).
        for (x, y) in [(&a, &b), (&b, &a)] {
            let list = agents.entry(x.clone()).or_default();
            if !list.contains(y) {
                list.push(y.clone());
            }
        }
    }
    for row in &mut users.rows {
        if let Some(a) = agents.get(&row[0]) {
            row[15] = a.join(",");
        }
    }

    let mut enrollments = Out::new(ENROLLMENTS);
    for (i, e) in t.enrollments.iter().enumerate() {
        read_enrollments(dir, e, i, fmt, &class_school, &mut enrollments)?;
    }

    let outs = [
        ("orgs.csv", &orgs),
        ("academicSessions.csv", &sessions),
        ("courses.csv", &courses),
        ("classes.csv", &classes),
        ("users.csv", &users),
        ("enrollments.csv", &enrollments),
    ];
    let mut files = BTreeMap::new();
    let mut manifest =
        String::from("propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n");
    for (name, out) in &outs {
        files.insert(name.to_string(), out.bytes());
        manifest.push_str(&format!("file.{},bulk\n", name.trim_end_matches(".csv")));
    }
    files.insert("manifest.csv".into(), manifest.into_bytes());
    let package = MemoryPackage {
        label: dir.clone(),
        files,
    };
    let mut read = rosterbridge_source_oneroster::read_memory(
        &package,
        &[],
        &rosterbridge_source_oneroster::NoProgress,
    )?;
    // Point every diagnostic at the SIS file and line the row came from.
    for d in &mut read.diagnostics {
        let Some(loc) = d.location.as_mut() else {
            continue;
        };
        let Some((_, out)) = outs.iter().find(|(n, _)| *n == loc.file) else {
            continue;
        };
        if let Some((file, line)) = loc
            .line
            .and_then(|l| out.origin.get((l as usize).wrapping_sub(2)))
        {
            loc.file = dir.join(file).display().to_string();
            loc.line = (*line > 0).then_some(*line as u32);
            loc.column = None;
        }
    }
    Ok(SisCsvRead { read, package })
}

fn read_people(
    dir: &Path,
    p: &PeopleTable,
    i: usize,
    default_school: &str,
    users: &mut Out,
    links: &mut Vec<(String, String)>,
) -> Result<(), SisCsvError> {
    let key = |k: &str| format!("people[{i}].{k}");
    let f = File::open(dir, &p.file, &format!("people[{i}]"))?;
    let (id, given, family) = (
        f.col(&p.id, &key("id"))?,
        f.col(&p.given_name, &key("given_name"))?,
        f.col(&p.family_name, &key("family_name"))?,
    );
    let role_col = f.opt_col(&p.role_column, &key("role_column"))?;
    let (middle, username, email) = (
        f.opt_col(&p.middle_name, &key("middle_name"))?,
        f.opt_col(&p.username, &key("username"))?,
        f.opt_col(&p.email, &key("email"))?,
    );
    let (ident, school, grade) = (
        f.opt_col(&p.identifier, &key("identifier"))?,
        f.opt_col(&p.school, &key("school"))?,
        f.opt_col(&p.grade, &key("grade"))?,
    );
    let (enabled, children) = (
        f.opt_col(&p.enabled, &key("enabled"))?,
        f.opt_col(&p.children, &key("children"))?,
    );
    for (line, r) in &f.rows {
        let pid = cell(r, Some(id));
        let role = match (&p.role, role_col) {
            (Some(fixed), _) => fixed.clone(),
            (None, col) => mapped(&cell(r, col), &p.role_map),
        };
        let orgs = if school.is_some() {
            list(&cell(r, school))
        } else {
            default_school.to_string()
        };
        let mail = cell(r, email);
        let user = cell(r, username);
        let user = if !user.is_empty() {
            user
        } else if !mail.is_empty() {
            mail.clone()
        } else {
            pid.clone()
        };
        for child in list(&cell(r, children))
            .split(',')
            .filter(|c| !c.is_empty())
        {
            links.push((pid.clone(), child.to_string()));
        }
        users.push(
            vec![
                pid,
                "".into(),
                "".into(),
                boolean(&cell(r, enabled), "true"),
                orgs,
                role,
                user,
                "".into(),
                cell(r, Some(given)),
                cell(r, Some(family)),
                cell(r, middle),
                cell(r, ident),
                mail,
                "".into(),
                "".into(),
                "".into(),
                list(&cell(r, grade)),
                "".into(),
            ],
            &f.name,
            *line,
        );
    }
    Ok(())
}

fn read_enrollments(
    dir: &Path,
    e: &EnrollmentsTable,
    i: usize,
    fmt: &str,
    class_school: &BTreeMap<String, String>,
    out: &mut Out,
) -> Result<(), SisCsvError> {
    let key = |k: &str| format!("enrollments[{i}].{k}");
    let f = File::open(dir, &e.file, &format!("enrollments[{i}]"))?;
    let (class, person) = (
        f.col(&e.class, &key("class"))?,
        f.col(&e.person, &key("person"))?,
    );
    let (id, role_col, primary) = (
        f.opt_col(&e.id, &key("id"))?,
        f.opt_col(&e.role_column, &key("role_column"))?,
        f.opt_col(&e.primary, &key("primary"))?,
    );
    let (begin, end) = (
        f.opt_col(&e.begin, &key("begin"))?,
        f.opt_col(&e.end, &key("end"))?,
    );
    for (line, r) in &f.rows {
        let (c, p) = (cell(r, Some(class)), cell(r, Some(person)));
        let eid = if id.is_some() {
            cell(r, id)
        } else {
            format!("{c}-{p}")
        };
        let role = match (&e.role, role_col) {
            (_, Some(col)) => mapped(&cell(r, Some(col)), &e.role_map),
            (Some(fixed), None) => fixed.clone(),
            (None, None) => "student".into(),
        };
        let school = class_school.get(&c).cloned().unwrap_or_default();
        let primary = cell(r, primary);
        let primary = if primary.is_empty() {
            String::new()
        } else {
            boolean(&primary, "")
        };
        out.push(
            vec![
                eid,
                "".into(),
                "".into(),
                c,
                school,
                p,
                role,
                primary,
                date(&cell(r, begin), fmt),
                date(&cell(r, end), fmt),
            ],
            &f.name,
            *line,
        );
    }
    Ok(())
}

/// The tables to save after a successful apply (the export as OneRoster tables).
pub fn snapshot(read: &SisCsvRead) -> Result<Vec<SourceTableSnapshot>, SisCsvError> {
    Ok(rosterbridge_source_oneroster::snapshot_memory(
        &read.package,
        &[],
    )?)
}
