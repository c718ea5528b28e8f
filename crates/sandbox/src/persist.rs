//! Optional persistence (`--db FILE`).
//!
//! The store is saved as a snapshot file: JSON lines, one object per line tagged with its
//! table, written to `FILE.tmp` and renamed over `FILE` so a crash never leaves half a file.
//! Each import's upload (diffing needs old uploads) is kept once in `FILE.uploads/<id>`.
//! A background thread saves shortly after any change and `serve` saves once more on
//! shutdown, so a clean stop loses nothing; a crash loses at most about a second. Loading
//! replays the rows through the store's inserts, which rebuilds every index and keeps ids.
//!
//! Why not SQLite: when this was written the workspace's rusqlite (0.42) did not resolve from
//! the package index available here. The `Db` interface (load/save of a whole `Store`) is what
//! a SQLite backend would implement too.

use std::fs;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sis::batch::{BatchState, SisBatch};
use crate::store::Store;

/// First line of every snapshot: what the file is and its format version.
const MAGIC: &str = "rosterbridge-sandbox-snapshot";
const VERSION: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("sandbox database {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("sandbox database {path}, line {line}: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("sandbox database {path}: could not encode a {table} row: {source}")]
    Encode {
        path: PathBuf,
        table: &'static str,
        source: serde_json::Error,
    },
}

#[derive(Serialize, Deserialize)]
struct Line<T> {
    t: String,
    v: T,
}

/// Store-wide values that are not rows of a table.
#[derive(Serialize, Deserialize)]
struct Meta {
    api_user: Option<u64>,
}

pub struct Db {
    path: PathBuf,
}

impl Db {
    pub fn new(path: &Path) -> Self {
        Db {
            path: path.to_path_buf(),
        }
    }

    fn io(&self, source: std::io::Error) -> PersistError {
        PersistError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn uploads_dir(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".uploads");
        PathBuf::from(p)
    }

    /// Load the store; a missing file gives a fresh sandbox.
    pub fn load(&self) -> Result<Store, PersistError> {
        let file = match fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Store::new()),
            Err(e) => return Err(self.io(e)),
        };
        let corrupt = |line: usize, message: String| PersistError::Corrupt {
            path: self.path.clone(),
            line,
            message,
        };
        let mut s = Store::default();
        let mut batches: Vec<SisBatch> = Vec::new();
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| self.io(e))?;
            let n = i + 1;
            if n == 1 {
                let head: Value =
                    serde_json::from_str(&line).map_err(|e| corrupt(n, e.to_string()))?;
                if head["format"] != MAGIC || head["version"] != VERSION {
                    return Err(corrupt(n, format!("not a {MAGIC} version {VERSION} file")));
                }
                continue;
            }
            let row: Line<Value> =
                serde_json::from_str(&line).map_err(|e| corrupt(n, e.to_string()))?;
            fn de<T: DeserializeOwned>(
                v: Value,
                n: usize,
                c: &dyn Fn(usize, String) -> PersistError,
            ) -> Result<T, PersistError> {
                serde_json::from_value(v).map_err(|e| c(n, e.to_string()))
            }
            match row.t.as_str() {
                "accounts" => drop(s.insert_account(de(row.v, n, &corrupt)?)),
                "terms" => drop(s.insert_term(de(row.v, n, &corrupt)?)),
                "users" => drop(s.insert_user(de(row.v, n, &corrupt)?)),
                "logins" => drop(s.insert_login(de(row.v, n, &corrupt)?)),
                "courses" => drop(s.insert_course(de(row.v, n, &corrupt)?)),
                "sections" => drop(s.insert_section(de(row.v, n, &corrupt)?)),
                "enrollments" => drop(s.insert_enrollment(de(row.v, n, &corrupt)?)),
                "observer_links" => drop(s.insert_link(de(row.v, n, &corrupt)?)),
                "roles" => s.roles.push(de(row.v, n, &corrupt)?),
                "admins" => s.admins.push(de(row.v, n, &corrupt)?),
                "batches" => batches.push(de(row.v, n, &corrupt)?),
                "rollback" => s.rollback.push(de(row.v, n, &corrupt)?),
                "progresses" => s.progresses.push(de(row.v, n, &corrupt)?),
                "group_categories" => drop(s.insert_group_category(de(row.v, n, &corrupt)?)),
                "groups" => drop(s.insert_group(de(row.v, n, &corrupt)?)),
                "group_memberships" => drop(s.insert_membership(de(row.v, n, &corrupt)?)),
                "files" => s.files.push(de(row.v, n, &corrupt)?),
                "grading_standards" => s.grading_standards.push(de(row.v, n, &corrupt)?),
                "meta" => {
                    let meta: Meta = de(row.v, n, &corrupt)?;
                    s.api_user = meta.api_user;
                }
                other => return Err(corrupt(n, format!("unknown table {other:?}"))),
            }
        }
        if s.accounts.is_empty() {
            return Ok(Store::new());
        }
        let dir = self.uploads_dir();
        for b in &mut batches {
            b.attachment = Arc::new(fs::read(dir.join(b.id.to_string())).unwrap_or_default());
            // A batch cut off by the restart cannot resume its half-done work.
            if b.workflow_state.is_pending() {
                b.workflow_state = BatchState::Failed;
                b.error_message =
                    Some("the sandbox restarted while this import was pending".into());
            }
        }
        s.batches = batches;
        for f in &mut s.files {
            f.bytes = Arc::new(fs::read(dir.join(format!("file-{}", f.id))).unwrap_or_default());
        }
        // Snapshots from before tokens had a user get one now; batches finished then get the
        // errors file they would have had.
        s.ensure_api_user();
        for id in 1..=s.batches.len() as u64 {
            if s.batch(id).is_some_and(|b| !b.workflow_state.is_pending()) {
                s.attach_errors_file(id);
            }
        }
        Ok(s)
    }

    fn put<T: Serialize>(
        &self,
        w: &mut impl Write,
        table: &'static str,
        rows: impl Iterator<Item = T>,
    ) -> Result<(), PersistError> {
        for v in rows {
            serde_json::to_writer(
                &mut *w,
                &Line {
                    t: table.to_string(),
                    v,
                },
            )
            .map_err(|source| PersistError::Encode {
                path: self.path.clone(),
                table,
                source,
            })?;
            w.write_all(b"\n").map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Replace the stored snapshot with the store's current contents.
    pub fn save(&self, s: &Store) -> Result<(), PersistError> {
        let dir = self.uploads_dir();
        fs::create_dir_all(&dir).map_err(|e| self.io(e))?;
        for b in &s.batches {
            // Uploads never change once stored: write each once.
            let p = dir.join(b.id.to_string());
            if !p.exists() {
                fs::write(&p, b.attachment.as_slice()).map_err(|e| self.io(e))?;
            }
        }
        for f in s.files.iter().filter(|f| f.uploaded) {
            // Likewise files: their bytes never change once uploaded.
            let p = dir.join(format!("file-{}", f.id));
            if !p.exists() {
                fs::write(&p, f.bytes.as_slice()).map_err(|e| self.io(e))?;
            }
        }
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let file = fs::File::create(&tmp).map_err(|e| self.io(e))?;
        let mut w = BufWriter::new(file);
        let head = serde_json::json!({"format": MAGIC, "version": VERSION});
        writeln!(w, "{head}").map_err(|e| self.io(e))?;
        self.put(&mut w, "accounts", s.accounts.iter())?;
        self.put(&mut w, "terms", s.terms.iter())?;
        self.put(&mut w, "users", s.users.iter())?;
        self.put(&mut w, "logins", s.logins.iter())?;
        self.put(&mut w, "courses", s.courses.iter())?;
        self.put(&mut w, "sections", s.sections.iter())?;
        self.put(&mut w, "enrollments", s.enrollments.iter())?;
        self.put(&mut w, "observer_links", s.observer_links.iter())?;
        self.put(&mut w, "roles", s.roles.iter())?;
        self.put(&mut w, "admins", s.admins.iter())?;
        self.put(&mut w, "group_categories", s.group_categories.iter())?;
        self.put(&mut w, "groups", s.groups.iter())?;
        self.put(&mut w, "group_memberships", s.group_memberships.iter())?;
        self.put(&mut w, "batches", s.batches.iter())?;
        self.put(&mut w, "rollback", s.rollback.iter())?;
        self.put(&mut w, "progresses", s.progresses.iter())?;
        self.put(&mut w, "files", s.files.iter())?;
        self.put(&mut w, "grading_standards", s.grading_standards.iter())?;
        self.put(
            &mut w,
            "meta",
            std::iter::once(Meta {
                api_user: s.api_user,
            }),
        )?;
        let file = w.into_inner().map_err(|e| self.io(e.into_error()))?;
        file.sync_all().map_err(|e| self.io(e))?;
        fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        Ok(())
    }
}
