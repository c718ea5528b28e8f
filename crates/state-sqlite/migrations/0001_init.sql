-- Append-only: never edit a shipped migration; add the next number instead.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('version', '0');

-- One row per Canvas object rosterbridge created or adopted.
-- kind and status are small integers (see KIND_CODES / STATUS_CODES in lib.rs) so that the
-- snapshot scan, which reads every row, stays cheap.
CREATE TABLE objects (
    id            INTEGER PRIMARY KEY,
    key_hash      BLOB NOT NULL UNIQUE,
    kind          INTEGER NOT NULL,
    status        INTEGER NOT NULL,
    content_hash  INTEGER NOT NULL,
    sis_key       TEXT NOT NULL,
    row_json      TEXT NOT NULL,
    canvas_id     INTEGER,
    ownership     TEXT NOT NULL,
    last_outcome  TEXT NOT NULL,
    last_run      INTEGER,
    updated_at    TEXT NOT NULL,
    UNIQUE (kind, sis_key)
);

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    command     TEXT NOT NULL,
    profile     TEXT,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    outcome     TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT 'null',
    message     TEXT,
    artifacts   TEXT NOT NULL DEFAULT '[]'
);

-- The last source exchange, per file, for OneRoster deltas.
CREATE TABLE source_tables (
    file TEXT PRIMARY KEY,
    csv  BLOB NOT NULL
);
