//! Reading one CSV table: header mapping by name, UTF-8 checks, trimmed cells, line numbers.
//! Bulk files are streamed; delta files are merged in memory on top of the stored table.

use crate::SourceError;
use csv::ByteRecord;
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::rc::Rc;

/// A column the reader wants: its name and whether the file must have it.
pub type ColumnSpec = (&'static str, bool);

/// Where a table's rows come from.
pub enum Input<'a> {
    Stream(Box<dyn Read + Send + 'a>),
    /// A merged table: header and rows with the line each came from (0 = the stored
    /// previous exchange).
    Memory {
        header: Vec<String>,
        rows: Vec<(u32, ByteRecord)>,
    },
}

fn reader<R: Read>(r: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(r)
}

/// Physical line numbers. The csv crate's own line count lags by one in CRLF files and
/// does not see every line break, so lines are counted here: the wrapped reader notes
/// where each `\n` is, and a record's line is one more than the breaks before its first byte.
struct Lines<R> {
    inner: R,
    offset: u64,
    breaks: Rc<RefCell<VecDeque<u64>>>,
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut breaks = self.breaks.borrow_mut();
        for i in memchr::memchr_iter(b'\n', &buf[..n]) {
            breaks.push_back(self.offset + i as u64);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

struct LineCounter {
    breaks: Rc<RefCell<VecDeque<u64>>>,
    passed: u32,
}

impl LineCounter {
    fn wrap<R: Read>(inner: R) -> (Lines<R>, LineCounter) {
        let breaks = Rc::new(RefCell::new(VecDeque::new()));
        (
            Lines {
                inner,
                offset: 0,
                breaks: breaks.clone(),
            },
            LineCounter { breaks, passed: 0 },
        )
    }

    /// The 1-based line of a record starting at this byte (offsets must not decrease). In CRLF
    /// files csv reports the start of a record at the `\n` ending the previous line, hence `<=`.
    fn line_of(&mut self, record: &ByteRecord) -> u32 {
        let start = record.position().map(|p| p.byte()).unwrap_or(0);
        let mut breaks = self.breaks.borrow_mut();
        while breaks.front().is_some_and(|b| *b <= start) {
            breaks.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

fn header_names(file: &str, record: &ByteRecord) -> Result<Vec<String>, SourceError> {
    let mut names = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let s = std::str::from_utf8(field).map_err(|e| SourceError::InvalidUtf8 {
            file: file.into(),
            line: 1,
            column: i as u32 + 1,
            offset: e.valid_up_to() as u64,
        })?;
        let s = if i == 0 {
            s.trim_start_matches('\u{feff}')
        } else {
            s
        };
        names.push(s.trim().to_string());
    }
    Ok(names)
}

/// Column positions for a spec, by exact name, then case-insensitively (tolerance).
fn positions(
    file: &str,
    header: &[String],
    spec: &[ColumnSpec],
) -> Result<Vec<Option<usize>>, SourceError> {
    spec.iter()
        .map(|(name, required)| {
            let pos = header
                .iter()
                .position(|h| h == name)
                .or_else(|| header.iter().position(|h| h.eq_ignore_ascii_case(name)));
            match pos {
                None if *required => Err(SourceError::MissingColumn {
                    file: file.into(),
                    column: name.to_string(),
                    found: header
                        .iter()
                        .filter(|h| !h.is_empty())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
                p => Ok(p),
            }
        })
        .collect()
}

fn map_csv_error(file: &str, e: csv::Error) -> SourceError {
    let line = e.position().map(|p| p.line() as u32).unwrap_or(0);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => SourceError::Io {
            path: file.into(),
            source,
        },
        other => SourceError::Malformed {
            file: file.into(),
            line,
            message: format!("{other:?}"),
        },
    }
}

/// Calls `each(line, cells)` for every data row, `cells` aligned with `spec` (trimmed;
/// empty when the column or cell is absent). Returns the number of rows.
pub fn for_each_row(
    file: &str,
    input: Input<'_>,
    spec: &[ColumnSpec],
    mut each: impl FnMut(u32, &[&str], &[Option<usize>]),
) -> Result<usize, SourceError> {
    // Fixed-size scratch on the stack: no allocation per row.
    const MAX: usize = 32;
    assert!(spec.len() <= MAX, "a column spec longer than {MAX}");
    let mut rows = 0usize;
    match input {
        Input::Stream(r) => {
            let (r, mut lines) = LineCounter::wrap(r);
            let mut rdr = reader(r);
            let mut record = ByteRecord::new();
            if !rdr
                .read_byte_record(&mut record)
                .map_err(|e| map_csv_error(file, e))?
            {
                return Err(SourceError::NoHeader { file: file.into() });
            }
            let header = header_names(file, &record)?;
            let pos = positions(file, &header, spec)?;
            while rdr
                .read_byte_record(&mut record)
                .map_err(|e| map_csv_error(file, e))?
            {
                let line = lines.line_of(&record);
                if skip_blank(&record) {
                    continue;
                }
                check_shape(file, line, &record, header.len())?;
                let mut cells = [""; MAX];
                fill(file, line, &record, &pos, &mut cells)?;
                each(line, &cells[..spec.len()], &pos);
                rows += 1;
            }
        }
        Input::Memory {
            header,
            rows: records,
        } => {
            let pos = positions(file, &header, spec)?;
            for (line, record) in &records {
                let mut cells = [""; MAX];
                fill(file, *line, record, &pos, &mut cells)?;
                each(*line, &cells[..spec.len()], &pos);
                rows += 1;
            }
        }
    }
    Ok(rows)
}

/// `str::trim`, with a shortcut for the usual cell that starts and ends with a visible
/// ASCII character (most cells: the full trim showed in profiles of large districts).
/// An ASCII byte at either end is a whole character, so the shortcut trims exactly
/// what `trim` would (nothing).
#[inline]
pub(crate) fn trim_cell(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) if visible_ascii(a) && visible_ascii(z) => s,
        _ => s.trim(),
    }
}

/// `char::is_whitespace`, not `u8::is_ascii_whitespace`: `trim` also strips the
/// vertical tab, which the ASCII test does not count.
#[inline]
fn visible_ascii(b: u8) -> bool {
    b.is_ascii() && !char::from(b).is_whitespace()
}

fn skip_blank(record: &ByteRecord) -> bool {
    record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace))
}

/// A row with fewer cells than the header whose last cell holds a line break is the
/// mark of an unbalanced quote that swallowed the following lines.
fn check_shape(
    file: &str,
    line: u32,
    record: &ByteRecord,
    header_len: usize,
) -> Result<(), SourceError> {
    if record.len() < header_len
        && record
            .iter()
            .next_back()
            .is_some_and(|f| f.contains(&b'\n'))
    {
        return Err(SourceError::Malformed {
            file: file.into(),
            line,
            message: format!("the row has {} cells but the header has {header_len}, and a quoted cell runs over several lines (an unbalanced double quote?)", record.len()),
        });
    }
    Ok(())
}

fn fill<'r>(
    file: &str,
    line: u32,
    record: &'r ByteRecord,
    pos: &[Option<usize>],
    cells: &mut [&'r str],
) -> Result<(), SourceError> {
    // One UTF-8 check of the whole record; cells split at ASCII delimiters, so each is a
    // valid slice of it. Only a record that fails is checked cell by cell, to say where.
    // (A cell cut inside a character shows as a slice off a char boundary: the slow path
    // then reports it.)
    if let Ok(text) = std::str::from_utf8(record.as_slice()) {
        let mut whole = true;
        for (slot, p) in cells.iter_mut().zip(pos) {
            *slot = match p.and_then(|i| record.range(i)) {
                Some(r) => match text.get(r) {
                    Some(cell) => trim_cell(cell),
                    None => {
                        whole = false;
                        break;
                    }
                },
                None => "",
            };
        }
        if whole {
            return Ok(());
        }
    }
    for (slot, p) in cells.iter_mut().zip(pos) {
        let cell = match p.and_then(|i| record.get(i)) {
            Some(bytes) => std::str::from_utf8(bytes)
                .map_err(|e| SourceError::InvalidUtf8 {
                    file: file.into(),
                    line,
                    column: p.map(|i| i as u32 + 1).unwrap_or(0),
                    offset: record.position().map(|x| x.byte()).unwrap_or(0)
                        + e.valid_up_to() as u64,
                })?
                .trim(),
            None => "",
        };
        *slot = cell;
    }
    Ok(())
}

/// A whole table in memory: header names and rows with their lines.
pub struct RawTable {
    pub header: Vec<String>,
    pub rows: Vec<(u32, ByteRecord)>,
}

/// Reads a whole table into memory (delta files and stored previous exchanges).
pub fn read_raw(file: &str, bytes: &[u8], lines: bool) -> Result<RawTable, SourceError> {
    let (r, mut counter) = LineCounter::wrap(bytes);
    let mut rdr = reader(r);
    let mut record = ByteRecord::new();
    if !rdr
        .read_byte_record(&mut record)
        .map_err(|e| map_csv_error(file, e))?
    {
        return Err(SourceError::NoHeader { file: file.into() });
    }
    let header = header_names(file, &record)?;
    let mut rows = Vec::new();
    while rdr
        .read_byte_record(&mut record)
        .map_err(|e| map_csv_error(file, e))?
    {
        let line = counter.line_of(&record);
        if skip_blank(&record) {
            continue;
        }
        check_shape(file, line, &record, header.len())?;
        rows.push((if lines { line } else { 0 }, record.clone()));
    }
    Ok(RawTable { header, rows })
}

fn cell<'a>(t: &RawTable, record: &'a ByteRecord, name: &str) -> &'a [u8] {
    t.header
        .iter()
        .position(|h| h == name)
        .and_then(|i| record.get(i))
        .unwrap_or(b"")
}

/// Applies a delta table to the previous one: `active` rows replace or add by sourcedId,
/// `tobedeleted` (and the 1.0 `inactive`) rows remove. Rows are re-ordered into the
/// previous table's header; the result keeps the previous order with additions at the end.
pub fn merge_delta(
    file: &str,
    prior: RawTable,
    delta: RawTable,
) -> Result<(RawTable, Vec<(u32, String)>), SourceError> {
    let mut warnings = Vec::new();
    let key =
        |t: &RawTable, r: &ByteRecord| -> Vec<u8> { cell(t, r, "sourcedId").trim_ascii().to_vec() };
    let mut index: FxHashMap<Vec<u8>, usize> = FxHashMap::default();
    let mut rows: Vec<Option<(u32, ByteRecord)>> =
        Vec::with_capacity(prior.rows.len() + delta.rows.len());
    for (line, r) in prior.rows.iter() {
        index.insert(key(&prior, r), rows.len());
        rows.push(Some((*line, r.clone())));
    }
    // Map delta columns onto the prior header (by name).
    let map: Vec<Option<usize>> = prior
        .header
        .iter()
        .map(|h| delta.header.iter().position(|d| d == h))
        .collect();
    if !delta.header.iter().any(|h| h == "sourcedId") {
        return Err(SourceError::MissingColumn {
            file: file.into(),
            column: "sourcedId".into(),
            found: delta.header.join(", "),
        });
    }
    for (line, r) in &delta.rows {
        let status = String::from_utf8_lossy(cell(&delta, r, "status"))
            .trim()
            .to_ascii_lowercase();
        let k = key(&delta, r);
        match status.as_str() {
            "tobedeleted" | "inactive" => {
                if let Some(i) = index.remove(&k) {
                    rows[i] = None;
                }
            }
            other => {
                if other != "active" {
                    warnings.push((
                        *line,
                        format!("status {other:?} in a delta row; read as active"),
                    ));
                }
                let mut rec = ByteRecord::new();
                for m in &map {
                    rec.push_field(m.and_then(|i| r.get(i)).unwrap_or(b""));
                }
                match index.get(&k) {
                    Some(&i) => rows[i] = Some((*line, rec)),
                    None => {
                        index.insert(k, rows.len());
                        rows.push(Some((*line, rec)));
                    }
                }
            }
        }
    }
    Ok((
        RawTable {
            header: prior.header,
            rows: rows.into_iter().flatten().collect(),
        },
        warnings,
    ))
}

/// Serialises a table as CSV (for saving the merged exchange).
pub fn to_csv(t: &RawTable) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(&t.header);
    for (_, r) in &t.rows {
        let _ = w.write_byte_record(r);
    }
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::trim_cell;

    #[test]
    fn trim_cell_trims_exactly_what_trim_does() {
        let cases = [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\r\n",
            "\u{a0}x\u{a0}",
            "x\u{3000}",
            "\u{2003}",
            "é",
            " é ",
            "0012",
            "a b",
            "\u{b}v\u{c}",
            "\u{1c}x\u{1f}",
            "x\u{85}",
        ];
        for c in cases {
            assert_eq!(trim_cell(c), c.trim(), "{c:?}");
        }
    }
}
