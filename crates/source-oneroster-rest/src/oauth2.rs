//! OAuth 2 client credentials (`shared/specs/oneroster.md` §6.3): a bearer token asked for
//! with the configured scopes, cached, refreshed 60 s before it expires and once after a 401.

use rosterbridge_source_http::{Authorizer, HttpClient, HttpError, Request, Secret, Url};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Refresh this long before `expires_in` runs out, so a page never goes out with a token that
/// expires in flight.
const MARGIN: Duration = Duration::from_secs(60);

/// Client-credentials configuration.
pub struct ClientCredentials {
    pub token_url: Url,
    pub client_id: String,
    pub client_secret: Secret,
    /// Names where the secret came from, for 401 messages (e.g. "$OR_SECRET").
    pub secret_source: String,
    pub scopes: Vec<String>,
    /// Send `client_id`/`client_secret` in the form body instead of HTTP Basic (some servers
    /// only take one of the two).
    pub credentials_in_body: bool,
    cached: Mutex<Option<(Secret, Instant)>>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scopes", &self.scopes)
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl ClientCredentials {
    pub fn new(
        token_url: Url,
        client_id: String,
        client_secret: Secret,
        secret_source: String,
        scopes: Vec<String>,
    ) -> Self {
        ClientCredentials {
            token_url,
            client_id,
            client_secret,
            secret_source,
            scopes,
            credentials_in_body: false,
            cached: Mutex::new(None),
        }
    }

    /// A valid token: the cached one, or a new one when it is missing or about to expire.
    pub fn token(&self, client: &HttpClient) -> Result<Secret, HttpError> {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() + MARGIN < *until {
                return Ok(token.clone());
            }
        }
        let scope = self.scopes.join(" ");
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        if self.credentials_in_body {
            form.push(("client_id", &self.client_id));
            form.push(("client_secret", self.client_secret.expose()));
        }
        let req = Request {
            method: "POST",
            url: self.token_url.clone(),
            form: Some(&form),
            json: None,
            basic: (!self.credentials_in_body)
                .then_some((self.client_id.as_str(), &self.client_secret)),
        };
        let resp = client
            .send(&req, &TokenEndpoint(self))
            .map_err(|e| match e {
                // A token endpoint answers bad client credentials with 400 invalid_client too.
                HttpError::Status {
                    url,
                    status: 400,
                    body,
                } if body.contains("invalid_client") => HttpError::Unauthorized {
                    url,
                    credential: self.credential(),
                    detail: " (invalid_client)".into(),
                },
                other => other,
            })?;
        // Never put a token response body into an error: it may hold the token.
        let parsed: TokenResponse =
            serde_json::from_slice(&resp.body).map_err(|e| HttpError::Malformed {
                url: self.token_url.to_string(),
                what: "token response".into(),
                message: e.to_string(),
                snippet: "(not shown: token responses hold secrets)".into(),
            })?;
        let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(3600));
        let token = Secret::new(parsed.access_token);
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }
}

/// Authorises the token request itself: credentials go in Basic or the body, so no header,
/// but errors must still name the client credentials.
struct TokenEndpoint<'a>(&'a ClientCredentials);
impl Authorizer for TokenEndpoint<'_> {
    fn authorization(&self, _: &HttpClient, _: &str, _: &Url) -> Result<String, HttpError> {
        Ok(String::new())
    }
    fn credential(&self) -> String {
        self.0.credential()
    }
}

impl Authorizer for ClientCredentials {
    fn authorization(&self, client: &HttpClient, _: &str, _: &Url) -> Result<String, HttpError> {
        Ok(format!("Bearer {}", self.token(client)?.expose()))
    }

    fn refresh(&self) -> bool {
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
        true
    }

    fn credential(&self) -> String {
        format!(
            "the OAuth 2 client id {:?} / secret from {} (token URL {}, scopes {:?})",
            self.client_id,
            self.secret_source,
            self.token_url,
            self.scopes.join(" ")
        )
    }
}
