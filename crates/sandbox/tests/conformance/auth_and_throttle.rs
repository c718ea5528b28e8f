//! Authentication and Canvas's throttle.

use rosterbridge_sandbox::ThrottleConfig;
use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn request_without_token_gets_401_user_authorization_required() {
    let sb = Sandbox::start().await;
    let r = sb
        .http
        .get(sb.url("/api/v1/accounts/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer realm=\"canvas-lms\""
    );
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"status":"unauthenticated","errors":[{"message":"user authorization required"}]})
    );
}

#[tokio::test]
async fn request_with_wrong_token_gets_401_invalid_access_token() {
    let sb = Sandbox::start().await;
    let r = sb
        .http
        .get(sb.url("/api/v1/accounts/1"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer realm=\"canvas-lms\""
    );
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"errors":[{"message":"Invalid access token."}]})
    );
}

#[tokio::test]
async fn access_token_query_parameter_authenticates() {
    let sb = Sandbox::start().await;
    let r = sb
        .http
        .get(sb.url(&format!("/api/v1/accounts/1?access_token={TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn every_api_response_has_rate_limit_headers() {
    let sb = Sandbox::start().await;
    let r = sb.get_raw("/api/v1/accounts/1").await;
    let remaining: f64 = r.headers()["x-rate-limit-remaining"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let cost: f64 = r.headers()["x-request-cost"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(remaining > 690.0 && remaining <= 700.0, "{remaining}");
    assert!(cost > 0.0);
    // 404s are API responses too.
    let r = sb.get_raw("/api/v1/accounts/999").await;
    assert!(r.headers().contains_key("x-rate-limit-remaining"));
}

fn tight() -> ThrottleConfig {
    ThrottleConfig {
        high_water_mark: 5.0,
        outflow: 0.001,
        up_front_cost: 0.0,
        request_cost: 2.0,
        ..ThrottleConfig::default()
    }
}

#[tokio::test]
async fn full_bucket_is_answered_429_with_remaining_zero() {
    let sb = Sandbox::start_with(tight()).await;
    for _ in 0..3 {
        assert_eq!(sb.get_raw("/api/v1/accounts/1").await.status(), 200);
    }
    let r = sb.get_raw("/api/v1/accounts/1").await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-rate-limit-remaining"], "0.0");
    assert!(!r.headers().contains_key("x-request-cost"));
    assert!(r.text().await.unwrap().contains("Rate Limit Exceeded"));
}

#[tokio::test]
async fn sandbox_counts_refusals_and_tells_them_while_the_bucket_is_full() {
    let sb = Sandbox::start_with(tight()).await;
    async fn refused(sb: &Sandbox) -> u64 {
        let r = sb.get_raw("/sandbox/throttle").await;
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["refused"]
            .as_u64()
            .unwrap()
    }
    assert_eq!(refused(&sb).await, 0);
    for _ in 0..5 {
        sb.get_raw("/api/v1/accounts/1").await;
    }
    // Three fit in the bucket; the other two were refused, and the count is read through
    // the full bucket.
    assert_eq!(refused(&sb).await, 2);
    let anonymous = http_client()
        .get(sb.url("/sandbox/throttle"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn legacy_flag_answers_throttled_requests_403_rate_limit_exceeded() {
    let sb = Sandbox::start_with(ThrottleConfig {
        legacy_403: true,
        ..tight()
    })
    .await;
    for _ in 0..3 {
        sb.get_raw("/api/v1/accounts/1").await;
    }
    let r = sb.get_raw("/api/v1/accounts/1").await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.text().await.unwrap(),
        "403 Forbidden (Rate Limit Exceeded)\n"
    );
}

#[tokio::test]
async fn bucket_leaks_so_throttled_client_recovers() {
    let sb = Sandbox::start_with(ThrottleConfig {
        outflow: 40.0,
        ..tight()
    })
    .await;
    for _ in 0..3 {
        sb.get_raw("/api/v1/accounts/1").await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sb.get_raw("/api/v1/accounts/1").await.status(), 200);
}
