"""`tidepool orders | positions | account`: an account's state, read from the REST endpoints
of the same names (unsigned: any address can be read with `--account`).

`--json` prints the answer's list or object with the wire's field names, numbers as decimal
strings, as the REST API sends them.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import Any

import msgspec

from tidepool.cli_client.options import connection_options, open_client
from tidepool.cli_client.output import Output

__all__ = ["COMMANDS", "register"]

COMMANDS = ("orders", "positions", "account")


def register(sub: Any) -> None:
    common = connection_options()
    for name, handler, help_text in (
        ("orders", _orders, "the account's open orders, stops and TP/SL legs included"),
        ("positions", _positions, "the account's open positions"),
        ("account", _account, "the account's balance, equity, margin and counts"),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        p.set_defaults(handler=handler)


def _orders(args: argparse.Namespace, out: Output) -> None:
    with open_client(args, reads_account=True) as client:
        orders = client.orders()
    columns = ["order_id", "symbol", "side", "type", "price", "stop_price", "amount", "filled"]
    columns += ["reduce_only", "client_order_id"]
    rows = [
        (
            o.order_id,
            o.symbol,
            o.side,
            o.order_type,
            o.price,
            o.stop_price,
            o.initial_amount,
            o.filled_amount,
            o.reduce_only,
            o.client_order_id,
        )
        for o in orders
    ]
    human = out.make_table(columns, rows, f"{len(rows)} open orders") if rows else "no open orders"
    out.show(orders.items, human)


def _positions(args: argparse.Namespace, out: Output) -> None:
    with open_client(args, reads_account=True) as client:
        positions = client.positions()
    columns = ["symbol", "side", "amount", "entry_price", "margin", "funding", "isolated"]
    columns.append("liquidation_price")
    rows = [
        (
            p.symbol,
            p.side,
            p.amount,
            p.entry_price,
            p.margin,
            p.funding,
            p.isolated,
            p.liquidation_price,
        )
        for p in positions
    ]
    human = out.make_table(columns, rows, f"{len(rows)} positions") if rows else "no positions"
    out.show(positions.items, human)


def _account(args: argparse.Namespace, out: Output) -> None:
    with open_client(args, reads_account=True) as client:
        account = client.account()
        address = client.address
    # Decimals kept: the table and the JSON print them as plain digits, as the wire does.
    fields = msgspec.to_builtins(account, builtin_types=(Decimal,))
    rows = [(name, value) for name, value in fields.items() if not isinstance(value, list)]
    out.show(fields, out.make_table(["field", "value"], rows, f"account {address}"))
