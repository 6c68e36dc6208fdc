"""Configuration, environment overrides, startup files, logs and shutdown."""

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (SANITIZER_MARKERS, Server, ServerError, base_env, binary_path,
                     free_port)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


class ConfigErrors(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="studiod-cfg-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.bin = binary_path()
        if not os.path.exists(self.bin):
            raise ServerError("studiod binary not found at %s" % self.bin)

    def run_bin(self, args, env_over=None, timeout=10):
        env = base_env()
        for k in list(env):
            if k.startswith("STUDIOD_"):
                del env[k]
        env["STUDIOD_DATABASE_PATH"] = os.path.join(self.dir, "studiod.db")
        env["STUDIOD_SERVER_LISTEN"] = "127.0.0.1:%d" % free_port()
        env.update(env_over or {})
        try:
            p = subprocess.run([self.bin] + args, cwd=self.dir, env=env,
                               stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired as e:
            self.fail("studiod %s did not exit (it should refuse the config): %r" % (args, e))
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def assertExit2(self, rc, err):
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, err, "sanitizer report on the config-error path:\n%s"
                             % "\n".join(l for l in err.splitlines() if not l.startswith("    #")))
        self.assertEqual(rc, 2, "exit status for a bad config; stderr: %s" % err)

    def test_unknown_key_and_bad_value(self):
        path = write(os.path.join(self.dir, "bad.ini"),
                     "# a config with two mistakes\n"        # 1
                     "[server]\n"                            # 2
                     "listen = 127.0.0.1:0\n"                # 3
                     "no_such_key = 1\n"                     # 4
                     "\n"                                    # 5
                     "[reservation]\n"                       # 6
                     "wait_ms = soon\n"                      # 7
                     "[log]\n"                               # 8
                     "level = info\n")                       # 9
        rc, out, err = self.run_bin(["--config", path])
        self.assertIn("%s:4:" % path, err, "stderr names the unknown key's line")
        self.assertIn("%s:7:" % path, err, "stderr names the bad value's line")
        self.assertIn("no_such_key", err)
        self.assertNotIn("%s:3:" % path, err)
        self.assertNotIn("%s:9:" % path, err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "admin.token")),
                         "a refused config starts nothing")
        self.assertExit2(rc, err)

    def test_bad_values_each_reported(self):
        path = write(os.path.join(self.dir, "bad2.ini"),
                     "[server]\n"                            # 1
                     "listen = nowhere\n"                    # 2
                     "[database]\n"                          # 3
                     "synchronous = sometimes\n"             # 4
                     "[unknown_section]\n"                   # 5
                     "x = 1\n"                               # 6
                     "[log]\n"                               # 7
                     "level = chatty\n")                     # 8
        rc, out, err = self.run_bin(["--config", path])
        for line in (2, 4, 5, 8):
            self.assertIn("%s:%d:" % (path, line), err, "line %d reported" % line)
        self.assertExit2(rc, err)

    def test_missing_config_file(self):
        rc, out, err = self.run_bin(["--config", os.path.join(self.dir, "nope.ini")])
        self.assertIn("nope.ini", err)
        self.assertExit2(rc, err)

    def test_bad_environment_value(self):
        rc, out, err = self.run_bin([], {"STUDIOD_RESERVATION_WAIT_MS": "abc"})
        self.assertIn("STUDIOD_RESERVATION_WAIT_MS", err)
        self.assertExit2(rc, err)

    def test_unknown_environment_key(self):
        rc, out, err = self.run_bin([], {"STUDIOD_SERVER_NO_SUCH_KEY": "1"})
        self.assertIn("STUDIOD_SERVER_NO_SUCH_KEY", err)
        self.assertExit2(rc, err)


class ServerOperation(unittest.TestCase):

    def test_env_overrides_config_listen(self):
        d = tempfile.mkdtemp(prefix="studiod-cfg-")
        self.addCleanup(shutil.rmtree, d, True)
        file_port = free_port()
        path = write(os.path.join(d, "studiod.ini"),
                     "[server]\nlisten = 127.0.0.1:%d\n[log]\nlevel = info\n" % file_port)
        with Server(args=["--config", path]) as srv:
            self.assertNotEqual(srv.port, file_port)
            r = srv.request("GET", "/healthz")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json, {"status": "ok"})
            s = socket.socket()
            try:
                s.settimeout(1)
                self.assertNotEqual(s.connect_ex(("127.0.0.1", file_port)), 0,
                                    "the file's port is overridden by STUDIOD_SERVER_LISTEN")
            finally:
                s.close()

    def test_ready_then_sigterm_exits_zero(self):
        with Server() as srv:
            r = srv.request("GET", "/readyz")
            self.assertEqual(r.status, 200)
            h = srv.request("GET", "/healthz")
            self.assertEqual((h.status, h.json), (200, {"status": "ok"}))
            rc = srv.stop()             # SIGTERM; asserts exit 0 and a clean log
            self.assertEqual(rc, 0)
            s = socket.socket()
            try:
                s.settimeout(1)
                self.assertNotEqual(s.connect_ex(("127.0.0.1", srv.port), ), 0,
                                    "nothing listens after exit")
            finally:
                s.close()

    def test_sigterm_under_load_drains(self):
        with Server() as srv:
            cls = srv.make_class(capacity=1000)
            members = [srv.make_member() for _ in range(4)]
            stop = threading.Event()
            bad = []
            answered = [0]

            def worker(m):
                while not stop.is_set():
                    try:
                        r = srv.request("GET", "/classes/%s" % cls["id"], timeout=5)
                    except OSError:
                        return          # the listener went away: fine
                    except Exception as e:  # http.client errors on a cut reply
                        bad.append(repr(e))
                        return
                    if r.status >= 500 and r.status != 503:
                        bad.append(repr(r))
                    answered[0] += 1

            threads = [threading.Thread(target=worker, args=(m,)) for m in members]
            for t in threads:
                t.start()
            time.sleep(0.5)
            srv.proc.send_signal(signal.SIGTERM)
            rc = srv.proc.wait(10)
            stop.set()
            for t in threads:
                t.join(10)
            srv.proc = None
            self.assertEqual(rc, 0, "exit status after SIGTERM under load")
            self.assertGreater(answered[0], 0)
            self.assertEqual(bad, [], "replies cut or failed during drain")
            srv.assert_clean_log()

    def test_admin_token_file(self):
        with Server() as srv:
            path = os.path.join(srv.dir, "admin.token")
            mode = stat.S_IMODE(os.stat(path).st_mode)
            self.assertEqual(mode, 0o600, "admin.token mode is %o" % mode)
            tok = srv.admin_token
            self.assertEqual(srv.admin("GET", "/me").json, {"role": "admin"})
            srv.stop()
            srv.restart()
            self.assertEqual(srv.admin_token, tok, "the token is not regenerated")
            self.assertEqual(srv.admin("GET", "/me").status, 200)
            # the token is stored hashed, never in clear in the database
            con = srv.db()
            try:
                dump = "\n".join(con.iterdump())
            finally:
                con.close()
            self.assertNotIn(tok, dump, "admin token stored in clear")

    def test_request_and_notification_logs(self):
        with Server(env={"STUDIOD_LOG_LEVEL": "info"}) as srv:
            start = len(re.findall(r'msg="request"', srv.log_text()))
            for _ in range(5):
                srv.request("GET", "/classes")
            srv.request("GET", "/nothing-here")
            cls = srv.make_class(capacity=3)
            m = srv.make_member()
            r = srv.book(m["token"], cls["id"])
            self.assertEqual(r.status, 201)
            deadline = time.monotonic() + 3
            while True:
                text = srv.log_text()
                n = len(re.findall(r'msg="request"', text)) - start
                if (n >= 9 and 'msg="notification sent"' in text) or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertGreaterEqual(n, 9, "one msg=\"request\" line per request")
            self.assertIn('msg="notification sent"', text)
            lines = [l for l in text.splitlines() if 'msg="request"' in l]
            for l in lines:
                self.assertRegex(l, r'^(\S+=("([^"\\]|\\.)*"|\S*))( \S+=("([^"\\]|\\.)*"|\S*))*$',
                                 "logfmt line")
            self.assertNotIn(srv.admin_token, text, "the log never shows a token")
            self.assertNotIn(m["token"], text, "the log never shows a token")


if __name__ == "__main__":
    unittest.main()
