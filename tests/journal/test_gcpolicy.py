"""The server's GC policy (runtime/gcpolicy.py), in a fresh interpreter: it changes process-wide
collector state, which must not leak into the rest of the test session."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHECK = textwrap.dedent(
    """
    import gc, weakref
    from tidepool.runtime import gcpolicy

    before = gc.get_threshold()
    gcpolicy.install()
    gcpolicy.install()  # idempotent: one callback
    assert gc.get_threshold() == (700, 10, 2**31 - 1), gc.get_threshold()
    assert gc.callbacks.count(gcpolicy._after_collection) == 1

    class Node:
        pass

    # long-lived state: survives a gen-1 collection, then is frozen, never scanned again
    keep = [Node() for _ in range(5000)]
    gc.collect(1)
    assert gc.get_objects(2) == [], len(gc.get_objects(2))
    assert gc.get_freeze_count() >= 5000

    # short-lived cycles are still reclaimed by the young collections
    died = []
    a, b = Node(), Node()
    a.other, b.other = b, a
    weakref.finalize(a, died.append, "a")
    del a, b
    gc.collect(0)
    assert died == ["a"], died

    # an explicit full collection no longer walks the frozen state
    assert gc.collect() == 0

    gcpolicy.freeze_now()
    gcpolicy.uninstall()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    assert gcpolicy._after_collection not in gc.callbacks
    print("ok")
    """
)


def test_gc_policy_freezes_survivors_and_still_collects_young_cycles() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
