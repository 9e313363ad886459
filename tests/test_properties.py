"""Property-based tests of the fail-closed invariants (issue "Fail closed, everywhere"): generated hostile
snapshots (tests/fuzzgen.py) are audited; a snapshot with any unknown, contradictory or unread declaration
never passes, a clean one passes, nothing raises an internal error, and every CLI error is one line naming its
input. benchmarks/fuzz_bench.py runs the same generator over 10,000+ cases."""
from __future__ import annotations

import os
import random
import signal
import tempfile

from click.testing import CliRunner
from fuzzgen import generate, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import audit
from audit.cli import main

CASE_SECONDS = 20  # a hang is a failure, not a slow test


class Hang(Exception):
    pass


def _audit(directory: str):
    def alarm(signum, frame):
        raise Hang(directory)

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(CASE_SECONDS)
    try:
        return audit.audit([directory], offline=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_a_poisoned_snapshot_never_passes_and_a_clean_one_does(seed):
    case = generate(random.Random(seed))
    with tempfile.TemporaryDirectory() as tmp:
        report = _audit(write(case, os.path.join(tmp, "model")))
    ok = report.passed and not report.errors
    if case.must_fail:
        assert not ok, f"seed {seed}: passed although {case.poison}: {case.files.get('README.md')!r}"
    else:
        assert ok, f"seed {seed}: a clean card failed: {[f.message for f in report.findings]} {report.errors}"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_cli_errors_are_one_line_naming_the_input(seed):
    case = generate(random.Random(seed))
    with tempfile.TemporaryDirectory() as tmp:
        directory = write(case, os.path.join(tmp, "model"))
        res = CliRunner().invoke(main, ["check", directory, "--offline", "--quiet"])
    assert res.exit_code in (0, 1, 2, 3), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    for line in res.stderr.splitlines():
        assert line.startswith("mlaudit: ") and "Traceback" not in line and "internal error" not in line, line
        assert directory in line or "(inputs)" in line, line
    if case.must_fail:
        assert res.exit_code != 0, (seed, case.poison)
