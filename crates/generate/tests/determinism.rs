mod common;

use std::path::Path;

use common::generate;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn same_spec_gives_identical_bytes() {
    for (students, seed, pct) in [(1_500, 11, 0.0), (1_500, 11, 3.0), (97, 0, 0.0)] {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let sa = generate(a.path(), students, seed, pct);
        let sb = generate(b.path(), students, seed, pct);
        assert_eq!(sa, sb);
        let (fa, fb) = (files(a.path()), files(b.path()));
        assert_eq!(fa.len(), 7);
        for ((na, ba), (nb, bb)) in fa.iter().zip(&fb) {
            assert_eq!(na, nb);
            assert!(
                ba == bb,
                "{na} differs between two runs of {students}/{seed}/{pct}"
            );
        }
    }
}

#[test]
fn another_seed_gives_another_district() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    generate(a.path(), 800, 1, 0.0);
    generate(b.path(), 800, 2, 0.0);
    let users = |d: &Path| std::fs::read(d.join("users.csv")).unwrap();
    assert_ne!(users(a.path()), users(b.path()));
}

#[test]
fn tiny_districts_still_form_a_valid_package() {
    for students in [1, 5, 13, 40] {
        let d = tempfile::tempdir().unwrap();
        let s = generate(d.path(), students, 3, 0.0);
        assert_eq!(s.students, students as usize);
        assert!(s.enrollments >= s.students * 6, "{students}: {s:?}");
        assert!(s.parents >= s.students);
    }
}
