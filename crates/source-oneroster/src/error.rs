//! Fatal source problems: the package cannot be read as a whole. Row-level problems are
//! diagnostics instead (see `lib.rs`).

use rosterbridge_model::{Diagnostic, Location};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("the OneRoster source {path} does not exist")]
    NotFound { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a readable zip: {message}")]
    BadZip { path: PathBuf, message: String },
    #[error("{path} has no manifest.csv, and [source] version and mode are not configured")]
    NoManifest { path: PathBuf },
    #[error("manifest.csv: {message}")]
    BadManifest { line: Option<u32>, message: String },
    #[error("{file} is required but {why}")]
    MissingFile { file: String, why: String },
    #[error("{file}: required column `{column}` is missing (the header has: {found})")]
    MissingColumn {
        file: String,
        column: String,
        found: String,
    },
    #[error("{file}:{line}:{column}: invalid UTF-8 (byte offset {offset}); OneRoster files must be UTF-8")]
    InvalidUtf8 {
        file: String,
        line: u32,
        column: u32,
        offset: u64,
    },
    #[error("{file}:{line}: malformed CSV: {message}")]
    Malformed {
        file: String,
        line: u32,
        message: String,
    },
    #[error("{file} has no header row")]
    NoHeader { file: String },
    #[error("{file} is a delta, but no previous exchange is stored to apply it to")]
    DeltaWithoutBase { file: String },
    #[error("{file}: the stored previous exchange cannot be read: {message}")]
    BadPrior { file: String, message: String },
}

impl SourceError {
    /// The problem as a located diagnostic, with what to do about it.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let (code, loc, hint) = match self {
            SourceError::NotFound { path } => ("source-not-found", Location::file(path.display().to_string()), "check [source] path (relative to the config file)"),
            SourceError::Io { path, .. } => ("source-unreadable", Location::file(path.display().to_string()), "check the file's permissions"),
            SourceError::BadZip { path, .. } => ("source-bad-zip", Location::file(path.display().to_string()), "export the package again, or unzip it and point [source] path at the folder"),
            SourceError::NoManifest { path } => ("no-manifest", Location::file(path.display().to_string()), "add manifest.csv, or set [source] version (\"1.1\"/\"1.2\") and mode (\"bulk\"/\"delta\")"),
            SourceError::BadManifest { line, .. } => (
                "bad-manifest",
                Location { file: "manifest.csv".into(), line: *line, ..Default::default() },
                "the manifest has two columns, propertyName,value; see the OneRoster CSV spec",
            ),
            SourceError::MissingFile { file, .. } => ("missing-file", Location::file(file.clone()), "export the file, or mark it `absent` in manifest.csv only if a previous exchange holds it"),
            SourceError::MissingColumn { file, column, .. } => (
                "missing-column",
                Location::at(file.clone(), 1).with_field(column.clone()),
                "column names are case-sensitive; compare the header with the OneRoster CSV spec",
            ),
            SourceError::InvalidUtf8 { file, line, column, .. } => (
                "invalid-utf8",
                Location::at(file.clone(), *line).with_column(*column),
                "save the export as UTF-8 (not Latin-1 or Windows-1252)",
            ),
            SourceError::Malformed { file, line, .. } => ("malformed-csv", Location::at(file.clone(), *line), "look for an unbalanced double quote at or before this line"),
            SourceError::NoHeader { file } => ("no-header", Location::file(file.clone()), "the first row must be the header"),
            SourceError::DeltaWithoutBase { file } => ("delta-without-base", Location::file(file.clone()), "run a bulk exchange first; deltas apply on top of it"),
            SourceError::BadPrior { file, .. } => ("bad-prior", Location::file(file.clone()), "run a bulk exchange to replace the stored one"),
        };
        Diagnostic::error(code, self.to_string()).at(loc).hint(hint)
    }
}
