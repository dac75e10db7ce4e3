"""`client.sandbox`: every sandbox route from the client, typed, through the client's own
request path and exception tree (in process, both clients)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from clientkit import URL, DropAnswers, MakeClient, Unreachable
from solders.keypair import Keypair

from harness import Harness
from tidepool.client import (
    BookNotFound,
    Client,
    FaucetCredit,
    InvalidRequest,
    NotFound,
    ResetSummary,
    TransportError,
    sandbox_calls,
)
from tidepool.client.calls import Cheat
from tidepool.client.sandbox import SandboxApi
from tidepool.gateway.app import ROUTES
from tidepool.gateway.exchange import DevKeys
from tidepool.gateway.sandbox_guard import SANDBOX_PREFIX

ALICE = Keypair.from_seed(bytes([7] * 32))
ACCOUNT = str(ALICE.pubkey())
SANDBOX_ROUTES = sorted(key for key in ROUTES if key[1].startswith(SANDBOX_PREFIX))


def _sample(name: str) -> Cheat[Any]:
    args: dict[str, dict[str, Any]] = {
        "faucet": {"account": ACCOUNT, "amount": 1},
        "balance": {"account": ACCOUNT, "balance": 1},
        "mark_price": {"symbol": "BTC", "price": 1},
        "mark_prices": {"prices": {"BTC": 1}},
        "advance_time": {"advance_ms": 1},
        "set_time": {"set_ms": 1},
        "revert": {"id": 1},
    }
    return getattr(sandbox_calls, name)(**args.get(name, {}))


@pytest.mark.parametrize(("verb", "path"), SANDBOX_ROUTES)
def test_every_sandbox_route_the_server_serves_has_a_sandbox_method(verb: str, path: str) -> None:
    methods = [name for name in vars(SandboxApi) if not name.startswith("_")]
    calls = {("GET" if c.body is None else "POST", c.path) for c in map(_sample, methods)}
    assert (verb, path) in calls


def test_sandbox_calls_go_beside_the_rest_root_not_under_it() -> None:
    client = Client("http://127.0.0.1:9000/api/v1")
    request = client._request(sandbox_calls.snapshot())
    assert str(request.url) == "http://127.0.0.1:9000/sandbox/snapshot"
    assert request.headers["content-type"] == "application/json"  # the sandbox guard asks it


def test_a_funded_account_reads_its_balance_as_a_decimal(make_client: MakeClient) -> None:
    client = make_client()  # no key: the sandbox routes take no signature
    credit = client.sandbox.faucet(ACCOUNT, Decimal("1000.5"))
    assert credit == FaucetCredit(
        account=ACCOUNT, amount=Decimal("1000.5"), balance=Decimal("1000.5")
    )
    assert client.sandbox.balance(ACCOUNT, "20").balance == Decimal("20")
    assert client.account(ACCOUNT).balance == Decimal("20")


def test_a_revert_brings_back_the_state_of_the_snapshot(make_client: MakeClient) -> None:
    client = make_client(key=ALICE)
    client.sandbox.faucet(ACCOUNT, "5000")
    before = client.sandbox.state_hash()
    snap = client.sandbox.snapshot()
    client.create_order(symbol="BTC", price="95000", amount="0.01", side="bid")
    client.sandbox.mark_prices({"BTC": "90000", "ETH": "2000"})
    assert client.sandbox.state_hash().state_hash != before.state_hash
    assert client.sandbox.revert(snap.id).id == snap.id
    assert client.sandbox.state_hash().state_hash == before.state_hash
    assert list(client.orders()) == []
    with pytest.raises(NotFound, match=f"Snapshot {snap.id} not found"):
        client.sandbox.revert(snap.id)


def test_marks_move_one_or_several_and_a_bad_symbol_moves_none(make_client: MakeClient) -> None:
    client = make_client()
    assert client.sandbox.mark_price("BTC", 101000).price == Decimal("101000")
    moved = client.sandbox.mark_prices({"BTC": "99000", "ETH": "3100"})
    assert moved.prices == {"BTC": Decimal("99000"), "ETH": Decimal("3100")}
    with pytest.raises(InvalidRequest, match="unknown symbol DOGE"):
        client.sandbox.mark_prices({"BTC": "1", "DOGE": "2"})
    with pytest.raises(BookNotFound):
        client.sandbox.mark_price("DOGE", "1")
    marks = {p.symbol: p.mark for p in client.prices()}
    assert (marks["BTC"], marks["ETH"]) == (Decimal("99000"), Decimal("3100"))


def test_the_clock_advances_freezes_and_never_goes_back(make_client: MakeClient) -> None:
    client = make_client()
    start = client.sandbox.time()
    assert not start.frozen
    frozen = client.sandbox.freeze_time()
    assert frozen.frozen
    assert client.sandbox.advance_time(60_000).now_ms == frozen.now_ms + 60_000
    assert client.sandbox.set_time(frozen.now_ms + 120_000).now_ms == frozen.now_ms + 120_000
    with pytest.raises(InvalidRequest, match="never goes backwards"):
        client.sandbox.set_time(start.now_ms)
    running = client.sandbox.unfreeze_time()  # the manual wall clock stands still here
    assert (running.now_ms, running.frozen) == (frozen.now_ms + 120_000, False)
    assert client.sandbox.time() == running


def test_the_dev_accounts_come_with_their_keys_and_a_reset_funds_them_again(
    make_client: MakeClient, hx: Harness
) -> None:
    hx.exchange.dev = DevKeys(keys=((ACCOUNT, str(ALICE)),), balance=Decimal(500))
    client = make_client()
    client.sandbox.balance(ACCOUNT, "3")
    [dev] = client.sandbox.accounts()
    assert (dev.index, dev.public_key, dev.balance) == (0, ACCOUNT, Decimal(3))
    assert dev.keypair == ALICE
    assert client.sandbox.reset() == ResetSummary(accounts=1, balance=Decimal(500))
    assert client.account(ACCOUNT).balance == Decimal(500)


def test_a_cheat_whose_answer_was_lost_is_not_sent_twice(make_client: MakeClient) -> None:
    made: list[DropAnswers] = []

    def wrap(inner: Any) -> DropAnswers:
        made.append(DropAnswers(inner, "/sandbox/faucet"))
        return made[0]

    client = make_client(wrap=wrap)
    with pytest.raises(TransportError):
        client.sandbox.faucet(ACCOUNT, "100")
    assert len(made[0].sent) == 1
    assert client.account(ACCOUNT).balance == Decimal("100")


def test_a_cheat_that_could_not_connect_is_sent_again() -> None:
    unreachable = Unreachable()
    with pytest.raises(TransportError):
        Client(URL, transport=unreachable, retries=2, backoff=0).sandbox.faucet(ACCOUNT, "1")
    assert unreachable.attempts == 3
