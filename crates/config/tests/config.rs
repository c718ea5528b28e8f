use rosterbridge_config::{CanvasMode, Config, ConfigError, RowErrorPolicy};
use rosterbridge_model::kind::Status;
use std::path::Path;

const MINIMAL: &str = r#"[source]
kind = "oneroster-csv"
path = "district"        # folder or .zip, relative to this file

[canvas]
url = "http://127.0.0.1:8089"
account_id = 1
token_env = "CANVAS_TOKEN"
"#;

fn problems(text: &str) -> Vec<rosterbridge_model::Diagnostic> {
    match Config::parse(text, Path::new("/etc/rb/sync.toml")) {
        Ok(c) => panic!("expected problems, got {c:?}"),
        Err(e @ ConfigError::Invalid { .. }) => e.diagnostics(),
        Err(e) => panic!("unexpected {e}"),
    }
}

#[test]
fn the_minimal_configuration_from_the_readme_works_with_documented_defaults() {
    let c = Config::parse(MINIMAL, Path::new("/etc/rb/sync.toml")).unwrap();
    assert_eq!(c.source.path, Path::new("/etc/rb/district"));
    assert_eq!(c.canvas.url, "http://127.0.0.1:8089");
    assert_eq!(c.canvas.account_id, 1);
    assert_eq!(c.canvas.token_env, "CANVAS_TOKEN");
    assert_eq!(c.canvas.mode, CanvasMode::SisImport);
    assert_eq!(c.state_path, Path::new("/etc/rb/sync.state.db"));
    assert_eq!(c.mapping.user_removal, Status::Suspended);
    assert_eq!(c.mapping.enrollment_removal, Status::Deleted);
    assert_eq!(c.mapping.course_removal, None);
    assert_eq!(c.safety.max_removal_percent, 10.0);
    assert_eq!(c.source.on_row_error, RowErrorPolicy::Fail);
}

#[test]
fn an_unknown_key_is_rejected_with_its_line_and_column() {
    let text = MINIMAL.replace("account_id = 1", "account_id = 1\naccount_idd = 2");
    let d = problems(&text);
    assert_eq!(d.len(), 1);
    let loc = d[0].location.clone().unwrap();
    assert_eq!(loc.line, Some(8));
    assert_eq!(loc.column, Some(1));
    assert!(d[0].message.contains("account_idd"), "{}", d[0].message);
}

#[test]
fn a_wrong_type_is_rejected_with_its_location() {
    let text = MINIMAL.replace("account_id = 1", "account_id = \"one\"");
    let d = problems(&text);
    let loc = d[0].location.clone().unwrap();
    assert_eq!(loc.line, Some(7));
    assert!(
        d[0].message.contains("invalid type") && d[0].message.contains("\"one\""),
        "{}",
        d[0].message
    );
}

#[test]
fn every_invalid_value_is_reported_at_once_with_its_location() {
    let text = MINIMAL
        .replace("http://127.0.0.1:8089", "ftp:/nowhere")
        .replace("account_id = 1", "account_id = 0")
        + "\n[mapping]\nuser_removal = \"purged\"\n\n[safety]\nmax_removal_percent = 140\n";
    let d = problems(&text);
    let fields: Vec<_> = d
        .iter()
        .map(|d| d.location.as_ref().unwrap().field.clone().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "canvas.url",
            "canvas.account_id",
            "mapping.user_removal",
            "safety.max_removal_percent"
        ]
    );
    assert_eq!(d[0].location.as_ref().unwrap().line, Some(6));
    assert!(d[2].message.contains("suspended, deleted"));
    assert_eq!(d[3].value.as_deref(), Some("140"));
}

#[test]
fn a_token_pasted_into_token_env_is_refused_without_echoing_a_usable_hint() {
    let text = MINIMAL.replace("\"CANVAS_TOKEN\"", "\"7~abc def\"");
    let d = problems(&text);
    assert!(d[0].message.contains("NAME of an environment variable"));
}

#[test]
fn explicit_state_path_and_options_are_resolved() {
    let text = MINIMAL.to_string()
        + "\n[state]\npath = \"state/rb.db\"\n[mapping]\ncourse_removal = \"completed\"\nenrollment_removal = \"inactive\"\n[mapping.root_account]\nsis_id = \"root\"\nname = \"District\"\n";
    let c = Config::parse(&text, Path::new("cfg/sync.toml")).unwrap();
    assert_eq!(c.state_path, Path::new("cfg/state/rb.db"));
    assert_eq!(c.mapping.course_removal, Some(Status::Completed));
    assert_eq!(c.mapping.enrollment_removal, Status::Inactive);
    assert_eq!(c.mapping.root_account.unwrap().sis_id, "root");
}

#[test]
fn a_missing_file_is_a_read_error_naming_the_path() {
    let e = Config::load(Path::new("/nonexistent/rb.toml")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/rb.toml"));
}

#[test]
fn canvas_sink_options_have_documented_defaults_and_are_checked() {
    let c = Config::parse(MINIMAL, Path::new("/etc/rb/sync.toml")).unwrap();
    assert_eq!(c.canvas.import_timeout_secs, 3600);
    assert_eq!(c.canvas.max_concurrency, 8);
    assert!(!c.canvas.override_sis_stickiness);
    assert_eq!(
        c.canvas.match_users,
        vec![
            rosterbridge_config::UserMatchKey::Login,
            rosterbridge_config::UserMatchKey::Email
        ]
    );

    let text = MINIMAL.replace("token_env = \"CANVAS_TOKEN\"\n", "token_env = \"CANVAS_TOKEN\"\nmode = \"rest\"\nmatch_users = [\"email\", \"phone\"]\nimport_timeout_secs = 0\n");
    let p = problems(&text);
    let fields: Vec<String> = p
        .iter()
        .filter_map(|d| d.location.as_ref().and_then(|l| l.field.clone()))
        .collect();
    assert!(
        fields.contains(&"canvas.match_users".to_string())
            && fields.contains(&"canvas.import_timeout_secs".to_string()),
        "{p:?}"
    );
    assert!(p.iter().any(|d| d.message.contains("\"phone\"")), "{p:?}");
}

#[test]
fn safety_run_notify_and_production_keys_are_read_with_their_defaults() {
    let c = Config::parse(MINIMAL, Path::new("/etc/rb/sync.toml")).unwrap();
    let r = &c.safety.rules;
    assert_eq!(
        (
            r.thresholds.removals.percent,
            r.thresholds.updates.percent,
            r.thresholds.updates.floor
        ),
        (10.0, 75.0, 10)
    );
    assert!(r.per_scope && r.blackout.is_empty() && r.add_only.is_empty());
    assert_eq!(c.run.timeout_minutes, 360);
    assert!(!c.notify.enabled());
    assert_eq!(c.environment, rosterbridge_config::Environment::Only);

    let text = format!(
        "{MINIMAL}\n[canvas.production]\nurl = \"https://district.instructure.com\"\naccount_id = 1\n\n\
[safety]\nmax_removal_percent = 5\nremoval_floor = 3\nremoval_ceiling = 500\nmax_update_percent = 60\n\n\
[safety.kinds.users]\nmax_removal_percent = 2\n\n[[safety.scope]]\naccount = \"sch-1\"\nmax_removal_percent = 25\n\n\
[[safety.blackout]]\nstart = 2027-06-12\nend = \"2027-06-20\"\n\n[[safety.add_only]]\nstart = 2027-06-21\nend = 2027-08-31\nreason = \"rollover\"\n\n\
[run]\ntimeout_minutes = 90\n\n[notify]\nwebhook_url = \"https://hooks.example.org/rb\"\non = [\"held\", \"stale\"]\nstale_after_hours = 30\n\n\
[notify.smtp]\nhost = \"smtp.example.org\"\nfrom = \"rb@example.org\"\nto = [\"admin@example.org\"]\npassword_env = \"SMTP_PASSWORD\"\nusername = \"rb\"\n"
    );
    let c = Config::parse(&text, Path::new("/etc/rb/sync.toml")).unwrap();
    let r = &c.safety.rules;
    assert_eq!(c.safety.max_removal_percent, 5.0);
    assert_eq!(
        (r.thresholds.removals.floor, r.thresholds.removals.ceiling),
        (3, Some(500))
    );
    assert_eq!(
        r.for_kind(rosterbridge_model::kind::Kind::Users)
            .removals
            .percent,
        2.0
    );
    assert_eq!(
        r.for_kind(rosterbridge_model::kind::Kind::Users)
            .removals
            .floor,
        3,
        "overrides start from the defaults"
    );
    assert_eq!(r.scopes[0].account.as_deref(), Some("sch-1"));
    assert_eq!(r.blackout[0].end.to_string(), "2027-06-20");
    assert_eq!(r.add_only[0].reason.as_deref(), Some("rollover"));
    assert_eq!(c.run.timeout_minutes, 90);
    assert_eq!(
        c.notify.on,
        [
            rosterbridge_config::NotifyEvent::Held,
            rosterbridge_config::NotifyEvent::Stale
        ]
    );
    let smtp = c.notify.smtp.as_ref().unwrap();
    assert_eq!(
        (smtp.port, smtp.tls),
        (587, rosterbridge_config::SmtpTls::Starttls)
    );
    assert_eq!(
        c.production.as_ref().unwrap().token_env,
        "CANVAS_PROD_TOKEN"
    );
    assert_eq!(c.environment, rosterbridge_config::Environment::Test);
}

#[test]
fn bad_safety_and_notify_values_are_all_reported() {
    let text = format!(
        "{MINIMAL}\n[safety]\nmax_update_percent = 150\n\n[safety.kinds.pupils]\nmax_removal_percent = 5\n\n\
[[safety.blackout]]\nstart = \"June\"\nend = 2027-06-20\n\n[[safety.add_only]]\nstart = 2027-08-31\nend = 2027-06-21\n\n\
[notify]\nwebhook_url = \"not a url\"\non = [\"sometimes\"]\n"
    );
    let fields: Vec<String> = problems(&text)
        .iter()
        .map(|d| d.location.as_ref().unwrap().field.clone().unwrap())
        .collect();
    for f in [
        "safety.max_update_percent",
        "safety.kinds.pupils",
        "safety.blackout.start",
        "safety.add_only.end",
        "notify.webhook_url",
        "notify.on",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
    }
}

#[test]
fn promotion_switches_canvas_and_state_and_the_marker_is_found_again_from_production() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.toml");
    let text = format!("{MINIMAL}\n[canvas.production]\nurl = \"https://prod.example.org\"\naccount_id = 2\ntoken_env = \"PROD\"\n");
    let test = Config::parse(&text, &path).unwrap().resolve_environment();
    assert_eq!(test.environment, rosterbridge_config::Environment::Test);
    assert_eq!(test.canvas.url, "http://127.0.0.1:8089");
    std::fs::write(test.promotion_marker(), "promoted").unwrap();
    let prod = Config::parse(&text, &path).unwrap().resolve_environment();
    assert_eq!(
        prod.environment,
        rosterbridge_config::Environment::Production
    );
    assert_eq!(
        (
            prod.canvas.url.as_str(),
            prod.canvas.account_id,
            prod.canvas.token_env.as_str()
        ),
        ("https://prod.example.org", 2, "PROD")
    );
    assert_eq!(prod.state_path, dir.path().join("sync.state.production.db"));
    assert_eq!(prod.promotion_marker(), test.promotion_marker());
}
