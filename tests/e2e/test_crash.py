"""Crashes: every acknowledged booking survives kill -9, and a saga cut short
between commit and dispatch resumes after a restart."""

import http.client
import socket
import unittest
import uuid

from invariants import assert_invariants
from harness import StudioTestCase, eventually


class CrashRecovery(StudioTestCase):
    server_per_test = True

    def test_kill9_keeps_acknowledged_bookings(self):
        srv = self.srv
        c1 = srv.make_class("Before the crash", capacity=5)
        c2 = srv.make_class("Second", capacity=2)
        members = [srv.make_member() for _ in range(4)]
        booked = {}
        for m in members[:3]:
            booked[m["id"]] = self.assertBooked(srv.book(m["token"], c1["id"]), c1["id"], m)
        r2a = self.assertBooked(srv.book(members[0]["token"], c2["id"]), c2["id"], members[0])
        r2b = self.assertBooked(srv.book(members[3]["token"], c2["id"]), c2["id"], members[3])
        cancel = srv.request("POST", "/reservations/%s/cancel" % r2a, token=members[0]["token"])
        self.assertStatus(cancel, 200)
        admin_token = srv.admin_token

        srv.kill9()
        srv.restart()
        self.assertEqual(srv.admin_token, admin_token, "admin token kept")
        self.assertEqual(srv.request("GET", "/readyz").status, 200)

        self.assertClassCounts(c1["id"], 3, 5)
        self.assertClassCounts(c2["id"], 1, 2)
        for m in members[:3]:
            g = srv.request("GET", "/reservations/%s" % booked[m["id"]], token=m["token"])
            self.assertStatus(g, 200, "reservation after restart")
            self.assertReservationBody(g.json, c1["id"], m["id"], "confirmed")
            # tokens survive too
            self.assertStatus(srv.request("GET", "/me", token=m["token"]), 200)
        g = srv.admin("GET", "/reservations/%s" % r2a)
        self.assertEqual((g.json["status"], g.json["reason"]), ("cancelled", "member"))
        g = srv.admin("GET", "/reservations/%s" % r2b)
        self.assertEqual(g.json["status"], "confirmed")
        conf = sorted(x["id"] for x in srv.roster(c1["id"]) if x["status"] == "confirmed")
        self.assertEqual(conf, sorted(booked.values()))
        self.expectMyReservations(members[0], {booked[members[0]["id"]]: ("confirmed", None),
                                               r2a: ("cancelled", "member")})
        self.expectNotifications(members[1], [("reservation_confirmed", booked[members[1]["id"]])])
        self.expectNotifications(members[0], [("reservation_confirmed", booked[members[0]["id"]]),
                                              ("reservation_confirmed", r2a),
                                              ("reservation_cancelled", r2a)])

        # the counters carry on correctly
        r = srv.book(members[3]["token"], c1["id"])
        self.assertBooked(r, c1["id"], members[3])
        self.assertClassCounts(c1["id"], 4, 5)
        late = srv.make_member()
        self.assertBooked(srv.book(late["token"], c2["id"]), c2["id"], late)
        self.assertClassCounts(c2["id"], 2, 2)

        # and a second crash in a row changes nothing
        srv.kill9()
        srv.restart()
        self.assertClassCounts(c1["id"], 4, 5)
        self.assertClassCounts(c2["id"], 2, 2)
        assert_invariants(self, self.srv)

    def crash_post(self, member, class_id, key):
        """POST with the fault header; the connection must drop."""
        srv = self.srv
        try:
            r = srv.request("POST", "/reservations", {"class_id": class_id},
                            token=member["token"],
                            headers={"Idempotency-Key": key,
                                     "X-Test-Fault": "crash-before-dispatch"})
        except (http.client.HTTPException, ConnectionError, socket.timeout, OSError):
            r = None
        self.assertIsNone(r, "the fault-injected request must not be answered: %r" % (r,))
        rc = srv.wait_exit(10)
        self.assertEqual(rc, -9, "the server killed itself with SIGKILL (status %s)" % rc)

    def test_crash_before_dispatch_resumes_saga(self):
        srv = self.srv
        cls = srv.make_class("Crashy", capacity=3)
        cid = cls["id"]
        m = srv.make_member("Patient")
        other = srv.make_member("Other")
        ro = self.assertBooked(srv.book(other["token"], cid), cid, other)
        key = "crash-" + uuid.uuid4().hex

        self.crash_post(m, cid, key)
        srv.restart()

        # the saga resumes on its own: the reservation gets confirmed
        def resumed():
            c = srv.get_class(cid)
            self.assertEqual(c["booked"], 2, "resumed saga booked: %r" % c)
            roster = srv.roster(cid)
            mine = [x for x in roster if x["member_id"] == m["id"]]
            self.assertEqual(len(mine), 1, "one reservation of the member: %r" % roster)
            self.assertEqual(mine[0]["status"], "confirmed")
            return mine[0]["id"]
        rid = eventually(resumed, timeout=5)

        # the retry with the same key answers with that reservation, confirmed
        r = srv.request("POST", "/reservations", {"class_id": cid}, token=m["token"],
                        headers={"Idempotency-Key": key})
        self.assertStatus(r, 201, "retry after crash")
        self.assertReservationBody(r.json, cid, m["id"], "confirmed")
        self.assertEqual(r.json["id"], rid)
        self.assertEqual(r.headers.get("Location"), "/api/v1/reservations/%s" % rid)
        self.assertClassCounts(cid, 2, 3)
        self.assertEqual(len(srv.roster(cid)), 2, "nothing booked twice")
        self.expectNotifications(m, [("reservation_confirmed", rid)], class_id=cid)
        self.expectMyReservations(m, {rid: ("confirmed", None)})
        self.expectNotifications(other, [("reservation_confirmed", ro)])

        # a retry again, and another restart, change nothing
        r2 = srv.request("POST", "/reservations", {"class_id": cid}, token=m["token"],
                         headers={"Idempotency-Key": key})
        self.assertEqual((r2.status, r2.json), (201, r.json))
        srv.stop()
        srv.restart()
        self.assertClassCounts(cid, 2, 3)
        self.expectNotifications(m, [("reservation_confirmed", rid)])
        self.assertEqual(len(srv.roster(cid)), 2)
        assert_invariants(self, self.srv)

    def test_crash_before_dispatch_retry_first(self):
        """Retry immediately after the restart, racing the resumed saga."""
        srv = self.srv
        cid = srv.make_class("Crashy 2", capacity=1)["id"]
        m = srv.make_member()
        key = "crash-" + uuid.uuid4().hex
        self.crash_post(m, cid, key)
        srv.restart()
        r = srv.request("POST", "/reservations", {"class_id": cid}, token=m["token"],
                        headers={"Idempotency-Key": key})
        self.assertIn(r.status, (201, 202), "retry after crash: %r" % r)
        rid = r.json["id"]
        if r.status == 202:
            self.assertEqual(r.json["status"], "pending")
            self.assertEqual(r.headers.get("Location"), "/api/v1/reservations/%s" % rid)

        def confirmed():
            g = srv.request("GET", "/reservations/%s" % rid, token=m["token"])
            self.assertEqual(g.json["status"], "confirmed", repr(g))
        eventually(confirmed, timeout=5)
        self.assertClassCounts(cid, 1, 1)
        self.assertEqual(len(srv.roster(cid)), 1)
        self.expectNotifications(m, [("reservation_confirmed", rid)])
        # the class is full for anyone else
        n = srv.make_member()
        self.assertRejected(srv.book(n["token"], cid), "class_full", cid, n)
        assert_invariants(self, self.srv)

    def test_crash_fault_without_key(self):
        """No Idempotency-Key: the saga still completes after the restart."""
        srv = self.srv
        cid = srv.make_class("Crashy 3", capacity=2)["id"]
        m = srv.make_member()
        try:
            srv.request("POST", "/reservations", {"class_id": cid}, token=m["token"],
                        headers={"X-Test-Fault": "crash-before-dispatch"})
            answered = True
        except (http.client.HTTPException, ConnectionError, socket.timeout, OSError):
            answered = False
        self.assertFalse(answered, "fault request answered")
        self.assertEqual(srv.wait_exit(10), -9)
        srv.restart()

        def confirmed():
            mine = self.srv.my_reservations(m)
            self.assertEqual([(x["class_id"], x["status"]) for x in mine], [(cid, "confirmed")])
            return mine[0]["id"]
        rid = eventually(confirmed, timeout=5)
        self.assertClassCounts(cid, 1, 2)
        self.expectNotifications(m, [("reservation_confirmed", rid)])
        assert_invariants(self, self.srv)


if __name__ == "__main__":
    unittest.main()
