//! OneRoster REST source (`shared/specs/oneroster.md` §4, §6).
//!
//! * 1.1: OAuth 1.0a HMAC-SHA256 request signing ([`oauth1`]), or OAuth 2 client credentials
//!   where the provider uses them; 1.2: OAuth 2 client credentials ([`oauth2`]) with scopes.
//! * Every rostering collection is paged with limit/offset (or `Link: rel="next"`) until
//!   `X-Total-Count`, de-duplicated by sourcedId and re-pulled when it changes mid-pull.
//! * Incremental runs ask only for records changed since the previous pull
//!   (`filter=dateLastModified>'…'`) and merge them onto the previous exchange.
//! * Pages become the OneRoster CSV tables in memory and are read by the CSV source's parser,
//!   so the same district gives the same [`Roster`](rosterbridge_model::roster::Roster) and
//!   the same row diagnostics as its CSV export (locations are rewritten to the collection
//!   URL and record number).

// A run fails at most once, so errors carry their full context inline rather than boxed.
#![allow(clippy::result_large_err)]

mod convert;
pub mod oauth1;
pub mod oauth2;
mod pull;

use convert::{Fields, TableBuilder, TableSpec};
use rosterbridge_model::roster::OneRosterVersion;
use rosterbridge_model::{Diagnostic, Location};
use rosterbridge_source_http::Authorizer;
pub use rosterbridge_source_http::{HttpClient, HttpError, RetryPolicy, Secret, Url};
use rosterbridge_source_oneroster::{MemoryPackage, SourceError, SourceRead};
use rosterbridge_state::SourceTableSnapshot;
use std::collections::BTreeMap;
use std::time::Duration;

/// The pseudo-table that carries the incremental cursor between runs (saved with the tables).
pub const CURSOR_FILE: &str = "oneroster-rest.cursor";

/// Records changed this long before the previous pull started are asked for again: the
/// overlap is harmless (merging is idempotent) and covers records written during that pull.
const CURSOR_OVERLAP: Duration = Duration::from_secs(300);

/// How the provider wants requests authorised.
pub enum RestAuth {
    /// OAuth 1.0a, HMAC-SHA256, two-legged (OneRoster 1.1).
    OAuth1 {
        consumer_key: String,
        consumer_secret: Secret,
        secret_source: String,
    },
    /// OAuth 2 client credentials (OneRoster 1.2; some 1.1 providers).
    OAuth2 {
        token_url: Url,
        client_id: String,
        client_secret: Secret,
        secret_source: String,
        /// None: the read-only rostering scopes for the version (plus demographics when read).
        scopes: Option<Vec<String>>,
        credentials_in_body: bool,
    },
}

impl std::fmt::Debug for RestAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestAuth::OAuth1 { consumer_key, .. } => f
                .debug_struct("OAuth1")
                .field("consumer_key", consumer_key)
                .field("consumer_secret", &"[redacted]")
                .finish(),
            RestAuth::OAuth2 {
                token_url,
                client_id,
                scopes,
                ..
            } => f
                .debug_struct("OAuth2")
                .field("token_url", &token_url.as_str())
                .field("client_id", client_id)
                .field("client_secret", &"[redacted]")
                .field("scopes", scopes)
                .finish(),
        }
    }
}

/// Where and how to read.
#[derive(Debug)]
pub struct RestOptions {
    /// The service's base URL including the version path, e.g.
    /// `https://district.example/ims/oneroster/v1p1` or `.../ims/oneroster/rostering/v1p2`
    /// (providers put tenant prefixes in front, so it is taken whole).
    pub base_url: Url,
    pub version: OneRosterVersion,
    pub auth: RestAuth,
    /// `limit` per page; providers may cap it, which paging copes with.
    pub page_size: u32,
    /// Read `/demographics` too (needs its own scope on most providers).
    pub demographics: bool,
    /// Ask only for changes since the previous pull when one is stored.
    pub incremental: bool,
    pub retry: RetryPolicy,
    /// Pulls of one collection before accepting one that changed mid-pull.
    pub max_rounds: u32,
}

impl RestOptions {
    pub fn new(base_url: Url, version: OneRosterVersion, auth: RestAuth) -> Self {
        RestOptions {
            base_url,
            version,
            auth,
            page_size: 1000,
            demographics: false,
            incremental: false,
            retry: RetryPolicy::default(),
            max_rounds: 3,
        }
    }
}

/// Told how far a pull has got.
pub trait PullObserver: Sync {
    fn page(&self, _collection: &str, _records: usize, _total: Option<u64>) {}
}

/// Observes nothing.
pub struct NoProgress;
impl PullObserver for NoProgress {}

/// Whole-pull failures. Row problems are diagnostics in [`RestRead::read`].
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("OneRoster REST {collection} (offset {offset}): {source}")]
    Http {
        collection: String,
        offset: usize,
        source: HttpError,
    },
    #[error("{url} (offset {offset}): not a OneRoster page: {message}")]
    Shape {
        url: String,
        offset: usize,
        message: String,
    },
    #[error("invalid URL {url}: {message}")]
    BadUrl { url: String, message: String },
    #[error("cannot set up the HTTP client: {0}")]
    Setup(HttpError),
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl RestError {
    /// The problem as a diagnostic with what to do.
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            RestError::Http { source, .. } => {
                Diagnostic::error("source-http", self.to_string()).hint(source.hint())
            }
            RestError::Shape { url, .. } => Diagnostic::error("source-shape", self.to_string())
                .at(Location::file(url.clone()))
                .hint("check the base URL points at the OneRoster service (…/ims/oneroster/v1p1)"),
            RestError::BadUrl { .. } => {
                Diagnostic::error("source-url", self.to_string()).hint("check [source] base_url")
            }
            RestError::Setup(e) => {
                Diagnostic::error("source-http", self.to_string()).hint(e.hint())
            }
            RestError::Source(e) => e.to_diagnostic(),
        }
    }
}

/// One collection's pull.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CollectionSummary {
    pub collection: String,
    pub url: String,
    /// Records in the table after the pull (for delta pulls: changed records).
    pub records: usize,
    pub pages: usize,
    /// 1, or more when the collection changed mid-pull and was read again.
    pub rounds: u32,
    pub delta: bool,
}

/// A finished read.
#[derive(Debug)]
pub struct RestRead {
    pub read: SourceRead,
    pub collections: Vec<CollectionSummary>,
    /// The tables as read (save them with [`snapshot`] after a successful apply).
    pub package: MemoryPackage,
    /// When this pull started, by the provider's clock where it says (RFC 3339).
    pub cursor: String,
}

fn version_path(v: OneRosterVersion) -> &'static str {
    match v {
        OneRosterVersion::V1_1 => "v1p1",
        OneRosterVersion::V1_2 => "v1p2",
    }
}

/// The scopes asked for by default: read-only rostering (and demographics when read).
pub fn default_scopes(version: OneRosterVersion, demographics: bool) -> Vec<String> {
    let prefix = format!(
        "https://purl.imsglobal.org/spec/or/{}/scope/",
        version_path(version)
    );
    let mut s = vec![format!("{prefix}roster-core.readonly")];
    if demographics {
        s.push(format!("{prefix}roster-demographics.readonly"));
    }
    s
}

fn authorizer(opts: &RestOptions) -> Box<dyn Authorizer> {
    match &opts.auth {
        RestAuth::OAuth1 {
            consumer_key,
            consumer_secret,
            secret_source,
        } => Box::new(oauth1::OAuth1 {
            consumer_key: consumer_key.clone(),
            consumer_secret: consumer_secret.clone(),
            secret_source: secret_source.clone(),
        }),
        RestAuth::OAuth2 {
            token_url,
            client_id,
            client_secret,
            secret_source,
            scopes,
            credentials_in_body,
        } => {
            let scopes = scopes
                .clone()
                .unwrap_or_else(|| default_scopes(opts.version, opts.demographics));
            let mut c = oauth2::ClientCredentials::new(
                token_url.clone(),
                client_id.clone(),
                client_secret.clone(),
                secret_source.clone(),
                scopes,
            );
            c.credentials_in_body = *credentials_in_body;
            Box::new(c)
        }
    }
}

fn tables(opts: &RestOptions) -> Vec<&'static TableSpec> {
    let users = if opts.version == OneRosterVersion::V1_2 {
        &convert::USERS_12
    } else {
        &convert::USERS_11
    };
    let mut t = vec![
        &convert::ORGS,
        &convert::SESSIONS,
        &convert::COURSES,
        &convert::CLASSES,
        users,
        &convert::ENROLLMENTS,
    ];
    if opts.demographics {
        t.push(&convert::DEMOGRAPHICS);
    }
    t
}

fn is_deleted(r: &Fields<'_>) -> bool {
    let s = r.text("status");
    s.eq_ignore_ascii_case("tobedeleted") || s.eq_ignore_ascii_case("inactive")
}

/// `dateLastModified>'…'` for the stored cursor, less the overlap.
fn since_filter(cursor: &str) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(cursor.trim())
        .ok()?
        .with_timezone(&chrono::Utc);
    let since = t - chrono::Duration::from_std(CURSOR_OVERLAP).ok()?;
    Some(format!(
        "dateLastModified>'{}'",
        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ))
}

/// sourcedIds of roles.csv rows already stored for users (to retire the ones a changed
/// user no longer holds).
fn prior_role_ids(prior: &[SourceTableSnapshot]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Some(t) = prior.iter().find(|t| t.file == "roles.csv") else {
        return out;
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(t.csv.as_slice());
    let Ok(header) = rdr.headers().cloned() else {
        return out;
    };
    let (Some(id), Some(user)) = (
        header.iter().position(|h| h == "sourcedId"),
        header.iter().position(|h| h == "userSourcedId"),
    ) else {
        return out;
    };
    for rec in rdr.records().flatten() {
        if let (Some(i), Some(u)) = (rec.get(id), rec.get(user)) {
            out.entry(u.to_string()).or_default().push(i.to_string());
        }
    }
    out
}

/// Pulls every rostering collection and reads it as a OneRoster exchange. `prior` is the
/// previous exchange (tables and cursor) saved by [`snapshot`]; it is needed for incremental
/// runs and ignored otherwise.
pub fn read(
    opts: &RestOptions,
    prior: &[SourceTableSnapshot],
    observer: &dyn PullObserver,
) -> Result<RestRead, RestError> {
    let client = HttpClient::new(opts.retry.clone()).map_err(RestError::Setup)?;
    let auth = authorizer(opts);
    let pager = pull::Pager {
        client: &client,
        auth: auth.as_ref(),
        base: &opts.base_url,
        page_size: opts.page_size.max(1),
        max_rounds: opts.max_rounds.max(1),
        observer,
    };
    let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let prior_cursor = prior
        .iter()
        .find(|t| t.file == CURSOR_FILE)
        .map(|t| String::from_utf8_lossy(&t.csv).into_owned());
    let filter = if opts.incremental {
        prior_cursor.as_deref().and_then(since_filter)
    } else {
        None
    };

    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut modes: Vec<(&str, &str)> = Vec::new();
    let mut lines: BTreeMap<&'static str, (String, Vec<u32>)> = BTreeMap::new();
    let mut diags = Vec::new();
    let mut collections = Vec::new();
    let mut cursor = None;
    let v12 = opts.version == OneRosterVersion::V1_2;
    let prior_roles = if v12 && filter.is_some() {
        prior_role_ids(prior)
    } else {
        BTreeMap::new()
    };

    for spec in tables(opts) {
        // A delta needs the table it applies to; without one this collection is pulled whole.
        let delta = filter.is_some()
            && prior.iter().any(|t| t.file == spec.file)
            && (!v12 || spec.file != "users.csv" || prior.iter().any(|t| t.file == "roles.csv"));
        let want_roles = v12 && spec.file == "users.csv";
        let mut roles = TableBuilder::new(&convert::ROLES, delta);
        let mut add_roles = |id: &str, user: &Fields<'_>| {
            if !want_roles {
                return;
            }
            let rows = convert::role_rows(id, user);
            let (status, dlm) = (user.text("status"), user.text("dateLastModified"));
            let set = [
                ("userSourcedId", id),
                ("status", status.as_ref()),
                ("dateLastModified", dlm.as_ref()),
            ];
            for (rid, row) in &rows {
                roles.push(rid, row, &set);
            }
            // Roles a changed user no longer holds leave with a `tobedeleted` row.
            for old in prior_roles
                .get(id)
                .into_iter()
                .flatten()
                .filter(|o| !rows.iter().any(|(rid, _)| rid == *o))
            {
                roles.push(
                    old,
                    &Fields::default(),
                    &[("status", "tobedeleted"), ("userSourcedId", id)],
                );
            }
        };
        let keep = |r: &Fields<'_>| delta || !is_deleted(r);
        let fresh = || TableBuilder::new(spec, delta);
        let pulled = match pager.pull(
            spec,
            if delta { filter.as_deref() } else { None },
            &fresh,
            &keep,
            &mut add_roles,
            &mut diags,
        ) {
            Ok(p) => p,
            // Filters are optional in practice: a provider that refuses this one gets a full pull.
            Err(RestError::Http {
                source: HttpError::Status { status: 400, .. },
                ..
            }) if delta => {
                diags.push(
                    Diagnostic::warning(
                        "filter-refused",
                        format!(
                            "the provider refused the dateLastModified filter on {}; read it whole",
                            spec.path
                        ),
                    )
                    .at(Location::file(pager.collection_url(spec.path)?.to_string())),
                );
                return read(
                    &RestOptions {
                        incremental: false,
                        ..clone_options(opts)
                    },
                    prior,
                    observer,
                );
            }
            // Demographics are optional: without the scope, go on without them.
            Err(RestError::Http {
                source: e @ (HttpError::Forbidden { .. } | HttpError::Status { status: 404, .. }),
                ..
            }) if spec.file == "demographics.csv" => {
                diags.push(
                    Diagnostic::warning(
                        "demographics-unavailable",
                        format!("demographics were not read: {e}"),
                    )
                    .hint(
                        "grant the roster-demographics.readonly scope, or set demographics = false",
                    ),
                );
                continue;
            }
            Err(e) => return Err(e),
        };
        if cursor.is_none() {
            cursor = pulled
                .server_date
                .as_deref()
                .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
                .map(|d| {
                    d.with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                });
        }
        collections.push(CollectionSummary {
            collection: spec.path.into(),
            url: pulled.url.clone(),
            records: pulled.table.len(),
            pages: pulled.pages,
            rounds: pulled.rounds,
            delta,
        });
        let (bytes, starts) = pulled.table.finish();
        files.insert(spec.file.into(), bytes);
        lines.insert(spec.file, (pulled.url.clone(), starts));
        modes.push((spec.file, if delta { "delta" } else { "bulk" }));
        if want_roles {
            let (bytes, starts) = roles.finish();
            files.insert("roles.csv".into(), bytes);
            lines.insert("roles.csv", (pulled.url, starts));
            modes.push(("roles.csv", if delta { "delta" } else { "bulk" }));
        }
    }
    files.insert(
        "manifest.csv".into(),
        manifest(opts.version, &modes).into_bytes(),
    );
    let package = MemoryPackage {
        label: opts.base_url.as_str().into(),
        files,
    };
    let mut read = rosterbridge_source_oneroster::read_memory(
        &package,
        prior,
        &rosterbridge_source_oneroster::NoProgress,
    )?;
    relocate(&mut read.diagnostics, &lines);
    diags.append(&mut read.diagnostics);
    read.diagnostics = diags;
    Ok(RestRead {
        read,
        collections,
        package,
        cursor: cursor.unwrap_or(started),
    })
}

fn clone_options(o: &RestOptions) -> RestOptions {
    let auth = match &o.auth {
        RestAuth::OAuth1 {
            consumer_key,
            consumer_secret,
            secret_source,
        } => RestAuth::OAuth1 {
            consumer_key: consumer_key.clone(),
            consumer_secret: consumer_secret.clone(),
            secret_source: secret_source.clone(),
        },
        RestAuth::OAuth2 {
            token_url,
            client_id,
            client_secret,
            secret_source,
            scopes,
            credentials_in_body,
        } => RestAuth::OAuth2 {
            token_url: token_url.clone(),
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            secret_source: secret_source.clone(),
            scopes: scopes.clone(),
            credentials_in_body: *credentials_in_body,
        },
    };
    RestOptions {
        base_url: o.base_url.clone(),
        version: o.version,
        auth,
        retry: o.retry.clone(),
        ..*o
    }
}

fn manifest(version: OneRosterVersion, modes: &[(&str, &str)]) -> String {
    let mut m = format!(
        "propertyName,value\nmanifest.version,1.0\noneroster.version,{}\n",
        if version == OneRosterVersion::V1_2 {
            "1.2"
        } else {
            "1.1"
        }
    );
    for (file, mode) in modes {
        m.push_str(&format!("file.{},{mode}\n", file.trim_end_matches(".csv")));
    }
    m.push_str("source.systemName,rosterbridge OneRoster REST\n");
    m
}

/// Diagnostics from the parser name `users.csv:12`; say the collection URL and record number.
fn relocate(diags: &mut [Diagnostic], lines: &BTreeMap<&'static str, (String, Vec<u32>)>) {
    for d in diags {
        let Some(loc) = d.location.as_mut() else {
            continue;
        };
        let Some((url, starts)) = lines.get(loc.file.as_str()) else {
            continue;
        };
        loc.file = url.clone();
        loc.column = None;
        if let Some(line) = loc.line {
            // Records start on the listed lines; a line inside a multi-line record maps to it.
            let record = starts.partition_point(|s| *s <= line);
            loc.line = (record > 0).then_some(record as u32);
        }
    }
}

/// The tables (and cursor) to save in the state store after a successful apply, so the next
/// incremental run has a base to merge onto.
pub fn snapshot(
    read: &RestRead,
    prior: &[SourceTableSnapshot],
) -> Result<Vec<SourceTableSnapshot>, RestError> {
    let mut tables = rosterbridge_source_oneroster::snapshot_memory(&read.package, prior)?;
    tables.push(SourceTableSnapshot {
        file: CURSOR_FILE.into(),
        csv: read.cursor.clone().into_bytes(),
    });
    Ok(tables)
}

/// Records per collection, one small request each (`limit=1`, `X-Total-Count`): the
/// "verify connectivity" step of `validate`. None where the provider sends no total.
pub fn check(opts: &RestOptions) -> Result<Vec<(String, Option<u64>)>, RestError> {
    let client = HttpClient::new(opts.retry.clone()).map_err(RestError::Setup)?;
    let auth = authorizer(opts);
    let mut out = Vec::new();
    for spec in tables(opts) {
        let base = opts.base_url.as_str().trim_end_matches('/');
        let url = Url::parse(&format!("{base}/{}?limit=1&offset=0", spec.path)).map_err(|e| {
            RestError::BadUrl {
                url: base.into(),
                message: e.to_string(),
            }
        })?;
        let resp = client
            .get(&url, auth.as_ref())
            .map_err(|source| RestError::Http {
                collection: spec.path.into(),
                offset: 0,
                source,
            })?;
        out.push((
            spec.path.to_string(),
            resp.header("x-total-count")
                .and_then(|t| t.trim().parse().ok()),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Builds a package from JSON records the way [`read`] does, without the network.
    fn package(
        version: OneRosterVersion,
        tables: &[(&'static TableSpec, Vec<Value>)],
    ) -> (MemoryPackage, BTreeMap<&'static str, (String, Vec<u32>)>) {
        let mut files = BTreeMap::new();
        let mut lines = BTreeMap::new();
        let mut modes = Vec::new();
        for (spec, records) in tables {
            let mut t = TableBuilder::new(spec, false);
            let mut roles = TableBuilder::new(&convert::ROLES, false);
            for r in records {
                let id = r["sourcedId"].as_str().unwrap_or_default();
                let text = r.to_string();
                let fields = Fields::parse(&text).unwrap();
                t.push(id, &fields, &[]);
                if version == OneRosterVersion::V1_2 && spec.file == "users.csv" {
                    for (rid, row) in convert::role_rows(id, &fields) {
                        roles.push(&rid, &row, &[("userSourcedId", id)]);
                    }
                }
            }
            let (bytes, starts) = t.finish();
            files.insert(spec.file.to_string(), bytes);
            lines.insert(spec.file, (format!("http://p/{}", spec.path), starts));
            modes.push((spec.file, "bulk"));
            if version == OneRosterVersion::V1_2 && spec.file == "users.csv" {
                files.insert("roles.csv".into(), roles.finish().0);
                modes.push(("roles.csv", "bulk"));
            }
        }
        files.insert(
            "manifest.csv".into(),
            manifest(version, &modes).into_bytes(),
        );
        (
            MemoryPackage {
                label: "http://p".into(),
                files,
            },
            lines,
        )
    }

    fn base_tables() -> Vec<(&'static TableSpec, Vec<Value>)> {
        vec![
            (
                &convert::ORGS,
                vec![json!({"sourcedId": "s1", "name": "School", "type": "school"})],
            ),
            (
                &convert::SESSIONS,
                vec![
                    json!({"sourcedId": "t1", "title": "T", "type": "term", "startDate": "2026-08-01", "endDate": "2027-06-30", "schoolYear": "2027"}),
                ],
            ),
            (&convert::COURSES, vec![]),
            (
                &convert::CLASSES,
                vec![
                    json!({"sourcedId": "c1", "title": "C", "course": {"sourcedId": "k1"}, "classType": "scheduled", "school": {"sourcedId": "s1"}, "terms": [{"sourcedId": "t1"}]}),
                ],
            ),
        ]
    }

    #[test]
    fn omitted_fields_cost_rows_with_located_diagnostics() {
        let mut tables = base_tables();
        tables.push((
            &convert::USERS_11,
            vec![
                // Only what 1.1 requires; every optional field omitted.
                json!({"sourcedId": "u1", "enabledUser": true, "orgs": [{"sourcedId": "s1"}], "role": "student", "username": "u1", "givenName": "A", "familyName": "B"}),
                // givenName missing: this row is left out and reported at record 2.
                json!({"sourcedId": "u2", "enabledUser": "true", "orgs": ["s1"], "role": "teacher", "username": "u2", "familyName": "C"}),
            ],
        ));
        tables.push((&convert::ENROLLMENTS, vec![json!({"sourcedId": "e1", "class": {"sourcedId": "c1"}, "school": {"sourcedId": "s1"}, "user": {"sourcedId": "u1"}, "role": "student"})]));
        let (pkg, lines) = package(OneRosterVersion::V1_1, &tables);
        let mut read = rosterbridge_source_oneroster::read_memory(
            &pkg,
            &[],
            &rosterbridge_source_oneroster::NoProgress,
        )
        .unwrap();
        relocate(&mut read.diagnostics, &lines);
        assert_eq!(read.roster.users.len(), 1);
        assert_eq!(read.roster.enrollments.len(), 1);
        let d = read
            .diagnostics
            .iter()
            .find(|d| d.code == "missing-value")
            .unwrap();
        let loc = d.location.as_ref().unwrap();
        assert_eq!(
            (loc.file.as_str(), loc.line, loc.field.as_deref()),
            ("http://p/users", Some(2), Some("givenName"))
        );
        assert_eq!(d.sis_id.as_deref(), Some("u2"));
    }

    #[test]
    fn v1p2_users_take_roles_preferred_names_and_primary_org() {
        let mut tables = base_tables();
        tables.push((
            &convert::USERS_12,
            vec![json!({"sourcedId": "u1", "enabledUser": "true", "username": "u1", "givenName": "Alexandra", "familyName": "B",
                "roles": [{"roleType": "primary", "role": "teacher", "org": {"sourcedId": "s1"}}, {"roleType": "secondary", "role": "parent", "org": {"sourcedId": "s1"}, "beginDate": "2026-09-01"}],
                "preferredFirstName": "Alex", "preferredLastName": "Bee", "pronouns": "they/them", "primaryOrg": {"sourcedId": "s1"},
                "userMasterIdentifier": "M-1", "userProfiles": [{"profileId": "p1", "credentials": [{"type": "password", "username": "x", "password": "hidden"}]}]})],
        ));
        tables.push((&convert::ENROLLMENTS, vec![]));
        let (pkg, _) = package(OneRosterVersion::V1_2, &tables);
        let read = rosterbridge_source_oneroster::read_memory(
            &pkg,
            &[],
            &rosterbridge_source_oneroster::NoProgress,
        )
        .unwrap();
        let u = &read.roster.users[0];
        assert_eq!(u.role.as_str(), "teacher");
        assert_eq!(u.orgs().collect::<Vec<_>>(), ["s1"]);
        let x = u.extra();
        assert_eq!(x.roles().len(), 2);
        assert_eq!(
            x.roles()[1].begin_date.map(|d| d.to_string()).as_deref(),
            Some("2026-09-01")
        );
        assert_eq!(
            (
                u.preferred_given_name(),
                u.preferred_family_name(),
                u.pronouns()
            ),
            (Some("Alex"), Some("Bee"), Some("they/them"))
        );
        assert_eq!(
            (
                x.primary_org().map(|o| o.as_str()),
                u.user_master_identifier()
            ),
            (Some("s1"), Some("M-1"))
        );
        assert!(
            !pkg.files
                .values()
                .any(|f| String::from_utf8_lossy(f).contains("hidden")),
            "profile passwords are never kept"
        );
    }
}
