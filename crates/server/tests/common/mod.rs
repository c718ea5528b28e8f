//! An in-process server on a free port over a temp configuration, with a real SQLite admin
//! database and one admin, driven over real HTTP.
#![allow(dead_code)] // each test file uses part of it

use reqwest::StatusCode;
use rosterbridge_server::{admins, router, AppState, ServeOptions};
use serde_json::Value;

pub const CONFIG: &str = "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"http://127.0.0.1:9\"\naccount_id = 1\n\n\
[[profiles]]\nname = \"2026-27\"\nstart = 2026-08-01\nend = 2027-07-31\nschedule = \"0 30 1 * * 1-5\"\n";

pub struct Server {
    pub url: String,
    pub dir: tempfile::TempDir,
    pub rt: tokio::runtime::Runtime,
}

impl Server {
    pub fn start() -> Server {
        Self::with_config(CONFIG)
    }

    pub fn with_config(text: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("rosterbridge.toml");
        std::fs::write(&config, text).unwrap();
        let options = ServeOptions {
            config_path: config.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
            schedule: false,
            grace: std::time::Duration::from_secs(1),
            secure_cookies: false,
        };
        let state = AppState::new(&options).unwrap();
        admins::AdminStore::open(&admins::db_path(&config))
            .unwrap()
            .create("ada", "correct horse battery")
            .unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        rt.spawn(async move { axum::serve(listener, router(state)).await });
        Server { url, dir, rt }
    }

    pub fn client(&self) -> reqwest::Client {
        // reqwest is built without a default TLS provider in this workspace.
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder().build().unwrap()
    }

    pub fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Option<String>, Value) {
        self.rt.block_on(async {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let cookie = resp
                .headers()
                .get("set-cookie")
                .map(|v| v.to_str().unwrap().to_string());
            let body = resp.text().await.unwrap();
            (
                status,
                cookie,
                serde_json::from_str(&body).unwrap_or(Value::String(body)),
            )
        })
    }

    pub fn login(&self, user: &str, password: &str) -> (StatusCode, Option<String>, Value) {
        self.send(
            self.client()
                .post(format!("{}/api/v1/login", self.url))
                .json(&serde_json::json!({"username": user, "password": password})),
        )
    }

    /// The `rb_session=...` pair of a Set-Cookie header.
    pub fn session(&self) -> (String, String) {
        let (status, cookie, body) = self.login("ada", "correct horse battery");
        assert_eq!(status, StatusCode::OK, "{body}");
        let cookie = cookie.expect("a session cookie");
        (
            cookie.split(';').next().unwrap().to_string(),
            body["csrf_token"].as_str().unwrap().to_string(),
        )
    }
}
