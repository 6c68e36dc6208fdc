"""Money: the credits ledger, card payments through a fake provider, refunds,
retries, the circuit breaker and a kill -9 in the middle of a charge.

Every scenario ends with a reconciliation of the whole server against the
fake provider's books (see MoneyAssertions.reconcile).
"""

import datetime
import os
import sys
import threading
import time
import unittest
from collections import defaultdict

from harness import (Server, StudioAssertions, StudioTestCase, eventually,
                     free_port, settled)

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
from fake_provider import FakeProvider  # noqa: E402

HOUR = datetime.timedelta(hours=1)
DEFAULT_CUTOFF_H = 12


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)



def charge_key_pattern(rid):
    """A charge's idempotency key names its reservation and carries a random
    part (unique across databases, e.g. after restoring a backup)."""
    return r"^studiod-charge-%s-[0-9a-f]{16}$" % rid

class MoneyAssertions(StudioAssertions):
    """Helpers for money; self.srv is the server, self.fake the provider (or None)."""

    fake = None
    cutoff_h = DEFAULT_CUTOFF_H

    # -- reading -----------------------------------------------------------

    def ledger(self, member, token=None):
        """(items, balance) of GET /members/{id}/credits, all pages."""
        items, after, balance = [], None, None
        for _ in range(100):
            q = "/members/%s/credits?limit=500" % member["id"]
            if after is not None:
                q += "&after=%s" % after
            r = self.srv.request("GET", q, token=token or self.srv.admin_token)
            self.assertStatus(r, 200, "GET %s" % q)
            items.extend(r.json["items"])
            balance = r.json["credits"]
            after = r.json.get("next")
            if after is None:
                return items, balance
        self.fail("ledger pagination does not end")

    def balance(self, member):
        r = self.srv.admin("GET", "/members/%s" % member["id"])
        self.assertStatus(r, 200)
        return r.json["credits"]

    def me_credits(self, member):
        r = self.srv.request("GET", "/me", token=member["token"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["role"], "member")
        return r.json["member"]["credits"]

    def assertBalance(self, member, expected):
        items, bal = self.ledger(member)
        self.assertEqual(bal, expected, "ledger balance of member %s: %r" % (member["id"], items))
        self.assertEqual(sum(i["amount"] for i in items), expected, "ledger sum: %r" % items)
        self.assertEqual(self.balance(member), expected, "GET /members/{id} credits")
        self.assertEqual(self.me_credits(member), expected, "/me member.credits")
        return items

    def reservation(self, rid, token=None):
        r = self.srv.request("GET", "/reservations/%s" % rid, token=token or self.srv.admin_token)
        self.assertStatus(r, 200, "GET /reservations/%s" % rid)
        return r.json

    def wait_status(self, rid, status, reason=None, timeout=5.0):
        def check():
            g = self.reservation(rid)
            self.assertEqual((g["status"], g["reason"]), (status, reason), repr(g))
            return g
        return eventually(check, timeout=timeout)

    def wait_payment(self, rid, pay_status, timeout=5.0):
        def check():
            g = self.reservation(rid)
            self.assertIn("payment", g, repr(g))
            self.assertEqual(g["payment"]["status"], pay_status, repr(g))
            return g
        return eventually(check, timeout=timeout)

    def readyz_payment(self):
        r = self.srv.request("GET", "/readyz")
        self.assertIsInstance(r.json, dict, repr(r))
        return r.json["checks"]["payment"]

    def notification_for(self, member, rid, kind):
        def check():
            found = [n for n in self.srv.notifications(member)
                     if n["reservation_id"] == rid and n["kind"] == kind]
            self.assertEqual(len(found), 1, "one %s for reservation %s: %r" % (kind, rid, found))
            return found[0]
        return settled(check)

    def assertPayment(self, g, method, status, amount, refunded=0, provider_ref=None):
        self.assertIn("payment", g, "payment in %r" % g)
        p = g["payment"]
        self.assertEqual(p["method"], method, repr(g))
        self.assertEqual(p["status"], status, repr(g))
        self.assertEqual(p["amount"], amount, repr(g))
        self.assertEqual(p["refunded"], refunded, repr(g))
        if provider_ref is not None:
            self.assertEqual(p["provider_ref"], provider_ref, repr(g))

    # -- reconciliation ----------------------------------------------------

    def reconcile(self, timeout=6.0):
        """The whole server against the provider's books, once everything has
        settled: no pending saga, booked == confirmed per class, every
        confirmed card booking charged exactly once, every charge accounted
        for (confirmed, refunded exactly once, or kept by a late cancel),
        every ledger summing to its balance and matching its bookings."""
        return eventually(self._reconcile_once, timeout=timeout, interval=0.1)

    def _reconcile_once(self):
        srv = self.srv
        res = {}
        classes = {c["id"]: c for c in srv.all_classes()}
        for cid, c in classes.items():
            roster = srv.roster(cid)
            for r in roster:
                self.assertNotIn(r["status"], ("pending",), "saga still pending: %r" % r)
                res[r["id"]] = r
            confirmed = [r for r in roster if r["status"] == "confirmed"]
            cur = srv.get_class(cid)
            self.assertEqual(cur["booked"], len(confirmed),
                             "class %s booked vs confirmed roster: %r / %r" % (cid, cur, roster))
            if cur["status"] == "scheduled":       # a cancelled class shows remaining 0
                self.assertEqual(cur["remaining"], cur["capacity"] - cur["booked"], repr(cur))

        # card payments against the provider
        charges, refunds, requests = self.fake.snapshot() if self.fake else ([], [], [])
        by_ref = defaultdict(list)
        for ch in charges:
            by_ref[ch["reference"]].append(ch)
        for ref, chs in by_ref.items():
            self.assertEqual(len(chs), 1, "reservation charged more than once: %r" % chs)
        refunds_of = defaultdict(list)
        charge_ids = {ch["id"] for ch in charges}
        for rf in refunds:
            self.assertIn(rf["charge_id"], charge_ids, "refund of an unknown charge %r" % rf)
            refunds_of[rf["charge_id"]].append(rf)
        for rid, r in res.items():
            pay = r.get("payment")
            if r["status"] != "confirmed" or not pay or pay["method"] != "card":
                continue
            if pay["status"] == "at_desk":
                self.assertIsNone(pay["provider_ref"], repr(r))
                self.assertEqual(by_ref.get("reservation:%d" % rid, []), [], repr(r))
                continue
            chs = by_ref.get("reservation:%d" % rid, [])
            self.assertEqual(len(chs), 1, "confirmed card booking %s: charges %r" % (rid, chs))
            self.assertEqual(chs[0]["status"], "succeeded")
            self.assertEqual(pay["status"], "succeeded", repr(r))
            self.assertEqual(pay["provider_ref"], chs[0]["id"], repr(r))
            self.assertEqual(pay["amount"], chs[0]["amount"], repr(r))
            self.assertEqual(refunds_of.get(chs[0]["id"], []), [], "confirmed but refunded: %r" % r)
        for ch in charges:
            self.assertTrue(ch["reference"].startswith("reservation:"), repr(ch))
            rid = int(ch["reference"].split(":", 1)[1])
            self.assertIn(rid, res, "charge %r for an unknown reservation" % ch)
            r = res[rid]
            self.assertRegex(ch["idempotency_key"], charge_key_pattern(rid), repr(ch))
            self.assertEqual(ch["amount"], r["price"], "charge amount = price: %r %r" % (ch, r))
            rfs = refunds_of.get(ch["id"], [])
            if r["status"] == "confirmed":
                continue                                   # checked above
            if rfs:
                self.assertEqual(len(rfs), 1, "refunded more than once: %r" % rfs)
                self.assertEqual(rfs[0]["amount"], ch["amount"], repr(rfs))
                self.assertPayment(r, "card", "refunded", ch["amount"], refunded=ch["amount"])
                continue
            # Kept: only a member's or admin's cancel past the refund cutoff.
            if r["status"] != "cancelled":
                self.fail("money kept without a booking: charge %r of a %s reservation, "
                          "neither confirmed nor refunded: %r" % (ch, r["status"], r))
            self.assertIn(r["reason"], ("member", "admin"), repr(r))
            self.assertPayment(r, "card", "succeeded", ch["amount"])
            start = parse_time(classes[r["class_id"]]["starts_at"])
            cancelled = parse_time(r["updated_at"])
            self.assertGreater(cancelled, start - datetime.timedelta(hours=self.cutoff_h),
                               "kept charge of an early cancel: %r" % r)
        for q in requests:
            self.assertTrue(q["auth_ok"], "request without the right bearer key: %r" % q)

        # the credits ledger
        rows_of = defaultdict(list)
        for m in srv.members:
            items, bal = self.ledger(m)
            self.assertEqual(sum(i["amount"] for i in items), bal,
                             "ledger of member %s sums to its balance: %r" % (m["id"], items))
            self.assertEqual(self.balance(m), bal, "GET /members/%s credits" % m["id"])
            self.assertGreaterEqual(bal, 0)
            for i in items:
                if i.get("reservation_id") is not None:
                    rows_of[i["reservation_id"]].append(i)
        for rid, rows in rows_of.items():
            self.assertIn(rid, res, "ledger rows for unknown reservation %s" % rid)
        for rid, r in res.items():
            pay = r.get("payment")
            rows = rows_of.get(rid, [])
            if not pay or pay["method"] != "credits":
                self.assertEqual(rows, [], "ledger rows for a non-credits booking %r" % r)
                continue
            reasons = sorted(i["reason"] for i in rows)
            total = sum(i["amount"] for i in rows)
            if pay["status"] == "failed":
                self.assertEqual(rows, [], repr(r))
                self.assertEqual(r["status"], "rejected", repr(r))
            elif pay["status"] == "succeeded":
                self.assertEqual((reasons, total), (["booking"], -r["credits"]), repr(r))
                self.assertIn(r["status"], ("confirmed", "cancelled"), repr(r))
            elif pay["status"] == "refunded":
                self.assertEqual((reasons, total), (["booking", "refund"], 0), repr(r))
                self.assertEqual(pay["refunded"], r["credits"], repr(r))
                self.assertIn(r["status"], ("cancelled", "rejected"), repr(r))
            else:
                self.fail("credits payment status %r" % r)
        return res


# ---------------------------------------------------------------------------
# Credits (and provider = none): one server for the class
# ---------------------------------------------------------------------------

class CreditsTest(StudioTestCase, MoneyAssertions):
    """provider = none, default refund cutoff (12 h)."""

    def test_enough_credits_books_and_debits(self):
        srv = self.srv
        m = srv.make_member(credits=10)
        self.assertEqual(m["json"]["credits"], 10, "initial grant in the 201: %r" % m["json"])
        self.assertBalance(m, 10)
        cid = srv.make_class("Pack class", capacity=5, credits=3)["id"]
        r = srv.book(m["token"], cid)
        rid = self.assertBooked(r, cid, m)
        self.assertPayment(r.json, "credits", "succeeded", 3)
        self.assertPayment(self.reservation(rid, m["token"]), "credits", "succeeded", 3)
        items = self.assertBalance(m, 7)
        self.assertEqual([(i["amount"], i["reason"], i.get("reservation_id")) for i in items],
                         [(10, "initial grant", None), (-3, "booking", rid)])
        for i in items:
            self.assertTime(i["created_at"])
        self.assertClassCounts(cid, 1, 5)
        self.expectNotifications(m, [("reservation_confirmed", rid)], class_id=cid)
        # the member may read their own ledger, not someone else's
        other = srv.make_member()
        own, bal = self.ledger(m, token=m["token"])
        self.assertEqual((len(own), bal), (2, 7))
        r = srv.request("GET", "/members/%s/credits" % m["id"], token=other["token"])
        self.assertProblem(r, 403)
        self.reconcile()

    def test_too_few_credits_rejected_and_nothing_moves(self):
        srv = self.srv
        m = srv.make_member(credits=2)
        cid = srv.make_class("Pricey pack", capacity=1, credits=3)["id"]
        before = self.assertBalance(m, 2)
        rid = self.assertRejected(srv.book(m["token"], cid), "insufficient_credits", cid, m)
        g = self.reservation(rid)
        self.assertPayment(g, "credits", "failed", 3)
        self.assertClassCounts(cid, 0, 1)
        self.assertEqual(self.assertBalance(m, 2), before, "ledger unchanged")
        n = self.notification_for(m, rid, "reservation_rejected")
        self.assertIn("enough credits", n["message"])
        # the place was released: someone with credits gets the only place
        rich = srv.make_member(credits=3)
        self.assertBooked(srv.book(rich["token"], cid), cid, rich)
        self.assertClassCounts(cid, 1, 1)
        self.assertBalance(rich, 0)
        self.reconcile()

    def test_early_cancel_refunds_exactly_once(self):
        srv = self.srv
        m = srv.make_member(credits=5)
        cid = srv.make_class("Refundable", capacity=3, credits=4,
                             starts_in=datetime.timedelta(days=3))["id"]
        rid = self.assertBooked(srv.book(m["token"], cid), cid, m)
        self.assertBalance(m, 1)
        c1 = srv.request("POST", "/reservations/%s/cancel" % rid, token=m["token"])
        self.assertStatus(c1, 200)
        self.assertEqual((c1.json["status"], c1.json["reason"]), ("cancelled", "member"))
        g = self.wait_payment(rid, "refunded")
        self.assertPayment(g, "credits", "refunded", 4, refunded=4)
        items = self.assertBalance(m, 5)
        self.assertEqual([(i["amount"], i["reason"], i.get("reservation_id")) for i in items],
                         [(5, "initial grant", None), (-4, "booking", rid), (4, "refund", rid)])
        # cancelling again (member, then admin) gives nothing back twice
        for tok in (m["token"], srv.admin_token):
            again = srv.request("POST", "/reservations/%s/cancel" % rid, token=tok)
            self.assertStatus(again, 200)
            self.assertEqual((again.json["status"], again.json["reason"]), ("cancelled", "member"))
        settled(lambda: self.assertEqual(len(self.assertBalance(m, 5)), 3), quiet=0.3)
        self.assertClassCounts(cid, 0, 3)
        n = self.notification_for(m, rid, "reservation_cancelled")
        self.assertIn("credits are refunded", n["message"])
        self.assertNotIn("No refund", n["message"])
        self.reconcile()

    def test_late_cancel_keeps_credits_and_says_so(self):
        srv = self.srv
        m = srv.make_member(credits=6)
        # starts in 6 hours: inside the 12-hour cutoff
        cid = srv.make_class("Too late", capacity=2, credits=2, starts_in=6 * HOUR)["id"]
        rid = self.assertBooked(srv.book(m["token"], cid), cid, m)
        self.assertBalance(m, 4)
        c = srv.request("POST", "/reservations/%s/cancel" % rid, token=m["token"])
        self.assertStatus(c, 200)
        self.assertEqual(c.json["status"], "cancelled")
        n = self.notification_for(m, rid, "reservation_cancelled")
        self.assertIn("No refund", n["message"])
        self.assertNotIn("refunded", n["message"])
        g = self.reservation(rid)
        self.assertPayment(g, "credits", "succeeded", 2, refunded=0)
        items = settled(lambda: self.assertBalance(m, 4), quiet=0.3)
        self.assertNotIn("refund", [i["reason"] for i in items])
        self.assertClassCounts(cid, 0, 2)   # the place is released all the same
        self.reconcile()

    def test_admin_grant_and_remove(self):
        srv = self.srv
        m = srv.make_member()
        self.assertBalance(m, 0)
        path = "/members/%s/credits" % m["id"]
        r = srv.admin("POST", path, {"amount": 5, "reason": "gift"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"credits": 5})
        r = srv.admin("POST", path, {"amount": -3, "reason": "correction"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"credits": 2})
        r = srv.admin("POST", path, {"amount": -3, "reason": "too much"})
        self.assertProblem(r, 409, "insufficient_credits")
        r = srv.admin("POST", path, {"amount": 0, "reason": "nothing"})
        self.assertFieldErrors(r, "amount")
        r = srv.request("POST", path, {"amount": 100, "reason": "self-service"}, token=m["token"])
        self.assertProblem(r, 403)
        r = srv.admin("POST", "/members/999999/credits", {"amount": 1, "reason": "ghost"})
        self.assertProblem(r, 404)
        items = self.assertBalance(m, 2)
        self.assertEqual([(i["amount"], i["reason"]) for i in items],
                         [(5, "gift"), (-3, "correction")])
        for i in items:
            self.assertNotIn("reservation_id", i)
        r = srv.admin("POST", path, {"amount": -2, "reason": "to zero"})
        self.assertEqual((r.status, r.json), (200, {"credits": 0}))
        self.assertBalance(m, 0)
        self.reconcile()

    def test_delete_class_refunds_credits_even_late(self):
        srv = self.srv
        a, b = srv.make_member(credits=3), srv.make_member(credits=8)
        # inside the cutoff: a member's cancel would not be refunded, the studio's is
        cid = srv.make_class("Studio cancels", capacity=4, credits=3, starts_in=6 * HOUR)["id"]
        ra = self.assertBooked(srv.book(a["token"], cid), cid, a)
        rb = self.assertBooked(srv.book(b["token"], cid), cid, b)
        self.assertBalance(a, 0)
        self.assertBalance(b, 5)
        d = srv.admin("DELETE", "/classes/%s" % cid)
        self.assertStatus(d, 200)
        self.assertEqual(d.json["status"], "cancelled")
        for rid, m, bal in ((ra, a, 3), (rb, b, 8)):
            self.wait_status(rid, "cancelled", "class_cancelled")
            g = self.wait_payment(rid, "refunded")
            self.assertPayment(g, "credits", "refunded", 3, refunded=3)
            self.assertBalance(m, bal)
            n = self.notification_for(m, rid, "reservation_cancelled")
            self.assertIn("refunded", n["message"])
        self.assertEqual(srv.admin("DELETE", "/classes/%s" % cid).status, 200)
        settled(lambda: (self.assertBalance(a, 3), self.assertBalance(b, 8)), quiet=0.3)
        c = srv.get_class(cid)
        self.assertEqual((c["status"], c["booked"]), ("cancelled", 0), repr(c))
        self.reconcile()

    def test_concurrent_bookings_never_overdraw(self):
        """Three bookings at once, credits for one: exactly one is debited."""
        srv = self.srv
        m = srv.make_member(credits=3)
        cids = [srv.make_class("Race %d" % i, capacity=2, credits=2)["id"] for i in range(3)]
        results = {}
        barrier = threading.Barrier(len(cids))

        def go(cid):
            barrier.wait()
            results[cid] = srv.book(m["token"], cid)
        threads = [threading.Thread(target=go, args=(c,)) for c in cids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        statuses = sorted(r.status for r in results.values())
        self.assertEqual(statuses, [201, 409, 409], repr(results))
        for cid, r in results.items():
            if r.status == 201:
                self.assertBooked(r, cid, m)
                self.assertClassCounts(cid, 1, 2)
            else:
                self.assertRejected(r, "insufficient_credits", cid, m)
                self.assertClassCounts(cid, 0, 2)
        items = self.assertBalance(m, 1)
        self.assertEqual(sorted(i["amount"] for i in items), [-2, 3])
        self.reconcile()

    def test_provider_none_is_paid_at_the_desk(self):
        srv = self.srv
        self.assertEqual(self.readyz_payment()["provider"], "none")
        m = srv.make_member(credits=5)
        cid = srv.make_class("Cash class", capacity=2, price=1500)["id"]
        r = srv.book(m["token"], cid)
        rid = self.assertBooked(r, cid, m)
        self.assertEqual(r.json["price"], 1500)
        g = self.reservation(rid, m["token"])
        self.assertPayment(g, "card", "at_desk", 1500)
        self.assertIsNone(g["payment"]["provider_ref"])
        self.assertBalance(m, 5)            # credits untouched by a priced class
        # a free class has no payment at all
        free = srv.make_class("Free class", capacity=2)["id"]
        r = srv.book(m["token"], free)
        self.assertBooked(r, free, m)
        self.assertNotIn("payment", r.json)
        self.reconcile()


    def test_at_desk_cancel_does_not_claim_a_refund(self):
        """Nothing was taken at the desk yet, so nothing is refunded: the
        member must not be told that a payment was refunded."""
        srv = self.srv
        m = srv.make_member()
        cid = srv.make_class("Desk class", capacity=2, price=1200,
                             starts_in=datetime.timedelta(days=3))["id"]
        rid = self.assertBooked(srv.book(m["token"], cid), cid, m)
        self.assertStatus(srv.request("POST", "/reservations/%s/cancel" % rid,
                                      token=m["token"]), 200)
        g = self.reservation(rid)
        self.assertPayment(g, "card", "at_desk", 1200, refunded=0)
        n = self.notification_for(m, rid, "reservation_cancelled")
        self.assertNotIn("refunded", n["message"],
                         "an at-the-desk booking had no payment to refund: %r" % n)
        self.reconcile()


# ---------------------------------------------------------------------------
# Card payments through the fake provider: one server and one fake per test
# ---------------------------------------------------------------------------

FAST = {
    "STUDIOD_PAYMENT_PROVIDER": "http",
    "STUDIOD_PAYMENT_TIMEOUT_MS": "400",
    "STUDIOD_PAYMENT_MAX_ATTEMPTS": "3",
    "STUDIOD_PAYMENT_RETRY_BASE_MS": "50",
    "STUDIOD_PAYMENT_BREAKER_FAILURES": "5",
    "STUDIOD_PAYMENT_BREAKER_OPEN_MS": "30000",
    "STUDIOD_RESERVATION_WAIT_MS": "3000",
}
PRICE = 2500


class CardTest(StudioTestCase, MoneyAssertions):
    server_per_test = True              # but started by start(), with its env

    def setUp(self):
        unittest.TestCase.setUp(self)
        self.srv = None

    def start(self, url=None, key=None, **env):
        """A fake provider (approve) and a server pointed at it; both stopped
        by the test's cleanups (the server first)."""
        self.fake = FakeProvider(api_key="sk_test_" + os.urandom(6).hex()).start()
        self.addCleanup(self.fake.stop)
        srv = Server(start=False)
        self.addCleanup(srv.close)
        key_file = os.path.join(srv.dir, "provider.key")
        with open(key_file, "w") as f:
            f.write((key or self.fake.api_key) + "\n")
        srv.extra_env.update(FAST)
        srv.extra_env["STUDIOD_PAYMENT_URL"] = url or self.fake.url
        srv.extra_env["STUDIOD_PAYMENT_API_KEY_FILE"] = key_file
        srv.extra_env.update({k: str(v) for k, v in env.items()})
        self.srv = srv
        srv.start()
        return srv, self.fake

    def card_class(self, **kw):
        kw.setdefault("capacity", 3)
        return self.srv.make_class(price=PRICE, **kw)["id"]

    def assertCharge(self, rid):
        """Exactly one charge for reservation rid at the fake; returns it."""
        chs = self.fake.charges_for(rid)
        self.assertEqual(len(chs), 1, "charges for reservation %s: %r" % (rid, chs))
        ch = chs[0]
        self.assertEqual((ch["amount"], ch["currency"]), (PRICE, "EUR"), repr(ch))
        self.assertRegex(ch["idempotency_key"], charge_key_pattern(rid), repr(ch))
        return ch

    def assertSameKey(self, rid, at_least):
        """Every request the fake saw for rid carried the same key (header and
        body), with the bearer key; returns how many there were."""
        qs = [q for q in self.fake.requests_for(path="/charges")
              if (q["json"] or {}).get("reference") == "reservation:%s" % rid]
        self.assertGreaterEqual(len(qs), at_least, "charge attempts for %s: %r" % (rid, qs))
        key = qs[0]["idempotency_key"] if qs else None
        self.assertRegex(key or "", charge_key_pattern(rid))
        for q in qs:
            self.assertEqual(q["idempotency_key"], key, repr(q))
            self.assertEqual(q["json"]["idempotency_key"], key, repr(q))
            self.assertEqual(q["json"]["amount"], PRICE)
            self.assertTrue(q["auth_ok"], "bearer key sent: %r" % q["headers"])
        return len(qs)

    # -- approve / decline -------------------------------------------------

    def test_card_approved(self):
        srv, fake = self.start()
        self.assertEqual(self.readyz_payment()["provider"], "http")
        cid = self.card_class()
        m = srv.make_member()
        r = srv.book(m["token"], cid)
        rid = self.assertBooked(r, cid, m)
        ch = self.assertCharge(rid)
        self.assertEqual(ch["reference"], "reservation:%s" % rid)
        self.assertPayment(r.json, "card", "succeeded", PRICE, provider_ref=ch["id"])
        self.assertPayment(self.reservation(rid, m["token"]), "card", "succeeded", PRICE,
                           provider_ref=ch["id"])
        self.assertEqual(self.assertSameKey(rid, 1), 1, "one request for one charge")
        q = fake.requests_for(path="/charges")[0]
        self.assertEqual(q["headers"].get("authorization"), "Bearer " + fake.api_key)
        self.assertClassCounts(cid, 1)
        self.expectNotifications(m, [("reservation_confirmed", rid)])
        ready = self.readyz_payment()
        self.assertEqual((ready["breaker"], ready["consecutive_failures"], ready["in_flight"]),
                         ("closed", 0, 0))
        # an idempotent booking is charged once, however often it is sent
        other = srv.make_member()
        hdr = {"Idempotency-Key": "card-once-%d" % other["id"]}
        first = srv.book(other["token"], cid, headers=hdr)
        rid2 = self.assertBooked(first, cid, other)
        again = srv.book(other["token"], cid, headers=hdr)
        self.assertEqual((again.status, again.json), (201, first.json))
        self.assertCharge(rid2)
        self.assertEqual(len(fake.charges), 2)
        self.assertClassCounts(cid, 2)
        self.reconcile()

    def test_card_declined_releases_place(self):
        srv, fake = self.start()
        fake.set_mode("decline")
        cid = self.card_class(capacity=1)
        m = srv.make_member()
        t0 = time.monotonic()
        rid = self.assertRejected(srv.book(m["token"], cid), "payment_failed", cid, m)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertPayment(self.reservation(rid), "card", "failed", PRICE)
        self.assertEqual(fake.charges, [], "nothing charged")
        self.assertEqual(len(fake.declines), 1)
        self.assertEqual(self.assertSameKey(rid, 1), 1, "a decline is not retried")
        self.assertClassCounts(cid, 0, 1)
        n = self.notification_for(m, rid, "reservation_rejected")
        self.assertIn("declined", n["message"])
        # the place is free again
        fake.set_mode("approve")
        other = srv.make_member()
        r2 = self.assertBooked(srv.book(other["token"], cid), cid, other)
        self.assertCharge(r2)
        self.assertClassCounts(cid, 1, 1)
        self.reconcile()

    def test_wrong_api_key_is_refused_not_charged(self):
        srv, fake = self.start(key="not-the-key")
        cid = self.card_class()
        m = srv.make_member()
        rid = self.assertRejected(srv.book(m["token"], cid), "payment_failed", cid, m)
        self.assertEqual(fake.charges, [])
        qs = fake.requests_for(path="/charges")
        self.assertEqual([(q["status"], q["auth_ok"]) for q in qs], [(401, False)], repr(qs))
        self.assertClassCounts(cid, 0)
        fake.reset()                        # its 401 is expected; reconcile the rest
        self.reconcile()

    def test_concurrent_card_bookings_charge_only_the_booked(self):
        srv, fake = self.start()
        cid = self.card_class(capacity=3)
        members = [srv.make_member() for _ in range(6)]
        results = {}
        barrier = threading.Barrier(len(members))

        def go(m):
            barrier.wait()
            results[m["id"]] = srv.book(m["token"], cid)
        threads = [threading.Thread(target=go, args=(m,)) for m in members]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        booked = []
        for m in members:
            r = results[m["id"]]
            if r.status == 201:
                booked.append(self.assertBooked(r, cid, m))
            else:
                rid = self.assertRejected(r, "class_full", cid, m)
                self.assertEqual(fake.charges_for(rid), [], "a full class is not charged")
        self.assertEqual(len(booked), 3, repr(results))
        for rid in booked:
            self.assertCharge(rid)
        self.assertEqual(len(fake.charges), 3)
        self.assertClassCounts(cid, 3, 3)
        self.reconcile()

    # -- transient failures and retries -----------------------------------

    def test_500_then_retry_succeeds_once(self):
        srv, fake = self.start(STUDIOD_PAYMENT_MAX_ATTEMPTS=3)
        fake.set_mode("fail-2-then-approve")
        cid = self.card_class()
        m = srv.make_member()
        rid = self.assertBooked(srv.book(m["token"], cid), cid, m)
        ch = self.assertCharge(rid)
        self.assertEqual(self.assertSameKey(rid, 3), 3, "two 500s, then the success")
        self.assertEqual([q["status"] for q in fake.requests_for(path="/charges")], [500, 500, 200])
        self.assertPayment(self.reservation(rid), "card", "succeeded", PRICE, provider_ref=ch["id"])
        ready = self.readyz_payment()
        self.assertEqual((ready["breaker"], ready["consecutive_failures"]), ("closed", 0))
        self.assertClassCounts(cid, 1)
        self.reconcile()

    def test_timeout_then_retry_charges_once(self):
        srv, fake = self.start(STUDIOD_PAYMENT_TIMEOUT_MS=300, STUDIOD_PAYMENT_RETRY_BASE_MS=50)
        fake.slow_s = 3.0
        fake.set_mode("slow")
        cid = self.card_class()
        m = srv.make_member()
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("r", srv.book(m["token"], cid)))
        t.start()
        try:
            # the first attempt reaches the provider, which charges but answers late
            self.assertTrue(fake.wait_for(lambda f: len(f.charges) == 1, timeout=5))
            fake.set_mode("approve")
        finally:
            t.join(10)
        r = out["r"]
        rid = self.assertBooked(r, cid, m)
        ch = self.assertCharge(rid)
        self.assertGreaterEqual(self.assertSameKey(rid, 2), 2, "retried after the timeout")
        self.assertPayment(r.json, "card", "succeeded", PRICE, provider_ref=ch["id"])
        settled(lambda: self.assertEqual(len(fake.charges), 1), quiet=0.3)
        ready = self.readyz_payment()
        self.assertEqual((ready["breaker"], ready["consecutive_failures"], ready["in_flight"]),
                         ("closed", 0, 0), ready)
        self.assertClassCounts(cid, 1)
        self.reconcile()

    def _all_attempts_fail(self, srv, fake, attempts_expected):
        cid = self.card_class(capacity=1)
        m = srv.make_member()
        r = srv.book(m["token"], cid)
        answered = time.monotonic()
        rid = self.assertRejected(r, "payment_unavailable", cid, m)
        self.assertPayment(self.reservation(rid), "card", "failed", PRICE)
        self.assertClassCounts(cid, 0, 1)
        n = self.notification_for(m, rid, "reservation_rejected")
        self.assertIn("unavailable", n["message"])
        if fake is not None:
            # max_attempts sends, all with one key, before the booking is given
            # up on (the server may go on asking what became of the charge,
            # with the same key, but the booking stays rejected)
            self.assertSameKey(rid, attempts_expected)
            before = [q for q in fake.requests_for(path="/charges") if q["t"] <= answered]
            self.assertEqual(len(before), attempts_expected, repr(before))
            self.assertEqual(fake.charges, [])
        time.sleep(0.4)
        self.assertEqual(self.reservation(rid)["status"], "rejected")
        self.assertClassCounts(cid, 0, 1)
        return cid

    def test_all_attempts_500_unavailable(self):
        srv, fake = self.start(STUDIOD_PAYMENT_MAX_ATTEMPTS=3)
        fake.set_mode("error500")
        cid = self._all_attempts_fail(srv, fake, 3)
        # the place was released: a booking succeeds once the provider is back
        fake.set_mode("approve")
        other = srv.make_member()
        self.assertCharge(self.assertBooked(srv.book(other["token"], cid), cid, other))
        self.reconcile()

    def test_unavailable_after_the_wait_shows_on_get(self):
        """The saga outlives POST's wait: 202 pending, then GET shows the rejection."""
        srv, fake = self.start(STUDIOD_PAYMENT_MAX_ATTEMPTS=3, STUDIOD_PAYMENT_RETRY_BASE_MS=300,
                               STUDIOD_RESERVATION_WAIT_MS=100)
        fake.set_mode("error500")
        cid = self.card_class(capacity=1)
        m = srv.make_member()
        r = srv.book(m["token"], cid)
        self.assertStatus(r, 202)
        self.assertEqual(r.json["status"], "pending")
        rid = r.json["id"]
        self.assertEqual(r.headers.get("Location"), "/api/v1/reservations/%s" % rid)
        g = self.wait_status(rid, "rejected", "payment_unavailable", timeout=5)
        self.assertPayment(g, "card", "failed", PRICE)
        self.assertSameKey(rid, 3)
        self.assertEqual(fake.charges, [])
        self.assertClassCounts(cid, 0, 1)
        self.notification_for(m, rid, "reservation_rejected")
        self.reconcile()

    def test_connection_refused_unavailable(self):
        closed = "http://127.0.0.1:%d" % free_port()
        srv, fake = self.start(url=closed, STUDIOD_PAYMENT_MAX_ATTEMPTS=2)
        self._all_attempts_fail(srv, None, 2)
        self.assertEqual(fake.requests, [])
        self.assertGreaterEqual(self.readyz_payment()["consecutive_failures"], 2)
        self.reconcile()

    # -- the circuit breaker ----------------------------------------------

    def test_breaker_opens_fails_fast_and_recovers(self):
        open_ms = 2000
        srv, fake = self.start(STUDIOD_PAYMENT_MAX_ATTEMPTS=3, STUDIOD_PAYMENT_RETRY_BASE_MS=150,
                               STUDIOD_PAYMENT_BREAKER_FAILURES=3,
                               STUDIOD_PAYMENT_BREAKER_OPEN_MS=open_ms)
        fake.set_mode("error500")
        cid = self.card_class(capacity=5)
        members = [srv.make_member() for _ in range(5)]
        # three transient failures (one booking, three attempts) open it
        t0 = time.monotonic()
        self.assertRejected(srv.book(members[0]["token"], cid), "payment_unavailable", cid)
        slow_path = time.monotonic() - t0
        self.assertGreaterEqual(slow_path, 0.4, "retries with backoff took their time")
        opened_at = time.monotonic()
        self.assertEqual(len(fake.requests), 3)
        ready = self.readyz_payment()
        self.assertEqual((ready["breaker"], ready["consecutive_failures"]), ("open", 3), ready)
        # while open: fail fast, nothing reaches the provider
        fake.set_mode("approve")            # even a healthy provider is not asked
        for m in members[1:3]:
            t0 = time.monotonic()
            r = srv.book(m["token"], cid)
            took = time.monotonic() - t0
            self.assertRejected(r, "payment_unavailable", cid, m)
            self.assertLess(took, 0.35, "fail fast while the breaker is open (%.3fs)" % took)
        self.assertClassCounts(cid, 0, 5)
        # nothing at all reaches the provider while it is open
        time.sleep(max(0.0, open_ms / 1000.0 - (time.monotonic() - opened_at) - 0.3))
        self.assertLess(time.monotonic() - opened_at, open_ms / 1000.0, "test too slow")
        self.assertEqual(len(fake.requests), 3, "no request reached the provider while open")
        # after breaker_open_ms a probe decides; it succeeds and closes it
        time.sleep(max(0.0, open_ms / 1000.0 - (time.monotonic() - opened_at)) + 0.2)
        self.assertEqual(self.readyz_payment()["breaker"], "half_open",
                         "readyz tells the open time is over (the next request probes)")
        rid = self.assertBooked(srv.book(members[3]["token"], cid), cid, members[3])
        self.assertCharge(rid)
        ready = self.readyz_payment()
        self.assertEqual((ready["breaker"], ready["consecutive_failures"]), ("closed", 0), ready)
        rid2 = self.assertBooked(srv.book(members[4]["token"], cid), cid, members[4])
        self.assertCharge(rid2)
        self.assertClassCounts(cid, 2, 5)
        self.reconcile()

    def test_refused_refund_is_shown_not_hidden(self):
        """A refund the provider refuses (4xx) is not retried for ever and not
        hidden: the reservation shows payment.status refund_failed."""
        srv, fake = self.start()
        cid = self.card_class()
        m = srv.make_member()
        rid = self.assertBooked(srv.book(m["token"], cid), cid, m)
        self.assertCharge(rid)
        fake.set_mode("decline")            # refunds now answer 402
        r = srv.request("POST", "/reservations/%d/cancel" % rid, token=m["token"])
        self.assertStatus(r, 200)

        def shown():
            g = srv.request("GET", "/reservations/%d" % rid, token=m["token"])
            self.assertEqual(g.json["payment"]["status"], "refund_failed", g.json)
            return g.json
        body = eventually(shown, timeout=5)
        self.assertEqual(body["payment"]["refunded"], 0)
        self.assertEqual(fake.refunds, [], "the provider recorded no refund")
        n = len(fake.requests_for(path="/refunds"))
        time.sleep(0.5)
        self.assertEqual(len(fake.requests_for(path="/refunds")), n, "not retried")
        self.assertClassCounts(cid, 0, 3)

    def test_breaker_failed_probe_reopens(self):
        open_ms = 1500
        srv, fake = self.start(STUDIOD_PAYMENT_MAX_ATTEMPTS=1, STUDIOD_PAYMENT_BREAKER_FAILURES=2,
                               STUDIOD_PAYMENT_BREAKER_OPEN_MS=open_ms)
        fake.set_mode("error500")
        cid = self.card_class(capacity=5)
        ms = [srv.make_member() for _ in range(4)]
        for m in ms[:2]:
            self.assertRejected(srv.book(m["token"], cid), "payment_unavailable", cid, m)
        eventually(lambda: self.assertEqual(self.readyz_payment()["breaker"], "open"))
        n_open = len(fake.requests)
        self.assertGreaterEqual(n_open, 2)
        time.sleep(open_ms / 1000.0 + 0.2)
        # half open: one probe goes out, fails, and the breaker is open again
        self.assertRejected(srv.book(ms[2]["token"], cid), "payment_unavailable", cid, ms[2])
        eventually(lambda: self.assertEqual(self.readyz_payment()["breaker"], "open"))
        self.assertEqual(len(fake.requests), n_open + 1, "exactly one probe")
        fake.set_mode("approve")
        t0 = time.monotonic()
        self.assertRejected(srv.book(ms[3]["token"], cid), "payment_unavailable", cid, ms[3])
        self.assertLess(time.monotonic() - t0, 0.35, "fail fast")
        self.assertEqual(len(fake.requests), n_open + 1, "no request while open again")
        self.assertClassCounts(cid, 0, 5)
        self.reconcile()

    # -- refunds -----------------------------------------------------------

    def test_card_early_cancel_refunds_once(self):
        srv, fake = self.start()
        cid = self.card_class(starts_in=datetime.timedelta(days=2))
        m = srv.make_member()
        rid = self.assertBooked(srv.book(m["token"], cid), cid, m)
        ch = self.assertCharge(rid)
        c = srv.request("POST", "/reservations/%s/cancel" % rid, token=m["token"])
        self.assertStatus(c, 200)
        self.assertEqual(c.json["status"], "cancelled")
        self.assertTrue(fake.wait_for(lambda f: len(f.refunds) == 1, timeout=5), fake.refunds)
        g = self.wait_payment(rid, "refunded")
        self.assertPayment(g, "card", "refunded", PRICE, refunded=PRICE, provider_ref=ch["id"])
        for _ in range(2):
            self.assertStatus(srv.request("POST", "/reservations/%s/cancel" % rid,
                                          token=m["token"]), 200)
        time.sleep(0.4)
        rfs = fake.refunds_for(ch["id"])
        self.assertEqual(len(rfs), 1, "one refund: %r" % rfs)
        self.assertEqual(rfs[0]["amount"], PRICE)
        self.assertTrue(rfs[0]["idempotency_key"].startswith("studiod-refund-"), rfs)
        self.assertEqual(len(fake.requests_for(path="/refunds")), 1, "one refund request")
        self.assertPayment(self.reservation(rid), "card", "refunded", PRICE, refunded=PRICE)
        self.assertClassCounts(cid, 0)
        n = self.notification_for(m, rid, "reservation_cancelled")
        self.assertIn("payment is refunded", n["message"])
        self.reconcile()

    def test_card_refund_retried_after_500(self):
        srv, fake = self.start()
        cid = self.card_class()
        m = srv.make_member()
        rid = self.assertBooked(srv.book(m["token"], cid), cid, m)
        ch = self.assertCharge(rid)
        fake.set_mode("fail-1-then-approve")
        self.assertStatus(srv.request("POST", "/reservations/%s/cancel" % rid,
                                      token=m["token"]), 200)
        self.wait_payment(rid, "refunded")
        qs = fake.requests_for(path="/refunds")
        self.assertEqual([q["status"] for q in qs], [500, 200], repr(qs))
        self.assertEqual(len({q["idempotency_key"] for q in qs}), 1, "same refund key")
        self.assertEqual(len(fake.refunds_for(ch["id"])), 1)
        self.reconcile()

    def test_card_late_cancel_keeps_charge(self):
        srv, fake = self.start()
        cid = self.card_class(starts_in=6 * HOUR)
        m = srv.make_member()
        rid = self.assertBooked(srv.book(m["token"], cid), cid, m)
        ch = self.assertCharge(rid)
        self.assertStatus(srv.request("POST", "/reservations/%s/cancel" % rid,
                                      token=m["token"]), 200)
        n = self.notification_for(m, rid, "reservation_cancelled")
        self.assertIn("No refund", n["message"])
        time.sleep(0.4)
        self.assertEqual(fake.refunds, [], "no refund past the cutoff")
        self.assertPayment(self.reservation(rid), "card", "succeeded", PRICE,
                           provider_ref=ch["id"])
        self.assertClassCounts(cid, 0)
        self.reconcile()

    def test_late_cancel_by_clock_offset(self):
        """The same rule through STUDIOD_TEST_CLOCK_OFFSET_S and a custom cutoff:
        a class 3 days out, a 2-hour cutoff, the server clock moved 71 hours on."""
        srv, fake = self.start(STUDIOD_RESERVATION_REFUND_CUTOFF_HOURS=2)
        self.cutoff_h = 2
        early = self.card_class(starts_in=datetime.timedelta(days=3))
        late = self.card_class(starts_in=datetime.timedelta(days=3))
        m = srv.make_member()
        r_early = self.assertBooked(srv.book(m["token"], early), early, m)
        r_late = self.assertBooked(srv.book(m["token"], late), late, m)
        self.assertStatus(srv.request("POST", "/reservations/%s/cancel" % r_early,
                                      token=m["token"]), 200)
        self.wait_payment(r_early, "refunded")
        srv.stop()
        srv.extra_env["STUDIOD_TEST_CLOCK_OFFSET_S"] = str(71 * 3600)
        srv.start()
        self.assertStatus(srv.request("POST", "/reservations/%s/cancel" % r_late,
                                      token=m["token"]), 200)
        n = self.notification_for(m, r_late, "reservation_cancelled")
        self.assertIn("No refund", n["message"])
        time.sleep(0.4)
        ch_late = self.assertCharge(r_late)
        self.assertEqual(fake.refunds_for(ch_late["id"]), [])
        self.assertEqual(len(fake.refunds), 1)
        self.reconcile()

    def test_delete_class_refunds_card_even_late(self):
        srv, fake = self.start()
        cid = self.card_class(starts_in=6 * HOUR)
        ms = [srv.make_member() for _ in range(2)]
        rids = [self.assertBooked(srv.book(m["token"], cid), cid, m) for m in ms]
        chs = [self.assertCharge(rid) for rid in rids]
        self.assertStatus(srv.admin("DELETE", "/classes/%s" % cid), 200)
        for rid, ch in zip(rids, chs):
            self.wait_status(rid, "cancelled", "class_cancelled")
            g = self.wait_payment(rid, "refunded")
            self.assertPayment(g, "card", "refunded", PRICE, refunded=PRICE)
        self.assertStatus(srv.admin("DELETE", "/classes/%s" % cid), 200)
        time.sleep(0.3)
        for ch in chs:
            self.assertEqual(len(fake.refunds_for(ch["id"])), 1, fake.refunds)
        self.assertEqual(len(fake.refunds), 2)
        c = srv.get_class(cid)
        self.assertEqual((c["status"], c["booked"]), ("cancelled", 0), repr(c))
        self.reconcile()

    def test_rejected_while_charging_is_refunded(self):
        """The saga times out while the charge is in flight; the charge then
        succeeds: the rejected booking's money goes back."""
        srv, fake = self.start(STUDIOD_PAYMENT_TIMEOUT_MS=8000,
                               STUDIOD_RESERVATION_PENDING_TIMEOUT_S=1,
                               STUDIOD_RESERVATION_WAIT_MS=300)
        fake.set_mode("hold")
        cid = self.card_class(capacity=1)
        m = srv.make_member()
        r = srv.book(m["token"], cid)
        self.assertStatus(r, 202)
        rid = r.json["id"]
        self.assertEqual(r.json["status"], "pending")
        self.assertTrue(fake.wait_for(lambda f: len(f.charges) == 1, timeout=5))
        try:
            self.wait_status(rid, "rejected", "timeout", timeout=5)
            self.assertClassCounts(cid, 0, 1)
        finally:
            fake.release()
        g = self.wait_payment(rid, "refunded", timeout=5)
        ch = self.assertCharge(rid)
        self.assertPayment(g, "card", "refunded", PRICE, refunded=PRICE)
        self.assertEqual(len(fake.refunds_for(ch["id"])), 1)
        self.assertEqual(self.reservation(rid)["status"], "rejected", "stays rejected")
        self.assertClassCounts(cid, 0, 1)
        self.reconcile()

    def test_cancel_while_charging_refunds_when_it_lands(self):
        srv, fake = self.start(STUDIOD_PAYMENT_TIMEOUT_MS=8000, STUDIOD_RESERVATION_WAIT_MS=300)
        fake.set_mode("hold")
        cid = self.card_class(capacity=1)
        m = srv.make_member()
        r = srv.book(m["token"], cid)
        self.assertStatus(r, 202)
        rid = r.json["id"]
        self.assertTrue(fake.wait_for(lambda f: len(f.charges) == 1, timeout=5))
        try:
            c = srv.request("POST", "/reservations/%s/cancel" % rid, token=m["token"])
            self.assertStatus(c, 200)
            self.assertEqual(c.json["status"], "cancelled")
            self.assertClassCounts(cid, 0, 1)
        finally:
            fake.set_mode("approve")
            fake.release()
        g = self.wait_payment(rid, "refunded")
        ch = self.assertCharge(rid)
        self.assertPayment(g, "card", "refunded", PRICE, refunded=PRICE, provider_ref=ch["id"])
        self.assertEqual((g["status"], g["reason"]), ("cancelled", "member"), "stays cancelled")
        time.sleep(0.3)
        self.assertEqual(len(fake.refunds_for(ch["id"])), 1)
        self.assertClassCounts(cid, 0, 1)
        self.expectNotifications(m, [("reservation_cancelled", rid)])
        self.reconcile()

    def test_orphan_charge_after_timeouts_is_given_back(self):
        """The provider takes the money but every answer comes too late: the
        booking is rejected (payment_unavailable). Once the provider answers
        again, the money must not stay with the studio for a booking that
        does not exist: the charge is found (same idempotency key) and
        refunded, or the booking stands."""
        srv, fake = self.start(STUDIOD_PAYMENT_TIMEOUT_MS=200, STUDIOD_PAYMENT_MAX_ATTEMPTS=2,
                               STUDIOD_PAYMENT_RETRY_BASE_MS=50)
        fake.slow_s = 1.0
        fake.set_mode("slow")
        cid = self.card_class(capacity=1)
        m = srv.make_member()
        rid = self.assertRejected(srv.book(m["token"], cid), "payment_unavailable", cid, m)
        self.assertEqual(len(fake.charges), 1, "the provider did charge")
        self.assertCharge(rid)
        fake.set_mode("approve")
        # the provider is healthy again (and a booking proves it)
        other = srv.make_member()
        self.assertCharge(self.assertBooked(srv.book(other["token"], cid), cid, other))
        self.reconcile(timeout=8)

    def test_kill9_during_refund(self):
        srv, fake = self.start(STUDIOD_PAYMENT_TIMEOUT_MS=8000)
        cid = self.card_class()
        m = srv.make_member()
        rid = self.assertBooked(srv.book(m["token"], cid), cid, m)
        ch = self.assertCharge(rid)
        fake.set_mode("hold")
        self.assertStatus(srv.request("POST", "/reservations/%s/cancel" % rid,
                                      token=m["token"]), 200)
        self.assertTrue(fake.wait_for(lambda f: len(f.refunds) == 1, timeout=5))
        self.assertEqual(self.reservation(rid)["payment"]["status"], "succeeded",
                         "the refund's answer is not recorded yet")
        srv.kill9()
        fake.set_mode("approve")
        fake.release()
        srv.start()
        g = self.wait_payment(rid, "refunded", timeout=8)
        self.assertPayment(g, "card", "refunded", PRICE, refunded=PRICE)
        qs = fake.requests_for(path="/refunds")
        self.assertGreaterEqual(len(qs), 2, "asked again after the restart")
        self.assertEqual(len({q["idempotency_key"] for q in qs}), 1, repr(qs))
        self.assertEqual(len(fake.refunds_for(ch["id"])), 1, "refunded exactly once")
        self.reconcile()

    # -- a crash in the middle of a charge --------------------------------

    def test_sigterm_during_charge_resumes_once(self):
        """A clean stop with a charge in flight: exit 0 (no sanitizer report),
        and the next start finishes the charge with the same key, once."""
        srv, fake = self.start(STUDIOD_PAYMENT_TIMEOUT_MS=8000, STUDIOD_RESERVATION_WAIT_MS=300)
        fake.set_mode("hold")
        cid = self.card_class(capacity=2)
        m = srv.make_member()
        r = srv.book(m["token"], cid)
        self.assertStatus(r, 202)
        rid = r.json["id"]
        self.assertTrue(fake.wait_for(lambda f: len(f.charges) == 1, timeout=5))
        t0 = time.monotonic()
        self.assertEqual(srv.stop(), 0)
        self.assertLess(time.monotonic() - t0, 6.0, "the stop does not wait for the provider")
        fake.set_mode("approve")
        fake.release()
        srv.start()
        g = self.wait_status(rid, "confirmed", timeout=8)
        ch = self.assertCharge(rid)
        self.assertPayment(g, "card", "succeeded", PRICE, provider_ref=ch["id"])
        self.assertGreaterEqual(self.assertSameKey(rid, 2), 2)
        self.assertClassCounts(cid, 1, 2)
        self.reconcile()

    def test_kill9_between_charge_and_result(self):
        srv, fake = self.start(STUDIOD_PAYMENT_TIMEOUT_MS=8000, STUDIOD_RESERVATION_WAIT_MS=300)
        fake.set_mode("hold")
        cid = self.card_class(capacity=2)
        m = srv.make_member()
        r = srv.book(m["token"], cid)
        self.assertStatus(r, 202)
        self.assertEqual(r.json["status"], "pending")
        rid = r.json["id"]
        self.assertEqual(r.headers.get("Location"), "/api/v1/reservations/%s" % rid)
        # the provider has taken the money; the server has not heard back
        self.assertTrue(fake.wait_for(lambda f: len(f.charges) == 1, timeout=5))
        self.assertEqual(self.reservation(rid)["status"], "pending")
        self.assertEqual(self.readyz_payment()["in_flight"], 1)
        srv.kill9()
        fake.set_mode("approve")
        fake.release()
        srv.start()
        g = self.wait_status(rid, "confirmed", timeout=8)
        ch = self.assertCharge(rid)
        self.assertPayment(g, "card", "succeeded", PRICE, provider_ref=ch["id"])
        n = self.assertSameKey(rid, 2)
        self.assertGreaterEqual(n, 2, "the server asked again after the restart")
        self.assertEqual(len(fake.charges), 1, "charged exactly once")
        self.assertClassCounts(cid, 1, 2)
        self.expectNotifications(m, [("reservation_confirmed", rid)])
        # and the retry with the member's view agrees
        self.assertEqual(self.reservation(rid, m["token"])["status"], "confirmed")
        self.reconcile()


if __name__ == "__main__":
    unittest.main()
