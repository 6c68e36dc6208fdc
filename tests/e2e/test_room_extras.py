"""Rooms in the review module and on the dashboard: a member reviews a room
once per confirmed booking whose slot has started (the clock is moved with
STUDIOD_TEST_CLOCK_OFFSET_S on a restarted server), and the dashboard's
"rooms" rows count live slots, money (at the desk and by card) and reviews
from the dashboard's own tables."""

import datetime
import os
import sys

from harness import StudioTestCase, eventually, iso, now_utc

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
from fake_provider import FakeProvider  # noqa: E402

HOUR = datetime.timedelta(hours=1)


def slot(start_h, hours, day=datetime.timedelta(0)):
    base = now_utc().replace(minute=0, second=0, microsecond=0) + day
    return iso(base + start_h * HOUR), iso(base + start_h * HOUR + hours * HOUR)


class RoomExtras(StudioTestCase):
    server_per_test = True
    server_kwargs = {"start": False}

    def room(self, **extra):
        body = {"name": "Studio B"}
        body.update(extra)
        r = self.srv.admin("POST", "/rooms", body)
        self.assertStatus(r, 201)
        return r.json

    def book(self, member, room_id, span, admin=False):
        body = {"room_id": room_id, "starts_at": span[0], "ends_at": span[1]}
        if admin:
            body["member_id"] = member["id"]
            r = self.srv.admin("POST", "/reservations", body)
        else:
            r = self.srv.request("POST", "/reservations", body, token=member["token"])
        self.assertStatus(r, 201)
        return r.json["id"]

    def cancel(self, member, rid):
        self.assertStatus(self.srv.request("POST", "/reservations/%s/cancel" % rid,
                                           token=member["token"]), 200)

    def review(self, member, room_id, rating, comment=None):
        body = {"rating": rating}
        if comment is not None:
            body["comment"] = comment
        return self.srv.request("POST", "/rooms/%s/reviews" % room_id, body,
                                token=member["token"])

    def room_row(self, room_id):
        rows = [x for x in self.srv.admin("GET", "/dashboard").json["rooms"]
                if x["room_id"] == room_id]
        return rows[0] if rows else None

    def test_room_reviews(self):
        srv = self.srv
        srv.start()
        room = self.room(hourly_price=2000)["id"]
        other = self.room(name="Hall")["id"]
        ana, ben, cleo, dee = (srv.make_member() for _ in range(4))
        ana_rid = self.book(ana, room, slot(2, 1))
        self.book(ana, room, slot(30, 1))          # a later slot, not started
        self.book(ben, room, slot(3, 1))
        self.cancel(cleo, self.book(cleo, room, slot(4, 1)))
        # Before the slot starts: no review.
        self.assertProblem(self.review(ana, room, 5), 409, "slot_not_started")
        self.assertProblem(self.review(dee, room, 5), 409, "not_attended")
        self.assertProblem(self.review(ana, 999, 5), 404, "not_found")
        self.assertStatus(srv.admin("POST", "/rooms/%s/reviews" % room, {"rating": 5}), 403)

        srv.stop()
        srv.extra_env["STUDIOD_TEST_CLOCK_OFFSET_S"] = str(6 * 3600)
        srv.start()
        for bad in ({}, {"rating": 0}, {"rating": 6}, {"rating": 3, "comment": "x" * 2001},
                    {"rating": 3, "extra": 1}):
            self.assertProblem(srv.request("POST", "/rooms/%s/reviews" % room, bad,
                                           token=ana["token"]), 422, "validation_failed")
        self.assertProblem(self.review(cleo, room, 5), 409, "not_attended")
        self.assertProblem(self.review(ana, other, 5), 409, "not_attended")
        r1 = self.review(ana, room, 5, "Bright room")
        self.assertStatus(r1, 201)
        self.assertEqual((r1.json["room_id"], r1.json["rating"], r1.json["comment"]),
                         (room, 5, "Bright room"))
        self.assertNotIn("class_id", r1.json)
        self.assertTrue(r1.headers["Location"].endswith("/reviews/%s" % r1.json["id"]))
        # Once per reservation: her second slot has not started.
        self.assertProblem(self.review(ana, room, 4), 409, "slot_not_started")
        r2 = self.review(ben, room, 2)
        self.assertStatus(r2, 201)
        self.assertProblem(self.review(ben, room, 2), 409, "already_reviewed")

        listed = srv.list_all("/rooms/%s/reviews" % room)
        self.assertEqual([(x["room_id"], x["rating"]) for x in listed], [(room, 5), (room, 2)])
        self.assertNotIn("member_id", listed[0])
        self.assertEqual(srv.list_all("/rooms/%s/reviews" % other), [])
        self.assertProblem(srv.request("GET", "/rooms/999/reviews"), 404, "not_found")

        def stats(count, avg):
            def check():
                row = self.room_row(room)
                self.assertEqual((row["review_count"], row["rating_avg"]), (count, avg))
            eventually(check)
        stats(2, 3.5)
        events = srv.list_all("/events", token=srv.admin_token)
        posted = [e["payload"] for e in events if e["type"] == "review.posted"]
        self.assertEqual([(p["room_id"], p["reservation_id"]) for p in posted][0],
                         (room, ana_rid))
        self.assertNotIn("class_id", posted[0])

        # Delete: not by another member; by the author; the author may review again.
        rv1 = r1.json["id"]
        self.assertStatus(srv.request("DELETE", "/reviews/%s" % rv1, token=ben["token"]), 403)
        self.assertStatus(srv.request("DELETE", "/reviews/%s" % rv1, token=ana["token"]), 200)
        self.assertStatus(srv.request("DELETE", "/reviews/%s" % rv1, token=ana["token"]), 404)
        stats(1, 2.0)
        deleted = [e["payload"] for e in srv.list_all("/events", token=srv.admin_token)
                   if e["type"] == "review.deleted"]
        self.assertEqual((deleted[0]["room_id"], deleted[0]["by"]), (room, "author"))
        self.assertStatus(self.review(ana, room, 4), 201)
        self.assertStatus(srv.admin("DELETE", "/reviews/%s" % r2.json["id"]), 200)
        stats(1, 4.0)

    def test_dashboard_room_at_desk(self):
        srv = self.srv
        srv.start()
        cid = srv.make_class("Yoga", capacity=3)["id"]
        room = self.room(hourly_price=2000)["id"]
        gone = self.room(name="Old")["id"]
        m1, m2 = srv.make_member(), srv.make_member()
        self.book(m1, room, slot(10, 1.5, datetime.timedelta(days=3)), admin=True)
        r2 = self.book(m2, room, slot(12, 1.5, datetime.timedelta(days=3)), admin=True)
        self.cancel(m2, r2)
        self.assertStatus(srv.admin("DELETE", "/rooms/%s" % gone), 200)
        dash = srv.admin("GET", "/dashboard").json
        self.assertEqual([x["room_id"] for x in dash["rooms"]], [room])
        self.assertEqual(dash["rooms"][0], {
            "room_id": room, "name": "Studio B", "hourly_price": 2000, "booked": 1,
            "revenue": {"taken": 0, "refunded": 0, "net": 0, "at_desk_due": 3000},
            "review_count": 0, "rating_avg": None})
        # The classes and their totals are as before: rooms are apart.
        self.assertEqual([c["class_id"] for c in dash["classes"]], [cid])
        self.assertEqual((dash["totals"]["classes"], dash["totals"]["booked"],
                          dash["totals"]["revenue"]["at_desk_due"]), (1, 0, 0))
        # A new price shows; what was booked keeps its price.
        self.assertStatus(srv.admin("PATCH", "/rooms/%s" % room, {"hourly_price": 2500}), 200)
        row = self.room_row(room)
        self.assertEqual((row["hourly_price"], row["revenue"]["at_desk_due"]), (2500, 3000))

    def test_dashboard_room_by_card(self):
        fake = FakeProvider(api_key="sk_room").start()
        self.addCleanup(fake.stop)
        srv = self.srv
        key_file = os.path.join(srv.dir, "provider.key")
        with open(key_file, "w") as f:
            f.write(fake.api_key + "\n")
        srv.extra_env.update({
            "STUDIOD_PAYMENT_PROVIDER": "http", "STUDIOD_PAYMENT_URL": fake.url,
            "STUDIOD_PAYMENT_API_KEY_FILE": key_file,
            "STUDIOD_PAYMENT_RETRY_BASE_MS": "50"})
        srv.start()
        room = self.room(hourly_price=2000)["id"]
        m1, m2 = srv.make_member(), srv.make_member()
        self.book(m1, room, slot(10, 1.5, datetime.timedelta(days=3)))
        self.cancel(m2, self.book(m2, room, slot(12, 2, datetime.timedelta(days=3))))

        def check():
            row = self.room_row(room)
            self.assertEqual((row["booked"], row["revenue"]), (1, {
                "taken": 7000, "refunded": 4000, "net": 3000, "at_desk_due": 0}))
        eventually(check, timeout=5)
