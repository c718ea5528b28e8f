//! Batch mode: after the rows, delete SIS objects of the term(s) this batch did not touch
//! (canvas-sis-csv.md §6).

use std::collections::HashSet;

use chrono::Utc;

use super::batch::{BatchDeleted, BatchOptions, BatchState, Kind, SisMessage};
use crate::model::{ActiveDeleted, CourseState, EnrollmentState, RbKind};
use crate::state::SharedStore;

pub struct Outcome {
    pub deleted: BatchDeleted,
    pub aborted: bool,
}

fn warn(messages: &mut Vec<SisMessage>, message: String) {
    messages.push(SisMessage {
        file: String::new(),
        message,
        row: None,
        failure: false,
    });
}

pub fn run(
    shared: &SharedStore,
    batch_id: u64,
    opts: &BatchOptions,
    supplied: &[Kind],
    messages: &mut Vec<SisMessage>,
) -> Option<Outcome> {
    let mut store = shared.write();
    if store
        .batch(batch_id)
        .is_some_and(|b| b.workflow_state == BatchState::Aborted)
    {
        return None;
    }
    let terms: HashSet<u64> = if opts.multi_term_batch_mode {
        store
            .terms
            .iter()
            .filter(|t| t.sis_batch_id == Some(batch_id))
            .map(|t| t.id)
            .collect()
    } else {
        opts.batch_mode_term_id.into_iter().collect()
    };
    if terms.is_empty() {
        warn(
            messages,
            "Terms not found. Terms must be included with multi_term_batch_mode".into(),
        );
        return Some(Outcome {
            deleted: BatchDeleted::default(),
            aborted: true,
        });
    }
    if let Some(b) = store.batch_mut(batch_id) {
        b.workflow_state = BatchState::CleanupBatch;
        b.progress = 0;
    }

    let in_term = |course_id: u64, store: &crate::store::Store| {
        store
            .course(course_id)
            .is_some_and(|c| terms.contains(&c.enrollment_term_id))
    };

    // (in scope, to delete) per kind; only supplied kinds are cleaned.
    let mut courses = (0usize, Vec::new());
    if supplied.contains(&Kind::Course) {
        for c in &store.courses {
            if c.workflow_state != CourseState::Deleted
                && c.sis_batch_id.is_some()
                && c.sis_source_id.is_some()
                && terms.contains(&c.enrollment_term_id)
            {
                courses.0 += 1;
                if c.sis_batch_id != Some(batch_id) {
                    courses.1.push(c.id);
                }
            }
        }
    }
    let mut sections = (0usize, Vec::new());
    if supplied.contains(&Kind::Section) {
        for s in &store.sections {
            if s.workflow_state == ActiveDeleted::Active
                && s.sis_batch_id.is_some()
                && s.sis_source_id.is_some()
                && in_term(s.nonxlist_course_id.unwrap_or(s.course_id), &store)
            {
                sections.0 += 1;
                if s.sis_batch_id != Some(batch_id) {
                    sections.1.push(s.id);
                }
            }
        }
    }
    let mut enrollments = (0usize, Vec::new());
    if supplied.contains(&Kind::Enrollment) {
        for e in &store.enrollments {
            if e.workflow_state != EnrollmentState::Deleted
                && e.sis_batch_id.is_some()
                && in_term(e.course_id, &store)
            {
                enrollments.0 += 1;
                if e.sis_batch_id != Some(batch_id) {
                    enrollments.1.push(e.id);
                }
            }
        }
    }

    if let Some(t) = opts.change_threshold {
        for (name, (scope, del)) in [
            ("courses", &courses),
            ("sections", &sections),
            ("enrollments", &enrollments),
        ] {
            if *scope > 0 && del.len() as f64 / *scope as f64 * 100.0 > t as f64 {
                warn(
                    messages,
                    format!(
                        "{} {name} would be deleted and exceeds the set threshold of {t}%",
                        del.len()
                    ),
                );
                return Some(Outcome {
                    deleted: BatchDeleted::default(),
                    aborted: true,
                });
            }
        }
    }

    let drop = match opts.batch_mode_enrollment_drop_status.as_deref() {
        Some("completed") => EnrollmentState::Completed,
        Some("inactive") => EnrollmentState::Inactive,
        _ => EnrollmentState::Deleted,
    };
    // Journal every deletion as a batch-mode delete (restore_states with batch_mode=true
    // reverts exactly these); cascades are journaled as ordinary changes of this batch.
    let mark = store.rollback.len();
    for id in &enrollments.1 {
        store.change_enrollment_state(*id, drop, Some(batch_id));
    }
    for id in &sections.1 {
        let before = store.state_of(RbKind::CourseSection, *id);
        if let Some(s) = store.section_mut(*id) {
            s.workflow_state = ActiveDeleted::Deleted;
        }
        store.record_since(batch_id, RbKind::CourseSection, *id, before);
        store.delete_section_enrollments(*id, Some(batch_id));
    }
    for id in &courses.1 {
        let before = store.state_of(RbKind::Course, *id);
        if let Some(c) = store.course_mut(*id) {
            c.workflow_state = CourseState::Deleted;
            // Canvas clears the state's stickiness when batch mode deletes a course.
            c.stuck.remove("workflow_state");
        }
        store.record_since(batch_id, RbKind::Course, *id, before);
    }
    for r in store.rollback.iter_mut().skip(mark) {
        r.batch_mode_delete = true;
    }
    if let Some(b) = store.batch_mut(batch_id) {
        b.updated_at = Utc::now();
    }
    Some(Outcome {
        deleted: BatchDeleted {
            courses: courses.1.len() as u64,
            sections: sections.1.len() as u64,
            enrollments: enrollments.1.len() as u64,
        },
        aborted: false,
    })
}
