//! Reading a generated package back with the `csv` crate, independently of the generator.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;

use rosterbridge_generate::{write_oneroster_csv, DistrictSpec, GenerateSummary};

pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn read(dir: &Path, name: &str) -> Table {
        let path = dir.join(name);
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let header = r.headers().unwrap().iter().map(str::to_string).collect();
        let rows = r
            .records()
            .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
            .collect();
        Table { header, rows }
    }

    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    /// Rows keyed by sourcedId (column 0); panics on duplicates.
    pub fn by_id(&self) -> HashMap<&str, &Vec<String>> {
        let mut m = HashMap::new();
        for r in &self.rows {
            assert!(
                m.insert(r[0].as_str(), r).is_none(),
                "duplicate sourcedId {}",
                r[0]
            );
        }
        m
    }
}

pub fn list(cell: &str) -> Vec<&str> {
    if cell.is_empty() {
        Vec::new()
    } else {
        cell.split(',').collect()
    }
}

pub fn generate(dir: &Path, students: u32, seed: u64, change_pct: f64) -> GenerateSummary {
    write_oneroster_csv(
        &DistrictSpec {
            students,
            seed,
            change_pct,
        },
        dir,
        &|_, _, _| {},
    )
    .expect("generate")
}

pub const ROSTER_FILES: [&str; 6] = [
    "orgs.csv",
    "academicSessions.csv",
    "courses.csv",
    "classes.csv",
    "users.csv",
    "enrollments.csv",
];
