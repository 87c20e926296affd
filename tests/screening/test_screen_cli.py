"""``counterflow screen`` end to end: JSON and table output, files with line numbers, invalid
addresses, names, policies and visibility."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from screening_stores import addr
from screening_world import World

from counterflow.cli import main

AT = "2025-03-01T00:00:00Z"


def run(world: World, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(world.store), "screen", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_for_risky_addresses_exits_zero(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(world, capsys, addr("L"), addr("D"), addr("C"), "--at", AT, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["format"] == "counterflow-screening/1"
    risks = [(r["address"], r["risk"]) for r in document["results"]]
    assert risks == [(addr("L"), "severe"), (addr("D"), "high"), (addr("C"), "none")]
    exposure = document["results"][1]["reasons"][0]
    assert exposure["amount"] == "50" and exposure["programs"] == ["DPRK3"]
    assert document["results"][0]["evidence"]["policy"]["name"] == "default"


def test_table_output(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(world, capsys, addr("L"), "--at", AT)
    assert code == 0 and "severe" in out and "ofac-sdn" in out and "DPRK3" in out


def test_file_with_chains_and_an_invalid_line(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "addresses.csv"
    path.write_text(f"address,chain\n{addr('D')},ethereum\n\n0x1234,ethereum\n{addr('W')}\n")
    code, out, err = run(world, capsys, "--file", str(path), "--at", AT, "--json")
    assert code == 3 and out == ""
    assert f"{path}:4" in err and "0x1234" in err and "--skip-invalid" in err
    code, out, _ = run(world, capsys, "--file", str(path), "--at", AT, "--skip-invalid", "--json")
    assert code == 0
    document = json.loads(out)
    assert [r["risk"] for r in document["results"]] == ["high", "medium"]
    assert document["invalid"] == [
        {"where": f"{path}:4", "address": "0x1234", "message": document["invalid"][0]["message"]}
    ]


def test_invalid_argument_is_named(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(world, capsys, "0xnothex", "--json")
    assert code == 3 and "argument 1" in err and "0xnothex" in err
    code, _, err = run(world, capsys, "something")
    assert code == 3 and "cannot tell the chain" in err


def test_names_and_partner_view(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(world, capsys, "--names", "Lazarus Group", "--names", "APT 38", "--json")
    assert code == 0
    names = json.loads(out)["names"]
    assert names[0]["matches"][0]["entry"] == "1001"
    assert names[1]["matches"][0]["name"] == "LAZARUS GROUP"
    code, out, _ = run(world, capsys, addr("Z"), "--at", AT, "--partner", "partner-b", "--json")
    assert json.loads(out)["results"][0]["risk"] == "none"


def test_policy_file(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps({"name": "strict-mixers", "mixer": {"level": "high", "max_hops": 2}})
    )
    code, out, _ = run(world, capsys, addr("W"), "--at", AT, "--policy", str(policy), "--json")
    result = json.loads(out)["results"][0]
    assert code == 0 and result["risk"] == "high"
    assert result["evidence"]["policy"]["name"] == "strict-mixers"
    policy.write_text(json.dumps({"mixer": {"level": "extreme", "max_hops": 2}}))
    code, _, err = run(world, capsys, addr("W"), "--policy", str(policy))
    assert code == 2 and "extreme" in err


def test_nothing_to_screen(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(world, capsys)
    assert code != 0 and "give addresses" in err
