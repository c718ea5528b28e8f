//! `rosterbridge approve PLAN_ID`: apply exactly one held plan, once.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;
use anyhow::Context;
use rosterbridge_engine::ApplyOptions;

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
    let approved = match rosterbridge_engine::approve::check(&config, &mut store, args.plan_id, ui)
    {
        Ok(a) => a,
        Err(e @ rosterbridge_engine::EngineError::Approval(_)) => {
            eprintln!("error: {e}");
            return Ok(Code::Error);
        }
        Err(e) => return Err(e.into()),
    };
    let (prepared, fingerprint) = (approved.prepared, approved.fingerprint);
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
    if let Some(run) = rosterbridge_engine::approve::mark_used(&mut store, args.plan_id)? {
        if !args.json {
            println!("approved plan {} applied as run {run}", args.plan_id);
        }
    }
    Ok(code)
}
