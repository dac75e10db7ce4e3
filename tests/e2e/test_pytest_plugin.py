"""The pytest plugin, run as a user runs it: pytest (pytester, in a subprocess) on a test file
that asks for the fixtures, with a real server started by the plugin."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from server_process import ServerProcess
from tidepool import pytest_plugin

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# Blocks the entry point where it is installed, so the plugin is loaded once, by module name,
# from the code under test.
PLUGIN = ("-p", "no:tidepool", "-p", "tidepool.pytest_plugin")
TIMEOUT_S = 180


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*PLUGIN, "-q", *args, timeout=TIMEOUT_S)


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"tidepool": pytest_plugin.__name__}
    for name in ("tidepool_server", "tidepool", "dev_accounts", "clock"):
        assert hasattr(pytest_plugin, name)


def test_the_readme_example_passes(pytester: pytest.Pytester) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Testing a bot with pytest") :]
    example = re.search(r"```python\n(.*?)```", section, re.S)
    assert example is not None
    pytester.makepyfile(test_example=example.group(1))
    _run(pytester).assert_outcomes(passed=2)


def test_an_order_made_in_one_test_is_gone_in_the_next(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        first_ids = []

        def test_one(tidepool, tidepool_server):
            maker = tidepool_server.client(1)
            ask = maker.create_order(symbol="BTC", price="100000", amount="0.01", side="ask")
            first_ids.append(ask.order_id)
            tidepool.create_order(symbol="BTC", price="90000", amount="0.01", side="bid")
            tidepool.create_market_order(
                symbol="BTC", amount="0.01", side="bid", slippage_percent="5"
            )
            assert len(tidepool.orders()) == 1 and len(tidepool.positions()) == 1

        def test_two(tidepool, dev_accounts):
            assert list(tidepool.orders()) == [] and list(tidepool.positions()) == []
            assert tidepool.account().balance == dev_accounts[0].balance
            # order ids went back too: a rerun sees the same ids
            bid = tidepool.create_order(symbol="BTC", price="90000", amount="0.01", side="bid")
            assert bid.order_id == first_ids[0]
        """
    )
    _run(pytester).assert_outcomes(passed=2)


def test_the_clock_fixture_moves_server_time_and_leaves_it_running(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        from datetime import UTC, datetime, timedelta

        def test_frozen_time_stamps_every_order_alike(tidepool, clock):
            start = clock.freeze()
            assert clock.frozen
            assert clock.advance(timedelta(days=1)) == start + 86_400_000
            target = datetime(2100, 1, 1, tzinfo=UTC)
            assert clock.set(target) == 4_102_444_800_000 == clock.now_ms()
            tidepool.create_order(symbol="BTC", price="90000", amount="0.01", side="bid")
            tidepool.create_order(symbol="BTC", price="89000", amount="0.01", side="bid")
            assert {o.created_at for o in tidepool.orders()} == {4_102_444_800_000}

        def test_the_next_test_finds_the_clock_running_where_it_was_left(clock):
            assert not clock.frozen
            assert clock.now_ms() >= 4_102_444_800_000
        """
    )
    _run(pytester).assert_outcomes(passed=2)


def test_the_dev_accounts_are_funded_and_carry_their_keys(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_accounts(dev_accounts, tidepool_server):
            assert len(dev_accounts) == 10
            for account in dev_accounts:
                assert str(account.keypair.pubkey()) == account.public_key
                assert account.balance == 100_000
            assert tidepool_server.ws_url == tidepool_server.url.replace("http", "ws") + "/ws"
            assert tidepool_server.client(3).address == dev_accounts[3].public_key
        """
    )
    _run(pytester).assert_outcomes(passed=1)


def test_a_server_that_cannot_start_fails_the_tests_with_its_own_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_one(tidepool):
            pass

        def test_two(tidepool):
            pass
        """
    )
    result = _run(pytester, "--tidepool-arg=--workers=-1")
    result.assert_outcomes(errors=2)
    output = result.stdout.str()
    assert "could not start its server: `tidepool serve` exited with code 2" in output
    assert "--workers: -1 must be at least 0" in output
    assert "Traceback" not in output and "pytest_plugin.py" not in output


@pytest.fixture
def running(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path / "state", "--speedbump-ms", "0", "--accounts", "2") as server:
        yield server


def test_a_running_server_is_used_with_tidepool_url(
    pytester: pytest.Pytester, running: ServerProcess
) -> None:
    pytester.makepyfile(
        f"""
        def test_uses_it(tidepool_server, dev_accounts):
            assert tidepool_server.process is None
            assert tidepool_server.url == {running.url!r}
            assert len(dev_accounts) == 2
        """
    )
    _run(pytester, f"--tidepool-url={running.api}").assert_outcomes(passed=1)


def test_a_url_where_no_server_answers_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one(tidepool):\n    pass\n")
    result = _run(pytester, "--tidepool-url=http://127.0.0.1:9")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no Tidepool server answered at http://127.0.0.1:9*"])
