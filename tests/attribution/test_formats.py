"""The list format registry: parsing by name, options checked, formats told by content."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from counterflow.attribution.formats import FORMATS, detect_format, get_format, parse_list
from counterflow.errors import ConfigError, InputError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
JSON_2025 = "sanctions/ofac-crypto-addresses-2025-08-22.json"

REAL = {
    "sanctions/ofac-sdn-2022-01.csv.gz": "ofac-csv",
    "sanctions/ofac-addresses-by-ticker-2024-09": "ofac-tickers",
    "sanctions/ofac-addresses-by-ticker-2024-09/sanctioned_addresses_ETH.json": "ofac-tickers",
    "sanctions/ofac-crypto-addresses-2025-08-22.json": "ofac-json",
    "sanctions/un-consolidated-2025-11-18.xml.gz": "un-xml",
    "hacks/fbi-psa-2025-02-26-bybit-eth.txt": "address-list",
    "labels/etherscan-labels-2023-10.tar.gz": "etherscan-labels",
    "intel/threat-actor_full.json.gz": "misp-galaxy",
    "intel/mitre-intrusion-set_DPRK_subset.json": "misp-galaxy",
}


def test_the_format_names() -> None:
    assert set(FORMATS) == {
        "ofac-csv", "ofac-xml", "ofac-advanced-xml", "ofac-tickers", "ofac-json", "un-xml",
        "address-list", "label-csv", "etherscan-labels", "tagpack", "misp-galaxy",
        "exercise-injects",
    }  # fmt: skip
    assert get_format("address-list").options() == {
        "chain": True, "category": True, "label": True, "source": True, "confidence": False,
        "entry": False, "programs": False, "published": False,
    }  # fmt: skip


@pytest.mark.parametrize(("relative", "fmt"), sorted(REAL.items()))
def test_real_files_are_recognised(shared_data: Path, relative: str, fmt: str) -> None:
    assert detect_format([shared_data / relative]) == fmt


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("sdn.xml", "ofac-xml"),
        ("sdn_advanced.xml", "ofac-advanced-xml"),
        ("sdn_advanced_un_namespace.xml", "ofac-advanced-xml"),
    ],
)
def test_renamed_and_compressed_files_are_recognised_by_content(
    tmp_path: Path, name: str, fmt: str
) -> None:
    renamed = tmp_path / "download.bin"
    renamed.write_bytes(gzip.compress((FIXTURES / name).read_bytes()))
    assert detect_format([renamed]) == fmt
    assert detect_format([FIXTURES / name]) == fmt


def test_csv_and_yaml_are_told_apart_by_header(tmp_path: Path) -> None:
    labels = tmp_path / "a.csv"
    labels.write_text("chain,address,category,label\n")
    etherscan = tmp_path / "b.csv"
    etherscan.write_text(",Address,Name Tag,Balance,Txn Count\n")
    alt = tmp_path / "c.csv"
    alt.write_text('27307,37701,"aka","GUARDIANS OF PEACE",-0- \n')
    pack = tmp_path / "pack.yml"
    pack.write_text("title: t\ntags:\n  - address: x\n")
    assert [detect_format([p]) for p in (labels, etherscan, alt, pack)] == [
        "label-csv", "etherscan-labels", "ofac-csv", "tagpack",
    ]  # fmt: skip


def test_nothing_matching_lists_the_known_formats(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Lazarus moved funds, then bridged them.\n")
    with pytest.raises(
        InputError, match=r"notes\.txt: cannot tell the list format; known formats: ofac-csv, "
    ):
        detect_format([path])


def test_files_of_different_formats_are_refused(shared_data: Path) -> None:
    with pytest.raises(InputError, match="different list formats"):
        detect_format(
            [FIXTURES / "sdn.xml", shared_data / "hacks/fbi-psa-2025-02-26-bybit-eth.txt"]
        )


def test_parse_list_dispatches_and_checks_options(tmp_path: Path, shared_data: Path) -> None:
    fbi = shared_data / "hacks/fbi-psa-2025-02-26-bybit-eth.txt"
    parsed = parse_list(
        "address-list", [fbi], chain="ethereum", category="stolen_funds",
        label="TraderTraitor (Bybit)", source="fbi-bybit",
    )  # fmt: skip
    assert len(parsed.addresses) == 51
    with pytest.raises(
        ConfigError, match="format address-list needs chain, category, label, source"
    ):
        parse_list("address-list", [fbi])
    with pytest.raises(ConfigError, match="has no option chain"):
        parse_list("ofac-xml", [FIXTURES / "sdn.xml"], chain="ethereum")
    # Case hints are context: used by the formats that need them, ignored by the others.
    hints = {"1d6gg9ikehpittcwrjiniuj1jym2hneafj": "1D6gG9iKEhPitTcWRJiniuj1jYM2hNeAfJ"}
    assert parse_list("ofac-xml", [FIXTURES / "sdn.xml"], case_hints=hints).addresses
    restored = parse_list("ofac-json", [shared_data / JSON_2025], case_hints=hints)
    assert "1D6gG9iKEhPitTcWRJiniuj1jYM2hNeAfJ" in {a.address for a in restored.addresses}
    with pytest.raises(ConfigError, match="unknown list format 'ofac'; known formats: ofac-csv"):
        parse_list("ofac", [fbi])
    assert parse_list("ofac-advanced-xml", [FIXTURES / "sdn_advanced.xml"]).source == "ofac-sdn"
    copy = tmp_path / "sdn.xml"
    shutil.copy(FIXTURES / "sdn.xml", copy)
    assert (
        parse_list(detect_format([copy]), [copy]).entries
        == parse_list("ofac-xml", [FIXTURES / "sdn.xml"]).entries
    )
