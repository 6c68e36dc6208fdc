-- Seats, approval by the studio, and the waitlist.

-- class: a seat map, which seat a place is, whether it is confirmed
-- ("taken") or only held, and the waitlist (first come, first served).
CREATE TABLE class_seats (
    class_id INTEGER NOT NULL REFERENCES classes (id),
    seat     TEXT    NOT NULL,
    PRIMARY KEY (class_id, seat)
);
ALTER TABLE classes ADD COLUMN has_seats INTEGER NOT NULL DEFAULT 0;
ALTER TABLE classes ADD COLUMN waitlist INTEGER NOT NULL DEFAULT 0 CHECK (waitlist >= 0);
ALTER TABLE class_holds ADD COLUMN seat TEXT;
ALTER TABLE class_holds ADD COLUMN taken INTEGER NOT NULL DEFAULT 0;
-- A seat has at most one place held on it.
CREATE UNIQUE INDEX class_holds_one_per_seat ON class_holds (class_id, seat)
    WHERE seat IS NOT NULL;
CREATE TABLE class_waitlist (
    reservation_id INTEGER PRIMARY KEY,
    class_id       INTEGER NOT NULL REFERENCES classes (id),
    member_id      INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX class_waitlist_line ON class_waitlist (class_id, reservation_id);

-- reservation: two new states (awaiting_approval existed; 'waitlisted' is
-- new) and the seat. SQLite cannot change a CHECK constraint, so the
-- table is rebuilt the documented way: create, copy, drop, rename.
CREATE TABLE reservations_new (
    id              INTEGER PRIMARY KEY,
    class_id        INTEGER NOT NULL,
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
    seat            TEXT
);
INSERT INTO reservations_new (id, class_id, member_id, status, reason, price,
    credits, created_at, updated_at, payment_method, payment_status,
    payment_amount, provider_ref, refunded_amount)
SELECT id, class_id, member_id, status, reason, price, credits, created_at,
    updated_at, payment_method, payment_status, payment_amount, provider_ref,
    refunded_amount FROM reservations;
DROP TABLE reservations;
ALTER TABLE reservations_new RENAME TO reservations;
CREATE INDEX reservations_by_class ON reservations (class_id, status);
CREATE INDEX reservations_by_status ON reservations (status, created_at);
-- At most one live booking of a class per member: waiting in line counts.
CREATE UNIQUE INDEX reservations_one_active ON reservations (class_id, member_id)
    WHERE status IN ('pending', 'waitlisted', 'awaiting_approval', 'confirmed');

ALTER TABLE reservation_classes ADD COLUMN requires_approval INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservation_classes ADD COLUMN has_seats INTEGER NOT NULL DEFAULT 0;
CREATE TABLE reservation_class_seats (
    class_id INTEGER NOT NULL,
    seat     TEXT    NOT NULL,
    PRIMARY KEY (class_id, seat)
);

-- mypage: the seat, shown on the member's page.
ALTER TABLE mypage_reservations ADD COLUMN seat TEXT;

-- notification: one entry per event per inbox (a request awaiting approval
-- goes to the member's and to the studio's, member_id 0). Rebuilt to widen
-- the unique key from event_id to (event_id, member_id).
CREATE TABLE notifications_new (
    id             INTEGER PRIMARY KEY,
    member_id      INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    reservation_id INTEGER,
    class_id       INTEGER,
    message        TEXT    NOT NULL,
    event_id       INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    UNIQUE (event_id, member_id)
);
INSERT INTO notifications_new SELECT id, member_id, kind, reservation_id,
    class_id, message, event_id, created_at FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_by_member ON notifications (member_id, id);
