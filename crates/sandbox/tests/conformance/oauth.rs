//! OAuth 2: developer keys, the authorization-code flow, refresh, expiry.

use std::time::Duration;

use rosterbridge_sandbox::{RunningSandbox, SandboxConfig};
use serde_json::Value;

use crate::common::TOKEN;

struct Flow {
    sb: RunningSandbox,
    http: reqwest::Client,
    client_id: String,
    secret: String,
}

const REDIRECT: &str = "https://sis.example.org/canvas/authorize";

async fn flow_with_ttl(ttl: Duration) -> Flow {
    let mut config = SandboxConfig::new("127.0.0.1:0".parse().unwrap(), TOKEN);
    config.oauth_token_ttl = ttl;
    let sb = RunningSandbox::start(config).await.unwrap();
    crate::common::install_tls();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let key: Value = http
        .post(format!("{}/api/v1/accounts/1/developer_keys", sb.base_url))
        .bearer_auth(TOKEN)
        .form(&[
            ("developer_key[name]", "rosterbridge"),
            ("developer_key[redirect_uris]", REDIRECT),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Flow {
        sb,
        http,
        client_id: key["id"].to_string(),
        secret: key["api_key"].as_str().unwrap().to_string(),
    }
}

impl Flow {
    async fn authorize(&self, redirect: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/login/oauth2/auth", self.sb.base_url))
            .query(&[
                ("client_id", self.client_id.as_str()),
                ("response_type", "code"),
                ("redirect_uri", redirect),
                ("state", "xyz"),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn code(&self) -> String {
        let r = self.authorize(REDIRECT).await;
        assert_eq!(r.status(), 302);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        assert!(loc.starts_with(REDIRECT), "{loc}");
        assert!(loc.contains("state=xyz"), "{loc}");
        let code = loc
            .split("code=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        code.to_string()
    }

    async fn token(&self, params: &[(&str, &str)]) -> reqwest::Response {
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.as_str()),
        ];
        form.extend_from_slice(params);
        self.http
            .post(format!("{}/login/oauth2/token", self.sb.base_url))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    async fn api(&self, token: &str) -> reqwest::StatusCode {
        self.http
            .get(format!("{}/api/v1/accounts/1", self.sb.base_url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
    }
}

#[tokio::test]
async fn authorization_code_grant_returns_canvas_token_response_and_token_works() {
    let f = flow_with_ttl(Duration::from_secs(3600)).await;
    let code = f.code().await;
    let r = f
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "access_token",
            "canvas_region",
            "expires_in",
            "refresh_token",
            "token_type",
            "user"
        ]
    );
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(f.api(v["access_token"].as_str().unwrap()).await, 200);
}

#[tokio::test]
async fn authorization_codes_are_single_use() {
    let f = flow_with_ttl(Duration::from_secs(3600)).await;
    let code = f.code().await;
    assert_eq!(
        f.token(&[("grant_type", "authorization_code"), ("code", &code)])
            .await
            .status(),
        200
    );
    let r = f
        .token(&[("grant_type", "authorization_code"), ("code", &code)])
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn refresh_token_grant_omits_refresh_token_and_can_be_reused() {
    let f = flow_with_ttl(Duration::from_secs(3600)).await;
    let code = f.code().await;
    let v: Value = f.token(&[("code", &code)]).await.json().await.unwrap();
    let refresh = v["refresh_token"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let r: Value = f
            .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .await
            .json()
            .await
            .unwrap();
        assert!(r.get("refresh_token").is_none());
        assert_eq!(f.api(r["access_token"].as_str().unwrap()).await, 200);
    }
}

#[tokio::test]
async fn expired_access_token_gets_401_invalid_access_token() {
    let f = flow_with_ttl(Duration::from_millis(200)).await;
    let code = f.code().await;
    let v: Value = f.token(&[("code", &code)]).await.json().await.unwrap();
    let access = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(f.api(&access).await, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(f.api(&access).await, 401);
}

#[tokio::test]
async fn unknown_client_is_401_and_wrong_secret_is_invalid_client() {
    let f = flow_with_ttl(Duration::from_secs(3600)).await;
    let r = f
        .http
        .get(format!(
            "{}/login/oauth2/auth?client_id=999&response_type=code&redirect_uri={REDIRECT}",
            f.sb.base_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("unknown client"));
    let r = f
        .http
        .post(format!("{}/login/oauth2/token", f.sb.base_url))
        .form(&[
            ("client_id", f.client_id.as_str()),
            ("client_secret", "wrong"),
            ("code", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
}

#[tokio::test]
async fn redirect_uri_on_another_domain_is_400_and_subdomain_is_allowed() {
    let f = flow_with_ttl(Duration::from_secs(3600)).await;
    let r = f.authorize("https://evil.example.com/cb").await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("redirect_uri does not match"));
    let r = f.authorize("https://app.sis.example.org/other").await;
    assert_eq!(r.status(), 302);
}

#[tokio::test]
async fn unsupported_response_type_is_sent_back_by_redirect() {
    let f = flow_with_ttl(Duration::from_secs(3600)).await;
    let r = f
        .http
        .get(format!("{}/login/oauth2/auth", f.sb.base_url))
        .query(&[
            ("client_id", f.client_id.as_str()),
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(
        loc.contains("error=unsupported_response_type") && loc.contains("state=s1"),
        "{loc}"
    );
}

#[tokio::test]
async fn unsupported_grant_type_is_400() {
    let f = flow_with_ttl(Duration::from_secs(3600)).await;
    let r = f.token(&[("grant_type", "password")]).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn delete_token_revokes_the_calling_token() {
    let f = flow_with_ttl(Duration::from_secs(3600)).await;
    let code = f.code().await;
    let v: Value = f.token(&[("code", &code)]).await.json().await.unwrap();
    let access = v["access_token"].as_str().unwrap().to_string();
    let r = f
        .http
        .delete(format!("{}/login/oauth2/token", f.sb.base_url))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(f.api(&access).await, 401);
}
