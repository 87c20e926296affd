"""The screening tests' shared world, built once per session (screening_world.py)."""

from __future__ import annotations

import pytest
from screening_world import World, build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("world"))
