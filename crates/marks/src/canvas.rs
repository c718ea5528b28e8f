//! Reading grades from Canvas: the student enrollments of each managed section, with the
//! `grades` object Canvas puts on them (`shared/specs/canvas-rest.md` §6.10).

use crate::plan::CanvasGrade;
use crate::MarksError;
use rosterbridge_canvas_client::{sis_path, CanvasClient};
use serde::Deserialize;

#[derive(Deserialize)]
struct Enrollment {
    id: u64,
    user_id: u64,
    #[serde(default)]
    sis_user_id: Option<String>,
    #[serde(default)]
    sis_section_id: Option<String>,
    #[serde(default)]
    grades: Option<Grades>,
    // Current Canvas also shows the override on the enrollment itself.
    #[serde(default)]
    override_score: Option<f64>,
    #[serde(default)]
    override_grade: Option<String>,
}

#[derive(Deserialize, Default)]
struct Grades {
    #[serde(default)]
    current_score: Option<f64>,
    #[serde(default)]
    final_score: Option<f64>,
    #[serde(default)]
    current_grade: Option<String>,
    #[serde(default)]
    final_grade: Option<String>,
    #[serde(default)]
    override_score: Option<f64>,
    #[serde(default)]
    override_grade: Option<String>,
}

/// What was read: grades, and the classes Canvas no longer has.
#[derive(Debug, Default)]
pub struct GradesRead {
    pub grades: Vec<CanvasGrade>,
    /// Sections the state knows but Canvas answered 404 for.
    pub missing_classes: Vec<String>,
}

/// Reads the student enrollments (active and completed) of each class's section, up to
/// `concurrency` sections at a time (the client's pacing by Canvas's rate-limit headers does
/// the rest). `from_sis` is left false: the caller knows which enrollments rosterbridge made.
pub async fn read_grades(
    client: &CanvasClient,
    classes: &[String],
    grading_period_id: Option<u64>,
    concurrency: usize,
) -> Result<GradesRead, MarksError> {
    let mut read = GradesRead::default();
    let mut set = tokio::task::JoinSet::new();
    let mut pending = classes.iter().cloned();
    let spawn = |set: &mut tokio::task::JoinSet<_>, class: String| {
        let client = client.clone();
        set.spawn(async move {
            let r = read_section(&client, &class, grading_period_id).await;
            (class, r)
        });
    };
    for class in pending.by_ref().take(concurrency.max(1)) {
        spawn(&mut set, class);
    }
    while let Some(joined) = set.join_next().await {
        let (class, result) = joined.map_err(|e| MarksError::Config {
            message: format!("a grade read task failed: {e}"),
        })?;
        match result {
            Ok(Some(mut grades)) => read.grades.append(&mut grades),
            Ok(None) => read.missing_classes.push(class),
            Err(e) => return Err(MarksError::Canvas { class, source: e }),
        }
        if let Some(next) = pending.next() {
            spawn(&mut set, next);
        }
    }
    read.missing_classes.sort();
    read.grades.sort_by(|a, b| {
        (&a.class, &a.student, a.canvas_enrollment_id).cmp(&(
            &b.class,
            &b.student,
            b.canvas_enrollment_id,
        ))
    });
    Ok(read)
}

/// One section's student grades; `None` when Canvas answers 404.
async fn read_section(
    client: &CanvasClient,
    class: &str,
    grading_period_id: Option<u64>,
) -> Result<Option<Vec<CanvasGrade>>, rosterbridge_canvas_client::CanvasError> {
    let path = format!(
        "/api/v1/sections/{}/enrollments",
        sis_path("sis_section_id", class)
    );
    let mut query: Vec<(&str, String)> = vec![
        ("type[]", "StudentEnrollment".into()),
        ("state[]", "active".into()),
        ("state[]", "completed".into()),
    ];
    if let Some(gp) = grading_period_id {
        query.push(("grading_period_id", gp.to_string()));
    }
    let enrollments: Vec<Enrollment> = match client.get_all(&path, &query).await {
        Ok(e) => e,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(
        enrollments
            .into_iter()
            .map(|e| {
                let g = e.grades.unwrap_or_default();
                CanvasGrade {
                    class: e.sis_section_id.unwrap_or_else(|| class.to_string()),
                    student: e.sis_user_id.filter(|s| !s.is_empty()),
                    canvas_user_id: e.user_id,
                    canvas_enrollment_id: e.id,
                    from_sis: false,
                    current_score: g.current_score,
                    final_score: g.final_score,
                    current_grade: g.current_grade,
                    final_grade: g.final_grade,
                    override_score: g.override_score.or(e.override_score),
                    override_grade: g.override_grade.or(e.override_grade),
                }
            })
            .collect(),
    ))
}
