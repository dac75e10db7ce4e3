"""What the pytest plugin's `tidepool` fixture costs a test (issue 16: at most 30 ms).

    python -m bench.pytest_overhead [TESTS]        (default 300 tests a run)

Two pytest runs in subprocesses, each of TESTS empty tests on the plugin's own server: in one
the tests ask for `tidepool_server` only, in the other for `tidepool` (a Client made and closed,
a sandbox snapshot before the test and a revert after it). A conftest times each test's whole
run (setup, call, teardown) with the runtest hook; the first test, which starts the server, is
left out. The fixture's cost is the difference of the medians. Printed, never asserted: the
machine is shared.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CONFTEST = """
import json, time, pytest

took = []

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        took.append(time.perf_counter() - start)

def pytest_sessionfinish(session):
    with open("durations.json", "w") as out:
        json.dump(took[1:], out)  # the first test started the server
"""

TESTS = """
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_nothing({fixture}, n):
    pass
"""


def _run(workdir: Path, fixture: str, count: int) -> list[float]:
    (workdir / "conftest.py").write_text(CONFTEST)
    (workdir / "test_overhead.py").write_text(TESTS.format(count=count, fixture=fixture))
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:tidepool", "-p", "tidepool.pytest_plugin"],
        cwd=workdir,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return [float(t) for t in json.loads((workdir / "durations.json").read_text())]


def _summary(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p90 = ms[int(len(ms) * 0.9)]
    return f"median {statistics.median(ms):6.2f} ms   p90 {p90:6.2f} ms   ({len(ms)} tests)"


def main(count: int) -> None:
    results = {}
    for fixture in ("tidepool_server", "tidepool"):
        with tempfile.TemporaryDirectory(prefix="tidepool-overhead-") as tmp:
            results[fixture] = _run(Path(tmp), fixture, count)
        print(f"{fixture:>16}: {_summary(results[fixture])}")
    cost = statistics.median(results["tidepool"]) - statistics.median(results["tidepool_server"])
    print(f"the tidepool fixture costs {cost * 1000:.2f} ms a test (target: at most 30 ms)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
