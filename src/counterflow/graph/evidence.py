"""Evidence bundles: a trace's inputs, the hashes of every byte it read, and its result.

A bundle lets a second analyst (or a court's expert) re-run the trace and obtain the same
document byte for byte. Replay refuses, naming the file, when the store parts, label files or
link files no longer hash to what the bundle recorded: a result is only evidence of the data
it came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from counterflow.errors import InputError
from counterflow.graph.index import file_sha256, hash_parts
from counterflow.graph.policies import TraceParams
from counterflow.graph.trace import TraceResult, trace
from counterflow.store.datadir import DataDirectory

BUNDLE_FORMAT = "counterflow-evidence/1"


def result_text(result: TraceResult) -> str:
    """The canonical JSON text of a result: what ``trace --json`` prints and replay compares."""
    return json.dumps(result.to_json(), indent=1, sort_keys=True) + "\n"


def bundle(result: TraceResult) -> dict[str, Any]:
    """The evidence bundle of ``result``: inputs, data hashes, per-hop justification, result."""
    document = result.to_json()
    return {
        "format": BUNDLE_FORMAT,
        "inputs": {
            "params": document["params"],
            "labels": [d["path"] for d in document["data"]["labels"]],
            "links": [d["path"] for d in document["data"]["links"]],
        },
        "data": document["data"],
        "hops": document["transfers"],
        "result": document,
    }


def write_bundle(result: TraceResult, path: str | Path) -> None:
    Path(path).write_text(json.dumps(bundle(result), indent=1, sort_keys=True) + "\n", "utf-8")


def load_bundle(path: str | Path) -> dict[str, Any]:
    file = Path(path)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{file}: no such evidence bundle") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{file}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(document, dict) or document.get("format") != BUNDLE_FORMAT:
        raise InputError(f"{file}: not a Counterflow evidence bundle ({BUNDLE_FORMAT})")
    return document


def verify(document: dict[str, Any], directory: DataDirectory) -> None:
    """Refuse unless every input still hashes to what the bundle recorded."""
    data = document["data"]
    for chain, recorded in sorted(data["store"].items()):
        if chain not in directory.chains():
            raise InputError(f"replay: chain {chain!r} is not in the store {directory.root}")
        now = {(p["table"], p["path"]): p["sha256"] for p in hash_parts(directory, chain)}
        then = {(p["table"], p["path"]): p["sha256"] for p in recorded["parts"]}
        if now != then:
            changed = sorted(
                f"{t}/{p}"
                for (t, p) in set(now) ^ set(then)
                | {k for k in now if now[k] != then.get(k, now[k])}
            )
            raise InputError(
                f"replay: the {chain} store differs from the bundle's "
                f"({len(changed)} part(s) differ, e.g. {', '.join(changed[:3])})"
            )
    for kind in ("labels", "links"):
        for entry in data[kind]:
            path = Path(entry["path"])
            if not path.is_file():
                raise InputError(f"replay: {kind} file {path} is missing")
            if file_sha256(path) != entry["sha256"]:
                raise InputError(f"replay: {kind} file {path} differs from the bundle's (sha256)")


def replay(path: str | Path, directory: DataDirectory) -> TraceResult:
    """Re-run the trace a bundle describes, after checking its data is unchanged."""
    document = load_bundle(path)
    verify(document, directory)
    inputs = document["inputs"]
    return trace(
        directory,
        TraceParams.from_json(inputs["params"]),
        labels=inputs["labels"],
        links=inputs["links"],
    )
