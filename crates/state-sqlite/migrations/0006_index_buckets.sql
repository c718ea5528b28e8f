-- The state index's bucket order beside its entries (index_cache): the positions of the
-- keys grouped by bucket (u32 little-endian each), then where each bucket starts. Written
-- with index_cache for the same version; loading it saves building the order on every
-- plan. A missing or stale row only means "build it".
CREATE TABLE index_buckets (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    data    BLOB NOT NULL
);
