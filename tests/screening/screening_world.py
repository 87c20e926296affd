"""A small ether world with every case screening must tell apart (tests/screening).

Holders (named; ``addr(name)`` gives each an address) and transfers, in time order::

    L (sanctioned, OFAC entry 1001, DPRK3) -> D 50, D -> H 50 (H: exchange hot wallet; D a
    deposit address), L -> F 10 (a fresh address), L -> H 7, H -> U 40 (a withdrawal);
    X -> M 100 (M: mixer pool), M -> W 99, W -> Y 99; B (bridge) -> R 30; X -> C 5;
    S (stolen funds, FBI list) -> K 20, X -> K 20 (K holds 40, half of it stolen), K -> J 20,
    J -> N 20, N -> P 20; A (listed 2025-01-01, delisted 2025-06-01) -> G 10;
    Z (partner-a's amber tag) -> Q 10.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from screening_stores import account_store, import_list, listed

from counterflow.attribution.records import ListEntry

ROWS = [
    ("L", "D", 50), ("D", "H", 50), ("L", "F", 10), ("L", "H", 7), ("H", "U", 40),
    ("X", "M", 100), ("M", "W", 99), ("W", "Y", 99), ("B", "R", 30), ("X", "C", 5),
    ("S", "K", 20), ("X", "K", 20), ("K", "J", 20), ("J", "N", 20), ("N", "P", 20),
    ("A", "G", 10), ("Z", "Q", 10),
]  # fmt: skip
LISTED = date(2025, 1, 1)
DELISTED = date(2025, 6, 1)


@dataclass
class World:
    store: Path


def build_world(root: Path) -> World:
    store = account_store(root, ROWS)
    import_list(
        store,
        "services",
        [
            listed("H", "exchange", "Eastgate Exchange hot wallet"),
            listed("M", "mixing_service", "Tumbler pool"),
            listed("B", "bridge", "Rainbow Bridge"),
        ],
        date(2024, 1, 1),
    )
    ofac = [listed("L", "sanctioned", "LAZARUS GROUP", entry="1001", programs=("DPRK3",))]
    lazarus = ListEntry("1001", "LAZARUS GROUP", "entity", ("DPRK3",), ("APT38",), ("KP",))
    import_list(store, "ofac-sdn", ofac, LISTED, entries=[lazarus])
    fbi = [listed("S", "stolen_funds", "TraderTraitor", entry="I-022625-PSA")]
    import_list(store, "fbi-psa", fbi, LISTED)
    old = [listed("A", "sanctioned", "Old Designee", entry="2002", programs=("CYBER2",))]
    import_list(store, "old-list", old, LISTED)
    import_list(store, "old-list", [listed("V", "sanctioned", "Other", entry="2003")], DELISTED)
    private = [listed("Z", "stolen_funds", "Partner intel", entry="case-7")]
    import_list(store, "partner-a-intel", private, LISTED, tlp="amber", owner="partner-a")
    return World(store)
