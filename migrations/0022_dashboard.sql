-- dashboard: the owner's view of every class, a read model written only by
-- the dashboard module's event handlers (src/modules/dashboard); dropped and
-- replayed by `studiod rebuild-projections`. Money in minor units.
CREATE TABLE dashboard_classes (
    class_id         INTEGER PRIMARY KEY,
    title            TEXT    NOT NULL,
    starts_at        INTEGER NOT NULL,
    ends_at          INTEGER NOT NULL,
    capacity         INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    booked           INTEGER NOT NULL DEFAULT 0,
    waitlist         INTEGER NOT NULL DEFAULT 0,   -- fed once a waitlist exists
    card_taken       INTEGER NOT NULL DEFAULT 0,   -- payment.succeeded online
    card_refunded    INTEGER NOT NULL DEFAULT 0,   -- payment.refunded
    at_desk_due      INTEGER NOT NULL DEFAULT 0,   -- at_desk bookings still standing
    credits_taken    INTEGER NOT NULL DEFAULT 0,   -- credits.debited
    credits_refunded INTEGER NOT NULL DEFAULT 0,   -- credits.refunded
    review_count     INTEGER NOT NULL DEFAULT 0,
    rating_sum       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX dashboard_classes_by_start ON dashboard_classes (starts_at, class_id);

-- Which class a reservation's money belongs to (payment.* and credits.*
-- carry only the reservation).
CREATE TABLE dashboard_bookings (
    reservation_id INTEGER PRIMARY KEY,
    class_id       INTEGER NOT NULL
);
