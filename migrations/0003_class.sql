-- class: the schedule and the places held on it. Owned by src/modules/class.
CREATE TABLE classes (
    id                INTEGER PRIMARY KEY,
    title             TEXT    NOT NULL,
    instructor        TEXT,
    starts_at         INTEGER NOT NULL,        -- Unix seconds
    ends_at           INTEGER NOT NULL CHECK (ends_at > starts_at),
    capacity          INTEGER NOT NULL CHECK (capacity >= 1),
    booked            INTEGER NOT NULL DEFAULT 0
                      CHECK (booked >= 0 AND booked <= capacity),
    price             INTEGER NOT NULL DEFAULT 0 CHECK (price >= 0),
    credits           INTEGER NOT NULL DEFAULT 0 CHECK (credits >= 0),
    requires_approval INTEGER NOT NULL DEFAULT 0,
    status            TEXT    NOT NULL DEFAULT 'scheduled'
                      CHECK (status IN ('scheduled', 'cancelled')),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX classes_by_start ON classes (starts_at);

-- One row per place held for a reservation; booked = count of these rows.
CREATE TABLE class_holds (
    reservation_id INTEGER PRIMARY KEY,
    class_id       INTEGER NOT NULL REFERENCES classes (id),
    member_id      INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX class_holds_by_class ON class_holds (class_id);
