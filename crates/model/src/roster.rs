//! The canonical SIS roster: what every source adapter produces.
//!
//! Shaped after OneRoster 1.1/1.2 because that is the richest common model; Clever and
//! generic CSV sources map into it. Records reference each other by `sourcedId`
//! ([`SisId`]), except enrollments, which are by far the most numerous and hold
//! indexes into [`Roster::users`], [`Roster::classes`] and [`Roster::orgs`] (resolved
//! and validated by the source), to keep a state-wide roster small in memory.

pub use crate::texts::{ListIter, UserTexts, UserTextsOwned, UserTextsRef};
use crate::{SisId, SourceRef, Str};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Which OneRoster version a source spoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OneRosterVersion {
    #[serde(rename = "1.1")]
    #[default]
    V1_1,
    #[serde(rename = "1.2")]
    V1_2,
}

/// A complete roster, as of the source's last exchange (deltas already applied).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Roster {
    pub orgs: Vec<Org>,
    pub sessions: Vec<AcademicSession>,
    pub courses: Vec<Course>,
    pub classes: Vec<Class>,
    pub users: Vec<User>,
    pub enrollments: Vec<Enrollment>,
    pub demographics: Vec<Demographics>,
}

impl Roster {
    /// Counts per table, for reports.
    pub fn counts(&self) -> RosterCounts {
        RosterCounts {
            orgs: self.orgs.len(),
            sessions: self.sessions.len(),
            courses: self.courses.len(),
            classes: self.classes.len(),
            users: self.users.len(),
            enrollments: self.enrollments.len(),
            demographics: self.demographics.len(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterCounts {
    pub orgs: usize,
    pub sessions: usize,
    pub courses: usize,
    pub classes: usize,
    pub users: usize,
    pub enrollments: usize,
    pub demographics: usize,
}

/// An enumerated OneRoster value that may also be an `ext:` extension or, for tolerance,
/// any other string the provider sent (kept verbatim so mapping can report it).
macro_rules! vocab {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($variant,)*
            /// `ext:...` extension values and anything else not in the vocabulary, verbatim.
            /// Boxed: rare, and inline it would triple the size of every value.
            Other(Box<Str>),
        }

        impl $name {
            /// Parses case-insensitively (real exports send `Scheduled`, `TRUE`, ...).
            pub fn parse(s: &str) -> Self {
                $(if s.eq_ignore_ascii_case($text) { return $name::$variant; })*
                $name::Other(Box::new(Str::new(s)))
            }
            /// The spec spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(s) => s.as_str(),
                }
            }
            /// True when the value is neither in the vocabulary nor an `ext:` extension.
            pub fn is_unknown(&self) -> bool {
                matches!(self, $name::Other(s) if !s.starts_with("ext:"))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocab!(
    /// OneRoster org `type`.
    OrgType {
        Department = "department",
        District = "district",
        Local = "local",
        National = "national",
        School = "school",
        State = "state",
    }
);

vocab!(
    /// OneRoster academicSession `type`.
    SessionType {
        GradingPeriod = "gradingPeriod",
        Semester = "semester",
        SchoolYear = "schoolYear",
        Term = "term",
    }
);

vocab!(
    /// OneRoster class `classType`.
    ClassType {
        Homeroom = "homeroom",
        Scheduled = "scheduled",
    }
);

vocab!(
    /// A user's role (1.1 `role`, or 1.2 `roles[].role`).
    UserRole {
        Administrator = "administrator",
        Aide = "aide",
        Counselor = "counselor",
        DistrictAdministrator = "districtAdministrator",
        Guardian = "guardian",
        Parent = "parent",
        Principal = "principal",
        Proctor = "proctor",
        Relative = "relative",
        SiteAdministrator = "siteAdministrator",
        Student = "student",
        SystemAdministrator = "systemAdministrator",
        Teacher = "teacher",
    }
);

impl UserRole {
    /// Parent, guardian or relative: people who observe students rather than attend classes.
    pub fn is_agent(&self) -> bool {
        matches!(
            self,
            UserRole::Parent | UserRole::Guardian | UserRole::Relative
        )
    }
}

vocab!(
    /// An enrollment's `role` (the same four values in 1.1 and 1.2, plus `ext:`).
    EnrollmentRole {
        Administrator = "administrator",
        Proctor = "proctor",
        Student = "student",
        Teacher = "teacher",
    }
);

/// 1.2 `roleType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleType {
    Primary,
    Secondary,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Org {
    pub sourced_id: SisId,
    pub name: Str,
    pub org_type: OrgType,
    pub identifier: Option<Str>,
    pub parent: Option<SisId>,
    pub src: SourceRef,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcademicSession {
    pub sourced_id: SisId,
    pub title: Str,
    pub session_type: SessionType,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub parent: Option<SisId>,
    /// `YYYY`, the calendar year in which the school year ends.
    pub school_year: Str,
    pub src: SourceRef,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Course {
    pub sourced_id: SisId,
    pub school_year: Option<SisId>,
    pub title: Str,
    pub course_code: Option<Str>,
    pub grades: Vec<Str>,
    pub org: SisId,
    pub subjects: Vec<Str>,
    pub subject_codes: Vec<Str>,
    pub src: SourceRef,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Class {
    pub sourced_id: SisId,
    pub title: Str,
    pub grades: Vec<Str>,
    pub course: SisId,
    pub class_code: Option<Str>,
    pub class_type: ClassType,
    pub location: Option<Str>,
    pub school: SisId,
    pub terms: Vec<SisId>,
    pub subjects: Vec<Str>,
    pub subject_codes: Vec<Str>,
    pub periods: Vec<Str>,
    pub src: SourceRef,
}

/// One role a user holds at one org (1.2 roles.csv; synthesised from 1.1 `role` + `orgSourcedIds`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub role: UserRole,
    pub role_type: RoleType,
    pub org: SisId,
    pub begin_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

/// A person. Passwords are never read into the model.
///
/// The fields every sync uses are here; the rest sit in [`UserExtra`], allocated only
/// for users that have any of them, because a state-wide roster holds millions of users.
/// The names, login, email and id lists are packed in [`UserTexts`] (one allocation):
/// read them through the accessors, change them with [`User::edit_texts`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub sourced_id: SisId,
    /// `enabledUser`: false means the person exists but access is curtailed (suspend, not delete).
    pub enabled: bool,
    /// The primary role (1.1 `role`; 1.2 the primary entry of roles.csv).
    pub role: UserRole,
    /// `username`, `givenName`, `familyName`, `identifier`, `email`, `grades`,
    /// `orgSourcedIds` (1.2: the orgs of roles.csv) and `agentSourcedIds` (for students
    /// their parents/guardians/relatives, and the reverse).
    pub texts: UserTexts,
    pub src: SourceRef,
    pub extra: Option<Box<UserExtra>>,
}

impl User {
    pub fn username(&self) -> &str {
        self.texts.username()
    }
    pub fn given_name(&self) -> &str {
        self.texts.given_name()
    }
    pub fn family_name(&self) -> &str {
        self.texts.family_name()
    }
    pub fn identifier(&self) -> Option<&str> {
        self.texts.identifier()
    }
    pub fn email(&self) -> Option<&str> {
        self.texts.email()
    }
    pub fn grades(&self) -> ListIter<'_> {
        self.texts.grades()
    }
    /// Orgs the user belongs to.
    pub fn orgs(&self) -> ListIter<'_> {
        self.texts.orgs()
    }
    /// Parents/guardians/relatives of a student, or the students of one of them.
    pub fn agents(&self) -> ListIter<'_> {
        self.texts.agents()
    }
    /// Changes packed fields (repacks them: for edits, not for the bulk path).
    pub fn edit_texts(&mut self, f: impl FnOnce(&mut UserTextsOwned)) {
        self.texts.edit(f)
    }
}

/// The rarest user fields (OneRoster 1.2 roles and primary org, `userIds`), allocated
/// only for the users that have any. (The less common texts, a middle name or a phone,
/// are packed with the others in [`UserTexts`].)
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserExtra {
    more: UserMore,
}

/// The fields of [`UserExtra`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserMore {
    /// Every role at every org (1.2 roles.csv). Empty for 1.1 (one `role` for all `orgs`).
    pub roles: Vec<RoleAssignment>,
    /// `userIds`: `{type:identifier}` pairs.
    pub user_ids: Vec<(Str, Str)>,
    pub primary_org: Option<SisId>,
}

impl UserMore {
    pub fn is_empty(&self) -> bool {
        *self == UserMore::default()
    }
}

impl UserExtra {
    /// `None` when nothing is set.
    pub fn pack(more: UserMore) -> Option<Box<UserExtra>> {
        (!more.is_empty()).then(|| Box::new(UserExtra { more }))
    }

    /// True when no field is set (then a user needs no `extra` at all).
    pub fn is_empty(&self) -> bool {
        self.more.is_empty()
    }

    /// Every role at every org (1.2 roles.csv); empty for 1.1.
    pub fn roles(&self) -> &[RoleAssignment] {
        &self.more.roles
    }
    pub fn user_ids(&self) -> &[(Str, Str)] {
        &self.more.user_ids
    }
    pub fn primary_org(&self) -> Option<&SisId> {
        self.more.primary_org.as_ref()
    }

    /// The fields, for changing them.
    pub fn more_mut(&mut self) -> &mut UserMore {
        &mut self.more
    }
}

/// `User::middle_name()` and the like: the less common texts, `None` when empty.
macro_rules! text_accessors {
    ($($name:ident),* $(,)?) => {
        impl User {
            $(pub fn $name(&self) -> Option<&str> {
                self.texts.$name()
            })*
        }
    };
}

text_accessors!(
    middle_name,
    preferred_given_name,
    preferred_middle_name,
    preferred_family_name,
    pronouns,
    user_master_identifier,
    sms,
    phone,
);

impl User {
    /// The rarest fields, or all-empty ones.
    pub fn extra(&self) -> &UserExtra {
        static EMPTY: std::sync::OnceLock<UserExtra> = std::sync::OnceLock::new();
        self.extra
            .as_deref()
            .unwrap_or_else(|| EMPTY.get_or_init(UserExtra::default))
    }
}

/// An enrollment. `class`, `user` and `school` are indexes into the roster's vectors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Enrollment {
    pub sourced_id: SisId,
    pub class: u32,
    pub user: u32,
    pub school: u32,
    pub role: EnrollmentRole,
    pub primary: Option<bool>,
    /// Inclusive.
    pub begin_date: Option<NaiveDate>,
    /// Exclusive.
    pub end_date: Option<NaiveDate>,
    pub src: SourceRef,
}

/// Demographics (optional file); `sourced_id` is the user's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Demographics {
    pub sourced_id: SisId,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<Str>,
    pub src: SourceRef,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_the_big_tables_stay_small() {
        // A state-wide roster holds millions of these: growth here is memory, page faults
        // and time in every plan (docs/benchmarks.md).
        assert!(std::mem::size_of::<Enrollment>() <= 72);
        // (Its texts are one allocation: see texts.rs.)
        assert!(std::mem::size_of::<User>() <= 80);
        assert!(std::mem::size_of::<EnrollmentRole>() <= 16);
        // 1.2 roles, userIds and primary org: rare, boxed.
        assert!(std::mem::size_of::<Option<Box<UserExtra>>>() <= 8);
    }

    #[test]
    fn user_extras_exist_only_when_set() {
        assert_eq!(UserExtra::pack(UserMore::default()), None);
        let mut x = UserExtra::pack(UserMore {
            primary_org: Some(SisId::new("s1")),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(x.primary_org().map(SisId::as_str), Some("s1"));
        assert!(x.roles().is_empty() && x.user_ids().is_empty());
        x.more_mut().primary_org = None;
        assert!(x.is_empty());
    }
}
