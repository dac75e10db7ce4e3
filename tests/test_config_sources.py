"""`tidepool serve` settings from flags, TIDEPOOL_* variables and a TOML file: precedence,
the one table every setting comes from, and the one-line errors naming source and key."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tidepool.cli import _parser
from tidepool.config import Config
from tidepool.configsources import ConfigError, env_var, flag, resolve, settings
from tidepool.domain.markets import MarketSpec


def _flags(*argv: str) -> dict[str, object]:
    return vars(_parser(["serve"]).parse_args(["serve", *argv]))


def _resolve(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> Config:
    args = _flags(*argv)
    return resolve(args, env or {}, tmp_path, args.get("config_file"))  # type: ignore[arg-type]


def test_nothing_given_is_the_defaults(tmp_path: Path) -> None:
    assert _resolve(tmp_path) == Config()


def test_a_flag_beats_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    (tmp_path / "tidepool.toml").write_text("speedbump-ms = 10\nseed = 1\nworkers = 3\n")
    env = {"TIDEPOOL_SPEEDBUMP_MS": "20", "TIDEPOOL_SEED": "2"}
    cfg = _resolve(tmp_path, "--config", "tidepool.toml", "--speedbump-ms", "30", env=env)
    assert (cfg.speedbump_ms, cfg.seed, cfg.workers) == (30, 2, 3)
    assert cfg.port == Config().port


def test_pyproject_tool_tidepool_is_read_from_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "bot"\n\n[tool.tidepool]\nmaker_fee = "0.0001"\nstrict-auth = true\n'
    )
    cfg = _resolve(tmp_path)
    assert cfg.maker_fee == Decimal("0.0001")
    assert cfg.strict_auth is True
    assert _resolve(tmp_path, "--no-strict-auth").strict_auth is False


def test_a_pyproject_without_the_table_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "bot"\n')
    assert _resolve(tmp_path) == Config()


def test_relative_paths_in_a_file_are_read_from_its_directory(tmp_path: Path) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    (sub / "tidepool.toml").write_text('state-dir = "data"\n')
    assert _resolve(tmp_path, "--config", str(sub / "tidepool.toml")).state_dir == sub / "data"


def test_every_setting_is_a_flag_a_variable_and_a_file_key(tmp_path: Path) -> None:
    """Each setting's default, given as text all three ways, reads back as the default."""
    defaults = Config()
    for name, spec in settings().items():
        value = getattr(defaults, name)
        if name == "markets":
            text = str(tmp_path / "m.json")
            (tmp_path / "m.json").write_text(
                json.dumps([{f: str(getattr(m, f)) for f in _REQUIRED} for m in value])
            )
        elif spec.switch:
            text = "true" if value else "false"
        elif name == "sandbox":
            text = "on"
        else:
            text = "" if value is None else str(value)
        argv = (
            [flag(name) if value else f"--no-{flag(name)[2:]}"]
            if spec.switch
            else [f"{flag(name)}={text}"]
        )
        (tmp_path / "t.toml").write_text(f"{name} = {json.dumps(text)}\n")
        in_file = tmp_path / value if isinstance(value, Path) else value  # read from its dir
        for cfg, expected in (
            (_resolve(tmp_path, *argv), value),
            (_resolve(tmp_path, env={env_var(name): text}), value),
            (_resolve(tmp_path, "--config", str(tmp_path / "t.toml")), in_file),
        ):
            got = getattr(cfg, name)
            if name == "markets":  # the file holds the required keys only
                got, expected = _required(got), _required(expected)
            assert got == expected, name


_REQUIRED = (
    "symbol",
    "tick_size",
    "lot_size",
    "min_order_size",
    "max_order_size",
    "max_leverage",
    "initial_mark_price",
)


def _required(markets: tuple[MarketSpec, ...]) -> list[tuple[object, ...]]:
    return [tuple(getattr(m, f) for f in _REQUIRED) for m in markets]


@pytest.mark.parametrize(
    ("toml", "env", "argv", "says"),
    [
        ("workers = -1\n", {}, (), "t.toml: workers: -1 must be at least 0"),
        ("speedbump = 0\n", {}, (), "t.toml: unknown key 'speedbump'; did you mean speedbump-ms?"),
        ("[durability]\nx = 1\n", {}, (), "t.toml: durability: expected a string"),
        ("port = \n", {}, (), "t.toml: not valid TOML"),
        ("", {"TIDEPOOL_PORT": "http"}, (), "TIDEPOOL_PORT (environment): 'http' is not a whole"),
        ("", {"TIDEPOOL_SPEEDBUMP": "0"}, (), "did you mean TIDEPOOL_SPEEDBUMP_MS?"),
        ("", {}, ("--durability", "paper"), "--durability: 'paper' is not one of process"),
        ("", {}, ("--sandbox", "maybe"), "--sandbox: 'maybe' is not one of true"),
    ],
)
def test_a_bad_setting_names_its_source_and_key(
    tmp_path: Path, toml: str, env: dict[str, str], argv: tuple[str, ...], says: str
) -> None:
    (tmp_path / "t.toml").write_text(toml)
    with pytest.raises(ConfigError) as refused:
        _resolve(tmp_path, "--config", str(tmp_path / "t.toml"), *argv, env=env)
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_bad_value_is_refused_even_where_a_flag_overrides_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TIDEPOOL_SEED"):
        _resolve(tmp_path, "--seed", "1", env={"TIDEPOOL_SEED": "-1"})


def test_other_tidepool_variables_do_not_stop_the_server(tmp_path: Path) -> None:
    env = {"TIDEPOOL_KEY": "x", "TIDEPOOL_WS_IDLE_S": "1", "TIDEPOOL_CRASH_AT": "after_apply"}
    assert _resolve(tmp_path, env=env) == Config()


def _market(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "symbol": "DOGE",
        "tick_size": "0.0001",
        "lot_size": "1",
        "min_order_size": "10",
        "max_order_size": "100000",
        "max_leverage": 10,
        "initial_mark_price": "0.2",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    ("market", "says"),
    [
        (_market(tick="1"), "market DOGE: unknown key 'tick'"),
        (_market(initial_mark_price=None), "market DOGE: missing key 'initial_mark_price'"),
        (_market(initial_mark_price="0"), "market DOGE: 'initial_mark_price' must be above 0"),
        (_market(max_leverage="many"), "market DOGE: Expected `int`"),
        (_market(symbol=None), "market #1: missing key 'symbol'"),
    ],
)
def test_a_markets_file_names_the_market_and_the_key(
    tmp_path: Path, market: dict[str, object], says: str
) -> None:
    path = tmp_path / "markets.json"
    path.write_text(json.dumps([market]))
    with pytest.raises(ConfigError) as refused:
        _resolve(tmp_path, "--markets", str(path))
    assert str(refused.value).startswith(f"--markets: {path}: ")
    assert says in str(refused.value)


def test_a_good_markets_file_is_the_market_list(tmp_path: Path) -> None:
    path = tmp_path / "markets.json"
    path.write_text(json.dumps([_market()]))
    (doge,) = _resolve(tmp_path, "--markets", str(path)).markets
    assert (doge.symbol, doge.initial_mark_price) == ("DOGE", Decimal("0.2"))


def test_engine_defaults_are_the_engine_configs() -> None:
    from tidepool.engine.config import EngineConfig
    from tidepool.server.exchange import engine_config

    assert engine_config(Config()) == EngineConfig()
    assert {f.name for f in dataclasses.fields(Config)} == set(settings())


def test_serve_help_shows_every_setting_with_its_default() -> None:
    serve = _parser(["serve"])._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    text = " ".join(serve.format_help().split())
    defaults = Config()
    for name, spec in settings().items():
        shown = spec.shown if spec.shown is not None else str(getattr(defaults, name))
        assert flag(name) in text, name
        assert f"(default: {shown})" in text, name
