"""The small scenario the exercise tests share: two heists, generated once and ingested."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from counterflow.exercise import ScenarioConfig, ScenarioSummary, playbook
from counterflow.ingest import IngestReport
from counterflow.store.datadir import DataDirectory

#: Small enough for seconds, long enough for both heists to cash out.
CONFIG = ScenarioConfig(
    seed=11,
    transfers=40_000,
    days=13,
    playbooks=(playbook("bybit-2025"), playbook("ronin-2022", start_after_days=1.5)),
)


@dataclass
class Scenario:
    folder: Path
    summary: ScenarioSummary
    store: DataDirectory
    reports: dict[str, IngestReport]
