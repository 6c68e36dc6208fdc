"""Rooms rented by the hour: the room's life, booking slots (half-open
intervals, overlaps refused, price = duration x hourly price), the
availability, racing for overlapping slots, approval, removal with refunds,
and the invariants after each."""

import datetime
import os

from fake_provider import FakeProvider
from harness import Server, StudioTestCase, iso, now_utc
from invariants import assert_invariants
from test_places import race

HOUR = datetime.timedelta(hours=1)


class Rooms(StudioTestCase):
    server_per_test = True

    def room(self, **extra):
        body = {"name": "Studio B"}
        body.update(extra)
        r = self.srv.admin("POST", "/rooms", body)
        self.assertStatus(r, 201)
        return r.json

    def slot(self, start_h, hours, day=datetime.timedelta(days=3)):
        base = now_utc().replace(minute=0, second=0, microsecond=0) + day
        return iso(base + start_h * HOUR), iso(base + (start_h + hours) * HOUR)

    def book(self, member, room_id, start, end, **kw):
        body = {"room_id": room_id, "starts_at": start, "ends_at": end}
        body.update(kw)
        return self.srv.request("POST", "/reservations", body, token=member["token"])

    def test_room_life_and_validation(self):
        srv = self.srv
        self.assertFieldErrors(srv.admin("POST", "/rooms", {}), "name")
        self.assertFieldErrors(srv.admin("POST", "/rooms", {"name": "X",
                                                            "hourly_price": -1}),
                               "hourly_price")
        room = self.room(hourly_price=2000)
        self.assertEqual((room["hourly_price"], room["status"]), (2000, "active"))
        self.assertStatus(srv.request("GET", "/rooms/%d" % room["id"]), 200)
        g = srv.admin("PATCH", "/rooms/%d" % room["id"], {"name": "Studio C"})
        self.assertEqual(g.json["name"], "Studio C")
        self.assertEqual([x["id"] for x in srv.request("GET", "/rooms").json["items"]],
                         [room["id"]])
        m = srv.make_member()
        a, b = self.slot(10, 1)
        self.assertFieldErrors(self.book(m, room["id"], a, a), "ends_at")
        self.assertFieldErrors(self.book(m, 999, a, b), "room_id")
        self.assertFieldErrors(srv.request("POST", "/reservations",
                                           {"room_id": room["id"]}, token=m["token"]),
                               "starts_at")
        self.assertFieldErrors(self.book(m, room["id"], a, b, seat="A1"), "room_id")
        self.assertFieldErrors(srv.request("POST", "/reservations",
                                           {"class_id": 1, "room_id": room["id"]},
                                           token=m["token"]), "class_id")
        self.assertProblem(srv.request("POST", "/rooms", {"name": "x"},
                                       token=m["token"]), 403, "forbidden")

    def test_slots_price_overlap_and_availability(self):
        srv = self.srv
        room = self.room(hourly_price=2000)
        m1, m2 = srv.make_member(), srv.make_member()
        a, b = self.slot(10, 1.5)
        r = self.book(m1, room["id"], a, b)
        self.assertStatus(r, 201)
        self.assertEqual((r.json["room_id"], r.json["starts_at"], r.json["ends_at"]),
                         (room["id"], a, b))
        self.assertEqual(r.json["price"], 3000, "90 minutes at 2000 an hour")
        self.assertEqual(r.json["payment"]["status"], "at_desk")
        rid = r.json["id"]
        # overlapping slots are refused; touching ones are fine (half-open)
        c, d = self.slot(11, 1)
        r = self.book(m2, room["id"], c, d)
        self.assertProblem(r, 409, "slot_taken")
        g = srv.request("GET", "/reservations/%d" % r.json["reservation_id"],
                        token=m2["token"])
        self.assertEqual((g.json["status"], g.json["reason"]), ("rejected", "slot_taken"))
        e, f = self.slot(11.5, 1)
        self.assertStatus(self.book(m2, room["id"], e, f), 201)
        day_start, day_end = self.slot(0, 24)
        av = srv.request("GET", "/rooms/%d/availability?from=%s&to=%s"
                         % (room["id"], day_start, day_end))
        self.assertStatus(av, 200)
        self.assertEqual([(x["starts_at"], x["ends_at"], x["status"])
                          for x in av.json["items"]],
                         [(day_start, a, "free"), (a, b, "taken"), (e, f, "taken"),
                          (f, day_end, "free")])
        # a cancel frees the slot for someone else
        self.assertStatus(srv.request("POST", "/reservations/%d/cancel" % rid,
                                      token=m1["token"]), 200)
        self.assertStatus(self.book(m2, room["id"], a, b), 201)
        mine = [x for x in srv.my_reservations(m2) if x["status"] == "confirmed"]
        self.assertEqual({x["room_id"] for x in mine}, {room["id"]})
        self.assertEqual({x["class_title"] for x in mine}, {"Studio B"})
        assert_invariants(self, srv)

    def test_racing_for_overlapping_slots_exactly_one_wins(self):
        srv = self.srv
        room = self.room()
        members = [srv.make_member() for _ in range(16)]
        calls = []
        for i, m in enumerate(members):
            a, b = self.slot(9 + (i % 4) * 0.25, 1)   # all overlap 9:45-10:00
            calls.append((m["token"], {"room_id": room["id"], "starts_at": a,
                                       "ends_at": b}))
        res = race(srv, calls)
        self.assertEqual(sum(r.status == 201 for r in res), 1, [r.status for r in res])
        self.assertEqual({r.json["code"] for r in res if r.status != 201}, {"slot_taken"})
        assert_invariants(self, srv)

    def test_approval_for_a_room(self):
        srv = self.srv
        room = self.room(requires_approval=True)
        m = srv.make_member()
        a, b = self.slot(14, 2)
        r = self.book(m, room["id"], a, b)
        self.assertStatus(r, 202)
        self.assertEqual(r.json["status"], "awaiting_approval")
        g = srv.admin("POST", "/reservations/%d/approve" % r.json["id"])
        self.assertEqual(g.json["status"], "confirmed")
        assert_invariants(self, srv)


class RoomPayments(StudioTestCase):
    """A priced room charged through the provider; removing the room
    cancels its bookings and refunds the charges."""

    def setUp(self):
        super().setUp()
        self.fake = FakeProvider(api_key="sk_test_" + os.urandom(6).hex()).start()
        self.addCleanup(self.fake.stop)
        srv = Server(start=False)
        self.addCleanup(srv.close)
        key_file = os.path.join(srv.dir, "provider.key")
        with open(key_file, "w") as f:
            f.write(self.fake.api_key + "\n")
        srv.extra_env.update({"STUDIOD_PAYMENT_PROVIDER": "http",
                              "STUDIOD_PAYMENT_URL": self.fake.url,
                              "STUDIOD_PAYMENT_API_KEY_FILE": key_file})
        srv.start()
        self.srv = srv

    def test_charged_then_refunded_when_the_room_is_removed(self):
        srv = self.srv
        room = srv.admin("POST", "/rooms", {"name": "Hall", "hourly_price": 5000}).json
        m = srv.make_member()
        start = now_utc().replace(minute=0, second=0, microsecond=0) + datetime.timedelta(days=5)
        r = srv.request("POST", "/reservations", {"room_id": room["id"],
                        "starts_at": iso(start), "ends_at": iso(start + 2 * HOUR)},
                        token=m["token"])
        self.assertStatus(r, 201)
        self.assertEqual((r.json["price"], r.json["payment"]["status"]), (10000, "succeeded"))
        self.assertEqual([c["amount"] for c in self.fake.charges], [10000])
        self.assertStatus(srv.admin("DELETE", "/rooms/%d" % room["id"]), 200)
        g = srv.request("GET", "/reservations/%d" % r.json["id"], token=m["token"])
        self.assertEqual((g.json["status"], g.json["reason"]), ("cancelled", "room_removed"))

        def refunded():
            self.assertEqual([x["amount"] for x in self.fake.refunds], [10000])
        from harness import eventually
        eventually(refunded, timeout=5)
        self.assertStatus(srv.request("GET", "/rooms/%d" % room["id"]), 404)
        assert_invariants(self, srv)
