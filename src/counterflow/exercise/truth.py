"""The ground truth of a scenario: the answers tracers, detectors and clusterers are scored on.

``ground_truth.json`` holds, per heist, every laundering address with its role, every transfer
that carried stolen value (with the amount it carried and the playbook step), the bridge
crossings, the cash-out destinations, and what the heist still held when the scenario ended.
``ground_truth/owners.parquet`` names the true owner of every address of both chains, for
scoring clustering; it is a table because a large scenario has millions of addresses.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from counterflow.errors import InputError
from counterflow.exercise.heist import Destination, Link, TruthTransfer

FORMAT = "counterflow-ground-truth/1"


@dataclass
class HeistTruth:
    name: str
    playbook: str
    description: str
    theft_time: str
    victims: list[dict[str, str]]
    addresses: list[dict[str, str]]  # chain, address, role
    transfers: list[TruthTransfer]
    links: list[Link]
    destinations: list[Destination]
    held: list[dict[str, Any]]
    stolen: dict[str, int]  # asset -> amount drained

    @property
    def laundering_addresses(self) -> set[tuple[str, str]]:
        return {(a["chain"], a["address"]) for a in self.addresses}


@dataclass
class GroundTruth:
    scenario: dict[str, Any]
    heists: list[HeistTruth] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "scenario": self.scenario,
            "heists": [asdict(h) for h in self.heists],
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")


def load_ground_truth(path: Path) -> GroundTruth:
    """Read ``ground_truth.json`` (or the scenario folder holding it)."""
    if path.is_dir():
        path = path / "ground_truth.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no ground truth here (run `counterflow exercise run`)") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(f"{path}: not a Counterflow ground truth (format {FORMAT})")
    heists = []
    for h in document["heists"]:
        heists.append(
            HeistTruth(
                **{
                    **h,
                    "transfers": [TruthTransfer(**t) for t in h["transfers"]],
                    "links": [Link(**link) for link in h["links"]],
                    "destinations": [Destination(**d) for d in h["destinations"]],
                }
            )
        )
    return GroundTruth(scenario=document["scenario"], heists=heists)
