"""`tidepool serve --market-maker` / `--price-walk` as a user runs them: a fresh server's first
market order fills at once against the maker, whose account the banner names; the maker follows
the mark; two servers with the same seed quote the same after the same requests, in either
process layout; the walk moves the marks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from solders.keypair import Keypair

from pacifica_recipe import signed_body
from server_process import LAYOUTS, ServerProcess

pytestmark = pytest.mark.e2e

T = TypeVar("T")
INITIAL = {"BTC": "100000", "ETH": "3500", "SOL": "150"}
_DEADLINE_S = 30.0  # generous: the maker reacts on its own task, on a loaded machine


def eventually(read: Callable[[], T], done: Callable[[T], bool]) -> T:
    """`read()` until `done` says yes, or fail with the last value after the deadline."""
    deadline = time.monotonic() + _DEADLINE_S
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            assert done(value), value
            return value
        time.sleep(0.02)


def start(tmp_path: Path, name: str, *args: str) -> tuple[ServerProcess, dict[str, Any]]:
    config = tmp_path / f"{name}.json"
    srv = ServerProcess(tmp_path / name, "--config-out", str(config), *args).start()
    return srv, json.loads(config.read_text())


def dev_key(banner: dict[str, Any], index: int) -> Keypair:
    return Keypair.from_base58_string(banner["accounts"][index]["secret_key"])


def market(srv: ServerProcess, kp: Keypair, side: str, amount: str) -> httpx.Response:
    order = {
        "symbol": "BTC",
        "amount": amount,
        "side": side,
        "slippage_percent": "0.5",
        "reduce_only": False,
    }
    body = signed_body(kp, "create_market_order", order, time.time_ns() // 1_000_000)
    return httpx.post(f"{srv.api}/orders/create_market", json=body, timeout=10)


def positions(srv: ServerProcess, account: str) -> dict[str, tuple[str, str]]:
    r = httpx.get(f"{srv.api}/positions", params={"account": account}, timeout=10)
    assert r.status_code == 200, r.text
    return {p["symbol"]: (p["side"], p["amount"]) for p in r.json()["data"]}


def book(srv: ServerProcess) -> list[list[tuple[str, str]]]:
    r = httpx.get(f"{srv.api}/book", params={"symbol": "BTC"}, timeout=10)
    assert r.status_code == 200, r.text
    return [[(lv["p"], lv["a"]) for lv in side] for side in r.json()["data"]["l"]]


def set_mark(srv: ServerProcess, price: str) -> None:
    r = httpx.post(f"{srv.url}/sandbox/mark_price", json={"symbol": "BTC", "price": price})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_fresh_servers_first_market_order_fills_against_the_maker_which_follows_the_mark(
    tmp_path: Path, layout: str
) -> None:
    srv, banner = start(tmp_path, "state", "--market-maker", *LAYOUTS[layout])
    try:
        maker = banner["market_maker"]
        assert maker not in {a["public_key"] for a in banner["accounts"]}
        trader = dev_key(banner, 0)
        r = market(srv, trader, "bid", "0.01")
        assert r.status_code == 200, r.text
        assert positions(srv, str(trader.pubkey())) == {"BTC": ("bid", "0.01")}
        assert positions(srv, maker) == {"BTC": ("ask", "0.01")}
        set_mark(srv, "101000")
        bids, asks = eventually(lambda: book(srv), lambda b: b[0][0][0] == "100949")
        assert [p for p, _ in bids] == ["100949", "100899", "100848"]
        assert [p for p, _ in asks] == ["101051", "101101", "101152"]
    finally:
        srv.stop()


def test_the_banner_names_the_maker_only_when_it_is_on(tmp_path: Path) -> None:
    for name, args in (("on", ("--market-maker",)), ("off", ())):
        srv = ServerProcess(tmp_path / name, *args).start()
        try:
            assert srv.proc is not None and srv.proc.stdout is not None
            lines = [srv.proc.stdout.readline() for _ in range(4)]
        finally:
            srv.stop()
        maker_lines = [line for line in lines if line.startswith("Maker")]
        assert len(maker_lines) == (1 if name == "on" else 0), lines


def test_two_servers_with_the_same_seed_quote_the_same_after_the_same_requests(
    tmp_path: Path,
) -> None:
    """One of each layout: the maker runs in the engine process of both."""
    servers = [
        start(tmp_path, layout, "--market-maker", "--seed", "5", "--mm-levels", "4", *args)
        for layout, args in sorted(LAYOUTS.items())
    ]
    try:
        for srv, banner in servers:
            trader = dev_key(banner, 1)
            assert market(srv, trader, "bid", "0.15").status_code == 200
            set_mark(srv, "99500")
            assert market(srv, trader, "ask", "0.3").status_code == 200
            set_mark(srv, "99600")
        (first, first_banner), (second, second_banner) = servers
        assert first_banner["market_maker"] == second_banner["market_maker"]
        maker = first_banner["market_maker"]
        assert positions(first, maker) == positions(second, maker) == {"BTC": ("bid", "0.15")}
        settled = eventually(lambda: book(first), lambda b: b[0][0][0] == "99550")
        assert eventually(lambda: book(second), lambda b: b == settled) == settled
    finally:
        for srv, _ in servers:
            srv.stop()


def test_the_price_walk_moves_the_marks(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "state", "--price-walk", "--walk-interval-ms", "20").start()
    try:

        def marks() -> dict[str, str]:
            r = httpx.get(f"{srv.api}/info/prices", timeout=10)
            return {p["symbol"]: p["mark"] for p in r.json()["data"]}

        moved = eventually(marks, lambda m: all(m[s] != v for s, v in INITIAL.items()))
        assert set(moved) == set(INITIAL)
    finally:
        srv.stop()
