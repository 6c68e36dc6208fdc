"""End-to-end harness for studiod: start the real binary, talk HTTP to it.

Python 3 standard library only.

    with Server() as srv:
        r = srv.request("GET", "/classes")
        assert r.status == 200

or derive a test case from ServerTestCase (one fresh server per test class,
always stopped, even when a test fails).

The binary is taken from $STUDIOD_BIN (run.py --bin sets it), default
build/test/studiod, relative paths resolved against the repository root.
"""

import datetime
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
API = "/api/v1"
OPS_PATHS = ("/healthz", "/readyz", "/metrics")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:")


def binary_path():
    path = os.environ.get("STUDIOD_BIN") or "build/test/studiod"
    if not os.path.isabs(path):
        path = os.path.join(REPO_ROOT, path)
    return path


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def iso(dt):
    """A datetime as the RFC 3339 UTC form the server prints."""
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


# `make test-valgrind` runs the server under valgrind: STUDIOD_WRAPPER is the
# command put in front of the binary, and everything waits longer.
WRAPPER = shlex.split(os.environ.get("STUDIOD_WRAPPER", ""))
SLOW = 20.0 if WRAPPER else 1.0


def base_env():
    env = dict(os.environ)
    env.pop("STUDIOD_BIN", None)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1"
    return env


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # http.client.HTTPMessage (case-insensitive)
        self.body = body
        self.text = body.decode("utf-8", "replace")
        try:
            self.json = json.loads(self.text) if self.text else None
        except ValueError:
            self.json = None

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def code(self):
        return self.json.get("code") if isinstance(self.json, dict) else None

    def __repr__(self):
        text = self.text if len(self.text) < 600 else self.text[:600] + "..."
        return "<Response %s %s>" % (self.status, text)


class ServerError(AssertionError):
    pass


class Server:
    """One studiod process on a fresh temp dir and a free loopback port."""

    def __init__(self, env=None, args=None, reservation_wait_ms=None,
                 start=True, keep_dir=False):
        self.bin = binary_path()
        if start and not os.path.exists(self.bin):
            raise ServerError("studiod binary not found at %s (build it, or pass --bin)" % self.bin)
        self.dir = tempfile.mkdtemp(prefix="studiod-e2e-")
        self.db_path = os.path.join(self.dir, "studiod.db")
        self.log_path = os.path.join(self.dir, "server.log")
        self.port = free_port()
        self.extra_env = dict(env or {})
        if reservation_wait_ms is not None:
            self.extra_env["STUDIOD_RESERVATION_WAIT_MS"] = str(reservation_wait_ms)
        self.args = list(args or [])
        self.proc = None
        self.admin_token = None
        self.keep_dir = keep_dir
        self.members = []           # every member made with make_member()
        self._log_file = None
        self.starts = 0
        if start:
            self.start()

    # -- lifecycle -------------------------------------------------------

    @property
    def env(self):
        env = base_env()
        env["STUDIOD_SERVER_LISTEN"] = "127.0.0.1:%d" % self.port
        env["STUDIOD_DATABASE_PATH"] = self.db_path
        env.update(self.extra_env)
        return env

    def start(self, timeout=10.0):
        if not os.path.exists(self.bin):
            raise ServerError("studiod binary not found at %s (build it, or pass --bin)" % self.bin)
        assert self.proc is None, "server already running"
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(b"===== start %d =====\n" % self.starts)
        self._log_file.flush()
        self.starts += 1
        timeout *= SLOW
        self.proc = subprocess.Popen(
            WRAPPER + [self.bin] + self.args, cwd=self.dir, env=self.env,
            stdin=subprocess.DEVNULL, stdout=self._log_file,
            stderr=subprocess.STDOUT)
        self.wait_healthy(timeout)
        token_path = os.path.join(self.dir, "admin.token")
        deadline = time.monotonic() + timeout
        while not os.path.exists(token_path):
            if time.monotonic() > deadline:
                self._fail_start("no admin.token at %s" % token_path)
            time.sleep(0.02)
        with open(token_path) as f:
            self.admin_token = f.read().strip()
        return self

    def wait_healthy(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            if self.proc.poll() is not None:
                self._fail_start("exited with status %s before /healthz"
                                 % self.proc.returncode)
            try:
                r = self.request("GET", "/healthz", timeout=1.0)
                if r.status == 200:
                    return
                last = r
            except OSError as e:
                last = e
            if time.monotonic() > deadline:
                self._fail_start("no healthy /healthz within %.0fs (last: %r)"
                                 % (timeout, last))
            time.sleep(0.05)

    def _fail_start(self, why):
        tail = self.log_tail()
        self._terminate_hard()
        raise ServerError("studiod %s\n--- log tail (%s) ---\n%s"
                          % (why, self.log_path, tail))

    def log_text(self):
        if self._log_file is not None:
            self._log_file.flush()
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])

    def sanitizer_errors(self):
        text = self.log_text()
        return [m for m in SANITIZER_MARKERS if m in text]

    def assert_clean_log(self):
        found = self.sanitizer_errors()
        if found:
            raise ServerError("sanitizer reports %s in the server log:\n%s"
                              % (found, self.log_tail(120)))

    def _close_log(self):
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _terminate_hard(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.proc = None
        self._close_log()

    def stop(self, timeout=10.0, check=True):
        """SIGTERM, wait, and (check=True) assert exit 0 and a clean log."""
        timeout *= SLOW
        if self.proc is None:
            return None
        proc = self.proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._terminate_hard()
            if check:
                raise ServerError("studiod did not exit within %.0fs of SIGTERM\n%s"
                                  % (timeout, self.log_tail()))
            return None
        self.proc = None
        self._close_log()
        if check:
            if rc != 0:
                raise ServerError("studiod exited with %s after SIGTERM\n%s"
                                  % (rc, self.log_tail()))
            self.assert_clean_log()
        return rc

    def kill9(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None
        self._close_log()

    def wait_exit(self, timeout=10.0):
        """Wait for the process to die on its own; returns its status."""
        assert self.proc is not None
        rc = self.proc.wait(timeout)
        self.proc = None
        self._close_log()
        return rc

    def restart(self, timeout=10.0):
        """Start again on the same database and port (the process must be down)."""
        if self.proc is not None:
            self.stop()
        return self.start(timeout)

    def close(self, check=True):
        """Stop (if running) and remove the temp dir. Always leaves no process."""
        try:
            if self.proc is not None:
                self.stop(check=check)
            else:
                if check:
                    self.assert_clean_log()
        finally:
            self._terminate_hard()
            if not self.keep_dir and not os.environ.get("STUDIOD_E2E_KEEP"):
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # On failure, still stop; do not hide the original exception.
        try:
            self.close(check=exc_type is None)
        except Exception:
            if exc_type is None:
                raise
        return False

    # -- HTTP ------------------------------------------------------------

    def url(self, path, prefix=True):
        if not prefix or path.startswith(API + "/") or path == API \
                or path.split("?")[0] in OPS_PATHS:
            return path
        return API + path

    def request(self, method, path, body=None, token=None, headers=None,
                raw=None, prefix=True, timeout=10.0):
        """One request on a fresh connection.

        body: encoded as JSON; raw: bytes sent verbatim as the body.
        token: bearer token; headers: extra headers (override defaults).
        Paths not under /api/v1 (other than /healthz, /readyz, /metrics)
        get the /api/v1 prefix unless prefix=False.
        """
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            return self._do(conn, method, path, body, token, headers, raw, prefix)
        finally:
            conn.close()

    def _do(self, conn, method, path, body, token, headers, raw, prefix):
        hdrs = {}
        data = None
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        for k, v in (headers or {}).items():
            if v is None:
                hdrs.pop(k, None)
            else:
                hdrs[k] = v
        conn.request(method, self.url(path, prefix), body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        return Response(resp.status, resp.headers, payload)

    def connection(self, timeout=10.0):
        """A persistent connection (for threads: one connection each)."""
        return Client(self, timeout)

    def raw_exchange(self, data, timeout=5.0):
        """Send raw bytes on a socket; return whatever comes back (bytes)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        chunks = []
        try:
            s.sendall(data)
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            while True:
                try:
                    b = s.recv(65536)
                except (socket.timeout, ConnectionResetError):
                    break
                if not b:
                    break
                chunks.append(b)
        finally:
            s.close()
        return b"".join(chunks)

    # -- helpers ---------------------------------------------------------

    def admin(self, method, path, body=None, **kw):
        return self.request(method, path, body=body, token=self.admin_token, **kw)

    _seq = 0
    _seq_lock = threading.Lock()

    @classmethod
    def _next(cls):
        with cls._seq_lock:
            cls._seq += 1
            return cls._seq

    def make_member(self, name=None, email=None, credits=None):
        """Create a member as admin (with an initial credits grant if given);
        returns a dict with id, token, name, email. Every member made here is
        also listed in self.members (for whole-server checks)."""
        n = self._next()
        name = name or "Member %d" % n
        email = email or "member%d-%d@example.test" % (n, os.getpid())
        body = {"name": name, "email": email}
        if credits is not None:
            body["credits"] = credits
        r = self.admin("POST", "/members", body)
        if r.status != 201:
            raise ServerError("POST /members -> %r" % r)
        m = r.json
        member = {"id": m["id"], "token": m["token"], "name": name,
                  "email": email, "json": m}
        self.members.append(member)
        return member

    def class_body(self, title=None, capacity=10, starts_in=datetime.timedelta(days=2),
                   duration=datetime.timedelta(hours=1), **extra):
        start = now_utc() + starts_in
        body = {"title": title or "Class %d" % self._next(),
                "starts_at": iso(start), "ends_at": iso(start + duration),
                "capacity": capacity}
        body.update(extra)
        return body

    def make_class(self, title=None, capacity=10, starts_in=datetime.timedelta(days=2),
                   duration=datetime.timedelta(hours=1), **extra):
        """Create a class as admin (default: in 2 days, 1 hour long); returns its JSON."""
        body = self.class_body(title, capacity, starts_in, duration, **extra)
        r = self.admin("POST", "/classes", body)
        if r.status != 201:
            raise ServerError("POST /classes %s -> %r" % (body, r))
        return r.json

    def get_class(self, class_id):
        r = self.request("GET", "/classes/%s" % class_id)
        if r.status != 200:
            raise ServerError("GET /classes/%s -> %r" % (class_id, r))
        return r.json

    def book(self, token, class_id, headers=None, **extra):
        body = {"class_id": class_id}
        body.update(extra)
        return self.request("POST", "/reservations", body, token=token, headers=headers)

    def list_all(self, path, token=None, limit=500):
        """Follow ?after= pages; returns all items."""
        items = []
        after = None
        sep = "&" if "?" in path else "?"
        for _ in range(1000):
            q = "%s%slimit=%d" % (path, sep, limit)
            if after is not None:
                q += "&after=%s" % after
            r = self.request("GET", q, token=token)
            if r.status != 200:
                raise ServerError("GET %s -> %r" % (q, r))
            items.extend(r.json["items"])
            after = r.json.get("next")
            if after is None:
                return items
        raise ServerError("GET %s: pagination does not end" % path)

    def notifications(self, member):
        return self.list_all("/me/notifications", token=member["token"])

    def my_reservations(self, member):
        return self.list_all("/me/reservations", token=member["token"])

    def roster(self, class_id):
        return self.list_all("/classes/%s/reservations" % class_id, token=self.admin_token)

    def all_classes(self):
        return self.list_all("/classes?from=1970-01-01T00:00:00Z&to=2999-01-01T00:00:00Z")

    def db(self):
        """A read-only sqlite3 connection to the server's database."""
        import sqlite3
        return sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=5)

    def table_counts(self):
        """Row count of every table (read-only snapshot)."""
        con = self.db()
        try:
            names = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            return {n: con.execute('SELECT count(*) FROM "%s"' % n).fetchone()[0]
                    for n in names}
        finally:
            con.close()


class Client:
    """A persistent keep-alive connection bound to one server."""

    def __init__(self, server, timeout=10.0):
        self.server = server
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)

    def request(self, method, path, body=None, token=None, headers=None, raw=None,
                prefix=True):
        return self.server._do(self.conn, method, path, body, token, headers, raw, prefix)

    def close(self):
        self.conn.close()


class ServerTestCase(unittest.TestCase):
    """One server per test class; stopped (SIGTERM, exit 0, clean log) at the end.

    Set `server_per_test = True` for a fresh server per test method.
    """

    server_per_test = False
    server_kwargs = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.srv = None
        if not cls.server_per_test:
            cls.srv = Server(**cls.server_kwargs)

    @classmethod
    def tearDownClass(cls):
        srv, cls.srv = cls.srv, None
        if srv is not None:
            srv.close()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        if self.server_per_test:
            srv = Server(**self.server_kwargs)
            self.srv = srv
            self.addCleanup(self._close_per_test, srv)

    def _close_per_test(self, srv):
        srv.close()

    # -- assertion helpers ---------------------------------------------

    def assertStatus(self, r, status, msg=None):
        if r.status != status:
            self.fail("%sexpected HTTP %s, got %r" % (msg + ": " if msg else "", status, r))

    def assertProblem(self, r, status, code=None, msg=None):
        self.assertStatus(r, status, msg)
        self.assertEqual(r.content_type, "application/problem+json",
                         "problem content type (%s): %r" % (msg, r))
        self.assertIsInstance(r.json, dict, "problem body is JSON: %r" % r)
        for k in ("type", "title", "status", "code", "detail"):
            self.assertIn(k, r.json, "problem member %r in %r" % (k, r))
        self.assertEqual(r.json["status"], status, "problem status member: %r" % r)
        if code is not None:
            self.assertEqual(r.json["code"], code, "%sproblem code: %r"
                             % (msg + ": " if msg else "", r))

    def assertFieldErrors(self, r, *fields):
        self.assertProblem(r, 422, "validation_failed")
        errs = r.json.get("errors")
        self.assertIsInstance(errs, list, "errors list: %r" % r)
        named = {e.get("field") for e in errs}
        for f in fields:
            self.assertIn(f, named, "errors name field %r: %r" % (f, r))

    def assertJson(self, r):
        self.assertTrue(r.content_type.startswith("application/") and
                        r.content_type.endswith("json"), "JSON reply: %r" % r)


def eventually(fn, timeout=3.0, interval=0.05):
    """Call fn until it stops raising AssertionError (read models are fed by
    events); returns fn's result, or re-raises the last failure."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)


def settled(fn, timeout=3.0, quiet=0.1):
    """eventually(fn), then wait `quiet` seconds and require fn to still hold
    (catches a second notification or a late double count)."""
    eventually(fn, timeout)
    time.sleep(quiet)
    return fn()


RESERVATION_FIELDS = ("id", "class_id", "member_id", "status", "reason", "price",
                      "credits", "created_at", "updated_at")
MYPAGE_FIELDS = ("id", "class_id", "class_title", "starts_at", "ends_at", "status",
                 "reason", "price", "credits", "created_at", "updated_at")
NOTIFICATION_FIELDS = ("id", "kind", "reservation_id", "class_id", "message", "created_at")
TIME_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


class StudioAssertions:
    """Assertions on the studiod domain, mixed into ServerTestCase."""

    def assertTime(self, value, what="time"):
        self.assertIsInstance(value, str, "%s is a string: %r" % (what, value))
        self.assertRegex(value, TIME_RE, "%s format" % what)

    def assertReservationBody(self, body, class_id, member_id, status, reason=None):
        self.assertIsInstance(body, dict, "reservation body: %r" % (body,))
        for k in RESERVATION_FIELDS:
            self.assertIn(k, body, "reservation field %r in %r" % (k, body))
        self.assertEqual(body["class_id"], class_id, "class_id in %r" % body)
        self.assertEqual(body["member_id"], member_id, "member_id in %r" % body)
        self.assertEqual(body["status"], status, "status in %r" % body)
        self.assertEqual(body["reason"], reason, "reason in %r" % body)
        self.assertTime(body["created_at"], "created_at")
        self.assertTime(body["updated_at"], "updated_at")

    def assertBooked(self, r, class_id, member, status=201):
        """A POST /reservations that must have confirmed."""
        self.assertStatus(r, status, "booking class %s for member %s" % (class_id, member["id"]))
        self.assertReservationBody(r.json, class_id, member["id"], "confirmed")
        loc = r.headers.get("Location")
        self.assertEqual(loc, "/api/v1/reservations/%s" % r.json["id"], "Location header")
        return r.json["id"]

    def assertRejected(self, r, code, class_id=None, member=None, reader=None):
        """A 409 booking rejection; the reservation it names reads rejected/<code>."""
        self.assertProblem(r, 409, code)
        rid = r.json.get("reservation_id")
        self.assertIsInstance(rid, int, "reservation_id in %r" % r)
        self.assertGreater(rid, 0)
        token = reader or (member["token"] if member else self.srv.admin_token)
        g = self.srv.request("GET", "/reservations/%s" % rid, token=token)
        self.assertStatus(g, 200, "GET rejected reservation %s" % rid)
        self.assertEqual(g.json["status"], "rejected", "rejected reservation: %r" % g)
        self.assertEqual(g.json["reason"], code, "rejected reason: %r" % g)
        if class_id is not None:
            self.assertEqual(g.json["class_id"], class_id)
        if member is not None:
            self.assertEqual(g.json["member_id"], member["id"])
        return rid

    def assertClassCounts(self, class_id, booked, capacity=None):
        c = self.srv.get_class(class_id)
        self.assertEqual(c["booked"], booked, "booked of class %s: %r" % (class_id, c))
        if capacity is None:
            capacity = c["capacity"]
        self.assertEqual(c["capacity"], capacity, "capacity of class %s" % class_id)
        self.assertEqual(c["remaining"], capacity - booked, "remaining of class %s: %r"
                         % (class_id, c))
        return c

    def expectNotifications(self, member, expected, class_id=None):
        """expected: list of (kind, reservation_id) in id order, exactly."""
        def check():
            items = self.srv.notifications(member)
            got = [(n.get("kind"), n.get("reservation_id"))
                   for n in sorted(items, key=lambda n: n["id"])]
            self.assertEqual(got, list(expected),
                             "notifications of member %s: %r" % (member["id"], items))
            for n in items:
                for k in NOTIFICATION_FIELDS:
                    self.assertIn(k, n, "notification field %r" % k)
                self.assertTime(n["created_at"])
                if class_id is not None:
                    self.assertEqual(n["class_id"], class_id)
            return items
        return settled(check)

    def expectMyReservations(self, member, expected):
        """expected: {reservation_id: (status, reason)}, exactly those."""
        def check():
            items = self.srv.my_reservations(member)
            got = {i.get("id"): (i.get("status"), i.get("reason")) for i in items}
            self.assertEqual(got, dict(expected),
                             "/me/reservations of member %s: %r" % (member["id"], items))
            self.assertEqual(len(items), len(expected), "no duplicate rows: %r" % items)
            for i in items:
                for k in MYPAGE_FIELDS:
                    self.assertIn(k, i, "/me/reservations field %r" % k)
            return items
        return settled(check)


class StudioTestCase(ServerTestCase, StudioAssertions):
    pass


def parse_status(data):
    """Status code of a raw HTTP reply (bytes), or None if there is none."""
    if not data.startswith(b"HTTP/1."):
        return None
    try:
        return int(data.split(b"\r\n", 1)[0].split(b" ")[1])
    except (IndexError, ValueError):
        return None


def raw_send(server, data, timeout=5.0):
    """Send `data` on a raw socket (a sending thread, so a server that
    answers early and closes does not deadlock us); return (status, reply)."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    chunks = []

    def sender():
        try:
            view = memoryview(data)
            for i in range(0, len(view), 65536):
                s.sendall(view[i:i + 65536])
        except OSError:
            pass

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not b:
                break
            chunks.append(b)
            reply = b"".join(chunks)
            # one full reply is enough
            head, sep, rest = reply.partition(b"\r\n\r\n")
            if sep:
                cl = None
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        try:
                            cl = int(v.strip())
                        except ValueError:
                            pass
                if cl is not None and len(rest) >= cl:
                    break
    finally:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        t.join(timeout)
        s.close()
    reply = b"".join(chunks)
    return parse_status(reply), reply
