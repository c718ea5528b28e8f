//! Browser tests in a real headless Chromium: an admin logs in, connects the server to the
//! Canvas sandbox through the OAuth developer-key flow, creates an execution profile, runs it, reads a refused row
//! on the run's page, and approves a held plan. A screenshot of each main page is saved
//! under `target/browser-screenshots/admin_flow/`.

mod common;

#[path = "common/browser.rs"]
mod browser;

use browser::Browser;
use common::Server;
use rosterbridge_sandbox::{RunningSandbox, SandboxConfig};
use serde_json::Value;

const ADMIN_TOKEN: &str = "sandbox-admin";

fn rows(path: &std::path::Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

#[test]
fn admin_flow_login_oauth_connect_run_error_row_and_approve_a_held_plan() {
    let sandbox_config = SandboxConfig::new("127.0.0.1:0".parse().unwrap(), ADMIN_TOKEN);
    // The configuration names no token: runs use the connection made in the browser.
    let config = "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"http://127.0.0.1:9\"\naccount_id = 1\ntoken_env = \"NO_SUCH_TOKEN_VARIABLE\"\n\n\
[safety]\nmax_removal_percent = 10\nremoval_floor = 0\n";
    let s = Server::with_config(config);
    let sandbox =
        s.rt.block_on(RunningSandbox::start(sandbox_config))
            .unwrap();
    let district = s.dir.path().join("district");
    rosterbridge_generate::write_oneroster_csv(
        &rosterbridge_generate::DistrictSpec::base(12, 5),
        &district,
        &|_, _, _| {},
    )
    .unwrap();
    // Someone already holds a student's login in Canvas: that row will be refused.
    let users = rows(&district.join("users.csv"));
    let student = users.iter().find(|u| u["role"] == "student").unwrap();
    let redirect = format!("{}/canvas/authorize", s.url);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let key: Value = s.rt.block_on(async {
        let http = reqwest::Client::new();
        http.post(format!("{}/api/v1/accounts/1/users", sandbox.base_url))
            .bearer_auth(ADMIN_TOKEN)
            .form(&[
                ("user[name]", "Someone Else"),
                ("pseudonym[unique_id]", student["username"].as_str()),
                ("pseudonym[sis_user_id]", "OTHER-1"),
            ])
            .send()
            .await
            .unwrap();
        http.post(format!(
            "{}/api/v1/accounts/1/developer_keys",
            sandbox.base_url
        ))
        .bearer_auth(ADMIN_TOKEN)
        .form(&[
            ("developer_key[name]", "rosterbridge"),
            ("developer_key[redirect_uri]", redirect.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
    });

    let b = Browser::start("admin_flow");
    // Log in.
    b.goto(&format!("{}/", s.url));
    b.wait_for("Admin name", false);
    b.screenshot("01-login");
    b.fill("input[name=username]", "ada");
    b.fill("input[name=password]", "correct horse battery");
    b.click("form[action='/login'] button");
    b.wait_for("Execution profiles", false);
    b.screenshot("02-dashboard-not-connected");

    // Connect through the OAuth flow: Canvas (the sandbox) approves and sends us back.
    b.goto(&format!("{}/connection", s.url));
    b.fill(
        "form[action='/connection/oauth'] input[name=url]",
        &sandbox.base_url,
    );
    b.fill(
        "form[action='/connection/oauth'] input[name=client_id]",
        &key["id"].to_string(),
    );
    b.fill(
        "form[action='/connection/oauth'] input[name=client_secret]",
        key["api_key"].as_str().unwrap(),
    );
    b.screenshot("03-connection-form");
    b.click("form[action='/connection/oauth'] button");
    b.wait_for("Connected with OAuth", false);
    b.wait_for("<option value=\"1\" selected", false);
    b.screenshot("04-connected-choose-account");
    b.click("form[action='/connection/account'] button");
    b.wait_for("Runs now sync into Canvas account 1", false);

    // Create the execution profile (written into the configuration file).
    b.click("#new-profile");
    b.wait_for("New execution profile", false);
    b.fill("input[name=name]", "all-years");
    b.fill("input[name=start]", "2000-01-01");
    b.fill("input[name=end]", "2099-12-31");
    b.screenshot("05-new-profile");
    b.click("button[value=save_enable]");
    b.wait_for("Profile all-years saved and enabled", false);

    // Run the profile; the refused row shows on the run's page.
    b.click("#profiles form[action='/ui/run'] button");
    b.wait_for("partial_failure", true);
    b.screenshot("06-dashboard-after-run");
    b.click("#runs a");
    b.wait_for("already has SIS id OTHER-1", false);
    assert!(
        b.source()
            .contains(&format!("<td>users</td><td>{}</td>", student["sourcedId"])),
        "the refused row names the student"
    );
    b.screenshot("07-run-with-error-row");

    // A third of the students leave: held. Approve it from the dashboard.
    let leaving: Vec<String> = users
        .iter()
        .filter(|u| u["role"] == "student")
        .take(4)
        .map(|u| u["sourcedId"].clone())
        .collect();
    for file in ["users.csv", "enrollments.csv"] {
        let path = district.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !leaving.iter().any(|id| l.split(',').any(|cell| cell == id)))
            .collect();
        std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    }
    b.goto(&format!("{}/", s.url));
    b.click("#profiles form[action='/ui/run'] button");
    b.wait_for("Approve and apply", true);
    b.screenshot("08-held-plan");
    b.click("#held form button");
    b.wait_for("approved and applied as run", false);
    b.screenshot("09-approved-run");
    assert!(b.url().contains("/runs/"), "{}", b.url());
    // The configuration pages.
    b.goto(&format!("{}/mapping", s.url));
    b.wait_for("Actions per entity and role", false);
    b.screenshot("10-mapping");
    b.goto(&format!("{}/source", s.url));
    b.wait_for("Roster source", false);
    b.screenshot("11-source");
    s.rt.block_on(sandbox.stop()).unwrap();
}
