"""counterflow trace end to end: destinations, evidence replay byte for byte, clear refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import Traced
from counterflow.cli import main


def _victim(s: Traced) -> tuple[str, str]:
    heist = json.loads((s.folder / "ground_truth.json").read_text())["heists"][0]
    return heist["victims"][0]["address"], heist["theft_time"]


def _args(s: Traced, labels: Path) -> list[str]:
    victim, since = _victim(s)
    return [
        "--data-dir", str(s.store.root), "trace", "--chain", "ethereum", "--from", victim,
        "--since", since, "--labels", str(labels),
        "--links", str(s.folder / "bridge" / "crossings.csv"),
    ]  # fmt: skip


def test_replay_is_byte_identical_and_refuses_changed_data(
    bybit: Traced, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "services.yaml"
    shutil.copy(bybit.folder / "labels" / "services.yaml", labels)
    bundle = tmp_path / "bundle.json"
    assert main([*_args(bybit, labels), "--evidence", str(bundle), "--json"]) == 0
    first = capsys.readouterr().out
    document = json.loads(first)
    assert document["destinations"] and document["crossings"]
    assert all(t["rule"] for t in json.loads(bundle.read_text())["hops"])
    assert (
        main(["--data-dir", str(bybit.store.root), "trace", "--replay", str(bundle), "--json"]) == 0
    )
    assert capsys.readouterr().out == first
    labels.write_text(labels.read_text() + "\n# edited\n")
    assert main(["--data-dir", str(bybit.store.root), "trace", "--replay", str(bundle)]) != 0
    assert "differs from the bundle" in capsys.readouterr().err


def test_terminal_table(bybit: Traced, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(bybit, bybit.folder / "labels" / "services.yaml")) == 0
    assert "Destinations" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--from", "0x0000000000000000000000000000000000000001"], "not in the ethereum store"),
        (["--from", "0x12"], "invalid ethereum address"),
        (["--policy", "bogus"], "unknown policy"),
        (["--min-fraction", "2"], "--min-fraction"),
    ],
)
def test_bad_input(
    bybit: Traced, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    victim, _ = _victim(bybit)
    base = ["--data-dir", str(bybit.store.root), "trace", "--chain", "ethereum"]
    if extra[0] != "--from":
        extra = ["--from", victim, *extra]
    assert main([*base, *extra]) != 0
    assert message in capsys.readouterr().err


def test_backward_reaches_the_victim(bybit: Traced, capsys: pytest.CaptureFixture[str]) -> None:
    heist = json.loads((bybit.folder / "ground_truth.json").read_text())["heists"][0]
    hop = next(a["address"] for a in heist["addresses"] if a["role"] == "hop-1")
    args = ["--data-dir", str(bybit.store.root), "trace", "--chain", "ethereum", "--from", hop]
    assert main([*args, "--backward", "--policy", "poison", "--max-hops", "3", "--json"]) == 0
    sources = {t["source"] for t in json.loads(capsys.readouterr().out)["transfers"]}
    assert heist["victims"][0]["address"] in sources
