//! `rosterbridge marks`: final grades from Canvas back to the SIS (issue 9).
//!
//! `marks plan` shows what would be written and flags what deserves a look; `marks push`
//! writes it (to the OneRoster provider's gradebook, or as lineItems/results CSV) and records
//! every transfer in the run history; `marks log` lists the transfers.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;
use anyhow::Context;
use rosterbridge_engine::marks::{prepare_marks, push_marks, PreparedMarks, PushTarget};
use rosterbridge_state::MarksStore;
use std::path::PathBuf;

/// Marks passback: Canvas final grades back to the SIS, as numeric scores or literal marks
/// (configured in [marks]).
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: MarksCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum MarksCommand {
    Plan(PlanArgs),
    Push(PushArgs),
    Log(LogArgs),
}

/// Show the marks a push would write, per class and student, with where each value came
/// from (override, final, current) and flags: no grade, current and final disagree, a score
/// outside the scale, no letter grade, an enrollment not from the SIS. Changes nothing.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print the plan as one JSON object (`summary`, `line_items`, `marks`, `target`).
    #[arg(long)]
    pub json: bool,
}

/// Write the marks: to the OneRoster provider's gradebook (a line item per class and mark
/// period, a result per student, PUT to fixed sourcedIds so a rerun updates), or with --out
/// (or [marks] target = "csv") as lineItems.csv/results.csv. Every transfer is recorded.
#[derive(clap::Args, Debug)]
pub struct PushArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Write a OneRoster CSV package (manifest, categories, lineItems, results) into DIR
    /// instead of the configured target.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Send unchanged marks again too.
    #[arg(long)]
    pub all: bool,
    /// Print the report as JSON (`run`, `outcome`, counts and `transfers`).
    #[arg(long)]
    pub json: bool,
}

/// List recorded mark transfers: who, what value, when, where to, and how it went.
#[derive(clap::Args, Debug)]
pub struct LogArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Only this run's transfers.
    #[arg(long, value_name = "ID")]
    pub run: Option<i64>,
    /// How many transfers to show.
    #[arg(long, default_value_t = 200)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<Code> {
    match args.command {
        MarksCommand::Plan(a) => plan(a, ui),
        MarksCommand::Push(a) => push(a, ui),
        MarksCommand::Log(a) => log(a),
    }
}

fn open(
    config: &rosterbridge_config::Config,
) -> anyhow::Result<rosterbridge_state_sqlite::SqliteStore> {
    if !config.state_path.exists() {
        anyhow::bail!("no state at {}: marks are read for the classes rosterbridge synced, so run `rosterbridge sync` first", config.state_path.display());
    }
    rosterbridge_engine::open_store(&config.state_path)
        .with_context(|| format!("opening state {}", config.state_path.display()))
}

fn target_text(t: &PushTarget) -> String {
    match t {
        PushTarget::OneRoster { base_url } => format!("the OneRoster gradebook at {base_url}"),
        PushTarget::Csv { dir } => format!("OneRoster CSV files in {}", dir.display()),
    }
}

fn prepare(
    config: &rosterbridge_config::Config,
    store: &rosterbridge_state_sqlite::SqliteStore,
    out: Option<PathBuf>,
    ui: &Ui,
) -> anyhow::Result<PreparedMarks> {
    let client = rosterbridge_engine::canvas_client(config)?;
    ui.note("reading grades from Canvas");
    let prepared = prepare_marks(config, store, &client, out)?;
    for class in &prepared.missing_classes {
        eprintln!(
            "warning: class {class} is in the state but not in Canvas (404); no marks read for it"
        );
    }
    Ok(prepared)
}

fn plan(args: PlanArgs, ui: &Ui) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else {
        return Ok(Code::Error);
    };
    let store = open(&config)?;
    let prepared = prepare(&config, &store, None, ui)?;
    if args.json {
        let mut v = serde_json::to_value(&prepared.plan)?;
        v["target"] = serde_json::json!(prepared.target.label());
        v["missing_classes"] = serde_json::json!(prepared.missing_classes);
        println!("{}", serde_json::to_string(&v)?);
    } else {
        print!("{}", rosterbridge_marks::render_text(&prepared.plan));
        println!("\ntarget: {}", target_text(&prepared.target));
    }
    Ok(Code::Ok)
}

fn push(args: PushArgs, ui: &Ui) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else {
        return Ok(Code::Error);
    };
    let mut store = open(&config)?;
    let prepared = prepare(&config, &store, args.out.clone(), ui)?;
    let report = push_marks(&config, &mut store, &prepared, args.all)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({
                "run": report.run,
                "outcome": report.outcome.as_str(),
                "target": prepared.target.label(),
                "sent": report.sent,
                "rejected": report.rejected,
                "exported": report.exported,
                "unchanged": prepared.plan.summary.unchanged,
                "skipped": prepared.plan.summary.skip,
                "transfers": report.transfers,
            }))?
        );
    } else {
        println!(
            "marks push (run {}): {} sent, {} exported, {} rejected, {} unchanged, {} skipped -> {}",
            report.run,
            report.sent,
            report.exported,
            report.rejected,
            prepared.plan.summary.unchanged,
            prepared.plan.summary.skip,
            target_text(&prepared.target)
        );
        for t in report.transfers.iter().filter(|t| t.outcome == "rejected") {
            println!(
                "  rejected {} in {}: {}",
                t.student,
                t.class,
                t.message.as_deref().unwrap_or("")
            );
        }
    }
    Ok(if report.rejected > 0 {
        Code::PartialFailure
    } else {
        Code::Ok
    })
}

fn log(args: LogArgs) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else {
        return Ok(Code::Error);
    };
    if !config.state_path.exists() {
        println!("{}", if args.json { "[]" } else { "no marks sent yet" });
        return Ok(Code::Ok);
    }
    let store = open(&config)?;
    let transfers = store.mark_transfers(args.run, args.limit)?;
    if args.json {
        println!("{}", serde_json::to_string(&transfers)?);
        return Ok(Code::Ok);
    }
    if transfers.is_empty() {
        println!("no marks sent yet");
    }
    for t in &transfers {
        println!(
            "run {} {} {:<8} class {} student {} value {}{} -> {}{}",
            t.run,
            t.at,
            t.outcome,
            t.class,
            t.student,
            t.value,
            t.source
                .as_deref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default(),
            t.target,
            t.message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        );
    }
    Ok(Code::Ok)
}
