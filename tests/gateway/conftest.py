from __future__ import annotations

from collections.abc import Iterator

import pytest
from solders.keypair import Keypair

from harness import Harness
from pacifica_recipe import keypair


@pytest.fixture(params=["one_process", "workers"])
def hx(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """Every gateway test runs twice: as a single-process server answers, and as the engine
    process answers behind gateway workers (signatures checked in the worker, gateway.preverify):
    the answers must be the same."""
    h = Harness(workers=request.param == "workers")
    yield h
    h.close()


@pytest.fixture
def alice() -> Keypair:
    return keypair(1)


@pytest.fixture
def bob() -> Keypair:
    return keypair(2)
