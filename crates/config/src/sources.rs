//! The validated `[source]` settings of the network and generic-CSV source kinds.
//!
//! Secrets are never in the file: each is named by the environment variable that holds it
//! (`client_secret_env`, `token_env`), read when the source runs.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Timeouts and retries of a network source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    pub timeout_seconds: u64,
    pub max_attempts: u32,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            timeout_seconds: 120,
            max_attempts: 5,
        }
    }
}

/// How a OneRoster REST provider authorises requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestAuthConfig {
    /// OAuth 1.0a HMAC-SHA256 (OneRoster 1.1).
    OAuth1 {
        consumer_key: String,
        secret_env: String,
    },
    /// OAuth 2 client credentials (OneRoster 1.2; some 1.1 providers).
    OAuth2 {
        token_url: String,
        client_id: String,
        secret_env: String,
        scopes: Option<Vec<String>>,
        credentials_in_body: bool,
    },
}

/// `kind = "oneroster-rest"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestSourceConfig {
    /// Including the version path, e.g. `https://host/ims/oneroster/v1p1`.
    pub base_url: String,
    /// `1.1` or `1.2`.
    pub version: String,
    pub auth: RestAuthConfig,
    pub page_size: u32,
    pub demographics: bool,
    pub incremental: bool,
    pub network: NetworkConfig,
}

/// `kind = "clever"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleverSourceConfig {
    pub base_url: String,
    pub token_env: String,
    pub page_size: u32,
    pub incremental: bool,
    pub contact_types: Vec<String>,
    pub network: NetworkConfig,
}

/// `kind = "sis-csv"`: which file and column holds each roster field, so an export from a
/// SIS such as Classter or Cloudwork is read without code. Every value names a CSV column
/// (by its header) unless said otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SisCsvTables {
    /// chrono format of the dates in the files (default `%Y-%m-%d`; e.g. `%d/%m/%Y`).
    pub date_format: Option<String>,
    /// One school for everything, when the export has no schools file.
    pub school: Option<StaticSchool>,
    pub schools: Option<SchoolsTable>,
    /// Periods, semesters, terms.
    pub sessions: SessionsTable,
    /// Subjects (optional: classes without a course column get a course of their own).
    pub courses: Option<CoursesTable>,
    /// Groups / sections / classes.
    pub classes: ClassesTable,
    /// One entry per file of people (students, teachers, parents...).
    #[serde(default)]
    pub people: Vec<PeopleTable>,
    /// Parent/guardian ↔ student links kept in their own file.
    #[serde(default)]
    pub guardians: Vec<GuardianLinkTable>,
    #[serde(default)]
    pub enrollments: Vec<EnrollmentsTable>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticSchool {
    /// A fixed id and name (values, not columns).
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchoolsTable {
    pub file: String,
    pub id: String,
    pub name: String,
    pub identifier: Option<String>,
    /// The column holding the org type (school, district...); default every row a school.
    pub type_column: Option<String>,
    pub parent: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsTable {
    pub file: String,
    pub id: String,
    pub title: String,
    pub start: String,
    pub end: String,
    /// A fixed session type (value): term (default), semester, gradingPeriod, schoolYear.
    pub session_type: Option<String>,
    /// Or the column holding it.
    pub type_column: Option<String>,
    pub parent: Option<String>,
    /// Default: the year of the end date.
    pub school_year: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoursesTable {
    pub file: String,
    pub id: String,
    pub title: String,
    pub code: Option<String>,
    pub school: Option<String>,
    pub subject: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassesTable {
    pub file: String,
    pub id: String,
    pub title: String,
    /// The course (subject) id; without it each class is its own course.
    pub course: Option<String>,
    pub school: Option<String>,
    /// One or more session ids (comma-separated in the cell).
    pub terms: String,
    pub code: Option<String>,
    pub period: Option<String>,
    pub subject: Option<String>,
    pub grade: Option<String>,
    /// The column holding the class type (homeroom, scheduled); default scheduled.
    pub class_type: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeopleTable {
    pub file: String,
    pub id: String,
    pub given_name: String,
    pub family_name: String,
    /// A fixed OneRoster role for everyone in the file (value), e.g. "student".
    pub role: Option<String>,
    /// Or the column holding the role, translated through `role_map` (SIS value → OneRoster role).
    pub role_column: Option<String>,
    #[serde(default)]
    pub role_map: BTreeMap<String, String>,
    pub middle_name: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub identifier: Option<String>,
    /// School ids (comma-separated in the cell).
    pub school: Option<String>,
    pub grade: Option<String>,
    /// true/false, yes/no, 1/0, active/inactive; default everyone enabled.
    pub enabled: Option<String>,
    /// Ids of this person's children (comma-separated): guardian links.
    pub children: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardianLinkTable {
    pub file: String,
    pub guardian: String,
    pub student: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentsTable {
    pub file: String,
    pub class: String,
    pub person: String,
    /// Default: `<class>-<person>`.
    pub id: Option<String>,
    /// A fixed enrollment role (value): student (default), teacher, administrator, proctor.
    pub role: Option<String>,
    pub role_column: Option<String>,
    #[serde(default)]
    pub role_map: BTreeMap<String, String>,
    pub primary: Option<String>,
    pub begin: Option<String>,
    pub end: Option<String>,
}
