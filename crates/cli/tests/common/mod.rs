//! Test helpers: a small OneRoster 1.1 package written from strings, a config beside it,
//! and the real `rosterbridge` binary.

#![allow(dead_code)]

pub mod sandbox;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const MANIFEST: &str = "propertyName,value\n\
manifest.version,1.0\n\
oneroster.version,1.1\n\
file.academicSessions,bulk\n\
file.categories,absent\n\
file.classes,bulk\n\
file.classResources,absent\n\
file.courses,bulk\n\
file.courseResources,absent\n\
file.demographics,absent\n\
file.enrollments,bulk\n\
file.lineItems,absent\n\
file.orgs,bulk\n\
file.resources,absent\n\
file.results,absent\n\
file.users,bulk\n";

pub const ORGS: &str = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n\
dist,,,Springfield District,district,,\n\
sch-1,,,Springfield High,school,SHS,dist\n";

pub const SESSIONS: &str =
    "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n\
sy-2027,,,2026-2027,schoolYear,2026-08-17,2027-06-11,,2027\n\
fall-2026,,,Fall 2026,semester,2026-08-17,2027-01-15,sy-2027,2027\n";

pub const COURSES: &str = "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\n\
crs-phys,,,sy-2027,Physics,PHY,\"09,10\",sch-1,Science,\n";

pub const CLASSES: &str = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n\
cls-001,,,Physics - P1,\"09,10\",crs-phys,PHY-1,scheduled,Room 2,sch-1,fall-2026,Science,,1\n\
cls-002,,,Physics - P2,\"09,10\",crs-phys,PHY-2,scheduled,Room 2,sch-1,fall-2026,Science,,2\n";

pub const USERS: &str = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n\
t-1,,,true,sch-1,teacher,mkrabappel,,Edna,Krabappel,,,edna@springfield.edu,,,,,\n\
007,,,true,sch-1,student,bart,,Bart,Simpson,JoJo,0007,bart@springfield.edu,,,p-1,10,\n\
008,,,true,sch-1,student,lisa,,Lisa,Simpson,,0008,lisa@springfield.edu,,,p-1,09,\n\
009,,,true,sch-1,student,milhouse,,Milhouse,\"Van Houten, Jr.\",,0009,mvh@springfield.edu,,,,10,\n\
p-1,,,true,sch-1,parent,marge,,Marge,Simpson,,,marge@example.org,,,\"007,008\",,\n";

pub const ENROLLMENTS: &str = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n\
e-1,,,cls-001,sch-1,t-1,teacher,true,,\n\
e-2,,,cls-001,sch-1,007,student,false,,\n\
e-3,,,cls-001,sch-1,008,student,false,,\n\
e-4,,,cls-002,sch-1,t-1,teacher,true,,\n\
e-5,,,cls-002,sch-1,009,student,false,,\n";

pub const CONFIG: &str = "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"http://127.0.0.1:8089\"\naccount_id = 1\ntoken_env = \"CANVAS_TOKEN\"\n";

/// A temp folder holding `rosterbridge.toml` and a `district/` package.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        let f = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        f.write("rosterbridge.toml", CONFIG);
        f.district(&[
            ("manifest.csv", MANIFEST),
            ("orgs.csv", ORGS),
            ("academicSessions.csv", SESSIONS),
            ("courses.csv", COURSES),
            ("classes.csv", CLASSES),
            ("users.csv", USERS),
            ("enrollments.csv", ENROLLMENTS),
        ]);
        f
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        self.write_bytes(rel, content.as_bytes());
    }

    pub fn write_bytes(&self, rel: &str, content: &[u8]) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    pub fn district(&self, files: &[(&str, &str)]) {
        for (name, content) in files {
            self.write(&format!("district/{name}"), content);
        }
    }

    pub fn config(&self) -> String {
        self.path("rosterbridge.toml").display().to_string()
    }

    /// Runs `rosterbridge ARGS --config <fixture config>` in the fixture folder.
    pub fn rb(&self, args: &[&str]) -> Run {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.push("--config".into());
        all.push(self.config());
        run_in(self.dir.path(), &all)
    }

    pub fn state_exists(&self) -> bool {
        self.path("rosterbridge.state.db").exists()
    }

    /// Number of stored objects and runs in the state database.
    pub fn state_counts(&self) -> (i64, i64) {
        let db = rusqlite::Connection::open(self.path("rosterbridge.state.db")).unwrap();
        let objects = db
            .query_row("SELECT count(*) FROM objects", [], |r| r.get(0))
            .unwrap();
        let runs = db
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .unwrap();
        (objects, runs)
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

pub fn run_in(dir: &Path, args: &[String]) -> Run {
    run_env(dir, args, &[])
}

/// Runs the binary in `dir` with extra environment variables.
pub fn run_env(dir: &Path, args: &[String], env: &[(&str, &str)]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_rosterbridge"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .env_remove("ROSTERBRIDGE_REPORT_PEAK_RSS")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `summary[kind][action]` from `plan --json`.
pub fn count(plan: &serde_json::Value, kind: &str, action: &str) -> u64 {
    plan["summary"][kind][action]
        .as_u64()
        .unwrap_or_else(|| panic!("no summary.{kind}.{action} in {}", plan["summary"]))
}
