"""The pytest plugin: a real Tidepool for a bot's tests, started once per session and put back
as it was after each test.

Installed with tidepool (the `pytest11` entry point), so its fixtures are there in any test:

    def test_a_resting_bid_is_listed(tidepool):       # a Client of a funded dev account
        ref = tidepool.create_order(symbol="BTC", price="90000", amount="0.01", side="bid")
        assert [o.order_id for o in tidepool.orders()] == [ref.order_id]

- `tidepool_server` (session): a `tidepool serve` on a free port with a temporary state dir and
  the speedbump off (`TidepoolServer`: `url`, `api_url`, `ws_url`, `accounts`, `client()`,
  `ws_client()`).
- `tidepool`: a `Client` signing as dev account 0. A sandbox snapshot is taken before the test
  and reverted to after it, so every test starts from the same state (orders, positions,
  balances, marks, order ids) and costs two requests (bench/pytest_overhead.py).
- `tidepool_ws`: a `WebSocketClient` of the same account, not yet open: the test opens it in
  its own event loop, `async with tidepool_ws as ws:` (pytest runs no coroutine by itself: inside
  `asyncio.run(...)` in a plain test, or in an `async def` test under pytest-asyncio or anyio).
  A fixture cannot open it for the test, since an open connection belongs to one event loop and
  the plugin does not know the test's. It is reverted with `tidepool` (it asks for that fixture),
  and a closed one opens again, in another loop too.
- `dev_accounts`: the server's dev accounts (`DevAccount`: public key, secret, `keypair`,
  balance when the session started).
- `clock`: the server clock (`Clock`); the plugin's clients sign with the time it sets. A revert
  does not take time back, and time never goes back; the fixture leaves the clock frozen or
  running, as it found it.

Options, on the command line or in the ini file (`[tool.pytest.ini_options]`):
`--tidepool-url URL` / `tidepool_url`: use a server already running there (its sandbox routes
on) instead of starting one; `--tidepool-arg=FLAG` (repeatable) / `tidepool_args`: more `serve`
flags, e.g. `--tidepool-arg=--market-maker` (write `=`: pytest would read a bare `--market-maker`
as its own); `--tidepool-start-timeout` / `tidepool_start_timeout`: seconds to wait for it.

pytest is not a dependency of tidepool: only pytest imports this module, through the entry point.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Unpack

import httpx
import pytest

from tidepool.client import (
    Client,
    ClientError,
    DevAccount,
    NotFound,
    Options,
    Sandbox,
    ServerClock,
    ServerTime,
    WebSocketClient,
    ws_url,
)
from tidepool.devserver import DevServer, ServerStartError

__all__ = ["Clock", "TidepoolServer"]

# What a test server runs with unless --tidepool-arg says otherwise (later flags win): no
# speedbump, so a test waits for nothing, and no request log lines.
DEFAULT_SERVE_ARGS: Final = ("--speedbump-ms", "0", "--log-level", "warning")
DEFAULT_START_TIMEOUT_S: Final = 60.0


class _SessionTransport(httpx.BaseTransport):
    """One connection pool for every client of the session. An httpx.Client given no transport
    builds an SSL context (about 30 ms, the whole per-test budget), and a test closing its
    client must not close the pool the next test uses: only the session closes it."""

    def __init__(self) -> None:
        self._pool = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._pool.handle_request(request)

    def close(self) -> None:
        pass

    def shutdown(self) -> None:
        self._pool.close()


@dataclass
class TidepoolServer:
    """The session's server: started by the plugin, or the one at `--tidepool-url`."""

    url: str  # http://HOST:PORT
    accounts: list[DevAccount]  # as they were when the session started
    process: DevServer | None = None  # None: a server the plugin did not start
    _transport: _SessionTransport = field(default_factory=_SessionTransport, repr=False)
    _signing_clock: ServerClock = field(default_factory=ServerClock, repr=False)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def ws_url(self) -> str:
        return ws_url(self.url)

    def client(self, index: int = 0, **options: Unpack[Options]) -> Client:
        """A Client signing as dev account `index` (any Client option may be given), with the
        server's time as the `clock` fixture set it."""
        options.setdefault("key", self.accounts[index].secret_key)
        options.setdefault("clock", self._signing_clock)
        return Client(self.url, transport=self._transport, **options)

    def ws_client(self, index: int = 0, **options: Any) -> WebSocketClient:
        """A WebSocketClient signing as dev account `index`, not yet open (`async with` it in
        the test's event loop); any WebSocketClient option may be given."""
        options.setdefault("key", self.accounts[index].secret_key)
        options.setdefault("clock", self._signing_clock)
        return WebSocketClient(self.ws_url, **options)

    @functools.cached_property
    def sandbox(self) -> Sandbox:
        """The cheats, unsigned (client.sandbox), on one client for the session."""
        return Client(self.url, transport=self._transport).sandbox


class Clock:
    """The server clock (docs/sandbox.md, "Time"): what timestamps, signature expiry, klines
    and triggers read. Every method answers the clock's time after it, in ms since the epoch.
    The clients of `TidepoolServer.client()` (the `tidepool` fixture's too) sign with the time
    set here; move the server clock through this, not through the sandbox calls."""

    def __init__(self, sandbox: Sandbox, signing: ServerClock) -> None:
        self._sandbox = sandbox
        self._signing = signing

    def now_ms(self) -> int:
        return self._signing.follow(self._sandbox.time())

    @property
    def frozen(self) -> bool:
        now = self._sandbox.time()
        self._signing.follow(now)
        return now.frozen

    def advance(self, by: int | timedelta) -> int:
        """Forward by `by` (ms, or a timedelta); a frozen clock stays frozen."""
        ms = by if isinstance(by, int) else round(by.total_seconds() * 1000)
        return self._signing.follow(self._sandbox.advance_time(ms))

    def set(self, to: int | datetime) -> int:
        """To `to` (ms since the epoch, or an aware datetime); never earlier than now."""
        ms = to if isinstance(to, int) else round(to.timestamp() * 1000)
        return self._signing.follow(self._sandbox.set_time(ms))

    def freeze(self) -> int:
        return self._signing.follow(self._sandbox.freeze_time())

    def unfreeze(self) -> int:
        return self._signing.follow(self._sandbox.unfreeze_time())

    def _restore(self, was: ServerTime) -> None:
        if self.frozen == was.frozen:
            return
        if was.frozen:
            self.freeze()
        else:
            self.unfreeze()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tidepool", "Tidepool, a local Pacifica exchange (its fixtures)")
    group.addoption(
        "--tidepool-url",
        dest="tidepool_url",
        metavar="URL",
        help="use the Tidepool server running at URL instead of starting one",
    )
    group.addoption(
        "--tidepool-arg",
        dest="tidepool_args",
        action="append",
        default=[],
        metavar="FLAG",
        help="one more `tidepool serve` flag for the server the plugin starts, written with = "
        "(--tidepool-arg=--market-maker); repeatable",
    )
    group.addoption(
        "--tidepool-start-timeout",
        dest="tidepool_start_timeout",
        type=float,
        metavar="SECONDS",
        help=f"how long the server may take to start (default {DEFAULT_START_TIMEOUT_S:g})",
    )
    parser.addini("tidepool_url", "the Tidepool server to use instead of starting one")
    parser.addini("tidepool_args", "more `tidepool serve` flags", type="args", default=[])
    parser.addini(
        "tidepool_start_timeout",
        "seconds the server may take to start",
        default=str(DEFAULT_START_TIMEOUT_S),
    )


def _dev_accounts(url: str, sandbox: Sandbox, started: bool) -> list[DevAccount]:
    """The server's dev accounts; a clear failure when no usable server answers."""
    where = "the server the tidepool plugin started" if started else "--tidepool-url"
    accounts: list[DevAccount] = []
    try:
        accounts = sandbox.accounts()
    except NotFound:
        failure = (
            f"{url} ({where}) has no /sandbox/ routes (`serve --sandbox off`?): the tidepool "
            "fixtures need them to fund accounts and revert after each test"
        )
    except ClientError as exc:
        failure = f"no Tidepool server answered at {url} ({where}): {exc}"
    else:
        failure = f"{url} ({where}) has no dev accounts (`serve --accounts 0`?)"
    if not accounts:  # failed out of the except: no chained traceback to read
        pytest.fail(failure, pytrace=False)
    return accounts


@pytest.fixture(scope="session")
def tidepool_server(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TidepoolServer]:
    """A Tidepool server for the whole session (module docstring)."""
    url: str | None = pytestconfig.getoption("tidepool_url") or pytestconfig.getini("tidepool_url")
    args = [*pytestconfig.getini("tidepool_args"), *pytestconfig.getoption("tidepool_args")]
    if url:
        if args:
            pytest.fail(
                f"--tidepool-arg / tidepool_args ({' '.join(args)}) configure a server the plugin "
                f"starts, and --tidepool-url ({url}) says to start none",
                pytrace=False,
            )
        server = TidepoolServer(url.rstrip("/").removesuffix("/api/v1"), [])
        server.accounts = _dev_accounts(server.url, server.sandbox, started=False)
        server._signing_clock.follow(server.sandbox.time())  # it may have been moved already
        yield server
        server._transport.shutdown()
        return
    timeout: Any = pytestconfig.getoption("tidepool_start_timeout") or pytestconfig.getini(
        "tidepool_start_timeout"
    )
    state = tmp_path_factory.mktemp("tidepool") / "state"
    process = DevServer(state, [*DEFAULT_SERVE_ARGS, *args], timeout=float(timeout))
    failure: str | None = None
    try:
        process.start()
    except ServerStartError as exc:
        failure = str(exc)
    if failure is not None:  # failed here, not in the except: no chained traceback to read
        pytest.fail(f"the tidepool plugin could not start its server: {failure}", pytrace=False)
    try:
        server = TidepoolServer(process.url, [], process)
        server.accounts = _dev_accounts(server.url, server.sandbox, started=True)
        yield server
        server._transport.shutdown()
    finally:
        process.stop()


@pytest.fixture(scope="session")
def dev_accounts(tidepool_server: TidepoolServer) -> list[DevAccount]:
    """The server's dev accounts, funded (module docstring)."""
    return tidepool_server.accounts


@pytest.fixture
def tidepool(tidepool_server: TidepoolServer) -> Iterator[Client]:
    """A Client of dev account 0; the server's state is put back after the test."""
    client = tidepool_server.client()
    snapshot = client.sandbox.snapshot()
    try:
        yield client
    finally:
        client.sandbox.revert(snapshot.id)
        client.close()


@pytest.fixture
def tidepool_ws(tidepool: Client, tidepool_server: TidepoolServer) -> WebSocketClient:
    """A WebSocketClient of the `tidepool` fixture's account, to open with `async with` in the
    test's event loop (module docstring); reverted with `tidepool`."""
    return tidepool_server.ws_client()


@pytest.fixture
def clock(tidepool_server: TidepoolServer) -> Iterator[Clock]:
    """The server clock, left frozen or running as the test found it."""
    sandbox = tidepool_server.sandbox
    was = sandbox.time()
    clock = Clock(sandbox, tidepool_server._signing_clock)
    yield clock
    clock._restore(was)
