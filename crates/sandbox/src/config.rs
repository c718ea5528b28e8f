//! How a sandbox is started: what the CLI (`rosterbridge sandbox`) fills in.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything a sandbox server needs to start.
#[derive(Clone)]
pub struct SandboxConfig {
    /// Address to listen on (used by callers that bind the listener themselves via [`crate::bind`]).
    pub listen: SocketAddr,
    /// Bearer tokens that are accepted; each is an admin of root account 1.
    pub tokens: Vec<String>,
    /// SQLite file for persistence; `None` keeps everything in memory.
    pub db: Option<PathBuf>,
    pub throttle: ThrottleConfig,
    pub faults: FaultConfig,
    /// Lifetime of OAuth access tokens (Canvas: one hour).
    pub oauth_token_ttl: Duration,
    /// After an import is aborted, pending imports wait this long before the queue moves on
    /// (Canvas requeues the account's SIS job 10 minutes later: `SisBatch#abort_batch`).
    pub abort_requeue_delay: Duration,
}

// Tokens are secrets (design rule 5): never print them.
impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("listen", &self.listen)
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .field("db", &self.db)
            .field("throttle", &self.throttle)
            .field("faults", &self.faults)
            .field("oauth_token_ttl", &self.oauth_token_ttl)
            .field("abort_requeue_delay", &self.abort_requeue_delay)
            .finish()
    }
}

impl SandboxConfig {
    /// An in-memory sandbox on `listen` accepting one token, with Canvas's default throttle.
    pub fn new(listen: SocketAddr, token: impl Into<String>) -> Self {
        SandboxConfig {
            listen,
            tokens: vec![token.into()],
            db: None,
            throttle: ThrottleConfig::default(),
            faults: FaultConfig::default(),
            oauth_token_ttl: Duration::from_secs(3600),
            abort_requeue_delay: Duration::from_secs(600),
        }
    }
}

/// Canvas's leaky-bucket throttle (canvas-rest.md §4).
#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    pub enabled: bool,
    /// Bucket is full at `count >= high_water_mark`. Hosted Canvas: 700 (open-source default 600).
    pub high_water_mark: f64,
    /// Units leaked per second.
    pub outflow: f64,
    /// Added before a request runs and removed when it ends, so parallel requests count.
    pub up_front_cost: f64,
    /// The final cost charged for each request (Canvas measures CPU + DB time; usually < 1).
    pub request_cost: f64,
    /// Answer throttled requests with the older `403 Forbidden (Rate Limit Exceeded)` instead of 429.
    pub legacy_403: bool,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            enabled: true,
            high_water_mark: 700.0,
            outflow: 10.0,
            up_front_cost: 50.0,
            request_cost: 1.0,
            legacy_403: false,
        }
    }
}

/// Fault injection for tests of the engine's resilience (issue point 8).
#[derive(Debug, Clone, Default)]
pub struct FaultConfig {
    /// Fraction (0..=1) of authenticated API requests answered 500, 502 or 503 (in turn)
    /// instead of being handled. Chosen deterministically from a request counter and `seed`,
    /// so a test run is repeatable.
    pub error_rate: f64,
    /// Extra latency added to every API request, in milliseconds.
    pub latency_ms: u64,
    /// Fraction (0..=1) of accepted connections closed at once, before any response (the
    /// client sees a reset or an early close). Per connection, so a keep-alive client sees it
    /// when it opens a new connection.
    pub drop_rate: f64,
    /// Seed for the deterministic fault choice.
    pub seed: u64,
    /// Force every SIS import to end this way instead of being processed.
    pub import_outcome: Option<ImportFault>,
}

/// How a faulty SIS import behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFault {
    /// The import moves to `importing` and never finishes.
    StayImporting,
    /// The import ends `failed` with `data.error_message` set and no messages.
    Fail,
}
