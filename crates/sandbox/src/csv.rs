//! A strict CSV reader with the rules Canvas's importer applies (canvas-sis-csv.md §1).
//!
//! Canvas reads SIS files with Ruby's CSV in its default, non-liberal mode, which rejects an
//! unclosed quote, a quote inside an unquoted field and text after a closing quote. The `csv`
//! crate accepts all three, so the sandbox parses by hand to fail the same files Canvas fails.
//! Parsing borrows from the file text; only fields with doubled quotes allocate.

use std::borrow::Cow;

/// The file could not be parsed (Canvas: `Malformed CSV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// One parsed record: its raw fields.
pub struct Record<'a> {
    pub fields: Vec<Cow<'a, str>>,
}

/// Iterates the records of a CSV text, skipping blank lines.
pub struct Records<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Records<'a> {
    pub fn new(text: &'a str) -> Self {
        Records { text, pos: 0 }
    }

    fn at_row_end(bytes: &[u8], i: usize) -> bool {
        i >= bytes.len() || bytes[i] == b'\n' || bytes[i] == b'\r'
    }

    /// Skip one row separator (`\r\n`, `\n` or `\r`) at `i`, returning the new position.
    fn skip_newline(&mut self, i: usize) -> usize {
        let b = self.text.as_bytes();
        if i < b.len() && b[i] == b'\r' {
            if i + 1 < b.len() && b[i + 1] == b'\n' {
                return i + 2;
            }
            return i + 1;
        }
        if i < b.len() && b[i] == b'\n' {
            return i + 1;
        }
        i
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        let text = self.text;
        let b = text.as_bytes();
        // Skip blank lines.
        while self.pos < b.len() && (b[self.pos] == b'\n' || b[self.pos] == b'\r') {
            self.pos = self.skip_newline(self.pos);
        }
        if self.pos >= b.len() {
            return None;
        }
        let mut fields = Vec::new();
        let mut i = self.pos;
        loop {
            if i < b.len() && b[i] == b'"' {
                // Quoted field.
                let start = i + 1;
                let mut j = start;
                let mut owned: Option<String> = None;
                let mut seg_start = start;
                loop {
                    if j >= b.len() {
                        self.pos = b.len();
                        return Some(Err(Malformed));
                    }
                    match b[j] {
                        b'"' if j + 1 < b.len() && b[j + 1] == b'"' => {
                            let o = owned.get_or_insert_with(String::new);
                            o.push_str(&text[seg_start..=j]);
                            j += 2;
                            seg_start = j;
                        }
                        b'"' => break,
                        _ => j += 1,
                    }
                }
                let field = match owned {
                    Some(mut o) => {
                        o.push_str(&text[seg_start..j]);
                        Cow::Owned(o)
                    }
                    None => Cow::Borrowed(&text[start..j]),
                };
                fields.push(field);
                i = j + 1;
                if Self::at_row_end(b, i) {
                    break;
                }
                if b[i] != b',' {
                    self.pos = b.len();
                    return Some(Err(Malformed));
                }
                i += 1;
            } else {
                let start = i;
                while i < b.len() && b[i] != b',' && b[i] != b'\n' && b[i] != b'\r' {
                    if b[i] == b'"' {
                        self.pos = b.len();
                        return Some(Err(Malformed));
                    }
                    i += 1;
                }
                fields.push(Cow::Borrowed(&text[start..i]));
                if Self::at_row_end(b, i) {
                    break;
                }
                i += 1; // the comma
            }
        }
        self.pos = self.skip_newline(i);
        Some(Ok(Record { fields }))
    }
}

/// Decode a file's bytes: drop a UTF-8 BOM; `None` when the bytes are not UTF-8.
pub fn decode(bytes: &[u8]) -> Option<&str> {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    std::str::from_utf8(bytes).ok()
}

/// Quote one field for writing (errors CSV).
pub fn quote(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<Vec<String>>, Malformed> {
        Records::new(s)
            .map(|r| r.map(|r| r.fields.into_iter().map(|f| f.into_owned()).collect()))
            .collect()
    }

    #[test]
    fn quoted_fields_and_blank_lines() {
        let rows = parse("a,b\r\n\r\n\"x,\"\"y\"\"\",\n\"multi\nline\",z\n").unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["a", "b"],
                vec!["x,\"y\"", ""],
                vec!["multi\nline", "z"]
            ]
        );
    }

    #[test]
    fn malformed_inputs_are_rejected() {
        assert!(parse("a,\"b\n").is_err());
        assert!(parse("a,b\"c\n").is_err());
        assert!(parse("a,\"b\"c\n").is_err());
    }
}
