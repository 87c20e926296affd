"""``counterflow partners …`` and ``counterflow keys …`` on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from counterflow.cli import main
from counterflow.service import Keyring, ServiceState


def run(
    capsys: pytest.CaptureFixture[str], data: Path, url: str, *args: str
) -> tuple[int, Any, str]:
    code = main(["--data-dir", str(data), *args, "--database-url", url, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else None, captured.err


def test_partners_and_keys_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "data"
    code, partner, _ = run(capsys, data, database_url, "partners", "add", "upbit")
    assert code == 0 and partner["name"] == "upbit" and partner["active"]
    code, created, _ = run(capsys, data, database_url, "keys", "create", "--partner", "upbit")
    assert code == 0 and created["key"].startswith(f"cf_{created['prefix']}_")
    assert not created["operator"]
    code, admin, _ = run(
        capsys, data, database_url, "keys", "create", "--partner", "upbit", "--operator"
    )
    assert code == 0 and admin["operator"]

    code, listed, _ = run(capsys, data, database_url, "keys", "list")
    assert [k["id"] for k in listed] == [created["id"], admin["id"]]
    assert all("key" not in k for k in listed)
    assert created["key"].split("_", 2)[2] not in json.dumps(listed)
    code, partners, _ = run(capsys, data, database_url, "partners", "list")
    assert partners == [{**partner, "keys": 2}]

    state = ServiceState(data, database_url)
    assert Keyring(state).check(created["key"]).principal is not None
    code, revoked, _ = run(capsys, data, database_url, "keys", "revoke", str(created["id"]))
    assert code == 0 and revoked["revoked"] is not None
    assert Keyring(state).check(created["key"]).principal is None
    state.close()

    code, suspended, _ = run(capsys, data, database_url, "partners", "suspend", "upbit")
    assert code == 0 and not suspended["active"]
    code, resumed, _ = run(capsys, data, database_url, "partners", "resume", "upbit")
    assert code == 0 and resumed["active"]


def test_mistakes_exit_non_zero_with_a_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "data"
    code, _, err = run(capsys, data, database_url, "keys", "create", "--partner", "nobody")
    assert code == 3 and "no partner 'nobody'" in err
    code, _, err = run(capsys, data, database_url, "keys", "revoke", "41")
    assert code == 3 and "no API key with id 41" in err
    code, _, err = run(capsys, data, database_url, "partners", "add", "bad name")
    assert code == 3 and "partner name 'bad name'" in err


def test_the_human_output_shows_the_key_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "partners", "add", "bithumb"]) == 0
    assert (data / "service.sqlite").is_file()  # the default database
    assert main(["--data-dir", str(data), "keys", "create", "--partner", "bithumb"]) == 0
    out = capsys.readouterr().out
    key = next(word for word in out.split() if word.startswith("cf_"))
    assert "cannot be shown again" in out
    assert main(["--data-dir", str(data), "keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert key not in listing and key.split("_")[1] in listing
