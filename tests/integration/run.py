#!/usr/bin/python3
"""kspan integration tests: the real agent, real eBPF, real processes on loopback.

Run as root, after `make` (needs build/kspan), with Debian's python (the
pyenv `python3` on PATH cannot import python3-protobuf):

    /usr/bin/python3 tests/integration/run.py              # everything
    /usr/bin/python3 tests/integration/run.py -k traceparent   # tests whose id
                                                  # contains "traceparent"
    /usr/bin/python3 tests/integration/run.py -k nginx -k ipv6 -v
    /usr/bin/python3 tests/integration/run.py --list      # ids only

`-k` is a case-insensitive substring of the test id
(module.Class.test_method); repeat it to select the union. `-v` logs every
process the harness starts. `make integration-tests` runs this file.

Packages (Debian): curl nginx-light (or nginx) python3 python3-protobuf
protobuf-compiler iproute2.

Output: one line per test (ok / FAIL / ERROR / skip, seconds), the failure
details, then `integration: N passed, M failed[, K skipped]`. The exit code
is non-zero when anything failed. A watchdog (KSPAN_IT_TIMEOUT seconds, 2400
by default) kills every child process and fails the run rather than hang.

Environment: KSPAN_BIN overrides build/kspan. The run holds /tmp/kspan.lock
(one kspan per machine); KSPAN_LOCK_HELD=1 when the caller holds it already.
"""

import argparse
import faulthandler
import fcntl
import os
import signal
import sys
import threading
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


class Result(unittest.TestResult):
    def __init__(self, out):
        super().__init__()
        self.out = out
        self.passed = []
        self.failed = []  # (name, text)
        self.skipped_ = []
        self.started = set()
        self.t0 = 0.0
        self.frozen = False  # set by the watchdog: report nothing more

    def _write(self, text):
        if not self.frozen:
            self.out.write(text)
            self.out.flush()

    def startTest(self, test):
        super().startTest(test)
        self.started.add(test.id())
        self.t0 = time.monotonic()

    def _line(self, word, test):
        name = test.id() if hasattr(test, "id") else str(test)
        dt = time.monotonic() - self.t0
        self._write("  %-5s %s (%.2fs)\n" % (word, name, dt))

    def _detail(self, test, err):
        text = self._exc_info_to_string(err, test)
        diag = ""
        if isinstance(test, harness.KspanCase):
            try:
                diag = test.diagnostics(text)
            except Exception:  # noqa: BLE001
                diag = ""
        return text + (("\n" + diag) if diag else "")

    def addSuccess(self, test):
        super().addSuccess(test)
        if self.frozen:
            return
        self.passed.append(test.id())
        self._line("ok", test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._bad("FAIL", test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._bad("ERROR", test, err)

    def _bad(self, word, test, err):
        if self.frozen:
            return
        name = test.id() if hasattr(test, "id") else str(test)
        if name in self.passed:  # a cleanup failed after the test body passed
            self.passed.remove(name)
        detail = self._detail(test, err)
        self.failed.append((name, detail))
        self._line(word, test)
        self._write(_indent(detail) + "\n")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.skipped_.append(test.id())
        self._line("skip", test)
        self._write("        %s\n" % reason)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None and not self.frozen:
            detail = self._detail(test, err)
            if test.id() not in {n for n, _ in self.failed}:
                self.failed.append((test.id(), "subtest failed"))
            self._write("  FAIL  %s\n%s\n" % (subtest.id(), _indent(detail)))


def _indent(text):
    return "\n".join("        " + line for line in text.rstrip().splitlines())


def summarize(result, selected, out, extra_failed=()):
    """Every selected test is passed, skipped or failed (failed includes
    tests that never reported: their class setup failed, or the run was cut
    short). Errors outside tests (a class teardown: kspan did not exit 0;
    the watchdog) count as failures of their own."""
    ids = [t.id() for t in selected]
    # a failed class setup is counted through the tests it kept from running
    bad = {n for n, _ in result.failed if not n.startswith("setUpClass (")} | set(extra_failed)
    passed = [i for i in ids if i in result.passed and i not in bad]
    skipped = [i for i in ids if i in result.skipped_ and i not in bad]
    failed_tests = [i for i in ids if i not in passed and i not in skipped]
    unreported = [i for i in failed_tests if i not in bad]
    extra = sorted(n for n in bad if n not in ids)
    for n in unreported:
        out.write("  FAIL  %s (not run to completion)\n" % n)
    failed = len(failed_tests) + len(extra)
    if failed:
        out.write("\nfailures:\n")
        for n in failed_tests + extra:
            out.write("  %s\n" % n)
    line = "integration: %d passed, %d failed" % (len(passed), failed)
    if skipped:
        line += ", %d skipped" % len(skipped)
    out.write(line + "\n")
    out.flush()
    return failed


MACHINE_LOCK = "/tmp/kspan.lock"


def hold_machine_lock(out):
    """One kspan per machine: two agents share the sockhash and insert each
    other's ids. Every command that starts kspan takes this lock (held until
    this process exits); KSPAN_LOCK_HELD=1 says a caller holds it already
    (`flock /tmp/kspan.lock ...`), and locking again would wait forever."""
    if os.environ.get("KSPAN_LOCK_HELD") == "1":
        return
    f = open(MACHINE_LOCK, "a")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        out.write("waiting for %s: another kspan test or benchmark runs\n" % MACHINE_LOCK)
        out.flush()
        fcntl.flock(f, fcntl.LOCK_EX)
    os.environ["KSPAN_LOCK_HELD"] = "1"
    hold_machine_lock.file = f  # kept open: closing it would release the lock


def main():
    ap = argparse.ArgumentParser(description="kspan integration tests")
    ap.add_argument("-k", action="append", default=[], help="substring of test ids to run")
    ap.add_argument("-v", action="store_true", help="log every process started")
    ap.add_argument("--list", action="store_true", help="list test ids and exit")
    a = ap.parse_args()
    harness.VERBOSE = a.v
    out = sys.stdout

    loader = unittest.TestLoader()
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    tests = list(iter_tests(suite))
    broken = [t for t in tests if type(t).__name__ == "_FailedTest"]
    if a.k:
        keys = [k.lower() for k in a.k]
        tests = [t for t in tests if any(k in t.id().lower() for k in keys)]
    if a.list:
        for t in tests:
            out.write(t.id() + "\n")
        return 0
    if not tests:
        out.write("no test matches %r\n" % a.k)
        out.write("integration: 0 passed, 1 failed\n")
        return 1
    if os.geteuid() != 0:
        out.write("integration tests need root (eBPF)\n")
        out.write("integration: 0 passed, %d failed\n" % len(tests))
        return 1

    hold_machine_lock(out)
    result = Result(out)
    limit = float(os.environ.get("KSPAN_IT_TIMEOUT", "2400"))

    def watchdog():
        result.frozen = True
        out.write("\nWATCHDOG: the suite ran longer than %.0f s; stacks:\n" % limit)
        out.flush()
        faulthandler.dump_traceback(file=sys.stdout, all_threads=True)
        harness.shutdown_suite()
        summarize(result, tests, out, extra_failed=["watchdog: suite timed out"])
        out.flush()
        os._exit(1)

    timer = threading.Timer(limit, watchdog)
    timer.daemon = True
    timer.start()

    def on_signal(signum, frame):
        result.frozen = True
        harness.shutdown_suite()
        out.write("\ninterrupted by %s\n" % signal.Signals(signum).name)
        summarize(result, tests, out, extra_failed=["interrupted"])
        os._exit(1)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    out.write("kspan integration tests: %d selected, agent %s\n" % (len(tests), harness.KSPAN_BIN))
    out.flush()
    t0 = time.monotonic()
    try:
        unittest.TestSuite(tests).run(result)
    except Exception:  # noqa: BLE001
        traceback.print_exc(file=out)
        result.failed.append(("runner", traceback.format_exc()))
    finally:
        if result.frozen:  # the watchdog or a signal handler is ending the run
            time.sleep(60)
            os._exit(1)
        timer.cancel()
        harness.shutdown_suite()
    out.write("\n%.1f s\n" % (time.monotonic() - t0))
    failed = summarize(result, tests, out)
    return 1 if failed or broken else 0


if __name__ == "__main__":
    sys.exit(main())
