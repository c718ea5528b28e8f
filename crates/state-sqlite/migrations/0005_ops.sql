-- Plans held by the safety checks, so that `rosterbridge approve ID` applies exactly that
-- plan (same fingerprint, same state version) once; and small operational facts
-- (last notification times) as key/value pairs.
CREATE TABLE held_plans (
    id           INTEGER PRIMARY KEY,
    run          INTEGER,
    created_at   TEXT NOT NULL,
    base_version INTEGER NOT NULL,
    fingerprint  TEXT NOT NULL,
    summary      TEXT NOT NULL DEFAULT 'null',
    reasons      TEXT NOT NULL DEFAULT '[]',
    status       TEXT NOT NULL,
    applied_run  INTEGER
);
CREATE TABLE ops_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
