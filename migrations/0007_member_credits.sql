-- member: the credits ledger. The balance is the sum of a member's rows;
-- there is no other copy of it.
CREATE TABLE member_credits (
    id             INTEGER PRIMARY KEY,
    member_id      INTEGER NOT NULL REFERENCES members (id),
    amount         INTEGER NOT NULL CHECK (amount <> 0),
    reason         TEXT    NOT NULL,
    reservation_id INTEGER,
    created_at     INTEGER NOT NULL
);
CREATE INDEX member_credits_by_member ON member_credits (member_id, id);
-- One debit and at most one refund per reservation.
CREATE UNIQUE INDEX member_credits_one_per_kind
    ON member_credits (reservation_id, reason) WHERE reservation_id IS NOT NULL;
