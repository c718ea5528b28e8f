//! Edits of the configuration file made from the admin UI: the same TOML file the CLI reads,
//! changed in place with its comments and layout kept, and validated by the same validator
//! before anything is written.

use std::path::Path;
use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

/// An execution profile as the UI's form sends it.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct ProfileForm {
    pub name: String,
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub academic_period: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    pub enabled: Option<String>,
    #[serde(default)]
    pub course_template: String,
    #[serde(default)]
    pub schedule: String,
}

impl ProfileForm {
    pub fn from_profile(p: &rosterbridge_config::Profile) -> ProfileForm {
        ProfileForm {
            name: p.name.clone(),
            start: p.start.to_string(),
            end: p.end.to_string(),
            academic_period: p.academic_period.clone().unwrap_or_default(),
            enabled: p.enabled.then(|| "on".into()),
            course_template: p.course_template.as_str().into(),
            schedule: if p.schedule == rosterbridge_config::profiles::DEFAULT_SCHEDULE {
                String::new()
            } else {
                p.schedule.clone()
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("the configuration file is not valid TOML: {0}")]
    Parse(String),
    #[error("`profiles` in the configuration file is not a list of [[profiles]] tables")]
    NotProfiles,
    #[error("no profile is named {0:?} in the configuration file")]
    Unknown(String),
    #[error("writing {path}: {message}")]
    Write { path: String, message: String },
}

fn profiles(doc: &mut DocumentMut) -> Result<&mut ArrayOfTables, EditError> {
    if doc.get("profiles").is_none() {
        doc.insert("profiles", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    doc.get_mut("profiles")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or(EditError::NotProfiles)
}

fn named<'a>(list: &'a mut ArrayOfTables, name: &str) -> Option<&'a mut Table> {
    list.iter_mut()
        .find(|t| t.get("name").and_then(|v| v.as_str()) == Some(name))
}

/// A date as a TOML date when it is one, else as the string typed (validation then names it).
fn date_item(s: &str) -> Item {
    match s.trim().parse::<toml_edit::Datetime>() {
        Ok(d) if d.time.is_none() && d.date.is_some() => value(d),
        _ => value(s.trim()),
    }
}

/// The text with profile `original` (or a new one, when `None`) set from the form, and its
/// index in `[[profiles]]`.
pub fn set_profile(
    text: &str,
    original: Option<&str>,
    form: &ProfileForm,
    enable: bool,
) -> Result<(String, usize), EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse(e.to_string()))?;
    let list = profiles(&mut doc)?;
    let index = match original {
        Some(name) => list
            .iter()
            .position(|t| t.get("name").and_then(|v| v.as_str()) == Some(name))
            .ok_or_else(|| EditError::Unknown(name.into()))?,
        None => {
            list.push(Table::new());
            list.len() - 1
        }
    };
    let Some(t) = list.get_mut(index) else {
        return Err(EditError::NotProfiles);
    };
    t.insert("name", value(form.name.trim()));
    t.insert("start", date_item(&form.start));
    t.insert("end", date_item(&form.end));
    match form.academic_period.trim() {
        "" => {
            t.remove("academic_period");
        }
        p => {
            t.insert("academic_period", value(p));
        }
    }
    t.insert("enabled", value(enable || form.enabled.is_some()));
    if !form.course_template.trim().is_empty() {
        t.insert("course_template", value(form.course_template.trim()));
    }
    match form.schedule.trim() {
        "" => {
            t.remove("schedule");
        }
        s => {
            t.insert("schedule", value(s));
        }
    }
    Ok((doc.to_string(), index))
}

/// The text with profile `name` enabled or disabled.
pub fn set_enabled(text: &str, name: &str, enabled: bool) -> Result<String, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse(e.to_string()))?;
    let t = named(profiles(&mut doc)?, name).ok_or_else(|| EditError::Unknown(name.into()))?;
    t.insert("enabled", value(enabled));
    Ok(doc.to_string())
}

/// Problems of the edited text, by the same validator as every command: (field, message).
pub fn validate(text: &str, path: &Path) -> Vec<(String, String)> {
    match rosterbridge_config::Config::parse(text, path) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .diagnostics()
            .into_iter()
            .map(|d| {
                let field = d
                    .location
                    .as_ref()
                    .and_then(|l| l.field.clone())
                    .unwrap_or_default();
                let hint = d
                    .hint
                    .clone()
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                (field, format!("{}{hint}", d.message))
            })
            .collect(),
    }
}

/// Replaces the file with `text` (a new file renamed over it, so a reader never sees half).
pub fn write(path: &Path, text: &str) -> Result<(), EditError> {
    let err = |e: std::io::Error| EditError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".rosterbridge-edit");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, text).map_err(err)?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(&tmp, meta.permissions()).map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)
}

/// The entities of `[mapping.actions]` and whether their actions differ by role.
pub const ACTION_ENTITIES: [(&str, rosterbridge_model::kind::Kind, bool); 7] = [
    ("users", rosterbridge_model::kind::Kind::Users, true),
    (
        "enrollments",
        rosterbridge_model::kind::Kind::Enrollments,
        true,
    ),
    (
        "observers",
        rosterbridge_model::kind::Kind::UserObservers,
        true,
    ),
    ("courses", rosterbridge_model::kind::Kind::Courses, false),
    ("sections", rosterbridge_model::kind::Kind::Sections, false),
    ("terms", rosterbridge_model::kind::Kind::Terms, false),
    ("accounts", rosterbridge_model::kind::Kind::Accounts, false),
];
pub const ROLES: [&str; 4] = ["student", "teacher", "parent", "staff"];
pub const ACTIONS: [&str; 3] = ["create", "update", "deactivate"];
/// Entities of `[mapping.match]`.
pub const MATCH_ENTITIES: [&str; 5] = ["users", "terms", "accounts", "courses", "sections"];
/// Entities of `[mapping.fields]`.
pub const FIELD_ENTITIES: [&str; 5] = ["users", "courses", "sections", "terms", "accounts"];

/// The mapping sections as the UI's form sends them.
#[derive(Clone, Debug, Default)]
pub struct MappingForm {
    /// (entity, role or "" for every role) → allowed actions.
    pub actions: std::collections::BTreeMap<(String, String), Vec<String>>,
    /// entity → keys after the SIS id, comma-separated as typed.
    pub matching: std::collections::BTreeMap<String, String>,
    /// entity → `field = value` lines (TOML values).
    pub fields: std::collections::BTreeMap<String, String>,
    /// `sis_role = "canvas role"` lines.
    pub roles: String,
}

fn mapping_table(doc: &mut DocumentMut) -> Result<&mut Table, EditError> {
    if doc.get("mapping").is_none() {
        doc.insert("mapping", Item::Table(Table::new()));
    }
    doc.get_mut("mapping")
        .and_then(Item::as_table_mut)
        .ok_or_else(|| EditError::Parse("[mapping] is not a table".into()))
}

/// `key = value` lines as a TOML table; a line that is not one is a problem of `section`.
fn lines_table(section: &str, text: &str) -> Result<Table, (String, String)> {
    let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        (
            section.to_string(),
            format!("not `name = value` lines: {}", e.message()),
        )
    })?;
    Ok(doc.as_table().clone())
}

/// The `key = value` lines of a table, as the form shows them.
pub fn table_lines(item: Option<&Item>) -> String {
    let mut out = String::new();
    if let Some(t) = item.and_then(Item::as_table_like) {
        for (k, v) in t.iter() {
            if let Some(v) = v.as_value() {
                out.push_str(&format!("{k} = {}\n", v.to_string().trim()));
            }
        }
    }
    out
}

/// The text with `[mapping.actions]`, `[mapping.match]`, `[mapping.fields.*]` and
/// `[mapping.enrollments] roles` set from the form. Problems of the form itself (a line that
/// is not `name = value`) come back as (section, message).
pub fn set_mapping(
    text: &str,
    form: &MappingForm,
) -> Result<Result<String, Vec<(String, String)>>, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse(e.to_string()))?;
    let mut problems = Vec::new();
    let mapping = mapping_table(&mut doc)?;

    // Actions: an entity allowing everything is left out (the default); one whose roles all
    // allow the same is a list; else a table per role.
    let mut actions = Table::new();
    for (entity, _, by_role) in ACTION_ENTITIES {
        let of = |role: &str| {
            form.actions
                .get(&(entity.to_string(), role.to_string()))
                .cloned()
                .unwrap_or_default()
        };
        let list = |acts: &[String]| {
            let mut a = toml_edit::Array::new();
            for x in ACTIONS.iter().filter(|x| acts.iter().any(|y| y == *x)) {
                a.push(*x);
            }
            a
        };
        if by_role {
            let per: Vec<Vec<String>> = ROLES.iter().map(|r| of(r)).collect();
            if per.iter().all(|p| p.len() == ACTIONS.len()) {
                continue;
            }
            if per
                .iter()
                .all(|p| list(p).to_string() == list(&per[0]).to_string())
            {
                actions.insert(entity, value(list(&per[0])));
            } else {
                let mut t = toml_edit::InlineTable::new();
                for (r, p) in ROLES.iter().zip(&per) {
                    t.insert(*r, toml_edit::Value::Array(list(p)));
                }
                actions.insert(entity, value(t));
            }
        } else {
            let all = of("");
            if all.len() != ACTIONS.len() {
                actions.insert(entity, value(list(&all)));
            }
        }
    }
    if actions.is_empty() {
        mapping.remove("actions");
    } else {
        mapping.insert("actions", Item::Table(actions));
    }

    // Matching: the SIS id first, then the keys typed.
    let mut matching = Table::new();
    for entity in MATCH_ENTITIES {
        let typed = form.matching.get(entity).cloned().unwrap_or_default();
        let keys: Vec<&str> = typed
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        if keys.is_empty() {
            continue;
        }
        let mut a = toml_edit::Array::new();
        if keys.first() != Some(&"sis_id") {
            a.push("sis_id");
        }
        for k in keys {
            a.push(k);
        }
        matching.insert(entity, value(a));
    }
    if matching.is_empty() {
        mapping.remove("match");
    } else {
        mapping.insert("match", Item::Table(matching));
    }

    // Field mappings, entity by entity.
    let mut fields = Table::new();
    fields.set_implicit(true);
    for entity in FIELD_ENTITIES {
        let lines = form.fields.get(entity).cloned().unwrap_or_default();
        if lines.trim().is_empty() {
            continue;
        }
        match lines_table(&format!("mapping.fields.{entity}"), &lines) {
            Ok(t) => {
                fields.insert(entity, Item::Table(t));
            }
            Err(p) => problems.push(p),
        }
    }
    if fields.is_empty() {
        mapping.remove("fields");
    } else {
        mapping.insert("fields", Item::Table(fields));
    }

    // Role mappings, inside [mapping.enrollments] (its other keys kept).
    if mapping.get("enrollments").is_none() {
        mapping.insert("enrollments", Item::Table(Table::new()));
    }
    if let Some(enrollments) = mapping.get_mut("enrollments").and_then(Item::as_table_mut) {
        if form.roles.trim().is_empty() {
            enrollments.remove("roles");
        } else {
            match lines_table("mapping.enrollments.roles", &form.roles) {
                Ok(t) => {
                    enrollments.insert("roles", value(t.into_inline_table()));
                }
                Err(p) => problems.push(p),
            }
        }
        if enrollments.is_empty() {
            mapping.remove("enrollments");
        }
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    Ok(Ok(doc.to_string()))
}

/// The configuration `serve` writes when started on a file that does not exist yet, so an
/// admin can set everything up from the UI.
pub const STARTER: &str =
    "# Written by `rosterbridge serve` on its first start. Edit it here or in the admin UI\n\
# (Source, Mapping, profiles on the dashboard, Canvas connection); `rosterbridge config example`\n\
# prints every option.\n\
[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n\
# The admin UI's Canvas connection, once set up, takes the place of url, account_id and the\n\
# token variable for the server's runs.\n\
[canvas]\nurl = \"http://127.0.0.1:8089\"\naccount_id = 1\n";

/// The `[source]` settings the UI edits (other keys of the table are kept).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct SourceForm {
    pub kind: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub base_url: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_secret_env: String,
    #[serde(default)]
    pub token_env: String,
}

pub const SOURCE_KEYS: [&str; 5] = [
    "path",
    "base_url",
    "client_id",
    "client_secret_env",
    "token_env",
];

/// The text with `[source]` set from the form (an empty field removes its key).
pub fn set_source(text: &str, f: &SourceForm) -> Result<String, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse(e.to_string()))?;
    if doc.get("source").is_none() {
        doc.insert("source", Item::Table(Table::new()));
    }
    let t = doc
        .get_mut("source")
        .and_then(Item::as_table_mut)
        .ok_or_else(|| EditError::Parse("[source] is not a table".into()))?;
    t.insert("kind", value(f.kind.trim()));
    for (key, v) in SOURCE_KEYS.iter().zip([
        &f.path,
        &f.base_url,
        &f.client_id,
        &f.client_secret_env,
        &f.token_env,
    ]) {
        match v.trim() {
            "" => {
                t.remove(key);
            }
            v => {
                t.insert(key, value(v));
            }
        }
    }
    Ok(doc.to_string())
}
