//! `rosterbridge plan`: what would change in Canvas, without changing anything.

use super::{open_store_readonly, ConfigArgs};
use crate::exit::Code;
use crate::progress::Ui;
use crate::report;
use anyhow::Context;
use rosterbridge_config::RowErrorPolicy;
use rosterbridge_plan::render;
use std::path::PathBuf;

/// Show what a sync would change in Canvas: a summary per kind and action, the first
/// changes of each kind with their reasons, and the safety verdict. Changes nothing.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print the whole plan as one JSON object (`summary`, `safety`, `diagnostics`, `changes`).
    #[arg(long)]
    pub json: bool,
    /// Also write the delta as Canvas SIS-import CSV: a folder, or a file ending in .zip.
    #[arg(long, value_name = "DIR|FILE.zip")]
    pub out: Option<PathBuf>,
    /// How many changes of each kind to list in the text view.
    #[arg(long, value_name = "N", default_value_t = render::LISTED_PER_KIND)]
    pub changes: usize,
}

pub fn run(args: Args, ui: &Ui) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else {
        return Ok(Code::Error);
    };
    if let Some(message) = super::idle(&config)? {
        super::print_idle(&message, args.json);
        return Ok(Code::Ok);
    }
    let store = open_store_readonly(&config)?;
    let prepared = super::prepare(&config, store.as_ref(), ui)?;
    if let Some(out) = &args.out {
        let written = if out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
        {
            rosterbridge_canvas::csv::write_zip_file(&prepared.plan, out)
        } else {
            rosterbridge_canvas::csv::write_folder(&prepared.plan, out)
        }
        .with_context(|| format!("writing Canvas CSV to {}", out.display()))?;
        ui.note(&format!(
            "wrote {} row(s) of Canvas CSV to {}",
            written.rows(),
            out.display()
        ));
    }
    let blackout = rosterbridge_engine::ops::blackout(&config, rosterbridge_engine::ops::today())
        .map(|w| format!("{}..{}", w.start, w.end));
    if args.json {
        let mut v = render::json(&prepared.plan, &prepared.diagnostics);
        if let Some(m) = v.as_object_mut() {
            m.insert("environment".into(), config.environment.as_str().into());
            m.insert("canvas".into(), config.canvas.url.clone().into());
            m.insert("blackout".into(), serde_json::json!(blackout));
        }
        println!("{}", serde_json::to_string(&v)?);
    } else {
        report::print_diagnostics(&prepared.diagnostics);
        println!("{}", super::target_line(&config));
        if let Some(w) = &blackout {
            println!("today is in the blackout window {w}: sync and apply will not run");
        }
        print!("{}", render::text(&prepared.plan, args.changes));
    }
    let (errors, _) = report::counts(&prepared.diagnostics);
    let code = if errors > 0 && config.source.on_row_error == RowErrorPolicy::Fail {
        eprintln!("error: {errors} row error(s): `apply` will refuse this source until they are fixed (or [source] on_row_error = \"skip\")");
        Code::Error
    } else if prepared.plan.safety.held {
        Code::Held
    } else {
        Code::Ok
    };
    super::leave_to_exit(prepared);
    Ok(code)
}
