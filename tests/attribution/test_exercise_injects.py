"""An exercise's injects imported as a list: kinds, categories, time cut-off, bad input."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from counterflow.attribution.formats import detect_format, parse_list
from counterflow.errors import ConfigError, InputError

THIEF = "0x3bfc9ad529517a1aa4b1362dc4ba8c8ec15da875"
HOP = "0xdf6594e427eb52309e202b9b646f574553beb368"
VICTIM = "0x2aa08db4a9bd2d7c5aaf1bb319a60c59cf1c4cc0"
BRIDGED = "bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6"


def write_injects(folder: Path, indicators_of_partner: list[dict[str, str]]) -> Path:
    def inject(n: int, kind: str, time: str, who: str, indicators: list[dict[str, str]]) -> dict:
        return {
            "id": f"bybit-2025/{n}",
            "heist": "bybit-2025",
            "time": time,
            "kind": kind,
            "from": who,
            "indicators": indicators,
        }

    document = {
        "format": "counterflow-injects/1",
        "injects": [
            inject(1, "victim-report", "2026-01-06T00:30:00Z", "victim",
                   [{"chain": "ethereum", "address": VICTIM}]),
            inject(2, "partner-share", "2026-01-06T06:00:00Z", "partner FIU",
                   indicators_of_partner),
            inject(3, "bridge-alert", "2026-01-08T00:00:00Z", "bridge operator",
                   [{"chain": "bitcoin", "address": BRIDGED}]),
            inject(4, "designation", "2026-01-11T00:00:00Z", "sanctions authority",
                   [{"chain": "ethereum", "address": THIEF.upper().replace("0X", "0x")}]),
        ],
    }  # fmt: skip
    path = folder / "injects.json"
    path.write_text(json.dumps(document))
    return path


def test_injects_become_sanctioned_and_stolen_funds_tags(tmp_path: Path) -> None:
    path = write_injects(tmp_path, [{"chain": "ethereum", "address": HOP}])
    assert detect_format([path]) == "exercise-injects"
    parsed = parse_list("exercise-injects", [path])
    found = {(a.chain, a.address): a for a in parsed.addresses}
    assert set(found) == {("ethereum", THIEF), ("ethereum", HOP), ("bitcoin", BRIDGED)}
    assert found[("ethereum", THIEF)].category == "sanctioned"
    assert found[("ethereum", HOP)].category == "stolen_funds"
    assert found[("ethereum", HOP)].entry == "bybit-2025/2"
    assert parsed.published == date(2026, 1, 11)  # the last inject taken


def test_until_keeps_only_what_had_arrived(tmp_path: Path) -> None:
    path = write_injects(tmp_path, [{"chain": "ethereum", "address": HOP}])
    early = parse_list("exercise-injects", [path], until=datetime(2026, 1, 7, tzinfo=UTC))
    assert [a.address for a in early.addresses] == [HOP]
    assert early.published == date(2026, 1, 6)
    victims = parse_list("exercise-injects", [path], kinds=["victim-report"])
    assert [(a.address, a.category) for a in victims.addresses] == [(VICTIM, "victim")]


def test_bad_indicators_are_reported_and_bad_files_refused(tmp_path: Path) -> None:
    path = write_injects(
        tmp_path,
        [{"chain": "ethereum", "address": "0x1234"}, {"address": HOP}],
    )
    parsed = parse_list("exercise-injects", [path])
    assert len(parsed.rejects) == 2
    assert "injects[1].indicators[0]" in parsed.rejects[0].where
    assert "0x1234" in parsed.rejects[0].reason
    with pytest.raises(ConfigError, match="unknown inject kind"):
        parse_list("exercise-injects", [path], kinds=["rumour"])
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "counterflow-injects/1", "injects": [')
    with pytest.raises(InputError, match=r"broken\.json, line 1: not valid JSON"):
        parse_list("exercise-injects", [broken])
