//! `rosterbridge serve` end to end: a real server process against a real sandbox process,
//! driven over HTTP as an admin would: log in, start a run, read its per-row errors, see a
//! held plan and approve it, read the metrics; the schedule starting runs on its own; a
//! clean stop on SIGTERM.

mod common;

use common::sandbox::{Sandbox, TOKEN};
use common::Fixture;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery";

struct Serve {
    url: String,
    child: Child,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    session: String,
    csrf: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(f: &Fixture, sandbox: &Sandbox, extra: &str) {
    f.write(
        "rosterbridge.toml",
        &format!(
            "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"{}\"\naccount_id = 1\ntoken_env = \"CANVAS_TOKEN\"\n\n\
[safety]\nmax_removal_percent = 10\nremoval_floor = 0\n\n\
[[profiles]]\nname = \"2026-27\"\nstart = 2026-08-01\nend = 2027-07-31\n{extra}",
            sandbox.url
        ),
    );
}

fn admin_create(f: &Fixture) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rosterbridge"))
        .args(["admin", "create", "ada", "--config", &f.config()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Serve {
    fn start(f: &Fixture, extra: &[&str]) -> Serve {
        Self::start_env(f, extra, &[("CANVAS_TOKEN", TOKEN)])
    }

    fn start_env(f: &Fixture, extra: &[&str], env: &[(&str, &str)]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rosterbridge"))
            .args([
                "serve",
                "--config",
                &f.config(),
                "--listen",
                "127.0.0.1:0",
                "--grace-secs",
                "30",
            ])
            .args(extra)
            .env_remove("CANVAS_TOKEN")
            .envs(env.iter().copied())
            .env("ROSTERBRIDGE_TODAY", "2026-09-01")
            .current_dir(f.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "serve printed {url:?}"
        );
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = reqwest::Client::new();
        let mut s = Serve {
            url,
            child,
            rt,
            client,
            session: String::new(),
            csrf: String::new(),
        };
        let (status, cookie, body) = s.call(
            "POST",
            "/api/v1/login",
            Some(json!({"username": "ada", "password": PASSWORD})),
        );
        assert_eq!(status, 200, "{body}");
        s.session = cookie.unwrap().split(';').next().unwrap().to_string();
        s.csrf = body["csrf_token"].as_str().unwrap().to_string();
        s
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Option<String>, Value) {
        self.rt.block_on(async {
            let mut req = self
                .client
                .request(method.parse().unwrap(), format!("{}{path}", self.url))
                .header("cookie", &self.session)
                .header("x-csrf-token", &self.csrf);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let cookie = resp
                .headers()
                .get("set-cookie")
                .map(|v| v.to_str().unwrap().to_string());
            let text = resp.text().await.unwrap();
            (
                status,
                cookie,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        })
    }

    /// Posts an HTML form of the admin UI (with the session's CSRF token); returns the
    /// status and the Location it redirects to.
    fn form(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        self.rt.block_on(async {
            let mut all: Vec<(&str, &str)> = vec![("csrf_token", self.csrf.as_str())];
            all.extend_from_slice(fields);
            let resp = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .post(format!("{}{path}", self.url))
                .header("cookie", &self.session)
                .form(&all)
                .send()
                .await
                .unwrap();
            (
                resp.status().as_u16(),
                resp.headers()
                    .get("location")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default(),
            )
        })
    }

    /// Waits until `n` runs are recorded and none is in progress; returns the runs.
    fn runs_when_done(&self, n: usize) -> Vec<Value> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, _, body) = self.call("GET", "/api/v1/runs", None);
            let runs = body["runs"].as_array().cloned().unwrap_or_default();
            if runs.len() >= n && body["running"].as_array().is_some_and(|r| r.is_empty()) {
                return runs;
            }
            assert!(Instant::now() < until, "no {n} finished run(s): {body}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn an_admin_runs_a_profile_reads_its_row_errors_approves_a_held_plan_and_sees_the_metrics() {
    let sandbox = Sandbox::start(&[]);
    // Someone already holds Bart's login under another SIS id: his row will be refused.
    sandbox.make_user("Someone Else", "bart", "OTHER-1");
    let f = Fixture::new();
    config(&f, &sandbox, "");
    admin_create(&f);
    let s = Serve::start(&f, &["--no-schedule"]);

    // A preview plans without applying: the changes, and no run recorded.
    let (status, _, preview) = s.call(
        "POST",
        "/api/v1/plans/preview",
        Some(json!({"profile": "2026-27"})),
    );
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["summary"]["users"]["create"], 5, "{preview:#}");
    assert_eq!(preview["profile"], "2026-27");
    let (_, _, runs) = s.call("GET", "/api/v1/runs", None);
    assert_eq!(runs["runs"], json!([]), "a preview is not a run");

    let (status, _, body) = s.call("POST", "/api/v1/runs", Some(json!({"profile": "2026-27"})));
    assert_eq!(status, 202, "{body}");
    let runs = s.runs_when_done(1);
    assert_eq!(runs[0]["outcome"], "partial_failure", "{runs:#?}");
    assert_eq!(runs[0]["profile"], "2026-27");
    let id = runs[0]["id"].as_i64().unwrap();
    let (status, _, detail) = s.call("GET", &format!("/api/v1/runs/{id}"), None);
    assert_eq!(status, 200);
    let rejections = detail["run"]["summary"]["rejections"].as_array().unwrap();
    assert!(
        rejections
            .iter()
            .any(|r| r["key"].as_str().is_some_and(|k| k.contains("007"))),
        "the refused row is named: {detail:#}"
    );

    // Milhouse leaves: one user of four removed is over the 10% threshold: held.
    f.write(
        "district/users.csv",
        &common::USERS
            .lines()
            .filter(|l| !l.starts_with("009,"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    f.write(
        "district/enrollments.csv",
        &common::ENROLLMENTS
            .lines()
            .filter(|l| !l.contains(",009,"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let (status, _, _) = s.call("POST", "/api/v1/runs", Some(json!({"profile": "2026-27"})));
    assert_eq!(status, 202);
    let runs = s.runs_when_done(2);
    assert_eq!(runs[0]["outcome"], "held", "{runs:#?}");
    let (_, _, plans) = s.call("GET", "/api/v1/plans", None);
    let plan = plans["plans"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("a held plan: {plans}"));
    let (status, _, approved) = s.call("POST", &format!("/api/v1/plans/{plan}/approve"), None);
    assert_eq!(status, 200, "{approved}");
    assert!(approved["result"]["run"].is_i64(), "{approved}");
    let (_, _, plans) = s.call("GET", "/api/v1/plans", None);
    assert_eq!(plans["plans"], json!([]), "an approval is used once");
    let (status, _, again) = s.call("POST", &format!("/api/v1/plans/{plan}/approve"), None);
    assert_eq!(status, 409, "{again}");

    let (_, _, profiles) = s.call("GET", "/api/v1/profiles", None);
    let profile = &profiles["profiles"][0];
    assert_eq!(
        (&profile["last_run"]["id"], &profile["last_run"]["command"]),
        (&approved["result"]["run"], &json!("approve")),
        "{profiles:#}"
    );
    assert!(
        profile["last_successful_run"].is_null(),
        "Bart's row is still refused, so no run succeeded yet: {profiles:#}"
    );
    let (_, _, metrics) = s.call("GET", "/metrics", None);
    let metrics = metrics.as_str().unwrap().to_string();
    for want in [
        "rosterbridge_runs_total{outcome=\"partial_failure\"} 2",
        "rosterbridge_runs_total{outcome=\"held\"} 1",
        "rosterbridge_rows_total{kind=\"users\",action=\"create\"} 5",
        "rosterbridge_run_duration_seconds_count 3",
    ] {
        assert!(metrics.contains(want), "{want} missing:\n{metrics}");
    }
}

#[test]
fn the_schedule_runs_a_profile_on_its_own_and_sigterm_stops_the_server_cleanly() {
    let sandbox = Sandbox::start(&[]);
    let f = Fixture::new();
    config(&f, &sandbox, "schedule = \"*/2 * * * * *\"\n");
    admin_create(&f);
    let mut s = Serve::start(&f, &[]);
    let runs = s.runs_when_done(1);
    assert_eq!(runs[0]["outcome"], "succeeded", "{runs:#?}");
    assert_eq!(runs[0]["profile"], "2026-27");
    // Two seconds later the schedule comes due again: a run with nothing to do.
    let runs = s.runs_when_done(2);
    assert_eq!(runs[0]["outcome"], "no_changes", "{runs:#?}");

    let pid = s.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let until = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < until, "serve did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");
    // Nothing was left marked running in the state.
    let out = f.rb(&["runs", "--json"]);
    let runs: Value = out.json();
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] != "running"),
        "{runs:#}"
    );
}

#[test]
fn from_a_fresh_install_an_admin_sets_up_a_scheduled_sync_in_the_ui_without_touching_a_file() {
    let sandbox = Sandbox::start(&[]);
    let f = Fixture::new();
    std::fs::remove_file(f.path("rosterbridge.toml")).unwrap();
    admin_create(&f);
    // No configuration, and no token in the environment.
    let s = Serve::start_env(&f, &[], &[]);
    assert!(
        f.path("rosterbridge.toml").exists(),
        "a starter configuration was written"
    );

    let (status, location) = s.form(
        "/source",
        &[("kind", "oneroster-csv"), ("path", "district")],
    );
    assert_eq!(
        (status, location.starts_with("/source?msg=")),
        (303, true),
        "{location}"
    );
    let (status, location) = s.form(
        "/connection/token",
        &[("url", sandbox.url.as_str()), ("token", TOKEN)],
    );
    assert_eq!(
        (status, location.starts_with("/connection?msg=Connected")),
        (303, true),
        "{location}"
    );
    let (status, location) = s.form(
        "/profiles/save",
        &[
            ("original", ""),
            ("action", "save_enable"),
            ("name", "2026-27"),
            ("start", "2026-08-01"),
            ("end", "2027-07-31"),
            ("course_template", "period+group"),
            ("schedule", "*/2 * * * * *"),
        ],
    );
    assert_eq!(
        (status, location.starts_with("/?msg=Profile")),
        (303, true),
        "{location}"
    );

    // The schedule runs it, with the connection made in the UI.
    let runs = s.runs_when_done(1);
    assert_eq!(runs[0]["outcome"], "succeeded", "{runs:#?}");
    assert_eq!(runs[0]["profile"], "2026-27");
    let client = sandbox.client();
    let bart: Value = sandbox
        .read(client.get("/api/v1/users/sis_user_id:007", &[]))
        .unwrap();
    assert_eq!(bart["name"], "Bart Simpson");
    let text = std::fs::read_to_string(f.path("rosterbridge.toml")).unwrap();
    assert!(
        !text.contains(TOKEN),
        "the token is not in the configuration file"
    );
}
