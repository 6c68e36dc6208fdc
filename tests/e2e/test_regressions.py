"""Regressions found by fuzzing, each pinned by the input that found it."""

import subprocess

from harness import Server, StudioTestCase


class Regressions(StudioTestCase):

    def test_unparsable_webhook_url_is_422_not_a_crash(self):
        # fuzz_http: evhttp_uri_free(NULL) after a failed parse (SEGV).
        srv = self.srv
        for url in ("htt`p://127.0.0.1:9/h", "http://[::1", "http://", "::"):
            r = srv.admin("POST", "/webhooks", {"url": url, "events": ["*"],
                                                "secret": "0123456789abcdef0123"})
            self.assertFieldErrors(r, "url")
        self.assertEqual(srv.request("GET", "/healthz").status, 200)

    def test_unparsable_payment_url_refuses_to_start(self):
        # The same NULL free in the payment provider's start-up.
        srv = Server(start=False, env={"STUDIOD_PAYMENT_PROVIDER": "http",
                                       "STUDIOD_PAYMENT_URL": "http://[::1"})
        try:
            p = subprocess.run([srv.bin], env=srv.env, cwd=srv.dir,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1, p.stderr[-2000:])
            self.assertIn("[payment] url cannot be parsed", p.stderr)
            self.assertNotIn("AddressSanitizer", p.stderr)
        finally:
            srv.close(check=False)
