//! The Canvas connection the server runs with, set up from the admin UI: Canvas URL, root
//! account, and either an access token or Canvas's OAuth 2 developer-key flow. Tokens and
//! the client secret are encrypted at rest ([`SecretBox`]) and never shown again; the OAuth
//! `state` is random, single-use, bound to the admin's session and short-lived.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How long an OAuth `state` stays valid.
pub const STATE_SECS: i64 = 10 * 60;
/// The environment variable that may hold the secret key (base64 of 32 bytes) instead of
/// the key file.
pub const KEY_ENV: &str = "ROSTERBRIDGE_SECRET_KEY";

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("secret key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("${KEY_ENV} must be the base64 of 32 bytes")]
    KeyEnv,
    #[error("a stored secret cannot be decrypted (wrong key, or the database was altered); enter the connection again")]
    Decrypt,
    #[error("connection store {path}: {message}")]
    Db { path: PathBuf, message: String },
    #[error("the redirect URI must be an http(s) URL ending in /canvas/authorize (got {0:?})")]
    RedirectUri(String),
    #[error("the Canvas URL must start with http:// or https:// (got {0:?})")]
    CanvasUrl(String),
    #[error("unknown OAuth state: start the connection again")]
    UnknownState,
    #[error("the OAuth state expired (older than {STATE_SECS} s): start the connection again")]
    ExpiredState,
    #[error(
        "the OAuth state belongs to another session: start the connection again from this browser"
    )]
    OtherSession,
    #[error("Canvas refused: {0}")]
    Canvas(String),
    #[error("no Canvas connection is set up")]
    NotConnected,
}

/// Authenticated encryption of secrets at rest (XChaCha20-Poly1305, a random nonce per
/// value). Stored as `v1:<base64(nonce ‖ ciphertext)>`, so the scheme can change later.
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

/// The key file that belongs to a configuration file.
pub fn key_path(config: &Path) -> PathBuf {
    let mut s = config.as_os_str().to_owned();
    s.push(".key");
    PathBuf::from(s)
}

impl SecretBox {
    pub fn from_key(key: &[u8; 32]) -> SecretBox {
        SecretBox {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// The key from `$ROSTERBRIDGE_SECRET_KEY`, else from `<config>.key` (32 random bytes,
    /// created 0600 on first use; refused when others may read it).
    pub fn load(config: &Path) -> Result<SecretBox, ConnectionError> {
        if let Ok(v) = std::env::var(KEY_ENV) {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .map_err(|_| ConnectionError::KeyEnv)?;
            let key: [u8; 32] = bytes.try_into().map_err(|_| ConnectionError::KeyEnv)?;
            return Ok(SecretBox::from_key(&key));
        }
        let path = key_path(config);
        let err = |message: String| ConnectionError::Key {
            path: path.clone(),
            message,
        };
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if !path.exists() {
            use rand::RngExt as _;
            use std::io::Write as _;
            let key: [u8; 32] = rand::rng().random();
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| err(e.to_string()))?;
            f.write_all(&key).map_err(|e| err(e.to_string()))?;
            return Ok(SecretBox::from_key(&key));
        }
        let mode = std::fs::metadata(&path)
            .map_err(|e| err(e.to_string()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(err(format!(
                "others may read it (mode {:o}); run chmod 600 on it",
                mode & 0o777
            )));
        }
        let bytes = std::fs::read(&path).map_err(|e| err(e.to_string()))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| err("is not 32 bytes long".into()))?;
        Ok(SecretBox::from_key(&key))
    }

    pub fn seal(&self, plain: &str) -> String {
        use rand::RngExt as _;
        let nonce: [u8; 24] = rand::rng().random();
        // Encryption with a fresh nonce cannot fail for inputs of this size.
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(XNonce::from_slice(&nonce), plain.as_bytes())
                .unwrap_or_default(),
        );
        format!(
            "v1:{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    pub fn open(&self, sealed: &str) -> Result<String, ConnectionError> {
        let b64 = sealed.strip_prefix("v1:").ok_or(ConnectionError::Decrypt)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| ConnectionError::Decrypt)?;
        if bytes.len() < 24 {
            return Err(ConnectionError::Decrypt);
        }
        let (nonce, ct) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| ConnectionError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| ConnectionError::Decrypt)
    }
}

/// What the UI may show of the connection: never a secret.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ConnectionView {
    pub url: String,
    pub account_id: u64,
    /// `token` or `oauth`.
    pub kind: String,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    /// When the access token expires (OAuth), as a Unix time.
    pub expires_at: Option<i64>,
    pub updated_at: i64,
}

/// An OAuth flow begun and waiting for Canvas to send the admin back.
struct Pending {
    url: String,
    account_id: u64,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
}

pub struct ConnectionStore {
    path: PathBuf,
    conn: Mutex<rusqlite::Connection>,
    secrets: SecretBox,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn http_client() -> reqwest::Client {
    // reqwest is built without a default TLS provider in this workspace.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

impl ConnectionStore {
    /// Opens the connection tables in the server database `db` with secrets sealed by `secrets`.
    pub fn open(db: &Path, secrets: SecretBox) -> Result<ConnectionStore, ConnectionError> {
        let err = |e: rusqlite::Error| ConnectionError::Db {
            path: db.to_path_buf(),
            message: e.to_string(),
        };
        let conn = rusqlite::Connection::open(db).map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS connect_canvas (id INTEGER PRIMARY KEY CHECK (id = 1), url TEXT NOT NULL, account_id INTEGER NOT NULL, kind TEXT NOT NULL,
                client_id TEXT, client_secret TEXT, access_token TEXT, refresh_token TEXT, redirect_uri TEXT, expires_at INTEGER, updated_at INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS connect_oauth_states (state TEXT PRIMARY KEY, session TEXT NOT NULL, url TEXT NOT NULL, account_id INTEGER NOT NULL,
                client_id TEXT NOT NULL, client_secret TEXT NOT NULL, redirect_uri TEXT NOT NULL, expires INTEGER NOT NULL);",
        )
        .map_err(err)?;
        Ok(ConnectionStore {
            path: db.to_path_buf(),
            conn: Mutex::new(conn),
            secrets,
        })
    }

    fn db(&self, e: rusqlite::Error) -> ConnectionError {
        ConnectionError::Db {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn view(&self) -> Result<Option<ConnectionView>, ConnectionError> {
        self.conn()
            .query_row("SELECT url, account_id, kind, client_id, redirect_uri, expires_at, updated_at FROM connect_canvas WHERE id = 1", [], |r| {
                Ok(ConnectionView { url: r.get(0)?, account_id: r.get::<_, i64>(1)? as u64, kind: r.get(2)?, client_id: r.get(3)?, redirect_uri: r.get(4)?, expires_at: r.get(5)?, updated_at: r.get(6)? })
            })
            .optional()
            .map_err(|e| self.db(e))
    }

    /// Stores an access token (after [`verify`] accepted it).
    pub fn set_token(
        &self,
        url: &str,
        account_id: u64,
        token: &str,
    ) -> Result<(), ConnectionError> {
        let url = canvas_url(url)?;
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO connect_canvas (id, url, account_id, kind, access_token, updated_at) VALUES (1, ?1, ?2, 'token', ?3, ?4)",
                params![url, account_id as i64, self.secrets.seal(token), now()],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// The root account chosen after "connect" listed them.
    pub fn set_account(&self, account_id: u64) -> Result<(), ConnectionError> {
        let n = self
            .conn()
            .execute(
                "UPDATE connect_canvas SET account_id = ?1, updated_at = ?2 WHERE id = 1",
                params![account_id as i64, now()],
            )
            .map_err(|e| self.db(e))?;
        if n == 0 {
            return Err(ConnectionError::NotConnected);
        }
        Ok(())
    }

    /// Begins the developer-key flow for the admin's `session`: returns the Canvas URL to send
    /// the browser to.
    pub fn begin_oauth(
        &self,
        url: &str,
        account_id: u64,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
        session: &str,
    ) -> Result<String, ConnectionError> {
        let url = canvas_url(url)?;
        let parsed = url::Url::parse(redirect_uri)
            .map_err(|_| ConnectionError::RedirectUri(redirect_uri.into()))?;
        if !matches!(parsed.scheme(), "http" | "https")
            || !parsed.path().ends_with("/canvas/authorize")
        {
            return Err(ConnectionError::RedirectUri(redirect_uri.into()));
        }
        let state = crate::admins::random_token();
        let conn = self.conn();
        conn.execute(
            "DELETE FROM connect_oauth_states WHERE expires <= ?1",
            [now()],
        )
        .map_err(|e| self.db(e))?;
        conn.execute(
            "INSERT INTO connect_oauth_states (state, session, url, account_id, client_id, client_secret, redirect_uri, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![state, session, url, account_id as i64, client_id, self.secrets.seal(client_secret), redirect_uri, now() + STATE_SECS],
        )
        .map_err(|e| self.db(e))?;
        let mut auth = url::Url::parse(&format!("{url}/login/oauth2/auth"))
            .map_err(|_| ConnectionError::CanvasUrl(url.clone()))?;
        auth.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", &state);
        Ok(auth.to_string())
    }

    /// Takes a state back (single use): unknown, expired and other-session states are refused.
    fn take_state(&self, state: &str, session: &str) -> Result<Pending, ConnectionError> {
        let conn = self.conn();
        let row = conn
            .query_row("SELECT session, url, account_id, client_id, client_secret, redirect_uri, expires FROM connect_oauth_states WHERE state = ?1", [state], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?, r.get::<_, String>(5)?, r.get::<_, i64>(6)?))
            })
            .optional()
            .map_err(|e| self.db(e))?;
        let Some((owner, url, account_id, client_id, secret, redirect_uri, expires)) = row else {
            return Err(ConnectionError::UnknownState);
        };
        if owner != session {
            return Err(ConnectionError::OtherSession);
        }
        conn.execute("DELETE FROM connect_oauth_states WHERE state = ?1", [state])
            .map_err(|e| self.db(e))?;
        if expires <= now() {
            return Err(ConnectionError::ExpiredState);
        }
        Ok(Pending {
            url,
            account_id: account_id as u64,
            client_id,
            client_secret: self.secrets.open(&secret)?,
            redirect_uri,
        })
    }

    /// Canvas sent the admin back with `code` and `state`: checks the state, exchanges the
    /// code for tokens and stores them encrypted.
    pub async fn complete_oauth(
        &self,
        code: &str,
        state: &str,
        session: &str,
    ) -> Result<ConnectionView, ConnectionError> {
        let p = self.take_state(state, session)?;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", p.client_id.as_str()),
            ("client_secret", p.client_secret.as_str()),
            ("redirect_uri", p.redirect_uri.as_str()),
            ("code", code),
        ];
        let tokens = token_request(&p.url, &form).await?;
        let access = tokens
            .get("access_token")
            .and_then(|v| v.as_str())
            .ok_or_else(|| ConnectionError::Canvas("no access_token in the answer".into()))?;
        let refresh = tokens.get("refresh_token").and_then(|v| v.as_str());
        let expires = tokens
            .get("expires_in")
            .and_then(|v| v.as_i64())
            .map(|s| now() + s);
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO connect_canvas (id, url, account_id, kind, client_id, client_secret, access_token, refresh_token, redirect_uri, expires_at, updated_at)
                 VALUES (1, ?1, ?2, 'oauth', ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![p.url, p.account_id as i64, p.client_id, self.secrets.seal(&p.client_secret), self.secrets.seal(access), refresh.map(|r| self.secrets.seal(r)), p.redirect_uri, expires, now()],
            )
            .map_err(|e| self.db(e))?;
        self.view()?.ok_or(ConnectionError::NotConnected)
    }

    /// The access token to call Canvas with, refreshed first when it has expired (or is
    /// about to).
    pub async fn access_token(&self) -> Result<(ConnectionView, String), ConnectionError> {
        let view = self.view()?.ok_or(ConnectionError::NotConnected)?;
        let (access, refresh, secret): (Option<String>, Option<String>, Option<String>) = self
            .conn()
            .query_row("SELECT access_token, refresh_token, client_secret FROM connect_canvas WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.db(e))?;
        let access = self
            .secrets
            .open(access.as_deref().ok_or(ConnectionError::NotConnected)?)?;
        let stale = view.kind == "oauth" && view.expires_at.is_some_and(|t| t <= now() + 60);
        if !stale {
            return Ok((view, access));
        }
        let (Some(refresh), Some(secret), Some(client_id)) =
            (refresh, secret, view.client_id.clone())
        else {
            return Err(ConnectionError::Canvas(
                "the access token expired and there is no refresh token: connect again".into(),
            ));
        };
        let (refresh, secret) = (self.secrets.open(&refresh)?, self.secrets.open(&secret)?);
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("refresh_token", refresh.as_str()),
        ];
        let tokens = token_request(&view.url, &form).await?;
        let fresh = tokens
            .get("access_token")
            .and_then(|v| v.as_str())
            .ok_or_else(|| ConnectionError::Canvas("no access_token in the refresh answer".into()))?
            .to_string();
        let expires = tokens
            .get("expires_in")
            .and_then(|v| v.as_i64())
            .map(|s| now() + s);
        self.conn()
            .execute("UPDATE connect_canvas SET access_token = ?1, expires_at = ?2, updated_at = ?3 WHERE id = 1", params![self.secrets.seal(&fresh), expires, now()])
            .map_err(|e| self.db(e))?;
        Ok((self.view()?.ok_or(ConnectionError::NotConnected)?, fresh))
    }
}

fn canvas_url(url: &str) -> Result<String, ConnectionError> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConnectionError::CanvasUrl(url.into()));
    }
    Ok(url.to_string())
}

async fn token_request(
    url: &str,
    form: &[(&str, &str)],
) -> Result<serde_json::Value, ConnectionError> {
    let resp = http_client()
        .post(format!("{url}/login/oauth2/token"))
        .form(form)
        .send()
        .await
        .map_err(|e| ConnectionError::Canvas(e.to_string()))?;
    let status = resp.status();
    let body: serde_json::Value = resp
        .json()
        .await
        .map_err(|e| ConnectionError::Canvas(e.to_string()))?;
    if !status.is_success() {
        let why = body
            .get("error_description")
            .or_else(|| body.get("error"))
            .and_then(|v| v.as_str())
            .unwrap_or("no reason given");
        return Err(ConnectionError::Canvas(format!("{status}: {why}")));
    }
    Ok(body)
}

/// "Connect": checks the token against Canvas (`users/self`) and lists the accounts it can
/// manage, with their sub-accounts, to choose the root account from.
pub async fn verify(
    url: &str,
    token: &str,
) -> Result<(String, Vec<(u64, String)>), ConnectionError> {
    use rosterbridge_canvas_client::{CanvasClient, ClientOptions, Token};
    let url = canvas_url(url)?;
    let client = CanvasClient::new(&url, Token::new(token), ClientOptions::default())
        .map_err(|e| ConnectionError::Canvas(e.to_string()))?;
    let me: serde_json::Value = client
        .get("/api/v1/users/self", &[])
        .await
        .map_err(|e| ConnectionError::Canvas(e.to_string()))?;
    let name = me
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or("?")
        .to_string();
    let roots: Vec<serde_json::Value> = client
        .get_all("/api/v1/accounts", &[])
        .await
        .map_err(|e| ConnectionError::Canvas(e.to_string()))?;
    let mut accounts = Vec::new();
    for root in roots {
        let Some(id) = root.get("id").and_then(|v| v.as_u64()) else {
            continue;
        };
        accounts.push((
            id,
            root.get("name")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string(),
        ));
        let subs: Vec<serde_json::Value> = client
            .get_all(
                &format!("/api/v1/accounts/{id}/sub_accounts"),
                &[("recursive", "true".into())],
            )
            .await
            .map_err(|e| ConnectionError::Canvas(e.to_string()))?;
        accounts.extend(
            subs.iter().filter_map(|a| {
                Some((a.get("id")?.as_u64()?, a.get("name")?.as_str()?.to_string()))
            }),
        );
    }
    Ok((name, accounts))
}
