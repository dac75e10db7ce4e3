"""Targets (as ratios against the same run's ceilings) and the Markdown report."""

from __future__ import annotations

from typing import Any

Target = dict[str, Any]


SINGLE = "one_process"
WORKERS = "workers"


def _runs(report: dict[str, Any], scenario: str, layout: str = SINGLE) -> list[dict[str, Any]]:
    """Runs of one scenario; Tidepool's in one process layout (ceilings count as SINGLE)."""
    return [
        r
        for r in report.get("http", {}).get("runs", [])
        if r["scenario"] == scenario and r.get("layout", SINGLE) == layout
    ]


def _sat(report: dict[str, Any], scenario: str, layout: str = SINGLE) -> dict[str, Any] | None:
    for r in _runs(report, scenario, layout):
        if not r["target_rate"]:
            return r
    return None


def _target(
    name: str, goal: str, value: float | None, met: bool | None, detail: str = ""
) -> Target:
    return {"name": name, "goal": goal, "value": value, "met": met, "detail": detail}


def _ceiling_rps(report: dict[str, Any]) -> tuple[float, list[float]]:
    """The single-process verify ceiling: mean req/s of its saturation runs (the first one and
    the one measured again right after Tidepool's cancels), and each of them."""
    each = [r["throughput_rps"] for r in _runs(report, "verify_ceiling") if not r["target_rate"]]
    return (sum(each) / len(each) if each else 0.0), each


def _ceiling_cycles(report: dict[str, Any]) -> float | None:
    """The single-process verify ceiling's server cycles per request at saturation (mean of
    its runs), or None without counters."""
    each = [
        r["server_counters_per_request"]["cycles"]
        for r in _runs(report, "verify_ceiling")
        if not r["target_rate"] and "cycles" in (r.get("server_counters_per_request") or {})
    ]
    return sum(each) / len(each) if each else None


def _cycles_ratio(report: dict[str, Any], run: dict[str, Any]) -> float | None:
    """Ceiling cycles / this run's cycles per request: the throughput ratio the two would
    have on equal cores, whatever the VM's speed when each ran."""
    ceiling = _ceiling_cycles(report)
    mine = (run.get("server_counters_per_request") or {}).get("cycles")
    return ceiling / mine if ceiling and mine else None


def _http_targets(report: dict[str, Any]) -> list[Target]:
    out: list[Target] = []
    cancels = _sat(report, "cancels")
    ceiling, each = _ceiling_rps(report)
    if cancels and ceiling:
        ratio = cancels["throughput_rps"] / ceiling
        detail = (
            f"{cancels['throughput_rps']:.0f} / {ceiling:.0f} req/s "
            "(cancels of resting orders by client order id, durability process; the "
            "ceiling is the mean of its runs: " + ", ".join(f"{x:.0f}" for x in each) + ")"
        )
        by_cycles = _cycles_ratio(report, cancels)
        if by_cycles is not None:
            detail += (
                f"; by CPU cycles per request (independent of the VM's speed): {by_cycles:.2f}"
            )
        out.append(
            _target(
                "signed cancel throughput / verify ceiling", ">= 0.8", ratio, ratio >= 0.8, detail
            )
        )
    else:
        out.append(_target("signed cancel throughput / verify ceiling", ">= 0.8", None, None))
    workers = _sat(report, "cancels", WORKERS)
    if workers and ceiling:
        ratio = workers["throughput_rps"] / ceiling
        detail = (
            f"{workers['throughput_rps']:.0f} / {ceiling:.0f} req/s "
            "(2 gateway workers + engine process on both CPUs, sharing CPU 1 with the "
            "load generator)"
        )
        verify2 = _sat(report, "verify_ceiling", WORKERS)
        if verify2:
            reach = verify2["throughput_rps"] / ceiling
            detail += (
                f"; the verify ceiling itself in 2 processes reaches {reach:.2f} × on the same "
                f"cores, and --workers 2 is "
                f"{workers['throughput_rps'] / verify2['throughput_rps']:.2f} × of that"
            )
            # What these cores allow at best: the 2-process ceiling's reach scaled by how much
            # more CPU a request costs (cycles: independent of the VM's speed).
            bounds = [
                f"{label} {reach * r:.2f} ×"
                for label, run in (("--workers 2", workers), ("one process's work", cancels))
                if run is not None and (r := _cycles_ratio(report, run)) is not None
            ]
            if bounds:
                detail += (
                    "; at most, from cycles per request against the ceiling's, split over "
                    "these cores with no coordination loss: " + ", ".join(bounds)
                )
        out.append(
            _target(
                "stretch: signed cancels with --workers 2 / verify ceiling",
                ">= 1.5",
                ratio,
                ratio >= 1.5,
                detail,
            )
        )
    worst_p50 = worst_p99 = 0.0
    where50 = where99 = ""
    seen = False
    for scen, layout in [(x, y) for x in ("cancels", "creates", "mix") for y in (SINGLE, WORKERS)]:
        for r in _runs(report, scen, layout):
            rate = r["target_rate"]
            if not rate or rate > 2500:
                continue
            seen = True
            lat = r["latency_ms"]
            if lat["p50"] is not None and lat["p50"] > worst_p50:
                worst_p50, where50 = lat["p50"], f"{scen} ({layout}) @ {rate:.0f}/s"
            if lat["p99"] is not None and lat["p99"] > worst_p99:
                worst_p99, where99 = lat["p99"], f"{scen} ({layout}) @ {rate:.0f}/s"
    out.append(
        _target(
            "p50 latency up to 2.5k signed req/s (ms)",
            "< 1 ms",
            worst_p50 if seen else None,
            worst_p50 < 1.0 if seen else None,
            f"worst: {where50}",
        )
    )
    out.append(
        _target(
            "p99 latency up to 2.5k signed req/s (ms)",
            "< 5 ms",
            worst_p99 if seen else None,
            worst_p99 < 5.0 if seen else None,
            f"worst: {where99}",
        )
    )
    return out


def _engine_targets(report: dict[str, Any]) -> list[Target]:
    eng = report.get("engine")
    if not eng:
        return [
            _target("engine cancel (µs)", "<= 3 µs", None, None),
            _target("engine cancel_all (µs per order removed)", "<= 1 µs", None, None),
        ]
    rows = eng["book_sizes"]["rows"]
    worst = max(rows, key=lambda r: max(r["cancel_by_id_us"], r["cancel_by_cloid_us"]))
    w = max(worst["cancel_by_id_us"], worst["cancel_by_cloid_us"])
    per_size = ", ".join(
        f"{r['book_size']:,}: {r['cancel_by_id_us']:.2f}/{r['cancel_by_cloid_us']:.2f}"
        for r in rows
    )
    ca = eng["cancel_all"]["rows"]
    worst_ca = max(r["us_per_order"] for r in ca)
    biggest = max(ca, key=lambda r: r["orders_removed"])
    chunked = eng.get("cancel_all_chunked")
    if chunked:
        stall = _target(
            f"longest stall of a chunked cancel_all of {chunked['orders_removed']:,} orders (ms)",
            "<= a few ms (issue); 5 ms used here",
            chunked["max_chunk_ms"],
            chunked["max_chunk_ms"] <= 5.0,
            f"{chunked['chunks']} chunks of {chunked['chunk']:,} orders (what the gateway sends),"
            f" median chunk {chunked['median_chunk_ms']:.2f} ms; other requests run between "
            f"chunks. Unchunked it would be {biggest['total_ms']:.0f} ms.",
        )
    else:
        stall = _target(
            f"engine blocked by one cancel_all of {biggest['orders_removed']:,} orders (ms)",
            "<= a few ms (issue); 5 ms used here",
            biggest["total_ms"],
            biggest["total_ms"] <= 5.0,
            "not chunked: one command runs to completion on the event loop",
        )
    return [
        _target(
            "engine cancel (µs, worst book size, by id / by client id)",
            "<= 3 µs",
            w,
            w <= 3.0,
            f"book size: by id/by cloid µs = {per_size}",
        ),
        _target(
            "engine cancel_all (µs per order removed, worst size)",
            "<= 1 µs",
            worst_ca,
            worst_ca <= 1.0,
            ", ".join(f"{r['orders_removed']:,}: {r['us_per_order']:.2f}" for r in ca),
        ),
        stall,
    ]


def _journal_targets(report: dict[str, Any]) -> list[Target]:
    rec = report.get("journal", {}).get("recovery")
    if not rec:
        return [_target("recovery (commands/s)", ">= 200k/s", None, None)]
    rate = rec["commands_per_s"]
    out = [
        _target(
            "recovery: pure replay (commands/s)",
            ">= 200,000/s",
            rate,
            rate >= 200_000,
            f"{rec['replayed']:,} commands replayed from genesis in {rec['seconds']:.1f} s "
            "with Tidepool's GC policy, in a fresh process as at start-up"
            + (
                f" ({rec['default_gc_commands_per_s']:,.0f}/s with the default GC)"
                if "default_gc_commands_per_s" in rec
                else ""
            ),
        )
    ]
    up = report.get("journal", {}).get("startup")
    if up:
        history_rate = up["commands"] / up["seconds"] if up["seconds"] else None
        out.append(
            _target(
                "recovery: real start-up of a state dir (journaled commands/s of history)",
                ">= 200,000/s (informative: snapshots bound the replay)",
                history_rate,
                history_rate is not None and history_rate >= 200_000,
                f"{up['commands']:,} commands, snapshot every {up['snapshot_every']:,}: "
                f"snapshot at seq {up['snapshot_seq']:,} restored + {up['tail_replayed']:,} "
                f"replayed in {up['seconds']:.1f} s",
            )
        )
    return out


def _gc_targets(report: dict[str, Any]) -> list[Target]:
    mem = report.get("memory", {}).get("rss_and_gc")
    if not mem:
        return [_target("GC pause with 1M resting orders (ms)", "<= 10 ms", None, None)]
    n = mem["orders"]
    auto = max(mem["gc_workload"]["max_ms"], mem["gc_during_build"]["max_ms"])
    full = mem["gc_full_collect_ms"]
    default_worst = max(auto, full)
    policy = mem.get("gc_policy")
    out: list[Target] = []
    if policy:
        worst = policy["max_ms"]
        out.append(
            _target(
                f"longest GC pause with {n:,} resting orders, Tidepool's GC policy (ms)",
                "<= 10 ms",
                worst,
                worst <= 10.0,
                f"wall {worst:.1f} ms / thread CPU {policy['max_cpu_ms']:.1f} ms, building the "
                f"book and a steady create/cancel workload (runtime/gcpolicy.py); "
                f"an explicit gc.collect() {policy['gc_full_collect_ms']:.1f} ms",
            )
        )
    out.append(
        _target(
            f"same with CPython's default GC ({n:,} resting orders, ms)",
            "<= 10 ms (informative: what the policy replaces)",
            default_worst,
            default_worst <= 10.0,
            f"automatic: {auto:.1f} ms (max while building + steady workload), full "
            f"collection: {full:.1f} ms",
        )
    )
    return out


def _large_read_targets(report: dict[str, Any]) -> list[Target]:
    lr = report.get("large_reads")
    if not lr:
        return [
            _target("other clients' p99 while one loops a large read (ms)", "<= 10", None, None)
        ]
    base = lr["rows"][0]
    return [
        _target(
            f"other clients' p99 while one loops {row['looping']} "
            f"({lr['resting_orders']:,} resting orders, ms)",
            "<= 10 ms",
            row["p99_ms"],
            row["p99_ms"] <= 10.0,
            f"p50 {base['p50_ms']:.2f} → {row['p50_ms']:.2f} ms, p99 {base['p99_ms']:.2f} → "
            f"{row['p99_ms']:.2f} ms (x{row['p99_ratio']:.1f}) without → with the looper "
            f"({lr['read_bytes'][row['looping']]:,} bytes per read, "
            f"{row['looper_reads_per_s']:.0f} reads/s)",
        )
        for row in lr["rows"][1:]
    ]


def evaluate_targets(report: dict[str, Any]) -> list[Target]:
    return [
        *_http_targets(report),
        *_engine_targets(report),
        *_journal_targets(report),
        *_gc_targets(report),
        *_large_read_targets(report),
    ]


# -- Markdown ------------------------------------------------------------------------------
def _f(v: Any, digits: int = 2) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{digits}f}"
    return str(v)


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_f(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def _met(t: Target) -> str:
    return "–" if t["met"] is None else ("**met**" if t["met"] else "**missed**")


def _http_section(report: dict[str, Any]) -> list[str]:
    http = report.get("http")
    if not http:
        return []
    lines = [
        "## Signed HTTP load (loopback; single-process servers on CPU 0, load generator on "
        "CPU 1; `--workers 2` unpinned)",
        "",
    ]
    plan = http["plan"]
    lines.append(
        f"Fixed-rate runs: {plan['warmup']} s warm-up + {plan['duration']} s measured; "
        f"saturation: {plan['sat_warmup']} s + {plan['sat_duration']} s; "
        f"{plan['connections']} keep-alive connections; latency from the scheduled send time "
        "(open loop) or the send (saturation). CPU µs/req = server utime+stime / answers. "
        "client CPU = load generator's share of CPU 1; other CPU = cores used by every other "
        "process on the machine during the run (noise from a shared machine)."
    )
    lines.append("")
    clients = {r.get("client", "python") for r in http["runs"] if not r["target_rate"]}
    if "wrk" in clients:
        lines.append(
            "Client: wrk was installed, so every saturation run (ceilings and Tidepool, both "
            "layouts) was measured with wrk (bench/wrk_replay.lua replaying the same pre-signed "
            "requests, after a separate warm-up invocation), and the "
            "fixed-rate runs with loadgen.py (wrk has no correct open loop). wrk's latency "
            "percentiles include its coordinated-omission correction; requests still in flight "
            "when wrk stops are not waited for."
        )
    else:
        lines.append(
            "Client: loadgen.py for every run (wrk not installed; with it, saturation runs use "
            "wrk)."
        )
    lines.append("")
    rows = []
    for r in http["runs"]:
        lat = r["latency_ms"]
        rate = "saturation" if not r["target_rate"] else f"{r['target_rate']:.0f}/s"
        statuses = " ".join(f"{k}:{v}" for k, v in r["statuses_all"].items())
        rows.append(
            [
                r["scenario"],
                r.get("layout", ""),
                r.get("client", "python"),
                rate,
                r["throughput_rps"],
                lat["p50"],
                lat["p99"],
                lat["p99.9"],
                lat["max"],
                r["server_cpu_us_per_request"] if not r["target_rate"] else None,
                r["client_cpu_util"],
                r.get("other_cpu_cores"),
                statuses,
            ]
        )
    lines += _table(
        [
            "scenario",
            "layout",
            "client",
            "rate",
            "req/s",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms",
            "server CPU µs/req",
            "client CPU",
            "other CPU",
            "statuses",
        ],
        rows,
    )
    ceiling, each = _ceiling_rps(report)
    httpc = _sat(report, "http_ceiling")
    if ceiling and httpc:
        ratio_rows = []
        for layout in (SINGLE, WORKERS):
            for scen in ("cancels", "cancel_unknown", "creates", "mix"):
                r = _sat(report, scen, layout)
                if r is None:
                    continue
                ratio_rows.append(
                    [
                        scen if layout == SINGLE else f"{scen}, --workers 2",
                        r["throughput_rps"],
                        r["throughput_rps"] / ceiling,
                        r["throughput_rps"] / httpc["throughput_rps"],
                    ]
                )
        ratio_rows.append(
            [
                f"verify ceiling (mean of {len(each)} runs)",
                ceiling,
                1.0,
                ceiling / httpc["throughput_rps"],
            ]
        )
        verify2 = _sat(report, "verify_ceiling", WORKERS)
        if verify2:
            ratio_rows.append(
                [
                    "verify ceiling, 2 processes",
                    verify2["throughput_rps"],
                    verify2["throughput_rps"] / ceiling,
                    verify2["throughput_rps"] / httpc["throughput_rps"],
                ]
            )
        lines.append("Saturation throughput as ratios of the same run's ceilings:")
        lines.append("")
        lines += _table(["scenario", "req/s", "/ verify ceiling", "/ HTTP ceiling"], ratio_rows)
    lines += _http_counters(report)
    snaps = [
        f"{r['scenario']}@{r['target_rate'] or 'sat'}"
        for r in http["runs"]
        if r.get("snapshots_written")
    ]
    if snaps:
        lines.append(
            "Runs during which Tidepool wrote a snapshot (in a forked child): " + ", ".join(snaps)
        )
        lines.append("")
    return lines


def _http_counters(report: dict[str, Any]) -> list[str]:
    """Instructions and cycles per request of each saturation run's server processes."""
    rows = []
    for r in report["http"]["runs"]:
        per = r.get("server_counters_per_request")
        if r["target_rate"] or not per:
            continue
        rows.append(
            [
                r["scenario"],
                r.get("layout", ""),
                per.get("instructions"),
                per.get("cycles"),
                _cycles_ratio(report, r),
            ]
        )
    if not rows:
        return []
    lines = [
        "CPU counters of the server processes per request at saturation (`perf stat -p` "
        "attached for the whole run; all of a `--workers 2` server's processes together). "
        "Cycles count only while a process runs, so the last column, the verify ceiling's "
        "cycles per request over the run's, is the throughput ratio the two would have on "
        "equal cores, without the VM's speed of the minute in it:",
        "",
    ]
    lines += _table(
        ["scenario", "layout", "instructions/req", "cycles/req", "ceiling cycles / run's"],
        rows,
    )
    return lines


def _pipeline_section(report: dict[str, Any]) -> list[str]:
    pipe = report.get("pipeline")
    if not pipe:
        return []
    lines = ["## Request pipeline stages, in-process (µs per request)", ""]
    keys = [
        ("orjson_loads_us", "orjson.loads of the body"),
        ("tidepool_decode_typed_us", "Tidepool decode + typed convert (msgspec)"),
        ("ed25519_verify_only_us", "ed25519 verify alone (solders)"),
        ("ceiling_verify_body_us", "verify ceiling's work: parse + canonical + b58 + verify"),
        ("tidepool_verify_request_us", "Tidepool verify_request (canonical + verify)"),
        ("dispatch_create_us", "Tidepool GatewayApp.dispatch: signed create (ALO, rests)"),
        ("dispatch_cancel_resting_us", "Tidepool GatewayApp.dispatch: signed cancel (resting)"),
        ("dispatch_cancel_unknown_us", "Tidepool GatewayApp.dispatch: signed cancel (unknown)"),
    ]
    lines += _table(["stage", "µs"], [[label, pipe.get(k)] for k, label in keys])
    cancels = _sat(report, "cancels")
    if cancels and cancels.get("server_cpu_us_per_request"):
        total = cancels["server_cpu_us_per_request"]
        app = pipe["dispatch_cancel_resting_us"]
        if total > app:
            lines.append(
                f"Under HTTP load a signed cancel cost the server {total:.0f} µs of CPU; the "
                f"application path is {app:.0f} µs of it, so the HTTP layer (uvicorn, "
                f"httptools, uvloop, ASGI glue) is about {total - app:.0f} µs."
            )
        else:
            lines.append(
                f"Server CPU per signed cancel under HTTP load ({total:.0f} µs) came out below "
                f"the in-process application path ({app:.0f} µs): one of them was disturbed "
                "by other load; no HTTP-layer estimate from this run."
            )
        lines.append("")
    return lines


def _engine_section(report: dict[str, Any]) -> list[str]:
    eng = report.get("engine")
    if not eng:
        return []
    lines = ["## Engine micro-benchmarks (in-process, µs per command)", ""]
    lines += _table(
        ["book size", "create (resting)", "cancel by id", "cancel by cloid", "cancel unknown"],
        [
            [
                r["book_size"],
                r["create_resting_us"],
                r["cancel_by_id_us"],
                r["cancel_by_cloid_us"],
                r["cancel_unknown_id_us"],
            ]
            for r in eng["book_sizes"]["rows"]
        ],
    )
    lines += _table(
        ["cancel_all: orders removed", "total ms (engine blocked)", "µs per order", "empty µs"],
        [
            [r["orders_removed"], r["total_ms"], r["us_per_order"], r["empty_cancel_all_us"]]
            for r in eng["cancel_all"]["rows"]
        ],
    )
    mix = eng["matching_mix"]
    lines.append(
        f"Matching-heavy mix: {mix['ops']:,} commands, {mix['us_per_op']:.2f} µs per command, "
        f"{mix['fills_per_op']:.2f} fills per command ({mix['rejected_ops']:,} rejected: "
        "cancels of makers already filled)."
    )
    lines.append("")
    return lines


def _counters_section(report: dict[str, Any]) -> list[str]:
    cnt = report.get("counters")
    if not cnt:
        return []
    lines = ["## CPU counters per engine command (perf stat, around the command loop only)", ""]
    if not cnt["available"]:
        return [*lines, f"Not measured: {cnt['reason']}.", ""]
    lines += _table(
        [
            "book size",
            "command",
            "commands",
            "instructions",
            "cycles",
            "cache refs",
            "cache misses",
        ],
        [
            [
                r["book_size"],
                r["kind"].replace("_", " "),
                r["ops"],
                round(r["instructions"]),
                round(r["cycles"]),
                round(r["cache-references"]),
                _f(r["cache-misses"], 1),
            ]
            for r in cnt["rows"]
        ],
    )
    lines.append(
        "The same commands as the µs table, counted in a child process with the cost of "
        "switching the counters on and off subtracted. Instructions do not move with the VM's "
        "speed; cycles exclude time the VM was not running. perf's generic cache-miss event "
        "on this AMD VM also counts misses served by L2, so it does not separate DRAM traffic."
    )
    lines.append("")
    return lines


def _journal_section(report: dict[str, Any]) -> list[str]:
    j = report.get("journal")
    if not j:
        return []
    st = j["store"]
    lines = ["## Journal, snapshots, recovery", ""]
    lines += _table(
        ["store operation", "µs per command"],
        [
            ["encode_record (msgpack + crc32)", st["encode_record_us"]],
            ["process: FileStore.append (encode + os.write)", st["process_append_us"]],
            ["fsync: append + fsync, one command per fsync", st["fsync_append_and_fsync_us"]],
            ["none: MemoryStore.append", st["none_memory_append_us"]],
        ],
    )
    lines += _table(
        [
            "durability",
            "in flight",
            "submit µs",
            "engine alone µs",
            "journal share µs",
            "commands/fsync",
        ],
        [
            [
                r["durability"],
                r["in_flight"],
                r["submit_us"],
                r["engine_only_us"],
                r["journal_us"],
                r["commands_per_fsync"],
            ]
            for r in j["sequencer"]["rows"]
        ],
    )
    snap = j["snapshot"]
    rec = j["recovery"]
    background = (
        f"; in the background (how the server writes them): the event loop pays "
        f"**{snap['background_parent_ms']:.1f} ms** (journal roll + fork), the child process "
        f"{snap['background_child_ms']:.0f} ms"
        if "background_parent_ms" in snap
        else ""
    )
    lines.append(
        f"Snapshot with {snap['resting_orders']:,} resting orders: "
        f"{snap['snapshot_bytes'] / 2**20:.1f} MiB, encode {snap['encode_ms']:.0f} ms, "
        f"write_snapshot in place {snap['write_snapshot_ms']:.0f} ms{background}, "
        f"restore {snap['restore_ms']:.0f} ms."
    )
    lines.append("")
    lines.append(
        f"Recovery: {rec['replayed']:,} journaled commands (60/35/5 create/cancel/cancel_all, "
        f"1,000 accounts) replayed from the genesis snapshot in {rec['seconds']:.2f} s = "
        f"**{rec['commands_per_s']:,.0f} commands/s**; journal {rec['journal_bytes'] / 2**20:.0f}"
        f" MiB = {rec['bytes_per_command']:.0f} bytes per command. Reading, checksumming "
        f"and decoding alone (no apply): {rec['decode_only_seconds']:.2f} s "
        f"({rec['decode_only_commands_per_s']:,.0f} commands/s); the rest is the engine "
        "replaying."
        + (
            f" Hashing the recovered state (done on demand, not at start-up) would add "
            f"{rec['state_hash_seconds']:.2f} s."
            if "state_hash_seconds" in rec
            else ""
        )
    )
    lines.append("")
    up = j.get("startup")
    if up:
        lines.append(
            f"Real start-up (`Sequencer.open`) of a state dir holding {up['commands']:,} "
            f"journaled commands written with a snapshot every {up['snapshot_every']:,}: "
            f"snapshot at seq {up['snapshot_seq']:,} restored and {up['tail_replayed']:,} "
            f"commands replayed in **{up['seconds']:.2f} s**."
        )
        lines.append("")
    return lines


def _memory_section(report: dict[str, Any]) -> list[str]:
    m = report.get("memory")
    if not m:
        return []
    g = m["rss_and_gc"]
    t = m["tracemalloc"]
    lines = ["## Memory and GC", ""]
    lines.append(
        f"{g['orders']:,} resting orders: RSS {g['rss_before_mb']:.0f} → {g['rss_after_mb']:.0f} "
        f"MiB = **{g['rss_bytes_per_order']:.0f} bytes per resting order** (RSS delta); "
        f"tracemalloc with {t['orders']:,} orders: {t['bytes_per_order']:.0f} bytes per order. "
        f"GC-tracked objects: {g['tracked_objects']:,}."
    )
    lines.append("")
    rows = []
    for label, key in (
        ("while building the book", "gc_during_build"),
        ("steady workload", "gc_workload"),
        ("steady workload after gc.freeze()", "gc_workload_frozen"),
    ):
        s = g[key]
        rows.append(
            [
                label,
                s["gen0"]["count"],
                s["gen0"]["max_ms"],
                s["gen1"]["count"],
                s["gen1"]["max_ms"],
                s["gen2"]["count"],
                s["gen2"]["max_ms"],
            ]
        )
    lines += _table(
        ["phase", "gen0 n", "gen0 max ms", "gen1 n", "gen1 max ms", "gen2 n", "gen2 max ms"], rows
    )
    lines.append(
        f"Explicit full collection: {g['gc_full_collect_ms']:.0f} ms; after gc.freeze(): "
        f"{g['gc_full_collect_frozen_ms']:.1f} ms."
    )
    pol = g.get("gc_policy")
    if pol:
        lines.append("")
        lines.append(
            f"With Tidepool's GC policy (runtime/gcpolicy.py: no automatic full collections, "
            f"gen-1 survivors frozen), same {pol['orders']:,} orders: longest pause while "
            f"building {pol['gc_during_build']['max_ms']:.1f} ms, in the steady workload "
            f"{pol['gc_workload']['max_ms']:.1f} ms (thread CPU {pol['max_cpu_ms']:.1f} ms), "
            f"explicit gc.collect() {pol['gc_full_collect_ms']:.1f} ms."
        )
    lines.append("")
    return lines


def _profile_section(report: dict[str, Any], top: int = 15) -> list[str]:
    tidepool = report.get("http", {}).get("tidepool", {})
    prof = tidepool.get(SINGLE, tidepool).get("profile")  # older reports: no layouts
    if not prof:
        return []
    lines = ["## Profile: Tidepool under signed-cancel saturation", ""]
    if not prof.get("available"):
        return [*lines, prof.get("note", "no profile"), ""]
    lines.append(
        f"{prof['tool']}; {prof['samples']:,} samples; "
        f"{prof['throughput_rps_while_profiled']:.0f} req/s while profiled. Native code "
        "(solders' verify, uvloop's I/O) shows up as the self time of its Python caller; "
        "`Runner.run` self time is uvloop's loop itself (epoll, socket reads and writes)."
    )
    lines.append("")
    lines += _table(["self %", "function"], [[r["pct"], r["function"]] for r in prof["self"][:top]])
    lines += _table(
        ["inclusive %", "function"], [[r["pct"], r["function"]] for r in prof["inclusive"][:top]]
    )
    return lines


def write_markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# Tidepool benchmark report",
        "",
        f"Command: `{report['command']}` — started {report['started_at']}, "
        f"took {report.get('elapsed_s', 0):.0f} s.",
        "",
        f"Machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['memory_gb']} GiB RAM, "
        f"{m['implementation']} {m['python']}, Linux {m['kernel']}, commit {m['git_commit']}; "
        f"load average {m['loadavg_at_start'][0]:.2f} at start, "
        f"{m.get('loadavg_at_end', [0])[0]:.2f} at end.",
        "",
    ]
    noise = report.get("noise", {})
    if noise:
        lines.append(
            "CPU used by other processes on this shared machine while each piece ran (cores): "
            + ", ".join(f"{k} {v['other_cpu_cores']:.2f}" for k, v in noise.items())
            + "."
        )
        lines.append("")
        probes = [(k, v["speed_probe_ms"]) for k, v in noise.items() if "speed_probe_ms" in v]
        if probes:
            lines.append(
                "Speed probe before each piece (bench/run.py `speed_probe`: a fixed engine-like "
                "workload, ms of CPU; lower is a faster machine, compare it between runs): "
                + ", ".join(f"{k} {ms:.0f}" for k, ms in probes)
                + "."
            )
            lines.append("")
    lines += ["## Targets", ""]
    lines += _table(
        ["target", "goal", "measured", "", "detail"],
        [[t["name"], t["goal"], t["value"], _met(t), t["detail"]] for t in report["targets"]],
    )
    lines += _http_section(report)
    lines += _pipeline_section(report)
    lines += _engine_section(report)
    lines += _counters_section(report)
    lines += _journal_section(report)
    lines += _memory_section(report)
    lines += _profile_section(report)
    if report.get("errors"):
        lines += ["## Errors", ""]
        lines += [f"- {k}: {v}" for k, v in report["errors"].items()]
        lines.append("")
    return "\n".join(lines)
