//! The per-entity mapping options: allowed actions per role, first-contact matching,
//! terms, account levels, enrollments (role mapping and sync options) and scoping filters.

use chrono::NaiveDate;
use rosterbridge_model::kind::Kind;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The roles actions are allowed for. Users take the class of their SIS role; enrollments
/// the class of their user; observer links are parents'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleClass {
    Student,
    Teacher,
    /// Parents, guardians, relatives.
    Parent,
    /// Everyone else: aides, administrators, counselors, …
    Staff,
}

impl RoleClass {
    pub const ALL: [RoleClass; 4] = [
        RoleClass::Student,
        RoleClass::Teacher,
        RoleClass::Parent,
        RoleClass::Staff,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            RoleClass::Student => "student",
            RoleClass::Teacher => "teacher",
            RoleClass::Parent => "parent",
            RoleClass::Staff => "staff",
        }
    }
    pub fn parse(s: &str) -> Option<RoleClass> {
        RoleClass::ALL.into_iter().find(|r| r.as_str() == s)
    }
    /// The class of a SIS user role.
    pub fn of(role: &rosterbridge_model::roster::UserRole) -> RoleClass {
        use rosterbridge_model::roster::UserRole;
        match role {
            UserRole::Student => RoleClass::Student,
            UserRole::Teacher => RoleClass::Teacher,
            r if r.is_agent() => RoleClass::Parent,
            _ => RoleClass::Staff,
        }
    }
}

/// An action a configuration may allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntityAction {
    Create,
    Update,
    Deactivate,
}

impl EntityAction {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityAction::Create => "create",
            EntityAction::Update => "update",
            EntityAction::Deactivate => "deactivate",
        }
    }
    fn bit(self) -> u8 {
        match self {
            EntityAction::Create => 1,
            EntityAction::Update => 2,
            EntityAction::Deactivate => 4,
        }
    }
}

const ALL_ACTIONS: u8 = 7;

/// The entity name of a kind in the configuration (`observers` for user_observers).
pub fn entity_name(kind: Kind) -> &'static str {
    match kind {
        Kind::UserObservers => "observers",
        k => k.as_str(),
    }
}

fn kind_of_entity(s: &str) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| entity_name(*k) == s)
}

fn kind_index(kind: Kind) -> usize {
    Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// Which actions are allowed, per entity and role. The default allows everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionRules {
    allowed: [[u8; 4]; 7],
}

impl Default for ActionRules {
    fn default() -> Self {
        ActionRules {
            allowed: [[ALL_ACTIONS; 4]; 7],
        }
    }
}

impl ActionRules {
    pub fn is_default(&self) -> bool {
        *self == ActionRules::default()
    }
    /// Whether `action` is allowed on `kind` for `role`; with the role unknown (a record gone
    /// from the source that nothing identifies), only when every role allows it.
    pub fn allows(&self, kind: Kind, role: Option<RoleClass>, action: EntityAction) -> bool {
        let row = &self.allowed[kind_index(kind)];
        match role {
            Some(r) => row[r as usize] & action.bit() != 0,
            None => row.iter().all(|b| b & action.bit() != 0),
        }
    }
    pub fn set(&mut self, kind: Kind, role: Option<RoleClass>, actions: &[EntityAction]) {
        let bits = actions.iter().fold(0u8, |b, a| b | a.bit());
        let row = &mut self.allowed[kind_index(kind)];
        match role {
            Some(r) => row[r as usize] = bits,
            None => *row = [bits; 4],
        }
    }
}

/// What identifies an existing Canvas record on first contact, after its SIS id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchKey {
    SisId,
    Login,
    Email,
    IntegrationId,
    Name,
    ExternalId,
}

impl MatchKey {
    pub const ALL: [(MatchKey, &'static str); 6] = [
        (MatchKey::SisId, "sis_id"),
        (MatchKey::Login, "login"),
        (MatchKey::Email, "email"),
        (MatchKey::IntegrationId, "integration_id"),
        (MatchKey::Name, "name"),
        (MatchKey::ExternalId, "external_id"),
    ];
    pub fn as_str(self) -> &'static str {
        MatchKey::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
            .unwrap_or("sis_id")
    }
    /// Which keys an entity supports (the SIS id always comes first).
    pub fn supported(kind: Kind) -> &'static [MatchKey] {
        match kind {
            Kind::Users => &[
                MatchKey::SisId,
                MatchKey::Login,
                MatchKey::Email,
                MatchKey::IntegrationId,
            ],
            Kind::Terms => &[MatchKey::SisId, MatchKey::Name],
            // An account's external id is its Canvas integration_id (the two names say the
            // same thing).
            Kind::Accounts => &[
                MatchKey::SisId,
                MatchKey::Name,
                MatchKey::ExternalId,
                MatchKey::IntegrationId,
            ],
            Kind::Courses | Kind::Sections => {
                &[MatchKey::SisId, MatchKey::Name, MatchKey::IntegrationId]
            }
            _ => &[MatchKey::SisId],
        }
    }
}

/// First-contact matching per entity (keys after the SIS id, in order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchRules {
    /// `None`: not configured here (then `canvas.match_users` decides).
    pub users: Option<Vec<MatchKey>>,
    pub terms: Vec<MatchKey>,
    pub accounts: Vec<MatchKey>,
    pub courses: Vec<MatchKey>,
    pub sections: Vec<MatchKey>,
}

impl MatchRules {
    /// The keys of a kind other than users (`[]` for kinds without first-contact matching).
    pub fn of(&self, kind: Kind) -> &[MatchKey] {
        match kind {
            Kind::Terms => &self.terms,
            Kind::Accounts => &self.accounts,
            Kind::Courses => &self.courses,
            Kind::Sections => &self.sections,
            _ => &[],
        }
    }
}

impl Default for MatchRules {
    fn default() -> Self {
        MatchRules {
            users: None,
            terms: vec![MatchKey::SisId, MatchKey::Name],
            accounts: vec![MatchKey::SisId, MatchKey::Name],
            courses: vec![MatchKey::SisId],
            sections: vec![MatchKey::SisId],
        }
    }
}

/// Where Canvas terms come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TermSource {
    /// The documented defaults: semester/term sessions (a class over several semesters of
    /// a year goes in the year).
    #[default]
    Sessions,
    /// One term: the profile's academic period; every class goes in it.
    AcademicPeriod,
    /// The semesters (and terms) of the academic period; a class goes in its earliest.
    Semesters,
}

/// A level of the sub-account hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountLevel {
    /// The district (the school's parent org).
    Institute,
    /// The school (location).
    School,
    /// The class's first grade.
    Grade,
    /// The class's term (marking period).
    MarkingPeriod,
    /// The class's stream: the value of `mapping.accounts.stream` (a class property; its
    /// subjects by default), e.g. "Science" and "Commerce" in grade 11.
    Stream,
}

impl AccountLevel {
    pub const ALL: [(AccountLevel, &'static str); 5] = [
        (AccountLevel::Institute, "institute"),
        (AccountLevel::School, "school"),
        (AccountLevel::Grade, "grade"),
        (AccountLevel::Stream, "stream"),
        (AccountLevel::MarkingPeriod, "marking_period"),
    ];
    pub fn as_str(self) -> &'static str {
        AccountLevel::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
            .unwrap_or("school")
    }
}

/// `[mapping.accounts]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountsConfig {
    pub levels: Vec<AccountLevel>,
    /// The class property a `stream` level is named after.
    pub stream: crate::fields::ClassProp,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            levels: vec![AccountLevel::School],
            stream: crate::fields::ClassProp::Subjects,
        }
    }
}

impl AccountsConfig {
    pub fn is_default(&self) -> bool {
        self.levels == [AccountLevel::School]
    }
}

/// The Canvas role an SIS enrollment role maps to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleTarget {
    /// Not synced.
    None,
    /// A base role (`student`, `teacher`, `ta`, `observer`, `designer`) or a custom role by name.
    Role(rosterbridge_model::canvas::CanvasRole),
}

/// Teacher types that are written as `ext:` enrollment roles (and their short keys).
pub const TEACHER_TYPES: [&str; 5] = [
    "assistant",
    "special_associate",
    "supervisor",
    "second_supervisor",
    "mentor",
];

/// `[mapping.enrollments]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrollmentOptions {
    /// SIS role key → Canvas role. Keys: `student`, `teacher`, `secondary_teacher`
    /// (`primary=false`), `aide` (a teacher enrollment of an aide), `administrator`,
    /// `proctor`, teacher types, or any `ext:` role, verbatim.
    pub roles: BTreeMap<String, RoleTarget>,
    /// Before this day, student enrollments are not synced automatically.
    pub sync_start: Option<NaiveDate>,
    /// Users with no synced enrollment (and observing no synced student) are synced too.
    pub sync_users_without_enrollments: bool,
    /// Enrol, never unenrol.
    pub keep_previous: bool,
    /// Sections new to Canvas are not created (nor enrolled into) automatically.
    pub disable_sync_for_new_sections: bool,
}

impl Default for EnrollmentOptions {
    fn default() -> Self {
        EnrollmentOptions {
            roles: BTreeMap::new(),
            sync_start: None,
            sync_users_without_enrollments: true,
            keep_previous: false,
            disable_sync_for_new_sections: false,
        }
    }
}

impl EnrollmentOptions {
    /// Custom role names the mapping may produce (to check against Canvas).
    pub fn custom_roles(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .roles
            .values()
            .filter_map(|t| match t {
                RoleTarget::Role(rosterbridge_model::canvas::CanvasRole::Custom(c)) => {
                    Some(c.name.to_string())
                }
                _ => None,
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// `[mapping.scope]`: what is in scope. Empty lists mean everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeConfig {
    /// Org sourcedIds (or identifiers) of schools in scope.
    pub schools: Vec<String>,
    /// SIS user roles in scope (`student`, `teacher`, `parent`, …).
    pub roles: Vec<String>,
    /// Grades in scope (students by their grades, classes by theirs).
    pub grades: Vec<String>,
}

impl ScopeConfig {
    pub fn is_empty(&self) -> bool {
        self.schools.is_empty() && self.roles.is_empty() && self.grades.is_empty()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTerms {
    pub from: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccounts {
    pub levels: Option<Spanned<Vec<String>>>,
    pub stream: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnrollments {
    pub roles: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    pub sync_start: Option<Spanned<toml::Value>>,
    pub sync_users_without_enrollments: Option<bool>,
    pub keep_previous: Option<bool>,
    pub disable_sync_for_new_sections: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScope {
    #[serde(default)]
    pub schools: Vec<String>,
    #[serde(default)]
    pub roles: Vec<Spanned<String>>,
    #[serde(default)]
    pub grades: Vec<String>,
}

pub(crate) fn validate_actions(
    raw: &BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    p: &mut crate::raw::Problems<'_>,
) -> ActionRules {
    let mut rules = ActionRules::default();
    let parse_list = |p: &mut crate::raw::Problems<'_>,
                      key: &str,
                      at: usize,
                      v: &toml::Value|
     -> Option<Vec<EntityAction>> {
        let toml::Value::Array(items) = v else {
            p.at_value(
                key,
                at,
                v.to_string(),
                format!("`{key}` must be a list of actions"),
                "e.g. [\"create\", \"update\", \"deactivate\"], or [] for none",
            );
            return None;
        };
        let mut out = Vec::new();
        for item in items {
            match item.as_str() {
                Some("create") => out.push(EntityAction::Create),
                Some("update") => out.push(EntityAction::Update),
                Some("deactivate") => out.push(EntityAction::Deactivate),
                _ => {
                    p.at_value(
                        key,
                        at,
                        item.to_string(),
                        format!("`{key}`: {item} is not an action"),
                        "actions: create, update, deactivate",
                    );
                    return None;
                }
            }
        }
        Some(out)
    };
    for (entity, value) in raw {
        let key = format!("mapping.actions.{}", entity.get_ref());
        let Some(kind) = kind_of_entity(entity.get_ref()) else {
            p.at(
                &key,
                entity,
                format!("`{}` is not an entity", entity.get_ref()),
                "entities: users, terms, courses, sections, enrollments, accounts, observers",
            );
            continue;
        };
        let at = value.span().start;
        match value.get_ref() {
            toml::Value::Table(roles) => {
                for (role, list) in roles {
                    let rkey = format!("{key}.{role}");
                    let Some(rc) = RoleClass::parse(role) else {
                        p.at_value(
                            &rkey,
                            at,
                            role.clone(),
                            format!("`{role}` is not a role class"),
                            "roles: student, teacher, parent, staff",
                        );
                        continue;
                    };
                    if let Some(list) = parse_list(p, &rkey, at, list) {
                        rules.set(kind, Some(rc), &list);
                    }
                }
            }
            v => {
                if let Some(list) = parse_list(p, &key, at, v) {
                    rules.set(kind, None, &list);
                }
            }
        }
    }
    rules
}

pub(crate) fn validate_matching(
    raw: &BTreeMap<Spanned<String>, Spanned<Vec<String>>>,
    p: &mut crate::raw::Problems<'_>,
) -> MatchRules {
    let mut rules = MatchRules::default();
    for (entity, list) in raw {
        let key = format!("mapping.match.{}", entity.get_ref());
        let Some(kind) = kind_of_entity(entity.get_ref())
            .filter(|k| *k != Kind::UserObservers && *k != Kind::Enrollments)
        else {
            p.at(
                &key,
                entity,
                format!("`{}` has no first-contact matching", entity.get_ref()),
                "entities: users, terms, courses, sections, accounts",
            );
            continue;
        };
        let supported = MatchKey::supported(kind);
        let names = |ks: &[MatchKey]| ks.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
        let mut keys = Vec::new();
        let mut ok = true;
        for name in list.get_ref() {
            match MatchKey::ALL
                .iter()
                .find(|(_, n)| n == name)
                .map(|(k, _)| *k)
            {
                Some(k) if supported.contains(&k) => keys.push(k),
                Some(_) => {
                    p.at_value(
                        &key,
                        list.span().start,
                        name.clone(),
                        format!("{} cannot be matched by {name:?} yet", entity.get_ref()),
                        &format!("supported for {}: {}", entity.get_ref(), names(supported)),
                    );
                    ok = false;
                }
                None => {
                    p.at_value(
                        &key,
                        list.span().start,
                        name.clone(),
                        format!("{name:?} is not a matching property"),
                        "properties: sis_id, login, email, integration_id, name, external_id",
                    );
                    ok = false;
                }
            }
        }
        if !ok {
            continue;
        }
        if keys.first() != Some(&MatchKey::SisId) {
            p.at_span(
                &key,
                list.span(),
                format!("`{key}` must start with \"sis_id\": the SIS id is always tried first"),
                "e.g. [\"sis_id\", \"login\", \"email\"]",
            );
            continue;
        }
        match kind {
            Kind::Users => rules.users = Some(keys),
            Kind::Terms => rules.terms = keys,
            Kind::Accounts => rules.accounts = keys,
            Kind::Courses => rules.courses = keys,
            Kind::Sections => rules.sections = keys,
            _ => {}
        }
    }
    rules
}

pub(crate) fn validate_terms(raw: &RawTerms, p: &mut crate::raw::Problems<'_>) -> TermSource {
    match &raw.from {
        None => TermSource::Sessions,
        Some(v) => match v.get_ref().as_str() {
            "sessions" => TermSource::Sessions,
            "academic_period" => TermSource::AcademicPeriod,
            "semesters" => TermSource::Semesters,
            _ => {
                p.at(
                    "mapping.terms.from",
                    v,
                    "`mapping.terms.from` must be one of: sessions, academic_period, semesters"
                        .into(),
                    "academic_period makes one term of the profile's period",
                );
                TermSource::Sessions
            }
        },
    }
}

pub(crate) fn validate_accounts(
    raw: &RawAccounts,
    p: &mut crate::raw::Problems<'_>,
) -> AccountsConfig {
    let stream = match &raw.stream {
        None => crate::fields::ClassProp::Subjects,
        Some(v) => crate::fields::ClassProp::parse(v.get_ref()).unwrap_or_else(|| {
            p.at(
                "mapping.accounts.stream",
                v,
                format!("{:?} is not a class property", v.get_ref()),
                &format!("class properties: {}", crate::fields::ClassProp::names()),
            );
            crate::fields::ClassProp::Subjects
        }),
    };
    let Some(levels) = &raw.levels else {
        return AccountsConfig {
            stream,
            ..AccountsConfig::default()
        };
    };
    let mut out = Vec::new();
    for name in levels.get_ref() {
        match AccountLevel::ALL.iter().find(|(_, n)| n == name) {
            Some((l, _)) if !out.contains(l) => out.push(*l),
            Some(_) => p.at_value(
                "mapping.accounts.levels",
                levels.span().start,
                name.clone(),
                format!("level {name:?} is listed twice"),
                "list each level once, top to bottom",
            ),
            None if name == "location" => out.push(AccountLevel::School),
            None => p.at_value(
                "mapping.accounts.levels",
                levels.span().start,
                name.clone(),
                format!("{name:?} is not an account level"),
                "levels: institute, school (or location), grade, stream, marking_period",
            ),
        }
    }
    if out.is_empty() && p.list.is_empty() {
        p.at_span(
            "mapping.accounts.levels",
            levels.span(),
            "`mapping.accounts.levels` is empty".into(),
            "at least [\"school\"]",
        );
    }
    AccountsConfig {
        levels: out,
        stream,
    }
}

pub(crate) fn validate_enrollments(
    raw: &RawEnrollments,
    p: &mut crate::raw::Problems<'_>,
) -> EnrollmentOptions {
    use rosterbridge_model::canvas::CanvasRole;
    let mut out = EnrollmentOptions::default();
    for (key, target) in raw.roles.iter().flatten() {
        let k = key.get_ref().trim();
        let known = matches!(
            k,
            "student" | "teacher" | "secondary_teacher" | "aide" | "administrator" | "proctor"
        ) || TEACHER_TYPES.contains(&k)
            || k.starts_with("ext:");
        if !known {
            p.at(
                &format!("mapping.enrollments.roles.{k}"),
                key,
                format!("`{k}` is not an SIS enrollment role"),
                &format!("keys: student, teacher, secondary_teacher, aide, administrator, proctor, {}, or an \"ext:...\" role", TEACHER_TYPES.join(", ")),
            );
            continue;
        }
        let t = target.get_ref().trim();
        let value = if t.is_empty() || t == "none" {
            RoleTarget::None
        } else {
            RoleTarget::Role(CanvasRole::parse(t))
        };
        out.roles.insert(k.to_string(), value);
    }
    if let Some(s) = &raw.sync_start {
        match crate::profiles::date_of(s.get_ref()) {
            Some(d) => out.sync_start = Some(d),
            None => p.at_value(
                "mapping.enrollments.sync_start",
                s.span().start,
                s.get_ref().to_string(),
                "`sync_start` must be a date (YYYY-MM-DD)".into(),
                "e.g. sync_start = 2026-08-24",
            ),
        }
    }
    out.sync_users_without_enrollments = raw.sync_users_without_enrollments.unwrap_or(true);
    out.keep_previous = raw.keep_previous.unwrap_or(false);
    out.disable_sync_for_new_sections = raw.disable_sync_for_new_sections.unwrap_or(false);
    out
}

pub(crate) fn validate_scope(raw: &RawScope, p: &mut crate::raw::Problems<'_>) -> ScopeConfig {
    let mut roles = Vec::new();
    for r in &raw.roles {
        let parsed = rosterbridge_model::roster::UserRole::parse(r.get_ref());
        if parsed.is_unknown() {
            p.at(
                "mapping.scope.roles",
                r,
                format!("{:?} is not a OneRoster user role", r.get_ref()),
                "roles: student, teacher, aide, parent, guardian, relative, administrator, …",
            );
        } else {
            roles.push(parsed.as_str().to_string());
        }
    }
    ScopeConfig {
        schools: raw.schools.clone(),
        roles,
        grades: raw.grades.clone(),
    }
}
