#!/usr/bin/env python3
"""Run the interpreter's own, unmodified ``test/test_ftplib.py`` against rftplib.

The stdlib module is imported first (so rftplib's own reference to it is the
real one), then ``sys.modules['ftplib']`` is replaced by the module under test
*before* ``test.test_ftplib`` is imported; the test file does ``import ftplib``
once and only uses ``ftplib.<name>`` afterwards.

    python3 runner.py                       # non-TLS classes against rftplib
    python3 runner.py --tls --repeat 3 -v   # plus the TLS classes, three times
    python3 runner.py --module ftplib       # control run against the stdlib itself

Outcomes are counted from the result callbacks, never from ``testsRun``
(3.12.1 leaves skipped tests out of it).  A loaded test that reports no
outcome at all is counted as an error.

The last line of stdout is ``N passed, M failed`` (``, K skipped`` when any
test was skipped), summed over all repetitions; M counts failures, errors,
unexpected successes and tests that never reported.  Exit status:
0 all passed; 1 something failed; 2 the run could not happen (bad arguments,
``import test.test_ftplib`` failed, no test ran); 3 nothing failed but a test
that should run was skipped in every repetition (see ``--allow-skips``).  A
test skipped in some repetitions and passed in the others (the suite skips
``test_source_address*`` when the port it picked got taken meanwhile) is only
reported.  So are tests slower than ``--slow`` seconds, since a client that
blocks its in-process server usually shows up as a wait for a timeout.

Runs on CPython 3.9 to 3.13 and imports nothing outside the stdlib and the
module under test.
"""

import argparse
import faulthandler
import importlib
import json
import os
import sys
import time
import traceback
import unittest
import warnings

DEFAULT_CLASSES = (
    "TestFTPClass",
    "TestIPv6Environment",
    "TestTimeouts",
    "MiscTestCase",
)
TLS_CLASSES = ("TestTLS_FTPClassMixin", "TestTLS_FTPClass")

# Skips that are part of the stock suite on every version; any other skip
# means a test that should run did not, which the report makes loud.
EXPECTED_SKIPS = {
    "TestTLS_FTPClass.test_check_hostname": "@skipUnless(False, 'FIXME: bpo-32706')",
}

# Name used for errors raised outside any test (setUpModule, setUpClass,
# module cleanups), which unittest reports through an _ErrorHolder.
FIXTURES = "<fixtures>"

STATUSES = (
    "passed",
    "failed",
    "errors",
    "skipped",
    "expected_failures",
    "unexpected_successes",
    "not_run",
)
FAILING = ("failed", "errors", "unexpected_successes", "not_run")
# When a test reports more than one outcome (subtests), the worst one wins.
SEVERITY = {
    s: i
    for i, s in enumerate(
        (
            "passed",
            "expected_failures",
            "skipped",
            "unexpected_successes",
            "failed",
            "errors",
            "not_run",
        )
    )
}

SHORT = {
    "passed": "ok",
    "failed": "FAIL",
    "errors": "ERROR",
    "skipped": "skipped",
    "expected_failures": "expected failure",
    "unexpected_successes": "unexpected success",
    "not_run": "NOT RUN",
}


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Run CPython's test_ftplib against rftplib (or, as a control, ftplib)."
    )
    parser.add_argument(
        "--module",
        default="rftplib",
        help="module to test; anything but 'ftplib' is installed as sys.modules['ftplib'] (default: rftplib)",
    )
    parser.add_argument(
        "--classes",
        default=",".join(DEFAULT_CLASSES),
        help="comma-separated test classes of test_ftplib (default: %(default)s)",
    )
    parser.add_argument(
        "--tls", action="store_true", help="add " + " and ".join(TLS_CLASSES)
    )
    parser.add_argument(
        "-k",
        dest="patterns",
        action="append",
        default=[],
        help="only run test methods matching this substring or fnmatch pattern (repeatable)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run the selection N times in this process and sum the counts (default: 1)",
    )
    parser.add_argument(
        "--test-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="dump all thread stacks and exit 1 if one test (or fixture) runs longer (default: 120; 0 disables)",
    )
    parser.add_argument(
        "--allow-skips",
        action="store_true",
        help="exit 0 even if tests that should run were skipped (they are still reported)",
    )
    parser.add_argument(
        "--slow",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="report tests that take longer than this (default: 5)",
    )
    parser.add_argument(
        "--json", metavar="PATH", help="also write the results to PATH as JSON"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print every test and its outcome"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    if args.tls:
        classes += TLS_CLASSES
    args.classes = list(dict.fromkeys(classes))
    if not args.classes:
        parser.error("no test class selected")
    return args


def import_suite(module_name):
    """Import the module under test, swap it in as ftplib, import test_ftplib.

    Returns (module under test, test.test_ftplib).  Raises on any problem.
    """
    import ftplib as stdlib_ftplib  # the real one, before anything can shadow it

    if module_name == "ftplib":
        module = stdlib_ftplib
    else:
        if "test.test_ftplib" in sys.modules:
            raise RuntimeError("test.test_ftplib was imported before the swap")
        module = importlib.import_module(module_name)
        if module is stdlib_ftplib:
            raise RuntimeError(f"{module_name!r} imported as the stdlib ftplib itself")
        sys.modules["ftplib"] = module

    from test import test_ftplib

    if test_ftplib.ftplib is not module:
        raise RuntimeError(
            f"test_ftplib.ftplib is {test_ftplib.ftplib!r}, not the module under test {module!r}"
        )
    return module, test_ftplib


class CountingResult(unittest.TestResult):
    """Records one final outcome per test id, counted from the callbacks."""

    def __init__(self, verbose=False, test_timeout=0.0):
        super().__init__()
        self.verbose = verbose
        self.test_timeout = test_timeout
        self.outcomes = {}  # id -> dict(cls, name, status, details, reason, duration)
        self._started = {}  # id -> perf_counter at startTest

    # -- bookkeeping -------------------------------------------------------

    @staticmethod
    def _identify(test):
        if isinstance(test, unittest.case._SubTest):
            test = test.test_case
        if isinstance(test, unittest.TestCase):
            cls, name = type(test).__name__, test._testMethodName
            return f"{cls}.{name}", cls, name
        # _ErrorHolder for setUpModule/setUpClass/tearDown*/module cleanups
        desc = str(test)
        return f"{FIXTURES} {desc}", FIXTURES, desc

    def _record(self, test, status, err=None, reason=None):
        key, cls, name = self._identify(test)
        entry = self.outcomes.get(key)
        if entry is None:
            entry = self.outcomes[key] = {
                "class": cls,
                "name": name,
                "status": status,
                "details": [],
                "reason": None,
                "duration": None,
            }
        elif SEVERITY[status] > SEVERITY[entry["status"]]:
            entry["status"] = status
        if err is not None:
            label = str(test) if isinstance(test, unittest.case._SubTest) else None
            text = (
                self._exc_info_to_string(err, test)
                if isinstance(err, tuple)
                else str(err)
            )
            entry["details"].append((label, text))
        if reason is not None:
            entry["reason"] = reason
        if cls == FIXTURES:
            self._report(key)

    def _report(self, key):
        entry = self.outcomes.get(key)
        if not self.verbose or entry is None:
            return
        line = f"{key} ... {SHORT[entry['status']]}"
        if entry["reason"]:
            line += f" ({entry['reason']})"
        if entry["duration"] is not None:
            line += f" [{entry['duration']:.2f}s]"
        print(line, flush=True)

    def _arm_watchdog(self):
        if self.test_timeout > 0:
            faulthandler.dump_traceback_later(self.test_timeout, exit=True)

    # -- unittest.TestResult API ---------------------------------------------

    def startTest(self, test):
        super().startTest(test)
        self._started[test.id()] = time.perf_counter()
        self._arm_watchdog()

    def stopTest(self, test):
        super().stopTest(test)
        self._arm_watchdog()  # re-armed, so a hang in class fixtures is caught too
        key = self._identify(test)[0]
        start = self._started.pop(test.id(), None)
        if key in self.outcomes and start is not None:
            self.outcomes[key]["duration"] = time.perf_counter() - start
        self._report(key)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failed", err)

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "errors", err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason=reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, "expected_failures", err)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, "unexpected_successes", "unexpected success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            status = "failed" if issubclass(err[0], test.failureException) else "errors"
            self._record(subtest, status, err)

    def mark_not_run(self, tests):
        """Count every loaded test that reported nothing as an error."""
        for test in tests:
            key = self._identify(test)[0]
            if key not in self.outcomes:
                self._record(
                    test, "not_run", "the test was loaded but reported no outcome"
                )
                self._report(key)


def iter_tests(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iter_tests(item)
        else:
            yield item


def build_suite(test_ftplib, classes, patterns):
    loader = unittest.TestLoader()
    if patterns:
        loader.testNamePatterns = [
            p if any(c in p for c in "*?[") else f"*{p}*" for p in patterns
        ]
    return unittest.TestSuite(
        loader.loadTestsFromTestCase(getattr(test_ftplib, name)) for name in classes
    )


def run_once(test_ftplib, args):
    """One repetition: a fresh suite and result, module fixtures included."""
    from test import support

    suite = build_suite(test_ftplib, args.classes, args.patterns)
    loaded = list(iter_tests(suite))
    result = CountingResult(verbose=args.verbose, test_timeout=args.test_timeout)
    support.environment_altered = False
    started = time.perf_counter()
    # What unittest.main() + TextTestRunner do: the 'default' warning filter
    # unless -W was given, startTestRun/stopTestRun around a top-level suite
    # run.  The top-level TestSuite.run() calls setUpModule and, at the end,
    # tearDownModule and the module cleanups that setUpModule registered
    # (threading_helper.threading_cleanup).
    with warnings.catch_warnings():
        if not sys.warnoptions:
            warnings.simplefilter("default")
        result.startTestRun()
        result._arm_watchdog()
        try:
            suite.run(result)
        finally:
            if args.test_timeout > 0:
                faulthandler.cancel_dump_traceback_later()
            result.stopTestRun()
    result.mark_not_run(loaded)
    return {
        "outcomes": result.outcomes,
        "seconds": time.perf_counter() - started,
        "environment_altered": bool(getattr(support, "environment_altered", False)),
    }


def count(outcomes):
    """Per-class counts of one repetition."""
    per_class = {}
    for entry in outcomes.values():
        counts = per_class.setdefault(entry["class"], dict.fromkeys(STATUSES, 0))
        counts[entry["status"]] += 1
    return per_class


def add_counts(into, counts):
    for status in STATUSES:
        into[status] += counts[status]


def total(per_class):
    summed = dict.fromkeys(STATUSES, 0)
    for counts in per_class.values():
        add_counts(summed, counts)
    return summed


def summary(counts):
    failed = sum(counts[s] for s in FAILING)
    text = f"{counts['passed']} passed, {failed} failed"
    if counts["skipped"]:
        text += f", {counts['skipped']} skipped"
    return text


def print_table(per_class, repeat):
    heads = ("passed", "failed", "errors", "skipped", "xfail", "xpass", "not run")
    print(f"\nper class, {repeat} repetition(s):")
    print(f"  {'class':<24} {'tests':>6} " + " ".join(f"{h:>7}" for h in heads))
    for cls, counts in per_class.items():
        cells = " ".join(f"{counts[s]:>7}" for s in STATUSES)
        print(f"  {cls:<24} {sum(counts.values()):>6} {cells}")


def collect_failures(repetitions):
    return [
        {
            "repetition": rep,
            "test": key,
            "status": entry["status"],
            "details": entry["details"],
        }
        for rep, run in enumerate(repetitions, 1)
        for key, entry in run["outcomes"].items()
        if entry["status"] in FAILING
    ]


def print_failures(failures):
    """Each failure with its traceback; a traceback already shown is referred to."""
    if not failures:
        return
    shown = {}
    print()
    for failure in failures:
        print("=" * 72)
        print(
            f"{SHORT[failure['status']]}: {failure['test']} (repetition {failure['repetition']})"
        )
        print("-" * 72)
        for label, text in failure["details"]:
            prefix = f"{label}: " if label else ""
            key = (failure["test"], label, text)
            if key in shown:
                print(f"{prefix}(same traceback as repetition {shown[key]})")
                continue
            shown[key] = failure["repetition"]
            if label:
                print(prefix.rstrip())
            print(text.rstrip("\n"))
    print("=" * 72)


def collect_unexpected_skips(repetitions):
    """Skips other than EXPECTED_SKIPS, with whether the test passed in another
    repetition (an environmental skip, such as the port that
    socket_helper.find_unused_port() picked being taken before the test binds
    it) or was never verified at all."""
    skips = {}
    for run in repetitions:
        for key, entry in run["outcomes"].items():
            if entry["status"] == "skipped" and key not in EXPECTED_SKIPS:
                skip = skips.setdefault(key, {"reason": entry["reason"], "times": 0})
                skip["times"] += 1
    for key, skip in skips.items():
        skip["verified"] = any(
            run["outcomes"].get(key, {}).get("status") == "passed"
            for run in repetitions
        )
    return skips


def collect_slow(repetitions, threshold):
    """Tests slower than threshold: a client waiting out a timeout shows up
    here even when the test passes."""
    return [
        {"repetition": rep, "test": key, "seconds": round(entry["duration"], 2)}
        for rep, run in enumerate(repetitions, 1)
        for key, entry in run["outcomes"].items()
        if entry["duration"] is not None and entry["duration"] > threshold
    ]


def print_warnings(skips, slow, threshold, module_name):
    bar = "!" * 72
    never = {k: v for k, v in sorted(skips.items()) if not v["verified"]}
    if never:
        print(bar)
        print(
            f"UNEXPECTED SKIPS: {len(never)} test(s) were skipped that should have "
            f"run; {module_name} is NOT verified by them:"
        )
        for key, skip in never.items():
            print(f"  {key}: {skip['reason']} (x{skip['times']})")
        print(bar)
    sometimes = {k: v for k, v in sorted(skips.items()) if v["verified"]}
    if sometimes:
        print("warning: skipped in some repetitions, passed in the others:")
        for key, skip in sometimes.items():
            print(f"  {key}: {skip['reason']} (x{skip['times']})")
    if slow:
        print(
            f"warning: tests slower than {threshold:g} s (a client waiting out a timeout?):"
        )
        for item in slow:
            print(
                f"  {item['test']} (repetition {item['repetition']}): {item['seconds']} s"
            )
    sys.stdout.flush()


def main(argv=None):
    args = parse_args(argv)
    faulthandler.enable()
    print(
        f"CPython test_ftplib runner: python {sys.version.split()[0]} ({sys.executable})"
    )

    try:
        module, test_ftplib = import_suite(args.module)
    except Exception as exc:  # noqa: BLE001  ImportError, SkipTest from requires_working_socket, ...
        traceback.print_exc()
        print(
            f"cannot run: import of {args.module} / test.test_ftplib failed: {exc!r}",
            flush=True,
        )
        return 2

    swapped = "" if args.module == "ftplib" else ", installed as sys.modules['ftplib']"
    print(
        f"module under test: {module.__name__} from {getattr(module, '__file__', '?')}{swapped}"
    )
    print(f"test file: {test_ftplib.__file__}")

    available = sorted(
        name
        for name, value in vars(test_ftplib).items()
        if isinstance(value, type)
        and issubclass(value, unittest.TestCase)
        and value.__module__ == test_ftplib.__name__
    )
    unknown = [c for c in args.classes if c not in available]
    if unknown:
        print(
            f"cannot run: unknown test class(es) {', '.join(unknown)}; test_ftplib has {', '.join(available)}"
        )
        return 2
    print(f"classes: {', '.join(args.classes)}")
    print(f"repetitions: {args.repeat}", flush=True)

    repetitions = []
    for rep in range(1, args.repeat + 1):
        if args.verbose:
            print(f"\n--- repetition {rep}/{args.repeat} ---", flush=True)
        run = run_once(test_ftplib, args)
        run["counts"] = count(run["outcomes"])
        run["total"] = total(run["counts"])
        repetitions.append(run)
        note = ", Python threads left running" if run["environment_altered"] else ""
        print(
            f"repetition {rep}/{args.repeat}: {summary(run['total'])} ({run['seconds']:.1f} s{note})",
            flush=True,
        )

    # Summed over repetitions; the selected classes first, in their order, then <fixtures> if any.
    names = list(args.classes) + sorted(
        {c for run in repetitions for c in run["counts"]} - set(args.classes)
    )
    per_class = {}
    for cls in names:
        per_class[cls] = dict.fromkeys(STATUSES, 0)
        for run in repetitions:
            if cls in run["counts"]:
                add_counts(per_class[cls], run["counts"][cls])
    grand = total(per_class)
    print_table(per_class, args.repeat)

    failures = collect_failures(repetitions)
    print_failures(failures)
    unexpected_skips = collect_unexpected_skips(repetitions)
    slow = collect_slow(repetitions, args.slow)
    print_warnings(unexpected_skips, slow, args.slow, module.__name__)
    if any(run["environment_altered"] for run in repetitions):
        print(
            "warning: threading_cleanup() found Python threads still running after a repetition "
            "(see the 'Warning --' lines on stderr)"
        )

    failed = sum(grand[s] for s in FAILING)
    if grand["passed"] + grand["expected_failures"] + failed == 0:
        print("cannot run: no test ran")
        exit_code = 2
    elif failed:
        exit_code = 1
    elif not args.allow_skips and not all(
        skip["verified"] for skip in unexpected_skips.values()
    ):
        exit_code = 3
    else:
        exit_code = 0

    if args.json:
        payload = {
            "python": ".".join(map(str, sys.version_info[:3])),
            "executable": sys.executable,
            "module": module.__name__,
            "module_file": getattr(module, "__file__", None),
            "test_file": test_ftplib.__file__,
            "classes": args.classes,
            "repeat": args.repeat,
            "repetitions": [
                {
                    key: run[key]
                    for key in ("counts", "total", "seconds", "environment_altered")
                }
                for run in repetitions
            ],
            "per_class": per_class,
            "total": grand,
            "failures": failures,
            "unexpected_skips": unexpected_skips,
            "slow": slow,
            "exit_code": exit_code,
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1)

    sys.stderr.flush()
    print()
    print(summary(grand), flush=True)
    return exit_code


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter shutdown: a broken client can leave threads behind that
    # would otherwise keep the process (and the caller's timeout) waiting.
    os._exit(status)
