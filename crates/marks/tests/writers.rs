//! The marks writers against real parts: the sandbox SIS provider over HTTP (OneRoster 1.1
//! with OAuth 1.0a, 1.2 with OAuth 2) and real files.

use rosterbridge_config::{
    GradeChoice, GradebookConfig, MarkType, MarksConfig, MarksTarget, RestAuthConfig, ScaleBand,
    ScaleConfig,
};
use rosterbridge_marks::oneroster::{GradebookWriter, Outcome};
use rosterbridge_marks::{plan, CanvasGrade, ManagedClass, MarkPlan, PlanInput};
use rosterbridge_model::roster::Roster;
use rosterbridge_sandbox_roster::{generate_roster, ProviderConfig, RunningProvider};
use rosterbridge_source_http::Secret;
use std::collections::BTreeMap;

fn settings(mark_type: MarkType) -> MarksConfig {
    MarksConfig {
        enabled: true,
        mark_type,
        grade: GradeChoice::Final,
        scale: ScaleConfig::Bands(vec![
            ScaleBand {
                name: "Pass".into(),
                min: 50.0,
            },
            ScaleBand {
                name: "Fail".into(),
                min: 0.0,
            },
        ]),
        classes: Vec::new(),
        mark_period: "gp-s1".into(),
        canvas_grading_period_id: None,
        target: MarksTarget::Csv {
            dir: "unused".into(),
        },
        line_item_title: "Final mark".into(),
        category: "final-marks".into(),
        csv_version: "1.1".into(),
    }
}

/// The first two classes of the roster with their students, each given a final score.
fn grades(
    roster: &Roster,
    scores: &mut dyn FnMut(usize) -> f64,
) -> (Vec<ManagedClass>, Vec<CanvasGrade>) {
    let classes: Vec<ManagedClass> = roster
        .classes
        .iter()
        .take(2)
        .map(|c| ManagedClass {
            class: c.sourced_id.as_str().to_string(),
            school: Some("school".into()),
        })
        .collect();
    let mut out = Vec::new();
    for e in &roster.enrollments {
        let class = roster.classes[e.class as usize].sourced_id.as_str();
        if e.role.as_str() == "student" && classes.iter().any(|c| c.class == class) {
            let score = scores(out.len());
            out.push(CanvasGrade {
                class: class.to_string(),
                student: Some(
                    roster.users[e.user as usize]
                        .sourced_id
                        .as_str()
                        .to_string(),
                ),
                canvas_user_id: out.len() as u64,
                canvas_enrollment_id: out.len() as u64,
                from_sis: true,
                final_score: Some(score),
                ..CanvasGrade::default()
            });
        }
    }
    assert!(out.len() >= 3, "the generated classes have students");
    (classes, out)
}

fn make_plan(
    s: &MarksConfig,
    classes: &[ManagedClass],
    grades: &[CanvasGrade],
    previous: &BTreeMap<String, String>,
) -> MarkPlan {
    plan(&PlanInput {
        settings: s,
        classes,
        grades,
        previous,
    })
}

fn v1p1(p: &RunningProvider) -> GradebookConfig {
    GradebookConfig {
        base_url: p.v1p1_url(),
        version: "1.1".into(),
        auth: RestAuthConfig::OAuth1 {
            consumer_key: "sandbox-key".into(),
            secret_env: "UNUSED".into(),
        },
        timeout_seconds: 10,
        max_attempts: 2,
    }
}

fn v1p2(p: &RunningProvider) -> GradebookConfig {
    GradebookConfig {
        base_url: format!("{}/ims/oneroster/gradebook/v1p2", p.base_url),
        version: "1.2".into(),
        auth: RestAuthConfig::OAuth2 {
            token_url: p.token_url(),
            client_id: "sandbox-client".into(),
            secret_env: "UNUSED".into(),
            scopes: None,
            credentials_in_body: false,
        },
        timeout_seconds: 10,
        max_attempts: 2,
    }
}

fn statuses(t: &[rosterbridge_marks::oneroster::Transfer]) -> Vec<u16> {
    t.iter()
        .map(|t| match &t.outcome {
            Outcome::Sent { status } => *status,
            Outcome::Rejected { message } => panic!("rejected: {message}"),
        })
        .collect()
}

#[test]
fn numeric_marks_go_to_a_oneroster_1_1_provider_and_a_rerun_replaces_them_without_duplicates() {
    let roster = generate_roster(40, 11).unwrap();
    let (classes, grades) = grades(&roster, &mut |i| 60.0 + i as f64);
    let provider = RunningProvider::start(roster, ProviderConfig::default()).unwrap();
    let s = settings(MarkType::Numeric);
    let p = make_plan(&s, &classes, &grades, &BTreeMap::new());
    let writer = GradebookWriter::new(
        &v1p1(&provider),
        Secret::new("sandbox-secret"),
        "test".into(),
    )
    .unwrap();
    let first = writer.push(&p, "2026-12-02", "2026-12-02T10:00:00Z");
    assert_eq!(first.len(), grades.len());
    assert!(
        statuses(&first).iter().all(|s| *s == 201),
        "every result is created"
    );
    let gb = provider.state.gradebook();
    assert_eq!(
        (gb.categories.len(), gb.line_items.len(), gb.results.len()),
        (1, 2, grades.len())
    );
    let li = &gb.line_items[&p.line_items[0].sourced_id];
    assert_eq!(li["gradingPeriod"]["sourcedId"], "gp-s1");
    assert_eq!(li["class"]["sourcedId"], p.line_items[0].class.as_str());
    let r = &gb.results[&p.marks[0].result_id];
    assert_eq!(r["score"].as_f64(), p.marks[0].score);
    assert_eq!(r["student"]["sourcedId"], p.marks[0].student.as_str());
    assert_eq!(r["scoreStatus"], "fully graded");

    // Rerun with changed scores: the same sourcedIds are replaced (200), nothing is added.
    let (_, changed) = grades_again(&provider, &mut |i| 70.5 + i as f64);
    let p2 = make_plan(&s, &classes, &changed, &BTreeMap::new());
    let second = writer.push(&p2, "2026-12-03", "2026-12-03T10:00:00Z");
    assert!(
        statuses(&second).iter().all(|s| *s == 200),
        "every result is replaced"
    );
    let gb = provider.state.gradebook();
    assert_eq!(
        (gb.line_items.len(), gb.results.len()),
        (2, grades.len()),
        "no duplicates"
    );
    assert_eq!(
        gb.results[&p.marks[0].result_id]["score"].as_f64(),
        p2.marks[0].score
    );
}

/// The same roster's grades with other scores (the provider holds the roster now).
fn grades_again(
    provider: &RunningProvider,
    scores: &mut dyn FnMut(usize) -> f64,
) -> (Vec<ManagedClass>, Vec<CanvasGrade>) {
    let data = provider.state.data.read().unwrap();
    grades(&data.roster, scores)
}

#[test]
fn literal_marks_over_oneroster_1_2_carry_text_score_and_a_refused_student_is_rejected_alone() {
    let roster = generate_roster(40, 12).unwrap();
    let (classes, grades) = grades(&roster, &mut |i| if i % 2 == 0 { 75.0 } else { 20.0 });
    let provider = RunningProvider::start(roster, ProviderConfig::default()).unwrap();
    let refused = grades[1].student.clone().unwrap();
    provider.state.reject_results_for(&refused, "record locked");
    let s = settings(MarkType::Literal);
    let p = make_plan(&s, &classes, &grades, &BTreeMap::new());
    let writer = GradebookWriter::new(
        &v1p2(&provider),
        Secret::new("sandbox-client-secret"),
        "test".into(),
    )
    .unwrap();
    let transfers = writer.push(&p, "2026-12-02", "2026-12-02T10:00:00Z");
    assert_eq!(transfers.len(), grades.len());
    let rejected: Vec<_> = transfers
        .iter()
        .filter(|t| matches!(t.outcome, Outcome::Rejected { .. }))
        .collect();
    let refused_marks = p.marks.iter().filter(|m| m.student == refused).count();
    assert_eq!(
        rejected.len(),
        refused_marks,
        "only the refused student's results fail (one per class)"
    );
    for r in &rejected {
        assert_eq!(
            p.marks
                .iter()
                .find(|m| m.result_id == r.result_id)
                .unwrap()
                .student,
            refused
        );
    }
    let Outcome::Rejected { message } = &rejected[0].outcome else {
        unreachable!()
    };
    assert!(
        message.contains("422") && message.contains("record locked"),
        "{message}"
    );
    let gb = provider.state.gradebook();
    assert_eq!(gb.results.len(), grades.len() - refused_marks);
    let sent = p.marks.iter().find(|m| m.student != refused).unwrap();
    let r = &gb.results[&sent.result_id];
    assert_eq!(r["textScore"], sent.text.as_deref().unwrap());
    assert!(["Pass", "Fail"].contains(&r["textScore"].as_str().unwrap()));
    assert_eq!(r["class"]["sourcedId"], sent.class.as_str());
    let li = &gb.line_items[&sent.line_item_id];
    assert_eq!(
        (
            li["academicSession"]["sourcedId"].as_str(),
            li["school"]["sourcedId"].as_str()
        ),
        (Some("gp-s1"), Some("school"))
    );
}

#[test]
fn a_wrong_secret_stops_the_push_and_every_mark_is_rejected_with_the_reason() {
    let roster = generate_roster(30, 13).unwrap();
    let (classes, grades) = grades(&roster, &mut |_| 80.0);
    let provider = RunningProvider::start(roster, ProviderConfig::default()).unwrap();
    let p = make_plan(
        &settings(MarkType::Numeric),
        &classes,
        &grades,
        &BTreeMap::new(),
    );
    let writer = GradebookWriter::new(
        &v1p1(&provider),
        Secret::new("not-the-secret"),
        "$TEST_SECRET".into(),
    )
    .unwrap();
    let transfers = writer.push(&p, "2026-12-02", "2026-12-02T10:00:00Z");
    assert_eq!(transfers.len(), grades.len());
    for t in &transfers {
        let Outcome::Rejected { message } = &t.outcome else {
            panic!("sent with a wrong secret")
        };
        assert!(
            message.contains("401")
                && message.contains("$TEST_SECRET")
                && !message.contains("not-the-secret"),
            "{message}"
        );
    }
    assert!(provider.state.gradebook().results.is_empty());
}

#[test]
fn csv_export_writes_a_oneroster_gradebook_package_in_1_1_or_1_2_columns() {
    let roster = generate_roster(30, 14).unwrap();
    let (classes, mut grades) = grades(&roster, &mut |i| 50.0 + i as f64);
    grades[0].final_score = None; // skipped: no grade
    let s = settings(MarkType::Literal);
    let p = make_plan(&s, &classes, &grades, &BTreeMap::new());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v11");
    let export = rosterbridge_marks::csv_export::write(&p, &out, "1.1", "2026-12-02").unwrap();
    assert_eq!(export.results.len(), grades.len() - 1);
    let read = |path: &std::path::Path| -> (Vec<String>, Vec<Vec<String>>) {
        let mut r = csv::Reader::from_path(path).unwrap();
        let h = r.headers().unwrap().iter().map(str::to_string).collect();
        (
            h,
            r.records()
                .map(|x| x.unwrap().iter().map(str::to_string).collect())
                .collect(),
        )
    };
    let (h, rows) = read(&out.join("results.csv"));
    assert_eq!(
        h,
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "lineItemSourcedId",
            "studentSourcedId",
            "scoreStatus",
            "score",
            "scoreDate",
            "comment"
        ]
    );
    assert_eq!(rows.len(), grades.len() - 1);
    let m = p.marks.iter().find(|m| m.result_id == rows[0][0]).unwrap();
    assert_eq!(
        (
            rows[0][4].as_str(),
            rows[0][6].as_str(),
            rows[0][8].as_str()
        ),
        (
            m.student.as_str(),
            rosterbridge_marks::fmt_score(m.score.unwrap()).as_str(),
            m.text.as_deref().unwrap()
        )
    );
    let (h, rows) = read(&out.join("lineItems.csv"));
    assert_eq!(h[9], "gradingPeriodSourcedId");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][9], "gp-s1");
    let (_, manifest) = read(&out.join("manifest.csv"));
    assert!(manifest.contains(&vec!["file.results".to_string(), "bulk".to_string()]));
    assert!(manifest.contains(&vec!["file.users".to_string(), "absent".to_string()]));

    let out12 = dir.path().join("v12");
    rosterbridge_marks::csv_export::write(&p, &out12, "1.2", "2026-12-02").unwrap();
    let (h, rows) = read(&out12.join("results.csv"));
    assert_eq!(h[9], "textScore");
    assert_eq!(rows[0][9], m.text.as_deref().unwrap());
    assert_eq!(
        read(&out12.join("lineItems.csv")).0[9],
        "academicSessionSourcedId"
    );

    // Reproducible: the same plan and date give the same bytes.
    let again = dir.path().join("again");
    rosterbridge_marks::csv_export::write(&p, &again, "1.1", "2026-12-02").unwrap();
    for f in [
        "manifest.csv",
        "categories.csv",
        "lineItems.csv",
        "results.csv",
    ] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f}"
        );
    }
}
