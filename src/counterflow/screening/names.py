"""Name screening: counterparties' names against the names and aliases of listed parties.

A name screen that fires on every ``Kim`` buries the one true hit under hundreds; one that
wants an exact spelling misses ``KIM Jong-un`` written ``Kim Jong Un``. What makes the
difference is what is compared:

- **normalised text**: Unicode compatibility form, accents stripped, case folded, punctuation
  (hyphens, dots, apostrophes, commas) turned into spaces, honorifics and titles (``Mr``,
  ``General``, ``Sheikh`` …) and legal-form words (``Co``, ``Ltd``, ``LLC`` …) dropped;
- **token order ignored**: tokens are sorted, so ``Kim Jong Un`` and ``Jong Un Kim`` (or a
  surname written first, as lists do) are the same text; and, compared as well, the words run
  together in their own order, so ``APT 38`` meets ``APT38`` and ``Jong-un`` meets ``Jongun``;
- **whole-name similarity**, not containment: the score is the normalised Indel similarity
  of the two sorted token strings (rapidfuzz ``ratio``), so a one-word query does not match
  every name containing that word, while a spelling variant (``Jong-un``/``Jong Un``, a
  transliteration letter) keeps a high score;
- **one threshold**, measured: ``THRESHOLD`` was chosen on a labelled sample built from the
  lists' own aliases (benchmarks/screen_accuracy.py, results/screen_names.json).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process

from counterflow.attribution.tagstore import StoredEntry

#: Smallest score (0–100) reported as a match; see the module docstring and docs/screening.md.
THRESHOLD = 90.0
#: Smallest score of the run-together comparison (``APT 38`` / ``APT38``).
COMPACT_THRESHOLD = 95.0
#: Normalised queries shorter than this match nothing: too little text to tell anyone apart.
MIN_LENGTH = 4
_DROPPED = frozenset(
    {
        # honorifics and titles
        "mr", "mrs", "ms", "miss", "mme", "dr", "prof", "sir", "madam", "lord", "lady",
        "sheikh", "shaikh", "shaykh", "haji", "hajji", "al-haj", "mullah", "maulana",
        "general", "gen", "colonel", "col", "lieutenant", "lt", "captain", "capt", "major",
        "maj", "admiral", "adm", "marshal", "commander", "comrade", "brigadier", "sergeant",
        # legal forms
        "co", "ltd", "limited", "llc", "inc", "incorporated", "corp", "corporation", "company",
        "plc", "jsc", "ojsc", "cjsc", "pjsc", "gmbh", "sa", "ag", "bv", "pte", "pvt", "srl",
        "fze", "fzco", "the",
    }
)  # fmt: skip
_SEPARATORS = re.compile(r"[^\w]+|_")


def _tokens(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return [t for t in _SEPARATORS.split(stripped.casefold()) if t and t not in _DROPPED]


def normalize_name(text: str) -> str:
    """The comparable form of a name: see the module docstring."""
    return " ".join(sorted(_tokens(text)))


def compact_name(text: str) -> str:
    """The name's words in their own order, run together: ``APT 38`` and ``APT38`` agree."""
    return "".join(_tokens(text))


@dataclass(frozen=True, slots=True)
class NameMatch:
    """One listed party a name resembles, through which of its names, and how closely."""

    score: float
    matched: str  # the list's name or alias that scored best, as the list writes it
    alias: bool
    name: str  # the party's primary name
    entry: str
    kind: str
    source: str
    version: str
    programs: tuple[str, ...]
    countries: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 2),
            "matched": self.matched,
            "alias": self.alias,
            "name": self.name,
            "entry": self.entry,
            "kind": self.kind,
            "source": self.source,
            "version": self.version,
            "programs": list(self.programs),
            "countries": list(self.countries),
        }


@dataclass(frozen=True, slots=True)
class NameMatches:
    """The matches of one screened name, best first (empty: nothing at or above the threshold)."""

    query: str
    normalized: str
    threshold: float
    matches: tuple[NameMatch, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "normalized": self.normalized,
            "threshold": self.threshold,
            "matches": [m.to_json() for m in self.matches],
        }


class NameIndex:
    """Every name and alias of a set of listed parties, normalised once."""

    def __init__(self, entries: Sequence[StoredEntry], threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self._entries = list(entries)
        self._texts: list[str] = []
        self._compact: list[str] = []
        self._owners: list[tuple[int, str, bool]] = []  # entry index, name as written, alias
        for i, entry in enumerate(self._entries):
            seen: set[str] = set()
            for written, alias in [(entry.name, False)] + [(a, True) for a in entry.aliases]:
                text = normalize_name(written)
                if not text or text in seen:
                    continue
                seen.add(text)
                self._texts.append(text)
                self._compact.append(compact_name(written))
                self._owners.append((i, written, alias))

    def __len__(self) -> int:
        return len(self._texts)

    def search(
        self,
        query: str,
        limit: int = 5,
        threshold: float | None = None,
        exclude: tuple[int, str] | None = None,
    ) -> NameMatches:
        """The ``limit`` best parties at or above the threshold, one match per party.

        ``exclude`` leaves one name of one party (its position in the entries given, and the
        name as written) out of the comparison: how the accuracy benchmark asks whether a
        party is found through its *other* names.
        """
        cutoff = self.threshold if threshold is None else threshold
        normalized = normalize_name(query)
        if len(normalized.replace(" ", "")) < MIN_LENGTH or not self._texts:
            return NameMatches(query, normalized, cutoff, ())
        wanted = max(limit * 4, limit + 8)
        found = process.extract(
            normalized, self._texts, scorer=fuzz.ratio, score_cutoff=cutoff, limit=wanted
        )
        # run together, only near-identical texts count: spacing is all it is there to forgive
        found += process.extract(
            compact_name(query),
            self._compact,
            scorer=fuzz.ratio,
            score_cutoff=max(cutoff, COMPACT_THRESHOLD),
            limit=wanted,
        )
        best: dict[int, tuple[float, str, bool]] = {}
        for _, score, position in found:
            i, written, alias = self._owners[position]
            if exclude is not None and (i, written) == exclude:
                continue
            current = best.get(i)
            if current is None or score > current[0]:
                best[i] = (float(score), written, alias)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], self._entries[item[0]].entry))
        matches = []
        for i, (score, written, alias) in ranked[:limit]:
            e = self._entries[i]
            matches.append(
                NameMatch(
                    score=score,
                    matched=written,
                    alias=alias,
                    name=e.name,
                    entry=e.entry,
                    kind=e.kind,
                    source=e.source,
                    version=e.version,
                    programs=e.programs,
                    countries=e.countries,
                )
            )
        return NameMatches(query, normalized, cutoff, tuple(matches))
