from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server_process import LAYOUTS, ServerProcess


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One real server per test module and layout; the speedbump is on, as on Pacifica."""
    state: Path = tmp_path_factory.mktemp("state")
    with ServerProcess(state, "--seed", "7", *LAYOUTS[request.param]) as srv:
        yield srv
