"""The client covers the whole API the server serves, and reads every kind of answer."""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import pytest

from tidepool.client import (
    DEFAULT_PORT,
    MAINNET_URL,
    AsyncClient,
    Client,
    DecodingError,
    InvalidRequest,
    RateLimited,
    ServerError,
    StopLeg,
)
from tidepool.client.calls import Action, Read
from tidepool.client.errors import BUSINESS_CODES
from tidepool.client.methods import Api, method
from tidepool.config import Config
from tidepool.domain.errors import Code
from tidepool.gateway.app import ROUTES
from tidepool.gateway.operations import OPERATIONS
from tidepool.gateway.request import API

# Arguments to build one call of each method with (a new table row needs a sample here, which
# is the point: it needs a client method too).
SAMPLE_ARGS: dict[str, dict[str, Any]] = {
    "create_order": {"symbol": "BTC", "price": "1", "amount": "1", "side": "bid"},
    "create_market_order": {
        "symbol": "BTC",
        "amount": "1",
        "side": "bid",
        "slippage_percent": "1",
    },
    "edit_order": {"symbol": "BTC", "price": "1", "order_id": 1},
    "cancel_order": {"symbol": "BTC", "order_id": 1},
    "cancel_all_orders": {},
    "create_stop_order": {"symbol": "BTC", "side": "bid", "stop_order": None},
    "cancel_stop_order": {"symbol": "BTC", "order_id": 1},
    "set_position_tpsl": {"symbol": "BTC", "side": "ask"},
    "update_leverage": {"symbol": "BTC", "leverage": 2},
    "update_margin_mode": {"symbol": "BTC", "is_isolated": True},
    "bind_agent_wallet": {"agent_wallet": "x"},
    "revoke_agent_wallet": {"agent_wallet": "x"},
    "revoke_all_agent_wallets": {},
    "list_agent_wallets": {},
    "batch_orders": {"actions": []},
}
METHODS: dict[str, method[..., Any]] = {
    name: value for name, value in vars(Api).items() if isinstance(value, method)
}


def _build(name: str) -> Any:
    args = dict(SAMPLE_ARGS.get(name, {}))
    if "stop_order" in args:
        args["stop_order"] = StopLeg(stop_price="1")
    parameters = inspect.signature(METHODS[name].build).parameters
    for param in parameters.values():  # reads: their required arguments
        if param.default is inspect.Parameter.empty and param.name not in args:
            args[param.name] = 1 if param.name.endswith(("_id", "_time")) else "BTC"
    return METHODS[name].build(**args)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.op_type)
def test_every_signed_operation_of_the_server_has_a_client_method_of_its_name(op: Any) -> None:
    assert op.op_type in METHODS
    action = _build(op.op_type)
    assert isinstance(action, Action)
    assert (action.op_type, API + action.path, action.batch_action) == (
        op.op_type,
        op.path,
        op.batch_action,
    )
    assert action.main_key == (op.main_key_only or op.agent_is_payload)


GET_PATHS = sorted(path for (verb, path) in ROUTES if verb == "GET" and path.startswith(API))


@pytest.mark.parametrize("path", GET_PATHS)
def test_every_read_the_server_serves_has_a_client_method(path: str) -> None:
    reads = {API + call.path for call in map(_build, METHODS) if isinstance(call, Read)}
    assert path in reads


def test_the_batch_method_posts_to_the_servers_batch_route() -> None:
    assert ("POST", API + _build("batch_orders").path) in ROUTES


def test_both_clients_offer_every_method() -> None:
    for name in METHODS:
        assert callable(getattr(Client(), name)) and callable(getattr(AsyncClient(), name))


def test_the_default_url_is_the_local_server_on_serves_default_port() -> None:
    assert Config().port == DEFAULT_PORT
    assert Client().base_url == f"http://127.0.0.1:{Config().port}/api/v1"


def test_a_bare_host_gets_the_api_root_and_a_full_url_is_kept() -> None:
    assert Client("http://127.0.0.1:9000/").base_url == "http://127.0.0.1:9000/api/v1"
    assert Client(MAINNET_URL).base_url == MAINNET_URL


def test_each_business_error_class_is_named_after_its_code() -> None:
    for code, kind in BUSINESS_CODES.items():
        snake = "".join(f"_{c}" if c.isupper() else c.upper() for c in kind.__name__).lstrip("_")
        assert Code(code).name == snake


def _answering(status: int, content: bytes) -> Client:
    return Client(transport=httpx.MockTransport(lambda _: httpx.Response(status, content=content)))


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, RateLimited), (500, ServerError), (503, ServerError), (400, InvalidRequest)],
)
def test_an_error_envelope_raises_the_class_of_its_status(status: int, kind: type) -> None:
    body = b'{"success":false,"data":null,"error":"Service unavailable: disk full","code":%d}'
    with pytest.raises(kind) as caught:
        _answering(status, body % status).info()
    assert caught.value.status == status
    assert caught.value.message == "Service unavailable: disk full"


def test_an_answer_that_is_not_the_envelope_is_a_decoding_error() -> None:
    with pytest.raises(DecodingError, match="HTTP 502: not a Pacifica answer"):
        _answering(502, b"<html>Bad gateway</html>").info()


def test_data_that_is_not_the_model_is_a_decoding_error() -> None:
    body = b'{"success":true,"data":[{"symbol":"BTC"}],"error":null,"code":null}'
    with pytest.raises(DecodingError, match="/info: unexpected answer"):
        _answering(200, body).info()
