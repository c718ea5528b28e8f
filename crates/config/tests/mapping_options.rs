//! The mapping configuration: profiles, actions, matching, field mappings, terms, accounts,
//! enrollments and scope, each validated with its location in the file.

use chrono::NaiveDate;
use rosterbridge_config::fields::{ClassProp, FieldValue, Part, UserField, UserProp};
use rosterbridge_config::*;
use rosterbridge_model::kind::Kind;
use std::path::Path;

const MINIMAL: &str = "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"http://127.0.0.1:8089\"\naccount_id = 1\n";

fn parse(extra: &str) -> Result<Config, Vec<rosterbridge_model::Diagnostic>> {
    Config::parse(&format!("{MINIMAL}{extra}"), Path::new("/etc/rb/sync.toml"))
        .map_err(|e| e.diagnostics())
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn the_example_configuration_parses_and_sets_every_section() {
    let c = Config::parse(example::EXAMPLE, Path::new("/etc/rb/rosterbridge.toml"))
        .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics()));
    assert_eq!(c.profiles.len(), 2);
    assert_eq!(c.profiles[1].course_template, CourseTemplate::PeriodSubject);
    assert!(!c.profiles[1].enabled);
    assert_eq!(
        (c.profiles[0].blackout.len(), c.profiles[0].add_only.len()),
        (1, 1),
        "the example shows a profile's rollover windows"
    );
    assert!(!c
        .mapping
        .actions
        .allows(Kind::Users, Some(RoleClass::Teacher), EntityAction::Create));
    assert!(c
        .mapping
        .actions
        .allows(Kind::Users, Some(RoleClass::Student), EntityAction::Create));
    assert!(!c
        .mapping
        .actions
        .allows(Kind::Users, Some(RoleClass::Parent), EntityAction::Update));
    assert!(!c
        .mapping
        .actions
        .allows(Kind::Courses, None, EntityAction::Deactivate));
    assert_eq!(c.mapping.fields.users.len(), 4);
    assert_eq!(
        c.mapping.enrollments.custom_roles(),
        vec!["Mentor".to_string()]
    );
    assert_eq!(
        c.mapping.matching.users,
        Some(vec![MatchKey::SisId, MatchKey::Login, MatchKey::Email])
    );
    assert_eq!(
        c.canvas.match_users,
        vec![UserMatchKey::Login, UserMatchKey::Email]
    );
}

#[test]
fn the_minimal_configuration_keeps_todays_defaults() {
    let c = parse("").unwrap();
    assert!(c.profiles.is_empty());
    assert!(c.mapping.actions.is_default());
    assert!(c.mapping.fields.is_empty());
    assert!(c.mapping.accounts.is_default());
    assert!(c.mapping.scope.is_empty());
    assert_eq!(c.mapping.terms, TermSource::Sessions);
    assert!(c.mapping.enrollments.sync_users_without_enrollments);
    assert_eq!(
        c.profile_for(d("2026-09-01")).unwrap(),
        ProfileChoice::NoProfiles
    );
}

const TWO: &str = "\n[[profiles]]\nname = \"a\"\nstart = 2026-08-01\nend = 2027-07-31\n\n[[profiles]]\nname = \"b\"\nstart = \"2027-07-01\"\nend = 2028-07-31\n";

#[test]
fn overlapping_profiles_are_an_error_naming_both() {
    let p = parse(TWO).unwrap_err();
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].message.contains("\"a\"")
            && p[0].message.contains("\"b\"")
            && p[0].message.contains("overlap"),
        "{}",
        p[0].message
    );
    assert_eq!(p[0].location.as_ref().unwrap().line, Some(15));
    // Disabling one of them resolves it.
    let c = parse(&format!("{TWO}enabled = false\n")).unwrap();
    assert_eq!(c.profiles.len(), 2);
}

#[test]
fn the_profile_whose_window_contains_today_is_used_or_the_named_one_or_none() {
    let text = TWO.replace("\"2027-07-01\"", "2027-08-01");
    let c = parse(&text).unwrap();
    match c.profile_for(d("2027-09-01")).unwrap() {
        ProfileChoice::Active(p) => assert_eq!(p.name, "b"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.profile_for(d("2029-01-01")).unwrap(),
        ProfileChoice::NoneActive {
            today: d("2029-01-01")
        }
    );
    let msg = profiles::none_active_message(&c.profiles, d("2029-01-01"));
    assert!(
        msg.contains("nothing to do") && msg.contains("a 2026-08-01..2027-07-31"),
        "{msg}"
    );
    let mut named = c.clone();
    named.requested_profile = Some("a".into());
    assert!(
        matches!(named.profile_for(d("2029-01-01")).unwrap(), ProfileChoice::Active(p) if p.name == "a")
    );
    named.requested_profile = Some("zzz".into());
    assert!(named
        .profile_for(d("2029-01-01"))
        .unwrap_err()
        .to_string()
        .contains("a, b"));
}

#[test]
fn a_bad_template_and_an_unknown_property_list_the_valid_ones_all_at_once() {
    let p = parse(
        "\n[mapping.fields.users]\nfull_name = \"{givenName} {nickName}\"\nlogin_id = { property = \"mail\" }\n\n[mapping.fields.courses]\nshort_name = { static = \"\" }\ncolour = \"{title}\"\n",
    )
    .unwrap_err();
    let fields: Vec<String> = p
        .iter()
        .map(|d| d.location.as_ref().unwrap().field.clone().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "mapping.fields.users.full_name",
            "mapping.fields.users.login_id",
            "mapping.fields.courses.short_name",
            "mapping.fields.courses.colour"
        ],
        "{p:#?}"
    );
    assert!(
        p[0].message.contains("nickName") && p[0].hint.as_deref().unwrap().contains("middleName"),
        "{:?}",
        p[0]
    );
    assert!(p[1].message.contains("mail") && p[1].hint.as_deref().unwrap().contains("email"));
    assert!(p[3].hint.as_deref().unwrap().contains("long_name"));
    assert!(p[2].message.contains("required"));
    assert_eq!(p[0].location.as_ref().unwrap().line, Some(10));
}

#[test]
fn field_mappings_compile_to_properties() {
    let c = parse("\n[mapping.fields.users]\nlogin_id = { property = \"email\", case = \"lower\" }\n[mapping.fields.courses]\nlong_name = \"{courseTitle} - {termTitle}\"\n").unwrap();
    let login = c.mapping.fields.user(UserField::LoginId).unwrap();
    assert_eq!(
        login.value,
        FieldValue::Template(fields::Template {
            parts: vec![Part::Prop(UserProp::Email)]
        })
    );
    assert_eq!(login.case, fields::Case::Lower);
    let FieldValue::Template(t) = &c.mapping.fields.courses[0].value else {
        panic!()
    };
    assert_eq!(
        t.parts,
        vec![
            Part::Prop(ClassProp::CourseTitle),
            Part::Lit(" - ".into()),
            Part::Prop(ClassProp::TermTitle)
        ]
    );
}

#[test]
fn actions_matching_enrollments_accounts_and_scope_are_checked() {
    let p = parse(
        "\n[mapping.actions]\nusers = { student = [\"create\"], pupil = [\"update\"] }\ncourses = [\"archive\"]\nrooms = []\n\n[mapping.match]\nusers = [\"login\"]\ncourses = [\"name\"]\n\n[mapping.enrollments]\nroles = { teacher = \"teacher\", janitor = \"ta\" }\nsync_start = \"next week\"\n\n[mapping.accounts]\nlevels = [\"school\", \"streams\"]\n\n[mapping.scope]\nroles = [\"wizard\"]\n",
    )
    .unwrap_err();
    let fields: Vec<String> = p
        .iter()
        .map(|d| d.location.as_ref().unwrap().field.clone().unwrap())
        .collect();
    for want in [
        "mapping.actions.users.pupil",
        "mapping.actions.courses",
        "mapping.actions.rooms",
        "mapping.match.users",
        "mapping.match.courses",
        "mapping.enrollments.roles.janitor",
        "mapping.enrollments.sync_start",
        "mapping.accounts.levels",
        "mapping.scope.roles",
    ] {
        assert!(
            fields.contains(&want.to_string()),
            "{want} missing from {fields:?}"
        );
    }
    assert!(
        p.iter()
            .all(|d| d.location.as_ref().unwrap().line.is_some()),
        "{p:#?}"
    );
}

#[test]
fn match_users_in_both_places_is_refused() {
    let text = MINIMAL.replace(
        "account_id = 1\n",
        "account_id = 1\nmatch_users = [\"login\"]\n",
    ) + "\n[mapping.match]\nusers = [\"sis_id\", \"email\"]\n";
    let e = Config::parse(&text, Path::new("x.toml"))
        .unwrap_err()
        .diagnostics();
    assert_eq!(
        e[0].location.as_ref().unwrap().field.as_deref(),
        Some("canvas.match_users")
    );
    let c = parse("\n[mapping.match]\nusers = [\"sis_id\", \"email\"]\n").unwrap();
    assert_eq!(c.canvas.match_users, vec![UserMatchKey::Email]);
}

#[test]
fn a_profile_copy_renders_as_a_table_that_parses_back() {
    let c = parse(TWO.split("\n[[profiles]]\nname = \"b\"").next().unwrap()).unwrap();
    let mut copy = c.profiles[0].clone();
    copy.name = "next \"year\"".into();
    copy.start = d("2027-08-01");
    copy.end = d("2028-07-31");
    let c2 = parse(&format!(
        "{}\n{}",
        TWO.split("\n[[profiles]]\nname = \"b\"").next().unwrap(),
        copy.to_toml()
    ))
    .unwrap();
    assert_eq!(c2.profiles[1].name, "next \"year\"");
    assert_eq!(c2.profiles[1].start, d("2027-08-01"));
}

#[test]
fn matching_users_by_integration_id_needs_the_integration_id_mapped() {
    let p = parse("\n[mapping.match]\nusers = [\"sis_id\", \"integration_id\"]\n").unwrap_err();
    assert!(p[0].message.contains("integration_id"), "{p:?}");
    let c = parse("\n[mapping.match]\nusers = [\"sis_id\", \"integration_id\"]\n[mapping.fields.users]\nintegration_id = { property = \"identifier\" }\n").unwrap();
    assert_eq!(c.canvas.match_users, vec![UserMatchKey::IntegrationId]);
}

const WINDOWS: &str = "\n[[safety.blackout]]\nstart = 2027-12-24\nend = 2027-12-26\n\n\
[[profiles]]\nname = \"2026-27\"\nstart = 2026-08-01\nend = 2027-07-31\n\n\
[[profiles.blackout]]\nstart = 2027-06-12\nend = 2027-06-20\nreason = \"year-end close\"\n\n\
[[profiles.add_only]]\nstart = 2027-06-21\nend = 2027-07-31\n\n\
[[profiles]]\nname = \"2027-28\"\nstart = 2027-08-01\nend = 2028-07-31\n";

#[test]
fn a_profiles_rollover_windows_join_the_safety_ones_for_its_runs_only_and_name_it() {
    let c = parse(WINDOWS).unwrap_or_else(|e| panic!("{e:#?}"));
    let (a, b) = (&c.profiles[0], &c.profiles[1]);
    assert_eq!(
        (a.blackout.len(), a.add_only.len(), b.blackout.len()),
        (1, 1, 0)
    );
    let rules = c.safety.rules.for_profile(Some(a));
    let shown: Vec<String> = rules.blackout.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        shown,
        [
            "2027-12-24..2027-12-26",
            "2027-06-12..2027-06-20 (year-end close, profile 2026-27)"
        ]
    );
    assert_eq!(
        rules.add_only[0].to_string(),
        "2027-06-21..2027-07-31 (profile 2026-27)"
    );
    let other = c.safety.rules.for_profile(Some(b));
    assert_eq!(
        (other.blackout.len(), other.add_only.len()),
        (1, 0),
        "the other profile keeps only the [safety] windows"
    );
    assert_eq!(c.safety.rules.for_profile(None), c.safety.rules);
}

#[test]
fn a_profile_window_with_bad_dates_is_reported_where_it_is_written() {
    let bad = WINDOWS
        .replace(
            "start = 2027-06-21\nend = 2027-07-31",
            "start = \"June\"\nend = 2027-07-31",
        )
        .replace(
            "start = 2027-06-12\nend = 2027-06-20",
            "start = 2027-06-20\nend = 2027-06-12",
        );
    let p = parse(&bad).unwrap_err();
    let fields: Vec<String> = p
        .iter()
        .filter_map(|d| d.location.as_ref().and_then(|l| l.field.clone()))
        .collect();
    assert!(
        fields.iter().any(|f| f == "profiles[0].add_only.start"),
        "{p:#?}"
    );
    assert!(
        fields.iter().any(|f| f == "profiles[0].blackout.end"),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .all(|d| d.location.as_ref().and_then(|l| l.line).is_some()),
        "every problem has its line: {p:#?}"
    );
}

#[test]
fn a_copied_profile_keeps_the_windows_inside_its_new_window_and_the_toml_round_trips() {
    let c = parse(WINDOWS).unwrap();
    let (copy, dropped) = c.profiles[0].copy_as("2027-28 summer", d("2027-06-01"), d("2027-06-30"));
    assert_eq!(
        copy.blackout.len(),
        1,
        "June's blackout lies inside the new window"
    );
    assert!(copy.add_only.is_empty());
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].to_string(), "2027-06-21..2027-07-31");
    // The copy written back parses to the same profile (the CLI appends it to the file).
    let text = format!("{MINIMAL}\n{}", copy.to_toml());
    let again = Config::parse(&text, Path::new("/etc/rb/sync.toml"))
        .unwrap_or_else(|e| panic!("{:#?}\n{text}", e.diagnostics()));
    assert_eq!(again.profiles[0].blackout, copy.blackout);
    assert_eq!(again.profiles[0].name, "2027-28 summer");
}

#[test]
fn courses_and_sections_match_by_name_and_accounts_by_external_id_and_other_keys_are_refused_with_the_list(
) {
    let c = parse("\n[mapping.match]\naccounts = [\"sis_id\", \"external_id\"]\ncourses = [\"sis_id\", \"name\"]\nsections = [\"sis_id\", \"name\", \"integration_id\"]\n").unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(
        c.mapping.matching.of(Kind::Accounts),
        [MatchKey::SisId, MatchKey::ExternalId]
    );
    assert_eq!(
        c.mapping.matching.of(Kind::Courses),
        [MatchKey::SisId, MatchKey::Name]
    );
    assert_eq!(
        c.mapping.matching.of(Kind::Sections),
        [MatchKey::SisId, MatchKey::Name, MatchKey::IntegrationId]
    );
    assert_eq!(
        parse("").unwrap().mapping.matching.of(Kind::Courses),
        [MatchKey::SisId],
        "SIS id only by default"
    );
    let p = parse("\n[mapping.match]\ncourses = [\"sis_id\", \"login\"]\nsections = [\"sis_id\", \"title\"]\n").unwrap_err();
    assert_eq!(p.len(), 2, "{p:#?}");
    let all = format!("{p:?}");
    assert!(
        all.contains("courses cannot be matched by \\\"login\\\"")
            && all.contains("sis_id, name, integration_id"),
        "{all}"
    );
    assert!(
        all.contains("\\\"title\\\" is not a matching property") && all.contains("external_id"),
        "{all}"
    );
}

#[test]
fn the_stream_level_is_named_after_a_class_property_checked_against_the_list() {
    let c =
        parse("\n[mapping.accounts]\nlevels = [\"school\", \"stream\"]\nstream = \"classCode\"\n")
            .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(
        c.mapping.accounts.levels,
        [AccountLevel::School, AccountLevel::Stream]
    );
    assert_eq!(c.mapping.accounts.stream, ClassProp::ClassCode);
    let p = parse("\n[mapping.accounts]\nlevels = [\"school\", \"stream\"]\nstream = \"house\"\n")
        .unwrap_err();
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(
        p[0].message.contains("\"house\" is not a class property"),
        "{}",
        p[0].message
    );
    assert!(
        format!("{p:?}").contains("subjects"),
        "lists the valid ones: {p:?}"
    );
}
