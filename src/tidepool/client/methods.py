"""The clients' methods, each declared once from its builder (`reads`, `actions`).

`method(build)` is a descriptor: on a `Client` it is a function returning the call's value, on an
`AsyncClient` (and for the `WebSocketClient`'s trading methods) a coroutine function; both take
the builder's own arguments. That is how the clients share every method (and its signature, for
type checkers) and differ only in the send.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, cast, overload

from tidepool.client import actions, reads
from tidepool.client.calls import Call

if TYPE_CHECKING:
    from tidepool.client.async_client import AsyncClient
    from tidepool.client.sandbox import AsyncSandbox, Sandbox
    from tidepool.client.sync_client import Client
    from tidepool.client.ws import WebSocketClient

__all__ = ["Api", "method"]

P = ParamSpec("P")
T = TypeVar("T")


class method(Generic[P, T]):  # lower case: it reads as a declaration, like `property`
    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self.build = build
        functools.update_wrapper(cast(Any, self), build)  # help() shows the builder's doc

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> method[P, T]: ...
    @overload
    def __get__(self, obj: Client | Sandbox, owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, obj: AsyncClient | AsyncSandbox | WebSocketClient, owner: type[Any]
    ) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: Any, owner: type[Any]) -> Any:
        if obj is None:
            return self
        build, run = self.build, obj._run

        @functools.wraps(build)
        def bound(*args: P.args, **kwargs: P.kwargs) -> Any:
            return run(build(*args, **kwargs))

        return bound


class Api:
    """Every endpoint: the signed actions, named after their operation type, then the reads,
    named after their path."""

    create_order = method(actions.create_order)
    create_market_order = method(actions.create_market_order)
    create_stop_order = method(actions.create_stop_order)
    set_position_tpsl = method(actions.set_position_tpsl)
    edit_order = method(actions.edit_order)
    batch_orders = method(actions.batch_orders)
    cancel_order = method(actions.cancel_order)
    cancel_all_orders = method(actions.cancel_all_orders)
    cancel_stop_order = method(actions.cancel_stop_order)
    update_leverage = method(actions.update_leverage)
    update_margin_mode = method(actions.update_margin_mode)
    bind_agent_wallet = method(actions.bind_agent_wallet)
    revoke_agent_wallet = method(actions.revoke_agent_wallet)
    revoke_all_agent_wallets = method(actions.revoke_all_agent_wallets)
    list_agent_wallets = method(actions.list_agent_wallets)
    create_api_key = method(actions.create_api_key)
    revoke_api_key = method(actions.revoke_api_key)
    list_api_keys = method(actions.list_api_keys)

    info = method(reads.info)
    prices = method(reads.prices)
    book = method(reads.book)
    trades = method(reads.trades)
    kline = method(reads.kline)
    account = method(reads.account)
    account_settings = method(reads.account_settings)
    positions = method(reads.positions)
    orders = method(reads.orders)
    order_history = method(reads.order_history)
    order_history_by_id = method(reads.order_history_by_id)
    trade_history = method(reads.trade_history)
