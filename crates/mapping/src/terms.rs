//! Which Canvas term each class's course goes in.
//!
//! Canvas gives a course one term; OneRoster gives a class one or more sessions. Rules:
//! * `semester` and `term` sessions are Canvas terms;
//! * a class naming grading periods counts their enclosing semester/term;
//! * one candidate: that term; several with a common parent (a year-long class over two
//!   semesters): the parent (usually the school year) becomes a term too; otherwise the
//!   earliest-starting one;
//! * no semester/term at all (a class on a school year): the earliest session it names.
//!
//! Course dates span all the sessions the class names.

use chrono::NaiveDate;
use rosterbridge_model::canvas::Term;
use rosterbridge_model::roster::{AcademicSession, Roster, SessionType};
use rosterbridge_model::SisId;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// The term and dates of one class's course.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClassTerm {
    pub term: Option<SisId>,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

pub struct TermPlan {
    pub terms: Vec<Term>,
    /// Parallel to `roster.classes`.
    pub class_terms: Vec<ClassTerm>,
}

fn is_term(s: &AcademicSession) -> bool {
    matches!(s.session_type, SessionType::Semester | SessionType::Term)
}

pub fn plan_terms(roster: &Roster) -> TermPlan {
    let by_id: FxHashMap<&str, &AcademicSession> = roster
        .sessions
        .iter()
        .map(|s| (s.sourced_id.as_str(), s))
        .collect();
    let mut terms: BTreeMap<SisId, &AcademicSession> = roster
        .sessions
        .iter()
        .filter(|s| is_term(s))
        .map(|s| (s.sourced_id.clone(), s))
        .collect();

    // Memoised per distinct term list: classes share a handful of combinations.
    let mut memo: FxHashMap<Vec<SisId>, ClassTerm> = FxHashMap::default();
    let mut class_terms = Vec::with_capacity(roster.classes.len());
    for class in &roster.classes {
        if let Some(ct) = memo.get(&class.terms) {
            class_terms.push(ct.clone());
            continue;
        }
        let named: Vec<&AcademicSession> = class
            .terms
            .iter()
            .filter_map(|t| by_id.get(t.as_str()).copied())
            .collect();
        let mut candidates: Vec<&AcademicSession> = Vec::new();
        for s in &named {
            // Walk up from a grading period to its semester/term (bounded: sessions form a tree).
            let mut cur = Some(*s);
            for _ in 0..8 {
                match cur {
                    Some(c) if is_term(c) => {
                        if !candidates.iter().any(|x| x.sourced_id == c.sourced_id) {
                            candidates.push(c);
                        }
                        break;
                    }
                    Some(c) => {
                        cur = c
                            .parent
                            .as_ref()
                            .and_then(|p| by_id.get(p.as_str()).copied())
                    }
                    None => break,
                }
            }
        }
        let earliest = |v: &[&'_ AcademicSession]| -> Option<SisId> {
            v.iter()
                .min_by(|a, b| (a.start_date, &a.sourced_id).cmp(&(b.start_date, &b.sourced_id)))
                .map(|s| s.sourced_id.clone())
        };
        let chosen: Option<&AcademicSession> = match candidates.len() {
            0 => earliest(&named).and_then(|id| by_id.get(id.as_str()).copied()),
            1 => Some(candidates[0]),
            _ => {
                let parent = candidates[0].parent.as_ref();
                let common =
                    parent.is_some() && candidates.iter().all(|c| c.parent.as_ref() == parent);
                match parent
                    .and_then(|p| by_id.get(p.as_str()).copied())
                    .filter(|_| common)
                {
                    Some(p) => Some(p),
                    None => earliest(&candidates).and_then(|id| by_id.get(id.as_str()).copied()),
                }
            }
        };
        if let Some(c) = chosen {
            terms.entry(c.sourced_id.clone()).or_insert(c);
        }
        let span: Vec<&AcademicSession> = if named.is_empty() {
            chosen.into_iter().collect()
        } else {
            named
        };
        let ct = ClassTerm {
            term: chosen.map(|c| c.sourced_id.clone()),
            start: span.iter().map(|s| s.start_date).min(),
            end: span.iter().map(|s| s.end_date).max(),
        };
        memo.insert(class.terms.clone(), ct.clone());
        class_terms.push(ct);
    }

    let terms = terms.into_values().map(term_of).collect();
    TermPlan { terms, class_terms }
}

/// The Canvas term of an academic session.
fn term_of(s: &AcademicSession) -> Term {
    Term {
        sis_id: s.sourced_id.clone(),
        integration_id: None,
        name: s.title.clone(),
        start: Some(s.start_date),
        end: Some(s.end_date),
        src: Some(s.src),
    }
}

/// Terms as `[mapping.terms] from` says, within the profile's academic period when it
/// names one. `Sessions` without a period is exactly [`plan_terms`].
pub fn plan_terms_for(
    roster: &Roster,
    from: rosterbridge_config::TermSource,
    period: Option<&str>,
) -> TermPlan {
    use rosterbridge_config::TermSource;
    let by_id: FxHashMap<&str, &AcademicSession> = roster
        .sessions
        .iter()
        .map(|s| (s.sourced_id.as_str(), s))
        .collect();
    let span = |names: &[SisId]| -> (Option<NaiveDate>, Option<NaiveDate>) {
        let named: Vec<&AcademicSession> = names
            .iter()
            .filter_map(|t| by_id.get(t.as_str()).copied())
            .collect();
        (
            named.iter().map(|s| s.start_date).min(),
            named.iter().map(|s| s.end_date).max(),
        )
    };
    match (from, period) {
        (TermSource::Sessions, None) => plan_terms(roster),
        (TermSource::Sessions, Some(p)) => {
            let mut tp = plan_terms(roster);
            tp.terms
                .retain(|t| crate::scope::within(&by_id, t.sis_id.as_str(), p));
            tp
        }
        (TermSource::AcademicPeriod, p) => {
            let period = p.and_then(|p| by_id.get(p).copied());
            let class_terms = roster
                .classes
                .iter()
                .map(|c| {
                    let (start, end) = span(&c.terms);
                    ClassTerm {
                        term: period.map(|p| p.sourced_id.clone()),
                        start,
                        end,
                    }
                })
                .collect();
            TermPlan {
                terms: period.map(term_of).into_iter().collect(),
                class_terms,
            }
        }
        (TermSource::Semesters, p) => {
            let mut terms: BTreeMap<SisId, &AcademicSession> = BTreeMap::new();
            let class_terms = roster
                .classes
                .iter()
                .map(|c| {
                    let mut best: Option<&AcademicSession> = None;
                    for t in &c.terms {
                        let mut cur = by_id.get(t.as_str()).copied();
                        for _ in 0..8 {
                            match cur {
                                Some(s) if is_term(s) => break,
                                Some(s) => {
                                    cur = s
                                        .parent
                                        .as_ref()
                                        .and_then(|x| by_id.get(x.as_str()).copied())
                                }
                                None => break,
                            }
                        }
                        if let Some(s) = cur.filter(|s| is_term(s)).filter(|s| {
                            p.is_none_or(|p| crate::scope::within(&by_id, s.sourced_id.as_str(), p))
                        }) {
                            if best.is_none_or(|b| {
                                (s.start_date, &s.sourced_id) < (b.start_date, &b.sourced_id)
                            }) {
                                best = Some(s);
                            }
                        }
                    }
                    if let Some(b) = best {
                        terms.insert(b.sourced_id.clone(), b);
                    }
                    let (start, end) = span(&c.terms);
                    ClassTerm {
                        term: best.map(|b| b.sourced_id.clone()),
                        start,
                        end,
                    }
                })
                .collect();
            TermPlan {
                terms: terms.into_values().map(term_of).collect(),
                class_terms,
            }
        }
    }
}
