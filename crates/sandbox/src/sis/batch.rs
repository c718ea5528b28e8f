//! The SIS batch (Canvas `SisBatch`): its options, state, messages, and its JSON.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::model::Time;
use crate::render::time;
use crate::store::Store;

/// The CSV kinds in Canvas's fixed processing order (canvas-sis-csv.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    ChangeSisId,
    Account,
    Term,
    AbstractCourse,
    Course,
    Section,
    Xlist,
    User,
    Login,
    Enrollment,
    Admin,
    GroupCategory,
    Group,
    GroupMembership,
    GradePublishingResults,
    UserObserver,
}

impl Kind {
    pub const ALL: [Kind; 16] = [
        Kind::ChangeSisId,
        Kind::Account,
        Kind::Term,
        Kind::AbstractCourse,
        Kind::Course,
        Kind::Section,
        Kind::Xlist,
        Kind::User,
        Kind::Login,
        Kind::Enrollment,
        Kind::Admin,
        Kind::GroupCategory,
        Kind::Group,
        Kind::GroupMembership,
        Kind::GradePublishingResults,
        Kind::UserObserver,
    ];

    /// Name in `supplied_batches`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ChangeSisId => "change_sis_id",
            Kind::Account => "account",
            Kind::Term => "term",
            Kind::AbstractCourse => "abstract_course",
            Kind::Course => "course",
            Kind::Section => "section",
            Kind::Xlist => "xlist",
            Kind::User => "user",
            Kind::Login => "login",
            Kind::Enrollment => "enrollment",
            Kind::Admin => "admin",
            Kind::GroupCategory => "group_category",
            Kind::Group => "group",
            Kind::GroupMembership => "group_membership",
            Kind::GradePublishingResults => "grade_publishing_results",
            Kind::UserObserver => "user_observer",
        }
    }

    /// Key in `data.counts`.
    pub fn count_key(self) -> &'static str {
        match self {
            Kind::ChangeSisId => "change_sis_ids",
            Kind::Account => "accounts",
            Kind::Term => "terms",
            Kind::AbstractCourse => "abstract_courses",
            Kind::Course => "courses",
            Kind::Section => "sections",
            Kind::Xlist => "xlists",
            Kind::User => "users",
            Kind::Login => "logins",
            Kind::Enrollment => "enrollments",
            Kind::Admin => "admins",
            Kind::GroupCategory => "group_categories",
            Kind::Group => "groups",
            Kind::GroupMembership => "group_memberships",
            Kind::GradePublishingResults => "grade_publishing_results",
            Kind::UserObserver => "user_observers",
        }
    }

    /// Canvas's header test; the first kind (in processing order) that matches wins.
    pub fn detect(headers: &[String]) -> Option<Kind> {
        let has = |h: &str| headers.iter().any(|x| x == h);
        let any = |hs: &[&str]| hs.iter().any(|h| has(h));
        let existing = [
            "existing_user_id",
            "existing_integration_id",
            "existing_canvas_user_id",
        ];
        Kind::ALL.into_iter().find(|k| match k {
            Kind::ChangeSisId => any(&["old_id", "old_integration_id"]),
            Kind::Account => has("account_id") && has("parent_account_id"),
            Kind::Term => has("term_id") && has("name"),
            Kind::AbstractCourse => has("abstract_course_id") && has("short_name"),
            Kind::Course => has("course_id") && has("short_name"),
            Kind::Section => has("section_id") && has("name"),
            Kind::Xlist => has("xlist_course_id") && has("section_id"),
            Kind::User => has("user_id") && has("login_id") && !any(&existing),
            Kind::Login => any(&existing),
            Kind::Enrollment => {
                any(&["section_id", "course_id"]) && any(&["user_id", "user_integration_id"])
            }
            Kind::Admin => has("account_id") && has("user_id"),
            Kind::GroupCategory => has("group_category_id") && has("category_name"),
            Kind::Group => has("group_id") && has("name"),
            Kind::GroupMembership => has("group_id") && has("user_id"),
            Kind::GradePublishingResults => has("enrollment_id") && has("grade_publishing_status"),
            Kind::UserObserver => has("observer_id") && has("student_id"),
        })
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Canvas workflow states of a batch (§9.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchState {
    Initializing,
    Created,
    Importing,
    CleanupBatch,
    Imported,
    ImportedWithMessages,
    Aborted,
    Failed,
    FailedWithMessages,
    Restoring,
    PartiallyRestored,
    Restored,
}

impl BatchState {
    pub const ALL: [BatchState; 12] = [
        BatchState::Initializing,
        BatchState::Created,
        BatchState::Importing,
        BatchState::CleanupBatch,
        BatchState::Imported,
        BatchState::ImportedWithMessages,
        BatchState::Aborted,
        BatchState::Failed,
        BatchState::FailedWithMessages,
        BatchState::Restoring,
        BatchState::PartiallyRestored,
        BatchState::Restored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Initializing => "initializing",
            BatchState::Created => "created",
            BatchState::Importing => "importing",
            BatchState::CleanupBatch => "cleanup_batch",
            BatchState::Imported => "imported",
            BatchState::ImportedWithMessages => "imported_with_messages",
            BatchState::Aborted => "aborted",
            BatchState::Failed => "failed",
            BatchState::FailedWithMessages => "failed_with_messages",
            BatchState::Restoring => "restoring",
            BatchState::PartiallyRestored => "partially_restored",
            BatchState::Restored => "restored",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Not yet finished: abort applies.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            BatchState::Initializing
                | BatchState::Created
                | BatchState::Importing
                | BatchState::CleanupBatch
        )
    }
}

/// The options of `POST sis_imports` as Canvas stores them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BatchOptions {
    pub batch_mode: bool,
    pub batch_mode_term_id: Option<u64>,
    pub multi_term_batch_mode: bool,
    pub batch_mode_enrollment_drop_status: Option<String>,
    pub skip_deletes: bool,
    pub override_sis_stickiness: bool,
    pub add_sis_stickiness: bool,
    pub clear_sis_stickiness: bool,
    pub update_sis_id_if_login_claimed: bool,
    pub diffing_data_set_identifier: Option<String>,
    pub diffing_remaster: bool,
    pub diffing_drop_status: Option<String>,
    pub diffing_user_remove_status: Option<String>,
    pub change_threshold: Option<u64>,
    pub diff_row_count_threshold: Option<u64>,
}

/// One `SisBatchError`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SisMessage {
    pub file: String,
    pub message: String,
    pub row: Option<u64>,
    /// `true` for errors, `false` for warnings.
    pub failure: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SisBatch {
    pub id: u64,
    pub account_id: u64,
    pub created_at: Time,
    pub updated_at: Time,
    pub started_at: Option<Time>,
    pub ended_at: Option<Time>,
    pub workflow_state: BatchState,
    pub progress: u8,
    pub options: BatchOptions,
    /// Upload: file name and bytes.
    pub filename: String,
    /// Persisted apart from the JSON (it can be hundreds of MB).
    #[serde(skip)]
    pub attachment: Arc<Vec<u8>>,
    /// `None` until processing starts (then every key is rendered).
    pub counts: Option<[u64; 16]>,
    pub supplied: Vec<Kind>,
    pub messages: Vec<SisMessage>,
    pub error_message: Option<String>,
    pub batch_deleted: Option<BatchDeleted>,
    /// The baseline this batch was diffed against.
    pub diffed_against: Option<u64>,
    pub diffing_threshold_exceeded: bool,
    /// `data.statistics`, computed from the roll-back journal when the batch finishes.
    #[serde(default)]
    pub statistics: Option<Value>,
    /// Who created the import: the token's user (`user` in the JSON).
    #[serde(default)]
    pub user_id: Option<u64>,
    /// Stored files (`Store::files`) of the uploaded CSVs, the diffed CSVs and the errors CSV.
    #[serde(default)]
    pub csv_files: Vec<u64>,
    #[serde(default)]
    pub diffed_files: Vec<u64>,
    #[serde(default)]
    pub errors_file: Option<u64>,
}

/// `batch_*_deleted` counts in batch mode.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct BatchDeleted {
    pub courses: u64,
    pub sections: u64,
    pub enrollments: u64,
}

/// Canvas lists at most this many messages of each class in the JSON.
const MESSAGE_LIMIT: usize = 24;

impl SisBatch {
    pub fn error_count(&self) -> usize {
        self.messages.iter().filter(|m| m.failure).count()
    }
    pub fn warning_count(&self) -> usize {
        self.messages.iter().filter(|m| !m.failure).count()
    }

    /// The errors CSV (`sis_import_id,file,message,row`).
    pub fn errors_csv(&self) -> String {
        let mut out = String::from("sis_import_id,file,message,row\n");
        for m in &self.messages {
            let row = m.row.map(|r| r.to_string()).unwrap_or_default();
            out.push_str(&format!(
                "{},{},{},{}\n",
                self.id,
                crate::csv::quote(&m.file),
                crate::csv::quote(&m.message),
                row
            ));
        }
        out
    }

    fn message_pairs(&self, failure: bool, word: &str) -> Option<Value> {
        let all: Vec<&SisMessage> = self
            .messages
            .iter()
            .filter(|m| m.failure == failure)
            .collect();
        if all.is_empty() {
            return None;
        }
        let mut out: Vec<Value> = all
            .iter()
            .take(MESSAGE_LIMIT)
            .map(|m| json!([m.file, m.message]))
            .collect();
        if all.len() > MESSAGE_LIMIT {
            out.push(json!([
                format!(
                    "and {} more {} that were not included",
                    all.len() - MESSAGE_LIMIT,
                    word
                ),
                "Download the error file to see all errors."
            ]));
        }
        Some(Value::Array(out))
    }

    /// The SisImport JSON (canvas-sis-csv.md §9.3; lib/api/v1/sis_import.rb). `base` is the
    /// server's base URL, used for the files' download links.
    pub fn to_json(&self, store: &Store, base: &str) -> Value {
        let o = &self.options;
        let mut data = Map::new();
        data.insert("import_type".into(), json!("instructure_csv"));
        if let Some(counts) = &self.counts {
            data.insert(
                "supplied_batches".into(),
                json!(self.supplied.iter().map(|k| k.name()).collect::<Vec<_>>()),
            );
            let mut c = Map::new();
            for k in Kind::ALL {
                c.insert(k.count_key().into(), json!(counts[k.index()]));
            }
            c.insert("error_count".into(), json!(self.error_count()));
            c.insert("warning_count".into(), json!(self.warning_count()));
            if let Some(d) = self.batch_deleted {
                c.insert("batch_courses_deleted".into(), json!(d.courses));
                c.insert("batch_sections_deleted".into(), json!(d.sections));
                c.insert("batch_enrollments_deleted".into(), json!(d.enrollments));
            }
            data.insert("counts".into(), Value::Object(c));
            data.insert("running_immediately".into(), json!(false));
        }
        if let Some(s) = &self.statistics {
            data.insert("statistics".into(), s.clone());
        }
        if let Some(d) = self.diffed_against {
            data.insert("diffed_against_sis_batch_id".into(), json!(d));
        }
        if let Some(e) = &self.error_message {
            data.insert("error_message".into(), json!(e));
        }
        let opt_true = |b: bool| if b { json!(true) } else { Value::Null };
        let mut v = json!({
            "id": self.id,
            "created_at": time(self.created_at),
            "updated_at": time(self.updated_at),
            "started_at": self.started_at.map(time),
            "ended_at": self.ended_at.map(time),
            "progress": self.progress,
            "workflow_state": self.workflow_state.as_str(),
            "data": Value::Object(data),
            "batch_mode": opt_true(o.batch_mode),
            "batch_mode_term_id": o.batch_mode_term_id,
            "multi_term_batch_mode": opt_true(o.multi_term_batch_mode),
            "override_sis_stickiness": opt_true(o.override_sis_stickiness),
            "add_sis_stickiness": opt_true(o.add_sis_stickiness),
            "clear_sis_stickiness": opt_true(o.clear_sis_stickiness),
            "update_sis_id_if_login_claimed": o.update_sis_id_if_login_claimed,
            "skip_deletes": o.skip_deletes,
            "diffing_data_set_identifier": o.diffing_data_set_identifier,
            "diffing_remaster": opt_true(o.diffing_remaster),
            "diffed_against_import_id": self.diffed_against,
            "diffing_drop_status": o.diffing_drop_status,
            "diffing_user_remove_status": o.diffing_user_remove_status,
            "batch_mode_enrollment_drop_status": o.batch_mode_enrollment_drop_status,
            "change_threshold": o.change_threshold,
            "diff_row_count_threshold": o.diff_row_count_threshold,
        });
        let Some(obj) = v.as_object_mut() else {
            return v;
        };
        if o.diffing_data_set_identifier.is_some() {
            obj.insert(
                "diffing_threshold_exceeded".into(),
                json!(self.diffing_threshold_exceeded),
            );
        }
        if let Some(e) = self.message_pairs(true, "errors") {
            obj.insert("processing_errors".into(), e);
        }
        if let Some(w) = self.message_pairs(false, "warnings") {
            obj.insert("processing_warnings".into(), w);
        }
        let files = |ids: &[u64]| -> Vec<Value> {
            ids.iter()
                .filter_map(|id| store.file(*id))
                .map(|f| crate::render::file(base, f))
                .collect()
        };
        if let Some(f) = self.errors_file.and_then(|id| store.file(id)) {
            obj.insert("errors_attachment".into(), crate::render::file(base, f));
        }
        if let Some(u) = self.user_id.and_then(|id| store.user(id)) {
            obj.insert("user".into(), crate::render::user(store, u));
        }
        // Both lists are left out while empty, as Canvas does.
        if !self.csv_files.is_empty() {
            obj.insert(
                "csv_attachments".into(),
                Value::Array(files(&self.csv_files)),
            );
        }
        if !self.diffed_files.is_empty() {
            obj.insert(
                "diffed_csv_attachments".into(),
                Value::Array(files(&self.diffed_files)),
            );
        }
        v
    }
}
