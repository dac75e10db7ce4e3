"""The market maker in process: the real gateway, pipeline, bus and engine on one event loop with
a manual clock (tests/harness.py), the maker subscribed to the bus as `serve --market-maker`
runs it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from solders.keypair import Keypair

from harness import Harness
from pacifica_recipe import keypair
from tidepool.config import LiquidityConfig
from tidepool.domain.markets import DEFAULT_MARKETS, MarketSpec
from tidepool.liquidity import MarketMaker

MAKER = str(keypair(99).pubkey())
MARKET = "/api/v1/orders/create_market"
BTC_ONLY = DEFAULT_MARKETS[:1]


class MakerHarness(Harness):
    """A harness whose market makers are stopped before its loop closes."""

    makers: list[MarketMaker]

    def close(self) -> None:
        for maker in getattr(self, "makers", []):
            self.loop.run_until_complete(maker.stop())
        super().close()


def start_maker(
    h: MakerHarness, markets: tuple[MarketSpec, ...] = DEFAULT_MARKETS, **cfg: Any
) -> MarketMaker:
    maker = MarketMaker(
        h.exchange.pipeline, MAKER, markets, LiquidityConfig(market_maker=True, **cfg)
    )
    h.loop.run_until_complete(maker.start())
    h.makers = [*getattr(h, "makers", []), maker]
    return maker


def settle(h: MakerHarness, maker: MarketMaker) -> None:
    """Run the loop until the maker has handled every delivery (it reacts on its own task)."""
    for _ in range(10_000):
        h.loop.run_until_complete(asyncio.sleep(0))
        if maker.idle:
            return
    raise AssertionError("the market maker never settled")


@pytest.fixture
def h() -> Iterator[MakerHarness]:
    harness = MakerHarness()
    yield harness
    harness.close()


def market(
    h: MakerHarness, kp: Keypair, side: str, amount: str, symbol: str = "BTC"
) -> tuple[int, Any]:
    payload = {
        "symbol": symbol,
        "amount": amount,
        "side": side,
        "slippage_percent": "1",
        "reduce_only": False,
    }
    return h.post_signed(MARKET, kp, payload)


def book(
    h: MakerHarness, symbol: str = "BTC"
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    status, body = h.get("/api/v1/book", symbol=symbol)
    assert status == 200, body
    bids, asks = body["data"]["l"]
    return [(lv["p"], lv["a"]) for lv in bids], [(lv["p"], lv["a"]) for lv in asks]


def positions(h: MakerHarness, account: str) -> dict[str, tuple[str, str]]:
    status, body = h.get("/api/v1/positions", account=account)
    assert status == 200, body
    return {p["symbol"]: (p["side"], p["amount"]) for p in body["data"]}


def set_mark(h: MakerHarness, price: str, symbol: str = "BTC") -> None:
    status, body = h.post("/sandbox/mark_price", {"symbol": symbol, "price": price})
    assert status == 200, body


def test_without_a_maker_a_new_users_market_order_finds_no_price(h: MakerHarness) -> None:
    alice = keypair(1)
    h.faucet(alice)
    status, body = market(h, alice, "bid", "0.01")
    assert (status, body["code"], body["error"]) == (422, 25, "No reasonable price found")


def test_a_new_users_first_market_order_fills_against_the_maker(h: MakerHarness) -> None:
    maker = start_maker(h)
    alice = keypair(1)
    h.faucet(alice)
    status, body = market(h, alice, "bid", "0.01")
    assert status == 200, body
    settle(h, maker)
    # Real trades: both sides hold the position, the maker's balance paid its fee.
    assert positions(h, str(alice.pubkey())) == {"BTC": ("bid", "0.01")}
    assert positions(h, MAKER) == {"BTC": ("ask", "0.01")}
    assert h.engine.balance(MAKER) < LiquidityConfig().mm_balance


def test_the_maker_quotes_every_market_around_its_mark(h: MakerHarness) -> None:
    start_maker(h)
    bids, asks = book(h)
    assert bids == [("99950", "0.10005"), ("99900", "0.1001"), ("99850", "0.10015")]
    assert asks == [("100050", "0.09995"), ("100100", "0.0999"), ("100150", "0.09985")]
    for symbol, mark in (("ETH", 3500), ("SOL", 150)):
        bids, asks = book(h, symbol)
        assert len(bids) == len(asks) == 3
        assert float(bids[0][0]) < mark < float(asks[0][0])


def test_the_maker_requotes_when_the_mark_moves(h: MakerHarness) -> None:
    maker = start_maker(h)
    set_mark(h, "101000")
    settle(h, maker)
    bids, asks = book(h)
    assert [p for p, _ in bids] == ["100949", "100899", "100848"]
    assert [p for p, _ in asks] == ["101051", "101101", "101152"]
    # Moved, not added: one order per level.
    assert len(h.engine.open_orders(MAKER)) == 3 * 2 * len(DEFAULT_MARKETS)


def test_the_maker_tops_a_level_up_after_a_fill(h: MakerHarness) -> None:
    maker = start_maker(h)
    alice = keypair(1)
    h.faucet(alice)
    assert market(h, alice, "bid", "0.05")[0] == 200
    settle(h, maker)
    _, asks = book(h)
    assert asks[0] == ("100050", "0.09995")


def test_the_maker_sends_nothing_when_nothing_changed(h: MakerHarness) -> None:
    maker = start_maker(h)
    before = h.sequencer.last_seq
    set_mark(h, "100000")  # the same mark again: a command, but nothing for the maker to do
    settle(h, maker)
    h.loop.run_until_complete(maker.requote(["BTC", "ETH", "SOL"]))
    assert h.sequencer.last_seq == before + 1


def test_a_quote_refused_post_only_is_not_sent_again_and_again(h: MakerHarness) -> None:
    maker = start_maker(h, BTC_ONLY)
    alice = keypair(1)
    h.faucet(alice)
    status, body = h.create(alice, side="bid", price="100040", amount="0.001", tif="ALO")
    assert status == 200, body
    set_mark(h, "99990")  # the maker's inner ask would be 100040: Alice's bid is there
    settle(h, maker)
    seq = h.sequencer.last_seq
    for _ in range(100):
        h.loop.run_until_complete(asyncio.sleep(0))
    assert h.sequencer.last_seq == seq
    _, asks = book(h)
    assert [p for p, _ in asks] == ["100090", "100140"]  # the inner one was refused post-only


def test_a_maker_out_of_margin_quotes_what_unwinds_it_and_nothing_breaks(
    h: MakerHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "tidepool.market_maker")
    # 6 quotes of ~10,000 USDC at 50x hold ~1,200 USDC: 1,000 pays for five.
    maker = start_maker(h, BTC_ONLY, mm_balance=Decimal(1000))
    assert len(h.engine.open_orders(MAKER)) == 5
    alice = keypair(1)
    h.faucet(alice)
    assert market(h, alice, "bid", "0.2")[0] == 200  # both asks: the maker is short
    settle(h, maker)
    [short] = h.engine.positions(MAKER)
    orders = h.engine.open_orders(MAKER)
    reducing = sum(o.remaining_lots for o in orders if o.side == "bid" and o.reduce_only)
    assert 0 < reducing <= short.size_lots  # the side that unwinds it needs no margin
    assert len([o for o in orders if o.side == "ask"]) < 3  # the side that grows it is refused
    refusals = [r.getMessage() for r in caplog.records]
    assert len(refusals) == 1 and "error 5 Insufficient balance" in refusals[0]  # logged once
    # Alice closes against the maker's bids; the server is as well as ever.
    assert (
        market(h, alice, "ask", h.exchange.markets["BTC"].format_amount(short.size_lots))[0] == 200
    )
    settle(h, maker)
    assert positions(h, MAKER) == {}
    assert h.sequencer.stopped_reason() is None
    assert len(h.engine.open_orders(MAKER)) == 5


def drive(h: MakerHarness, maker: MarketMaker) -> str:
    """A fixed sequence of client commands; the state hash after it."""
    alice, bob = keypair(1), keypair(2)
    h.faucet(alice)
    h.faucet(bob)
    steps: list[tuple[str, Any]] = [
        ("market", (alice, "bid", "0.03")),
        ("mark", "100700"),
        ("market", (bob, "ask", "0.25")),
        ("create", (alice, {"side": "bid", "price": "99000", "amount": "0.01", "tif": "ALO"})),
        ("mark", "100620"),
        ("market", (alice, "ask", "1", "ETH")),
        ("mark", "99800"),
    ]
    for kind, arg in steps:
        if kind == "market":
            assert market(h, *arg)[0] == 200
        elif kind == "mark":
            set_mark(h, arg)
        else:
            assert h.create(arg[0], **arg[1])[0] == 200
        settle(h, maker)
    return h.engine.state_hash()


def test_the_same_client_commands_give_the_same_quotes_and_state() -> None:
    hashes = []
    books = []
    for _ in range(2):
        h = MakerHarness()
        try:
            maker = start_maker(h)
            hashes.append(drive(h, maker))
            books.append([book(h, s) for s in ("BTC", "ETH", "SOL")])
        finally:
            h.close()
    assert hashes[0] == hashes[1]
    assert books[0] == books[1]
    bids, asks = books[0][0]
    assert (bids[0][0], asks[0][0]) == ("99750", "99850")  # quoted around the last mark


def test_a_restart_neither_funds_the_maker_again_nor_doubles_its_quotes(tmp_path: Path) -> None:
    h = MakerHarness(state_dir=tmp_path / "state")
    maker = start_maker(h)
    alice = keypair(1)
    h.faucet(alice)
    assert market(h, alice, "bid", "0.01")[0] == 200
    settle(h, maker)
    balance, orders = h.engine.balance(MAKER), h.engine.open_orders(MAKER)
    h.loop.run_until_complete(maker.stop())
    h.loop.run_until_complete(h.sequencer.close())
    h.makers = []
    h.close()
    h = MakerHarness(state_dir=tmp_path / "state")
    try:
        start_maker(h)
        assert h.engine.balance(MAKER) == balance
        assert h.engine.open_orders(MAKER) == orders
    finally:
        h.close()


def test_a_market_without_a_mark_is_quoted_once_it_gets_one() -> None:
    unmarked = msgspec.structs.replace(DEFAULT_MARKETS[0], initial_mark_price=Decimal(0))
    h = MakerHarness((unmarked,))
    try:
        maker = start_maker(h, (unmarked,))
        assert h.engine.open_orders(MAKER) == []
        set_mark(h, "50000")
        settle(h, maker)
        bids, asks = book(h)
        assert (bids[0][0], asks[0][0]) == ("49975", "50025")
    finally:
        h.close()


def test_more_levels_than_one_batch_holds_are_all_quoted_and_moved(h: MakerHarness) -> None:
    maker = start_maker(h, BTC_ONLY, mm_levels=8)  # 16 quotes: two batches of at most 10
    bids, asks = book(h)
    assert (len(bids), len(asks)) == (8, 8)
    set_mark(h, "100500")
    settle(h, maker)
    bids, asks = book(h)
    assert (len(bids), len(asks)) == (8, 8)
    assert (bids[0][0], asks[0][0], bids[-1][0], asks[-1][0]) == (
        "100449",
        "100551",
        "100098",
        "100902",
    )


def test_the_maker_quotes_again_at_once_after_a_sandbox_reset_or_revert(h: MakerHarness) -> None:
    maker = start_maker(h, BTC_ONLY)
    status, body = h.post("/sandbox/snapshot", {})
    assert status == 200, body
    snapshot_id = body["data"]["id"]
    for path, payload in (("/sandbox/revert", {"id": snapshot_id}), ("/sandbox/reset", {})):
        status, body = h.post(path, payload)
        assert status == 200, body
        settle(h, maker)
        bids, asks = book(h)  # the replaced state's quotes, or new ones: never an empty book
        assert len(bids) == len(asks) == 3, path
