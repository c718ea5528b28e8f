//! Admin accounts and their sessions, in their own SQLite file beside the configuration
//! (`<config>.server.db`, mode 0600): passwords as Argon2id hashes, a random session token
//! per login (the cookie) and a random CSRF token per session (sent back on every request
//! that changes something). Repeated wrong passwords lock the account for a while.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Wrong passwords in a row that lock an account.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked account stays locked.
pub const LOCK_SECS: i64 = 15 * 60;
/// How long a session lasts without a new login.
pub const SESSION_SECS: i64 = 12 * 60 * 60;
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("admin database {path}: {message}")]
    Db { path: PathBuf, message: String },
    #[error("there is already an admin named {0:?}")]
    Exists(String),
    #[error("there is no admin named {0:?}")]
    Unknown(String),
    #[error("the password must have at least {MIN_PASSWORD} characters")]
    WeakPassword,
    #[error("an admin name is 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    BadName,
    #[error("wrong name or password")]
    Invalid,
    #[error("too many wrong passwords: the account is locked for {0} more second(s)")]
    Locked(i64),
    #[error("hashing the password: {0}")]
    Hash(String),
}

/// A logged-in session: its cookie token, the admin, and the CSRF token of the session.
#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub admin: String,
    pub csrf: String,
}

pub struct AdminStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// The admin database that belongs to a configuration file.
pub fn db_path(config: &Path) -> PathBuf {
    let mut s = config.as_os_str().to_owned();
    s.push(".server.db");
    PathBuf::from(s)
}

pub fn random_token() -> String {
    use rand::RngExt as _;
    let mut rng = rand::rng();
    (0..4)
        .map(|_| format!("{:016x}", rng.random::<u64>()))
        .collect()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl AdminStore {
    /// Opens (creating with mode 0600) the admin database.
    pub fn open(path: &Path) -> Result<AdminStore, AdminError> {
        let db = |e: &dyn std::fmt::Display| AdminError::Db {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        if !path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| db(&e))?;
        }
        let conn = Connection::open(path).map_err(|e| db(&e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS admins (name TEXT PRIMARY KEY, hash TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, admin TEXT NOT NULL, csrf TEXT NOT NULL, expires INTEGER NOT NULL);",
        )
        .map_err(|e| db(&e))?;
        Ok(AdminStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    fn db(&self, e: rusqlite::Error) -> AdminError {
        AdminError::Db {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves a usable connection: SQLite rolled back.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn create(&self, name: &str, password: &str) -> Result<(), AdminError> {
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
        {
            return Err(AdminError::BadName);
        }
        if password.chars().count() < MIN_PASSWORD {
            return Err(AdminError::WeakPassword);
        }
        let hash = hash_password(password)?;
        let conn = self.conn();
        let exists: Option<String> = conn
            .query_row("SELECT name FROM admins WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.db(e))?;
        if exists.is_some() {
            return Err(AdminError::Exists(name.into()));
        }
        conn.execute(
            "INSERT INTO admins (name, hash, created_at) VALUES (?1, ?2, ?3)",
            params![name, hash, now()],
        )
        .map_err(|e| self.db(e))?;
        Ok(())
    }

    pub fn set_password(&self, name: &str, password: &str) -> Result<(), AdminError> {
        if password.chars().count() < MIN_PASSWORD {
            return Err(AdminError::WeakPassword);
        }
        let hash = hash_password(password)?;
        let conn = self.conn();
        let n = conn
            .execute(
                "UPDATE admins SET hash = ?2, failures = 0, locked_until = 0 WHERE name = ?1",
                params![name, hash],
            )
            .map_err(|e| self.db(e))?;
        if n == 0 {
            return Err(AdminError::Unknown(name.into()));
        }
        conn.execute("DELETE FROM sessions WHERE admin = ?1", [name])
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    pub fn delete(&self, name: &str) -> Result<(), AdminError> {
        let conn = self.conn();
        let n = conn
            .execute("DELETE FROM admins WHERE name = ?1", [name])
            .map_err(|e| self.db(e))?;
        conn.execute("DELETE FROM sessions WHERE admin = ?1", [name])
            .map_err(|e| self.db(e))?;
        if n == 0 {
            return Err(AdminError::Unknown(name.into()));
        }
        Ok(())
    }

    pub fn list(&self) -> Result<Vec<String>, AdminError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT name FROM admins ORDER BY name")
            .map_err(|e| self.db(e))?;
        let names = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| self.db(e))?
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| self.db(e))?;
        Ok(names)
    }

    /// Checks a password and opens a session. A wrong password counts towards the lock; a
    /// locked account is refused before the password is looked at.
    pub fn login(&self, name: &str, password: &str) -> Result<Session, AdminError> {
        let conn = self.conn();
        let row: Option<(String, i64, i64)> = conn
            .query_row(
                "SELECT hash, failures, locked_until FROM admins WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        let Some((hash, failures, locked_until)) = row else {
            // Same work and answer as a wrong password: no hint which names exist.
            let _ = hash_password(password);
            return Err(AdminError::Invalid);
        };
        let t = now();
        if locked_until > t {
            return Err(AdminError::Locked(locked_until - t));
        }
        if !verify_password(password, &hash) {
            let failures = failures + 1;
            let lock = if failures >= MAX_FAILURES {
                t + LOCK_SECS
            } else {
                0
            };
            conn.execute(
                "UPDATE admins SET failures = ?2, locked_until = ?3 WHERE name = ?1",
                params![name, if lock > 0 { 0 } else { failures }, lock],
            )
            .map_err(|e| self.db(e))?;
            return Err(if lock > 0 {
                AdminError::Locked(LOCK_SECS)
            } else {
                AdminError::Invalid
            });
        }
        conn.execute(
            "UPDATE admins SET failures = 0, locked_until = 0 WHERE name = ?1",
            [name],
        )
        .map_err(|e| self.db(e))?;
        conn.execute("DELETE FROM sessions WHERE expires <= ?1", [t])
            .map_err(|e| self.db(e))?;
        let session = Session {
            token: random_token(),
            admin: name.to_string(),
            csrf: random_token(),
        };
        conn.execute(
            "INSERT INTO sessions (token, admin, csrf, expires) VALUES (?1, ?2, ?3, ?4)",
            params![session.token, session.admin, session.csrf, t + SESSION_SECS],
        )
        .map_err(|e| self.db(e))?;
        Ok(session)
    }

    /// The live session with this cookie token, if any.
    pub fn session(&self, token: &str) -> Result<Option<Session>, AdminError> {
        let conn = self.conn();
        conn.query_row(
            "SELECT admin, csrf FROM sessions WHERE token = ?1 AND expires > ?2",
            params![token, now()],
            |r| {
                Ok(Session {
                    token: token.to_string(),
                    admin: r.get(0)?,
                    csrf: r.get(1)?,
                })
            },
        )
        .optional()
        .map_err(|e| self.db(e))
    }

    pub fn logout(&self, token: &str) -> Result<(), AdminError> {
        self.conn()
            .execute("DELETE FROM sessions WHERE token = ?1", [token])
            .map_err(|e| self.db(e))?;
        Ok(())
    }
}

fn hash_password(password: &str) -> Result<String, AdminError> {
    use rand::RngExt as _;
    let salt_bytes: [u8; 16] = rand::rng().random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| AdminError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AdminError::Hash(e.to_string()))
}

fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}
