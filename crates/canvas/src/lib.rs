//! Canvas formats and sinks.
//!
//! * [`csv`]: the SIS-import CSV files of a plan (one file per kind, Canvas's headers,
//!   RFC 4180 quoting), as a folder or a zip. Output is byte-identical for identical
//!   plans: fixed file order, fixed zip timestamps and permissions.

pub mod csv;
