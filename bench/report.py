#!/usr/bin/env python3
"""Summarise bench/run.sh's raw results: print the table and write bench/results.md.

Each figure is the median over the repetitions with min..max. The ratio is the
scenario's req/s over the req/s of GET /healthz measured right before it, in
the same repetition. The healthz row summarises every baseline run.
"""

import argparse
import csv
import datetime as dt
import os
import platform
import statistics
import subprocess

TARGETS = [  # (scenario, description, check(summary))
    ("booking", "booking ratio >= 0.25 with p99 < 20 ms",
     lambda s: s["ratio"] >= 0.25 and s["p99_us"] < 20000),
    ("reads", "reads ratio >= 0.5", lambda s: s["ratio"] >= 0.5),
]


def machine():
    def first(path, key):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "?"

    def git(*args):
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "?"

    mem_kb = first("/proc/meminfo", "MemTotal").split()[0]
    commit = git("rev-parse", "--short", "HEAD")
    if git("status", "--porcelain", "--", "src", "migrations", "Makefile"):
        commit += " (with uncommitted changes)"
    return [
        ("CPUs (nproc)", str(os.cpu_count() if not hasattr(os, "sched_getaffinity")
                             else len(os.sched_getaffinity(0)))),
        ("CPU", first("/proc/cpuinfo", "model name")),
        ("memory", "%.1f GiB" % (int(mem_kb) / 1048576) if mem_kb.isdigit() else "?"),
        ("kernel", platform.release()),
        ("date", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("commit", commit),
    ]


def spread(values, fmt):
    med = statistics.median(values)
    return med, "%s (%s..%s)" % (fmt % med, fmt % min(values), fmt % max(values))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--settings", required=True)
    ap.add_argument("--server-log-lines", default="0")
    args = ap.parse_args()

    with open(args.raw) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    order, by = [], {}
    for r in rows:
        if r["scenario"] not in by:
            order.append(r["scenario"])
        by.setdefault(r["scenario"], []).append(r)

    header = ["scenario", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "ratio to /healthz"]
    table, summaries = [], {}

    def line(name, runs, prefix=""):
        rps, rps_s = spread([float(r[prefix + "rps"]) for r in runs], "%.0f")
        p50, p50_s = spread([int(r[prefix + "p50_us"]) / 1000 for r in runs], "%.2f")
        p99, p99_s = spread([int(r[prefix + "p99_us"]) / 1000 for r in runs], "%.2f")
        cpu, cpu_s = spread([int(r[prefix + "cpu_us"]) for r in runs], "%.0f")
        if prefix:
            ratio_s = "1"
            ratio = 1.0
        else:
            ratio, ratio_s = spread([float(r["rps"]) / float(r["base_rps"]) for r in runs],
                                    "%.3f")
        summaries[name] = {"rps": rps, "p50_us": p50 * 1000, "p99_us": p99 * 1000,
                           "cpu": cpu, "ratio": ratio}
        table.append([name, rps_s, p50_s, p99_s, cpu_s, ratio_s])

    for name in order:
        line(name, by[name])
    line("(healthz)", rows, prefix="base_")

    def md_table(head, body):
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(r) + " |" for r in body]
        return out

    checks = []
    for name, desc, ok in TARGETS:
        if name in summaries:
            checks.append("%s: %s (median ratio %.3f, p99 %.2f ms)" % (
                "PASS" if ok(summaries[name]) else "FAIL", desc,
                summaries[name]["ratio"], summaries[name]["p99_us"] / 1000))

    statuses = ["%s: statuses %s; problem codes %s" % (
        name, " / ".join(r["statuses"] for r in by[name]),
        " / ".join(r["codes"] for r in by[name])) for name in order]

    md = ["# studiod benchmark results", "",
          "Produced by `make bench` (bench/run.sh). Each cell: median over the repetitions, "
          "(min..max). *ratio* = the scenario's req/s over the req/s of `GET /healthz` "
          "on the same server right before it, in the same repetition. Server CPU is "
          "utime+stime of the server process over the measured run, per completed request.",
          "", "## Machine", ""]
    md += ["- %s: %s" % kv for kv in machine()]
    md += ["", "## Settings", "", "- " + args.settings, "",
           "## Results", ""]
    md += md_table(header, table)
    md += ["", "## Targets (reported, not enforced)", ""] + ["- " + c for c in checks]
    md += ["", "## Statuses per repetition (measured runs)", ""] + ["- " + s for s in statuses]
    md += ["", "Server log lines at warn or above during the run: %s." % args.server_log_lines, ""]
    with open(args.out, "w") as f:
        f.write("\n".join(md))

    widths = [max(len(r[i]) for r in table + [header]) for i in range(len(header))]
    print()
    for r in [header] + table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print()
    for c in checks:
        print(c)
    print("bench: wrote %s" % args.out)


if __name__ == "__main__":
    main()
