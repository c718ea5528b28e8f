//! Field mappings: how a Canvas field of an entity is built from SIS properties.
//!
//! A field is set from a property (`{ property = "email" }`), a static value
//! (`{ static = "Imported" }`) or a template joining several properties
//! (`"{givenName} {middleName} {familyName}"`, or `{ template = "..." }`), with casing
//! `none`, `lower` or `upper`. Empty parts and doubled spaces are collapsed. Templates
//! are compiled once, when the configuration is validated: property names become enum
//! values, so mapping a row never looks a name up.

use toml::Spanned;

/// Letter case applied to a field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Case {
    #[default]
    None,
    Lower,
    Upper,
}

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part<P> {
    Lit(String),
    Prop(P),
}

/// A compiled template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template<P> {
    pub parts: Vec<Part<P>>,
}

/// Where a field's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue<P> {
    Static(String),
    Template(Template<P>),
}

/// One mapped field of an entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRule<P, T> {
    pub target: T,
    pub value: FieldValue<P>,
    pub case: Case,
}

impl<P: Copy, T> FieldRule<P, T> {
    /// The value for one record: `lookup(prop, out)` appends a property's value to `out`.
    /// Whitespace runs collapse to one space, ends are trimmed (so an empty middle name
    /// leaves no double space), then the case is applied.
    pub fn render(&self, mut lookup: impl FnMut(P, &mut String)) -> String {
        let mut raw = String::new();
        match &self.value {
            FieldValue::Static(s) => raw.push_str(s),
            FieldValue::Template(t) => {
                for part in &t.parts {
                    match part {
                        Part::Lit(s) => raw.push_str(s),
                        Part::Prop(p) => lookup(*p, &mut raw),
                    }
                }
            }
        }
        let mut out = String::with_capacity(raw.len());
        for word in raw.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
        match self.case {
            Case::None => out,
            Case::Lower => out.to_lowercase(),
            Case::Upper => out.to_uppercase(),
        }
    }
}

macro_rules! names {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant,)* }
        impl $name {
            pub const ALL: &'static [($name, &'static str)] = &[$(($name::$variant, $text),)*];
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().find(|(_, n)| *n == s).map(|(v, _)| *v)
            }
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }
            pub fn names() -> String {
                Self::ALL.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

names!(
    /// Properties of a OneRoster user.
    UserProp {
        SourcedId = "sourcedId",
        Username = "username",
        GivenName = "givenName",
        MiddleName = "middleName",
        FamilyName = "familyName",
        PreferredGivenName = "preferredGivenName",
        PreferredFamilyName = "preferredFamilyName",
        Email = "email",
        Identifier = "identifier",
        Role = "role",
        Grades = "grades",
        Sms = "sms",
        Phone = "phone",
        UserMasterIdentifier = "userMasterIdentifier",
    }
);

names!(
    /// Properties of a class, with its course, term and school (courses and sections).
    ClassProp {
        SourcedId = "sourcedId",
        Title = "title",
        ClassCode = "classCode",
        Location = "location",
        Grades = "grades",
        Subjects = "subjects",
        SubjectCodes = "subjectCodes",
        Subject = "subject",
        Periods = "periods",
        CourseSourcedId = "courseSourcedId",
        CourseTitle = "courseTitle",
        CourseCode = "courseCode",
        TermSourcedId = "termSourcedId",
        TermTitle = "termTitle",
        SchoolSourcedId = "schoolSourcedId",
        SchoolName = "schoolName",
    }
);

names!(
    /// Properties of an academic session (terms).
    SessionProp {
        SourcedId = "sourcedId",
        Title = "title",
        Type = "type",
        SchoolYear = "schoolYear",
        StartDate = "startDate",
        EndDate = "endDate",
    }
);

names!(
    /// Properties of an org (accounts).
    OrgProp {
        SourcedId = "sourcedId",
        Name = "name",
        Identifier = "identifier",
        Type = "type",
    }
);

names!(
    /// Canvas user fields that can be mapped.
    UserField {
        LoginId = "login_id",
        FirstName = "first_name",
        LastName = "last_name",
        FullName = "full_name",
        SortableName = "sortable_name",
        ShortName = "short_name",
        Email = "email",
        IntegrationId = "integration_id",
        AuthenticationProviderId = "authentication_provider_id",
    }
);

names!(
    /// Canvas course fields that can be mapped.
    CourseField {
        ShortName = "short_name",
        LongName = "long_name",
        IntegrationId = "integration_id",
    }
);

names!(
    /// Canvas section fields that can be mapped.
    SectionField {
        Name = "name",
        IntegrationId = "integration_id",
    }
);

names!(
    /// Canvas term fields that can be mapped.
    TermField {
        Name = "name",
        IntegrationId = "integration_id",
    }
);

names!(
    /// Canvas account fields that can be mapped.
    AccountField {
        Name = "name",
        IntegrationId = "integration_id",
    }
);

/// Fields Canvas needs a value for: mapping one to nothing is an error.
fn required(entity: &str, field: &str) -> bool {
    matches!(
        (entity, field),
        ("users", "login_id")
            | ("courses", "short_name")
            | ("courses", "long_name")
            | ("sections", "name")
            | ("terms", "name")
            | ("accounts", "name")
    )
}

/// Every configured field mapping, compiled. Empty lists mean the documented defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldMappings {
    pub users: Vec<FieldRule<UserProp, UserField>>,
    pub courses: Vec<FieldRule<ClassProp, CourseField>>,
    pub sections: Vec<FieldRule<ClassProp, SectionField>>,
    pub terms: Vec<FieldRule<SessionProp, TermField>>,
    pub accounts: Vec<FieldRule<OrgProp, AccountField>>,
}

impl FieldMappings {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.courses.is_empty()
            && self.sections.is_empty()
            && self.terms.is_empty()
            && self.accounts.is_empty()
    }
    pub fn user(&self, f: UserField) -> Option<&FieldRule<UserProp, UserField>> {
        self.users.iter().find(|r| r.target == f)
    }
}

/// Compiles `"{a} text {b}"`; `Err` names the problem (unknown property, unclosed brace).
pub fn compile<P: Copy>(
    text: &str,
    parse: impl Fn(&str) -> Option<P>,
) -> Result<Template<P>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Lit(rest[..open].to_string()));
        }
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("unclosed `{{` in template {text:?}"));
        };
        let name = after[..close].trim();
        match parse(name) {
            Some(p) => parts.push(Part::Prop(p)),
            None => return Err(format!("unknown property `{name}`")),
        }
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("unmatched `}}` in template {text:?}"));
    }
    if !rest.is_empty() {
        parts.push(Part::Lit(rest.to_string()));
    }
    Ok(Template { parts })
}

type RawEntityFields = std::collections::BTreeMap<Spanned<String>, Spanned<toml::Value>>;

/// `[mapping.fields.<entity>]` tables as written.
pub type RawFields = std::collections::BTreeMap<Spanned<String>, RawEntityFields>;

/// Validates `[mapping.fields.<entity>]` tables.
pub(crate) fn validate_fields(raw: &RawFields, p: &mut crate::raw::Problems<'_>) -> FieldMappings {
    let mut out = FieldMappings::default();
    for (entity, fields) in raw {
        let e = entity.get_ref().as_str();
        match e {
            "users" => {
                out.users = entity_rules(
                    e,
                    fields,
                    p,
                    UserField::parse,
                    UserField::names,
                    UserProp::parse,
                    UserProp::names,
                )
            }
            "courses" => {
                out.courses = entity_rules(
                    e,
                    fields,
                    p,
                    CourseField::parse,
                    CourseField::names,
                    ClassProp::parse,
                    ClassProp::names,
                )
            }
            "sections" => {
                out.sections = entity_rules(
                    e,
                    fields,
                    p,
                    SectionField::parse,
                    SectionField::names,
                    ClassProp::parse,
                    ClassProp::names,
                )
            }
            "terms" => {
                out.terms = entity_rules(
                    e,
                    fields,
                    p,
                    TermField::parse,
                    TermField::names,
                    SessionProp::parse,
                    SessionProp::names,
                )
            }
            "accounts" => {
                out.accounts = entity_rules(
                    e,
                    fields,
                    p,
                    AccountField::parse,
                    AccountField::names,
                    OrgProp::parse,
                    OrgProp::names,
                )
            }
            _ => p.at(
                "mapping.fields",
                entity,
                format!("`mapping.fields.{e}`: no such entity with mappable fields"),
                "entities with mappable fields: users, courses, sections, terms, accounts",
            ),
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn entity_rules<P: Copy, T: Copy>(
    entity: &str,
    fields: &RawEntityFields,
    p: &mut crate::raw::Problems<'_>,
    target: impl Fn(&str) -> Option<T>,
    targets: impl Fn() -> String,
    prop: impl Fn(&str) -> Option<P> + Copy,
    props: impl Fn() -> String,
) -> Vec<FieldRule<P, T>> {
    let mut rules = Vec::new();
    for (name, value) in fields {
        let key = format!("mapping.fields.{entity}.{}", name.get_ref());
        let Some(t) = target(name.get_ref()) else {
            p.at(
                &key,
                name,
                format!("`{}` is not a Canvas field of {entity}", name.get_ref()),
                &format!("fields of {entity}: {}", targets()),
            );
            continue;
        };
        let at = value.span().start;
        let shown = value.get_ref().to_string();
        let bad = |p: &mut crate::raw::Problems<'_>, msg: String, hint: &str| {
            p.at_value(&key, at, shown.clone(), msg, hint)
        };
        let (source, case) = match value.get_ref() {
            toml::Value::String(s) => (Some(Src::Template(s.clone())), Case::None),
            toml::Value::Table(t) => {
                let mut src = None;
                let mut case = Case::None;
                let mut ok = true;
                for (k, v) in t {
                    match (k.as_str(), v) {
                        ("property", toml::Value::String(s)) => {
                            src = Some(Src::Property(s.clone()))
                        }
                        ("template", toml::Value::String(s)) => {
                            src = Some(Src::Template(s.clone()))
                        }
                        ("static", toml::Value::String(s)) => src = Some(Src::Static(s.clone())),
                        ("case", toml::Value::String(s)) => match s.as_str() {
                            "none" => case = Case::None,
                            "lower" => case = Case::Lower,
                            "upper" => case = Case::Upper,
                            _ => {
                                bad(
                                    p,
                                    format!("`case` must be none, lower or upper, not {s:?}"),
                                    "e.g. case = \"lower\"",
                                );
                                ok = false;
                            }
                        },
                        _ => {
                            bad(p, format!("`{k}` is not a key of a field mapping (or has the wrong type)"), "a field mapping takes one of property / template / static (strings), and case");
                            ok = false;
                        }
                    }
                }
                if !ok {
                    continue;
                }
                if t.keys()
                    .filter(|k| matches!(k.as_str(), "property" | "template" | "static"))
                    .count()
                    > 1
                {
                    bad(p, "give one of `property`, `template` and `static`, not several".into(), "a template can join properties and text: template = \"{givenName} {familyName}\"");
                    continue;
                }
                (src, case)
            }
            _ => {
                bad(
                    p,
                    "a field mapping is a template string or a table".into(),
                    "e.g. login_id = { property = \"email\", case = \"lower\" }",
                );
                continue;
            }
        };
        let value = match source {
            None => {
                bad(
                    p,
                    "the field mapping says neither `property`, `template` nor `static`".into(),
                    "e.g. { property = \"email\" }",
                );
                continue;
            }
            Some(Src::Static(s)) => FieldValue::Static(s),
            Some(Src::Property(name)) => match prop(name.trim()) {
                Some(pr) => FieldValue::Template(Template {
                    parts: vec![Part::Prop(pr)],
                }),
                None => {
                    bad(
                        p,
                        format!("unknown property `{name}` for {entity}"),
                        &format!("valid properties: {}", props()),
                    );
                    continue;
                }
            },
            Some(Src::Template(text)) => match compile(&text, prop) {
                Ok(t) => FieldValue::Template(t),
                Err(e) => {
                    bad(
                        p,
                        format!("{e} in the template of {entity}.{}", name.get_ref()),
                        &format!("valid properties: {}", props()),
                    );
                    continue;
                }
            },
        };
        let empty = match &value {
            FieldValue::Static(s) => s.trim().is_empty(),
            FieldValue::Template(t) => !t.parts.iter().any(|x| {
                matches!(x, Part::Prop(_)) || matches!(x, Part::Lit(s) if !s.trim().is_empty())
            }),
        };
        if empty && required(entity, name.get_ref()) {
            bad(
                p,
                format!(
                    "`{entity}.{}` is required by Canvas and cannot be mapped to nothing",
                    name.get_ref()
                ),
                "map it to a property, or leave the key out for the default",
            );
            continue;
        }
        rules.push(FieldRule {
            target: t,
            value,
            case,
        });
    }
    rules
}

enum Src {
    Property(String),
    Template(String),
    Static(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_collapse_empty_parts_and_apply_case() {
        let t = compile("{givenName} {middleName} {familyName}", UserProp::parse).unwrap();
        let rule = FieldRule {
            target: UserField::FullName,
            value: FieldValue::Template(t),
            case: Case::Upper,
        };
        let out = rule.render(|p, s| match p {
            UserProp::GivenName => s.push_str("Bart"),
            UserProp::MiddleName => {}
            UserProp::FamilyName => s.push_str(" Simpson "),
            _ => unreachable!(),
        });
        assert_eq!(out, "BART SIMPSON");
        assert_eq!(
            compile("{nope}", UserProp::parse).unwrap_err(),
            "unknown property `nope`"
        );
        assert!(compile("{givenName", UserProp::parse).is_err());
    }
}
