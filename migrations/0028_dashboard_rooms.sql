-- dashboard: the owner's view of every room, a read model written only by
-- the dashboard module's handlers of room.*, payment.*, reservation.* and
-- review.* events (src/modules/dashboard); emptied and replayed by
-- `studiod rebuild-projections` (run it once to count a database's rooms
-- from before this migration). Money in minor units.
CREATE TABLE dashboard_rooms (
    room_id       INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    hourly_price  INTEGER NOT NULL,
    status        TEXT    NOT NULL,             -- active | removed
    booked        INTEGER NOT NULL DEFAULT 0,   -- live slots (held, not released)
    card_taken    INTEGER NOT NULL DEFAULT 0,   -- payment.succeeded online
    card_refunded INTEGER NOT NULL DEFAULT 0,   -- payment.refunded
    at_desk_due   INTEGER NOT NULL DEFAULT 0,   -- at_desk bookings still standing
    review_count  INTEGER NOT NULL DEFAULT 0,
    rating_sum    INTEGER NOT NULL DEFAULT 0
);

-- Which room a reservation's money belongs to (payment.* carry only the
-- reservation).
CREATE TABLE dashboard_room_bookings (
    reservation_id INTEGER PRIMARY KEY,
    room_id        INTEGER NOT NULL
);
