-- reservation: the saga's owner. Owned by src/modules/reservation.
CREATE TABLE reservations (
    id         INTEGER PRIMARY KEY,
    class_id   INTEGER NOT NULL,
    member_id  INTEGER NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN
               ('pending', 'awaiting_approval', 'confirmed', 'rejected', 'cancelled')),
    reason     TEXT,
    price      INTEGER NOT NULL DEFAULT 0,
    credits    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX reservations_by_class ON reservations (class_id, status);
CREATE INDEX reservations_by_status ON reservations (status, created_at);
-- At most one active booking of a class per member.
CREATE UNIQUE INDEX reservations_one_active ON reservations (class_id, member_id)
    WHERE status IN ('pending', 'awaiting_approval', 'confirmed');

-- What the reservation module knows of classes and members, from their events.
CREATE TABLE reservation_classes (
    class_id  INTEGER PRIMARY KEY,
    title     TEXT    NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at   INTEGER NOT NULL,
    price     INTEGER NOT NULL,
    credits   INTEGER NOT NULL,
    status    TEXT    NOT NULL
);
CREATE TABLE reservation_members (
    member_id INTEGER PRIMARY KEY
);

-- Idempotency-Key: one reservation per (caller, key), and its final answer.
CREATE TABLE reservation_idempotency (
    caller         TEXT    NOT NULL,           -- "member:7" or "admin:1"
    key            TEXT    NOT NULL,
    request_hash   BLOB    NOT NULL,
    reservation_id INTEGER NOT NULL,
    status_code    INTEGER,                    -- NULL until the answer is final
    body           TEXT,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (caller, key)
);
