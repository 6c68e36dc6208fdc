-- Rooms rented by the hour.

-- room: the rooms, and one slot per reservation holding a time range.
CREATE TABLE rooms (
    id                INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL,
    hourly_price      INTEGER NOT NULL DEFAULT 0 CHECK (hourly_price >= 0),
    requires_approval INTEGER NOT NULL DEFAULT 0,
    status            TEXT    NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'removed')),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE TABLE room_slots (
    reservation_id INTEGER PRIMARY KEY,
    room_id        INTEGER NOT NULL REFERENCES rooms (id),
    member_id      INTEGER NOT NULL,
    starts_at      INTEGER NOT NULL,
    ends_at        INTEGER NOT NULL CHECK (ends_at > starts_at),
    created_at     INTEGER NOT NULL
);
CREATE INDEX room_slots_by_room ON room_slots (room_id, starts_at);

-- reservation: a booking is of a class or of a room slot. Rebuilt (the
-- documented way) because class_id may now be NULL.
CREATE TABLE reservations_new (
    id              INTEGER PRIMARY KEY,
    class_id        INTEGER,
    room_id         INTEGER,
    member_id       INTEGER NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'waitlisted',
                    'awaiting_approval', 'confirmed', 'rejected', 'cancelled')),
    reason          TEXT,
    price           INTEGER NOT NULL DEFAULT 0,
    credits         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    payment_method  TEXT,
    payment_status  TEXT,
    payment_amount  INTEGER NOT NULL DEFAULT 0,
    provider_ref    TEXT,
    refunded_amount INTEGER NOT NULL DEFAULT 0,
    seat            TEXT,
    starts_at       INTEGER,                   -- a room slot's range
    ends_at         INTEGER,
    CHECK ((class_id IS NULL) <> (room_id IS NULL))
);
INSERT INTO reservations_new (id, class_id, member_id, status, reason, price,
    credits, created_at, updated_at, payment_method, payment_status,
    payment_amount, provider_ref, refunded_amount, seat)
SELECT id, class_id, member_id, status, reason, price, credits, created_at,
    updated_at, payment_method, payment_status, payment_amount, provider_ref,
    refunded_amount, seat FROM reservations;
DROP TABLE reservations;
ALTER TABLE reservations_new RENAME TO reservations;
CREATE INDEX reservations_by_class ON reservations (class_id, status);
CREATE INDEX reservations_by_room ON reservations (room_id, status);
CREATE INDEX reservations_by_status ON reservations (status, created_at);
CREATE UNIQUE INDEX reservations_one_active ON reservations (class_id, member_id)
    WHERE status IN ('pending', 'waitlisted', 'awaiting_approval', 'confirmed')
    AND class_id IS NOT NULL;

CREATE TABLE reservation_rooms (
    room_id           INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL,
    hourly_price      INTEGER NOT NULL,
    requires_approval INTEGER NOT NULL,
    status            TEXT    NOT NULL
);

-- mypage: rebuilt for the same reason; a room booking shows the room.
CREATE TABLE mypage_new (
    reservation_id INTEGER PRIMARY KEY,
    member_id      INTEGER NOT NULL,
    class_id       INTEGER,
    room_id        INTEGER,
    class_title    TEXT    NOT NULL,
    starts_at      INTEGER NOT NULL,
    ends_at        INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    reason         TEXT,
    price          INTEGER NOT NULL,
    credits        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    seat           TEXT
);
INSERT INTO mypage_new (reservation_id, member_id, class_id, class_title,
    starts_at, ends_at, status, reason, price, credits, created_at, updated_at,
    seat)
SELECT reservation_id, member_id, class_id, class_title, starts_at, ends_at,
    status, reason, price, credits, created_at, updated_at, seat
FROM mypage_reservations;
DROP TABLE mypage_reservations;
ALTER TABLE mypage_new RENAME TO mypage_reservations;
CREATE INDEX mypage_by_member ON mypage_reservations (member_id, reservation_id);
