//! `rosterbridge validate`: checks the configuration and the source without changing anything.

use super::{open_store_readonly, ConfigArgs};
use crate::exit::Code;
use crate::progress::Ui;
use crate::report;

/// Check the configuration and the source; report every problem with its file, line and column.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
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
    // "Verify connectivity": for a network source, the provider's own counts first, so a
    // wrong credential is reported before the whole roster is pulled.
    let collections = rosterbridge_engine::source::check_source(&config).map_err(|e| {
        if let rosterbridge_engine::EngineError::Network(n) = &e {
            report::print_diagnostics(&[n.to_diagnostic()]);
        }
        anyhow::Error::from(e)
    })?;
    if !args.json {
        for (name, count) in &collections {
            match count {
                Some(n) => println!("  {name}: {n}"),
                None => println!("  {name}"),
            }
        }
    }
    let prepared = super::prepare(&config, store.as_ref(), ui)?;
    let (mut errors, warnings) = report::counts(&prepared.diagnostics);
    // Custom roles: checked against Canvas when a token is at hand.
    let custom = config.mapping.enrollments.custom_roles();
    let token = std::env::var(&config.canvas.token_env)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let roles = match (custom.is_empty(), token) {
        (true, _) => serde_json::json!(null),
        (false, None) => {
            if !args.json {
                println!(
                    "custom roles {} not checked: no Canvas token in {}",
                    custom.join(", "),
                    config.canvas.token_env
                );
            }
            serde_json::json!({"checked": false, "names": custom})
        }
        (false, Some(_)) => match rosterbridge_engine::canvas_preflight(&config) {
            Ok(found) => {
                if !args.json {
                    for r in &found {
                        println!(
                            "custom role {:?}: role_id {} ({})",
                            r.name, r.role_id, r.base_role_type
                        );
                    }
                }
                serde_json::json!({"checked": true, "resolved": found})
            }
            Err(e) => {
                errors += 1;
                if !args.json {
                    eprintln!("error: {e}");
                }
                serde_json::json!({"checked": true, "error": e.to_string()})
            }
        },
    };
    if args.json {
        let out = serde_json::json!({
            "valid": errors == 0,
            "version": prepared.version,
            "tables": prepared.tables.iter().map(|t| serde_json::json!({"file": t.file, "mode": format!("{:?}", t.mode).to_lowercase(), "rows": t.rows})).collect::<Vec<_>>(),
            "roster": prepared.roster,
            "source": rosterbridge_engine::source::describe_source(&config),
            "collections": collections.iter().map(|(name, count)| serde_json::json!({"name": name, "count": count})).collect::<Vec<_>>(),
            "diagnostics": prepared.diagnostics,
            "profile": prepared.profile,
            "custom_roles": roles,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        report::print_diagnostics(&prepared.diagnostics);
        if let Some(p) = &prepared.profile {
            println!("profile: {p}");
        }
        let r = prepared.roster;
        println!(
            "configuration ok; source {} (OneRoster {}): {} orgs, {} sessions, {} courses, {} classes, {} users, {} enrollments",
            rosterbridge_engine::source::describe_source(&config),
            match prepared.version { rosterbridge_model::roster::OneRosterVersion::V1_1 => "1.1", rosterbridge_model::roster::OneRosterVersion::V1_2 => "1.2" },
            r.orgs, r.sessions, r.courses, r.classes, r.users, r.enrollments
        );
        println!("{errors} error(s), {warnings} warning(s)");
    }
    Ok(if errors > 0 { Code::Error } else { Code::Ok })
}
