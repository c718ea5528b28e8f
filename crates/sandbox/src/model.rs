//! The Canvas objects the sandbox keeps, as plain data.
//!
//! Ids are Canvas ids: `u64`, starting at 1, one counter per table, never reused. Objects are never
//! removed from their table; like Canvas, "deleting" sets `workflow_state`. That keeps ids stable
//! and lets a table be a `Vec` indexed by `id - 1`.

// Some fields are not read yet (root ids, creation times of every table): they are Canvas's
// data model and are kept for the persistence layer and the endpoints still to come.
#![allow(dead_code)]

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A timestamp as Canvas stores it (UTC, second precision in JSON).
pub type Time = DateTime<Utc>;

/// A field name an API edit made sticky (`stuck_sis_fields`): later SIS imports leave it alone
/// unless they override stickiness.
pub type StuckFields = BTreeSet<&'static str>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub id: u64,
    /// `None` only for root accounts.
    pub parent_account_id: Option<u64>,
    /// `None` only for root accounts (Canvas renders `null` for a root's own root).
    pub root_account_id: Option<u64>,
    pub name: String,
    pub workflow_state: ActiveDeleted,
    pub sis_source_id: Option<String>,
    pub integration_id: Option<String>,
    pub sis_batch_id: Option<u64>,
    #[serde(with = "stuck_serde")]
    pub stuck: StuckFields,
    pub created_at: Time,
}

impl Account {
    /// The root account this account belongs to (itself for a root).
    pub fn root_id(&self) -> u64 {
        self.root_account_id.unwrap_or(self.id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActiveDeleted {
    Active,
    Deleted,
}

impl ActiveDeleted {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deleted => "deleted",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Term {
    pub id: u64,
    pub root_account_id: u64,
    pub name: String,
    pub start_at: Option<Time>,
    pub end_at: Option<Time>,
    pub workflow_state: ActiveDeleted,
    pub sis_source_id: Option<String>,
    pub integration_id: Option<String>,
    pub sis_batch_id: Option<u64>,
    /// Per enrollment type date overrides: (type, start, end).
    pub overrides: Vec<(String, Option<Time>, Option<Time>)>,
    #[serde(with = "stuck_serde")]
    pub stuck: StuckFields,
    pub created_at: Time,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub sortable_name: String,
    pub short_name: String,
    pub pronouns: Option<String>,
    /// `registered`, `pre_registered` or `deleted`. SIS deletes never delete the user itself.
    pub workflow_state: String,
    #[serde(with = "stuck_serde")]
    pub stuck: StuckFields,
    pub created_at: Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginState {
    Active,
    Suspended,
    Deleted,
}

impl LoginState {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deleted => "deleted",
        }
    }
}

/// A login (Canvas `Pseudonym`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    pub id: u64,
    pub user_id: u64,
    /// The root account the login belongs to.
    pub account_id: u64,
    pub unique_id: String,
    pub sis_user_id: Option<String>,
    pub integration_id: Option<String>,
    pub authentication_provider_id: Option<String>,
    pub declared_user_type: Option<String>,
    pub workflow_state: LoginState,
    pub sis_batch_id: Option<u64>,
    /// Whether the password was set by SIS (so SIS may change it again).
    pub password_auto_generated: bool,
    pub has_password: bool,
    /// The SIS communication channel of this login: address and state (`active`/`retired`).
    pub email: Option<(String, String)>,
    #[serde(with = "stuck_serde")]
    pub stuck: StuckFields,
    pub created_at: Time,
}

impl Login {
    pub fn is_active(&self) -> bool {
        self.workflow_state != LoginState::Deleted
    }
}

/// Canvas course workflow states (internal names; `created`/`claimed` render as `unpublished`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CourseState {
    Created,
    Claimed,
    Available,
    Completed,
    Deleted,
}

impl CourseState {
    /// The value the REST API shows.
    pub fn api_str(self) -> &'static str {
        match self {
            Self::Created | Self::Claimed => "unpublished",
            Self::Available => "available",
            Self::Completed => "completed",
            Self::Deleted => "deleted",
        }
    }
    pub fn parse_internal(s: &str) -> Option<Self> {
        Some(match s {
            "created" => Self::Created,
            "claimed" => Self::Claimed,
            "available" => Self::Available,
            "completed" => Self::Completed,
            "deleted" => Self::Deleted,
            _ => return None,
        })
    }

    pub fn internal_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Claimed => "claimed",
            Self::Available => "available",
            Self::Completed => "completed",
            Self::Deleted => "deleted",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Course {
    pub id: u64,
    pub account_id: u64,
    pub root_account_id: u64,
    pub enrollment_term_id: u64,
    pub name: String,
    pub course_code: String,
    pub workflow_state: CourseState,
    pub sis_source_id: Option<String>,
    pub integration_id: Option<String>,
    pub sis_batch_id: Option<u64>,
    pub start_at: Option<Time>,
    pub conclude_at: Option<Time>,
    pub restrict_enrollments_to_course_dates: bool,
    pub course_format: Option<String>,
    pub grade_passback_setting: Option<String>,
    /// The grading scheme letter grades are computed with (`course[grading_standard_id]`).
    #[serde(default)]
    pub grading_standard_id: Option<u64>,
    #[serde(with = "stuck_serde")]
    pub stuck: StuckFields,
    pub created_at: Time,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Section {
    pub id: u64,
    pub course_id: u64,
    /// The original course while the section is cross-listed elsewhere.
    pub nonxlist_course_id: Option<u64>,
    pub root_account_id: u64,
    pub name: String,
    pub default_section: bool,
    pub workflow_state: ActiveDeleted,
    pub sis_source_id: Option<String>,
    pub integration_id: Option<String>,
    pub sis_batch_id: Option<u64>,
    pub start_at: Option<Time>,
    pub end_at: Option<Time>,
    pub restrict_enrollments_to_section_dates: bool,
    #[serde(with = "stuck_serde")]
    pub stuck: StuckFields,
    pub created_at: Time,
}

/// The five built-in enrollment types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EnrollmentType {
    Student,
    Teacher,
    Ta,
    Designer,
    Observer,
}

impl EnrollmentType {
    pub const ALL: [EnrollmentType; 5] = [
        Self::Student,
        Self::Teacher,
        Self::Ta,
        Self::Designer,
        Self::Observer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Student => "StudentEnrollment",
            Self::Teacher => "TeacherEnrollment",
            Self::Ta => "TaEnrollment",
            Self::Designer => "DesignerEnrollment",
            Self::Observer => "ObserverEnrollment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Built-in role ids are fixed per root account in the sandbox (readable from roles later).
    pub fn builtin_role_id(self) -> u64 {
        match self {
            Self::Student => 3,
            Self::Teacher => 4,
            Self::Ta => 5,
            Self::Designer => 6,
            Self::Observer => 7,
        }
    }
}

/// Enrollment workflow states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnrollmentState {
    Active,
    Invited,
    Inactive,
    Completed,
    Deleted,
}

impl EnrollmentState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Invited => "invited",
            Self::Inactive => "inactive",
            Self::Completed => "completed",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => Self::Active,
            "invited" => Self::Invited,
            "inactive" => Self::Inactive,
            "completed" => Self::Completed,
            "deleted" => Self::Deleted,
            _ => return None,
        })
    }
}

/// A grading scheme (`GradingStandard`): bands as (name, lower bound 0..1), highest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GradingStandard {
    pub id: u64,
    /// `Course` or `Account`.
    pub context_type: String,
    pub context_id: u64,
    pub title: String,
    pub scheme: Vec<(String, f64)>,
}

impl GradingStandard {
    /// Canvas's `GradingStandard#score_to_grade`: a negative score counts as 0; the highest
    /// band whose lower bound (as a percentage) is at or below the score; below every band,
    /// the lowest. Bounds are compared at 0.01 % precision, as Canvas's BigDecimal does.
    pub fn score_to_grade(&self, score: f64) -> Option<String> {
        let score = score.max(0.0);
        let pct = |b: f64| (b * 10_000.0).round() / 100.0;
        self.scheme
            .iter()
            .find(|(_, b)| score >= pct(*b))
            .or_else(|| self.scheme.last())
            .map(|(n, _)| n.clone())
    }
}

/// Grade fields Canvas shows on student enrollments; set through the sandbox admin endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Grades {
    pub current_score: Option<f64>,
    pub final_score: Option<f64>,
    pub current_grade: Option<String>,
    pub final_grade: Option<String>,
    pub override_score: Option<f64>,
    pub override_grade: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enrollment {
    pub id: u64,
    pub user_id: u64,
    pub course_id: u64,
    pub course_section_id: u64,
    pub root_account_id: u64,
    pub kind: EnrollmentType,
    pub role_id: u64,
    pub associated_user_id: Option<u64>,
    pub workflow_state: EnrollmentState,
    pub sis_batch_id: Option<u64>,
    pub start_at: Option<Time>,
    pub end_at: Option<Time>,
    pub completed_at: Option<Time>,
    pub limit_privileges_to_course_section: bool,
    pub grades: Grades,
    #[serde(with = "stuck_serde")]
    pub stuck: StuckFields,
    pub created_at: Time,
    pub updated_at: Time,
}

/// A parent/observer link (`UserObservationLink`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObserverLink {
    pub id: u64,
    pub observer_id: u64,
    pub student_id: u64,
    pub root_account_id: u64,
    pub workflow_state: ActiveDeleted,
    pub sis_batch_id: Option<u64>,
}

/// A custom or built-in role.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    pub id: u64,
    pub name: String,
    /// `StudentEnrollment` … or `AccountMembership`.
    pub base_role_type: String,
    pub account_id: u64,
    pub built_in: bool,
    pub workflow_state: String,
}

/// An account admin (`AccountUser`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountUser {
    pub id: u64,
    pub user_id: u64,
    pub account_id: u64,
    pub role_id: u64,
    pub workflow_state: ActiveDeleted,
    pub sis_batch_id: Option<u64>,
}

/// Every `&'static str` value the model stores (states and stuck field names), so persisted
/// values map back to the same statics without leaking memory.
const KNOWN: &[&str] = &[
    "registered",
    "pre_registered",
    "deleted",
    "active",
    "retired",
    "built_in",
    "inactive",
    "suspended",
    "name",
    "sortable_name",
    "short_name",
    "unique_id",
    "workflow_state",
    "parent_account_id",
    "start_date",
    "end_date",
    "course_code",
    "account_id",
    "term_id",
    "start_at",
    "conclude_at",
    "course_id",
    "end_at",
];

pub fn intern(s: &str) -> Option<&'static str> {
    KNOWN.iter().copied().find(|k| *k == s)
}

fn unknown<E: serde::de::Error>(s: &str) -> E {
    E::custom(format!("unknown stored value {s:?}"))
}

mod stuck_serde {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::StuckFields;

    pub fn serialize<S: Serializer>(v: &StuckFields, s: S) -> Result<S::Ok, S::Error> {
        v.iter().collect::<Vec<_>>().serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<StuckFields, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|x| super::intern(x).ok_or_else(|| super::unknown(x)))
            .collect()
    }
}

/// Where a group or group category lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Context {
    Account(u64),
    Course(u64),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupCategory {
    pub id: u64,
    pub name: String,
    pub context: Context,
    pub sis_source_id: Option<String>,
    /// Canvas soft-deletes categories with `deleted_at`.
    pub deleted: bool,
    pub sis_batch_id: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub id: u64,
    pub name: String,
    pub context: Context,
    pub group_category_id: Option<u64>,
    pub sis_source_id: Option<String>,
    /// `available` or `deleted`.
    pub workflow_state: String,
    pub sis_batch_id: Option<u64>,
    #[serde(with = "stuck_serde")]
    pub stuck: StuckFields,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupMembership {
    pub id: u64,
    pub group_id: u64,
    pub user_id: u64,
    /// `accepted` or `deleted`.
    pub workflow_state: String,
    pub sis_batch_id: Option<u64>,
}

/// The object types Canvas keeps roll-back data for, in Canvas's restore order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RbKind {
    Account,
    EnrollmentTerm,
    Course,
    CourseSection,
    GroupCategory,
    Group,
    Pseudonym,
    Enrollment,
    GroupMembership,
    UserObserver,
    AccountUser,
}

impl RbKind {
    pub const ALL: [RbKind; 11] = [
        RbKind::Account,
        RbKind::EnrollmentTerm,
        RbKind::Course,
        RbKind::CourseSection,
        RbKind::GroupCategory,
        RbKind::Group,
        RbKind::Pseudonym,
        RbKind::Enrollment,
        RbKind::GroupMembership,
        RbKind::UserObserver,
        RbKind::AccountUser,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RbKind::Account => "Account",
            RbKind::EnrollmentTerm => "EnrollmentTerm",
            RbKind::Course => "Course",
            RbKind::CourseSection => "CourseSection",
            RbKind::GroupCategory => "GroupCategory",
            RbKind::Group => "Group",
            RbKind::Pseudonym => "Pseudonym",
            RbKind::Enrollment => "Enrollment",
            RbKind::GroupMembership => "GroupMembership",
            RbKind::UserObserver => "UserObserver",
            RbKind::AccountUser => "AccountUser",
        }
    }
}

/// Workflow-state names, stored as small codes in the roll-back journal (it has an entry per
/// changed object, so millions for a district import).
const STATE_NAMES: &[&str] = &[
    "active",
    "deleted",
    "suspended",
    "created",
    "claimed",
    "available",
    "completed",
    "inactive",
    "invited",
    "accepted",
];

pub fn state_code(s: &str) -> u8 {
    STATE_NAMES
        .iter()
        .position(|x| *x == s)
        .map(|i| i as u8)
        .unwrap_or(u8::MAX)
}

pub fn state_name(code: u8) -> Option<&'static str> {
    STATE_NAMES.get(code as usize).copied()
}

/// One recorded state change of an import (Canvas `SisBatchRollBackData`): what
/// `restore_states` reverts and what `data.statistics` counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RollBack {
    pub batch_id: u64,
    pub kind: RbKind,
    pub id: u64,
    /// `None` when the import created the object ("non-existent" before); see `state_code`.
    pub previous: Option<u8>,
    pub updated: u8,
    pub batch_mode_delete: bool,
    pub restored: bool,
}

/// An asynchronous job's progress (Canvas `Progress`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    pub id: u64,
    pub context_id: u64,
    pub context_type: String,
    pub tag: String,
    pub workflow_state: String,
    pub completion: f64,
    pub message: Option<String>,
    pub created_at: Time,
    pub updated_at: Time,
}

/// What a stored file is to the SIS import that owns it (Canvas keeps them all as
/// `Attachment`s with the batch as context).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileRole {
    /// The upload itself (the batch's `attachment`), e.g. from a `pre_attachment` upload.
    SisUpload,
    /// One uploaded CSV, password columns removed (`csv_attachments`).
    Csv,
    /// One CSV of the generated diff (`diffed_csv_attachments`).
    DiffedCsv,
    /// The errors CSV (`errors_attachment`).
    Errors,
}

/// A file the sandbox serves at `/files/:id/download` (Canvas `Attachment`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredFile {
    pub id: u64,
    /// Canvas's random `uuid`; doubles as the `verifier` that lets a download URL work
    /// without a token, like Canvas's signed file URLs.
    pub uuid: String,
    pub display_name: String,
    pub content_type: String,
    pub size: u64,
    pub batch_id: u64,
    pub role: FileRole,
    /// `false` until a `pre_attachment` upload has delivered the bytes.
    pub uploaded: bool,
    /// The secret a pending upload must send back in its `upload_params`.
    #[serde(default)]
    pub upload_token: Option<String>,
    pub created_at: Time,
    /// Persisted apart from the JSON lines (files can be large).
    #[serde(skip)]
    pub bytes: std::sync::Arc<Vec<u8>>,
}
