//! The Canvas connection: secrets sealed at rest, the OAuth developer-key flow against a real
//! sandbox (state checked, single use, bound to the session; refresh on expiry), and
//! "connect" listing the accounts.

use rosterbridge_sandbox::{RunningSandbox, SandboxConfig};
use rosterbridge_server::connection::{
    key_path, verify, ConnectionError, ConnectionStore, SecretBox,
};
use serde_json::Value;

const ADMIN_TOKEN: &str = "sandbox-admin";

async fn sandbox(ttl_secs: u64) -> RunningSandbox {
    let mut config = SandboxConfig::new("127.0.0.1:0".parse().unwrap(), ADMIN_TOKEN);
    config.oauth_token_ttl = std::time::Duration::from_secs(ttl_secs);
    RunningSandbox::start(config).await.unwrap()
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A developer key in the sandbox for this redirect URI: (client id, secret).
async fn developer_key(base: &str, redirect: &str) -> (String, String) {
    let key: Value = http()
        .post(format!("{base}/api/v1/accounts/1/developer_keys"))
        .bearer_auth(ADMIN_TOKEN)
        .form(&[
            ("developer_key[name]", "rosterbridge"),
            ("developer_key[redirect_uri]", redirect),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        key["id"].to_string(),
        key["api_key"].as_str().unwrap().to_string(),
    )
}

/// Follows the authorize URL as a browser would; returns (code, state) from the redirect.
async fn authorize(url: &str) -> (String, String) {
    let resp = http().get(url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 302, "{:?}", resp.text().await);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.path().ends_with("/canvas/authorize"), "{location}");
    let q: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    (q["code"].clone(), q["state"].clone())
}

fn store(dir: &tempfile::TempDir) -> ConnectionStore {
    let config = dir.path().join("rosterbridge.toml");
    ConnectionStore::open(
        &dir.path().join("rosterbridge.toml.server.db"),
        SecretBox::load(&config).unwrap(),
    )
    .unwrap()
}

#[test]
fn secrets_are_sealed_with_a_private_key_file_and_tampering_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("rosterbridge.toml");
    let sb = SecretBox::load(&config).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(key_path(&config))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let sealed = sb.seal("canvas-token-123");
    assert!(sealed.starts_with("v1:") && !sealed.contains("canvas-token-123"));
    assert_ne!(
        sealed,
        sb.seal("canvas-token-123"),
        "a fresh nonce each time"
    );
    assert_eq!(
        SecretBox::load(&config).unwrap().open(&sealed).unwrap(),
        "canvas-token-123",
        "the same key next time"
    );
    let mut bytes = sealed.into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    assert!(matches!(
        sb.open(&String::from_utf8(bytes).unwrap()),
        Err(ConnectionError::Decrypt)
    ));
    assert!(
        matches!(
            SecretBox::from_key(&[7; 32]).open(&sb.seal("x")),
            Err(ConnectionError::Decrypt)
        ),
        "another key cannot read it"
    );
    std::fs::set_permissions(key_path(&config), std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = SecretBox::load(&config).err().unwrap();
    assert!(e.to_string().contains("chmod 600"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oauth_flow_checks_the_state_stores_tokens_sealed_and_refreshes_them() {
    let sb = sandbox(1).await;
    let redirect = "http://127.0.0.1:8080/canvas/authorize";
    let (client_id, secret) = developer_key(&sb.base_url, redirect).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);

    assert!(matches!(
        store.begin_oauth(
            &sb.base_url,
            1,
            &client_id,
            &secret,
            "http://127.0.0.1:8080/callback",
            "s1"
        ),
        Err(ConnectionError::RedirectUri(_))
    ));
    // A state from another admin's session is refused; so is one used twice.
    let url = store
        .begin_oauth(&sb.base_url, 1, &client_id, &secret, redirect, "s1")
        .unwrap();
    let (code, state) = authorize(&url).await;
    assert!(matches!(
        store.complete_oauth(&code, &state, "s2").await,
        Err(ConnectionError::OtherSession)
    ));
    assert!(matches!(
        store.complete_oauth(&code, "made-up", "s1").await,
        Err(ConnectionError::UnknownState)
    ));
    let view = store.complete_oauth(&code, &state, "s1").await.unwrap();
    assert_eq!(
        (
            view.kind.as_str(),
            view.account_id,
            view.client_id.as_deref()
        ),
        ("oauth", 1, Some(client_id.as_str()))
    );
    assert!(
        matches!(
            store.complete_oauth(&code, &state, "s1").await,
            Err(ConnectionError::UnknownState)
        ),
        "single use"
    );

    // The token lives one second: the next use refreshes it, and the new one works.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (_, token) = store.access_token().await.unwrap();
    let (who, accounts) = verify(&sb.base_url, &token).await.unwrap();
    assert!(!who.is_empty());
    assert!(accounts.iter().any(|(id, _)| *id == 1), "{accounts:?}");
    // Nothing secret is readable in the database file.
    let bytes = std::fs::read(dir.path().join("rosterbridge.toml.server.db")).unwrap();
    let wal = std::fs::read(dir.path().join("rosterbridge.toml.server.db-wal")).unwrap_or_default();
    for secret_text in [token.as_str(), secret.as_str()] {
        for b in [&bytes, &wal] {
            assert!(
                !b.windows(secret_text.len())
                    .any(|w| w == secret_text.as_bytes()),
                "a secret is stored in clear"
            );
        }
    }
    sb.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_is_verified_listing_the_accounts_and_stored_sealed() {
    let sb = sandbox(3600).await;
    let (_, accounts) = verify(&sb.base_url, ADMIN_TOKEN).await.unwrap();
    assert_eq!(accounts[0].0, 1);
    assert!(
        verify(&sb.base_url, "wrong-token").await.is_err(),
        "a wrong token is refused"
    );
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    store.set_token(&sb.base_url, 1, ADMIN_TOKEN).unwrap();
    let (view, token) = store.access_token().await.unwrap();
    assert_eq!((view.kind.as_str(), token.as_str()), ("token", ADMIN_TOKEN));
    assert!(matches!(
        store.set_token("canvas.example.edu", 1, "t"),
        Err(ConnectionError::CanvasUrl(_))
    ));
    sb.stop().await.unwrap();
}
