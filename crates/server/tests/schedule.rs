//! Which profiles the schedule starts: enabled, inside their window, schedule due.

use chrono::{TimeZone, Utc};
use rosterbridge_config::Config;
use rosterbridge_server::schedule::due;

fn config(profiles: &str) -> Config {
    let text = format!("[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"http://127.0.0.1:9\"\naccount_id = 1\n{profiles}");
    Config::parse(&text, std::path::Path::new("/etc/rb/rosterbridge.toml"))
        .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics()))
}

#[test]
fn a_profile_is_due_when_its_cron_fires_inside_its_window_and_it_is_enabled() {
    let c = config(
        "\n[[profiles]]\nname = \"nightly\"\nstart = 2026-08-01\nend = 2027-07-31\n\n\
[[profiles]]\nname = \"weekdays\"\nstart = 2027-08-01\nend = 2028-07-31\nschedule = \"30 1 * * 1-5\"\n\n\
[[profiles]]\nname = \"off\"\nstart = 2026-08-01\nend = 2027-07-31\nenabled = false\nschedule = \"* * * * * *\"\n",
    );
    let at = |y, mo, d, h, mi, s| Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
    // The default schedule: 02:00 UTC every night.
    assert_eq!(
        due(&c, at(2026, 9, 1, 1, 59, 59), at(2026, 9, 1, 2, 0, 0)),
        ["nightly"]
    );
    assert!(
        due(&c, at(2026, 9, 1, 2, 0, 0), at(2026, 9, 1, 2, 0, 1)).is_empty(),
        "once"
    );
    assert!(
        due(&c, at(2026, 9, 1, 12, 0, 0), at(2026, 9, 1, 12, 0, 1)).is_empty(),
        "not at noon; and the disabled profile never"
    );
    // Five fields are minutes first; outside its window a profile is not run.
    assert_eq!(
        due(&c, at(2027, 9, 1, 1, 29, 59), at(2027, 9, 1, 1, 30, 0)),
        ["weekdays"],
        "a Wednesday"
    );
    assert!(
        due(&c, at(2027, 9, 4, 1, 29, 59), at(2027, 9, 4, 1, 30, 0)).is_empty(),
        "a Saturday"
    );
    assert!(
        due(&c, at(2025, 9, 1, 1, 59, 59), at(2025, 9, 1, 2, 0, 0)).is_empty(),
        "before every window"
    );
}

#[test]
fn a_schedule_that_is_not_cron_is_a_validation_error_at_its_line() {
    let text = "[source]\nkind = \"oneroster-csv\"\npath = \"district\"\n\n[canvas]\nurl = \"http://127.0.0.1:9\"\naccount_id = 1\n\n[[profiles]]\nname = \"a\"\nstart = 2026-08-01\nend = 2027-07-31\nschedule = \"every night\"\n";
    let e = Config::parse(text, std::path::Path::new("/etc/rb/rosterbridge.toml"))
        .unwrap_err()
        .diagnostics();
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(
        e[0].message.contains("`schedule` is not a cron expression"),
        "{}",
        e[0].message
    );
    assert_eq!(e[0].location.as_ref().unwrap().line, Some(13));
}
