//! A real `rosterbridge sandbox` process on a free port, stopped when dropped, and a
//! Canvas client to read it back.

use rosterbridge_canvas_client::{CanvasClient, ClientOptions, Token};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub const TOKEN: &str = "e2e-token";

pub struct Sandbox {
    pub url: String,
    child: Child,
}

impl Sandbox {
    /// Starts `rosterbridge sandbox` with extra flags (fault injection, throttle).
    pub fn start(extra: &[&str]) -> Sandbox {
        Self::start_reading(extra, 0).0
    }

    /// Like [`Sandbox::start`], also reading `more` lines of stdout after the URL.
    pub fn start_reading(extra: &[&str], more: usize) -> (Sandbox, Vec<String>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rosterbridge"))
            .args(["sandbox", "--listen", "127.0.0.1:0", "--token", TOKEN])
            .args(extra)
            .env_remove("CANVAS_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the sandbox");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut lines = Vec::new();
        for _ in 0..=more {
            let mut line = String::new();
            out.read_line(&mut line).expect("read the sandbox output");
            lines.push(line.trim().to_string());
        }
        let url = lines.remove(0);
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "sandbox printed {url:?}"
        );
        (Sandbox { url, child }, lines)
    }

    pub fn client(&self) -> CanvasClient {
        // Quick retries: the fault-injection tests read back through the same faults.
        let options = ClientOptions {
            backoff_base: std::time::Duration::from_millis(10),
            backoff_max: std::time::Duration::from_millis(200),
            max_retries: 10,
            ..ClientOptions::default()
        };
        CanvasClient::new(&self.url, Token::new(TOKEN), options).expect("client")
    }

    /// A plain GET over a socket (to spend the token's rate limit, or to read a sandbox-only
    /// endpoint): the status code and the body.
    #[allow(dead_code)] // not every test binary that includes this module uses it
    pub fn raw_get(&self, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        let _ = write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map_or(String::new(), |(_, b)| b.to_string());
        (status, body)
    }

    /// Requests the sandbox has answered "throttled" so far, all clients together.
    #[allow(dead_code)]
    pub fn refused(&self) -> u64 {
        let (status, body) = self.raw_get("/sandbox/throttle");
        assert_eq!(status, 200, "GET /sandbox/throttle: {body}");
        let v: serde_json::Value =
            serde_json::from_str(&body).expect("JSON from /sandbox/throttle");
        v["refused"].as_u64().expect("refused count")
    }

    /// A user made in Canvas by hand (through the API), as a person in the account would.
    #[allow(dead_code)] // not every test binary that includes this module uses it
    pub fn make_user(&self, name: &str, login: &str, sis_id: &str) -> serde_json::Value {
        let fields = vec![
            ("user[name]".to_string(), name.to_string()),
            ("pseudonym[unique_id]".to_string(), login.to_string()),
            ("pseudonym[sis_user_id]".to_string(), sis_id.to_string()),
        ];
        self.read(self.client().write(
            reqwest::Method::POST,
            "/api/v1/accounts/1/users",
            fields,
            rosterbridge_canvas_client::Retry::IfNotProcessed,
        ))
        .expect("create a user in the sandbox")
    }

    /// Runs an async read against the sandbox.
    pub fn read<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
