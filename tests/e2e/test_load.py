"""Races and invariants: 200 concurrent clients book, cancel and rebook a
handful of small classes for a fixed time; then every invariant holds and
every 2xx the clients saw is in the database."""

import os
import random

from harness import StudioTestCase
from invariants import assert_invariants
from load import assert_ledger_in_database, run_load


class RaceLoad(StudioTestCase):
    server_per_test = True

    def test_200_clients_book_cancel_rebook(self):
        srv = self.srv
        seed = int(os.environ.get("STUDIOD_LOAD_SEED", random.randrange(1 << 30)))
        print("\n  load seed=%d (STUDIOD_LOAD_SEED to replay)" % seed)
        classes = [srv.make_class("Race %d" % i, capacity=c)
                   for i, c in enumerate((3, 5, 8, 12))]
        members = [srv.make_member() for _ in range(200)]
        ledger = run_load(srv, members, [c["id"] for c in classes],
                          seconds=float(os.environ.get("STUDIOD_LOAD_SECONDS", 4)),
                          seed=seed)
        self.assertEqual(ledger.errors, [], "unexpected answers")
        self.assertGreater(ledger.counts.get(201, 0), 20, "bookings happened")
        self.assertGreater(ledger.counts.get(409, 0), 0, "classes filled up")
        self.assertGreater(len(ledger.cancelled), 0, "cancels happened")
        assert_ledger_in_database(self, srv, ledger)
        for c in classes:
            got = srv.get_class(c["id"])
            confirmed = [r for r in srv.roster(c["id"]) if r["status"] == "confirmed"]
            self.assertEqual(got["booked"], len(confirmed), "booked == confirmed")
            self.assertLessEqual(got["booked"], got["capacity"])
        assert_invariants(self, srv)
