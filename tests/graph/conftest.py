"""Shared fixtures: simulated single-heist scenarios, generated and ingested once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from counterflow.exercise import ScenarioConfig, playbook, run_scenario
from counterflow.ingest import ingest
from counterflow.store.datadir import DataDirectory


@dataclass
class Traced:
    folder: Path
    store: DataDirectory


def _scenario(root: Path, name: str, seed: int) -> Traced:
    folder = root / "scenario"
    config = ScenarioConfig(seed=seed, transfers=40_000, days=13, playbooks=(playbook(name),))
    run_scenario(config, folder)
    store = DataDirectory(root / "store")
    for chain in ("bitcoin", "ethereum"):
        ingest(chain, [folder / chain], data_dir=store)
    return Traced(folder, store)


@pytest.fixture(scope="session")
def bybit(tmp_path_factory: pytest.TempPathFactory) -> Traced:
    return _scenario(tmp_path_factory.mktemp("bybit"), "bybit-2025", 11)


@pytest.fixture(scope="session")
def ronin(tmp_path_factory: pytest.TempPathFactory) -> Traced:
    return _scenario(tmp_path_factory.mktemp("ronin"), "ronin-2022", 12)
