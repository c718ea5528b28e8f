//! A realistic, deterministic synthetic school district written as a OneRoster 1.1 bulk CSV
//! package (a folder with `manifest.csv` and the six rostering files).
//!
//! Used by `rosterbridge generate`, the benchmark, the Canvas sandbox and end-to-end tests.
//! The same [`DistrictSpec`] always gives byte-identical files. With `change_pct > 0` the output
//! is the *same* district (same seed ⇒ same base rows) with about that percent of the user and
//! enrollment rows changed, so two runs form a realistic "yesterday / today" pair for sync tests.
//!
//! Everything is streamed: the district is planned as compact numeric tables (a few bytes per
//! student), then each school is generated and written on its own, so memory stays small even
//! for a million students.

mod catalog;
mod names;
mod rand_util;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};

use catalog::{catalog, course_title, grade_code, Dept, Level, Subject, Term};
use names::{
    fold, folded, DISTRICTS, ELEMENTARY_PLACES, FAMILY, GIVEN, HIGH_PLACES, MIDDLE_PLACES,
    PARENT_MAIL_DOMAINS,
};
use rand_util::{apportion, below, index, push_base62_id, shuffle, weighted, Keys, Stream};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DistrictSpec {
    pub students: u32,
    pub seed: u64,
    /// Percent of user and enrollment rows to change relative to the base district; 0.0 = base.
    pub change_pct: f64,
}

impl DistrictSpec {
    pub fn base(students: u32, seed: u64) -> Self {
        DistrictSpec {
            students,
            seed,
            change_pct: 0.0,
        }
    }

    pub fn with_changes(self, change_pct: f64) -> Self {
        DistrictSpec { change_pct, ..self }
    }

    pub fn validate(&self) -> Result<(), GenerateError> {
        if self.students == 0 {
            return Err(GenerateError::InvalidSpec(
                "a district needs at least one student".into(),
            ));
        }
        if self.students > MAX_STUDENTS {
            return Err(GenerateError::InvalidSpec(format!(
                "at most {MAX_STUDENTS} students, got {}",
                self.students
            )));
        }
        if !(0.0..=MAX_CHANGE_PCT).contains(&self.change_pct) {
            return Err(GenerateError::InvalidSpec(format!(
                "change_pct must be between 0 and {MAX_CHANGE_PCT}, got {}",
                self.change_pct
            )));
        }
        Ok(())
    }
}

pub const MAX_STUDENTS: u32 = 10_000_000;
/// The per-entity change probabilities stay below 1 up to here (the largest is 0.8 × pct/100).
pub const MAX_CHANGE_PCT: f64 = 100.0;

/// Phases reported to the progress callback as `(phase, done, total)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Sizing schools and forming families.
    Plan,
    /// Courses, classes, staff, students and enrollments, one school at a time (total = schools).
    Schools,
    /// Parents and guardians (total = families).
    Parents,
    /// Flushing files and writing manifest.csv.
    Manifest,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Plan => "planning district",
            Phase::Schools => "schools",
            Phase::Parents => "parents",
            Phase::Manifest => "manifest",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerateSummary {
    pub orgs: usize,
    pub sessions: usize,
    pub courses: usize,
    pub classes: usize,
    pub users: usize,
    pub students: usize,
    /// Users with role `teacher`.
    pub teachers: usize,
    /// Users with role `aide` (enrolled as non-primary teachers).
    pub aides: usize,
    /// Users with role `parent` or `guardian`.
    pub parents: usize,
    pub enrollments: usize,
    pub changes: ChangeSummary,
    /// Every file written, in manifest order of the rostering files, then `manifest.csv`.
    pub files: Vec<FileSummary>,
}

/// What a change run altered relative to the base district of the same seed. Each count is
/// exactly what a row-by-row comparison of the two packages finds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSummary {
    /// Users present in both runs whose familyName differs.
    pub renamed: usize,
    pub added_students: usize,
    pub withdrawn_students: usize,
    /// Student enrollments removed while the student stays.
    pub dropped_enrollments: usize,
    /// Parents/guardians of added students (new families).
    pub added_parents: usize,
    /// Parents/guardians removed because all their children were withdrawn.
    pub removed_parents: usize,
    /// Parents/guardians kept but with fewer children in agentSourcedIds (and maybe fewer orgs).
    pub relinked_parents: usize,
    /// Enrollments of added students.
    pub added_enrollments: usize,
    /// Enrollments removed with their withdrawn student.
    pub withdrawn_enrollments: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    pub name: String,
    /// Data rows, header excluded.
    pub rows: usize,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("invalid district spec: {0}")]
    InvalidSpec(String),
    #[error("cannot create output folder {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Csv { path: PathBuf, source: csv::Error },
}

// ---------------------------------------------------------------------------------------------
// Fixed vocabulary of the package.

pub const ORGS_HEADER: [&str; 7] = [
    "sourcedId",
    "status",
    "dateLastModified",
    "name",
    "type",
    "identifier",
    "parentSourcedId",
];
pub const SESSIONS_HEADER: [&str; 9] = [
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
pub const COURSES_HEADER: [&str; 10] = [
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
pub const CLASSES_HEADER: [&str; 14] = [
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
pub const USERS_HEADER: [&str; 18] = [
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
pub const ENROLLMENTS_HEADER: [&str; 10] = [
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

/// The 13 `file.*` manifest entries in spec order, with the mode we write.
pub const MANIFEST_FILES: [(&str, &str); 13] = [
    ("academicSessions", "bulk"),
    ("categories", "absent"),
    ("classes", "bulk"),
    ("classResources", "absent"),
    ("courses", "bulk"),
    ("courseResources", "absent"),
    ("demographics", "absent"),
    ("enrollments", "bulk"),
    ("lineItems", "absent"),
    ("orgs", "bulk"),
    ("resources", "absent"),
    ("results", "absent"),
    ("users", "bulk"),
];

pub const DISTRICT_ID: &str = "dist-0001";
pub const SCHOOL_YEAR_ID: &str = "SY2027";
pub const SEMESTER_IDS: [&str; 2] = ["SY2027-S1", "SY2027-S2"];
const BOTH_SEMESTERS: &str = "SY2027-S1,SY2027-S2";

/// (sourcedId, title, type, start, end, parent)
const SESSIONS: [(&str, &str, &str, &str, &str, &str); 7] = [
    (
        SCHOOL_YEAR_ID,
        "2026-2027",
        "schoolYear",
        "2026-08-17",
        "2027-06-11",
        "",
    ),
    (
        "SY2027-S1",
        "Fall 2026",
        "semester",
        "2026-08-17",
        "2027-01-15",
        SCHOOL_YEAR_ID,
    ),
    (
        "SY2027-S2",
        "Spring 2027",
        "semester",
        "2027-01-19",
        "2027-06-11",
        SCHOOL_YEAR_ID,
    ),
    (
        "SY2027-Q1",
        "Quarter 1",
        "gradingPeriod",
        "2026-08-17",
        "2026-10-16",
        "SY2027-S1",
    ),
    (
        "SY2027-Q2",
        "Quarter 2",
        "gradingPeriod",
        "2026-10-19",
        "2027-01-15",
        "SY2027-S1",
    ),
    (
        "SY2027-Q3",
        "Quarter 3",
        "gradingPeriod",
        "2027-01-19",
        "2027-03-26",
        "SY2027-S2",
    ),
    (
        "SY2027-Q4",
        "Quarter 4",
        "gradingPeriod",
        "2027-03-29",
        "2027-06-11",
        "SY2027-S2",
    ),
];

// Salts: one per independent decision, so adding a decision never shifts another's values.
mod salt {
    pub const PLAN: u64 = 1;
    pub const DISTRICT: u64 = 2;
    pub const FAMILY: u64 = 3;
    pub const SCHOOL: u64 = 4;
    pub const CHANGE_SCHOOL: u64 = 5;
    pub const SURNAME: u64 = 10;
    pub const GIVEN_STU: u64 = 11;
    pub const MIDDLE_STU: u64 = 12;
    pub const DISABLED_STU: u64 = 13;
    pub const GIVEN_TEA: u64 = 20;
    pub const FAMILY_TEA: u64 = 21;
    pub const MIDDLE_TEA: u64 = 22;
    pub const DISABLED_TEA: u64 = 23;
    pub const GIVEN_AIDE: u64 = 24;
    pub const FAMILY_AIDE: u64 = 25;
    pub const GIVEN_PAR: u64 = 30;
    pub const FAMILY_PAR: u64 = 31;
    pub const MIDDLE_PAR: u64 = 32;
    pub const DISABLED_PAR: u64 = 33;
    pub const GUARDIAN: u64 = 34;
    pub const EMAIL_PAR: u64 = 35;
    pub const PHONE_PAR: u64 = 36;
    pub const WITHDRAW: u64 = 50;
    pub const ADD: u64 = 51;
    pub const ADD_PARENTS: u64 = 52;
    pub const ADD_SURNAME: u64 = 53;
    pub const RENAME: u64 = 54;
    pub const NEW_NAME: u64 = 55;
    pub const DROP: u64 = 56;
}

// Rename keys: one namespace per kind of user.
const KEY_TEACHER: u64 = 1 << 40;
const KEY_AIDE: u64 = 2 << 40;
const KEY_STUDENT: u64 = 3 << 40;
const KEY_PARENT: u64 = 4 << 40;

/// Students per school, roughly (the brief asks for one school per 600–1,000 students).
const STUDENTS_PER_SCHOOL: f64 = 800.0;

// ---------------------------------------------------------------------------------------------
// Public entry point.

/// Writes the package into `out_dir` (created if missing; our files are overwritten).
/// `manifest.csv` is written last, so an interrupted run leaves a folder no reader accepts.
pub fn write_oneroster_csv(
    spec: &DistrictSpec,
    out_dir: &Path,
    progress: &dyn Fn(Phase, u64, u64),
) -> Result<GenerateSummary, GenerateError> {
    spec.validate()?;
    std::fs::create_dir_all(out_dir).map_err(|source| GenerateError::CreateDir {
        path: out_dir.to_path_buf(),
        source,
    })?;

    progress(Phase::Plan, 0, 1);
    let keys = Keys::new(spec.seed);
    let plan = Plan::build(&keys, spec.students);
    let changes = Changes::build(&keys, spec, &plan);
    progress(Phase::Plan, 1, 1);

    let mut out = Outputs::create(out_dir)?;
    let mut g = Gen {
        keys,
        plan: &plan,
        changes: &changes,
        given_f: folded(GIVEN),
        family_f: folded(FAMILY),
        staff_usernames: HashMap::new(),
        next_teacher: 0,
        next_aide: 0,
        next_enr: 0,
        next_new_enr: 0,
        sum: GenerateSummary::default(),
    };

    g.write_orgs_and_sessions(&mut out)?;
    let n_schools = plan.schools.len() as u64;
    for s in 0..plan.schools.len() {
        g.write_school(&mut out, s)?;
        progress(Phase::Schools, s as u64 + 1, n_schools);
    }
    g.write_parents(&mut out, progress)?;

    progress(Phase::Manifest, 0, 1);
    let mut sum = g.sum;
    sum.files = out.finish()?;
    sum.files.push(write_manifest(out_dir, spec)?);
    progress(Phase::Manifest, 1, 1);
    Ok(sum)
}

fn write_manifest(dir: &Path, spec: &DistrictSpec) -> Result<FileSummary, GenerateError> {
    let mut m = Out::create(dir, "manifest.csv", &["propertyName", "value"])?;
    m.write(["manifest.version", "1.0"])?;
    m.write(["oneroster.version", "1.1"])?;
    for (file, mode) in MANIFEST_FILES {
        m.write([&format!("file.{file}"), mode])?;
    }
    m.write(["source.systemName", "rosterbridge-generate"])?;
    let code = format!(
        "synthetic-{}-{}-{}",
        spec.students, spec.seed, spec.change_pct
    );
    m.write(["source.systemCode", &code])?;
    m.finish()
}

// ---------------------------------------------------------------------------------------------
// CSV output.

struct Out {
    name: &'static str,
    path: PathBuf,
    w: csv::Writer<File>,
    rows: usize,
}

impl Out {
    fn create(dir: &Path, name: &'static str, header: &[&str]) -> Result<Out, GenerateError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|source| GenerateError::Io {
            path: path.clone(),
            source,
        })?;
        // csv's default terminator is CRLF-tolerant on read but we pin LF for byte stability.
        let w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(1 << 17)
            .from_writer(file);
        let mut out = Out {
            name,
            path,
            w,
            rows: 0,
        };
        out.w
            .write_record(header)
            .map_err(|source| out.csv_err(source))?;
        Ok(out)
    }

    fn csv_err(&self, source: csv::Error) -> GenerateError {
        GenerateError::Csv {
            path: self.path.clone(),
            source,
        }
    }

    #[inline]
    fn write<const N: usize>(&mut self, rec: [&str; N]) -> Result<(), GenerateError> {
        self.rows += 1;
        match self.w.write_record(rec) {
            Ok(()) => Ok(()),
            Err(source) => Err(self.csv_err(source)),
        }
    }

    fn finish(mut self) -> Result<FileSummary, GenerateError> {
        self.w.flush().map_err(|source| GenerateError::Io {
            path: self.path.clone(),
            source,
        })?;
        let bytes = std::fs::metadata(&self.path)
            .map_err(|source| GenerateError::Io {
                path: self.path.clone(),
                source,
            })?
            .len();
        Ok(FileSummary {
            name: self.name.to_string(),
            rows: self.rows,
            bytes,
        })
    }
}

struct Outputs {
    orgs: Out,
    sessions: Out,
    courses: Out,
    classes: Out,
    users: Out,
    enrollments: Out,
}

impl Outputs {
    fn create(dir: &Path) -> Result<Outputs, GenerateError> {
        Ok(Outputs {
            orgs: Out::create(dir, "orgs.csv", &ORGS_HEADER)?,
            sessions: Out::create(dir, "academicSessions.csv", &SESSIONS_HEADER)?,
            courses: Out::create(dir, "courses.csv", &COURSES_HEADER)?,
            classes: Out::create(dir, "classes.csv", &CLASSES_HEADER)?,
            users: Out::create(dir, "users.csv", &USERS_HEADER)?,
            enrollments: Out::create(dir, "enrollments.csv", &ENROLLMENTS_HEADER)?,
        })
    }

    fn finish(self) -> Result<Vec<FileSummary>, GenerateError> {
        Ok(vec![
            self.sessions.finish()?,
            self.classes.finish()?,
            self.courses.finish()?,
            self.enrollments.finish()?,
            self.orgs.finish()?,
            self.users.finish()?,
        ])
    }
}

// ---------------------------------------------------------------------------------------------
// District plan: schools, students and families as compact numeric tables.

struct SchoolPlan {
    sid: String,
    name: String,
    identifier: String,
    level: Level,
    level_index: usize,
    /// Students per grade (index 0 = kindergarten).
    counts: [u32; 13],
    /// Global index of the school's first student; its students are contiguous, by grade.
    first: u32,
    total: u32,
}

struct Plan {
    district_name: &'static str,
    /// Staff email domain; students use `students.<domain>`.
    domain: String,
    schools: Vec<SchoolPlan>,
    student_school: Vec<u32>,
    /// Family `f` has children `members[member_off[f]..member_off[f+1]]` (ascending) and parents
    /// with global indices `parent_off[f]..parent_off[f+1]`.
    member_off: Vec<u32>,
    members: Vec<u32>,
    parent_off: Vec<u32>,
    family_of: Vec<u32>,
}

impl Plan {
    fn build(keys: &Keys, n: u32) -> Plan {
        let mut rng = keys.stream(salt::PLAN, 0);
        let district_name = DISTRICTS[index(keys.h(salt::DISTRICT, 0), DISTRICTS.len())];
        let slug = fold(district_name.split(' ').next().unwrap_or("district"));
        let domain = format!("{slug}.k12.example.org");

        let grade_weights: Vec<u32> = (0..13)
            .map(|_| 1000 + below(&mut rng, 120) as u32)
            .collect();
        let grade_counts = apportion(n, &grade_weights);

        let mut schools = Vec::new();
        let mut first = 0u32;
        for level in Level::ALL {
            let level_total: u32 = level.grades().map(|g| grade_counts[g as usize]).sum();
            if level_total == 0 {
                continue;
            }
            let ns = ((level_total as f64 / STUDENTS_PER_SCHOOL).round() as usize).max(1);
            let weights: Vec<u32> = (0..ns).map(|_| 75 + below(&mut rng, 51) as u32).collect();
            let mut counts = vec![[0u32; 13]; ns];
            for g in level.grades() {
                for (i, c) in apportion(grade_counts[g as usize], &weights)
                    .into_iter()
                    .enumerate()
                {
                    counts[i][g as usize] = c;
                }
            }
            let places = match level {
                Level::Elementary => ELEMENTARY_PLACES,
                Level::Middle => MIDDLE_PLACES,
                Level::High => HIGH_PLACES,
            };
            for (i, counts) in counts.into_iter().enumerate() {
                let no = schools.len();
                let mut name = format!("{} {}", places[i % places.len()], level.school_suffix());
                if i >= places.len() {
                    write!(name, " No. {}", i / places.len() + 1).unwrap();
                }
                let total = counts.iter().sum();
                schools.push(SchoolPlan {
                    sid: format!("{:05}", 100 + no),
                    name,
                    identifier: format!("{:012}", 60_000_000_000u64 + 37 * no as u64),
                    level,
                    level_index: i,
                    counts,
                    first,
                    total,
                });
                first += total;
            }
        }

        let mut student_school = Vec::with_capacity(n as usize);
        for (s, sp) in schools.iter().enumerate() {
            student_school.extend(std::iter::repeat_n(s as u32, sp.total as usize));
        }

        // Families live in a feeder zone (one per high school): siblings attend the elementary,
        // middle and high schools of the same zone, so parents span several schools.
        let n_high = schools
            .iter()
            .filter(|s| s.level == Level::High)
            .count()
            .max(1);
        let zone = |sp: &SchoolPlan| sp.level_index % n_high;
        let mut member_off = vec![0u32];
        let mut members = Vec::with_capacity(n as usize);
        let mut parent_off = vec![0u32];
        let mut family_of = vec![0u32; n as usize];
        let mut zone_students: Vec<u32> = Vec::new();
        for z in 0..n_high {
            zone_students.clear();
            for sp in schools.iter().filter(|sp| zone(sp) == z) {
                zone_students.extend(sp.first..sp.first + sp.total);
            }
            let mut rng = keys.stream(salt::FAMILY, z as u64);
            shuffle(&mut rng, &mut zone_students);
            let mut pos = 0;
            while pos < zone_students.len() {
                // Children per family: mean ≈ 1.35; parents per family: mean ≈ 1.87;
                // so ≈ 1.4 parents/guardians per student.
                let kids = [1, 2, 3, 4][weighted(&mut rng, &[72, 22, 5, 1])]
                    .min(zone_students.len() - pos);
                let parents = [1, 2, 3, 4][weighted(&mut rng, &[25, 65, 8, 2])];
                let chunk = &mut zone_students[pos..pos + kids];
                chunk.sort_unstable();
                let f = (member_off.len() - 1) as u32;
                for &st in chunk.iter() {
                    members.push(st);
                    family_of[st as usize] = f;
                }
                member_off.push(members.len() as u32);
                parent_off.push(parent_off[parent_off.len() - 1] + parents);
                pos += kids;
            }
        }

        Plan {
            district_name,
            domain,
            schools,
            student_school,
            member_off,
            members,
            parent_off,
            family_of,
        }
    }

    fn n_students(&self) -> u32 {
        self.student_school.len() as u32
    }

    fn n_families(&self) -> usize {
        self.member_off.len() - 1
    }

    fn n_parents(&self) -> u32 {
        self.parent_off[self.parent_off.len() - 1]
    }

    fn grade_of(&self, student: u32) -> u8 {
        let sp = &self.schools[self.student_school[student as usize] as usize];
        let mut at = sp.first;
        for g in sp.level.grades() {
            at += sp.counts[g as usize];
            if student < at {
                return g;
            }
        }
        unreachable!("student {student} outside its school's range")
    }
}

// ---------------------------------------------------------------------------------------------
// Changes relative to the base district.

/// Per-entity probabilities for a change run. They are sized so that, with ≈ 2.45 users and
/// ≈ 7.6 enrollments per student, about `pct`% of user+enrollment rows differ: a withdrawal
/// touches ≈ 10 rows (the student, its enrollments, its parents), an addition ≈ 10, a dropped
/// enrollment or a rename one row. The budget is split 30/30/20/20.
struct Rates {
    withdraw: f64,
    add: f64,
    drop: f64,
    rename: f64,
}

impl Rates {
    fn for_pct(pct: f64) -> Rates {
        let f = pct / 100.0;
        Rates {
            withdraw: 0.29 * f,
            add: 0.30 * f,
            drop: 0.27 * f,
            rename: 0.80 * f,
        }
    }
}

struct Added {
    school: u32,
    grade: u8,
    parent_first: u32,
    n_parents: u32,
}

struct Changes {
    rates: Rates,
    withdrawn: Vec<bool>,
    added: Vec<Added>,
    added_by_school: Vec<Vec<u32>>,
}

impl Changes {
    fn build(keys: &Keys, spec: &DistrictSpec, plan: &Plan) -> Changes {
        let rates = Rates::for_pct(spec.change_pct);
        let n = plan.n_students();
        let withdrawn = if rates.withdraw > 0.0 {
            (0..n)
                .map(|i| keys.chance(salt::WITHDRAW, i as u64, rates.withdraw))
                .collect()
        } else {
            vec![false; n as usize]
        };
        // New students join the school and grade of a randomly drawn existing student, so
        // additions follow the district's own distribution.
        let n_added = (n as f64 * rates.add).round() as u32;
        let mut added = Vec::with_capacity(n_added as usize);
        let mut added_by_school = vec![Vec::new(); plan.schools.len()];
        let mut next_parent = plan.n_parents();
        for j in 0..n_added {
            let like = index(keys.h(salt::ADD, j as u64), n as usize) as u32;
            let school = plan.student_school[like as usize];
            let n_parents = if keys.chance(salt::ADD_PARENTS, j as u64, 0.7) {
                2
            } else {
                1
            };
            added.push(Added {
                school,
                grade: plan.grade_of(like),
                parent_first: next_parent,
                n_parents,
            });
            added_by_school[school as usize].push(j);
            next_parent += n_parents;
        }
        Changes {
            rates,
            withdrawn,
            added,
            added_by_school,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Generation.

struct Gen<'a> {
    keys: Keys,
    plan: &'a Plan,
    changes: &'a Changes,
    given_f: Vec<String>,
    family_f: Vec<String>,
    /// Staff usernames are `given.family`, numbered on collision; only staff need the map,
    /// students and parents are unique by construction (their number is part of the name).
    staff_usernames: HashMap<String, u32>,
    next_teacher: u32,
    next_aide: u32,
    next_enr: u64,
    next_new_enr: u64,
    sum: GenerateSummary,
}

struct Teacher {
    global: u32,
    room: String,
    /// Remaining load in half-year classes.
    remaining: u8,
    taught: u8,
}

struct Class {
    sid: String,
    code: String,
    title: String,
    course: usize,
    subject: &'static Subject,
    term: Term,
    grade: u8,
    teacher: usize,
    periods: String,
    roster: std::ops::Range<usize>,
}

struct Course {
    sid: String,
    title: String,
}

/// Where a student of one grade lands for one timetable slot:
/// option → part → section → classes (a self-contained section is several classes).
type Placement = Vec<Vec<Vec<Vec<u32>>>>;

fn student_sid(buf: &mut String, idx: u32) {
    buf.clear();
    write!(buf, "{:08}", idx as u64 + 1).unwrap();
}

fn parent_sid(buf: &mut String, p: u32) {
    buf.clear();
    push_base62_id(buf, p as u64);
}

fn join_into(buf: &mut String, item: &str) {
    if !buf.is_empty() {
        buf.push(',');
    }
    buf.push_str(item);
}

/// A given name used as a middle name; a quoted nickname ("Molly") makes no sense there.
fn middle_name(h: u64) -> &'static str {
    let mut i = index(h, GIVEN.len());
    while GIVEN[i].contains('"') {
        i = (i + 1) % GIVEN.len();
    }
    GIVEN[i]
}

fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

impl Gen<'_> {
    fn write_orgs_and_sessions(&mut self, out: &mut Outputs) -> Result<(), GenerateError> {
        out.orgs.write([
            DISTRICT_ID,
            "",
            "",
            self.plan.district_name,
            "district",
            "0600001",
            "",
        ])?;
        for sp in &self.plan.schools {
            out.orgs.write([
                &sp.sid,
                "",
                "",
                &sp.name,
                "school",
                &sp.identifier,
                DISTRICT_ID,
            ])?;
        }
        for (id, title, ty, start, end, parent) in SESSIONS {
            out.sessions
                .write([id, "", "", title, ty, start, end, parent, "2027"])?;
        }
        self.sum.orgs = 1 + self.plan.schools.len();
        self.sum.sessions = SESSIONS.len();
        Ok(())
    }

    /// New family name for a renamed user: a different entry of the list.
    fn renamed_family(&self, key: u64, old: usize) -> Option<usize> {
        if !self
            .keys
            .chance(salt::RENAME, key, self.changes.rates.rename)
        {
            return None;
        }
        let mut i = index(self.keys.h(salt::NEW_NAME, key), FAMILY.len());
        if i == old {
            i = (i + 1) % FAMILY.len();
        }
        Some(i)
    }

    fn staff_username(&mut self, given: usize, family: usize) -> String {
        let base = format!("{}.{}", self.given_f[given], self.family_f[family]);
        let n = self.staff_usernames.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            base
        } else {
            format!("{base}{n}")
        }
    }

    fn write_school(&mut self, out: &mut Outputs, s: usize) -> Result<(), GenerateError> {
        let plan = self.plan;
        let sp = &plan.schools[s];
        let level = sp.level;
        let slots = level.slots();
        let subjects = catalog(level);
        let mut rng = self.keys.stream(salt::SCHOOL, s as u64);

        let mut courses: Vec<Course> = Vec::new();
        let mut classes: Vec<Class> = Vec::new();
        let mut roster: Vec<u32> = Vec::new();
        let mut teachers: Vec<Teacher> = Vec::new();
        let mut current: [Option<usize>; Dept::COUNT] = [None; Dept::COUNT];
        // placements[grade offset * slots + slot]
        let mut placements: Vec<Placement> = Vec::new();

        let mut grade_first = sp.first;
        for g in level.grades() {
            let count = sp.counts[g as usize];
            let students: Vec<u32> = (grade_first..grade_first + count).collect();
            grade_first += count;
            let gc = grade_code(g);
            let course_base = courses.len();
            if count > 0 {
                for subj in &subjects {
                    let c = Course {
                        sid: format!("{}-{}{}", sp.sid, subj.code, gc),
                        title: course_title(subj, g),
                    };
                    let code = format!("{}{}", subj.code, gc);
                    out.courses.write([
                        &c.sid,
                        "",
                        "",
                        SCHOOL_YEAR_ID,
                        &c.title,
                        &code,
                        &gc,
                        &sp.sid,
                        subj.name,
                        subj.sced,
                    ])?;
                    courses.push(c);
                }
            }
            // Section numbers per (subject, term) within this grade.
            let mut sec_no: Vec<(*const Subject, Term, u32)> = Vec::new();
            for slot in slots {
                let mut placement: Placement = Vec::new();
                let groups: Vec<Vec<u32>> = if count == 0 {
                    vec![Vec::new(); slot.options.len()]
                } else if slot.split {
                    let mut v = students.clone();
                    shuffle(&mut rng, &mut v);
                    let (a, b) = v.split_at(v.len().div_ceil(2));
                    let (mut a, mut b) = (a.to_vec(), b.to_vec());
                    a.sort_unstable();
                    b.sort_unstable();
                    vec![a, b]
                } else if slot.options.len() == 1 {
                    vec![students.clone()]
                } else {
                    let weights: Vec<u32> = slot.options.iter().map(|o| o.weight).collect();
                    let mut groups = vec![Vec::new(); slot.options.len()];
                    for &st in &students {
                        groups[weighted(&mut rng, &weights)].push(st);
                    }
                    groups
                };
                for (opt, members) in slot.options.iter().zip(&groups) {
                    let mut parts = Vec::new();
                    for part in opt.parts {
                        let mut sections = Vec::new();
                        if !members.is_empty() {
                            let k = members.len().div_ceil(level.max_class());
                            let mut v = members.clone();
                            shuffle(&mut rng, &mut v);
                            for sec in 0..k {
                                let chunk =
                                    &mut v[members.len() * sec / k..members.len() * (sec + 1) / k];
                                chunk.sort_unstable();
                                let dept = part.subjects[0].dept;
                                let t = assign_teacher(
                                    &mut teachers,
                                    &mut current,
                                    &mut rng,
                                    dept,
                                    part.term,
                                    &mut self.next_teacher,
                                );
                                let mut sec_classes = Vec::new();
                                for subj in part.subjects {
                                    let key = (*subj as *const Subject, part.term);
                                    let n = match sec_no.iter_mut().find(|e| (e.0, e.1) == key) {
                                        Some(e) => {
                                            e.2 += 1;
                                            e.2
                                        }
                                        None => {
                                            sec_no.push((key.0, key.1, 1));
                                            1
                                        }
                                    };
                                    let term_tag = match part.term {
                                        Term::Year => "",
                                        Term::S1 => "-S1",
                                        Term::S2 => "-S2",
                                    };
                                    let code = format!("{}{}{}-{:02}", subj.code, gc, term_tag, n);
                                    let course = course_base
                                        + subjects
                                            .iter()
                                            .position(|x| std::ptr::eq(*x, *subj))
                                            .expect("subject in catalog");
                                    let title = match part.term {
                                        Term::Year => {
                                            format!("{} - Section {n:02}", courses[course].title)
                                        }
                                        Term::S1 => format!(
                                            "{} (Fall) - Section {n:02}",
                                            courses[course].title
                                        ),
                                        Term::S2 => format!(
                                            "{} (Spring) - Section {n:02}",
                                            courses[course].title
                                        ),
                                    };
                                    let periods = if dept == Dept::Homeroom {
                                        subj.elem_period.to_string()
                                    } else {
                                        teachers[t].taught.to_string()
                                    };
                                    let start = roster.len();
                                    roster.extend_from_slice(chunk);
                                    sec_classes.push(classes.len() as u32);
                                    classes.push(Class {
                                        sid: format!("{}-{}", sp.sid, code),
                                        code,
                                        title,
                                        course,
                                        subject: subj,
                                        term: part.term,
                                        grade: g,
                                        teacher: t,
                                        periods,
                                        roster: start..roster.len(),
                                    });
                                }
                                sections.push(sec_classes);
                            }
                        }
                        parts.push(sections);
                    }
                    placement.push(parts);
                }
                placements.push(placement);
            }
        }

        // Aides: about one per twelve teachers, each helping in two to four classes.
        let n_aides = if classes.is_empty() {
            0
        } else {
            teachers.len().div_ceil(12)
        };
        let mut aide_links: Vec<(u32, u32)> = Vec::new();
        let mut aides: Vec<u32> = Vec::new();
        for a in 0..n_aides {
            let k = (2 + below(&mut rng, 3)).min(classes.len());
            let mut picked: Vec<u32> = Vec::new();
            while picked.len() < k {
                let c = below(&mut rng, classes.len()) as u32;
                if !picked.contains(&c) {
                    picked.push(c);
                }
            }
            aide_links.extend(picked.into_iter().map(|c| (c, a as u32)));
            aides.push(self.next_aide);
            self.next_aide += 1;
        }
        aide_links.sort_unstable();

        // Added students (change runs only) join one section per slot; their own stream keeps the
        // base placement untouched.
        let mut added_links: Vec<(u32, u32)> = Vec::new();
        if !self.changes.added_by_school[s].is_empty() {
            let mut crng = self.keys.stream(salt::CHANGE_SCHOOL, s as u64);
            let g0 = *level.grades().start();
            for &j in &self.changes.added_by_school[s] {
                let a = &self.changes.added[j as usize];
                for (si, slot) in slots.iter().enumerate() {
                    let pl = &placements[(a.grade - g0) as usize * slots.len() + si];
                    let open: Vec<usize> = (0..pl.len())
                        .filter(|&o| pl[o].iter().all(|part| !part.is_empty()))
                        .collect();
                    if open.is_empty() {
                        continue;
                    }
                    let o = if slot.split {
                        open[below(&mut crng, open.len())]
                    } else {
                        let w: Vec<u32> = open.iter().map(|&o| slot.options[o].weight).collect();
                        open[weighted(&mut crng, &w)]
                    };
                    for part in &pl[o] {
                        for &c in &part[below(&mut crng, part.len())] {
                            added_links.push((c, j));
                        }
                    }
                }
            }
            added_links.sort_unstable();
        }

        // classes.csv
        for c in &classes {
            let gc = grade_code(c.grade);
            let class_type = if std::ptr::eq(c.subject, &catalog::HR) {
                "homeroom"
            } else {
                "scheduled"
            };
            let location = c.subject.room.unwrap_or(&teachers[c.teacher].room);
            let terms = match c.term {
                Term::Year => BOTH_SEMESTERS,
                Term::S1 => SEMESTER_IDS[0],
                Term::S2 => SEMESTER_IDS[1],
            };
            out.classes.write([
                &c.sid,
                "",
                "",
                &c.title,
                &gc,
                &courses[c.course].sid,
                &c.code,
                class_type,
                location,
                &sp.sid,
                terms,
                c.subject.name,
                c.subject.sced,
                &c.periods,
            ])?;
        }
        self.sum.courses += courses.len();
        self.sum.classes += classes.len();

        // users.csv: staff, then students of this school.
        for t in &teachers {
            self.write_staff(out, &sp.sid, t.global, false)?;
        }
        for &a in &aides {
            self.write_staff(out, &sp.sid, a, true)?;
        }
        let mut buf = Scratch::default();
        for st in sp.first..sp.first + sp.total {
            if self.changes.withdrawn[st as usize] {
                self.sum.changes.withdrawn_students += 1;
                continue;
            }
            let f = plan.family_of[st as usize];
            let surname = index(self.keys.h(salt::SURNAME, f as u64), FAMILY.len());
            buf.agents.clear();
            for p in plan.parent_off[f as usize]..plan.parent_off[f as usize + 1] {
                parent_sid(&mut buf.id, p);
                join_into(&mut buf.agents, &buf.id);
            }
            let renamed = self.renamed_family(KEY_STUDENT | st as u64, surname);
            if renamed.is_some() {
                self.sum.changes.renamed += 1;
            }
            self.write_student(
                out,
                &mut buf,
                st,
                &sp.sid,
                plan.grade_of(st),
                surname,
                renamed,
            )?;
        }
        for &j in &self.changes.added_by_school[s] {
            let a = &self.changes.added[j as usize];
            let surname = index(self.keys.h(salt::ADD_SURNAME, j as u64), FAMILY.len());
            buf.agents.clear();
            for p in a.parent_first..a.parent_first + a.n_parents {
                parent_sid(&mut buf.id, p);
                join_into(&mut buf.agents, &buf.id);
            }
            self.write_student(
                out,
                &mut buf,
                plan.n_students() + j,
                &sp.sid,
                a.grade,
                surname,
                None,
            )?;
            self.sum.changes.added_students += 1;
        }

        // enrollments.csv, class by class: primary teacher, aides, students, added students.
        let (mut ai, mut ni) = (0, 0);
        let mut eid = String::new();
        let mut uid = String::new();
        for (ci, c) in classes.iter().enumerate() {
            eid.clear();
            write!(eid, "e{}", self.next_enr).unwrap();
            self.next_enr += 1;
            uid.clear();
            write!(uid, "T{:05}", teachers[c.teacher].global + 1).unwrap();
            out.enrollments.write([
                &eid, "", "", &c.sid, &sp.sid, &uid, "teacher", "true", "", "",
            ])?;
            self.sum.enrollments += 1;
            while ai < aide_links.len() && aide_links[ai].0 == ci as u32 {
                eid.clear();
                write!(eid, "e{}", self.next_enr).unwrap();
                self.next_enr += 1;
                uid.clear();
                write!(uid, "Aide{:04}", aides[aide_links[ai].1 as usize] + 1).unwrap();
                out.enrollments.write([
                    &eid, "", "", &c.sid, &sp.sid, &uid, "teacher", "false", "", "",
                ])?;
                self.sum.enrollments += 1;
                ai += 1;
            }
            for &st in &roster[c.roster.clone()] {
                let e = self.next_enr;
                self.next_enr += 1;
                if self.changes.withdrawn[st as usize] {
                    self.sum.changes.withdrawn_enrollments += 1;
                    continue;
                }
                if self.keys.chance(salt::DROP, e, self.changes.rates.drop) {
                    self.sum.changes.dropped_enrollments += 1;
                    continue;
                }
                eid.clear();
                write!(eid, "e{e}").unwrap();
                student_sid(&mut uid, st);
                out.enrollments
                    .write([&eid, "", "", &c.sid, &sp.sid, &uid, "student", "", "", ""])?;
                self.sum.enrollments += 1;
            }
            while ni < added_links.len() && added_links[ni].0 == ci as u32 {
                eid.clear();
                write!(eid, "en{}", self.next_new_enr).unwrap();
                self.next_new_enr += 1;
                student_sid(&mut uid, plan.n_students() + added_links[ni].1);
                out.enrollments
                    .write([&eid, "", "", &c.sid, &sp.sid, &uid, "student", "", "", ""])?;
                self.sum.enrollments += 1;
                self.sum.changes.added_enrollments += 1;
                ni += 1;
            }
        }
        Ok(())
    }

    fn write_staff(
        &mut self,
        out: &mut Outputs,
        school: &str,
        n: u32,
        aide: bool,
    ) -> Result<(), GenerateError> {
        let k = self.keys;
        let (sg, sf, key) = if aide {
            (salt::GIVEN_AIDE, salt::FAMILY_AIDE, KEY_AIDE | n as u64)
        } else {
            (salt::GIVEN_TEA, salt::FAMILY_TEA, KEY_TEACHER | n as u64)
        };
        let given = index(k.h(sg, n as u64), GIVEN.len());
        let family = index(k.h(sf, n as u64), FAMILY.len());
        let username = self.staff_username(given, family);
        let email = format!("{username}@{}", self.plan.domain);
        let renamed = self.renamed_family(key, family);
        if renamed.is_some() {
            self.sum.changes.renamed += 1;
        }
        let middle = if k.chance(salt::MIDDLE_TEA, key, 0.35) {
            middle_name(k.h(salt::MIDDLE_TEA, key ^ 1))
        } else {
            ""
        };
        let (sid, identifier, role) = if aide {
            (
                format!("Aide{:04}", n + 1),
                format!("{:06}", 900_000 + n),
                "aide",
            )
        } else {
            (
                format!("T{:05}", n + 1),
                format!("{:06}", 4_000 + n),
                "teacher",
            )
        };
        let enabled = !k.chance(salt::DISABLED_TEA, key, 0.015);
        out.users.write([
            &sid,
            "",
            "",
            bool_str(enabled),
            school,
            role,
            &username,
            "",
            GIVEN[given],
            FAMILY[renamed.unwrap_or(family)],
            middle,
            &identifier,
            &email,
            "",
            "",
            "",
            "",
            "",
        ])?;
        self.sum.users += 1;
        if aide {
            self.sum.aides += 1;
        } else {
            self.sum.teachers += 1;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn write_student(
        &mut self,
        out: &mut Outputs,
        buf: &mut Scratch,
        idx: u32,
        school: &str,
        grade: u8,
        surname: usize,
        renamed: Option<usize>,
    ) -> Result<(), GenerateError> {
        let k = self.keys;
        let i = idx as u64;
        let given = index(k.h(salt::GIVEN_STU, i), GIVEN.len());
        let middle = if k.chance(salt::MIDDLE_STU, i, 0.45) {
            middle_name(k.h(salt::MIDDLE_STU, i ^ (1 << 40)))
        } else {
            ""
        };
        let number = 10_000 + i;
        buf.username.clear();
        buf.username.push_str(&self.given_f[given][..1]);
        buf.username.push_str(&self.family_f[surname]);
        write!(buf.username, "{number}").unwrap();
        buf.email.clear();
        write!(buf.email, "{}@students.{}", buf.username, self.plan.domain).unwrap();
        buf.identifier.clear();
        write!(buf.identifier, "{number:07}").unwrap();
        student_sid(&mut buf.id, idx);
        let enabled = !k.chance(salt::DISABLED_STU, i, 0.006);
        out.users.write([
            &buf.id,
            "",
            "",
            bool_str(enabled),
            school,
            "student",
            &buf.username,
            "",
            GIVEN[given],
            FAMILY[renamed.unwrap_or(surname)],
            middle,
            &buf.identifier,
            &buf.email,
            "",
            "",
            &buf.agents,
            &grade_code(grade),
            "",
        ])?;
        self.sum.users += 1;
        self.sum.students += 1;
        Ok(())
    }

    fn write_parents(
        &mut self,
        out: &mut Outputs,
        progress: &dyn Fn(Phase, u64, u64),
    ) -> Result<(), GenerateError> {
        let plan = self.plan;
        let n_fam = plan.n_families();
        let total = (n_fam + self.changes.added.len()) as u64;
        let mut buf = Scratch::default();
        for f in 0..n_fam {
            if f % 8192 == 0 {
                progress(Phase::Parents, f as u64, total);
            }
            let kids = &plan.members[plan.member_off[f] as usize..plan.member_off[f + 1] as usize];
            let parents = plan.parent_off[f]..plan.parent_off[f + 1];
            buf.agents.clear();
            buf.orgs.clear();
            let mut last_school = u32::MAX;
            let mut present = 0;
            for &st in kids {
                if self.changes.withdrawn[st as usize] {
                    continue;
                }
                present += 1;
                student_sid(&mut buf.id, st);
                join_into(&mut buf.agents, &buf.id);
                // Children are ascending, hence grouped by school: dedup consecutive.
                let school = plan.student_school[st as usize];
                if school != last_school {
                    join_into(&mut buf.orgs, &plan.schools[school as usize].sid);
                    last_school = school;
                }
            }
            if present == 0 {
                self.sum.changes.removed_parents += parents.len();
                continue;
            }
            let surname = index(self.keys.h(salt::SURNAME, f as u64), FAMILY.len());
            for (ord, p) in parents.enumerate() {
                if present < kids.len() {
                    self.sum.changes.relinked_parents += 1;
                }
                self.write_parent(out, &mut buf, p, ord, surname, true)?;
            }
        }
        for (j, a) in self.changes.added.iter().enumerate() {
            buf.agents.clear();
            student_sid(&mut buf.agents, plan.n_students() + j as u32);
            buf.orgs.clear();
            buf.orgs.push_str(&plan.schools[a.school as usize].sid);
            let surname = index(self.keys.h(salt::ADD_SURNAME, j as u64), FAMILY.len());
            for (ord, p) in (a.parent_first..a.parent_first + a.n_parents).enumerate() {
                self.write_parent(out, &mut buf, p, ord, surname, false)?;
                self.sum.changes.added_parents += 1;
            }
        }
        progress(Phase::Parents, total, total);
        Ok(())
    }

    /// `buf.agents` and `buf.orgs` hold the children and their schools.
    fn write_parent(
        &mut self,
        out: &mut Outputs,
        buf: &mut Scratch,
        p: u32,
        ord: usize,
        family_surname: usize,
        base: bool,
    ) -> Result<(), GenerateError> {
        let k = self.keys;
        let i = p as u64;
        let key = KEY_PARENT | i;
        let given = index(k.h(salt::GIVEN_PAR, i), GIVEN.len());
        // The first parent usually shares the children's name, a second one less often.
        let same = [0.85, 0.55, 0.2, 0.2][ord.min(3)];
        let family = if k.chance(salt::FAMILY_PAR, i, same) {
            family_surname
        } else {
            index(k.h(salt::FAMILY_PAR, i ^ (1 << 40)), FAMILY.len())
        };
        let renamed = if base {
            self.renamed_family(key, family)
        } else {
            None
        };
        if renamed.is_some() {
            self.sum.changes.renamed += 1;
        }
        let middle = if k.chance(salt::MIDDLE_PAR, i, 0.2) {
            middle_name(k.h(salt::MIDDLE_PAR, i ^ (1 << 40)))
        } else {
            ""
        };
        let role = if k.chance(salt::GUARDIAN, i, 0.12) {
            "guardian"
        } else {
            "parent"
        };
        let (gf, ff) = (&self.given_f[given], &self.family_f[family]);
        buf.username.clear();
        write!(buf.username, "{gf}{ff}.{}", i + 1).unwrap();
        buf.email.clear();
        let h = k.h(salt::EMAIL_PAR, i);
        if rand_util::unit(h) < 0.88 {
            let domain = PARENT_MAIL_DOMAINS[index(h.rotate_left(17), PARENT_MAIL_DOMAINS.len())];
            write!(buf.email, "{gf}.{ff}{}@{domain}", i + 1).unwrap();
        }
        buf.phone.clear();
        let h = k.h(salt::PHONE_PAR, i);
        if rand_util::unit(h) < 0.8 {
            // 555-01xx numbers are reserved for fiction.
            let area = 201 + index(h.rotate_left(13), 780);
            write!(
                buf.phone,
                "({area}) 555-01{:02}",
                index(h.rotate_left(37), 100)
            )
            .unwrap();
        }
        let sms = if !buf.phone.is_empty() && rand_util::unit(h.rotate_left(51)) < 0.35 {
            buf.phone.as_str()
        } else {
            ""
        };
        parent_sid(&mut buf.id, p);
        let enabled = !k.chance(salt::DISABLED_PAR, i, 0.03);
        out.users.write([
            &buf.id,
            "",
            "",
            bool_str(enabled),
            &buf.orgs,
            role,
            &buf.username,
            "",
            GIVEN[given],
            FAMILY[renamed.unwrap_or(family)],
            middle,
            "",
            &buf.email,
            sms,
            &buf.phone,
            &buf.agents,
            "",
            "",
        ])?;
        self.sum.users += 1;
        self.sum.parents += 1;
        Ok(())
    }
}

#[derive(Default)]
struct Scratch {
    id: String,
    agents: String,
    orgs: String,
    username: String,
    email: String,
    identifier: String,
    phone: String,
}

/// Picks the teacher for a new section: the department's current teacher while their load
/// allows, else a new teacher with a load of five or six year-long classes. Elementary homeroom
/// teachers take exactly one self-contained section. Periods follow the teacher's own order, so
/// a teacher never has two classes in the same period.
fn assign_teacher(
    teachers: &mut Vec<Teacher>,
    current: &mut [Option<usize>; Dept::COUNT],
    rng: &mut Stream,
    dept: Dept,
    term: Term,
    next_teacher: &mut u32,
) -> usize {
    let load = term.load();
    if dept != Dept::Homeroom {
        if let Some(t) = current[dept as usize] {
            if teachers[t].remaining >= load {
                teachers[t].remaining -= load;
                teachers[t].taught += 1;
                return t;
            }
        }
    }
    let capacity = if dept == Dept::Homeroom {
        load
    } else {
        10 + 2 * below(rng, 2) as u8
    };
    let local = teachers.len();
    // Rooms by floor: 101–130, 201–230, …
    let room = format!("Room {}{:02}", 1 + local / 30, 1 + local % 30);
    teachers.push(Teacher {
        global: *next_teacher,
        room,
        remaining: capacity - load,
        taught: 1,
    });
    *next_teacher += 1;
    current[dept as usize] = Some(local);
    local
}
