//! A Canvas LMS API client for the sinks: bearer auth, throttle-aware pacing
//! ([`governor`]), retries that are safe to make, Link-header pagination, SIS imports
//! ([`sis_import`]) and the handful of REST calls a sync needs.
//!
//! Retry rules: a throttled answer (429, or 403 "Rate Limit Exceeded") and a connection
//! that could not be opened were never processed, so every request is retried after them.
//! Server errors (5xx) and timeouts may have been processed, so only requests marked
//! [`Retry::Safe`] (reads, and writes that set rather than add) are retried after them.

pub mod error;
pub mod governor;
pub mod sis_import;

pub use error::CanvasError;
pub use governor::{PacingOptions, PacingStats};

use governor::Governor;
use rand::RngExt;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// An access token; never printed.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(s: impl Into<String>) -> Token {
        Token(s.into())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Per request, connect to last byte.
    pub timeout: Duration,
    /// Attempts after the first.
    pub max_retries: u32,
    /// First backoff; doubles each attempt, with jitter, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub pacing: PacingOptions,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(120),
            max_retries: 6,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            pacing: PacingOptions::default(),
        }
    }
}

/// Whether a request may be sent again after an answer that does not say whether it
/// was processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Sending it twice does no harm (GET, PUT of values, DELETE).
    Safe,
    /// Retry only when it surely was not processed (throttled, connection refused).
    IfNotProcessed,
}

/// The body of a request, kept so that it can be sent again.
#[derive(Clone, Debug)]
pub enum Body {
    None,
    /// `application/x-www-form-urlencoded`, Canvas's usual parameters (`user[name]=...`).
    Form(Vec<(String, String)>),
    /// Raw bytes with a content type (SIS import zips).
    Bytes {
        content_type: &'static str,
        data: bytes_like::Shared,
    },
}

/// Cheap clones of a request body for retries.
pub mod bytes_like {
    pub type Shared = std::sync::Arc<Vec<u8>>;
}

/// A JSON answer and the `next` page link, if any.
#[derive(Debug)]
pub struct Page<T> {
    pub items: T,
    pub next: Option<String>,
}

#[derive(Clone)]
pub struct CanvasClient {
    http: reqwest::Client,
    base: String,
    token: Token,
    options: Arc<ClientOptions>,
    governor: Arc<Governor>,
}

impl fmt::Debug for CanvasClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CanvasClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn install_crypto_provider() {
    // Once per process; an error only means another part installed one already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl CanvasClient {
    /// `base_url` is the instance, e.g. `https://school.instructure.com` (no `/api/v1`).
    pub fn new(
        base_url: &str,
        token: Token,
        options: ClientOptions,
    ) -> Result<CanvasClient, CanvasError> {
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CanvasError::BadUrl {
                url: base_url.into(),
                message: "it must start with https:// (or http:// for a local sandbox)".into(),
            });
        }
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(Duration::from_secs(20))
            .user_agent(concat!("rosterbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CanvasError::BadUrl {
                url: base_url.into(),
                message: e.to_string(),
            })?;
        let governor = Arc::new(Governor::new(options.pacing.clone()));
        Ok(CanvasClient {
            http,
            base,
            token,
            options: Arc::new(options),
            governor,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn stats(&self) -> PacingStats {
        self.governor.stats()
    }

    /// An absolute URL for an API path (`/api/v1/...`), or the URL itself when absolute
    /// (pagination links, file downloads).
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else {
            format!("{}{}", self.base, path_or_url)
        }
    }

    /// Sends a request with pacing and retries; returns the successful response.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: &Body,
        retry: Retry,
    ) -> Result<reqwest::Response, CanvasError> {
        let url = self.url(path);
        let mut attempt = 0u32;
        loop {
            let admission = self.governor.admit().await;
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.token.0);
            if !query.is_empty() {
                req = req.query(query);
            }
            req = match body {
                Body::None => req,
                Body::Form(pairs) => req.form(pairs),
                Body::Bytes { content_type, data } => req
                    .header(reqwest::header::CONTENT_TYPE, *content_type)
                    .body(data.as_ref().clone()),
            };
            let result = req.send().await;
            let failure = match result {
                Ok(resp) => {
                    let header = |name: &str| {
                        resp.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<f64>().ok())
                    };
                    // A throttled answer's "remaining" is 0 by definition: it says nothing
                    // about the bucket's size.
                    let refused = resp.status() == StatusCode::TOO_MANY_REQUESTS
                        || resp.status() == StatusCode::FORBIDDEN;
                    if !refused {
                        self.governor
                            .observe(header("x-rate-limit-remaining"), header("x-request-cost"));
                    }
                    drop(admission);
                    let status = resp.status();
                    if status.is_success() {
                        return Ok(resp);
                    }
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .map(Duration::from_secs_f64);
                    let text = resp.text().await.unwrap_or_default();
                    let throttled = status == StatusCode::TOO_MANY_REQUESTS
                        || (status == StatusCode::FORBIDDEN
                            && text.contains("Rate Limit Exceeded"));
                    let message = error::error_message(&text);
                    if throttled {
                        self.governor.throttled();
                        Failure {
                            retryable: true,
                            wait: retry_after,
                            last: format!("throttled ({status}: {})", message.trim()),
                        }
                    } else if status == StatusCode::UNAUTHORIZED {
                        return Err(CanvasError::Unauthorized {
                            method: method.to_string(),
                            url,
                            message,
                        });
                    } else if status.is_server_error() {
                        Failure {
                            retryable: retry == Retry::Safe,
                            wait: retry_after,
                            last: format!("{status}: {}", message.trim()),
                        }
                    } else {
                        return Err(CanvasError::Status {
                            method: method.to_string(),
                            url,
                            status: status.as_u16(),
                            message,
                        });
                    }
                }
                Err(e) => {
                    drop(admission);
                    let not_sent = e.is_connect();
                    Failure {
                        retryable: not_sent || retry == Retry::Safe,
                        wait: None,
                        last: transport_message(&e),
                    }
                }
            };
            if !failure.retryable {
                return Err(CanvasError::Transport {
                    method: method.to_string(),
                    url,
                    message: failure.last,
                });
            }
            if attempt >= self.options.max_retries {
                return Err(CanvasError::GaveUp {
                    method: method.to_string(),
                    url,
                    attempts: attempt + 1,
                    last: failure.last,
                });
            }
            attempt += 1;
            self.governor.retried();
            tokio::time::sleep(failure.wait.unwrap_or_else(|| self.backoff(attempt))).await;
        }
    }

    /// Exponential backoff with full jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .options
            .backoff_base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.options.backoff_max);
        let ms = cap.as_millis().max(1) as u64;
        Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
    }

    async fn json<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, CanvasError> {
        let url = resp.url().to_string();
        let bytes = resp.bytes().await.map_err(|e| CanvasError::Transport {
            method: "GET".into(),
            url: url.clone(),
            message: transport_message(&e),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| CanvasError::Decode {
            url,
            message: e.to_string(),
        })
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, CanvasError> {
        let resp = self
            .send(Method::GET, path, query, &Body::None, Retry::Safe)
            .await?;
        Self::json(resp).await
    }

    /// One page of a list; `next` from the Link header.
    pub async fn get_page<T: DeserializeOwned>(
        &self,
        path_or_url: &str,
        query: &[(&str, String)],
    ) -> Result<Page<Vec<T>>, CanvasError> {
        let resp = self
            .send(Method::GET, path_or_url, query, &Body::None, Retry::Safe)
            .await?;
        let next = resp
            .headers()
            .get(reqwest::header::LINK)
            .and_then(|v| v.to_str().ok())
            .and_then(next_link);
        Ok(Page {
            items: Self::json(resp).await?,
            next,
        })
    }

    /// Every page of a list (100 a page).
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<T>, CanvasError> {
        let mut q: Vec<(&str, String)> = query.to_vec();
        q.push(("per_page", "100".into()));
        let mut page = self.get_page::<T>(path, &q).await?;
        let mut all = std::mem::take(&mut page.items);
        while let Some(next) = page.next.take() {
            // The next link carries every parameter already.
            page = self.get_page::<T>(&next, &[]).await?;
            all.append(&mut page.items);
        }
        Ok(all)
    }

    /// `Ok(None)` for a 404.
    pub async fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, CanvasError> {
        match self.get(path, &[]).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn write<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: Vec<(String, String)>,
        retry: Retry,
    ) -> Result<T, CanvasError> {
        let resp = self
            .send(method, path, &[], &Body::Form(form), retry)
            .await?;
        Self::json(resp).await
    }

    /// Downloads a file (e.g. a SIS import's errors attachment).
    pub async fn download(&self, url: &str) -> Result<Vec<u8>, CanvasError> {
        let resp = self
            .send(Method::GET, url, &[], &Body::None, Retry::Safe)
            .await?;
        let url = resp.url().to_string();
        let bytes = resp.bytes().await.map_err(|e| CanvasError::Transport {
            method: "GET".into(),
            url,
            message: transport_message(&e),
        })?;
        Ok(bytes.to_vec())
    }
}

struct Failure {
    retryable: bool,
    wait: Option<Duration>,
    last: String,
}

fn transport_message(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut s = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "connection failed".to_string()
    };
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// The `rel="next"` URL of a Link header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let url = pieces.next()?.trim().strip_prefix('<')?.strip_suffix('>')?;
        pieces
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"")
            .then(|| url.to_string())
    })
}

/// Percent-encodes an SIS id for the `sis_*_id:` path forms (Canvas decodes it once).
pub fn sis_path(prefix: &str, sis_id: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1 + sis_id.len());
    out.push_str(prefix);
    out.push(':');
    for b in sis_id.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_found_among_the_others() {
        let h = r#"<https://c/api/v1/x?page=1&per_page=10>; rel="current",<https://c/api/v1/x?page=2&per_page=10>; rel="next",<https://c/api/v1/x?page=1&per_page=10>; rel="first""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://c/api/v1/x?page=2&per_page=10")
        );
        assert_eq!(next_link(r#"<https://c/x?page=1>; rel="first""#), None);
    }

    #[test]
    fn sis_ids_are_percent_encoded_in_paths() {
        assert_eq!(
            sis_path("sis_user_id", "s 001/ä"),
            "sis_user_id:s%20001%2F%C3%A4"
        );
        assert_eq!(
            sis_path("sis_course_id", "MATH-101_a.b"),
            "sis_course_id:MATH-101_a.b"
        );
    }

    #[test]
    fn tokens_are_never_printed() {
        assert_eq!(format!("{:?}", Token::new("secret-value")), "Token(***)");
    }
}
