"""Traffic Light Protocol 2.0 labels and who may see what (docs/attribution.md, "TLP").

Every tag carries a TLP label and an owner: the partner that supplied it, or ``None`` for the
operator of this installation (what ``counterflow lists import`` stores without ``--owner``).
The rule, applied on every read path (CLI, Python API, REST API):

- the operator (a :class:`Viewer` with no partner) sees everything;
- a partner always sees its own tags, whatever their TLP;
- a partner sees another owner's tags only when they are ``clear`` or ``green``: ``amber``,
  ``amber+strict`` and ``red`` stay with their owner.

A tag a viewer may not see does not exist for that viewer: it is not returned, not counted and
does not raise a screening result's risk, since a risk level alone can leak a private tag.
"""

from __future__ import annotations

from dataclasses import dataclass

from counterflow.errors import InputError

CLEAR = "clear"
GREEN = "green"
AMBER = "amber"
AMBER_STRICT = "amber+strict"
RED = "red"
#: From least to most restricted.
LEVELS = (CLEAR, GREEN, AMBER, AMBER_STRICT, RED)
#: Labels any partner may see, whoever owns the tag.
SHARED = frozenset({CLEAR, GREEN})


def parse_tlp(text: str) -> str:
    """The canonical TLP 2.0 label (``TLP:AMBER`` → ``amber``; 1.0's ``white`` → ``clear``)."""
    value = text.strip().lower().removeprefix("tlp:")
    if value == "white":  # TLP 1.0's name for CLEAR
        value = CLEAR
    if value not in LEVELS:
        raise InputError(f"unknown TLP label {text!r}; use one of {', '.join(LEVELS)}")
    return value


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is reading: ``partner=None`` is the operator, who sees every tag."""

    partner: str | None = None

    def can_see(self, owner: str | None, tlp: str) -> bool:
        if self.partner is None:
            return True
        if owner == self.partner:
            return True
        return tlp in SHARED


OPERATOR = Viewer()
