//! OAuth 1.0a request signing with HMAC-SHA256, exactly as RFC 5849 §3.4 and
//! `shared/specs/oneroster.md` §6.2 say (two-legged: a consumer key and secret, no token).
//!
//! The pieces are public because the sandbox provider verifies signatures with them, and
//! the tests check each piece against RFC 5849's worked example and against an
//! independent implementation (Python `oauthlib`, or the standard library).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, AsciiSet, NON_ALPHANUMERIC};
use rosterbridge_source_http::{Authorizer, HttpClient, HttpError, Secret, Url};
use sha2::Sha256;

/// RFC 3986 unreserved characters stay; everything else is `%XX` with upper-case hex.
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// RFC 5849 §3.6 percent-encoding (UTF-8 bytes, upper-case hex, space is `%20`).
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, RESERVED).to_string()
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn form_decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The query parameters of a URL, decoded, in order (repeats kept).
pub fn query_params(url: &Url) -> Vec<(String, String)> {
    match url.query() {
        None | Some("") => Vec::new(),
        Some(q) => q
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (form_decode(k), form_decode(v)),
                None => (form_decode(p), String::new()),
            })
            .collect(),
    }
}

/// §3.4.1.3.2: encode names and values, sort by name then value (bytes), join.
pub fn normalized_parameters(params: &[(String, String)]) -> String {
    let mut enc: Vec<(String, String)> =
        params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    enc.sort();
    enc.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// §3.4.1.2: scheme and host lower-case, default port dropped, path as sent.
pub fn base_string_uri(url: &Url) -> String {
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    // `Url::port` is already None for the scheme's default port (80/443).
    match url.port() {
        Some(p) => format!("{}://{host}:{p}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

/// §3.4.1: METHOD & encode(base URI) & encode(normalised parameters).
pub fn signature_base_string(method: &str, url: &Url, params: &[(String, String)]) -> String {
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(&base_string_uri(url)),
        encode(&normalized_parameters(params))
    )
}

/// §3.4.2 with SHA-256: Base64(HMAC(encode(consumer secret) & encode(token secret), base)).
pub fn hmac_sha256_signature(consumer_secret: &str, token_secret: &str, base: &str) -> String {
    let key = format!("{}&{}", encode(consumer_secret), encode(token_secret));
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(base.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The protocol parameters of one request (everything but the signature).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protocol {
    pub consumer_key: String,
    pub nonce: String,
    pub timestamp: String,
    /// `1.0`, or None to leave `oauth_version` out (RFC 5849 makes it optional).
    pub version: Option<String>,
}

impl Protocol {
    fn params(&self) -> Vec<(String, String)> {
        let mut p = vec![
            ("oauth_consumer_key".to_string(), self.consumer_key.clone()),
            ("oauth_nonce".to_string(), self.nonce.clone()),
            (
                "oauth_signature_method".to_string(),
                "HMAC-SHA256".to_string(),
            ),
            ("oauth_timestamp".to_string(), self.timestamp.clone()),
        ];
        if let Some(v) = &self.version {
            p.push(("oauth_version".to_string(), v.clone()));
        }
        p
    }
}

/// Signs a request; returns the signature (Base64) and the `Authorization` header value.
pub fn sign(
    method: &str,
    url: &Url,
    protocol: &Protocol,
    consumer_secret: &str,
) -> (String, String) {
    let mut params = query_params(url);
    let oauth = protocol.params();
    params.extend(oauth.iter().cloned());
    let base = signature_base_string(method, url, &params);
    let signature = hmac_sha256_signature(consumer_secret, "", &base);
    let mut fields: Vec<(String, String)> = oauth;
    fields.push(("oauth_signature".to_string(), signature.clone()));
    fields.sort();
    let header = fields
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", encode(v)))
        .collect::<Vec<_>>()
        .join(", ");
    (signature, format!("OAuth {header}"))
}

/// Parses an `Authorization: OAuth k="v", ...` header into decoded pairs (`realm` dropped).
pub fn parse_authorization(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim().strip_prefix("OAuth ")?;
    let mut out = Vec::new();
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        let v = v.trim().strip_prefix('"')?.strip_suffix('"')?;
        let k = percent_decode_str(k.trim())
            .decode_utf8_lossy()
            .into_owned();
        if k != "realm" {
            out.push((k, percent_decode_str(v).decode_utf8_lossy().into_owned()));
        }
    }
    Some(out)
}

/// Signs every request with a consumer key and secret.
pub struct OAuth1 {
    pub consumer_key: String,
    pub consumer_secret: Secret,
    /// Names where the secret came from, for 401 messages (e.g. "$OR_SECRET").
    pub secret_source: String,
}

impl std::fmt::Debug for OAuth1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth1")
            .field("consumer_key", &self.consumer_key)
            .field("consumer_secret", &self.consumer_secret)
            .finish()
    }
}

impl Authorizer for OAuth1 {
    fn authorization(&self, _: &HttpClient, method: &str, url: &Url) -> Result<String, HttpError> {
        let protocol = Protocol {
            consumer_key: self.consumer_key.clone(),
            nonce: nonce(),
            timestamp: chrono::Utc::now().timestamp().to_string(),
            version: Some("1.0".into()),
        };
        Ok(sign(method, url, &protocol, self.consumer_secret.expose()).1)
    }

    fn credential(&self) -> String {
        format!(
            "the OAuth 1.0a consumer key {:?} / secret from {}",
            self.consumer_key, self.secret_source
        )
    }
}

/// A fresh random nonce (servers refuse a repeated nonce/timestamp pair).
fn nonce() -> String {
    use rand::RngExt as _;
    let mut rng = rand::rng();
    (0..24)
        .map(|_| {
            char::from(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                    [rng.random_range(0..62usize)],
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol() -> Protocol {
        Protocol {
            consumer_key: "or-client-key".into(),
            nonce: "abc123XYZ".into(),
            timestamp: "1700000000".into(),
            version: Some("1.0".into()),
        }
    }

    /// RFC 5849 §3.4.1's worked example: its parameters (query, body, protocol) normalise to
    /// exactly the string the RFC prints.
    #[test]
    fn rfc5849_normalised_parameters() {
        let url = Url::parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b").unwrap();
        let mut params = query_params(&url);
        params.extend([("c2", ""), ("a3", "2 q")].map(|(k, v)| (k.to_string(), v.to_string())));
        params.extend(
            [
                ("oauth_consumer_key", "9djdj82h48djs9d2"),
                ("oauth_token", "kkk9d7dh3k39sjv7"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "137131201"),
                ("oauth_nonce", "7d8f3e4a"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        assert_eq!(
            normalized_parameters(&params),
            "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7"
        );
        // And its base string, with the RFC's method and URI (signature method adapted: the
        // base string does not depend on it beyond the parameter value).
        let post =
            Url::parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b").unwrap();
        let base = signature_base_string("post", &post, &params);
        assert_eq!(
            base,
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
        );
    }

    /// The spec's vectors V1-V3 (cross-checked there with oauthlib).
    #[test]
    fn spec_vectors() {
        let cases = [
            ("https://OneRoster.Example.org:443/ims/oneroster/v1p1/users?limit=100&offset=200", "AYiCxLhKaa5+9GqOCB5SP9bIGSaxPjhMerOxHKht82s="),
            (
                "https://oneroster.example.org/ims/oneroster/v1p1/users?filter=dateLastModified%3E%272024-01-01T00%3A00%3A00Z%27&limit=100&offset=0",
                "YlrJw/UsEXhIpBacUdFwz11A8Rddz3VbWdUKp7FmBt4=",
            ),
            ("https://oneroster.example.org/ims/oneroster/v1p1/users?filter=role%3D%27student%27%20AND%20status%3D%27active%27", "xvRtRHABjq0e5w/W0aXMd6FkQg4WXx3nxM+ebPLJ45I="),
            ("https://oneroster.example.org/ims/oneroster/v1p1/users?filter=role%3D%27student%27+AND+status%3D%27active%27", "xvRtRHABjq0e5w/W0aXMd6FkQg4WXx3nxM+ebPLJ45I="),
        ];
        for (url, want) in cases {
            let (sig, header) = sign(
                "GET",
                &Url::parse(url).unwrap(),
                &protocol(),
                "or-client-secret",
            );
            assert_eq!(sig, want, "{url}");
            assert!(
                header.contains(&format!("oauth_signature=\"{}\"", encode(want))),
                "{header}"
            );
        }
        let url = Url::parse(cases[0].0).unwrap();
        let mut params = query_params(&url);
        params.extend(protocol().params());
        assert_eq!(
            signature_base_string("GET", &url, &params),
            "GET&https%3A%2F%2Foneroster.example.org%2Fims%2Foneroster%2Fv1p1%2Fusers&limit%3D100%26oauth_consumer_key%3Dor-client-key%26oauth_nonce%3Dabc123XYZ%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1700000000%26oauth_version%3D1.0%26offset%3D200"
        );
    }

    #[test]
    fn header_round_trips_and_hides_the_secret() {
        let url = Url::parse("http://h/x?a=1").unwrap();
        let (sig, header) = sign("GET", &url, &protocol(), "s3cret");
        let parsed = parse_authorization(&header).unwrap();
        assert!(parsed.contains(&("oauth_signature".to_string(), sig)));
        assert!(parsed.contains(&(
            "oauth_signature_method".to_string(),
            "HMAC-SHA256".to_string()
        )));
        assert!(!header.contains("s3cret"));
        let o = OAuth1 {
            consumer_key: "k".into(),
            consumer_secret: Secret::new("s3cret"),
            secret_source: "$X".into(),
        };
        assert!(!format!("{o:?}").contains("s3cret"));
    }
}
