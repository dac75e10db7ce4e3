"""History and account-settings reads in their live shapes (spec §2.11, §4.4, §4.5, §4.7, §4.9)
and the signed leverage / margin-mode updates."""

from __future__ import annotations

from solders.keypair import Keypair

from harness import Harness
from tidepool.domain.markets import DEFAULT_MARKETS


def trade(hx: Harness, maker: Keypair, taker: Keypair, price: str, amount: str = "0.001") -> None:
    hx.create(maker, side="ask", price=price, amount=amount, tif="ALO")
    status, body = hx.create(taker, side="bid", price=price, amount=amount, tif="IOC")
    assert status == 200, body


def test_orders_history_pages_newest_first_with_a_cursor(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    for price in ("90000", "90001", "90002"):
        hx.create(alice, price=price, tif="ALO")
    hx.post_signed("/api/v1/orders/cancel", alice, {"symbol": "BTC", "order_id": 2})
    account = str(alice.pubkey())
    status, body = hx.get("/api/v1/orders/history", account=account, limit=2)
    assert status == 200
    assert list(body) == ["success", "data", "next_cursor", "has_more", "error", "code"]
    assert body["has_more"] is True and isinstance(body["next_cursor"], str)
    first = body["data"][0]
    assert list(first)[:16] == [
        "order_id", "client_order_id", "symbol", "side", "initial_price",
        "average_filled_price", "amount", "filled_amount", "order_status", "order_type",
        "stop_price", "stop_parent_order_id", "reduce_only", "reason", "created_at", "updated_at",
    ]  # fmt: skip
    assert [(o["order_id"], o["order_status"], o["reason"]) for o in body["data"]] == [
        (3, "open", None),
        (2, "cancelled", "cancel"),
    ]
    _, rest = hx.get("/api/v1/orders/history", account=account, limit=2, cursor=body["next_cursor"])
    assert [o["order_id"] for o in rest["data"]] == [1]
    assert (rest["has_more"], rest["next_cursor"]) == (False, None)
    assert hx.get("/api/v1/orders/history", account=account, cursor="0OIl")[0] == 400


def test_ioc_remainder_shows_as_a_cancel_reason(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    hx.create(alice, tif="IOC")
    _, body = hx.get("/api/v1/orders/history", account=str(alice.pubkey()))
    assert (body["data"][0]["order_status"], body["data"][0]["reason"]) == ("cancelled", "cancel")


def test_public_trades_and_account_fills(hx: Harness, alice: Keypair, bob: Keypair) -> None:
    hx.faucet(alice)
    hx.faucet(bob)
    trade(hx, alice, bob, "100000")
    hx.clock.advance(1000)
    trade(hx, alice, bob, "100010", "0.002")
    status, body = hx.get("/api/v1/trades", symbol="BTC")
    assert status == 200 and body["last_order_id"] == 4
    assert body["data"][0] == {
        "event_type": "fulfill_taker",
        "price": "100010",
        "amount": "0.002",
        "side": "open_long",
        "cause": "normal",
        "created_at": hx.clock.now_ms(),
    }
    assert len(body["data"]) == 2
    _, fills = hx.get("/api/v1/trades/history", account=str(alice.pubkey()), symbol="BTC")
    assert list(fills)[:4] == ["success", "data", "next_cursor", "has_more"]
    newest = fills["data"][0]
    assert {k: newest[k] for k in ("order_id", "amount", "price", "event_type", "side")} == {
        "order_id": 3,
        "amount": "0.002",
        "price": "100010",
        "event_type": "fulfill_maker",
        "side": "open_short",
    }
    assert newest["entry_price"] == "100006.666667" and newest["pnl"] == "0"
    assert newest["fee"] == "0.030003" and newest["cause"] == "normal"
    _, page = hx.get("/api/v1/trades/history", account=str(bob.pubkey()), limit=1)
    assert page["has_more"] is True and page["data"][0]["event_type"] == "fulfill_taker"
    _, older = hx.get(
        "/api/v1/trades/history", account=str(bob.pubkey()), cursor=page["next_cursor"]
    )
    assert [f["price"] for f in older["data"]] == ["100000"] and older["has_more"] is False


def test_kline_is_built_from_trades_oldest_first_and_quiet_minutes_stay_flat(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    hx.faucet(alice)
    hx.faucet(bob)
    minute = hx.clock.now_ms() // 300_000 * 300_000 + 300_000  # on a 5-minute boundary
    hx.clock.set(minute + 1_000)
    trade(hx, alice, bob, "100000")
    hx.clock.set(minute + 30_000)
    trade(hx, alice, bob, "100200", "0.002")
    trade(hx, alice, bob, "99900")
    hx.clock.set(minute + 180_000)
    trade(hx, alice, bob, "100100")
    status, body = hx.get("/api/v1/kline", symbol="BTC", interval="1m", start_time=minute + 5_000)
    assert status == 200

    def flat(t: int, price: str) -> dict[str, object]:
        return {"t": t, "T": t + 60_000, "s": "BTC", "i": "1m",
                "o": price, "c": price, "h": price, "l": price, "v": "0", "n": 0}  # fmt: skip

    assert body["data"] == [
        {"t": minute, "T": minute + 60_000, "s": "BTC", "i": "1m", "o": "100000",
         "c": "99900", "h": "100200", "l": "99900", "v": "0.004", "n": 3},
        flat(minute + 60_000, "99900"),
        flat(minute + 120_000, "99900"),
        {"t": minute + 180_000, "T": minute + 240_000, "s": "BTC", "i": "1m", "o": "100100",
         "c": "100100", "h": "100100", "l": "100100", "v": "0.001", "n": 1},
    ]  # fmt: skip
    hx.clock.set(minute + 400_000)  # nothing traded since: up to now, flat at the last price
    _, later = hx.get("/api/v1/kline", symbol="BTC", interval="1m", start_time=minute + 200_000)
    assert later["data"][1:] == [
        flat(minute + 240_000, "100100"),
        flat(minute + 300_000, "100100"),
        flat(minute + 360_000, "100100"),
    ]
    _, five = hx.get("/api/v1/kline", symbol="BTC", interval="5m", start_time=minute)
    assert [(c["t"], c["n"], c["o"], c["c"]) for c in five["data"]] == [
        (minute, 4, "100000", "100100"),
        (minute + 300_000, 0, "100100", "100100"),
    ]
    _, one = hx.get(
        "/api/v1/kline", symbol="BTC", interval="1m", start_time=minute, end_time=minute + 59_999
    )
    assert [c["n"] for c in one["data"]] == [3]
    _, limited = hx.get("/api/v1/kline", symbol="BTC", interval="1m", start_time=minute, limit=2)
    assert [c["t"] for c in limited["data"]] == [minute, minute + 60_000]
    assert hx.get("/api/v1/kline", symbol="BTC", interval="7m", start_time=minute)[0] == 400
    assert hx.get("/api/v1/kline", symbol="BTC", interval="1m")[0] == 400


def test_kline_of_a_market_that_never_traded_is_flat_at_its_initial_mark(hx: Harness) -> None:
    """What Hummingbot's last-price lookup asks: 1m candles from a minute ago, `data[0].c`."""
    now = hx.clock.now_ms()
    status, body = hx.get("/api/v1/kline", symbol="ETH", interval="1m", start_time=now - 60_000)
    assert status == 200
    opens = now // 60_000 * 60_000
    assert [c["t"] for c in body["data"]] == [opens - 60_000, opens]
    assert all(
        (c["o"], c["h"], c["l"], c["c"], c["v"], c["n"]) == ("3500", "3500", "3500", "3500", "0", 0)
        for c in body["data"]
    )


def test_kline_window_is_clipped_to_the_market_opening_and_now(hx: Harness) -> None:
    now = hx.clock.now_ms()
    opened = DEFAULT_MARKETS[0].created_at
    _, body = hx.get("/api/v1/kline", symbol="BTC", interval="1d", start_time=0, end_time=2**64 - 1)
    days = body["data"]
    assert days[0]["t"] == opened // 86_400_000 * 86_400_000
    assert days[-1]["t"] == now // 86_400_000 * 86_400_000 and days[-1]["T"] > now
    assert len(days) == now // 86_400_000 - opened // 86_400_000 + 1
    for window in (
        {"start_time": now + 60_000},
        {"start_time": 0, "end_time": opened - 86_400_000},
    ):
        assert hx.get("/api/v1/kline", symbol="BTC", interval="1m", **window)[1]["data"] == []


def test_a_kline_window_longer_than_the_cap_returns_the_oldest_4000_candles(hx: Harness) -> None:
    """Thirteen days of minutes since BTC opened: the first 4000 from start_time's candle."""
    opened = DEFAULT_MARKETS[0].created_at
    _, body = hx.get("/api/v1/kline", symbol="BTC", interval="1m", start_time=0)
    minutes = body["data"]
    assert len(minutes) == 4000
    assert minutes[0]["t"] == opened // 60_000 * 60_000
    assert minutes[-1]["t"] == minutes[0]["t"] + 3999 * 60_000
    assert hx.get("/api/v1/kline", symbol="BTC", interval="1m", start_time=0, limit=4001)[0] == 400


def test_settings_leverage_and_margin_mode(hx: Harness, alice: Keypair, bob: Keypair) -> None:
    hx.faucet(alice)
    hx.faucet(bob)
    account = str(alice.pubkey())
    assert hx.get("/api/v1/account/settings", account=account)[1]["data"] == []
    status, body = hx.post_signed(
        "/api/v1/account/leverage", alice, {"symbol": "BTC", "leverage": 10}
    )
    assert (status, body) == (200, {"success": True, "data": None, "error": None, "code": None})
    status, body = hx.post_signed(
        "/api/v1/account/margin", alice, {"symbol": "ETH", "is_isolated": True}
    )
    assert status == 200
    _, settings = hx.get("/api/v1/account/settings", account=account)
    now = hx.clock.now_ms()
    assert settings["data"] == [
        {"symbol": "BTC", "isolated": False, "leverage": 10, "created_at": now, "updated_at": now},
        {"symbol": "ETH", "isolated": True, "leverage": 50, "created_at": now, "updated_at": now},
    ]
    trade(hx, bob, alice, "100000")  # alice long
    status, body = hx.post_signed(
        "/api/v1/account/leverage", alice, {"symbol": "BTC", "leverage": 5}
    )
    assert (status, body["code"]) == (422, 11)
    assert body["error"] == "Cannot decrease leverage with open position.: 5"
    status, body = hx.post_signed(
        "/api/v1/account/margin", alice, {"symbol": "BTC", "is_isolated": True}
    )
    assert (status, body["code"]) == (422, 12)
    status, body = hx.post_signed(
        "/api/v1/account/leverage", alice, {"symbol": "BTC", "leverage": 51}
    )
    assert (status, body["code"]) == (422, 11)
    _, pos = hx.get("/api/v1/positions", account=account)
    assert pos["data"][0]["margin"] == "0"  # a cross position: live shows margin for isolated only


def test_weekly_and_monthly_candles_follow_the_calendar() -> None:
    from tidepool.gateway.candles import candle_bounds

    dec_31 = 1_767_139_200_000  # 2025-12-31 00:00 UTC, a Wednesday
    assert candle_bounds("1M", dec_31) == (1_764_547_200_000, 1_767_225_600_000)  # Dec 1, Jan 1
    assert candle_bounds("1w", dec_31) == (1_766_966_400_000, 1_767_571_200_000)  # Mon..Mon
