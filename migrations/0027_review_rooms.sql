-- review: reviews of rooms too. Owned by src/modules/review.
-- review_rooms and review_room_attendance are the review module's own
-- projections of room.* events and of reservation.* events of room bookings
-- (those carry room_id and no class_id): which rooms exist, and who held a
-- confirmed slot of which room, from when.
CREATE TABLE review_rooms (
    room_id INTEGER PRIMARY KEY,
    status  TEXT    NOT NULL                    -- active | removed
);

CREATE TABLE review_room_attendance (
    reservation_id INTEGER PRIMARY KEY,
    member_id      INTEGER NOT NULL,
    room_id        INTEGER NOT NULL,
    starts_at      INTEGER NOT NULL,            -- the slot's start
    status         TEXT    NOT NULL
);
CREATE INDEX review_room_attendance_by_member
    ON review_room_attendance (member_id, room_id);

-- A review is of a class or of a room: class_id becomes nullable.
CREATE TABLE reviews_new (
    id             INTEGER PRIMARY KEY,
    class_id       INTEGER,
    room_id        INTEGER,
    reservation_id INTEGER NOT NULL UNIQUE,    -- once per reservation
    member_id      INTEGER NOT NULL,
    rating         INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment        TEXT,
    created_at     INTEGER NOT NULL,
    CHECK ((class_id IS NULL) <> (room_id IS NULL))
);
INSERT INTO reviews_new (id, class_id, reservation_id, member_id, rating,
                         comment, created_at)
    SELECT id, class_id, reservation_id, member_id, rating, comment, created_at
    FROM reviews;
DROP TABLE reviews;
ALTER TABLE reviews_new RENAME TO reviews;
CREATE INDEX reviews_by_class ON reviews (class_id, id);
CREATE INDEX reviews_by_room ON reviews (room_id, id);

-- Rooms and room bookings from before this migration: the review consumer
-- has passed their events already, so read them once from the event log
-- (what retention has pruned is lost).
INSERT INTO review_rooms (room_id, status)
    SELECT json_extract(payload, '$.room_id'), json_extract(payload, '$.status')
    FROM outbox WHERE type IN ('room.created', 'room.updated', 'room.removed')
    ORDER BY id
    ON CONFLICT (room_id) DO UPDATE SET status = excluded.status;
INSERT INTO review_room_attendance (reservation_id, member_id, room_id,
                                    starts_at, status)
    SELECT json_extract(payload, '$.reservation_id'),
           json_extract(payload, '$.member_id'),
           json_extract(payload, '$.room_id'),
           json_extract(payload, '$.starts_at'),
           json_extract(payload, '$.status')
    FROM outbox
    WHERE type IN ('reservation.confirmed', 'reservation.cancelled')
      AND json_extract(payload, '$.room_id') IS NOT NULL
    ORDER BY id
    ON CONFLICT (reservation_id) DO UPDATE SET status = excluded.status;
