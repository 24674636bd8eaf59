"""Turning what a resident typed into a meter value, strictly.

Python's own number parsing is lenient in ways a meter is not: it reads "nan", "inf", "1e5",
"1_000", and digits of other scripts. This parser accepts only ASCII digits, an optional decimal
comma or point, thousands groups separated by (non-breaking, thin) spaces, leading zeros, and a unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

SPACES = " \u00a0\u2009\u202f\u2007"
# The usual spellings of each unit a meter counts in, in both languages, lower case.
UNIT_SPELLINGS = {
    "m3": ("м3", "м³", "m3", "m³", "m^3", "куб", "куб.м", "куб. м", "кубів", "кубометрів", "cu m", "cubic m"),
    "gcal": ("гкал", "gcal", "гкал.", "gcal."),
    "kwh": ("квт", "квт·год", "квтгод", "квт-год", "квт*год", "квт.год", "квт год", "квт/год", "kwh", "kw·h",
            "kw h", "kw-h", "kw*h", "kw", "кв"),
}
_FAMILY = {spelling: family for family, spellings in UNIT_SPELLINGS.items() for spelling in spellings}
_UNIT = re.compile(
    r"[\s\u00a0\u2009\u202f\u2007]*(" + "|".join(re.escape(u) for u in sorted(_FAMILY, key=len, reverse=True))
    + r")\.?$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"^([0-9]{1,3}(?:[ \u00a0\u2009\u202f\u2007][0-9]{3})+|[0-9]+)(?:[.,]([0-9]+))?$")


class ParseProblem(StrEnum):
    EMPTY = "empty"
    NEGATIVE = "negative"
    NOT_A_NUMBER = "not_a_number"
    TOO_MANY_DECIMALS = "too_many_decimals"
    TOO_MANY_DIGITS = "too_many_digits"
    WRONG_UNIT = "wrong_unit"


def unit_family(unit: str) -> str | None:
    """The family ("m3", "gcal", "kwh") of a unit as a supplier file spells it ("м³", "Гкал", "кВт·год")."""
    return _FAMILY.get(unit.strip().casefold())


@dataclass(frozen=True)
class ParseError:
    problem: ParseProblem


def parse_reading(text: str, *, digits: int, decimals: int, unit: str = "") -> Decimal | ParseError:
    """The value typed, or what is wrong with it.

    ``digits`` is how many whole-number digits the meter's dial has (leading zeros don't count
    against it), ``decimals`` how many it shows after the point. A unit typed after the value must
    be the meter's ``unit`` (any usual spelling of it): "1525 кВт" is no reading of a Gcal meter.
    """
    body = text.strip(SPACES + "\t\r\n")
    if not body:
        return ParseError(ParseProblem.EMPTY)
    typed_unit = _UNIT.search(body)
    if typed_unit:
        expected = unit_family(unit)
        if expected is not None and _FAMILY[typed_unit.group(1).casefold()] != expected:
            return ParseError(ParseProblem.WRONG_UNIT)
        body = body[:typed_unit.start()].strip(SPACES)
    if body.startswith(("-", "−", "–")) and _NUMBER.match(body[1:].strip(SPACES)):
        return ParseError(ParseProblem.NEGATIVE)
    match = _NUMBER.match(body)
    if not match:
        return ParseError(ParseProblem.NOT_A_NUMBER)
    whole = re.sub(f"[{SPACES}]", "", match.group(1))
    fraction = match.group(2) or ""
    if len(fraction) > decimals:
        return ParseError(ParseProblem.TOO_MANY_DECIMALS)
    if len(whole.lstrip("0")) > digits:
        return ParseError(ParseProblem.TOO_MANY_DIGITS)
    return Decimal(f"{whole}.{fraction}" if fraction else whole)


def parse_amount(text: str) -> Decimal | None:
    """A payment amount in UAH as a resident types it ("1 234,56", "1234.56 грн"), or None."""
    body = re.sub(r"(грн\.?|uah|₴)$", "", text.strip(SPACES).lower()).strip(SPACES)
    match = _NUMBER.match(body)
    if not match or len(match.group(2) or "") > 2:
        return None
    whole = re.sub(f"[{SPACES}]", "", match.group(1))
    return Decimal(f"{whole}.{match.group(2) or '0'}")
