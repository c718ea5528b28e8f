//! Clever API v3 source (`shared/specs/clever.md`).
//!
//! * A district-app bearer token; every collection is paged with `limit` and
//!   `starting_after` by following `rel: next` until it is absent or a page is empty.
//! * Clever's records are kept as Clever sent them (an object store per type, by id), then
//!   turned into OneRoster tables and read by the OneRoster CSV parser — so Clever data gets
//!   the same validation, diagnostics and roster shape as every other source.
//! * Incremental runs replay the events feed after the last applied event onto the stored
//!   objects: strictly in order, each event an upsert or a removal by id, so replaying an event
//!   twice changes nothing. When the stored event is gone from the feed (older than Clever's
//!   30 days, or unknown), the run falls back to a full pull, as Clever requires.
//!
//! How Clever maps onto the roster: the district and its schools are orgs; terms are
//! academic sessions of type `term` (schoolYear = the end date's year); a section is a class
//! (its `term_id` its term; a section without a course gets a course of its own), and its
//! `students`/`teachers` are enrollments (`teacher` is the primary one); a user's role is the
//! first of student, teacher, staff, district_admin, contact it holds; contacts are
//! parents/guardians/relatives whose `student_relationships` are agent links both ways.

// A run fails at most once, so errors carry their full context inline rather than boxed.
#![allow(clippy::result_large_err)]

use rosterbridge_model::{Diagnostic, Location};
use rosterbridge_source_http::{Authorizer, HttpClient};
pub use rosterbridge_source_http::{HttpError, RetryPolicy, Secret, Url};
use rosterbridge_source_oneroster::{MemoryPackage, SourceError, SourceRead};
use rosterbridge_state::SourceTableSnapshot;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The pseudo-table holding the object store and the last applied event between runs.
pub const STATE_FILE: &str = "clever.state.json";

/// The collections read, in order.
const COLLECTIONS: [&str; 6] = [
    "districts",
    "schools",
    "terms",
    "courses",
    "sections",
    "users",
];

/// Where and how to read.
pub struct CleverOptions {
    /// `https://api.clever.com/v3.0` (or `/v3.1`): events must be read with the data's version.
    pub base_url: Url,
    pub token: Secret,
    /// Where the token came from, for 401 messages (e.g. "$CLEVER_TOKEN").
    pub token_source: String,
    /// `limit` per page, at most 10,000 (Clever answers 413 above).
    pub page_size: u32,
    /// Replay events since the previous run instead of pulling everything.
    pub incremental: bool,
    /// Contact relationship `type`s that make a contact an observer of the student.
    pub contact_types: Vec<String>,
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for CleverOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleverOptions")
            .field("base_url", &self.base_url.as_str())
            .field("token", &self.token)
            .field("page_size", &self.page_size)
            .field("incremental", &self.incremental)
            .finish()
    }
}

impl CleverOptions {
    pub fn new(base_url: Url, token: Secret, token_source: impl Into<String>) -> Self {
        CleverOptions {
            base_url,
            token,
            token_source: token_source.into(),
            page_size: 1000,
            incremental: false,
            contact_types: vec!["Parent/Guardian".into()],
            retry: RetryPolicy::default(),
        }
    }
}

/// Whole-pull failures; row problems are diagnostics.
#[derive(Debug, thiserror::Error)]
pub enum CleverError {
    #[error("Clever {collection} (after {after:?}): {source}")]
    Http {
        collection: String,
        after: Option<String>,
        source: HttpError,
    },
    #[error("{url}: not a Clever page: {message}")]
    Shape { url: String, message: String },
    #[error("invalid URL {url}: {message}")]
    BadUrl { url: String, message: String },
    #[error("cannot set up the HTTP client: {0}")]
    Setup(HttpError),
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl CleverError {
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            CleverError::Http { source, .. } => {
                Diagnostic::error("source-http", self.to_string()).hint(source.hint())
            }
            CleverError::Shape { url, .. } => Diagnostic::error("source-shape", self.to_string())
                .at(Location::file(url.clone()))
                .hint("check base_url ends in /v3.0 or /v3.1"),
            CleverError::BadUrl { .. } => {
                Diagnostic::error("source-url", self.to_string()).hint("check [source] base_url")
            }
            CleverError::Setup(e) => {
                Diagnostic::error("source-http", self.to_string()).hint(e.hint())
            }
            CleverError::Source(e) => e.to_diagnostic(),
        }
    }
}

struct Bearer<'a>(&'a CleverOptions);
impl Authorizer for Bearer<'_> {
    fn authorization(&self, _: &HttpClient, _: &str, _: &Url) -> Result<String, HttpError> {
        Ok(format!("Bearer {}", self.0.token.expose()))
    }
    fn credential(&self) -> String {
        format!("the Clever district token from {} (wrong, revoked, or the district disconnected the app)", self.0.token_source)
    }
}

/// Clever's records by type and id, and the last event applied to them.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ObjectStore {
    pub objects: BTreeMap<String, BTreeMap<String, Value>>,
    /// The last event applied; None with `cursor_taken` means "from the feed's start" (the
    /// feed was empty when the full pull began, so everything in it is newer).
    pub last_event: Option<String>,
    /// The store was made with an event cursor, so events can be replayed onto it.
    #[serde(default)]
    pub cursor_taken: bool,
}

impl ObjectStore {
    /// Applies one event: `<type>.created`/`.updated` upsert `data.object`, `.deleted`
    /// removes it. Idempotent; unknown types are ignored. False when it was not understood.
    pub fn apply_event(&mut self, event: &Value) -> bool {
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        let Some((coll, action)) = kind.rsplit_once('.') else {
            return false;
        };
        if !COLLECTIONS.contains(&coll) {
            return false;
        }
        let object = event.get("data").and_then(|d| d.get("object"));
        let Some(id) = object.and_then(|o| o.get("id")).and_then(Value::as_str) else {
            return false;
        };
        let table = self.objects.entry(coll.to_string()).or_default();
        match action {
            "created" | "updated" => {
                table.insert(id.to_string(), object.cloned().unwrap_or(Value::Null));
            }
            "deleted" => {
                table.remove(id);
            }
            _ => return false,
        }
        if let Some(eid) = event.get("id").and_then(Value::as_str) {
            self.last_event = Some(eid.to_string());
        }
        true
    }
}

/// Told how far a pull has got.
pub trait PullObserver: Sync {
    fn page(&self, _collection: &str, _records: usize) {}
}

/// Observes nothing.
pub struct NoProgress;
impl PullObserver for NoProgress {}

/// A finished read.
#[derive(Debug)]
pub struct CleverRead {
    pub read: SourceRead,
    /// Records per collection (or events applied, under `events`).
    pub counts: Vec<(String, usize)>,
    pub store: ObjectStore,
    /// True when events were replayed instead of a full pull.
    pub incremental: bool,
}

struct Client<'a> {
    http: HttpClient,
    opts: &'a CleverOptions,
}

impl Client<'_> {
    fn url(&self, rel: &str) -> Result<Url, CleverError> {
        let base = self.opts.base_url.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/{rel}")).map_err(|e| CleverError::BadUrl {
            url: format!("{base}/{rel}"),
            message: e.to_string(),
        })
    }

    /// Every page of a collection; `each` gets the unwrapped records.
    fn pages(
        &self,
        collection: &str,
        start_after: Option<String>,
        observer: &dyn PullObserver,
        each: &mut dyn FnMut(Value),
    ) -> Result<usize, CleverError> {
        let mut url = self.url(&format!(
            "{collection}?limit={}",
            self.opts.page_size.clamp(1, 10_000)
        ))?;
        if let Some(after) = &start_after {
            url.query_pairs_mut().append_pair("starting_after", after);
        }
        let mut after = start_after;
        let mut n = 0usize;
        loop {
            let resp =
                self.http
                    .get(&url, &Bearer(self.opts))
                    .map_err(|source| CleverError::Http {
                        collection: collection.into(),
                        after: after.clone(),
                        source,
                    })?;
            let doc: Value =
                resp.json(&format!("{collection} page"))
                    .map_err(|source| CleverError::Http {
                        collection: collection.into(),
                        after: after.clone(),
                        source,
                    })?;
            let Some(Value::Array(items)) = doc.get("data") else {
                return Err(CleverError::Shape {
                    url: url.to_string(),
                    message: "no `data` array".into(),
                });
            };
            if items.is_empty() {
                break;
            }
            for item in items {
                // Each element wraps its record in its own `data`.
                let record = item.get("data").cloned().unwrap_or(Value::Null);
                if let Some(id) = record.get("id").and_then(Value::as_str) {
                    after = Some(id.to_string());
                }
                n += 1;
                each(record);
            }
            observer.page(collection, n);
            let next = doc.get("links").and_then(Value::as_array).and_then(|l| {
                l.iter()
                    .find(|x| x.get("rel").and_then(Value::as_str) == Some("next"))
                    .and_then(|x| x.get("uri"))
                    .and_then(Value::as_str)
            });
            match next {
                // `uri` is relative and carries the version prefix: resolve against the host.
                Some(uri) => {
                    url = self
                        .opts
                        .base_url
                        .join(uri)
                        .map_err(|e| CleverError::BadUrl {
                            url: uri.into(),
                            message: e.to_string(),
                        })?
                }
                None => break,
            }
        }
        Ok(n)
    }
}

/// The id of the newest event (the cursor to replay from after a full pull).
fn newest_event(
    c: &Client<'_>,
    observer: &dyn PullObserver,
) -> Result<Option<String>, CleverError> {
    let mut last = None;
    c.pages("events", None, observer, &mut |e| {
        if let Some(id) = e.get("id").and_then(Value::as_str) {
            last = Some(id.to_string());
        }
    })?;
    Ok(last)
}

/// Reads the district. `prior` is what [`snapshot`] saved last time (used when incremental).
pub fn read(
    opts: &CleverOptions,
    prior: &[SourceTableSnapshot],
    observer: &dyn PullObserver,
) -> Result<CleverRead, CleverError> {
    let c = Client {
        http: HttpClient::new(opts.retry.clone()).map_err(CleverError::Setup)?,
        opts,
    };
    let mut diags = Vec::new();
    let stored: Option<ObjectStore> = prior
        .iter()
        .find(|t| t.file == STATE_FILE)
        .and_then(|t| serde_json::from_slice(&t.csv).ok());
    let mut counts = Vec::new();
    let mut incremental = false;
    let store = match stored {
        Some(mut store) if opts.incremental && store.cursor_taken => {
            let mut applied = 0usize;
            let mut events = Vec::new();
            match c.pages("events", store.last_event.clone(), observer, &mut |e| {
                events.push(e)
            }) {
                Ok(_) => {
                    for e in &events {
                        if store.apply_event(e) {
                            applied += 1;
                        }
                    }
                    counts.push(("events".to_string(), applied));
                    incremental = true;
                    store
                }
                Err(CleverError::Http {
                    source: HttpError::Status { status: 404, .. },
                    ..
                }) => {
                    diags.push(
                        Diagnostic::warning("events-expired", "the last applied Clever event is no longer in the feed; read everything again")
                            .hint("runs more than 30 days apart always pull in full"),
                    );
                    full(&c, observer, &mut counts)?
                }
                Err(e) => return Err(e),
            }
        }
        _ => full(&c, observer, &mut counts)?,
    };
    let pkg = tables(&store, opts, &mut diags);
    let mut read = rosterbridge_source_oneroster::read_memory(
        &pkg,
        &[],
        &rosterbridge_source_oneroster::NoProgress,
    )?;
    let base = opts.base_url.as_str().trim_end_matches('/').to_string();
    for d in &mut read.diagnostics {
        // Rows are built from Clever records: name the collection, not a CSV line.
        if let Some(loc) = d.location.as_mut() {
            let coll = match loc.file.as_str() {
                "orgs.csv" => "schools",
                "academicSessions.csv" => "terms",
                "courses.csv" => "courses",
                "classes.csv" | "enrollments.csv" => "sections",
                _ => "users",
            };
            *loc = Location::file(format!("{base}/{coll}"))
                .with_field(loc.field.clone().unwrap_or_default());
        }
    }
    diags.append(&mut read.diagnostics);
    read.diagnostics = diags;
    Ok(CleverRead {
        read,
        counts,
        store,
        incremental,
    })
}

fn full(
    c: &Client<'_>,
    observer: &dyn PullObserver,
    counts: &mut Vec<(String, usize)>,
) -> Result<ObjectStore, CleverError> {
    let mut store = ObjectStore::default();
    // The cursor is taken before the pull: events during it are replayed next time (harmless).
    if c.opts.incremental {
        store.last_event = newest_event(c, observer)?;
        store.cursor_taken = true;
    }
    for coll in COLLECTIONS {
        let table = store.objects.entry(coll.to_string()).or_default();
        let n = c.pages(coll, None, observer, &mut |r| {
            if let Some(id) = r.get("id").and_then(Value::as_str) {
                // By id: a record seen twice (it changed mid-pull) is kept once, the later copy.
                table.insert(id.to_string(), r);
            }
        })?;
        counts.push((coll.to_string(), n));
    }
    Ok(store)
}

/// The tables to save after a successful apply (the object store and event cursor).
pub fn snapshot(read: &CleverRead) -> Vec<SourceTableSnapshot> {
    vec![SourceTableSnapshot {
        file: STATE_FILE.into(),
        csv: serde_json::to_vec(&read.store).unwrap_or_default(),
    }]
}

/// The district's name (the "verify connectivity" step).
pub fn check(opts: &CleverOptions) -> Result<String, CleverError> {
    let c = Client {
        http: HttpClient::new(opts.retry.clone()).map_err(CleverError::Setup)?,
        opts,
    };
    let mut name = None;
    c.pages("districts", None, &NoProgress, &mut |d| {
        name = d.get("name").and_then(Value::as_str).map(str::to_string)
    })?;
    Ok(name.unwrap_or_default())
}

fn s(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| s(Some(x)))
            .filter(|x| !x.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

struct Table {
    header: &'static [&'static str],
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &'static [&'static str]) -> Self {
        Table {
            header,
            rows: Vec::new(),
        }
    }
    fn bytes(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        // Writing to memory cannot fail.
        let _ = w.write_record(self.header);
        for r in &self.rows {
            let _ = w.write_record(r);
        }
        w.into_inner().unwrap_or_default()
    }
}

/// The OneRoster role for a Clever user, and the role object it came from.
fn role_of(user: &Value) -> (String, Option<&Value>, &'static str) {
    let roles = user.get("roles");
    for key in ["student", "teacher", "staff", "district_admin", "contact"] {
        let Some(r) = roles.and_then(|r| r.get(key)) else {
            continue;
        };
        let role = match key {
            "student" | "teacher" => key.to_string(),
            // Staff roles are free strings; keep a OneRoster role when they name one.
            "staff" => list(r.get("roles"))
                .into_iter()
                .find(|x| {
                    matches!(
                        x.as_str(),
                        "aide"
                            | "administrator"
                            | "proctor"
                            | "counselor"
                            | "principal"
                            | "siteAdministrator"
                    )
                })
                .unwrap_or_else(|| "administrator".into()),
            "district_admin" => "districtAdministrator".into(),
            _ => {
                let rel = r
                    .get("student_relationships")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .map(|x| s(x.get("relationship")))
                    .unwrap_or_default();
                match rel.as_str() {
                    "Parent" => "parent".into(),
                    "Grandparent" | "Aunt/Uncle" | "Sibling" => "relative".into(),
                    _ => "guardian".into(),
                }
            }
        };
        return (role, Some(r), key);
    }
    (String::new(), None, "")
}

fn tables(store: &ObjectStore, opts: &CleverOptions, diags: &mut Vec<Diagnostic>) -> MemoryPackage {
    let empty = BTreeMap::new();
    let get = |k: &str| store.objects.get(k).unwrap_or(&empty);
    let mut orgs = Table::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "name",
        "type",
        "identifier",
        "parentSourcedId",
    ]);
    let district_id = get("districts").keys().next().cloned().unwrap_or_default();
    for (id, d) in get("districts") {
        orgs.rows.push(vec![
            id.clone(),
            "".into(),
            "".into(),
            s(d.get("name")),
            "district".into(),
            "".into(),
            "".into(),
        ]);
    }
    for (id, sc) in get("schools") {
        orgs.rows.push(vec![
            id.clone(),
            "".into(),
            "".into(),
            s(sc.get("name")),
            "school".into(),
            s(sc.get("school_number")),
            s(sc.get("district")),
        ]);
    }
    let mut sessions = Table::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "type",
        "startDate",
        "endDate",
        "parentSourcedId",
        "schoolYear",
    ]);
    for (id, t) in get("terms") {
        let (start, end) = (s(t.get("start_date")), s(t.get("end_date")));
        let year = end
            .get(..4)
            .or_else(|| start.get(..4))
            .unwrap_or("")
            .to_string();
        sessions.rows.push(vec![
            id.clone(),
            "".into(),
            "".into(),
            s(t.get("name")),
            "term".into(),
            start,
            end,
            "".into(),
            year,
        ]);
    }
    let mut courses = Table::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "schoolYearSourcedId",
        "title",
        "courseCode",
        "grades",
        "orgSourcedId",
        "subjects",
        "subjectCodes",
    ]);
    for (id, c) in get("courses") {
        let org = s(c.get("district"));
        courses.rows.push(vec![
            id.clone(),
            "".into(),
            "".into(),
            "".into(),
            s(c.get("name")),
            s(c.get("number")),
            "".into(),
            if org.is_empty() {
                district_id.clone()
            } else {
                org
            },
            "".into(),
            "".into(),
        ]);
    }
    let mut classes = Table::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "grades",
        "courseSourcedId",
        "classCode",
        "classType",
        "location",
        "schoolSourcedId",
        "termSourcedIds",
        "subjects",
        "subjectCodes",
        "periods",
    ]);
    let mut enrollments = Table::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "classSourcedId",
        "schoolSourcedId",
        "userSourcedId",
        "role",
        "primary",
        "beginDate",
        "endDate",
    ]);
    let mut user_schools: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, sec) in get("sections") {
        let mut course = s(sec.get("course"));
        if course.is_empty() {
            // Clever allows sections without a course; OneRoster classes need one.
            course = format!("{id}-course");
            courses.rows.push(vec![
                course.clone(),
                "".into(),
                "".into(),
                "".into(),
                s(sec.get("name")),
                "".into(),
                "".into(),
                district_id.clone(),
                "".into(),
                "".into(),
            ]);
            diags.push(
                Diagnostic::info(
                    "section-without-course",
                    "the section has no course; it gets one of its own",
                )
                .sis_id(id.clone()),
            );
        }
        let subject = s(sec.get("subject"));
        let class_type = if subject == "homeroom/advisory" {
            "homeroom"
        } else {
            "scheduled"
        };
        let school = s(sec.get("school"));
        classes.rows.push(vec![
            id.clone(),
            "".into(),
            "".into(),
            s(sec.get("name")),
            s(sec.get("grade")),
            course,
            s(sec.get("section_number")),
            class_type.into(),
            "".into(),
            school.clone(),
            s(sec.get("term_id")),
            subject,
            "".into(),
            s(sec.get("period")),
        ]);
        let primary = s(sec.get("teacher"));
        for t in list(sec.get("teachers")) {
            let p = if t == primary { "true" } else { "false" };
            enrollments.rows.push(vec![
                format!("{id}-{t}"),
                "".into(),
                "".into(),
                id.clone(),
                school.clone(),
                t,
                "teacher".into(),
                p.into(),
                "".into(),
                "".into(),
            ]);
        }
        for st in list(sec.get("students")) {
            user_schools
                .entry(st.clone())
                .or_default()
                .insert(school.clone());
            enrollments.rows.push(vec![
                format!("{id}-{st}"),
                "".into(),
                "".into(),
                id.clone(),
                school.clone(),
                st,
                "student".into(),
                "".into(),
                "".into(),
                "".into(),
            ]);
        }
    }
    // Agent links: contacts list their students; students get the reverse.
    let mut agents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, u) in get("users") {
        let Some(c) = u.get("roles").and_then(|r| r.get("contact")) else {
            continue;
        };
        for rel in c
            .get("student_relationships")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let student = s(rel.get("student"));
            if student.is_empty() || !opts.contact_types.iter().any(|t| *t == s(rel.get("type"))) {
                continue;
            }
            agents.entry(id.clone()).or_default().push(student.clone());
            agents.entry(student).or_default().push(id.clone());
        }
    }
    let mut users = Table::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "enabledUser",
        "orgSourcedIds",
        "role",
        "username",
        "userIds",
        "givenName",
        "familyName",
        "middleName",
        "identifier",
        "email",
        "sms",
        "phone",
        "agentSourcedIds",
        "grades",
        "password",
    ]);
    for (id, u) in get("users") {
        let (role, r, key) = role_of(u);
        let mut schools = list(r.and_then(|r| r.get("schools")));
        if schools.is_empty() {
            schools = list(
                r.and_then(|r| r.get("school"))
                    .map(|v| Value::Array(vec![v.clone()]))
                    .as_ref(),
            );
        }
        if key == "contact" {
            // Contacts belong to their students' schools.
            let mut set = BTreeSet::new();
            for st in agents.get(id).into_iter().flatten() {
                if let Some(stu) = get("users").get(st) {
                    let (_, sr, _) = role_of(stu);
                    set.extend(list(sr.and_then(|r| r.get("schools"))));
                }
                set.extend(user_schools.get(st).into_iter().flatten().cloned());
            }
            schools = set.into_iter().collect();
        }
        if schools.is_empty() {
            schools.push(district_id.clone());
        }
        let name = u.get("name");
        let username = s(r
            .and_then(|r| r.get("credentials"))
            .and_then(|c| c.get("district_username")));
        let username = if username.is_empty() {
            s(u.get("email"))
        } else {
            username
        };
        let username = if username.is_empty() {
            id.clone()
        } else {
            username
        };
        let identifier =
            s(r.and_then(|r| r.get("student_number").or_else(|| r.get("teacher_number"))));
        let grade = if key == "student" {
            s(r.and_then(|r| r.get("grade")))
        } else {
            String::new()
        };
        users.rows.push(vec![
            id.clone(),
            "".into(),
            "".into(),
            "true".into(),
            schools.join(","),
            role,
            username,
            "".into(),
            s(name.and_then(|n| n.get("first"))),
            s(name.and_then(|n| n.get("last"))),
            s(name.and_then(|n| n.get("middle"))),
            identifier,
            s(u.get("email")),
            "".into(),
            "".into(),
            agents.get(id).map(|a| a.join(",")).unwrap_or_default(),
            grade,
            "".into(),
        ]);
    }
    let mut files = BTreeMap::new();
    files.insert("orgs.csv".to_string(), orgs.bytes());
    files.insert("academicSessions.csv".to_string(), sessions.bytes());
    files.insert("courses.csv".to_string(), courses.bytes());
    files.insert("classes.csv".to_string(), classes.bytes());
    files.insert("users.csv".to_string(), users.bytes());
    files.insert("enrollments.csv".to_string(), enrollments.bytes());
    let mut manifest =
        String::from("propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n");
    for f in [
        "academicSessions",
        "classes",
        "courses",
        "enrollments",
        "orgs",
        "users",
    ] {
        manifest.push_str(&format!("file.{f},bulk\n"));
    }
    manifest.push_str("source.systemName,rosterbridge Clever\n");
    files.insert("manifest.csv".to_string(), manifest.into_bytes());
    MemoryPackage {
        label: opts.base_url.as_str().into(),
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_apply_idempotently_in_order() {
        let mut store = ObjectStore::default();
        let created = json!({"id": "e1", "type": "users.created", "data": {"object": {"id": "u1", "name": {"first": "A"}}}});
        let updated = json!({"id": "e2", "type": "users.updated", "data": {"object": {"id": "u1", "name": {"first": "B"}}, "previous_attributes": {"name": {"first": "A"}}}});
        let deleted =
            json!({"id": "e3", "type": "users.deleted", "data": {"object": {"id": "u1"}}});
        for e in [&created, &updated] {
            assert!(store.apply_event(e));
        }
        let once = store.clone();
        assert!(store.apply_event(&updated));
        assert_eq!(store, once, "re-applying an event changes nothing");
        assert_eq!(store.objects["users"]["u1"]["name"]["first"], "B");
        assert!(store.apply_event(&deleted) && store.apply_event(&deleted));
        assert!(store.objects["users"].is_empty());
        assert_eq!(store.last_event.as_deref(), Some("e3"));
        assert!(!store.apply_event(
            &json!({"id": "e4", "type": "resources.created", "data": {"object": {"id": "r"}}})
        ));
    }

    #[test]
    fn token_never_prints() {
        let o = CleverOptions::new(
            Url::parse("http://x/v3.0").unwrap(),
            Secret::new("tok-123"),
            "$T",
        );
        assert!(!format!("{o:?}").contains("tok-123"));
    }
}
