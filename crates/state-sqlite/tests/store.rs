//! The SQLite store against the StateStore contract, on real database files.

use rosterbridge_model::hash::{composite_key, content_hash, KeyHash};
use rosterbridge_model::kind::{Kind, Row, Status};
use rosterbridge_state::*;
use rosterbridge_state_sqlite::SqliteStore;

fn user_row(id: &str, name: &str, status: Status) -> Row {
    let mut r = Row::from_pairs(
        Kind::Users,
        [("user_id", id), ("login_id", id), ("first_name", name)],
    );
    r.set_status(status);
    r
}

fn applied(kind: Kind, key: &str, row: Row) -> ChangeOutcome {
    ChangeOutcome {
        kind,
        key: key.to_string(),
        content_hash: content_hash(&row),
        row,
        result: OutcomeResult::Applied {
            how: "exported".into(),
        },
        canvas_id: None,
        ownership: Ownership::Created,
    }
}

fn start(store: &mut SqliteStore) -> RunId {
    store
        .begin_run(&RunStart {
            command: "apply".into(),
            profile: None,
            owner: None,
            started_at: "2026-11-22T00:00:00Z".into(),
        })
        .unwrap()
}

#[test]
fn an_empty_store_has_an_empty_snapshot_at_version_zero() {
    let store = SqliteStore::open_in_memory().unwrap();
    let snap = store.snapshot().unwrap();
    assert_eq!(snap.version, 0);
    assert!(snap.is_empty());
    assert!(store.runs(10).unwrap().is_empty());
}

#[test]
fn applied_outcomes_round_trip_exactly_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let enrol_key = composite_key(&["sec-01", "007", "student"]);
    {
        let mut store = SqliteStore::open(&path).unwrap();
        let run = start(&mut store);
        let mut o = applied(Kind::Users, "007", user_row("007", "Zoë", Status::Active));
        o.canvas_id = Some(42);
        let e = applied(
            Kind::Enrollments,
            &enrol_key,
            Row::from_pairs(
                Kind::Enrollments,
                [
                    ("section_id", "sec-01"),
                    ("user_id", "007"),
                    ("role", "student"),
                    ("status", "active"),
                ],
            ),
        );
        assert_eq!(store.record_outcomes(run, 0, &[o, e]).unwrap(), 1);
    }
    let store = SqliteStore::open(&path).unwrap();
    let snap = store.snapshot().unwrap();
    assert_eq!(snap.version, 1);
    let u = snap.get(KeyHash::of(Kind::Users, "007")).unwrap();
    assert_eq!((u.kind, u.status), (Kind::Users, Status::Active));
    assert!(
        snap.get(KeyHash::of(Kind::Users, "7")).is_none(),
        "leading zeros matter"
    );
    let e = snap
        .get(KeyHash::of(Kind::Enrollments, &enrol_key))
        .unwrap();
    let records = store.load_records(&[u.id, e.id, 999]).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].key, "007");
    assert_eq!(records[0].row.get("first_name"), "Zoë");
    assert_eq!(records[0].canvas_id, Some(42));
    assert_eq!(records[0].ownership, Ownership::Created);
    assert_eq!(records[0].content_hash, u.content_hash);
    assert_eq!(records[1].key, enrol_key);
    assert_eq!(records[1].last_outcome, "applied: exported");
}

#[test]
fn a_stale_version_is_refused_and_writes_nothing() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let run = start(&mut store);
    store
        .record_outcomes(
            run,
            0,
            &[applied(
                Kind::Users,
                "1",
                user_row("1", "A", Status::Active),
            )],
        )
        .unwrap();
    let err = store
        .record_outcomes(
            run,
            0,
            &[applied(
                Kind::Users,
                "2",
                user_row("2", "B", Status::Active),
            )],
        )
        .unwrap_err();
    assert_eq!(err.kind(), StateErrorKind::StaleVersion);
    let snap = store.snapshot().unwrap();
    assert_eq!((snap.version, snap.len()), (1, 1));
}

#[test]
fn rejected_outcomes_never_insert_and_keep_the_applied_row() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let run = start(&mut store);
    store
        .record_outcomes(
            run,
            0,
            &[applied(
                Kind::Users,
                "1",
                user_row("1", "A", Status::Active),
            )],
        )
        .unwrap();
    let mut rejected = applied(Kind::Users, "1", user_row("1", "Changed", Status::Active));
    rejected.result = OutcomeResult::Rejected {
        message: "Canvas said no".into(),
    };
    let mut new_rejected = applied(Kind::Users, "2", user_row("2", "B", Status::Active));
    new_rejected.result = OutcomeResult::Rejected {
        message: "nope".into(),
    };
    store
        .record_outcomes(run, 1, &[rejected, new_rejected])
        .unwrap();
    let snap = store.snapshot().unwrap();
    assert_eq!(snap.len(), 1);
    let id = snap.get(KeyHash::of(Kind::Users, "1")).unwrap().id;
    let rec = &store.load_records(&[id]).unwrap()[0];
    assert_eq!(rec.row.get("first_name"), "A");
    assert_eq!(rec.last_outcome, "rejected: Canvas said no");
}

#[test]
fn reapplying_the_same_outcomes_is_idempotent_and_status_follows_the_row() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let run = start(&mut store);
    let o = applied(Kind::Users, "1", user_row("1", "A", Status::Active));
    store
        .record_outcomes(run, 0, std::slice::from_ref(&o))
        .unwrap();
    store.record_outcomes(run, 1, &[o]).unwrap();
    store
        .record_outcomes(
            run,
            2,
            &[applied(
                Kind::Users,
                "1",
                user_row("1", "A", Status::Suspended),
            )],
        )
        .unwrap();
    let snap = store.snapshot().unwrap();
    assert_eq!(snap.len(), 1);
    assert_eq!(
        snap.get(KeyHash::of(Kind::Users, "1")).unwrap().status,
        Status::Suspended
    );
    assert_eq!(snap.active_count(Kind::Users), 0);
}

#[test]
fn runs_are_listed_newest_first_with_their_outcome() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let a = start(&mut store);
    let b = start(&mut store);
    store
        .finish_run(
            a,
            &RunFinish {
                outcome: RunOutcome::Succeeded,
                ended_at: "t1".into(),
                summary: serde_json::json!({"users": 3}),
                message: None,
                artifacts: vec!["x.zip".into()],
            },
        )
        .unwrap();
    store
        .finish_run(
            b,
            &RunFinish {
                outcome: RunOutcome::Held,
                ended_at: "t2".into(),
                summary: serde_json::Value::Null,
                message: Some("held".into()),
                artifacts: vec![],
            },
        )
        .unwrap();
    let runs = store.runs(10).unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [b, a]);
    assert_eq!(runs[1].outcome, RunOutcome::Succeeded);
    assert_eq!(runs[1].artifacts, ["x.zip"]);
    assert_eq!(runs[1].summary["users"], 3);
    assert_eq!(
        store.run(b).unwrap().unwrap().message.as_deref(),
        Some("held")
    );
    assert!(store.run(999).unwrap().is_none());
}

#[test]
fn source_tables_are_replaced_by_name_and_others_kept() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    store
        .save_source_tables(&[
            SourceTableSnapshot {
                file: "users.csv".into(),
                csv: b"a".to_vec(),
            },
            SourceTableSnapshot {
                file: "orgs.csv".into(),
                csv: b"o".to_vec(),
            },
        ])
        .unwrap();
    store
        .save_source_tables(&[SourceTableSnapshot {
            file: "users.csv".into(),
            csv: b"b".to_vec(),
        }])
        .unwrap();
    let t = store.source_tables().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t.iter().find(|t| t.file == "users.csv").unwrap().csv, b"b");
}

#[test]
fn named_source_tables_are_only_those_asked_for_and_stored() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let t = |f: &str, c: &[u8]| SourceTableSnapshot {
        file: f.into(),
        csv: c.to_vec(),
    };
    store
        .save_source_tables(&[
            t("users.csv", b"u"),
            t("orgs.csv", b"o"),
            t("enrollments.csv", b"e"),
        ])
        .unwrap();
    let got = store
        .source_tables_named(&["users.csv", "classes.csv", "enrollments.csv"])
        .unwrap();
    assert_eq!(got, [t("enrollments.csv", b"e"), t("users.csv", b"u")]);
    assert!(store.source_tables_named(&[]).unwrap().is_empty());
}

#[test]
fn a_missing_folder_is_a_clear_open_error() {
    let err = SqliteStore::open(std::path::Path::new("/nonexistent/dir/state.db"))
        .err()
        .unwrap();
    assert_eq!(err.kind(), StateErrorKind::Open);
    assert!(err.to_string().contains("/nonexistent/dir"), "{err}");
}

#[test]
fn a_database_from_a_newer_rosterbridge_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).err().unwrap();
    assert_eq!(err.kind(), StateErrorKind::Schema);
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    std::fs::write(
        &path,
        b"this is not sqlite, just text that happens to be long enough to look like a header",
    )
    .unwrap();
    let err = SqliteStore::open(&path).err().unwrap();
    assert_eq!(err.kind(), StateErrorKind::Open);
}

fn entries(s: &StateSnapshot) -> Vec<(KeyHash, SnapshotEntry)> {
    let mut v: Vec<_> = s.iter().map(|(k, e)| (k, *e)).collect();
    v.sort_by_key(|(_, e)| e.id);
    v
}

#[test]
fn the_cached_index_equals_a_full_scan_and_a_stale_or_broken_cache_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut store = SqliteStore::open(&path).unwrap();
    let run = start(&mut store);
    let outcomes: Vec<_> = (0..50)
        .map(|i| {
            applied(
                Kind::Users,
                &format!("{i:03}"),
                user_row(&format!("{i:03}"), "A", Status::Active),
            )
        })
        .collect();
    store.record_outcomes(run, 0, &outcomes).unwrap();
    store
        .record_outcomes(
            run,
            1,
            &[applied(
                Kind::Users,
                "007",
                user_row("007", "B", Status::Suspended),
            )],
        )
        .unwrap();
    let cached = store.snapshot().unwrap();
    assert_eq!(cached.len(), 50);
    assert_eq!(
        cached.get(KeyHash::of(Kind::Users, "007")).unwrap().status,
        Status::Suspended
    );

    let conn = rusqlite::Connection::open(&path).unwrap();
    let cache_version: i64 = conn
        .query_row("SELECT version FROM index_cache", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        cache_version, 2,
        "the cache is written with every outcome batch"
    );

    // A stale cache (another writer bumped the version without rewriting it) is ignored.
    conn.execute("UPDATE objects SET status = 5 WHERE sis_key = '010'", [])
        .unwrap();
    conn.execute("UPDATE meta SET value = '3' WHERE key = 'version'", [])
        .unwrap();
    let scanned = store.snapshot().unwrap();
    assert_eq!(scanned.version, 3);
    assert_eq!(
        scanned.get(KeyHash::of(Kind::Users, "010")).unwrap().status,
        Status::Deleted
    );

    // A cache with a broken length is ignored too.
    conn.execute("UPDATE index_cache SET version = 3, data = x'0102'", [])
        .unwrap();
    assert_eq!(entries(&store.snapshot().unwrap()), entries(&scanned));
    // And a cache that matches gives exactly what a scan gives.
    store.record_outcomes(run, 3, &[]).unwrap();
    let again = store.snapshot().unwrap();
    assert_eq!(again.version, 4);
    assert_eq!(entries(&again), entries(&scanned));
}

#[test]
fn held_plans_are_superseded_by_newer_ones_and_marked_applied_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let plan = |fp: &str| HeldPlan {
        id: 0,
        run: None,
        created_at: "2027-01-01T00:00:00Z".into(),
        base_version: 4,
        fingerprint: fp.into(),
        summary: serde_json::json!({"changes": 3}),
        reasons: vec!["users 3 of 4 removed".into()],
        status: HeldStatus::Held,
        applied_run: None,
    };
    let a = store.hold_plan(&plan("aa")).unwrap();
    let b = store.hold_plan(&plan("bb")).unwrap();
    assert_eq!(
        store.held_plan(a).unwrap().unwrap().status,
        HeldStatus::Superseded
    );
    let held = store.held_plan(b).unwrap().unwrap();
    assert_eq!(
        (
            held.status,
            held.base_version,
            held.fingerprint.as_str(),
            held.reasons.len()
        ),
        (HeldStatus::Held, 4, "bb", 1)
    );
    store
        .set_held_plan_status(b, HeldStatus::Applied, Some(9))
        .unwrap();
    assert_eq!(store.held_plan(b).unwrap().unwrap().applied_run, Some(9));
    assert!(store.held_plan(99).unwrap().is_none());
    assert!(store
        .set_held_plan_status(99, HeldStatus::Applied, None)
        .is_err());
}

#[test]
fn the_last_successful_run_is_found_per_command_and_profile() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let finish = |store: &mut SqliteStore, run: RunId, outcome: RunOutcome| {
        store
            .finish_run(
                run,
                &RunFinish {
                    outcome,
                    ended_at: "2027-01-01T00:00:00Z".into(),
                    summary: serde_json::json!({}),
                    message: None,
                    artifacts: vec![],
                },
            )
            .unwrap();
    };
    assert!(store.last_success(&["sync"], None).unwrap().is_none());
    let ok = start(&mut store);
    finish(&mut store, ok, RunOutcome::Succeeded);
    let failed = start(&mut store);
    finish(&mut store, failed, RunOutcome::Failed);
    let other = store
        .begin_run(&RunStart {
            command: "undo".into(),
            profile: None,
            owner: None,
            started_at: "x".into(),
        })
        .unwrap();
    finish(&mut store, other, RunOutcome::Succeeded);
    assert_eq!(
        store
            .last_success(&["sync", "apply"], None)
            .unwrap()
            .map(|r| r.id),
        Some(ok)
    );
    assert!(store
        .last_success(&["apply"], Some("summer"))
        .unwrap()
        .is_none());
    // A run of a profile counts for that profile and for "any profile" (None).
    let summer = store
        .begin_run(&RunStart {
            command: "sync".into(),
            profile: Some("summer".into()),
            owner: None,
            started_at: "y".into(),
        })
        .unwrap();
    finish(&mut store, summer, RunOutcome::NoChanges);
    assert_eq!(
        store
            .last_success(&["sync"], Some("summer"))
            .unwrap()
            .map(|r| r.id),
        Some(summer)
    );
    assert_eq!(
        store.last_success(&["sync"], None).unwrap().map(|r| r.id),
        Some(summer)
    );
    assert!(store
        .last_success(&["sync"], Some("winter"))
        .unwrap()
        .is_none());
    store.set_meta("k", "v1").unwrap();
    store.set_meta("k", "v2").unwrap();
    assert_eq!(store.meta("k").unwrap().as_deref(), Some("v2"));
    assert_eq!(store.meta("nope").unwrap(), None);
}

#[test]
fn the_kept_bucket_order_is_used_and_a_damaged_one_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let keys: Vec<String> = (0..3000).map(|i| format!("u{i:04}")).collect();
    {
        let mut store = SqliteStore::open(&path).unwrap();
        let run = start(&mut store);
        let outcomes: Vec<ChangeOutcome> = keys
            .iter()
            .map(|k| applied(Kind::Users, k, user_row(k, "N", Status::Active)))
            .collect();
        store.record_outcomes(run, 0, &outcomes).unwrap();
    }
    let finds_all = |store: &SqliteStore| {
        let snap = store.snapshot().unwrap();
        assert_eq!(snap.len(), keys.len());
        keys.iter()
            .all(|k| snap.get(KeyHash::of(Kind::Users, k)).is_some())
    };
    let buckets_len = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row("SELECT length(data) FROM index_buckets", [], |r| r.get(0))
            .unwrap()
    };
    let conn = rusqlite::Connection::open(&path).unwrap();
    // Positions, then one start per bucket and the end: 3000 keys, 2^10 buckets.
    assert_eq!(buckets_len(&conn), 4 * (3000 + 1024 + 1));
    assert!(finds_all(&SqliteStore::open(&path).unwrap()));

    // Damaged (zeros, and a last start past the end), stale (another version's), gone.
    conn.execute(
        "UPDATE index_buckets SET data = zeroblob(length(data) - 4) || x'FFFFFFFF'",
        [],
    )
    .unwrap();
    assert!(finds_all(&SqliteStore::open(&path).unwrap()));
    conn.execute("UPDATE index_buckets SET data = x'00', version = 99", [])
        .unwrap();
    assert!(finds_all(&SqliteStore::open(&path).unwrap()));
    conn.execute("DELETE FROM index_buckets", []).unwrap();
    assert!(finds_all(&SqliteStore::open(&path).unwrap()));
}
