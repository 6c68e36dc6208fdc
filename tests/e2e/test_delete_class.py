"""DELETE /classes/{id}: the studio cancels a class."""

import unittest

from harness import StudioTestCase

CONFIRMED = "reservation_confirmed"
REJECTED = "reservation_rejected"
CANCELLED = "reservation_cancelled"


class DeleteClass(StudioTestCase):

    def test_delete_class_with_three_bookings(self):
        srv = self.srv
        cls = srv.make_class("Sunset yoga", capacity=3)
        cid = cls["id"]
        other = srv.make_class("Other class", capacity=3)
        a, b, c, d, e = (srv.make_member(n) for n in "ABCDE")

        ra = self.assertBooked(srv.book(a["token"], cid), cid, a)
        rb = self.assertBooked(srv.book(b["token"], cid), cid, b)
        re_ = self.assertBooked(srv.book(e["token"], cid), cid, e)
        r = srv.request("POST", "/reservations/%s/cancel" % re_, token=e["token"])
        self.assertStatus(r, 200)
        rc = self.assertBooked(srv.book(c["token"], cid), cid, c)
        rd = self.assertRejected(srv.book(d["token"], cid), "class_full", cid, d)
        # A also holds a place in another class, which must not be touched.
        ro = self.assertBooked(srv.book(a["token"], other["id"]), other["id"], a)
        self.assertClassCounts(cid, 3, 3)
        self.expectNotifications(e, [(CONFIRMED, re_), (CANCELLED, re_)])

        r = srv.admin("DELETE", "/classes/%s" % cid)
        self.assertStatus(r, 200, "DELETE class")
        self.assertEqual(r.json.get("id"), cid)
        self.assertEqual(r.json.get("status"), "cancelled")

        # every active reservation cancelled with reason class_cancelled
        for m, rid in ((a, ra), (b, rb), (c, rc)):
            g = srv.request("GET", "/reservations/%s" % rid, token=m["token"])
            self.assertStatus(g, 200)
            self.assertReservationBody(g.json, cid, m["id"], "cancelled", "class_cancelled")
        # the others keep their state
        g = srv.admin("GET", "/reservations/%s" % re_)
        self.assertEqual((g.json["status"], g.json["reason"]), ("cancelled", "member"))
        g = srv.admin("GET", "/reservations/%s" % rd)
        self.assertEqual((g.json["status"], g.json["reason"]), ("rejected", "class_full"))
        g = srv.admin("GET", "/reservations/%s" % ro)
        self.assertEqual((g.json["status"], g.json["reason"]), ("confirmed", None))

        cl = srv.get_class(cid)
        self.assertEqual(cl["status"], "cancelled")
        self.assertEqual(cl["booked"], 0)
        self.assertClassCounts(other["id"], 1, 3)

        roster = {x["id"]: (x["status"], x["reason"]) for x in srv.roster(cid)}
        self.assertEqual(roster, {
            ra: ("cancelled", "class_cancelled"), rb: ("cancelled", "class_cancelled"),
            rc: ("cancelled", "class_cancelled"), re_: ("cancelled", "member"),
            rd: ("rejected", "class_full")})

        # notifications and member pages
        self.expectNotifications(a, [(CONFIRMED, ra), (CONFIRMED, ro), (CANCELLED, ra)])
        self.expectNotifications(b, [(CONFIRMED, rb), (CANCELLED, rb)], class_id=cid)
        self.expectNotifications(c, [(CONFIRMED, rc), (CANCELLED, rc)], class_id=cid)
        self.expectNotifications(d, [(REJECTED, rd)])
        self.expectNotifications(e, [(CONFIRMED, re_), (CANCELLED, re_)])
        self.expectMyReservations(a, {ra: ("cancelled", "class_cancelled"), ro: ("confirmed", None)})
        self.expectMyReservations(b, {rb: ("cancelled", "class_cancelled")})
        self.expectMyReservations(c, {rc: ("cancelled", "class_cancelled")})
        self.expectMyReservations(d, {rd: ("rejected", "class_full")})
        self.expectMyReservations(e, {re_: ("cancelled", "member")})

        # DELETE again: 200, nothing more happens
        r2 = srv.admin("DELETE", "/classes/%s" % cid)
        self.assertStatus(r2, 200, "DELETE again")
        self.assertEqual(r2.json.get("status"), "cancelled")
        self.assertEqual(r2.json.get("id"), cid)
        self.assertEqual(srv.get_class(cid)["booked"], 0)
        self.expectNotifications(b, [(CONFIRMED, rb), (CANCELLED, rb)])

        # the member cancelling a class-cancelled reservation: 200, unchanged
        r = srv.request("POST", "/reservations/%s/cancel" % rb, token=b["token"])
        self.assertStatus(r, 200)
        self.assertEqual((r.json["status"], r.json["reason"]), ("cancelled", "class_cancelled"))
        self.expectNotifications(b, [(CONFIRMED, rb), (CANCELLED, rb)])

        # booking it: 409 booking_closed
        f = srv.make_member("F")
        r = srv.book(f["token"], cid)
        rf = self.assertRejected(r, "booking_closed", cid, f)
        self.assertEqual(srv.get_class(cid)["booked"], 0)
        self.expectMyReservations(f, {rf: ("rejected", "booking_closed")})
        r = srv.book(a["token"], cid)
        self.assertRejected(r, "booking_closed", cid, a)
        r = srv.admin("POST", "/reservations", {"class_id": cid, "member_id": f["id"]})
        self.assertRejected(r, "booking_closed", cid, f)
        self.assertEqual(srv.get_class(cid)["booked"], 0)

        # PATCH it: 409, unchanged
        before = srv.get_class(cid)
        for body in ({"capacity": 10}, {"title": "Resurrected"}):
            r = srv.admin("PATCH", "/classes/%s" % cid, body)
            self.assertProblem(r, 409, msg="PATCH a cancelled class")
        self.assertEqual(srv.get_class(cid), before)

    def test_delete_empty_class_and_unknown(self):
        srv = self.srv
        cid = srv.make_class(capacity=4)["id"]
        r = srv.admin("DELETE", "/classes/%s" % cid)
        self.assertStatus(r, 200)
        self.assertEqual((r.json.get("id"), r.json.get("status")), (cid, "cancelled"))
        self.assertEqual(srv.get_class(cid)["status"], "cancelled")
        self.assertEqual(srv.admin("DELETE", "/classes/%s" % cid).status, 200)
        r = srv.admin("DELETE", "/classes/99999999")
        self.assertProblem(r, 404)


if __name__ == "__main__":
    unittest.main()
