"""Run `studiod check` (the invariant checker) on a test server's database."""

import subprocess


def run_check(srv, timeout=30):
    """Returns (exit status, output) of `studiod check` on srv's database.

    Safe while the server runs: the checker opens the file read-only and
    reads every invariant inside one transaction (one snapshot)."""
    p = subprocess.run([srv.bin, "check"], env=srv.env, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def assert_invariants(test, srv):
    rc, out = run_check(srv)
    test.assertEqual(rc, 0, "studiod check found violations:\n" + out)
