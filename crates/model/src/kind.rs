//! Canvas SIS-import CSV kinds, their columns, and the [`Row`] every kind is rendered to.
//!
//! A row is the one representation of a Canvas object that the planner hashes, the state
//! store remembers, the CSV writer writes and the sinks send. The column list of a kind is
//! part of the content hash: change it and every stored object looks changed, so append
//! only when there is a reason.

use crate::Str;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The Canvas objects rosterbridge manages, in the order Canvas needs them created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Accounts,
    Terms,
    Users,
    Courses,
    Sections,
    Enrollments,
    UserObservers,
}

impl Kind {
    /// Every kind, in dependency (creation) order: accounts, terms, users, courses,
    /// sections, enrollments, observers.
    pub const ALL: [Kind; 7] = [
        Kind::Accounts,
        Kind::Terms,
        Kind::Users,
        Kind::Courses,
        Kind::Sections,
        Kind::Enrollments,
        Kind::UserObservers,
    ];

    /// The name used in plans and JSON: the Canvas CSV file name without `.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Accounts => "accounts",
            Kind::Terms => "terms",
            Kind::Users => "users",
            Kind::Courses => "courses",
            Kind::Sections => "sections",
            Kind::Enrollments => "enrollments",
            Kind::UserObservers => "user_observers",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Kind::Accounts => "accounts.csv",
            Kind::Terms => "terms.csv",
            Kind::Users => "users.csv",
            Kind::Courses => "courses.csv",
            Kind::Sections => "sections.csv",
            Kind::Enrollments => "enrollments.csv",
            Kind::UserObservers => "user_observers.csv",
        }
    }

    /// The columns rosterbridge writes for this kind, in order
    /// (see `shared/specs/canvas-sis-csv.md` §5).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Accounts => &[
                "account_id",
                "integration_id",
                "parent_account_id",
                "name",
                "status",
            ],
            Kind::Terms => &[
                "term_id",
                "integration_id",
                "name",
                "status",
                "start_date",
                "end_date",
            ],
            Kind::Users => &[
                "user_id",
                "integration_id",
                "login_id",
                "authentication_provider_id",
                "first_name",
                "last_name",
                "full_name",
                "sortable_name",
                "short_name",
                "email",
                "status",
            ],
            Kind::Courses => &[
                "course_id",
                "integration_id",
                "short_name",
                "long_name",
                "account_id",
                "term_id",
                "status",
                "start_date",
                "end_date",
            ],
            Kind::Sections => &[
                "section_id",
                "integration_id",
                "course_id",
                "name",
                "status",
                "start_date",
                "end_date",
            ],
            // Addressed by section only: naming the course as well makes Canvas reject
            // rows for sections cross-listed in the UI (field lesson 9).
            Kind::Enrollments => &[
                "section_id",
                "user_id",
                "role",
                "role_id",
                "status",
                "start_date",
                "end_date",
            ],
            Kind::UserObservers => &["observer_id", "student_id", "status"],
        }
    }

    /// Index of a column in [`Kind::columns`].
    pub fn column(self, name: &str) -> Option<usize> {
        self.columns().iter().position(|c| *c == name)
    }

    /// Index of the `status` column (every kind has one).
    pub fn status_column(self) -> usize {
        match self.column("status") {
            Some(i) => i,
            None => unreachable!("every kind has a status column"),
        }
    }

    /// The status a live (not removed) object of this kind is sent with.
    pub fn active_status(self) -> Status {
        Status::Active
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status value in a Canvas SIS CSV row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Suspended,
    Completed,
    Inactive,
    Deleted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Completed => "completed",
            Status::Inactive => "inactive",
            Status::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "active" => Status::Active,
            "suspended" => Status::Suspended,
            "completed" => Status::Completed,
            "inactive" => Status::Inactive,
            "deleted" => Status::Deleted,
            _ => return None,
        })
    }

    /// True for statuses that keep the object live in Canvas.
    pub fn is_active(self) -> bool {
        self == Status::Active
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Canvas CSV row: values aligned with [`Kind::columns`]. Empty string = empty cell.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Row {
    pub kind: Kind,
    pub values: Vec<Str>,
}

impl Row {
    /// A row of empty cells.
    pub fn empty(kind: Kind) -> Row {
        Row {
            kind,
            values: vec![Str::default(); kind.columns().len()],
        }
    }

    /// Builds a row from `(column, value)` pairs; unknown columns are a programming error
    /// and panic in debug builds, are ignored in release builds.
    pub fn from_pairs<'a>(kind: Kind, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Row {
        let mut row = Row::empty(kind);
        for (col, value) in pairs {
            row.set(col, value);
        }
        row
    }

    /// A row from its cells in [`Kind::columns`] order.
    pub fn from_cells(kind: Kind, cells: &[&str]) -> Row {
        debug_assert_eq!(
            cells.len(),
            kind.columns().len(),
            "{kind}: cells do not match the columns"
        );
        Row {
            kind,
            values: cells.iter().map(|c| Str::new(c)).collect(),
        }
    }

    pub fn get(&self, column: &str) -> &str {
        match self.kind.column(column) {
            Some(i) => self.values[i].as_str(),
            None => "",
        }
    }

    pub fn set(&mut self, column: &str, value: &str) {
        match self.kind.column(column) {
            Some(i) => self.values[i] = Str::new(value),
            None => debug_assert!(false, "{} has no column {column}", self.kind),
        }
    }

    pub fn status(&self) -> Option<Status> {
        Status::parse(self.values[self.kind.status_column()].as_str())
    }

    pub fn set_status(&mut self, status: Status) {
        let i = self.kind.status_column();
        self.values[i] = Str::new(status.as_str());
    }

    /// `(column, value)` pairs in column order.
    pub fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.kind
            .columns()
            .iter()
            .copied()
            .zip(self.values.iter().map(|v| v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_status_column_and_an_id_first() {
        for kind in Kind::ALL {
            assert!(kind.column("status").is_some(), "{kind}");
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            assert!(kind.file_name().starts_with(kind.as_str()));
        }
    }

    #[test]
    fn rows_are_addressed_by_column_name() {
        let mut row = Row::from_pairs(Kind::Users, [("user_id", "007"), ("login_id", "bond")]);
        row.set_status(Status::Suspended);
        assert_eq!(row.get("user_id"), "007");
        assert_eq!(row.status(), Some(Status::Suspended));
        assert_eq!(row.pairs().count(), Kind::Users.columns().len());
    }
}
