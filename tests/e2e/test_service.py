"""Running studiod as a service: the front door (overload 503, rate limit
429, slow clients, CORS), /metrics, readiness while draining, systemd
(sd_notify, socket activation), backup and restore, tokens from the CLI,
and `make install`.

Every server and helper process a test starts is stopped by that test.
"""

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import (REPO_ROOT, Server, StudioTestCase, base_env, binary_path,
                     eventually)

sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))
from fake_provider import FakeProvider  # noqa: E402


# -- the Prometheus text format, parsed strictly --------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(r"^(%s)(\{(.*)\})? (-?[0-9.eE+-]+|\+Inf|NaN)$" % _NAME)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value}; raises AssertionError on
    anything the exposition format does not allow (a sample before its
    TYPE, a TYPE twice, a malformed line, a histogram that decreases)."""
    assert text.endswith("\n"), "exposition ends with a newline"
    types, samples = {}, {}
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert re.fullmatch(_NAME, name), "line %d: name %r" % (n, name)
            assert kind in _TYPES, "line %d: type %r" % (n, kind)
            assert name not in types, "line %d: TYPE of %s twice" % (n, name)
            types[name] = kind
            continue
        assert not line.startswith("#"), "line %d: stray comment %r" % (n, line)
        m = _SAMPLE.match(line)
        assert m, "line %d: not a sample: %r" % (n, line)
        name, labels_text = m.group(1), m.group(3) or ""
        labels, pos = {}, 0
        while pos < len(labels_text):
            lm = _LABEL.match(labels_text, pos)
            assert lm, "line %d: bad labels %r" % (n, labels_text)
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or (family in types and types[family] == "histogram"), \
            "line %d: sample %s before its TYPE" % (n, name)
        key = (name, frozenset(labels.items()))
        assert key not in samples, "line %d: duplicate sample %r" % (n, line)
        samples[key] = float(m.group(4))
    for name, kind in types.items():
        if kind != "histogram":
            continue
        buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in samples.items()
                          if k[0] == name + "_bucket"))
        assert buckets and buckets[-1][0] == float("inf"), "%s has +Inf" % name
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), "%s buckets are cumulative" % name
        assert samples[(name + "_count", frozenset())] == counts[-1]
    return samples


def metric(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(srv):
    r = srv.request("GET", "/metrics")
    assert r.status == 200, r
    assert r.headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"), \
        r.headers.get("Content-Type")
    return parse_metrics(r.text)


class ServiceCase(StudioTestCase):
    """Each test starts its own server (and stops it) with the env it needs."""

    @classmethod
    def setUpClass(cls):
        unittest.TestCase.setUpClass()
        cls.srv = None

    @classmethod
    def tearDownClass(cls):
        unittest.TestCase.tearDownClass()

    def server(self, **env):
        srv = Server(env={k: str(v) for k, v in env.items()})
        self.addCleanup(srv.close)
        self.srv = srv
        return srv

    def held_provider(self, **env):
        """A server charging through a fake provider that holds every charge
        until released: bookings of a priced class stay in progress."""
        fake = FakeProvider(api_key="sk_test_" + os.urandom(6).hex()).start()
        self.addCleanup(fake.stop)
        srv = Server(start=False)
        self.addCleanup(srv.close)
        key_file = os.path.join(srv.dir, "provider.key")
        with open(key_file, "w") as f:
            f.write(fake.api_key + "\n")
        srv.extra_env.update({
            "STUDIOD_PAYMENT_PROVIDER": "http",
            "STUDIOD_PAYMENT_URL": fake.url,
            "STUDIOD_PAYMENT_API_KEY_FILE": key_file,
            "STUDIOD_PAYMENT_TIMEOUT_MS": "10000",
            "STUDIOD_RESERVATION_WAIT_MS": "10000",
        })
        srv.extra_env.update({k: str(v) for k, v in env.items()})
        self.srv = srv
        srv.start()
        fake.set_mode("hold")
        self.addCleanup(fake.release)   # before stop: nothing stays held
        return srv, fake

    def book_in_threads(self, srv, members, class_id):
        results = [None] * len(members)

        def run(i):
            try:
                results[i] = srv.book(members[i]["token"], class_id)
            except OSError as e:
                results[i] = e
        threads = [threading.Thread(target=run, args=(i,), daemon=True)
                   for i in range(len(members))]
        for t in threads:
            t.start()
        return threads, results


class FrontDoorTest(ServiceCase):

    def test_overload_503_while_healthz_answers(self):
        srv, fake = self.held_provider(STUDIOD_SERVER_MAX_INFLIGHT=2)
        cls = srv.make_class(capacity=10, price=1500)
        members = [srv.make_member() for _ in range(2)]
        threads, results = self.book_in_threads(srv, members, cls["id"])
        # Both bookings are in progress once the provider holds both charges.
        deadline = time.monotonic() + 5
        while len(fake.charges) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(len(fake.charges), 2, "two charges held")
        for path in ("/classes", "/classes/%d" % cls["id"]):
            r = srv.request("GET", path)
            self.assertProblem(r, 503, "overloaded")
            self.assertEqual(r.headers.get("Retry-After"), "1")
            self.assertTrue(r.headers.get("X-Request-Id"))
        r = srv.request("POST", "/reservations", {"class_id": cls["id"]},
                        token=members[0]["token"])
        self.assertProblem(r, 503, "overloaded")
        # Health, readiness and metrics are never refused.
        self.assertEqual(srv.request("GET", "/healthz").status, 200)
        self.assertEqual(srv.request("GET", "/readyz").status, 200)
        m = scrape(srv)
        self.assertGreaterEqual(metric(m, "studiod_http_requests_in_flight"), 2)
        self.assertEqual(metric(m, "studiod_http_refused_total", reason="overload"), 3)
        fake.release()
        for t in threads:
            t.join(10)
        for r in results:
            self.assertStatus(r, 201, "held booking completes")
        self.assertEqual(srv.request("GET", "/classes").status, 200)

    def test_rate_limit_429_per_token_and_address(self):
        srv = self.server(STUDIOD_SERVER_RATE_PER_SECOND=1, STUDIOD_SERVER_RATE_BURST=3)
        member = srv.make_member()
        for i in range(3):
            self.assertStatus(srv.request("GET", "/classes"), 200, "anonymous %d" % i)
        r = srv.request("GET", "/classes")
        self.assertProblem(r, 429, "rate_limited")
        self.assertGreaterEqual(int(r.headers.get("Retry-After")), 1)
        # A token has its own bucket; the operations routes have none.
        self.assertStatus(srv.request("GET", "/me", token=member["token"]), 200)
        for _ in range(5):
            self.assertEqual(srv.request("GET", "/healthz").status, 200)
        for _ in range(2):
            self.assertStatus(srv.request("GET", "/me", token=member["token"]), 200)
        self.assertProblem(srv.request("GET", "/me", token=member["token"]), 429,
                           "rate_limited")
        # One token a second comes back.
        time.sleep(1.1)
        self.assertStatus(srv.request("GET", "/classes"), 200, "after a second")
        m = scrape(srv)
        self.assertEqual(metric(m, "studiod_http_refused_total", reason="rate_limit"), 2)
        self.assertEqual(metric(m, "studiod_http_requests_total", route="/api/v1/classes",
                                method="GET", status="429"), 1)

    def test_slow_loris_cut_off(self):
        srv = self.server(STUDIOD_SERVER_REQUEST_TIMEOUT_MS=800,
                          STUDIOD_SERVER_IDLE_TIMEOUT_MS=1500)
        loris = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        idle = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        self.addCleanup(loris.close)
        self.addCleanup(idle.close)
        start = time.monotonic()
        loris.sendall(b"GET /api/v1/classes HTTP/1.1\r\nHost: x\r\n")
        closed_after = None
        # One header byte every 100 ms: each resets an inactivity timer, so
        # only a deadline on the whole request stops it.
        for _ in range(40):
            try:
                loris.sendall(b"X")
                loris.settimeout(0.1)
                if loris.recv(1024) == b"":
                    closed_after = time.monotonic() - start
                    break
            except socket.timeout:
                continue
            except OSError:
                closed_after = time.monotonic() - start
                break
        self.assertIsNotNone(closed_after, "the slow client was never cut off")
        self.assertLess(closed_after, 2.5)
        # Meanwhile everyone else is served.
        self.assertEqual(srv.request("GET", "/healthz").status, 200)
        # A connection that never sends a byte goes after idle_timeout_ms.
        idle.settimeout(4)
        try:
            self.assertEqual(idle.recv(1), b"")
        except ConnectionResetError:
            pass
        m = scrape(srv)
        self.assertGreaterEqual(metric(m, "studiod_http_client_timeouts_total"), 2)

    def test_too_many_headers_431(self):
        srv = self.server(STUDIOD_SERVER_MAX_HEADERS=8)
        headers = {"X-Pad-%d" % i: "v" for i in range(10)}
        r = srv.request("GET", "/classes", headers=headers)
        self.assertProblem(r, 431, "too_many_headers")
        self.assertEqual(srv.request("GET", "/classes").status, 200)

    def test_cors(self):
        srv = self.server(STUDIOD_SERVER_CORS_ORIGINS="https://book.example, https://x.example")
        origin = "https://book.example"
        r = srv.request("OPTIONS", "/reservations", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), origin)
        self.assertIn("POST", r.headers.get("Access-Control-Allow-Methods"))
        self.assertIn("Authorization", r.headers.get("Access-Control-Allow-Headers"))
        r = srv.request("GET", "/classes", headers={"Origin": origin})
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), origin)
        self.assertIn("X-Request-Id", r.headers.get("Access-Control-Expose-Headers"))
        r = srv.request("GET", "/classes", headers={"Origin": "https://evil.example"})
        self.assertIsNone(r.headers.get("Access-Control-Allow-Origin"))
        r = srv.request("OPTIONS", "/reservations", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        self.assertNotEqual(r.status, 204)
        self.assertIsNone(r.headers.get("Access-Control-Allow-Origin"))


class MetricsTest(ServiceCase):

    def test_metrics_follow_bookings(self):
        srv = self.server()
        before = scrape(srv)
        cls = srv.make_class(capacity=2)
        members = [srv.make_member() for _ in range(3)]
        for m in members[:2]:
            self.assertStatus(srv.book(m["token"], cls["id"]), 201)
        self.assertProblem(srv.book(members[2]["token"], cls["id"]), 409, "class_full")
        after = scrape(srv)

        def delta(name, **labels):
            return metric(after, name, **labels) - metric(before, name, **labels)
        self.assertEqual(delta("studiod_http_requests_total", route="/api/v1/reservations",
                               method="POST", status="201"), 2)
        self.assertEqual(delta("studiod_http_requests_total", route="/api/v1/reservations",
                               method="POST", status="409"), 1)
        self.assertEqual(delta("studiod_saga_outcomes_total", outcome="confirmed",
                               reason=""), 2)
        self.assertEqual(delta("studiod_saga_outcomes_total", outcome="rejected",
                               reason="class_full"), 1)
        self.assertGreaterEqual(delta("studiod_http_request_duration_seconds_count"), 7)
        self.assertGreater(metric(after, "studiod_database_size_bytes"), 0)
        self.assertEqual(metric(after, "studiod_outbox_backlog"), 0)
        self.assertEqual(metric(after, "studiod_outbox_oldest_undelivered_age_seconds"), 0)
        self.assertEqual(metric(after, "studiod_bus_dead_letters"), 0)
        self.assertEqual(metric(after, "studiod_payment_breaker_state", state="closed"), 1)
        self.assertEqual(metric(after, "studiod_payment_breaker_state", state="open"), 0)
        build = [k for k in after if k[0] == "studiod_build_info"]
        self.assertEqual(len(build), 1)
        self.assertIn("version", dict(build[0][1]))
        self.assertGreater(delta("studiod_batches_total"), 0)


class DrainTest(ServiceCase):

    def test_readyz_503_while_draining(self):
        srv, fake = self.held_provider()
        cls = srv.make_class(capacity=5, price=900)
        member = srv.make_member()
        keep = srv.connection()         # a keep-alive connection opened before
        self.addCleanup(keep.close)
        self.assertEqual(keep.request("GET", "/readyz").status, 200)
        threads, results = self.book_in_threads(srv, [member], cls["id"])
        deadline = time.monotonic() + 5
        while len(fake.charges) < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        self.assertIsNone(srv.proc.poll(), "still draining the held booking")
        r = keep.request("GET", "/readyz")
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.headers.get("Retry-After"), "1")
        fake.release()
        threads[0].join(10)
        self.assertStatus(results[0], 201, "the in-flight booking is answered")
        self.assertEqual(srv.wait_exit(10), 0)


class SystemdTest(ServiceCase):

    def test_sd_notify_ready_watchdog_stopping(self):
        d = tempfile.mkdtemp(prefix="sdn-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(path)
        sock.settimeout(0.2)
        srv = self.server(NOTIFY_SOCKET=path, WATCHDOG_USEC=300000)
        got = []

        def drain_until(pred, timeout=5):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    got.append(sock.recv(4096).decode())
                except socket.timeout:
                    pass
                if pred():
                    return True
            return False
        self.assertTrue(drain_until(lambda: any("READY=1" in g for g in got)), got)
        self.assertTrue(drain_until(
            lambda: sum("WATCHDOG=1" in g for g in got) >= 3), got)
        self.assertTrue(any("MAINPID=%d" % srv.proc.pid in g for g in got), got)
        srv.proc.send_signal(signal.SIGTERM)
        self.assertTrue(drain_until(lambda: any("STOPPING=1" in g for g in got)), got)
        self.assertEqual(srv.wait_exit(10), 0)

    @unittest.skipUnless(shutil.which("systemd-socket-activate"),
                         "systemd-socket-activate not installed (Debian: systemd)")
    def test_socket_activation(self):
        srv = Server(start=False)
        self.addCleanup(srv.close)
        real = srv.bin
        srv.bin = shutil.which("systemd-socket-activate")
        names = ["STUDIOD_DATABASE_PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS"]
        srv.args = ["-l", "127.0.0.1:%d" % srv.port]
        for n in names:
            srv.args += ["-E", n]
        # A listen address that cannot be bound: the passed socket must win.
        srv.extra_env["STUDIOD_SERVER_LISTEN"] = "127.0.0.1:1"
        srv.args += ["-E", "STUDIOD_SERVER_LISTEN", real]
        srv.start()
        self.assertEqual(srv.request("GET", "/healthz").status, 200)
        self.assertIn("listening on the socket systemd passed", srv.log_text())
        cls = srv.make_class(capacity=1)
        self.assertStatus(srv.book(srv.make_member()["token"], cls["id"]), 201)
        self.assertEqual(srv.stop(), 0)


class ReloadTest(ServiceCase):

    def test_sighup_reopens_log_and_reloads_limits(self):
        srv = Server(start=False)
        self.addCleanup(srv.close)
        conf = os.path.join(srv.dir, "studiod.ini")
        log = os.path.join(srv.dir, "studiod.log")

        def write_conf(extra):
            with open(conf, "w") as f:
                f.write("[log]\nfile = %s\n%s" % (log, extra))
        write_conf("")
        srv.args = ["--config", conf]
        srv.start()
        headers = {"X-Pad-%d" % i: "v" for i in range(10)}
        self.assertEqual(srv.request("GET", "/classes", headers=headers).status, 200)
        # logrotate: move the file away, change the configuration, SIGHUP.
        os.rename(log, log + ".1")
        write_conf("format = json\n[server]\nmax_headers = 8\n")
        srv.proc.send_signal(signal.SIGHUP)

        def reloaded():
            self.assertTrue(os.path.exists(log), "log reopened")
            with open(log) as f:
                self.assertIn("configuration reloaded", f.read())
        eventually(reloaded)
        self.assertProblem(srv.request("GET", "/classes", headers=headers), 431,
                           "too_many_headers")
        with open(log + ".1") as f:
            self.assertIn('msg="request"', f.read(), "logfmt before the reload")
        with open(log) as f:
            lines = [json.loads(line) for line in f if line.startswith("{")]
        req = [l for l in lines if l.get("msg") == "request"]
        self.assertTrue(req, "JSON request lines after the reload")
        self.assertEqual(req[-1]["status"], 431)
        self.assertEqual(req[-1]["path"], "/api/v1/classes")
        self.assertTrue(req[-1]["rid"])
        # A configuration that is not valid any more changes nothing.
        write_conf("[server]\nmax_headers = lots\n")
        srv.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        self.assertEqual(srv.request("GET", "/healthz").status, 200)
        self.assertEqual(srv.stop(), 0)
        with open(log) as f:
            text = f.read()
        self.assertIn("reload refused", text)
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            self.assertNotIn(marker, text)


class BackupAndCliTest(ServiceCase):

    def cli(self, srv, *args, db=None, check=True):
        env = base_env()
        env["STUDIOD_DATABASE_PATH"] = db or srv.db_path
        p = subprocess.run([binary_path()] + list(args), env=env, cwd=srv.dir,
                           capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(p.returncode, 0, "studiod %s: %s %s" % (args, p.stdout, p.stderr))
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            self.assertNotIn(marker, p.stderr)
        return p

    def test_backup_during_load_and_restore(self):
        srv = self.server()
        cls = srv.make_class(capacity=100000)
        members = [srv.make_member() for _ in range(8)]
        acked, lock, stop = [], threading.Lock(), threading.Event()

        def client(m):
            # Book, cancel, book again: every 2xx is remembered with its time.
            while not stop.is_set():
                r = srv.book(m["token"], cls["id"])
                if r.status == 201:
                    with lock:
                        acked.append((time.monotonic(), r.json["id"]))
                    srv.request("POST", "/reservations/%d/cancel" % r.json["id"],
                                token=m["token"])
        threads = [threading.Thread(target=client, args=(m,), daemon=True) for m in members]
        for t in threads:
            t.start()
        time.sleep(0.7)
        backup = os.path.join(srv.dir, "backup.db")
        started = time.monotonic()
        p = self.cli(srv, "backup", backup)
        self.assertIn("integrity_check ok", p.stdout)
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(10)
        with lock:
            before = {rid for at, rid in acked if at < started}
        self.assertGreater(len(before), 10, "the backup ran under load")
        con = sqlite3.connect("file:%s?mode=ro" % backup, uri=True)
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            ids = {r[0] for r in con.execute("SELECT id FROM reservations")}
        finally:
            con.close()
        self.assertFalse(before - ids, "acknowledged bookings missing from the backup")
        self.assertFalse(os.path.exists(backup + "-wal"), "a self-contained file")
        # An existing file is never overwritten.
        p = self.cli(srv, "backup", backup, check=False)
        self.assertEqual(p.returncode, 1)
        # The copy keeps every invariant.
        self.cli(srv, "check", db=backup)
        # Restore (README): stop, put the copy in place, drop -wal/-shm, start.
        srv.stop()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(srv.db_path + suffix):
                os.remove(srv.db_path + suffix)
        shutil.copy(backup, srv.db_path)
        srv.start()
        r = srv.request("GET", "/reservations/%d" % max(before), token=srv.admin_token)
        self.assertStatus(r, 200, "a booking from before the backup, after restore")
        self.assertEqual(srv.request("GET", "/readyz").status, 200)

    def test_token_create_and_revoke(self):
        srv = self.server()
        member = srv.make_member()
        p = self.cli(srv, "token", "create", "--role", "member", "--member", str(member["id"]))
        m = re.match(r"^id=(\d+) role=member token=(sd_[A-Za-z0-9_-]+)$", p.stdout.strip())
        self.assertTrue(m, p.stdout)
        token_id, token = m.group(1), m.group(2)
        r = srv.request("GET", "/me", token=token)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["member"]["id"], member["id"])
        p = self.cli(srv, "token", "create", "--role", "admin")
        admin = p.stdout.strip().split("token=")[1]
        self.assertEqual(srv.request("GET", "/me", token=admin).json["role"], "admin")
        self.cli(srv, "token", "revoke", token_id)
        self.assertEqual(srv.request("GET", "/me", token=token).status, 401)
        self.cli(srv, "token", "revoke", admin)
        self.assertEqual(srv.request("GET", "/me", token=admin).status, 401)
        # Unknown member, revoked twice, bad usage.
        self.assertEqual(self.cli(srv, "token", "create", "--role", "member",
                                  "--member", "999999", check=False).returncode, 1)
        self.assertEqual(self.cli(srv, "token", "revoke", token_id,
                                  check=False).returncode, 1)
        self.assertEqual(self.cli(srv, "token", "create", "--role", "owner",
                                  check=False).returncode, 2)

    def test_every_command_has_help(self):
        srv = self.server()
        for cmd in ("serve", "migrate", "check-config", "check", "backup", "token",
                    "version"):
            p = self.cli(srv, cmd, "--help")
            self.assertIn("usage: studiod %s" % cmd, p.stdout)
        p = self.cli(srv, "--help")
        for cmd in ("backup", "token", "version"):
            self.assertIn(cmd, p.stdout)
        self.assertEqual(self.cli(srv, "bogus", check=False).returncode, 2)
        self.assertRegex(self.cli(srv, "version").stdout, r"^studiod \d+\.\d+")


class InstallTest(unittest.TestCase):

    def test_make_install_destdir(self):
        dest = tempfile.mkdtemp(prefix="studiod-install-")
        self.addCleanup(shutil.rmtree, dest, True)
        p = subprocess.run(["make", "--no-print-directory", "install", "DESTDIR=" + dest,
                            "PREFIX=/usr", "INSTALL_BIN=" + binary_path()],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        binary = os.path.join(dest, "usr/bin/studiod")
        self.assertTrue(os.access(binary, os.X_OK))
        ini = os.path.join(dest, "etc/studiod/studiod.ini")
        unit = os.path.join(dest, "lib/systemd/system/studiod.service")
        sock = os.path.join(dest, "lib/systemd/system/studiod.socket")
        for f in (ini, unit, sock):
            self.assertTrue(os.path.isfile(f), f)
        with open(unit) as f:
            text = f.read()
        for line in ("Type=notify", "ExecStart=/usr/bin/studiod serve --config "
                     "/etc/studiod/studiod.ini", "Restart=on-failure", "WatchdogSec=",
                     "StateDirectory=studiod", "NoNewPrivileges=yes", "ProtectSystem=strict"):
            self.assertIn(line, text)
        self.assertNotRegex(text, r"@[A-Z]+@", "every placeholder substituted")
        # The installed configuration is valid as it is.
        env = base_env()
        p = subprocess.run([binary, "check-config", "--config", ini], env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
