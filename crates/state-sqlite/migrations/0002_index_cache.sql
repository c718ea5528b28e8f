-- The compact state index as one blob (34 bytes an object), rewritten in the same
-- transaction as every outcome batch, so that planning reads one row instead of scanning
-- millions. `version` is the state version it was written for; a mismatch means "stale,
-- scan the objects table instead".
CREATE TABLE index_cache (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    data    BLOB NOT NULL
);
