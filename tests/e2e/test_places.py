"""Every kind of place: assigned seats, approval by the studio, and the
waitlist - each path, the races, and the invariants after each."""

import datetime
import threading

from harness import Client, Server, StudioTestCase, eventually
from invariants import assert_invariants

HOUR = datetime.timedelta(hours=1)


def race(srv, calls):
    """Run (token, body) POST /reservations concurrently, one connection
    each, released together; returns the responses in order."""
    out = [None] * len(calls)
    gate = threading.Barrier(len(calls))

    def go(i, token, body):
        c = Client(srv)
        try:
            gate.wait()
            out[i] = c.request("POST", "/reservations", body, token=token)
        finally:
            c.close()
    threads = [threading.Thread(target=go, args=(i, t, b)) for i, (t, b) in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


class Seats(StudioTestCase):
    server_per_test = True

    def seats(self, class_id):
        r = self.srv.request("GET", "/classes/%d/seats" % class_id)
        self.assertStatus(r, 200)
        return {s["seat"]: s["status"] for s in r.json["items"]}

    def test_seat_map_rules(self):
        srv = self.srv
        body = srv.class_body(capacity=None, seats=["A1", "A2", "A3"])
        del body["capacity"]
        r = srv.admin("POST", "/classes", body)
        self.assertStatus(r, 201)
        self.assertEqual((r.json["capacity"], r.json["seated"]), (3, True))
        cid = r.json["id"]
        self.assertEqual(self.seats(cid), {"A1": "free", "A2": "free", "A3": "free"})
        for bad, field in [({"seats": ["A1", "A1"]}, "seats"),
                           ({"seats": ["A1", "A2"], "capacity": 3}, "capacity"),
                           ({"seats": []}, "seats"),
                           ({"seats": ["a b"]}, "seats"),
                           ({"seats": "A1"}, "seats")]:
            b = srv.class_body(**bad)
            if "capacity" not in bad:
                del b["capacity"]
            self.assertFieldErrors(srv.admin("POST", "/classes", b), field)
        self.assertFieldErrors(srv.admin("PATCH", "/classes/%d" % cid, {"capacity": 5}),
                               "capacity")
        self.assertFieldErrors(srv.admin("PATCH", "/classes/%d" % cid, {"seats": ["B1"]}),
                               "seats")
        m = srv.make_member()
        self.assertFieldErrors(srv.book(m["token"], cid), "seat")
        self.assertFieldErrors(srv.book(m["token"], cid, seat="Z9"), "seat")
        self.assertFieldErrors(srv.book(m["token"], cid, seat="A1", waitlist=True),
                               "waitlist")
        plain = srv.make_class(capacity=2)
        self.assertFieldErrors(srv.book(m["token"], plain["id"], seat="A1"), "seat")
        self.assertClassCounts(cid, 0, 3)

    def test_book_take_release_rebook(self):
        srv = self.srv
        cid = srv.make_class(capacity=2, seats=["A1", "A2"])["id"]
        a, b = srv.make_member(), srv.make_member()
        r = srv.book(a["token"], cid, seat="A1")
        rid = self.assertBooked(r, cid, a)
        self.assertEqual(r.json["seat"], "A1")
        self.assertEqual(self.seats(cid), {"A1": "taken", "A2": "free"})
        self.assertRejected(srv.book(b["token"], cid, seat="A1"), "seat_taken", cid, b)
        self.assertClassCounts(cid, 1, 2)
        self.assertStatus(srv.request("POST", "/reservations/%d/cancel" % rid,
                                      token=a["token"]), 200)
        self.assertEqual(self.seats(cid)["A1"], "free")
        r = srv.book(b["token"], cid, seat="A1")
        self.assertBooked(r, cid, b)
        mine = srv.my_reservations(b)
        self.assertEqual([x["seat"] for x in mine if x["status"] == "confirmed"], ["A1"])
        assert_invariants(self, srv)

    def test_racing_for_one_seat_exactly_one_wins(self):
        srv = self.srv
        cid = srv.make_class(capacity=3, seats=["A1", "A2", "A3"])["id"]
        members = [srv.make_member() for _ in range(20)]
        res = race(srv, [(m["token"], {"class_id": cid, "seat": "A2"}) for m in members])
        wins = [r for r in res if r.status == 201]
        self.assertEqual(len(wins), 1, [r.status for r in res])
        self.assertEqual(sorted({r.json["code"] for r in res if r.status != 201}),
                         ["seat_taken"])
        self.assertEqual(self.seats(cid), {"A1": "free", "A2": "taken", "A3": "free"})
        self.assertClassCounts(cid, 1, 3)
        assert_invariants(self, srv)


class Approval(StudioTestCase):
    server_per_test = True
    server_kwargs = {"env": {"STUDIOD_RESERVATION_PENDING_TIMEOUT_S": "1"}}

    def test_approve_and_decline(self):
        srv = self.srv
        cid = srv.make_class(capacity=2, credits=2, requires_approval=True)["id"]
        a, b = srv.make_member(credits=5), srv.make_member(credits=5)
        r = srv.book(a["token"], cid)
        self.assertStatus(r, 202)
        self.assertEqual(r.json["status"], "awaiting_approval")
        ra = r.json["id"]
        self.assertEqual(r.headers.get("Location"), "/api/v1/reservations/%d" % ra)
        self.assertClassCounts(cid, 1, 2)   # held while the studio decides
        self.assertEqual(srv.admin("GET", "/members/%d" % a["id"]).json["credits"], 3,
                         "paid before the studio decides")
        rb = srv.book(b["token"], cid).json["id"]
        inbox = srv.admin("GET", "/me/notifications").json["items"]
        self.assertEqual([(n["kind"], n["reservation_id"]) for n in inbox],
                         [("approval_requested", ra), ("approval_requested", rb)])
        self.expectNotifications(a, [("reservation_awaiting_approval", ra)])
        # the studio decides
        g = srv.admin("POST", "/reservations/%d/approve" % ra)
        self.assertStatus(g, 200)
        self.assertEqual(g.json["status"], "confirmed")
        g = srv.admin("POST", "/reservations/%d/decline" % rb)
        self.assertEqual((g.json["status"], g.json["reason"]), ("rejected", "declined"))
        self.assertProblem(srv.admin("POST", "/reservations/%d/approve" % rb), 409,
                           "not_awaiting_approval")
        self.assertClassCounts(cid, 1, 2)   # the declined place is released
        self.assertEqual(srv.admin("GET", "/members/%d" % b["id"]).json["credits"], 5,
                         "declined: credits refunded")
        self.expectNotifications(a, [("reservation_awaiting_approval", ra),
                                     ("reservation_confirmed", ra)])
        self.expectNotifications(b, [("reservation_awaiting_approval", rb),
                                     ("reservation_rejected", rb)])
        assert_invariants(self, srv)

    def test_undecided_requests_are_declined_after_the_timeout(self):
        srv = self.srv
        srv.extra_env["STUDIOD_RESERVATION_APPROVAL_TIMEOUT_HOURS"] = "1"
        srv.restart()
        cid = srv.make_class(capacity=1, credits=1, requires_approval=True,
                             starts_in=datetime.timedelta(days=3))["id"]
        m = srv.make_member(credits=1)
        rid = srv.book(m["token"], cid).json["id"]
        srv.stop()
        srv.extra_env["STUDIOD_TEST_CLOCK_OFFSET_S"] = str(2 * 3600)
        srv.start()

        def declined():
            g = srv.request("GET", "/reservations/%d" % rid, token=m["token"])
            self.assertEqual((g.json["status"], g.json["reason"]),
                             ("rejected", "approval_timeout"), g.json)
        eventually(declined, timeout=5)
        self.assertClassCounts(cid, 0, 1)
        self.assertEqual(srv.admin("GET", "/members/%d" % m["id"]).json["credits"], 1)
        assert_invariants(self, srv)


class Waitlist(StudioTestCase):
    server_per_test = True

    def position(self, member, rid):
        g = self.srv.request("GET", "/reservations/%d" % rid, token=member["token"])
        self.assertEqual(g.json["status"], "waitlisted", g.json)
        return g.json["position"]

    def test_line_promotion_and_leaving(self):
        srv = self.srv
        cid = srv.make_class(capacity=1)["id"]
        m = [srv.make_member() for _ in range(4)]
        r0 = self.assertBooked(srv.book(m[0]["token"], cid), cid, m[0])
        w = []
        for i in (1, 2):
            r = srv.book(m[i]["token"], cid, waitlist=True)
            self.assertStatus(r, 202)
            self.assertEqual((r.json["status"], r.json["position"]), ("waitlisted", i))
            w.append(r.json["id"])
        self.assertRejected(srv.book(m[3]["token"], cid), "class_full", cid, m[3])
        self.assertEqual(srv.get_class(cid)["waitlist"], 2)
        self.expectNotifications(m[1], [("reservation_waitlisted", w[0])])
        # a place frees up: the first in line gets it, through the saga
        self.assertStatus(srv.request("POST", "/reservations/%d/cancel" % r0,
                                      token=m[0]["token"]), 200)
        g = srv.request("GET", "/reservations/%d" % w[0], token=m[1]["token"])
        self.assertEqual(g.json["status"], "confirmed")
        self.expectNotifications(m[1], [("reservation_waitlisted", w[0]),
                                        ("reservation_confirmed", w[0])])
        self.assertEqual(self.position(m[2], w[1]), 1)
        c = self.assertClassCounts(cid, 1, 1)
        self.assertEqual(c["waitlist"], 1)
        # leaving the line
        g = srv.request("POST", "/reservations/%d/cancel" % w[1], token=m[2]["token"])
        self.assertEqual(g.json["status"], "cancelled")
        self.assertEqual(srv.get_class(cid)["waitlist"], 0)
        assert_invariants(self, srv)

    def test_waiting_member_booking_again_is_already_booked(self):
        # Regression: the "already booked?" check ignored waitlisted bookings,
        # so the insert hit the unique index and answered 500.
        srv = self.srv
        cid = srv.make_class(capacity=1)["id"]
        first, waiting = srv.make_member(), srv.make_member()
        self.assertBooked(srv.book(first["token"], cid), cid, first)
        self.assertStatus(srv.book(waiting["token"], cid, waitlist=True), 202)
        self.assertRejected(srv.book(waiting["token"], cid), "already_booked", cid,
                            waiting)
        self.assertRejected(srv.book(waiting["token"], cid, waitlist=True),
                            "already_booked", cid, waiting)
        self.assertEqual(srv.get_class(cid)["waitlist"], 1)
        assert_invariants(self, srv)

    def test_promotion_chain_skips_a_failed_payment(self):
        srv = self.srv
        cid = srv.make_class(capacity=1, credits=1)["id"]
        first = srv.make_member(credits=1)
        broke = srv.make_member(credits=0)
        third = srv.make_member(credits=1)
        r0 = self.assertBooked(srv.book(first["token"], cid), cid, first)
        wb = srv.book(broke["token"], cid, waitlist=True).json["id"]
        wt = srv.book(third["token"], cid, waitlist=True).json["id"]
        self.assertStatus(srv.request("POST", "/reservations/%d/cancel" % r0,
                                      token=first["token"]), 200)
        g = srv.request("GET", "/reservations/%d" % wb, token=broke["token"])
        self.assertEqual((g.json["status"], g.json["reason"]),
                         ("rejected", "insufficient_credits"))
        g = srv.request("GET", "/reservations/%d" % wt, token=third["token"])
        self.assertEqual(g.json["status"], "confirmed")
        self.assertClassCounts(cid, 1, 1)
        self.assertEqual(srv.admin("GET", "/members/%d" % third["id"]).json["credits"], 0)
        self.assertEqual(srv.admin("GET", "/members/%d" % first["id"]).json["credits"], 1,
                         "the early cancel was refunded")
        assert_invariants(self, srv)

    def test_the_last_place_race_is_first_come_first_served(self):
        srv = self.srv
        cid = srv.make_class(capacity=1)["id"]
        members = [srv.make_member() for _ in range(25)]
        res = race(srv, [(m["token"], {"class_id": cid, "waitlist": True}) for m in members])
        self.assertEqual(sum(r.status == 201 for r in res), 1, [r.status for r in res])
        waiting = sorted((r.json["id"], r.json["position"]) for r in res if r.status == 202)
        self.assertEqual(len(waiting), 24)
        self.assertEqual([p for _, p in waiting], list(range(1, 25)),
                         "positions follow the order of arrival")
        self.assertEqual(srv.get_class(cid)["waitlist"], 24)
        assert_invariants(self, srv)

    def test_no_promotion_near_the_start_and_waiters_told_full(self):
        srv = self.srv
        cid = srv.make_class(capacity=1, starts_in=3 * HOUR)["id"]
        m = [srv.make_member() for _ in range(3)]
        r0 = self.assertBooked(srv.book(m[0]["token"], cid), cid, m[0])
        w1 = srv.book(m[1]["token"], cid, waitlist=True).json["id"]
        srv.stop()
        # 2.5 hours later the class starts within the 60-minute cutoff
        srv.extra_env["STUDIOD_TEST_CLOCK_OFFSET_S"] = str(int(2.5 * 3600))
        srv.start()

        def told():
            g = srv.request("GET", "/reservations/%d" % w1, token=m[1]["token"])
            self.assertEqual((g.json["status"], g.json["reason"]),
                             ("rejected", "class_full"), g.json)
        eventually(told, timeout=20)
        self.assertEqual(srv.get_class(cid)["waitlist"], 0)
        # joining now is refused outright; a cancel promotes no one
        self.assertRejected(srv.book(m[2]["token"], cid, waitlist=True), "class_full",
                            cid, m[2])
        self.assertStatus(srv.request("POST", "/reservations/%d/cancel" % r0,
                                      token=m[0]["token"]), 200)
        self.assertClassCounts(cid, 0, 1)
        assert_invariants(self, srv)
