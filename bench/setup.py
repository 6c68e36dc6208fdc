#!/usr/bin/env python3
"""Create the benchmark's data set on a running studiod and write the files the
wrk Lua scripts read (stdlib only).

    python3 bench/setup.py --port PORT --admin-token-file F --out DIR
                           [--members 4000] [--classes 100] [--capacity 100000]
                           [--contention-classes 4] [--contention-capacity 10]

Writes into DIR:
  members.txt     "<member_id> <token>" per line, in creation order
  classes.txt     booking class ids, one per line (the booking/cancel pairs)
  contention.txt  ids of the small classes the contention scenario fights over
  week.txt        "<from> <to>": the week the reads scenario lists
  pairs.next      0 (the next unused (member, class) pair; see common.lua)

Members and classes are created over several keep-alive connections at once,
so the server's group commit shares each fsync between them.
"""

import argparse
import datetime as dt
import http.client
import json
import os
import sys
import threading
import time

# Every booking class starts inside this week (one class every 100 minutes:
# 100 classes span 6.9 days); the reads scenario lists exactly this week.
WEEK_START = dt.datetime(2030, 1, 7, 0, 0, tzinfo=dt.timezone.utc)
CONTENTION_START = dt.datetime(2030, 6, 3, 18, 0, tzinfo=dt.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Client:
    def __init__(self, port, token):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path, body):
        data = json.dumps(body)
        headers = {"Authorization": "Bearer " + self.token,
                   "Content-Type": "application/json"}
        for attempt in range(2):
            try:
                self.conn.request("POST", "/api/v1" + path, data, headers)
                resp = self.conn.getresponse()
                text = resp.read()
                break
            except (http.client.HTTPException, OSError):
                # The server closed a kept-alive connection: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        if resp.status != 201:
            raise RuntimeError("POST %s -> %d %s" % (path, resp.status, text[:300]))
        return json.loads(text)


def parallel(port, token, bodies, path, nconn):
    """POST every body (in order of the result list) over nconn connections."""
    results = [None] * len(bodies)
    errors = []

    def work(k):
        c = Client(port, token)
        try:
            for i in range(k, len(bodies), nconn):
                results[i] = c.post(path, bodies[i])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(nconn)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("setup: %s" % errors[0])
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--admin-token-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--members", type=int, default=4000)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--capacity", type=int, default=100000)
    ap.add_argument("--contention-classes", type=int, default=4)
    ap.add_argument("--contention-capacity", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()

    with open(args.admin_token_file) as f:
        admin = f.read().strip()
    t0 = time.monotonic()

    def cls(title, start, capacity):
        return {"title": title, "instructor": "Bench",
                "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(minutes=60)),
                "capacity": capacity}

    classes = [cls("Bench class %d" % i, WEEK_START + dt.timedelta(hours=6, minutes=100 * i),
                   args.capacity) for i in range(args.classes)]
    small = [cls("Contended class %d" % i, CONTENTION_START + dt.timedelta(days=i),
                 args.contention_capacity) for i in range(args.contention_classes)]
    members = [{"name": "Bench member %d" % i, "email": "bench-%d@example.test" % i}
               for i in range(args.members)]

    created_classes = parallel(args.port, admin, classes + small, "/classes", args.connections)
    created_members = parallel(args.port, admin, members, "/members", args.connections)

    os.makedirs(args.out, exist_ok=True)

    def write(name, lines):
        with open(os.path.join(args.out, name), "w") as f:
            f.write("".join(line + "\n" for line in lines))

    write("members.txt", ["%d %s" % (m["id"], m["token"]) for m in created_members])
    write("classes.txt", [str(c["id"]) for c in created_classes[:args.classes]])
    write("contention.txt", [str(c["id"]) for c in created_classes[args.classes:]])
    write("week.txt", ["%s %s" % (iso(WEEK_START), iso(WEEK_START + dt.timedelta(days=7)))])
    write("pairs.next", ["0"])
    print("setup: %d members, %d + %d classes in %.1f s"
          % (len(created_members), args.classes, args.contention_classes,
             time.monotonic() - t0))


if __name__ == "__main__":
    sys.exit(main())
