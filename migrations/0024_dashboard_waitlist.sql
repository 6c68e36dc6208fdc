-- dashboard: the reservations waiting in a class's line, so the dashboard
-- can count dashboard_classes.waitlist from class.waitlisted and take one
-- off when that reservation leaves the line (cancelled, rejected or
-- promoted). Owned by src/modules/dashboard; emptied and replayed by
-- `studiod rebuild-projections`.
CREATE TABLE dashboard_waiting (
    reservation_id INTEGER PRIMARY KEY,
    class_id       INTEGER NOT NULL
);
