//! The in-memory store: tables plus the indexes lookups and pagination need.
//!
//! Everything lives in one `Store` value guarded by one lock in `AppState`. SIS imports take the
//! write lock a chunk of rows at a time, so reads interleave with a long import. Tables are
//! append-only `Vec`s (ids never reused), and every per-parent index is a `Vec<u64>` of ids
//! pushed in creation order, hence already sorted by id: pages are served by skipping into
//! those lists, never by copying a table. Persistence (`--db`) can snapshot these tables later
//! without changing the callers, because all mutation goes through methods here and in `sis`.

use std::collections::HashMap;

use chrono::Utc;

use crate::model::*;
use crate::sis::batch::SisBatch;

/// The root account every sandbox starts with.
pub const ROOT_ACCOUNT_ID: u64 = 1;
/// The default term of the root account ("Default Term").
pub const DEFAULT_TERM_ID: u64 = 1;

#[derive(Debug, Default)]
pub struct Store {
    pub accounts: Vec<Account>,
    pub terms: Vec<Term>,
    pub users: Vec<User>,
    pub logins: Vec<Login>,
    pub courses: Vec<Course>,
    pub sections: Vec<Section>,
    pub enrollments: Vec<Enrollment>,
    pub observer_links: Vec<ObserverLink>,
    pub roles: Vec<Role>,
    pub admins: Vec<AccountUser>,
    pub group_categories: Vec<GroupCategory>,
    pub groups: Vec<Group>,
    pub group_memberships: Vec<GroupMembership>,
    pub batches: Vec<SisBatch>,
    /// State changes made by imports, for restore_states and statistics.
    pub rollback: Vec<RollBack>,
    pub progresses: Vec<Progress>,
    /// Files served at `/files/:id/download` (uploads, CSV copies, errors CSVs).
    pub files: Vec<StoredFile>,
    /// Grading schemes (`/courses/:id/grading_standards`, `/accounts/:id/grading_standards`).
    pub grading_standards: Vec<GradingStandard>,
    /// The user every API token acts as (`users/self`, an import's `user`): an admin of root
    /// account 1, created with the store (see [`Store::ensure_api_user`]).
    pub api_user: Option<u64>,

    // SIS-id indexes (all within the single root account the sandbox serves).
    pub account_by_sis: HashMap<String, u64>,
    pub account_by_integration: HashMap<String, u64>,
    pub term_by_sis: HashMap<String, u64>,
    pub term_by_integration: HashMap<String, u64>,
    pub course_by_sis: HashMap<String, u64>,
    pub course_by_integration: HashMap<String, u64>,
    pub section_by_sis: HashMap<String, u64>,
    pub section_by_integration: HashMap<String, u64>,
    pub login_by_sis: HashMap<String, u64>,
    pub group_by_sis: HashMap<String, u64>,
    pub group_category_by_sis: HashMap<String, u64>,
    pub login_by_integration: HashMap<String, u64>,
    /// Lower-cased unique_id → login ids (several only when deleted or per auth provider).
    pub logins_by_unique_id: HashMap<String, Vec<u64>>,

    // Parent → children, ids ascending.
    pub sub_accounts: HashMap<u64, Vec<u64>>,
    pub courses_by_account: HashMap<u64, Vec<u64>>,
    pub sections_by_course: HashMap<u64, Vec<u64>>,
    pub enrollments_by_section: HashMap<u64, Vec<u64>>,
    pub enrollments_by_course: HashMap<u64, Vec<u64>>,
    pub enrollments_by_user: HashMap<u64, Vec<u64>>,
    pub logins_by_user: HashMap<u64, Vec<u64>>,
    pub links_by_student: HashMap<u64, Vec<u64>>,
    pub links_by_observer: HashMap<u64, Vec<u64>>,
    pub memberships_by_group: HashMap<u64, Vec<u64>>,
    pub memberships_by_user: HashMap<u64, Vec<u64>>,
    /// Enrollment identity: (section, user, role, associated user) → enrollment id.
    pub enrollment_key: HashMap<(u64, u64, u64, Option<u64>), u64>,
}

/// Canvas's `update_from`: an observer enrollment mirrors its student enrollment.
fn copy_linked(o: &mut Enrollment, se: &Enrollment) {
    if o.workflow_state != se.workflow_state {
        o.workflow_state = se.workflow_state;
        o.updated_at = Utc::now();
    }
    o.start_at = se.start_at;
    o.end_at = se.end_at;
    o.completed_at = se.completed_at;
}

/// Move an id from one parent's list to another's, keeping both sorted.
fn move_child(index: &mut HashMap<u64, Vec<u64>>, from: u64, to: u64, id: u64) {
    if let Some(list) = index.get_mut(&from) {
        list.retain(|x| *x != id);
    }
    let list = index.entry(to).or_default();
    let pos = list.partition_point(|x| *x < id);
    list.insert(pos, id);
}

impl Store {
    /// A fresh store: root account 1, its default term, and the built-in roles.
    pub fn new() -> Self {
        let now = Utc::now();
        let mut s = Store::default();
        s.accounts.push(Account {
            id: ROOT_ACCOUNT_ID,
            parent_account_id: None,
            root_account_id: None,
            name: "Sandbox Root Account".into(),
            workflow_state: ActiveDeleted::Active,
            sis_source_id: None,
            integration_id: None,
            sis_batch_id: None,
            stuck: StuckFields::new(),
            created_at: now,
        });
        s.terms.push(Term {
            id: DEFAULT_TERM_ID,
            root_account_id: ROOT_ACCOUNT_ID,
            name: "Default Term".into(),
            start_at: None,
            end_at: None,
            workflow_state: ActiveDeleted::Active,
            sis_source_id: None,
            integration_id: None,
            sis_batch_id: None,
            overrides: Vec::new(),
            stuck: StuckFields::new(),
            created_at: now,
        });
        // Ids 1..=7 mirror Canvas's usual built-in role ids (2 was the retired AccountMembership).
        let builtins = [
            (1, "AccountAdmin", "AccountMembership"),
            (2, "AccountMembership", "AccountMembership"),
            (3, "StudentEnrollment", "StudentEnrollment"),
            (4, "TeacherEnrollment", "TeacherEnrollment"),
            (5, "TaEnrollment", "TaEnrollment"),
            (6, "DesignerEnrollment", "DesignerEnrollment"),
            (7, "ObserverEnrollment", "ObserverEnrollment"),
        ];
        for (id, name, base) in builtins {
            s.roles.push(Role {
                id,
                name: name.into(),
                base_role_type: base.into(),
                account_id: ROOT_ACCOUNT_ID,
                built_in: true,
                workflow_state: "built_in".into(),
            });
        }
        s.ensure_api_user();
        s
    }

    /// The user API tokens act as. Canvas tokens always belong to a user; the sandbox's
    /// belong to one admin of root account 1, created here when the store has none (a fresh
    /// sandbox, or a snapshot saved before tokens had a user).
    pub fn ensure_api_user(&mut self) -> u64 {
        if let Some(id) = self.api_user.filter(|id| self.user(*id).is_some()) {
            return id;
        }
        let now = Utc::now();
        let user_id = self.insert_user(User {
            id: 0,
            name: "Sandbox Admin".into(),
            sortable_name: "Admin, Sandbox".into(),
            short_name: "Sandbox Admin".into(),
            pronouns: None,
            workflow_state: "registered".into(),
            stuck: StuckFields::new(),
            created_at: now,
        });
        self.insert_login(Login {
            id: 0,
            user_id,
            account_id: ROOT_ACCOUNT_ID,
            unique_id: "sandbox-admin".into(),
            sis_user_id: None,
            integration_id: None,
            authentication_provider_id: None,
            declared_user_type: None,
            workflow_state: LoginState::Active,
            sis_batch_id: None,
            password_auto_generated: false,
            has_password: false,
            email: None,
            stuck: StuckFields::new(),
            created_at: now,
        });
        let admin_id = self.admins.len() as u64 + 1;
        self.admins.push(AccountUser {
            id: admin_id,
            user_id,
            account_id: ROOT_ACCOUNT_ID,
            role_id: 1, // AccountAdmin
            workflow_state: ActiveDeleted::Active,
            sis_batch_id: None,
        });
        self.api_user = Some(user_id);
        user_id
    }

    /// Store a file's bytes; returns its id.
    pub fn insert_file(
        &mut self,
        batch_id: u64,
        role: FileRole,
        display_name: &str,
        content_type: &str,
        bytes: std::sync::Arc<Vec<u8>>,
    ) -> u64 {
        let id = self.files.len() as u64 + 1;
        self.files.push(StoredFile {
            id,
            uuid: crate::secret::random_hex(3),
            display_name: display_name.to_string(),
            content_type: content_type.to_string(),
            size: bytes.len() as u64,
            batch_id,
            role,
            uploaded: true,
            upload_token: None,
            created_at: Utc::now(),
            bytes,
        });
        id
    }

    /// A file announced by a `pre_attachment`, waiting for its bytes (`token` authorises the
    /// upload).
    pub fn insert_pending_upload(
        &mut self,
        batch_id: u64,
        name: &str,
        content_type: &str,
        token: &str,
    ) -> u64 {
        let id = self.insert_file(
            batch_id,
            FileRole::SisUpload,
            name,
            content_type,
            std::sync::Arc::default(),
        );
        if let Some(f) = self.file_mut(id) {
            f.uploaded = false;
            f.upload_token = Some(token.to_string());
        }
        id
    }

    pub fn file_mut(&mut self, id: u64) -> Option<&mut StoredFile> {
        self.files.get_mut(id.checked_sub(1)? as usize)
    }

    /// Store a finished batch's errors CSV as its `errors_attachment` (once, and only when the
    /// batch has messages).
    pub fn attach_errors_file(&mut self, batch_id: u64) {
        let Some(b) = self.batch(batch_id) else {
            return;
        };
        if b.messages.is_empty() || b.errors_file.is_some() {
            return;
        }
        let csv = std::sync::Arc::new(b.errors_csv().into_bytes());
        let name = format!("sis_errors_attachment_{batch_id}.csv");
        let id = self.insert_file(batch_id, FileRole::Errors, &name, "text/csv", csv);
        if let Some(b) = self.batch_mut(batch_id) {
            b.errors_file = Some(id);
        }
    }

    pub fn file(&self, id: u64) -> Option<&StoredFile> {
        self.files.get(id.checked_sub(1)? as usize)
    }

    pub fn account(&self, id: u64) -> Option<&Account> {
        self.accounts.get(id.checked_sub(1)? as usize)
    }
    pub fn term(&self, id: u64) -> Option<&Term> {
        self.terms.get(id.checked_sub(1)? as usize)
    }
    pub fn user(&self, id: u64) -> Option<&User> {
        self.users.get(id.checked_sub(1)? as usize)
    }
    pub fn login(&self, id: u64) -> Option<&Login> {
        self.logins.get(id.checked_sub(1)? as usize)
    }
    pub fn course(&self, id: u64) -> Option<&Course> {
        self.courses.get(id.checked_sub(1)? as usize)
    }
    pub fn section(&self, id: u64) -> Option<&Section> {
        self.sections.get(id.checked_sub(1)? as usize)
    }
    pub fn enrollment(&self, id: u64) -> Option<&Enrollment> {
        self.enrollments.get(id.checked_sub(1)? as usize)
    }
    pub fn batch(&self, id: u64) -> Option<&SisBatch> {
        self.batches.get(id.checked_sub(1)? as usize)
    }
    pub fn batch_mut(&mut self, id: u64) -> Option<&mut SisBatch> {
        self.batches.get_mut(id.checked_sub(1)? as usize)
    }

    // Mutable accessors for ids the store itself handed out; an out-of-range id is a bug in the
    // caller, but we still refuse to panic on it and hand back `None`.
    pub fn account_mut(&mut self, id: u64) -> Option<&mut Account> {
        self.accounts.get_mut(id.checked_sub(1)? as usize)
    }
    pub fn term_mut(&mut self, id: u64) -> Option<&mut Term> {
        self.terms.get_mut(id.checked_sub(1)? as usize)
    }
    pub fn user_mut(&mut self, id: u64) -> Option<&mut User> {
        self.users.get_mut(id.checked_sub(1)? as usize)
    }
    pub fn login_mut(&mut self, id: u64) -> Option<&mut Login> {
        self.logins.get_mut(id.checked_sub(1)? as usize)
    }
    pub fn course_mut(&mut self, id: u64) -> Option<&mut Course> {
        self.courses.get_mut(id.checked_sub(1)? as usize)
    }
    pub fn section_mut(&mut self, id: u64) -> Option<&mut Section> {
        self.sections.get_mut(id.checked_sub(1)? as usize)
    }
    pub fn enrollment_mut(&mut self, id: u64) -> Option<&mut Enrollment> {
        self.enrollments.get_mut(id.checked_sub(1)? as usize)
    }

    // ---- inserts (each keeps the indexes right) ----

    pub fn insert_account(&mut self, mut a: Account) -> u64 {
        a.id = self.accounts.len() as u64 + 1;
        if let Some(s) = &a.sis_source_id {
            self.account_by_sis.insert(s.clone(), a.id);
        }
        if let Some(s) = &a.integration_id {
            self.account_by_integration.insert(s.clone(), a.id);
        }
        if let Some(p) = a.parent_account_id {
            self.sub_accounts.entry(p).or_default().push(a.id);
        }
        let id = a.id;
        self.accounts.push(a);
        id
    }

    pub fn insert_term(&mut self, mut t: Term) -> u64 {
        t.id = self.terms.len() as u64 + 1;
        if let Some(s) = &t.sis_source_id {
            self.term_by_sis.insert(s.clone(), t.id);
        }
        if let Some(s) = &t.integration_id {
            self.term_by_integration.insert(s.clone(), t.id);
        }
        let id = t.id;
        self.terms.push(t);
        id
    }

    pub fn insert_user(&mut self, mut u: User) -> u64 {
        u.id = self.users.len() as u64 + 1;
        let id = u.id;
        self.users.push(u);
        id
    }

    pub fn insert_login(&mut self, mut l: Login) -> u64 {
        l.id = self.logins.len() as u64 + 1;
        if let Some(s) = &l.sis_user_id {
            self.login_by_sis.insert(s.clone(), l.id);
        }
        if let Some(s) = &l.integration_id {
            self.login_by_integration.insert(s.clone(), l.id);
        }
        self.logins_by_unique_id
            .entry(l.unique_id.to_lowercase())
            .or_default()
            .push(l.id);
        self.logins_by_user.entry(l.user_id).or_default().push(l.id);
        let id = l.id;
        self.logins.push(l);
        id
    }

    pub fn insert_course(&mut self, mut c: Course) -> u64 {
        c.id = self.courses.len() as u64 + 1;
        if let Some(s) = &c.sis_source_id {
            self.course_by_sis.insert(s.clone(), c.id);
        }
        if let Some(s) = &c.integration_id {
            self.course_by_integration.insert(s.clone(), c.id);
        }
        self.courses_by_account
            .entry(c.account_id)
            .or_default()
            .push(c.id);
        let id = c.id;
        self.courses.push(c);
        id
    }

    pub fn insert_section(&mut self, mut s: Section) -> u64 {
        s.id = self.sections.len() as u64 + 1;
        if let Some(x) = &s.sis_source_id {
            self.section_by_sis.insert(x.clone(), s.id);
        }
        if let Some(x) = &s.integration_id {
            self.section_by_integration.insert(x.clone(), s.id);
        }
        self.sections_by_course
            .entry(s.course_id)
            .or_default()
            .push(s.id);
        let id = s.id;
        self.sections.push(s);
        id
    }

    pub fn insert_enrollment(&mut self, mut e: Enrollment) -> u64 {
        e.id = self.enrollments.len() as u64 + 1;
        self.enrollment_key.insert(
            (
                e.course_section_id,
                e.user_id,
                e.role_id,
                e.associated_user_id,
            ),
            e.id,
        );
        self.enrollments_by_section
            .entry(e.course_section_id)
            .or_default()
            .push(e.id);
        self.enrollments_by_course
            .entry(e.course_id)
            .or_default()
            .push(e.id);
        self.enrollments_by_user
            .entry(e.user_id)
            .or_default()
            .push(e.id);
        let id = e.id;
        self.enrollments.push(e);
        id
    }

    pub fn insert_link(&mut self, mut l: ObserverLink) -> u64 {
        l.id = self.observer_links.len() as u64 + 1;
        self.links_by_student
            .entry(l.student_id)
            .or_default()
            .push(l.id);
        self.links_by_observer
            .entry(l.observer_id)
            .or_default()
            .push(l.id);
        let id = l.id;
        self.observer_links.push(l);
        id
    }

    // ---- index maintenance for changed keys ----

    /// Re-key an object's SIS id in one of the maps (`None` removes it).
    pub fn rekey(
        map: &mut HashMap<String, u64>,
        old: &Option<String>,
        new: &Option<String>,
        id: u64,
    ) {
        if old == new {
            return;
        }
        if let Some(o) = old {
            if map.get(o) == Some(&id) {
                map.remove(o);
            }
        }
        if let Some(n) = new {
            map.insert(n.clone(), id);
        }
    }

    pub fn set_course_integration_id(&mut self, id: u64, new: Option<String>) {
        let Some(old) = self.course(id).map(|c| c.integration_id.clone()) else {
            return;
        };
        Self::rekey(&mut self.course_by_integration, &old, &new, id);
        if let Some(c) = self.course_mut(id) {
            c.integration_id = new;
        }
    }
    pub fn set_section_integration_id(&mut self, id: u64, new: Option<String>) {
        let Some(old) = self.section(id).map(|c| c.integration_id.clone()) else {
            return;
        };
        Self::rekey(&mut self.section_by_integration, &old, &new, id);
        if let Some(c) = self.section_mut(id) {
            c.integration_id = new;
        }
    }
    pub fn set_account_integration_id(&mut self, id: u64, new: Option<String>) {
        let Some(old) = self.account(id).map(|c| c.integration_id.clone()) else {
            return;
        };
        Self::rekey(&mut self.account_by_integration, &old, &new, id);
        if let Some(c) = self.account_mut(id) {
            c.integration_id = new;
        }
    }
    pub fn set_term_integration_id(&mut self, id: u64, new: Option<String>) {
        let Some(old) = self.term(id).map(|c| c.integration_id.clone()) else {
            return;
        };
        Self::rekey(&mut self.term_by_integration, &old, &new, id);
        if let Some(c) = self.term_mut(id) {
            c.integration_id = new;
        }
    }
    pub fn set_login_sis_user_id(&mut self, id: u64, new: Option<String>) {
        let Some(old) = self.login(id).map(|c| c.sis_user_id.clone()) else {
            return;
        };
        Self::rekey(&mut self.login_by_sis, &old, &new, id);
        if let Some(c) = self.login_mut(id) {
            c.sis_user_id = new;
        }
    }
    pub fn set_login_integration_id(&mut self, id: u64, new: Option<String>) {
        let Some(old) = self.login(id).map(|c| c.integration_id.clone()) else {
            return;
        };
        Self::rekey(&mut self.login_by_integration, &old, &new, id);
        if let Some(c) = self.login_mut(id) {
            c.integration_id = new;
        }
    }
    pub fn set_login_unique_id(&mut self, id: u64, new: String) {
        let Some(old) = self.login(id).map(|c| c.unique_id.to_lowercase()) else {
            return;
        };
        if let Some(list) = self.logins_by_unique_id.get_mut(&old) {
            list.retain(|x| *x != id);
        }
        let list = self
            .logins_by_unique_id
            .entry(new.to_lowercase())
            .or_default();
        let pos = list.partition_point(|x| *x < id);
        list.insert(pos, id);
        if let Some(c) = self.login_mut(id) {
            c.unique_id = new;
        }
    }
    pub fn move_course_account(&mut self, id: u64, to: u64) {
        let Some(from) = self.course(id).map(|c| c.account_id) else {
            return;
        };
        if from == to {
            return;
        }
        move_child(&mut self.courses_by_account, from, to, id);
        if let Some(c) = self.course_mut(id) {
            c.account_id = to;
        }
    }
    pub fn move_account_parent(&mut self, id: u64, to: u64) {
        let Some(from) = self.account(id).and_then(|a| a.parent_account_id) else {
            return;
        };
        if from == to {
            return;
        }
        move_child(&mut self.sub_accounts, from, to, id);
        if let Some(a) = self.account_mut(id) {
            a.parent_account_id = Some(to);
        }
    }
    /// Move a section (and its enrollments) into another course.
    pub fn move_section_course(&mut self, id: u64, to: u64) {
        let Some(from) = self.section(id).map(|s| s.course_id) else {
            return;
        };
        if from == to {
            return;
        }
        move_child(&mut self.sections_by_course, from, to, id);
        if let Some(s) = self.section_mut(id) {
            s.course_id = to;
        }
        let ids = self
            .enrollments_by_section
            .get(&id)
            .cloned()
            .unwrap_or_default();
        for eid in ids {
            move_child(&mut self.enrollments_by_course, from, to, eid);
            if let Some(e) = self.enrollment_mut(eid) {
                e.course_id = to;
            }
        }
    }

    // ---- lookups used by importers and the API ----

    /// Active logins of a user in the root account.
    pub fn active_logins_of(&self, user_id: u64) -> impl Iterator<Item = &Login> + '_ {
        self.logins_by_user
            .get(&user_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.login(*id))
            .filter(|l| l.is_active())
    }

    /// The login to show for a user (`sis_user_id`, `login_id` in user JSON): the first active
    /// one with a SIS id, else the first active one, else the first.
    pub fn primary_login(&self, user_id: u64) -> Option<&Login> {
        let all = self.logins_by_user.get(&user_id)?;
        let logins = || all.iter().filter_map(|id| self.login(*id));
        logins()
            .find(|l| l.is_active() && l.sis_user_id.is_some())
            .or_else(|| logins().find(|l| l.is_active()))
            .or_else(|| logins().next())
    }

    /// A user found by an *active* login's SIS id.
    pub fn user_by_active_sis_id(&self, sis: &str) -> Option<u64> {
        let l = self.login(*self.login_by_sis.get(sis)?)?;
        l.is_active().then_some(l.user_id)
    }

    /// An active section of a course used when an enrollment names only the course: the
    /// course's default section, created on demand like Canvas does.
    pub fn default_section_for(&mut self, course_id: u64) -> Option<u64> {
        let existing = self.sections_by_course.get(&course_id).and_then(|ids| {
            ids.iter().copied().find(|id| {
                self.section(*id)
                    .is_some_and(|s| s.default_section && s.workflow_state == ActiveDeleted::Active)
            })
        });
        if existing.is_some() {
            return existing;
        }
        let c = self.course(course_id)?;
        let section = Section {
            id: 0,
            course_id,
            nonxlist_course_id: None,
            root_account_id: c.root_account_id,
            name: c.name.clone(),
            default_section: true,
            workflow_state: ActiveDeleted::Active,
            sis_source_id: None,
            integration_id: None,
            sis_batch_id: None,
            start_at: None,
            end_at: None,
            restrict_enrollments_to_section_dates: false,
            stuck: StuckFields::new(),
            created_at: Utc::now(),
        };
        Some(self.insert_section(section))
    }

    pub fn role(&self, id: u64) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    // ---- cascades shared by SIS imports and REST writes ----

    /// Set an enrollment's state; a student enrollment's linked observer enrollments follow it
    /// (Canvas's `update_linked_enrollments`).
    pub fn set_enrollment_state(&mut self, id: u64, state: EnrollmentState, batch: Option<u64>) {
        if let (Some(e), Some(_)) = (self.enrollment_mut(id), batch) {
            e.sis_batch_id = batch;
        }
        self.change_enrollment_state(id, state, batch);
    }

    /// Change an enrollment's state as a side effect (cascades, batch cleanup): the change is
    /// journaled for `batch` but the enrollment's own `sis_batch_id` is left alone, so derived
    /// enrollments never look SIS-managed to batch mode.
    pub fn change_enrollment_state(&mut self, id: u64, state: EnrollmentState, batch: Option<u64>) {
        let now = Utc::now();
        let Some(e) = self.enrollment_mut(id) else {
            return;
        };
        let prev = e.workflow_state;
        if prev != state {
            e.workflow_state = state;
            e.updated_at = now;
            e.completed_at = (state == EnrollmentState::Completed).then_some(now);
        }
        let (kind, user, course) = (e.kind, e.user_id, e.course_id);
        self.record(
            batch,
            RbKind::Enrollment,
            id,
            Some(prev.as_str()),
            state.as_str(),
        );
        if kind == EnrollmentType::Student {
            self.update_linked_enrollments(id, prev, batch);
        }
        // Leaving a course (no other live enrollment there) leaves its groups too.
        if state == EnrollmentState::Deleted && prev != EnrollmentState::Deleted {
            let still_in = self
                .enrollments_by_user
                .get(&user)
                .into_iter()
                .flatten()
                .any(|x| {
                    self.enrollment(*x).is_some_and(|o| {
                        o.course_id == course && o.workflow_state != EnrollmentState::Deleted
                    })
                });
            if !still_in {
                self.delete_memberships(user, Some(course), batch);
            }
        }
    }

    /// Copy a student enrollment's state and dates onto its observers' enrollments. Only
    /// observers with an active link count; an observer enrollment deleted on its own is not
    /// brought back, and a student enrollment coming back from inactive, deleted or completed
    /// re-creates missing observer enrollments.
    fn update_linked_enrollments(
        &mut self,
        student_enrollment: u64,
        prev: EnrollmentState,
        batch: Option<u64>,
    ) {
        let Some(se) = self.enrollment(student_enrollment).cloned() else {
            return;
        };
        let role = EnrollmentType::Observer.builtin_role_id();
        for observer in self.active_observers_of(se.user_id) {
            let key = (se.course_section_id, observer, role, Some(se.user_id));
            match self.enrollment_key.get(&key).copied() {
                Some(oid) => {
                    let Some(o) = self.enrollment_mut(oid) else {
                        continue;
                    };
                    if o.workflow_state == EnrollmentState::Deleted
                        && prev != EnrollmentState::Deleted
                    {
                        continue;
                    }
                    let before = o.workflow_state;
                    copy_linked(o, &se);
                    self.record(
                        batch,
                        RbKind::Enrollment,
                        oid,
                        Some(before.as_str()),
                        se.workflow_state.as_str(),
                    );
                }
                None => {
                    let restorable = matches!(
                        prev,
                        EnrollmentState::Inactive
                            | EnrollmentState::Deleted
                            | EnrollmentState::Completed
                    );
                    if restorable && se.workflow_state != EnrollmentState::Deleted {
                        self.ensure_observer_enrollment(observer, student_enrollment, batch);
                    }
                }
            }
        }
    }

    /// Active observer links of a student.
    pub fn active_observers_of(&self, student: u64) -> Vec<u64> {
        self.links_by_student
            .get(&student)
            .into_iter()
            .flatten()
            .filter_map(|id| self.observer_links.get((*id - 1) as usize))
            .filter(|l| l.workflow_state == ActiveDeleted::Active)
            .map(|l| l.observer_id)
            .collect()
    }

    /// Canvas's `create_linked_enrollment_for`: give an observer an enrollment mirroring a
    /// student enrollment, unless a live (not deleted, not inactive) one already exists.
    pub fn ensure_observer_enrollment(
        &mut self,
        observer: u64,
        student_enrollment: u64,
        batch: Option<u64>,
    ) {
        let Some(se) = self.enrollment(student_enrollment).cloned() else {
            return;
        };
        if se.kind != EnrollmentType::Student {
            return;
        }
        let role = EnrollmentType::Observer.builtin_role_id();
        let key = (se.course_section_id, observer, role, Some(se.user_id));
        let now = Utc::now();
        if let Some(id) = self.enrollment_key.get(&key).copied() {
            if let Some(o) = self.enrollment_mut(id) {
                if !matches!(
                    o.workflow_state,
                    EnrollmentState::Deleted | EnrollmentState::Inactive
                ) {
                    return;
                }
                let before = o.workflow_state;
                copy_linked(o, &se);
                self.record(
                    batch,
                    RbKind::Enrollment,
                    id,
                    Some(before.as_str()),
                    se.workflow_state.as_str(),
                );
            }
            return;
        }
        let new_id = self.insert_enrollment(Enrollment {
            id: 0,
            user_id: observer,
            course_id: se.course_id,
            course_section_id: se.course_section_id,
            root_account_id: se.root_account_id,
            kind: EnrollmentType::Observer,
            role_id: role,
            associated_user_id: Some(se.user_id),
            workflow_state: se.workflow_state,
            // Derived enrollments are not SIS rows: batch mode must not clean them up itself.
            sis_batch_id: None,
            start_at: se.start_at,
            end_at: se.end_at,
            completed_at: se.completed_at,
            limit_privileges_to_course_section: false,
            grades: Grades::default(),
            stuck: StuckFields::new(),
            created_at: now,
            updated_at: now,
        });
        self.record(
            batch,
            RbKind::Enrollment,
            new_id,
            None,
            se.workflow_state.as_str(),
        );
    }

    /// Delete every not-deleted enrollment of a user (their last login went away), along with
    /// the observer enrollments linked to their student enrollments, and their admin roles.
    pub fn delete_user_enrollments(&mut self, user_id: u64, batch: Option<u64>) {
        let admins: Vec<u64> = self
            .admins
            .iter()
            .filter(|a| a.user_id == user_id && a.workflow_state == ActiveDeleted::Active)
            .map(|a| a.id)
            .collect();
        for id in admins {
            if let Some(a) = self.admins.get_mut((id - 1) as usize) {
                a.workflow_state = ActiveDeleted::Deleted;
            }
            self.record(batch, RbKind::AccountUser, id, Some("active"), "deleted");
        }
        self.delete_memberships(user_id, None, batch);
        let ids = self
            .enrollments_by_user
            .get(&user_id)
            .cloned()
            .unwrap_or_default();
        for id in ids {
            if self
                .enrollment(id)
                .is_some_and(|e| e.workflow_state != EnrollmentState::Deleted)
            {
                self.change_enrollment_state(id, EnrollmentState::Deleted, batch);
            }
        }
    }

    /// Delete a section's enrollments (the section itself was deleted).
    pub fn delete_section_enrollments(&mut self, section_id: u64, batch: Option<u64>) {
        let ids = self
            .enrollments_by_section
            .get(&section_id)
            .cloned()
            .unwrap_or_default();
        for id in ids {
            if self
                .enrollment(id)
                .is_some_and(|e| e.workflow_state != EnrollmentState::Deleted)
            {
                self.change_enrollment_state(id, EnrollmentState::Deleted, batch);
            }
        }
    }

    /// The link between an observer and a student, in any state.
    pub fn find_link(&self, observer: u64, student: u64) -> Option<u64> {
        self.links_by_observer
            .get(&observer)
            .into_iter()
            .flatten()
            .copied()
            .find(|id| {
                self.observer_links
                    .get((*id - 1) as usize)
                    .is_some_and(|l| l.student_id == student)
            })
    }

    /// Create or restore an observer link, and enroll the observer alongside each of the
    /// student's enrollments (canvas-sis-csv.md §5.9, canvas-rest.md §6.5).
    pub fn link_observer(&mut self, observer: u64, student: u64, batch: Option<u64>) {
        match self
            .find_link(observer, student)
            .and_then(|id| self.observer_links.get_mut((id - 1) as usize))
        {
            Some(l) => {
                let before = l.workflow_state;
                l.workflow_state = ActiveDeleted::Active;
                if batch.is_some() {
                    l.sis_batch_id = batch;
                }
                let id = l.id;
                self.record(
                    batch,
                    RbKind::UserObserver,
                    id,
                    Some(before.as_str()),
                    "active",
                );
            }
            None => {
                let id = self.insert_link(ObserverLink {
                    id: 0,
                    observer_id: observer,
                    student_id: student,
                    root_account_id: ROOT_ACCOUNT_ID,
                    workflow_state: ActiveDeleted::Active,
                    sis_batch_id: batch,
                });
                self.record(batch, RbKind::UserObserver, id, None, "active");
            }
        }
        let student_enrollments: Vec<u64> = self
            .enrollments_by_user
            .get(&student)
            .into_iter()
            .flatten()
            .copied()
            .filter(|id| {
                // Canvas links only active or pending (invited) student enrollments.
                self.enrollment(*id).is_some_and(|e| {
                    e.kind == EnrollmentType::Student
                        && matches!(
                            e.workflow_state,
                            EnrollmentState::Active | EnrollmentState::Invited
                        )
                })
            })
            .collect();
        for e in student_enrollments {
            self.ensure_observer_enrollment(observer, e, batch);
        }
    }

    /// Remove an active observer link and the observer enrollments derived from it; `false`
    /// when there was no active link.
    pub fn unlink_observer(&mut self, observer: u64, student: u64, batch: Option<u64>) -> bool {
        let active = self.find_link(observer, student).filter(|id| {
            self.observer_links
                .get((*id - 1) as usize)
                .is_some_and(|l| l.workflow_state == ActiveDeleted::Active)
        });
        let Some(lid) = active else { return false };
        if let Some(l) = self.observer_links.get_mut((lid - 1) as usize) {
            l.workflow_state = ActiveDeleted::Deleted;
            if batch.is_some() {
                l.sis_batch_id = batch;
            }
        }
        self.record(batch, RbKind::UserObserver, lid, Some("active"), "deleted");
        let derived: Vec<u64> = self
            .enrollments_by_user
            .get(&observer)
            .into_iter()
            .flatten()
            .copied()
            .filter(|id| {
                self.enrollment(*id).is_some_and(|e| {
                    e.kind == EnrollmentType::Observer
                        && e.associated_user_id == Some(student)
                        && e.workflow_state != EnrollmentState::Deleted
                })
            })
            .collect();
        for id in derived {
            self.change_enrollment_state(id, EnrollmentState::Deleted, batch);
        }
        true
    }

    pub fn group(&self, id: u64) -> Option<&Group> {
        self.groups.get(id.checked_sub(1)? as usize)
    }
    pub fn group_mut(&mut self, id: u64) -> Option<&mut Group> {
        self.groups.get_mut(id.checked_sub(1)? as usize)
    }
    pub fn grading_standard(&self, id: u64) -> Option<&GradingStandard> {
        self.grading_standards.get(id.checked_sub(1)? as usize)
    }
    /// Adds a grading standard, giving it the next id.
    pub fn insert_grading_standard(&mut self, mut g: GradingStandard) -> u64 {
        g.id = self.grading_standards.len() as u64 + 1;
        let id = g.id;
        self.grading_standards.push(g);
        id
    }
    /// The standards a course may use: its own and those of its account chain.
    pub fn grading_standards_for_course(&self, course: u64) -> Vec<&GradingStandard> {
        let mut accounts = Vec::new();
        let mut a = self.course(course).map(|c| c.account_id);
        while let Some(id) = a {
            accounts.push(id);
            a = self.account(id).and_then(|x| x.parent_account_id);
        }
        self.grading_standards
            .iter()
            .filter(|g| {
                (g.context_type == "Course" && g.context_id == course)
                    || (g.context_type == "Account" && accounts.contains(&g.context_id))
            })
            .collect()
    }
    pub fn group_category(&self, id: u64) -> Option<&GroupCategory> {
        self.group_categories.get(id.checked_sub(1)? as usize)
    }
    pub fn group_category_mut(&mut self, id: u64) -> Option<&mut GroupCategory> {
        self.group_categories.get_mut(id.checked_sub(1)? as usize)
    }
    pub fn membership_mut(&mut self, id: u64) -> Option<&mut GroupMembership> {
        self.group_memberships.get_mut(id.checked_sub(1)? as usize)
    }

    pub fn insert_group_category(&mut self, mut c: GroupCategory) -> u64 {
        c.id = self.group_categories.len() as u64 + 1;
        if let Some(s) = &c.sis_source_id {
            self.group_category_by_sis.insert(s.clone(), c.id);
        }
        let id = c.id;
        self.group_categories.push(c);
        id
    }

    pub fn insert_group(&mut self, mut g: Group) -> u64 {
        g.id = self.groups.len() as u64 + 1;
        if let Some(s) = &g.sis_source_id {
            self.group_by_sis.insert(s.clone(), g.id);
        }
        let id = g.id;
        self.groups.push(g);
        id
    }

    pub fn insert_membership(&mut self, mut m: GroupMembership) -> u64 {
        m.id = self.group_memberships.len() as u64 + 1;
        self.memberships_by_group
            .entry(m.group_id)
            .or_default()
            .push(m.id);
        self.memberships_by_user
            .entry(m.user_id)
            .or_default()
            .push(m.id);
        let id = m.id;
        self.group_memberships.push(m);
        id
    }

    /// Accepted memberships of a group.
    pub fn active_memberships(
        &self,
        group: u64,
    ) -> impl Iterator<Item = &GroupMembership> + Clone + '_ {
        self.memberships_by_group
            .get(&group)
            .into_iter()
            .flatten()
            .filter_map(|id| self.group_memberships.get((*id - 1) as usize))
            .filter(|m| m.workflow_state == "accepted")
    }

    /// Delete a user's accepted group memberships, in one course's groups or everywhere.
    pub fn delete_memberships(&mut self, user: u64, course: Option<u64>, batch: Option<u64>) {
        let ids = self
            .memberships_by_user
            .get(&user)
            .cloned()
            .unwrap_or_default();
        for id in ids {
            let in_scope = self
                .group_memberships
                .get((id - 1) as usize)
                .is_some_and(|m| {
                    m.workflow_state == "accepted"
                        && course.is_none_or(|c| {
                            self.group(m.group_id)
                                .is_some_and(|g| g.context == Context::Course(c))
                        })
                });
            if in_scope {
                if let Some(m) = self.membership_mut(id) {
                    m.workflow_state = "deleted".into();
                }
                self.record(
                    batch,
                    RbKind::GroupMembership,
                    id,
                    Some("accepted"),
                    "deleted",
                );
            }
        }
    }

    /// Record a state change made by an import (nothing for API changes, or no change).
    pub fn record(
        &mut self,
        batch: Option<u64>,
        kind: RbKind,
        id: u64,
        previous: Option<&str>,
        updated: &str,
    ) {
        let Some(batch_id) = batch else { return };
        if previous == Some(updated) {
            return;
        }
        self.rollback.push(RollBack {
            batch_id,
            kind,
            id,
            previous: previous.map(state_code),
            updated: state_code(updated),
            batch_mode_delete: false,
            restored: false,
        });
    }

    /// The workflow state of any journaled object, as Canvas names it.
    pub fn state_of(&self, kind: RbKind, id: u64) -> Option<String> {
        let i = id.checked_sub(1)? as usize;
        Some(match kind {
            RbKind::Account => self.accounts.get(i)?.workflow_state.as_str().to_string(),
            RbKind::EnrollmentTerm => self.terms.get(i)?.workflow_state.as_str().to_string(),
            RbKind::Course => self
                .courses
                .get(i)?
                .workflow_state
                .internal_str()
                .to_string(),
            RbKind::CourseSection => self.sections.get(i)?.workflow_state.as_str().to_string(),
            RbKind::GroupCategory => if self.group_categories.get(i)?.deleted {
                "deleted"
            } else {
                "active"
            }
            .to_string(),
            RbKind::Group => self.groups.get(i)?.workflow_state.clone(),
            RbKind::Pseudonym => self.logins.get(i)?.workflow_state.as_str().to_string(),
            RbKind::Enrollment => self.enrollments.get(i)?.workflow_state.as_str().to_string(),
            RbKind::GroupMembership => self.group_memberships.get(i)?.workflow_state.clone(),
            RbKind::UserObserver => self
                .observer_links
                .get(i)?
                .workflow_state
                .as_str()
                .to_string(),
            RbKind::AccountUser => self.admins.get(i)?.workflow_state.as_str().to_string(),
        })
    }

    /// Put an object back into a state (restore_states). `false` for an unknown state.
    pub fn set_state(&mut self, kind: RbKind, id: u64, state: &str) -> bool {
        let Some(i) = id.checked_sub(1).map(|i| i as usize) else {
            return false;
        };
        match kind {
            RbKind::Account => match (self.accounts.get_mut(i), ActiveDeleted::parse(state)) {
                (Some(x), Some(st)) => x.workflow_state = st,
                _ => return false,
            },
            RbKind::EnrollmentTerm => match (self.terms.get_mut(i), ActiveDeleted::parse(state)) {
                (Some(x), Some(st)) => x.workflow_state = st,
                _ => return false,
            },
            RbKind::Course => match (self.courses.get_mut(i), CourseState::parse_internal(state)) {
                (Some(x), Some(st)) => x.workflow_state = st,
                _ => return false,
            },
            RbKind::CourseSection => {
                match (self.sections.get_mut(i), ActiveDeleted::parse(state)) {
                    (Some(x), Some(st)) => x.workflow_state = st,
                    _ => return false,
                }
            }
            RbKind::GroupCategory => match self.group_categories.get_mut(i) {
                Some(x) => x.deleted = state == "deleted",
                None => return false,
            },
            RbKind::Group => match self.groups.get_mut(i) {
                Some(x) => x.workflow_state = state.to_string(),
                None => return false,
            },
            RbKind::Pseudonym => match (self.logins.get_mut(i), LoginState::parse(state)) {
                (Some(x), Some(st)) => x.workflow_state = st,
                _ => return false,
            },
            RbKind::Enrollment => {
                match (self.enrollments.get_mut(i), EnrollmentState::parse(state)) {
                    (Some(x), Some(st)) => {
                        x.workflow_state = st;
                        x.updated_at = Utc::now();
                    }
                    _ => return false,
                }
            }
            RbKind::GroupMembership => match self.group_memberships.get_mut(i) {
                Some(x) => x.workflow_state = state.to_string(),
                None => return false,
            },
            RbKind::UserObserver => {
                match (self.observer_links.get_mut(i), ActiveDeleted::parse(state)) {
                    (Some(x), Some(st)) => x.workflow_state = st,
                    _ => return false,
                }
            }
            RbKind::AccountUser => match (self.admins.get_mut(i), ActiveDeleted::parse(state)) {
                (Some(x), Some(st)) => x.workflow_state = st,
                _ => return false,
            },
        }
        true
    }

    /// Journal an object an import just created.
    pub fn record_new(&mut self, batch: u64, kind: RbKind, id: u64) {
        if let Some(now) = self.state_of(kind, id) {
            self.record(Some(batch), kind, id, None, &now);
        }
    }

    /// Journal an import's change to an object, given its state before the row.
    pub fn record_since(&mut self, batch: u64, kind: RbKind, id: u64, before: Option<String>) {
        if let (Some(b), Some(now)) = (before, self.state_of(kind, id)) {
            self.record(Some(batch), kind, id, Some(&b), &now);
        }
    }
}
