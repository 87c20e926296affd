"""The bulk checks hash and checksum texts a group of lanes at a time: they must agree with the
registry codecs on every text whatever its place in a group (the first, the last, a group left
short at the end of a chunk), accept every valid text of the forms they cover, and leave every
wrong one to the codec, whose message names the fault."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from counterflow.chains.base58 import b58check_encode, b58encode
from counterflow.chains.bech32 import Encoding, bech32_encode, convert_bits, encode_segwit
from counterflow.chains.digests import KECCAK_LANES, SHA256_LANES
from counterflow.chains.evm_address import to_checksum_address
from counterflow.chains.registry import normalize_address
from counterflow.errors import InvalidAddressError
from counterflow.screening.addresses import normalize_batch
from counterflow.screening.codecs import bulk_canonical


def codec(text: str, chain: str) -> str | None:
    try:
        return normalize_address(chain, text)
    except InvalidAddressError:
        return None


def _flip_case(text: str, rng: np.random.Generator) -> str:
    """One letter of the body in the other case (an EIP-55 or bech32 case fault)."""
    letters = [i for i in range(2, len(text)) if text[i].isalpha()]
    i = letters[int(rng.integers(len(letters)))] if letters else 2
    return text[:i] + text[i].swapcase() + text[i + 1 :]


def _replace(text: str, position: int, alphabet: str, rng: np.random.Generator) -> str:
    choices = [c for c in alphabet if c != text[position]]
    return text[:position] + choices[int(rng.integers(len(choices)))] + text[position + 1 :]


def _segwit(version: int, program: bytes, encoding: Encoding) -> str:
    """A segwit text as written, whether or not its version allows it."""
    return bech32_encode("bc", [version, *convert_bits(program, 8, 5, pad=True)], encoding)


def _padded(program: bytes, padding: int) -> str:
    """A v0 text of a 32-byte program whose 4 padding bits are ``padding``, checksum right."""
    values = [0, *convert_bits(program, 8, 5, pad=True)]
    values[-1] |= padding
    return bech32_encode("bc", values, "bech32")


def _texts(seed: int, count: int) -> tuple[list[str], list[str]]:
    """``count`` texts of each kind, valid and broken: ``(texts, their chains)``."""
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    chains: list[str] = []
    b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    b32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    for _ in range(count):
        body = rng.bytes(20)
        evm = "0x" + body.hex()
        checksummed = to_checksum_address(evm)
        texts += [
            evm,
            evm.upper().replace("0X", "0x"),
            checksummed,
            _flip_case(checksummed, rng),
            _replace(evm, int(rng.integers(2, 42)), "0123456789abcdefg", rng),
        ]
        chains += ["ethereum"] * 5
        # leading zero bytes become leading '1's, which the decoder must count
        zeros = int(rng.integers(0, 3)) if rng.random() < 0.3 else 0
        p2pkh = b58check_encode(b"\x00" + bytes(zeros) + rng.bytes(20 - zeros))
        p2sh = b58check_encode(b"\x05" + rng.bytes(20))
        program = rng.bytes(32)
        texts += [
            p2pkh,
            p2sh,
            _replace(p2pkh, int(rng.integers(1, len(p2pkh))), b58, rng),
            "1" + p2pkh,  # a leading '1' more than zero bytes
            p2pkh[1:] if p2pkh.startswith("1") else "1" + p2sh,
            b58check_encode(b"\x6f" + rng.bytes(20)),  # testnet version byte
            b58encode(rng.bytes(25) + b"\xff"),  # more than 25 bytes
            encode_segwit("bc", 0, rng.bytes(20)),
            encode_segwit("bc", 0, rng.bytes(32)),
            encode_segwit("bc", 1, program),
            encode_segwit("bc", 0, rng.bytes(20)).upper(),
            encode_segwit("bc", 2, rng.bytes(16)),  # valid, but left to the codec
            _segwit(1, program, "bech32"),  # v1 with v0's checksum constant
            _replace(encode_segwit("bc", 1, program), int(rng.integers(3, 62)), b32, rng),
            _flip_case(encode_segwit("bc", 0, rng.bytes(20)), rng),
            _segwit(0, rng.bytes(24), "bech32"),  # a program length v0 does not allow
            _padded(rng.bytes(32), int(rng.integers(1, 16))),  # padding bits not zero
            "z" * 35,  # more than 25 bytes in as many digits as 25 bytes may take
        ]
        chains += ["bitcoin"] * 18
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], [chains[i] for i in order]


def _common(text: str) -> bool:
    """Forms the bulk checks cover (anything else they may leave to the codec)."""
    return not text.lower().startswith("bc1z")  # witness version 2


@pytest.mark.parametrize(
    "count",
    [1, KECCAK_LANES - 1, KECCAK_LANES + 1, SHA256_LANES - 1, SHA256_LANES + 1, 300],
)
def test_bulk_checks_agree_with_the_codecs_in_lanes(count: int) -> None:
    texts, _ = _texts(count, count)
    for chain in ("ethereum", "bitcoin"):
        done, values = bulk_canonical(chain, pa.array(texts, pa.string()))
        canonical = values.to_pylist()
        for i, text in enumerate(texts):
            expected = codec(text, chain)
            if done[i]:
                assert canonical[i] == expected, text
            else:
                assert expected is None or not _common(text), text


def test_a_batch_of_several_chunks() -> None:
    # more than one chunk of rows (4096), so chunks run in parallel and end with short groups
    texts, chains = _texts(7, 900)
    batch = normalize_batch(texts, chains)
    expected = [codec(t, c) for t, c in zip(texts, chains, strict=True)]
    assert batch.addresses.to_pylist() == expected
    assert [i for i, _ in batch.errors] == [i for i, e in enumerate(expected) if e is None]


def test_wrong_checksums_are_reported_by_the_codec() -> None:
    valid = to_checksum_address("0x" + "ab" * 20)
    texts = [
        valid,
        valid[:5] + valid[5].swapcase() + valid[6:],
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyU",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
    ]
    batch = normalize_batch(texts * SHA256_LANES)  # full groups of lanes, and more
    assert batch.addresses.to_pylist()[:4] == [valid.lower(), None, None, None]
    messages = dict(batch.errors)
    assert len(messages) == 3 * SHA256_LANES
    assert "EIP-55 checksum mismatch" in messages[1]
    assert "Base58Check checksum mismatch" in messages[2]
    assert "bech32 checksum mismatch" in messages[3]
