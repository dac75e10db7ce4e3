"""Typed request bodies -> plain engine commands: decimal strings to integer ticks and lots with
the market's spec (off-grid values are 400s, never rounded), and the parameter rules the types
cannot express. The command is unstamped (the sequencer gives it seq and time) and unsigned (the
signed pipeline adds who signed it, gateway.signed).

Every front end translates through these, via the operation table (gateway.operations), so an
action in a batch is translated exactly like the same request on its own.
"""

from __future__ import annotations

from decimal import Decimal

from tidepool.domain.errors import book_not_found
from tidepool.domain.markets import (
    MarketSpec,
    OffGrid,
    OutOfRange,
    format_decimal,
    parse_decimal,
    to_steps,
)
from tidepool.engine.commands import (
    BindAgent,
    CancelAllOrders,
    CancelOrder,
    CancelStopOrder,
    Command,
    CreateApiKey,
    CreateMarketOrder,
    CreateOrder,
    CreateStopOrder,
    EditOrder,
    RevokeAgent,
    RevokeAllAgents,
    RevokeApiKey,
    SetPositionTpsl,
    StopLeg,
    UpdateLeverage,
    UpdateMarginMode,
)
from tidepool.gateway.api_keys import new_api_key
from tidepool.gateway.envelope import bad_request, invalid_parameters
from tidepool.gateway.errors import Rejected, WireError
from tidepool.gateway.exchange import Exchange
from tidepool.pacifica import is_public_key
from tidepool.pacifica.requests import (
    AgentWalletRequest,
    ApiKeyRequest,
    CancelAllOrdersRequest,
    CancelOrderRequest,
    CancelStopOrderRequest,
    CreateMarketOrderRequest,
    CreateOrderRequest,
    CreateStopOrderRequest,
    EditOrderRequest,
    EmptyPayloadRequest,
    SetPositionTpslRequest,
    StopLegRequest,
    UpdateLeverageRequest,
    UpdateMarginModeRequest,
    is_uuid,
)


def market(ex: Exchange, symbol: str) -> MarketSpec:
    spec = ex.markets.get(symbol)
    if spec is None:
        raise Rejected(book_not_found(symbol))
    return spec


def price_ticks(spec: MarketSpec, text: str, name: str = "Price") -> int:
    return _steps(text, spec.tick_size, name, "tick size", "invalid_price")


def amount_lots(spec: MarketSpec, text: str) -> int:
    return _steps(text, spec.lot_size, "Amount", "lot size", "invalid_amount")


def _steps(text: str, step: Decimal, name: str, grid: str, error_id: str) -> int:
    """`text` in steps of the market's grid; a 400 naming the field when it is not on it."""
    try:
        return to_steps(text, step)
    except OutOfRange as exc:
        raise WireError(bad_request(f"{name} {exc}", error_id)) from None
    except OffGrid:
        raise WireError(
            bad_request(
                f"{name} {text} is not a multiple of {grid} {format_decimal(step)}", error_id
            )
        ) from None


def check_client_order_id(cloid: str | None) -> None:
    if cloid is not None and not is_uuid(cloid):
        raise WireError(invalid_parameters("client_order_id must be a UUID string"))


def exactly_one_id(order_id: int | None, client_order_id: str | None) -> None:
    if (order_id is None) == (client_order_id is None):
        raise WireError(invalid_parameters("provide exactly one of order_id or client_order_id"))
    check_client_order_id(client_order_id)


def percent(name: str, text: str) -> Decimal:
    """A non-negative decimal string (slippage in percent)."""
    try:
        value = parse_decimal(text)
    except OffGrid as exc:
        raise WireError(invalid_parameters(f"{name} must be a decimal string: {exc}")) from None
    if value < 0:
        raise WireError(invalid_parameters(f"{name} must not be negative"))
    return value


TRIGGER_TYPES = frozenset({"mark_price", "last_trade_price"})


def stop_leg(spec: MarketSpec, leg: StopLegRequest | None) -> StopLeg | None:
    """A stop-leg object in ticks and lots. `mid_price` triggers are not modelled (400)."""
    if leg is None:
        return None
    check_client_order_id(leg.client_order_id)
    trigger = leg.trigger_price_type or "mark_price"
    if trigger not in TRIGGER_TYPES:
        raise WireError(
            invalid_parameters(
                f"trigger_price_type {trigger!r} is not supported (mark_price, last_trade_price)"
            )
        )
    size = None
    if leg.amount is not None and not _is_zero(leg.amount):
        size = amount_lots(spec, leg.amount)
    return StopLeg(
        stop_ticks=price_ticks(spec, leg.stop_price, "Stop price"),
        limit_ticks=None if leg.limit_price is None else price_ticks(spec, leg.limit_price),
        size_lots=size,
        client_order_id=leg.client_order_id,
        trigger="last_trade_price" if trigger == "last_trade_price" else "mark_price",
    )


def _is_zero(text: str) -> bool:
    try:
        return parse_decimal(text) == 0
    except OffGrid:
        return False


def create_order(ex: Exchange, body: CreateOrderRequest) -> Command:
    check_client_order_id(body.client_order_id)
    spec = market(ex, body.symbol)
    tp, sl = stop_leg(spec, body.take_profit), stop_leg(spec, body.stop_loss)
    ticks = price_ticks(spec, body.price)
    lots = amount_lots(spec, body.amount)
    return CreateOrder(
        account=body.account,
        symbol=body.symbol,
        side=body.side,
        price_ticks=ticks,
        size_lots=lots,
        tif=body.tif,
        reduce_only=body.reduce_only,
        client_order_id=body.client_order_id,
        take_profit=tp,
        stop_loss=sl,
    )


def create_market_order(ex: Exchange, body: CreateMarketOrderRequest) -> Command:
    check_client_order_id(body.client_order_id)
    spec = market(ex, body.symbol)
    tp, sl = stop_leg(spec, body.take_profit), stop_leg(spec, body.stop_loss)
    lots = amount_lots(spec, body.amount)
    slippage = percent("slippage_percent", body.slippage_percent)
    return CreateMarketOrder(
        account=body.account,
        symbol=body.symbol,
        side=body.side,
        size_lots=lots,
        slippage_percent=slippage,
        reduce_only=body.reduce_only,
        client_order_id=body.client_order_id,
        take_profit=tp,
        stop_loss=sl,
    )


def cancel_order(ex: Exchange, body: CancelOrderRequest) -> Command:
    exactly_one_id(body.order_id, body.client_order_id)
    market(ex, body.symbol)
    return CancelOrder(
        account=body.account,
        symbol=body.symbol,
        order_id=body.order_id,
        client_order_id=body.client_order_id,
    )


def edit_order(ex: Exchange, body: EditOrderRequest) -> Command:
    exactly_one_id(body.order_id, body.client_order_id)
    spec = market(ex, body.symbol)
    ticks = price_ticks(spec, body.price)
    lots = None if body.amount is None else amount_lots(spec, body.amount)
    return EditOrder(
        account=body.account,
        symbol=body.symbol,
        price_ticks=ticks,
        size_lots=lots,
        order_id=body.order_id,
        client_order_id=body.client_order_id,
    )


def create_stop_order(ex: Exchange, body: CreateStopOrderRequest) -> Command:
    spec = market(ex, body.symbol)
    leg = stop_leg(spec, body.stop_order)
    assert leg is not None
    return CreateStopOrder(
        account=body.account,
        symbol=body.symbol,
        side=body.side,
        reduce_only=body.reduce_only,
        stop=leg,
    )


def set_position_tpsl(ex: Exchange, body: SetPositionTpslRequest) -> Command:
    spec = market(ex, body.symbol)
    tp, sl = stop_leg(spec, body.take_profit), stop_leg(spec, body.stop_loss)
    if tp is None and sl is None:
        raise WireError(invalid_parameters("take_profit or stop_loss is required"))
    return SetPositionTpsl(
        account=body.account,
        symbol=body.symbol,
        side=body.side,
        take_profit=tp,
        stop_loss=sl,
    )


def cancel_stop_order(ex: Exchange, body: CancelStopOrderRequest) -> Command:
    exactly_one_id(body.order_id, body.client_order_id)
    market(ex, body.symbol)
    return CancelStopOrder(
        account=body.account,
        symbol=body.symbol,
        order_id=body.order_id,
        client_order_id=body.client_order_id,
    )


def cancel_all_orders(ex: Exchange, body: CancelAllOrdersRequest) -> Command:
    """Unbounded: the pipeline runs it in chunks (runtime/pipeline.py)."""
    symbol: str | None = None
    if not body.all_symbols:
        if body.symbol is None:
            raise WireError(invalid_parameters("symbol is required when all_symbols is false"))
        symbol = market(ex, body.symbol).symbol
    return CancelAllOrders(
        account=body.account, symbol=symbol, exclude_reduce_only=body.exclude_reduce_only
    )


def update_leverage(ex: Exchange, body: UpdateLeverageRequest) -> Command:
    market(ex, body.symbol)
    return UpdateLeverage(account=body.account, symbol=body.symbol, leverage=body.leverage)


def update_margin_mode(ex: Exchange, body: UpdateMarginModeRequest) -> Command:
    market(ex, body.symbol)
    return UpdateMarginMode(account=body.account, symbol=body.symbol, is_isolated=body.is_isolated)


def _agent_of(body: AgentWalletRequest) -> str:
    agent = body.agent_wallet
    if agent is None:
        raise WireError(invalid_parameters("agent_wallet is required"))
    if not is_public_key(agent):
        raise WireError(bad_request("Invalid public key"))
    if agent == body.account:
        raise WireError(invalid_parameters("an account cannot be its own agent"))
    return agent


def bind_agent_wallet(ex: Exchange, body: AgentWalletRequest) -> Command:
    return BindAgent(account=body.account, agent=_agent_of(body))


def revoke_agent_wallet(ex: Exchange, body: AgentWalletRequest) -> Command:
    return RevokeAgent(account=body.account, agent=_agent_of(body))


def revoke_all_agent_wallets(ex: Exchange, body: EmptyPayloadRequest) -> Command:
    return RevokeAllAgents(account=body.account)


def create_api_key(ex: Exchange, body: EmptyPayloadRequest) -> Command:
    """The key is drawn here, not in the engine: the command carries it (gateway.api_keys)."""
    return CreateApiKey(account=body.account, api_key=new_api_key(body.account))


def revoke_api_key(ex: Exchange, body: ApiKeyRequest) -> Command:
    return RevokeApiKey(account=body.account, api_key=body.api_key)
