"""``counterflow lists import|show|diff`` end to end on the real lists in the shared data.

Three renderings of OFAC's SDN list (the January 2022 CSV, the September 2024 per-ticker
extraction, the August 2025 community JSON) are imported as versions of one list, and what the
commands print is checked against figures computed here from the raw files, never copied from
what the program prints. Bad input, a killed import and TLP are checked on copies of that store.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from counterflow.attribution.tagstore import TagStore
from counterflow.attribution.tlp import Viewer
from counterflow.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"

TORNADO_ROUTER = "0xd90e2f925da726b50c4ed8d0fb90ad053324f31b"
LAZARUS_RONIN = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"
#: 2024 per-ticker tickers whose 0x addresses are on Ethereum itself (ARB, BSC, ETC are not).
ETHEREUM_TICKERS = ("ETH", "USDT", "USDC")
FBI_OPTIONS = (
    "--chain",
    "ethereum",
    "--category",
    "stolen_funds",
    "--label",
    "TraderTraitor (Bybit)",
    "--source",
    "fbi-bybit",
)


# -- running the CLI --------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        """The one JSON document a successful ``--json`` command prints, and nothing else."""
        assert self.code == 0, self.err
        assert self.err == ""
        return json.loads(self.out)


def cli(*argv: str | Path) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return Outcome(code, out.getvalue(), err.getvalue())


def lists(store: Path, *argv: str | Path) -> Outcome:
    return cli("--data-dir", store, "lists", *argv)


def assert_refused(outcome: Outcome, *fragments: str) -> None:
    """An error: non-zero exit, nothing on stdout, one line on stderr holding ``fragments``."""
    assert outcome.code != 0
    assert outcome.out == ""
    assert outcome.err.startswith("error: ")
    assert len(outcome.err.strip().splitlines()) == 1, outcome.err
    for fragment in fragments:
        assert fragment in outcome.err


# -- the raw files ----------------------------------------------------------------------------
def sanctions(shared: Path) -> Path:
    return shared / "sanctions"


def sdn_csv(shared: Path) -> Path:
    return sanctions(shared) / "ofac-sdn-2022-01.csv.gz"


def tickers_2024(shared: Path) -> Path:
    return sanctions(shared) / "ofac-addresses-by-ticker-2024-09"


def json_2025(shared: Path) -> Path:
    return sanctions(shared) / "ofac-crypto-addresses-2025-08-22.json"


def fbi_list(shared: Path) -> Path:
    return shared / "hacks" / "fbi-psa-2025-02-26-bybit-eth.txt"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ticker_addresses(shared: Path, ticker: str) -> list[str]:
    text = (tickers_2024(shared) / f"sanctioned_addresses_{ticker}.txt").read_text("utf-8")
    return text.split()


def keyed_2025(shared: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json_2025(shared).read_text("utf-8"))
    return document


def fbi_addresses(path: Path) -> list[tuple[int, str]]:
    """(line number, address) of every address line of an FBI-style list."""
    lines = path.read_text("utf-8").splitlines()
    return [
        (number, line.strip())
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


# -- stores -----------------------------------------------------------------------------------
def tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the hash of its bytes: the store, byte for byte."""
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


@dataclass(frozen=True)
class StoreState:
    generation: str
    versions: list[Any]
    tags: list[Any]
    entries: list[Any]
    files: dict[str, str]


def state(store: Path) -> StoreState:
    tags = TagStore(store)
    return StoreState(tags.generation, tags.versions(), tags.tags(), tags.entries(), tree(store))


def copy_store(store: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(store, target)
    return target


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps human output to the terminal width; make room for whole lines."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("COUNTERFLOW_DATA_DIR", raising=False)


@pytest.fixture(scope="module")
def base_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding OFAC's January 2022 CSV only."""
    store = tmp_path_factory.mktemp("base") / "data"
    outcome = lists(store, "import", sdn_csv(shared_data), "--published", "2022-01-15", "--json")
    assert outcome.code == 0, outcome.err
    return store


@dataclass(frozen=True)
class History:
    store: Path
    imports: list[dict[str, Any]]


@pytest.fixture(scope="module")
def history(
    shared_data: Path, base_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> History:
    """Three OFAC versions, 2022 CSV → 2024 per-ticker folder → 2025 JSON, each through the CLI."""
    store = tmp_path_factory.mktemp("history") / "data"
    steps = [
        (sdn_csv(shared_data), "--published", "2022-01-15"),
        (tickers_2024(shared_data), "--published", "2024-09-27"),
        (json_2025(shared_data),),
    ]
    imports = [lists(store, "import", *step, "--json").json() for step in steps]
    return History(store, imports)


# -- three renderings, one list ---------------------------------------------------------------
@pytest.mark.slow
def test_three_renderings_import_as_versions_of_one_list(
    shared_data: Path, history: History
) -> None:
    first, second, third = history.imports
    for summary in history.imports:
        assert {"added", "removed", "rejected"} <= set(summary)
        assert summary["source"] == "ofac-sdn"
        assert summary["no_change"] is False
        assert summary["rejected"] == len(summary["rejects"])
    # The 2025 file dates itself (metadata.sdnListDate, MM/DD/YYYY); the others were told.
    month, day, year = keyed_2025(shared_data)["metadata"]["sdnListDate"].split("/")
    assert [s["version"] for s in history.imports] == [
        "2022-01-15",
        "2024-09-27",
        f"{year}-{month}-{day}",
    ]
    assert [s["format"] for s in history.imports] == ["ofac-csv", "ofac-tickers", "ofac-json"]
    # The first version of a list adds everything it lists and removes nothing.
    assert first["removed"] == 0 and first["added"] > 0
    # OFAC's own error survives every rendering: a Tron address filed under XBT in 2024.
    assert "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq" in ticker_addresses(shared_data, "XBT")
    assert any(r["value"] == "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq" for r in second["rejects"])
    assert third["removed"] > 0 and third["added"] > 0


@pytest.mark.slow
def test_diff_shows_the_tornado_router_delisted_and_lazarus_still_listed(
    shared_data: Path, history: History
) -> None:
    keyed = keyed_2025(shared_data)["addresses"]
    eth_2024 = {
        a.lower()
        for ticker in ETHEREUM_TICKERS
        for a in ticker_addresses(shared_data, ticker)
        if a.startswith("0x")
    }
    eth_2025 = {
        key
        for key, item in keyed.items()
        if key.startswith("0x")
        and any(e["type"].rsplit(" ", 1)[-1] in ETHEREUM_TICKERS for e in item["entries"])
    }
    # The raw files: the router was listed in 2024 (ETH) and is gone in 2025; Lazarus is in both.
    assert TORNADO_ROUTER in {a.lower() for a in ticker_addresses(shared_data, "ETH")}
    assert TORNADO_ROUTER not in {k.lower() for k in keyed}
    assert LAZARUS_RONIN in eth_2024 and LAZARUS_RONIN in eth_2025
    assert any(e["entity"] == "LAZARUS GROUP" for e in keyed[LAZARUS_RONIN]["entries"])

    diff = lists(history.store, "diff", "ofac-sdn", "--json").json()
    assert (diff["old"], diff["new"]) == ("2024-09-27", history.imports[2]["version"])
    removed = {t["address"]: t for t in diff["removed"] if t["chain"] == "ethereum"}
    added = {t["address"] for t in diff["added"] if t["chain"] == "ethereum"}
    # On Ethereum (hex: no case lost), removed and added are exactly the raw files' difference.
    assert set(removed) == eth_2024 - eth_2025
    assert added == eth_2025 - eth_2024
    router = removed[TORNADO_ROUTER]
    assert router["category"] == "sanctioned"
    assert router["removed_in"] == diff["new"]
    assert router["valid_to"] == f"{diff['new']}T00:00:00Z"
    assert LAZARUS_RONIN not in removed
    assert len(diff["removed"]) == history.imports[2]["removed"]

    # In force now, tied by the 2025 rendering to its SDN entry; delisted: gone now, not in 2024.
    store = TagStore(history.store)
    (lazarus,) = store.lookup("ethereum", [LAZARUS_RONIN])[LAZARUS_RONIN]
    assert (lazarus.source, lazarus.category, lazarus.valid_to) == ("ofac-sdn", "sanctioned", None)
    assert (lazarus.entry, lazarus.label) == ("27307", "LAZARUS GROUP")
    # Not in the January 2022 CSV (designated later): its period starts with the 2024 version.
    with gzip.open(sdn_csv(shared_data), "rt", encoding="utf-8", errors="replace") as fh:
        assert LAZARUS_RONIN not in fh.read().lower()
    assert lazarus.valid_from == datetime(2024, 9, 27, tzinfo=UTC)
    assert store.lookup("ethereum", [TORNADO_ROUTER]) == {}
    in_2024 = store.lookup("ethereum", [TORNADO_ROUTER], at=datetime(2024, 12, 1, tzinfo=UTC))
    assert [t.source for t in in_2024[TORNADO_ROUTER]] == ["ofac-sdn"]


@pytest.mark.slow
def test_show_lists_three_versions_with_the_files_hashes(
    shared_data: Path, history: History
) -> None:
    shown = lists(history.store, "show", "ofac-sdn", "--json").json()
    assert shown["generation"] == TagStore(history.store).generation
    versions = shown["versions"]
    assert [v["version"] for v in versions] == [s["version"] for s in history.imports]
    assert all(v["source"] == "ofac-sdn" and v["owner"] is None for v in versions)
    folder = tickers_2024(shared_data)
    expected = [
        {str(sdn_csv(shared_data).resolve()): sha256(sdn_csv(shared_data))},
        {str(p.resolve()): sha256(p) for p in folder.glob("sanctioned_addresses_*")},
        {str(json_2025(shared_data).resolve()): sha256(json_2025(shared_data))},
    ]
    assert [{f["path"]: f["sha256"] for f in v["files"]} for v in versions] == expected
    for version, summary in zip(versions, history.imports, strict=True):
        assert (version["added"], version["removed"]) == (summary["added"], summary["removed"])
        assert version["rejects"] == summary["rejected"]
    # What is in force is what the versions added and did not delist since.
    in_force = sum(shown["in_force"]["ofac-sdn"].values())
    assert in_force == sum(v["added"] - v["removed"] for v in versions)
    assert in_force == len([t for t in TagStore(history.store).tags() if t.source == "ofac-sdn"])
    # The human rendering says the same.
    human = lists(history.store, "show")
    assert human.code == 0 and human.err == ""
    assert f"ofac-sdn: in force now: sanctioned {in_force:,}" in human.out


# -- idempotence ------------------------------------------------------------------------------
@pytest.mark.slow
def test_importing_the_same_files_again_changes_nothing(
    shared_data: Path, history: History, tmp_path: Path
) -> None:
    store = copy_store(history.store, tmp_path)
    before = state(store)
    again = lists(store, "import", tickers_2024(shared_data), "--published", "2024-09-27")
    assert again.code == 0, again.err
    assert "nothing changed" in " ".join(again.out.split())
    assert "added" not in again.out
    # The same bytes under another path are the same version (hashes, not paths).
    moved = tmp_path / "elsewhere.json"
    shutil.copyfile(json_2025(shared_data), moved)
    summary = lists(store, "import", moved, "--json").json()
    assert summary["no_change"] is True
    assert (summary["added"], summary["removed"]) == (0, 0)
    assert summary["generation"] == before.generation
    assert state(store) == before


# -- bad input --------------------------------------------------------------------------------
def with_doctype(doctype: str, entity_use: str) -> str:
    """The sdn.xml fixture with ``doctype`` after its XML declaration and an entity in use."""
    text = (FIXTURES / "sdn.xml").read_text("utf-8")
    declaration, rest = text.split("\n", 1)
    assert declaration.startswith("<?xml")
    rest = rest.replace("<lastName>LAZARUS GROUP</lastName>", f"<lastName>{entity_use}</lastName>")
    assert entity_use in rest
    return f"{declaration}\n{doctype}\n{rest}"


XXE_DOCTYPE = '<!DOCTYPE sdnList [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
LAUGHS_DOCTYPE = (
    '<!DOCTYPE sdnList [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">\n'
        for n in range(1, 10)
    )
    + "]>"
)


def bad_file(kind: str, shared: Path, folder: Path) -> Path:
    if kind == "xxe":
        path = folder / "sdn.xml"
        path.write_text(with_doctype(XXE_DOCTYPE, "&xxe;"), "utf-8")
    elif kind == "billion-laughs":
        path = folder / "sdn.xml"
        path.write_text(with_doctype(LAUGHS_DOCTYPE, "&lol9;"), "utf-8")
    elif kind == "truncated-gzip":
        path = folder / "sdn.csv.gz"
        raw = sdn_csv(shared).read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
    else:
        assert kind == "malformed-xml"
        path = folder / "sdn.xml"
        text = (FIXTURES / "sdn.xml").read_text("utf-8")
        assert text.count("</sdnEntry>") > 1
        path.write_text(text.replace("</sdnEntry>", "</sdnEntri>", 1), "utf-8")
    return path


def test_the_clean_xml_fixture_imports(base_store: Path, tmp_path: Path) -> None:
    """The control for the XML cases below: without the damage, the same file is taken."""
    store = copy_store(base_store, tmp_path)
    summary = lists(
        store, "import", FIXTURES / "sdn.xml", "--published", "2026-01-15", "--json"
    ).json()
    assert summary["format"] == "ofac-xml" and summary["addresses"] > 0
    assert summary["generation"] != TagStore(base_store).generation


@pytest.mark.parametrize("kind", ["xxe", "billion-laughs", "truncated-gzip", "malformed-xml"])
def test_bad_input_is_refused_naming_the_file_and_leaves_the_store(
    kind: str, shared_data: Path, base_store: Path, tmp_path: Path
) -> None:
    store = copy_store(base_store, tmp_path)
    before = state(store)
    assert before.generation and before.tags
    path = bad_file(kind, shared_data, tmp_path)
    # A date after the store's latest version: were the file read, the import would be taken.
    outcome = lists(store, "import", path, "--published", "2026-01-15")
    assert_refused(outcome, str(path))
    assert outcome.code == 3  # an input error
    if kind in ("xxe", "billion-laughs"):
        assert "DTD" in outcome.err
        assert "root:" not in outcome.err
    if kind == "truncated-gzip":
        assert "truncated" in outcome.err
    if kind == "malformed-xml":
        assert "malformed XML" in outcome.err and "line " in outcome.err
    assert state(store) == before


def broken_checksum_copy(shared: Path, folder: Path) -> tuple[Path, int, str]:
    """The FBI's Bybit list with one letter's case flipped: that line fails EIP-55."""
    source = fbi_list(shared)
    number, address = fbi_addresses(source)[0]
    body = address[2:]
    assert any(c.isupper() for c in body) and any(c.islower() for c in body)  # checksummed
    at = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    broken = address[:at] + address[at].swapcase() + address[at + 1 :]
    path = folder / "bybit-eth.txt"
    path.write_text(source.read_text("utf-8").replace(address, broken), "utf-8")
    return path, number, broken


def test_strict_refuses_a_file_with_a_bad_checksum_and_stores_nothing(
    shared_data: Path, base_store: Path, tmp_path: Path
) -> None:
    store = copy_store(base_store, tmp_path)
    before = state(store)
    path, number, broken = broken_checksum_copy(shared_data, tmp_path)
    rejects = tmp_path / "rejects.jsonl"
    outcome = lists(store, "import", path, *FBI_OPTIONS, "--strict", "--reject-file", rejects)
    assert_refused(outcome, str(path), f"line {number}", broken, "--strict")
    assert outcome.code == 3
    assert state(store) == before
    # What was refused is still written out.
    (reject,) = [json.loads(line) for line in rejects.read_text("utf-8").splitlines()]
    assert (reject["where"], reject["value"]) == (f"{path}, line {number}", broken)


def test_a_reject_file_that_cannot_be_written_stores_nothing(
    shared_data: Path, base_store: Path, tmp_path: Path
) -> None:
    store = copy_store(base_store, tmp_path)
    before = state(store)
    path, _, _ = broken_checksum_copy(shared_data, tmp_path)
    target = tmp_path / "no-such-folder" / "rejects.jsonl"
    outcome = lists(store, "import", path, *FBI_OPTIONS, "--reject-file", target)
    assert_refused(outcome, str(target))
    assert state(store) == before


def test_without_strict_the_good_rows_are_imported_and_the_reject_reported(
    shared_data: Path, base_store: Path, tmp_path: Path
) -> None:
    store = copy_store(base_store, tmp_path)
    path, number, broken = broken_checksum_copy(shared_data, tmp_path)
    rejects = tmp_path / "rejects.jsonl"
    summary = lists(store, "import", path, *FBI_OPTIONS, "--reject-file", rejects, "--json").json()
    good = {a.lower() for n, a in fbi_addresses(path) if n != number}
    assert len(good) == len(fbi_addresses(path)) - 1
    assert (summary["added"], summary["removed"], summary["rejected"]) == (len(good), 0, 1)
    (reject,) = summary["rejects"]
    assert reject["value"] == broken
    assert reject["where"] == f"{path}, line {number}"
    assert "checksum" in reject["reason"].lower()
    written = [json.loads(line) for line in rejects.read_text("utf-8").splitlines()]
    assert written == [reject]
    found = TagStore(store).lookup("ethereum", sorted(good | {broken.lower()}))
    assert set(found) == good
    assert {t.category for hits in found.values() for t in hits} == {"stolen_funds"}
    # The human summary reports the reject too.
    again = copy_store(base_store, tmp_path / "again")
    human = lists(again, "import", path, *FBI_OPTIONS)
    assert human.code == 0, human.err
    assert "1 rejected" in human.out and broken in human.out


# -- kill -9 ----------------------------------------------------------------------------------
#: The CLI in a child process, as an operator runs it.
CHILD_CLI = (sys.executable, "-m", "counterflow.cli")


def start_import(store: Path, path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CHILD_CLI, "--data-dir", str(store), "lists", "import", str(path), "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_while_writing(store: Path, path: Path) -> tuple[int, set[str]]:
    """Start an import and kill -9 it once a new generation appears on disk.

    Returns the child's exit status and the entries it left in ``attribution/``.
    """
    root = store / "attribution"
    known = {p.name for p in root.iterdir()}
    child = start_import(store, path)
    fresh: set[str] = set()
    deadline = time.monotonic() + 60
    try:
        while child.poll() is None and time.monotonic() < deadline:
            fresh = {p.name for p in root.iterdir()} - known
            if fresh:
                os.kill(child.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
    finally:
        if child.poll() is None and not fresh:
            child.kill()
        child.wait(timeout=30)
        assert child.stderr is not None
        child.stderr.close()
    return child.returncode, {p.name for p in root.iterdir()} - known


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_import_leaves_the_previous_generation_and_the_next_run_completes(
    shared_data: Path, base_store: Path, tmp_path: Path
) -> None:
    tarball = shared_data / "labels" / "etherscan-labels-2023-10.tar.gz"
    # The child may finish its few last steps before the signal lands; try again on a fresh copy.
    for attempt in range(3):
        store = copy_store(base_store, tmp_path / str(attempt))
        before = state(store)
        manifest = (store / "attribution" / "manifest.json").read_bytes()
        code, leftovers = kill_while_writing(store, tarball)
        if (
            code == -signal.SIGKILL
            and (store / "attribution" / "manifest.json").read_bytes() == manifest
        ):
            break
    else:
        pytest.fail("the import finished before it could be killed while writing, three times")

    # Killed mid-write: its new generation is on disk, unnamed; the store is as before.
    assert leftovers
    assert TagStore(store).generation == before.generation
    after = state(store)
    assert (after.versions, after.tags, after.entries) == (
        before.versions,
        before.tags,
        before.entries,
    )
    assert {k: v for k, v in after.files.items() if k in before.files} == before.files
    assert all(Path(k).parts[1] in leftovers for k in after.files.keys() - before.files.keys())

    # The next run completes it and clears what the killed one left.
    summary = lists(store, "import", tarball, "--json").json()
    assert summary["no_change"] is False
    assert summary["source"] == "etherscan-labels" and summary["added"] > 0
    assert summary["removed"] == 0
    store_now = TagStore(store)
    assert store_now.generation == summary["generation"] != before.generation
    names = {p.name for p in (store / "attribution").iterdir() if p.is_dir()}
    assert names == {summary["generation"], before.generation}
    labels = [t for t in store_now.tags() if t.source == "etherscan-labels"]
    assert len(labels) == summary["added"]
    assert [t for t in store_now.tags() if t.source == "ofac-sdn"] == [
        t for t in before.tags if t.source == "ofac-sdn"
    ]
    router = {t.category for t in store_now.lookup("ethereum", [TORNADO_ROUTER])[TORNADO_ROUTER]}
    assert {"mixing_service", "sanctioned"} <= router


# -- TLP --------------------------------------------------------------------------------------
def test_an_amber_partner_list_is_seen_by_its_owner_only(
    shared_data: Path, base_store: Path, tmp_path: Path
) -> None:
    store = copy_store(base_store, tmp_path)
    summary = lists(
        store,
        "import",
        fbi_list(shared_data),
        *FBI_OPTIONS,
        "--tlp",
        "amber",
        "--owner",
        "partner-a",
        "--json",
    ).json()
    addresses = sorted({a.lower() for _, a in fbi_addresses(fbi_list(shared_data))})
    assert summary["added"] == len(addresses) and summary["rejected"] == 0
    tags = TagStore(store)
    assert tags.lookup("ethereum", addresses, viewer=Viewer("partner-b")) == {}
    assert not [v for v in tags.versions(Viewer("partner-b")) if v.source == "fbi-bybit"]
    for viewer in (Viewer("partner-a"), Viewer()):
        seen = tags.lookup("ethereum", addresses, viewer=viewer)
        assert sorted(seen) == addresses
        assert {(t.source, t.tlp, t.owner) for hits in seen.values() for t in hits} == {
            ("fbi-bybit", "amber", "partner-a")
        }
    # partner-b is not blind: the operator's clear OFAC tags are there for it.
    ofac = next(t for t in tags.tags() if t.source == "ofac-sdn")
    assert tags.lookup(ofac.chain, [ofac.address], viewer=Viewer("partner-b"))
    shown = lists(store, "show", "fbi-bybit", "--json").json()
    assert [(v["tlp"], v["owner"]) for v in shown["versions"]] == [("amber", "partner-a")]


# -- unknown list -----------------------------------------------------------------------------
def test_diff_of_an_unknown_list_names_the_known_lists(base_store: Path) -> None:
    outcome = lists(base_store, "diff", "no-such-list")
    assert_refused(outcome, "'no-such-list'", "known lists: ofac-sdn")
    assert outcome.code == 3
