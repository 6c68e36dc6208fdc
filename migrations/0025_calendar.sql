-- calendar: the iCalendar feeds. Owned by src/modules/calendar.
--
-- A feed's secret is the key of its URL: a read-only capability, kept as
-- it is so the URL can be shown again. member_id 0 is the studio's feed.
CREATE TABLE calendar_feeds (
    member_id  INTEGER PRIMARY KEY,
    secret     TEXT    NOT NULL,              -- 64 hex digits
    created_at INTEGER NOT NULL
);

-- The member feeds' read model: every booking that was ever confirmed,
-- fed by reservation.* events. A cancelled one stays (STATUS:CANCELLED) so
-- a subscribed calendar removes it; sequence goes up with every change.
CREATE TABLE calendar_bookings (
    reservation_id INTEGER PRIMARY KEY,
    member_id      INTEGER NOT NULL,
    class_id       INTEGER,                   -- NULL for a room slot
    title          TEXT    NOT NULL,
    location       TEXT,                      -- the seat, or the room's name
    starts_at      INTEGER NOT NULL,
    ends_at        INTEGER NOT NULL,
    status         TEXT    NOT NULL,          -- confirmed | cancelled
    sequence       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX calendar_bookings_by_member
    ON calendar_bookings (member_id, starts_at);
CREATE INDEX calendar_bookings_by_class ON calendar_bookings (class_id);

-- The studio feed's read model: every class, fed by class.* events.
CREATE TABLE calendar_classes (
    class_id   INTEGER PRIMARY KEY,
    title      TEXT    NOT NULL,
    instructor TEXT,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    status     TEXT    NOT NULL,              -- scheduled | cancelled
    sequence   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX calendar_classes_by_start ON calendar_classes (starts_at);
