-- webhook: the studio's outgoing hooks. Owned by src/modules/webhook.
-- Each delivery is a job recorded in the same transaction as the event's
-- handling and sent after the commit; each try is kept in webhook_attempts.
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    url        TEXT    NOT NULL,
    events     TEXT    NOT NULL CHECK (json_valid(events)),   -- ["type", ...] or ["*"]
    secret     TEXT    NOT NULL,                              -- HMAC key, never shown again
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id),
    event_id        INTEGER NOT NULL,
    event_type      TEXT    NOT NULL,
    delivery_id     TEXT    NOT NULL UNIQUE,                  -- X-Studiod-Delivery
    body            TEXT    NOT NULL,                         -- exactly what is signed
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,                         -- Unix ms
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries (webhook_id, id);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id),
    attempt     INTEGER NOT NULL,
    status_code INTEGER,                                      -- NULL: no answer
    error       TEXT,
    duration_ms INTEGER NOT NULL,
    created_at  INTEGER NOT NULL                              -- Unix ms
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, attempt);
