"""The yoga scenario: a small class fills up, rejects, frees a place, refills.

Every step checks the reply, the class head-count, and each member's
notifications and /me/reservations page.
"""

import datetime
import time
import unittest

from harness import StudioTestCase, iso, now_utc

CONFIRMED = "reservation_confirmed"
REJECTED = "reservation_rejected"
CANCELLED = "reservation_cancelled"


class YogaScenario(StudioTestCase):

    def test_yoga_class_of_two(self):
        srv = self.srv
        yoga = srv.make_class("Morning yoga", capacity=2, instructor="Ana", price=1500)
        cid = yoga["id"]
        self.assertEqual(yoga["capacity"], 2)
        self.assertEqual(yoga["booked"], 0)
        self.assertEqual(yoga["remaining"], 2)
        self.assertEqual(yoga["status"], "scheduled")
        a, b, c = srv.make_member("A"), srv.make_member("B"), srv.make_member("C")
        for m in (a, b, c):
            self.expectNotifications(m, [])
            self.expectMyReservations(m, {})

        # A books: 201, booked 1.
        ra = self.assertBooked(srv.book(a["token"], cid), cid, a)
        self.assertClassCounts(cid, 1, 2)
        self.expectNotifications(a, [(CONFIRMED, ra)], class_id=cid)
        items = self.expectMyReservations(a, {ra: ("confirmed", None)})
        self.assertEqual(items[0]["class_id"], cid)
        self.assertEqual(items[0]["class_title"], "Morning yoga")
        self.assertEqual(items[0]["starts_at"], yoga["starts_at"])
        self.assertEqual(items[0]["ends_at"], yoga["ends_at"])
        self.expectNotifications(b, [])
        self.expectMyReservations(b, {})

        # B books: 201, booked 2, remaining 0.
        rb = self.assertBooked(srv.book(b["token"], cid), cid, b)
        self.assertClassCounts(cid, 2, 2)
        self.expectNotifications(b, [(CONFIRMED, rb)], class_id=cid)
        self.expectMyReservations(b, {rb: ("confirmed", None)})
        self.expectNotifications(a, [(CONFIRMED, ra)])

        # C: 409 class_full; that reservation reads rejected/class_full.
        r = srv.book(c["token"], cid)
        rc1 = self.assertRejected(r, "class_full", cid, c)
        self.assertClassCounts(cid, 2, 2)
        self.expectNotifications(c, [(REJECTED, rc1)], class_id=cid)
        self.expectMyReservations(c, {rc1: ("rejected", "class_full")})
        # nobody else changed
        self.expectNotifications(a, [(CONFIRMED, ra)])
        self.expectNotifications(b, [(CONFIRMED, rb)])
        self.expectMyReservations(a, {ra: ("confirmed", None)})
        self.expectMyReservations(b, {rb: ("confirmed", None)})
        roster = srv.roster(cid)
        confirmed = sorted(x["id"] for x in roster if x["status"] == "confirmed")
        self.assertEqual(confirmed, sorted([ra, rb]), "roster: %r" % roster)

        # A cancels: 200, booked 1.
        r = srv.request("POST", "/reservations/%s/cancel" % ra, token=a["token"])
        self.assertStatus(r, 200, "A cancels")
        self.assertReservationBody(r.json, cid, a["id"], "cancelled", "member")
        self.assertEqual(r.json["id"], ra)
        self.assertClassCounts(cid, 1, 2)
        self.expectNotifications(a, [(CONFIRMED, ra), (CANCELLED, ra)], class_id=cid)
        self.expectMyReservations(a, {ra: ("cancelled", "member")})
        g = srv.request("GET", "/reservations/%s" % ra, token=a["token"])
        self.assertStatus(g, 200)
        self.assertReservationBody(g.json, cid, a["id"], "cancelled", "member")

        # C books now: 201.
        rc2 = self.assertBooked(srv.book(c["token"], cid), cid, c)
        self.assertNotEqual(rc2, rc1)
        self.assertClassCounts(cid, 2, 2)
        self.expectNotifications(c, [(REJECTED, rc1), (CONFIRMED, rc2)], class_id=cid)
        self.expectMyReservations(c, {rc1: ("rejected", "class_full"),
                                      rc2: ("confirmed", None)})
        self.expectNotifications(a, [(CONFIRMED, ra), (CANCELLED, ra)])
        self.expectNotifications(b, [(CONFIRMED, rb)])
        roster = srv.roster(cid)
        confirmed = sorted(x["id"] for x in roster if x["status"] == "confirmed")
        self.assertEqual(confirmed, sorted([rb, rc2]), "roster: %r" % roster)

        # and the class is full again
        d = srv.make_member("D")
        rd = self.assertRejected(srv.book(d["token"], cid), "class_full", cid, d)
        self.assertClassCounts(cid, 2, 2)
        self.expectMyReservations(d, {rd: ("rejected", "class_full")})

    def test_already_booked(self):
        srv = self.srv
        cid = srv.make_class(capacity=5)["id"]
        a = srv.make_member()
        ra = self.assertBooked(srv.book(a["token"], cid), cid, a)
        self.assertClassCounts(cid, 1, 5)
        r = srv.book(a["token"], cid)
        rid = self.assertRejected(r, "already_booked", cid, a)
        self.assertNotEqual(rid, ra)
        self.assertClassCounts(cid, 1, 5)
        self.expectMyReservations(a, {ra: ("confirmed", None), rid: ("rejected", "already_booked")})
        self.expectNotifications(a, [(CONFIRMED, ra), (REJECTED, rid)])
        g = srv.request("GET", "/reservations/%s" % ra, token=a["token"])
        self.assertEqual(g.json["status"], "confirmed")
        # admin booking for the same member is also already_booked
        r = srv.admin("POST", "/reservations", {"class_id": cid, "member_id": a["id"]})
        self.assertRejected(r, "already_booked", cid, a)
        self.assertClassCounts(cid, 1, 5)
        # after a cancel, booking again is fine
        r = srv.request("POST", "/reservations/%s/cancel" % ra, token=a["token"])
        self.assertStatus(r, 200)
        self.assertClassCounts(cid, 0, 5)
        ra2 = self.assertBooked(srv.book(a["token"], cid), cid, a)
        self.assertClassCounts(cid, 1, 5)
        self.assertNotEqual(ra2, ra)

    def _past_class(self):
        srv = self.srv
        body = srv.class_body(capacity=5, starts_in=-datetime.timedelta(hours=1))
        r = srv.admin("POST", "/classes", body)
        if r.status == 201:
            return r.json
        # The server refuses classes in the past: make one that starts in 2 s.
        start = now_utc() + datetime.timedelta(seconds=2)
        body = srv.class_body(capacity=5)
        body["starts_at"] = iso(start)
        body["ends_at"] = iso(start + datetime.timedelta(hours=1))
        r = srv.admin("POST", "/classes", body)
        self.assertStatus(r, 201, "class starting in 2 s")
        while now_utc() <= start:
            time.sleep(0.1)
        time.sleep(0.2)
        return r.json

    def test_booking_closed_when_started(self):
        srv = self.srv
        cls = self._past_class()
        cid = cls["id"]
        a = srv.make_member()
        r = srv.book(a["token"], cid)
        rid = self.assertRejected(r, "booking_closed", cid, a)
        self.assertClassCounts(cid, 0, 5)
        self.expectMyReservations(a, {rid: ("rejected", "booking_closed")})
        self.expectNotifications(a, [(REJECTED, rid)])
        roster = srv.roster(cid)
        self.assertEqual([x for x in roster if x["status"] == "confirmed"], [])

    def test_cancel_twice_is_idempotent(self):
        srv = self.srv
        cid = srv.make_class(capacity=3)["id"]
        a = srv.make_member()
        ra = self.assertBooked(srv.book(a["token"], cid), cid, a)
        self.assertClassCounts(cid, 1, 3)
        r1 = srv.request("POST", "/reservations/%s/cancel" % ra, token=a["token"])
        self.assertStatus(r1, 200)
        self.assertReservationBody(r1.json, cid, a["id"], "cancelled", "member")
        self.assertClassCounts(cid, 0, 3)
        r2 = srv.request("POST", "/reservations/%s/cancel" % ra, token=a["token"])
        self.assertStatus(r2, 200, "second cancel")
        self.assertEqual(r2.json, r1.json, "second cancel answers the same")
        # the admin cancelling it again changes nothing either
        r3 = srv.admin("POST", "/reservations/%s/cancel" % ra)
        self.assertStatus(r3, 200, "admin cancel of a cancelled reservation")
        self.assertEqual(r3.json["status"], "cancelled")
        self.assertEqual(r3.json["reason"], "member")
        self.assertClassCounts(cid, 0, 3)
        self.expectNotifications(a, [(CONFIRMED, ra), (CANCELLED, ra)])
        self.expectMyReservations(a, {ra: ("cancelled", "member")})

    def test_admin_cancel_reason(self):
        srv = self.srv
        cid = srv.make_class(capacity=3)["id"]
        a = srv.make_member()
        ra = self.assertBooked(srv.book(a["token"], cid), cid, a)
        r = srv.admin("POST", "/reservations/%s/cancel" % ra)
        self.assertStatus(r, 200)
        self.assertReservationBody(r.json, cid, a["id"], "cancelled", "admin")
        self.assertClassCounts(cid, 0, 3)
        self.expectNotifications(a, [(CONFIRMED, ra), (CANCELLED, ra)])
        self.expectMyReservations(a, {ra: ("cancelled", "admin")})

    def test_cancel_rejected_is_not_cancellable(self):
        srv = self.srv
        cid = srv.make_class(capacity=1)["id"]
        a, b = srv.make_member(), srv.make_member()
        ra = self.assertBooked(srv.book(a["token"], cid), cid, a)
        rb = self.assertRejected(srv.book(b["token"], cid), "class_full", cid, b)
        r = srv.request("POST", "/reservations/%s/cancel" % rb, token=b["token"])
        self.assertProblem(r, 409, "not_cancellable")
        g = srv.request("GET", "/reservations/%s" % rb, token=b["token"])
        self.assertEqual((g.json["status"], g.json["reason"]), ("rejected", "class_full"))
        self.assertClassCounts(cid, 1, 1)
        self.expectNotifications(b, [(REJECTED, rb)])
        self.expectNotifications(a, [(CONFIRMED, ra)])


if __name__ == "__main__":
    unittest.main()
