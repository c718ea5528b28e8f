//! A OneRoster package: a folder or a zip with the CSV files at its root.

use crate::SourceError;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub enum Package {
    Folder(PathBuf),
    Zip(PathBuf),
    /// Files built in memory by another source (REST, Clever, generic CSV); the path is
    /// only a label for errors (e.g. the provider's base URL).
    Memory(PathBuf, Arc<BTreeMap<String, Arc<[u8]>>>),
}

impl Package {
    pub fn open(path: &Path) -> Result<Package, SourceError> {
        if !path.exists() {
            return Err(SourceError::NotFound {
                path: path.to_path_buf(),
            });
        }
        if path.is_dir() {
            Ok(Package::Folder(path.to_path_buf()))
        } else {
            // Validate once so later per-file opens can only fail on I/O.
            let file = File::open(path).map_err(|source| SourceError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            zip::ZipArchive::new(BufReader::new(file)).map_err(|e| SourceError::BadZip {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            Ok(Package::Zip(path.to_path_buf()))
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Package::Folder(p) | Package::Zip(p) | Package::Memory(p, _) => p,
        }
    }

    /// Whether the package holds a file with exactly this name (case-sensitive).
    pub fn has(&self, name: &str) -> Result<bool, SourceError> {
        match self {
            Package::Folder(dir) => Ok(dir.join(name).is_file()),
            Package::Zip(path) => {
                let archive = self.archive(path)?;
                let found = archive
                    .file_names()
                    .any(|n| matches!(n, Ok(ref s) if s == name));
                Ok(found)
            }
            Package::Memory(_, files) => Ok(files.contains_key(name)),
        }
    }

    fn archive(&self, path: &Path) -> Result<zip::ZipArchive<BufReader<File>>, SourceError> {
        let file = File::open(path).map_err(|source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        zip::ZipArchive::new(BufReader::new(file)).map_err(|e| SourceError::BadZip {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Opens a file for streaming, with its (uncompressed) size.
    pub fn open_file(&self, name: &str) -> Result<(Box<dyn Read + Send>, u64), SourceError> {
        match self {
            Package::Folder(dir) => {
                let path = dir.join(name);
                let file = File::open(&path).map_err(|source| SourceError::Io {
                    path: path.clone(),
                    source,
                })?;
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                Ok((Box::new(BufReader::with_capacity(1 << 20, file)), size))
            }
            Package::Zip(path) => {
                // Read the entry fully: zip entries borrow their archive, and the big
                // tables are parsed on their own threads anyway.
                let mut archive = self.archive(path)?;
                let mut entry = archive.by_name(name).map_err(|e| SourceError::BadZip {
                    path: path.clone(),
                    message: format!("{name}: {e}"),
                })?;
                let size = entry.size();
                let mut bytes = Vec::with_capacity(size as usize);
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|source| SourceError::Io {
                        path: path.join(name),
                        source,
                    })?;
                Ok((Box::new(std::io::Cursor::new(bytes)), size))
            }
            Package::Memory(label, files) => match files.get(name) {
                Some(bytes) => Ok((
                    Box::new(std::io::Cursor::new(bytes.clone())),
                    bytes.len() as u64,
                )),
                None => Err(SourceError::Io {
                    path: label.join(name),
                    source: std::io::ErrorKind::NotFound.into(),
                }),
            },
        }
    }

    /// Reads a whole file.
    pub fn read_all(&self, name: &str) -> Result<Vec<u8>, SourceError> {
        let (mut r, size) = self.open_file(name)?;
        let mut bytes = Vec::with_capacity(size as usize);
        r.read_to_end(&mut bytes)
            .map_err(|source| SourceError::Io {
                path: self.path().join(name),
                source,
            })?;
        Ok(bytes)
    }
}

/// Counts bytes read and reports them every megabyte.
pub struct Counting<'a, R> {
    pub inner: R,
    pub done: u64,
    pub reported: u64,
    pub total: u64,
    pub file: &'a str,
    pub report: &'a (dyn Fn(&str, u64, u64) + Sync),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.done - self.reported >= 1 << 20 || (n == 0 && self.done != self.reported) {
            self.reported = self.done;
            (self.report)(self.file, self.done, self.total);
        }
        Ok(n)
    }
}
