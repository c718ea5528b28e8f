//! The `[marks]` table.

use rosterbridge_config::{
    Config, ConfigError, GradeChoice, MarkType, MarksTarget, RestAuthConfig, ScaleBand, ScaleConfig,
};
use std::path::Path;

const CSV_SOURCE: &str = "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"http://127.0.0.1:8089\"\naccount_id = 1\n";
const REST_12: &str = "[source]\nkind = \"oneroster-rest\"\nbase_url = \"https://sis.example.org/t1/ims/oneroster/rostering/v1p2\"\nversion = \"1.2\"\nclient_id = \"c\"\nclient_secret_env = \"OR_SECRET\"\ntoken_url = \"https://sis.example.org/oauth/token\"\n\n[canvas]\nurl = \"http://127.0.0.1:8089\"\naccount_id = 1\n";

fn parse(text: &str) -> Result<Config, Vec<rosterbridge_model::Diagnostic>> {
    match Config::parse(text, Path::new("/etc/rb/sync.toml")) {
        Ok(c) => Ok(c),
        Err(e @ ConfigError::Invalid { .. }) => Err(e.diagnostics()),
        Err(e) => panic!("unexpected {e}"),
    }
}

fn problems(text: &str) -> Vec<String> {
    parse(text)
        .expect_err("expected problems")
        .iter()
        .map(|d| {
            format!(
                "{} @{:?}:{:?} {:?}",
                d.message,
                d.location.as_ref().and_then(|l| l.line),
                d.location.as_ref().and_then(|l| l.field.clone()),
                d.value
            )
        })
        .collect()
}

#[test]
fn marks_are_off_by_default_and_defaults_are_documented_ones() {
    let c = parse(CSV_SOURCE).unwrap();
    assert!(!c.marks.enabled);
    assert_eq!(
        (c.marks.mark_type, c.marks.grade, &c.marks.scale),
        (MarkType::Numeric, GradeChoice::Final, &ScaleConfig::Canvas)
    );
    assert_eq!(
        c.marks.target,
        MarksTarget::Csv {
            dir: "/etc/rb/marks-export".into()
        },
        "a CSV source's marks go to files"
    );
    assert_eq!(
        (
            c.marks.line_item_title.as_str(),
            c.marks.category.as_str(),
            c.marks.csv_version.as_str()
        ),
        ("Final mark", "rosterbridge-final-marks", "1.1")
    );
    assert!(c.marks.classes.is_empty() && c.marks.class_selected("anything"));
}

#[test]
fn a_full_marks_table_is_read_and_a_oneroster_source_is_the_default_target() {
    let text = format!(
        "{REST_12}\n[marks]\nenabled = true\ntype = \"literal\"\ngrade = \"current\"\nmark_period = \"gp-1\"\ncanvas_grading_period_id = 7\nclasses = [\"cls-001\", \"MATH-*\"]\nscale = [{{ name = \"F\", min = 0 }}, {{ name = \"A\", min = 89.5 }}, {{ name = \"B\", min = 80 }}]\nline_item_title = \"Term mark\"\ncategory = \"term\"\n"
    );
    let c = parse(&text).unwrap();
    let m = &c.marks;
    assert!(m.enabled);
    assert_eq!(
        (
            m.mark_type,
            m.grade,
            m.mark_period.as_str(),
            m.canvas_grading_period_id
        ),
        (MarkType::Literal, GradeChoice::Current, "gp-1", Some(7))
    );
    assert_eq!(
        m.scale,
        ScaleConfig::Bands(vec![
            ScaleBand {
                name: "A".into(),
                min: 89.5
            },
            ScaleBand {
                name: "B".into(),
                min: 80.0
            },
            ScaleBand {
                name: "F".into(),
                min: 0.0
            }
        ]),
        "bands sorted highest first"
    );
    assert!(
        m.class_selected("cls-001")
            && m.class_selected("MATH-7")
            && !m.class_selected("cls-0011")
            && !m.class_selected("SCI-1")
    );
    let MarksTarget::OneRoster(g) = &m.target else {
        panic!("{:?}", m.target)
    };
    assert_eq!(
        g.base_url, "https://sis.example.org/t1/ims/oneroster/gradebook/v1p2",
        "1.2's gradebook service sits beside rostering"
    );
    assert_eq!(g.version, "1.2");
    assert!(
        matches!(&g.auth, RestAuthConfig::OAuth2 { secret_env, .. } if secret_env == "OR_SECRET")
    );
}

#[test]
fn bad_marks_values_are_all_reported_with_their_key() {
    let text = format!("{CSV_SOURCE}\n[marks]\nenabled = true\ntype = \"letters\"\ngrade = \"best\"\nscale = [{{ name = \"A\", min = 90 }}, {{ name = \"B\", min = 90 }}]\ntarget = \"oneroster\"\ncanvas_grading_period_id = 0\ncsv_version = \"2.0\"\n");
    let p = problems(&text);
    let has = |needle: &str| {
        assert!(
            p.iter().any(|x| x.contains(needle)),
            "no {needle:?} in {p:#?}"
        )
    };
    has("`marks.type` must be \"numeric\" or \"literal\"");
    has("`marks.grade` must be \"final\" or \"current\"");
    has("two bands of `marks.scale` have the same `min`");
    has("`marks.scale` must have a band with min = 0");
    has("needs a OneRoster REST source");
    has("`marks.canvas_grading_period_id` must be a positive Canvas id");
    has("`marks.csv_version` must be");
    has("marks syncing needs `marks.mark_period`");
    assert!(
        p.iter()
            .any(|x| x.contains("marks.type") && x.contains("@Some(11)")),
        "located at its line: {p:#?}"
    );
}

#[test]
fn scale_shapes_and_unknown_keys_are_refused() {
    let p = problems(&format!(
        "{CSV_SOURCE}\n[marks]\ntype = \"literal\"\nscale = \"letters\"\n"
    ));
    assert!(
        p.iter()
            .any(|x| x.contains("must be \"canvas\" or a list of bands")),
        "{p:#?}"
    );
    let p = problems(&format!("{CSV_SOURCE}\n[marks]\ntype = \"literal\"\nscale = [{{ name = \"A\", min = 90, max = 100 }}]\n"));
    assert!(
        p.iter()
            .any(|x| x.contains("needs a non-empty `name` and a number `min`")),
        "{p:#?}"
    );
    let p = problems(&format!("{CSV_SOURCE}\n[marks]\nscale = \"canvas\"\n"));
    assert!(
        p.iter()
            .any(|x| x.contains("only used with type = \"literal\"")),
        "{p:#?}"
    );
    let p = problems(&format!("{CSV_SOURCE}\n[marks]\nmark_periods = \"x\"\n"));
    assert!(
        p.iter().any(|x| x.contains("unknown field `mark_periods`")),
        "{p:#?}"
    );
}

#[test]
fn csv_target_takes_an_out_folder_relative_to_the_config() {
    let c = parse(&format!("{REST_12}\n[marks]\nenabled = true\nmark_period = \"gp\"\ntarget = \"csv\"\nout = \"exports/marks\"\n")).unwrap();
    assert_eq!(
        c.marks.target,
        MarksTarget::Csv {
            dir: "/etc/rb/exports/marks".into()
        }
    );
}
