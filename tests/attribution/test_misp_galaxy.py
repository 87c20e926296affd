"""MISP threat-actor galaxies (real clusters): names and synonyms of the DPRK groups."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from counterflow.attribution.misp_galaxy import parse_misp_galaxy
from counterflow.errors import InputError

SUBSET = "intel/threat-actor_DPRK_subset.json"
FULL = "intel/threat-actor_full.json.gz"


def _raw(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    document: dict[str, Any] = json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)
    return document


def test_lazarus_synonyms(shared_data: Path) -> None:
    raw = _raw(shared_data / SUBSET)
    (cluster,) = [v for v in raw["values"] if v["value"] == "Lazarus Group"]
    parsed = parse_misp_galaxy([shared_data / SUBSET])
    (lazarus,) = [e for e in parsed.entries if e.name == "Lazarus Group"]
    assert lazarus.entry == cluster["uuid"]
    assert lazarus.kind == "threat_actor"
    assert set(lazarus.aliases) == set(cluster["meta"]["synonyms"]) - {"Lazarus Group"}
    assert {"Hidden Cobra", "APT38", "Diamond Sleet", "BeagleBoyz"} <= set(lazarus.aliases)
    assert lazarus.countries == ("KP",)
    assert lazarus.remarks == cluster["description"]


def test_every_cluster_is_an_entry(shared_data: Path) -> None:
    for name in (SUBSET, FULL):
        raw = _raw(shared_data / name)
        parsed = parse_misp_galaxy([shared_data / name])
        assert [e.entry for e in parsed.entries] == [v["uuid"] for v in raw["values"]]
        assert parsed.source == "misp-galaxy-threat-actor"
        assert parsed.addresses == () and parsed.published is None
    subset = parse_misp_galaxy([shared_data / SUBSET])
    assert {"TraderTraitor", "Kimsuky", "Lazarus Group"} <= {e.name for e in subset.entries}


def test_galaxies_of_several_types_need_a_source(shared_data: Path) -> None:
    paths = [shared_data / SUBSET, shared_data / "intel/mitre-intrusion-set_DPRK_subset.json"]
    with pytest.raises(InputError, match="several types"):
        parse_misp_galaxy(paths)
    assert len(parse_misp_galaxy(paths, source="dprk-actors").entries) == 37 + 9


def test_a_cluster_without_uuid_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "galaxy.json"
    path.write_text('{"type": "threat-actor", "values": [{"value": "X"}]}')
    with pytest.raises(InputError, match=r"galaxy\.json, values\[0\]: a cluster needs 'uuid'"):
        parse_misp_galaxy([path])
