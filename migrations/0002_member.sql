-- member: the studio's members. Owned by src/modules/member.
CREATE TABLE members (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    email      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL                -- Unix seconds
);
