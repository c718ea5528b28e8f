//! `rosterbridge notify`: stale check, daily summary and a test message, for cron.

use super::ConfigArgs;
use crate::exit::Code;
use crate::progress::Ui;
use anyhow::Context;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// Notify if no run succeeded for [notify] stale_after_hours (once per stale period).
    Check,
    /// Send the summary of the last 24 hours now.
    Summary,
    /// Send a test message to every configured channel.
    Test,
}

/// Send notifications outside a run: `check` (run it from cron or a monitor: it alerts
/// when no run succeeded for [notify] stale_after_hours, even when runs stopped entirely),
/// `summary` and `test`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_enum)]
    pub what: What,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(args: Args, _ui: &Ui) -> anyhow::Result<Code> {
    use rosterbridge_engine::notify;
    let Some(config) = args.config.load()? else {
        return Ok(Code::Error);
    };
    if !config.notify.enabled() {
        eprintln!("error: no [notify] webhook_url or [notify.smtp] is configured");
        return Ok(Code::Error);
    }
    let mut store = rosterbridge_engine::open_store(&config.state_path)
        .with_context(|| format!("opening state {}", config.state_path.display()))?;
    let now = chrono_utc_now();
    let message = match args.what {
        What::Check => notify::stale_check(&config, &mut store, now)?,
        What::Summary => Some(notify::summary(&store, now)?),
        What::Test => Some(notify::Message {
            event: "test".into(),
            subject: "rosterbridge: test notification".into(),
            text: "This is a test notification from rosterbridge.".into(),
            detail: serde_json::json!({}),
        }),
    };
    let Some(message) = message else {
        println!("nothing to notify");
        return Ok(Code::Ok);
    };
    let problems = notify::send(&config, &message);
    for p in &problems {
        eprintln!("error: not delivered: {p}");
    }
    if problems.is_empty() {
        println!("sent: {}", message.subject);
        Ok(Code::Ok)
    } else {
        Ok(Code::Error)
    }
}

fn chrono_utc_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
