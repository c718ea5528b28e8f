//! Name lists: common names, names with non-ASCII letters, and names that need CSV
//! quoting, so that generated districts exercise encoders and parsers.

pub const GIVEN: &[&str] = &[
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "William", "Mia", "Benjamin",
    "Amelia", "Lucas", "Harper", "Henry", "Evelyn", "Alexander", "Abigail", "Mason", "Emily", "Michael", "Ella",
    "Ethan", "Elizabeth", "Daniel", "Camila", "Jacob", "Luna", "Logan", "Sofia", "Jackson", "Avery", "Levi", "Mila",
    "Sebastian", "Aria", "Mateo", "Scarlett", "Jack", "Penelope", "Owen", "Layla", "Theodore", "Chloe", "Aiden",
    "Victoria", "Samuel", "Madison", "Joseph", "Eleanor", "John", "Grace", "David", "Nora", "Wyatt", "Riley",
    "Matthew", "Zoey", "Luke", "Hannah", "Asher", "Hazel", "Carter", "Lily", "Julian", "Ellie", "Grayson", "Violet",
    "José", "Zoë", "Chloé", "Renée", "Søren", "Øyvind", "Björn", "Łukasz", "Siobhán", "Zoltán", "Ngọc", "Thảo",
    "Aoife", "Mary-Kate", "Jean-Luc", "D'Andre", "Anaïs", "Noémie", "Iñaki", "Dmitrij", "Mei", "Hiroshi", "Priya",
];

pub const FAMILY: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker",
    "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "O'Brien", "O'Connor", "Smith, Jr.",
    "Van Houten", "de la Cruz", "García", "Muñoz", "Nguyễn", "Trần", "Müller", "Schröder", "Øvergaard", "Ólafsdóttir",
    "Kowalczyk", "Dvořák", "Papadopoulos", "Al-Sayed", "Fitzgerald-Hughes", "\"Doc\" Brown", "Kim", "Park", "Chen",
];

/// Lower-case ASCII letters of a name, for usernames (`José` → `jos`, `O'Brien` → `obrien`).
pub fn ascii(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphabetic()).map(|c| c.to_ascii_lowercase()).collect()
}
