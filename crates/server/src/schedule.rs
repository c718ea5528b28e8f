//! The schedule: each enabled profile runs when its `schedule` (cron, UTC) comes due and
//! today is inside its window. A profile still running when it comes due again is skipped
//! (never two runs of one profile). Fire times are computed from the wall clock each
//! second, from the configuration as it is now, so a restart simply resumes the schedule;
//! a time missed while the server was down is not made up (the next one runs).

use crate::runner::{Runner, TriggerError};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// The profiles due in `(after, now]`: enabled, inside their window today, schedule firing.
pub fn due(
    config: &rosterbridge_config::Config,
    after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<String> {
    config
        .profiles
        .iter()
        .filter(|p| p.enabled && p.contains(now.date_naive()))
        .filter(|p| {
            rosterbridge_config::profiles::parse_schedule(&p.schedule)
                .ok()
                .and_then(|cron| cron.find_next_occurrence(&after, false).ok())
                .is_some_and(|next| next <= now)
        })
        .map(|p| p.name.clone())
        .collect()
}

pub async fn run(runner: Arc<Runner>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut last = Utc::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now = Utc::now();
        let config = match runner.load(None) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("schedule: {e}; no scheduled run until the configuration validates");
                last = now;
                continue;
            }
        };
        for name in due(&config, last, now) {
            match runner.start(Some(name.clone())) {
                Ok(_) => eprintln!("schedule: started a run of profile {name}"),
                Err(TriggerError::Busy(_)) => eprintln!(
                    "schedule: profile {name} is due but its previous run is still going; skipped"
                ),
                Err(e) => eprintln!("schedule: profile {name}: {e}"),
            }
        }
        last = now;
    }
}
