"""Addresses as screening takes them: chain from the form, bulk checks that agree with the
registry codecs on valid and broken texts alike, and address files with line numbers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterflow.chains.base58 import b58check_encode
from counterflow.chains.bech32 import encode_segwit
from counterflow.chains.evm_address import to_checksum_address
from counterflow.chains.registry import normalize_address
from counterflow.errors import InputError, InvalidAddressError
from counterflow.screening.addresses import canonical, infer_chain, normalize_batch
from counterflow.screening.codecs import bulk_canonical, rewritten
from counterflow.screening.files import read_address_file


def codec(text: str, chain: str | None = None) -> str | None:
    try:
        return normalize_address(chain or infer_chain(text), text)
    except (InvalidAddressError, InputError):
        return None


@pytest.mark.parametrize(
    ("text", "chain"),
    [
        ("0x" + "ab" * 20, "ethereum"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "bitcoin"),
        ("1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "bitcoin"),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "bitcoin"),
        ("TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL", "tron"),
        ("ltc1qg82pjcjrsgfyqml6gkgzy2h8d8qnwvd5rmzq8z", "litecoin"),
        ("bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", "bitcoin-cash"),
    ],
)
def test_chain_from_the_form(text: str, chain: str) -> None:
    assert infer_chain(text) == chain


def test_forms_that_say_nothing_are_refused() -> None:
    for text in ("qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", "hello", ""):
        with pytest.raises(InputError, match="cannot tell the chain"):
            infer_chain(text)
    with pytest.raises(InvalidAddressError, match="0xabc"):
        canonical("0xabc")


def _samples(seed: int) -> list[str]:
    raw = hashlib.sha256(str(seed).encode()).digest()
    evm = "0x" + raw.hex()[:40]
    return [
        evm,
        evm.upper().replace("0X", "0x"),
        to_checksum_address(evm),
        b58check_encode(b"\x00" + raw[:20]),
        b58check_encode(b"\x05" + raw[:20]),
        encode_segwit("bc", 0, raw[:20]),
        encode_segwit("bc", 0, raw),
        encode_segwit("bc", 1, raw),
        encode_segwit("bc", 0, raw[:20]).upper(),
    ]


def _broken(text: str, position: int, replacement: str) -> str:
    i = position % len(text)
    return text[:i] + replacement + text[i + 1 :]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**9),
    position=st.integers(0, 100),
    replacement=st.sampled_from(list("0aA1lIOqQzZ9xX")),
)
def test_bulk_checks_agree_with_the_codecs(seed: int, position: int, replacement: str) -> None:
    valid = _samples(seed)
    broken = [_broken(t, position, replacement) for t in valid]
    texts = valid + broken + [t[:-1] for t in valid] + [t.swapcase() for t in valid]
    batch = normalize_batch(texts)
    assert batch.addresses.to_pylist() == [codec(t) for t in texts]
    assert {i for i, _ in batch.errors} == {i for i, t in enumerate(texts) if codec(t) is None}
    # the bulk path alone never accepts what the codec refuses
    for chain in ("ethereum", "bitcoin"):
        done, values = bulk_canonical(chain, pa.array(texts, pa.string()))
        for i, t in enumerate(texts):
            if done[i]:
                assert codec(t, chain) == values[i].as_py()


def test_batch_chains_given_per_item_and_errors_named() -> None:
    texts = ["0x" + "11" * 20, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "0x12", "zz"]
    batch = normalize_batch(texts, ["eth", None, "ethereum", "bitcoin"])
    assert batch.chains.to_pylist() == ["ethereum", "bitcoin", "ethereum", "bitcoin"]
    assert batch.addresses.to_pylist()[:2] == texts[:2]
    assert [i for i, _ in batch.errors] == [2, 3]
    assert "'0x12'" in batch.errors[0][1] and "'zz'" in batch.errors[1][1]


def test_address_file_keeps_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("address,chain\n0xab,ethereum\n\n# note\n  bc1qxyz  \n1abc,bitcoin\n")
    read = read_address_file(path)
    assert read.addresses.to_pylist() == ["0xab", "bc1qxyz", "1abc"]
    assert read.chains is not None and read.chains.to_pylist() == ["ethereum", None, "bitcoin"]
    assert read.lines.tolist() == [2, 5, 6] and read.where(1) == f"{path}:5"
    plain = tmp_path / "plain.txt"
    plain.write_text("0xab\n0xcd\n")
    assert read_address_file(plain).chains is None
    bad = tmp_path / "bad.csv"
    bad.write_text("0xab,ethereum,extra\n")
    with pytest.raises(InputError, match=r"bad\.csv:1"):
        read_address_file(bad)
    with pytest.raises(InputError, match="no such address file"):
        read_address_file(tmp_path / "missing.txt")


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_canonical_column_lowercases_and_splices(kind: pa.DataType) -> None:
    column = pa.array(["X", "0xABcd", "bC1Q", "Q", "", "f"], kind).slice(1)
    upper = np.array([True, False, True, True, False])
    out = rewritten(column, upper, np.array([3, 1]), ["XYZ", None])
    assert out.to_pylist() == ["0xabcd", None, "q", "XYZ", "f"]
    assert column.to_pylist() == ["0xABcd", "bC1Q", "Q", "", "f"]  # the input is untouched
    assert rewritten(column, np.zeros(5, np.bool_)).to_pylist() == column.to_pylist()


def _reference_lines(text: str) -> tuple[list[str], list[int]]:
    """What the file format says, line by line in Python: kept first fields, line numbers."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    kept, numbers = [], []
    first_row = True
    for number, line in enumerate(lines, 1):
        field = line.strip(" \t\r")
        if not field or field.startswith("#"):
            continue
        first = field.split(",")[0].strip(" \t\r")
        header = first_row and first.lower() == "address"
        first_row = False
        if header:
            continue
        kept.append(first)
        numbers.append(number)
    return kept, numbers


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text("0123456789abcdefxX", min_size=1, max_size=12),
            st.sampled_from(["", "  ", "# comment", "\r", " 0xab ,eth\r", "address"]),
        ),
        max_size=30,
    ),
    st.booleans(),
)
def test_address_files_read_like_their_line_by_line_definition(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], final_newline: bool
) -> None:
    text = "\n".join(lines) + ("\n" if final_newline and lines else "")
    path = tmp_path_factory.mktemp("files") / "in.txt"
    path.write_text(text)
    read = read_address_file(path)
    kept, numbers = _reference_lines(text)
    assert read.addresses.to_pylist() == kept
    assert read.lines.tolist() == numbers
