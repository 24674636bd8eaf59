"""Money as a text parameter: an amount in hryvnias that each language writes its own way."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

KOPIYKA = Decimal("0.01")


def to_kopiyky(amount: Decimal) -> Decimal:
    """An amount rounded to the kopiyka, halves up (away from zero): where money's arithmetic ends."""
    return amount.quantize(KOPIYKA, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Money:
    """An amount in UAH. Pass it as a parameter of a text (``t("key", amount=Money(x))``) and it renders
    as "1 234,56 грн" in Ukrainian and "UAH 1,234.56" in English (bot.dialogs.render.format_money).

    Round to kopiyky yourself, once, where the arithmetic ends; rendering shows two decimals and only
    rounds (half up) an amount that still has more.
    """

    amount: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money takes a Decimal, not {type(self.amount).__name__}")

    def rounded(self) -> Decimal:
        return to_kopiyky(self.amount)
