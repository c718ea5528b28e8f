//! Which plan change a line of a Canvas CSV file came from, so that Canvas's per-row
//! messages (file and 1-based line, header counted) land on the change that caused them.

use rosterbridge_model::kind::Kind;
use rosterbridge_plan::Plan;

/// A file name, (first line, change index) per record, and the line after the last one.
type FileLines = (&'static str, Vec<(u64, usize)>, u64);

#[derive(Debug, Default)]
pub struct RowIndex {
    /// Per file: (first line of the record, index into `plan.changes`), ascending, and
    /// the line after the last record.
    files: Vec<FileLines>,
}

impl RowIndex {
    /// Lines as the CSV writer lays them out: the header is line 1, each record starts on
    /// the line after the previous one ends (a value with line breaks spans several).
    pub fn new(plan: &Plan) -> RowIndex {
        Self::new_where(plan, |_| true)
    }

    /// For a zip written with only the changes `keep` passes.
    pub fn new_where(plan: &Plan, keep: impl Fn(usize) -> bool) -> RowIndex {
        let mut files = Vec::new();
        for kind in Kind::ALL {
            let mut lines = Vec::new();
            let mut line = 2u64;
            for (i, c) in plan
                .changes
                .iter()
                .enumerate()
                .filter(|(i, c)| c.kind == kind && keep(*i))
            {
                lines.push((line, i));
                let breaks: usize = plan
                    .row(c)
                    .values
                    .iter()
                    .map(|v| v.bytes().filter(|b| *b == b'\n').count())
                    .sum();
                line += 1 + breaks as u64;
            }
            if !lines.is_empty() {
                files.push((kind.file_name(), lines, line));
            }
        }
        RowIndex { files }
    }

    fn lines(&self, file: &str) -> Option<(&[(u64, usize)], u64)> {
        // Canvas reports the name inside the zip; tolerate a folder prefix.
        let base = file.rsplit('/').next().unwrap_or(file);
        self.files
            .iter()
            .find(|(f, _, _)| *f == base)
            .map(|(_, l, end)| (l.as_slice(), *end))
    }

    /// The change whose record spans `line` of `file`.
    pub fn change_at(&self, file: &str, line: u64) -> Option<usize> {
        let (lines, end) = self.lines(file)?;
        let pos = lines.partition_point(|(start, _)| *start <= line);
        if pos == 0 || line >= end {
            return None; // the header, or past the end
        }
        Some(lines[pos - 1].1)
    }

    /// Every change written to `file`.
    pub fn changes_in(&self, file: &str) -> Vec<usize> {
        self.lines(file)
            .map(|(l, _)| l.iter().map(|(_, c)| *c).collect())
            .unwrap_or_default()
    }
}
