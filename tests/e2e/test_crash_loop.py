"""Crashes under load: run the mixed load, SIGKILL the server at a random
moment, restart it, let it drain, check every invariant and that every
acknowledged answer survived; repeat with different seeds.

STUDIOD_CRASH_ITERATIONS sets the rounds (3 in `make test`, 25 in
`make soak`); STUDIOD_CRASH_SEED replays a run (each round's seed is
printed)."""

import os
import random
import threading
import time

from harness import StudioTestCase, eventually
from invariants import assert_invariants
from load import assert_ledger_in_database, run_load


class CrashLoop(StudioTestCase):
    server_per_test = True

    def test_kill9_under_load(self):
        srv = self.srv
        rounds = int(os.environ.get("STUDIOD_CRASH_ITERATIONS", 3))
        base = int(os.environ.get("STUDIOD_CRASH_SEED", random.randrange(1 << 30)))
        classes = [srv.make_class("Crash %d" % i, capacity=c)
                   for i, c in enumerate((2, 4, 6))]
        members = [srv.make_member() for _ in range(24)]
        everything = []
        for n in range(rounds):
            seed = base + n
            rng = random.Random(seed)
            print("\n  crash round %d/%d seed=%d (STUDIOD_CRASH_SEED=%d replays)"
                  % (n + 1, rounds, seed, base))
            stop = threading.Event()
            killer = threading.Timer(0.15 + rng.random() * 0.6,
                                     lambda: (srv.kill9(), stop.set()))
            killer.start()
            ledger = run_load(srv, members, [c["id"] for c in classes],
                              seconds=5, seed=seed, stop=stop)
            killer.join()
            self.assertEqual(ledger.errors, [], "unexpected answers (seed %d)" % seed)
            everything.append(ledger)
            srv.restart()

            def drained():
                r = srv.request("GET", "/readyz")
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json["checks"]["outbox_backlog"], 0)
            eventually(drained, timeout=10)
            for ledger in everything:
                assert_ledger_in_database(self, srv, ledger)
            assert_invariants(self, srv)
            self.assert_each_event_handled_once(seed)

    def assert_each_event_handled_once(self, seed):
        """Effects match events one for one: one notification per
        confirmed/cancelled/rejected event, one place per held event."""
        con = self.srv.db()
        try:
            q = lambda sql: con.execute(sql).fetchone()[0]
            for kind in ("confirmed", "rejected", "cancelled"):
                events = q("SELECT count(*) FROM outbox WHERE type = 'reservation.%s'" % kind)
                notes = q("SELECT count(*) FROM notifications WHERE kind = 'reservation_%s'" % kind)
                self.assertEqual(notes, events, "%s notifications (seed %d)" % (kind, seed))
            held = q("SELECT count(*) FROM outbox WHERE type = 'class.capacity_reserved'")
            released = q("SELECT count(*) FROM outbox WHERE type = 'class.capacity_released'")
            booked = q("SELECT coalesce(sum(booked), 0) FROM classes")
            self.assertEqual(held - released, booked, "places held (seed %d)" % seed)
        finally:
            con.close()
