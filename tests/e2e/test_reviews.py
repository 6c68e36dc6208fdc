"""Reviews: who may post one (a confirmed reservation of a class that has
started, once per reservation), who may delete it, and the class's
review_count / rating_avg, a read model fed by review.posted/review.deleted.

The clock is moved with STUDIOD_TEST_CLOCK_OFFSET_S on a restarted server
so the class "has started" without sleeping.
"""

import datetime
import unittest

from harness import StudioTestCase, eventually

HOUR = datetime.timedelta(hours=1)


class ReviewTest(StudioTestCase):
    server_per_test = True

    def review(self, member, cid, rating, comment=None):
        body = {"rating": rating}
        if comment is not None:
            body["comment"] = comment
        return self.srv.request("POST", "/classes/%s/reviews" % cid, body,
                                token=member["token"])

    def test_review_rules_and_stats(self):
        srv = self.srv
        cid = srv.make_class(starts_in=2 * HOUR)["id"]
        other = srv.make_class(starts_in=2 * HOUR)["id"]
        ana, ben, cleo, dee = (srv.make_member() for _ in range(4))
        for m in (ana, ben, cleo):
            self.assertBooked(srv.book(m["token"], cid), cid, m)
        r = srv.book(cleo["token"], other)
        self.assertStatus(r, 201)
        self.assertStatus(srv.request("POST", "/reservations/%s/cancel" % r.json["id"],
                                      token=cleo["token"]), 200)
        # Not started yet: no review, whoever asks.
        self.assertProblem(self.review(ana, cid, 5), 409, "class_not_started")
        self.assertProblem(self.review(dee, cid, 5), 409, "not_attended")
        self.assertStatus(srv.admin("POST", "/classes/%s/reviews" % cid, {"rating": 5}), 403)
        self.assertStatus(srv.request("POST", "/classes/%s/reviews" % cid, {"rating": 5}), 401)

        srv.stop()
        srv.extra_env["STUDIOD_TEST_CLOCK_OFFSET_S"] = str(3 * 3600)
        srv.start()
        # Validation.
        for bad in ({}, {"rating": 0}, {"rating": 6}, {"rating": "5"},
                    {"rating": 3, "comment": "x" * 2001}, {"rating": 3, "extra": 1}):
            self.assertProblem(srv.request("POST", "/classes/%s/reviews" % cid, bad,
                                           token=ana["token"]), 422, "validation_failed")
        self.assertProblem(self.review(ana, 999, 5), 404, "not_found")
        # No attendance: never booked, or cancelled.
        self.assertProblem(self.review(dee, cid, 5), 409, "not_attended")
        self.assertProblem(self.review(cleo, other, 5), 409, "not_attended")

        r1 = self.review(ana, cid, 5, "x" * 2000)
        self.assertStatus(r1, 201)
        self.assertEqual(r1.json["rating"], 5)
        self.assertTrue(r1.headers["Location"].endswith("/reviews/%s" % r1.json["id"]))
        # Once per reservation.
        self.assertProblem(self.review(ana, cid, 1), 409, "already_reviewed")
        r2 = self.review(ben, cid, 4, "Good")
        self.assertStatus(r2, 201)
        r3 = self.review(cleo, cid, 2)
        self.assertStatus(r3, 201)
        c = srv.get_class(cid)
        self.assertEqual((c["review_count"], c["rating_avg"]), (3, 3.67))
        # The schedule (a cached page) shows it too.
        row = [x for x in srv.all_classes() if x["id"] == cid][0]
        self.assertEqual((row["review_count"], row["rating_avg"]), (3, 3.67))
        self.assertEqual(srv.get_class(other)["review_count"], 0)
        self.assertIsNone(srv.get_class(other)["rating_avg"])

        listed = srv.list_all("/classes/%s/reviews" % cid)
        self.assertEqual([x["rating"] for x in listed], [5, 4, 2])
        self.assertEqual(listed[1]["comment"], "Good")
        self.assertNotIn("member_id", listed[0])

        # Delete: not by another member; by the author; by an admin.
        rid1, rid2 = r1.json["id"], r2.json["id"]
        self.assertStatus(srv.request("DELETE", "/reviews/%s" % rid1, token=ben["token"]), 403)
        self.assertStatus(srv.request("DELETE", "/reviews/%s" % rid1, token=ana["token"]), 200)
        self.assertStatus(srv.request("DELETE", "/reviews/%s" % rid1, token=ana["token"]), 404)
        self.assertStatus(srv.admin("DELETE", "/reviews/%s" % rid2), 200)
        c = srv.get_class(cid)
        self.assertEqual((c["review_count"], c["rating_avg"]), (1, 2.0))
        # After deleting hers, the author may post again (one live review).
        self.assertStatus(self.review(ana, cid, 4), 201)
        c = srv.get_class(cid)
        self.assertEqual((c["review_count"], c["rating_avg"]), (2, 3.0))


if __name__ == "__main__":
    unittest.main()
