//! `rosterbridge approve PLAN_ID`: apply exactly one held plan, once.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;
use anyhow::Context;
use rosterbridge_engine::ApplyOptions;
use rosterbridge_state::{HeldStatus, StateStore};

/// Apply a plan the safety checks held. The source is read and planned again; the plan
/// is applied only if it is exactly the held one (same changes, same state version), and
/// an approval is used once. A different plan (the export changed, another run applied in
/// between) is refused: run `sync` again to see and hold the new one.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The held plan's id, as `sync` printed it (also in `rosterbridge runs show`).
    pub plan_id: i64,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Where the changes go (as for `apply`).
    #[arg(long, value_enum, default_value = "canvas")]
    pub sink: super::apply::Sink,
    /// Folder for the folder sink's zip.
    #[arg(long, value_name = "DIR", required_if_eq("sink", "folder"))]
    pub out: Option<std::path::PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else {
        return Ok(Code::Error);
    };
    if let Some(code) = super::apply::refused_in_blackout(&config) {
        return Ok(code);
    }
    let mut store = rosterbridge_engine::open_store(&config.state_path)
        .with_context(|| format!("opening state {}", config.state_path.display()))?;
    let Some(held) = store.held_plan(args.plan_id)? else {
        eprintln!("error: there is no held plan {}", args.plan_id);
        return Ok(Code::Error);
    };
    match held.status {
        HeldStatus::Held => {}
        HeldStatus::Applied => {
            eprintln!("error: plan {} was already approved and applied (run {}); an approval is used once", held.id, held.applied_run.map(|r| r.to_string()).unwrap_or_default());
            return Ok(Code::Error);
        }
        HeldStatus::Superseded => {
            eprintln!("error: plan {} was superseded by a later held plan or run; run `rosterbridge sync` to see the current plan", held.id);
            return Ok(Code::Error);
        }
    }
    let prepared = super::prepare(&config, &store, ui)?;
    let fingerprint = rosterbridge_plan::safety::fingerprint(&prepared.plan);
    if format!("{fingerprint:016x}") != held.fingerprint
        || prepared.plan.base_version != held.base_version
    {
        store.set_held_plan_status(held.id, HeldStatus::Superseded, None)?;
        eprintln!(
            "error: the plan made now is not plan {} (the export or the state changed since it was held); nothing was applied. Run `rosterbridge sync` to see, and hold, the current plan",
            held.id
        );
        return Ok(Code::Error);
    }
    let mut sink: Box<dyn rosterbridge_sink::Sink> = match (args.sink, &args.out) {
        (super::apply::Sink::Folder, Some(out)) => {
            Box::new(rosterbridge_sink::folder::FolderSink {
                out_dir: out.clone(),
            })
        }
        (super::apply::Sink::Folder, None) => anyhow::bail!("--sink folder needs --out DIR"),
        (super::apply::Sink::Canvas, _) => rosterbridge_engine::canvas_sink(&config)?,
    };
    let code = super::apply::apply_prepared(
        &config,
        &mut store,
        &prepared,
        sink.as_mut(),
        "approve",
        ApplyOptions {
            allow_removals: false,
            approved: Some(fingerprint),
        },
        args.json,
        ui,
    )?;
    if let Some(run) = store.runs(1)?.first().filter(|r| r.command == "approve") {
        if matches!(
            run.outcome,
            rosterbridge_state::RunOutcome::Succeeded
                | rosterbridge_state::RunOutcome::PartialFailure
                | rosterbridge_state::RunOutcome::NoChanges
        ) {
            store.set_held_plan_status(held.id, HeldStatus::Applied, Some(run.id))?;
            if !args.json {
                println!("approved plan {} applied as run {}", held.id, run.id);
            }
        }
    }
    Ok(code)
}
