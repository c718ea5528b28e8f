//! `rosterbridge`: keeps Canvas LMS in step with a school's SIS.
//!
//! The binary only parses arguments and wires the library crates together; each
//! subcommand lives in its own file under `command/`.

mod command;
mod exit;
mod progress;
mod report;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Keep Canvas LMS in step with your SIS: read the roster, plan the change, apply only the delta.
#[derive(Parser)]
#[command(name = "rosterbridge", version, about, long_about = None, after_help = exit::EXIT_CODES_HELP)]
struct Cli {
    /// No progress bars or chatter on stderr (results and errors still print).
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Validate(command::validate::Args),
    Plan(command::plan::Args),
    Apply(command::apply::Args),
    Sync(command::sync::Args),
    Demo(command::demo::Args),
    Status(command::status::Args),
    Runs(command::runs::Args),
    Approve(command::approve::Args),
    Undo(command::undo::Args),
    Reconcile(command::reconcile::Args),
    Promote(command::promote::Args),
    Notify(command::notify::Args),
    Generate(command::generate::Args),
    Bench(command::bench::Args),
    Sandbox(command::sandbox::Args),
    Marks(command::marks::Args),
    Serve(command::serve::Args),
    #[command(subcommand)]
    Admin(command::admin::Command),
    #[command(subcommand)]
    Config(command::config::Command),
    #[command(subcommand)]
    Profile(command::profile::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ui = progress::Ui::new(cli.quiet);
    let result = match cli.command {
        Command::Validate(a) => command::validate::run(a, &ui),
        Command::Plan(a) => command::plan::run(a, &ui),
        Command::Apply(a) => command::apply::run(a, &ui),
        Command::Sync(a) => command::sync::run(a, &ui),
        Command::Demo(a) => command::demo::run(a, &ui),
        Command::Status(a) => command::status::run(a, &ui),
        Command::Runs(a) => command::runs::run(a, &ui),
        Command::Approve(a) => command::approve::run(a, &ui),
        Command::Undo(a) => command::undo::run(a, &ui),
        Command::Reconcile(a) => command::reconcile::run(a, &ui),
        Command::Promote(a) => command::promote::run(a, &ui),
        Command::Notify(a) => command::notify::run(a, &ui),
        Command::Generate(a) => command::generate::run(a, &ui),
        Command::Bench(a) => command::bench::run(a, &ui),
        Command::Sandbox(a) => command::sandbox::run(a, &ui),
        Command::Marks(a) => command::marks::run(a, &ui),
        Command::Serve(a) => command::serve::run(a, &ui),
        Command::Admin(c) => command::admin::run(c, &ui),
        Command::Config(c) => command::config::run(c, &ui),
        Command::Profile(c) => command::profile::run(c, &ui),
    };
    progress::report_peak_rss_if_asked();
    match result {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::Code::Error.into()
        }
    }
}
