"""`tidepool order create|market|stop|cancel|cancel-all`: the signed order operations, one
`Client` method each, with options named as the wire fields (`--client-order-id` is
`client_order_id`).

A create prints the exchange's order id and the client order id it was sent with (made when not
given, so the client's retries after a lost answer can never make a second order).
"""

from __future__ import annotations

import argparse
from typing import Any

from tidepool.cli_client.options import connection_options, decimal, open_client
from tidepool.cli_client.output import Output
from tidepool.client import OrderRef, StopLeg

__all__ = ["COMMANDS", "register"]

COMMANDS = ("order",)


def register(sub: Any) -> None:
    common = connection_options()
    order = sub.add_parser("order", help="create or cancel orders (signed)")
    osub = order.add_subparsers(dest="order_command", required=True, metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = osub.add_parser(
            name, help=help_text, description=help_text, parents=[common]
        )
        p.add_argument("--symbol", required=True, help="the market, e.g. BTC")
        return p

    def order_options(p: argparse.ArgumentParser, *, amount: bool = True) -> None:
        p.add_argument("--side", required=True, choices=["bid", "ask"], help="bid buys, ask sells")
        if amount:
            p.add_argument("--amount", required=True, type=decimal, help="in the base asset")
        p.add_argument("--reduce-only", action="store_true", help="only ever shrink the position")

    def cloid(p: argparse.ArgumentParser) -> None:
        p.add_argument("--client-order-id", help="a UUID of your own (default: a new uuid4)")

    p = action("create", "a limit order")
    order_options(p)
    p.add_argument("--price", required=True, type=decimal)
    p.add_argument("--tif", default="GTC", choices=["GTC", "IOC", "ALO", "TOB"], help="(GTC)")
    cloid(p)
    p.set_defaults(handler=_create)

    p = action("market", "a market order: IOC within --slippage-percent of the mark")
    order_options(p)
    p.add_argument("--slippage-percent", type=decimal, default="0.5", help="0.5 is 0.5%% (0.5)")
    cloid(p)
    p.set_defaults(handler=_market)

    p = action("stop", "a stop order: rests until the mark reaches --stop-price")
    order_options(p, amount=False)
    p.add_argument("--stop-price", required=True, type=decimal)
    p.add_argument("--limit-price", type=decimal, help="a stop-limit (default: stop-market)")
    p.add_argument("--amount", type=decimal, help="default: the position's size")
    p.add_argument(
        "--trigger-price-type",
        choices=["mark_price", "last_trade_price", "mid_price"],
        help="what the stop price is compared with (the exchange's default: mark_price)",
    )
    cloid(p)
    p.set_defaults(handler=_stop)

    p = action("cancel", "cancel one open order, by exactly one of its ids")
    ids = p.add_mutually_exclusive_group(required=True)
    ids.add_argument("--order-id", type=int)
    ids.add_argument("--client-order-id")
    p.add_argument("--stop", action="store_true", help="it is a resting stop order")
    p.set_defaults(handler=_cancel)

    p = osub.add_parser(
        "cancel-all",
        help="cancel every open order (stops and TP/SL too), of one market or all",
        parents=[common],
    )
    p.add_argument("--symbol", help="only this market (default: every market)")
    p.add_argument("--exclude-reduce-only", action="store_true", help="keep reduce-only orders")
    p.set_defaults(handler=_cancel_all)


def _created(out: Output, what: str, ref: OrderRef) -> None:
    out.show(
        {"order_id": ref.order_id, "client_order_id": ref.client_order_id},
        f"{what} {ref.order_id} (client order id {ref.client_order_id})",
    )


def _create(args: argparse.Namespace, out: Output) -> None:
    with open_client(args, signs=True) as client:
        ref = client.create_order(
            symbol=args.symbol,
            price=args.price,
            amount=args.amount,
            side=args.side,
            tif=args.tif,
            reduce_only=args.reduce_only,
            client_order_id=args.client_order_id,
        )
    _created(out, "order", ref)


def _market(args: argparse.Namespace, out: Output) -> None:
    with open_client(args, signs=True) as client:
        ref = client.create_market_order(
            symbol=args.symbol,
            amount=args.amount,
            side=args.side,
            slippage_percent=args.slippage_percent,
            reduce_only=args.reduce_only,
            client_order_id=args.client_order_id,
        )
    _created(out, "market order", ref)


def _stop(args: argparse.Namespace, out: Output) -> None:
    leg = StopLeg(
        stop_price=args.stop_price,
        limit_price=args.limit_price,
        amount=args.amount,
        client_order_id=args.client_order_id,
        trigger_price_type=args.trigger_price_type,
    )
    with open_client(args, signs=True) as client:
        ref = client.create_stop_order(
            symbol=args.symbol, side=args.side, stop_order=leg, reduce_only=args.reduce_only
        )
    _created(out, "stop order", ref)


def _cancel(args: argparse.Namespace, out: Output) -> None:
    with open_client(args, signs=True) as client:
        cancel = client.cancel_stop_order if args.stop else client.cancel_order
        cancel(symbol=args.symbol, order_id=args.order_id, client_order_id=args.client_order_id)
    which = (
        f"order {args.order_id}"
        if args.order_id is not None
        else f"order with client order id {args.client_order_id}"
    )
    out.show({"cancelled_count": 1}, f"cancelled {which}")


def _cancel_all(args: argparse.Namespace, out: Output) -> None:
    with open_client(args, signs=True) as client:
        count = client.cancel_all_orders(
            symbol=args.symbol, exclude_reduce_only=args.exclude_reduce_only
        )
    where = f" in {args.symbol}" if args.symbol else ""
    out.show({"cancelled_count": count}, f"cancelled {count} order{'s' * (count != 1)}{where}")
