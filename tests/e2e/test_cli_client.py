"""The client commands (`tidepool order ...`, `orders`, `book`, `watch`, ...) through the real
command line against a real server: what a person sees, what a script reads with --json, and
the documented exit codes (0 ok, 1 refused, 2 usage, 3 no answer) with one readable line and
never a traceback."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import shlex
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from decimal import Decimal
from fcntl import ioctl
from pathlib import Path
from typing import Any

import pytest
from solders.keypair import Keypair
from wsclientkit import RelayThread

from server_process import ServerProcess
from tidepool.client import Client, load_keypair
from tidepool.server.devaccounts import dev_accounts

pytestmark = pytest.mark.e2e

SEED = 3
ALICE, BOB = dev_accounts(SEED, 2)
# What `pip install` made of [project.scripts]: the command users type.
CONSOLE_SCRIPT = Path(sys.executable).with_name("tidepool")
TIMEOUT = 60.0  # generous: the machine is shared; nothing here waits this long when it works


class Cli:
    """Runs the `tidepool` console script that installing the project put next to this Python,
    as a user would, with TIDEPOOL_URL pointing at the server and TIDEPOOL_KEY holding alice's
    key."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server

    def env(self, key: str | None = ALICE.secret_key) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIDEPOOL_")}
        env["TIDEPOOL_URL"] = self.server.url
        if key is not None:
            env["TIDEPOOL_KEY"] = key
        return env

    def command(self, line: str, *more: str) -> list[str]:
        """`tidepool` with the words of `line` (a shell line) and then `more` as they are."""
        return [str(CONSOLE_SCRIPT), *shlex.split(line), *more]

    def __call__(
        self, line: str, *more: str, key: str | None = ALICE.secret_key
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(line, *more),
            env=self.env(key),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    def ok(self, line: str, *more: str, key: str | None = ALICE.secret_key) -> str:
        result = self(line, *more, key=key)
        assert result.returncode == 0, result
        assert result.stderr == "", result
        return result.stdout

    def json(self, line: str, *more: str, key: str | None = ALICE.secret_key) -> Any:
        return json.loads(self.ok(line, *more, "--json", key=key))


def one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("tidepool: ")
    return line


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """One server for the module, in one process: `watch` needs its WebSocket."""
    state = tmp_path_factory.mktemp("cli") / "state"
    with ServerProcess(state, "--seed", str(SEED), "--speedbump-ms", "10") as server:
        yield Cli(server)


@pytest.fixture(autouse=True)
def flat(cli: Cli) -> Iterator[None]:
    """Every test starts and ends with no open orders of alice's or bob's."""
    yield
    for account in (ALICE, BOB):
        cli.ok("order", "cancel-all", key=account.secret_key)


def test_a_limit_order_made_on_the_command_line_is_listed_and_cancelled(cli: Cli) -> None:
    line = cli.ok("order create --symbol BTC --side bid --price 95000 --amount 0.001")
    order_id = int(line.split()[1])
    assert line.startswith(f"order {order_id} (client order id ")
    [listed] = cli.json("orders")
    assert (listed["order_id"], listed["price"], listed["initial_amount"]) == (
        order_id,
        "95000",
        "0.001",
    )
    assert cli.ok("order", "cancel", "--symbol", "BTC", "--order-id", str(order_id)) == (
        f"cancelled order {order_id}\n"
    )
    assert cli.json("orders") == []
    assert cli.ok("orders") == "no open orders\n"


def test_json_output_is_one_document_a_script_can_read(cli: Cli) -> None:
    cloid = "6f1b2a9e-7c1d-4a51-9d55-0d7c7a3f0b11"
    made = cli.json(
        "order create --symbol ETH --side ask --price 3600 --amount 0.1 --tif ALO",
        "--client-order-id",
        cloid,
    )
    assert made == {"order_id": made["order_id"], "client_order_id": cloid}
    assert cli.json("order", "cancel", "--symbol", "ETH", "--client-order-id", cloid) == {
        "cancelled_count": 1
    }
    account = cli.json("account")
    assert Decimal(account["balance"]) == Decimal(100_000)
    assert account["orders_count"] == 0


def test_a_tiny_amount_prints_in_plain_digits_as_the_exchange_wrote_it(cli: Cli) -> None:
    account = str(Keypair().pubkey())
    assert cli.json("balance", account, "0.00000001")["balance"] == "0.00000001"
    assert cli.json("account", "--account", account)["balance"] == "0.00000001"
    table = dict(line.split() for line in cli.ok("account", "--account", account).splitlines())
    assert table["balance"] == "0.00000001"


def test_a_market_order_fills_against_the_book_and_shows_as_a_position(cli: Cli) -> None:
    cli.ok("order create --symbol SOL --side ask --price 150.5 --amount 2", key=BOB.secret_key)
    made = cli.json("order market --symbol SOL --side bid --amount 1")
    assert isinstance(made["order_id"], int)
    [position] = cli.json("positions")
    assert (position["symbol"], position["side"], position["amount"]) == ("SOL", "bid", "1")
    assert position["entry_price"] == "150.5"
    table = cli.ok("positions")
    assert table.splitlines()[1].split()[:4] == ["SOL", "bid", "1", "150.5"]
    # Close it again, reduce-only, against a bid of bob's.
    cli.ok("order create --symbol SOL --side bid --price 149.5 --amount 2", key=BOB.secret_key)
    cli.ok("order market --symbol SOL --side ask --amount 1 --reduce-only")
    assert cli.json("positions") == []


def test_a_stop_order_rests_until_it_is_cancelled(cli: Cli) -> None:
    made = cli.json("order stop --symbol BTC --side bid --stop-price 120000 --amount 0.001")
    [stop] = cli.json("orders")
    assert (stop["order_id"], stop["stop_price"]) == (made["order_id"], "120000")
    cli.ok("order", "cancel", "--stop", "--symbol", "BTC", "--order-id", str(made["order_id"]))
    assert cli.json("orders") == []


def test_cancel_all_of_one_market_says_how_many_it_cancelled(cli: Cli) -> None:
    for price in ("94000", "94001"):
        cli.ok(f"order create --symbol BTC --side bid --price {price} --amount 0.001")
    cli.ok("order create --symbol ETH --side bid --price 3000 --amount 0.1")
    assert cli.ok("order", "cancel-all", "--symbol", "BTC") == "cancelled 2 orders in BTC\n"
    [left] = cli.json("orders")
    assert left["symbol"] == "ETH"
    assert cli.json("order", "cancel-all") == {"cancelled_count": 1}


def test_an_order_signed_by_an_agent_key_is_the_accounts(cli: Cli, tmp_path: Path) -> None:
    agent = Keypair()
    with Client(cli.server.url, key=ALICE.secret_key) as alice:
        alice.bind_agent_wallet(agent_wallet=str(agent.pubkey()))
    agent_file = tmp_path / "agent.json"
    agent_file.write_text(json.dumps(list(bytes(agent))))
    made = cli.json(
        "order create --symbol BTC --side bid --price 95000 --amount 0.001",
        "--agent-key",
        str(agent_file),
        "--account",
        ALICE.public_key,
        key=None,
    )
    assert [o["order_id"] for o in cli.json("orders")] == [made["order_id"]]


def test_the_book_prints_once_when_piped_or_as_json(cli: Cli) -> None:
    cli.ok("order create --symbol ETH --side bid --price 3100 --amount 0.2")
    cli.ok(
        "order create --symbol ETH --side ask --price 3900 --amount 0.3",
        key=BOB.secret_key,
    )
    book = cli.json("book", "ETH", key=None)
    assert book["symbol"] == "ETH"
    assert book["bids"] == [{"price": "3100", "amount": "0.2", "orders": 1}]
    assert book["asks"] == [{"price": "3900", "amount": "0.3", "orders": 1}]
    # Piped: plain columns, asks above bids, no colour codes, no box drawing.
    lines = cli.ok("book", "ETH", key=None).splitlines()
    assert [line.split() for line in lines] == [
        ["side", "price", "amount", "orders"],
        ["ask", "3900", "0.3", "1"],
        ["bid", "3100", "0.2", "1"],
    ]


@contextlib.contextmanager
def in_a_terminal(command: list[str], env: dict[str, str]) -> Iterator[tuple[int, Any]]:
    """The command with a pseudo-terminal as stdout (120 columns): what `read_until` reads on
    the first fd shows. The process must end with exit code 0 and nothing on stderr."""
    leader, follower = pty.openpty()
    ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    with subprocess.Popen(
        command,
        env={**env, "TERM": "xterm"},
        stdin=follower,
        stdout=follower,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        os.close(follower)
        try:
            yield leader, proc
            assert proc.wait(timeout=TIMEOUT) == 0
            assert proc.stderr is not None
            assert proc.stderr.read() == ""
        finally:
            if proc.poll() is None:
                proc.kill()
            os.close(leader)


def test_the_book_updates_itself_in_a_terminal_on_each_push_until_ctrl_c(cli: Cli) -> None:
    with in_a_terminal(cli.command("book", "BTC"), cli.env(key=None)) as (screen, proc):
        assert "91234" not in read_until(screen, "live, Ctrl-C to stop")
        cli.ok("order create --symbol BTC --side bid --price 91234 --amount 0.001")
        read_until(screen, "91234")  # the same command, a later push: it redrew itself
        proc.send_signal(signal.SIGINT)


def test_the_live_book_says_when_it_reconnects_and_then_shows_the_book_again(cli: Cli) -> None:
    host, port = cli.server.url.removeprefix("http://").split(":")
    with (
        RelayThread(host, int(port), TIMEOUT) as relay,
        in_a_terminal(cli.command("book", "BTC", "--ws-url", relay.url), cli.env(key=None)) as (
            screen,
            proc,
        ),
    ):
        read_until(screen, "live, Ctrl-C to stop")
        relay.cut()
        read_until(screen, "reconnecting, Ctrl-C to stop")
        cli.ok("order create --symbol BTC --side bid --price 91235 --amount 0.001")
        relay.restore()
        assert "live, Ctrl-C to stop" in read_until(screen, "91235")
        proc.send_signal(signal.SIGINT)


def read_until(fd: int, text: str) -> str:
    """What the terminal has shown, read until `text` appears (or fail after TIMEOUT)."""
    seen = b""
    deadline = time.monotonic() + TIMEOUT
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{text!r} never appeared in {seen.decode(errors='replace')[-2000:]}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            seen += os.read(fd, 65536)
    return seen.decode(errors="replace")


def test_watch_prints_each_push_as_a_json_line(cli: Cli) -> None:
    with subprocess.Popen(
        cli.command("watch", "account_orders", "--count", "2"),
        env=cli.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        try:
            first = json.loads(proc.stdout.readline())  # the snapshot sent on subscribe
            assert (first["channel"], first["data"]) == ("account_orders", [])
            order = "order create --symbol BTC --side bid --price 93000 --amount 0.001"
            made = cli.json(order)
            second = json.loads(proc.stdout.readline())
            assert [o["i"] for o in second["data"]] == [made["order_id"]]
            assert proc.wait(timeout=TIMEOUT) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_watch_reconnects_after_a_drop_and_subscribes_again(cli: Cli) -> None:
    host, port = cli.server.url.removeprefix("http://").split(":")
    with (
        RelayThread(host, int(port), TIMEOUT) as relay,
        subprocess.Popen(
            cli.command("watch", "account_orders", "--count", "2", "--ws-url", relay.url),
            env=cli.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc,
    ):
        assert proc.stdout is not None and proc.stderr is not None
        try:
            first = json.loads(proc.stdout.readline())
            assert (first["channel"], first["data"]) == ("account_orders", [])
            relay.cut()
            # Made while it is away: the snapshot the new subscription sends shows it.
            made = cli.json("order create --symbol BTC --side bid --price 93001 --amount 0.001")
            relay.restore()
            again = json.loads(proc.stdout.readline())
            assert again["channel"] == "account_orders"
            assert [o["i"] for o in again["data"]] == [made["order_id"]]
            assert proc.wait(timeout=TIMEOUT) == 0
            assert proc.stderr.read() == ""
        finally:
            if proc.poll() is None:
                proc.kill()


def test_watch_with_params_sends_them_typed(cli: Cli) -> None:
    out = cli.ok("watch", "book", "symbol=SOL", "agg_level=1", "--count", "1", key=None)
    [line] = out.splitlines()
    push = json.loads(line)
    assert (push["channel"], push["data"]["s"]) == ("book", "SOL")


def test_an_unknown_channel_is_refused_in_one_line(cli: Cli) -> None:
    line = one_line_error(cli("watch", "no_such_channel", key=None), 1)
    assert "subscribe refused" in line


def test_an_exchange_refusal_is_one_line_and_exit_code_1(cli: Cli) -> None:
    result = cli("order", "cancel", "--symbol", "BTC", "--order-id", "987654")
    assert one_line_error(result, 1) == "tidepool: Order not found (HTTP 400)"
    assert result.stdout == ""
    too_big = cli("order create --symbol BTC --side bid --price 95000 --amount 1000")
    assert "(HTTP 422, code 8)" in one_line_error(too_big, 1)


def test_an_error_with_json_is_also_a_json_document(cli: Cli) -> None:
    result = cli("order", "cancel", "--symbol", "BTC", "--order-id", "987654", "--json")
    one_line_error(result, 1)
    assert json.loads(result.stdout) == {
        "error": {"message": "Order not found (HTTP 400)", "status": 400, "code": 400}
    }


def test_no_server_is_exit_code_3(cli: Cli) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    assert "no answer" in one_line_error(cli("orders", "--url", url), 3)
    assert "cannot connect" in one_line_error(cli("watch", "prices", "--url", url), 3)


@pytest.mark.parametrize(
    ("args", "key", "says"),
    [
        ("order create --symbol BTC --side bid --price 95000 --amount 0.001", None, "signs"),
        ("orders", None, "which account"),
        ("orders", "not-base58-at-all!", "TIDEPOOL_KEY"),
        ("orders --key-file /no/such/file", None, "--key-file /no/such/file"),
        ("order create --symbol BTC --side bid --price cheap --amount 1", None, "not a number"),
        ("order cancel --symbol BTC --order-id 1 --client-order-id x", None, "not allowed"),
        ("watch prices --ws-url http://127.0.0.1:1/ws", None, "--ws-url: not a WebSocket URL"),
    ],
)
def test_a_usage_mistake_is_exit_code_2_and_names_the_option(
    cli: Cli, args: str, key: str | None, says: str
) -> None:
    result = cli(args, key=key)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert says in result.stderr.strip().splitlines()[-1]


def test_keygen_prints_a_new_account_that_can_trade(cli: Cli) -> None:
    made = cli.json("keygen")
    keypair = load_keypair(made["secret_key"])
    assert str(keypair.pubkey()) == made["public_key"]
    assert made != cli.json("keygen")  # a new one each time
    account = cli.json("account", key=made["secret_key"])
    assert Decimal(account["balance"]) == 0
    human = cli.ok("keygen").splitlines()
    assert [line.split()[:2] for line in human] == [["public", "key"], ["secret", "key"]]


def test_keygen_out_writes_a_solana_keypair_file_for_key_file(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "id.json"
    made = cli.json("keygen", "--out", str(path))
    assert "secret_key" not in made  # the secret stays in the file
    assert path.stat().st_mode & 0o777 == 0o600
    assert str(load_keypair(path).pubkey()) == made["public_key"]
    assert cli.json("orders", "--key-file", str(path), key=None) == []
    assert "exists" in one_line_error(cli("keygen", "--out", str(path)), 2)
    assert cli.json("keygen", "--out", str(path), "--force")["public_key"] != made["public_key"]


def test_orders_still_go_through_after_the_server_clock_moves_a_day_ahead(cli: Cli) -> None:
    """The CLI signs with the server's time (`tidepool time`), not this machine's: a request
    signed with the wall clock after `time advance 1d` would have expired a day ago. Last in the
    module: the server's clock never goes back."""
    moved = cli.ok("time", "advance", "1d")  # --url from TIDEPOOL_URL, as for every command
    assert "running" in moved
    line = cli.ok("order create --symbol BTC --side bid --price 95000 --amount 0.001")
    order_id = int(line.split()[1])
    assert [o["order_id"] for o in cli.json("orders")] == [order_id]
