"""Reading a supplier's billing file — payments, charges and balances — and checking all of it first.

The file is UTF-8 CSV with the header ``supplier,account,date,amount,kind``. Like the register, it is taken
whole or not at all: every problem of every line is listed with its line number.

A row's natural key is (supplier, account, date, kind, amount, occurrence), where ``occurrence`` counts
identical rows within the file (1, 2, …): two payments of the same amount on the same day are two
payments, and importing the same file again finds every key stored already and adds nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from core.periods import Period
from core.domain import SupplierSpec, normalize_account_number
from core.money import KOPIYKA
from core.register import RegisterError

COLUMNS = ("supplier", "account", "date", "amount", "kind")
MAX_CELL = 64  # characters: every field is short; a longer one is a broken export, not data
MAX_WHOLE_DIGITS = 9  # hryvnias below a billion: more is a misplaced column, not a household's bill
# "1234.56", "-12.5", "1234,56" (a decimal comma, the field quoted in CSV); no thousands separators
_AMOUNT = re.compile(r"^(-?)([0-9]+)(?:[.,]([0-9]+))?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BillingKind(StrEnum):
    PAYMENT = "payment"  # money the supplier received
    CHARGE = "charge"  # billed for a period
    BALANCE = "balance"  # what is owed as of the date: positive owed, negative overpaid, 0 nothing owed


@dataclass(frozen=True)
class BillingEntry:
    """One row of a supplier's billing file for an account (its number as normalised)."""

    supplier: str
    account: str
    on: date
    kind: BillingKind
    amount: Decimal
    occurrence: int = 1  # the n-th row of the file identical to this one

    @property
    def key(self) -> tuple[str, str, date, str, Decimal, int]:
        """What makes a row the same row when a file is imported again."""
        return self.supplier, self.account, self.on, self.kind.value, self.amount, self.occurrence


@dataclass(frozen=True)
class Balance:
    """What the supplier says is owed on an account as of a day: above zero owed, below zero overpaid."""

    amount: Decimal
    on: date


class PaymentsFileError(RegisterError):
    """The billing file was refused; ``problems`` holds one line per problem, naming the file's line."""


def paid_after(balance: Balance, entries: list[BillingEntry]) -> list[BillingEntry]:
    """The payments the supplier received after the day of its balance: the balance does not count them yet."""
    return [e for e in entries if e.kind is BillingKind.PAYMENT and e.on > balance.on]


def last_twelve_months(today: date) -> date:
    """The first day of "the last 12 months": whole months, this one and the 11 before it, so that a month's
    charge and the payment of it are never cut apart at the window's edge."""
    return Period.of(today).shifted(-11).day(1)


def parse_payments(raw: bytes, suppliers: Mapping[str, SupplierSpec], name: str = "payments", *,
                   today: date | None = None) -> list[BillingEntry]:
    """Every row of the file as an entry, or PaymentsFileError listing every problem found.

    ``today`` is the city's date: a row dated after it is refused (None leaves dates unchecked).
    """
    text = _text(raw, name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = _header([cell.strip() for cell in next(reader)], name)
    except csv.Error as exc:
        raise PaymentsFileError([f"{name}:1: unreadable CSV header ({exc})"]) from None
    found: list[tuple[int, str]] = []
    entries: list[BillingEntry] = []
    occurrences: dict[tuple[str, str, date, BillingKind, Decimal], int] = {}
    balances: dict[tuple[str, str, date], int] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a cell beyond the csv module's own limit, a stray quote at the end
            found.append((reader.line_num, f"unreadable CSV ({exc}); nothing after it was read"))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            found.append((line, f"{len(row)} field(s), the header has {len(header)}"))
            continue
        values = {column: cell.strip() for column, cell in zip(header, row)}
        problems, entry = _check_row(values, suppliers, today)
        found += [(line, problem) for problem in problems]
        if entry is None:
            continue
        if entry.kind is BillingKind.BALANCE:
            where = (entry.supplier, entry.account, entry.on)
            if where in balances:
                found.append((line, f"a second balance of account {entry.account} on {entry.on.isoformat()} "
                                    f"(line {balances[where]}); a day has one balance"))
                continue
            balances[where] = line
        same = (entry.supplier, entry.account, entry.on, entry.kind, entry.amount)
        occurrences[same] = occurrences.get(same, 0) + 1
        entries.append(BillingEntry(*same, occurrence=occurrences[same]))
    if found:
        raise PaymentsFileError([f"{name}:{line}: {problem}" for line, problem in sorted(found, key=lambda p: p[0])])
    return entries


def _text(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PaymentsFileError([f"{name}: UTF-16 text; save the file as UTF-8 CSV"])
    try:
        text = raw.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte order mark: read past it
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise PaymentsFileError([f"{name}:{line}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV"]) \
            from None
    if not text.strip():
        raise PaymentsFileError([f"{name}: the file is empty; its first line is the header {','.join(COLUMNS)}"])
    return text


def _header(header: list[str], name: str) -> list[str]:
    problems = []
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if missing:
        problems.append(f"{name}:1: missing column(s): {', '.join(missing)}; the header is {','.join(COLUMNS)}")
    if unknown:
        problems.append(f"{name}:1: unknown column(s): {', '.join(repr(c) for c in unknown)}")
    if repeated:
        problems.append(f"{name}:1: column(s) given more than once: {', '.join(repeated)}")
    if problems:
        raise PaymentsFileError(problems)
    return header


def _check_row(values: dict[str, str], suppliers: Mapping[str, SupplierSpec],
               today: date | None) -> tuple[list[str], BillingEntry | None]:
    """Every problem of one row, and the row as an entry when it has none."""
    long = [c for c in COLUMNS if len(values[c]) > MAX_CELL]
    problems = [f"{c} is {len(values[c])} characters long (at most {MAX_CELL})" for c in long]
    for column in long:
        values[column] = ""  # said once: not again as a bad value
    spec = suppliers.get(values["supplier"])
    if spec is None and "supplier" not in long:
        problems.append(f"unknown supplier {values['supplier']!r}; known: {', '.join(suppliers)}")
    number = normalize_account_number(values["account"])
    if spec is not None and "account" not in long and not spec.account_number_ok(number):
        problems.append(f"account {values['account']!r} does not match the {spec.id} format "
                        f"(e.g. {spec.account_example})")
    on = _date(values["date"], today, problems) if "date" not in long else None
    kind = next((k for k in BillingKind if k.value == values["kind"]), None)
    if kind is None and "kind" not in long:
        problems.append(f"kind {values['kind']!r} is not one of {', '.join(k.value for k in BillingKind)}")
    amount = _amount(values["amount"], kind, problems) if "amount" not in long else None
    if problems or spec is None or on is None or kind is None or amount is None:
        return problems, None
    return problems, BillingEntry(spec.id, number, on, kind, amount)


def _date(text: str, today: date | None, problems: list[str]) -> date | None:
    try:
        day = date.fromisoformat(text) if _DATE.match(text) else None
    except ValueError:
        day = None
    if day is None:
        problems.append(f"date {text!r} is not a date YYYY-MM-DD")
    elif today is not None and day > today:
        problems.append(f"date {text!r} is in the future (today is {today.isoformat()})")
        return None
    return day


def _amount(text: str, kind: BillingKind | None, problems: list[str]) -> Decimal | None:
    match = _AMOUNT.match(text)
    if match is None or len(match.group(3) or "") > 2 or len(match.group(2).lstrip("0")) > MAX_WHOLE_DIGITS:
        problems.append(f"amount {text!r} is not an amount like 1234.56 (up to {MAX_WHOLE_DIGITS} digits, "
                        "at most 2 decimals after '.', no thousands separators)")
        return None
    sign, whole, cents = match.groups()
    amount = Decimal(f"{sign}{whole}.{cents or '0'}").quantize(KOPIYKA)
    if kind in (BillingKind.PAYMENT, BillingKind.CHARGE) and amount <= 0:
        problems.append(f"amount {text!r} of a {kind.value} must be above zero")
        return None
    return amount
