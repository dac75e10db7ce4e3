"""Every script in examples/ runs against a live server as a user would run it: with no
TIDEPOOL_KEY set, so it signs with its default, dev account 0 of `tidepool serve --seed 0`, and
TIDEPOOL_URL pointing at the server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from server_process import ServerProcess
from tidepool.client import Client
from tidepool.server.devaccounts import dev_accounts

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).parents[2] / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if p.name != "tidepool_env.py")
[OWN] = dev_accounts(0, 1)  # the examples' default account


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for every example, started as examples/README.md says: with the market maker,
    the other side that the market and TP/SL examples trade against."""
    state = tmp_path_factory.mktemp("examples") / "state"
    with ServerProcess(state, "--seed", "0", "--speedbump-ms", "10", "--market-maker") as srv:
        yield srv


def test_there_is_an_example_for_each_action() -> None:
    names = {p.stem for p in SCRIPTS}
    for action in ("create_limit_order", "market_order", "stop_order", "cancel_order"):
        assert action in names
    for action in ("cancel_all_orders", "edit_order", "batch_orders", "position_tpsl"):
        assert action in names
    for action in ("leverage", "agent_wallet", "reads", "ws_subscribe"):
        assert action in names


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_the_example_runs_against_a_live_server(server: ServerProcess, script: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDEPOOL_")}
    env["TIDEPOOL_URL"] = server.url
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result
    assert result.stderr == ""
    assert result.stdout.strip() != ""
    # Each example tidies up after itself: the next one starts from a flat account.
    with Client(server.url, key=OWN.secret_key) as own:
        assert list(own.orders()) == []
        assert list(own.positions()) == []
