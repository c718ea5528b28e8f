//! Mark transfers in a real SQLite file: recorded per run, read back, the last sent value per
//! result and target, and kept across reopening.

use rosterbridge_state::{MarkTransfer, MarksStore, RunStart, StateStore};
use rosterbridge_state_sqlite::SqliteStore;

fn transfer(run: i64, result: &str, value: &str, target: &str, outcome: &str) -> MarkTransfer {
    MarkTransfer {
        run,
        at: "2026-12-02T10:00:00Z".into(),
        class: "cls-1".into(),
        student: format!("student-of-{result}"),
        line_item_id: "li-1".into(),
        result_id: result.into(),
        value: value.into(),
        source: Some("final".into()),
        target: target.into(),
        outcome: outcome.into(),
        message: (outcome == "rejected").then(|| "HTTP 422: locked".into()),
    }
}

#[test]
fn transfers_are_kept_per_run_and_the_last_sent_value_per_result_and_target_is_known() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let (r1, r2) = {
        let mut s = SqliteStore::open(&path).unwrap();
        let start = |c: &str| RunStart {
            command: c.into(),
            profile: None,
            started_at: "2026-12-02T10:00:00Z".into(),
            owner: None,
        };
        let r1 = s.begin_run(&start("marks push")).unwrap();
        s.record_mark_transfers(&[
            transfer(r1, "r-a", "80", "oneroster X", "sent"),
            transfer(r1, "r-b", "70", "oneroster X", "rejected"),
            transfer(r1, "r-c", "60", "csv out", "exported"),
        ])
        .unwrap();
        let r2 = s.begin_run(&start("marks push")).unwrap();
        s.record_mark_transfers(&[
            transfer(r2, "r-a", "85", "oneroster X", "sent"),
            transfer(r2, "r-a", "90", "oneroster Y", "sent"),
        ])
        .unwrap();
        (r1, r2)
    };
    // Reopened: the migration ran once and the rows stayed.
    let s = SqliteStore::open(&path).unwrap();
    let all = s.mark_transfers(None, 100).unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[0].run, r2, "newest run first");
    let first = s.mark_transfers(Some(r1), 100).unwrap();
    assert_eq!(
        first
            .iter()
            .map(|t| t.result_id.as_str())
            .collect::<Vec<_>>(),
        ["r-a", "r-b", "r-c"],
        "in recorded order"
    );
    assert_eq!(first[1].message.as_deref(), Some("HTTP 422: locked"));
    assert_eq!(s.mark_transfers(None, 2).unwrap().len(), 2);
    let sent = s.last_sent_marks("oneroster X").unwrap();
    assert_eq!(
        sent.get("r-a").map(String::as_str),
        Some("85"),
        "the latest sent value"
    );
    assert!(
        !sent.contains_key("r-b"),
        "a rejected mark counts as not sent"
    );
    assert!(
        !sent.contains_key("r-c"),
        "another target's transfers do not count"
    );
    assert_eq!(
        s.last_sent_marks("oneroster Y")
            .unwrap()
            .get("r-a")
            .map(String::as_str),
        Some("90")
    );
}
