//! The server's HTTP surface over real HTTP (an in-process server on a free port, a real
//! SQLite admin database): login, sessions, CSRF, lockout, health, metrics, and the OpenAPI
//! description against the routes.

mod common;

use common::Server;
use reqwest::StatusCode;
use rosterbridge_server::{admins, OPENAPI, ROUTES};
use serde_json::Value;

#[test]
fn health_and_metrics_are_open_and_the_api_needs_a_session() {
    let s = Server::start();
    let c = s.client();
    let (status, _, body) = s.send(c.get(format!("{}/health", s.url)));
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, _, body) = s.send(c.get(format!("{}/metrics", s.url)));
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.as_str()
            .unwrap()
            .contains("# TYPE rosterbridge_runs_total counter"),
        "{body}"
    );
    for (method, path) in [
        ("GET", "/api/v1/profiles"),
        ("GET", "/api/v1/runs"),
        ("POST", "/api/v1/runs"),
        ("POST", "/api/v1/plans/1/approve"),
    ] {
        let req = c.request(method.parse().unwrap(), format!("{}{path}", s.url));
        let (status, _, body) = s.send(req);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        assert_eq!(body["error"]["kind"], "unauthenticated");
    }
}

#[test]
fn a_login_gives_a_session_cookie_and_changes_need_its_csrf_token() {
    let s = Server::start();
    let c = s.client();
    let (status, _, body) = s.login("ada", "wrong password!");
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _, _) = s.login("nobody", "correct horse battery");
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an unknown name answers as a wrong password"
    );

    let (_, cookie) = s
        .login("ada", "correct horse battery")
        .1
        .map(|c| ((), c))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let (session, csrf) = s.session();
    let (status, _, body) = s.send(
        c.get(format!("{}/api/v1/profiles", s.url))
            .header("cookie", &session),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["profiles"][0]["name"], "2026-27");
    assert_eq!(body["profiles"][0]["schedule"], "0 30 1 * * 1-5");

    // A change without the CSRF token, or with another one, is refused before it runs.
    let trigger = || {
        c.post(format!("{}/api/v1/runs", s.url))
            .header("cookie", &session)
            .json(&serde_json::json!({"profile": "2026-27"}))
    };
    let (status, _, body) = s.send(trigger());
    assert_eq!(
        (status, body["error"]["kind"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf")),
        "{body}"
    );
    let (status, _, _) = s.send(trigger().header("x-csrf-token", "0000"));
    assert_eq!(status, StatusCode::FORBIDDEN);
    // With it the request goes through (to a 404 here: no such profile).
    let (status, _, body) = s.send(
        c.post(format!("{}/api/v1/runs", s.url))
            .header("cookie", &session)
            .header("x-csrf-token", &csrf)
            .json(&serde_json::json!({"profile": "1999"})),
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Logging out closes the session.
    let (status, _, _) = s.send(
        c.post(format!("{}/api/v1/logout", s.url))
            .header("cookie", &session)
            .header("x-csrf-token", &csrf),
    );
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = s.send(
        c.get(format!("{}/api/v1/profiles", s.url))
            .header("cookie", &session),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[test]
fn repeated_wrong_passwords_lock_the_account_even_for_the_right_one() {
    let s = Server::start();
    for _ in 1..admins::MAX_FAILURES {
        assert_eq!(
            s.login("ada", "not the password").0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, _, body) = s.login("ada", "not the password");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("locked"),
        "{body}"
    );
    let (status, _, _) = s.login("ada", "correct horse battery");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "still locked");
}

#[test]
fn the_admin_database_is_private_and_holds_no_password() {
    let s = Server::start();
    let db = admins::db_path(&s.dir.path().join("rosterbridge.toml"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let bytes = std::fs::read(&db).unwrap();
    let wal = std::fs::read(db.with_extension("db-wal")).unwrap_or_default();
    for b in [&bytes, &wal] {
        assert!(
            !b.windows(21).any(|w| w == b"correct horse battery"),
            "the password is not stored"
        );
    }
    let store = admins::AdminStore::open(&db).unwrap();
    assert!(matches!(
        store.create("ada", "another long password"),
        Err(admins::AdminError::Exists(_))
    ));
    assert!(matches!(
        store.create("bob", "short"),
        Err(admins::AdminError::WeakPassword)
    ));
}

#[test]
fn the_openapi_description_lists_exactly_the_routes_and_the_router_answers_each() {
    let doc: Value = serde_json::from_str(OPENAPI).unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut routes: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    routes.sort();
    assert_eq!(documented, routes);

    let s = Server::start();
    let (session, csrf) = s.session();
    for (method, path) in ROUTES {
        let url = format!("{}{}", s.url, path.replace("{id}", "999"));
        let req = s
            .client()
            .request(method.to_uppercase().parse().unwrap(), url)
            .header("cookie", &session)
            .header("x-csrf-token", &csrf)
            .json(&serde_json::json!({}));
        let (status, _, body) = s.send(req);
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {body}"
        );
        if *path != "/api/v1/runs/{id}" {
            assert_ne!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {path} is routed: {body}"
            );
        }
    }
    let (status, _, _) = s.send(s.client().get(format!("{}/api/v1/nothing", s.url)));
    assert_eq!(status, StatusCode::NOT_FOUND);
}
