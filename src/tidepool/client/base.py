"""What `Client` and `AsyncClient` share: everything but the send (httpx's own layout).

`BaseClient` holds the options, builds requests (signed by `Signer`, anew for each attempt),
and runs a call as a flow: a generator that yields what to do next (send a request, wait) and
receives the answers. The sync and async clients only drive that generator, so retries, error
mapping and the duplicate-order recovery are written once.

Retries: a transport error (no answer) is retried up to `retries` times, waiting `backoff`
seconds, then twice that, and so on. Each attempt is signed again with a fresh timestamp, and
carries the same client order id, so a create whose answer was lost can never make a second
order (actions.py says why each operation is safe to resend). A retry answered "Duplicate client
order id" for its own id is the earlier attempt's success: the order's id is then looked up by
client order id (open orders, then order history) and returned as if the first answer had
arrived. A cancel whose first answer was lost may be answered OrderNotFound on the retry.
A sandbox cheat that changes state (sandbox.py) is resent only after a failed connect.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Final, TypeVar, Unpack, cast
from urllib.parse import urlsplit

import httpx
import msgspec

from tidepool.client import reads
from tidepool.client.calls import Action, Batch, Call, Cheat, Read, decode_answer
from tidepool.client.errors import (
    ClientError,
    DecodingError,
    DuplicateClientOrderId,
    TransportError,
)
from tidepool.client.models import BatchResult, OrderRef
from tidepool.client.signer import KeyOptions, Signer
from tidepool.client.urls import LOCAL_URL

__all__ = ["BaseClient", "Flow", "Options", "Wait"]

T = TypeVar("T")

API_ROOT: Final = "/api/v1"
_HEADERS: Final = {"content-type": "application/json", "user-agent": "tidepool-client"}
# Duplicate-id texts name the id after this prefix (spec §6.2, code 36); a batch result has
# only the text.
_DUPLICATE: Final = "Duplicate client order id: "


class Options(KeyOptions, total=False):
    """The keyword options both clients take: the signing ones, and how requests are sent."""

    retries: int  # resends after a transport error
    backoff: float  # seconds before the first resend, doubling after each
    timeout: float  # seconds for each HTTP request


@dataclass(frozen=True)
class Wait:
    """A flow step: pause `seconds` before the flow continues."""

    seconds: float


Step = httpx.Request | Wait
# A call's flow: yields steps, is sent each request's response (None after a Wait), and
# raises httpx.TransportError into itself when a send got no answer.
Flow = Generator[Step, httpx.Response | None, T]


def api_root(url: str) -> str:
    """The REST root: `url` without a trailing slash, with /api/v1 added to a bare host (the
    server's own banner line shows the host)."""
    url = url.rstrip("/")
    return url + API_ROOT if urlsplit(url).path == "" else url


def server_root(api_url: str) -> str:
    """Where the sandbox routes are: the REST root without its /api/v1."""
    return api_url.removesuffix(API_ROOT)


def _resendable(call: Call[Any], exc: httpx.TransportError) -> bool:
    """A cheat that changes state is resent only when it never left: a second faucet or time
    advance is not the same as one. Everything else is safe to resend (actions.py says why)."""
    if isinstance(call, Cheat) and call.body is not None:
        return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
    return True


class BaseClient(Signer):
    def __init__(self, base_url: str = LOCAL_URL, **options: Unpack[Options]) -> None:
        super().__init__(options)
        self.base_url = api_root(base_url)
        self.server_url = server_root(self.base_url)
        self.retries = options.get("retries", 3)
        self.backoff = options.get("backoff", 0.1)
        self.timeout = options.get("timeout", 10.0)

    # -- requests -----------------------------------------------------------------------------

    def _request(self, call: Call[Any]) -> httpx.Request:
        if isinstance(call, Cheat):
            url = self.server_url + call.path
            if call.body is None:
                return httpx.Request("GET", url, headers=_HEADERS)
            content = msgspec.json.encode(call.body)
            return httpx.Request("POST", url, content=content, headers=_HEADERS)
        url = self.base_url + call.path
        if isinstance(call, Read):
            params = {k: v for k, v in call.params.items() if v is not None}
            if "account" in call.params and call.params["account"] is None:
                params["account"] = self._own_account()
            return httpx.Request("GET", url, params=params, headers=_HEADERS)
        assert isinstance(call, Action | Batch)
        body = msgspec.json.encode(self._body(call))
        return httpx.Request("POST", url, content=body, headers=_HEADERS)

    # -- flows --------------------------------------------------------------------------------

    def _flow(self, call: Call[T]) -> Flow[T]:
        """Send `call` (resending after transport errors) and read its answer."""
        attempt = 0
        while True:
            request = self._request(call)
            try:
                response = yield request
            except httpx.TransportError as exc:
                if attempt >= self.retries or not _resendable(call, exc):
                    raise TransportError(f"{request.method} {request.url}: {exc!r}") from exc
                attempt += 1
                yield Wait(self.backoff * 2 ** (attempt - 1))
                continue
            assert response is not None
            return (yield from self._settle(call, response, retried=attempt > 0))

    def _settle(self, call: Call[T], response: httpx.Response, *, retried: bool) -> Flow[T]:
        try:
            value = call.parse(decode_answer(response.status_code, response.content))
        except DuplicateClientOrderId as exc:
            cloid = call.client_order_id if isinstance(call, Action) else None
            if not retried or cloid is None or exc.message != _DUPLICATE + cloid:
                raise
            order_id = yield from self._order_id_by_cloid(cloid)
            # Only creates carry a client order id in their Action, and they answer OrderRef.
            return cast(T, OrderRef(order_id=order_id, client_order_id=cloid))
        except msgspec.ValidationError as exc:
            raise DecodingError(
                f"{call.path}: unexpected answer ({exc})", response.status_code
            ) from None
        if retried and isinstance(call, Batch):
            value = cast(T, (yield from self._settle_batch(call, cast(list[BatchResult], value))))
        return value

    def _settle_batch(self, batch: Batch, results: list[BatchResult]) -> Flow[list[BatchResult]]:
        """A resent batch: a create refused as a duplicate of its own id was made by the first
        attempt; report it as made, with its order id."""
        settled = []
        for action, result in zip(batch.actions, results, strict=True):
            cloid = action.client_order_id
            if not result.success and cloid is not None and result.error == _DUPLICATE + cloid:
                result = BatchResult(
                    success=True, order_id=(yield from self._order_id_by_cloid(cloid))
                )
            settled.append(result)
        return settled

    def _order_id_by_cloid(self, cloid: str) -> Flow[int]:
        """The order id of this account's order `cloid`: among the open orders, else in the
        order history (newest first, so a just-made order is on its first page)."""
        for order in (yield from self._flow(reads.orders())):
            if order.client_order_id == cloid:
                return order.order_id
        cursor: str | None = None
        while True:
            page = yield from self._flow(reads.order_history(cursor=cursor))
            for item in page:
                if item.client_order_id == cloid:
                    return item.order_id
            if not page.has_more or page.next_cursor is None:
                raise ClientError(f"order {cloid} was accepted but is not in the order history")
            cursor = page.next_cursor
