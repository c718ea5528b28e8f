//! `rosterbridge serve`: the execution profiles run on their schedules, and admins look at
//! and steer them through a JSON API behind a login (session cookie + CSRF token), with
//! health, readiness and Prometheus metrics beside it.
//!
//! The configuration file stays the source of truth: it is read anew for every run and
//! every request, so an edit takes effect without a restart. Admin accounts and sessions
//! live in `<config>.server.db` (see [`admins`]).

pub mod admins;
mod api;
pub mod config_edit;
pub mod connection;
pub mod metrics;
pub mod runner;
pub mod schedule;
pub mod ui;
mod ui_mapping;
mod ui_profiles;
mod ui_source;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use api::{router, OPENAPI, ROUTES};

/// How `serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub config_path: PathBuf,
    pub listen: SocketAddr,
    /// Run profiles on their schedules (off: API only, runs only when triggered).
    pub schedule: bool,
    /// How long a run in progress may take to finish on shutdown.
    pub grace: Duration,
    /// Mark the session cookie `Secure` (behind HTTPS).
    pub secure_cookies: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Admins(#[from] admins::AdminError),
    #[error(transparent)]
    Connection(#[from] connection::ConnectionError),
    #[error("{0}")]
    Config(String),
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub(crate) admins: Arc<admins::AdminStore>,
    pub(crate) connection: Arc<connection::ConnectionStore>,
    pub(crate) runner: Arc<runner::Runner>,
    pub(crate) secure_cookies: bool,
}

impl AppState {
    pub fn new(options: &ServeOptions) -> Result<AppState, ServerError> {
        let db = admins::db_path(&options.config_path);
        let admins = admins::AdminStore::open(&db)?;
        let secrets = connection::SecretBox::load(&options.config_path)?;
        let connection = Arc::new(connection::ConnectionStore::open(&db, secrets)?);
        let metrics = Arc::new(metrics::Metrics::default());
        Ok(AppState {
            admins: Arc::new(admins),
            connection: connection.clone(),
            runner: Arc::new(runner::Runner::new(
                options.config_path.clone(),
                metrics,
                Some(connection),
            )),
            secure_cookies: options.secure_cookies,
        })
    }
}

/// Serves until SIGINT/SIGTERM, then stops taking requests and new runs, and gives a run in
/// progress `grace` to finish. `ready` is called with the bound address once listening.
pub async fn serve(
    options: ServeOptions,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    // A fresh install: a starter configuration the admin completes in the UI.
    if !options.config_path.exists() {
        config_edit::write(&options.config_path, config_edit::STARTER)
            .map_err(|e| ServerError::Config(e.to_string()))?;
        eprintln!(
            "note: {} did not exist; wrote a starter configuration to complete in the admin UI",
            options.config_path.display()
        );
    }
    // Refuse to start on a configuration that does not validate: say so now, not at 02:00.
    rosterbridge_config::Config::load(&options.config_path)
        .map_err(|e| ServerError::Config(format!("{}: {e}", options.config_path.display())))?;
    let state = AppState::new(&options)?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let scheduler = options
        .schedule
        .then(|| tokio::spawn(schedule::run(state.runner.clone(), stop_rx.clone())));
    ready(addr);
    let mut http_stop = stop_rx.clone();
    let server = axum::serve(listener, router(state.clone())).with_graceful_shutdown(async move {
        let _ = http_stop.wait_for(|s| *s).await;
    });
    let signals = async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    tokio::select! {
        r = server => r?,
        _ = signals => {}
    }
    if let Some(s) = scheduler {
        s.abort();
    }
    if !state.runner.wait_idle(options.grace).await {
        eprintln!(
            "warning: run(s) of {} still in progress after {}s; stopping. The engine records only what Canvas confirmed, and the next run starts with marking the interrupted run failed",
            state.runner.busy().join(", "),
            options.grace.as_secs()
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
