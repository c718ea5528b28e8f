//! `rosterbridge sandbox`: a Canvas-compatible HTTP server for end-to-end tests and demos.
//!
//! It follows Canvas's documented SIS-import and REST behaviour (shared/specs/canvas-sis-csv.md
//! and canvas-rest.md; Canvas's own source where those are silent). The CLI wires it as:
//!
//! ```no_run
//! # async fn run() -> Result<(), rosterbridge_sandbox::ServeError> {
//! use rosterbridge_sandbox::{SandboxConfig, serve, shutdown_signal};
//! let config = SandboxConfig::new("127.0.0.1:8080".parse().unwrap(), "TOKEN");
//! let listener = tokio::net::TcpListener::bind(config.listen).await?;
//! println!("{}", rosterbridge_sandbox::base_url(&listener)?);
//! serve(config, listener, shutdown_signal()).await
//! # }
//! ```
//!
//! Layout: `api/` (router, auth, throttle hook, pagination, handlers), `sis/` (import engine,
//! one module per CSV kind), `store` (tables + indexes), `model` (plain data), `render` (JSON),
//! `error` (the single error → HTTP mapping).

mod api;
mod config;
mod csv;
mod error;
mod model;
mod oauth;
mod persist;
mod render;
mod secret;
mod sis;
mod state;
mod store;
mod throttle;

use std::future::Future;

pub use api::router;
pub use config::{FaultConfig, ImportFault, SandboxConfig, ThrottleConfig};
pub use error::{ApiError, ServeError};
pub use persist::PersistError;
pub use state::AppState;

/// `http://host:port` for a bound listener: what the CLI prints when the sandbox is ready.
pub fn base_url(listener: &tokio::net::TcpListener) -> std::io::Result<String> {
    Ok(format!("http://{}", listener.local_addr()?))
}

/// Serve until `shutdown` completes, then finish in-flight requests and return.
pub async fn serve(
    config: SandboxConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    if config.tokens.is_empty() {
        return Err(ServeError::NoToken);
    }
    let faults = config.faults.clone();
    let state = AppState::open(config)?;
    let app = router(state.clone());
    let listener = FaultyListener {
        inner: listener,
        drop_rate: faults.drop_rate,
        seed: faults.seed,
        accepted: 0,
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    // One last save so a clean stop (SIGINT/SIGTERM) loses nothing.
    state.persist()
}

/// The TCP listener with connection-drop fault injection.
struct FaultyListener {
    inner: tokio::net::TcpListener,
    drop_rate: f64,
    seed: u64,
    accepted: u64,
}

impl axum::serve::Listener for FaultyListener {
    type Io = tokio::net::TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (io, addr) = axum::serve::Listener::accept(&mut self.inner).await;
            self.accepted += 1;
            if self.drop_rate > 0.0 && api::draw(self.seed, self.accepted, 0x5EED) < self.drop_rate
            {
                drop(io); // closed before a byte is answered
                continue;
            }
            return (io, addr);
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// A sandbox running in the background (for tests): its base URL and a handle to stop it.
pub struct RunningSandbox {
    pub base_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl RunningSandbox {
    /// Bind `config.listen` (use port 0 for a free port) and serve in a background task.
    pub async fn start(config: SandboxConfig) -> Result<Self, ServeError> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let base_url = base_url(&listener)?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(config, listener, async {
            let _ = rx.await;
        }));
        Ok(RunningSandbox {
            base_url,
            stop: Some(tx),
            task,
        })
    }

    /// Stop accepting requests and wait for the server to finish.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(ServeError::Io(std::io::Error::other(e.to_string()))),
        }
    }
}
