//! The roster a provider serves, with what OneRoster and Clever clients see besides it:
//! each record's `dateLastModified`, `tobedeleted` tombstones, and the Clever event feed.

use rosterbridge_model::roster::{Enrollment, Roster, User};
use rosterbridge_model::SisId;
use rustc_hash::FxHashMap;
use serde_json::Value;

/// A served collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Coll {
    Orgs,
    Sessions,
    Courses,
    Classes,
    Users,
    Enrollments,
    Demographics,
}

/// A record that was deleted: served with `status: tobedeleted` after the live ones.
#[derive(Clone, Debug)]
pub struct Tombstone {
    pub coll: Coll,
    pub id: SisId,
    pub modified: String,
}

/// One Clever event (`users.updated`, `sections.deleted`, ...), recorded as data changes.
#[derive(Clone, Debug)]
pub struct CleverEvent {
    /// Increasing, fixed width, so events sort by id like Clever's ObjectIds.
    pub id: String,
    pub kind: String,
    pub created: String,
    /// `users`/`sections` and the object's id: rendered when the event is served.
    pub object: (String, SisId),
    /// For `*.deleted`: the object as it was.
    pub snapshot: Option<Value>,
}

/// The data behind a provider.
#[derive(Debug)]
pub struct ProviderData {
    pub roster: Roster,
    /// `dateLastModified` of every record not changed since loading.
    pub base_modified: String,
    /// Changed records' `dateLastModified`.
    pub modified: FxHashMap<(Coll, SisId), String>,
    pub tombstones: Vec<Tombstone>,
    pub events: Vec<CleverEvent>,
    /// The changes made so far (for generation of ids).
    changes: u64,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl ProviderData {
    /// Serves `roster`; every record counts as last modified at the start of 2026.
    pub fn new(roster: Roster) -> Self {
        ProviderData {
            roster,
            base_modified: "2026-01-01T00:00:00.000Z".into(),
            modified: FxHashMap::default(),
            tombstones: Vec::new(),
            events: Vec::new(),
            changes: 0,
        }
    }

    /// Grows with every change (caches of derived views key on it).
    pub fn version(&self) -> u64 {
        self.changes
    }

    pub fn modified_of(&self, coll: Coll, id: &SisId) -> &str {
        self.modified
            .get(&(coll, id.clone()))
            .map(String::as_str)
            .unwrap_or(&self.base_modified)
    }

    fn event(&mut self, kind: &str, object: (&str, &SisId), snapshot: Option<Value>) {
        self.changes += 1;
        self.events.push(CleverEvent {
            id: format!("e{:023}", self.changes),
            kind: kind.into(),
            created: now(),
            object: (object.0.into(), object.1.clone()),
            snapshot,
        });
    }

    fn touch(&mut self, coll: Coll, id: &SisId) {
        self.modified.insert((coll, id.clone()), now());
    }

    /// Changes a user's family name (an update every source must see).
    pub fn rename_user(&mut self, id: &str, family_name: &str) -> bool {
        let id = SisId::new(id);
        let Some(u) = self.roster.users.iter_mut().find(|u| u.sourced_id == id) else {
            return false;
        };
        u.edit_texts(|t| t.family_name = family_name.into());
        self.touch(Coll::Users, &id);
        self.event("users.updated", ("users", &id), None);
        true
    }

    /// Adds a user at the end (as a new SIS record would be).
    pub fn add_user(&mut self, user: User) {
        let id = user.sourced_id.clone();
        self.roster.users.push(user);
        self.touch(Coll::Users, &id);
        self.event("users.created", ("users", &id), None);
    }

    /// Adds an enrollment (class, user and school by sourcedId); false when one is unknown.
    pub fn add_enrollment(
        &mut self,
        mut e: Enrollment,
        class: &str,
        user: &str,
        school: &str,
    ) -> bool {
        let (Some(c), Some(u), Some(s)) = (
            self.roster
                .classes
                .iter()
                .position(|x| x.sourced_id.as_str() == class),
            self.roster
                .users
                .iter()
                .position(|x| x.sourced_id.as_str() == user),
            self.roster
                .orgs
                .iter()
                .position(|x| x.sourced_id.as_str() == school),
        ) else {
            return false;
        };
        (e.class, e.user, e.school) = (c as u32, u as u32, s as u32);
        let id = e.sourced_id.clone();
        let class_id = self.roster.classes[c].sourced_id.clone();
        self.roster.enrollments.push(e);
        self.touch(Coll::Enrollments, &id);
        self.event("sections.updated", ("sections", &class_id), None);
        true
    }

    /// Deletes an enrollment: gone from the live list (offsets shift), served as a tombstone.
    pub fn remove_enrollment(&mut self, id: &str) -> bool {
        let Some(i) = self
            .roster
            .enrollments
            .iter()
            .position(|e| e.sourced_id.as_str() == id)
        else {
            return false;
        };
        let e = self.roster.enrollments.remove(i);
        let class_id = self.roster.classes[e.class as usize].sourced_id.clone();
        self.tombstones.push(Tombstone {
            coll: Coll::Enrollments,
            id: e.sourced_id,
            modified: now(),
        });
        self.event("sections.updated", ("sections", &class_id), None);
        true
    }

    /// Deletes a user with their enrollments and the agent links to them.
    pub fn remove_user(&mut self, id: &str) -> bool {
        let Some(ix) = self
            .roster
            .users
            .iter()
            .position(|u| u.sourced_id.as_str() == id)
        else {
            return false;
        };
        let clever_snapshot = Some(crate::clever::user_json(
            &self.roster,
            ix,
            &crate::clever::Links::new(&self.roster),
        ));
        let gone: Vec<String> = self
            .roster
            .enrollments
            .iter()
            .filter(|e| e.user as usize == ix)
            .map(|e| e.sourced_id.to_string())
            .collect();
        for e in gone {
            self.remove_enrollment(&e);
        }
        let user = self.roster.users.remove(ix);
        for e in &mut self.roster.enrollments {
            if e.user as usize > ix {
                e.user -= 1;
            }
        }
        let mut relinked = Vec::new();
        for u in &mut self.roster.users {
            if u.agents().any(|a| a == user.sourced_id.as_str()) {
                u.edit_texts(|t| t.agents.retain(|a| a != user.sourced_id.as_str()));
                relinked.push(u.sourced_id.clone());
            }
        }
        for r in relinked {
            self.touch(Coll::Users, &r);
            self.event("users.updated", ("users", &r), None);
        }
        self.tombstones.push(Tombstone {
            coll: Coll::Users,
            id: user.sourced_id.clone(),
            modified: now(),
        });
        self.event(
            "users.deleted",
            ("users", &user.sourced_id),
            clever_snapshot,
        );
        true
    }
}
