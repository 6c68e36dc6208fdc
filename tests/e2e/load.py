"""Mixed load for the race and crash tests: many clients booking, cancelling
and rebooking a handful of small classes. Every 2xx a client receives is
recorded, so a test can prove the database holds all of them."""

import random
import threading
import time

from harness import Client


class Ledger:
    """What the clients were told, per reservation id: 'confirmed' (a 201)
    and 'cancelled' (a 200 to cancel). Thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.booked = {}        # reservation id -> (member id, class id)
        self.cancelled = set()
        self.cancel_sent = set()  # sent; the answer may have been lost in a crash
        self.counts = {}        # status code -> count
        self.errors = []        # unexpected answers

    def saw(self, status):
        with self.lock:
            self.counts[status] = self.counts.get(status, 0) + 1


def client_loop(srv, member, class_ids, ledger, stop, rng, think=0.0):
    """book -> maybe cancel -> rebook until stop is set. Connection errors
    (the server was killed) end the loop quietly."""
    c = Client(srv, timeout=10)
    mine = []                   # this member's active reservations (id, class)
    try:
        while not stop.is_set():
            if mine and rng.random() < 0.5:
                rid, cid = mine.pop(rng.randrange(len(mine)))
                with ledger.lock:
                    ledger.cancel_sent.add(rid)
                r = c.request("POST", "/reservations/%d/cancel" % rid,
                              token=member["token"])
                ledger.saw(r.status)
                if r.status == 200 and r.json.get("status") == "cancelled":
                    with ledger.lock:
                        ledger.cancelled.add(rid)
                else:
                    with ledger.lock:
                        ledger.errors.append(("cancel", rid, r.status, r.text[:200]))
            else:
                cid = rng.choice(class_ids)
                if any(x[1] == cid for x in mine):
                    continue
                r = c.request("POST", "/reservations", {"class_id": cid},
                              token=member["token"])
                ledger.saw(r.status)
                if r.status == 201:
                    with ledger.lock:
                        ledger.booked[r.json["id"]] = (member["id"], cid)
                    mine.append((r.json["id"], cid))
                elif r.status != 409 or r.json.get("code") not in (
                        "class_full", "already_booked"):
                    with ledger.lock:
                        ledger.errors.append(("book", cid, r.status, r.text[:200]))
            if think:
                time.sleep(rng.random() * think)
    except (OSError, ConnectionError, AttributeError, ValueError):
        pass                    # killed mid-request: nothing was acknowledged
    finally:
        c.close()


def run_load(srv, members, class_ids, seconds, seed, think=0.0, stop=None):
    """Run one client thread per member for `seconds` (or until stop is set);
    returns the Ledger."""
    ledger = Ledger()
    stop = stop or threading.Event()
    threads = []
    for i, m in enumerate(members):
        rng = random.Random(seed * 100003 + i)
        t = threading.Thread(target=client_loop, daemon=True,
                             args=(srv, m, class_ids, ledger, stop, rng, think))
        threads.append(t)
        t.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop.is_set():
        time.sleep(0.02)
    stop.set()
    for t in threads:
        t.join(15)
    return ledger


def assert_ledger_in_database(test, srv, ledger):
    """Every acknowledged booking is in the database; every acknowledged
    cancel is cancelled; a booking whose cancel was never sent is still
    confirmed (a cancel sent without an answer may have happened or not)."""
    con = srv.db()
    try:
        rows = dict(con.execute("SELECT id, status FROM reservations").fetchall())
    finally:
        con.close()
    for rid in ledger.booked:
        test.assertIn(rid, rows, "acknowledged booking %d is in the database" % rid)
        if rid in ledger.cancelled:
            test.assertEqual(rows[rid], "cancelled", "reservation %d" % rid)
        elif rid in ledger.cancel_sent:
            test.assertIn(rows[rid], ("confirmed", "cancelled"), "reservation %d" % rid)
        else:
            test.assertEqual(rows[rid], "confirmed", "reservation %d" % rid)
