//! Diffing mode (canvas-sis-csv.md §7): import only what changed since the chain's baseline.
//!
//! The current files are replaced by generated CSVs holding new or changed rows, plus rows
//! that disappeared re-emitted with a removal status. The rest of the pipeline then imports
//! those generated files like any other.

use std::collections::HashMap;
use std::sync::Arc;

use super::batch::{BatchOptions, BatchState, Kind, SisMessage};
use super::{unpack, Prepared};
use crate::csv::{decode, quote, Records};
use crate::store::Store;

/// The columns that identify a row of each kind.
fn identity(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::ChangeSisId => &["old_id", "old_integration_id"],
        Kind::Account => &["account_id"],
        Kind::Term => &["term_id"],
        Kind::AbstractCourse => &["abstract_course_id"],
        Kind::Course => &["course_id"],
        Kind::Section | Kind::Xlist => &["section_id"],
        Kind::User | Kind::Login => &["user_id"],
        Kind::Enrollment => &[
            "course_id",
            "section_id",
            "user_id",
            "user_integration_id",
            "role",
            "associated_user_id",
            "role_id",
        ],
        Kind::Admin => &["user_id", "account_id"],
        Kind::GroupCategory => &["group_category_id"],
        Kind::Group => &["group_id"],
        Kind::GroupMembership => &["group_id", "user_id"],
        Kind::GradePublishingResults => &["enrollment_id"],
        Kind::UserObserver => &["observer_id", "student_id"],
    }
}

/// The baseline a new batch diffs against, chosen as Canvas does.
pub struct Baseline {
    pub id: u64,
    filename: String,
    attachment: Arc<Vec<u8>>,
}

pub fn find_baseline(store: &Store, batch_id: u64, identifier: &str) -> Option<Baseline> {
    let successful = |b: &&super::batch::SisBatch| {
        b.id < batch_id
            && b.options.diffing_data_set_identifier.as_deref() == Some(identifier)
            && matches!(
                b.workflow_state,
                BatchState::Imported | BatchState::ImportedWithMessages
            )
            && !b.diffing_threshold_exceeded
    };
    let chain = store
        .batches
        .iter()
        .rev()
        .filter(successful)
        .find(|b| b.diffed_against.is_some() || b.options.diffing_remaster)
        .or_else(|| store.batches.iter().find(successful))?;
    Some(Baseline {
        id: chain.id,
        filename: chain.filename.clone(),
        attachment: chain.attachment.clone(),
    })
}

/// How many consecutive threshold-exceeding imports lock a data set (doc/api/sis_csv.md).
pub const LOCKOUT_AFTER: usize = 5;

/// The error a locked data set's imports fail with. Canvas documents the rule but its source
/// (as read) neither enforces it nor words it, so this wording is the sandbox's own.
pub const LOCKED_OUT: &str = "Diffing not performed because the last 5 imports with this diffing_data_set_identifier exceeded the change threshold; import with diffing_remaster_data_set=true to resume";

/// Canvas's documented lockout: "If five consecutive SIS batches with the same diffing data
/// set identifier exceed the change threshold, future imports will fail" until a remaster.
/// Walks the data set's finished imports newest first: failed and aborted ones (including
/// those the lockout itself failed) are passed over, a remaster or an import within the
/// threshold ends the run.
pub fn locked_out(store: &Store, batch_id: u64, identifier: &str) -> bool {
    let mut exceeded = 0;
    for b in store.batches.iter().rev() {
        if b.id >= batch_id || b.options.diffing_data_set_identifier.as_deref() != Some(identifier)
        {
            continue;
        }
        match b.workflow_state {
            BatchState::Imported | BatchState::ImportedWithMessages => {}
            _ => continue,
        }
        if b.options.diffing_remaster || !b.diffing_threshold_exceeded {
            return false;
        }
        exceeded += 1;
        if exceeded >= LOCKOUT_AFTER {
            return true;
        }
    }
    false
}

/// A parsed file: headers and trimmed rows.
struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn table(bytes: &[u8]) -> Option<Table> {
    let text = decode(bytes)?;
    let mut records = Records::new(text);
    let headers: Vec<String> = records
        .next()?
        .ok()?
        .fields
        .iter()
        .map(|h| h.to_lowercase())
        .collect();
    let mut rows = Vec::new();
    for r in records {
        let r = r.ok()?;
        let row: Vec<String> = r.fields.iter().map(|f| f.trim().to_string()).collect();
        if row.iter().all(|f| f.is_empty()) {
            continue;
        }
        rows.push(row);
    }
    Some(Table { headers, rows })
}

fn value<'a>(t: &Table, row: &'a [String], col: &str) -> &'a str {
    t.headers
        .iter()
        .position(|h| h == col)
        .and_then(|i| row.get(i))
        .map(String::as_str)
        .unwrap_or("")
}

fn key(t: &Table, row: &[String], kind: Kind) -> Vec<String> {
    identity(kind)
        .iter()
        .map(|c| value(t, row, c).to_string())
        .collect()
}

/// Row content as column → value, so column order does not matter.
fn content(t: &Table, row: &[String]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = t
        .headers
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.is_empty())
        .map(|(i, h)| (h.clone(), row.get(i).cloned().unwrap_or_default()))
        .collect();
    v.sort();
    v
}

pub(super) fn write_csv(headers: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = String::new();
    let line = |fields: &[String]| {
        fields
            .iter()
            .map(|f| quote(f).into_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    out.push_str(&line(headers));
    out.push('\n');
    for r in rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out.into_bytes()
}

/// The removal status for rows that disappeared.
fn removal_status(kind: Kind, opts: &BatchOptions) -> String {
    match kind {
        Kind::Enrollment => opts
            .diffing_drop_status
            .clone()
            .unwrap_or_else(|| "deleted".into()),
        Kind::User => opts
            .diffing_user_remove_status
            .clone()
            .unwrap_or_else(|| "deleted".into()),
        _ => "deleted".into(),
    }
}

/// What diffing did to a batch.
pub struct Outcome {
    pub files: Vec<Prepared>,
    pub diffed_against: Option<u64>,
    pub threshold_exceeded: bool,
}

fn warn(messages: &mut Vec<SisMessage>, message: &str) {
    messages.push(SisMessage {
        file: String::new(),
        message: message.into(),
        row: None,
        failure: false,
    });
}

/// Diff the current (already checked) files against the baseline's.
pub fn apply(
    current: Vec<Prepared>,
    baseline: &Baseline,
    opts: &BatchOptions,
    messages: &mut Vec<SisMessage>,
) -> Outcome {
    let mut ignored = Vec::new();
    let previous: Vec<Prepared> = unpack(&baseline.filename, &baseline.attachment, &mut ignored)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(n, b)| super::prepare(n, b, &mut ignored))
        .collect();
    let size = |files: &[Prepared]| files.iter().map(|f| f.bytes.len()).sum::<usize>() as f64;
    let (cur_size, prev_size) = (size(&current), size(&previous));
    if let Some(t) = opts.change_threshold {
        if prev_size > 0.0 && ((1.0 - cur_size / prev_size).abs() * 100.0) > t as f64 {
            warn(
                messages,
                "Diffing not performed because file size difference exceeded threshold",
            );
            return Outcome {
                files: current,
                diffed_against: None,
                threshold_exceeded: true,
            };
        }
    }
    let mut by_kind_prev: HashMap<Kind, Vec<&Prepared>> = HashMap::new();
    for p in &previous {
        by_kind_prev.entry(p.kind).or_default().push(p);
    }
    let mut cur_count: HashMap<Kind, usize> = HashMap::new();
    for c in &current {
        *cur_count.entry(c.kind).or_default() += 1;
    }
    let mut out = Vec::new();
    let mut exceeded = false;
    for cur in current {
        let prevs = by_kind_prev.get(&cur.kind).cloned().unwrap_or_default();
        if prevs.is_empty() {
            out.push(cur);
            continue;
        }
        let n = cur_count.get(&cur.kind).copied().unwrap_or(0);
        let prev = if n == 1 && prevs.len() == 1 {
            prevs.first().copied()
        } else if n == prevs.len() {
            prevs.iter().copied().find(|p| p.name == cur.name)
        } else {
            None
        };
        let Some(prev) = prev else {
            warn(
                messages,
                &format!(
                    "Unable to perform diffing against mismatched previous and current {} imports",
                    cur.kind.name()
                ),
            );
            out.push(cur);
            continue;
        };
        let (Some(ct), Some(pt)) = (table(&cur.bytes), table(&prev.bytes)) else {
            out.push(cur);
            continue;
        };
        let prev_rows: HashMap<Vec<String>, &Vec<String>> =
            pt.rows.iter().map(|r| (key(&pt, r, cur.kind), r)).collect();
        let mut seen = std::collections::HashSet::new();
        let mut rows = Vec::new();
        for r in &ct.rows {
            let k = key(&ct, r, cur.kind);
            let same = prev_rows
                .get(&k)
                .is_some_and(|p| content(&pt, p) == content(&ct, r));
            seen.insert(k);
            if !same {
                rows.push(r.clone());
            }
        }
        let status = removal_status(cur.kind, opts);
        if let Some(si) = ct.headers.iter().position(|h| h == "status") {
            for p in &pt.rows {
                if seen.contains(&key(&pt, p, cur.kind)) {
                    continue;
                }
                // Re-emit the old row in the current file's column layout.
                let mut row: Vec<String> = ct
                    .headers
                    .iter()
                    .map(|h| value(&pt, p, h).to_string())
                    .collect();
                if let Some(cell) = row.get_mut(si) {
                    cell.clone_from(&status);
                }
                rows.push(row);
            }
        }
        if opts
            .diff_row_count_threshold
            .is_some_and(|t| rows.len() as u64 > t)
        {
            warn(
                messages,
                "Diffing not performed because difference row count exceeded threshold",
            );
            exceeded = true;
            out.push(cur);
            continue;
        }
        let count = rows.len();
        out.push(Prepared {
            kind: cur.kind,
            name: cur.name,
            bytes: Arc::new(write_csv(&ct.headers, &rows)),
            rows: count,
        });
    }
    // A batch that fell back to a full import is not a diff (and not a later baseline).
    Outcome {
        files: out,
        diffed_against: (!exceeded).then_some(baseline.id),
        threshold_exceeded: exceeded,
    }
}
