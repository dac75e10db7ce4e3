"""Where a signed request's CPU time goes, stage by stage, in-process (no sockets).

The same kind of pre-signed bodies as the HTTP load go through:
- `orjson.loads` alone, and Tidepool's decode (`decode_json_object` + typed `msgspec.convert`);
- the verify ceiling's work (bench.ceilings.verify_body: parse, canonical message with orjson,
  base58 key and signature, solders ed25519 verify), and the ed25519 verify call alone;
- Tidepool's `verify_request` (canonical message rebuild + verify, as the gateway calls it);
- Tidepool's whole application path, `GatewayApp.dispatch` (decode, verify, engine, journal
  with durability `process`, envelope), for signed creates, cancels of those resting orders,
  and cancels of unknown ids, on an exchange built by the server's own `build_exchange`.

Each figure is the best of three runs (or, for the stateful dispatch, of three chunks).
Subtracting the dispatch cost from the server CPU per request measured under HTTP load gives the
cost of the HTTP layer (uvicorn + httptools + uvloop + ASGI glue).
"""

from __future__ import annotations

import asyncio
import gc
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from solders.pubkey import Pubkey
from solders.signature import Signature

from bench import fixtures
from bench.ceilings import HEADER_KEYS, verify_body


def _us(fn: Callable[[], object], n: int, repeats: int = 3) -> float:
    """µs per request of `fn` (which handles n requests): the best of `repeats` runs."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e6


def _split(req: bytes) -> tuple[str, bytes]:
    head, _, body = req.partition(b"\r\n\r\n")
    return head.split(b" ", 2)[1].decode(), body


def run(quick: bool) -> dict[str, Any]:
    from tidepool.config import Config
    from tidepool.gateway.app import GatewayApp
    from tidepool.gateway.request import decode_json_object
    from tidepool.gateway.signed import typed
    from tidepool.gateway.verify import verify_request
    from tidepool.pacifica.requests import CancelOrderRequest, payload_fields
    from tidepool.server.exchange import build_exchange

    n = 500 if quick else 10_000
    accounts = range(8)
    book = fixtures.CreateCancelBook(accounts)
    create_ops = book.creates(n)
    book.rest(create_ops)
    cancel_ops, _ = book.cancels(n)
    creates = [_split(r) for r in fixtures.sign_all(create_ops)]
    cancels = [_split(r) for r in fixtures.sign_all(cancel_ops)]
    unknown = [_split(r) for r in fixtures.sign_all(fixtures.cancel_pool(n, accounts))]
    bodies = [b for _, b in unknown]
    out: dict[str, Any] = {"requests_per_stage": n}

    out["orjson_loads_us"] = _us(lambda: [orjson.loads(b) for b in bodies], n)
    out["tidepool_decode_typed_us"] = _us(
        lambda: [typed(decode_json_object(b), CancelOrderRequest) for b in bodies], n
    )
    now = time.time_ns() // 1_000_000
    path = unknown[0][0]
    out["ceiling_verify_body_us"] = _us(lambda: [verify_body(path, b, now) for b in bodies], n)
    raws = [orjson.loads(b) for b in bodies]
    msgs = []
    for raw in raws:
        payload = {k: v for k, v in raw.items() if k not in HEADER_KEYS}
        header = {
            "type": "cancel_order",
            "timestamp": raw["timestamp"],
            "expiry_window": raw["expiry_window"],
        }
        msgs.append(
            (
                Signature.from_string(raw["signature"]),
                Pubkey.from_string(raw["account"]),
                orjson.dumps({**header, "data": payload}, option=orjson.OPT_SORT_KEYS),
            )
        )
    out["ed25519_verify_only_us"] = _us(lambda: [s.verify(k, m) for s, k, m in msgs], n)
    known = payload_fields(CancelOrderRequest)
    out["tidepool_verify_request_us"] = _us(
        lambda: [verify_request(r, "cancel_order", now, known_fields=known) for r in raws], n
    )

    state_dir = Path(tempfile.mkdtemp(prefix="tidepool-bench-pipeline-"))
    try:
        cfg = Config(
            state_dir=state_dir,
            durability="process",
            speedbump_ms=0,
            max_open_orders=1_000_000,
            snapshot_every=10**9,
        )
        exchange = build_exchange(cfg)
        app = GatewayApp(exchange)

        async def drive() -> dict[str, Any]:
            for k in accounts:
                faucet = orjson.dumps({"account": fixtures.account(k), "amount": "1000000000"})
                await app.dispatch("POST", "/sandbox/faucet", b"", faucet)
            res: dict[str, Any] = {}
            for name, reqs in (
                ("dispatch_create_us", creates),
                ("dispatch_cancel_resting_us", cancels),
                ("dispatch_cancel_unknown_us", unknown),
            ):
                statuses: dict[int, int] = {}
                best = float("inf")
                third = max(1, len(reqs) // 3)
                for i in range(0, len(reqs), third):  # stateful: three chunks, the best one
                    chunk = reqs[i : i + third]
                    gc.collect()
                    t0 = time.perf_counter()
                    for p, b in chunk:
                        r = await app.dispatch("POST", p, b"", b)
                        statuses[r.status] = statuses.get(r.status, 0) + 1
                    best = min(best, (time.perf_counter() - t0) / len(chunk))
                res[name] = best * 1e6
                res[name.replace("_us", "_statuses")] = {str(k): v for k, v in statuses.items()}
            await exchange.sequencer.close()
            return res

        out.update(asyncio.run(drive()))
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    return out


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--quick" in sys.argv), indent=2))
