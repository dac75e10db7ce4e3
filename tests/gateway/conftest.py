from __future__ import annotations

from collections.abc import Iterator

import pytest
from solders.keypair import Keypair

from harness import Harness
from pacifica_recipe import keypair


@pytest.fixture
def hx() -> Iterator[Harness]:
    h = Harness()
    yield h
    h.close()


@pytest.fixture
def alice() -> Keypair:
    return keypair(1)


@pytest.fixture
def bob() -> Keypair:
    return keypair(2)
