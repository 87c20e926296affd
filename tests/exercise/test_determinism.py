"""Same seed, same bytes; another seed, another scenario."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from counterflow.errors import ConfigError, InputError
from counterflow.exercise import ScenarioConfig, playbook, run_scenario

SMALL = ScenarioConfig(seed=4, transfers=6_000, days=8, playbooks=(playbook("stake-2023"),))


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first = digests(Path(run_scenario(SMALL, tmp_path / "a").out))
    second = digests(Path(run_scenario(SMALL, tmp_path / "b").out))
    assert len(first) >= 11
    assert first == second


def test_another_seed_gives_another_scenario(tmp_path: Path) -> None:
    first = digests(Path(run_scenario(SMALL, tmp_path / "a").out))
    other = ScenarioConfig(seed=5, transfers=6_000, days=8, playbooks=SMALL.playbooks)
    second = digests(Path(run_scenario(other, tmp_path / "b").out))
    assert first.keys() == second.keys()
    assert all(first[k] != second[k] for k in first if k != "ethereum/tokens.csv")


def test_refuses_a_folder_that_holds_files(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not an empty folder"):
        run_scenario(SMALL, tmp_path / "out")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_an_interrupted_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from counterflow.exercise import scenario as module

    def explode(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "write_owners", explode)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(SMALL, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"transfers": 10}, "at least 1000"),
        ({"days": 0.1}, "between 0.5 and 366"),
        ({"days": 3}, "raise --days"),
    ],
)
def test_bad_configurations_are_explained(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ScenarioConfig(**{"playbooks": SMALL.playbooks, **overrides})  # type: ignore[arg-type]


def test_unknown_playbook() -> None:
    with pytest.raises(ConfigError, match="no playbook named 'nope'; choose from"):
        playbook("nope")
