//! `YYYY-MM-DD` dates, read and written without chrono's format machinery: a state-wide
//! roster has millions of enrollment dates, and `parse_from_str`/`format` cost more than
//! the rest of the row. Anything the fast path does not recognise goes to chrono, so the
//! accepted forms are exactly chrono's `%Y-%m-%d`.

use chrono::{Datelike, NaiveDate};

/// Parses a `YYYY-MM-DD` date (as chrono's `%Y-%m-%d` does).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        if let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) {
            return NaiveDate::from_ymd_opt(y as i32, m, d);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A date written as `YYYY-MM-DD` on the stack.
#[derive(Clone, Copy)]
pub struct DateText {
    buf: [u8; 10],
}

impl DateText {
    /// `None` for years outside 0..=9999, which have no 4-digit form.
    pub fn new(d: NaiveDate) -> Option<DateText> {
        let y = d.year();
        if !(0..=9999).contains(&y) {
            return None;
        }
        let (y, m, day) = (y as u32, d.month(), d.day());
        let mut buf = *b"0000-00-00";
        buf[0] = b'0' + (y / 1000) as u8;
        buf[1] = b'0' + (y / 100 % 10) as u8;
        buf[2] = b'0' + (y / 10 % 10) as u8;
        buf[3] = b'0' + (y % 10) as u8;
        buf[5] = b'0' + (m / 10) as u8;
        buf[6] = b'0' + (m % 10) as u8;
        buf[8] = b'0' + (day / 10) as u8;
        buf[9] = b'0' + (day % 10) as u8;
        Some(DateText { buf })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits and '-' are ever written.
        std::str::from_utf8(&self.buf).unwrap_or("")
    }
}

/// Writes `d` as `YYYY-MM-DD` into `out` (chrono's form for years outside 0..=9999).
pub fn push_date(out: &mut crate::Str, d: NaiveDate) {
    match DateText::new(d) {
        Some(t) => out.push_str(t.as_str()),
        None => out.push_str(&d.format("%Y-%m-%d").to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_chrono() {
        for s in [
            "2026-08-20",
            "2024-02-29",
            "0001-01-01",
            "9999-12-31",
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-8-1",
            "20260820",
            "2026-08-2x",
            " 2026-08-20",
            "+2026-08-20",
            "",
        ] {
            assert_eq!(
                parse_date(s),
                NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn formatting_agrees_with_chrono() {
        let mut d = NaiveDate::from_ymd_opt(1999, 12, 25).unwrap_or_default();
        for _ in 0..4000 {
            let mut s = crate::Str::default();
            push_date(&mut s, d);
            assert_eq!(s, d.format("%Y-%m-%d").to_string());
            d = d + chrono::Days::new(3);
        }
        for d in [
            NaiveDate::from_ymd_opt(-44, 3, 15),
            NaiveDate::from_ymd_opt(12345, 1, 2),
            NaiveDate::from_ymd_opt(0, 1, 1),
        ]
        .into_iter()
        .flatten()
        {
            let mut s = crate::Str::default();
            push_date(&mut s, d);
            assert_eq!(s, d.format("%Y-%m-%d").to_string());
        }
    }
}
