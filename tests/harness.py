"""An in-process Tidepool: the real ASGI app, sequencer and engine, driven through ASGI messages
on one event loop, with a manual clock so signatures and timestamps are deterministic."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from solders.keypair import Keypair

from pacifica_recipe import signed_body
from tidepool.domain.markets import DEFAULT_MARKETS, MarketSpec
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.gateway.accesslog import Trace
from tidepool.gateway.app import AsgiApp, GatewayApp
from tidepool.gateway.envelope import Response
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.preverify import verdicts
from tidepool.gateway.verify import ReplayGuard, VerifyPolicy
from tidepool.runtime.clock import ManualClock, SandboxClock
from tidepool.runtime.pipeline import Pipeline
from tidepool.runtime.sequencer import Sequencer

OP_TYPES = {
    "/api/v1/orders/create": "create_order",
    "/api/v1/orders/create_market": "create_market_order",
    "/api/v1/orders/cancel": "cancel_order",
    "/api/v1/orders/edit": "edit_order",
    "/api/v1/orders/cancel_all": "cancel_all_orders",
    "/api/v1/orders/batch": "",
    "/api/v1/orders/stop/create": "create_stop_order",
    "/api/v1/orders/stop/cancel": "cancel_stop_order",
    "/api/v1/positions/tpsl": "set_position_tpsl",
    "/api/v1/account/leverage": "update_leverage",
    "/api/v1/account/margin": "update_margin_mode",
    "/api/v1/agent/bind": "bind_agent_wallet",
    "/api/v1/agent/revoke": "revoke_agent_wallet",
    "/api/v1/agent/revoke_all": "revoke_all_agent_wallets",
    "/api/v1/agent/list": "list_agent_wallets",
    "/api/v1/account/api_keys/create": "create_api_key",
    "/api/v1/account/api_keys/revoke": "revoke_api_key",
    "/api/v1/account/api_keys": "list_api_keys",
}


class MemoryLink:
    """What the server's WebSocket protocol offers a session (ws_session.Link), in memory: the
    frames it is given, decoded, in `sent`."""

    def __init__(self) -> None:
        self.last_heard = asyncio.get_running_loop().time()
        self.writable = asyncio.Event()
        self.writable.set()
        self.sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def send_frame(self, data: bytes) -> None:
        self.sent.put_nowait(json.loads(data))

    async def next(self, channel: str) -> dict[str, Any]:
        """The next frame of `channel` (those of other channels before it are passed over)."""
        while True:
            frame = await asyncio.wait_for(self.sent.get(), 10)
            if frame.get("channel") == channel:
                return frame


class _WorkerLayout(AsgiApp):
    """The request path of `serve --workers N` without the processes: the signature work as a
    gateway worker does it, then the engine process's dispatch trusting those verdicts."""

    def __init__(self, gateway: GatewayApp) -> None:
        super().__init__()
        self._gateway = gateway

    async def answer(
        self,
        method: str,
        path: str,
        query_string: bytes,
        body: bytes,
        trace: Trace,
        *,
        api_key: str | None,
    ) -> Response:
        verified = verdicts(method, path, body)
        return await self._gateway.dispatch(
            method, path, query_string, body, trace, verified, api_key=api_key
        )


class Harness:
    def __init__(
        self,
        markets: tuple[MarketSpec, ...] = DEFAULT_MARKETS,
        *,
        strict: bool = False,
        workers: bool = False,
        sandbox: bool = True,
        state_dir: Path | None = None,
    ) -> None:
        """state_dir: journal there (durability `process`) instead of in memory."""
        self.clock = ManualClock()  # the wall clock, moved by the tests
        server_clock = SandboxClock(self.clock)  # what /sandbox/time moves on top of it
        self.sequencer = (
            Sequencer(Engine(markets), None, server_clock, durability="none")
            if state_dir is None
            else Sequencer.open(
                state_dir, markets, EngineConfig(), server_clock, "process", gc_policy=False
            )
        )
        server_clock.follow(self.sequencer.engine.clock_mark())
        self.exchange = Exchange(
            pipeline=Pipeline(self.sequencer),
            clock=server_clock,
            markets={m.symbol: m for m in markets},
            policy=VerifyPolicy(strict=strict),
            replay_guard=ReplayGuard() if strict else None,
        )
        self.gateway = GatewayApp(self.exchange, sandbox=sandbox)
        self.app: AsgiApp = _WorkerLayout(self.gateway) if workers else self.gateway
        self.loop = asyncio.new_event_loop()
        # The headers of the last answer beyond content type, length and request id (the
        # rate-limit headers).
        self.last_headers: dict[str, str] = {}

    def close(self) -> None:
        self.loop.close()

    @property
    def engine(self) -> Engine:
        return self.exchange.engine

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        params: dict[str, Any] | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> tuple[int, Any]:
        return self.loop.run_until_complete(self._asgi(method, path, body, params or {}, headers))

    async def _asgi(
        self,
        method: str,
        path: str,
        body: bytes,
        params: dict[str, Any],
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> tuple[int, Any]:
        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "query_string": urlencode(params).encode(),
            "headers": [(b"content-type", b"application/json")] if headers is None else headers,
        }
        sent: list[dict[str, Any]] = []
        chunks = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return chunks.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        self.last_headers = {
            name.decode(): value.decode()
            for name, value in sent[0]["headers"]
            if name not in (b"content-type", b"content-length", b"x-request-id")
        }
        status = sent[0]["status"]
        raw = sent[1]["body"]
        return status, json.loads(raw)

    def concurrently(self, *posts: tuple[str, Any]) -> list[tuple[int, Any]]:
        """POST several bodies at once, as concurrent requests on the server's event loop."""

        async def all_of() -> list[tuple[int, Any]]:
            return list(
                await asyncio.gather(
                    *(self._asgi("POST", path, json.dumps(p).encode(), {}) for path, p in posts)
                )
            )

        return self.loop.run_until_complete(all_of())

    def get(self, path: str, **params: Any) -> tuple[int, Any]:
        return self.request("GET", path, params=params)

    def post(self, path: str, payload: Any) -> tuple[int, Any]:
        return self.request("POST", path, body=json.dumps(payload).encode())

    def signed(
        self,
        path: str,
        kp: Keypair,
        payload: dict[str, Any],
        *,
        account: str | None = None,
        agent_wallet: str | None = None,
        timestamp: int | None = None,
        expiry_window: int | None = 5000,
    ) -> dict[str, Any]:
        return signed_body(
            kp,
            OP_TYPES[path],
            payload,
            self.clock.now_ms() if timestamp is None else timestamp,
            account=account,
            agent_wallet=agent_wallet,
            expiry_window=expiry_window,
        )

    def post_signed(
        self, path: str, kp: Keypair, payload: dict[str, Any], **kw: Any
    ) -> tuple[int, Any]:
        return self.post(path, self.signed(path, kp, payload, **kw))

    # conveniences
    def faucet(self, kp: Keypair, amount: str = "100000") -> None:
        status, body = self.post("/sandbox/faucet", {"account": str(kp.pubkey()), "amount": amount})
        assert status == 200, body

    def create(self, kp: Keypair, **fields: Any) -> tuple[int, Any]:
        payload: dict[str, Any] = {
            "symbol": "BTC",
            "price": "100000",
            "amount": "0.001",
            "side": "bid",
            "tif": "GTC",
            "reduce_only": False,
        }
        payload.update(fields)
        return self.post_signed("/api/v1/orders/create", kp, payload)

    def open_orders(self, kp: Keypair) -> list[dict[str, Any]]:
        status, body = self.get("/api/v1/orders", account=str(kp.pubkey()))
        assert status == 200, body
        return list(body["data"])
