"""Row checks written as SQL, so both engines validate exactly alike.

A check is a field name, a SQL predicate that is true when the field is *bad*, and the message a
user reads. :func:`first_failure` folds a list of checks into two CASE expressions that name the
first failing field of a row and why, or NULL for a good row.
"""

from __future__ import annotations

from dataclasses import dataclass

UINT = "'^[0-9]+$'"


@dataclass(frozen=True, slots=True)
class Check:
    field: str
    bad_when: str
    message: str


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def first_failure(checks: list[Check], fast_ok: str | None = None) -> tuple[str, str]:
    """SQL for (field, reason) of the first failing check, both NULL when all pass.

    ``fast_ok``, when given, is a cheap predicate that implies every check passes (typically
    one regular expression over the row's fields joined by commas); rows it accepts skip the
    checks one by one, rows it does not are examined in full.
    """
    if not checks:
        return "CAST(NULL AS VARCHAR)", "CAST(NULL AS VARCHAR)"
    skip = f"WHEN {fast_ok} THEN NULL " if fast_ok else ""
    field = " ".join(f"WHEN {c.bad_when} THEN {_lit(c.field)}" for c in checks)
    reason = " ".join(f"WHEN {c.bad_when} THEN {_lit(c.message)}" for c in checks)
    return f"CASE {skip}{field} END", f"CASE {skip}{reason} END"


def row_matches(columns: list[str], pattern: str) -> str:
    """A fast-path predicate: the row's fields, comma-joined, match ``pattern`` in one pass."""
    return f"coalesce(regexp_matches(concat_ws(',', {', '.join(columns)}), '{pattern}'), false)"


HEX40 = "0x[0-9a-fA-F]{40}"
HEX64 = "0x[0-9a-fA-F]{64}"


def required(column: str, label: str | None = None) -> Check:
    return Check(label or column, f"{column} IS NULL", "missing value")


def unsigned_int(column: str, label: str | None = None) -> Check:
    """Block numbers, indexes and timestamps: at most 18 digits, nothing else.

    A regular expression, not a cast: casts accept ``1e2``, ``0x3`` or ``1_600``, and engines
    differ on which.
    """
    return Check(
        label or column,
        f"{column} IS NULL OR NOT regexp_matches({column}, '^[0-9]{{1,18}}$')",
        "missing or not a non-negative integer",
    )


def amount(column: str, label: str | None = None) -> list[Check]:
    """Money: a non-negative integer in base units; floats are refused, never rounded."""
    name = label or column
    return [
        Check(name, f"{column} IS NULL", "missing amount"),
        Check(name, f"regexp_matches({column}, '^-')", "negative amount"),
        Check(
            name,
            f"regexp_matches({column}, '^[0-9]*[.eE]')",
            "amount is not an integer (amounts are integers in base units)",
        ),
        Check(name, f"NOT regexp_matches({column}, {UINT})", "amount is not an integer"),
    ]


def hex_hash(column: str, label: str | None = None, *, prefixed: bool) -> Check:
    pattern = "'^0x[0-9a-f]{64}$'" if prefixed else "'^[0-9a-f]{64}$'"
    shape = "0x + 64 hex digits" if prefixed else "64 hex digits"
    return Check(
        label or column,
        f"{column} IS NULL OR NOT regexp_matches(lower({column}), {pattern})",
        f"not a transaction hash ({shape})",
    )


def decimal_amount(column: str) -> str:
    """The stored DECIMAL(38,0) of a validated amount text; NULL when it needs > 38 digits."""
    return (
        f"CASE WHEN length(ltrim({column}, '0')) <= 38 THEN TRY_CAST({column} AS DECIMAL(38,0)) END"
    )


def overflow_text(column: str) -> str:
    """The exact text of an amount too wide for DECIMAL(38,0), kept instead of rounding."""
    return f"CASE WHEN length(ltrim({column}, '0')) > 38 THEN ltrim({column}, '0') END"
