"""`counterflow exercise run|score|playbooks`, end to end through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from exercise_scenario import Scenario

from counterflow.cli import main
from counterflow.exercise import PLAYBOOKS, load_ground_truth


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv)
    assert code == 0 and err == "", err
    return json.loads(out)


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def test_run_json_then_ingest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scenario"
    argv = ["exercise", "run", "--seed", "9", "--transfers", "5000", "--days", "9"]
    doc = run_json(capsys, *argv, "--out", str(out), "--playbook", "stake-2023", "--json")
    assert doc["out"] == str(out) and doc["seed"] == 9 and doc["heists"] == ["stake-2023"]
    assert doc["start"] == "2026-01-05T00:00:00Z" and doc["end"] == "2026-01-14T00:00:00Z"
    assert doc["transfers"] == doc["bitcoin"]["transfers"] + doc["ethereum"]["transfers"]
    for chain in ("bitcoin", "ethereum"):
        report = run_json(
            capsys,
            "--data-dir",
            str(tmp_path / "data"),
            "ingest",
            chain,
            str(out / chain),
            "--json",
        )
        assert report["rejected"] == 0 and report["stored"] == doc[chain]["transfers"]


def test_run_human(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s"
    code, text, err = run(
        capsys, "exercise", "run", "--transfers", "3000", "--days", "12", "--out", str(out),
        "--start", "2025-03-01",
    )  # fmt: skip
    assert code == 0 and err == ""
    assert "heists: bybit-2025" in text and "2025-03-01T00:00:00Z" in text
    assert f"counterflow ingest bitcoin {out}/bitcoin" in text


@pytest.mark.parametrize(
    ("argv", "code", "fragment"),
    [
        (["--playbook", "nope"], 2, "no playbook named 'nope'"),
        (["--transfers", "10"], 2, "--transfers must be at least 1000"),
        (["--days", "2"], 2, "raise --days"),
    ],
)
def test_run_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, fragment: str
) -> None:
    got, out, err = run(capsys, "exercise", "run", "--out", str(tmp_path / "x"), *argv)
    assert got == code and out == "" and fragment in err
    assert not (tmp_path / "x").exists()


def test_run_refuses_a_used_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("keep")
    code, out, err = run(capsys, "exercise", "run", "--out", str(tmp_path / "used"))
    assert code == 3 and out == "" and "not an empty folder" in err
    assert (tmp_path / "used" / "notes.txt").read_text() == "keep"


def test_score_json_and_human(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = load_ground_truth(scenario.folder)
    destination = truth.heists[0].destinations[0]
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps(
            {
                "team": "blue",
                "deposits": [{"chain": destination.chain, "address": destination.address}],
                "freeze_requests": [
                    {
                        "chain": destination.chain,
                        "address": destination.address,
                        "time": truth.heists[0].theft_time.replace("T", " "),
                    }
                ],
            }
        )
    )
    doc = run_json(capsys, "exercise", "score", str(scenario.folder), str(answers), "--json")
    assert doc["team"] == "blue"
    assert doc["deposits"]["true_positives"] == 1 and doc["deposits"]["precision"] == 1.0
    assert doc["first_correct_freeze_hours"] == 0.0
    assert 0 < doc["funds_located"] < 1
    code, out, err = run(capsys, "exercise", "score", str(scenario.folder), str(answers))
    assert code == 0 and err == ""
    assert "Exercise score: blue" in out and "first correct freeze" in out and "T+0.0 h" in out


def test_score_bad_input(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"deposits": [{"chain": "bitcoin"}]}')
    code, out, err = run(capsys, "exercise", "score", str(scenario.folder), str(bad))
    assert code == 3 and out == ""
    assert err.strip() == f"error: {bad}: deposits[0].address: missing"
    bad.write_text("{not json")
    code, _, err = run(capsys, "exercise", "score", str(scenario.folder), str(bad))
    assert code == 3 and "not JSON" in err and "line 1" in err
    code, _, err = run(capsys, "exercise", "score", str(tmp_path), str(bad))
    assert code == 3 and "no ground truth here" in err


def test_playbooks(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "exercise", "playbooks", "--json")
    assert [p["name"] for p in doc] == list(PLAYBOOKS)
    code, out, _ = run(capsys, "exercise", "playbooks")
    assert code == 0
    for name in PLAYBOOKS:
        assert name in out
