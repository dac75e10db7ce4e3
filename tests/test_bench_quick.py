"""The benchmark suite still runs: `python -m bench --quick` end to end, no timing assertions.

Quick mode runs every piece (engine, pipeline, journal, memory/GC, signed HTTP load against the
ceilings and a real `tidepool serve`) tiny, in seconds. This checks only that it ran and wrote a
report with the expected shape; the numbers are meaningless at this size. Part of the normal
pytest run (marked e2e like the other tests that start servers; not deselected by default).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.e2e


def test_bench_quick_writes_a_complete_report(tmp_path: Path) -> None:
    out = tmp_path / "results"
    r = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    report = json.loads((out / "report.json").read_text())
    assert (out / "report.md").read_text().startswith("# Tidepool benchmark report")

    assert report["quick"] is True
    assert report["errors"] == {}
    assert {"nproc", "cpu_model", "python"} <= set(report["machine"])
    for piece in ("engine", "counters", "pipeline", "journal", "memory", "http", "large_reads"):
        assert piece in report, piece
    counters = report["counters"]  # CPU counters need perf and permission to count
    if counters["available"]:
        kinds = {r["kind"] for r in counters["rows"]}
        assert kinds == {"create_resting", "cancel_by_id", "cancel_by_cloid"}
        assert all(r["instructions"] > 0 and "cache-misses" in r for r in counters["rows"])
    else:
        assert counters["reason"]

    eng = report["engine"]
    assert {"book_sizes", "cancel_all", "matching_mix"} <= set(eng)
    for row in eng["book_sizes"]["rows"]:
        assert {"create_resting_us", "cancel_by_id_us", "cancel_by_cloid_us"} <= set(row)
    assert {"us_per_order", "total_ms"} <= set(eng["cancel_all"]["rows"][0])

    journal = report["journal"]
    assert {"store", "sequencer", "snapshot", "recovery"} <= set(journal)
    assert {r["durability"] for r in journal["sequencer"]["rows"]} == {"none", "process", "fsync"}
    assert journal["recovery"]["replayed"] == journal["recovery"]["commands"]

    memory = report["memory"]
    assert "rss_bytes_per_order" in memory["rss_and_gc"]
    assert "gc_full_collect_ms" in memory["rss_and_gc"]

    runs = report["http"]["runs"]
    scenarios = {r["scenario"] for r in runs}
    assert {
        "http_ceiling",
        "verify_ceiling",
        "creates",
        "cancels",
        "cancel_unknown",
        "mix",
    } <= scenarios
    for run in runs:
        assert run["completed"] > 0, run["scenario"]
        assert {"throughput_rps", "latency_ms", "statuses_all"} <= set(run)
        assert {"p50", "p99", "p99.9"} <= set(run["latency_ms"])
        # saturation runs count the server's CPU events per request wherever perf can count
        if counters["available"] and not run["target_rate"]:
            per_request = run["server_counters_per_request"]
            assert per_request is not None and per_request["cycles"] > 0, run["scenario"]
    # every signed request was accepted as authentic (no 5xx, no signature rejections)
    for run in runs:
        assert not any(code.startswith("5") for code in run["statuses_all"]), run
    ok_creates = sum(r["statuses_all"].get("200", 0) for r in runs if r["scenario"] == "creates")
    assert ok_creates > 0
    ok_cancels = sum(r["statuses_all"].get("200", 0) for r in runs if r["scenario"] == "cancels")
    assert ok_cancels > 0

    reads = report["large_reads"]
    assert [r["looping"] for r in reads["rows"]] == ["none", "state_hash", "orders"]
    for row in reads["rows"]:
        assert row["statuses"] == {"200": sum(row["statuses"].values())}, row
        assert {"p50_ms", "p99_ms", "p99_ratio"} <= set(row)
    assert all(r["looper_reads_per_s"] > 0 for r in reads["rows"][1:])

    names = [t["name"] for t in report["targets"]]
    assert any("verify ceiling" in n for n in names)
    assert any("recovery" in n for n in names)
    assert any("GC pause" in n for n in names)
    assert any("loops orders" in n for n in names)
    for t in report["targets"]:
        assert {"goal", "value", "met"} <= set(t)
