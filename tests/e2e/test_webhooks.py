"""Webhooks: signed deliveries (HMAC-SHA256 of the body), retries with
backoff until the receiver accepts (each delivery id accepted exactly once),
a failed mark after webhook_max_attempts, jobs that survive a restart, and a
receiver that never answers while bookings go on at full speed.

Every receiver is a real HTTP server on loopback, started and stopped here.
"""

import hashlib
import hmac
import json
import socket
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Server, StudioTestCase, eventually

SECRET = "s3cret-for-the-test-hook"


class Receiver:
    """Accepts deliveries after failing the first `fail_first` tries of each."""

    def __init__(self, fail_first=0, secret=SECRET):
        self.fail_first, self.secret = fail_first, secret
        self.lock = threading.Lock()
        self.tries = {}           # delivery id -> tries seen
        self.accepted = {}        # delivery id -> (event type, body) accepted
        self.accept_count = {}    # delivery id -> times answered 2xx
        self.bad_signatures = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                outer.handle(self, raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d/hooks/studio?x=1" % self.httpd.server_address[1]

    def handle(self, h, raw):
        want = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        did = h.headers["X-Studiod-Delivery"]
        with self.lock:
            if not hmac.compare_digest(want, h.headers.get("X-Studiod-Signature", "")):
                self.bad_signatures += 1
                code = 401
            else:
                n = self.tries[did] = self.tries.get(did, 0) + 1
                code = 500 if n <= self.fail_first else 200
                if code == 200:
                    body = json.loads(raw)
                    assert body["type"] == h.headers["X-Studiod-Event"]
                    self.accepted.setdefault(did, (body["type"], body))
                    self.accept_count[did] = self.accept_count.get(did, 0) + 1
        h.send_response(code)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Silent:
    """A receiver that takes connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.url = "http://127.0.0.1:%d/" % self.sock.getsockname()[1]

    def stop(self):
        self.sock.close()


class WebhookTest(StudioTestCase):
    server_per_test = True
    server_kwargs = {"start": False}

    def start(self, **env):
        self.srv.extra_env.update({"STUDIOD_NOTIFICATION_WEBHOOK_RETRY_BASE_MS": "50",
                                   "STUDIOD_NOTIFICATION_WEBHOOK_TIMEOUT_MS": "300"})
        self.srv.extra_env.update({k: str(v) for k, v in env.items()})
        self.srv.start()
        return self.srv

    def receiver(self, **kw):
        r = Receiver(**kw)
        self.addCleanup(r.stop)
        return r

    def hook(self, url, events, secret=SECRET):
        r = self.srv.admin("POST", "/webhooks", {"url": url, "events": events,
                                                 "secret": secret})
        self.assertStatus(r, 201)
        self.assertNotIn("secret", r.json)
        return r.json["id"]

    def deliveries(self, hid):
        return self.srv.list_all("/webhooks/%s/deliveries" % hid, token=self.srv.admin_token)

    def test_validation_and_admin_only(self):
        srv = self.start()
        m = srv.make_member()
        for bad in ({"url": "https://x.test/", "events": ["*"], "secret": SECRET},
                    {"url": "nope", "events": ["*"], "secret": SECRET},
                    {"url": "http://x.test/", "events": [], "secret": SECRET},
                    {"url": "http://x.test/", "events": ["no.such"], "secret": SECRET},
                    {"url": "http://x.test/", "events": ["*"], "secret": "short"},
                    {"url": "http://x.test/", "events": ["*"]}):
            self.assertProblem(srv.admin("POST", "/webhooks", bad), 422, "validation_failed")
        self.assertStatus(srv.request("POST", "/webhooks", {"url": "http://x.test/",
                          "events": ["*"], "secret": SECRET}, token=m["token"]), 403)
        hid = self.hook("http://127.0.0.1:9/", ["class.created"])
        self.assertEqual([h["id"] for h in srv.admin("GET", "/webhooks").json["items"]], [hid])
        self.assertStatus(srv.admin("DELETE", "/webhooks/%s" % hid), 200)
        self.assertStatus(srv.admin("DELETE", "/webhooks/%s" % hid), 404)
        self.assertEqual(srv.admin("GET", "/webhooks").json["items"], [])

    def test_signed_retried_exactly_once(self):
        srv = self.start()
        rcv = self.receiver(fail_first=2)
        hid = self.hook(rcv.url, ["reservation.confirmed", "reservation.cancelled"])
        other = self.receiver(secret="another-secret-value")
        self.hook(other.url, ["class.created"], secret="another-secret-value")
        cid = srv.make_class()["id"]
        members = [srv.make_member() for _ in range(5)]
        rids = [srv.book(m["token"], cid).json["id"] for m in members]
        self.assertStatus(srv.request("POST", "/reservations/%s/cancel" % rids[0],
                                      token=members[0]["token"]), 200)

        def all_done():
            ds = self.deliveries(hid)
            self.assertEqual(len(ds), 6)
            self.assertEqual({d["status"] for d in ds}, {"succeeded"})
            return ds
        ds = eventually(all_done, timeout=8.0)
        self.assertEqual(rcv.bad_signatures, 0)
        self.assertEqual(sorted(rcv.accepted), sorted(d["delivery_id"] for d in ds))
        self.assertEqual(set(rcv.accept_count.values()), {1})     # exactly once each
        self.assertEqual(set(rcv.tries.values()), {3})
        for d in ds:
            self.assertEqual([a["attempt"] for a in d["attempts"]], [1, 2, 3])
            self.assertEqual([a["status_code"] for a in d["attempts"]], [500, 500, 200])
        types = sorted(t for t, _ in rcv.accepted.values())
        self.assertEqual(types, ["reservation.cancelled"] + ["reservation.confirmed"] * 5)
        body = [b for t, b in rcv.accepted.values() if t == "reservation.cancelled"][0]
        self.assertEqual(body["payload"]["reservation_id"], rids[0])
        self.assertEqual(body["correlation_id"], "reservation:%s" % rids[0])
        eventually(lambda: self.assertEqual(len(other.accepted), 1))
        self.assertEqual(other.bad_signatures, 0)

    def test_gives_up_then_resumes_after_restart(self):
        srv = self.start(STUDIOD_NOTIFICATION_WEBHOOK_MAX_ATTEMPTS=3)
        rcv = self.receiver(fail_first=100)
        hid = self.hook(rcv.url, ["class.created"])
        srv.make_class()
        def failed():
            ds = [x for x in self.deliveries(hid) if x["status"] == "failed"]
            self.assertEqual(len(ds), 1)
            return ds[0]
        d = eventually(failed, timeout=5.0)
        self.assertEqual(len(d["attempts"]), 3)
        self.assertEqual(rcv.tries[d["delivery_id"]], 3)
        # A job pending at shutdown goes out after the restart.
        srv.stop()
        srv.extra_env["STUDIOD_NOTIFICATION_WEBHOOK_RETRY_BASE_MS"] = "1000"
        srv.start()
        live = self.receiver(fail_first=1)       # first try fails: due 1 s later
        hid2 = self.hook(live.url, ["class.created"])
        srv.make_class()
        eventually(lambda: self.assertEqual(len(live.tries), 1))
        srv.stop()
        self.assertEqual(self.deliveries_in_db(hid2), [("pending", 1)])
        srv.start()
        eventually(lambda: self.assertEqual(len(live.accepted), 1), timeout=5.0)
        ds = self.deliveries(hid2)
        self.assertEqual(ds[0]["status"], "succeeded")
        self.assertEqual([a["status_code"] for a in ds[0]["attempts"]], [500, 200])

    def deliveries_in_db(self, hid):
        con = self.srv.db()
        try:
            return con.execute("SELECT status, attempts FROM webhook_deliveries"
                               " WHERE webhook_id = ?", (hid,)).fetchall()
        finally:
            con.close()

    def book_many(self, srv, n, threads=8):
        cids = [srv.make_class(capacity=n)["id"] for _ in range(threads)]
        members = [srv.make_member() for _ in range(n)]
        errors = []

        def worker(i):
            c = srv.connection()
            try:
                for m in members[i::threads]:
                    r = c.request("POST", "/reservations", {"class_id": cids[i]},
                                  token=m["token"])
                    if r.status != 201:
                        errors.append(r)
            finally:
                c.close()
        t0 = time.monotonic()
        ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        elapsed = time.monotonic() - t0
        self.assertEqual(errors, [])
        return n / elapsed

    def test_silent_receiver_never_slows_bookings(self):
        srv = self.start(STUDIOD_NOTIFICATION_WEBHOOK_TIMEOUT_MS=2000)
        base = self.book_many(srv, 400)
        silent = Silent()
        self.addCleanup(silent.stop)
        self.hook(silent.url, ["*"])
        slow = self.book_many(srv, 400)
        print("\n    bookings/s: %.0f without a hook, %.0f with a silent receiver"
              % (base, slow))
        self.assertGreater(slow, base * 0.5)


if __name__ == "__main__":
    unittest.main()
