"""What the API tests share: a tag store with public, delisted and partner-private tags, and
the handle on a running app (its client, service state and keys)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date

from fastapi.testclient import TestClient

from counterflow.attribution.records import ListedAddress, ParsedList, SourceFile
from counterflow.attribution.tagstore import TagStore
from counterflow.chains.registry import normalize_address
from counterflow.service import ServiceState
from counterflow.store.datadir import DataDirectory

#: The Ronin bridge exploiter, listed by OFAC under LAZARUS GROUP (DPRK3).
LAZARUS = normalize_address("ethereum", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96")
#: Tornado Cash: listed in 2022, delisted in 2025.
TORNADO = normalize_address("ethereum", "0x8589427373D6D84E98730D7795D8f6f8731FDA16")
#: An address partner A shares as TLP:AMBER (only A and the operator may see it).
PRIVATE = normalize_address("ethereum", "0x" + "ab" * 20)
#: An address partner A shares as TLP:GREEN (every partner may see it).
SHARED = normalize_address("ethereum", "0x" + "cd" * 20)
#: Listed nowhere.
CLEAN = normalize_address("ethereum", "0x" + "12" * 20)


def _listed(address: str, category: str, label: str, entry: str | None = None) -> ListedAddress:
    return ListedAddress(
        "ethereum", address, category, label, 1.0, entry=entry, programs=("DPRK3",)
    )


def _files(name: str) -> tuple[SourceFile, ...]:
    return (SourceFile(f"/srv/lists/{name}", name.encode().hex().ljust(64, "0")[:64]),)


def build_tag_store(directory: DataDirectory) -> TagStore:
    store = TagStore(directory)
    store.import_list(
        ParsedList(
            "ofac-sdn",
            "address-list",
            _files("sdn-2022.csv"),
            published=date(2022, 8, 8),
            addresses=(
                _listed(LAZARUS, "sanctioned", "LAZARUS GROUP", "23131"),
                _listed(TORNADO, "sanctioned", "TORNADO CASH", "35896"),
            ),
        )
    )
    store.import_list(
        ParsedList(
            "ofac-sdn",
            "address-list",
            _files("sdn-2025.csv"),
            published=date(2025, 3, 21),
            addresses=(_listed(LAZARUS, "sanctioned", "LAZARUS GROUP", "23131"),),
        )
    )
    store.import_list(
        ParsedList(
            "a-intel",
            "address-list",
            _files("a-private.csv"),
            published=date(2026, 1, 2),
            addresses=(_listed(PRIVATE, "stolen_funds", "heist wallet (A's case 17)"),),
        ),
        tlp="amber",
        owner="partner-a",
    )
    store.import_list(
        ParsedList(
            "a-shared",
            "address-list",
            _files("a-green.csv"),
            published=date(2026, 1, 2),
            addresses=(_listed(SHARED, "stolen_funds", "heist wallet (shared)"),),
        ),
        tlp="green",
        owner="partner-a",
    )
    return store


@dataclass
class Api:
    client: TestClient
    state: ServiceState
    directory: DataDirectory
    keys: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, int] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


ApiFactory = Callable[..., AbstractContextManager[Api]]
