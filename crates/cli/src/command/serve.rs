//! `rosterbridge serve`: the profiles on their schedules, and the JSON API for admins.

use crate::exit::Code;
use crate::progress::Ui;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Run as a service: every enabled execution profile syncs on its `schedule` (cron, UTC; default
/// nightly at 02:00) while today is in its window, never two runs of one profile at once. Admins
/// (see `rosterbridge admin create`) log in to the web UI at `/` (profiles, runs and their
/// refused rows, held plans to approve, the roster source, the mapping, the Canvas connection
/// by token or OAuth) and to the JSON API at `/api/v1` (described at `/api/v1/openapi.json`).
/// `/health`, `/ready` and `/metrics` (Prometheus) need no login. A configuration file that does
/// not exist yet is written as a starter to complete in the UI. Prints the base URL when ready;
/// on Ctrl-C or SIGTERM stops taking requests and lets a run in progress finish (up to
/// --grace-secs).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The configuration file (TOML), read anew for every run.
    #[arg(long, short, value_name = "FILE", default_value = "rosterbridge.toml")]
    pub config: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Do not run the schedules (runs start only from the API).
    #[arg(long)]
    pub no_schedule: bool,
    /// Seconds a run in progress may take to finish on shutdown.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub grace_secs: u64,
    /// Mark the session cookie Secure (when served behind HTTPS).
    #[arg(long)]
    pub secure_cookies: bool,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<Code> {
    let options = rosterbridge_server::ServeOptions {
        config_path: args.config.clone(),
        listen: args.listen,
        schedule: !args.no_schedule,
        grace: std::time::Duration::from_secs(args.grace_secs),
        secure_cookies: args.secure_cookies,
    };
    let admins = rosterbridge_server::admins::AdminStore::open(
        &rosterbridge_server::admins::db_path(&args.config),
    )?;
    if admins.list()?.is_empty() {
        eprintln!("warning: no admin account yet: nobody can log in. Create one with `rosterbridge admin create NAME --config {}`", args.config.display());
    }
    drop(admins);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(rosterbridge_server::serve(options, |addr| {
        // The URL goes to stdout (scripts read it); the rest is chatter on stderr.
        println!("http://{addr}");
        ui.note(&format!("rosterbridge server ready at http://{addr} (API at /api/v1, description at /api/v1/openapi.json); Ctrl-C to stop"));
    }))?;
    Ok(Code::Ok)
}
