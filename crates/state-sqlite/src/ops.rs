//! Held plans and operational key/value facts (migration 0005).

use crate::{backend, SqliteStore};
use rosterbridge_state::{HeldPlan, HeldStatus, RunId, StateError, StateErrorKind};
use rusqlite::{params, OptionalExtension};

impl SqliteStore {
    pub(crate) fn hold_plan_impl(&mut self, plan: &HeldPlan) -> Result<i64, StateError> {
        let tx = self.conn.transaction().map_err(backend("holding a plan"))?;
        tx.execute(
            "UPDATE held_plans SET status = 'superseded' WHERE status = 'held'",
            [],
        )
        .map_err(backend("holding a plan"))?;
        tx.execute(
            "INSERT INTO held_plans (run, created_at, base_version, fingerprint, summary, reasons, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'held')",
            params![
                plan.run,
                plan.created_at,
                plan.base_version as i64,
                plan.fingerprint,
                plan.summary.to_string(),
                serde_json::to_string(&plan.reasons).unwrap_or_else(|_| "[]".into())
            ],
        )
        .map_err(backend("holding a plan"))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(backend("holding a plan"))?;
        Ok(id)
    }

    pub(crate) fn held_plan_impl(&self, id: i64) -> Result<Option<HeldPlan>, StateError> {
        let raw = self
            .conn
            .query_row(
                "SELECT id, run, created_at, base_version, fingerprint, summary, reasons, status, applied_run FROM held_plans WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                        r.get::<_, Option<i64>>(8)?,
                    ))
                },
            )
            .optional()
            .map_err(backend("reading a held plan"))?;
        let Some((
            id,
            run,
            created_at,
            base_version,
            fingerprint,
            summary,
            reasons,
            status,
            applied_run,
        )) = raw
        else {
            return Ok(None);
        };
        let corrupt = |what: &str| {
            StateError::new(StateErrorKind::Corrupt, format!("held plan {id}: {what}"))
        };
        Ok(Some(HeldPlan {
            id,
            run,
            created_at,
            base_version: base_version as u64,
            fingerprint,
            summary: serde_json::from_str(&summary).map_err(|_| corrupt("summary is not JSON"))?,
            reasons: serde_json::from_str(&reasons)
                .map_err(|_| corrupt("reasons are not a JSON list"))?,
            status: HeldStatus::parse(&status).ok_or_else(|| corrupt("unknown status"))?,
            applied_run,
        }))
    }

    pub(crate) fn set_held_plan_status_impl(
        &mut self,
        id: i64,
        status: HeldStatus,
        applied_run: Option<RunId>,
    ) -> Result<(), StateError> {
        let n = self
            .conn
            .execute("UPDATE held_plans SET status = ?1, applied_run = COALESCE(?2, applied_run) WHERE id = ?3", params![status.as_str(), applied_run, id])
            .map_err(backend("updating a held plan"))?;
        if n == 0 {
            return Err(StateError::new(
                StateErrorKind::Backend,
                format!("held plan {id} does not exist"),
            ));
        }
        Ok(())
    }

    pub(crate) fn meta_impl(&self, key: &str) -> Result<Option<String>, StateError> {
        self.conn
            .query_row("SELECT value FROM ops_meta WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(backend("reading ops_meta"))
    }

    pub(crate) fn set_meta_impl(&mut self, key: &str, value: &str) -> Result<(), StateError> {
        self.conn
            .execute("INSERT INTO ops_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", params![key, value])
            .map_err(backend("writing ops_meta"))?;
        Ok(())
    }
}
