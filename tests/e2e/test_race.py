"""Concurrency: many members race for a few places; nothing is booked twice."""

import threading
import unittest

from invariants import assert_invariants
from harness import StudioTestCase


def race(srv, jobs):
    """Run jobs (each fn(client) -> result) at once, one connection per thread."""
    results = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def worker(i, job):
        client = srv.connection(timeout=30)
        try:
            barrier.wait(10)
            results[i] = job(client)
        except Exception as e:  # reported by the caller
            results[i] = e
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(i, j)) for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


class RaceForPlaces(StudioTestCase):
    server_kwargs = {"reservation_wait_ms": 10000}

    def confirmed(self, cid):
        return [x for x in self.srv.roster(cid) if x["status"] == "confirmed"]

    def check_invariant(self, cid, capacity):
        c = self.srv.get_class(cid)
        conf = self.confirmed(cid)
        self.assertEqual(c["booked"], len(conf), "booked == confirmed: %r" % c)
        self.assertLessEqual(c["booked"], capacity)
        self.assertEqual(c["remaining"], capacity - c["booked"])
        self.assertEqual(len({x["member_id"] for x in conf}), len(conf),
                         "no member confirmed twice")
        return c, conf

    def test_forty_members_five_places(self):
        srv = self.srv
        cid = srv.make_class("Hot yoga", capacity=5)["id"]
        members = [srv.make_member("Racer %d" % i) for i in range(40)]

        def booker(m):
            return lambda client: client.request("POST", "/reservations", {"class_id": cid},
                                                 token=m["token"])

        results = race(srv, [booker(m) for m in members])
        for m, r in zip(members, results):
            self.assertNotIsInstance(r, Exception, "member %s: %r" % (m["id"], r))
        ok = [(m, r) for m, r in zip(members, results) if r.status == 201]
        full = [(m, r) for m, r in zip(members, results)
                if r.status == 409 and r.json and r.json.get("code") == "class_full"]
        other = [r for r in results if r.status not in (201, 409) or
                 (r.status == 409 and r.json.get("code") != "class_full")]
        self.assertEqual(other, [], "unexpected replies")
        self.assertEqual(len(ok), 5, "exactly 5 booked")
        self.assertEqual(len(full), 35, "exactly 35 class_full")
        for m, r in ok:
            self.assertReservationBody(r.json, cid, m["id"], "confirmed")
        ids = {r.json["id"] for _, r in ok} | {r.json["reservation_id"] for _, r in full}
        self.assertEqual(len(ids), 40, "40 distinct reservations")
        c, conf = self.check_invariant(cid, 5)
        self.assertEqual(c["booked"], 5)
        self.assertEqual(sorted(x["id"] for x in conf), sorted(r.json["id"] for _, r in ok))
        roster = srv.roster(cid)
        rejected = [x for x in roster if x["status"] == "rejected"]
        self.assertEqual(len(rejected), 35, "35 rejected in the roster")
        self.assertTrue(all(x["reason"] == "class_full" for x in rejected))

        # Round 2: the five cancel while the 35 others try again, at once.
        winners = [m for m, _ in ok]
        win_res = {m["id"]: r.json["id"] for m, r in ok}
        losers = [m for m, _ in full]

        def canceller(m):
            return lambda client: client.request(
                "POST", "/reservations/%s/cancel" % win_res[m["id"]], token=m["token"])

        results = race(srv, [canceller(m) for m in winners] + [booker(m) for m in losers])
        for r in results:
            self.assertNotIsInstance(r, Exception, repr(r))
        cancels, books = results[:5], results[5:]
        for r in cancels:
            self.assertStatus(r, 200, "cancel in the race")
            self.assertEqual(r.json["status"], "cancelled")
        rebooked = [(m, r) for m, r in zip(losers, books) if r.status == 201]
        for m, r in zip(losers, books):
            if r.status != 201:
                self.assertProblem(r, 409, "class_full")
        self.assertLessEqual(len(rebooked), 5)
        c, conf = self.check_invariant(cid, 5)
        self.assertEqual(c["booked"], len(rebooked),
                         "booked == rebooked (all original five cancelled)")
        self.assertEqual(sorted(x["id"] for x in conf), sorted(r.json["id"] for _, r in rebooked))

        # Round 3: everyone with a confirmed booking cancels and everyone else
        # books, twice over; the invariant holds after each round.
        for _ in range(2):
            holders = {x["member_id"]: x["id"] for x in self.confirmed(cid)}
            by_id = {m["id"]: m for m in members}
            jobs = []
            for mid, rid in holders.items():
                m = by_id[mid]
                jobs.append(lambda client, m=m, rid=rid: client.request(
                    "POST", "/reservations/%s/cancel" % rid, token=m["token"]))
            for m in members:
                if m["id"] not in holders:
                    jobs.append(booker(m))
            results = race(srv, jobs)
            for r in results:
                self.assertNotIsInstance(r, Exception, repr(r))
                self.assertIn(r.status, (200, 201, 409), repr(r))
                if r.status == 409:
                    self.assertEqual(r.json.get("code"), "class_full", repr(r))
            n_new = sum(1 for r in results if r.status == 201)
            c, conf = self.check_invariant(cid, 5)
            self.assertEqual(c["booked"], n_new)
        assert_invariants(self, self.srv)

    def test_same_member_cancel_and_rebook_race(self):
        """One member cancels and rebooks at the same time, many times over."""
        srv = self.srv
        cid = srv.make_class("Spin", capacity=2)["id"]
        m = srv.make_member("Twitchy")
        others = [srv.make_member() for _ in range(3)]
        r = srv.book(m["token"], cid)
        self.assertStatus(r, 201)
        rid = r.json["id"]
        for _ in range(5):
            jobs = [lambda c, rid=rid: c.request("POST", "/reservations/%s/cancel" % rid,
                                                 token=m["token"]),
                    lambda c: c.request("POST", "/reservations", {"class_id": cid},
                                        token=m["token"])]
            jobs += [lambda c, o=o: c.request("POST", "/reservations", {"class_id": cid},
                                              token=o["token"]) for o in others]
            results = race(srv, jobs)
            for x in results:
                self.assertNotIsInstance(x, Exception, repr(x))
                self.assertIn(x.status, (200, 201, 409), repr(x))
                if x.status == 409:
                    self.assertIn(x.json.get("code"), ("class_full", "already_booked"), repr(x))
            c, conf = self.check_invariant(cid, 2)
            mine = [x for x in conf if x["member_id"] == m["id"]]
            self.assertLessEqual(len(mine), 1)
            # reset: cancel everyone, then m books again
            for x in conf:
                owner = m if x["member_id"] == m["id"] else \
                    next(o for o in others if o["id"] == x["member_id"])
                cr = srv.request("POST", "/reservations/%s/cancel" % x["id"], token=owner["token"])
                self.assertStatus(cr, 200)
            self.assertEqual(srv.get_class(cid)["booked"], 0)
            r = srv.book(m["token"], cid)
            self.assertStatus(r, 201)
            rid = r.json["id"]
        self.check_invariant(cid, 2)
        assert_invariants(self, self.srv)


if __name__ == "__main__":
    unittest.main()
