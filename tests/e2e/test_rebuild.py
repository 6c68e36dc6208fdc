"""`studiod rebuild-projections`: after a long mixed scenario (bookings,
rejections, cancels, refunds in credits, a renamed and a deleted class,
reviews posted and deleted), the read models are dropped and replayed from
the event log, and the result equals what the live server had.
"""

import datetime
import os
import random
import subprocess
import unittest

from harness import Server, StudioTestCase, base_env, binary_path

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
PROJECTIONS = {
    "mypage_reservations": "reservation_id",
    "dashboard_classes": "class_id",
    "dashboard_bookings": "reservation_id",
    "class_review_stats": "class_id",
}


class RebuildTest(StudioTestCase):
    server_per_test = True

    def snapshot(self):
        con = self.srv.db()
        try:
            return {t: con.execute("SELECT * FROM %s ORDER BY %s" % (t, k)).fetchall()
                    for t, k in PROJECTIONS.items()}
        finally:
            con.close()

    def mixed(self, rng, classes, members, steps):
        srv, booked = self.srv, {}
        for _ in range(steps):
            m = rng.choice(members)
            cid = rng.choice(classes)
            key = (m["id"], cid)
            if key in booked and rng.random() < 0.5:
                r = srv.request("POST", "/reservations/%s/cancel" % booked.pop(key),
                                token=m["token"])
                self.assertStatus(r, 200)
            else:
                r = srv.book(m["token"], cid)
                self.assertIn(r.status, (201, 409), repr(r))
                if r.status == 201:
                    booked[key] = r.json["id"]
        return booked

    def test_rebuild_equals_live(self):
        srv, rng = self.srv, random.Random(5)
        soon = srv.make_class("Soon", capacity=4, starts_in=2 * HOUR)["id"]
        classes = [srv.make_class(capacity=rng.randint(1, 4), starts_in=(2 + i) * DAY,
                                  credits=rng.choice([0, 0, 1, 2]))["id"]
                   for i in range(6)]
        members = [srv.make_member(credits=rng.randint(0, 6)) for _ in range(10)]
        for m in members[:4]:
            self.assertStatus(srv.book(m["token"], soon), 201)
        self.mixed(rng, classes, members, 150)
        self.assertStatus(srv.admin("PATCH", "/classes/%s" % classes[0],
                                    {"title": "Renamed"}), 200)
        self.assertStatus(srv.admin("DELETE", "/classes/%s" % classes[1]), 200)
        # Three hours on: "Soon" has started and can be reviewed.
        srv.stop()
        srv.extra_env["STUDIOD_TEST_CLOCK_OFFSET_S"] = str(3 * 3600)
        srv.start()
        reviews = []
        for i, m in enumerate(members[:4]):
            r = srv.request("POST", "/classes/%s/reviews" % soon, {"rating": i + 2},
                            token=m["token"])
            self.assertStatus(r, 201)
            reviews.append(r.json["id"])
        self.assertStatus(srv.admin("DELETE", "/reviews/%s" % reviews[1]), 200)
        self.mixed(rng, classes, members, 100)
        srv.stop()

        live = self.snapshot()
        self.assertGreater(len(live["mypage_reservations"]), 20)
        self.assertEqual(len(live["dashboard_classes"]), 7)
        self.assertEqual(live["class_review_stats"], [(soon, 3, 2 + 4 + 5)])
        # Spoil the read models: the rebuild must not start from them.
        con = __import__("sqlite3").connect(srv.db_path)
        con.execute("UPDATE dashboard_classes SET booked = 99")
        con.execute("DELETE FROM mypage_reservations WHERE reservation_id % 2 = 0")
        con.execute("UPDATE class_review_stats SET review_count = 0")
        con.commit()
        con.close()

        env = base_env()
        env["STUDIOD_DATABASE_PATH"] = srv.db_path
        p = subprocess.run([binary_path(), "rebuild-projections"], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("rebuilt 3 projections", p.stdout)
        self.assertNotIn("ERROR", p.stderr)
        rebuilt = self.snapshot()
        for table in PROJECTIONS:
            self.assertEqual(rebuilt[table], live[table], table)
        # The server starts on the rebuilt database and agrees.
        srv.start()
        self.assertEqual(srv.get_class(soon)["review_count"], 3)


if __name__ == "__main__":
    unittest.main()
