//! Safety and operations end to end against real sandbox processes: thresholds per scope
//! and approve-once, guards (empty table, vendor re-key), a simulated summer rollover
//! (blackout, add-only, ended sessions concluded), the run lock and timeout, run history,
//! notifications to a real local HTTP and SMTP receiver, undo, reconcile, and the
//! test-then-production switch.

mod common;

use common::sandbox::{Sandbox, TOKEN};
use common::{run_env, Run};
use rosterbridge_canvas_client::{sis_path, Retry};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    /// A generated district and a config pointing at `url`; `canvas_extra` goes into
    /// `[canvas]`, `top` after it (other tables).
    fn new(url: &str, canvas_extra: &str, top: &str) -> Work {
        let w = Work {
            dir: tempfile::tempdir().unwrap(),
        };
        w.config(url, canvas_extra, top);
        w
    }

    fn config(&self, url: &str, canvas_extra: &str, top: &str) {
        let config = format!(
            "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"{url}\"\naccount_id = 1\ntoken_env = \"CANVAS_TOKEN\"\n{canvas_extra}\n\n{top}\n"
        );
        std::fs::write(self.path("rosterbridge.toml"), config).unwrap();
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn rb_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if args.first().is_some_and(|a| *a != "generate") {
            all.extend([
                "--config".to_string(),
                self.path("rosterbridge.toml").display().to_string(),
            ]);
        }
        let mut e = vec![("CANVAS_TOKEN", TOKEN)];
        e.extend_from_slice(env);
        run_env(self.dir.path(), &all, &e)
    }

    fn rb(&self, args: &[&str]) -> Run {
        self.rb_env(args, &[])
    }

    fn generate(&self, students: u32) {
        let students = students.to_string();
        let out = self.path("district").display().to_string();
        self.rb(&[
            "generate",
            "--students",
            &students,
            "--seed",
            "11",
            "--out",
            &out,
            "-q",
        ])
        .ok();
    }

    fn rows(&self, file: &str) -> Vec<BTreeMap<String, String>> {
        let mut r = csv::Reader::from_path(self.path(&format!("district/{file}"))).unwrap();
        let headers = r.headers().unwrap().clone();
        r.records()
            .map(|rec| {
                headers
                    .iter()
                    .zip(rec.unwrap().iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    /// Rewrites a district file row by row (None drops the row), keeping its columns.
    fn rewrite(&self, file: &str, mut f: impl FnMut(&mut BTreeMap<String, String>) -> bool) {
        let path = self.path(&format!("district/{file}"));
        let mut r = csv::Reader::from_path(&path).unwrap();
        let headers = r.headers().unwrap().clone();
        let rows: Vec<BTreeMap<String, String>> = r
            .records()
            .map(|rec| {
                headers
                    .iter()
                    .zip(rec.unwrap().iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect()
            })
            .collect();
        let mut w = csv::Writer::from_path(&path).unwrap();
        w.write_record(&headers).unwrap();
        for mut row in rows {
            if f(&mut row) {
                w.write_record(headers.iter().map(|h| row[h].clone()))
                    .unwrap();
            }
        }
        w.flush().unwrap();
    }

    fn runs(&self) -> Vec<Value> {
        self.rb(&["runs", "--json"])
            .json()
            .as_array()
            .unwrap()
            .clone()
    }
}

fn get(sandbox: &Sandbox, path: &str, query: &[(&str, String)]) -> Vec<Value> {
    let client = sandbox.client();
    sandbox.read(client.get_all(path, query)).unwrap()
}

fn section_enrollments(sandbox: &Sandbox, section: &str) -> Vec<Value> {
    let states: Vec<(&str, String)> = ["active", "invited", "inactive", "completed"]
        .iter()
        .map(|s| ("state[]", s.to_string()))
        .collect();
    // Observer enrollments follow their students; the tests count the others.
    get(
        sandbox,
        &format!(
            "/api/v1/sections/{}/enrollments",
            sis_path("sis_section_id", section)
        ),
        &states,
    )
    .into_iter()
    .filter(|e| e["type"] != "ObserverEnrollment")
    .collect()
}

fn all_text(run: &Run) -> String {
    format!("{}\n{}", run.stdout, run.stderr)
}

/// A school whose classes hold a third of the enrollments or so.
fn school_of_class(w: &Work) -> BTreeMap<String, String> {
    w.rows("classes.csv")
        .into_iter()
        .map(|c| (c["sourcedId"].clone(), c["schoolSourcedId"].clone()))
        .collect()
}

#[test]
fn removals_of_one_school_hold_the_plan_per_scope_and_approve_applies_exactly_that_plan_once() {
    let sandbox = Sandbox::start(&["--no-throttle"]);
    // Kind-wide 50%: only the per-school check can hold a school losing all its enrollments.
    let w = Work::new(
        &sandbox.url,
        "",
        "[safety]\nmax_removal_percent = 50\nmax_shrink_percent = 90\n",
    );
    w.generate(40);
    w.rb(&["sync", "-q"]).ok();
    let schools = school_of_class(&w);
    let school = "00102";
    let section = schools
        .iter()
        .find(|(_, s)| s.as_str() == school)
        .map(|(c, _)| c.clone())
        .unwrap();
    assert!(!section_enrollments(&sandbox, &section).is_empty());

    w.rewrite("enrollments.csv", |e| {
        schools.get(&e["classSourcedId"]).map(String::as_str) != Some(school)
    });
    let held = w.rb(&["sync", "-q"]);
    assert_eq!(held.code, 2, "held\n{}", all_text(&held));
    let text = all_text(&held);
    assert!(
        text.contains(&format!("enrollments in school {school}")),
        "the scope is named: {text}"
    );
    let plan_id = w.runs()[0]["summary"]["held_plan"].to_string();
    assert!(
        text.contains(&format!("rosterbridge approve {plan_id}")),
        "says how to approve: {text}"
    );
    let shown = w
        .rb(&["runs", "show", &w.runs()[0]["id"].to_string()])
        .ok()
        .stdout
        .clone();
    assert!(
        shown.contains(&format!("held plan:   {plan_id}"))
            && shown.contains(&format!("held because: enrollments in school {school}")),
        "{shown}"
    );
    assert!(
        !section_enrollments(&sandbox, &section).is_empty(),
        "nothing applied while held"
    );
    assert_eq!(w.runs()[0]["outcome"], "held");

    // The export changes after the hold: the approval does not cover the new plan.
    let other = w
        .rows("enrollments.csv")
        .into_iter()
        .find(|e| e["role"] == "student")
        .unwrap();
    w.rewrite("enrollments.csv", |e| e["sourcedId"] != other["sourcedId"]);
    let refused = w.rb(&["approve", &plan_id, "-q"]);
    assert_eq!(refused.code, 1, "{}", all_text(&refused));
    assert!(
        refused.stderr.contains(&format!("is not plan {plan_id}")),
        "{}",
        refused.stderr
    );
    assert!(
        !section_enrollments(&sandbox, &section).is_empty(),
        "nothing applied"
    );

    // Held again (a new plan id); approving that one applies it, once.
    let held2 = w.rb(&["sync", "-q"]);
    assert_eq!(held2.code, 2);
    let id2 = w.runs()[0]["summary"]["held_plan"].to_string();
    assert_ne!(id2, plan_id);
    w.rb(&["approve", &id2, "-q"]).ok();
    assert!(
        section_enrollments(&sandbox, &section).is_empty(),
        "the school's enrollments were removed in Canvas"
    );
    let again = w.rb(&["approve", &id2, "-q"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("already approved"),
        "{}",
        again.stderr
    );
    let plan = w.rb(&["plan", "--json", "-q"]).json();
    assert!(
        plan["changes"].as_array().unwrap().is_empty(),
        "nothing left to do after the approved plan"
    );
}

#[test]
fn an_empty_table_and_a_vendor_rekey_are_held_saying_what_was_detected_and_only_owned_users_are_touched(
) {
    let sandbox = Sandbox::start(&["--no-throttle"]);
    let w = Work::new(&sandbox.url, "", "");
    w.generate(30);
    // A user made in Canvas by hand, with an SIS id rosterbridge never saw.
    sandbox.make_user("Hand Made", "hand.made", "MANUAL-1");
    let client = sandbox.client();
    w.rb(&["sync", "-q"]).ok();
    let users_before: Vec<Value> = get(&sandbox, "/api/v1/accounts/1/users", &[]);

    // A vendor re-keys every person: same names, new ids.
    let rekey = |id: &str| {
        if id.is_empty() {
            String::new()
        } else {
            format!("V2-{id}")
        }
    };
    w.rewrite("users.csv", |u| {
        u.insert("sourcedId".into(), rekey(&u["sourcedId"]));
        let agents: Vec<String> = u["agentSourcedIds"]
            .split(',')
            .filter(|a| !a.is_empty())
            .map(rekey)
            .collect();
        u.insert("agentSourcedIds".into(), agents.join(","));
        u.insert("username".into(), format!("v2.{}", u["username"]));
        true
    });
    w.rewrite("enrollments.csv", |e| {
        e.insert("userSourcedId".into(), rekey(&e["userSourcedId"]));
        true
    });
    let run = w.rb(&["sync", "-q"]);
    assert_eq!(run.code, 2, "{}", all_text(&run));
    let text = all_text(&run);
    assert!(
        text.contains("mass re-key of users") && text.contains("came back under new SIS ids"),
        "{text}"
    );
    assert!(
        text.contains("change_sis_id"),
        "says how to proceed: {text}"
    );
    let plan = w.rb(&["plan", "--json", "-q"]).json();
    let codes: Vec<&str> = plan["safety"]["holds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["code"].as_str())
        .collect();
    assert!(codes.contains(&"rekey"), "{codes:?}");

    // An empty users file.
    w.rewrite("users.csv", |_| false);
    w.rewrite("enrollments.csv", |_| false);
    let run = w.rb(&["sync", "-q"]);
    assert_eq!(run.code, 2);
    assert!(
        all_text(&run).contains("the source has no users at all"),
        "{}",
        all_text(&run)
    );
    let users_after: Vec<Value> = get(&sandbox, "/api/v1/accounts/1/users", &[]);
    assert_eq!(users_after.len(), users_before.len(), "nothing applied");

    // Approved, users are suspended, but never the one rosterbridge did not create or adopt.
    let id = w.runs()[0]["summary"]["held_plan"].to_string();
    w.rb(&["approve", &id, "-q"]).ok();
    let manual: Value = sandbox
        .read(client.get(
            &format!("/api/v1/users/{}", sis_path("sis_user_id", "MANUAL-1")),
            &[],
        ))
        .unwrap();
    assert_eq!(manual["name"], "Hand Made");
    let logins: Vec<Value> = get(
        &sandbox,
        &format!("/api/v1/users/{}/logins", manual["id"]),
        &[],
    );
    assert_eq!(
        logins[0]["workflow_state"], "active",
        "a user rosterbridge does not own is never deactivated"
    );
}

/// Next school year's export: new sessions, new class ids, the same people.
fn next_year(w: &Work) {
    std::fs::write(
        w.path("district/academicSessions.csv"),
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n\
SY2028,,,2027-2028,schoolYear,2027-08-16,2028-06-09,,2028\n\
SY2028-S1,,,Fall 2027,semester,2027-08-16,2028-01-14,SY2028,2028\n\
SY2028-S2,,,Spring 2028,semester,2028-01-18,2028-06-09,SY2028,2028\n",
    )
    .unwrap();
    w.rewrite("courses.csv", |c| {
        c.insert("schoolYearSourcedId".into(), "SY2028".into());
        true
    });
    let term = |t: &str| match t {
        "SY2027-S1" | "SY2027-Q1" | "SY2027-Q2" => "SY2028-S1".to_string(),
        "SY2027-S2" | "SY2027-Q3" | "SY2027-Q4" => "SY2028-S2".to_string(),
        other => other.replace("SY2027", "SY2028"),
    };
    w.rewrite("classes.csv", |c| {
        c.insert("sourcedId".into(), format!("{}-Y28", c["sourcedId"]));
        let mut terms: Vec<String> = c["termSourcedIds"].split(',').map(term).collect();
        terms.dedup();
        c.insert("termSourcedIds".into(), terms.join(","));
        true
    });
    w.rewrite("enrollments.csv", |e| {
        e.insert("sourcedId".into(), format!("{}-Y28", e["sourcedId"]));
        e.insert(
            "classSourcedId".into(),
            format!("{}-Y28", e["classSourcedId"]),
        );
        true
    });
}

#[test]
fn a_simulated_summer_rollover_blackout_then_add_only_then_old_enrollments_concluded_not_deleted() {
    let sandbox = Sandbox::start(&["--no-throttle"]);
    let windows = "[safety]\nmax_removal_percent = 100\nmax_shrink_percent = 100\nmax_update_percent = 100\n\n\
[[safety.blackout]]\nstart = 2027-06-12\nend = 2027-06-20\nreason = \"SIS year-end close\"\n\n\
[[safety.add_only]]\nstart = \"2027-06-21\"\nend = \"2027-08-31\"\nreason = \"rollover\"\n";
    let w = Work::new(&sandbox.url, "", windows);
    w.generate(20);
    let may = [("ROSTERBRIDGE_TODAY", "2027-05-01")];
    w.rb_env(&["sync", "-q"], &may).ok();
    let old_section = w.rows("classes.csv")[1]["sourcedId"].clone();
    let old_count = section_enrollments(&sandbox, &old_section).len();
    assert!(old_count > 0);
    next_year(&w);

    // Blackout: no run at all.
    let runs_before = w.runs().len();
    let blackout = w.rb_env(&["sync", "-q"], &[("ROSTERBRIDGE_TODAY", "2027-06-15")]);
    assert_eq!(blackout.code, 5, "{}", all_text(&blackout));
    assert!(
        blackout
            .stderr
            .contains("blackout window 2027-06-12..2027-06-20 (SIS year-end close)"),
        "{}",
        blackout.stderr
    );
    assert_eq!(w.runs().len(), runs_before, "no run recorded");
    let plan = w.rb_env(&["plan", "-q"], &[("ROSTERBRIDGE_TODAY", "2027-06-15")]);
    assert!(
        plan.stdout.contains("blackout window"),
        "plan says so: {}",
        plan.stdout
    );

    // Add-only: next year's classes are created, last year's enrollments stay.
    let summer = w.rb_env(&["sync", "-q"], &[("ROSTERBRIDGE_TODAY", "2027-07-01")]);
    summer.ok();
    assert!(
        summer
            .stdout
            .contains("add-only window 2027-06-21..2027-08-31 (rollover)")
            && summer.stdout.contains("removal(s) deferred"),
        "{}",
        summer.stdout
    );
    assert!(
        !section_enrollments(&sandbox, &format!("{old_section}-Y28")).is_empty(),
        "new year's sections are filled"
    );
    let old = section_enrollments(&sandbox, &old_section);
    assert_eq!(old.len(), old_count);
    assert!(
        old.iter().all(|e| e["enrollment_state"] == "active"),
        "last year's enrollments untouched in the add-only window"
    );

    // After the window: last year's enrollments leave the export after their term ended:
    // concluded (completed), not deleted.
    let autumn = w.rb_env(&["sync", "-q"], &[("ROSTERBRIDGE_TODAY", "2027-09-01")]);
    autumn.ok();
    assert!(
        autumn
            .stdout
            .contains("concluded (completed) instead of deleted"),
        "{}",
        autumn.stdout
    );
    let old = section_enrollments(&sandbox, &old_section);
    assert_eq!(old.len(), old_count, "still there");
    assert!(
        old.iter().all(|e| e["enrollment_state"] == "completed"),
        "concluded: {old:?}"
    );
}

#[test]
fn rollover_windows_of_a_profile_apply_to_its_runs_only_and_each_profile_keeps_its_last_success() {
    let sandbox = Sandbox::start(&["--no-throttle"]);
    let profiles = "[safety]\nmax_removal_percent = 100\nmax_shrink_percent = 100\nmax_update_percent = 100\n\n\
[[profiles]]\nname = \"2026-27\"\nstart = 2026-08-01\nend = 2027-07-31\n\n\
[[profiles.blackout]]\nstart = 2027-06-12\nend = 2027-06-20\nreason = \"SIS year-end close\"\n\n\
[[profiles.add_only]]\nstart = 2027-06-21\nend = 2027-07-31\n\n\
[[profiles]]\nname = \"2027-28\"\nstart = 2027-08-01\nend = 2028-07-31\n";
    let w = Work::new(&sandbox.url, "", profiles);
    w.generate(10);
    w.rb_env(&["sync", "-q"], &[("ROSTERBRIDGE_TODAY", "2027-05-01")])
        .ok();
    let first = w.runs()[0]["id"].clone();
    assert_eq!(
        w.runs()[0]["profile"],
        "2026-27",
        "the run records its profile"
    );

    // The profile's blackout refuses before the source is read: with the export gone, the
    // refusal is still the blackout, not a missing file.
    std::fs::rename(w.path("district"), w.path("district.away")).unwrap();
    let blackout = w.rb_env(&["sync", "-q"], &[("ROSTERBRIDGE_TODAY", "2027-06-15")]);
    assert_eq!(blackout.code, 5, "{}", all_text(&blackout));
    assert!(
        blackout.stderr.contains(
            "blackout window 2027-06-12..2027-06-20 (SIS year-end close, profile 2026-27)"
        ),
        "{}",
        blackout.stderr
    );
    assert_eq!(w.runs().len(), 1, "no run recorded");
    std::fs::rename(w.path("district.away"), w.path("district")).unwrap();

    // The profile's add-only window: a student who left is not deactivated yet, and the plan
    // says why.
    let mut dropped = None;
    w.rewrite("users.csv", |u| {
        if dropped.is_none() && u["role"] == "student" {
            dropped = Some(u["sourcedId"].clone());
            return false;
        }
        true
    });
    let dropped = dropped.unwrap();
    w.rewrite("enrollments.csv", |e| e["userSourcedId"] != dropped);
    let summer = w.rb_env(&["sync", "-q"], &[("ROSTERBRIDGE_TODAY", "2027-07-01")]);
    summer.ok();
    assert!(
        summer
            .stdout
            .contains("add-only window 2027-06-21..2027-07-31 (profile 2026-27)")
            && summer.stdout.contains("removal(s) deferred"),
        "{}",
        summer.stdout
    );
    let summer_run = w.runs()[0]["id"].clone();

    // The next profile has no windows of its own: the same removal goes through.
    let status = w
        .rb_env(
            &["status", "--json"],
            &[("ROSTERBRIDGE_TODAY", "2027-07-01")],
        )
        .json();
    let last_of = |status: &Value, name: &str| {
        status["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["last_successful_run"]["id"]
            .clone()
    };
    assert_eq!(last_of(&status, "2026-27"), summer_run);
    assert!(last_of(&status, "2027-28").is_null(), "{status}");
    assert_eq!(
        status["last_successful_run"]["id"], summer_run,
        "last synchronized counts runs of every profile"
    );
    assert_ne!(first, summer_run);

    let autumn = w.rb_env(&["sync", "-q"], &[("ROSTERBRIDGE_TODAY", "2027-08-15")]);
    autumn.ok();
    assert!(!autumn.stdout.contains("add-only"), "{}", autumn.stdout);
    let users_row = autumn
        .stdout
        .lines()
        .find(|l| l.starts_with("users "))
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>();
    assert_eq!(
        users_row.get(4),
        Some(&"1"),
        "the student who left is deactivated now: {}",
        autumn.stdout
    );
    let runs = w.runs();
    assert_eq!(runs[0]["profile"], "2027-28");
    let status = w
        .rb_env(
            &["status", "--json"],
            &[("ROSTERBRIDGE_TODAY", "2027-08-15")],
        )
        .json();
    assert_eq!(last_of(&status, "2027-28"), runs[0]["id"]);
    assert_eq!(last_of(&status, "2026-27"), summer_run);
    let text = w.rb_env(&["status"], &[("ROSTERBRIDGE_TODAY", "2027-08-15")]);
    assert!(
        text.stdout
            .contains(&format!("profile 2027-28: run {}", runs[0]["id"])),
        "{}",
        text.stdout
    );

    // Undo records the profile of the run it reverses.
    let id = runs[0]["id"].to_string();
    w.rb_env(
        &["undo", &id, "-q"],
        &[("ROSTERBRIDGE_TODAY", "2027-08-15")],
    )
    .ok();
    let undo = &w.runs()[0];
    assert_eq!(undo["command"], "undo");
    assert_eq!(undo["profile"], "2027-28");
}

/// Start ticks of this process (field 22 of /proc/self/stat), as the lock file keeps them.
fn my_start_ticks() -> String {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    stat.rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(19)
        .unwrap()
        .to_string()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn one_run_at_a_time_a_stale_lock_is_taken_over_and_a_run_past_its_timeout_is_stopped() {
    let sandbox = Sandbox::start(&["--no-throttle"]);
    let w = Work::new(&sandbox.url, "", "");
    w.generate(8);
    let lock = w.path("rosterbridge.state.db.lock");

    // A live process (this test) holds the lock: refused, nothing recorded.
    std::fs::write(
        &lock,
        format!(
            "{}@{}\n{}\n2027-01-01T00:00:00Z\n",
            std::process::id(),
            hostname(),
            my_start_ticks()
        ),
    )
    .unwrap();
    let busy = w.rb(&["sync", "-q"]);
    assert_eq!(busy.code, 5, "{}", all_text(&busy));
    assert!(
        busy.stderr
            .contains("another run of this configuration is in progress"),
        "{}",
        busy.stderr
    );
    assert!(!w.path("rosterbridge.state.db").exists() || w.runs().is_empty());

    // A lock left by a dead process is taken over.
    std::fs::write(
        &lock,
        format!("99999999@{}\n1\n2027-01-01T00:00:00Z\n", hostname()),
    )
    .unwrap();
    let took = w.rb(&["sync", "-q"]);
    took.ok();
    assert!(
        took.stderr
            .contains("took over a stale run lock (99999999@"),
        "{}",
        took.stderr
    );
    assert!(!lock.exists(), "released after the run");
    assert_eq!(w.runs()[0]["outcome"], "succeeded");

    // A run that cannot finish (the import never leaves "importing") is stopped at its timeout.
    let stuck = Sandbox::start(&["--no-throttle", "--import-outcome", "stay-importing"]);
    let (hook, posts) = webhook_receiver();
    w.config(
        &stuck.url,
        "",
        &format!("[notify]\nwebhook_url = \"{hook}\"\n"),
    );
    w.rewrite("users.csv", |u| {
        if u["role"] == "student" {
            u.insert("givenName".into(), format!("{}x", u["givenName"]));
        }
        true
    });
    let start = std::time::Instant::now();
    let timed_out = w.rb_env(&["sync", "-q"], &[("ROSTERBRIDGE_TIMEOUT_SECS", "3")]);
    assert_eq!(timed_out.code, 4, "{}", all_text(&timed_out));
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
    let run = &w.runs()[0];
    assert_eq!(run["outcome"], "failed");
    assert!(
        run["message"].as_str().unwrap().contains("timed out"),
        "{run}"
    );
    assert!(!lock.exists(), "the lock is released");
    let got = wait_for(&posts, 1);
    assert_eq!(
        got[0]["event"], "failed",
        "the timeout is notified: {got:?}"
    );
    assert!(got[0]["text"].as_str().unwrap().contains("timed out"));
}

#[test]
fn run_history_records_plan_outcome_rejected_rows_with_their_sis_row_and_files() {
    let sandbox = Sandbox::start(&["--no-throttle"]);
    let (hook, posts) = webhook_receiver();
    let w = Work::new(
        &sandbox.url,
        "",
        &format!("[notify]\nwebhook_url = \"{hook}\"\n"),
    );
    w.generate(10);
    let users = w.rows("users.csv");
    let (line, student) = users
        .iter()
        .enumerate()
        .find(|(_, u)| u["role"] == "student")
        .unwrap();
    let client = sandbox.client();
    let _: Value = sandbox
        .read(client.write(
            reqwest::Method::POST,
            "/api/v1/accounts/1/users",
            vec![
                ("user[name]".into(), "Squatter".into()),
                ("pseudonym[unique_id]".into(), student["username"].clone()),
                ("pseudonym[sis_user_id]".into(), "OTHER-1".into()),
            ],
            Retry::IfNotProcessed,
        ))
        .unwrap();
    let run = w.rb(&["sync", "-q"]);
    assert_eq!(run.code, 3, "{}", all_text(&run));
    let id = w.runs()[0]["id"].to_string();
    let shown = w.rb(&["runs", "show", &id, "--json"]).ok().json();
    assert_eq!(shown["outcome"], "partial_failure");
    assert_eq!(shown["profile"], Value::Null);
    assert!(shown["started_at"].is_string() && shown["ended_at"].is_string());
    assert!(
        shown["summary"]["plan"]["users"]["create"]
            .as_u64()
            .unwrap()
            > 0
    );
    let rejected = shown["rejections"].as_array().unwrap();
    let mine = rejected
        .iter()
        .find(|r| r["key"] == student["sourcedId"].as_str())
        .unwrap_or_else(|| panic!("{shown}"));
    // Header is line 1, so the n-th data row is line n + 2.
    assert_eq!(mine["source"], format!("users.csv:{}", line + 2));
    for f in shown["artifacts"].as_array().unwrap() {
        assert!(
            std::path::Path::new(f.as_str().unwrap()).exists(),
            "kept: {f}"
        );
    }
    assert!(shown["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f.as_str().unwrap().ends_with("changes.jsonl")));
    // The partial failure was notified, with the rejected rows and their SIS rows.
    let got = wait_for(&posts, 1);
    assert_eq!(got[0]["event"], "partial_failure", "{got:?}");
    assert!(
        got[0]["detail"]["summary"]["rejections"]
            .to_string()
            .contains(&format!("users.csv:{}", line + 2)),
        "{}",
        got[0]
    );
    let text = w.rb(&["runs", "show", &id]).ok().stdout.clone();
    assert!(
        text.contains("outcome:     partial_failure")
            && text.contains(&format!("(SIS row users.csv:{})", line + 2)),
        "{text}"
    );

    // The conflict resolved in Canvas, a clean run is the last successful one.
    let squatter: Value = sandbox
        .read(client.get(
            &format!("/api/v1/users/{}", sis_path("sis_user_id", "OTHER-1")),
            &[],
        ))
        .unwrap();
    let logins = get(
        &sandbox,
        &format!("/api/v1/users/{}/logins", squatter["id"]),
        &[],
    );
    let _: Value = sandbox
        .read(client.write(
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/1/logins/{}", logins[0]["id"]),
            vec![("login[unique_id]".into(), "someone.else".into())],
            Retry::Safe,
        ))
        .unwrap();
    w.rb(&["sync", "-q"]).ok();
    let list = w.rb(&["runs"]).ok().stdout.clone();
    assert!(
        list.lines().next().unwrap().contains("(last successful)"),
        "{list}"
    );
    let status = w.rb(&["status", "--json"]).ok().json();
    assert_eq!(status["last_successful_run"]["id"], w.runs()[0]["id"]);
}

/// A real HTTP receiver on a free port: records every request body.
fn webhook_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            if let Ok(v) = serde_json::from_slice(&body) {
                sink.lock().unwrap().push(v);
            }
            let mut s = stream;
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

/// A real SMTP receiver speaking enough of RFC 5321: records every message's data.
fn smtp_receiver() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut out = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let _ = out.write_all(b"220 test-smtp ready\r\n");
            let mut data: Option<String> = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(d) = data.as_mut() {
                    if line == ".\r\n" {
                        sink.lock().unwrap().push(std::mem::take(d));
                        data = None;
                        let _ = out.write_all(b"250 queued\r\n");
                    } else {
                        d.push_str(&line);
                    }
                    continue;
                }
                let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                let reply: &[u8] = match verb.as_str() {
                    "EHLO" | "HELO" => b"250-test-smtp\r\n250 8BITMIME\r\n",
                    "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                    "DATA" => {
                        data = Some(String::new());
                        b"354 go ahead\r\n"
                    }
                    "QUIT" => {
                        let _ = out.write_all(b"221 bye\r\n");
                        break;
                    }
                    _ => b"502 not implemented\r\n",
                };
                let _ = out.write_all(reply);
            }
        }
    });
    (port, got)
}

fn wait_for<T: Clone>(what: &Arc<Mutex<Vec<T>>>, n: usize) -> Vec<T> {
    for _ in 0..100 {
        let v = what.lock().unwrap().clone();
        if v.len() >= n {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    what.lock().unwrap().clone()
}

#[test]
fn holds_failures_staleness_and_summaries_are_posted_to_a_webhook_and_mailed() {
    let sandbox = Sandbox::start(&["--no-throttle"]);
    let (hook, posts) = webhook_receiver();
    let (port, mails) = smtp_receiver();
    let notify = format!(
        "[notify]\nwebhook_url = \"{hook}\"\nstale_after_hours = 2\ndaily_summary = true\n\n[notify.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"rosterbridge@district.test\"\nto = [\"sis-admin@district.test\"]\n"
    );
    let w = Work::new(&sandbox.url, "", &notify);
    w.generate(10);
    w.rb(&["sync", "-q"]).ok();
    // daily_summary: the first run sends one; a successful run notifies nothing else.
    let got = wait_for(&posts, 1);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["event"], "daily_summary");
    w.rb(&["sync", "-q"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        posts.lock().unwrap().len(),
        1,
        "no second summary within 24 hours, nothing for a success"
    );
    posts.lock().unwrap().clear();
    mails.lock().unwrap().clear();

    // Held.
    w.rewrite("enrollments.csv", |_| false);
    assert_eq!(w.rb(&["sync", "-q"]).code, 2);
    let got = wait_for(&posts, 1);
    assert_eq!(got[0]["event"], "held", "{got:?}");
    assert_eq!(got[0]["detail"]["outcome"], "held");
    assert!(got[0]["text"]
        .as_str()
        .unwrap()
        .contains("held by the safety threshold"));
    let mail = wait_for(&mails, 1);
    assert!(
        mail[0].contains("Subject: rosterbridge: run") && mail[0].contains("held"),
        "{}",
        mail[0]
    );
    assert!(mail[0].contains("To: sis-admin@district.test"));

    // Failed: Canvas fails the import.
    drop(sandbox);
    let failing = Sandbox::start(&["--no-throttle", "--import-outcome", "fail"]);
    w.config(&failing.url, "", &notify);
    assert_ne!(w.rb(&["sync", "-q", "--allow-removals"]).code, 0);
    let got = wait_for(&posts, 2);
    assert_eq!(got[1]["event"], "failed", "{got:?}");

    // No success for longer than stale_after_hours: `notify check` alerts once.
    let db = rusqlite::Connection::open(w.path("rosterbridge.state.db")).unwrap();
    db.execute("UPDATE runs SET started_at = '2020-01-01T00:00:00Z', ended_at = '2020-01-01T00:05:00Z' WHERE outcome IN ('succeeded', 'no_changes')", []).unwrap();
    let check = w.rb(&["notify", "check"]);
    check.ok();
    let got = wait_for(&posts, 3);
    assert_eq!(got[2]["event"], "stale", "{got:?}");
    assert!(got[2]["subject"]
        .as_str()
        .unwrap()
        .contains("no successful run"));
    assert_eq!(
        w.rb(&["notify", "check"]).ok().stdout.trim(),
        "nothing to notify",
        "once per stale period"
    );

    w.rb(&["notify", "summary"]).ok();
    let got = wait_for(&posts, 4);
    assert_eq!(got[3]["event"], "daily_summary");
    assert!(got[3]["text"]
        .as_str()
        .unwrap()
        .contains("run(s) in the last 24 hours"));
    assert!(
        wait_for(&mails, 4).len() >= 4,
        "every message is mailed too"
    );
}

fn user_name(sandbox: &Sandbox, sis: &str) -> Option<String> {
    let client = sandbox.client();
    let u: Option<Value> = sandbox
        .read(client.get_optional(&format!("/api/v1/users/{}", sis_path("sis_user_id", sis))))
        .unwrap();
    u.and_then(|u| u["name"].as_str().map(str::to_string))
}

fn undo_flow(mode: &str) {
    let sandbox = Sandbox::start(&["--no-throttle"]);
    let w = Work::new(&sandbox.url, mode, "");
    w.generate(10);
    w.rb(&["sync", "-q"]).ok();
    let users = w.rows("users.csv");
    let renamed = users
        .iter()
        .find(|u| u["role"] == "teacher")
        .unwrap()
        .clone();
    let name_before = user_name(&sandbox, &renamed["sourcedId"]).unwrap();
    let enrollment = w
        .rows("enrollments.csv")
        .into_iter()
        .find(|e| e["role"] == "student")
        .unwrap();
    let section = enrollment["classSourcedId"].clone();
    let count_before = section_enrollments(&sandbox, &section).len();

    // Run 2: a rename, a removed enrollment, a new user.
    w.rewrite("users.csv", |u| {
        if u["sourcedId"] == renamed["sourcedId"] {
            u.insert("familyName".into(), "Renamed".into());
        }
        true
    });
    w.rewrite("enrollments.csv", |e| {
        e["sourcedId"] != enrollment["sourcedId"]
    });
    let mut text = std::fs::read_to_string(w.path("district/users.csv")).unwrap();
    let cols = text.lines().next().unwrap().split(',').count();
    let mut new_user = vec![String::new(); cols];
    new_user[0] = "NEW-1".into();
    text.push_str(&new_user.join(","));
    text.push('\n');
    std::fs::write(w.path("district/users.csv"), text).unwrap();
    w.rewrite("users.csv", |u| {
        if u["sourcedId"] == "NEW-1" {
            for (k, v) in [
                ("enabledUser", "true"),
                ("orgSourcedIds", "00100"),
                ("role", "teacher"),
                ("username", "new.one"),
                ("givenName", "New"),
                ("familyName", "One"),
            ] {
                u.insert(k.into(), v.into());
            }
        }
        true
    });
    w.rb(&["sync", "-q"]).ok();
    let run2 = w.runs()[0]["id"].to_string();
    assert!(user_name(&sandbox, &renamed["sourcedId"])
        .unwrap()
        .contains("Renamed"));
    assert_eq!(
        section_enrollments(&sandbox, &section).len(),
        count_before - 1
    );
    assert!(user_name(&sandbox, "NEW-1").is_some());

    let undone = w.rb(&["undo", &run2, "--json", "-q"]);
    undone.ok();
    let report = undone.json();
    assert_eq!(report["rejected"], 0, "{report}");
    if mode.is_empty() {
        assert!(
            report["how"].as_str().unwrap().contains("restore_states"),
            "{report}"
        );
    }
    assert_eq!(
        user_name(&sandbox, &renamed["sourcedId"]).unwrap(),
        name_before,
        "the rename is reverted"
    );
    assert_eq!(
        section_enrollments(&sandbox, &section).len(),
        count_before,
        "the enrollment is back"
    );
    if mode.is_empty() {
        let users: Vec<Value> = get(&sandbox, "/api/v1/accounts/1/users", &[]);
        assert!(
            !users.iter().any(|u| u["sis_user_id"] == "NEW-1"),
            "restore_states deletes the user the import created"
        );
    } else {
        // The REST sink never deletes a user outright (irreversible); it suspends.
        let logins = get(
            &sandbox,
            &format!("/api/v1/users/{}/logins", sis_path("sis_user_id", "NEW-1")),
            &[],
        );
        assert_eq!(
            logins[0]["workflow_state"], "suspended",
            "the created user is suspended: {logins:?}"
        );
    }
    // The state follows: planning again proposes run 2's changes again.
    let plan = w.rb(&["plan", "--json", "-q"]).json();
    assert_eq!(
        common::count(&plan, "users", "update"),
        1,
        "{}",
        plan["summary"]
    );
    assert_eq!(
        common::count(&plan, "users", "create") + common::count(&plan, "users", "reactivate"),
        1,
        "{}",
        plan["summary"]
    );
    assert_eq!(
        common::count(&plan, "enrollments", "delete"),
        1,
        "{}",
        plan["summary"]
    );
    let twice = w.rb(&["undo", &run2, "-q"]);
    assert_eq!(twice.code, 1);
    assert!(twice.stderr.contains("already undone"), "{}", twice.stderr);
}

#[test]
fn undo_reverts_a_sis_import_run_through_restore_states_and_the_state_follows() {
    undo_flow("");
}

#[test]
fn undo_reverts_a_rest_run_by_inverse_calls_and_the_state_follows() {
    undo_flow("mode = \"rest\"");
}

#[test]
fn reconcile_reports_drift_made_in_canvas_plans_the_repair_and_remaster_rebuilds_a_lost_state() {
    let sandbox = Sandbox::start(&["--no-throttle"]);
    let w = Work::new(&sandbox.url, "", "");
    w.generate(10);
    w.rb(&["sync", "-q"]).ok();
    assert!(w.rb(&["reconcile", "-q"]).ok().stdout.contains("no drift"));

    // In Canvas's UI: a course renamed, an enrollment deleted.
    let client = sandbox.client();
    let class = w.rows("classes.csv")[0]["sourcedId"].clone();
    let _: Value = sandbox
        .read(client.write(
            reqwest::Method::PUT,
            &format!("/api/v1/courses/{}", sis_path("sis_course_id", &class)),
            vec![("course[name]".into(), "Renamed in the UI".into())],
            Retry::Safe,
        ))
        .unwrap();
    let victim = section_enrollments(&sandbox, &class)
        .into_iter()
        .find(|e| e["type"] == "StudentEnrollment")
        .unwrap();
    let _: Value = sandbox
        .read(client.write(
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/courses/{}/enrollments/{}",
                victim["course_id"], victim["id"]
            ),
            vec![("task".into(), "delete".into())],
            Retry::Safe,
        ))
        .unwrap();

    // And an observer link removed.
    let parent = w
        .rows("users.csv")
        .into_iter()
        .find(|u| u["role"] == "parent" && !u["agentSourcedIds"].is_empty())
        .unwrap();
    let child = parent["agentSourcedIds"]
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let _: Value = sandbox
        .read(client.write(
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/users/{}/observees/{}",
                sis_path("sis_user_id", &parent["sourcedId"]),
                sis_path("sis_user_id", &child)
            ),
            Vec::new(),
            Retry::Safe,
        ))
        .unwrap();

    let report = w.rb(&["reconcile", "--json", "-q"]).ok().json();
    let drift = report["drift"].as_array().unwrap();
    let link = drift
        .iter()
        .find(|d| d["kind"] == "user_observers")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(link["what"], "deleted_in_canvas");
    assert!(
        link["key"].as_str().unwrap().contains(&parent["sourcedId"])
            && link["key"].as_str().unwrap().contains(&child),
        "{link}"
    );
    let course = drift
        .iter()
        .find(|d| d["kind"] == "courses")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(course["what"], "field");
    assert_eq!(course["canvas"], "Renamed in the UI");
    assert_eq!(course["sticky"], true);
    let gone = drift
        .iter()
        .find(|d| d["kind"] == "enrollments")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(gone["what"], "deleted_in_canvas");
    assert!(gone["key"]
        .as_str()
        .unwrap()
        .contains(victim["sis_user_id"].as_str().unwrap()));
    assert!(
        w.rb(&["plan", "--json", "-q"]).json()["changes"]
            .as_array()
            .unwrap()
            .is_empty(),
        "reporting changes nothing"
    );

    w.rb(&["reconcile", "--repair", "-q"]).ok();
    let plan = w.rb(&["plan", "--json", "-q"]).json();
    assert_eq!(
        common::count(&plan, "courses", "update"),
        1,
        "{}",
        plan["summary"]
    );
    assert_eq!(
        common::count(&plan, "enrollments", "reactivate"),
        1,
        "{}",
        plan["summary"]
    );
    assert_eq!(
        common::count(&plan, "user_observers", "reactivate"),
        1,
        "{}",
        plan["summary"]
    );
    w.rb(&["sync", "-q"]).ok();
    assert!(
        section_enrollments(&sandbox, &class)
            .iter()
            .any(|e| e["id"] == victim["id"] || e["sis_user_id"] == victim["sis_user_id"]),
        "repaired"
    );
    let observees = get(
        &sandbox,
        &format!(
            "/api/v1/users/{}/observees",
            sis_path("sis_user_id", &parent["sourcedId"])
        ),
        &[],
    );
    assert!(
        observees.iter().any(|u| u["sis_user_id"] == child.as_str()),
        "the observer link is back"
    );

    // The state file is lost: remaster adopts what the source has and Canvas holds.
    for f in [
        "rosterbridge.state.db",
        "rosterbridge.state.db-wal",
        "rosterbridge.state.db-shm",
    ] {
        let _ = std::fs::remove_file(w.path(f));
    }
    let report = w
        .rb(&["reconcile", "--remaster", "--json", "-q"])
        .ok()
        .json();
    assert!(report["adopted"].as_u64().unwrap() > 0);
    let plan = w.rb(&["plan", "--json", "-q"]).json();
    for kind in [
        "users",
        "courses",
        "sections",
        "enrollments",
        "user_observers",
    ] {
        assert_eq!(
            common::count(&plan, kind, "create"),
            0,
            "{kind}: {}",
            plan["summary"]
        );
    }
}

#[test]
fn plan_and_sync_target_the_test_canvas_until_promote_then_production() {
    let test = Sandbox::start(&["--no-throttle"]);
    let prod = Sandbox::start(&["--no-throttle"]);
    let w = Work::new(
        &test.url,
        &format!(
            "\n[canvas.production]\nurl = \"{}\"\naccount_id = 1\ntoken_env = \"CANVAS_TOKEN\"\n",
            prod.url
        ),
        "",
    );
    w.generate(8);
    let plan = w.rb(&["plan", "-q"]).ok().stdout.clone();
    assert!(
        plan.contains(&format!("target: TEST Canvas {}", test.url)),
        "{plan}"
    );
    assert_eq!(
        w.rb(&["plan", "--json", "-q"]).json()["environment"],
        "test"
    );
    let early = w.rb(&["promote"]);
    assert_eq!(early.code, 1, "no promotion before a successful test run");

    w.rb(&["sync", "-q"]).ok();
    let users = |s: &Sandbox| {
        get(s, "/api/v1/accounts/1/users", &[])
            .iter()
            .filter(|u| u["sis_user_id"].is_string())
            .count()
    };
    assert!(users(&test) > 0);
    assert_eq!(users(&prod), 0, "production untouched before promote");

    w.rb(&["promote"]).ok();
    let plan = w.rb(&["plan", "--json", "-q"]).json();
    assert_eq!(plan["environment"], "production");
    assert!(
        common::count(&plan, "users", "create") > 0,
        "production has its own state"
    );
    w.rb(&["sync", "-q"]).ok();
    assert_eq!(users(&prod), users(&test));
    assert!(
        w.rb(&["runs", "show", "1", "--json"]).json()["summary"]["environment"] == "production"
    );
    w.rb(&["promote", "--demote"]).ok();
    assert_eq!(
        w.rb(&["plan", "--json", "-q"]).json()["environment"],
        "test"
    );
}

#[test]
fn a_plan_held_for_the_folder_sink_is_approved_into_the_folder() {
    let f = common::Fixture::new();
    f.rb(&["apply", "--sink", "folder", "--out", "outbox", "-q"])
        .ok();
    let header = common::ENROLLMENTS.lines().next().unwrap();
    f.district(&[("enrollments.csv", &format!("{header}\n"))]);
    let held = f.rb(&[
        "apply", "--sink", "folder", "--out", "outbox", "--json", "-q",
    ]);
    assert_eq!(held.code, 2, "{}", all_text(&held));
    let id = held.json()["plan_id"].to_string();
    let approved = f.rb(&["approve", &id, "--sink", "folder", "--out", "outbox", "-q"]);
    approved.ok();
    assert!(
        approved
            .stdout
            .contains(&format!("approved plan {id} applied as run")),
        "{}",
        approved.stdout
    );
    let zips = std::fs::read_dir(f.path("outbox")).unwrap().count();
    assert_eq!(zips, 2, "the first apply's zip and the approved plan's");
}

#[test]
fn a_folder_run_is_undone_into_an_inverse_zip_and_the_state_follows() {
    let f = common::Fixture::new();
    f.rb(&["apply", "--sink", "folder", "--out", "outbox", "-q"])
        .ok();
    f.district(&[(
        "users.csv",
        &common::USERS.replace("Edna,Krabappel", "Edna,Flanders"),
    )]);
    f.rb(&["apply", "--sink", "folder", "--out", "outbox", "-q"])
        .ok();
    let first = f.rb(&["undo", "1", "-q"]);
    assert_eq!(first.code, 1, "run 1 is not the latest change");
    assert!(first.stderr.contains("undo them first"), "{}", first.stderr);
    let undone = f.rb(&["undo", "2", "--json", "-q"]);
    undone.ok();
    assert_eq!(undone.json()["reverted"], 1, "{}", undone.stdout);
    let inverse = std::fs::read_dir(f.path("rosterbridge.state.db.archive/run-2/undo"))
        .unwrap()
        .count();
    assert_eq!(inverse, 1, "the inverse zip, for upload by hand");
    let plan = f.rb(&["plan", "--json", "-q"]).json();
    assert_eq!(
        common::count(&plan, "users", "update"),
        1,
        "the rename is planned again: {}",
        plan["summary"]
    );
}
