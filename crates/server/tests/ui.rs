//! The admin web UI over real HTTP, as a browser without JavaScript would use it: login form,
//! dashboard, CSRF-checked forms, and the Canvas connection through the OAuth developer-key
//! flow against a real (in-process) sandbox.

mod common;

use common::Server;
use reqwest::StatusCode;
use rosterbridge_sandbox::{RunningSandbox, SandboxConfig};
use serde_json::Value;

fn browser() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// (status, Location, body)
fn visit(s: &Server, req: reqwest::RequestBuilder) -> (StatusCode, String, String) {
    s.rt.block_on(async {
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, location, resp.text().await.unwrap())
    })
}

/// Logs in through the form; returns the cookie pair and the page's CSRF token.
fn log_in(s: &Server) -> (String, String) {
    let resp =
        s.rt.block_on(
            browser()
                .post(format!("{}/login", s.url))
                .form(&[("username", "ada"), ("password", "correct horse battery")])
                .send(),
        )
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (status, _, page) = visit(
        s,
        browser()
            .get(format!("{}/", s.url))
            .header("cookie", &cookie),
    );
    assert_eq!(status, StatusCode::OK, "{page}");
    let csrf = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    (cookie, csrf)
}

#[test]
fn pages_need_a_login_the_dashboard_lists_profiles_and_forms_need_the_csrf_token() {
    let s = Server::start();
    let (status, location, _) = visit(&s, browser().get(format!("{}/", s.url)));
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/login")
    );
    let (status, _, page) = visit(
        &s,
        browser()
            .post(format!("{}/login", s.url))
            .form(&[("username", "ada"), ("password", "nope nope nope")]),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        page.contains("id=\"login-error\">wrong name or password"),
        "the error is next to the field: {page}"
    );

    let (cookie, csrf) = log_in(&s);
    let (_, _, page) = visit(
        &s,
        browser()
            .get(format!("{}/", s.url))
            .header("cookie", &cookie),
    );
    assert!(
        page.contains("<td>2026-27</td>")
            && page.contains("<code>0 30 1 * * 1-5</code>")
            && page.contains("Run now"),
        "{page}"
    );
    assert!(page.contains("No Canvas connection is set up"), "{page}");

    let (status, _, _) = visit(
        &s,
        browser()
            .post(format!("{}/ui/run", s.url))
            .header("cookie", &cookie)
            .form(&[("csrf_token", "forged"), ("profile", "2026-27")]),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, location, _) = visit(
        &s,
        browser()
            .post(format!("{}/ui/run", s.url))
            .header("cookie", &cookie)
            .form(&[("csrf_token", csrf.as_str()), ("profile", "1999")]),
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        location.starts_with("/?error=") && location.contains("1999"),
        "{location}"
    );

    let (status, location, _) = visit(
        &s,
        browser()
            .post(format!("{}/logout", s.url))
            .header("cookie", &cookie)
            .form(&[("csrf_token", csrf.as_str())]),
    );
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/login")
    );
    let (_, location, _) = visit(
        &s,
        browser()
            .get(format!("{}/", s.url))
            .header("cookie", &cookie),
    );
    assert_eq!(location, "/login", "the session is closed");
}

#[test]
fn connecting_to_canvas_with_a_developer_key_follows_the_oauth_flow_and_lists_the_accounts() {
    let s = Server::start();
    let sandbox =
        s.rt.block_on(RunningSandbox::start(SandboxConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            "sandbox-admin",
        )))
        .unwrap();
    let redirect = format!("{}/canvas/authorize", s.url);
    let key: Value =
        s.rt.block_on(async {
            browser()
                .post(format!(
                    "{}/api/v1/accounts/1/developer_keys",
                    sandbox.base_url
                ))
                .bearer_auth("sandbox-admin")
                .form(&[
                    ("developer_key[name]", "rosterbridge"),
                    ("developer_key[redirect_uri]", redirect.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
        })
        .unwrap();
    let (cookie, csrf) = log_in(&s);
    let form = [
        ("csrf_token", csrf.clone()),
        ("url", sandbox.base_url.clone()),
        ("client_id", key["id"].to_string()),
        (
            "client_secret",
            key["api_key"].as_str().unwrap().to_string(),
        ),
        ("redirect_uri", redirect.clone()),
    ];
    let (status, to_canvas, _) = visit(
        &s,
        browser()
            .post(format!("{}/connection/oauth", s.url))
            .header("cookie", &cookie)
            .form(&form),
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        to_canvas.starts_with(&format!("{}/login/oauth2/auth?", sandbox.base_url))
            && to_canvas.contains("state="),
        "{to_canvas}"
    );
    // Canvas approves and sends the browser back with a code and the state.
    let (status, back, _) = visit(&s, browser().get(&to_canvas));
    assert_eq!(status, StatusCode::FOUND);
    assert!(back.starts_with(&redirect), "{back}");
    // A forged state is refused; the real one connects.
    let forged = back.replace("state=", "state=x");
    let (_, location, _) = visit(&s, browser().get(&forged).header("cookie", &cookie));
    assert!(location.starts_with("/connection?error="), "{location}");
    let (_, location, _) = visit(&s, browser().get(&back).header("cookie", &cookie));
    assert!(
        location.starts_with("/connection?msg=Connected"),
        "{location}"
    );
    let (_, _, page) = visit(
        &s,
        browser()
            .get(format!("{}/connection", s.url))
            .header("cookie", &cookie),
    );
    assert!(
        page.contains("id=\"connected\"") && page.contains("by OAuth"),
        "{page}"
    );
    assert!(
        page.contains("<option value=\"1\" selected>"),
        "the accounts to choose from: {page}"
    );
    assert!(
        !page.contains(key["api_key"].as_str().unwrap()),
        "the secret is never shown again"
    );
    let (_, location, _) = visit(
        &s,
        browser()
            .post(format!("{}/connection/account", s.url))
            .header("cookie", &cookie)
            .form(&[("csrf_token", csrf.as_str()), ("account_id", "1")]),
    );
    assert!(location.starts_with("/?msg=Runs"), "{location}");
    s.rt.block_on(sandbox.stop()).unwrap();
}

#[test]
fn profiles_are_created_edited_copied_and_disabled_in_the_file_with_errors_next_to_the_field() {
    let config = format!(
        "# The district's sync. Edited by hand and from the UI.\n{}",
        common::CONFIG
    );
    let s = Server::with_config(&config);
    let path = s.dir.path().join("rosterbridge.toml");
    let (cookie, csrf) = log_in(&s);
    let post = |url: &str, form: &[(&str, &str)]| {
        visit(
            &s,
            browser()
                .post(format!("{}{url}", s.url))
                .header("cookie", &cookie)
                .form(form),
        )
    };

    let (status, _, page) = visit(
        &s,
        browser()
            .get(format!("{}/profiles/new", s.url))
            .header("cookie", &cookie),
    );
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("name=\"schedule\"")
            && page.contains("Save &amp; enable")
            && page.contains("Cancel"),
        "{page}"
    );

    // A bad date and a bad schedule: each said next to its field, nothing written.
    let (status, _, page) = post(
        "/profiles/save",
        &[
            ("csrf_token", &csrf),
            ("original", ""),
            ("action", "save"),
            ("name", "2027-28"),
            ("start", "2027-13-01"),
            ("end", "2028-07-31"),
            ("schedule", "nightly"),
            ("course_template", "period+group"),
        ],
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"error-start\"") && page.contains("id=\"error-schedule\""),
        "{page}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        config,
        "nothing written"
    );

    // Overlapping the existing profile is refused above the form.
    let (status, _, page) = post(
        "/profiles/save",
        &[
            ("csrf_token", &csrf),
            ("original", ""),
            ("action", "save"),
            ("name", "overlap"),
            ("start", "2027-01-01"),
            ("end", "2027-12-31"),
            ("enabled", "on"),
        ],
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("overlap"), "{page}");

    // A good one is written into the file, its comments kept, and validates.
    let (status, location, _) = post(
        "/profiles/save",
        &[
            ("csrf_token", &csrf),
            ("original", ""),
            ("action", "save"),
            ("name", "2027-28"),
            ("start", "2027-08-01"),
            ("end", "2028-07-31"),
            ("schedule", "0 30 1 * * *"),
            ("course_template", "period+subject"),
        ],
    );
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# The district's sync."), "{text}");
    let c = rosterbridge_config::Config::parse(&text, &path).unwrap();
    let p = c.profiles.iter().find(|p| p.name == "2027-28").unwrap();
    assert_eq!(
        (p.schedule.as_str(), p.course_template.as_str(), p.enabled),
        ("0 30 1 * * *", "period+subject", false),
        "saved, not enabled"
    );

    // Save & enable; then disable from the dashboard.
    let (status, _, _) = post(
        "/profiles/save",
        &[
            ("csrf_token", &csrf),
            ("original", "2027-28"),
            ("action", "save_enable"),
            ("name", "2027-28"),
            ("start", "2027-08-01"),
            ("end", "2028-07-31"),
            ("course_template", "period+subject"),
        ],
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    let c = rosterbridge_config::Config::load(&path).unwrap();
    let p = c.profiles.iter().find(|p| p.name == "2027-28").unwrap();
    assert!(
        p.enabled && p.schedule == rosterbridge_config::profiles::DEFAULT_SCHEDULE,
        "enabled; empty schedule means the default"
    );
    let (_, location, _) = post("/profiles/2026-27/disable", &[("csrf_token", &csrf)]);
    assert!(location.starts_with("/?msg=Profile"), "{location}");
    assert!(!rosterbridge_config::Config::load(&path).unwrap().profiles[0].enabled);
    let (_, _, page) = visit(
        &s,
        browser()
            .get(format!("{}/", s.url))
            .header("cookie", &cookie),
    );
    assert!(
        page.contains("action=\"/profiles/2026-27/enable\"")
            && page.contains("href=\"/profiles/2027-28/edit\""),
        "{page}"
    );

    // Copy opens the form filled in, under a new name, not yet enabled.
    let (_, _, page) = visit(
        &s,
        browser()
            .get(format!("{}/profiles/2027-28/copy", s.url))
            .header("cookie", &cookie),
    );
    assert!(
        page.contains("value=\"2027-28 (copy)\"") && page.contains("name=\"original\" value=\"\""),
        "{page}"
    );
    let (status, _, _) = post(
        "/profiles/save",
        &[
            ("csrf_token", "forged"),
            ("original", ""),
            ("name", "x"),
            ("start", "2030-01-01"),
            ("end", "2030-12-31"),
        ],
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[test]
fn the_mapping_page_edits_actions_matching_fields_and_roles_in_the_file_validated_the_same_way() {
    let s = Server::start();
    let path = s.dir.path().join("rosterbridge.toml");
    let (cookie, csrf) = log_in(&s);
    let (status, _, page) = visit(
        &s,
        browser()
            .get(format!("{}/mapping", s.url))
            .header("cookie", &cookie),
    );
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("name=\"act:users:teacher:create\" checked")
            && page.contains("name=\"match:courses\" value=\"sis_id\""),
        "defaults shown: {page}"
    );

    // Every action allowed but teachers' user creation and course deactivation.
    let mut form: Vec<(String, String)> = vec![("csrf_token".into(), csrf.clone())];
    for (entity, roles) in [
        ("users", ROLES_4),
        ("enrollments", ROLES_4),
        ("observers", ROLES_4),
        ("courses", [""; 4]),
        ("sections", [""; 4]),
        ("terms", [""; 4]),
        ("accounts", [""; 4]),
    ] {
        let mut roles = roles.to_vec();
        roles.dedup();
        for r in roles {
            for a in ["create", "update", "deactivate"] {
                if (entity, r, a) != ("users", "teacher", "create")
                    && (entity, a) != ("courses", "deactivate")
                {
                    form.push((format!("act:{entity}:{r}:{a}"), "on".into()));
                }
            }
        }
    }
    let good = |fields: &str, roles: &str| {
        let mut f = form.clone();
        f.push(("match:courses".into(), "name".into()));
        f.push(("fields:users".into(), fields.into()));
        f.push(("roles".into(), roles.into()));
        f
    };
    let before = std::fs::read_to_string(&path).unwrap();
    let (status, _, page) = visit(
        &s,
        browser()
            .post(format!("{}/mapping", s.url))
            .header("cookie", &cookie)
            .form(&good("full_name = \"{nickname}\"\n", "aide = \"ta\"\n")),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"error-fields-users\"") && page.contains("givenName"),
        "the unknown property, with the valid ones, next to the users' fields: {page}"
    );
    let (status, _, page) = visit(
        &s,
        browser()
            .post(format!("{}/mapping", s.url))
            .header("cookie", &cookie)
            .form(&good("", "aide is a ta\n")),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"error-roles\""), "{page}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        before,
        "nothing written"
    );

    let (status, location, _) = visit(&s, browser().post(format!("{}/mapping", s.url)).header("cookie", &cookie).form(&good("full_name = \"{givenName} {familyName}\"\nlogin_id = { property = \"email\", case = \"lower\" }\n", "aide = \"ta\"\n")));
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    use rosterbridge_config::{EntityAction, MatchKey, RoleClass};
    use rosterbridge_model::kind::Kind;
    let c = rosterbridge_config::Config::load(&path).unwrap();
    let a = &c.mapping.actions;
    assert!(!a.allows(Kind::Users, Some(RoleClass::Teacher), EntityAction::Create));
    assert!(a.allows(Kind::Users, Some(RoleClass::Student), EntityAction::Create));
    assert!(
        !a.allows(Kind::Courses, None, EntityAction::Deactivate)
            && a.allows(Kind::Courses, None, EntityAction::Create)
    );
    assert_eq!(
        c.mapping.matching.of(Kind::Courses),
        [MatchKey::SisId, MatchKey::Name]
    );
    assert_eq!(c.mapping.fields.users.len(), 2);
    // The page shows what was saved.
    let (_, _, page) = visit(
        &s,
        browser()
            .get(format!("{}/mapping", s.url))
            .header("cookie", &cookie),
    );
    assert!(
        page.contains("name=\"act:users:teacher:create\">")
            && page.contains("aide = &quot;ta&quot;"),
        "{page}"
    );
}

const ROLES_4: [&str; 4] = ["student", "teacher", "parent", "staff"];
