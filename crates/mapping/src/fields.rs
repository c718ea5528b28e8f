//! Field mappings applied to mapped objects: property lookups per entity, and the passes
//! that set configured fields. Only runs for entities with configured fields; the default
//! mapping never enters this module.

use rosterbridge_config::fields::{
    AccountField, ClassProp, CourseField, FieldMappings, OrgProp, SectionField, SessionProp,
    TermField, UserField, UserProp,
};
use rosterbridge_model::canvas::{self as cv, UserFields};
use rosterbridge_model::roster::{AcademicSession, Class, Course, Org, Roster, User};
use rosterbridge_model::Str;

fn push_list<'a>(
    out: &mut String,
    list: impl IntoIterator<Item = &'a (impl AsRef<str> + ?Sized + 'a)>,
) {
    for (i, v) in list.into_iter().enumerate() {
        let v = v.as_ref();
        if i > 0 {
            out.push(',');
        }
        out.push_str(v);
    }
}

fn push_opt(out: &mut String, v: Option<&str>) {
    if let Some(v) = v {
        out.push_str(v);
    }
}

/// Appends a user's property.
pub fn user_prop(u: &User, p: UserProp, out: &mut String) {
    match p {
        UserProp::SourcedId => out.push_str(u.sourced_id.as_str()),
        UserProp::Username => out.push_str(u.username()),
        UserProp::GivenName => out.push_str(u.given_name()),
        UserProp::MiddleName => push_opt(out, u.middle_name()),
        UserProp::FamilyName => out.push_str(u.family_name()),
        UserProp::PreferredGivenName => push_opt(out, u.preferred_given_name()),
        UserProp::PreferredFamilyName => push_opt(out, u.preferred_family_name()),
        UserProp::Email => push_opt(out, u.email()),
        UserProp::Identifier => push_opt(out, u.identifier()),
        UserProp::Role => out.push_str(u.role.as_str()),
        UserProp::Grades => push_list(out, u.grades()),
        UserProp::Sms => push_opt(out, u.sms()),
        UserProp::Phone => push_opt(out, u.phone()),
        UserProp::UserMasterIdentifier => push_opt(out, u.user_master_identifier()),
    }
}

/// What a course or section is built from: a class, its course, term and school, and the
/// subject of a group-subject shape.
pub struct ClassContext<'a> {
    pub class: &'a Class,
    pub course: Option<&'a Course>,
    pub term: Option<&'a AcademicSession>,
    pub school: Option<&'a Org>,
    pub subject: Option<&'a str>,
}

pub fn class_prop(c: &ClassContext<'_>, p: ClassProp, out: &mut String) {
    let class = c.class;
    match p {
        ClassProp::SourcedId => out.push_str(class.sourced_id.as_str()),
        ClassProp::Title => out.push_str(&class.title),
        ClassProp::ClassCode => push_opt(out, class.class_code.as_deref()),
        ClassProp::Location => push_opt(out, class.location.as_deref()),
        ClassProp::Grades => push_list(out, &class.grades),
        ClassProp::Subjects => push_list(out, &class.subjects),
        ClassProp::SubjectCodes => push_list(out, &class.subject_codes),
        ClassProp::Subject => match (c.subject, c.course) {
            (Some(s), _) => out.push_str(s),
            (None, Some(course)) => out.push_str(&course.title),
            (None, None) => {}
        },
        ClassProp::Periods => push_list(out, &class.periods),
        ClassProp::CourseSourcedId => out.push_str(class.course.as_str()),
        ClassProp::CourseTitle => {
            if let Some(course) = c.course {
                out.push_str(&course.title)
            }
        }
        ClassProp::CourseCode => {
            if let Some(course) = c.course {
                push_opt(out, course.course_code.as_deref())
            }
        }
        ClassProp::TermSourcedId => {
            if let Some(t) = c.term {
                out.push_str(t.sourced_id.as_str())
            }
        }
        ClassProp::TermTitle => {
            if let Some(t) = c.term {
                out.push_str(&t.title)
            }
        }
        ClassProp::SchoolSourcedId => out.push_str(class.school.as_str()),
        ClassProp::SchoolName => {
            if let Some(s) = c.school {
                out.push_str(&s.name)
            }
        }
    }
}

pub fn session_prop(s: &AcademicSession, p: SessionProp, out: &mut String) {
    match p {
        SessionProp::SourcedId => out.push_str(s.sourced_id.as_str()),
        SessionProp::Title => out.push_str(&s.title),
        SessionProp::Type => out.push_str(s.session_type.as_str()),
        SessionProp::SchoolYear => out.push_str(&s.school_year),
        SessionProp::StartDate => out.push_str(&s.start_date.format("%Y-%m-%d").to_string()),
        SessionProp::EndDate => out.push_str(&s.end_date.format("%Y-%m-%d").to_string()),
    }
}

pub fn org_prop(o: &Org, p: OrgProp, out: &mut String) {
    match p {
        OrgProp::SourcedId => out.push_str(o.sourced_id.as_str()),
        OrgProp::Name => out.push_str(&o.name),
        OrgProp::Identifier => push_opt(out, o.identifier.as_deref()),
        OrgProp::Type => out.push_str(o.org_type.as_str()),
    }
}

fn opt_str(s: String) -> Option<Str> {
    (!s.is_empty()).then(|| Str::from(s))
}

/// Sets the configured user fields (login_id is set while users are mapped, because
/// duplicate logins are checked there). `slots[i]` is roster user i's desired index.
pub fn apply_users(
    users: &mut [cv::User],
    roster: &Roster,
    slots: &[Option<u32>],
    rules: &FieldMappings,
) {
    let rules: Vec<_> = rules
        .users
        .iter()
        .filter(|r| r.target != UserField::LoginId)
        .collect();
    if rules.is_empty() {
        return;
    }
    for (ui, slot) in slots.iter().enumerate() {
        let Some(slot) = slot else { continue };
        let (Some(src), Some(dst)) = (roster.users.get(ui), users.get_mut(*slot as usize)) else {
            continue;
        };
        for rule in &rules {
            let v = rule.render(|p, out| user_prop(src, p, out));
            match rule.target {
                UserField::LoginId => {}
                UserField::FirstName => dst.first_name = Str::from(v),
                UserField::LastName => dst.last_name = Str::from(v),
                UserField::Email => dst.email = opt_str(v),
                other => {
                    let x = dst
                        .extra
                        .get_or_insert_with(|| Box::new(UserFields::default()));
                    let v = opt_str(v);
                    match other {
                        UserField::FullName => x.full_name = v,
                        UserField::SortableName => x.sortable_name = v,
                        UserField::ShortName => x.short_name = v,
                        UserField::IntegrationId => x.integration_id = v,
                        UserField::AuthenticationProviderId => x.authentication_provider_id = v,
                        _ => {}
                    }
                }
            }
        }
        if dst
            .extra
            .as_deref()
            .is_some_and(|x| *x == UserFields::default())
        {
            dst.extra = None;
        }
    }
}

pub fn apply_course(course: &mut cv::Course, ctx: &ClassContext<'_>, rules: &FieldMappings) {
    for rule in &rules.courses {
        let v = rule.render(|p, out| class_prop(ctx, p, out));
        match rule.target {
            CourseField::ShortName => course.short_name = Str::from(v),
            CourseField::LongName => course.long_name = Str::from(v),
            CourseField::IntegrationId => course.integration_id = opt_str(v),
        }
    }
}

pub fn apply_section(section: &mut cv::Section, ctx: &ClassContext<'_>, rules: &FieldMappings) {
    for rule in &rules.sections {
        let v = rule.render(|p, out| class_prop(ctx, p, out));
        match rule.target {
            SectionField::Name => section.name = Str::from(v),
            SectionField::IntegrationId => section.integration_id = opt_str(v),
        }
    }
}

pub fn apply_terms(terms: &mut [cv::Term], roster: &Roster, rules: &FieldMappings) {
    if rules.terms.is_empty() {
        return;
    }
    for t in terms {
        let Some(s) = roster.sessions.iter().find(|s| s.sourced_id == t.sis_id) else {
            continue;
        };
        for rule in &rules.terms {
            let v = rule.render(|p, out| session_prop(s, p, out));
            match rule.target {
                TermField::Name => t.name = Str::from(v),
                TermField::IntegrationId => t.integration_id = opt_str(v),
            }
        }
    }
}

pub fn apply_accounts(accounts: &mut [cv::Account], roster: &Roster, rules: &FieldMappings) {
    if rules.accounts.is_empty() {
        return;
    }
    for a in accounts {
        let Some(o) = roster.orgs.iter().find(|o| o.sourced_id == a.sis_id) else {
            continue;
        };
        for rule in &rules.accounts {
            let v = rule.render(|p, out| org_prop(o, p, out));
            match rule.target {
                AccountField::Name => a.name = Str::from(v),
                AccountField::IntegrationId => a.integration_id = opt_str(v),
            }
        }
    }
}

/// Applies configured course and section fields when every class made one course and one
/// section of the same index (the default shape).
pub fn apply_class_shaped(
    desired: &mut cv::DesiredState,
    roster: &Roster,
    class_terms: &[crate::terms::ClassTerm],
    rules: &FieldMappings,
) {
    if rules.courses.is_empty() && rules.sections.is_empty() {
        return;
    }
    let idx = Index::new(roster);
    for (ci, class) in roster.classes.iter().enumerate() {
        let ctx = idx.context(
            class,
            class_terms
                .get(ci)
                .and_then(|t| t.term.as_ref())
                .map(|t| t.as_str()),
            None,
        );
        if let Some(c) = desired.courses.get_mut(ci) {
            apply_course(c, &ctx, rules);
        }
        if let Some(s) = desired.sections.get_mut(ci) {
            apply_section(s, &ctx, rules);
        }
    }
}

/// Lookups by sourcedId for building class contexts.
pub struct Index<'a> {
    courses: rustc_hash::FxHashMap<&'a str, &'a Course>,
    sessions: rustc_hash::FxHashMap<&'a str, &'a AcademicSession>,
    orgs: rustc_hash::FxHashMap<&'a str, &'a Org>,
}

impl<'a> Index<'a> {
    pub fn new(roster: &'a Roster) -> Index<'a> {
        Index {
            courses: roster
                .courses
                .iter()
                .map(|c| (c.sourced_id.as_str(), c))
                .collect(),
            sessions: roster
                .sessions
                .iter()
                .map(|s| (s.sourced_id.as_str(), s))
                .collect(),
            orgs: roster
                .orgs
                .iter()
                .map(|o| (o.sourced_id.as_str(), o))
                .collect(),
        }
    }
    pub fn context(
        &self,
        class: &'a Class,
        term: Option<&str>,
        subject: Option<&'a str>,
    ) -> ClassContext<'a> {
        ClassContext {
            class,
            course: self.courses.get(class.course.as_str()).copied(),
            term: term.and_then(|t| self.sessions.get(t).copied()),
            school: self.orgs.get(class.school.as_str()).copied(),
            subject,
        }
    }
    pub fn course(&self, id: &str) -> Option<&'a Course> {
        self.courses.get(id).copied()
    }
    pub fn session(&self, id: &str) -> Option<&'a AcademicSession> {
        self.sessions.get(id).copied()
    }
    pub fn org(&self, id: &str) -> Option<&'a Org> {
        self.orgs.get(id).copied()
    }
}
