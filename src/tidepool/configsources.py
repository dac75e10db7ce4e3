"""Where `tidepool serve`'s settings come from: flags > environment > config file > defaults.

The settings are the fields of `config.Config` (its docstring says how to add one); this
module derives the three ways to give one from the field's name and reads them:

- a flag: `--snapshot-every 500` (argparse leaves a flag out unless it is given, so a flag
  always wins; `--help` shows each default from the table);
- an environment variable: `TIDEPOOL_SNAPSHOT_EVERY=500`;
- a TOML file: `snapshot-every = 500` (or `snapshot_every`), from `--config FILE` or
  `TIDEPOOL_CONFIG`, else from `[tool.tidepool]` in `./pyproject.toml` if it has that table.
  Relative paths in a file are read from the file's directory, as its author sees them.

Every value given, whichever source wins, is parsed with its setting's one parser, so a typo
anywhere stops start-up instead of waiting to surprise: `ConfigError` is one line naming the
source and the key. An unknown key in a file stops start-up too. An unknown `TIDEPOOL_*`
variable does only when it is a near miss of a setting's variable (a typo): the prefix is
shared with the client commands' variables (`TIDEPOOL_KEY`) and test hooks (`TIDEPOOL_WS_IDLE_S`,
`TIDEPOOL_CRASH_AT`), which a server must not refuse to start next to.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import tomllib
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from tidepool.config import Config
from tidepool.options import BadValue, Option, option_of

ENV_PREFIX = "TIDEPOOL_"
CONFIG_ENV = "TIDEPOOL_CONFIG"
PYPROJECT = "pyproject.toml"


class ConfigError(Exception):
    """A setting that cannot be used; the message is one line naming its source and key."""


def settings() -> dict[str, Option[Any]]:
    """The table: each Config field's name and its Option."""
    found: dict[str, Option[Any]] = {}
    for f in dataclasses.fields(Config):
        spec = option_of(f)
        if spec is not None:
            found[f.name] = spec
    return found


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def env_var(name: str) -> str:
    return ENV_PREFIX + name.upper()


def add_flags(parser: argparse.ArgumentParser, only: Collection[str] | None = None) -> None:
    """One flag per setting (or per setting in `only`), and `--config` with all of them."""
    defaults = Config()
    for name, spec in settings().items():
        if only is not None and name not in only:
            continue
        shown = spec.shown if spec.shown is not None else str(getattr(defaults, name))
        text = f"{spec.help} (default: {shown})".replace("%", "%%")
        if spec.switch:
            parser.add_argument(
                flag(name),
                dest=name,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=text,
            )
        else:
            parser.add_argument(
                flag(name), dest=name, metavar=spec.metavar, default=argparse.SUPPRESS, help=text
            )
    if only is None:
        parser.add_argument(
            "--config",
            dest="config_file",
            type=Path,
            metavar="FILE",
            help=f"TOML file of settings, named as the flags without -- (default: "
            f"[tool.tidepool] in ./{PYPROJECT} if there is one; also {CONFIG_ENV})",
        )


class _Given(NamedTuple):
    text: str
    where: str  # how the error line names it
    base: Path | None  # the directory a relative path in it is read from


def resolve(
    flags: Mapping[str, Any],
    environ: Mapping[str, str],
    cwd: Path,
    config_file: Path | None = None,
) -> Config:
    """The Config the three sources give (flags: argparse's values, given ones only)."""
    table = settings()
    layers = [
        dict(_from_file(config_file, environ, cwd, table)),
        dict(_from_env(environ, table)),
        {n: _Given(_text(v), flag(n), None) for n, v in flags.items() if n in table},
    ]
    values: dict[str, Any] = {}
    for layer in layers:  # lowest precedence first: later layers overwrite
        for name, given in layer.items():
            values[name] = _parse(table[name], given)
    return Config(**values)


def _parse(spec: Option[Any], given: _Given) -> Any:
    text = given.text
    if spec.relative and given.base is not None and text and not Path(text).is_absolute():
        text = str(given.base / text)
    try:
        return spec.parse(text)
    except BadValue as exc:
        raise ConfigError(f"{given.where}: {exc}") from None


def _text(value: Any) -> str:
    """A flag's or a TOML value as the text its parser reads."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _from_env(
    environ: Mapping[str, str], table: Mapping[str, Option[Any]]
) -> Iterator[tuple[str, _Given]]:
    known = {env_var(name): name for name in table}
    for key, text in environ.items():
        name = known.get(key)
        if name is not None:
            yield name, _Given(text, f"{key} (environment)", None)
        elif key.startswith(ENV_PREFIX) and key != CONFIG_ENV:
            near = difflib.get_close_matches(key, known, n=1, cutoff=0.85)
            if near:
                raise ConfigError(f"{key} (environment): unknown setting; did you mean {near[0]}?")


def _from_file(
    config_file: Path | None,
    environ: Mapping[str, str],
    cwd: Path,
    table: Mapping[str, Option[Any]],
) -> Iterator[tuple[str, _Given]]:
    if config_file is None and environ.get(CONFIG_ENV):
        config_file = Path(environ[CONFIG_ENV])
    if config_file is None:
        found = cwd / PYPROJECT
        if not found.is_file():
            return
        section = _read_toml(found).get("tool", {}).get("tidepool")
        if section is None:
            return
        where, path = f"{found} [tool.tidepool]", found
    else:
        path = config_file if config_file.is_absolute() else cwd / config_file
        data = _read_toml(path)
        section = data.get("tool", {}).get("tidepool", {}) if path.name == PYPROJECT else data
        where = f"{path} [tool.tidepool]" if path.name == PYPROJECT else str(path)
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: expected a table of settings")
    for key, value in section.items():
        name = key.replace("-", "_")
        if name not in table:
            near = difflib.get_close_matches(name, table, n=1)
            hint = f"; did you mean {near[0].replace('_', '-')}?" if near else ""
            raise ConfigError(f"{where}: unknown key {key!r}{hint}")
        if isinstance(value, dict | list) or not isinstance(value, str | int | float | bool):
            raise ConfigError(f"{where}: {key}: expected a string, a number or a boolean")
        yield name, _Given(_text(value), f"{where}: {key}", path.parent)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML: {exc}") from None
