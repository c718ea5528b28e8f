//! Every source kind through `prepare` (config → source → mapping → plan), over real HTTP
//! against the sandbox provider, compared with the OneRoster CSV source reading the same
//! generated district.

use rosterbridge_config::Config;
use rosterbridge_engine::{
    apply, open_memory_store, prepare, source, ApplyOptions, Prepared, Quiet,
};
use rosterbridge_sandbox_roster::{ProviderConfig, RunningProvider};
use std::path::Path;

const CANVAS: &str = "\n[canvas]\nurl = \"http://127.0.0.1:1\"\naccount_id = 1\n";

fn config(dir: &Path, source: &str) -> Config {
    let path = dir.join("sync.toml");
    std::fs::write(&path, format!("{source}{CANVAS}")).unwrap();
    Config::load(&path).unwrap_or_else(|e| panic!("{:?}", e.diagnostics()))
}

fn plan_of(c: &Config) -> Prepared {
    let store = open_memory_store().unwrap();
    prepare(c, &store, &Quiet).unwrap_or_else(|e| panic!("{e}"))
}

struct District {
    dir: tempfile::TempDir,
    provider: RunningProvider,
    csv: Prepared,
}

fn district() -> District {
    let dir = tempfile::tempdir().unwrap();
    rosterbridge_generate::write_oneroster_csv(
        &rosterbridge_generate::DistrictSpec::base(300, 21),
        &dir.path().join("district"),
        &|_, _, _| {},
    )
    .unwrap();
    let csv = plan_of(&config(
        dir.path(),
        "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n",
    ));
    let roster =
        rosterbridge_sandbox_roster::load_oneroster_csv(&dir.path().join("district")).unwrap();
    let provider = RunningProvider::start(roster, ProviderConfig::default()).unwrap();
    District { dir, provider, csv }
}

#[test]
fn oneroster_rest_1_1_and_1_2_plan_exactly_what_the_csv_export_plans() {
    let d = district();
    std::env::set_var("RB_TEST_OR_SECRET", "sandbox-secret");
    let c = config(
        d.dir.path(),
        &format!("[source]\nkind = \"oneroster-rest\"\nbase_url = \"{}\"\nversion = \"1.1\"\nclient_id = \"sandbox-key\"\nclient_secret_env = \"RB_TEST_OR_SECRET\"\npage_size = 200\n", d.provider.v1p1_url()),
    );
    let rest = plan_of(&c);
    assert_eq!(rest.roster, d.csv.roster);
    assert_eq!(rest.plan.desired, d.csv.plan.desired);
    assert_eq!(rest.plan.summary, d.csv.plan.summary);
    let counts = source::check_source(&c).unwrap();
    assert_eq!(
        counts.iter().find(|(c, _)| c == "users").unwrap().1,
        Some(d.csv.roster.users as u64)
    );

    std::env::set_var("RB_TEST_OR2_SECRET", "sandbox-client-secret");
    let c = config(
        d.dir.path(),
        &format!(
            "[source]\nkind = \"oneroster-rest\"\nbase_url = \"{}\"\nversion = \"1.2\"\nclient_id = \"sandbox-client\"\nclient_secret_env = \"RB_TEST_OR2_SECRET\"\ntoken_url = \"{}\"\n",
            d.provider.v1p2_url(),
            d.provider.token_url()
        ),
    );
    let rest12 = plan_of(&c);
    assert_eq!(rest12.roster, d.csv.roster);
    assert_eq!(rest12.plan.desired, d.csv.plan.desired);
}

#[test]
fn clever_and_generic_csv_plan_the_same_people_classes_and_enrollments() {
    let d = district();
    std::env::set_var("RB_TEST_CLEVER", "sandbox-district-token");
    let clever = plan_of(&config(
        d.dir.path(),
        &format!(
            "[source]\nkind = \"clever\"\nbase_url = \"{}\"\ntoken_env = \"RB_TEST_CLEVER\"\n",
            d.provider.clever_url()
        ),
    ));
    assert_eq!(
        (
            clever.roster.users,
            clever.roster.classes,
            clever.roster.enrollments
        ),
        (
            d.csv.roster.users,
            d.csv.roster.classes,
            d.csv.roster.enrollments
        )
    );

    let sis = plan_of(&config(
        d.dir.path(),
        r#"[source]
kind = "sis-csv"
path = "district"
[source.tables]
schools = { file = "orgs.csv", id = "sourcedId", name = "name", type_column = "type", parent = "parentSourcedId" }
sessions = { file = "academicSessions.csv", id = "sourcedId", title = "title", start = "startDate", end = "endDate", type_column = "type", parent = "parentSourcedId", school_year = "schoolYear" }
courses = { file = "courses.csv", id = "sourcedId", title = "title", code = "courseCode", school = "orgSourcedId" }
classes = { file = "classes.csv", id = "sourcedId", title = "title", course = "courseSourcedId", school = "schoolSourcedId", terms = "termSourcedIds", code = "classCode" }
[[source.tables.people]]
file = "users.csv"
id = "sourcedId"
given_name = "givenName"
family_name = "familyName"
role_column = "role"
username = "username"
email = "email"
school = "orgSourcedIds"
children = "agentSourcedIds"
[[source.tables.enrollments]]
file = "enrollments.csv"
id = "sourcedId"
class = "classSourcedId"
person = "userSourcedId"
role_column = "role"
primary = "primary"
"#,
    ));
    assert_eq!(sis.roster, d.csv.roster);
    assert_eq!(sis.error_count(), 0);
}

#[test]
fn an_incremental_rest_run_after_an_apply_plans_no_changes() {
    let d = district();
    std::env::set_var("RB_TEST_OR_INC", "sandbox-secret");
    let c = config(
        d.dir.path(),
        &format!("[source]\nkind = \"oneroster-rest\"\nbase_url = \"{}\"\nversion = \"1.1\"\nclient_id = \"sandbox-key\"\nclient_secret_env = \"RB_TEST_OR_INC\"\nincremental = true\n", d.provider.v1p1_url()),
    );
    let mut store = rosterbridge_engine::open_store(&d.dir.path().join("state.db")).unwrap();
    let first = prepare(&c, &store, &Quiet).unwrap();
    let out = d.dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut sink = rosterbridge_sink::folder::FolderSink {
        out_dir: out.clone(),
    };
    apply(
        &c,
        &mut store,
        &first,
        &mut sink,
        ApplyOptions {
            allow_removals: true,
            ..Default::default()
        },
        &Quiet,
        "apply",
    )
    .unwrap();
    let saved = rosterbridge_state::StateStore::source_tables(&store).unwrap();
    assert!(saved
        .iter()
        .any(|t| t.file == rosterbridge_source_oneroster_rest::CURSOR_FILE));

    let before = d.provider.state.requests();
    let second = prepare(&c, &store, &Quiet).unwrap();
    assert!(second.plan.is_empty(), "{:?}", second.plan.summary);
    // One page per collection: nothing changed since the cursor.
    assert!(
        d.provider.state.requests() - before <= 6,
        "{} requests",
        d.provider.state.requests() - before
    );

    let renamed = d.provider.state.mutate(|data| {
        let id = data.roster.users[1].sourced_id.to_string();
        assert!(data.rename_user(&id, "Incremental"));
        id
    });
    let third = prepare(&c, &store, &Quiet).unwrap();
    assert_eq!(third.plan.changes.len(), 1, "{:?}", third.plan.summary);
    assert!(
        third
            .plan
            .changes_of(rosterbridge_model::Kind::Users)
            .count()
            == 1,
        "{renamed}"
    );
}

#[test]
fn a_missing_secret_names_the_variable() {
    let d = district();
    let c = config(
        d.dir.path(),
        &format!("[source]\nkind = \"oneroster-rest\"\nbase_url = \"{}\"\nversion = \"1.1\"\nclient_id = \"k\"\nclient_secret_env = \"RB_TEST_UNSET_SECRET\"\n", d.provider.v1p1_url()),
    );
    let store = open_memory_store().unwrap();
    let err = prepare(&c, &store, &Quiet).unwrap_err();
    assert!(
        err.to_string()
            .contains("RB_TEST_UNSET_SECRET (named by `source.client_secret_env`) is not set"),
        "{err}"
    );
}
