//! `rosterbridge runs` and `rosterbridge runs show ID`: the history of runs.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;
use anyhow::Context;
use rosterbridge_state::{RunRecord, StateStore};

/// List past runs, newest first: command, outcome, start and end, changes applied and
/// rejected, and the files kept for audit. `runs show ID` prints one run in full: plan
/// summary, safety verdict (and the held plan's id), every rejected row with the SIS row it
/// came from, notes and archived files. The last successful run is marked.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// `show ID` for one run in full; nothing for the list.
    #[arg(value_name = "show ID")]
    pub what: Vec<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// How many runs to show.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print as JSON (an array of runs, or one run).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, _ui: &Ui) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else {
        return Ok(Code::Error);
    };
    let show = match args.what.as_slice() {
        [] => None,
        [cmd, id] if cmd == "show" => match id.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => anyhow::bail!("`runs show` takes a run id, not {id:?}"),
        },
        other => anyhow::bail!("unexpected arguments {other:?}: use `runs` or `runs show ID`"),
    };
    if !config.state_path.exists() {
        if show.is_some() {
            eprintln!(
                "error: no runs yet (no state at {})",
                config.state_path.display()
            );
            return Ok(Code::Error);
        }
        if args.json {
            println!("[]");
        } else {
            println!("no runs yet (no state at {})", config.state_path.display());
        }
        return Ok(Code::Ok);
    }
    let store = rosterbridge_engine::open_store(&config.state_path)
        .with_context(|| format!("opening state {}", config.state_path.display()))?;
    let last_ok = rosterbridge_engine::notify::last_success(&store)?.map(|r| r.id);
    if let Some(id) = show {
        let Some(r) = store.run(id)? else {
            eprintln!("error: there is no run {id}");
            return Ok(Code::Error);
        };
        return show_run(&config, &r, last_ok == Some(id), args.json).map(|_| Code::Ok);
    }
    let runs = store.runs(args.limit)?;
    if args.json {
        println!("{}", serde_json::to_string(&runs)?);
        return Ok(Code::Ok);
    }
    if runs.is_empty() {
        println!("no runs yet");
    }
    for r in &runs {
        let mark = if last_ok == Some(r.id) {
            "  (last successful)"
        } else {
            ""
        };
        println!("{}{mark}", super::status::describe_run(r));
        for a in &r.artifacts {
            println!("    {a}");
        }
    }
    Ok(Code::Ok)
}

/// Every rejected change of a run: from its archived `rejected.json` (all of them), else
/// the ones kept in the run record.
fn rejections(config: &rosterbridge_config::Config, r: &RunRecord) -> serde_json::Value {
    let path = rosterbridge_engine::archive_dir(config, r.id).join("rejected.json");
    std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| {
            r.summary
                .get("rejections")
                .cloned()
                .unwrap_or(serde_json::json!([]))
        })
}

fn show_run(
    config: &rosterbridge_config::Config,
    r: &RunRecord,
    last_ok: bool,
    json: bool,
) -> anyhow::Result<()> {
    let rejected = rejections(config, r);
    if json {
        let mut v = serde_json::to_value(r)?;
        if let Some(m) = v.as_object_mut() {
            m.insert("rejections".into(), rejected);
            m.insert("last_successful".into(), last_ok.into());
        }
        println!("{}", serde_json::to_string(&v)?);
        return Ok(());
    }
    println!(
        "run {}{}",
        r.id,
        if last_ok { " (last successful)" } else { "" }
    );
    println!("  command:     {}", r.command);
    println!("  profile:     {}", r.profile.as_deref().unwrap_or("-"));
    if let Some(env) = r.summary.get("environment").and_then(|v| v.as_str()) {
        println!("  environment: {env}");
    }
    println!("  started:     {}", r.started_at);
    println!("  ended:       {}", r.ended_at.as_deref().unwrap_or("-"));
    println!("  outcome:     {}", r.outcome.as_str());
    if let Some(m) = &r.message {
        println!("  message:     {m}");
    }
    if let Some(p) = r.summary.get("held_plan") {
        println!("  held plan:   {p} (approve with `rosterbridge approve {p}`)");
    }
    if let Some(u) = r.summary.get("undo_of") {
        println!("  undo of run: {u}");
    }
    if let Some(plan) = r.summary.get("plan").and_then(|p| p.as_object()) {
        println!("  plan:");
        for (kind, s) in plan {
            let n = |k: &str| s.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
            if ["create", "update", "reactivate", "deactivate", "delete"]
                .iter()
                .any(|k| n(k) > 0)
            {
                println!(
                    "    {kind:<15} +{} ~{} ^{} -{} x{} (unchanged {}, existing {})",
                    n("create"),
                    n("update"),
                    n("reactivate"),
                    n("deactivate"),
                    n("delete"),
                    n("unchanged"),
                    n("existing")
                );
            }
        }
    }
    for v in r
        .summary
        .get("safety")
        .and_then(|s| s.get("violations"))
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        let n = |k: &str| v.get(k).and_then(|x| x.as_f64()).unwrap_or(0.0);
        println!(
            "  held because: {} {} of {} removed ({:.1}% > {}%)",
            v.get("kind").and_then(|k| k.as_str()).unwrap_or("?"),
            n("removals"),
            n("existing"),
            n("percent"),
            n("limit_percent")
        );
    }
    if let Some(holds) = r
        .summary
        .get("safety")
        .and_then(|s| s.get("holds"))
        .and_then(|h| h.as_array())
    {
        for h in holds {
            println!(
                "  held because: {}",
                h.get("message").and_then(|m| m.as_str()).unwrap_or("")
            );
        }
    }
    for key in ["applied", "rejected"] {
        if let Some(n) = r.summary.get(key) {
            println!("  {key}: {n}");
        }
    }
    for j in rejected.as_array().into_iter().flatten() {
        let g = |k: &str| j.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let src = j
            .get("source")
            .and_then(|v| v.as_str())
            .map(|s| format!(" (SIS row {s})"))
            .unwrap_or_default();
        println!(
            "  rejected {} {} {}{src}: {}",
            g("action"),
            g("kind"),
            rosterbridge_plan::display(&g("key")),
            g("message")
        );
    }
    for n in r
        .summary
        .get("notes")
        .and_then(|n| n.as_array())
        .into_iter()
        .flatten()
    {
        println!("  note: {}", n.as_str().unwrap_or_default());
    }
    if !r.artifacts.is_empty() {
        println!("  files:");
        for a in &r.artifacts {
            println!("    {a}");
        }
    }
    Ok(())
}
