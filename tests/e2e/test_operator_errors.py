"""An operator's mistake at start-up is one line saying what is wrong and what to do, and a
non-zero exit; never a traceback (issue 15, operator errors)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def _serve(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidepool", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def _refused_in_one_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    for word in words:
        assert word in last, last
    return last


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--workers", "-1", "at least 0"),
        ("--speedbump-ms", "-5", "at least 0"),
        ("--port", "70000", "at most 65535"),
        ("--snapshot-every", "0", "at least 1"),
        ("--max-open-orders", "zero", "not a whole number"),
        ("--maker-fee", "-0.1", "at least 0"),
    ],
)
def test_a_bad_flag_value_is_named_in_one_line(flag: str, value: str, says: str) -> None:
    _refused_in_one_line(_serve(flag, value), flag, says)


def test_a_port_in_use_says_so_and_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        result = _serve("--port", str(port), "--state-dir", str(tmp_path / "s"))
    _refused_in_one_line(result, "in use", "--port 0")


def test_a_host_that_does_not_resolve_is_named(tmp_path: Path) -> None:
    result = _serve("--host", "nosuchhost.invalid", "--port", "0", "--state-dir", str(tmp_path))
    _refused_in_one_line(result, "nosuchhost.invalid", "--host")


def test_a_state_dir_that_is_a_file_is_named(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    _refused_in_one_line(_serve("--port", "0", "--state-dir", str(afile)), str(afile))


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "No such file"),
        ("not json", "--markets"),
        ('[{"symbol": "X"}]', "tick_size"),
        (
            '[{"symbol": "X", "tick_size": "1", "lot_size": "1", "min_order_size": "1", '
            '"max_order_size": "9", "max_leverage": 5}]',
            "market X: missing key 'initial_mark_price'",
        ),
    ],
)
def test_a_bad_markets_file_is_named(tmp_path: Path, content: str | None, says: str) -> None:
    markets = tmp_path / "markets.json"
    if content is not None:
        markets.write_text(content)
    result = _serve("--port", "0", "--state-dir", str(tmp_path / "s"), "--markets", str(markets))
    _refused_in_one_line(result, str(markets), says)


def test_a_bad_value_in_the_config_file_names_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.tidepool]\nsnapshot-every = 0\n")
    result = _serve("--port", "0", "--state-dir", str(tmp_path / "s"), cwd=tmp_path)
    _refused_in_one_line(result, "pyproject.toml [tool.tidepool]: snapshot-every", "at least 1")


def test_an_unknown_key_in_the_config_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "tidepool.toml").write_text("speedbump_msec = 0\n")
    result = _serve("--config", str(tmp_path / "tidepool.toml"), "--port", "0")
    _refused_in_one_line(result, "unknown key 'speedbump_msec'", "speedbump-ms")


def test_a_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    result = _serve("--port", "0", env={"TIDEPOOL_WORKERS": "-1"}, cwd=tmp_path)
    _refused_in_one_line(result, "TIDEPOOL_WORKERS (environment)", "at least 0")


def test_serve_help_shows_every_default() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tidepool", "serve", "--help"], capture_output=True, text=True
    ).stdout
    for default in (
        "127.0.0.1",
        "tidepool-data",
        "7700",
        "100000",
        "0.00015",
        "0.0004",
        "(default: 100)",
        "(default: 50)",
    ):
        assert default in " ".join(out.split()), default
