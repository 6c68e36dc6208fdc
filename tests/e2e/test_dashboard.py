"""The owner's dashboard after a scripted day of bookings, cancels and
refunds (exact figures), and the event log feed with its retention.

Money: card charges through the fake provider (tests/fake_provider.py),
credits, and bookings paid at the desk (provider = none).
"""

import datetime
import os
import sys
import unittest

from harness import Server, StudioTestCase, eventually, iso, now_utc

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
from fake_provider import FakeProvider  # noqa: E402

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
PRICE = 1500


def by_id(dash):
    return {c["class_id"]: c for c in dash["classes"]}


def figures(c):
    """The numbers of one dashboard row (or of the totals)."""
    return (c["booked"], c["waitlist"], c["revenue"]["taken"], c["revenue"]["refunded"],
            c["revenue"]["net"], c["revenue"]["at_desk_due"], c["credits"]["taken"],
            c["credits"]["refunded"])


class DashboardTest(StudioTestCase):
    server_per_test = True
    server_kwargs = {"start": False}

    def start_with_provider(self):
        fake = FakeProvider(api_key="sk_dash").start()
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
        return srv, fake

    def cancel(self, member, rid, token=None):
        r = self.srv.request("POST", "/reservations/%s/cancel" % rid,
                             token=token or member["token"])
        self.assertStatus(r, 200)

    def book_ok(self, m, cid):
        r = self.srv.book(m["token"], cid)
        self.assertStatus(r, 201, "booking %s" % cid)
        return r.json["id"]

    def test_scripted_day(self):
        srv, fake = self.start_with_provider()
        a = srv.make_class("Card", capacity=3, starts_in=2 * DAY, price=PRICE)["id"]
        b = srv.make_class("Pack", capacity=2, starts_in=2 * DAY, credits=2)["id"]
        c = srv.make_class("Free", capacity=1, starts_in=3 * DAY)["id"]
        d = srv.make_class("Soon", capacity=2, starts_in=6 * HOUR, price=PRICE)["id"]
        f = srv.make_class("Dropped", capacity=2, starts_in=2 * DAY, price=PRICE)["id"]
        m1, m2, m3, m4 = (srv.make_member(credits=10) for _ in range(4))

        a1, a2, a3 = (self.book_ok(m, a) for m in (m1, m2, m3))
        self.assertProblem(srv.book(m4["token"], a), 409, "class_full")
        self.cancel(m2, a2)                                # early: refunded
        b1 = self.book_ok(m1, b)
        self.book_ok(m2, b)
        self.assertProblem(srv.book(m3["token"], b), 409, "class_full")
        self.cancel(m1, b1)                                # credits back
        self.book_ok(m1, c)
        self.assertProblem(srv.book(m2["token"], c), 409, "class_full")
        d1 = self.book_ok(m1, d)
        self.cancel(m1, d1)                                # late: no refund
        self.book_ok(m3, f)
        self.book_ok(m4, f)
        self.assertStatus(srv.admin("DELETE", "/classes/%s" % f), 200)  # refunds all

        def settled():
            dash = srv.admin("GET", "/dashboard").json
            rows = by_id(dash)
            self.assertEqual(figures(rows[a]), (2, 0, 4500, 1500, 3000, 0, 0, 0))
            self.assertEqual(figures(rows[f]), (0, 0, 3000, 3000, 0, 0, 0, 0))
            return dash
        dash = eventually(settled, timeout=8.0)
        rows = by_id(dash)
        self.assertEqual([x["class_id"] for x in dash["classes"]], [d, a, b, f, c])
        self.assertEqual(figures(rows[b]), (1, 0, 0, 0, 0, 0, 4, 2))
        self.assertEqual(figures(rows[c]), (1, 0, 0, 0, 0, 0, 0, 0))
        self.assertEqual(figures(rows[d]), (0, 0, 1500, 0, 1500, 0, 0, 0))
        self.assertEqual((rows[a]["capacity"], rows[a]["remaining"]), (3, 1))
        self.assertEqual((rows[f]["status"], rows[f]["remaining"]), ("cancelled", 0))
        self.assertEqual((rows[a]["review_count"], rows[a]["rating_avg"]), (0, None))
        t = dash["totals"]
        self.assertEqual((t["classes"], t["capacity"]), (5, 10))
        self.assertEqual(figures(t), (4, 0, 9000, 4500, 4500, 0, 4, 2))
        # The dashboard agrees with the classes themselves.
        for cid, row in rows.items():
            self.assertEqual(row["booked"], srv.get_class(cid)["booked"])
        self.assertEqual(len(fake.refunds), 3)

        # A range: the classes starting between tomorrow and the day after next.
        q = "/dashboard?from=%s&to=%s" % (iso(now_utc() + DAY), iso(now_utc() + 2 * DAY + 2 * HOUR))
        ranged = srv.admin("GET", q).json
        self.assertEqual([x["class_id"] for x in ranged["classes"]], [a, b, f])
        self.assertEqual(figures(ranged["totals"]), (3, 0, 7500, 4500, 3000, 0, 4, 2))
        empty = srv.admin("GET", "/dashboard?from=2999-01-01T00:00:00Z").json
        self.assertEqual((empty["classes"], empty["totals"]["booked"]), ([], 0))
        # Admin only; bad times are 422.
        self.assertStatus(srv.request("GET", "/dashboard", token=m1["token"]), 403)
        self.assertProblem(srv.admin("GET", "/dashboard?from=yesterday"), 422,
                           "validation_failed")

    def test_at_desk(self):
        srv = self.srv
        srv.start()
        a = srv.make_class("Desk", capacity=3, price=PRICE)["id"]
        m1, m2 = srv.make_member(), srv.make_member()
        self.book_ok(m1, a)
        r2 = self.book_ok(m2, a)
        self.cancel(m2, r2)
        row = by_id(srv.admin("GET", "/dashboard").json)[a]
        self.assertEqual(figures(row), (1, 0, 0, 0, 0, PRICE, 0, 0))


class EventLogTest(StudioTestCase):
    server_per_test = True

    def test_feed_and_retention(self):
        srv = self.srv
        cid = srv.make_class()["id"]
        m = srv.make_member()
        r = srv.book(m["token"], cid)
        self.assertStatus(r, 201)
        events = srv.list_all("/events", token=srv.admin_token, limit=2)
        types = [e["type"] for e in events]
        self.assertEqual(types[:2], ["class.created", "member.created"])
        for t in ("reservation.requested", "class.capacity_reserved",
                  "reservation.confirmed"):
            self.assertIn(t, types)
        ids = [e["id"] for e in events]
        self.assertEqual(ids, sorted(ids))
        conf = [e for e in events if e["type"] == "reservation.confirmed"][0]
        self.assertEqual(conf["payload"]["reservation_id"], r.json["id"])
        self.assertEqual(conf["correlation_id"], "reservation:%s" % r.json["id"])
        self.assertTrue(conf["created_at"].endswith("Z"))
        page = srv.admin("GET", "/events?after=%s&limit=1" % ids[0]).json
        self.assertEqual([e["id"] for e in page["items"]], [ids[1]])
        self.assertStatus(srv.request("GET", "/events", token=m["token"]), 403)
        self.assertStatus(srv.request("GET", "/events"), 401)
        # Retention 0 days: at the next start, everything every consumer has
        # passed is pruned; new events go on from the next id.
        srv.stop()
        srv.extra_env["STUDIOD_BUS_RETENTION_DAYS"] = "0"
        srv.start()
        # The newest event stays: ids are rowids and must never be reused.
        eventually(lambda: self.assertEqual(
            [e["id"] for e in srv.admin("GET", "/events").json["items"]], [ids[-1]]))
        srv.make_class()
        left = srv.admin("GET", "/events").json["items"]
        self.assertEqual([e["type"] for e in left][1:], ["class.created"])
        self.assertGreater(left[1]["id"], ids[-1])
        # The bus still delivers what comes after the pruned events.
        m2 = srv.make_member()
        self.assertStatus(srv.book(m2["token"], cid), 201)
        self.assertEqual(len(srv.my_reservations(m2)), 1)


if __name__ == "__main__":
    unittest.main()
