//! The HTTP client every REST source shares (OneRoster 1.1/1.2 REST, Clever).
//!
//! Why one client: the network rules are the same for every SIS provider and must not drift
//! apart between sources (design rules 4 and 5):
//!
//! * every request has a connect and a total timeout, so a hung provider fails a run instead
//!   of stalling it for ever;
//! * 5xx, 429 and connection failures are retried with exponential backoff and full jitter
//!   (so several rosterbridge instances do not retry in lock-step); `Retry-After` (seconds or
//!   an HTTP date) and Clever's `X-RateLimit-Reset` override the backoff when sent;
//! * 401 lets the credential refresh itself once (an OAuth 2 token that expired early), then
//!   fails naming *which* credential is wrong; 403 names the credential and its scopes;
//! * secrets live in [`Secret`], whose `Debug` and `Display` print `[redacted]`, and no error
//!   carries a request header or a token response body.
//!
//! The client is blocking on purpose: the engine runs one source read at a time and is
//! synchronous; a blocking client keeps the sources simple and testable from plain `#[test]`s.

use rand::RngExt as _;
use std::fmt;
use std::time::Duration;
pub use url::Url;

/// A secret (client secret, token). Never printed: `Debug` and `Display` say `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself, for signing or sending. Never pass it to a formatter.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Timeouts and retries.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Tries per request, the first included.
    pub max_attempts: u32,
    /// The backoff before the second try; doubled for each further try.
    pub base_delay: Duration,
    /// Backoff never waits longer than this.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this fails the request instead of waiting (a provider
    /// asking for an hour's pause should stop the run, not freeze it).
    pub max_retry_after: Duration,
    /// Whole request, body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Backoff before try `attempt + 1` (attempt is 1-based): full jitter in
    /// `[d/2, d]` where `d = base * 2^(attempt-1)`, capped at `max_delay`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let d = exp.min(self.max_delay);
        let half = d / 2;
        let jitter = if half.is_zero() {
            0
        } else {
            rand::rng().random_range(0..=half.as_millis() as u64)
        };
        half + Duration::from_millis(jitter)
    }
}

/// Signs or authorises requests.
pub trait Authorizer: Send + Sync {
    /// The `Authorization` header for this request (called again for every retry, so OAuth 1
    /// signatures get a fresh nonce and timestamp).
    fn authorization(
        &self,
        client: &HttpClient,
        method: &str,
        url: &Url,
    ) -> Result<String, HttpError>;
    /// After a 401: drop any cached token; true when a retry may now succeed.
    fn refresh(&self) -> bool {
        false
    }
    /// Names the credential for error messages, e.g. "the OneRoster consumer key/secret
    /// (client_id \"x\", secret from $OR_SECRET)". Never the secret itself.
    fn credential(&self) -> String;
}

/// No authorisation (token endpoints that take credentials in the body, tests).
pub struct NoAuth;
impl Authorizer for NoAuth {
    fn authorization(&self, _: &HttpClient, _: &str, _: &Url) -> Result<String, HttpError> {
        Ok(String::new())
    }
    fn credential(&self) -> String {
        "no credential".into()
    }
}

/// A received response.
#[derive(Debug)]
pub struct Response {
    pub url: Url,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Parses the body as JSON; `what` names the document in the error ("users page").
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::Malformed {
            url: self.url.to_string(),
            what: what.to_string(),
            message: e.to_string(),
            snippet: snippet(&self.body),
        })
    }
}

/// The first 400 characters of a body, for errors (never used on token responses): enough
/// for a OneRoster `imsx_StatusInfo` with its description.
pub fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s: String = s.chars().take(400).collect();
    s.replace(['\n', '\r'], " ")
}

/// Why a request failed, with the URL and what to do.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot set up the HTTP client: {message}")]
    Build { message: String },
    #[error("{url}: this build of rosterbridge has no TLS, so it cannot reach https providers")]
    TlsUnavailable { url: String },
    #[error("{url}: no answer within {timeout:?} ({attempts} tries)")]
    Timeout {
        url: String,
        timeout: Duration,
        attempts: u32,
    },
    #[error("{url}: cannot connect: {message} ({attempts} tries)")]
    Connect {
        url: String,
        message: String,
        attempts: u32,
    },
    #[error("{url}: 401 Unauthorized: {credential} was refused{detail}")]
    Unauthorized {
        url: String,
        credential: String,
        detail: String,
    },
    #[error("{url}: 403 Forbidden: {credential} is valid but not allowed here{detail}")]
    Forbidden {
        url: String,
        credential: String,
        detail: String,
    },
    #[error("{url}: HTTP {status} after {attempts} tries: {body}")]
    RetriesExhausted {
        url: String,
        status: u16,
        attempts: u32,
        body: String,
    },
    #[error("{url}: the provider asks to wait {wait:?} (HTTP {status}), longer than the {limit:?} allowed")]
    WaitTooLong {
        url: String,
        status: u16,
        wait: Duration,
        limit: Duration,
    },
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: the {what} is not valid JSON: {message} (starts: {snippet:?})")]
    Malformed {
        url: String,
        what: String,
        message: String,
        snippet: String,
    },
}

impl HttpError {
    /// The HTTP status, when the provider answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Unauthorized { .. } => Some(401),
            HttpError::Forbidden { .. } => Some(403),
            HttpError::RetriesExhausted { status, .. }
            | HttpError::WaitTooLong { status, .. }
            | HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// What the operator should do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            HttpError::Build { .. } => "report this as a bug",
            HttpError::TlsUnavailable { .. } => "build with the `tls` feature of rosterbridge-source-http (reqwest's rustls-no-provider)",
            HttpError::Timeout { .. } | HttpError::Connect { .. } => "check the base URL and that the provider is reachable from this machine",
            HttpError::Unauthorized { .. } => "check the named credential (and, for OAuth 1, this machine's clock)",
            HttpError::Forbidden { .. } => "ask the provider to grant the scopes or the district this credential needs",
            HttpError::RetriesExhausted { .. } | HttpError::WaitTooLong { .. } => "the provider is failing or throttling; run again later",
            HttpError::Status { .. } => "check the base URL and the provider's documentation for this status",
            HttpError::Malformed { .. } => "the provider sent a broken document; run again, and report it to the provider if it persists",
        }
    }
}

/// A request to send (GET with headers, a form POST, or a JSON PUT).
pub struct Request<'a> {
    pub method: &'static str,
    pub url: Url,
    pub form: Option<&'a [(&'a str, &'a str)]>,
    /// A JSON body (`Content-Type: application/json`), e.g. a OneRoster gradebook PUT.
    pub json: Option<&'a [u8]>,
    /// Basic credentials (token endpoints): user and secret.
    pub basic: Option<(&'a str, &'a Secret)>,
}

impl<'a> Request<'a> {
    pub fn get(url: Url) -> Request<'static> {
        Request {
            method: "GET",
            url,
            form: None,
            json: None,
            basic: None,
        }
    }

    /// A PUT of a JSON document. PUT is idempotent, so retrying it is safe.
    pub fn put_json(url: Url, body: &'a [u8]) -> Request<'a> {
        Request {
            method: "PUT",
            url,
            form: None,
            json: Some(body),
            basic: None,
        }
    }
}

/// The shared blocking client.
pub struct HttpClient {
    client: reqwest::blocking::Client,
    pub policy: RetryPolicy,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.policy)
            .finish()
    }
}

impl HttpClient {
    pub fn new(policy: RetryPolicy) -> Result<Self, HttpError> {
        // With TLS, reqwest is built without a default crypto provider; install ring once per
        // process. An error only means one is installed already (by this or another client).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.connect_timeout)
            .user_agent(concat!("rosterbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Build {
                message: e.to_string(),
            })?;
        Ok(HttpClient { client, policy })
    }

    /// GET with retries.
    pub fn get(&self, url: &Url, auth: &dyn Authorizer) -> Result<Response, HttpError> {
        self.send(&Request::get(url.clone()), auth)
    }

    /// Sends with timeouts, retries and one credential refresh after a 401.
    pub fn send(&self, req: &Request<'_>, auth: &dyn Authorizer) -> Result<Response, HttpError> {
        let url_text = req.url.to_string();
        let mut refreshed = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut builder = match req.method {
                "POST" => self.client.post(req.url.clone()),
                "PUT" => self.client.put(req.url.clone()),
                _ => self.client.get(req.url.clone()),
            };
            let authorization = auth.authorization(self, req.method, &req.url)?;
            if !authorization.is_empty() {
                builder = builder.header(reqwest::header::AUTHORIZATION, authorization);
            }
            if let Some((user, secret)) = req.basic {
                builder = builder.basic_auth(user, Some(secret.expose()));
            }
            if let Some(form) = req.form {
                builder = builder.form(form);
            }
            if let Some(json) = req.json {
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(json.to_vec());
            }
            let last = attempt >= self.policy.max_attempts;
            let resp = match builder.send().and_then(|r| {
                let status = r.status().as_u16();
                let headers = r.headers().clone();
                let url = r.url().clone();
                r.bytes().map(|b| Response {
                    url,
                    status,
                    headers,
                    body: b.to_vec(),
                })
            }) {
                Ok(r) => r,
                Err(e) => {
                    // Deterministic, so not worth a retry: reqwest was built without TLS.
                    if req.url.scheme() == "https" && error_chain(&e).contains("scheme is not http")
                    {
                        return Err(HttpError::TlsUnavailable { url: url_text });
                    }
                    if !last {
                        std::thread::sleep(self.policy.backoff(attempt));
                        continue;
                    }
                    return Err(if e.is_timeout() {
                        HttpError::Timeout {
                            url: url_text,
                            timeout: self.policy.timeout,
                            attempts: attempt,
                        }
                    } else {
                        HttpError::Connect {
                            url: url_text,
                            message: error_chain(&e),
                            attempts: attempt,
                        }
                    });
                }
            };
            match resp.status {
                200..=299 => return Ok(resp),
                401 => {
                    if !refreshed && auth.refresh() {
                        refreshed = true;
                        attempt -= 1;
                        continue;
                    }
                    return Err(HttpError::Unauthorized {
                        url: url_text,
                        credential: auth.credential(),
                        detail: auth_detail(&resp),
                    });
                }
                403 => {
                    return Err(HttpError::Forbidden {
                        url: url_text,
                        credential: auth.credential(),
                        detail: auth_detail(&resp),
                    })
                }
                429 | 500 | 502 | 503 | 504 => {
                    if last {
                        return Err(HttpError::RetriesExhausted {
                            url: url_text,
                            status: resp.status,
                            attempts: attempt,
                            body: snippet(&resp.body),
                        });
                    }
                    let wait = match server_wait(&resp) {
                        Some(w) if w > self.policy.max_retry_after => {
                            return Err(HttpError::WaitTooLong {
                                url: url_text,
                                status: resp.status,
                                wait: w,
                                limit: self.policy.max_retry_after,
                            })
                        }
                        Some(w) => w,
                        None => self.policy.backoff(attempt),
                    };
                    std::thread::sleep(wait);
                }
                status => {
                    return Err(HttpError::Status {
                        url: url_text,
                        status,
                        body: snippet(&resp.body),
                    })
                }
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// How long the provider asks us to wait: `Retry-After` (seconds or HTTP date), else
/// Clever's `X-RateLimit-Reset` (Unix seconds).
pub fn server_wait(resp: &Response) -> Option<Duration> {
    let now = chrono::Utc::now();
    if let Some(v) = resp.header("retry-after") {
        let v = v.trim();
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(when) = chrono::DateTime::parse_from_rfc2822(v) {
            return Some(
                (when.with_timezone(&chrono::Utc) - now)
                    .to_std()
                    .unwrap_or_default(),
            );
        }
    }
    if resp.status == 429 {
        if let Some(reset) = resp
            .header("x-ratelimit-reset")
            .and_then(|v| v.trim().parse::<i64>().ok())
        {
            return Some(Duration::from_secs((reset - now.timestamp()).max(0) as u64));
        }
    }
    None
}

/// What a 401/403 body says (OneRoster `imsx_description`, Clever `message`, OAuth
/// `error_description`), and the clock difference when the server's `Date` is far off ours
/// (OAuth 1 timestamps are refused beyond a few minutes).
fn auth_detail(resp: &Response) -> String {
    let mut out = String::new();
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&resp.body) {
        let said = ["imsx_description", "message", "error_description", "error"]
            .iter()
            .find_map(|k| v.get(*k).and_then(|x| x.as_str()).map(str::to_string));
        if let Some(said) = said {
            out.push_str(&format!(" (the provider says: {said})"));
        }
    }
    if let Some(date) = resp
        .header("date")
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
    {
        let skew = (chrono::Utc::now() - date.with_timezone(&chrono::Utc)).num_seconds();
        if skew.abs() > 300 {
            out.push_str(&format!(
                "; this machine's clock is {skew} s off the provider's: fix the clock"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn backoff_is_jittered_doubling_and_capped() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            ..Default::default()
        };
        for _ in 0..50 {
            let b1 = p.backoff(1);
            assert!(
                b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100),
                "{b1:?}"
            );
            let b2 = p.backoff(2);
            assert!(
                b2 >= Duration::from_millis(100) && b2 <= Duration::from_millis(200),
                "{b2:?}"
            );
            let b9 = p.backoff(9);
            assert!(
                b9 >= Duration::from_millis(175) && b9 <= Duration::from_millis(350),
                "{b9:?}"
            );
        }
    }

    fn resp(status: u16, headers: &[(&'static str, String)]) -> Response {
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        Response {
            url: Url::parse("http://x/").unwrap(),
            status,
            headers: map,
            body: vec![],
        }
    }

    /// HTTPS is supported: against a server that answers plain text, the TLS handshake itself
    /// fails (rather than the client refusing the scheme).
    /// Without TLS in the build, an https URL fails at once with a message that says why.
    #[cfg(not(feature = "tls"))]
    #[test]
    fn https_without_tls_says_so() {
        let client = HttpClient::new(RetryPolicy::default()).unwrap();
        let t = std::time::Instant::now();
        let err = client
            .get(&Url::parse("https://127.0.0.1:9/x").unwrap(), &NoAuth)
            .unwrap_err();
        assert!(matches!(err, HttpError::TlsUnavailable { .. }), "{err}");
        assert!(t.elapsed() < Duration::from_millis(400), "not retried");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn https_reaches_a_tls_handshake() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::Write;
            for stream in listener.incoming().take(1).flatten() {
                let mut s = stream;
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            }
        });
        let client = HttpClient::new(RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        })
        .unwrap();
        let err = client
            .get(
                &Url::parse(&format!("https://127.0.0.1:{port}/x")).unwrap(),
                &NoAuth,
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot connect") && err.contains("InvalidContentType"),
            "{err}"
        );
    }

    #[test]
    fn retry_after_seconds_date_and_clever_reset() {
        assert_eq!(
            server_wait(&resp(429, &[("retry-after", "7".into())])),
            Some(Duration::from_secs(7))
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let w = server_wait(&resp(503, &[("retry-after", later)])).unwrap();
        assert!(
            w > Duration::from_secs(25) && w <= Duration::from_secs(30),
            "{w:?}"
        );
        let reset = (chrono::Utc::now().timestamp() + 12).to_string();
        let w = server_wait(&resp(429, &[("x-ratelimit-reset", reset)])).unwrap();
        assert!(
            w >= Duration::from_secs(11) && w <= Duration::from_secs(12),
            "{w:?}"
        );
        assert_eq!(server_wait(&resp(500, &[])), None);
    }
}
