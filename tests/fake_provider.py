#!/usr/bin/env python3
"""A fake card payment provider for studiod's tests (Python 3 stdlib only).

It speaks the contract studiod's http provider uses:

    POST /charges {"amount","currency","reference","idempotency_key"}
         -> 200 {"id","status":"succeeded"|"declined", ...}
    POST /refunds {"charge_id","amount","idempotency_key"}
         -> 200 {"id","status":"succeeded", ...}
    Authorization: Bearer <key>   (anything else: 401)
    Idempotency-Key: <key>        (the same key returns the same charge or
                                   refund and never records a second one)

As a module (from a test):

    fake = FakeProvider(api_key="k").start()
    fake.set_mode("fail-2-then-approve")
    ... fake.charges, fake.refunds, fake.requests ...
    fake.stop()

Standalone:

    python3 tests/fake_provider.py --port 9099 --key secret [--mode approve]

then GET /_fake/state shows what it recorded and POST /_fake/mode
{"mode": "decline"} (or {"release": true}) changes it. The /_fake/ paths
need no key and are not recorded.

Modes: approve, decline, error500, slow (records the charge, then answers
only after `slow_s`, longer than the server's timeout), hold (records the
charge, then waits until release() before answering), fail-N-then-approve
(the next N requests get 500, then approve).
"""

import argparse
import itertools
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("approve", "decline", "error500", "slow", "hold")
_FAIL_N = re.compile(r"^fail-(\d+)-then-approve$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"       # one request per connection
    timeout = 30                        # never block a thread for ever on a read
    server_version = "FakeProvider/1"

    def log_message(self, fmt, *args):  # keep test output quiet
        if self.server.fake.verbose:
            sys.stderr.write("fake-provider: " + (fmt % args) + "\n")

    def _reply(self, status, obj):
        data = json.dumps(obj).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            pass                        # the caller gave up (timeout, killed)

    def do_GET(self):
        fake = self.server.fake
        if self.path.split("?")[0] == "/_fake/state":
            return self._reply(200, fake.state())
        self._reply(404, {"error": "not found"})

    def do_POST(self):
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        path = self.path.split("?")[0]
        if path.startswith("/_fake/"):
            return self._control(path, raw)
        status, body, wait = fake._handle(path, dict(self.headers.items()), raw)
        if wait is not None:
            wait()
        self._reply(status, body)

    def _control(self, path, raw):
        fake = self.server.fake
        try:
            cmd = json.loads(raw or b"{}")
        except ValueError:
            return self._reply(400, {"error": "bad json"})
        if path == "/_fake/mode":
            if cmd.get("release"):
                fake.release()
            if "mode" in cmd:
                try:
                    fake.set_mode(cmd["mode"])
                except ValueError as e:
                    return self._reply(400, {"error": str(e)})
            return self._reply(200, {"mode": fake.mode})
        if path == "/_fake/reset":
            fake.reset()
            return self._reply(200, {})
        self._reply(404, {"error": "not found"})


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True               # server_close() joins every handler
    allow_reuse_address = True


class FakeProvider:
    """A real HTTP server on 127.0.0.1 playing the payment provider."""

    def __init__(self, api_key="fake-provider-key", port=0, mode="approve",
                 slow_s=2.0, verbose=False):
        self.api_key = api_key
        self.slow_s = slow_s
        self.verbose = verbose
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._hold = threading.Event()
        self._ids = itertools.count(1)
        self.mode = "approve"
        self._fail_left = 0
        self.reset()
        self.set_mode(mode)
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.fake = self
        self.port = self._httpd.server_address[1]
        self._thread = None

    # -- lifecycle -------------------------------------------------------

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fake-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop serving: wake every held or sleeping answer, join all threads."""
        self._stopping.set()
        self._hold.set()
        with self._lock:
            self._lock.notify_all()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(10)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def write_key_file(self, path):
        with open(path, "w") as f:
            f.write(self.api_key + "\n")
        return path

    # -- control ---------------------------------------------------------

    def set_mode(self, mode):
        """approve | decline | error500 | slow | hold | fail-N-then-approve."""
        m = _FAIL_N.match(mode)
        if mode not in MODES and not m:
            raise ValueError("unknown mode %r" % (mode,))
        with self._lock:
            if m:
                self._fail_left = int(m.group(1))
            self.mode = mode
            if mode == "hold":
                self._hold.clear()
            self._lock.notify_all()

    def release(self):
        """Let every held answer (hold mode) go out."""
        self._hold.set()

    def reset(self):
        with self._lock:
            self.charges = []           # accepted charges, in order
            self.refunds = []           # accepted refunds, in order
            self.declines = []          # declined charges
            self.requests = []          # every request seen (not /_fake/)
            self._by_key = {}           # idempotency key -> (kind, record)

    # -- queries (thread safe snapshots) ---------------------------------

    def snapshot(self):
        with self._lock:
            return ([dict(c) for c in self.charges], [dict(r) for r in self.refunds],
                    [dict(q) for q in self.requests])

    def state(self):
        charges, refunds, requests = self.snapshot()
        with self._lock:
            declines = [dict(d) for d in self.declines]
        return {"mode": self.mode, "charges": charges, "refunds": refunds,
                "declines": declines, "requests": requests}

    def charges_for(self, reservation_id):
        ref = "reservation:%s" % reservation_id
        with self._lock:
            return [dict(c) for c in self.charges if c["reference"] == ref]

    def refunds_for(self, charge_id):
        with self._lock:
            return [dict(r) for r in self.refunds if r["charge_id"] == charge_id]

    def requests_for(self, key=None, path=None):
        with self._lock:
            return [dict(q) for q in self.requests
                    if (key is None or q["idempotency_key"] == key)
                    and (path is None or q["path"] == path)]

    def request_count(self):
        with self._lock:
            return len(self.requests)

    def wait_for(self, predicate, timeout=5.0):
        """Wait until predicate(self) is true (checked under the lock)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.05))
            return True

    # -- the provider ----------------------------------------------------

    def _handle(self, path, headers, raw):
        """Decide the answer: (status, body, wait-before-answering or None)."""
        h = {k.lower(): v for k, v in headers.items()}
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            body = None
        key = h.get("idempotency-key")
        rec = {"t": time.monotonic(), "path": path, "headers": h,
               "body": raw.decode("utf-8", "replace"), "json": body,
               "idempotency_key": key,
               "auth_ok": h.get("authorization") == "Bearer " + self.api_key,
               "status": None, "mode": None}
        with self._lock:
            rec["mode"] = self.mode
            self.requests.append(rec)
            self._lock.notify_all()
            status, out, wait = self._decide(path, body, key, rec)
            rec["status"] = status
            self._lock.notify_all()
        return status, out, wait

    def _decide(self, path, body, key, rec):
        if not rec["auth_ok"]:
            return 401, {"error": "unauthorized"}, None
        if path not in ("/charges", "/refunds"):
            return 404, {"error": "not found"}, None
        if not isinstance(body, dict) or not key:
            return 400, {"error": "bad request: JSON body and Idempotency-Key needed"}, None
        if body.get("idempotency_key") not in (None, key):
            return 400, {"error": "Idempotency-Key header and body disagree"}, None

        kind = "charge" if path == "/charges" else "refund"
        seen = self._by_key.get(key)
        if seen is not None and seen[0] != kind:
            return 409, {"error": "idempotency key reused for another kind"}, None

        # The mode is the provider's health: it applies to replays too.
        mode = self.mode
        m = _FAIL_N.match(mode)
        if m:
            if self._fail_left > 0:
                self._fail_left -= 1
                return 500, {"error": "injected failure"}, None
            mode = "approve"
        if mode == "error500":
            return 500, {"error": "injected failure"}, None
        if seen is not None:
            # This key was answered (or is being answered) already: the same
            # charge or refund again, nothing recorded twice.
            answer = {k: v for k, v in seen[1].items() if k != "refunded"}
            return 200, answer, self._delay(mode)

        if kind == "charge":
            amount = body.get("amount")
            if not isinstance(amount, int) or amount <= 0 or not body.get("currency"):
                return 400, {"error": "bad charge"}, None
            if mode == "decline":
                d = {"id": "ch_decl_%d" % next(self._ids), "status": "declined",
                     "amount": amount, "reference": body.get("reference"),
                     "idempotency_key": key}
                self.declines.append(d)
                self._by_key[key] = ("charge", d)
                return 200, dict(d), None
            record = {"id": "ch_%d" % next(self._ids), "status": "succeeded",
                      "amount": amount, "currency": body.get("currency"),
                      "reference": body.get("reference"), "idempotency_key": key,
                      "refunded": 0}
            self.charges.append(record)
        else:
            charge = next((c for c in self.charges if c["id"] == body.get("charge_id")), None)
            amount = body.get("amount")
            if charge is None:
                return 404, {"error": "no such charge"}, None
            if not isinstance(amount, int) or amount <= 0 or \
                    amount > charge["amount"] - charge["refunded"]:
                return 400, {"error": "bad refund amount"}, None
            if mode == "decline":
                return 402, {"error": "refund refused"}, None
            charge["refunded"] += amount
            record = {"id": "re_%d" % next(self._ids), "status": "succeeded",
                      "charge_id": charge["id"], "amount": amount,
                      "idempotency_key": key}
            self.refunds.append(record)
        self._by_key[key] = (kind, record)
        answer = {k: v for k, v in record.items() if k != "refunded"}

        return 200, answer, self._delay(mode)

    def _delay(self, mode):
        """What to wait for before answering, in slow and hold modes."""
        if mode == "slow":
            return lambda: self._stopping.wait(self.slow_s)
        if mode == "hold":
            def held():
                while not self._hold.wait(0.05):
                    if self._stopping.is_set():
                        return
            return held
        return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--key", default="fake-provider-key", help="the bearer key expected")
    ap.add_argument("--key-file", help="also write the key to this file (for studiod)")
    ap.add_argument("--mode", default="approve")
    ap.add_argument("--slow-s", type=float, default=2.0)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    fake = FakeProvider(api_key=args.key, port=args.port, mode=args.mode,
                        slow_s=args.slow_s, verbose=args.verbose)
    if args.key_file:
        fake.write_key_file(args.key_file)
    fake.start()
    print("fake provider on %s (mode %s)" % (fake.url, fake.mode), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
