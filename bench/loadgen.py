"""HTTP/1.1 keep-alive load generator: replays pre-built raw requests over several connections.

Runs as its own process (`python -m bench.loadgen ...`), pinned to one CPU, and prints one JSON
object with throughput, latency percentiles, status counts and its own CPU use.

Two modes:
- fixed rate (open loop): request i is due at t0 + i / rate. Latency is measured from the time
  the request was *due*, not from when a free connection sent it, so a server that falls behind
  is charged for the queueing (no coordinated omission).
- saturation (closed loop, `--rate 0`): every connection sends its next request as soon as the
  previous answer arrived; latency is from send to answer.

The client does as little as possible per request: requests are complete pre-encoded byte
strings (request line, headers, body), and responses are parsed only far enough to find the
status code and the end of the body (Content-Length). No pipelining.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any, cast

import msgspec

_now = time.perf_counter


def load_requests(path: Path) -> list[bytes]:
    return msgspec.msgpack.decode(path.read_bytes(), type=list[bytes])


def save_requests(path: Path, requests: list[bytes]) -> None:
    path.write_bytes(msgspec.msgpack.encode(requests))


def raw_post(path: str, body: bytes, host: str = "127.0.0.1") -> bytes:
    """A complete POST; the Host header does not name a port, so one set of pre-signed
    requests serves every server of the run."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _Conn(asyncio.Protocol):
    __slots__ = ("buf", "gen", "idx", "sent_at", "transport")

    def __init__(self, gen: _Generator) -> None:
        self.gen = gen
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.idx = -1
        self.sent_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have the same API
        self.transport = cast(asyncio.Transport, transport)

    def send(self, idx: int, data: bytes, due: float) -> None:
        self.idx = idx
        self.sent_at = due
        assert self.transport is not None
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            self.buf = buf
            return
        head = buf[:end].lower()
        # uvicorn writes lower-case header names; an ASGI app that sets no content-length is
        # answered with chunked transfer encoding (JSON bodies hold no raw CRLF).
        cl = head.find(b"content-length:")
        if cl >= 0:
            stop = head.find(b"\r\n", cl)
            total = end + 4 + int(head[cl + 15 : stop if stop > 0 else len(head)])
            if len(buf) < total:
                self.buf = buf
                return
        elif b"transfer-encoding: chunked" in head:
            term = buf.find(b"\r\n0\r\n\r\n", end + 4)
            if term < 0:
                self.buf = buf
                return
            total = term + 7
        else:
            total = end + 4
        self.buf = buf[total:]
        status = int(buf[9:12])
        self.gen.done(self, status, _now())

    def connection_lost(self, exc: Exception | None) -> None:
        self.gen.lost(self)


class _Generator:
    def __init__(
        self,
        requests: list[bytes],
        rate: float,
        duration: float,
        warmup: float,
        connections: int,
        cycle: bool = False,
    ) -> None:
        self.requests = requests
        self.cycle = cycle
        self.rate = rate
        self.duration = duration
        self.warmup = warmup
        self.n_conns = connections
        self.idle: list[_Conn] = []
        self.pending: deque[tuple[int, float]] = deque()
        self.next_idx = 0
        self.t0 = 0.0
        self.measure_from = 0.0
        self.measure_to = 0.0
        self.stopping = False
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}  # requests due inside the measured window
        self.statuses_all: dict[int, int] = {}  # every answer, warm-up included
        self.completed_in_window = 0
        self.completed = 0
        self.in_flight = 0
        self.lost_conns = 0
        self.exhausted = False
        self.finished = asyncio.Event()

    # -- per-request paths --------------------------------------------------------------
    def _take(self) -> int:
        idx = self.next_idx
        if idx >= len(self.requests):
            if not self.cycle:
                self.exhausted = True
                return -1
            self.next_idx = idx + 1
            return idx % len(self.requests)
        self.next_idx = idx + 1
        return idx

    def done(self, conn: _Conn, status: int, t: float) -> None:
        self.completed += 1
        self.in_flight -= 1
        self.statuses_all[status] = self.statuses_all.get(status, 0) + 1
        due = conn.sent_at
        if self.measure_from <= due < self.measure_to:
            self.latencies.append(t - due)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if t <= self.measure_to:
                self.completed_in_window += 1
        if self.rate > 0:
            if self.pending:
                idx, due = self.pending.popleft()  # already counted in in_flight
                conn.send(idx, self.requests[idx], due)
            else:
                self.idle.append(conn)
        elif not self.stopping:
            idx = self._take()
            if idx >= 0:
                self.in_flight += 1
                conn.send(idx, self.requests[idx], t)
        if self.in_flight == 0 and (self.stopping or self.exhausted):
            self.finished.set()

    def lost(self, conn: _Conn) -> None:
        """A connection the server closed. In the open loop an idle one must leave the pool:
        the pool is LIFO, so at low rates the connections at its bottom sit idle for the whole
        run and uvicorn closes them after its keep-alive timeout (5 s); a later burst would
        otherwise write to a closed transport."""
        self.lost_conns += 1
        if conn in self.idle:
            self.idle.remove(conn)

    # -- drivers ------------------------------------------------------------------------
    async def run(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        conns: list[_Conn] = []
        for _ in range(self.n_conns):
            _, proto = await loop.create_connection(lambda: _Conn(self), host, port)
            conns.append(proto)
        self.t0 = _now()
        self.measure_from = self.t0 + self.warmup
        self.measure_to = self.measure_from + self.duration
        if self.rate > 0:
            self.idle = list(conns)
            await self._open_loop()
        else:
            for c in conns:
                idx = self._take()
                if idx < 0:
                    break
                self.in_flight += 1
                c.send(idx, self.requests[idx], _now())
            # until the window ends, or every request was sent and answered (prefill runs)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.finished.wait(), max(0.0, self.measure_to - _now()))
            self.finished.clear()
        self.stopping = True
        if self.in_flight:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.finished.wait(), timeout=10.0)
        for c in conns:
            if c.transport is not None:
                c.transport.close()

    async def _open_loop(self) -> None:
        interval = 1.0 / self.rate
        i = 0
        end = self.measure_to
        while True:
            now = _now()
            if now >= end:
                return
            # dispatch every request that is due by now
            due = self.t0 + i * interval
            while due <= now:
                idx = self._take()
                if idx < 0:
                    return
                if self.idle:
                    self.in_flight += 1
                    self.idle.pop().send(idx, self.requests[idx], due)
                else:
                    self.in_flight += 1
                    self.pending.append((idx, due))
                i += 1
                due = self.t0 + i * interval
            # The event loop's timers have millisecond granularity and may fire late: sleep only
            # until shortly before the next due time, then poll (sleep(0) still serves I/O), so
            # requests leave on time and the client's own lateness is not charged as latency.
            # This process has its own CPU, so polling costs the server nothing.
            delay = min(due, end) - _now()
            await asyncio.sleep(delay - 0.0015 if delay > 0.002 else 0)

    def result(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if not lat:
                return None
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1e3

        return {
            "mode": "rate" if self.rate > 0 else "saturation",
            "target_rate": self.rate,
            "connections": self.n_conns,
            "duration_s": self.duration,
            "warmup_s": self.warmup,
            "sent": self.next_idx,
            "completed": self.completed,
            "measured": len(lat),
            "throughput_rps": self.completed_in_window / self.duration,
            "latency_ms": {
                "p50": pct(0.50),
                "p90": pct(0.90),
                "p99": pct(0.99),
                "p99.9": pct(0.999),
                "max": lat[-1] * 1e3 if lat else None,
                "mean": sum(lat) / len(lat) * 1e3 if lat else None,
            },
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "statuses_all": {str(k): v for k, v in sorted(self.statuses_all.items())},
            "unanswered": self.in_flight,
            "exhausted_requests": self.exhausted,
            "lost_connections": self.lost_conns,
        }


def run(
    host: str,
    port: int,
    requests: list[bytes],
    *,
    rate: float,
    duration: float,
    warmup: float,
    connections: int,
    cycle: bool = False,
) -> dict[str, Any]:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        pass
    gen = _Generator(requests, rate, duration, warmup, connections, cycle)
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    w0 = _now()
    asyncio.run(gen.run(host, port))
    wall = _now() - w0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    out = gen.result()
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    out["client_cpu_s"] = cpu
    out["client_cpu_util"] = cpu / wall if wall > 0 else 0.0
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--requests", type=Path, required=True, help="msgpack list of raw requests")
    p.add_argument("--rate", type=float, default=0.0, help="requests/s; 0 = saturation")
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--cycle", action="store_true", help="replay the requests in a loop")
    p.add_argument("--cpu", type=int, default=-1, help="pin to this CPU (-1: no pinning)")
    args = p.parse_args(argv)
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    requests = load_requests(args.requests)
    out = run(
        args.host,
        args.port,
        requests,
        rate=args.rate,
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        cycle=args.cycle,
    )
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
