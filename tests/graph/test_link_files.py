"""A bridge ledger is parsed once per content, and a changed file is never answered from the
cache: the hash an evidence bundle records is always the hash of the bytes on disk."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from counterflow.errors import InputError
from counterflow.graph import links
from counterflow.graph.links import load_links

HEADER = (
    "deposit_chain,deposit_tx,deposit_amount,release_chain,release_tx,release_address,"
    "release_amount,release_time\n"
)
RELEASE = "0x" + "ab" * 20


def _row(amount: int) -> str:
    return (
        f"ethereum,0x{'11' * 32},{amount},ethereum,0x{'22' * 32},{RELEASE},{amount},"
        "2025-02-21T15:00:00Z\n"
    )


def _write(path: Path, amount: int) -> bytes:
    data = (HEADER + _row(amount)).encode()
    path.write_bytes(data)
    return data


@pytest.fixture(autouse=True)
def _no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by a test are seconds old at most: let the identity cache trust them."""
    monkeypatch.setattr(links, "_RACY_NS", 0)
    monkeypatch.setattr(links, "_SEEN", {})
    monkeypatch.setattr(links, "_PARSED", {})


def test_an_unchanged_file_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / "ledger.csv"
    data = _write(ledger, 100)
    first = load_links(ledger)
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    reads: list[Path] = []
    original = Path.read_bytes

    def counted(self: Path) -> bytes:
        reads.append(self)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counted)
    assert load_links(ledger) is first
    assert reads == []


def test_same_size_rewrite_with_the_old_times_is_seen(tmp_path: Path) -> None:
    """Same size, modification time set back: the change time still moves, so the new
    bytes are hashed and parsed."""
    ledger = tmp_path / "ledger.csv"
    _write(ledger, 100)
    before = ledger.stat()
    first = load_links(ledger)
    data = _write(ledger, 200)
    os.utime(ledger, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert ledger.stat().st_size == before.st_size
    second = load_links(ledger)
    assert second.sha256 == hashlib.sha256(data).hexdigest() != first.sha256
    assert second.links[0].release_amount == 200


def test_a_racy_file_is_hashed_every_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file changed within the clock's granularity of being read is not trusted by its
    times: it is read and hashed again on the next load."""
    monkeypatch.setattr(links, "_RACY_NS", 10**18)
    ledger = tmp_path / "ledger.csv"
    _write(ledger, 100)
    load_links(ledger)
    assert str(ledger) not in links._SEEN


def test_several_ledgers_stay_parsed(tmp_path: Path) -> None:
    """Two ledgers used together do not push each other out of the cache."""
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    _write(one, 1)
    _write(two, 2)
    first = [load_links(one), load_links(two)]
    assert [load_links(one), load_links(two)] == first
    assert all(a is b for a, b in zip([load_links(one), load_links(two)], first, strict=True))


def test_a_missing_ledger_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such links file"):
        load_links(tmp_path / "absent.csv")
