//! `rosterbridge sandbox` as a user starts it: a real process on a free port, spoken to
//! over HTTP, stopped with SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn http_get(base: &str, path: &str, token: Option<&str>) -> String {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_sandbox_prints_its_url_serves_canvas_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rosterbridge"))
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--token",
            "test-token",
            "--abort-requeue-delay",
            "5",
        ])
        .env_remove("CANVAS_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");

    let ok = http_get(&url, "/api/v1/accounts/1", Some("test-token"));
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("\"id\":1"), "{ok}");
    assert!(
        ok.to_ascii_lowercase().contains("x-rate-limit-remaining"),
        "{ok}"
    );
    let denied = http_get(&url, "/api/v1/accounts/1", None);
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "exit status {exit:?}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the sandbox did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_sandbox_refuses_to_start_without_a_token() {
    let out = Command::new(env!("CARGO_BIN_EXE_rosterbridge"))
        .args(["sandbox", "--listen", "127.0.0.1:0"])
        .env_remove("CANVAS_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token"));
}
