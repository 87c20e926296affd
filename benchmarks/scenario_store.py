"""The benchmarks' shared data: one simulated scenario, generated and ingested once, then reused.

``scenario_store(20_000_000, seed=3)`` returns the scenario folder (exports, labels, ground
truth, injects) and a data directory holding both chains ingested, under benchmarks/work/
(ignored by git). A folder is reused only if its marker says it was finished by the same
simulator and ingest (a hash of the exercise and ingest packages' sources), so an interrupted
preparation, or one made by an older simulator or ingest, is redone.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from counterflow import exercise

WORK = Path(__file__).resolve().parent / "work"


@dataclass(frozen=True)
class ScenarioStore:
    folder: Path  # what `counterflow exercise run --out` wrote
    data_dir: Path  # both chains ingested
    transfers: int
    generate_seconds: float
    ingest_seconds: float


def data_version() -> str:
    """What made the data: the simulator's and the ingest's sources (the part order is the
    ingest's, and the benchmarks read the parts)."""
    digest = hashlib.sha256()
    for module in (exercise, importlib.import_module("counterflow.ingest")):
        for source in sorted(Path(str(module.__file__)).parent.glob("*.py")):
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def scenario_store(transfers: int, seed: int = 3) -> ScenarioStore:
    root = WORK / f"scenario-{transfers}-seed-{seed}"
    marker = root / "ready.json"
    if marker.is_file():
        done = json.loads(marker.read_text())
        if done.pop("made_by", None) == data_version():
            return ScenarioStore(root / "scenario", root / "data", **done)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    cli = [sys.executable, "-m", "counterflow"]
    started = time.perf_counter()
    run = [*cli, "exercise", "run", "--seed", str(seed), "--transfers", str(transfers)]
    subprocess.run(
        [*run, "--out", str(root / "scenario"), "--json"], check=True, stdout=subprocess.DEVNULL
    )
    generated = time.perf_counter() - started
    started = time.perf_counter()
    for chain in ("bitcoin", "ethereum"):
        exports = str(root / "scenario" / chain)
        subprocess.run(
            [*cli, "--data-dir", str(root / "data"), "ingest", chain, exports, "--json"],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
    ingested = time.perf_counter() - started
    done = {
        "made_by": data_version(),
        "transfers": transfers,
        "generate_seconds": round(generated, 1),
        "ingest_seconds": round(ingested, 1),
    }
    marker.write_text(json.dumps(done))
    return ScenarioStore(
        root / "scenario",
        root / "data",
        transfers,
        done["generate_seconds"],
        done["ingest_seconds"],
    )


if __name__ == "__main__":
    print(scenario_store(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000_000))
