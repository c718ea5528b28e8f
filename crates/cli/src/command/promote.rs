//! `rosterbridge promote`: from the test Canvas to production.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;
use rosterbridge_config::Environment;

/// Switch this configuration from the test Canvas (`[canvas]`) to production
/// (`[canvas.production]`): later plans and syncs target production, with a state of
/// their own. Refused unless the last test run succeeded (or --force). `--demote` goes
/// back to test.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Promote even though the test environment has no successful run.
    #[arg(long)]
    pub force: bool,
    /// Go back to the test Canvas.
    #[arg(long)]
    pub demote: bool,
}

pub fn run(args: Args, _ui: &Ui) -> anyhow::Result<Code> {
    let Some(config) = args.config.load()? else {
        return Ok(Code::Error);
    };
    let marker = config.promotion_marker();
    if config.production.is_none() {
        eprintln!("error: the configuration names no production Canvas; add [canvas.production] (url, account_id, token_env)");
        return Ok(Code::Error);
    }
    if args.demote {
        if marker.exists() {
            std::fs::remove_file(&marker)?;
        }
        println!("target: TEST Canvas (promote again with `rosterbridge promote`)");
        return Ok(Code::Ok);
    }
    if config.environment == Environment::Production {
        println!(
            "already promoted: target is PRODUCTION Canvas {}",
            config.canvas.url
        );
        return Ok(Code::Ok);
    }
    let last_ok = if config.state_path.exists() {
        let store = rosterbridge_engine::open_store(&config.state_path)?;
        rosterbridge_engine::notify::last_success(&store)?
    } else {
        None
    };
    if last_ok.is_none() && !args.force {
        eprintln!("error: the test Canvas ({}) has no successful sync yet; run `rosterbridge sync` against it first, or pass --force", config.canvas.url);
        return Ok(Code::Error);
    }
    std::fs::write(&marker, format!("promoted {}\n", chrono_now()))?;
    let promoted = args
        .config
        .load()?
        .map(|c| (c.canvas.url.clone(), c.state_path.clone()));
    if let Some((url, state)) = promoted {
        println!(
            "promoted: target is now PRODUCTION Canvas {url} (state {})",
            state.display()
        );
    }
    Ok(Code::Ok)
}

fn chrono_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("at unix time {secs}")
}
