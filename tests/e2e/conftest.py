from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server_process import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server per test module; the speedbump is on, as on Pacifica."""
    state: Path = tmp_path_factory.mktemp("state")
    with ServerProcess(state, "--seed", "7") as srv:
        yield srv
