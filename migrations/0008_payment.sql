-- payment: card charges through the provider, and their refunds. Each row is
-- also the job the worker performs; its idempotency key is derived from the
-- reservation, so a retry after a crash can never charge twice.
CREATE TABLE payments (
    id              INTEGER PRIMARY KEY,
    reservation_id  INTEGER NOT NULL UNIQUE,
    member_id       INTEGER NOT NULL,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    currency        TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN
                    ('pending', 'succeeded', 'declined', 'failed', 'at_desk')),
    provider_ref    TEXT,
    idempotency_key TEXT    NOT NULL UNIQUE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,          -- Unix ms
    last_error      TEXT,
    -- The booking ended while the charge was in flight: refund if it succeeds.
    void_requested  INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX payments_due ON payments (status, next_attempt_at);

CREATE TABLE payment_refunds (
    id              INTEGER PRIMARY KEY,
    payment_id      INTEGER NOT NULL UNIQUE REFERENCES payments (id),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    provider_ref    TEXT,
    idempotency_key TEXT    NOT NULL UNIQUE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX payment_refunds_due ON payment_refunds (status, next_attempt_at);
