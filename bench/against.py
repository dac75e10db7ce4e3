"""This tree against another git ref, in one run: `python -m bench --against REF`.

`git archive REF src` is unpacked into a temporary directory; each measurement runs in a fresh
`python -m bench.engine_bench --ab` subprocess pinned to CPU 0, with PYTHONPATH naming this
tree's src/ or the ref's, alternately (before, after, before, after, ...), so a machine that
speeds up or slows down during the run weighs on both alike. The best of the repeats counts for
each side (noise on a shared machine only ever makes things slower). Only engine-level things
are measured (`Engine.apply`, `Engine.replay`): their API is the one that stays stable between
trees, where the sequencer's and the journal's may not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _measure(src: Path, args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    argv = [sys.executable, "-m", "bench.engine_bench", "--ab", "--cpu", "0", *args]
    r = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"engine_bench --ab on {src} failed: {r.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(r.stdout)
    if not out["tidepool"].startswith(str(src)):  # the other tree must really be the one measured
        raise RuntimeError(f"measured {out['tidepool']}, not the tree in {src}")
    return out


def run(ref: str, pieces: list[str], quick: bool) -> dict[str, Any]:
    book, sample, replay = (1000, 200, 5000) if quick else (100_000, 5000, 1_000_000)
    repeats = 2 if quick else 3
    args = ["--book", str(book), "--sample", str(sample)] if "engine" in pieces else []
    args += ["--replay", str(replay)] if "journal" in pieces else []
    if not args:
        raise ValueError("--against measures the engine and journal pieces; --only names neither")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    tmp = Path(tempfile.mkdtemp(prefix="tidepool-bench-against-"))
    try:
        tar = tmp / "src.tar"
        subprocess.run(["git", "archive", "-o", str(tar), ref, "src"], cwd=ROOT, check=True)
        subprocess.run(["tar", "-xf", str(tar), "-C", str(tmp)], check=True)
        trees = {"before": tmp / "src", "after": ROOT / "src"}
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for _ in range(repeats):
            for side, src in trees.items():
                runs[side].append(_measure(src, args))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows: list[dict[str, Any]] = []
    if "engine" in pieces:
        for key, what in (("create_resting_us", "create"), ("cancel_by_id_us", "cancel by id")):
            before = min(r[key] for r in runs["before"])
            after = min(r[key] for r in runs["after"])
            rows.append(
                {
                    "measure": f"engine {what} at {book:,} resting orders (µs)",
                    "before": before,
                    "after": after,
                    "ratio": after / before,
                    "goal": "<= 1.10",
                    "met": after <= 1.10 * before,
                }
            )
    if "journal" in pieces:
        before = max(r["replay"]["commands_per_s"] for r in runs["before"])
        after = max(r["replay"]["commands_per_s"] for r in runs["after"])
        rows.append(
            {
                "measure": f"Engine.replay of {replay:,} commands (commands/s)",
                "before": before,
                "after": after,
                "ratio": after / before,
                "goal": ">= 0.90",
                "met": after >= 0.90 * before,
            }
        )
    return {
        "ref": ref if commit.startswith(ref) else f"{ref} ({commit})",
        "repeats": repeats,
        "rows": rows,
        "runs": runs,
    }
