//! The SIS-import sink: zips only the delta, posts it as one SIS import, checks that
//! Canvas echoed the options asked for, polls until the import finishes, and maps every
//! row-level message of the errors file back to the change it came from.
//!
//! A row with a message is reported rejected (it stays pending and is sent again next
//! run); a file Canvas refused as a whole rejects all its rows; an import that failed or
//! was aborted rejects everything. The zip sent and the import's final JSON (and errors
//! file) are kept in the run's archive folder.

use crate::matching::{CanvasUsers, Decision, UserMatch};
use crate::rows::RowIndex;
use crate::{write_archive, ChangeResult, Sink, SinkError, SinkProgress, SinkReport};
use rosterbridge_canvas_client::sis_import::{
    parse_errors_csv, ImportMessage, SisImport, SisImportOptions,
};
use rosterbridge_canvas_client::CanvasClient;
use rosterbridge_model::kind::Kind;
use rosterbridge_plan::Action;
use rosterbridge_plan::Plan;
use rustc_hash::FxHashMap;
use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct SisImportSinkOptions {
    pub account_id: u64,
    pub import: SisImportOptions,
    /// Give up waiting for an import after this long.
    pub timeout: Duration,
    /// First poll interval; grows by half each poll up to `poll_max`.
    pub poll_initial: Duration,
    pub poll_max: Duration,
    /// First contact: how users to be created are looked for in Canvas (after the SIS id).
    /// Empty: no lookup at all (the import updates users whose SIS id Canvas knows).
    pub user_match: Vec<UserMatch>,
    /// First contact for terms, sub-accounts, courses and sections: how each is looked for.
    pub match_objects: crate::matching::ObjectRules,
}

impl SisImportSinkOptions {
    pub fn new(account_id: u64) -> Self {
        SisImportSinkOptions {
            account_id,
            import: SisImportOptions::default(),
            timeout: Duration::from_secs(3600),
            poll_initial: Duration::from_millis(200),
            poll_max: Duration::from_secs(10),
            user_match: vec![UserMatch::Login, UserMatch::Email],
            match_objects: crate::matching::default_object_rules(),
        }
    }
}

/// Past this many new users on a later run, they are not looked up one by one.
const ONE_BY_ONE_LIMIT: usize = 200;

pub struct SisImportSink {
    pub client: CanvasClient,
    pub options: SisImportSinkOptions,
}

impl Sink for SisImportSink {
    fn name(&self) -> &'static str {
        "sis_import"
    }

    fn apply(
        &mut self,
        plan: &Plan,
        run: i64,
        archive: &Path,
        progress: &dyn SinkProgress,
    ) -> Result<SinkReport, SinkError> {
        if plan.is_empty() {
            return Ok(SinkReport::default());
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(SinkError::Runtime)?;
        let mut result = runtime.block_on(self.apply_async(plan, run, archive, progress));
        if let Ok(report) = &mut result {
            report.http = Some(self.client.stats());
        }
        result
    }
}

impl SisImportSink {
    async fn apply_async(
        &self,
        plan: &Plan,
        run: i64,
        archive: &Path,
        progress: &dyn SinkProgress,
    ) -> Result<SinkReport, SinkError> {
        let mut report = SinkReport::default();
        // First contact: settle users the plan creates against who Canvas already has.
        let (held, adopted) = self.first_contact(plan, progress).await?;
        let keep = |i: usize| !held.contains_key(&i);
        progress.update("writing Canvas CSV", None);
        let mut zip = Cursor::new(Vec::new());
        let zip_path = archive.join(format!("run-{run}-sis-import.zip"));
        rosterbridge_canvas::csv::write_zip_where(plan, keep, &mut zip, &zip_path)?;
        let zip = zip.into_inner();
        write_archive(&zip_path, &zip)?;
        report.artifacts.push(zip_path);

        progress.update("sending SIS import", None);
        let account = self.options.account_id;
        let created = self
            .client
            .create_sis_import(account, zip, &self.options.import)
            .await?;
        if let Err(mismatch) = self.options.import.check_echo(&created) {
            // Stop it before it changes anything it should not.
            let path = format!(
                "/api/v1/accounts/{account}/sis_imports/{}/abort",
                created.id
            );
            let _ = self
                .client
                .write::<serde_json::Value>(
                    reqwest::Method::PUT,
                    &path,
                    Vec::new(),
                    rosterbridge_canvas_client::Retry::Safe,
                )
                .await;
            return Err(SinkError::OptionsNotEchoed {
                id: created.id,
                mismatch,
            });
        }

        let import = self.wait(created, progress).await?;
        let json_path = archive.join(format!("run-{run}-sis-import-{}.json", import.id));
        let pretty = serde_json::to_vec_pretty(&import.raw).unwrap_or_default();
        write_archive(&json_path, &pretty)?;
        report.artifacts.push(json_path);

        let how = format!("sis_import {}", import.id);
        if !import.is_applied() {
            let why = import
                .error_message()
                .map(str::to_string)
                .unwrap_or_else(|| {
                    format!("SIS import {} ended `{}`", import.id, import.workflow_state)
                });
            report.results = vec![
                ChangeResult::Rejected {
                    message: why.clone()
                };
                plan.changes.len()
            ];
            report.notes.push(why);
            return Ok(report);
        }

        let messages = self.messages(&import, run, archive, &mut report).await?;
        report.results = (0..plan.changes.len())
            .map(|i| match held.get(&i) {
                Some(message) => ChangeResult::Rejected {
                    message: message.clone(),
                },
                None => ChangeResult::Applied {
                    how: how.clone(),
                    canvas_id: adopted.get(&i).copied(),
                    adopted: adopted.contains_key(&i),
                },
            })
            .collect();
        let rows = RowIndex::new_where(plan, keep);
        for m in messages {
            let text = format!("{}: {}", m.file, m.message);
            match m.row.and_then(|line| rows.change_at(&m.file, line)) {
                Some(i) => reject(&mut report.results[i], &m.message),
                None if m.failure && !rows.changes_in(&m.file).is_empty() => {
                    // A whole file refused (bad header, malformed CSV): none of its rows landed.
                    for i in rows.changes_in(&m.file) {
                        reject(&mut report.results[i], &m.message);
                    }
                    report.notes.push(text);
                }
                None => report.notes.push(text),
            }
        }
        Ok(report)
    }

    /// Looks up the Canvas users the plan's new users may already be: returns the changes
    /// held back (conflicts, with why) and the ones adopted (with the Canvas id). Adopting
    /// puts the SIS id on the user's login, so the import then updates that user.
    ///
    /// On first contact (no user recorded yet) the account's users are listed once. Later,
    /// a few new users are looked up one by one; many new users go straight into the
    /// import, where Canvas itself takes over a login that has no SIS id and refuses (a
    /// row warning, so a rejected change) one that carries another: no duplicate either way.
    async fn first_contact(
        &self,
        plan: &Plan,
        progress: &dyn SinkProgress,
    ) -> Result<(FxHashMap<usize, String>, FxHashMap<usize, i64>), SinkError> {
        let (mut held, mut adopted) = crate::matching::settle_objects(
            &self.client,
            self.options.account_id,
            plan,
            &self.options.match_objects,
        )
        .await?;
        let creates: Vec<usize> = plan
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == Kind::Users && c.action == Action::Create)
            .map(|(i, _)| i)
            .collect();
        if creates.is_empty() || self.options.user_match.is_empty() {
            return Ok((held, adopted));
        }
        let first_contact = plan
            .summary
            .get(&Kind::Users)
            .is_none_or(|s| s.existing == 0);
        if !first_contact && creates.len() > ONE_BY_ONE_LIMIT {
            return Ok((held, adopted));
        }
        progress.update("matching users already in Canvas", None);
        let account = self.options.account_id;
        let users = if first_contact {
            let listed: Vec<serde_json::Value> = self
                .client
                .get_all(
                    &format!("/api/v1/accounts/{account}/users"),
                    &[("include[]", "email".into())],
                )
                .await?;
            CanvasUsers::new(listed)
        } else {
            let mut found = Vec::new();
            for &i in &creates {
                found.extend(self.candidates(&plan.row(&plan.changes[i])).await?);
            }
            CanvasUsers::new(found)
        };
        for i in creates {
            let row = plan.row(&plan.changes[i]);
            match users.decide(&row, &self.options.user_match) {
                Decision::Known | Decision::New => {}
                Decision::Conflict(why) => {
                    held.insert(i, why);
                }
                Decision::Adopt { id, how } => match self.adopt(id, &row).await {
                    Ok(()) => {
                        adopted.insert(i, id);
                    }
                    Err(e) => {
                        held.insert(
                            i,
                            format!(
                                "could not adopt Canvas user {id} found by {}: {e}",
                                how.as_str()
                            ),
                        );
                    }
                },
            }
        }
        Ok((held, adopted))
    }

    /// The Canvas users one new user may be: by SIS id, login and email.
    async fn candidates(
        &self,
        row: &rosterbridge_model::kind::Row,
    ) -> Result<Vec<serde_json::Value>, rosterbridge_canvas_client::CanvasError> {
        use rosterbridge_canvas_client::sis_path;
        let mut out = Vec::new();
        for (prefix, value) in [
            ("sis_user_id", row.get("user_id")),
            ("sis_login_id", row.get("login_id")),
        ] {
            if !value.is_empty() {
                out.extend(
                    self.client
                        .get_optional::<serde_json::Value>(&format!(
                            "/api/v1/users/{}",
                            sis_path(prefix, value)
                        ))
                        .await?,
                );
            }
        }
        let integration = row.get("integration_id");
        if !integration.is_empty() && self.options.user_match.contains(&UserMatch::IntegrationId) {
            out.extend(
                self.client
                    .get_optional::<serde_json::Value>(&format!(
                        "/api/v1/users/{}",
                        sis_path("sis_integration_id", integration)
                    ))
                    .await?,
            );
        }
        let email = row.get("email");
        if !email.is_empty() && self.options.user_match.contains(&UserMatch::Email) {
            let path = format!("/api/v1/accounts/{}/users", self.options.account_id);
            out.extend(
                self.client
                    .get_all::<serde_json::Value>(
                        &path,
                        &[
                            ("search_term", email.to_string()),
                            ("include[]", "email".into()),
                        ],
                    )
                    .await?,
            );
        }
        // The same user found twice is one candidate.
        out.sort_by_key(|u| u.get("id").and_then(serde_json::Value::as_i64));
        out.dedup_by_key(|u| u.get("id").and_then(serde_json::Value::as_i64));
        Ok(out)
    }

    /// Puts the row's SIS id on the login of Canvas user `id` that matches the row's login
    /// (else its first login).
    async fn adopt(
        &self,
        id: i64,
        row: &rosterbridge_model::kind::Row,
    ) -> Result<(), rosterbridge_canvas_client::CanvasError> {
        let logins: Vec<serde_json::Value> = self
            .client
            .get_all(&format!("/api/v1/users/{id}/logins"), &[])
            .await?;
        let login = logins
            .iter()
            .find(|l| {
                l.get("unique_id")
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|u| u.eq_ignore_ascii_case(row.get("login_id")))
            })
            .or(logins.first());
        if let Some(login_id) = login
            .and_then(|l| l.get("id"))
            .and_then(serde_json::Value::as_i64)
        {
            let path = format!(
                "/api/v1/accounts/{}/logins/{login_id}",
                self.options.account_id
            );
            let form = vec![(
                "login[sis_user_id]".to_string(),
                row.get("user_id").to_string(),
            )];
            let _: serde_json::Value = self
                .client
                .write(
                    reqwest::Method::PUT,
                    &path,
                    form,
                    rosterbridge_canvas_client::Retry::Safe,
                )
                .await?;
        }
        Ok(())
    }

    /// Polls with a growing interval until the import finishes or the limit passes.
    async fn wait(
        &self,
        mut import: SisImport,
        progress: &dyn SinkProgress,
    ) -> Result<SisImport, SinkError> {
        let start = Instant::now();
        let mut interval = self.options.poll_initial;
        while !import.is_finished() {
            progress.update(
                &format!("SIS import {} {}", import.id, import.workflow_state),
                Some(import.progress / 100.0),
            );
            if start.elapsed() >= self.options.timeout {
                return Err(SinkError::StillImporting {
                    id: import.id,
                    state: import.workflow_state,
                    waited_secs: start.elapsed().as_secs(),
                });
            }
            tokio::time::sleep(
                interval
                    .min(self.options.timeout.saturating_sub(start.elapsed()))
                    .max(Duration::from_millis(10)),
            )
            .await;
            interval = (interval + interval / 2).min(self.options.poll_max);
            import = self
                .client
                .sis_import(self.options.account_id, import.id)
                .await?;
        }
        progress.update(
            &format!("SIS import {} {}", import.id, import.workflow_state),
            Some(1.0),
        );
        Ok(import)
    }

    /// Every message of the import: from its errors file when there is one (it has row
    /// numbers and no 25-message cap), else from the JSON.
    async fn messages(
        &self,
        import: &SisImport,
        run: i64,
        archive: &Path,
        report: &mut SinkReport,
    ) -> Result<Vec<ImportMessage>, SinkError> {
        let from_json = import.messages_from_json();
        let Some(url) = import.errors_attachment_url() else {
            return Ok(from_json);
        };
        let bytes = self.client.download(url).await?;
        let path = archive.join(format!("run-{run}-sis-import-{}-errors.csv", import.id));
        write_archive(&path, &bytes)?;
        report.artifacts.push(path);
        let failures: Vec<(String, String)> = from_json
            .iter()
            .filter(|m| m.failure)
            .map(|m| (m.file.clone(), m.message.clone()))
            .collect();
        match parse_errors_csv(&bytes, &failures) {
            Ok(mut all) => {
                // The JSON marks errors; the file may list an error the JSON cut off:
                // a message with no row is file-level, which Canvas only raises as an error.
                for m in all
                    .iter_mut()
                    .filter(|m| m.row.is_none() && import.counts("error_count") > 0)
                {
                    m.failure |= !from_json
                        .iter()
                        .any(|j| !j.failure && j.file == m.file && j.message == m.message);
                }
                Ok(all)
            }
            Err(e) => {
                report.notes.push(format!("could not read the errors file of SIS import {}: {e}; using the first 25 messages of the JSON", import.id));
                Ok(from_json)
            }
        }
    }
}

fn reject(result: &mut ChangeResult, message: &str) {
    match result {
        ChangeResult::Rejected { message: m } => {
            m.push_str("; ");
            m.push_str(message);
        }
        _ => {
            *result = ChangeResult::Rejected {
                message: message.to_string(),
            }
        }
    }
}
