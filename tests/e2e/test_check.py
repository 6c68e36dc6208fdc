"""`studiod check` passes on a healthy database and names each violation on
a tampered one (so the race and crash tests that rely on it can fail)."""

import sqlite3

from harness import StudioTestCase
from invariants import run_check


class Check(StudioTestCase):
    server_per_test = True

    def setUp(self):
        super().setUp()
        srv = self.srv
        self.klass = srv.make_class("Checked", capacity=3)
        self.members = [srv.make_member() for _ in range(3)]
        self.rids = [self.assertBooked(srv.book(m["token"], self.klass["id"]),
                                       self.klass["id"], m) for m in self.members]
        self.assertStatus(srv.request("POST", "/reservations/%s/cancel" % self.rids[0],
                                      token=self.members[0]["token"]), 200)

    def tamper(self, sql, *args):
        self.srv.stop()
        con = sqlite3.connect(self.srv.db_path)
        try:
            con.execute(sql, args)
            con.commit()
        finally:
            con.close()

    def test_healthy_database_passes(self):
        rc, out = run_check(self.srv)
        self.assertEqual(rc, 0, out)
        self.assertIn("0 violation(s)", out)

    def test_booked_off_by_one_is_reported(self):
        self.tamper("UPDATE classes SET booked = booked + 1 WHERE id = ?", self.klass["id"])
        rc, out = run_check(self.srv)
        self.assertEqual(rc, 1, out)
        self.assertIn("booked equals the places held: class %d: booked 3, places held 2"
                      % self.klass["id"], out)

    def test_confirmed_without_place_is_reported(self):
        self.tamper("DELETE FROM class_holds WHERE reservation_id = ?", self.rids[1])
        rc, out = run_check(self.srv)
        self.assertEqual(rc, 1, out)
        self.assertIn("reservation %d is confirmed without a place" % self.rids[1], out)

    def test_projection_drift_is_reported(self):
        self.tamper("UPDATE mypage_reservations SET status = 'confirmed' "
                    "WHERE reservation_id = ?", self.rids[0])
        rc, out = run_check(self.srv)
        self.assertEqual(rc, 1, out)
        self.assertIn("reservation %d is cancelled, the member's page says confirmed"
                      % self.rids[0], out)

    def test_negative_balance_is_reported(self):
        self.tamper("INSERT INTO member_credits(member_id, amount, reason, created_at) "
                    "VALUES (?, -5, 'tamper', 0)", self.members[2]["id"])
        rc, out = run_check(self.srv)
        self.assertEqual(rc, 1, out)
        self.assertIn("no credit balance below zero: member %d: balance -5"
                      % self.members[2]["id"], out)

    def test_waitlist_drift_is_reported(self):
        self.tamper("UPDATE classes SET waitlist = 2 WHERE id = ?", self.klass["id"])
        rc, out = run_check(self.srv)
        self.assertEqual(rc, 1, out)
        self.assertIn("the waitlist length is the line's: class %d: waitlist 2, in line 0"
                      % self.klass["id"], out)

    def test_seat_mismatch_is_reported(self):
        self.tamper("UPDATE class_holds SET seat = 'X9' WHERE reservation_id = ?",
                    self.rids[1])
        rc, out = run_check(self.srv)
        self.assertEqual(rc, 1, out)
        self.assertIn("reservation %d names seat - but holds X9" % self.rids[1], out)
