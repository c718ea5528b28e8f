//! `rosterbridge reconcile`: drift between the state store and Canvas.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;
use anyhow::Context;
use rosterbridge_engine::reconcile::Mode;

/// Read what Canvas holds for the objects rosterbridge manages (users, courses, sections,
/// enrollments, observer links) through the API, and report drift: deleted or concluded in
/// Canvas, fields edited in the UI (sticky). --repair writes Canvas's values into the state
/// so that the next plan shows, and sync sends, the repair; --remaster rebuilds the state
/// from Canvas (e.g. after losing it), adopting what the source has and Canvas holds.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Record the drift in the state so the next plan repairs it.
    #[arg(long, conflicts_with = "remaster")]
    pub repair: bool,
    /// Rebuild the state store from Canvas.
    #[arg(long)]
    pub remaster: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, _ui: &Ui) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else {
        return Ok(Code::Error);
    };
    let mut store = rosterbridge_engine::open_store(&config.state_path)
        .with_context(|| format!("opening state {}", config.state_path.display()))?;
    let mode = if args.remaster {
        Mode::Remaster
    } else if args.repair {
        Mode::Repair
    } else {
        Mode::Report
    };
    let prepared = if mode == Mode::Remaster {
        Some(super::prepare(&config, &store, _ui)?)
    } else {
        None
    };
    let report = rosterbridge_engine::reconcile::reconcile(
        &config,
        &mut store,
        mode,
        prepared.as_ref().map(|p| &p.plan.desired),
    )?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", super::target_line(&config));
        let mut checked: Vec<_> = report.checked.iter().collect();
        checked.sort();
        println!(
            "checked: {}",
            checked
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if report.drift.is_empty() {
            println!("no drift: Canvas holds what the state says was applied");
        }
        for d in &report.drift {
            let field = d
                .field
                .as_deref()
                .map(|f| format!(" {f}"))
                .unwrap_or_default();
            let sticky = if d.sticky { " [sticky]" } else { "" };
            println!(
                "  {} {} {}{field}: ours {:?}, Canvas {:?}{sticky}",
                d.kind,
                rosterbridge_plan::display(&d.key),
                d.what,
                d.ours,
                d.canvas
            );
        }
        for n in &report.notes {
            println!("  note: {n}");
        }
        match report.run {
            Some(run) => println!("run {run}: {} record(s) written ({} adopted); `rosterbridge plan` shows the repair", report.written, report.adopted),
            None if !report.drift.is_empty() => println!("run with --repair to plan the repair, or --remaster to rebuild the state from Canvas"),
            None => {}
        }
    }
    Ok(Code::Ok)
}
