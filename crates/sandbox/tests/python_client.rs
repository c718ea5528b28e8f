//! A client that knows only Canvas's documentation can use the sandbox: `tests/client.py`
//! (Python standard library only) runs against a real sandbox and asserts each step.

use std::path::Path;
use std::process::Command;

use rosterbridge_sandbox::{RunningSandbox, SandboxConfig};

const TOKEN: &str = "python-client-token";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_stdlib_client_imports_reads_pages_and_is_throttled() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED: python3 is not installed, so tests/client.py cannot run");
        return;
    }
    let mut config = SandboxConfig::new("127.0.0.1:0".parse().expect("addr"), TOKEN);
    // Canvas's bucket, but each request costs 20 units instead of ~1, so a client calling one
    // request at a time fills it within a second instead of never.
    config.throttle.request_cost = 20.0;
    let sb = RunningSandbox::start(config).await.expect("sandbox starts");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/client.py");
    let base = sb.base_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(&script)
            .arg(&base)
            .arg(TOKEN)
            .output()
    })
    .await
    .expect("join")
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tests/client.py failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(stdout.contains("all steps passed"), "{stdout}");
    eprintln!("{stdout}"); // the steps, for `--nocapture`
    sb.stop().await.expect("sandbox stops");
}
