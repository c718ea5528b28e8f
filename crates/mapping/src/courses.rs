//! Courses, sections and sub-accounts for the configured shapes: a course template other
//! than one course and section per class, account levels other than "school", or a scope
//! that leaves classes out. The default shape never comes here (see `lib.rs`).
//!
//! SIS ids: `period+group` keeps the class's sourcedId for course and section;
//! `period+subject` makes course `<term>~<course>` (or `<course>` without a term) with the
//! classes as sections; the group-subject shapes make sections (and for
//! `period+groupsubject` courses) `<class>~<subject code>`, one per subject code of the
//! class (its course's sourcedId when it lists none). Accounts below a school are
//! `<parent>~grade-<grade>` and `<parent>~<term>`.

use crate::fields::{self, Index};
use crate::scope::Masks;
use crate::terms::ClassTerm;
use rosterbridge_config::{AccountLevel, CourseTemplate, MappingConfig};
use rosterbridge_model::canvas::{self as cv};
use rosterbridge_model::roster::Roster;
use rosterbridge_model::{SisId, Str};
use std::collections::BTreeMap;

/// Courses and sections, and which sections each class's members are enrolled in.
pub struct Shaped {
    pub courses: Vec<cv::Course>,
    pub sections: Vec<cv::Section>,
    /// `sections_of[class]..sections_of[class + 1]` index `sections` (len classes + 1).
    pub sections_of: Vec<u32>,
    pub accounts: Vec<cv::Account>,
}

fn joined(a: &str, b: &str) -> SisId {
    SisId::new(format!("{a}~{b}"))
}

/// The sub-accounts of the configured levels, and each class's account (deepest level).
fn accounts(
    roster: &Roster,
    config: &MappingConfig,
    class_terms: &[ClassTerm],
    masks: &Masks,
    idx: &Index<'_>,
) -> (Vec<cv::Account>, Vec<Option<SisId>>) {
    let mut out: BTreeMap<SisId, cv::Account> = BTreeMap::new();
    let root = config.root_account.as_ref().map(|r| SisId::new(&r.sis_id));
    if let Some(r) = &config.root_account {
        out.insert(
            SisId::new(&r.sis_id),
            cv::Account {
                sis_id: SisId::new(&r.sis_id),
                integration_id: None,
                parent: None,
                name: Str::new(&r.name),
                src: None,
            },
        );
    }
    let levels = &config.accounts.levels;
    let mut add = |sis: SisId, parent: Option<SisId>, name: Str, src| {
        out.entry(sis.clone()).or_insert(cv::Account {
            sis_id: sis,
            integration_id: None,
            parent,
            name,
            src,
        });
    };
    // Org levels for every school in scope, as the default does.
    for (oi, org) in roster.orgs.iter().enumerate() {
        if !masks.org(oi) || org.org_type != rosterbridge_model::roster::OrgType::School {
            continue;
        }
        let mut parent = root.clone();
        for level in levels {
            match level {
                AccountLevel::Institute => {
                    if let Some(d) = org.parent.as_ref().and_then(|p| idx.org(p.as_str())) {
                        add(
                            d.sourced_id.clone(),
                            parent.clone(),
                            d.name.clone(),
                            Some(d.src),
                        );
                        parent = Some(d.sourced_id.clone());
                    }
                }
                AccountLevel::School => {
                    add(
                        org.sourced_id.clone(),
                        parent.clone(),
                        org.name.clone(),
                        Some(org.src),
                    );
                    break;
                }
                _ => break,
            }
        }
    }
    let mut class_account = Vec::with_capacity(roster.classes.len());
    for (ci, class) in roster.classes.iter().enumerate() {
        if !masks.class(ci) {
            class_account.push(None);
            continue;
        }
        let school = idx.org(class.school.as_str());
        let mut parent = root.clone();
        for level in levels {
            match level {
                AccountLevel::Institute => {
                    if let Some(d) = school
                        .and_then(|s| s.parent.as_ref())
                        .and_then(|p| idx.org(p.as_str()))
                    {
                        add(
                            d.sourced_id.clone(),
                            parent.clone(),
                            d.name.clone(),
                            Some(d.src),
                        );
                        parent = Some(d.sourced_id.clone());
                    }
                }
                AccountLevel::School => {
                    let name = school
                        .map(|s| s.name.clone())
                        .unwrap_or_else(|| Str::new(class.school.as_str()));
                    add(
                        class.school.clone(),
                        parent.clone(),
                        name,
                        school.map(|s| s.src),
                    );
                    parent = Some(class.school.clone());
                }
                AccountLevel::Grade => {
                    if let Some(g) = class.grades.first() {
                        let sis = joined(
                            parent.as_ref().map(|p| p.as_str()).unwrap_or("root"),
                            &format!("grade-{g}"),
                        );
                        add(sis.clone(), parent.clone(), compact_name("Grade ", g), None);
                        parent = Some(sis);
                    }
                }
                AccountLevel::Stream => {
                    let term = class_terms.get(ci).and_then(|t| t.term.as_ref());
                    let ctx = crate::fields::ClassContext {
                        class,
                        course: idx.course(class.course.as_str()),
                        term: term.and_then(|t| idx.session(t.as_str())),
                        school,
                        subject: None,
                    };
                    let mut value = String::new();
                    crate::fields::class_prop(&ctx, config.accounts.stream, &mut value);
                    let value = value.trim();
                    if !value.is_empty() {
                        let sis = joined(
                            parent.as_ref().map(|p| p.as_str()).unwrap_or("root"),
                            &format!("stream-{value}"),
                        );
                        add(sis.clone(), parent.clone(), Str::new(value), None);
                        parent = Some(sis);
                    }
                }
                AccountLevel::MarkingPeriod => {
                    if let Some(t) = class_terms.get(ci).and_then(|t| t.term.as_ref()) {
                        let sis = joined(
                            parent.as_ref().map(|p| p.as_str()).unwrap_or("root"),
                            t.as_str(),
                        );
                        let name = idx
                            .session(t.as_str())
                            .map(|s| s.title.clone())
                            .unwrap_or_else(|| Str::new(t.as_str()));
                        add(sis.clone(), parent.clone(), name, None);
                        parent = Some(sis);
                    }
                }
            }
        }
        class_account.push(parent.filter(|p| Some(p) != root.as_ref()).or(root.clone()));
    }
    (out.into_values().collect(), class_account)
}

fn compact_name(prefix: &str, v: &str) -> Str {
    let mut s = Str::new(prefix);
    s.push_str(v);
    s
}

/// The subjects of a class for the group-subject shapes: its subject codes, else its course.
fn subjects_of(class: &rosterbridge_model::roster::Class) -> Vec<&str> {
    let mut v: Vec<&str> = class
        .subject_codes
        .iter()
        .map(|s| s.as_str())
        .filter(|s| !s.trim().is_empty())
        .collect();
    v.dedup();
    if v.is_empty() {
        v.push(class.course.as_str());
    }
    v
}

pub fn build(
    roster: &Roster,
    config: &MappingConfig,
    template: CourseTemplate,
    class_terms: &[ClassTerm],
    masks: &Masks,
) -> Shaped {
    let idx = Index::new(roster);
    let (accounts, class_account) = if config.accounts.is_default() {
        // Schools as the default mapping makes them (root, then schools; filtered by scope).
        let (a, _) = accounts(roster, config, class_terms, masks, &idx);
        let account_ids: rustc_hash::FxHashSet<&str> =
            a.iter().map(|x| x.sis_id.as_str()).collect();
        let ca = roster
            .classes
            .iter()
            .map(|c| {
                account_ids
                    .contains(c.school.as_str())
                    .then(|| c.school.clone())
            })
            .collect();
        (a, ca)
    } else {
        accounts(roster, config, class_terms, masks, &idx)
    };
    let rules = &config.fields;
    let mut courses: Vec<cv::Course> = Vec::new();
    let mut sections: Vec<cv::Section> = Vec::new();
    let mut sections_of: Vec<u32> = Vec::with_capacity(roster.classes.len() + 1);
    // period+subject: one course per (term, course), in order of first appearance.
    let mut shared: rustc_hash::FxHashMap<SisId, usize> = rustc_hash::FxHashMap::default();
    for (ci, class) in roster.classes.iter().enumerate() {
        sections_of.push(sections.len() as u32);
        if !masks.class(ci) {
            continue;
        }
        let ct = class_terms.get(ci).cloned().unwrap_or_default();
        let term_id = ct.term.as_ref().map(|t| t.as_str());
        let account = class_account.get(ci).cloned().flatten();
        let course_row = |sis: SisId,
                          short: Str,
                          long: Str,
                          term: Option<SisId>,
                          ctx: &fields::ClassContext<'_>| {
            let mut c = cv::Course {
                sis_id: sis,
                integration_id: None,
                short_name: short,
                long_name: long,
                account: account.clone(),
                term,
                start: ct.start,
                end: ct.end,
                src: Some(class.src),
            };
            fields::apply_course(&mut c, ctx, rules);
            c
        };
        let section_row = |sis: SisId, course: SisId, name: Str, ctx: &fields::ClassContext<'_>| {
            let mut s = cv::Section {
                sis_id: sis,
                integration_id: None,
                course,
                name,
                start: None,
                end: None,
                src: Some(class.src),
            };
            fields::apply_section(&mut s, ctx, rules);
            s
        };
        let default_short = || {
            class
                .class_code
                .clone()
                .filter(|c| !c.trim().is_empty())
                .or_else(|| {
                    idx.course(class.course.as_str())
                        .and_then(|c| c.course_code.clone())
                })
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| class.title.clone())
        };
        match template {
            CourseTemplate::PeriodGroup => {
                let ctx = idx.context(class, term_id, None);
                courses.push(course_row(
                    class.sourced_id.clone(),
                    default_short(),
                    class.title.clone(),
                    ct.term.clone(),
                    &ctx,
                ));
                sections.push(section_row(
                    class.sourced_id.clone(),
                    class.sourced_id.clone(),
                    class.title.clone(),
                    &ctx,
                ));
            }
            CourseTemplate::PeriodSubject => {
                let ctx = idx.context(class, term_id, None);
                let sis = match term_id {
                    Some(t) => joined(t, class.course.as_str()),
                    None => class.course.clone(),
                };
                let course = idx.course(class.course.as_str());
                match shared.get(&sis) {
                    Some(&i) => {
                        // Dates span every class of the course.
                        let c = &mut courses[i];
                        c.start = match (c.start, ct.start) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                        c.end = match (c.end, ct.end) {
                            (Some(a), Some(b)) => Some(a.max(b)),
                            (a, b) => a.or(b),
                        };
                    }
                    None => {
                        let short = course
                            .and_then(|c| c.course_code.clone())
                            .filter(|c| !c.trim().is_empty())
                            .unwrap_or_else(|| {
                                course
                                    .map(|c| c.title.clone())
                                    .unwrap_or_else(|| class.title.clone())
                            });
                        let long = course
                            .map(|c| c.title.clone())
                            .unwrap_or_else(|| class.title.clone());
                        shared.insert(sis.clone(), courses.len());
                        courses.push(course_row(sis.clone(), short, long, ct.term.clone(), &ctx));
                    }
                }
                sections.push(section_row(
                    class.sourced_id.clone(),
                    sis,
                    class.title.clone(),
                    &ctx,
                ));
            }
            CourseTemplate::PeriodGroupSubject | CourseTemplate::GroupGroupSubject => {
                let subjects = subjects_of(class);
                let group_course = template == CourseTemplate::GroupGroupSubject;
                if group_course {
                    let ctx = idx.context(class, term_id, None);
                    courses.push(course_row(
                        class.sourced_id.clone(),
                        default_short(),
                        class.title.clone(),
                        None,
                        &ctx,
                    ));
                }
                for subject in subjects {
                    let ctx = idx.context(class, term_id, Some(subject));
                    let sis = joined(class.sourced_id.as_str(), subject);
                    let name = compact_name(&format!("{} ", class.title), subject);
                    let course_sis = if group_course {
                        class.sourced_id.clone()
                    } else {
                        courses.push(course_row(
                            sis.clone(),
                            compact_name(&format!("{} ", default_short()), subject),
                            name.clone(),
                            ct.term.clone(),
                            &ctx,
                        ));
                        sis.clone()
                    };
                    sections.push(section_row(sis, course_sis, name, &ctx));
                }
            }
        }
    }
    sections_of.push(sections.len() as u32);
    Shaped {
        courses,
        sections,
        sections_of,
        accounts,
    }
}
