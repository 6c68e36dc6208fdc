-- mypage: the member's page, a read model written only by event handlers.
-- Owned by src/modules/mypage; can be rebuilt from the outbox.
CREATE TABLE mypage_reservations (
    reservation_id INTEGER PRIMARY KEY,
    member_id      INTEGER NOT NULL,
    class_id       INTEGER NOT NULL,
    class_title    TEXT    NOT NULL,
    starts_at      INTEGER NOT NULL,
    ends_at        INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    reason         TEXT,
    price          INTEGER NOT NULL,
    credits        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX mypage_by_member ON mypage_reservations (member_id, reservation_id);
