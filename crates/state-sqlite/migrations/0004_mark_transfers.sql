-- Marks passback: every mark written to the SIS (or refused, or exported), per run.
CREATE TABLE mark_transfers (
    id            INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL,
    at            TEXT NOT NULL,
    class         TEXT NOT NULL,
    student       TEXT NOT NULL,
    line_item_id  TEXT NOT NULL,
    result_id     TEXT NOT NULL,
    value         TEXT NOT NULL,
    source        TEXT,
    target        TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    message       TEXT
);
CREATE INDEX mark_transfers_run ON mark_transfers (run_id);
CREATE INDEX mark_transfers_result ON mark_transfers (target, result_id, id);
