"""The shared scenario, generated once per test process."""

from __future__ import annotations

import pytest
from exercise_scenario import CONFIG, Scenario

from counterflow.exercise import run_scenario
from counterflow.ingest import ingest
from counterflow.store.datadir import DataDirectory


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    root = tmp_path_factory.mktemp("exercise")
    folder = root / "scenario"
    summary = run_scenario(CONFIG, folder)
    store = DataDirectory(root / "store")
    reports = {
        chain: ingest(chain, [folder / chain], data_dir=store) for chain in ("bitcoin", "ethereum")
    }
    return Scenario(folder, summary, store, reports)
