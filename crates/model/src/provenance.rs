//! Where a piece of data came from, so that errors and plan rows can name the SIS row.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The source table (file) a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SourceTable {
    Orgs,
    AcademicSessions,
    Courses,
    Classes,
    Users,
    Roles,
    Enrollments,
    Demographics,
}

impl SourceTable {
    /// The OneRoster CSV file name for this table.
    pub fn file_name(self) -> &'static str {
        match self {
            SourceTable::Orgs => "orgs.csv",
            SourceTable::AcademicSessions => "academicSessions.csv",
            SourceTable::Courses => "courses.csv",
            SourceTable::Classes => "classes.csv",
            SourceTable::Users => "users.csv",
            SourceTable::Roles => "roles.csv",
            SourceTable::Enrollments => "enrollments.csv",
            SourceTable::Demographics => "demographics.csv",
        }
    }
}

/// A row of a source table: the file and the 1-based line where the record starts
/// (the header is line 1). Eight bytes, so it can ride on every record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceRef {
    pub table: SourceTable,
    pub line: u32,
}

impl SourceRef {
    pub fn new(table: SourceTable, line: u32) -> Self {
        SourceRef { table, line }
    }
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.table.file_name(), self.line)
    }
}
