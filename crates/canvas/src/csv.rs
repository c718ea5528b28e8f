//! Canvas SIS-import CSV writer (`shared/specs/canvas-sis-csv.md`).

use rosterbridge_model::kind::{Kind, Row};
use rosterbridge_plan::Plan;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write CSV {file}: {source}")]
    Csv {
        file: &'static str,
        source: csv::Error,
    },
    #[error("cannot write zip {path}: {source}")]
    Zip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
}

/// What was written: file name and row count per kind, in Canvas processing order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub files: Vec<(&'static str, usize)>,
}

impl Written {
    pub fn rows(&self) -> usize {
        self.files.iter().map(|(_, n)| n).sum()
    }
}

/// Writes one kind's rows as a CSV file (header first) to `out`.
pub fn write_kind<W: Write>(
    kind: Kind,
    rows: impl Iterator<Item = Row>,
    out: W,
) -> Result<usize, WriteError> {
    let err = |source| WriteError::Csv {
        file: kind.file_name(),
        source,
    };
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(kind.columns()).map_err(err)?;
    let mut n = 0;
    for row in rows {
        debug_assert_eq!(row.kind, kind);
        w.write_record(row.values.iter().map(|v| v.as_bytes()))
            .map_err(err)?;
        n += 1;
    }
    w.flush().map_err(|e| WriteError::Csv {
        file: kind.file_name(),
        source: e.into(),
    })?;
    Ok(n)
}

/// The kinds that have changes in a plan, in Canvas processing order.
pub fn kinds_with_changes(plan: &Plan) -> Vec<Kind> {
    Kind::ALL
        .into_iter()
        .filter(|k| plan.changes_of(*k).next().is_some())
        .collect()
}

/// Writes the plan's rows as one CSV file per kind into `dir` (created if needed).
pub fn write_folder(plan: &Plan, dir: &Path) -> Result<Written, WriteError> {
    std::fs::create_dir_all(dir).map_err(|source| WriteError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Written::default();
    for kind in kinds_with_changes(plan) {
        let path = dir.join(kind.file_name());
        let file = File::create(&path).map_err(|source| WriteError::Io {
            path: path.clone(),
            source,
        })?;
        let n = write_kind(
            kind,
            plan.changes_of(kind).map(|c| plan.row(c)),
            BufWriter::new(file),
        )?;
        written.files.push((kind.file_name(), n));
    }
    Ok(written)
}

/// Writes the plan's rows as a zip of CSV files (what a SIS import takes).
pub fn write_zip<W: Write + Seek>(
    plan: &Plan,
    out: W,
    path_for_errors: &Path,
) -> Result<Written, WriteError> {
    write_zip_where(plan, |_| true, out, path_for_errors)
}

/// Like [`write_zip`], with only the changes whose index in `plan.changes` passes `keep`.
pub fn write_zip_where<W: Write + Seek>(
    plan: &Plan,
    keep: impl Fn(usize) -> bool,
    out: W,
    path_for_errors: &Path,
) -> Result<Written, WriteError> {
    let zerr = |source| WriteError::Zip {
        path: path_for_errors.to_path_buf(),
        source,
    };
    let mut zip = zip::ZipWriter::new(out);
    // Fixed timestamp and permissions: identical plans give identical bytes.
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let mut written = Written::default();
    for kind in kinds_with_changes(plan) {
        let mut rows = plan
            .changes
            .iter()
            .enumerate()
            .filter(|(i, c)| c.kind == kind && keep(*i))
            .map(|(_, c)| plan.row(c))
            .peekable();
        if rows.peek().is_none() {
            continue;
        }
        zip.start_file(kind.file_name(), options).map_err(zerr)?;
        let n = write_kind(kind, rows, &mut zip)?;
        written.files.push((kind.file_name(), n));
    }
    zip.finish().map_err(zerr)?;
    Ok(written)
}

/// Writes the plan's zip to a file.
pub fn write_zip_file(plan: &Plan, path: &Path) -> Result<Written, WriteError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| WriteError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let file = File::create(path).map_err(|source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut buf = BufWriter::new(file);
    let written = write_zip(plan, &mut buf, path)?;
    buf.flush().map_err(|source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(written)
}
