-- reservation: what the member paid and got back, as told by credits.* and
-- payment.* events (shown by GET /reservations/{id}).
ALTER TABLE reservations ADD COLUMN payment_method TEXT;     -- credits | card | none
ALTER TABLE reservations ADD COLUMN payment_status TEXT;     -- pending | succeeded | at_desk | failed | refunded
ALTER TABLE reservations ADD COLUMN payment_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN provider_ref TEXT;
ALTER TABLE reservations ADD COLUMN refunded_amount INTEGER NOT NULL DEFAULT 0;
