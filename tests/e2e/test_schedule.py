"""GET /classes (the schedule) is cached per query until the class module's
next write: every kind of write must show in the very next read."""

from harness import StudioTestCase

WEEK = "/classes?from=2020-01-01T00:00:00Z&to=2999-01-01T00:00:00Z"


class ScheduleCache(StudioTestCase):
    server_per_test = True

    def listed(self, class_id):
        r = self.srv.request("GET", WEEK)
        self.assertStatus(r, 200)
        match = [c for c in r.json["items"] if c["id"] == class_id]
        self.assertEqual(len(match), 1, r.json)
        return match[0]

    def test_every_write_shows_in_the_next_read(self):
        srv = self.srv
        c = srv.make_class("Cached", capacity=2)
        self.assertEqual(self.listed(c["id"])["booked"], 0)
        self.assertEqual(self.listed(c["id"])["booked"], 0)   # served from cache
        m1, m2 = srv.make_member(), srv.make_member()
        rid = self.assertBooked(srv.book(m1["token"], c["id"]), c["id"], m1)
        self.assertEqual(self.listed(c["id"])["booked"], 1, "a hold shows")
        self.assertBooked(srv.book(m2["token"], c["id"]), c["id"], m2)
        got = self.listed(c["id"])
        self.assertEqual((got["booked"], got["remaining"]), (2, 0))
        self.assertStatus(srv.request("POST", "/reservations/%d/cancel" % rid,
                                      token=m1["token"]), 200)
        self.assertEqual(self.listed(c["id"])["booked"], 1, "a release shows")
        self.assertStatus(srv.admin("PATCH", "/classes/%d" % c["id"],
                                    {"title": "Renamed", "capacity": 5}), 200)
        got = self.listed(c["id"])
        self.assertEqual((got["title"], got["capacity"], got["remaining"]),
                         ("Renamed", 5, 4), "an edit shows")
        other = srv.make_class("New one", capacity=3)
        self.listed(other["id"])                                # a create shows
        self.assertStatus(srv.admin("DELETE", "/classes/%d" % c["id"]), 200)
        got = self.listed(c["id"])
        self.assertEqual((got["status"], got["booked"]), ("cancelled", 0),
                         "a cancel and its releases show")

    def test_pages_are_cached_apart(self):
        srv = self.srv
        ids = [srv.make_class("P%d" % i)["id"] for i in range(3)]
        first = srv.request("GET", WEEK + "&limit=2")
        self.assertEqual([c["id"] for c in first.json["items"]], ids[:2])
        self.assertEqual(first.json["next"], ids[1])
        second = srv.request("GET", WEEK + "&limit=2&after=%d" % ids[1])
        self.assertEqual([c["id"] for c in second.json["items"]], ids[2:])
        self.assertIsNone(second.json["next"])
        again = srv.request("GET", WEEK + "&limit=2")
        self.assertEqual(again.json, first.json)
