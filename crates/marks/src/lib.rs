//! Marks passback (issue 9): final grades in Canvas, written back to the SIS.
//!
//! ```text
//!  Canvas enrollments ──► CanvasGrade ──► plan (pure) ──► MarkPlan ──► OneRoster gradebook PUTs
//!  (grades object)         + managed classes, [marks],                  or lineItems/results CSV
//!                            what was sent before
//! ```
//!
//! * [`plan`] is the pure core: numeric or literal marks (score through a scale, or Canvas's
//!   letter grade), current or final grade, an override winning when set, deterministic
//!   line item and result sourcedIds, and flags for what deserves a look.
//! * [`canvas`] reads grades; [`oneroster`] and [`csv_export`] write marks. The engine wires
//!   them to the state store (which classes and enrollments rosterbridge manages, and what
//!   was sent before) and records every transfer.

pub mod canvas;
pub mod csv_export;
pub mod oneroster;
pub mod plan;

pub use plan::{
    fmt_score, plan, render_text, CanvasGrade, Flag, GradeSource, LineItem, ManagedClass, Mark,
    MarkAction, MarkPlan, PlanInput, Summary,
};
use std::path::PathBuf;

/// Why marks could not be read or written as a whole. A result a provider refuses is not an
/// error: it is a rejected [`oneroster::Transfer`].
#[derive(Debug, thiserror::Error)]
pub enum MarksError {
    #[error("reading grades of class {class} from Canvas: {source}")]
    Canvas {
        class: String,
        source: rosterbridge_canvas_client::CanvasError,
    },
    #[error("OneRoster gradebook, {what}: {source}")]
    Gradebook {
        what: String,
        source: rosterbridge_source_http::HttpError,
    },
    #[error("marks configuration: {message}")]
    Config { message: String },
    #[error("writing the marks CSV: {message}")]
    Csv { message: String },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}
