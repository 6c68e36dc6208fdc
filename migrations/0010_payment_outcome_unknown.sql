-- payment: a charge whose request timed out may have gone through at the
-- provider. Such a charge is never given up: it is asked again (same key)
-- until the provider says, and refunded if the booking is over.
ALTER TABLE payments ADD COLUMN outcome_unknown INTEGER NOT NULL DEFAULT 0;
