//! What each school level teaches: subjects, and the "slots" of a student's timetable.
//!
//! A slot is one line of a timetable. It has options (a student takes exactly one: e.g. which
//! world language); an option has parts (a semester pair is two parts: art in fall, music in
//! spring); a part is sectioned into classes of at most `max_class` students, each section taught
//! by one teacher. Elementary core subjects form a single self-contained part: the same homeroom
//! group and teacher for homeroom, ELA, math, science and social studies.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Level {
    Elementary,
    Middle,
    High,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Elementary, Level::Middle, Level::High];

    pub fn grades(self) -> std::ops::RangeInclusive<u8> {
        match self {
            Level::Elementary => 0..=5,
            Level::Middle => 6..=8,
            Level::High => 9..=12,
        }
    }

    pub fn school_suffix(self) -> &'static str {
        match self {
            Level::Elementary => "Elementary School",
            Level::Middle => "Middle School",
            Level::High => "High School",
        }
    }

    /// Largest section; elementary classrooms are smaller.
    pub fn max_class(self) -> usize {
        match self {
            Level::Elementary => 26,
            _ => 30,
        }
    }

    pub fn slots(self) -> &'static [Slot] {
        match self {
            Level::Elementary => ELEMENTARY,
            Level::Middle => MIDDLE,
            Level::High => HIGH,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dept {
    Homeroom,
    English,
    Math,
    Science,
    Social,
    Arts,
    Music,
    Pe,
    Languages,
    Electives,
}

impl Dept {
    pub const COUNT: usize = 10;
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Term {
    Year,
    S1,
    S2,
}

impl Term {
    /// Half-semesters of teaching load a class of this term costs.
    pub fn load(self) -> u8 {
        match self {
            Term::Year => 2,
            _ => 1,
        }
    }
}

pub struct Subject {
    pub code: &'static str,
    pub name: &'static str,
    pub sced: &'static str,
    pub dept: Dept,
    /// High-school course titles for grades 9–12; other levels use "Grade N <name>".
    pub high_titles: Option<[&'static str; 4]>,
    /// A fixed room (gym, art room) instead of the teacher's classroom.
    pub room: Option<&'static str>,
    /// Period(s) in a self-contained elementary day.
    pub elem_period: &'static str,
}

macro_rules! subject {
    ($id:ident, $code:expr, $name:expr, $sced:expr, $dept:ident, $titles:expr, $room:expr, $period:expr) => {
        pub static $id: Subject = Subject {
            code: $code,
            name: $name,
            sced: $sced,
            dept: Dept::$dept,
            high_titles: $titles,
            room: $room,
            elem_period: $period,
        };
    };
}

subject!(HR, "HR", "Homeroom", "22991", Homeroom, None, None, "HR");
subject!(
    ELA,
    "ELA",
    "English Language Arts",
    "51035",
    English,
    Some([
        "English 9",
        "English 10",
        "English 11: American Literature",
        "English 12: British Literature"
    ]),
    None,
    "1,2"
);
subject!(
    MATH,
    "MATH",
    "Mathematics",
    "52034",
    Math,
    Some(["Algebra I", "Geometry", "Algebra II", "Precalculus"]),
    None,
    "3"
);
subject!(
    SCI,
    "SCI",
    "Science",
    "53234",
    Science,
    Some(["Physical Science", "Biology", "Chemistry", "Physics"]),
    None,
    "4"
);
subject!(
    SS,
    "SS",
    "Social Studies",
    "54436",
    Social,
    Some([
        "World Geography",
        "World History",
        "U.S. History",
        "Government, Economics"
    ]),
    None,
    "5"
);
subject!(
    ART,
    "ART",
    "Visual Arts",
    "55184",
    Arts,
    Some(["Art I", "Art II", "Drawing & Painting", "AP Studio Art"]),
    Some("Art Room"),
    "6"
);
subject!(
    MUS,
    "MUS",
    "Music",
    "55110",
    Music,
    None,
    Some("Music Room"),
    "6"
);
subject!(
    BAND,
    "BAND",
    "Band",
    "55124",
    Music,
    Some([
        "Concert Band",
        "Symphonic Band",
        "Wind Ensemble",
        "Jazz Band"
    ]),
    Some("Band Room"),
    ""
);
subject!(
    PE,
    "PE",
    "Physical Education",
    "58039",
    Pe,
    None,
    Some("Gym"),
    ""
);
subject!(
    HLTH,
    "HLTH",
    "Health Education",
    "58040",
    Pe,
    None,
    None,
    ""
);
subject!(
    SPAN,
    "SPAN",
    "Spanish",
    "56101",
    Languages,
    Some([
        "Spanish I",
        "Spanish II",
        "Spanish III",
        "AP Spanish Language & Culture"
    ]),
    None,
    ""
);
subject!(
    FREN,
    "FREN",
    "French",
    "56111",
    Languages,
    Some(["French I", "French II", "French III", "French IV"]),
    None,
    ""
);
subject!(
    CHIN,
    "CHIN",
    "Chinese",
    "56161",
    Languages,
    Some(["Chinese I", "Chinese II", "Chinese III", "Chinese IV"]),
    None,
    ""
);
subject!(
    CS,
    "CS",
    "Computer Science",
    "60005",
    Electives,
    Some([
        "Intro to Computer Science",
        "AP Computer Science Principles",
        "AP Computer Science A",
        "Software Engineering"
    ]),
    Some("Computer Lab"),
    ""
);
subject!(
    JOUR,
    "JOUR",
    "Journalism",
    "51201",
    Electives,
    Some([
        "Journalism I",
        "Journalism II",
        "Yearbook",
        "Student Newspaper"
    ]),
    None,
    ""
);
subject!(
    THEA,
    "THEA",
    "Theatre",
    "55201",
    Arts,
    Some(["Theatre I", "Theatre II", "Stagecraft", "Advanced Theatre"]),
    Some("Auditorium"),
    ""
);

pub struct Part {
    pub subjects: &'static [&'static Subject],
    pub term: Term,
}

pub struct Opt {
    pub weight: u32,
    pub parts: &'static [Part],
}

pub struct Slot {
    /// Options chosen by splitting the grade in two halves (semester pairs) rather than by weight.
    pub split: bool,
    pub options: &'static [Opt],
}

const fn year(s: &'static [&'static Subject]) -> Part {
    Part {
        subjects: s,
        term: Term::Year,
    }
}

macro_rules! single {
    ($s:expr) => {
        Slot {
            split: false,
            options: &[Opt {
                weight: 1,
                parts: &[year(&[&$s])],
            }],
        }
    };
}

macro_rules! pair {
    ($a:expr, $b:expr) => {
        Slot {
            split: true,
            options: &[
                Opt {
                    weight: 1,
                    parts: &[
                        Part {
                            subjects: &[&$a],
                            term: Term::S1,
                        },
                        Part {
                            subjects: &[&$b],
                            term: Term::S2,
                        },
                    ],
                },
                Opt {
                    weight: 1,
                    parts: &[
                        Part {
                            subjects: &[&$b],
                            term: Term::S1,
                        },
                        Part {
                            subjects: &[&$a],
                            term: Term::S2,
                        },
                    ],
                },
            ],
        }
    };
}

macro_rules! choice {
    ($(($s:expr, $w:expr)),+) => {
        Slot { split: false, options: &[$(Opt { weight: $w, parts: &[year(&[&$s])] }),+] }
    };
}

static ELEMENTARY: &[Slot] = &[
    Slot {
        split: false,
        options: &[Opt {
            weight: 1,
            parts: &[year(&[&HR, &ELA, &MATH, &SCI, &SS])],
        }],
    },
    pair!(ART, MUS),
];

static MIDDLE: &[Slot] = &[
    single!(ELA),
    single!(MATH),
    single!(SCI),
    single!(SS),
    pair!(PE, HLTH),
    choice!((SPAN, 4), (BAND, 2), (ART, 2), (CS, 2)),
];

static HIGH: &[Slot] = &[
    single!(ELA),
    single!(MATH),
    single!(SCI),
    single!(SS),
    choice!((SPAN, 5), (FREN, 2), (CHIN, 1)),
    pair!(PE, HLTH),
    choice!((ART, 2), (BAND, 1), (CS, 2), (JOUR, 1), (THEA, 1)),
];

/// Distinct subjects a level offers, in first-seen order: one course per subject and grade.
pub fn catalog(level: Level) -> Vec<&'static Subject> {
    let mut out: Vec<&'static Subject> = Vec::new();
    for slot in level.slots() {
        for opt in slot.options {
            for part in opt.parts {
                for s in part.subjects {
                    if !out.iter().any(|o| std::ptr::eq(*o, *s)) {
                        out.push(s);
                    }
                }
            }
        }
    }
    out
}

pub fn grade_code(g: u8) -> String {
    if g == 0 {
        "KG".to_string()
    } else {
        format!("{g:02}")
    }
}

pub fn course_title(s: &Subject, g: u8) -> String {
    if let (Some(t), 9..=12) = (s.high_titles, g) {
        return t[(g - 9) as usize].to_string();
    }
    if g == 0 {
        format!("Kindergarten {}", s.name)
    } else {
        format!("Grade {g} {}", s.name)
    }
}
