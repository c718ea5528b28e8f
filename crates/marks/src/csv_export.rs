//! The file writer: a OneRoster gradebook package (`manifest.csv`, `categories.csv`,
//! `lineItems.csv`, `results.csv`, bulk) for any SIS that imports OneRoster CSV.
//!
//! A bulk export is complete: every mark with a value is written, unchanged ones too. The
//! bytes depend only on the plan, the version and the date given, so an export is
//! reproducible.

use crate::plan::{MarkAction, MarkPlan};
use crate::{fmt_score, MarksError};
use std::path::{Path, PathBuf};

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvExport {
    pub dir: PathBuf,
    pub line_items: usize,
    /// The result sourcedIds written, in file order.
    pub results: Vec<String>,
}

const FILES_11: [&str; 13] = [
    "academicSessions",
    "categories",
    "classes",
    "classResources",
    "courses",
    "courseResources",
    "demographics",
    "enrollments",
    "lineItems",
    "orgs",
    "resources",
    "results",
    "users",
];

fn csv_bytes(header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(header)?;
    for r in rows {
        w.write_record(r)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// Renders the package's files in memory: `(file name, bytes)`, in a fixed order.
/// `version` is `1.1` or `1.2`; `date` (`YYYY-MM-DD`) is the assign, due and score date.
pub fn render(
    plan: &MarkPlan,
    version: &str,
    date: &str,
) -> Result<Vec<(&'static str, Vec<u8>)>, csv::Error> {
    let v12 = version == "1.2";
    let mut manifest = vec![
        vec!["manifest.version".to_string(), "1.0".to_string()],
        vec!["oneroster.version".into(), version.to_string()],
    ];
    for f in FILES_11 {
        let mode = if matches!(f, "categories" | "lineItems" | "results") {
            "bulk"
        } else {
            "absent"
        };
        manifest.push(vec![format!("file.{f}"), mode.into()]);
    }
    let mut files = vec![(
        "manifest.csv",
        csv_bytes(&["propertyName", "value"], &manifest)?,
    )];

    let cat_header: &[&str] = if v12 {
        &["sourcedId", "status", "dateLastModified", "title", "weight"]
    } else {
        &["sourcedId", "status", "dateLastModified", "title"]
    };
    let mut cat = vec![
        plan.category.sourced_id.clone(),
        String::new(),
        String::new(),
        plan.category.title.clone(),
    ];
    if v12 {
        cat.push(String::new());
    }
    files.push(("categories.csv", csv_bytes(cat_header, &[cat])?));

    let li_header: &[&str] = if v12 {
        &[
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "description",
            "assignDate",
            "dueDate",
            "classSourcedId",
            "categorySourcedId",
            "academicSessionSourcedId",
            "resultValueMin",
            "resultValueMax",
            "schoolSourcedId",
        ]
    } else {
        &[
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "description",
            "assignDate",
            "dueDate",
            "classSourcedId",
            "categorySourcedId",
            "gradingPeriodSourcedId",
            "resultValueMin",
            "resultValueMax",
        ]
    };
    let lis: Vec<Vec<String>> = plan
        .line_items
        .iter()
        .map(|li| {
            let mut r = vec![
                li.sourced_id.clone(),
                String::new(),
                String::new(),
                li.title.clone(),
                String::new(),
                date.to_string(),
                date.to_string(),
                li.class.clone(),
                plan.category.sourced_id.clone(),
                li.mark_period.clone(),
                "0".into(),
                "100".into(),
            ];
            if v12 {
                r.push(li.school.clone().unwrap_or_default());
            }
            r
        })
        .collect();
    files.push(("lineItems.csv", csv_bytes(li_header, &lis)?));

    let res_header: &[&str] = if v12 {
        &[
            "sourcedId",
            "status",
            "dateLastModified",
            "lineItemSourcedId",
            "studentSourcedId",
            "scoreStatus",
            "score",
            "scoreDate",
            "comment",
            "textScore",
            "classSourcedId",
            "inProgress",
            "incomplete",
            "late",
            "missing",
        ]
    } else {
        &[
            "sourcedId",
            "status",
            "dateLastModified",
            "lineItemSourcedId",
            "studentSourcedId",
            "scoreStatus",
            "score",
            "scoreDate",
            "comment",
        ]
    };
    let res: Vec<Vec<String>> = plan
        .marks
        .iter()
        .filter(|m| m.action != MarkAction::Skip)
        .map(|m| {
            let score = m.score.map(fmt_score).unwrap_or_default();
            let text = m.text.clone().unwrap_or_default();
            let mut r = vec![
                m.result_id.clone(),
                String::new(),
                String::new(),
                m.line_item_id.clone(),
                m.student.clone(),
                "fully graded".into(),
                score,
                date.to_string(),
            ];
            if v12 {
                r.extend([
                    String::new(),
                    text,
                    m.class.clone(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            } else {
                // 1.1 has no textScore: a literal mark travels in the comment (specs/oneroster.md §5.3).
                r.push(text);
            }
            r
        })
        .collect();
    files.push(("results.csv", csv_bytes(res_header, &res)?));
    Ok(files)
}

/// Writes the package into `dir` (created if needed; the four files are replaced).
pub fn write(
    plan: &MarkPlan,
    dir: &Path,
    version: &str,
    date: &str,
) -> Result<CsvExport, MarksError> {
    let files = render(plan, version, date).map_err(|e| MarksError::Csv {
        message: e.to_string(),
    })?;
    std::fs::create_dir_all(dir).map_err(|source| MarksError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for (name, bytes) in &files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|source| MarksError::Io { path, source })?;
    }
    Ok(CsvExport {
        dir: dir.to_path_buf(),
        line_items: plan.line_items.len(),
        results: plan
            .marks
            .iter()
            .filter(|m| m.action != MarkAction::Skip)
            .map(|m| m.result_id.clone())
            .collect(),
    })
}
