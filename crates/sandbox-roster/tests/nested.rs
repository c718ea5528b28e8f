//! The provider's router mounted under a prefix, as `rosterbridge sandbox` may merge it with
//! the Canvas sandbox: hrefs, `Link` URLs, Clever `next` URIs and OAuth 1 signatures must all
//! carry the prefix.

use rosterbridge_model::roster::OneRosterVersion;
use rosterbridge_sandbox_roster::{generate_roster, router, ProviderConfig, ProviderState};
use rosterbridge_source_oneroster_rest::{read, NoProgress, RestAuth, RestOptions, Secret, Url};

#[test]
fn works_nested_under_a_prefix() {
    let roster = generate_roster(120, 9).unwrap();
    let counts = roster.counts();
    let state = ProviderState::new(roster, ProviderConfig::default());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().nest("/sis", router(state));
    rt.spawn(async move { axum::serve(listener, app).await });

    let auth = RestAuth::OAuth1 {
        consumer_key: "sandbox-key".into(),
        consumer_secret: Secret::new("sandbox-secret"),
        secret_source: "test".into(),
    };
    let mut o = RestOptions::new(
        Url::parse(&format!("http://{addr}/sis/ims/oneroster/v1p1")).unwrap(),
        OneRosterVersion::V1_1,
        auth,
    );
    o.page_size = 50;
    let got = read(&o, &[], &NoProgress).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.read.roster.counts(), counts);

    let mut c = rosterbridge_source_clever::CleverOptions::new(
        Url::parse(&format!("http://{addr}/sis/v3.0")).unwrap(),
        Secret::new("sandbox-district-token"),
        "test",
    );
    c.page_size = 40;
    let got = rosterbridge_source_clever::read(&c, &[], &rosterbridge_source_clever::NoProgress)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.read.roster.users.len(), counts.users);
    rt.shutdown_background();
}
