//! `rosterbridge sandbox`: the Canvas-compatible server, for tests, demos and a safe first look.

use crate::exit::Code;
use crate::progress::Ui;
use anyhow::Context;
use rosterbridge_sandbox::{ImportFault, SandboxConfig};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Imports move to `importing` and never finish.
    StayImporting,
    /// Imports end `failed`.
    Fail,
}

/// Run a Canvas-compatible server: SIS imports, the REST endpoints a sync uses, throttling
/// and OAuth 2, following Canvas's documented behaviour. Root account 1 exists from the
/// start. Prints its base URL when ready; stops cleanly on Ctrl-C or SIGTERM.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8089")]
    pub listen: SocketAddr,
    /// Bearer token to accept (repeat for several). Default: the value of $CANVAS_TOKEN.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CANVAS_TOKEN",
        hide_env_values = true
    )]
    pub token: Vec<String>,
    /// Keep data in this file across restarts (default: in memory only).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Throttle bucket size (Canvas: 700).
    #[arg(long, value_name = "UNITS", default_value_t = 700.0)]
    pub high_water_mark: f64,
    /// Throttle leak rate in units per second (Canvas: 10).
    #[arg(long, value_name = "UNITS", default_value_t = 10.0)]
    pub leak_rate: f64,
    /// Cost charged per request.
    #[arg(long, value_name = "UNITS", default_value_t = 1.0)]
    pub request_cost: f64,
    /// Answer throttled requests with the older `403 Rate Limit Exceeded` instead of 429.
    #[arg(long)]
    pub legacy_403: bool,
    /// Turn throttling off.
    #[arg(long)]
    pub no_throttle: bool,
    /// Fault injection: fraction (0-1) of API requests answered 500/502/503.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    pub error_rate: f64,
    /// Fault injection: extra latency per API request.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Fault injection: fraction (0-1) of connections dropped at once.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Fault injection: make every SIS import end this way.
    #[arg(long, value_enum)]
    pub import_outcome: Option<ImportOutcome>,
    /// After an import is aborted, waiting imports start only this many seconds later
    /// (Canvas: 600).
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub abort_requeue_delay: u64,
    /// Also serve a roster as a SIS would, on this address: OneRoster 1.1 REST (OAuth 1.0a,
    /// key `sandbox-key` / secret `sandbox-secret`) under `/ims/oneroster/v1p1`, OneRoster 1.2
    /// REST (client credentials `sandbox-client` / `sandbox-client-secret`, token at
    /// `/oauth/token`) under `/ims/oneroster/rostering/v1p2`, and Clever v3 (district token
    /// `sandbox-district-token`) under `/v3.0`. Its URL is the second line on stdout.
    #[arg(long, value_name = "ADDR")]
    pub sis_listen: Option<SocketAddr>,
    /// The roster the SIS provider serves: a OneRoster CSV folder or zip (default: a
    /// generated district of --sis-students).
    #[arg(long, value_name = "PATH", requires = "sis_listen")]
    pub sis_roster: Option<PathBuf>,
    /// Students in the generated district the SIS provider serves.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub sis_students: u32,
    /// Make the SIS provider's gradebook refuse (422) results for this student sourcedId, as
    /// a SIS with a locked record would (repeatable; for marks passback tests).
    #[arg(long, value_name = "STUDENT", requires = "sis_listen")]
    pub sis_reject_result: Vec<String>,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<Code> {
    if args.token.is_empty() {
        anyhow::bail!("the sandbox needs a token: pass --token TOKEN or set CANVAS_TOKEN");
    }
    for (name, v) in [
        ("--error-rate", args.error_rate),
        ("--drop-rate", args.drop_rate),
    ] {
        if !(0.0..=1.0).contains(&v) {
            anyhow::bail!("{name} must be between 0 and 1 (got {v})");
        }
    }
    let mut config = SandboxConfig::new(args.listen, args.token[0].clone());
    config.tokens = args.token.clone();
    config.db = args.db.clone();
    config.throttle.enabled = !args.no_throttle;
    config.throttle.high_water_mark = args.high_water_mark;
    config.throttle.outflow = args.leak_rate;
    config.throttle.request_cost = args.request_cost;
    config.throttle.legacy_403 = args.legacy_403;
    config.faults.error_rate = args.error_rate;
    config.faults.latency_ms = args.latency_ms;
    config.faults.drop_rate = args.drop_rate;
    config.abort_requeue_delay = std::time::Duration::from_secs(args.abort_requeue_delay);
    config.faults.import_outcome = args.import_outcome.map(|o| match o {
        ImportOutcome::StayImporting => ImportFault::StayImporting,
        ImportOutcome::Fail => ImportFault::Fail,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let url = rosterbridge_sandbox::base_url(&listener)?;
        // The URL goes to stdout (scripts read it); the rest is chatter on stderr.
        println!("{url}");
        ui.note(&format!(
            "Canvas sandbox ready at {url} (root account 1{}); Ctrl-C to stop",
            match &config.db {
                Some(db) => format!(", data kept in {}", db.display()),
                None => ", in memory".into(),
            }
        ));
        let provider = match args.sis_listen {
            Some(addr) => {
                let roster = match &args.sis_roster {
                    Some(path) => rosterbridge_sandbox_roster::load_oneroster_csv(path)
                        .with_context(|| {
                            format!("loading the SIS roster from {}", path.display())
                        })?,
                    None => rosterbridge_sandbox_roster::generate_roster(args.sis_students, 7)
                        .context("generating the SIS roster")?,
                };
                let state = rosterbridge_sandbox_roster::ProviderState::new(
                    roster,
                    rosterbridge_sandbox_roster::ProviderConfig::default(),
                );
                for student in &args.sis_reject_result {
                    state.reject_results_for(
                        student,
                        "the student's record is locked (sandbox --sis-reject-result)",
                    );
                }
                let sis_listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?;
                let sis_url = format!(
                    "http://{}",
                    sis_listener
                        .local_addr()
                        .context("reading the SIS address")?
                );
                println!("{sis_url}");
                ui.note(&format!(
                    "SIS provider ready at {sis_url} (OneRoster 1.1/1.2 REST, Clever v3)"
                ));
                Some(tokio::spawn(rosterbridge_sandbox_roster::serve(
                    sis_listener,
                    state,
                    rosterbridge_sandbox::shutdown_signal(),
                )))
            }
            None => None,
        };
        rosterbridge_sandbox::serve(config, listener, rosterbridge_sandbox::shutdown_signal())
            .await?;
        if let Some(task) = provider {
            task.await
                .context("the SIS provider stopped abnormally")?
                .context("the SIS provider failed")?;
        }
        ui.note("sandbox stopped");
        anyhow::Ok(())
    })?;
    Ok(Code::Ok)
}
