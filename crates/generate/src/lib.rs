//! A realistic, deterministic synthetic district, written as a OneRoster 1.1 bulk CSV
//! package: one district, elementary/middle/high schools, a school year with two
//! semesters, courses per school, grade and subject, classes of about 28, teachers,
//! aides, students in seven classes each, and parents/guardians linked to their children
//! through `agentSourcedIds` in both directions.
//!
//! Every choice is a hash of (seed, what, which), not a draw from a sequence, so a district
//! generated with `change_pct` differs from its base only where a change was decided
//! (renamed, added, withdrawn, dropped), and the same spec always gives the same bytes.

mod names;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::xxh3_64;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct DistrictSpec {
    pub students: u32,
    pub seed: u64,
    /// 0 = the base district; otherwise about this percent of rows changed.
    pub change_pct: f64,
}

/// Counts of what was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenerateSummary {
    pub orgs: usize,
    pub sessions: usize,
    pub courses: usize,
    pub classes: usize,
    pub users: usize,
    pub students: usize,
    pub teachers: usize,
    pub parents: usize,
    pub enrollments: usize,
    pub changes: ChangeSummary,
}

/// What a changed district changed relative to its base.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSummary {
    pub renamed: usize,
    pub added_students: usize,
    pub withdrawn_students: usize,
    pub dropped_enrollments: usize,
}

/// Progress phases, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Schools,
    Users,
    Enrollments,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot write CSV {path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("a district needs at least one student")]
    NoStudents,
}

const GRADES: [&str; 13] = ["KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"];
const CLASS_SIZE: u32 = 28;
const CLASSES_PER_TEACHER: u32 = 5;

#[derive(Clone, Copy, PartialEq)]
enum Term {
    Year,
    Fall,
    Spring,
}

/// Seven subjects: every student takes one class of each.
const SUBJECTS: [(&str, &str, Term); 7] = [
    ("ENG", "English", Term::Year),
    ("MATH", "Mathematics", Term::Year),
    ("SCI", "Science", Term::Fall),
    ("SOC", "Social Studies", Term::Spring),
    ("ART", "Art", Term::Fall),
    ("MUS", "Music", Term::Spring),
    ("PE", "Physical Education", Term::Fall),
];

struct Band {
    letter: char,
    label: &'static str,
    grades: std::ops::RangeInclusive<usize>,
    schools: u32,
}

/// The deterministic shape of a district.
struct District {
    seed: u64,
    /// Students in the base district; indexes at or above are added students.
    base: u32,
    /// Students written (base + added).
    total: u32,
    bands: [Band; 3],
    /// Base students per (band, school, grade), which fixes the number of sections.
    counts: Vec<Vec<[u32; 13]>>,
    change: f64,
}

impl District {
    fn new(spec: &DistrictSpec) -> District {
        let n = spec.students;
        let per_band = |grades: usize| ((n as u64 * grades as u64 / 13) as u32 / 700).max(1);
        let bands = [
            Band { letter: 'E', label: "Elementary School", grades: 0..=5, schools: per_band(6) },
            Band { letter: 'M', label: "Middle School", grades: 6..=8, schools: per_band(3) },
            Band { letter: 'H', label: "High School", grades: 9..=12, schools: per_band(4) },
        ];
        let mut counts: Vec<Vec<[u32; 13]>> = bands.iter().map(|b| vec![[0u32; 13]; b.schools as usize]).collect();
        let q = spec.change_pct.clamp(0.0, 100.0) / 400.0;
        let added = if q > 0.0 { (n as f64 * q).round() as u32 } else { 0 };
        let mut d = District { seed: spec.seed, base: n, total: n + added, bands, counts: Vec::new(), change: q };
        for i in 0..n {
            let (b, s, g, _) = d.placement(i);
            counts[b][s as usize][g] += 1;
        }
        d.counts = counts;
        d
    }

    fn h(&self, what: u64, which: u64) -> u64 {
        let mut buf = [0u8; 24];
        buf[..8].copy_from_slice(&self.seed.to_le_bytes());
        buf[8..16].copy_from_slice(&what.to_le_bytes());
        buf[16..].copy_from_slice(&which.to_le_bytes());
        xxh3_64(&buf)
    }

    /// A change decided with probability `self.change` (changed districts only).
    fn changed(&self, what: u64, which: u64) -> bool {
        self.change > 0.0 && (self.h(1000 + what, which) % 1_000_000) as f64 / 1_000_000.0 < self.change
    }

    /// (band, school in band, grade, rank among the school's grade).
    fn placement(&self, i: u32) -> (usize, u32, usize, u32) {
        let g = (i % 13) as usize;
        let b = self.bands.iter().position(|b| b.grades.contains(&g)).unwrap_or(0);
        let s = self.bands[b].schools;
        let k = i / 13;
        (b, k % s, g, k / s)
    }

    fn school_code(&self, b: usize, s: u32) -> String {
        format!("{}{:02}", self.bands[b].letter, s + 1)
    }

    fn sections(&self, b: usize, s: u32, g: usize) -> u32 {
        self.counts[b][s as usize][g].div_ceil(CLASS_SIZE)
    }

    fn withdrawn(&self, i: u32) -> bool {
        i < self.base && self.changed(1, i as u64)
    }

    fn exists(&self, i: u32) -> bool {
        i < self.total && !self.withdrawn(i)
    }

    /// Siblings are consecutive indexes (so they are in different grades).
    fn sibling_of_previous(&self, i: u32) -> bool {
        i > 0 && self.h(2, i as u64) % 5 == 0
    }

    fn family(&self, i: u32) -> u32 {
        let mut f = i;
        while self.sibling_of_previous(f) {
            f -= 1;
        }
        f
    }

    fn children(&self, f: u32) -> Vec<u32> {
        let mut v = Vec::new();
        let mut j = f;
        loop {
            if self.exists(j) {
                v.push(j);
            }
            j += 1;
            if j >= self.total || !self.sibling_of_previous(j) {
                break;
            }
        }
        v
    }

    fn parents(&self, f: u32) -> u32 {
        if self.h(3, f as u64) % 10 < 7 {
            2
        } else {
            1
        }
    }

    fn family_name(&self, f: u32) -> &'static str {
        names::FAMILY[(self.h(5, f as u64) % names::FAMILY.len() as u64) as usize]
    }

    fn renamed_family(&self, which: u64, current: &'static str) -> &'static str {
        let mut k = self.h(50, which);
        loop {
            let n = names::FAMILY[(k % names::FAMILY.len() as u64) as usize];
            if n != current {
                return n;
            }
            k = k.wrapping_add(1);
        }
    }

    fn given(&self, what: u64, which: u64) -> &'static str {
        names::GIVEN[(self.h(4 + what * 100, which) % names::GIVEN.len() as u64) as usize]
    }

    fn student_id(i: u32) -> String {
        format!("{:08}", i + 1)
    }

    fn parent_id(f: u32, p: u32) -> String {
        format!("P{:07}{}", f + 1, if p == 0 { 'a' } else { 'b' })
    }
}

struct Out {
    dir: PathBuf,
}

impl Out {
    fn writer(&self, name: &str) -> Result<(csv::Writer<BufWriter<File>>, PathBuf), GenerateError> {
        let path = self.dir.join(name);
        let file = File::create(&path).map_err(|source| GenerateError::Io { path: path.clone(), source })?;
        Ok((csv::WriterBuilder::new().from_writer(BufWriter::with_capacity(1 << 20, file)), path))
    }
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> GenerateError + '_ {
    move |source| GenerateError::Csv { path: path.to_path_buf(), source }
}

fn finish(mut w: csv::Writer<BufWriter<File>>, path: &Path) -> Result<(), GenerateError> {
    w.flush().map_err(|source| GenerateError::Io { path: path.to_path_buf(), source })
}

/// Writes the district described by `spec` into `out_dir` (created if needed).
pub fn write_oneroster_csv(
    spec: &DistrictSpec,
    out_dir: &Path,
    progress: &dyn Fn(Phase, u64, u64),
) -> Result<GenerateSummary, GenerateError> {
    if spec.students == 0 {
        return Err(GenerateError::NoStudents);
    }
    std::fs::create_dir_all(out_dir).map_err(|source| GenerateError::Io { path: out_dir.to_path_buf(), source })?;
    let d = District::new(spec);
    let out = Out { dir: out_dir.to_path_buf() };
    let mut sum = GenerateSummary::default();

    write_manifest(&out)?;
    progress(Phase::Schools, 0, 1);

    // Orgs.
    let (mut w, path) = out.writer("orgs.csv")?;
    let e = csv_err(&path);
    w.write_record(["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"]).map_err(&e)?;
    w.write_record(["dist-001", "", "", "Springfield Unified School District", "district", "SUSD", ""]).map_err(&e)?;
    sum.orgs += 1;
    for (b, band) in d.bands.iter().enumerate() {
        for s in 0..band.schools {
            let code = d.school_code(b, s);
            let name = format!("Springfield {} {}", band.label, s + 1);
            w.write_record([format!("sch-{code}").as_str(), "", "", &name, "school", &code, "dist-001"]).map_err(&e)?;
            sum.orgs += 1;
        }
    }
    finish(w, &path)?;

    // Sessions.
    let (mut w, path) = out.writer("academicSessions.csv")?;
    let e = csv_err(&path);
    w.write_record(["sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear"]).map_err(&e)?;
    w.write_record(["sy-2026-2027", "", "", "2026-2027", "schoolYear", "2026-08-17", "2027-06-11", "", "2027"]).map_err(&e)?;
    w.write_record(["fall-2026", "", "", "Fall 2026", "semester", "2026-08-17", "2027-01-15", "sy-2026-2027", "2027"]).map_err(&e)?;
    w.write_record(["spring-2027", "", "", "Spring 2027", "semester", "2027-01-19", "2027-06-11", "sy-2026-2027", "2027"]).map_err(&e)?;
    sum.sessions = 3;
    finish(w, &path)?;

    // Courses and classes, and which teacher teaches each class.
    let (mut cw, cpath) = out.writer("courses.csv")?;
    let (mut kw, kpath) = out.writer("classes.csv")?;
    let ce = csv_err(&cpath);
    let ke = csv_err(&kpath);
    cw.write_record(["sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode", "grades", "orgSourcedId", "subjects", "subjectCodes"]).map_err(&ce)?;
    kw.write_record(["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"]).map_err(&ke)?;
    // Per school: class ids in teaching order.
    let mut school_classes: Vec<Vec<Vec<String>>> = d.bands.iter().map(|b| vec![Vec::new(); b.schools as usize]).collect();
    for (b, band) in d.bands.iter().enumerate() {
        for s in 0..band.schools {
            let code = d.school_code(b, s);
            for g in band.grades.clone() {
                let sections = d.sections(b, s, g);
                if sections == 0 {
                    continue;
                }
                for (subj, subject, term) in SUBJECTS {
                    let course = format!("crs-{code}-{}-{subj}", GRADES[g]);
                    let title = format!("{subject} {}", if g == 0 { "Kindergarten".to_string() } else { format!("Grade {}", g) });
                    cw.write_record([course.as_str(), "", "", "sy-2026-2027", &title, &format!("{subj}-{}", GRADES[g]), GRADES[g], &format!("sch-{code}"), subject, ""]).map_err(&ce)?;
                    sum.courses += 1;
                    let terms = match term {
                        Term::Year => "fall-2026,spring-2027",
                        Term::Fall => "fall-2026",
                        Term::Spring => "spring-2027",
                    };
                    for k in 0..sections {
                        let class = format!("cls-{code}-{}-{subj}-{:02}", GRADES[g], k + 1);
                        kw.write_record([
                            class.as_str(),
                            "",
                            "",
                            &format!("{title} - Section {}", k + 1),
                            GRADES[g],
                            &course,
                            &format!("{subj}-{}-{}", GRADES[g], k + 1),
                            "scheduled",
                            &format!("Room {}", 100 + (k % 40)),
                            &format!("sch-{code}"),
                            terms,
                            subject,
                            "",
                            &format!("{}", k % 7 + 1),
                        ])
                        .map_err(&ke)?;
                        sum.classes += 1;
                        school_classes[b][s as usize].push(class);
                    }
                }
            }
        }
    }
    finish(cw, &cpath)?;
    finish(kw, &kpath)?;

    // Users.
    let (mut w, path) = out.writer("users.csv")?;
    let e = csv_err(&path);
    w.write_record([
        "sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds", "givenName",
        "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password",
    ])
    .map_err(&e)?;
    let mut renamed = 0usize;
    // Staff: teachers and aides per school.
    for (b, band) in d.bands.iter().enumerate() {
        for s in 0..band.schools {
            let code = d.school_code(b, s);
            let classes = school_classes[b][s as usize].len() as u32;
            let teachers = classes.div_ceil(CLASSES_PER_TEACHER);
            for t in 0..teachers.max(1) {
                let id = format!("T{code}{t:03}");
                let which = ((b as u64) << 40) | ((s as u64) << 20) | t as u64;
                let given = d.given(1, which);
                let mut family = names::FAMILY[(d.h(6, which) % names::FAMILY.len() as u64) as usize];
                if d.changed(2, which) {
                    family = d.renamed_family(which, family);
                    renamed += 1;
                }
                let username = format!("{}.{}.{}", names::ascii(given), names::ascii(family), id.to_lowercase());
                let email = format!("{username}@springfield.example");
                w.write_record([id.as_str(), "", "", "true", &format!("sch-{code}"), "teacher", &username, "", given, family, "", &id, &email, "", "", "", "", ""]).map_err(&e)?;
                sum.teachers += 1;
                sum.users += 1;
            }
            for a in 0..teachers / 20 {
                let id = format!("A{code}{a:02}");
                let which = (1u64 << 60) | ((b as u64) << 40) | ((s as u64) << 20) | a as u64;
                let given = d.given(2, which);
                let family = names::FAMILY[(d.h(7, which) % names::FAMILY.len() as u64) as usize];
                let username = format!("{}.{}.{}", names::ascii(given), names::ascii(family), id.to_lowercase());
                w.write_record([id.as_str(), "", "", "true", &format!("sch-{code}"), "aide", &username, "", given, family, "", &id, &format!("{username}@springfield.example"), "", "", "", "", ""]).map_err(&e)?;
                sum.users += 1;
            }
        }
    }
    // Students.
    let mut withdrawn = 0usize;
    for i in 0..d.total {
        if i % 65_536 == 0 {
            progress(Phase::Users, i as u64, d.total as u64);
        }
        if !d.exists(i) {
            withdrawn += 1;
            continue;
        }
        let (b, s, g, _) = d.placement(i);
        let code = d.school_code(b, s);
        let f = d.family(i);
        let given = d.given(0, i as u64);
        let mut family = d.family_name(f);
        if d.changed(3, i as u64) {
            family = d.renamed_family(i as u64, family);
            renamed += 1;
        }
        let id = District::student_id(i);
        let username = format!("{}.{}{}", names::ascii(given), names::ascii(family), i + 1);
        let agents: Vec<String> = (0..d.parents(f)).map(|p| District::parent_id(f, p)).collect();
        let enabled = if d.h(8, i as u64) % 200 == 0 { "false" } else { "true" };
        w.write_record([
            id.as_str(),
            "",
            "",
            enabled,
            &format!("sch-{code}"),
            "student",
            &username,
            "",
            given,
            family,
            "",
            &format!("S{:07}", i + 1),
            &format!("{username}@students.springfield.example"),
            "",
            "",
            &agents.join(","),
            GRADES[g],
            "",
        ])
        .map_err(&e)?;
        sum.students += 1;
        sum.users += 1;
    }
    // Parents and guardians, once per family that still has a child.
    for f in 0..d.total {
        if d.sibling_of_previous(f) {
            continue;
        }
        let children = d.children(f);
        if children.is_empty() {
            continue;
        }
        let family = d.family_name(f);
        let kids: Vec<String> = children.iter().map(|c| District::student_id(*c)).collect();
        let orgs: Vec<String> = {
            let mut o: Vec<String> = children.iter().map(|c| {
                let (b, s, _, _) = d.placement(*c);
                format!("sch-{}", d.school_code(b, s))
            }).collect();
            o.dedup();
            o
        };
        for p in 0..d.parents(f) {
            let id = District::parent_id(f, p);
            let which = ((f as u64) << 1) | p as u64;
            let given = d.given(3, which);
            let mut fam = family;
            if d.changed(4, which) {
                fam = d.renamed_family(which, fam);
                renamed += 1;
            }
            let role = if d.h(9, which) % 10 == 0 { "guardian" } else { "parent" };
            let username = format!("{}.{}.{}", names::ascii(given), names::ascii(fam), id.to_lowercase());
            let phone = format!("555-{:04}", d.h(10, which) % 10_000);
            w.write_record([id.as_str(), "", "", "true", &orgs.join(","), role, &username, "", given, fam, "", "", &format!("{username}@mail.example"), "", &phone, &kids.join(","), "", ""]).map_err(&e)?;
            sum.parents += 1;
            sum.users += 1;
        }
    }
    finish(w, &path)?;

    // Enrollments: every student in one section of each subject, then teachers and aides.
    let (mut w, path) = out.writer("enrollments.csv")?;
    let e = csv_err(&path);
    w.write_record(["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate", "endDate"]).map_err(&e)?;
    let mut dropped = 0usize;
    for i in 0..d.total {
        if i % 65_536 == 0 {
            progress(Phase::Enrollments, i as u64, d.total as u64);
        }
        if !d.exists(i) {
            continue;
        }
        let (b, s, g, rank) = d.placement(i);
        let sections = d.sections(b, s, g).max(1);
        let code = d.school_code(b, s);
        let id = District::student_id(i);
        for (k, (subj, _, _)) in SUBJECTS.iter().enumerate() {
            if d.changed(5, (i as u64) << 3 | k as u64) {
                dropped += 1;
                continue;
            }
            let section = (rank + k as u32) % sections;
            let class = format!("cls-{code}-{}-{subj}-{:02}", GRADES[g], section + 1);
            w.write_record([format!("enr-{id}-{subj}").as_str(), "", "", &class, &format!("sch-{code}"), &id, "student", "false", "", ""]).map_err(&e)?;
            sum.enrollments += 1;
        }
    }
    for (b, band) in d.bands.iter().enumerate() {
        for s in 0..band.schools {
            let code = d.school_code(b, s);
            let classes = &school_classes[b][s as usize];
            for (c, class) in classes.iter().enumerate() {
                let teacher = format!("T{code}{:03}", c as u32 / CLASSES_PER_TEACHER);
                w.write_record([format!("enr-{class}-{teacher}").as_str(), "", "", class, &format!("sch-{code}"), &teacher, "teacher", "true", "", ""]).map_err(&e)?;
                sum.enrollments += 1;
                // An aide supports one class in twenty.
                let teachers = (classes.len() as u32).div_ceil(CLASSES_PER_TEACHER);
                let aides = teachers / 20;
                if aides > 0 && c % 20 == 0 {
                    let aide = format!("A{code}{:02}", (c as u32 / 20) % aides);
                    w.write_record([format!("enr-{class}-{aide}").as_str(), "", "", class, &format!("sch-{code}"), &aide, "teacher", "false", "", ""]).map_err(&e)?;
                    sum.enrollments += 1;
                }
            }
        }
    }
    finish(w, &path)?;
    progress(Phase::Enrollments, d.total as u64, d.total as u64);

    sum.changes = ChangeSummary {
        renamed,
        added_students: (d.total - d.base) as usize,
        withdrawn_students: withdrawn,
        dropped_enrollments: dropped,
    };
    Ok(sum)
}

fn write_manifest(out: &Out) -> Result<(), GenerateError> {
    let (mut w, path) = out.writer("manifest.csv")?;
    let e = csv_err(&path);
    let rows: [(&str, &str); 17] = [
        ("manifest.version", "1.0"),
        ("oneroster.version", "1.1"),
        ("file.academicSessions", "bulk"),
        ("file.categories", "absent"),
        ("file.classes", "bulk"),
        ("file.classResources", "absent"),
        ("file.courses", "bulk"),
        ("file.courseResources", "absent"),
        ("file.demographics", "absent"),
        ("file.enrollments", "bulk"),
        ("file.lineItems", "absent"),
        ("file.orgs", "bulk"),
        ("file.resources", "absent"),
        ("file.results", "absent"),
        ("file.users", "bulk"),
        ("source.systemName", "rosterbridge generate"),
        ("source.systemCode", "rosterbridge"),
    ];
    w.write_record(["propertyName", "value"]).map_err(&e)?;
    for (k, v) in rows {
        w.write_record([k, v]).map_err(&e)?;
    }
    finish(w, &path)
}
