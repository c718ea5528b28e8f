//! SIS import processing: unpack the upload, read each CSV with Canvas's rules, detect its kind
//! by headers, and run the files in Canvas's fixed kind order, one row at a time.
//!
//! Each kind's row semantics live in their own module (`users`, `courses`, …) as a function
//! `fn row(&mut Store, &mut Ctx, &Row) -> bool` that returns whether the row counts as imported.
//! Warnings and errors go through `Ctx` with Canvas's exact wording.

mod accounts;
mod admins;
pub mod batch;
mod change_sis_id;
mod cleanup;
mod courses;
mod diff;
mod enrollments;
mod groups;
mod logins;
mod sections;
mod terms;
mod user_observers;
mod users;
mod xlists;

use std::borrow::Cow;
use std::io::{Cursor, Read};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::csv::{decode, Records};
use crate::model::{FileRole, StuckFields, Time};
use crate::state::SharedStore;
use crate::store::Store;
use batch::{BatchOptions, BatchState, Kind, SisMessage};

/// How many rows are processed per write-lock acquisition; keeps reads responsive.
const CHUNK: usize = 2000;

/// What an importer sees while processing one file.
pub struct Ctx<'a> {
    pub batch_id: u64,
    pub opts: &'a BatchOptions,
    pub file: &'a str,
    pub messages: &'a mut Vec<SisMessage>,
    pub now: Time,
}

impl Ctx<'_> {
    /// A row-level warning (the row is skipped unless the importer says otherwise).
    pub fn warn(&mut self, row: &Row, message: impl Into<String>) {
        self.messages.push(SisMessage {
            file: self.file.to_string(),
            message: message.into(),
            row: Some(row.line),
            failure: false,
        });
    }

    /// May the import write this field? Stuck fields only with `override_sis_stickiness`.
    pub fn may_write(&self, stuck: &StuckFields, field: &'static str) -> bool {
        self.opts.override_sis_stickiness || !stuck.contains(field)
    }

    /// After writing a field: apply add/clear stickiness (only honoured with override).
    pub fn wrote(&self, stuck: &mut StuckFields, field: &'static str) {
        if !self.opts.override_sis_stickiness {
            return;
        }
        if self.opts.clear_sis_stickiness {
            stuck.remove(field);
        } else if self.opts.add_sis_stickiness {
            stuck.insert(field);
        }
    }
}

/// One CSV row with its file's lower-cased headers.
pub struct Row<'a> {
    pub headers: &'a [String],
    pub fields: Vec<Cow<'a, str>>,
    /// The row number Canvas reports (header = 1).
    pub line: u64,
}

impl Row<'_> {
    fn index(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// The stripped value, `None` when the column is absent or the value empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        let v = self.fields.get(self.index(name)?)?.trim();
        (!v.is_empty()).then_some(v)
    }

    /// Whether the file has this column at all.
    pub fn has(&self, name: &str) -> bool {
        self.index(name).is_some()
    }

    fn is_blank(&self) -> bool {
        self.fields.iter().all(|f| f.trim().is_empty())
    }

    pub fn has_nul(&self) -> bool {
        self.fields.iter().any(|f| f.contains('\0'))
    }
}

/// Case-insensitive "starts with one of".
pub fn status_starts(status: &str, options: &[&'static str]) -> Option<&'static str> {
    let lower = status.to_ascii_lowercase();
    options.iter().find(|o| lower.starts_with(**o)).copied()
}

/// Case-insensitive whole-word match.
pub fn status_is(status: &str, options: &[&'static str]) -> Option<&'static str> {
    let lower = status.to_ascii_lowercase();
    options.iter().find(|o| lower == **o).copied()
}

/// Canvas parses SIS dates leniently; these are the forms the sandbox accepts.
pub fn parse_date(s: &str) -> Option<Time> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%:z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Some(d.with_timezone(&Utc));
        }
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// One date column of a row: `Ok(None)` for absent-or-blank, `Err(())` for a bad value.
pub fn row_date(row: &Row, col: &str) -> Result<Option<Time>, ()> {
    match row.get(col) {
        None => Ok(None),
        Some(v) => parse_date(v).map(Some).ok_or(()),
    }
}

/// A file ready to import.
struct Prepared {
    kind: Kind,
    name: String,
    bytes: Arc<Vec<u8>>,
    rows: usize,
}

/// A file of an upload: its base name and bytes (shared, since copies and diffs reuse them).
type NamedFile = (String, Arc<Vec<u8>>);

/// Split an upload into named files. Zip entries that Canvas ignores are dropped here.
fn unpack(
    filename: &str,
    bytes: &Arc<Vec<u8>>,
    messages: &mut Vec<SisMessage>,
) -> Result<Vec<NamedFile>, String> {
    let is_zip = filename.to_ascii_lowercase().ends_with(".zip");
    if !is_zip {
        return Ok(vec![(filename.to_string(), bytes.clone())]);
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes.as_slice())).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|e| e.to_string())?;
        if f.is_dir() {
            continue;
        }
        let path = f.name().map_err(|e| e.to_string())?.to_string();
        let base = path.rsplit('/').next().unwrap_or(&path).to_string();
        let lower = base.to_ascii_lowercase();
        if path.contains("__MACOSX")
            || base.starts_with('.')
            || lower == "desktop.db"
            || lower == "desktop.df"
        {
            continue;
        }
        if !lower.ends_with(".csv") {
            messages.push(SisMessage {
                file: base,
                message: "Skipping unknown file type".into(),
                row: None,
                failure: false,
            });
            continue;
        }
        let mut data = Vec::with_capacity(f.size() as usize);
        f.read_to_end(&mut data).map_err(|e| e.to_string())?;
        if data.is_empty() {
            continue;
        }
        out.push((base, Arc::new(data)));
    }
    Ok(out)
}

/// Check a file with Canvas's whole-file rules and find its kind; failures become error
/// messages and the file is left out.
fn prepare(name: String, bytes: Arc<Vec<u8>>, messages: &mut Vec<SisMessage>) -> Option<Prepared> {
    let fail = |messages: &mut Vec<SisMessage>, m: &str| {
        messages.push(SisMessage {
            file: name.clone(),
            message: m.into(),
            row: None,
            failure: true,
        })
    };
    let Some(text) = decode(&bytes) else {
        fail(messages, "Invalid UTF-8");
        return None;
    };
    let mut records = Records::new(text);
    let headers: Vec<String> = match records.next() {
        Some(Ok(r)) => r.fields.iter().map(|h| h.to_lowercase()).collect(),
        Some(Err(_)) => {
            fail(messages, "Malformed CSV");
            return None;
        }
        None => Vec::new(),
    };
    let mut rows = 0usize;
    for r in records {
        if r.is_err() {
            fail(messages, "Malformed CSV");
            return None;
        }
        rows += 1;
    }
    let Some(kind) = Kind::detect(&headers) else {
        fail(messages, "Couldn't find Canvas CSV import headers");
        return None;
    };
    Some(Prepared {
        kind,
        name,
        bytes,
        rows,
    })
}

/// Import one row of a kind. Returns whether it counts as imported.
fn import_row(kind: Kind, store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    match kind {
        Kind::Account => accounts::row(store, ctx, row),
        Kind::Term => terms::row(store, ctx, row),
        Kind::User => users::row(store, ctx, row),
        Kind::Course => courses::row(store, ctx, row),
        Kind::Section => sections::row(store, ctx, row),
        Kind::Enrollment => enrollments::row(store, ctx, row),
        Kind::UserObserver => user_observers::row(store, ctx, row),
        Kind::Xlist => xlists::row(store, ctx, row),
        Kind::Login => logins::row(store, ctx, row),
        Kind::Admin => admins::row(store, ctx, row),
        Kind::ChangeSisId => change_sis_id::row(store, ctx, row),
        Kind::GroupCategory => groups::category_row(store, ctx, row),
        Kind::Group => groups::group_row(store, ctx, row),
        Kind::GroupMembership => groups::membership_row(store, ctx, row),
        _ => false,
    }
}

fn implemented(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Account
            | Kind::Term
            | Kind::User
            | Kind::Course
            | Kind::Section
            | Kind::Enrollment
            | Kind::UserObserver
            | Kind::Xlist
            | Kind::Login
            | Kind::Admin
            | Kind::ChangeSisId
            | Kind::GroupCategory
            | Kind::Group
            | Kind::GroupMembership
    )
}

/// Run one batch to a final state. Blocking: call it from a blocking thread.
pub fn process_batch(shared: &SharedStore, batch_id: u64) {
    let (filename, attachment, opts) = {
        let mut store = shared.write();
        let Some(b) = store.batch_mut(batch_id) else {
            return;
        };
        if b.workflow_state != BatchState::Created {
            return; // aborted while queued
        }
        let now = Utc::now();
        b.workflow_state = BatchState::Importing;
        b.started_at = Some(now);
        b.updated_at = now;
        b.counts = Some([0; 16]);
        (b.filename.clone(), b.attachment.clone(), b.options.clone())
    };

    let mut messages = Vec::new();
    let files = match unpack(&filename, &attachment, &mut messages) {
        Ok(f) => f,
        Err(_) => {
            messages.push(SisMessage {
                file: filename.clone(),
                message: format!(
                    "Error while importing CSV. Please contact support. (Error report {batch_id})"
                ),
                row: None,
                failure: true,
            });
            finish(shared, batch_id, messages, None);
            return;
        }
    };
    {
        // Canvas keeps a downloadable copy of every uploaded CSV (`csv_attachments`), with the
        // password columns removed, before it checks the files.
        let mut store = shared.write();
        let ids: Vec<u64> = files
            .iter()
            .map(|(name, bytes)| {
                let copy = without_password_columns(bytes);
                store.insert_file(batch_id, FileRole::Csv, name, "text/csv", copy)
            })
            .collect();
        if let Some(b) = store.batch_mut(batch_id) {
            b.csv_files = ids;
        }
    }
    let mut prepared: Vec<Prepared> = files
        .into_iter()
        .filter_map(|(n, b)| prepare(n, b, &mut messages))
        .collect();
    if let Some(ident) = opts.diffing_data_set_identifier.as_deref() {
        if !opts.diffing_remaster && diff::locked_out(&shared.read(), batch_id, ident) {
            messages.push(SisMessage {
                file: String::new(),
                message: diff::LOCKED_OUT.into(),
                row: None,
                failure: true,
            });
            finish(shared, batch_id, messages, None);
            return;
        }
        // Batch mode wins over diffing (the API drops the identifier then); a remaster
        // imports everything and only joins the chain.
        let baseline = if opts.diffing_remaster {
            None
        } else {
            diff::find_baseline(&shared.read(), batch_id, ident)
        };
        if let Some(baseline) = baseline {
            let outcome = diff::apply(prepared, &baseline, &opts, &mut messages);
            prepared = outcome.files;
            let mut store = shared.write();
            // The generated diff's CSVs are downloadable too (`diffed_csv_attachments`); a
            // batch that fell back to a full import has no generated diff.
            let diffed: Vec<u64> = if outcome.diffed_against.is_some() {
                prepared
                    .iter()
                    .map(|p| {
                        let copy = without_password_columns(&p.bytes);
                        store.insert_file(batch_id, FileRole::DiffedCsv, &p.name, "text/csv", copy)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            if let Some(b) = store.batch_mut(batch_id) {
                b.diffed_against = outcome.diffed_against;
                b.diffing_threshold_exceeded = outcome.threshold_exceeded;
                b.diffed_files = diffed;
            }
        }
    }
    prepared.sort_by_key(|p| p.kind); // stable: same-kind files keep their zip order
    let mut supplied: Vec<Kind> = prepared.iter().map(|p| p.kind).collect();
    supplied.dedup();
    for p in &prepared {
        if !implemented(p.kind) {
            messages.push(SisMessage {
                file: p.name.clone(),
                message: format!("The sandbox does not import {} files yet", p.kind.name()),
                row: None,
                failure: false,
            });
        }
    }
    let total_rows: usize = prepared.iter().map(|p| p.rows).sum::<usize>().max(1);
    {
        let mut store = shared.write();
        if let Some(b) = store.batch_mut(batch_id) {
            b.supplied = supplied.clone();
        }
    }

    let mut done_rows = 0usize;
    for p in &prepared {
        if !implemented(p.kind) {
            done_rows += p.rows;
            continue;
        }
        let Some(text) = decode(&p.bytes) else {
            continue;
        };
        let mut records = Records::new(text);
        let headers: Vec<String> = match records.next() {
            Some(Ok(r)) => r.fields.iter().map(|h| h.to_lowercase()).collect(),
            _ => continue,
        };
        let mut records = records.peekable();
        let mut count = 0u64;
        // Canvas numbers rows by parsed record (blank lines do not count, all-empty rows do),
        // 1-based with the header as row 1.
        let mut row_number = 1u64;
        while records.peek().is_some() {
            let mut store = shared.write();
            if store
                .batch(batch_id)
                .is_some_and(|b| b.workflow_state == BatchState::Aborted)
            {
                return; // abort keeps the work already done; the state is already final
            }
            let mut ctx = Ctx {
                batch_id,
                opts: &opts,
                file: &p.name,
                messages: &mut messages,
                now: Utc::now(),
            };
            for rec in records.by_ref().take(CHUNK) {
                let Ok(rec) = rec else { break };
                done_rows += 1;
                row_number += 1;
                let row = Row {
                    headers: &headers,
                    fields: rec.fields,
                    line: row_number,
                };
                if row.is_blank() {
                    continue;
                }
                if import_row(p.kind, &mut store, &mut ctx, &row) {
                    count += 1;
                }
            }
            if let Some(b) = store.batch_mut(batch_id) {
                if let Some(c) = b.counts.as_mut() {
                    c[p.kind.index()] = count;
                }
                b.progress = ((done_rows * 100 / total_rows).min(99)) as u8;
                b.updated_at = Utc::now();
            }
        }
    }

    let failed = messages.iter().any(|m| m.failure);
    let deleted = if (opts.batch_mode || opts.multi_term_batch_mode) && !failed {
        cleanup::run(shared, batch_id, &opts, &supplied, &mut messages)
    } else {
        None
    };
    finish(shared, batch_id, messages, deleted);
}

/// Pick the final state the way SisBatch#finish does (canvas-sis-csv.md §3).
fn finish(
    shared: &SharedStore,
    batch_id: u64,
    messages: Vec<SisMessage>,
    cleanup: Option<cleanup::Outcome>,
) {
    let mut store = shared.write();
    let statistics = statistics(&store, batch_id);
    let Some(b) = store.batch_mut(batch_id) else {
        return;
    };
    let now = Utc::now();
    b.statistics = Some(statistics);
    b.messages = messages;
    let aborted_already = b.workflow_state == BatchState::Aborted;
    store.attach_errors_file(batch_id);
    if aborted_already {
        return;
    }
    let Some(b) = store.batch_mut(batch_id) else {
        return;
    };
    let mut aborted = false;
    if let Some(c) = cleanup {
        b.batch_deleted = Some(c.deleted);
        aborted = c.aborted;
    }
    b.workflow_state = if aborted {
        BatchState::Aborted
    } else if b.messages.iter().any(|m| m.failure) {
        BatchState::FailedWithMessages
    } else if b.messages.is_empty() {
        BatchState::Imported
    } else {
        BatchState::ImportedWithMessages
    };
    b.progress = 100;
    b.ended_at = Some(now);
    b.updated_at = now;
}

/// Fault injection: end (or never end) a batch without processing it.
pub fn fake_outcome(shared: &SharedStore, batch_id: u64, fault: crate::config::ImportFault) {
    let mut store = shared.write();
    let Some(b) = store.batch_mut(batch_id) else {
        return;
    };
    if b.workflow_state != BatchState::Created {
        return;
    }
    let now = Utc::now();
    b.started_at = Some(now);
    b.updated_at = now;
    b.counts = Some([0; 16]);
    match fault {
        crate::config::ImportFault::StayImporting => {
            b.workflow_state = BatchState::Importing;
        }
        crate::config::ImportFault::Fail => {
            b.workflow_state = BatchState::Failed;
            b.progress = 100;
            b.ended_at = Some(now);
            b.error_message = Some("sandbox fault injection: import failed".into());
        }
    }
}

/// `data.statistics` from the roll-back journal (Canvas counts the same records).
fn statistics(store: &Store, batch_id: u64) -> serde_json::Value {
    use crate::model::{state_code, RbKind};
    let (deleted, completed, inactive) = (
        state_code("deleted"),
        state_code("completed"),
        state_code("inactive"),
    );
    // [created, restored, deleted, concluded, deactivated] per kind
    let mut counts = std::collections::BTreeMap::<RbKind, [u64; 5]>::new();
    let mut total = 0u64;
    // A batch's entries are contiguous at the end of the journal (batches run one at a time).
    for r in store
        .rollback
        .iter()
        .rev()
        .take_while(|r| r.batch_id == batch_id)
    {
        total += 1;
        let c = counts.entry(r.kind).or_default();
        if r.previous.is_none() {
            c[0] += 1;
        }
        if r.previous == Some(deleted) && r.updated != deleted {
            c[1] += 1;
        }
        if r.updated == deleted {
            c[2] += 1;
        }
        if r.updated == completed {
            c[3] += 1;
        }
        if r.updated == inactive {
            c[4] += 1;
        }
    }
    let mut out = serde_json::Map::new();
    out.insert("total_state_changes".into(), total.into());
    let names = [
        ("Account", Some(RbKind::Account)),
        ("EnrollmentTerm", Some(RbKind::EnrollmentTerm)),
        ("AbstractCourse", None),
        ("Course", Some(RbKind::Course)),
        ("CourseSection", Some(RbKind::CourseSection)),
        ("GroupCategory", Some(RbKind::GroupCategory)),
        ("Group", Some(RbKind::Group)),
        ("Pseudonym", Some(RbKind::Pseudonym)),
        ("CommunicationChannel", None),
        ("Enrollment", Some(RbKind::Enrollment)),
        ("GroupMembership", Some(RbKind::GroupMembership)),
        ("UserObserver", Some(RbKind::UserObserver)),
        ("AccountUser", Some(RbKind::AccountUser)),
    ];
    for (name, kind) in names {
        let c = kind
            .and_then(|k| counts.get(&k).copied())
            .unwrap_or_default();
        let mut o = serde_json::json!({"created": c[0], "restored": c[1], "deleted": c[2]});
        if let Some(m) = o.as_object_mut() {
            if matches!(kind, Some(RbKind::Course) | Some(RbKind::Enrollment)) {
                m.insert("concluded".into(), c[3].into());
            }
            if kind == Some(RbKind::Enrollment) {
                m.insert("deactivated".into(), c[4].into());
            }
        }
        out.insert(name.into(), o);
    }
    serde_json::Value::Object(out)
}

/// A copy of a CSV without its `password` and `ssha_password` columns, as Canvas stores the
/// uploaded files it offers for download. Files without those columns (or that do not parse)
/// are shared as they are.
fn without_password_columns(bytes: &Arc<Vec<u8>>) -> Arc<Vec<u8>> {
    let secret = |h: &str| {
        let h = h.trim().to_ascii_lowercase();
        h == "password" || h == "ssha_password"
    };
    let Some(text) = decode(bytes) else {
        return bytes.clone();
    };
    let mut records = Records::new(text);
    let Some(Ok(header)) = records.next() else {
        return bytes.clone();
    };
    if !header.fields.iter().any(|h| secret(h)) {
        return bytes.clone();
    }
    let keep: Vec<usize> = (0..header.fields.len())
        .filter(|i| !secret(&header.fields[*i]))
        .collect();
    let pick = |fields: &[Cow<str>]| -> Vec<String> {
        keep.iter()
            .map(|i| fields.get(*i).map(|f| f.to_string()).unwrap_or_default())
            .collect()
    };
    let mut rows = Vec::new();
    for r in records {
        match r {
            Ok(r) => rows.push(pick(&r.fields)),
            // A malformed file is kept out of the copy rather than shown with its passwords.
            Err(_) => break,
        }
    }
    Arc::new(diff::write_csv(&pick(&header.fields), &rows))
}
