#!/usr/bin/env python3
"""Run the studiod end-to-end suite.

    python3 tests/e2e/run.py [--bin PATH] [-k PATTERN ...] [-x] [TEST ...]

Discovers tests/e2e/test_*.py, runs them with unittest (verbosity 2) and ends
with exactly one line `e2e: N passed, M failed[, K skipped]`. Exit status 1 on
any failure or error.
"""

import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def _is_holder(test):
    return type(test).__name__ == "_ErrorHolder"


def _case_id(test):
    inner = getattr(test, "test_case", None)   # a subtest
    return (inner or test).id()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="studiod binary (default: $STUDIOD_BIN or build/test/studiod)")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only tests whose name contains / matches this pattern (repeatable)")
    ap.add_argument("-x", "--failfast", action="store_true", help="stop at the first failure")
    ap.add_argument("-q", "--quiet", action="store_true", help="verbosity 1")
    ap.add_argument("tests", nargs="*",
                    help="test names (e.g. test_yoga or test_yoga.YogaTest.test_x)")
    args = ap.parse_args(argv)

    if args.bin:
        path = args.bin
        if not os.path.isabs(path):
            # relative to the current directory if it exists there, else the repo root
            path = os.path.abspath(path) if os.path.exists(path) else os.path.join(REPO_ROOT, path)
        os.environ["STUDIOD_BIN"] = path

    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [p if "*" in p else "*%s*" % p for p in args.patterns]
    if args.tests:
        suite = unittest.TestSuite()
        for name in args.tests:
            name = name[:-3] if name.endswith(".py") else name
            suite.addTests(loader.loadTestsFromName(os.path.basename(name)))
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)

    runner = unittest.TextTestRunner(verbosity=1 if args.quiet else 2,
                                     failfast=args.failfast, stream=sys.stderr)
    result = runner.run(suite)

    # Count tests, not failure reports: a test whose subtests and cleanup both
    # fail is one failed test. Errors outside a test (setUpClass, tearDownClass)
    # count as one failure each.
    failed_ids, outside = set(), 0
    for test, _ in result.failures + result.errors:
        if isinstance(test, unittest.TestCase) and not _is_holder(test):
            failed_ids.add(_case_id(test))
        else:
            outside += 1
    for test in result.unexpectedSuccesses:
        failed_ids.add(_case_id(test))
    skipped = len(result.skipped)
    passed = max(0, result.testsRun - len(failed_ids) - skipped)
    failed = len(failed_ids) + outside
    line = "e2e: %d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    sys.stderr.flush()
    print(line, flush=True)
    return 1 if failed or not result.wasSuccessful() else 0


if __name__ == "__main__":
    sys.exit(main())
