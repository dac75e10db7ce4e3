"""The WebSocket pushes Hummingbot's `pacifica_perpetual` connector reads, against a real server.

The connector is too heavy to install, so this test plays its two connections (spec Part B,
§5.3) and checks every field its parsers read, with the type they parse it as:

- order book data source: `book` (agg_level 1), `trades` and `prices`. A book snapshot's update
  id is `li`, a trade's is `li` and its id `h`; `prices` items give `oracle`, `mark`, `funding`
  as Decimals and `timestamp` / 1000.
- user stream: `account_order_updates` (`i` via str(), `os` through its ORDER_STATE table, `f`
  as a Decimal, `ut` / 1000), `account_positions` (`s`, `d` bid|ask, `a`, `p`; `[]` when flat),
  `account_info` (`ae`, `as`) and `account_trades` (`i`, `t`, `a`, `p`, `f`, `ts`).

It routes a frame to a queue only when it has `data`, and treats `d` / `ts` values outside
open_long, open_short, close_long, close_short as sells / closes, so those must be exact.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple

import httpx
import pytest
import websockets
from solders.keypair import Keypair

from pacifica_recipe import keypair, signed_body
from server_process import ServerProcess

pytestmark = pytest.mark.e2e

BOT = keypair(121)
OTHER = keypair(122)
ORDER_STATE = {"open", "filled", "partially_filled", "cancelled", "rejected"}  # its table's keys
TRADE_SIDES = {"open_long", "open_short", "close_long", "close_short"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp("hummingbot") / "state"
    with ServerProcess(state, "--speedbump-ms", "0") as server:
        for kp in (BOT, OTHER):
            faucet = {"account": str(kp.pubkey()), "amount": "100000"}
            assert httpx.post(f"{server.url}/sandbox/faucet", json=faucet).status_code == 200
        yield server


def _decimal(value: Any) -> Decimal:
    """What `Decimal(x)` makes of a wire amount: a finite number from a decimal string."""
    assert isinstance(value, str), value
    number = Decimal(value)
    assert number.is_finite(), value
    return number


def _integer(value: Any) -> int:
    """Ids and ms timestamps: JSON integers (the connector divides `t` by 1000)."""
    assert isinstance(value, int) and not isinstance(value, bool), value
    return value


def _check_book(data: dict[str, Any]) -> None:
    assert isinstance(data["s"], str)
    _integer(data["t"])
    _integer(data["li"])
    bids, asks = data["l"]
    for level in (*bids, *asks):
        _decimal(level["p"])
        _decimal(level["a"])


def _check_trade(item: dict[str, Any]) -> None:
    assert isinstance(item["s"], str) and item["d"] in TRADE_SIDES
    _integer(item["h"])
    _integer(item["li"])
    _integer(item["t"])
    _decimal(item["a"])
    _decimal(item["p"])


def _check_price(item: dict[str, Any]) -> None:
    assert isinstance(item["symbol"], str)
    for key in ("oracle", "mark", "funding"):
        _decimal(item[key])
    _integer(item["timestamp"])


def _check_order_update(item: dict[str, Any]) -> None:
    _integer(item["i"])
    assert item["os"] in ORDER_STATE
    _decimal(item["f"])
    _integer(item["ut"])


def _check_position(item: dict[str, Any]) -> None:
    assert isinstance(item["s"], str) and item["d"] in {"bid", "ask"}
    _decimal(item["a"])
    _decimal(item["p"])


def _check_info(data: dict[str, Any]) -> None:
    _decimal(data["ae"])
    _decimal(data["as"])


def _check_account_trade(item: dict[str, Any]) -> None:
    _integer(item["i"])
    _integer(item["t"])
    for key in ("a", "p", "f"):
        _decimal(item[key])
    assert item["ts"] in TRADE_SIDES


async def _collect(ws: Any, into: list[dict[str, Any]]) -> None:
    async for frame in ws:
        into.append(json.loads(frame))


async def _eventually(condition: Callable[[], bool], what: str) -> None:
    for _ in range(600):  # up to 30 s: pushes arrive in ms, a loaded machine may take longer
        if condition():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"never saw {what}")


def _pushes(frames: list[dict[str, Any]], channel: str) -> list[Any]:
    return [frame["data"] for frame in frames if frame.get("channel") == channel]


def _items(frames: list[dict[str, Any]], channel: str) -> list[dict[str, Any]]:
    return [item for data in _pushes(frames, channel) for item in data]


class Seen(NamedTuple):
    public: list[dict[str, Any]]  # the order book data source's connection
    user: list[dict[str, Any]]  # the user stream's connection


@pytest.fixture(scope="module")
def seen(srv: ServerProcess) -> Seen:
    """Every frame the connector's two connections receive while the bot sells 0.002 BTC in two
    fills (short), buys it back (flat), cancels a bid, and the mark moves."""
    bot = str(BOT.pubkey())
    ws_url = srv.url.replace("http://", "ws://") + "/ws"
    public: list[dict[str, Any]] = []
    user: list[dict[str, Any]] = []

    async def scenario() -> None:
        async with (
            websockets.connect(ws_url) as market_ws,
            websockets.connect(ws_url) as user_ws,
        ):
            readers = [
                asyncio.ensure_future(_collect(market_ws, public)),
                asyncio.ensure_future(_collect(user_ws, user)),
            ]
            # The connector's subscribe frames, in its order.
            for params in (
                {"source": "book", "symbol": "BTC", "agg_level": 1},
                {"source": "trades", "symbol": "BTC"},
                {"source": "prices"},
            ):
                await market_ws.send(json.dumps({"method": "subscribe", "params": params}))
            for source in ("account_order_updates", "account_positions", "account_info",
                           "account_trades"):  # fmt: skip
                params = {"source": source, "account": bot}
                await user_ws.send(json.dumps({"method": "subscribe", "params": params}))
            await _eventually(lambda: len(_pushes(public, "subscribe")) == 3, "public acks")
            await _eventually(lambda: len(_pushes(user, "subscribe")) == 4, "user acks")
            await asyncio.to_thread(_round_trip, srv)
            await _eventually(
                lambda: (
                    {"open", "partially_filled", "filled", "cancelled"}
                    <= {u["os"] for u in _items(user, "account_order_updates")}
                ),
                "every order state",
            )
            await _eventually(lambda: len(_items(user, "account_trades")) >= 3, "the bot's fills")
            await _eventually(lambda: [] in _pushes(user, "account_positions")[1:], "a flat push")
            await _eventually(lambda: len(_items(public, "trades")) >= 3, "public trades")
            await _eventually(lambda: bool(_pushes(public, "prices")), "a prices push")
            await _eventually(lambda: len(_pushes(public, "book")) >= 2, "book pushes")
            for reader in readers:
                reader.cancel()

    asyncio.run(scenario())
    return Seen(public, user)


def _round_trip(srv: ServerProcess) -> None:
    """REST, as the connector places and cancels its orders."""

    def place(kp: Keypair, side: str, price: str, amount: str, tif: str = "GTC") -> int:
        order = {"symbol": "BTC", "price": price, "amount": amount, "side": side, "tif": tif,
                 "reduce_only": False}  # fmt: skip
        r = httpx.post(f"{srv.api}/orders/create", json=_signed(kp, "create_order", order))
        assert r.status_code == 200, r.text
        return int(r.json()["data"]["order_id"])

    place(BOT, "ask", "95000", "0.002")
    for _ in range(2):
        place(OTHER, "bid", "95000", "0.001", "IOC")
    place(BOT, "bid", "94000", "0.002")
    place(OTHER, "ask", "94000", "0.002", "IOC")
    bid = place(BOT, "bid", "90000", "0.001")
    cancel = _signed(BOT, "cancel_order", {"symbol": "BTC", "order_id": bid})
    assert httpx.post(f"{srv.api}/orders/cancel", json=cancel).status_code == 200
    mark = {"symbol": "BTC", "price": "100050"}
    assert httpx.post(f"{srv.url}/sandbox/mark_price", json=mark).status_code == 200


def _signed(kp: Keypair, op: str, payload: dict[str, Any]) -> dict[str, Any]:
    return signed_body(kp, op, payload, time.time_ns() // 1_000_000)


def test_every_frame_has_the_data_key_the_connector_routes_on(seen: Seen) -> None:
    assert all("data" in frame for frame in (*seen.public, *seen.user))


def test_book_snapshots_carry_li_and_the_levels_the_connector_parses(seen: Seen) -> None:
    books = _pushes(seen.public, "book")
    for book in books:
        _check_book(book)
    lis = [book["li"] for book in books]
    assert lis == sorted(lis) and lis[-1] > lis[0]


def test_trades_carry_li_a_history_id_and_an_exact_side(seen: Seen) -> None:
    trades = _items(seen.public, "trades")
    for item in trades:
        _check_trade(item)
    assert [item["li"] for item in trades] == sorted(item["li"] for item in trades)
    assert [item["d"] for item in trades] == ["open_long", "open_long", "close_long"]


def test_prices_items_carry_oracle_mark_funding_and_timestamp(seen: Seen) -> None:
    for prices in _pushes(seen.public, "prices"):
        for item in prices:
            _check_price(item)
    last = {item["symbol"]: item for item in _pushes(seen.public, "prices")[-1]}
    assert last["BTC"]["mark"] == "100050"


def test_order_updates_use_only_states_in_the_connectors_table(seen: Seen) -> None:
    updates = _items(seen.user, "account_order_updates")
    for item in updates:
        _check_order_update(item)
    assert [u["os"] for u in updates] == [
        "open", "partially_filled", "filled", "open", "filled", "open", "cancelled",
    ]  # fmt: skip
    assert [u["f"] for u in updates][:3] == ["0", "0.001", "0.002"]


def test_positions_are_whole_snapshots_and_an_empty_list_when_flat(seen: Seen) -> None:
    snapshots = _pushes(seen.user, "account_positions")
    for positions in snapshots:
        for item in positions:
            _check_position(item)
    held = [(p["d"], p["a"]) for positions in snapshots for p in positions]
    assert held[-1] == ("ask", "0.002") and snapshots[0] == [] and snapshots[-1] == []


def test_account_info_carries_equity_and_available_to_spend(seen: Seen) -> None:
    infos = _pushes(seen.user, "account_info")
    for info in infos:
        _check_info(info)
    assert len({info["ae"] for info in infos}) > 1  # fees and fills move the equity


def test_account_trades_carry_what_the_connectors_fill_update_needs(seen: Seen) -> None:
    fills = _items(seen.user, "account_trades")
    for item in fills:
        _check_account_trade(item)
    assert [(f["ts"], f["a"]) for f in fills] == [
        ("open_short", "0.001"), ("open_short", "0.001"), ("close_short", "0.002"),
    ]  # fmt: skip
