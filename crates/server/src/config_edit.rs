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
