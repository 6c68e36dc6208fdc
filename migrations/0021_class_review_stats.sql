-- class: review statistics shown on GET /classes/{id}, a read model written
-- only by the class module's handlers of review.posted / review.deleted
-- (src/modules/class/class_reviews.c); rebuilt by `studiod rebuild-projections`.
CREATE TABLE class_review_stats (
    class_id     INTEGER PRIMARY KEY,
    review_count INTEGER NOT NULL,
    rating_sum   INTEGER NOT NULL
);
