//! `rosterbridge status`: what was applied, what is pending, how the last run ended.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;
use anyhow::Context;
use rosterbridge_model::kind::Kind;
use rosterbridge_state::{RunRecord, StateStore};

/// Show what the state store says was applied to Canvas (objects per kind, active and
/// not), the rows Canvas rejected in the last run (still pending), and the last run.
/// Reads only the state file; run `rosterbridge plan` to see everything a sync would send.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, _ui: &Ui) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else {
        return Ok(Code::Error);
    };
    if !config.state_path.exists() {
        println!(
            "no state yet at {}: nothing has been applied (run `rosterbridge sync`)",
            config.state_path.display()
        );
        return Ok(Code::Ok);
    }
    let store = rosterbridge_engine::open_store(&config.state_path)
        .with_context(|| format!("opening state {}", config.state_path.display()))?;
    let snapshot = store.snapshot()?;
    let mut per_kind: Vec<(Kind, usize, usize)> = Kind::ALL.iter().map(|k| (*k, 0, 0)).collect();
    for e in snapshot.values() {
        if let Some(row) = per_kind.iter_mut().find(|(k, _, _)| *k == e.kind) {
            if e.status.is_active() {
                row.1 += 1;
            } else {
                row.2 += 1;
            }
        }
    }
    let runs = store.runs(20)?;
    let last = runs.first();
    // "Last synchronized": the newest sync/apply/approve that succeeded or found nothing to do.
    let last_ok = rosterbridge_engine::notify::last_success(&store)?;
    // And per execution profile (what the UI shows next to each profile).
    let mut per_profile = Vec::with_capacity(config.profiles.len());
    for p in &config.profiles {
        per_profile.push((
            p.name.as_str(),
            rosterbridge_engine::notify::last_success_of(&store, Some(&p.name))?,
        ));
    }
    // The newest run that reached Canvas tells what is still pending.
    let last_apply = runs
        .iter()
        .find(|r| r.command != "plan" && r.summary.get("rejected").is_some());
    if args.json {
        let kinds: serde_json::Map<String, serde_json::Value> = per_kind
            .iter()
            .map(|(k, a, i)| {
                (
                    k.as_str().to_string(),
                    serde_json::json!({"active": a, "inactive": i}),
                )
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({
                "state": config.state_path,
                "state_version": snapshot.version,
                "applied": kinds,
                "pending": last_apply.map(|r| serde_json::json!({"run": r.id, "rejected": r.summary.get("rejected"), "rejections": r.summary.get("rejections")})),
                "last_run": last,
                "last_successful_run": last_ok,
                "profiles": per_profile.iter().map(|(name, r)| serde_json::json!({"name": name, "last_successful_run": r})).collect::<Vec<_>>(),
                "environment": config.environment.as_str(),
            }))?
        );
        return Ok(Code::Ok);
    }
    println!(
        "state {} (version {})",
        config.state_path.display(),
        snapshot.version
    );
    println!("\n{:<16} {:>10} {:>10}", "applied", "active", "inactive");
    for (k, a, i) in &per_kind {
        println!("{:<16} {:>10} {:>10}", k.as_str(), a, i);
    }
    match last_apply.filter(|r| {
        r.summary
            .get("rejected")
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
            > 0
    }) {
        Some(r) => {
            let rejected = r
                .summary
                .get("rejected")
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            println!("\npending: {rejected} change(s) rejected by Canvas in run {} (sent again by the next sync)", r.id);
            for x in r
                .summary
                .get("rejections")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .take(20)
            {
                println!(
                    "  {} {} {}: {}",
                    x.get("action").and_then(|v| v.as_str()).unwrap_or("?"),
                    x.get("kind").and_then(|v| v.as_str()).unwrap_or("?"),
                    rosterbridge_plan::display(
                        x.get("key").and_then(|v| v.as_str()).unwrap_or("?")
                    ),
                    x.get("message").and_then(|v| v.as_str()).unwrap_or("")
                );
            }
        }
        None => println!("\npending: nothing rejected"),
    }
    match last {
        Some(r) => println!("\nlast run: {}", describe_run(r)),
        None => println!("\nno runs yet"),
    }
    match &last_ok {
        Some(r) => println!(
            "last synchronized: run {} at {}",
            r.id,
            r.ended_at.as_deref().unwrap_or(&r.started_at)
        ),
        None => println!("last synchronized: never"),
    }
    for (name, r) in &per_profile {
        match r {
            Some(r) => println!(
                "  profile {name}: run {} at {}",
                r.id,
                r.ended_at.as_deref().unwrap_or(&r.started_at)
            ),
            None => println!("  profile {name}: never"),
        }
    }
    Ok(Code::Ok)
}

/// One line per run: id, command, outcome, when, counts.
pub fn describe_run(r: &RunRecord) -> String {
    let n = |key: &str| r.summary.get(key).and_then(|v| v.as_u64());
    let counts = match (n("applied"), n("sent"), n("rejected")) {
        (Some(a), _, Some(j)) => format!(", {a} applied, {j} rejected"),
        // `marks push` runs: marks sent to the SIS, exported to files, refused.
        (None, Some(s), Some(j)) => format!(
            ", {s} mark(s) sent, {} exported, {j} rejected",
            n("exported").unwrap_or(0)
        ),
        _ => String::new(),
    };
    let msg = r
        .message
        .as_deref()
        .map(|m| format!(" — {m}"))
        .unwrap_or_default();
    format!(
        "#{} {} {} at {}{}{}",
        r.id,
        r.command,
        r.outcome.as_str(),
        r.started_at,
        counts,
        msg
    )
}
