"""Fixtures shared by the whole test tree: where reference data lives and a scratch store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = REPO_ROOT / "src" / "counterflow" / "demo_data"
SHARED_DATA = REPO_ROOT / ".." / "shared" / "data"

Snapshot = dict[str, bytes | None]


def tree_snapshot(root: Path) -> Snapshot:
    """Every path under ``root`` (relative), mapped to its bytes (None for a folder)."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


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


@pytest.fixture
def snapshot() -> Callable[[Path], Snapshot]:
    """``snapshot(root)``: the paths and bytes of everything under ``root``, for equality."""
    return tree_snapshot
