//! The OneRoster REST source over real HTTP against the sandbox provider: the same district
//! as its CSV export gives the same roster; auth, paging, faults and incremental runs.

use rosterbridge_model::roster::{OneRosterVersion, Roster};
use rosterbridge_sandbox_roster::{Fault, FaultKind, ProviderConfig, RunningProvider};
use rosterbridge_source_oneroster::{read as read_csv, CsvSourceOptions, NoProgress as CsvQuiet};
use rosterbridge_source_oneroster_rest::{
    check, read, snapshot, HttpError, NoProgress, RestAuth, RestError, RestOptions, RestRead,
    RetryPolicy, Secret, Url,
};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// One generated district, read from its CSV folder (the reference every test compares with).
fn district() -> &'static Roster {
    static R: OnceLock<Roster> = OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        rosterbridge_generate::write_oneroster_csv(
            &rosterbridge_generate::DistrictSpec::base(400, 11),
            dir.path(),
            &|_, _, _| {},
        )
        .unwrap();
        let opts = CsvSourceOptions {
            path: dir.path().to_path_buf(),
            version: None,
            mode: None,
        };
        let read = read_csv(&opts, &[], &CsvQuiet).unwrap();
        assert!(
            read.roster.users.len() > 400 && read.roster.enrollments.len() > 1000,
            "{:?}",
            read.roster.counts()
        );
        read.roster
    })
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        timeout: Duration::from_secs(10),
        ..Default::default()
    }
}

fn v1p1(p: &RunningProvider, secret: &str) -> RestOptions {
    let auth = RestAuth::OAuth1 {
        consumer_key: "sandbox-key".into(),
        consumer_secret: Secret::new(secret),
        secret_source: "$OR_SECRET".into(),
    };
    let mut o = RestOptions::new(
        Url::parse(&p.v1p1_url()).unwrap(),
        OneRosterVersion::V1_1,
        auth,
    );
    o.page_size = 97;
    o.retry = fast();
    o
}

fn v1p2(p: &RunningProvider, secret: &str) -> RestOptions {
    let auth = RestAuth::OAuth2 {
        token_url: Url::parse(&p.token_url()).unwrap(),
        client_id: "sandbox-client".into(),
        client_secret: Secret::new(secret),
        secret_source: "$OR_CLIENT_SECRET".into(),
        scopes: None,
        credentials_in_body: false,
    };
    let mut o = RestOptions::new(
        Url::parse(&p.v1p2_url()).unwrap(),
        OneRosterVersion::V1_2,
        auth,
    );
    o.page_size = 250;
    o.retry = fast();
    o
}

fn start() -> RunningProvider {
    RunningProvider::start(district().clone(), ProviderConfig::default()).unwrap()
}

fn ok(opts: &RestOptions) -> RestRead {
    read(opts, &[], &NoProgress).unwrap_or_else(|e| panic!("{e}"))
}

/// Source lines are where a record sat in its table; compare content only.
fn without_lines(r: &Roster) -> Roster {
    let mut r = r.clone();
    r.orgs.iter_mut().for_each(|x| x.src.line = 0);
    r.sessions.iter_mut().for_each(|x| x.src.line = 0);
    r.courses.iter_mut().for_each(|x| x.src.line = 0);
    r.classes.iter_mut().for_each(|x| x.src.line = 0);
    r.users.iter_mut().for_each(|x| x.src.line = 0);
    r.enrollments.iter_mut().for_each(|x| x.src.line = 0);
    r.demographics.iter_mut().for_each(|x| x.src.line = 0);
    r
}

#[test]
fn v1p1_reads_the_same_roster_as_the_csv_export() {
    let p = start();
    let got = ok(&v1p1(&p, "sandbox-secret"));
    assert_eq!(got.read.roster, *district());
    assert!(
        got.read.diagnostics.iter().all(|d| !d.is_error()),
        "{:?}",
        got.read.diagnostics
    );
    let users = got
        .collections
        .iter()
        .find(|c| c.collection == "users")
        .unwrap();
    assert_eq!(users.records, district().users.len());
    assert_eq!(users.pages, district().users.len().div_ceil(97));
}

#[test]
fn v1p1_pages_by_offset_and_total_without_link_headers() {
    let p = RunningProvider::start(
        district().clone(),
        ProviderConfig {
            link_headers: false,
            max_page_size: 60,
            ..Default::default()
        },
    )
    .unwrap();
    // Asks 97 a page; the provider caps at 60 silently: paging must follow what it got.
    let got = ok(&v1p1(&p, "sandbox-secret"));
    assert_eq!(got.read.roster, *district());
}

#[test]
fn v1p2_reads_the_same_roster_with_roles() {
    let p = start();
    let got = ok(&v1p2(&p, "sandbox-client-secret"));
    let mut roster = got.read.roster.clone();
    // 1.2 carries roles per org; the 1.1 export has one role for all orgs. Same people, same role.
    for u in &mut roster.users {
        let roles = u
            .extra
            .as_ref()
            .map(|x| x.roles().to_vec())
            .unwrap_or_default();
        assert_eq!(roles.len(), u.orgs().len(), "{}", u.sourced_id);
        assert!(roles.iter().all(|r| r.role == u.role));
        if let Some(x) = u.extra.as_mut() {
            x.more_mut().roles.clear();
            if x.is_empty() {
                u.extra = None;
            }
        }
    }
    assert_eq!(without_lines(&roster), without_lines(district()));
}

#[test]
fn wrong_oauth1_secret_is_a_401_naming_the_credential_not_the_secret() {
    let p = start();
    let err = read(&v1p1(&p, "not-the-secret"), &[], &NoProgress).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            &err,
            RestError::Http {
                source: HttpError::Unauthorized { .. },
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("consumer key \"sandbox-key\"")
            && text.contains("$OR_SECRET")
            && text.contains("signature does not match"),
        "{text}"
    );
    assert!(!text.contains("not-the-secret"));
    assert!(!format!("{:?}", v1p1(&p, "not-the-secret")).contains("not-the-secret"));
}

#[test]
fn wrong_client_secret_and_missing_scope() {
    let p = start();
    let err = read(&v1p2(&p, "wrong"), &[], &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("401")
            && err.contains("client id \"sandbox-client\"")
            && err.contains("$OR_CLIENT_SECRET")
            && !err.contains("wrong\""),
        "{err}"
    );

    let narrow = RunningProvider::start(
        district().clone(),
        ProviderConfig {
            granted_scopes: vec![
                "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly".into(),
            ],
            ..Default::default()
        },
    )
    .unwrap();
    let mut o = v1p2(&narrow, "sandbox-client-secret");
    // Asking for a scope the client does not hold fails at the token endpoint, naming it.
    o.demographics = true;
    let err = read(&o, &[], &NoProgress).unwrap_err().to_string();
    assert!(
        err.contains("invalid_scope") && err.contains("roster-demographics.readonly"),
        "{err}"
    );
}

#[test]
fn an_expired_token_mid_pull_is_refreshed_once() {
    let p = start();
    p.state.add_fault(Fault {
        path_contains: "/rostering/v1p2/users".into(),
        skip: 1,
        times: 1,
        kind: FaultKind::ExpireTokens,
    });
    let got = ok(&v1p2(&p, "sandbox-client-secret"));
    assert_eq!(got.read.roster.users.len(), district().users.len());
}

#[test]
fn server_errors_mid_page_are_retried_then_reported_with_context() {
    let p = start();
    p.state.add_fault(Fault {
        path_contains: "/users?".into(),
        skip: 2,
        times: 2,
        kind: FaultKind::Status {
            status: 500,
            retry_after: None,
        },
    });
    assert_eq!(ok(&v1p1(&p, "sandbox-secret")).read.roster, *district());

    p.state.add_fault(Fault {
        path_contains: "/users?".into(),
        skip: 3,
        times: 100,
        kind: FaultKind::Status {
            status: 503,
            retry_after: None,
        },
    });
    let err = read(&v1p1(&p, "sandbox-secret"), &[], &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("users (offset 291)")
            && err.contains("HTTP 503 after 4 tries")
            && err.contains("/ims/oneroster/v1p1/users?limit=97&offset=291"),
        "{err}"
    );
}

#[test]
fn a_429_waits_as_long_as_retry_after_says() {
    let p = start();
    p.state.add_fault(Fault {
        path_contains: "/classes?".into(),
        skip: 1,
        times: 1,
        kind: FaultKind::Status {
            status: 429,
            retry_after: Some(1),
        },
    });
    let t = Instant::now();
    assert_eq!(ok(&v1p1(&p, "sandbox-secret")).read.roster, *district());
    assert!(t.elapsed() >= Duration::from_secs(1));
}

#[test]
fn malformed_json_names_the_page() {
    let p = start();
    p.state.add_fault(Fault {
        path_contains: "/users?".into(),
        skip: 1,
        times: 1,
        kind: FaultKind::MalformedJson,
    });
    let err = read(&v1p1(&p, "sandbox-secret"), &[], &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("users page at offset 97 is not valid JSON") && err.contains("offset=97"),
        "{err}"
    );
}

#[test]
fn a_hung_provider_times_out() {
    let p = start();
    p.state.add_fault(Fault {
        path_contains: "/orgs?".into(),
        skip: 0,
        times: 10,
        kind: FaultKind::Delay(Duration::from_secs(3)),
    });
    let mut o = v1p1(&p, "sandbox-secret");
    o.retry = RetryPolicy {
        max_attempts: 2,
        timeout: Duration::from_millis(300),
        ..fast()
    };
    let err = read(&o, &[], &NoProgress).unwrap_err().to_string();
    assert!(err.contains("no answer within 300ms (2 tries)"), "{err}");
}

#[test]
fn records_deleted_and_added_mid_pull_are_neither_missed_nor_doubled() {
    let p = start();
    let first_user = district().users[0].sourced_id.to_string();
    let mut extra = district().users[5].clone();
    extra.sourced_id = "zz-new-student".into();
    extra.edit_texts(|t| t.username = "zz.new".into());
    let mut once = Some((first_user, extra));
    // While page 3 of users is served, the first user leaves and a new one arrives: offsets shift.
    p.state.add_fault(Fault {
        path_contains: "/users?".into(),
        skip: 2,
        times: 1,
        kind: FaultKind::Mutate(Box::new(move |d| {
            if let Some((gone, new)) = once.take() {
                assert!(d.remove_user(&gone));
                d.add_user(new);
            }
        })),
    });
    let got = ok(&v1p1(&p, "sandbox-secret"));
    let users = got
        .collections
        .iter()
        .find(|c| c.collection == "users")
        .unwrap();
    assert_eq!(
        users.rounds, 2,
        "the changed total must trigger a second pull"
    );
    let now = p.state.mutate(|d| d.roster.clone());
    assert_eq!(without_lines(&got.read.roster), without_lines(&now));
}

#[test]
fn incremental_runs_merge_changes_onto_the_previous_pull() {
    let p = start();
    let mut o = v1p1(&p, "sandbox-secret");
    o.incremental = true;
    let first = ok(&o);
    assert!(
        first.collections.iter().all(|c| !c.delta),
        "no previous pull: everything is read whole"
    );
    let saved = snapshot(&first, &[]).unwrap();

    let renamed = district().users[3].sourced_id.to_string();
    let dropped = district().enrollments[10].sourced_id.to_string();
    let mut new = district().users[7].clone();
    new.sourced_id = "zz-added".into();
    p.state.mutate(|d| {
        assert!(d.rename_user(&renamed, "Changed-Name"));
        assert!(d.remove_enrollment(&dropped));
        d.add_user(new);
    });
    let second = read(&o, &saved, &NoProgress).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        second.collections.iter().all(|c| c.delta),
        "{:?}",
        second.collections
    );
    let users = second
        .collections
        .iter()
        .find(|c| c.collection == "users")
        .unwrap();
    assert_eq!(
        users.records, 2,
        "only the renamed and the added user are sent"
    );
    let enr = second
        .collections
        .iter()
        .find(|c| c.collection == "enrollments")
        .unwrap();
    assert_eq!(
        enr.records, 1,
        "the removed enrollment comes as tobedeleted"
    );
    let now = p.state.mutate(|d| d.roster.clone());
    assert_eq!(without_lines(&second.read.roster), without_lines(&now));
}

#[test]
fn check_counts_every_collection() {
    let p = start();
    let counts = check(&v1p1(&p, "sandbox-secret")).unwrap();
    let users = counts.iter().find(|(c, _)| c == "users").unwrap().1;
    assert_eq!(users, Some(district().users.len() as u64));
    assert_eq!(counts.len(), 6);
}

#[test]
fn a_403_on_demographics_is_a_warning_naming_the_scope_and_the_rest_is_read() {
    let p = start();
    let mut o = v1p2(&p, "sandbox-client-secret");
    o.demographics = true;
    // Ask only for the core scope: the token is granted, /demographics then answers 403.
    if let RestAuth::OAuth2 { scopes, .. } = &mut o.auth {
        *scopes = Some(vec![
            "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly".into(),
        ]);
    }
    let got = ok(&o);
    let w = got
        .read
        .diagnostics
        .iter()
        .find(|d| d.code == "demographics-unavailable")
        .unwrap();
    assert!(
        w.message.contains("403 Forbidden")
            && w.message.contains("client id \"sandbox-client\"")
            && w.message.contains("roster-demographics.readonly"),
        "{}",
        w.message
    );
    assert_eq!(got.read.roster.users.len(), district().users.len());
    assert!(!format!("{o:?}").contains("sandbox-client-secret"));
}

#[test]
fn a_token_is_reused_until_a_minute_before_it_expires_then_renewed() {
    use rosterbridge_source_oneroster_rest::oauth2::ClientCredentials;
    use rosterbridge_source_oneroster_rest::HttpClient;
    // The provider issues tokens for 61 s: inside the 60 s margin after one second.
    let p = RunningProvider::start(
        district().clone(),
        ProviderConfig {
            token_ttl: Duration::from_secs(61),
            ..Default::default()
        },
    )
    .unwrap();
    let client = HttpClient::new(fast()).unwrap();
    let creds = ClientCredentials::new(
        Url::parse(&p.token_url()).unwrap(),
        "sandbox-client".into(),
        Secret::new("sandbox-client-secret"),
        "$X".into(),
        vec![],
    );
    let a = creds.token(&client).unwrap();
    assert_eq!(
        creds.token(&client).unwrap().expose(),
        a.expose(),
        "a fresh token is reused"
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert_ne!(
        creds.token(&client).unwrap().expose(),
        a.expose(),
        "a token about to expire is renewed before use"
    );
}
