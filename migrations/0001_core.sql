-- Core: the outbox event log, each consumer's cursor, dead letters, and the
-- bearer tokens (stored as hashes only).
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY,
    type           TEXT    NOT NULL,
    correlation_id TEXT,
    payload        TEXT    NOT NULL CHECK (json_valid(payload)),
    created_at     INTEGER NOT NULL            -- Unix milliseconds
);

CREATE TABLE bus_cursor (
    consumer TEXT PRIMARY KEY,
    last_id  INTEGER NOT NULL
);

CREATE TABLE bus_dead_letter (
    id             INTEGER PRIMARY KEY,
    consumer       TEXT    NOT NULL,
    event_id       INTEGER NOT NULL,
    event_type     TEXT    NOT NULL,
    correlation_id TEXT,
    attempts       INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    UNIQUE (consumer, event_id)
);

CREATE TABLE auth_tokens (
    id         INTEGER PRIMARY KEY,
    hash       BLOB    NOT NULL UNIQUE,        -- BLAKE2b-256 of the token
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    member_id  INTEGER,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    CHECK ((role = 'member') = (member_id IS NOT NULL))
);
