//! Notifications: a JSON POST to `[notify] webhook_url` and/or a mail through
//! `[notify.smtp]`, on a held run, a failed or partly failed run, no successful run for
//! `stale_after_hours`, and (optionally) a daily summary.
//!
//! A notification that cannot be delivered never fails the run: the problems are
//! returned for the caller to show.

use rosterbridge_config::{Config, NotifyEvent, SmtpTls};
use rosterbridge_state::{RunOutcome, RunRecord, StateStore};
use serde_json::{json, Value};
use std::time::Duration;

/// Why a notification was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("webhook {url}: {message}")]
    Webhook { url: String, message: String },
    #[error("mail through {host}:{port}: {message}")]
    Mail {
        host: String,
        port: u16,
        message: String,
    },
}

/// One message: `event` names it, `text` is the human line, the rest is detail.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Message {
    pub event: String,
    pub subject: String,
    pub text: String,
    pub detail: Value,
}

/// Sends a message to every configured channel. Returns what failed.
pub fn send(config: &Config, message: &Message) -> Vec<NotifyError> {
    let mut problems = Vec::new();
    if let Some(url) = &config.notify.webhook_url {
        if let Err(e) = post_webhook(url, config, message) {
            problems.push(e);
        }
    }
    if let Some(smtp) = &config.notify.smtp {
        if let Err(e) = send_mail(smtp, message) {
            problems.push(e);
        }
    }
    problems
}

fn body(config: &Config, message: &Message) -> Value {
    json!({
        "source": "rosterbridge",
        "event": message.event,
        "subject": message.subject,
        "text": message.text,
        "config": config.path.display().to_string(),
        "environment": config.environment.as_str(),
        "canvas": config.canvas.url,
        "detail": message.detail,
    })
}

fn post_webhook(url: &str, config: &Config, message: &Message) -> Result<(), NotifyError> {
    let err = |m: String| NotifyError::Webhook {
        url: url.to_string(),
        message: m,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| err(e.to_string()))?;
    // reqwest is built without a rustls provider of its own (as in canvas-client).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| err(e.to_string()))?;
    let payload = body(config, message);
    runtime.block_on(async {
        let resp = client
            .post(url)
            .json(&payload)
            .send()
            .await
            .map_err(|e| err(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(err(format!("answered {}", resp.status())));
        }
        Ok(())
    })
}

fn send_mail(smtp: &rosterbridge_config::SmtpConfig, message: &Message) -> Result<(), NotifyError> {
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{SmtpTransport, Transport};
    let err = |m: String| NotifyError::Mail {
        host: smtp.host.clone(),
        port: smtp.port,
        message: m,
    };
    let mut builder = lettre::Message::builder()
        .from(
            smtp.from
                .parse()
                .map_err(|e: lettre::address::AddressError| {
                    err(format!("from {:?}: {e}", smtp.from))
                })?,
        )
        .subject(message.subject.clone());
    for to in &smtp.to {
        builder = builder.to(to
            .parse()
            .map_err(|e: lettre::address::AddressError| err(format!("to {to:?}: {e}")))?);
    }
    let text = format!(
        "{}\n\n{}\n",
        message.text,
        serde_json::to_string_pretty(&message.detail).unwrap_or_default()
    );
    let mail = builder
        .header(ContentType::TEXT_PLAIN)
        .body(text)
        .map_err(|e| err(e.to_string()))?;
    let mut transport = match smtp.tls {
        SmtpTls::None => SmtpTransport::builder_dangerous(&smtp.host),
        SmtpTls::Starttls => {
            SmtpTransport::starttls_relay(&smtp.host).map_err(|e| err(e.to_string()))?
        }
        SmtpTls::Tls => SmtpTransport::relay(&smtp.host).map_err(|e| err(e.to_string()))?,
    }
    .port(smtp.port)
    .timeout(Some(Duration::from_secs(30)));
    if let (Some(user), Some(env)) = (&smtp.username, &smtp.password_env) {
        let password = std::env::var(env).map_err(|_| {
            err(format!(
                "the password variable {env} (notify.smtp.password_env) is not set"
            ))
        })?;
        transport = transport.credentials(Credentials::new(user.clone(), password));
    }
    transport
        .build()
        .send(&mail)
        .map_err(|e| err(e.to_string()))?;
    Ok(())
}

/// The message for a finished run, if its outcome is one the configuration notifies.
pub fn for_run(config: &Config, run: &RunRecord) -> Option<Message> {
    let event = match run.outcome {
        RunOutcome::Held => NotifyEvent::Held,
        RunOutcome::Failed => NotifyEvent::Failed,
        RunOutcome::PartialFailure => NotifyEvent::PartialFailure,
        _ => return None,
    };
    if !config.notify.wants(event) {
        return None;
    }
    let what = match event {
        NotifyEvent::Held => "was held by the safety checks; nothing was applied",
        NotifyEvent::Failed => "failed",
        _ => "partly failed: some changes were rejected",
    };
    Some(Message {
        event: event.as_str().into(),
        subject: format!(
            "rosterbridge: run {} {}",
            run.id,
            event.as_str().replace('_', " ")
        ),
        text: format!(
            "Run {} ({}) {what}.{}",
            run.id,
            run.command,
            run.message
                .as_deref()
                .map(|m| format!(" {m}"))
                .unwrap_or_default()
        ),
        detail: serde_json::to_value(run).unwrap_or(Value::Null),
    })
}

fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The last sync that succeeded (or found nothing to do), under any profile: "last synchronized".
pub fn last_success(
    store: &dyn StateStore,
) -> Result<Option<RunRecord>, rosterbridge_state::StateError> {
    last_success_of(store, None)
}

/// The same for one execution profile (`None`: any).
pub fn last_success_of(
    store: &dyn StateStore,
    profile: Option<&str>,
) -> Result<Option<RunRecord>, rosterbridge_state::StateError> {
    store.last_success(crate::undo::SYNC_COMMANDS, profile)
}

/// "No successful run for N hours": once per stale period (remembered in the store).
pub fn stale_check(
    config: &Config,
    store: &mut dyn StateStore,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Message>, rosterbridge_state::StateError> {
    if !config.notify.wants(NotifyEvent::Stale) {
        return Ok(None);
    }
    let last = last_success(store)?;
    let since = match &last {
        Some(r) => r
            .ended_at
            .as_deref()
            .or(Some(r.started_at.as_str()))
            .and_then(parse_time),
        // Never succeeded: count from the first run.
        None => store
            .runs(10_000)?
            .last()
            .and_then(|r| parse_time(&r.started_at)),
    };
    let Some(since) = since else { return Ok(None) };
    let hours = (now - since).num_minutes() as f64 / 60.0;
    if hours < config.notify.stale_after_hours as f64 {
        return Ok(None);
    }
    let key = "notify.stale_since";
    let marker = since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if store.meta(key)?.as_deref() == Some(marker.as_str()) {
        return Ok(None); // already told about this stale period
    }
    store.set_meta(key, &marker)?;
    Ok(Some(Message {
        event: NotifyEvent::Stale.as_str().into(),
        subject: format!("rosterbridge: no successful run for {hours:.0} hours"),
        text: format!(
            "No successful run since {marker} ({hours:.1} hours; [notify] stale_after_hours = {}). Check the schedule and `rosterbridge runs`.",
            config.notify.stale_after_hours
        ),
        detail: json!({ "last_success": last, "hours": hours }),
    }))
}

/// A summary of the runs of the last 24 hours.
pub fn summary(
    store: &dyn StateStore,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Message, rosterbridge_state::StateError> {
    let day_ago = now - chrono::Duration::hours(24);
    let runs: Vec<RunRecord> = store
        .runs(1000)?
        .into_iter()
        .filter(|r| parse_time(&r.started_at).is_some_and(|t| t >= day_ago))
        .collect();
    let mut by_outcome: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for r in &runs {
        *by_outcome.entry(r.outcome.as_str()).or_default() += 1;
    }
    let last = last_success(store)?;
    let counts: Vec<String> = by_outcome.iter().map(|(k, v)| format!("{v} {k}")).collect();
    Ok(Message {
        event: "daily_summary".into(),
        subject: format!("rosterbridge: {} run(s) in the last 24 hours", runs.len()),
        text: format!(
            "{} run(s) in the last 24 hours{}; last successful run: {}.",
            runs.len(),
            if counts.is_empty() {
                String::new()
            } else {
                format!(" ({})", counts.join(", "))
            },
            last.as_ref()
                .and_then(|r| r.ended_at.clone())
                .unwrap_or_else(|| "never".into())
        ),
        detail: json!({ "runs": runs, "by_outcome": by_outcome, "last_success": last }),
    })
}

/// After a run: its own notification, the stale check and the daily summary when due.
/// Returns what could not be delivered (as text).
pub fn after_run(
    config: &Config,
    store: &mut dyn StateStore,
    run: Option<&RunRecord>,
) -> Vec<String> {
    if !config.notify.enabled() {
        return Vec::new();
    }
    let now = chrono::Utc::now();
    let mut messages = Vec::new();
    if let Some(m) = run.and_then(|r| for_run(config, r)) {
        messages.push(m);
    }
    let mut problems = Vec::new();
    match stale_check(config, store, now) {
        Ok(Some(m)) => messages.push(m),
        Ok(None) => {}
        Err(e) => problems.push(format!("stale check: {e}")),
    }
    if config.notify.daily_summary {
        let due = store
            .meta("notify.summary_at")
            .ok()
            .flatten()
            .and_then(|t| parse_time(&t))
            .is_none_or(|t| now - t >= chrono::Duration::hours(24));
        if due {
            match summary(store, now) {
                Ok(m) => {
                    messages.push(m);
                    let _ = store.set_meta(
                        "notify.summary_at",
                        &now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    );
                }
                Err(e) => problems.push(format!("daily summary: {e}")),
            }
        }
    }
    for m in &messages {
        problems.extend(send(config, m).into_iter().map(|e| e.to_string()));
    }
    problems
}
