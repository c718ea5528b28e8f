//! `rosterbridge sync`: plan, check the safety gates, apply to Canvas, report.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;

/// Read the source, plan the change against what was applied before, check the safety
/// thresholds, send the delta to Canvas (`[canvas] mode`: SIS import by default, or REST),
/// record what Canvas accepted, and report. Rejected rows stay pending for the next run.
/// The zip sent and Canvas's answers are kept beside the state file for audit.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub flags: super::apply::ApplyFlags,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else {
        return Ok(Code::Error);
    };
    if let Some(message) = super::idle(&config)? {
        super::print_idle(&message, args.flags.json);
        return Ok(Code::Ok);
    }
    if let Some(code) = super::apply::refused_in_blackout(&config) {
        return Ok(code);
    }
    super::check_roles(&config, args.flags.json)?;
    let mut sink = rosterbridge_engine::canvas_sink(&config)?;
    super::apply::apply_and_report(&config, sink.as_mut(), "sync", &args.flags, ui)
}
