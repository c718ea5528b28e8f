//! `rosterbridge profile`: list execution profiles, copy one with a new name and window.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;
use crate::report;
use anyhow::Context;
use chrono::NaiveDate;
use rosterbridge_config::Config;
use rosterbridge_state::StateStore;

/// Execution profiles (sync periods).
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List the profiles: window, academic period, course template, whether enabled, which
    /// is active today, and when each last ran and how that run ended.
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Copy a profile under a new name and window, appended to the configuration file (its
    /// comments are kept). The result is validated first: an overlap with an enabled
    /// profile is refused and nothing is written.
    Copy {
        #[command(flatten)]
        config: ConfigArgs,
        /// The profile to copy.
        from: String,
        /// The new profile's name.
        #[arg(long)]
        name: String,
        /// First day of the new window (YYYY-MM-DD).
        #[arg(long)]
        start: NaiveDate,
        /// Last day of the new window (YYYY-MM-DD).
        #[arg(long)]
        end: NaiveDate,
        /// The new profile's academic period (default: the copied one's).
        #[arg(long, value_name = "SOURCED_ID")]
        academic_period: Option<String>,
        /// Write the copy disabled (enabled = false).
        #[arg(long)]
        disabled: bool,
    },
}

pub fn run(command: Command, _ui: &Ui) -> anyhow::Result<Code> {
    match command {
        Command::List { config } => list(config),
        Command::Copy {
            config,
            from,
            name,
            start,
            end,
            academic_period,
            disabled,
        } => {
            let Some(c) = config.load()? else {
                return Ok(Code::Error);
            };
            let Some(source) = c.profiles.iter().find(|p| p.name == from) else {
                let known: Vec<&str> = c.profiles.iter().map(|p| p.name.as_str()).collect();
                eprintln!(
                    "error: no profile is named {from:?}; the configuration has: {}",
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                );
                return Ok(Code::Error);
            };
            let (mut copy, dropped) = source.copy_as(&name, start, end);
            copy.enabled = !disabled;
            if academic_period.is_some() {
                copy.academic_period = academic_period;
            }
            let text = std::fs::read_to_string(&config.config)
                .with_context(|| format!("reading {}", config.config.display()))?;
            let mut new_text = text.clone();
            if !new_text.ends_with('\n') {
                new_text.push('\n');
            }
            new_text.push('\n');
            new_text.push_str(&copy.to_toml());
            if let Err(e) = Config::parse(&new_text, &config.config) {
                report::print_diagnostics(&e.diagnostics());
                eprintln!(
                    "error: the copy would make the configuration invalid; nothing was written"
                );
                return Ok(Code::Error);
            }
            std::fs::write(&config.config, new_text)
                .with_context(|| format!("writing {}", config.config.display()))?;
            println!(
                "copied profile {from:?} to {:?} ({}..{}) in {}",
                copy.name,
                copy.start,
                copy.end,
                config.config.display()
            );
            for w in &dropped {
                println!("  not copied: rollover window {w} (outside the new profile's window)");
            }
            Ok(Code::Ok)
        }
    }
}

fn list(args: ConfigArgs) -> anyhow::Result<Code> {
    let Some(config) = args.load()? else {
        return Ok(Code::Error);
    };
    if config.profiles.is_empty() {
        println!("no profiles configured: every run maps the whole roster with the defaults");
        return Ok(Code::Ok);
    }
    let runs = if config.state_path.exists() {
        let store = rosterbridge_engine::open_store(&config.state_path)
            .with_context(|| format!("opening state {}", config.state_path.display()))?;
        store.runs(1000)?
    } else {
        Vec::new()
    };
    let today = rosterbridge_engine::today();
    let active = rosterbridge_config::choose_profile(&config.profiles, today, None).ok();
    for p in &config.profiles {
        let is_active = matches!(&active, Some(rosterbridge_config::ProfileChoice::Active(a)) if a.name == p.name);
        let last = runs
            .iter()
            .find(|r| r.profile.as_deref() == Some(p.name.as_str()));
        println!(
            "{}{} {}..{} period {} template {}{}; last run: {}",
            if is_active { "* " } else { "  " },
            p.name,
            p.start,
            p.end,
            p.academic_period.as_deref().unwrap_or("(all)"),
            p.course_template.as_str(),
            if p.enabled { "" } else { " (disabled)" },
            last.map(super::status::describe_run)
                .unwrap_or_else(|| "never".into())
        );
    }
    Ok(Code::Ok)
}
