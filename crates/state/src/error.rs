use std::fmt;

/// What kind of state-store failure this is: the only thing callers branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateErrorKind {
    /// The store could not be opened or created (path, permissions, not a database).
    Open,
    /// The database schema is newer than this program, or otherwise unusable.
    Schema,
    /// The store changed since the plan was made.
    StaleVersion,
    /// Stored data could not be decoded.
    Corrupt,
    /// Anything else from the backend.
    Backend,
}

impl fmt::Display for StateErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StateErrorKind::Open => "cannot open state store",
            StateErrorKind::Schema => "state store schema problem",
            StateErrorKind::StaleVersion => "state store changed since the plan was made",
            StateErrorKind::Corrupt => "state store holds data that cannot be read",
            StateErrorKind::Backend => "state store error",
        })
    }
}

/// A state-store error with its kind, a message with context, and the backend's cause.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct StateError {
    pub kind: StateErrorKind,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StateError {
    pub fn new(kind: StateErrorKind, message: impl Into<String>) -> Self {
        StateError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(
        kind: StateErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StateError {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    pub fn kind(&self) -> StateErrorKind {
        self.kind
    }
}
