//! `[source]` for the network and generic-CSV kinds: valid examples (as in the README) and
//! located problems.

use rosterbridge_config::{Config, ConfigError, RestAuthConfig, SourceKind};
use std::path::Path;

const CANVAS: &str = "\n[canvas]\nurl = \"http://127.0.0.1:8089\"\naccount_id = 1\n";

fn parse(source: &str) -> Result<Config, Vec<rosterbridge_model::Diagnostic>> {
    Config::parse(&format!("{source}{CANVAS}"), Path::new("/etc/rb/sync.toml")).map_err(|e| match e
    {
        e @ ConfigError::Invalid { .. } => e.diagnostics(),
        e => panic!("{e}"),
    })
}

#[test]
fn oneroster_rest_with_oauth1_and_oauth2() {
    let c = parse(
        r#"[source]
kind = "oneroster-rest"
base_url = "https://sis.example.org/ims/oneroster/v1p1/"
version = "1.1"
client_id = "district-key"
client_secret_env = "ONEROSTER_SECRET"
incremental = true
"#,
    )
    .unwrap();
    assert_eq!(c.source.kind, SourceKind::OneRosterRest);
    let rest = c.source.rest.unwrap();
    assert_eq!(rest.base_url, "https://sis.example.org/ims/oneroster/v1p1");
    assert_eq!(
        rest.auth,
        RestAuthConfig::OAuth1 {
            consumer_key: "district-key".into(),
            secret_env: "ONEROSTER_SECRET".into()
        }
    );
    assert!(rest.incremental && rest.page_size == 1000 && rest.network.max_attempts == 5);

    let c = parse(
        r#"[source]
kind = "oneroster-rest"
base_url = "https://sis.example.org/ims/oneroster/rostering/v1p2"
version = "1.2"
client_id = "cid"
client_secret_env = "OR_CLIENT_SECRET"
token_url = "https://sis.example.org/oauth/token"
page_size = 5000
timeout_seconds = 30
"#,
    )
    .unwrap();
    let rest = c.source.rest.unwrap();
    assert!(
        matches!(rest.auth, RestAuthConfig::OAuth2 { ref token_url, .. } if token_url == "https://sis.example.org/oauth/token")
    );
    assert_eq!((rest.page_size, rest.network.timeout_seconds), (5000, 30));
}

#[test]
fn rest_problems_are_all_reported_with_locations() {
    let d = parse(
        r#"[source]
kind = "oneroster-rest"
base_url = "sis.example.org"
version = "1.2"
auth = "oauth1"
client_id = "cid"
client_secret_env = "s3cr3t value!"
path = "district"
page_size = 0
"#,
    )
    .unwrap_err();
    let fields: Vec<&str> = d
        .iter()
        .filter_map(|d| d.location.as_ref()?.field.as_deref())
        .collect();
    for key in [
        "source.base_url",
        "source.auth",
        "source.client_secret_env",
        "source.path",
        "source.page_size",
    ] {
        assert!(fields.contains(&key), "{key} not reported in {fields:?}");
    }
    let base = d
        .iter()
        .find(|x| x.location.as_ref().unwrap().field.as_deref() == Some("source.base_url"))
        .unwrap();
    assert_eq!(base.location.as_ref().unwrap().line, Some(3));
}

#[test]
fn clever_defaults_and_foreign_keys() {
    let c = parse("[source]\nkind = \"clever\"\nincremental = true\n").unwrap();
    let cl = c.source.clever.unwrap();
    assert_eq!(
        (cl.base_url.as_str(), cl.token_env.as_str()),
        ("https://api.clever.com/v3.0", "CLEVER_TOKEN")
    );
    assert!(cl.incremental);
    let d =
        parse("[source]\nkind = \"clever\"\nclient_id = \"x\"\npage_size = 20000\n").unwrap_err();
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(
        d[0].message
            .contains("`source.client_id` does not apply to kind \"clever\""),
        "{}",
        d[0].message
    );
    assert_eq!(d[0].location.as_ref().unwrap().line, Some(3));
}

#[test]
fn sis_csv_tables() {
    let c = parse(
        r#"[source]
kind = "sis-csv"
path = "export"

[source.tables]
date_format = "%d/%m/%Y"
school = { id = "main", name = "Main Campus" }
sessions = { file = "periods.csv", id = "PeriodID", title = "PeriodName", start = "From", end = "To", session_type = "semester" }
classes = { file = "groups.csv", id = "GroupID", title = "GroupName", course = "SubjectID", terms = "PeriodID" }
courses = { file = "subjects.csv", id = "SubjectID", title = "Subject" }

[[source.tables.people]]
file = "students.csv"
id = "StudentID"
given_name = "FirstName"
family_name = "LastName"
role = "student"

[[source.tables.people]]
file = "staff.csv"
id = "StaffID"
given_name = "First"
family_name = "Last"
role_column = "Position"
role_map = { Teacher = "teacher", Assistant = "aide" }

[[source.tables.guardians]]
file = "relations.csv"
guardian = "ParentID"
student = "StudentID"

[[source.tables.enrollments]]
file = "group_members.csv"
class = "GroupID"
person = "MemberID"
role_column = "Kind"
role_map = { S = "student", T = "teacher" }
"#,
    )
    .unwrap();
    assert_eq!(c.source.path, Path::new("/etc/rb/export"));
    let t = c.source.sis_csv.unwrap();
    assert_eq!(t.people.len(), 2);
    assert_eq!(t.people[1].role_map["Assistant"], "aide");

    let d = parse("[source]\nkind = \"sis-csv\"\npath = \"export\"\n").unwrap_err();
    assert!(d[0].message.contains("needs `[source.tables.*]`"), "{d:?}");
    let d = parse("[source]\nkind = \"sis-csv\"\npath = \"x\"\n[source.tables]\nsessions = { file = \"p.csv\", id = \"a\", title = \"b\", start = \"c\", end = \"d\" }\nclasses = { file = \"g.csv\", id = \"a\", title = \"b\", terms = \"c\" }\n[[source.tables.people]]\nfile = \"s.csv\"\nid = \"a\"\ngiven_name = \"b\"\nfamily_name = \"c\"\n").unwrap_err();
    let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert!(
        msgs.iter().any(|m| m.contains("exactly one of `role`"))
            && msgs.iter().any(|m| m.contains("neither `schools`")),
        "{msgs:?}"
    );
}
