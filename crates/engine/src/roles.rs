//! Custom Canvas roles named in `[mapping.enrollments] roles`: the plan carries them by
//! name (mapping and planning stay pure); before anything is sent to Canvas, and in
//! `validate` when a token is at hand, each is looked up in the account's roles and must
//! exist as an active course role. The resolved `role_id`s are reported.

use crate::EngineError;
use rosterbridge_canvas_client::CanvasClient;
use rosterbridge_config::Config;
use serde_json::Value;

/// A custom role found in Canvas.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ResolvedRole {
    pub name: String,
    pub role_id: u64,
    pub base_role_type: String,
}

/// Looks up every configured custom role; `Err(CustomRoles)` names the missing ones and
/// the course roles Canvas has. Nothing configured: no request.
pub fn check_custom_roles(
    config: &Config,
    client: &CanvasClient,
) -> Result<Vec<ResolvedRole>, EngineError> {
    let wanted = config.mapping.enrollments.custom_roles();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::Runtime(e.to_string()))?;
    let path = format!("/api/v1/accounts/{}/roles", config.canvas.account_id);
    let roles: Vec<Value> =
        runtime.block_on(client.get_all(&path, &[("show_inherited", "true".into())]))?;
    let course_role = |r: &Value| {
        r.get("base_role_type")
            .and_then(Value::as_str)
            .is_some_and(|b| b.ends_with("Enrollment"))
    };
    let name_of = |r: &Value| {
        r.get("role")
            .and_then(Value::as_str)
            .or_else(|| r.get("label").and_then(Value::as_str))
            .unwrap_or("")
            .to_string()
    };
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in wanted {
        let hit = roles.iter().find(|r| {
            course_role(r)
                && (name_of(r) == name
                    || r.get("label").and_then(Value::as_str) == Some(name.as_str()))
        });
        match hit {
            Some(r) if r.get("workflow_state").and_then(Value::as_str) == Some("active") => found
                .push(ResolvedRole {
                    name: name.clone(),
                    role_id: r.get("id").and_then(Value::as_u64).unwrap_or_default(),
                    base_role_type: r
                        .get("base_role_type")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                }),
            Some(_) => missing.push(format!("{name} (inactive)")),
            None => missing.push(name),
        }
    }
    if !missing.is_empty() {
        let mut available: Vec<String> = roles
            .iter()
            .filter(|r| course_role(r))
            .map(name_of)
            .collect();
        available.sort();
        return Err(EngineError::CustomRoles { missing, available });
    }
    Ok(found)
}
