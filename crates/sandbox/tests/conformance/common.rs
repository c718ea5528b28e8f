//! Shared harness: a real sandbox on 127.0.0.1:0, driven over HTTP with reqwest.

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use reqwest::{Client, Response};
use rosterbridge_sandbox::{RunningSandbox, SandboxConfig, ThrottleConfig};
use serde_json::Value;

pub const TOKEN: &str = "sandbox-test-token";

pub struct Sandbox {
    pub base: String,
    pub http: Client,
    _running: RunningSandbox,
}

/// Final workflow states of an import.
const FINAL: [&str; 5] = [
    "imported",
    "imported_with_messages",
    "failed",
    "failed_with_messages",
    "aborted",
];

impl Sandbox {
    pub async fn start() -> Self {
        Self::start_with(ThrottleConfig::default()).await
    }

    pub async fn start_with(throttle: ThrottleConfig) -> Self {
        Self::start_configured(|c| c.throttle = throttle).await
    }

    /// A sandbox whose configuration the test adjusts first.
    pub async fn start_configured(adjust: impl FnOnce(&mut SandboxConfig)) -> Self {
        let mut config = SandboxConfig::new("127.0.0.1:0".parse().expect("addr"), TOKEN);
        adjust(&mut config);
        let running = RunningSandbox::start(config).await.expect("sandbox starts");
        Sandbox {
            base: running.base_url.clone(),
            http: http_client(),
            _running: running,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get_raw(&self, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request")
    }

    /// GET expecting 200 and JSON.
    pub async fn get(&self, path: &str) -> Value {
        let r = self.get_raw(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.expect("json")
    }

    /// POST a single CSV as a multipart attachment with extra form params; returns the created import.
    pub async fn post_csv(&self, name: &str, csv: &str, params: &[(&str, &str)]) -> Response {
        let mut form = reqwest::multipart::Form::new().part(
            "attachment",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name(name.to_string()),
        );
        for (k, v) in params {
            form = form.text(k.to_string(), v.to_string());
        }
        self.http
            .post(self.url("/api/v1/accounts/1/sis_imports"))
            .bearer_auth(TOKEN)
            .multipart(form)
            .send()
            .await
            .expect("request")
    }

    /// Import one CSV and wait for a final state.
    pub async fn import(&self, name: &str, csv: &str) -> Value {
        self.import_with(name, csv, &[]).await
    }

    pub async fn import_with(&self, name: &str, csv: &str, params: &[(&str, &str)]) -> Value {
        let r = self.post_csv(name, csv, params).await;
        assert_eq!(r.status(), 200, "create import");
        let created: Value = r.json().await.expect("json");
        self.wait(created["id"].as_u64().expect("id")).await
    }

    /// Import a zip of (name, content) files and wait for a final state.
    pub async fn import_zip(&self, files: &[(&str, &str)], params: &[(&str, &str)]) -> Value {
        let bytes = zip_of(files);
        let mut form = reqwest::multipart::Form::new().part(
            "attachment",
            reqwest::multipart::Part::bytes(bytes).file_name("import.zip"),
        );
        for (k, v) in params {
            form = form.text(k.to_string(), v.to_string());
        }
        let r = self
            .http
            .post(self.url("/api/v1/accounts/1/sis_imports"))
            .bearer_auth(TOKEN)
            .multipart(form)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "create import");
        let created: Value = r.json().await.expect("json");
        self.wait(created["id"].as_u64().expect("id")).await
    }

    /// Poll an import until it reaches a final state (bounded).
    pub async fn wait(&self, id: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self
                .get(&format!("/api/v1/accounts/1/sis_imports/{id}"))
                .await;
            let state = v["workflow_state"].as_str().unwrap_or("").to_string();
            if FINAL.contains(&state.as_str()) {
                return v;
            }
            assert!(Instant::now() < deadline, "import {id} stuck in {state}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// reqwest is built with rustls and no default crypto provider (the workspace picks ring);
/// a client needs one installed first, even for plain HTTP.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A plain HTTP client for the tests.
pub fn http_client() -> Client {
    install_tls();
    Client::new()
}

pub fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        w.write_all(content.as_bytes()).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

/// The `[file, message]` warning messages of an import.
pub fn warnings(v: &Value) -> Vec<String> {
    pairs(&v["processing_warnings"])
}

pub fn errors(v: &Value) -> Vec<String> {
    pairs(&v["processing_errors"])
}

fn pairs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p[1].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub fn state(v: &Value) -> &str {
    v["workflow_state"].as_str().unwrap_or("")
}

pub fn count(v: &Value, key: &str) -> u64 {
    v["data"]["counts"][key].as_u64().unwrap_or(u64::MAX)
}

pub const USERS: &str = "users.csv";
pub const COURSES: &str = "courses.csv";
pub const SECTIONS: &str = "sections.csv";
pub const ENROLLMENTS: &str = "enrollments.csv";

/// A common starting roster: one course C1 with section S1, a student, a teacher and a parent.
pub async fn seed(sb: &Sandbox) {
    let v = sb
        .import_zip(
            &[
                ("courses.csv", "course_id,short_name,long_name,status\nC1,C1,Course One,active\n"),
                ("sections.csv", "section_id,course_id,name,status\nS1,C1,Section One,active\n"),
                (
                    "users.csv",
                    "user_id,login_id,first_name,last_name,email,status\n\
                     U1,student1,Stu,Dent,stu@example.com,active\n\
                     T1,teacher1,Tea,Cher,tea@example.com,active\n\
                     P1,parent1,Pa,Rent,pa@example.com,active\n",
                ),
                (
                    "enrollments.csv",
                    "course_id,section_id,user_id,role,status\nC1,S1,U1,student,active\nC1,S1,T1,teacher,active\n",
                ),
            ],
            &[],
        )
        .await;
    assert_eq!(state(&v), "imported", "seed import: {v}");
}
