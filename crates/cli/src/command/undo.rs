//! `rosterbridge undo RUN_ID`: reverse what one run changed.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;
use anyhow::Context;

/// Reverse what a run changed in Canvas, and make the state store follow. A SIS-import run
/// is reverted through Canvas's restore_states (created objects deleted, removals back);
/// field updates are sent back as a SIS import of the previous rows. A REST run is
/// reversed call by call. Only the latest run that changed Canvas can be undone (unless
/// --force), and each run once. The next `sync` plans the source again: hold or fix the
/// export first if it was the cause.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run to undo (see `rosterbridge runs`).
    pub run_id: i64,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Undo although later runs changed Canvas too.
    #[arg(long)]
    pub force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else {
        return Ok(Code::Error);
    };
    let mut store = rosterbridge_engine::open_store(&config.state_path)
        .with_context(|| format!("opening state {}", config.state_path.display()))?;
    let target = rosterbridge_state::StateStore::run(&store, args.run_id)?;
    let folder = target
        .as_ref()
        .and_then(|r| r.summary.get("sink"))
        .and_then(|s| s.as_str())
        == Some("folder");
    let mut sink: Box<dyn rosterbridge_sink::Sink> = if folder {
        Box::new(rosterbridge_sink::folder::FolderSink {
            out_dir: rosterbridge_engine::archive_dir(&config, args.run_id).join("undo"),
        })
    } else {
        rosterbridge_engine::canvas_sink(&config)?
    };
    match rosterbridge_engine::undo::undo(
        &config,
        &mut store,
        args.run_id,
        args.force,
        sink.as_mut(),
        ui,
    ) {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "run {}: undid run {} ({}): {} change(s) reverted, {} rejected",
                    report.run, report.undid, report.how, report.reverted, report.rejected
                );
                for n in &report.notes {
                    println!("  note: {n}");
                }
            }
            Ok(if report.rejected > 0 {
                Code::PartialFailure
            } else {
                Code::Ok
            })
        }
        Err(
            e @ (rosterbridge_engine::EngineError::Refused(_)
            | rosterbridge_engine::EngineError::Lock(_)),
        ) => {
            eprintln!("error: {e}");
            Ok(Code::Error)
        }
        Err(e) => Err(e.into()),
    }
}
