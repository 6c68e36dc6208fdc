-- member: the path of the member's calendar feed, shown by GET /me. The
-- calendar module owns the feed; the member module keeps this copy from
-- calendar.feed_changed (NULL until the first one).
ALTER TABLE members ADD COLUMN calendar_url TEXT;
