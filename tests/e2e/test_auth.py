"""Roles and ownership: who may call what.

A table of (who, method, path, body, expected status[, code]); after every
refused request the data is unchanged.
"""

import unittest

from harness import StudioTestCase

GARBAGE = "not-a-real-token-0123456789abcdef"


class AuthRules(StudioTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.srv
        cls.k = srv.make_class("Pilates", capacity=5)
        cls.k2 = srv.make_class("Barre", capacity=5)
        cls.a = srv.make_member("Alice")
        cls.b = srv.make_member("Bob")
        r = srv.book(cls.a["token"], cls.k["id"])
        assert r.status == 201, r
        cls.ra = r.json["id"]
        r = srv.book(cls.b["token"], cls.k["id"])
        assert r.status == 201, r
        cls.rb = r.json["id"]

    def tok(self, who):
        return {"admin": self.srv.admin_token, "A": self.a["token"], "B": self.b["token"],
                "none": None, "garbage": GARBAGE}[who]

    def snapshot(self):
        s = self.srv
        return {
            "classes": s.all_classes(),
            "roster": s.roster(self.k["id"]),
            "roster2": s.roster(self.k2["id"]),
            "notes_a": s.notifications(self.a),
            "notes_b": s.notifications(self.b),
            "my_a": s.my_reservations(self.a),
            "my_b": s.my_reservations(self.b),
            "member_a": s.admin("GET", "/members/%s" % self.a["id"]).json,
            "member_b": s.admin("GET", "/members/%s" % self.b["id"]).json,
        }

    def run_table(self, table, check_unchanged):
        for row in table:
            who, method, path, body, status = row[:5]
            code = row[5] if len(row) > 5 else None
            with self.subTest(who=who, method=method, path=path):
                before = self.snapshot() if check_unchanged else None
                r = self.srv.request(method, path, body, token=self.tok(who))
                if status >= 400:
                    self.assertProblem(r, status, code, "%s %s %s" % (who, method, path))
                    if check_unchanged:
                        self.assertEqual(self.snapshot(), before,
                                         "refused %s %s by %s changed data" % (method, path, who))
                else:
                    self.assertStatus(r, status, "%s %s %s" % (who, method, path))

    def test_refused(self):
        k, a, b, ra, rb = self.k["id"], self.a["id"], self.b["id"], self.ra, self.rb
        new_class = self.srv.class_body()
        table = [
            # no token / garbage token on protected routes: 401
            ("none", "GET", "/me", None, 401, "unauthorized"),
            ("garbage", "GET", "/me", None, 401, "unauthorized"),
            ("none", "POST", "/members", {"name": "X", "email": "x1@example.test"}, 401, "unauthorized"),
            ("garbage", "POST", "/members", {"name": "X", "email": "x2@example.test"}, 401, "unauthorized"),
            ("none", "GET", "/members/%s" % a, None, 401, "unauthorized"),
            ("garbage", "GET", "/members/%s" % a, None, 401, "unauthorized"),
            ("none", "POST", "/classes", new_class, 401, "unauthorized"),
            ("garbage", "POST", "/classes", new_class, 401, "unauthorized"),
            ("none", "PATCH", "/classes/%s" % k, {"capacity": 9}, 401, "unauthorized"),
            ("none", "DELETE", "/classes/%s" % k, None, 401, "unauthorized"),
            ("garbage", "DELETE", "/classes/%s" % k, None, 401, "unauthorized"),
            ("none", "GET", "/classes/%s/reservations" % k, None, 401, "unauthorized"),
            ("none", "POST", "/reservations", {"class_id": k}, 401, "unauthorized"),
            ("garbage", "POST", "/reservations", {"class_id": k}, 401, "unauthorized"),
            ("none", "GET", "/reservations/%s" % ra, None, 401, "unauthorized"),
            ("garbage", "GET", "/reservations/%s" % ra, None, 401, "unauthorized"),
            ("none", "POST", "/reservations/%s/cancel" % ra, None, 401, "unauthorized"),
            ("garbage", "POST", "/reservations/%s/cancel" % ra, None, 401, "unauthorized"),
            ("none", "GET", "/me/notifications", None, 401, "unauthorized"),
            ("garbage", "GET", "/me/notifications", None, 401, "unauthorized"),
            ("none", "GET", "/me/reservations", None, 401, "unauthorized"),
            ("garbage", "GET", "/me/reservations", None, 401, "unauthorized"),
            # a member on admin routes: 403
            ("A", "POST", "/members", {"name": "X", "email": "x3@example.test"}, 403, "forbidden"),
            ("A", "POST", "/classes", new_class, 403, "forbidden"),
            ("A", "PATCH", "/classes/%s" % k, {"capacity": 9}, 403, "forbidden"),
            ("A", "DELETE", "/classes/%s" % k, None, 403, "forbidden"),
            ("A", "GET", "/classes/%s/reservations" % k, None, 403, "forbidden"),
            # another member's things: 403
            ("B", "GET", "/members/%s" % a, None, 403, "forbidden"),
            ("A", "GET", "/members/%s" % b, None, 403, "forbidden"),
            ("B", "GET", "/reservations/%s" % ra, None, 403, "forbidden"),
            ("A", "GET", "/reservations/%s" % rb, None, 403, "forbidden"),
            ("B", "POST", "/reservations/%s/cancel" % ra, None, 403, "forbidden"),
            ("A", "POST", "/reservations/%s/cancel" % rb, None, 403, "forbidden"),
            # the admin on the member's page: 403 (its inbox is the studio's)
            ("admin", "GET", "/me/reservations", None, 403, "forbidden"),
            # members approve or decline nothing
            ("A", "POST", "/reservations/%s/approve" % ra, None, 403, "forbidden"),
            ("A", "POST", "/reservations/%s/decline" % ra, None, 403, "forbidden"),
            # unknown things, as admin: 404
            ("admin", "GET", "/members/99999999", None, 404),
            ("admin", "GET", "/reservations/99999999", None, 404),
            ("admin", "POST", "/reservations/99999999/cancel", None, 404),
            ("admin", "GET", "/classes/99999999/reservations", None, 404),
            ("admin", "PATCH", "/classes/99999999", {"capacity": 3}, 404),
            ("admin", "DELETE", "/classes/99999999", None, 404),
            ("none", "GET", "/classes/99999999", None, 404, "not_found"),
        ]
        self.run_table(table, check_unchanged=True)

    def test_allowed(self):
        k, a, ra = self.k["id"], self.a["id"], self.ra
        table = [
            # the studio's own inbox (approval requests)
            ("admin", "GET", "/me/notifications", None, 200),
            ("none", "GET", "/classes", None, 200),
            ("A", "GET", "/classes", None, 200),
            ("admin", "GET", "/classes", None, 200),
            ("none", "GET", "/classes/%s" % k, None, 200),
            ("B", "GET", "/classes/%s" % k, None, 200),
            ("admin", "GET", "/members/%s" % a, None, 200),
            ("A", "GET", "/members/%s" % a, None, 200),
            ("A", "GET", "/reservations/%s" % ra, None, 200),
            ("admin", "GET", "/reservations/%s" % ra, None, 200),
            ("admin", "GET", "/classes/%s/reservations" % k, None, 200),
            ("A", "GET", "/me/notifications", None, 200),
            ("A", "GET", "/me/reservations", None, 200),
            ("A", "GET", "/me", None, 200),
            ("admin", "GET", "/me", None, 200),
            ("none", "GET", "/healthz", None, 200),
            ("none", "GET", "/readyz", None, 200),
        ]
        self.run_table(table, check_unchanged=False)

    def test_me(self):
        r = self.srv.admin("GET", "/me")
        self.assertStatus(r, 200)
        self.assertEqual(r.json.get("role"), "admin")
        r = self.srv.request("GET", "/me", token=self.a["token"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json.get("role"), "member")
        m = r.json.get("member")
        self.assertIsInstance(m, dict)
        self.assertEqual(m["id"], self.a["id"])
        self.assertEqual(m["name"], "Alice")
        self.assertEqual(m["email"], self.a["email"])
        self.assertIn("credits", m)
        self.assertNotIn("token", m, "the token is shown only once")

    def test_member_json(self):
        r = self.srv.request("GET", "/members/%s" % self.a["id"], token=self.a["token"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["id"], self.a["id"])
        self.assertEqual(r.json["email"], self.a["email"])
        self.assertNotIn("token", r.json, "the token is shown only once")
        created = self.a["json"]
        for k in ("id", "name", "email", "credits", "token", "created_at"):
            self.assertIn(k, created)
        self.assertEqual(created["credits"], 0)
        self.assertIsInstance(created["token"], str)
        self.assertGreater(len(created["token"]), 15)

    def test_duplicate_email(self):
        before = self.snapshot()
        r = self.srv.admin("POST", "/members", {"name": "Alice again", "email": self.a["email"]})
        self.assertProblem(r, 409, "email_taken")
        self.assertEqual(self.snapshot(), before)

    def test_cancel_of_other_member_changes_nothing(self):
        k = self.k["id"]
        before_class = self.srv.get_class(k)
        r = self.srv.request("POST", "/reservations/%s/cancel" % self.ra, token=self.b["token"])
        self.assertProblem(r, 403, "forbidden")
        g = self.srv.admin("GET", "/reservations/%s" % self.ra)
        self.assertEqual(g.json["status"], "confirmed")
        self.assertEqual(self.srv.get_class(k)["booked"], before_class["booked"])
        self.expectNotifications(self.a, [("reservation_confirmed", self.ra)])

    def test_member_cannot_book_for_someone_else(self):
        k2 = self.k2["id"]
        before = self.snapshot()
        r = self.srv.book(self.a["token"], k2, member_id=self.b["id"])
        self.assertIn(r.status, (403, 422), "member booking with member_id: %r" % r)
        self.assertEqual(r.content_type, "application/problem+json")
        self.assertEqual(self.snapshot(), before)

    def test_admin_books_for_member(self):
        k2 = self.k2["id"]
        c = self.srv.make_member("Carol")
        r = self.srv.admin("POST", "/reservations", {"class_id": k2, "member_id": c["id"]})
        rid = self.assertBooked(r, k2, c)
        g = self.srv.request("GET", "/reservations/%s" % rid, token=c["token"])
        self.assertStatus(g, 200, "owner reads the reservation the admin made")
        self.expectNotifications(c, [("reservation_confirmed", rid)])
        # the admin must say for whom
        before = self.snapshot()
        r = self.srv.admin("POST", "/reservations", {"class_id": k2})
        self.assertFieldErrors(r, "member_id")
        r = self.srv.admin("POST", "/reservations", {"class_id": k2, "member_id": 99999999})
        self.assertFieldErrors(r, "member_id")
        self.assertEqual(self.snapshot(), before)

    def test_bad_authorization_headers(self):
        tok = self.a["token"]
        for value in ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer ", "Token " + tok,
                      tok, "Bearer " + tok + "x", "Bearer " + tok[:-1],
                      "Bearer " + GARBAGE, "Bearer " + "a" * 10000]:
            with self.subTest(authorization=value[:40]):
                r = self.srv.request("GET", "/me", headers={"Authorization": value})
                self.assertProblem(r, 401, "unauthorized")


if __name__ == "__main__":
    unittest.main()
