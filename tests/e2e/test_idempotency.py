"""Idempotency-Key on POST /reservations."""

import threading
import unittest
import uuid

from harness import StudioTestCase

BOOKING_CODES = ("class_full", "already_booked", "booking_closed")


def key():
    return "key-" + uuid.uuid4().hex


class Idempotency(StudioTestCase):
    server_kwargs = {"reservation_wait_ms": 10000}

    def post(self, member, class_id, k, **extra):
        body = {"class_id": class_id}
        body.update(extra)
        return self.srv.request("POST", "/reservations", body, token=member["token"],
                                headers={"Idempotency-Key": k})

    def replayed_id(self, r, what="replay"):
        self.assertStatus(r, 201, what)
        return r.json["id"]

    def test_same_key_twice_same_reply(self):
        srv = self.srv
        cid = srv.make_class(capacity=5)["id"]
        a = srv.make_member()
        k = key()
        r1 = self.post(a, cid, k)
        rid = self.assertBooked(r1, cid, a)
        r2 = self.post(a, cid, k)
        self.assertStatus(r2, 201, "replay")
        self.assertEqual(r2.json, r1.json, "the first answer again")
        self.assertEqual(r2.headers.get("Location"), r1.headers.get("Location"))
        r3 = self.post(a, cid, k)
        self.assertStatus(r3, 201, "second replay")
        self.assertEqual(r3.json, r1.json)
        self.assertClassCounts(cid, 1, 5)
        self.expectMyReservations(a, {rid: ("confirmed", None)})
        self.expectNotifications(a, [("reservation_confirmed", rid)])
        self.assertEqual(len(srv.roster(cid)), 1, "one reservation in the roster")

    def test_replay_after_cancel_is_still_first_answer(self):
        srv = self.srv
        cid = srv.make_class(capacity=5)["id"]
        a = srv.make_member()
        k = key()
        r1 = self.post(a, cid, k)
        rid = self.assertBooked(r1, cid, a)
        c = srv.request("POST", "/reservations/%s/cancel" % rid, token=a["token"])
        self.assertStatus(c, 200)
        r2 = self.post(a, cid, k)
        self.assertStatus(r2, 201, "replay after cancel answers the first answer")
        self.assertEqual(r2.json["id"], rid)
        self.assertEqual(r2.json, r1.json, "the first answer again")
        self.assertClassCounts(cid, 0, 5)
        self.assertEqual(len(srv.roster(cid)), 1, "nothing booked again")

    def test_rejection_is_replayed(self):
        srv = self.srv
        cid = srv.make_class(capacity=1)["id"]
        a, b = srv.make_member(), srv.make_member()
        self.assertBooked(srv.book(a["token"], cid), cid, a)
        k = key()
        r1 = self.post(b, cid, k)
        rid = self.assertRejected(r1, "class_full", cid, b)
        r2 = self.post(b, cid, k)
        self.assertProblem(r2, 409, "class_full", "replay of a rejection")
        self.assertEqual(r2.json, r1.json, "the first (409) answer again")
        self.assertEqual(r2.json["reservation_id"], rid)
        rejected = [x for x in srv.roster(cid) if x["status"] == "rejected"]
        self.assertEqual(len(rejected), 1, "one rejected reservation, not two")
        self.expectNotifications(b, [("reservation_rejected", rid)])

    def test_different_members_same_key(self):
        srv = self.srv
        cid = srv.make_class(capacity=5)["id"]
        a, b = srv.make_member(), srv.make_member()
        k = "shared-key-" + uuid.uuid4().hex[:8]
        ra = self.assertBooked(self.post(a, cid, k), cid, a)
        rb = self.assertBooked(self.post(b, cid, k), cid, b)
        self.assertNotEqual(ra, rb)
        self.assertClassCounts(cid, 2, 5)
        # and each replays their own
        self.assertEqual(self.replayed_id(self.post(a, cid, k)), ra)
        self.assertEqual(self.replayed_id(self.post(b, cid, k)), rb)
        self.assertClassCounts(cid, 2, 5)

    def test_admin_key_is_its_own(self):
        srv = self.srv
        cid = srv.make_class(capacity=5)["id"]
        a, b = srv.make_member(), srv.make_member()
        k = key()
        ra = self.assertBooked(self.post(a, cid, k), cid, a)
        r = srv.request("POST", "/reservations", {"class_id": cid, "member_id": b["id"]},
                        token=srv.admin_token, headers={"Idempotency-Key": k})
        rb = self.assertBooked(r, cid, b)
        self.assertNotEqual(ra, rb)
        self.assertClassCounts(cid, 2, 5)

    def test_same_key_different_body(self):
        srv = self.srv
        c1 = srv.make_class(capacity=5)["id"]
        c2 = srv.make_class(capacity=5)["id"]
        a = srv.make_member()
        k = key()
        ra = self.assertBooked(self.post(a, c1, k), c1, a)
        r = self.post(a, c2, k)
        self.assertProblem(r, 422, msg="same key, different body")
        self.assertClassCounts(c1, 1, 5)
        self.assertClassCounts(c2, 0, 5)
        self.assertEqual(srv.roster(c2), [])
        self.expectMyReservations(a, {ra: ("confirmed", None)})
        # the original still replays
        self.assertEqual(self.replayed_id(self.post(a, c1, k)), ra)

    def test_key_of_255_chars(self):
        srv = self.srv
        cid = srv.make_class(capacity=5)["id"]
        a = srv.make_member()
        k = ("k" * 255)
        ra = self.assertBooked(self.post(a, cid, k), cid, a)
        self.assertEqual(self.replayed_id(self.post(a, cid, k)), ra)
        self.assertClassCounts(cid, 1, 5)

    def test_same_key_concurrently(self):
        srv = self.srv
        for trial in range(5):
            cid = srv.make_class(capacity=5)["id"]
            a = srv.make_member()
            k = key()
            n = 4
            results = [None] * n
            barrier = threading.Barrier(n)

            def worker(i):
                client = srv.connection(timeout=30)
                try:
                    barrier.wait(10)
                    results[i] = client.request("POST", "/reservations", {"class_id": cid},
                                                token=a["token"], headers={"Idempotency-Key": k})
                except Exception as e:
                    results[i] = e
                finally:
                    client.close()

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            for r in results:
                self.assertNotIsInstance(r, Exception, repr(r))
            ok = [r for r in results if r.status == 201]
            self.assertGreaterEqual(len(ok), 1, "trial %d: %r" % (trial, results))
            ids = {r.json["id"] for r in ok}
            self.assertEqual(len(ids), 1, "trial %d: one reservation id: %r" % (trial, results))
            for r in results:
                if r.status != 201:
                    # a concurrent duplicate may be told to retry, but never booked or rejected
                    self.assertProblem(r, 409)
                    self.assertNotIn(r.json["code"], BOOKING_CODES,
                                     "trial %d: a duplicate became a booking: %r" % (trial, r))
            self.assertClassCounts(cid, 1, 5)
            self.assertEqual(len(srv.roster(cid)), 1, "trial %d: one reservation" % trial)
            self.expectMyReservations(a, {ids.pop(): ("confirmed", None)})


if __name__ == "__main__":
    unittest.main()
