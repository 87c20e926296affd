"""Fixtures shared by the whole test tree: where reference data lives and a scratch store."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = REPO_ROOT / "src" / "counterflow" / "demo_data"
SHARED_DATA = REPO_ROOT / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only reference data beside the repository; skips the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA.resolve()


@pytest.fixture(scope="session")
def demo_data() -> Path:
    """The exports bundled with the package (bitcoin/ and ethereum/)."""
    return DEMO_DATA


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory path that does not exist yet."""
    return tmp_path / "data"
