-- notification: each member's inbox. Owned by src/modules/notification.
CREATE TABLE notifications (
    id             INTEGER PRIMARY KEY,
    member_id      INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    reservation_id INTEGER,
    class_id       INTEGER,
    message        TEXT    NOT NULL,
    event_id       INTEGER NOT NULL UNIQUE,    -- one notification per event
    created_at     INTEGER NOT NULL
);
CREATE INDEX notifications_by_member ON notifications (member_id, id);
