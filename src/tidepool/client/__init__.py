"""A Python client for Pacifica's REST API, pointed at Tidepool or at Pacifica itself.

    from tidepool.client import Client, StopLeg

    with Client(key=SECRET) as client:              # LOCAL_URL; or MAINNET_URL, TESTNET_URL
        ref = client.create_order(symbol="BTC", price="99000", amount="0.001", side="bid")
        print(client.orders()[0].price)             # Decimal('99000')
        client.cancel_order(symbol="BTC", order_id=ref.order_id)

`AsyncClient` has the same methods, awaited. `WebSocketClient` trades over Pacifica's WebSocket
(the six operations it serves), iterates over its channels and mirrors books, open orders and
positions (`ws`). Signed operations are named after their operation
type and take the wire fields as keywords (`actions`); reads are named after their path
(`reads`). Answers are typed structs with `Decimal` numbers (`models`); errors are one tree
(`errors`). Keys: base58 seed or secret, or a Solana keypair file (`load_keypair`); with
`agent_key=` an agent wallet signs for the account. Every create carries a client order id
(made when not given), so the retries after a lost answer never make a second order (`base`).
`client.sandbox` calls the cheats of a local Tidepool server: faucet, marks, time, snapshot and
revert (`sandbox`).

It signs with `tidepool.pacifica`, the code the server verifies with, and imports nothing else of
tidepool (tests/test_package_boundaries.py checks).
"""

from tidepool.client.async_client import AsyncClient
from tidepool.client.base import BaseClient, Options
from tidepool.client.errors import (
    AgentNotAuthorized,
    ApiError,
    BookNotFound,
    BusinessError,
    ClientError,
    DecodingError,
    DuplicateClientOrderId,
    InsufficientBalance,
    InvalidLeverage,
    InvalidRequest,
    NoReasonablePrice,
    NotFound,
    OpenOrderLimitReached,
    OrderAmountTooHigh,
    OrderAmountTooLow,
    OrderNotFound,
    PositionNotFound,
    PriceTooFarFromMark,
    RateLimited,
    ServerError,
    SignatureError,
    TransportError,
    UnusedClientOrderId,
)
from tidepool.client.keys import load_keypair
from tidepool.client.models import (
    Account,
    ApiKeys,
    BatchResult,
    Book,
    BookLevel,
    Candle,
    Fill,
    MarginSetting,
    MarketInfo,
    OpenOrder,
    OrderEvent,
    OrderHistoryItem,
    OrderRef,
    Page,
    Position,
    Price,
    PublicTrade,
    Snapshot,
    SpotBalance,
    StopLeg,
)
from tidepool.client.sandbox import AsyncSandbox, Sandbox
from tidepool.client.sandbox_models import (
    AccountBalance,
    DevAccount,
    FaucetCredit,
    MarkPrice,
    MarkPrices,
    ResetSummary,
    ServerTime,
    SnapshotId,
    StateHash,
)
from tidepool.client.serverclock import ServerClock
from tidepool.client.sync_client import Client
from tidepool.client.urls import (
    DEFAULT_PORT,
    LOCAL_URL,
    LOCAL_WS_URL,
    MAINNET_URL,
    MAINNET_WS_URL,
    TESTNET_URL,
    TESTNET_WS_URL,
    ws_url,
)
from tidepool.client.ws import WebSocketClient
from tidepool.client.ws_models import (
    AccountInfo,
    AccountOrder,
    AccountPosition,
    AccountSpotBalance,
    AccountTrade,
    Bbo,
    LeverageUpdate,
    MarginUpdate,
    OrderUpdate,
    Trade,
)
from tidepool.client.ws_subscription import Subscription

__all__ = [
    "DEFAULT_PORT",
    "LOCAL_URL",
    "LOCAL_WS_URL",
    "MAINNET_URL",
    "MAINNET_WS_URL",
    "TESTNET_URL",
    "TESTNET_WS_URL",
    "Account",
    "AccountBalance",
    "AccountInfo",
    "AccountOrder",
    "AccountPosition",
    "AccountSpotBalance",
    "AccountTrade",
    "AgentNotAuthorized",
    "ApiError",
    "ApiKeys",
    "AsyncClient",
    "AsyncSandbox",
    "BaseClient",
    "BatchResult",
    "Bbo",
    "Book",
    "BookLevel",
    "BookNotFound",
    "BusinessError",
    "Candle",
    "Client",
    "ClientError",
    "DecodingError",
    "DevAccount",
    "DuplicateClientOrderId",
    "FaucetCredit",
    "Fill",
    "InsufficientBalance",
    "InvalidLeverage",
    "InvalidRequest",
    "LeverageUpdate",
    "MarginSetting",
    "MarginUpdate",
    "MarkPrice",
    "MarkPrices",
    "MarketInfo",
    "NoReasonablePrice",
    "NotFound",
    "OpenOrder",
    "OpenOrderLimitReached",
    "Options",
    "OrderAmountTooHigh",
    "OrderAmountTooLow",
    "OrderEvent",
    "OrderHistoryItem",
    "OrderNotFound",
    "OrderRef",
    "OrderUpdate",
    "Page",
    "Position",
    "PositionNotFound",
    "Price",
    "PriceTooFarFromMark",
    "PublicTrade",
    "RateLimited",
    "ResetSummary",
    "Sandbox",
    "ServerClock",
    "ServerError",
    "ServerTime",
    "SignatureError",
    "Snapshot",
    "SnapshotId",
    "SpotBalance",
    "StateHash",
    "StopLeg",
    "Subscription",
    "Trade",
    "TransportError",
    "UnusedClientOrderId",
    "WebSocketClient",
    "load_keypair",
    "ws_url",
]
