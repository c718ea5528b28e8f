//! change_sis_id.csv (canvas-sis-csv.md §5.11). Runs first in every import.

use super::{Ctx, Row};
use crate::store::Store;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Type {
    Account,
    Term,
    Course,
    Section,
    User,
    Group,
    GroupCategory,
}

impl Type {
    fn parse(s: &str) -> Option<Type> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "account" => Type::Account,
            "term" => Type::Term,
            "course" => Type::Course,
            "section" => Type::Section,
            "user" => Type::User,
            "group" => Type::Group,
            "group_category" => Type::GroupCategory,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            Type::Account => "account",
            Type::Term => "term",
            Type::Course => "course",
            Type::Section => "section",
            Type::User => "user",
            Type::Group => "group",
            Type::GroupCategory => "group_category",
        }
    }
}

fn by_sis(store: &Store, t: Type, v: &str) -> Option<u64> {
    match t {
        Type::Account => store.account_by_sis.get(v).copied(),
        Type::Term => store.term_by_sis.get(v).copied(),
        Type::Course => store.course_by_sis.get(v).copied(),
        Type::Section => store.section_by_sis.get(v).copied(),
        Type::User => store.login_by_sis.get(v).copied(),
        Type::Group => store.group_by_sis.get(v).copied(),
        Type::GroupCategory => store.group_category_by_sis.get(v).copied(),
    }
}

fn by_integration(store: &Store, t: Type, v: &str) -> Option<u64> {
    match t {
        Type::Account => store.account_by_integration.get(v).copied(),
        Type::Term => store.term_by_integration.get(v).copied(),
        Type::Course => store.course_by_integration.get(v).copied(),
        Type::Section => store.section_by_integration.get(v).copied(),
        Type::User => store.login_by_integration.get(v).copied(),
        Type::Group | Type::GroupCategory => None,
    }
}

fn set_sis(store: &mut Store, t: Type, id: u64, new: String, batch: u64) {
    let new = Some(new);
    match t {
        Type::Account => {
            let old = store.account(id).and_then(|a| a.sis_source_id.clone());
            Store::rekey(&mut store.account_by_sis, &old, &new, id);
            if let Some(a) = store.account_mut(id) {
                a.sis_source_id = new;
                a.sis_batch_id = Some(batch);
            }
        }
        Type::Term => {
            let old = store.term(id).and_then(|a| a.sis_source_id.clone());
            Store::rekey(&mut store.term_by_sis, &old, &new, id);
            if let Some(a) = store.term_mut(id) {
                a.sis_source_id = new;
                a.sis_batch_id = Some(batch);
            }
        }
        Type::Course => {
            let old = store.course(id).and_then(|a| a.sis_source_id.clone());
            Store::rekey(&mut store.course_by_sis, &old, &new, id);
            if let Some(a) = store.course_mut(id) {
                a.sis_source_id = new;
                a.sis_batch_id = Some(batch);
            }
        }
        Type::Section => {
            let old = store.section(id).and_then(|a| a.sis_source_id.clone());
            Store::rekey(&mut store.section_by_sis, &old, &new, id);
            if let Some(a) = store.section_mut(id) {
                a.sis_source_id = new;
                a.sis_batch_id = Some(batch);
            }
        }
        Type::User => {
            store.set_login_sis_user_id(id, new);
            if let Some(l) = store.login_mut(id) {
                l.sis_batch_id = Some(batch);
            }
        }
        Type::Group => {
            let old = store.group(id).and_then(|g| g.sis_source_id.clone());
            Store::rekey(&mut store.group_by_sis, &old, &new, id);
            if let Some(g) = store.group_mut(id) {
                g.sis_source_id = new;
                g.sis_batch_id = Some(batch);
            }
        }
        Type::GroupCategory => {
            let old = store
                .group_category(id)
                .and_then(|g| g.sis_source_id.clone());
            Store::rekey(&mut store.group_category_by_sis, &old, &new, id);
            if let Some(g) = store.group_category_mut(id) {
                g.sis_source_id = new;
                g.sis_batch_id = Some(batch);
            }
        }
    }
}

fn set_integration(store: &mut Store, t: Type, id: u64, new: Option<String>) {
    match t {
        Type::Account => store.set_account_integration_id(id, new),
        Type::Term => store.set_term_integration_id(id, new),
        Type::Course => store.set_course_integration_id(id, new),
        Type::Section => store.set_section_integration_id(id, new),
        Type::User => store.set_login_integration_id(id, new),
        Type::Group | Type::GroupCategory => {}
    }
}

pub fn row(store: &mut Store, ctx: &mut Ctx, row: &Row) -> bool {
    let Some(raw_type) = row.get("type") else {
        ctx.warn(row, "No type given for change_sis_id");
        return false;
    };
    let (old_id, old_int) = (row.get("old_id"), row.get("old_integration_id"));
    if old_id.is_none() && old_int.is_none() {
        ctx.warn(
            row,
            "No old_id or old_integration_id given for change_sis_id",
        );
        return false;
    }
    let (new_id, new_int) = (row.get("new_id"), row.get("new_integration_id"));
    if new_id.is_none() && new_int.is_none() {
        ctx.warn(
            row,
            "No new_id or new_integration_id given for change_sis_id",
        );
        return false;
    }
    let Some(t) = Type::parse(raw_type) else {
        ctx.warn(row, format!("Invalid type '{raw_type}' for change_sis_id"));
        return false;
    };
    let name = t.name();
    if t == Type::GroupCategory && (old_int.is_some() || new_int.is_some()) {
        ctx.warn(row, "Group categories should not have integration IDs.");
        return false;
    }
    if let (Some(n), Some(o)) = (new_id, old_id) {
        if by_sis(store, t, n).is_some() {
            let column = if t == Type::User {
                "sis_user_id"
            } else {
                "sis_source_id"
            };
            ctx.warn(row, format!("A new_id, '{n}', referenced an existing {name} and the {name} with {column} '{o}' was not updated"));
            return false;
        }
    }
    if let Some(n) = new_int.filter(|n| *n != "<delete>") {
        if by_integration(store, t, n).is_some() {
            let o = old_int.or(old_id).unwrap_or("");
            ctx.warn(row, format!("A new_integration_id, '{n}', referenced an existing {name} and the {name} with integration_id '{o}' was not updated"));
            return false;
        }
    }
    let found_sis = old_id.map(|o| by_sis(store, t, o));
    let found_int = old_int.map(|o| by_integration(store, t, o));
    if let (Some(Some(a)), Some(Some(b))) = (found_sis, found_int) {
        if a != b {
            let (o, oi) = (old_id.unwrap_or(""), old_int.unwrap_or(""));
            ctx.warn(row, format!("An old_id, '{o}', referenced a different {name} than the old_integration_id, '{oi}'"));
            return false;
        }
    }
    if let (Some(o), Some(None)) = (old_id, found_sis) {
        ctx.warn(
            row,
            format!("An old_id, '{o}', referenced a non-existent {name} and was not changed."),
        );
        return false;
    }
    if let (Some(oi), Some(None)) = (old_int, found_int) {
        ctx.warn(row, format!("An old_integration_id, '{oi}', referenced a non-existent {name} and was not changed."));
        return false;
    }
    let Some(id) = found_sis.flatten().or(found_int.flatten()) else {
        return false;
    };
    if let Some(n) = new_id {
        set_sis(store, t, id, n.to_string(), ctx.batch_id);
    }
    if let Some(n) = new_int {
        set_integration(store, t, id, (n != "<delete>").then(|| n.to_string()));
    }
    true
}
