"""The benchmark suite still runs: `python -m bench --quick --against HEAD` end to end.

Quick mode runs every piece (engine, journal, memory/GC, signed HTTP load against the ceilings
and a real `tidepool serve`, large reads, the sandbox's snapshot/revert, reset and start to
ready, WebSocket fan-out, push latency and REST under listeners) tiny, and the cross-tree
comparison against HEAD's src/, in seconds. This checks only that it ran and wrote a report
with the expected shape; the numbers are meaningless at this size and no timing is asserted.
Part of the normal pytest run (marked e2e like the other tests that start servers; not
deselected by default).
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
        [sys.executable, "-m", "bench", "--quick", "--out", str(out), "--against", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    report = json.loads((out / "report.json").read_text())
    assert (out / "report.md").read_text().startswith("# Tidepool benchmark report")
    assert report["quick"] is True
    assert report["errors"] == {}
    assert {"nproc", "cpu_model", "python", "git_commit"} <= set(report["machine"])

    for row in report["engine"]["book_sizes"]:
        assert {"create_resting_us", "cancel_by_id_us", "cancel_by_cloid_us"} <= set(row)
    assert report["engine"]["cancel_all"]["orders_removed"] > 0

    journal = report["journal"]
    assert {r["durability"] for r in journal["sequencer"]} == {"none", "process", "fsync"}
    assert journal["recovery"]["replayed"] == journal["recovery"]["commands"]
    assert journal["startup"]["seconds"] > 0

    assert report["memory"]["orders"] > 0 and "max_ms" in report["memory"]

    runs = report["http"]["runs"]
    assert {(r["scenario"], r.get("layout", "one_process")) for r in runs} == {
        ("http_ceiling", "one_process"),
        ("verify_ceiling", "one_process"),
        ("verify_ceiling", "workers"),
        ("creates", "one_process"),
        ("cancels", "one_process"),
        ("creates_without_maker", "one_process"),
        ("cancels_without_maker", "one_process"),
        ("creates_market_maker", "one_process"),
        ("cancels_market_maker", "one_process"),
        ("creates", "workers"),
        ("cancels", "workers"),
    }
    for run in runs:
        assert run["completed"] > 0, run["scenario"]
        # every signed request was accepted as authentic: no 5xx, no 4xx (the cancels target
        # orders the creates left resting; the ceilings' cancels of unknown ids verify as 200)
        assert set(run["statuses_all"]) == {"200"}, run

    reads = report["large_reads"]
    assert [r["looping"] for r in reads["rows"]] == ["none", "state_hash", "orders"]
    for row in reads["rows"]:
        assert row["statuses"] == {"200": sum(row["statuses"].values())}, row
    assert all(r["looper_reads_per_s"] > 0 for r in reads["rows"][1:])

    sandbox = report["sandbox"]
    assert [r["resting_orders"] for r in sandbox["cheats"]] == [200, 1000]
    for row in sandbox["cheats"]:
        assert row["snapshot_then_revert_ms"] > 0 and row["reset_ms"] > 0, row
        assert row["reset_free_longest_piece_ms"] > 0 and row["revert_free_ms"] > 0, row
        assert row["snapshot_bytes"] > 0
    assert 0 < sandbox["start"]["listening_s"] <= sandbox["start"]["ready_s"]

    ws = report["ws"]
    sizes = ws["fanout"]["sizes"]
    assert [s["subscribers"] for s in sizes] == ws["plan"]["sizes"][1:]
    for size in sizes:  # both sides delivered to every subscriber, and none was dropped
        assert size["tidepool_us"] > 0 and size["reference_us"] > 0 and size["closed"] == 0
    for run in ws["fanout"]["runs"]:
        assert run["frames"] > 0 or run["subscribers"] == 0, run
        if run["server"] == "tidepool":  # every crossing create of the driver was accepted
            assert set(run["statuses"]) == {"200"} and run["trades"] > 0, run
    for way in ("rest", "ws"):  # every timed cancel's push arrived
        assert ws["latency"][way]["p99_ms"] is not None
    assert [r["scenario"] for r in ws["rest_runs"]] == [
        "verify_ceiling",
        "creates",
        "cancels",
        "cancels",
        "verify_ceiling",
    ]
    assert all(set(r["statuses_all"]) == {"200"} for r in ws["rest_runs"])

    # the other tree (HEAD's src/, unpacked elsewhere) was really imported and measured
    ab = report["against"]
    assert [r["measure"].split(" at ")[0] for r in ab["rows"][:2]] == [
        "engine create",
        "engine cancel by id",
    ]
    assert ab["rows"][2]["measure"].startswith("Engine.replay")
    before = {r["tidepool"] for r in ab["runs"]["before"]}
    assert not any(path.startswith(str(ROOT)) for path in before), before

    names = " / ".join(t["name"] for t in report["targets"])
    for words in (
        "verify ceiling",
        "--workers 2",
        "signed cancels with --market-maker",
        "engine cancel",
        "cancel_all",
        "recovery",
        "GC pause",
        "loops orders",
        "snapshot then revert at 1,000",
        "reset with 1,000",
        "start to ready",
        "WS fan-out",
        "account_order_updates push after a WS cancel",
        "WS subscribers listening",
        "this tree / HEAD",
    ):
        assert words in names, words
    for t in report["targets"]:
        assert {"goal", "value", "met"} <= set(t)
