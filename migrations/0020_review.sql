-- review: members' reviews of classes they attended. Owned by src/modules/review.
-- review_classes and review_attendance are its own projections of class.* and
-- reservation.* events: who may review what, without reading other modules.
CREATE TABLE review_classes (
    class_id  INTEGER PRIMARY KEY,
    starts_at INTEGER NOT NULL
);

CREATE TABLE review_attendance (
    reservation_id INTEGER PRIMARY KEY,
    member_id      INTEGER NOT NULL,
    class_id       INTEGER NOT NULL,
    status         TEXT    NOT NULL
);
CREATE INDEX review_attendance_by_member ON review_attendance (member_id, class_id);

CREATE TABLE reviews (
    id             INTEGER PRIMARY KEY,
    class_id       INTEGER NOT NULL,
    reservation_id INTEGER NOT NULL UNIQUE,    -- once per reservation
    member_id      INTEGER NOT NULL,
    rating         INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment        TEXT,
    created_at     INTEGER NOT NULL
);
CREATE INDEX reviews_by_class ON reviews (class_id, id);
