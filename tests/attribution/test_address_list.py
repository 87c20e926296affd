"""Plain address lists, with the FBI's Bybit list (2025-02-26) as the real case."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterflow.attribution.address_list import parse_address_list
from counterflow.attribution.records import STOLEN_FUNDS
from counterflow.chains.evm_address import to_checksum_address
from counterflow.errors import ConfigError

FBI = "hacks/fbi-psa-2025-02-26-bybit-eth.txt"
OPTIONS = {
    "chain": "ethereum",
    "category": STOLEN_FUNDS,
    "label": "TraderTraitor (Bybit)",
    "source": "fbi-bybit",
}


def test_the_fbi_bybit_list(shared_data: Path) -> None:
    path = shared_data / FBI
    lines = path.read_text().splitlines()
    published = [line.strip() for line in lines if line.strip().startswith("0x")]
    assert len(published) == 51
    parsed = parse_address_list([path], **OPTIONS)
    assert parsed.rejects == ()
    assert [a.address for a in parsed.addresses] == [a.lower() for a in published]
    assert {(a.chain, a.category, a.label, a.confidence) for a in parsed.addresses} == {
        ("ethereum", STOLEN_FUNDS, "TraderTraitor (Bybit)", 1.0)
    }
    assert parsed.source == "fbi-bybit" and parsed.format == "address-list"


def test_bad_lines_are_rejected_by_line_number(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text(
        "# header\n\n"
        "0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135D  # first\n"
        "0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135d\n"
        "two 0x96244d83dc15d36847c35209bbdc5bdde9bec3d8\n"
    )
    parsed = parse_address_list([path], **OPTIONS)
    assert [a.address for a in parsed.addresses] == ["0x51e9d833ecae4e8d9d8be17300aee6d3398c135d"]
    checksum, two = parsed.rejects
    assert checksum.where == f"{path}, line 4" and "EIP-55 checksum mismatch" in checksum.reason
    assert two.where == f"{path}, line 5" and two.reason == "expected one address per line"


def test_meaning_must_be_given() -> None:
    with pytest.raises(ConfigError, match="needs a source"):
        parse_address_list([Path("x")], **{**OPTIONS, "source": " "})
    with pytest.raises(ConfigError, match="unknown chain 'solana'"):
        parse_address_list([Path("x")], **{**OPTIONS, "chain": "solana"})


@settings(max_examples=50)
@given(
    accounts=st.lists(st.binary(min_size=20, max_size=20), min_size=1, max_size=20),
    data=st.data(),
)
def test_any_spelling_parses_to_the_canonical_addresses(
    accounts: list[bytes], data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    lines = []
    for account in accounts:
        lower = "0x" + account.hex()
        spelling = data.draw(st.sampled_from([lower, to_checksum_address(lower)]))
        comment = data.draw(st.sampled_from(["", "  # note", "\t#"]))
        lines.append(spelling + comment)
        if data.draw(st.booleans()):
            lines.append("")
    path = tmp_path_factory.mktemp("lists") / "list.txt"
    path.write_text("\n".join(lines))
    parsed = parse_address_list([path], **OPTIONS)
    assert parsed.rejects == ()
    assert [a.address for a in parsed.addresses] == list(
        dict.fromkeys("0x" + account.hex() for account in accounts)
    )
