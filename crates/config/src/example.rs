//! The fully commented example configuration (`rosterbridge config example`).

/// Every option with a comment; parses as a valid configuration.
pub const EXAMPLE: &str = include_str!("example.toml");
