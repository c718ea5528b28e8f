//! The Clever source over real HTTP against the sandbox provider: the same district as its
//! OneRoster CSV export, as far as Clever's model carries it; events; auth and faults.

use rosterbridge_model::roster::Roster;
use rosterbridge_sandbox_roster::{Fault, FaultKind, ProviderConfig, RunningProvider};
use rosterbridge_source_clever::{
    check, read, snapshot, CleverOptions, CleverRead, NoProgress, RetryPolicy, Secret, Url,
    STATE_FILE,
};
use rosterbridge_source_oneroster::{read as read_csv, CsvSourceOptions, NoProgress as CsvQuiet};
use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

fn district() -> &'static Roster {
    static R: OnceLock<Roster> = OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        rosterbridge_generate::write_oneroster_csv(
            &rosterbridge_generate::DistrictSpec::base(300, 5),
            dir.path(),
            &|_, _, _| {},
        )
        .unwrap();
        read_csv(
            &CsvSourceOptions {
                path: dir.path().to_path_buf(),
                version: None,
                mode: None,
            },
            &[],
            &CsvQuiet,
        )
        .unwrap()
        .roster
    })
}

fn opts(p: &RunningProvider, token: &str) -> CleverOptions {
    let mut o = CleverOptions::new(
        Url::parse(&p.clever_url()).unwrap(),
        Secret::new(token),
        "$CLEVER_TOKEN",
    );
    o.page_size = 70;
    o.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        ..Default::default()
    };
    o
}

fn ok(o: &CleverOptions, prior: &[rosterbridge_state::SourceTableSnapshot]) -> CleverRead {
    read(o, prior, &NoProgress).unwrap_or_else(|e| panic!("{e}"))
}

type UserKey = (
    String,
    String,
    String,
    String,
    Option<String>,
    Vec<String>,
    Vec<String>,
);
type View = (
    BTreeSet<UserKey>,
    BTreeSet<(String, String, String, String)>,
    BTreeSet<(String, String, String, Option<bool>)>,
    BTreeSet<String>,
);

/// What Clever carries of a roster: people (id, role, names, email, agents, orgs), classes
/// (id, title, school, first term) and memberships (class, user, role, primary teacher).
fn clever_view(r: &Roster) -> View {
    let users = r
        .users
        .iter()
        .map(|u| {
            let mut agents: Vec<String> = u.agents().map(str::to_string).collect();
            agents.sort();
            let mut orgs: Vec<String> = u.orgs().map(str::to_string).collect();
            orgs.sort();
            (
                u.sourced_id.to_string(),
                u.role.to_string(),
                u.given_name().to_string(),
                u.family_name().to_string(),
                u.email().map(str::to_string),
                agents,
                orgs,
            )
        })
        .collect();
    let classes = r
        .classes
        .iter()
        .map(|c| {
            (
                c.sourced_id.to_string(),
                c.title.to_string(),
                c.school.to_string(),
                c.terms.first().map(|t| t.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    let enrollments = r
        .enrollments
        .iter()
        .map(|e| {
            let primary = if e.role.as_str() == "teacher" {
                Some(e.primary == Some(true))
            } else {
                None
            };
            (
                r.classes[e.class as usize].sourced_id.to_string(),
                r.users[e.user as usize].sourced_id.to_string(),
                e.role.to_string(),
                primary,
            )
        })
        .collect();
    let orgs = r.orgs.iter().map(|o| o.sourced_id.to_string()).collect();
    (users, classes, enrollments, orgs)
}

#[test]
fn clever_reads_the_same_district_as_the_csv_export() {
    let p = RunningProvider::start(district().clone(), ProviderConfig::default()).unwrap();
    let got = ok(&opts(&p, "sandbox-district-token"), &[]);
    assert!(
        got.read.diagnostics.iter().all(|d| !d.is_error()),
        "{:#?}",
        &got.read.diagnostics[..got.read.diagnostics.len().min(5)]
    );
    let (want_users, want_classes, want_enr, want_orgs) = clever_view(district());
    let (users, classes, enr, orgs) = clever_view(&got.read.roster);
    assert_eq!(orgs, want_orgs);
    assert_eq!(classes, want_classes);
    assert_eq!(users.len(), want_users.len());
    assert_eq!(users.difference(&want_users).next(), None);
    assert_eq!(enr, want_enr);
    assert_eq!(
        check(&opts(&p, "sandbox-district-token")).unwrap(),
        district()
            .orgs
            .iter()
            .find(|o| o.org_type.as_str() == "district")
            .unwrap()
            .name
            .as_str()
    );
}

#[test]
fn events_replay_onto_the_previous_pull_and_match_a_fresh_full_pull() {
    let p = RunningProvider::start(district().clone(), ProviderConfig::default()).unwrap();
    let mut o = opts(&p, "sandbox-district-token");
    o.incremental = true;
    let first = ok(&o, &[]);
    assert!(!first.incremental);
    let saved = snapshot(&first);

    let r = district();
    let student = r
        .users
        .iter()
        .find(|u| u.role.as_str() == "student" && u.agents().len() > 0)
        .unwrap()
        .sourced_id
        .to_string();
    let renamed = r
        .users
        .iter()
        .find(|u| u.role.as_str() == "teacher")
        .unwrap()
        .sourced_id
        .to_string();
    let enr = r
        .enrollments
        .iter()
        .find(|e| {
            e.role.as_str() == "student" && r.users[e.user as usize].sourced_id.as_str() != student
        })
        .unwrap()
        .sourced_id
        .to_string();
    p.state.mutate(|d| {
        assert!(d.rename_user(&renamed, "Renamed"));
        assert!(d.remove_user(&student));
        assert!(d.remove_enrollment(&enr));
    });
    let second = ok(&o, &saved);
    assert!(second.incremental);
    let full = ok(&opts(&p, "sandbox-district-token"), &[]);
    assert_eq!(
        clever_view(&second.read.roster),
        clever_view(&full.read.roster)
    );
    assert!(second
        .read
        .roster
        .users
        .iter()
        .all(|u| u.sourced_id.as_str() != student));

    // Replaying the same events again (an interrupted run's retry) changes nothing.
    let again = ok(&o, &saved);
    assert_eq!(
        clever_view(&again.read.roster),
        clever_view(&second.read.roster)
    );
}

#[test]
fn an_unknown_event_cursor_falls_back_to_a_full_pull() {
    let p = RunningProvider::start(district().clone(), ProviderConfig::default()).unwrap();
    let mut o = opts(&p, "sandbox-district-token");
    o.incremental = true;
    let mut first = ok(&o, &[]);
    first.store.last_event = Some("e-long-gone".into());
    let got = ok(&o, &snapshot(&first));
    assert!(!got.incremental);
    assert!(got
        .read
        .diagnostics
        .iter()
        .any(|d| d.code == "events-expired"));
    assert_eq!(got.read.roster.users.len(), district().users.len());
    assert_eq!(snapshot(&got)[0].file, STATE_FILE);
}

#[test]
fn wrong_token_names_the_credential_and_faults_are_retried() {
    let p = RunningProvider::start(district().clone(), ProviderConfig::default()).unwrap();
    let err = read(&opts(&p, "nope-token"), &[], &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("401")
            && err.contains("Clever district token from $CLEVER_TOKEN")
            && !err.contains("nope-token"),
        "{err}"
    );

    p.state.add_fault(Fault {
        path_contains: "/v3.0/users".into(),
        skip: 1,
        times: 2,
        kind: FaultKind::Status {
            status: 502,
            retry_after: None,
        },
    });
    p.state.add_fault(Fault {
        path_contains: "/v3.0/sections".into(),
        skip: 1,
        times: 1,
        kind: FaultKind::Status {
            status: 429,
            retry_after: Some(0),
        },
    });
    assert_eq!(
        ok(&opts(&p, "sandbox-district-token"), &[])
            .read
            .roster
            .users
            .len(),
        district().users.len()
    );

    p.state.add_fault(Fault {
        path_contains: "/v3.0/terms".into(),
        skip: 0,
        times: 1,
        kind: FaultKind::MalformedJson,
    });
    let err = read(&opts(&p, "sandbox-district-token"), &[], &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(err.contains("terms page is not valid JSON"), "{err}");
}
