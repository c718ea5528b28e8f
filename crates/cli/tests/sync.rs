//! `rosterbridge sync` end to end against a real sandbox process over HTTP: what Canvas
//! holds afterwards is read back through the Canvas API and compared with the source
//! files, object for object.

mod common;

use common::sandbox::{Sandbox, TOKEN};
use common::{run_env, Run};
use rosterbridge_canvas_client::sis_path;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A folder with a generated district and a config pointing at a sandbox.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new(url: &str, extra_canvas: &str) -> Work {
        let w = Work {
            dir: tempfile::tempdir().unwrap(),
        };
        w.point_at(url, extra_canvas);
        w
    }

    fn point_at(&self, url: &str, extra_canvas: &str) {
        let config = format!(
            "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"{url}\"\naccount_id = 1\ntoken_env = \"CANVAS_TOKEN\"\n{extra_canvas}\n"
        );
        std::fs::write(self.path("rosterbridge.toml"), config).unwrap();
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn rb(&self, args: &[&str]) -> Run {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if args.first().is_some_and(|a| *a != "generate") {
            all.extend([
                "--config".to_string(),
                self.path("rosterbridge.toml").display().to_string(),
            ]);
        }
        run_env(self.dir.path(), &all, &[("CANVAS_TOKEN", TOKEN)])
    }

    fn generate(&self, students: u32, change: Option<u32>) {
        let students = students.to_string();
        let out = self.path("district").display().to_string();
        let mut args = vec![
            "generate",
            "--students",
            &students,
            "--seed",
            "11",
            "--out",
            &out,
            "-q",
        ];
        let pct;
        if let Some(c) = change {
            pct = c.to_string();
            args.extend(["--change", &pct]);
        }
        self.rb(&args).ok();
    }

    fn sync(&self) -> Run {
        self.rb(&["sync", "--json", "-q"])
    }
}

fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
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

/// What Canvas should hold for a OneRoster folder.
#[derive(Debug, PartialEq)]
struct Expected {
    users: BTreeMap<String, String>,
    /// section SIS id -> {(user SIS id, enrollment type)}
    enrollments: BTreeMap<String, BTreeSet<(String, String)>>,
    /// observer SIS id -> {student SIS id}
    observers: BTreeMap<String, BTreeSet<String>>,
}

fn expected(district: &Path) -> Expected {
    let live = |r: &BTreeMap<String, String>| r["status"] != "tobedeleted";
    let users_rows: Vec<_> = csv_rows(&district.join("users.csv"))
        .into_iter()
        .filter(live)
        .collect();
    let role: BTreeMap<String, String> = users_rows
        .iter()
        .map(|u| (u["sourcedId"].clone(), u["role"].clone()))
        .collect();
    let users = users_rows
        .iter()
        .map(|u| {
            (
                u["sourcedId"].clone(),
                if u["username"].is_empty() {
                    u["email"].clone()
                } else {
                    u["username"].clone()
                },
            )
        })
        .collect();
    let mut observers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let is_parent = |id: &str| {
        matches!(
            role.get(id).map(String::as_str),
            Some("parent" | "guardian" | "relative")
        )
    };
    for u in &users_rows {
        for agent in u["agentSourcedIds"]
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty() && role.contains_key(*a))
        {
            if is_parent(&u["sourcedId"]) {
                observers
                    .entry(u["sourcedId"].clone())
                    .or_default()
                    .insert(agent.to_string());
            } else if is_parent(agent) {
                observers
                    .entry(agent.to_string())
                    .or_default()
                    .insert(u["sourcedId"].clone());
            }
        }
    }
    let mut enrollments: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for c in csv_rows(&district.join("classes.csv"))
        .into_iter()
        .filter(live)
    {
        enrollments.entry(c["sourcedId"].clone()).or_default();
    }
    for e in csv_rows(&district.join("enrollments.csv"))
        .into_iter()
        .filter(live)
    {
        // An aide teaching a class is a TA (the mapping's documented default).
        let user_is_aide = role.get(&e["userSourcedId"]).is_some_and(|r| r == "aide");
        let kind = match e["role"].as_str() {
            "student" => "StudentEnrollment",
            "teacher" if user_is_aide => "TaEnrollment",
            "teacher" => "TeacherEnrollment",
            "aide" => "TaEnrollment",
            other => panic!("unexpected role {other}"),
        };
        if role.contains_key(&e["userSourcedId"]) {
            enrollments
                .entry(e["classSourcedId"].clone())
                .or_default()
                .insert((e["userSourcedId"].clone(), kind.to_string()));
        }
    }
    Expected {
        users,
        enrollments,
        observers,
    }
}

/// What Canvas holds, read through its API.
fn canvas(sandbox: &Sandbox, like: &Expected) -> Expected {
    let client = sandbox.client();
    sandbox.read(async {
        let users: Vec<Value> = client
            .get_all("/api/v1/accounts/1/users", &[])
            .await
            .unwrap();
        let with_sis = users
            .iter()
            .filter(|u| u["sis_user_id"].is_string())
            .count();
        let users: BTreeMap<String, String> = users
            .iter()
            .filter_map(|u| {
                Some((
                    u["sis_user_id"].as_str()?.to_string(),
                    u["login_id"].as_str().unwrap_or_default().to_string(),
                ))
            })
            .collect();
        assert_eq!(with_sis, users.len(), "no SIS id twice in Canvas");
        let mut enrollments = BTreeMap::new();
        for section in like.enrollments.keys() {
            let path = format!(
                "/api/v1/sections/{}/enrollments",
                sis_path("sis_section_id", section)
            );
            let list: Vec<Value> = client.get_all(&path, &[]).await.unwrap();
            let set: BTreeSet<(String, String)> = list
                .iter()
                .filter(|e| e["type"] != "ObserverEnrollment")
                .map(|e| {
                    (
                        e["sis_user_id"].as_str().unwrap_or_default().to_string(),
                        e["type"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            enrollments.insert(section.clone(), set);
        }
        let mut observers = BTreeMap::new();
        for observer in like.observers.keys() {
            let path = format!(
                "/api/v1/users/{}/observees",
                sis_path("sis_user_id", observer)
            );
            let list: Vec<Value> = client.get_all(&path, &[]).await.unwrap();
            let set: BTreeSet<String> = list
                .iter()
                .filter_map(|s| s["sis_user_id"].as_str().map(str::to_string))
                .collect();
            observers.insert(observer.clone(), set);
        }
        Expected {
            users,
            enrollments,
            observers,
        }
    })
}

fn assert_canvas_matches(sandbox: &Sandbox, district: &Path) {
    assert_canvas_matches_besides(sandbox, district, &[]);
}

/// Like [`assert_canvas_matches`], with users rosterbridge does not manage left out.
fn assert_canvas_matches_besides(sandbox: &Sandbox, district: &Path, others: &[&str]) {
    let want = expected(district);
    let mut got = canvas(sandbox, &want);
    got.users.retain(|sis, _| !others.contains(&sis.as_str()));
    let missing: Vec<_> = want
        .users
        .keys()
        .filter(|k| !got.users.contains_key(*k))
        .take(5)
        .collect();
    let extra: Vec<_> = got
        .users
        .keys()
        .filter(|k| !want.users.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "users missing from Canvas {missing:?}, unexpected {extra:?}"
    );
    assert_eq!(got.users, want.users, "login ids differ");
    for (section, set) in &want.enrollments {
        assert_eq!(
            &got.enrollments[section], set,
            "enrollments of section {section}"
        );
    }
    assert_eq!(got.observers, want.observers, "observer links");
}

fn zip_rows(path: &str) -> usize {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut rows = 0;
    for i in 0..zip.len() {
        let f = zip.by_index(i).unwrap();
        rows += csv::Reader::from_reader(f).records().count();
    }
    rows
}

#[test]
fn a_full_district_sync_leaves_canvas_matching_the_roster_object_for_object() {
    let sandbox = Sandbox::start(&[]);
    let w = Work::new(&sandbox.url, "");
    w.generate(120, None);
    let run = w.sync();
    run.ok();
    let report = &run.json()["report"];
    assert_eq!(report["outcome"], "succeeded", "{report}");
    assert_eq!(report["rejected"], 0);
    assert_canvas_matches(&sandbox, &w.path("district"));

    // The zip sent and the import's final JSON are kept for audit.
    let artifacts: Vec<String> = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert!(
        artifacts
            .iter()
            .any(|a| a.ends_with("sis-import.zip") && Path::new(a).exists()),
        "{artifacts:?}"
    );
    let json_path = artifacts
        .iter()
        .find(|a| a.ends_with(".json"))
        .expect("import JSON kept");
    let import: Value = serde_json::from_slice(&std::fs::read(json_path).unwrap()).unwrap();
    assert_eq!(import["workflow_state"], "imported");

    // Nothing left to do: a second sync sends nothing.
    let again = w.sync();
    again.ok();
    assert_eq!(again.json()["report"]["outcome"], "no_changes");
}

#[test]
fn a_one_percent_change_sends_only_the_changed_rows_and_canvas_follows() {
    let sandbox = Sandbox::start(&[]);
    let w = Work::new(&sandbox.url, "");
    w.generate(150, None);
    let first = w.sync();
    first.ok();
    let first_applied = first.json()["report"]["applied"].as_u64().unwrap();

    w.generate(150, Some(1));
    let plan = w.rb(&["plan", "--json"]);
    plan.ok();
    let planned: u64 = plan.json()["summary"]
        .as_object()
        .unwrap()
        .values()
        .map(|k| {
            ["create", "update", "reactivate", "deactivate", "delete"]
                .iter()
                .map(|a| k[*a].as_u64().unwrap())
                .sum::<u64>()
        })
        .sum();
    let second = w.sync();
    second.ok();
    let report = &second.json()["report"];
    assert_eq!(report["applied"].as_u64().unwrap(), planned);
    assert!(
        planned > 0 && planned * 20 < first_applied,
        "a 1% change planned {planned} of {first_applied}"
    );
    let zip = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .find(|a| a.ends_with(".zip"))
        .unwrap()
        .to_string();
    assert_eq!(
        zip_rows(&zip) as u64,
        planned,
        "the zip holds exactly the changed rows"
    );
    assert_canvas_matches(&sandbox, &w.path("district"));
}

#[test]
fn status_and_runs_tell_what_was_applied_and_how_each_run_ended() {
    let sandbox = Sandbox::start(&[]);
    let w = Work::new(&sandbox.url, "");
    w.generate(40, None);
    w.sync().ok();
    let status = w.rb(&["status", "--json"]);
    status.ok();
    let s = status.json();
    let users = s["applied"]["users"]["active"].as_u64().unwrap()
        + s["applied"]["users"]["inactive"].as_u64().unwrap();
    assert_eq!(users as usize, expected(&w.path("district")).users.len());
    assert_eq!(s["last_run"]["outcome"], "succeeded");
    let runs = w.rb(&["runs"]);
    runs.ok();
    assert!(runs.stdout.contains("#1 sync succeeded"), "{}", runs.stdout);
}

#[test]
fn a_missing_token_is_a_clear_error_and_nothing_is_recorded() {
    let sandbox = Sandbox::start(&[]);
    let w = Work::new(&sandbox.url, "");
    w.generate(20, None);
    let mut args: Vec<String> = ["sync", "--config"].iter().map(|s| s.to_string()).collect();
    args.push(w.path("rosterbridge.toml").display().to_string());
    let run = common::run_in(w.dir.path(), &args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("CANVAS_TOKEN"), "{}", run.stderr);
    let status = w.rb(&["status", "--json"]);
    assert!(
        status.stdout.contains("nothing has been applied")
            || status.json()["applied"]["users"]["active"] == 0,
        "{}",
        status.stdout
    );
}

#[test]
fn an_import_canvas_fails_records_nothing_and_the_next_sync_sends_everything_again() {
    let broken = Sandbox::start(&["--import-outcome", "fail"]);
    let w = Work::new(&broken.url, "");
    w.generate(30, None);
    let run = w.sync();
    assert_eq!(
        run.code, 1,
        "a failed import is a failed run\n{}\n{}",
        run.stdout, run.stderr
    );
    let report = &run.json()["report"];
    assert_eq!(report["outcome"], "failed");
    assert_eq!(report["applied"], 0);
    assert!(report["rejected"].as_u64().unwrap() > 0);
    let status = w.rb(&["status", "--json"]).json();
    assert_eq!(
        status["applied"]["users"]["active"], 0,
        "nothing recorded as applied: {status}"
    );

    // Canvas healthy again: the next sync sends every row and Canvas matches the roster.
    let healthy = Sandbox::start(&[]);
    w.point_at(&healthy.url, "");
    let again = w.sync();
    again.ok();
    assert_eq!(again.json()["report"]["applied"], report["rejected"]);
    assert_canvas_matches(&healthy, &w.path("district"));
}

#[test]
fn an_import_that_never_finishes_stops_the_run_at_the_time_limit_with_nothing_recorded() {
    let stuck = Sandbox::start(&["--import-outcome", "stay-importing"]);
    let w = Work::new(&stuck.url, "import_timeout_secs = 2");
    w.generate(20, None);
    let run = w.rb(&["sync", "-q"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("still") && run.stderr.contains("import_timeout_secs"),
        "{}",
        run.stderr
    );
    let runs = w.rb(&["runs", "--json"]).json();
    assert_eq!(runs[0]["outcome"], "failed");
    let status = w.rb(&["status", "--json"]).json();
    assert_eq!(status["applied"]["users"]["active"], 0);
}

#[test]
fn server_errors_and_latency_are_retried_and_the_sync_completes_exactly_once() {
    let flaky = Sandbox::start(&["--error-rate", "0.3", "--latency-ms", "5"]);
    let w = Work::new(&flaky.url, "");
    w.generate(25, None);
    let run = w.sync();
    run.ok();
    let report = &run.json()["report"];
    assert_eq!(report["outcome"], "succeeded", "{report}");
    assert!(
        report["http"]["retries"].as_u64().unwrap() > 0,
        "the fault injection should have forced retries: {report}"
    );
    // Reading back through the same faults would need retries too; the client has them.
    assert_canvas_matches(&flaky, &w.path("district"));
}

#[test]
fn rate_limited_answers_429_and_legacy_403_are_waited_out() {
    use std::sync::atomic::{AtomicBool, Ordering};
    for legacy in [false, true] {
        // Every request leaves 40 units in a 150-unit bucket that leaks 50 a second.
        let mut flags = vec![
            "--high-water-mark",
            "150",
            "--leak-rate",
            "50",
            "--request-cost",
            "40",
        ];
        if legacy {
            flags.push("--legacy-403");
        }
        let sandbox = Sandbox::start(&flags);
        let w = Work::new(&sandbox.url, "");
        w.generate(20, None);
        // Another script of the same admin keeps the token's bucket full until the sync has
        // been refused at least once (the sandbox's count of refusals passes the script's
        // own), then stops, so the sync meets a full bucket however long it takes to start.
        let synced = AtomicBool::new(false);
        let run = std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut own_refusals = 0;
                while !synced.load(Ordering::Relaxed) {
                    let (status, _) = sandbox.raw_get("/api/v1/accounts/1");
                    if status == 429 || status == 403 {
                        own_refusals += 1;
                    }
                    if sandbox.refused() > own_refusals {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            });
            let run = w.sync();
            synced.store(true, Ordering::Relaxed);
            run
        });
        run.ok();
        let report = &run.json()["report"];
        assert_eq!(report["outcome"], "succeeded", "legacy={legacy}: {report}");
        assert!(
            report["http"]["throttled"].as_u64().unwrap() >= 1,
            "legacy={legacy}: the full bucket was not met: {report}"
        );
    }
}

#[test]
fn rows_canvas_refuses_are_reported_stay_pending_and_go_again_next_sync() {
    let sandbox = Sandbox::start(&[]);
    let w = Work::new(&sandbox.url, "");
    w.generate(30, None);
    // Someone already holds a student's login in Canvas under another SIS id.
    let student = csv_rows(&w.path("district/users.csv"))
        .into_iter()
        .find(|u| u["role"] == "student")
        .unwrap();
    let login = student["username"].clone();
    let client = sandbox.client();
    let squatter: Value = sandbox
        .read(client.write(
            reqwest::Method::POST,
            "/api/v1/accounts/1/users",
            vec![
                ("user[name]".into(), "Someone Else".into()),
                ("pseudonym[unique_id]".into(), login.clone()),
                ("pseudonym[sis_user_id]".into(), "OTHER-1".into()),
            ],
            rosterbridge_canvas_client::Retry::IfNotProcessed,
        ))
        .unwrap();

    let run = w.sync();
    assert_eq!(
        run.code, 3,
        "partial failure\n{}\n{}",
        run.stdout, run.stderr
    );
    let report = &run.json()["report"];
    assert_eq!(report["outcome"], "partial_failure");
    let rejections = report["rejections"].as_array().unwrap();
    let mine = rejections
        .iter()
        .find(|r| r["kind"] == "users")
        .unwrap_or_else(|| panic!("the user row is rejected: {report}"));
    assert_eq!(mine["key"], student["sourcedId"].as_str());
    assert!(
        mine["message"].as_str().unwrap().contains("OTHER-1"),
        "Canvas's message is kept: {mine}"
    );
    let status = w.rb(&["status"]);
    assert!(
        status.stdout.contains("pending:") && status.stdout.contains(&student["sourcedId"]),
        "{}",
        status.stdout
    );
    let plan = w.rb(&["plan", "--json"]).json();
    assert!(
        plan["summary"]["users"]["create"].as_u64().unwrap() >= 1,
        "the rejected user is still to be created: {}",
        plan["summary"]
    );

    // The conflict resolved in Canvas, the next sync sends what was refused and nothing else.
    let id = squatter["id"].as_i64().unwrap();
    let _: Value = sandbox
        .read(client.write(
            reqwest::Method::PUT,
            &format!("/api/v1/users/{id}"),
            vec![("user[name]".into(), "Someone Else".into())],
            rosterbridge_canvas_client::Retry::Safe,
        ))
        .unwrap();
    let logins: Vec<Value> = sandbox
        .read(client.get_all(&format!("/api/v1/users/{id}/logins"), &[]))
        .unwrap();
    let login_id = logins[0]["id"].as_i64().unwrap();
    let _: Value = sandbox
        .read(client.write(
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/1/logins/{login_id}"),
            vec![("login[unique_id]".into(), "someone.else".into())],
            rosterbridge_canvas_client::Retry::Safe,
        ))
        .unwrap();
    let again = w.sync();
    again.ok();
    assert_eq!(
        again.json()["report"]["applied"].as_u64().unwrap(),
        report["rejected"].as_u64().unwrap()
    );
    assert_canvas_matches_besides(&sandbox, &w.path("district"), &["OTHER-1"]);
}

#[test]
fn a_sync_killed_mid_apply_is_finished_by_the_next_run_without_duplicates() {
    // Slow answers, so the engine is surely between sending and recording when killed.
    let sandbox = Sandbox::start(&["--latency-ms", "60"]);
    let w = Work::new(&sandbox.url, "");
    w.generate(15, None);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rosterbridge"))
        .args(["sync", "-q", "--config"])
        .arg(w.path("rosterbridge.toml"))
        .env("CANVAS_TOKEN", TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = sandbox.client();
    let start = std::time::Instant::now();
    loop {
        let imports: Value = sandbox
            .read(client.get("/api/v1/accounts/1/sis_imports", &[]))
            .unwrap();
        if imports["sis_imports"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break;
        }
        assert!(
            start.elapsed().as_secs() < 30,
            "the sync never posted its import"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sync ended before it could be killed"
        );
    }
    child.kill().unwrap(); // SIGKILL: no cleanup at all
    child.wait().unwrap();
    let status = w.rb(&["status", "--json"]).json();
    assert_eq!(
        status["applied"]["users"]["active"], 0,
        "the killed run recorded nothing: {status}"
    );

    let runs = w.rb(&["runs", "--json"]).json();
    assert_eq!(
        runs[0]["outcome"], "running",
        "the killed run could not finish its record"
    );

    let rerun = w.sync();
    rerun.ok();
    assert_eq!(rerun.json()["report"]["outcome"], "succeeded");
    assert_canvas_matches(&sandbox, &w.path("district"));
    let runs = w.rb(&["runs", "--json"]).json();
    let killed = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == 1)
        .unwrap();
    assert_eq!(
        killed["outcome"], "failed",
        "the next run marks the dead one: {killed}"
    );
    assert!(
        killed["message"].as_str().unwrap().contains("interrupted"),
        "{killed}"
    );
    let again = w.sync();
    again.ok();
    assert_eq!(again.json()["report"]["outcome"], "no_changes");
}

#[test]
fn demo_syncs_a_district_into_an_embedded_sandbox_then_sends_only_the_delta() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo").display().to_string();
    let run = common::run_in(
        dir.path(),
        &[
            "demo".into(),
            "--students".into(),
            "80".into(),
            "--dir".into(),
            out.clone(),
        ],
    );
    run.ok();
    assert!(
        run.stdout.contains("what Canvas holds now"),
        "{}",
        run.stdout
    );
    let sent: Vec<u64> = run
        .stdout
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("run ")
                .and_then(|r| r.split('(').nth(1))
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok())
        })
        .collect();
    assert_eq!(sent.len(), 2, "two syncs reported: {}", run.stdout);
    assert!(
        sent[1] > 0 && sent[1] * 20 < sent[0],
        "the second sync sent only the delta: {sent:?}"
    );
    assert!(Path::new(&out).join("rosterbridge.state.db").exists());
}

#[test]
fn rest_mode_applies_the_same_plan_call_by_call_and_canvas_matches() {
    let sandbox = Sandbox::start(&["--no-throttle"]);
    let w = Work::new(&sandbox.url, "mode = \"rest\"");
    w.generate(12, None);
    let first = w.sync();
    first.ok();
    let report = &first.json()["report"];
    assert_eq!(report["sink"], "rest");
    assert_eq!(report["outcome"], "succeeded", "{report}");
    assert_canvas_matches(&sandbox, &w.path("district"));

    w.generate(12, Some(5));
    let second = w.sync();
    second.ok();
    assert_eq!(second.json()["report"]["outcome"], "succeeded");
    assert_canvas_matches(&sandbox, &w.path("district"));
    assert_eq!(w.sync().json()["report"]["outcome"], "no_changes");
}

#[test]
fn both_modes_adopt_a_user_found_by_login_or_email_instead_of_creating_a_duplicate() {
    for (mode, by) in [
        ("rest", "login"),
        ("sis_import", "login"),
        ("sis_import", "email"),
        ("rest", "email"),
    ] {
        let sandbox = Sandbox::start(&["--no-throttle"]);
        let w = Work::new(&sandbox.url, &format!("mode = \"{mode}\""));
        w.generate(8, None);
        let teacher = csv_rows(&w.path("district/users.csv"))
            .into_iter()
            .find(|u| u["role"] == "teacher")
            .unwrap();
        let client = sandbox.client();
        // Created by hand before rosterbridge: same login (or same email), no SIS id.
        let mut form = vec![("user[name]".to_string(), "Hand Made".to_string())];
        if by == "login" {
            form.push(("pseudonym[unique_id]".into(), teacher["username"].clone()));
        } else {
            form.push(("pseudonym[unique_id]".into(), "hand.made".into()));
            form.push((
                "communication_channel[address]".into(),
                teacher["email"].clone(),
            ));
        }
        let existing: Value = sandbox
            .read(client.write(
                reqwest::Method::POST,
                "/api/v1/accounts/1/users",
                form,
                rosterbridge_canvas_client::Retry::IfNotProcessed,
            ))
            .unwrap();
        let run = w.sync();
        run.ok();
        let user: Value = sandbox
            .read(client.get(
                &format!(
                    "/api/v1/users/{}",
                    sis_path("sis_user_id", &teacher["sourcedId"])
                ),
                &[],
            ))
            .unwrap();
        assert_eq!(
            user["id"], existing["id"],
            "{mode} by {by}: the existing user was adopted, not duplicated"
        );
        if by == "login" {
            assert_canvas_matches(&sandbox, &w.path("district"));
        }
    }
}

#[test]
fn rest_mode_reports_a_login_held_by_another_sis_id_as_a_conflict_not_a_guess() {
    let sandbox = Sandbox::start(&["--no-throttle"]);
    let w = Work::new(&sandbox.url, "mode = \"rest\"");
    w.generate(8, None);
    let teacher = csv_rows(&w.path("district/users.csv"))
        .into_iter()
        .find(|u| u["role"] == "teacher")
        .unwrap();
    let client = sandbox.client();
    let _: Value = sandbox
        .read(client.write(
            reqwest::Method::POST,
            "/api/v1/accounts/1/users",
            vec![
                ("user[name]".into(), "Other".into()),
                ("pseudonym[unique_id]".into(), teacher["username"].clone()),
                ("pseudonym[sis_user_id]".into(), "OTHER-9".into()),
            ],
            rosterbridge_canvas_client::Retry::IfNotProcessed,
        ))
        .unwrap();
    let run = w.sync();
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let report = &run.json()["report"];
    let conflict = report["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "users")
        .expect("the user is rejected");
    assert!(
        conflict["message"].as_str().unwrap().contains("OTHER-9"),
        "{conflict}"
    );
}

#[test]
fn rest_mode_killed_half_way_is_finished_by_the_next_run_without_duplicates() {
    let sandbox = Sandbox::start(&["--no-throttle", "--latency-ms", "10"]);
    let w = Work::new(&sandbox.url, "mode = \"rest\"\nmax_concurrency = 2");
    w.generate(12, None);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rosterbridge"))
        .args(["sync", "-q", "--config"])
        .arg(w.path("rosterbridge.toml"))
        .env("CANVAS_TOKEN", TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = sandbox.client();
    let start = std::time::Instant::now();
    // Kill it once some courses exist: users are done, courses half-way.
    loop {
        let courses: Vec<Value> = sandbox
            .read(client.get_all("/api/v1/accounts/1/courses", &[]))
            .unwrap();
        if courses.len() >= 5 {
            break;
        }
        assert!(start.elapsed().as_secs() < 60, "the sync made no courses");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sync ended before it could be killed"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let rerun = w.sync();
    rerun.ok();
    assert_eq!(rerun.json()["report"]["outcome"], "succeeded");
    assert_canvas_matches(&sandbox, &w.path("district"));
    let courses: Vec<Value> = sandbox
        .read(client.get_all("/api/v1/accounts/1/courses", &[]))
        .unwrap();
    let distinct: BTreeSet<&str> = courses
        .iter()
        .filter_map(|c| c["sis_course_id"].as_str())
        .collect();
    assert_eq!(distinct.len(), courses.len(), "no course created twice");
    assert_eq!(w.sync().json()["report"]["outcome"], "no_changes");
}

#[test]
fn a_new_user_on_a_later_run_is_adopted_by_email_in_sis_import_mode() {
    let sandbox = Sandbox::start(&["--no-throttle"]);
    let w = Work::new(&sandbox.url, "");
    w.generate(30, None);
    w.sync().ok();
    let before: BTreeSet<String> = csv_rows(&w.path("district/users.csv"))
        .into_iter()
        .map(|u| u["sourcedId"].clone())
        .collect();
    w.generate(30, Some(10));
    let newcomer = csv_rows(&w.path("district/users.csv"))
        .into_iter()
        .find(|u| !before.contains(&u["sourcedId"]) && !u["email"].is_empty())
        .expect("the change adds a user with an email");
    let client = sandbox.client();
    let existing: Value = sandbox
        .read(client.write(
            reqwest::Method::POST,
            "/api/v1/accounts/1/users",
            vec![
                ("user[name]".into(), "Made By Hand".into()),
                ("pseudonym[unique_id]".into(), "made.by.hand".into()),
                (
                    "communication_channel[address]".into(),
                    newcomer["email"].clone(),
                ),
            ],
            rosterbridge_canvas_client::Retry::IfNotProcessed,
        ))
        .unwrap();
    w.sync().ok();
    let user: Value = sandbox
        .read(client.get(
            &format!(
                "/api/v1/users/{}",
                sis_path("sis_user_id", &newcomer["sourcedId"])
            ),
            &[],
        ))
        .unwrap();
    assert_eq!(
        user["id"], existing["id"],
        "adopted by email, not duplicated"
    );
}

#[test]
fn terms_and_schools_already_in_canvas_are_adopted_by_name_in_both_modes() {
    for mode in ["sis_import", "rest"] {
        let sandbox = Sandbox::start(&["--no-throttle"]);
        let w = Work::new(&sandbox.url, &format!("mode = \"{mode}\""));
        w.generate(8, None);
        let term = csv_rows(&w.path("district/academicSessions.csv"))
            .into_iter()
            .find(|s| s["type"] == "semester")
            .unwrap();
        let school = csv_rows(&w.path("district/orgs.csv"))
            .into_iter()
            .find(|o| o["type"] == "school")
            .unwrap();
        let client = sandbox.client();
        let made_term: Value = sandbox
            .read(client.write(
                reqwest::Method::POST,
                "/api/v1/accounts/1/terms",
                vec![("enrollment_term[name]".into(), term["title"].clone())],
                rosterbridge_canvas_client::Retry::IfNotProcessed,
            ))
            .unwrap();
        let made_school: Value = sandbox
            .read(client.write(
                reqwest::Method::POST,
                "/api/v1/accounts/1/sub_accounts",
                vec![("account[name]".into(), school["name"].clone())],
                rosterbridge_canvas_client::Retry::IfNotProcessed,
            ))
            .unwrap();
        let run = w.sync();
        run.ok();
        let t: Value = sandbox
            .read(client.get(
                &format!(
                    "/api/v1/accounts/1/terms/{}",
                    sis_path("sis_term_id", &term["sourcedId"])
                ),
                &[],
            ))
            .unwrap();
        assert_eq!(t["id"], made_term["id"], "{mode}: the term was adopted");
        let a: Value = sandbox
            .read(client.get(
                &format!(
                    "/api/v1/accounts/{}",
                    sis_path("sis_account_id", &school["sourcedId"])
                ),
                &[],
            ))
            .unwrap();
        assert_eq!(
            a["id"], made_school["id"],
            "{mode}: the school's sub-account was adopted"
        );
        assert_canvas_matches(&sandbox, &w.path("district"));
    }
}

/// `rosterbridge sandbox --sis-listen`: the Canvas URL and then the SIS provider's URL.
fn start_with_sis(students: &str) -> (Sandbox, String) {
    let (sandbox, lines) = Sandbox::start_reading(
        &["--sis-listen", "127.0.0.1:0", "--sis-students", students],
        1,
    );
    (sandbox, lines[0].clone())
}

#[test]
fn rest_and_clever_sources_served_by_the_sandbox_validate_and_sync_end_to_end() {
    let (sandbox, sis) = start_with_sis("15");
    let sources = [
        format!("[source]\nkind = \"oneroster-rest\"\nbase_url = \"{sis}/ims/oneroster/v1p1\"\nversion = \"1.1\"\nclient_id = \"sandbox-key\"\nclient_secret_env = \"SIS_SECRET\"\n"),
        format!("[source]\nkind = \"clever\"\nbase_url = \"{sis}/v3.0\"\ntoken_env = \"SIS_SECRET\"\n"),
    ];
    for (source, secret) in sources
        .iter()
        .zip(["sandbox-secret", "sandbox-district-token"])
    {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("rosterbridge.toml");
        std::fs::write(
            &config,
            format!(
                "{source}\n[canvas]\nurl = \"{}\"\naccount_id = 1\ntoken_env = \"CANVAS_TOKEN\"\n",
                sandbox.url
            ),
        )
        .unwrap();
        let env = [("CANVAS_TOKEN", TOKEN), ("SIS_SECRET", secret)];
        let args = |cmd: &[&str]| -> Vec<String> {
            cmd.iter()
                .map(|s| s.to_string())
                .chain(["--config".to_string(), config.display().to_string()])
                .collect()
        };
        let validate = run_env(dir.path(), &args(&["validate"]), &env);
        validate.ok();
        assert!(
            validate.stdout.contains("users") || validate.stdout.contains("district"),
            "connectivity is reported: {}",
            validate.stdout
        );
        let sync = run_env(dir.path(), &args(&["sync", "--json", "-q"]), &env);
        sync.ok();
        let report = &sync.json()["report"];
        assert_eq!(report["outcome"], "succeeded", "{source}: {report}");
        assert!(report["applied"].as_u64().unwrap() > 50);
        let again = run_env(dir.path(), &args(&["sync", "--json", "-q"]), &env);
        again.ok();
        assert_eq!(
            again.json()["report"]["outcome"],
            "no_changes",
            "{source}: a second pull of the same roster changes nothing"
        );
    }
    // A wrong secret names the credential, not the secret.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("rosterbridge.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[canvas]\nurl = \"{}\"\naccount_id = 1\n",
            sources[0], sandbox.url
        ),
    )
    .unwrap();
    let bad = run_env(
        dir.path(),
        &[
            "validate".into(),
            "--config".into(),
            config.display().to_string(),
        ],
        &[("SIS_SECRET", "wrong-secret")],
    );
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(
        !bad.stderr.contains("wrong-secret") && !bad.stdout.contains("wrong-secret"),
        "the secret is never printed"
    );
}
