//! The desired Canvas state: what Canvas should hold, in Canvas's vocabulary.
//!
//! Produced by the mapping from a [`crate::roster::Roster`], consumed by the planner.
//! Every object renders to a [`Row`] of its [`Kind`]; enrollments and observer links
//! hold indexes into [`DesiredState::sections`] and [`DesiredState::users`] to stay
//! small at state-wide scale.

use crate::hash::{composite_key, content_hash_of, KeyHash};
use crate::kind::{Kind, Row, Status};
use crate::{SisId, SourceRef, Str};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A Canvas base enrollment role, or a custom role by name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CanvasRole {
    Student,
    Teacher,
    Ta,
    Observer,
    Designer,
    /// A custom course role, by its exact name (optionally with its resolved role id).
    /// Boxed: rare, and it would double the size of every enrollment.
    Custom(Box<CustomRole>),
}

/// A custom Canvas course role.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CustomRole {
    pub name: Str,
    pub role_id: Option<u64>,
}

impl CanvasRole {
    /// The `role` column value.
    pub fn as_str(&self) -> &str {
        match self {
            CanvasRole::Student => "student",
            CanvasRole::Teacher => "teacher",
            CanvasRole::Ta => "ta",
            CanvasRole::Observer => "observer",
            CanvasRole::Designer => "designer",
            CanvasRole::Custom(c) => c.name.as_str(),
        }
    }

    pub fn parse(s: &str) -> CanvasRole {
        match s {
            "student" => CanvasRole::Student,
            "teacher" => CanvasRole::Teacher,
            "ta" => CanvasRole::Ta,
            "observer" => CanvasRole::Observer,
            "designer" => CanvasRole::Designer,
            other => CanvasRole::Custom(Box::new(CustomRole {
                name: Str::new(other),
                role_id: None,
            })),
        }
    }
}

/// Canvas's date form for SIS CSV: a plain date is read in the account's time zone.
pub fn format_date(d: NaiveDate) -> Str {
    let mut s = Str::default();
    crate::date::push_date(&mut s, d);
    s
}

/// End of a day in the account's time zone, for inclusive end dates (session `endDate`).
pub fn format_end_of_day(d: NaiveDate) -> Str {
    let mut s = format_date(d);
    s.push_str("T23:59:59");
    s
}

fn opt(s: &Option<Str>) -> &str {
    s.as_deref().unwrap_or("")
}

/// A sub-account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub sis_id: SisId,
    pub integration_id: Option<Str>,
    /// SIS id of the parent account; `None` means the root account.
    pub parent: Option<SisId>,
    pub name: Str,
    pub src: Option<SourceRef>,
}

impl Account {
    pub fn key(&self) -> String {
        self.sis_id.to_string()
    }
    /// The cells of its row, in [`Kind::columns`] order.
    pub fn with_cells<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
        f(&[
            self.sis_id.as_str(),
            opt(&self.integration_id),
            self.parent.as_ref().map(|p| p.as_str()).unwrap_or(""),
            self.name.as_str(),
            Status::Active.as_str(),
        ])
    }
    pub fn row(&self) -> Row {
        self.with_cells(|c| Row::from_cells(Kind::Accounts, c))
    }
}

/// An enrollment term.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Term {
    pub sis_id: SisId,
    pub integration_id: Option<Str>,
    pub name: Str,
    pub start: Option<NaiveDate>,
    /// Inclusive last day.
    pub end: Option<NaiveDate>,
    pub src: Option<SourceRef>,
}

impl Term {
    pub fn key(&self) -> String {
        self.sis_id.to_string()
    }
    /// The cells of its row, in [`Kind::columns`] order.
    pub fn with_cells<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
        let start = self.start.map(format_date).unwrap_or_default();
        let end = self.end.map(format_end_of_day).unwrap_or_default();
        f(&[
            self.sis_id.as_str(),
            opt(&self.integration_id),
            self.name.as_str(),
            Status::Active.as_str(),
            start.as_str(),
            end.as_str(),
        ])
    }
    pub fn row(&self) -> Row {
        self.with_cells(|c| Row::from_cells(Kind::Terms, c))
    }
}

/// A user with their SIS login.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub sis_id: SisId,
    pub login_id: Str,
    pub first_name: Str,
    pub last_name: Str,
    pub email: Option<Str>,
    /// `Active`, or `Suspended` when the SIS disabled the person (`enabledUser=false`).
    pub status: Status,
    pub src: Option<SourceRef>,
    /// Fields that are usually empty, boxed to keep millions of users small.
    pub extra: Option<Box<UserFields>>,
}

/// The usually empty user columns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserFields {
    pub integration_id: Option<Str>,
    pub authentication_provider_id: Option<Str>,
    pub full_name: Option<Str>,
    pub sortable_name: Option<Str>,
    pub short_name: Option<Str>,
}

impl User {
    /// A user with the usual fields and none of the rare ones.
    pub fn new(
        sis_id: SisId,
        login_id: Str,
        first_name: Str,
        last_name: Str,
        email: Option<Str>,
        status: Status,
    ) -> User {
        User {
            sis_id,
            login_id,
            first_name,
            last_name,
            email,
            status,
            src: None,
            extra: None,
        }
    }

    pub fn key(&self) -> String {
        self.sis_id.to_string()
    }
    /// The cells of its row, in [`Kind::columns`] order.
    pub fn with_cells<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
        let none = UserFields::default();
        let x = self.extra.as_deref().unwrap_or(&none);
        f(&[
            self.sis_id.as_str(),
            opt(&x.integration_id),
            self.login_id.as_str(),
            opt(&x.authentication_provider_id),
            self.first_name.as_str(),
            self.last_name.as_str(),
            opt(&x.full_name),
            opt(&x.sortable_name),
            opt(&x.short_name),
            opt(&self.email),
            self.status.as_str(),
        ])
    }
    pub fn row(&self) -> Row {
        self.with_cells(|c| Row::from_cells(Kind::Users, c))
    }
}

/// A course.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Course {
    pub sis_id: SisId,
    pub integration_id: Option<Str>,
    pub short_name: Str,
    pub long_name: Str,
    /// SIS id of the sub-account; `None` means the root account.
    pub account: Option<SisId>,
    pub term: Option<SisId>,
    pub start: Option<NaiveDate>,
    /// Inclusive last day.
    pub end: Option<NaiveDate>,
    pub src: Option<SourceRef>,
}

impl Course {
    pub fn key(&self) -> String {
        self.sis_id.to_string()
    }
    /// The cells of its row, in [`Kind::columns`] order.
    pub fn with_cells<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
        let start = self.start.map(format_date).unwrap_or_default();
        let end = self.end.map(format_end_of_day).unwrap_or_default();
        f(&[
            self.sis_id.as_str(),
            opt(&self.integration_id),
            self.short_name.as_str(),
            self.long_name.as_str(),
            self.account.as_ref().map(|a| a.as_str()).unwrap_or(""),
            self.term.as_ref().map(|t| t.as_str()).unwrap_or(""),
            Status::Active.as_str(),
            start.as_str(),
            end.as_str(),
        ])
    }
    pub fn row(&self) -> Row {
        self.with_cells(|c| Row::from_cells(Kind::Courses, c))
    }
}

/// A section of a course.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub sis_id: SisId,
    pub integration_id: Option<Str>,
    pub course: SisId,
    pub name: Str,
    pub start: Option<NaiveDate>,
    /// Inclusive last day.
    pub end: Option<NaiveDate>,
    pub src: Option<SourceRef>,
}

impl Section {
    pub fn key(&self) -> String {
        self.sis_id.to_string()
    }
    /// The cells of its row, in [`Kind::columns`] order.
    pub fn with_cells<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
        let start = self.start.map(format_date).unwrap_or_default();
        let end = self.end.map(format_end_of_day).unwrap_or_default();
        f(&[
            self.sis_id.as_str(),
            opt(&self.integration_id),
            self.course.as_str(),
            self.name.as_str(),
            Status::Active.as_str(),
            start.as_str(),
            end.as_str(),
        ])
    }
    pub fn row(&self) -> Row {
        self.with_cells(|c| Row::from_cells(Kind::Sections, c))
    }
}

/// A section enrollment. `section` and `user` index [`DesiredState::sections`] and
/// [`DesiredState::users`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Enrollment {
    pub section: u32,
    pub user: u32,
    pub role: CanvasRole,
    pub status: Status,
    pub start: Option<NaiveDate>,
    /// Exclusive (OneRoster `endDate`): written as the start of that day.
    pub end: Option<NaiveDate>,
    pub src: Option<SourceRef>,
}

/// A parent/guardian observing a student. Indexes into [`DesiredState::users`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObserverLink {
    pub observer: u32,
    pub student: u32,
}

/// Everything Canvas should hold, per kind. Vectors are sorted by key by the mapping
/// so that every output is deterministic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DesiredState {
    pub accounts: Vec<Account>,
    pub terms: Vec<Term>,
    pub users: Vec<User>,
    pub courses: Vec<Course>,
    pub sections: Vec<Section>,
    pub enrollments: Vec<Enrollment>,
    pub observers: Vec<ObserverLink>,
}

impl DesiredState {
    /// Number of objects of a kind.
    pub fn len(&self, kind: Kind) -> usize {
        match kind {
            Kind::Accounts => self.accounts.len(),
            Kind::Terms => self.terms.len(),
            Kind::Users => self.users.len(),
            Kind::Courses => self.courses.len(),
            Kind::Sections => self.sections.len(),
            Kind::Enrollments => self.enrollments.len(),
            Kind::UserObservers => self.observers.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        Kind::ALL.iter().all(|k| self.len(*k) == 0)
    }

    /// Position of each course by SIS id (of a repeated id, the last).
    pub fn course_positions(&self) -> rustc_hash::FxHashMap<&str, u32> {
        positions(&self.courses, |c| c.sis_id.as_str())
    }

    /// Position of each section by SIS id (of a repeated id, the last).
    pub fn section_positions(&self) -> rustc_hash::FxHashMap<&str, u32> {
        positions(&self.sections, |s| s.sis_id.as_str())
    }

    /// SIS key of the `i`-th object of a kind (composite for enrollments and observers).
    pub fn key(&self, kind: Kind, i: usize) -> String {
        match kind {
            Kind::Accounts => self.accounts[i].key(),
            Kind::Terms => self.terms[i].key(),
            Kind::Users => self.users[i].key(),
            Kind::Courses => self.courses[i].key(),
            Kind::Sections => self.sections[i].key(),
            Kind::Enrollments => {
                let e = &self.enrollments[i];
                composite_key(&[
                    self.sections[e.section as usize].sis_id.as_str(),
                    self.users[e.user as usize].sis_id.as_str(),
                    e.role.as_str(),
                ])
            }
            Kind::UserObservers => {
                let o = &self.observers[i];
                composite_key(&[
                    self.users[o.observer as usize].sis_id.as_str(),
                    self.users[o.student as usize].sis_id.as_str(),
                ])
            }
        }
    }

    /// Canvas CSV row of the `i`-th object of a kind.
    pub fn row(&self, kind: Kind, i: usize) -> Row {
        self.with_cells(kind, i, |c| Row::from_cells(kind, c))
    }

    /// Calls `f` with the cells of the `i`-th object's row, in [`Kind::columns`] order,
    /// without allocating (the planner hashes millions of rows this way).
    pub fn with_cells<R>(&self, kind: Kind, i: usize, f: impl FnOnce(&[&str]) -> R) -> R {
        match kind {
            Kind::Accounts => self.accounts[i].with_cells(f),
            Kind::Terms => self.terms[i].with_cells(f),
            Kind::Users => self.users[i].with_cells(f),
            Kind::Courses => self.courses[i].with_cells(f),
            Kind::Sections => self.sections[i].with_cells(f),
            Kind::Enrollments => {
                let e = &self.enrollments[i];
                let role_id = match &e.role {
                    CanvasRole::Custom(c) => c
                        .role_id
                        .map(|id| compact_str::format_compact!("{id}"))
                        .unwrap_or_default(),
                    _ => Str::default(),
                };
                let start = e.start.map(format_date).unwrap_or_default();
                let end = e.end.map(format_date).unwrap_or_default();
                f(&[
                    self.sections[e.section as usize].sis_id.as_str(),
                    self.users[e.user as usize].sis_id.as_str(),
                    e.role.as_str(),
                    role_id.as_str(),
                    e.status.as_str(),
                    start.as_str(),
                    end.as_str(),
                ])
            }
            Kind::UserObservers => {
                let o = &self.observers[i];
                f(&[
                    self.users[o.observer as usize].sis_id.as_str(),
                    self.users[o.student as usize].sis_id.as_str(),
                    Status::Active.as_str(),
                ])
            }
        }
    }

    /// Key hash and content hash of the `i`-th object of a kind, without building its row
    /// or key (the planner's hot path). `buf` is scratch space reused between calls.
    pub fn hashes(&self, kind: Kind, i: usize, buf: &mut Vec<u8>) -> (KeyHash, u64) {
        let key = match kind {
            Kind::Accounts => KeyHash::of_parts(kind, &[self.accounts[i].sis_id.as_str()], buf),
            Kind::Terms => KeyHash::of_parts(kind, &[self.terms[i].sis_id.as_str()], buf),
            Kind::Users => KeyHash::of_parts(kind, &[self.users[i].sis_id.as_str()], buf),
            Kind::Courses => KeyHash::of_parts(kind, &[self.courses[i].sis_id.as_str()], buf),
            Kind::Sections => KeyHash::of_parts(kind, &[self.sections[i].sis_id.as_str()], buf),
            Kind::Enrollments => {
                let e = &self.enrollments[i];
                KeyHash::of_parts(
                    kind,
                    &[
                        self.sections[e.section as usize].sis_id.as_str(),
                        self.users[e.user as usize].sis_id.as_str(),
                        e.role.as_str(),
                    ],
                    buf,
                )
            }
            Kind::UserObservers => {
                let o = &self.observers[i];
                KeyHash::of_parts(
                    kind,
                    &[
                        self.users[o.observer as usize].sis_id.as_str(),
                        self.users[o.student as usize].sis_id.as_str(),
                    ],
                    buf,
                )
            }
        };
        (
            key,
            self.with_cells(kind, i, |c| content_hash_of(kind, c.iter().copied(), buf)),
        )
    }

    /// The source row the `i`-th object of a kind was built from, when known.
    pub fn src(&self, kind: Kind, i: usize) -> Option<SourceRef> {
        match kind {
            Kind::Accounts => self.accounts[i].src,
            Kind::Terms => self.terms[i].src,
            Kind::Users => self.users[i].src,
            Kind::Courses => self.courses[i].src,
            Kind::Sections => self.sections[i].src,
            Kind::Enrollments => self.enrollments[i].src,
            Kind::UserObservers => None,
        }
    }
}

fn positions<T>(items: &[T], id: impl Fn(&T) -> &str) -> rustc_hash::FxHashMap<&str, u32> {
    items
        .iter()
        .zip(0u32..)
        .map(|(item, i)| (id(item), i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn enrollment_rows_resolve_indexes_to_sis_ids() {
        let state = DesiredState {
            users: vec![User::new(
                SisId::new("u-007"),
                "bond".into(),
                "James".into(),
                "Bond".into(),
                None,
                Status::Active,
            )],
            sections: vec![Section {
                sis_id: SisId::new("cls-1"),
                integration_id: None,
                course: SisId::new("cls-1"),
                name: "Physics".into(),
                start: Some(d("2026-08-20")),
                end: Some(d("2027-01-15")),
                src: None,
            }],
            enrollments: vec![Enrollment {
                section: 0,
                user: 0,
                role: CanvasRole::Student,
                status: Status::Active,
                start: None,
                end: Some(d("2027-01-16")),
                src: None,
            }],
            ..Default::default()
        };
        let row = state.row(Kind::Enrollments, 0);
        assert_eq!(row.get("section_id"), "cls-1");
        assert_eq!(row.get("user_id"), "u-007");
        assert_eq!(row.get("role"), "student");
        assert_eq!(row.get("end_date"), "2027-01-16");
        assert_eq!(
            state.key(Kind::Enrollments, 0),
            "cls-1\u{1f}u-007\u{1f}student"
        );
        let section = state.row(Kind::Sections, 0);
        assert_eq!(section.get("start_date"), "2026-08-20");
        assert_eq!(section.get("end_date"), "2027-01-15T23:59:59");
    }
}
