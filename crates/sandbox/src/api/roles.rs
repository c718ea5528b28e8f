//! Roles (canvas-rest.md §6.9): list an account's roles, read one, and create a custom
//! course role (so tests can set up what an institution configured).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Value};

use super::form::{invalid, Form};
use super::{json, resolve_account, Params};
use crate::error::ApiError;
use crate::model::Role;
use crate::state::AppState;
use crate::store::Store;

fn render(store: &Store, r: &Role) -> Value {
    json!({
        "id": r.id,
        "role": r.name,
        "label": r.name,
        "base_role_type": r.base_role_type,
        "workflow_state": r.workflow_state,
        "is_account_role": r.base_role_type == "AccountMembership",
        "account": store.account(r.account_id).map(|a| json!({"id": a.id, "name": a.name})),
        "created_at": Utc::now().to_rfc3339(),
        "permissions": {},
    })
}

/// `GET /accounts/:id/roles`: built-in roles and the account's custom roles (with
/// `show_inherited=true`, also those of its parent accounts); `state[]` filters custom
/// roles by active/inactive (default active).
pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let store = state.store().read();
    let id = resolve_account(&store, &id)?;
    let params = Params::parse(query.as_deref());
    let states: Vec<&str> = params.all("state[]");
    let states = if states.is_empty() {
        vec!["active"]
    } else {
        states
    };
    let inherited = params.get("show_inherited") == Some("true");
    let mut chain = vec![id];
    if inherited {
        let mut cur = store.account(id).and_then(|a| a.parent_account_id);
        while let Some(p) = cur {
            chain.push(p);
            cur = store.account(p).and_then(|a| a.parent_account_id);
        }
    }
    let items: Vec<Value> = store
        .roles
        .iter()
        .filter(|r| {
            r.built_in
                || (chain.contains(&r.account_id) && states.contains(&r.workflow_state.as_str()))
        })
        .map(|r| render(&store, r))
        .collect();
    Ok(json(Value::Array(items)))
}

/// `POST /accounts/:id/roles`: `label` (or deprecated `role`) and `base_role_type`.
pub async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = Form::read(q.as_deref(), &headers, &body)?;
    let mut store = state.store().write();
    let account = resolve_account(&store, &id)?;
    let Some(label) = f
        .text("label")
        .or_else(|| f.text("role"))
        .map(str::to_string)
    else {
        return Err(invalid(None, "label", "blank", "can't be blank"));
    };
    let base = f
        .text("base_role_type")
        .unwrap_or("AccountMembership")
        .to_string();
    if !matches!(
        base.as_str(),
        "StudentEnrollment"
            | "TeacherEnrollment"
            | "TaEnrollment"
            | "DesignerEnrollment"
            | "ObserverEnrollment"
            | "AccountMembership"
    ) {
        return Err(invalid(None, "base_role_type", "invalid", "is invalid"));
    }
    if store
        .roles
        .iter()
        .any(|r| r.name == label && r.account_id == account && r.workflow_state != "deleted")
    {
        return Err(invalid(
            None,
            "label",
            "taken",
            "A role with this name already exists",
        ));
    }
    let id = store.roles.iter().map(|r| r.id).max().unwrap_or(0) + 1;
    let role = Role {
        id,
        name: label,
        base_role_type: base,
        account_id: account,
        built_in: false,
        workflow_state: "active".into(),
    };
    store.roles.push(role.clone());
    Ok(json(render(&store, &role)))
}
