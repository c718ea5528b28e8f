//! Approving a held plan: the plan made now must be exactly the one held (same changes, same
//! state version), and an approval is used once. Shared by `rosterbridge approve` and the
//! server's API.

use crate::{apply, prepare, ApplyOptions, ApplyReport, EngineError, Observer, Prepared};
use rosterbridge_config::Config;
use rosterbridge_sink::Sink;
use rosterbridge_state::{HeldStatus, RunOutcome, StateStore};

/// A held plan checked against the plan made now: ready to apply with `fingerprint`.
pub struct Approved {
    pub plan_id: i64,
    pub prepared: Prepared,
    pub fingerprint: u64,
}

/// Checks that held plan `plan_id` is still held and that the plan made now is that plan.
/// A plan that no longer matches is marked superseded (nothing is applied).
pub fn check(
    config: &Config,
    store: &mut dyn StateStore,
    plan_id: i64,
    observer: &dyn Observer,
) -> Result<Approved, EngineError> {
    crate::ops::refuse_in_blackout(config)?;
    let held = store
        .held_plan(plan_id)?
        .ok_or_else(|| EngineError::Approval(format!("there is no held plan {plan_id}")))?;
    match held.status {
        HeldStatus::Held => {}
        HeldStatus::Applied => {
            return Err(EngineError::Approval(format!(
                "plan {} was already approved and applied (run {}); an approval is used once",
                held.id,
                held.applied_run.map(|r| r.to_string()).unwrap_or_default()
            )))
        }
        HeldStatus::Superseded => {
            return Err(EngineError::Approval(format!(
                "plan {} was superseded by a later held plan or run; run `rosterbridge sync` to see the current plan",
                held.id
            )))
        }
    }
    let prepared = prepare(config, store, observer)?;
    let fingerprint = rosterbridge_plan::safety::fingerprint(&prepared.plan);
    if format!("{fingerprint:016x}") != held.fingerprint
        || prepared.plan.base_version != held.base_version
    {
        store.set_held_plan_status(held.id, HeldStatus::Superseded, None)?;
        return Err(EngineError::Approval(format!(
            "the plan made now is not plan {} (the export or the state changed since it was held); nothing was applied. Run `rosterbridge sync` to see, and hold, the current plan",
            held.id
        )));
    }
    Ok(Approved {
        plan_id,
        prepared,
        fingerprint,
    })
}

/// After the approved plan was applied: marks it used when its run went through. Returns
/// the run id.
pub fn mark_used(
    store: &mut dyn StateStore,
    plan_id: i64,
) -> Result<Option<rosterbridge_state::RunId>, EngineError> {
    if let Some(run) = store
        .runs(1)?
        .into_iter()
        .next()
        .filter(|r| r.command == "approve")
    {
        if matches!(
            run.outcome,
            RunOutcome::Succeeded | RunOutcome::PartialFailure | RunOutcome::NoChanges
        ) {
            store.set_held_plan_status(plan_id, HeldStatus::Applied, Some(run.id))?;
            return Ok(Some(run.id));
        }
    }
    Ok(None)
}

/// Checks, applies through `sink` as run `approve`, and marks the plan used.
pub fn approve(
    config: &Config,
    store: &mut dyn StateStore,
    plan_id: i64,
    sink: &mut dyn Sink,
    observer: &dyn Observer,
) -> Result<ApplyReport, EngineError> {
    let ok = check(config, store, plan_id, observer)?;
    let report = apply(
        config,
        store,
        &ok.prepared,
        sink,
        ApplyOptions {
            allow_removals: false,
            approved: Some(ok.fingerprint),
        },
        observer,
        "approve",
    )?;
    mark_used(store, plan_id)?;
    Ok(report)
}
