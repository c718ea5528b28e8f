//! The provider's gradebook (`shared/specs/oneroster.md` §5) over real HTTP: create-or-replace
//! PUTs with 201/200, the checks a SIS makes (422 `invaliddata`), scopes and signatures, and
//! reading back through the OneRoster API.

use reqwest::blocking::Client;
use rosterbridge_sandbox_roster::{generate_roster, ProviderConfig, RunningProvider};
use rosterbridge_source_http::Authorizer;
use rosterbridge_source_oneroster_rest::oauth1::OAuth1;
use rosterbridge_source_oneroster_rest::{HttpClient, RetryPolicy, Secret, Url};
use serde_json::{json, Value};

fn token(p: &RunningProvider, scope: &str) -> String {
    let r: Value = client()
        .post(p.token_url())
        .basic_auth("sandbox-client", Some("sandbox-client-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .unwrap()
        .json()
        .unwrap();
    r["access_token"].as_str().unwrap().to_string()
}

/// A blocking client. reqwest is built here without a default TLS provider; the shared
/// HTTP client installs ring once per process, so build one first.
fn client() -> Client {
    let _ = HttpClient::new(RetryPolicy::default());
    Client::new()
}

const GB: &str = "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook";

fn put12(p: &RunningProvider, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = client()
        .put(format!(
            "{}/ims/oneroster/gradebook/v1p2/{path}",
            p.base_url
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

fn get12(p: &RunningProvider, token: &str, path: &str) -> (u16, Value) {
    let r = client()
        .get(format!(
            "{}/ims/oneroster/gradebook/v1p2/{path}",
            p.base_url
        ))
        .bearer_auth(token)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

fn ids(p: &RunningProvider) -> (String, String) {
    let data = p.state.data.read().unwrap();
    let r = &data.roster;
    let e = r
        .enrollments
        .iter()
        .find(|e| e.role.as_str() == "student")
        .unwrap();
    (
        r.classes[e.class as usize].sourced_id.as_str().to_string(),
        r.users[e.user as usize].sourced_id.as_str().to_string(),
    )
}

fn minor(body: &Value) -> &str {
    body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
        .as_str()
        .unwrap_or("")
}

#[test]
fn oneroster_1_2_gradebook_puts_create_then_replace_and_refuse_what_a_sis_would() {
    let p =
        RunningProvider::start(generate_roster(20, 5).unwrap(), ProviderConfig::default()).unwrap();
    let (class, student) = ids(&p);
    let t = token(&p, &format!("{GB}.createput {GB}.readonly"));
    let cat = json!({"category": {"sourcedId": "cat-1", "status": "active", "title": "Final"}});
    assert_eq!(put12(&p, &t, "categories/cat-1", cat.clone()).0, 201);
    assert_eq!(
        put12(&p, &t, "categories/cat-1", cat).0,
        200,
        "a second PUT replaces"
    );

    let li = |class: &str, cat: &str| json!({"lineItem": {"title": "Final mark", "class": {"sourcedId": class}, "category": {"sourcedId": cat}, "academicSession": {"sourcedId": "gp"}}});
    let (s, b) = put12(&p, &t, "lineItems/li-1", li("no-such-class", "cat-1"));
    assert_eq!((s, minor(&b)), (422, "invaliddata"));
    assert!(b["imsx_description"]
        .as_str()
        .unwrap()
        .contains("no-such-class"));
    assert_eq!(
        put12(&p, &t, "lineItems/li-1", li(&class, "no-such-category")).0,
        422
    );
    let (s, b) = put12(
        &p,
        &t,
        "lineItems/li-1",
        json!({"lineItem": {"sourcedId": "other", "title": "x"}}),
    );
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        put12(&p, &t, "lineItems/li-1", json!({"result": {}})).0,
        400,
        "wrong wrapper key"
    );
    let (s, b) = put12(&p, &t, "lineItems/li-1", li(&class, "cat-1"));
    assert_eq!(s, 201);
    assert_eq!(
        b["lineItem"]["sourcedId"], "li-1",
        "the path's sourcedId is the record's"
    );

    let result = |student: &str, status: Option<&str>| {
        let mut r = json!({"lineItem": {"sourcedId": "li-1"}, "student": {"sourcedId": student}, "scoreDate": "2026-12-02", "score": 81.5, "textScore": "B"});
        if let Some(s) = status {
            r["scoreStatus"] = json!(s);
        }
        json!({"result": r})
    };
    assert_eq!(
        put12(
            &p,
            &t,
            "results/r-1",
            result("nobody", Some("fully graded"))
        )
        .0,
        422
    );
    assert_eq!(
        put12(&p, &t, "results/r-1", result(&student, None)).0,
        422,
        "scoreStatus is required"
    );
    assert_eq!(
        put12(&p, &t, "results/r-1", result(&student, Some("done"))).0,
        422,
        "scoreStatus vocabulary"
    );
    assert_eq!(
        put12(
            &p,
            &t,
            "results/r-1",
            result(&student, Some("fully graded"))
        )
        .0,
        201
    );
    assert_eq!(
        put12(
            &p,
            &t,
            "results/r-1",
            result(&student, Some("fully graded"))
        )
        .0,
        200
    );
    p.state.reject_results_for(&student, "record locked");
    let (s, b) = put12(
        &p,
        &t,
        "results/r-1",
        result(&student, Some("fully graded")),
    );
    assert_eq!(s, 422);
    assert!(b["imsx_description"]
        .as_str()
        .unwrap()
        .contains("record locked"));

    let (s, list) = get12(&p, &t, "results");
    assert_eq!(s, 200);
    assert_eq!(
        list["results"].as_array().unwrap().len(),
        1,
        "create-or-replace: one result"
    );
    assert_eq!(list["results"][0]["textScore"], "B");
    let (s, one) = get12(&p, &t, "lineItems/li-1");
    assert_eq!(
        (s, one["lineItem"]["class"]["sourcedId"].as_str()),
        (200, Some(class.as_str()))
    );
    assert_eq!(get12(&p, &t, "results/missing").0, 404);
    assert_eq!(p.state.gradebook().writes, 5);
}

#[test]
fn gradebook_writes_need_the_createput_scope_and_reads_the_readonly_one() {
    let p =
        RunningProvider::start(generate_roster(10, 6).unwrap(), ProviderConfig::default()).unwrap();
    let read_only = token(&p, &format!("{GB}.readonly"));
    let (s, b) = put12(
        &p,
        &read_only,
        "categories/c",
        json!({"category": {"title": "x"}}),
    );
    assert_eq!((s, minor(&b)), (403, "forbidden"));
    assert!(b["imsx_description"]
        .as_str()
        .unwrap()
        .contains("gradebook.createput"));
    let roster_only = token(
        &p,
        "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly",
    );
    assert_eq!(get12(&p, &roster_only, "results").0, 403);
    assert_eq!(get12(&p, "not-a-token", "results").0, 401);
}

#[test]
fn oneroster_1_1_gradebook_puts_are_signed_with_oauth1_and_need_a_numeric_score() {
    let p =
        RunningProvider::start(generate_roster(10, 7).unwrap(), ProviderConfig::default()).unwrap();
    let (class, student) = ids(&p);
    let http = HttpClient::new(RetryPolicy::default()).unwrap();
    let signer = OAuth1 {
        consumer_key: "sandbox-key".into(),
        consumer_secret: Secret::new("sandbox-secret"),
        secret_source: "test".into(),
    };
    let send = |method: &str, path: &str, body: Option<Value>| -> (u16, Value) {
        let url = Url::parse(&format!("{}/{path}", p.v1p1_url())).unwrap();
        let auth = signer.authorization(&http, method, &url).unwrap();
        let req = match body {
            Some(b) => client().put(url.as_str()).json(&b),
            None => client().get(url.as_str()),
        };
        let r = req.header("Authorization", auth).send().unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    };
    // Unsigned: refused.
    let r = client()
        .put(format!("{}/categories/c", p.v1p1_url()))
        .json(&json!({"category": {"title": "x"}}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A GET signature does not sign a PUT.
    let url = Url::parse(&format!("{}/categories/c", p.v1p1_url())).unwrap();
    let get_sig = signer.authorization(&http, "GET", &url).unwrap();
    let r = client()
        .put(url.as_str())
        .header("Authorization", get_sig)
        .json(&json!({"category": {"title": "x"}}))
        .send()
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        401,
        "the method is part of the signature"
    );

    assert_eq!(
        send(
            "PUT",
            "categories/c",
            Some(json!({"category": {"title": "Final"}}))
        )
        .0,
        201
    );
    assert_eq!(send("PUT", "lineItems/li", Some(json!({"lineItem": {"title": "Final", "class": {"sourcedId": class}, "category": {"sourcedId": "c"}, "gradingPeriod": {"sourcedId": "gp"}}}))).0, 201);
    let no_score = json!({"result": {"lineItem": {"sourcedId": "li"}, "student": {"sourcedId": student}, "scoreStatus": "fully graded", "scoreDate": "2026-12-02", "comment": "B"}});
    let (s, b) = send("PUT", "results/r", Some(no_score));
    assert_eq!(s, 422);
    assert!(b["imsx_description"]
        .as_str()
        .unwrap()
        .contains("numeric score"));
    let ok = json!({"result": {"lineItem": {"sourcedId": "li"}, "student": {"sourcedId": student}, "scoreStatus": "fully graded", "scoreDate": "2026-12-02", "score": 88.0}});
    assert_eq!(send("PUT", "results/r", Some(ok)).0, 201);
    let (s, list) = send("GET", "results", None);
    assert_eq!((s, list["results"][0]["score"].as_f64()), (200, Some(88.0)));
    let (s, one) = send("GET", "lineItems/li", None);
    assert_eq!(
        (s, one["lineItem"]["gradingPeriod"]["sourcedId"].as_str()),
        (200, Some("gp"))
    );
}
