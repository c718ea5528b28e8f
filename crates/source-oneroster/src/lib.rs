//! OneRoster 1.1 and 1.2 CSV source (`shared/specs/oneroster.md` §2–3).
//!
//! * A folder or a `.zip` with the CSV files at its root; `manifest.csv` decides per file
//!   whether it is `bulk`, `delta` or `absent`.
//! * Bulk files are streamed straight into the roster model; delta files are merged in
//!   memory on top of the previous exchange (kept by the state store); absent files carry
//!   the previous exchange forward, so "absent" never reads as "everyone left".
//! * Fatal problems (no manifest, a missing file or column, invalid UTF-8, malformed CSV)
//!   are [`SourceError`]s. Row problems (duplicate ids, bad dates, unknown references,
//!   missing values) are error diagnostics and the row is left out; oddities that can be
//!   read are warnings.

mod error;
mod package;
mod parse;
mod table;

pub use error::SourceError;
use package::Package;
use rosterbridge_model::roster::{OneRosterVersion, Roster};
use rosterbridge_model::{Diagnostic, Location};
use rosterbridge_state::SourceTableSnapshot;
use rustc_hash::FxHashMap;
use std::path::PathBuf;
use table::Input;

/// Where the package is, and what to assume when it has no manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvSourceOptions {
    pub path: PathBuf,
    /// Used only when the package has no manifest.csv.
    pub version: Option<OneRosterVersion>,
    /// Used only when the package has no manifest.csv.
    pub mode: Option<TableMode>,
}

/// How a file of this exchange relates to the previous one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableMode {
    Bulk,
    Delta,
    Absent,
}

/// What was read from one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSummary {
    pub file: String,
    pub mode: TableMode,
    pub rows: usize,
}

/// A read package.
#[derive(Debug)]
pub struct SourceRead {
    pub roster: Roster,
    pub diagnostics: Vec<Diagnostic>,
    pub version: OneRosterVersion,
    pub tables: Vec<TableSummary>,
}

/// Told how far the reading of each file has got (for progress bars).
pub trait ReadObserver: Sync {
    fn bytes_read(&self, _file: &str, _bytes: u64, _total: u64) {}
}

/// Observes nothing.
pub struct NoProgress;
impl ReadObserver for NoProgress {}

/// The rostering files rosterbridge reads, and whether each is required.
const FILES: [(&str, bool); 8] = [
    ("orgs.csv", true),
    ("academicSessions.csv", true),
    ("courses.csv", false),
    ("classes.csv", true),
    ("users.csv", true),
    ("roles.csv", false),
    ("enrollments.csv", true),
    ("demographics.csv", false),
];

struct Manifest {
    version: OneRosterVersion,
    modes: FxHashMap<String, TableMode>,
    diagnostics: Vec<Diagnostic>,
}

fn read_manifest(pkg: &Package, opts: &CsvSourceOptions) -> Result<Manifest, SourceError> {
    if !pkg.has("manifest.csv")? {
        return match (opts.version, opts.mode) {
            (Some(version), Some(mode)) => {
                let mut modes = FxHashMap::default();
                for (file, _) in FILES {
                    let present = pkg.has(file)?;
                    modes.insert(
                        file.to_string(),
                        if present { mode } else { TableMode::Absent },
                    );
                }
                Ok(Manifest {
                    version,
                    modes,
                    diagnostics: vec![],
                })
            }
            _ => Err(SourceError::NoManifest {
                path: pkg.path().to_path_buf(),
            }),
        };
    }
    let bytes = pkg.read_all("manifest.csv")?;
    let raw = table::read_raw("manifest.csv", &bytes, true)?;
    let (h0, h1) = (
        raw.header.first().map(String::as_str),
        raw.header.get(1).map(String::as_str),
    );
    if h0 != Some("propertyName") || h1 != Some("value") {
        return Err(SourceError::BadManifest {
            line: Some(1),
            message: format!(
                "the header must be `propertyName,value`, not `{}`",
                raw.header.join(",")
            ),
        });
    }
    let mut props: FxHashMap<String, (u32, String)> = FxHashMap::default();
    for (line, r) in &raw.rows {
        let name = String::from_utf8_lossy(r.get(0).unwrap_or(b""))
            .trim()
            .to_string();
        let value = String::from_utf8_lossy(r.get(1).unwrap_or(b""))
            .trim()
            .to_string();
        props.insert(name, (*line, value));
    }
    let mut diagnostics = Vec::new();
    let version = match props
        .get("oneroster.version")
        .map(|(l, v)| (*l, v.as_str()))
    {
        Some((_, "1.1")) => OneRosterVersion::V1_1,
        Some((_, "1.2")) => OneRosterVersion::V1_2,
        Some((line, "1.0")) => {
            diagnostics.push(
                Diagnostic::warning("oneroster-1.0", "manifest says OneRoster 1.0; reading it as 1.1 (`inactive` is read as `tobedeleted`)")
                    .at(Location::at("manifest.csv", line)),
            );
            OneRosterVersion::V1_1
        }
        Some((line, other)) => {
            return Err(SourceError::BadManifest {
                line: Some(line),
                message: format!("unknown oneroster.version {other:?}; 1.1 and 1.2 are supported"),
            })
        }
        None => {
            return Err(SourceError::BadManifest {
                line: None,
                message: "no oneroster.version property".into(),
            })
        }
    };
    let mut modes = FxHashMap::default();
    for (file, _) in FILES {
        let prop = format!("file.{}", file.trim_end_matches(".csv"));
        let mode = match props.get(&prop) {
            Some((_, v)) if v == "bulk" => TableMode::Bulk,
            Some((_, v)) if v == "delta" => TableMode::Delta,
            Some((_, v)) if v == "absent" => TableMode::Absent,
            Some((line, v)) => {
                diagnostics.push(
                    Diagnostic::warning(
                        "manifest-mode",
                        format!("`{prop}` has value {v:?}; read as absent"),
                    )
                    .at(Location::at("manifest.csv", *line))
                    .hint("the value must be bulk, delta or absent"),
                );
                TableMode::Absent
            }
            None if pkg.has(file)? => {
                diagnostics.push(
                    Diagnostic::warning(
                        "manifest-missing-file",
                        format!("{file} is in the package but not in the manifest; read as bulk"),
                    )
                    .at(Location::file("manifest.csv")),
                );
                TableMode::Bulk
            }
            None => TableMode::Absent,
        };
        modes.insert(file.to_string(), mode);
    }
    Ok(Manifest {
        version,
        modes,
        diagnostics,
    })
}

/// The input for one file, after merging with the previous exchange where needed.
/// `None` when the file carries nothing and there is nothing to carry forward.
fn table_input(
    pkg: &Package,
    manifest: &Manifest,
    prior: &FxHashMap<&str, &[u8]>,
    file: &'static str,
    required: bool,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Option<(Input<'static>, TableMode, u64)>, SourceError> {
    let mode = manifest
        .modes
        .get(file)
        .copied()
        .unwrap_or(TableMode::Absent);
    match mode {
        TableMode::Bulk => {
            if !pkg.has(file)? {
                return Err(SourceError::MissingFile {
                    file: file.into(),
                    why: "manifest.csv says bulk and the file is not in the package".into(),
                });
            }
            let (r, size) = pkg.open_file(file)?;
            Ok(Some((Input::Stream(r), mode, size)))
        }
        TableMode::Delta => {
            if !pkg.has(file)? {
                return Err(SourceError::MissingFile {
                    file: file.into(),
                    why: "manifest.csv says delta and the file is not in the package".into(),
                });
            }
            let Some(base) = prior.get(file) else {
                return Err(SourceError::DeltaWithoutBase { file: file.into() });
            };
            let base = table::read_raw(file, base, false).map_err(|e| SourceError::BadPrior {
                file: file.into(),
                message: e.to_string(),
            })?;
            let bytes = pkg.read_all(file)?;
            let size = bytes.len() as u64;
            let delta = table::read_raw(file, &bytes, true)?;
            let (merged, notes) = table::merge_delta(file, base, delta)?;
            for (line, msg) in notes {
                warnings
                    .push(Diagnostic::warning("delta-status", msg).at(Location::at(file, line)));
            }
            Ok(Some((
                Input::Memory {
                    header: merged.header,
                    rows: merged.rows,
                },
                mode,
                size,
            )))
        }
        TableMode::Absent => match prior.get(file) {
            Some(base) => {
                let base =
                    table::read_raw(file, base, false).map_err(|e| SourceError::BadPrior {
                        file: file.into(),
                        message: e.to_string(),
                    })?;
                Ok(Some((
                    Input::Memory {
                        header: base.header,
                        rows: base.rows,
                    },
                    mode,
                    0,
                )))
            }
            None if required => Err(SourceError::MissingFile {
                file: file.into(),
                why: if pkg.has(file)? {
                    "manifest.csv says absent and no previous exchange is stored".into()
                } else {
                    "it is not in the package (and no previous exchange is stored)".into()
                },
            }),
            None => Ok(None),
        },
    }
}

/// The files of the previous exchange that reading this package needs: those its manifest
/// marks `delta` or `absent` (bulk files replace theirs outright).
pub fn files_needing_prior(opts: &CsvSourceOptions) -> Result<Vec<&'static str>, SourceError> {
    let pkg = Package::open(&opts.path)?;
    let manifest = read_manifest(&pkg, opts)?;
    Ok(FILES
        .iter()
        .map(|(f, _)| *f)
        .filter(|f| manifest.modes.get(*f).copied().unwrap_or(TableMode::Absent) != TableMode::Bulk)
        .collect())
}

/// Reads a package into a roster. `prior` is the previous exchange (for delta and absent files).
pub fn read(
    opts: &CsvSourceOptions,
    prior: &[SourceTableSnapshot],
    observer: &dyn ReadObserver,
) -> Result<SourceRead, SourceError> {
    read_package(&Package::open(&opts.path)?, opts, prior, observer)
}

/// A package built in memory by another source (OneRoster REST, Clever, generic CSV): file
/// name → CSV bytes, `manifest.csv` included. Read through exactly the same parser as a
/// folder, so every source yields the same roster and diagnostics for the same data.
#[derive(Clone, Debug)]
pub struct MemoryPackage {
    /// Names the package in errors (e.g. the provider's base URL).
    pub label: PathBuf,
    pub files: std::collections::BTreeMap<String, Vec<u8>>,
}

impl MemoryPackage {
    fn package(&self) -> Package {
        let files = self
            .files
            .iter()
            .map(|(k, v)| (k.clone(), std::sync::Arc::<[u8]>::from(v.as_slice())))
            .collect();
        Package::Memory(self.label.clone(), std::sync::Arc::new(files))
    }
    fn options(&self) -> CsvSourceOptions {
        CsvSourceOptions {
            path: self.label.clone(),
            version: None,
            mode: None,
        }
    }
}

/// Reads an in-memory package (see [`MemoryPackage`]); `prior` as for [`read`].
pub fn read_memory(
    pkg: &MemoryPackage,
    prior: &[SourceTableSnapshot],
    observer: &dyn ReadObserver,
) -> Result<SourceRead, SourceError> {
    read_package(&pkg.package(), &pkg.options(), prior, observer)
}

/// The tables to save after applying an in-memory package (see [`snapshot_tables`]).
pub fn snapshot_memory(
    pkg: &MemoryPackage,
    prior: &[SourceTableSnapshot],
) -> Result<Vec<SourceTableSnapshot>, SourceError> {
    snapshot_package(&pkg.package(), &pkg.options(), prior)
}

fn read_package(
    pkg: &Package,
    opts: &CsvSourceOptions,
    prior: &[SourceTableSnapshot],
    observer: &dyn ReadObserver,
) -> Result<SourceRead, SourceError> {
    let manifest = read_manifest(pkg, opts)?;
    let prior_map: FxHashMap<&str, &[u8]> = prior
        .iter()
        .map(|t| (t.file.as_str(), t.csv.as_slice()))
        .collect();
    let mut diagnostics = manifest.diagnostics.clone();
    let mut inputs: FxHashMap<&'static str, (Input<'static>, TableMode, u64)> =
        FxHashMap::default();
    for (file, required) in FILES {
        let required =
            required || (file == "roles.csv" && manifest.version == OneRosterVersion::V1_2);
        if let Some(input) =
            table_input(pkg, &manifest, &prior_map, file, required, &mut diagnostics)?
        {
            inputs.insert(file, input);
        }
    }
    let (roster, tables, more) = parse::build(manifest.version, inputs, observer)?;
    diagnostics.extend(more);
    Ok(SourceRead {
        roster,
        diagnostics,
        version: manifest.version,
        tables,
    })
}

/// The complete tables of this exchange (bulk files as they are, delta files merged with
/// the previous exchange, absent files carried forward), to be saved in the state store
/// after a successful apply so that the next delta has something to apply to.
pub fn snapshot_tables(
    opts: &CsvSourceOptions,
    prior: &[SourceTableSnapshot],
) -> Result<Vec<SourceTableSnapshot>, SourceError> {
    snapshot_package(&Package::open(&opts.path)?, opts, prior)
}

fn snapshot_package(
    pkg: &Package,
    opts: &CsvSourceOptions,
    prior: &[SourceTableSnapshot],
) -> Result<Vec<SourceTableSnapshot>, SourceError> {
    let manifest = read_manifest(pkg, opts)?;
    let prior_map: FxHashMap<&str, &[u8]> = prior
        .iter()
        .map(|t| (t.file.as_str(), t.csv.as_slice()))
        .collect();
    let mut out = Vec::new();
    for (file, _) in FILES {
        match manifest
            .modes
            .get(file)
            .copied()
            .unwrap_or(TableMode::Absent)
        {
            TableMode::Bulk if pkg.has(file)? => out.push(SourceTableSnapshot {
                file: file.into(),
                csv: pkg.read_all(file)?,
            }),
            TableMode::Delta if pkg.has(file)? => {
                let Some(base) = prior_map.get(file) else {
                    return Err(SourceError::DeltaWithoutBase { file: file.into() });
                };
                let base =
                    table::read_raw(file, base, false).map_err(|e| SourceError::BadPrior {
                        file: file.into(),
                        message: e.to_string(),
                    })?;
                let delta = table::read_raw(file, &pkg.read_all(file)?, true)?;
                let (merged, _) = table::merge_delta(file, base, delta)?;
                out.push(SourceTableSnapshot {
                    file: file.into(),
                    csv: table::to_csv(&merged),
                });
            }
            _ => {
                if let Some(base) = prior_map.get(file) {
                    out.push(SourceTableSnapshot {
                        file: file.into(),
                        csv: base.to_vec(),
                    });
                }
            }
        }
    }
    Ok(out)
}
