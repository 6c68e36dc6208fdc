"""Malformed and hostile requests.

Each must get a clear 4xx (a problem body where the contract says so), leave
the database exactly as it was, and leave the server healthy.
"""

import datetime
import json
import unittest

from harness import StudioTestCase, iso, now_utc, raw_send

BAD_JSON = (400,)
BAD_OR_INVALID = (400, 422)


class Case:
    def __init__(self, name, method, path, who="admin", body=None, raw=None, headers=None,
                 status=422, code=None, fields=(), problem=True, prefix=True, allow=None):
        self.name, self.method, self.path, self.who = name, method, path, who
        self.body, self.raw, self.headers = body, raw, headers
        self.status = status if isinstance(status, tuple) else (status,)
        self.code, self.fields, self.problem = code, fields, problem
        self.prefix, self.allow = prefix, allow


def nested(depth, leaf="x"):
    v = leaf
    for _ in range(depth):
        v = {"a": v}
    return v


class HostileRequests(StudioTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.srv
        cls.k = srv.make_class("Target", capacity=3)
        cls.free = srv.make_class("Free", capacity=10)
        cls.m = srv.make_member("Mallory")
        cls.n = srv.make_member("Nina")
        for who in (cls.m, cls.n):
            r = srv.book(who["token"], cls.k["id"])
            assert r.status == 201, r

    def tok(self, who):
        return {"admin": self.srv.admin_token, "member": self.m["token"], "none": None}[who]

    def snapshot(self):
        """The whole database plus the public class list."""
        con = self.srv.db()
        try:
            tables = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            dump = {t: con.execute('SELECT * FROM "%s" ORDER BY rowid' % t).fetchall()
                    for t in tables}
        finally:
            con.close()
        return {"db": dump, "classes": self.srv.all_classes()}

    def assertSameData(self, before, after, what):
        if before == after:
            return
        diffs = []
        for t in sorted(set(before["db"]) | set(after["db"])):
            b, a = before["db"].get(t), after["db"].get(t)
            if b != a:
                added = [r for r in (a or []) if r not in (b or [])]
                gone = [r for r in (b or []) if r not in (a or [])]
                diffs.append("table %s: +%r -%r" % (t, added[:3], gone[:3]))
        if before["classes"] != after["classes"]:
            diffs.append("GET /classes changed")
        self.fail("%s changed data: %s" % (what, "; ".join(diffs)))

    def check_case(self, c):
        before = self.snapshot()
        r = self.srv.request(c.method, c.path, body=c.body, raw=c.raw,
                             token=self.tok(c.who), headers=c.headers, prefix=c.prefix)
        self.assertIn(r.status, c.status, "%s: %s %s -> %r" % (c.name, c.method, c.path[:80], r))
        if c.problem:
            self.assertEqual(r.content_type, "application/problem+json",
                             "%s: problem content type: %r" % (c.name, r))
            self.assertIsInstance(r.json, dict, "%s: problem body: %r" % (c.name, r))
            for k in ("type", "title", "status", "code", "detail"):
                self.assertIn(k, r.json, "%s: problem member %s: %r" % (c.name, k, r))
            self.assertEqual(r.json["status"], r.status)
            if c.code is not None:
                self.assertEqual(r.json["code"], c.code, "%s: code: %r" % (c.name, r))
            elif r.status == 400:
                self.assertEqual(r.json["code"], "invalid_json", "%s: %r" % (c.name, r))
            elif r.status == 422:
                self.assertEqual(r.json["code"], "validation_failed", "%s: %r" % (c.name, r))
            if r.status == 422:
                errs = r.json.get("errors")
                self.assertIsInstance(errs, list, "%s: errors list: %r" % (c.name, r))
                self.assertTrue(errs, "%s: errors not empty" % c.name)
                for e in errs:
                    self.assertIn("field", e)
                    self.assertIn("message", e)
                named = {e.get("field") for e in errs}
                for f in c.fields:
                    self.assertIn(f, named, "%s: errors name %r: %r" % (c.name, f, r))
        if c.allow is not None:
            allow = r.headers.get("Allow")
            self.assertIsNotNone(allow, "%s: 405 without Allow: %r" % (c.name, r))
            methods = {m.strip().upper() for m in allow.split(",")}
            for m in c.allow:
                self.assertIn(m, methods, "%s: Allow %r" % (c.name, allow))
        self.assertSameData(before, self.snapshot(), c.name)
        h = self.srv.request("GET", "/healthz")
        self.assertEqual(h.status, 200, "%s: server unhealthy afterwards" % c.name)

    def run_cases(self, cases):
        for c in cases:
            with self.subTest(case=c.name):
                self.check_case(c)
        self.assertIsNone(self.srv.proc.poll(), "server still running")

    def cls_body(self, **over):
        b = self.srv.class_body(title="Hostile")
        b.update(over)
        return b

    def raw_class(self, replace_capacity):
        b = self.cls_body()
        text = json.dumps(b)
        return text.replace('"capacity": 10', '"capacity": ' + replace_capacity).encode()

    # -- POST /classes ----------------------------------------------------

    def test_class_bodies(self):
        b = self.cls_body()
        start = now_utc() + datetime.timedelta(days=3)
        dup = ('{"title":"a","title":"b","starts_at":"%s","ends_at":"%s","capacity":3,"capacity":4}'
               % (iso(start), iso(start + datetime.timedelta(hours=1))))
        P = "/classes"
        cases = [
            Case("bad json", "POST", P, raw=b"{bad json}", status=BAD_JSON, code="invalid_json"),
            Case("truncated json", "POST", P, raw=json.dumps(b)[:-7].encode(), status=BAD_JSON,
                 code="invalid_json"),
            Case("empty body", "POST", P, raw=b"", status=BAD_OR_INVALID),
            Case("trailing garbage", "POST", P, raw=json.dumps(b).encode() + b" xyz",
                 status=BAD_JSON, code="invalid_json"),
            Case("two objects", "POST", P, raw=(json.dumps(b) * 2).encode(), status=BAD_JSON),
            Case("array", "POST", P, raw=json.dumps([b]).encode(), status=BAD_OR_INVALID),
            Case("string", "POST", P, raw=b'"class"', status=BAD_OR_INVALID),
            Case("null", "POST", P, raw=b"null", status=BAD_OR_INVALID),
            Case("number", "POST", P, raw=b"42", status=BAD_OR_INVALID),
            Case("empty object", "POST", P, body={},
                 fields=("title", "starts_at", "ends_at", "capacity")),
            Case("capacity string", "POST", P, body=self.cls_body(capacity="10"), fields=("capacity",)),
            Case("capacity float", "POST", P, body=self.cls_body(capacity=1.5), fields=("capacity",)),
            Case("capacity bool", "POST", P, body=self.cls_body(capacity=True), fields=("capacity",)),
            Case("capacity null", "POST", P, body=self.cls_body(capacity=None), fields=("capacity",)),
            Case("capacity zero", "POST", P, body=self.cls_body(capacity=0), fields=("capacity",)),
            Case("capacity negative", "POST", P, body=self.cls_body(capacity=-1), fields=("capacity",)),
            Case("capacity 1e400", "POST", P, raw=self.raw_class("1e400"), status=BAD_OR_INVALID),
            Case("capacity 2^64+", "POST", P, raw=self.raw_class("99999999999999999999"),
                 status=BAD_OR_INVALID),
            Case("capacity -2^63-1", "POST", P, raw=self.raw_class("-9223372036854775809"),
                 status=BAD_OR_INVALID),
            Case("capacity array", "POST", P, body=self.cls_body(capacity=[1]), fields=("capacity",)),
            Case("title number", "POST", P, body=self.cls_body(title=5), fields=("title",)),
            Case("title empty", "POST", P, body=self.cls_body(title=""), fields=("title",)),
            Case("title 10k", "POST", P, body=self.cls_body(title="y" * 10000), fields=("title",)),
            Case("title object", "POST", P, body=self.cls_body(title={"a": 1}), fields=("title",)),
            Case("title nested depth 40", "POST", P, body=self.cls_body(title=nested(40)),
                 fields=("title",)),
            Case("title control char", "POST", P, body=self.cls_body(title="Yoga\u0007\u001b[31m"),
                 status=BAD_OR_INVALID),
            Case("title NUL escape", "POST", P, body=self.cls_body(title="Yo\u0000ga"),
                 status=BAD_OR_INVALID),
            Case("raw control byte", "POST", P,
                 raw=json.dumps(self.cls_body(title="Yoga@")).replace("@", "\x01").encode(),
                 status=BAD_JSON),
            Case("invalid utf-8", "POST", P,
                 raw=json.dumps(self.cls_body(title="Yoga@")).encode().replace(b"@", b"\xff\xfe"),
                 status=BAD_OR_INVALID),
            Case("overlong utf-8", "POST", P,
                 raw=json.dumps(self.cls_body(title="Yoga@")).encode().replace(b"@", b"\xc0\xaf"),
                 status=BAD_OR_INVALID),
            Case("lone surrogate", "POST", P,
                 raw=json.dumps(self.cls_body(title="Yoga@")).replace("@", "\\ud800").encode(),
                 status=BAD_OR_INVALID),
            Case("instructor 10k", "POST", P, body=self.cls_body(instructor="i" * 10000),
                 fields=("instructor",)),
            Case("deep arrays", "POST", P, raw=b"[" * 100000 + b"]" * 100000, status=BAD_OR_INVALID),
            Case("deep objects", "POST", P, raw=b'{"a":' * 50000 + b"1" + b"}" * 50000,
                 status=BAD_OR_INVALID),
            Case("unclosed deep", "POST", P, raw=b"[" * 200000, status=BAD_JSON),
            Case("duplicate keys", "POST", P, raw=dup.encode(), status=BAD_OR_INVALID),
            Case("unknown field", "POST", P, body=self.cls_body(color="red"), fields=("color",)),
            Case("unknown field booked", "POST", P, body=self.cls_body(booked=3), fields=("booked",)),
            Case("starts_at garbage", "POST", P, body=self.cls_body(starts_at="tomorrow"),
                 fields=("starts_at",)),
            Case("starts_at impossible", "POST", P,
                 body=self.cls_body(starts_at="2031-13-45T99:61:00Z"), fields=("starts_at",)),
            Case("starts_at number", "POST", P, body=self.cls_body(starts_at=1893456000),
                 fields=("starts_at",)),
            Case("starts_at no offset", "POST", P,
                 body=self.cls_body(starts_at=b["starts_at"].rstrip("Z")), fields=("starts_at",)),
            Case("ends_at missing", "POST", P,
                 body={k: v for k, v in b.items() if k != "ends_at"}, fields=("ends_at",)),
            Case("ends_at == starts_at", "POST", P, body=self.cls_body(ends_at=b["starts_at"]),
                 fields=("ends_at",)),
            Case("ends_at before starts_at", "POST", P,
                 body=self.cls_body(starts_at=b["ends_at"], ends_at=b["starts_at"]),
                 fields=("ends_at",)),
            Case("price negative", "POST", P, body=self.cls_body(price=-1), fields=("price",)),
            Case("price string", "POST", P, body=self.cls_body(price="15.00"), fields=("price",)),
            Case("credits negative", "POST", P, body=self.cls_body(credits=-2), fields=("credits",)),
            Case("several bad fields", "POST", P,
                 body={"title": "", "starts_at": "x", "ends_at": "y", "capacity": 0},
                 fields=("title", "starts_at", "ends_at", "capacity")),
            # content types
            Case("text/plain", "POST", P, body=b, headers={"Content-Type": "text/plain"},
                 status=415),
            Case("form", "POST", P, body=b,
                 headers={"Content-Type": "application/x-www-form-urlencoded"}, status=415),
            Case("xml", "POST", P, body=b, headers={"Content-Type": "application/xml"},
                 status=415),
            Case("jsonx", "POST", P, body=b, headers={"Content-Type": "application/jsonx"},
                 status=415),
            Case("no content type", "POST", P, body=b, headers={"Content-Type": None},
                 status=(400, 415)),
            # auth before anything
            Case("member creates class", "POST", P, who="member", body=b, status=403,
                 code="forbidden"),
            Case("anonymous bad json", "POST", P, who="none", raw=b"{", status=401,
                 code="unauthorized"),
        ]
        self.run_cases(cases)

    # -- PATCH /classes/{id} ----------------------------------------------

    def test_patch_bodies(self):
        k = self.k
        P = "/classes/%s" % k["id"]
        cases = [
            Case("capacity below booked", "PATCH", P, body={"capacity": 1}, status=409,
                 code="capacity_below_booked"),
            Case("capacity zero", "PATCH", P, body={"capacity": 0}, fields=("capacity",)),
            Case("capacity string", "PATCH", P, body={"capacity": "5"}, fields=("capacity",)),
            Case("unknown field", "PATCH", P, body={"colour": "blue"}, fields=("colour",)),
            Case("booked is read-only", "PATCH", P, body={"booked": 0}, fields=("booked",)),
            Case("ends before start", "PATCH", P, body={"ends_at": k["starts_at"]},
                 fields=("ends_at",)),
            Case("starts after end", "PATCH", P,
                 body={"starts_at": iso(now_utc() + datetime.timedelta(days=30))},
                 status=(422,)),
            Case("title empty", "PATCH", P, body={"title": ""}, fields=("title",)),
            Case("title 10k", "PATCH", P, body={"title": "t" * 10000}, fields=("title",)),
            Case("bad json", "PATCH", P, raw=b'{"title":', status=BAD_JSON, code="invalid_json"),
            Case("array", "PATCH", P, raw=b'[{"title":"x"}]', status=BAD_OR_INVALID),
            Case("text/plain", "PATCH", P, body={"title": "x"}, headers={"Content-Type": "text/plain"},
                 status=415),
            Case("member patches", "PATCH", P, who="member", body={"title": "x"}, status=403,
                 code="forbidden"),
            Case("patch abc", "PATCH", "/classes/abc", body={"title": "x"}, status=404),
            Case("patch 0", "PATCH", "/classes/0", body={"title": "x"}, status=404),
        ]
        self.run_cases(cases)

    # -- POST /members ----------------------------------------------------

    def test_member_bodies(self):
        P = "/members"
        cases = [
            Case("empty object", "POST", P, body={}, fields=("name", "email")),
            Case("bad email", "POST", P, body={"name": "X", "email": "not-an-email"},
                 fields=("email",)),
            Case("empty name", "POST", P, body={"name": "", "email": "e1@example.test"},
                 fields=("name",)),
            Case("name number", "POST", P, body={"name": 7, "email": "e2@example.test"},
                 fields=("name",)),
            Case("name 10k", "POST", P, body={"name": "n" * 10000, "email": "e3@example.test"},
                 fields=("name",)),
            Case("email 10k", "POST", P, body={"name": "X", "email": "e" * 10000 + "@example.test"},
                 fields=("email",)),
            Case("unknown field", "POST", P,
                 body={"name": "X", "email": "e4@example.test", "role": "admin"}, fields=("role",)),
            Case("duplicate email", "POST", P, body={"name": "X", "email": self.m["email"]},
                 status=409, code="email_taken"),
            Case("bad json", "POST", P, raw=b'{"name":"X",}', status=BAD_JSON, code="invalid_json"),
            Case("member creates member", "POST", P, who="member",
                 body={"name": "X", "email": "e5@example.test"}, status=403, code="forbidden"),
        ]
        self.run_cases(cases)

    # -- POST /reservations -----------------------------------------------

    def test_reservation_bodies(self):
        free = self.free["id"]
        P = "/reservations"
        ok = {"class_id": free}
        cases = [
            Case("empty object", "POST", P, who="member", body={}, fields=("class_id",)),
            Case("class_id string", "POST", P, who="member", body={"class_id": str(free)},
                 fields=("class_id",)),
            Case("class_id float", "POST", P, who="member", body={"class_id": free + 0.5},
                 fields=("class_id",)),
            Case("class_id null", "POST", P, who="member", body={"class_id": None},
                 fields=("class_id",)),
            Case("class_id zero", "POST", P, who="member", body={"class_id": 0},
                 fields=("class_id",)),
            Case("class_id negative", "POST", P, who="member", body={"class_id": -1},
                 fields=("class_id",)),
            Case("class_id unknown", "POST", P, who="member", body={"class_id": 99999999},
                 fields=("class_id",)),
            Case("class_id int64 max", "POST", P, who="member",
                 body={"class_id": 9223372036854775807}, fields=("class_id",)),
            Case("class_id 1e400", "POST", P, who="member", raw=b'{"class_id": 1e400}',
                 status=BAD_OR_INVALID),
            Case("class_id 2^64+", "POST", P, who="member",
                 raw=b'{"class_id": 99999999999999999999}', status=BAD_OR_INVALID),
            Case("unknown field", "POST", P, who="member", body={"class_id": free, "vip": True},
                 fields=("vip",)),
            Case("array", "POST", P, who="member", raw=json.dumps([ok]).encode(),
                 status=BAD_OR_INVALID),
            Case("truncated", "POST", P, who="member", raw=b'{"class_id": ', status=BAD_JSON,
                 code="invalid_json"),
            Case("text/plain", "POST", P, who="member", body=ok,
                 headers={"Content-Type": "text/plain"}, status=415),
            Case("idempotency key empty", "POST", P, who="member", body=ok,
                 headers={"Idempotency-Key": ""}, status=422),
            Case("idempotency key 256", "POST", P, who="member", body=ok,
                 headers={"Idempotency-Key": "k" * 256}, status=422),
            Case("idempotency key 10k", "POST", P, who="member", body=ok,
                 headers={"Idempotency-Key": "k" * 10000}, status=422),
            Case("idempotency key control", "POST", P, who="member", body=ok,
                 headers={"Idempotency-Key": "abc\x01def"}, status=422),
            Case("idempotency key DEL", "POST", P, who="member", body=ok,
                 headers={"Idempotency-Key": "abc\x7f"}, status=422),
            Case("idempotency key non-ascii", "POST", P, who="member", body=ok,
                 headers={"Idempotency-Key": "ключ".encode("utf-8")}, status=422),
            Case("idempotency key tab", "POST", P, who="member", body=ok,
                 headers={"Idempotency-Key": "a\tb"}, status=422),
            Case("admin without member_id", "POST", P, body=ok, fields=("member_id",)),
            Case("admin unknown member", "POST", P, body={"class_id": free, "member_id": 99999999},
                 fields=("member_id",)),
            Case("admin member_id string", "POST", P,
                 body={"class_id": free, "member_id": str(self.n["id"])}, fields=("member_id",)),
            Case("anonymous", "POST", P, who="none", body=ok, status=401, code="unauthorized"),
            Case("cancel abc", "POST", "/reservations/abc/cancel", who="member", status=404),
            Case("cancel huge", "POST", "/reservations/99999999999999999999/cancel", who="member",
                 status=404),
            Case("cancel unknown", "POST", "/reservations/99999999/cancel", who="admin", status=404),
        ]
        self.run_cases(cases)

    # -- paths, queries, methods, headers ---------------------------------

    def test_paths_and_queries(self):
        k = self.k["id"]
        long_q = "x" * 10000
        cases = [
            Case("class abc", "GET", "/classes/abc", who="none", status=404),
            Case("class 0", "GET", "/classes/0", who="none", status=404),
            Case("class -1", "GET", "/classes/-1", who="none", status=404),
            Case("class 1e3", "GET", "/classes/1e3", who="none", status=404),
            Case("class 2^64+", "GET", "/classes/99999999999999999999", who="none", status=404),
            Case("class int64 max", "GET", "/classes/9223372036854775807", who="none", status=404),
            Case("class %00", "GET", "/classes/%00", who="none", status=(400, 404)),
            Case("class 1%00", "GET", "/classes/%s%%00" % k, who="none", status=(400, 404)),
            Case("class %ff", "GET", "/classes/%ff%fe", who="none", status=(400, 404)),
            Case("class ../", "GET", "/classes/..%2f..%2fhealthz", who="none", status=(400, 404)),
            Case("class spaces", "GET", "/classes/%201", who="none", status=(400, 404)),
            Case("class roster abc", "GET", "/classes/abc/reservations", status=404),
            Case("delete class abc", "DELETE", "/classes/abc", status=404),
            Case("delete class 0", "DELETE", "/classes/0", status=404),
            Case("delete class huge", "DELETE", "/classes/99999999999999999999", status=404),
            Case("reservation abc", "GET", "/reservations/abc", status=404),
            Case("reservation 0", "GET", "/reservations/0", status=404),
            Case("member abc", "GET", "/members/abc", status=404),
            Case("member huge", "GET", "/members/99999999999999999999", status=404),
            Case("unknown route", "GET", "/nothing-here", who="none", status=404, code="not_found"),
            Case("unknown nested", "GET", "/classes/%s/nothing" % k, who="none", status=404,
                 code="not_found"),
            Case("outside api", "GET", "/nothing", who="none", status=404, prefix=False),
            Case("api v2", "GET", "/api/v2/classes", who="none", status=404, prefix=False),
            Case("limit 0", "GET", "/classes?limit=0", who="none", status=BAD_OR_INVALID),
            Case("limit 501", "GET", "/classes?limit=501", who="none", status=BAD_OR_INVALID),
            Case("limit -1", "GET", "/classes?limit=-1", who="none", status=BAD_OR_INVALID),
            Case("limit abc", "GET", "/classes?limit=abc", who="none", status=BAD_OR_INVALID),
            Case("limit huge", "GET", "/classes?limit=99999999999999999999", who="none",
                 status=BAD_OR_INVALID),
            Case("after abc", "GET", "/classes?after=abc", who="none", status=BAD_OR_INVALID),
            Case("from garbage", "GET", "/classes?from=yesterday", who="none",
                 status=BAD_OR_INVALID),
            Case("to garbage", "GET", "/classes?to=2031-02-30T25:00:00Z", who="none",
                 status=BAD_OR_INVALID),
            Case("from 10k", "GET", "/classes?from=" + long_q, who="none",
                 status=(400, 414, 422, 431), problem=False),
            Case("notifications limit 0", "GET", "/me/notifications?limit=0", who="member",
                 status=BAD_OR_INVALID),
            Case("my reservations limit abc", "GET", "/me/reservations?limit=abc", who="member",
                 status=BAD_OR_INVALID),
            # wrong methods: 405 with Allow
            Case("PUT /classes", "PUT", "/classes", who="none", body={}, status=405,
                 allow=("GET", "POST")),
            Case("DELETE /classes", "DELETE", "/classes", status=405, allow=("GET", "POST")),
            Case("POST /classes/{id}", "POST", "/classes/%s" % k, body={}, status=405,
                 allow=("GET", "PATCH", "DELETE")),
            Case("PUT /classes/{id}", "PUT", "/classes/%s" % k, body={}, status=405,
                 allow=("GET", "PATCH", "DELETE")),
            Case("PUT /reservations", "PUT", "/reservations", who="member", body={}, status=405,
                 allow=("POST",)),
            Case("GET cancel", "GET", "/reservations/1/cancel", who="member", status=405,
                 allow=("POST",)),
            Case("DELETE /members/{id}", "DELETE", "/members/%s" % self.m["id"], status=405,
                 allow=("GET",)),
            Case("POST /healthz", "POST", "/healthz", who="none", body={}, status=405,
                 problem=False),
            # bad Authorization headers
            Case("auth basic", "GET", "/me", who="none",
                 headers={"Authorization": "Basic YWRtaW46YWRtaW4="}, status=401, code="unauthorized"),
            Case("auth bearer empty", "GET", "/me", who="none", headers={"Authorization": "Bearer "},
                 status=401, code="unauthorized"),
            Case("auth bearer 10k", "GET", "/me", who="none",
                 headers={"Authorization": "Bearer " + "z" * 10000}, status=401, code="unauthorized"),
            Case("auth bearer binary", "GET", "/me", who="none",
                 headers={"Authorization": b"Bearer \xff\xfe\x01\x02"}, status=401,
                 code="unauthorized"),
            Case("auth bad token on admin POST", "POST", "/classes", who="none",
                 body=self.cls_body(), headers={"Authorization": "Bearer x"}, status=401,
                 code="unauthorized"),
        ]
        self.run_cases(cases)

    # -- oversized bodies and raw garbage on a socket ---------------------

    def head(self, method, path, extra=b"", token=None):
        token = token or self.srv.admin_token
        return (b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n%s\r\n"
                % (method.encode(), path.encode(), token.encode(), extra))

    def test_oversized_bodies(self):
        big = b'{"title":"' + b"a" * (1024 * 1024 + 100) + b'","capacity":3}'
        cases = [
            ("content-length over 1 MiB", self.head(
                "POST", "/api/v1/classes",
                b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(big)) + big),
            ("member booking 2 MiB", self.head(
                "POST", "/api/v1/reservations",
                b"Content-Type: application/json\r\nContent-Length: %d\r\n" % (2 * len(big)),
                token=self.m["token"]) + big + big),
            ("chunked over 1 MiB", self.head(
                "POST", "/api/v1/classes",
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n") +
             b"".join(b"%x\r\n%s\r\n" % (65536, b"b" * 65536) for _ in range(20)) + b"0\r\n\r\n"),
        ]
        for name, data in cases:
            with self.subTest(case=name):
                before = self.snapshot()
                status, reply = raw_send(self.srv, data, timeout=10)
                self.assertEqual(status, 413, "%s: reply %r" % (name, reply[:300]))
                self.assertSameData(before, self.snapshot(), name)
                self.assertEqual(self.srv.request("GET", "/healthz").status, 200)
        # a body of exactly the limit is not refused for its size (it is bad JSON: 400)
        body = b"{" + b" " * (1024 * 1024 - 2) + b"}"
        self.assertEqual(len(body), 1024 * 1024)
        before = self.snapshot()
        r = self.srv.admin("POST", "/classes", raw=body)
        self.assertNotEqual(r.status, 413, "a body of exactly 1 MiB: %r" % r)
        self.assertIn(r.status, (400, 422))
        self.assertSameData(before, self.snapshot(), "1 MiB body")

    def test_raw_garbage(self):
        tok = self.srv.admin_token.encode()
        # strict: a 4xx (or 501 for an unknown method) or a closed connection;
        # lenient (valid but odd requests): anything below 500 or a closed connection.
        cases = [
            ("binary noise", True, b"\x00\x01\x02\x03\xff\xfe garbage \r\n\r\n"),
            ("no version", True, b"GET /api/v1/classes\r\n\r\n"),
            ("bad version", False, b"GET /api/v1/classes HTTP/9.9\r\n\r\n"),
            ("unknown method", True, b"BREW /api/v1/classes HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("header without colon", True,
             b"GET /api/v1/classes HTTP/1.1\r\nHost x\r\nnonsense\r\n\r\n"),
            ("NUL in path", True, b"GET /api/v1/classes/1\x00 HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("high bytes in path", True,
             b"GET /api/v1/classes/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("space in path", True, b"GET /api/v1/classes/1 2 HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("huge header", False, b"GET /api/v1/classes HTTP/1.1\r\nHost: x\r\nX-Big: " +
             b"h" * 200000 + b"\r\n\r\n"),
            ("many headers", False, b"GET /api/v1/classes HTTP/1.1\r\nHost: x\r\n" +
             b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\n"),
            ("huge request line", False,
             b"GET /api/v1/classes?" + b"q" * 200000 + b" HTTP/1.1\r\n\r\n"),
            ("negative content-length", True, b"POST /api/v1/classes HTTP/1.1\r\nHost: x\r\n"
             b"Authorization: Bearer " + tok + b"\r\nContent-Type: application/json\r\n"
             b"Content-Length: -5\r\n\r\n{}"),
            ("garbage content-length", True, b"POST /api/v1/classes HTTP/1.1\r\nHost: x\r\n"
             b"Authorization: Bearer " + tok + b"\r\nContent-Type: application/json\r\n"
             b"Content-Length: abc\r\n\r\n{}"),
            ("short body then close", True, b"POST /api/v1/classes HTTP/1.1\r\nHost: x\r\n"
             b"Authorization: Bearer " + tok + b"\r\nContent-Type: application/json\r\n"
             b"Content-Length: 500\r\n\r\n{\"title\":"),
            ("bad chunk size", True, b"POST /api/v1/classes HTTP/1.1\r\nHost: x\r\n"
             b"Authorization: Bearer " + tok + b"\r\nContent-Type: application/json\r\n"
             b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
            ("only newlines", True, b"\r\n" * 1000),
        ]
        for name, strict, data in cases:
            with self.subTest(case=name):
                before = self.snapshot()
                status, reply = raw_send(self.srv, data, timeout=5)
                if reply:
                    self.assertIsNotNone(status, "%s: not an HTTP reply: %r" % (name, reply[:200]))
                    if strict:
                        ok = 400 <= status < 500 or status == 501
                    else:
                        ok = status < 500
                    self.assertTrue(ok, "%s: status %s: %r" % (name, status, reply[:300]))
                self.assertSameData(before, self.snapshot(), name)
                h = self.srv.request("GET", "/healthz")
                self.assertEqual(h.status, 200, "%s: unhealthy afterwards" % name)
        self.assertIsNone(self.srv.proc.poll(), "server still running")

    def test_zz_still_works(self):
        """After everything above, the server still books correctly."""
        srv = self.srv
        c = srv.make_member("After")
        r = srv.book(c["token"], self.free["id"])
        self.assertBooked(r, self.free["id"], c)
        k = srv.get_class(self.k["id"])
        self.assertEqual(k["booked"], 2)
        self.assertEqual(k["capacity"], 3)
        self.assertEqual(srv.request("GET", "/readyz").status, 200)


if __name__ == "__main__":
    unittest.main()
