"""Reading a supplier's account register (CSV) and checking all of it before anything is stored.

A city's register has a million rows, so the file is read as a stream: ``register_rows`` checks each
row alone, and ``check_accounts`` checks what only an account's rows together show, over the rows sorted
by account (storage sorts them in a staging table; ``parse_register`` sorts a small file in memory).
Memory then holds one account's rows at a time, whatever the size of the file.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from core.domain import ServiceSpec, SupplierSpec, normalize_account_number

COLUMNS = ("supplier", "account", "address", "apartment", "last_payment", "meter", "service", "zone",
           "last_reading", "last_reading_date")
OPTIONAL_COLUMNS = ("verification_due",)  # meter verification date, where the supplier gives it
# The longest value each column may hold, the same on every database (PostgreSQL's VARCHAR enforces its
# length, SQLite's does not): checked before anything is written.
MAX_LENGTH = {"supplier": 20, "account": 40, "address": 300, "apartment": 20, "last_payment": 20, "meter": 40,
              "service": 20, "zone": 8, "last_reading": 20, "last_reading_date": 10, "verification_due": 10}
MAX_METERS_PER_ACCOUNT = 500  # more rows than any household has: a broken file, and one account's memory
MAX_PROBLEMS = 1000  # listed one a line; beyond them the file is refused with a count
_PLAIN_NUMBER = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # NUL and the like; a tab or line break inside quotes is text


@dataclass(frozen=True)
class RegisterMeter:
    serial: str
    service: str
    zone: str
    last_reading: Decimal | None
    last_reading_date: date | None
    verification_due: date | None


@dataclass(frozen=True)
class RegisterAccount:
    supplier: str
    number: str
    address: str
    apartment: str
    last_payment: Decimal | None
    meters: tuple[RegisterMeter, ...]


class RegisterRow(NamedTuple):
    """One row of the register that could be read: its account's fields and its meter."""

    line: int
    supplier: str
    number: str
    address: str
    apartment: str
    last_payment: Decimal | None
    meter: RegisterMeter


class RegisterError(ValueError):
    """The file was refused; ``problems`` holds one line per problem, naming the file's line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Problems:
    """What is wrong with a file, by line: the first MAX_PROBLEMS kept in line order, the rest counted."""

    name: str
    limit: int = MAX_PROBLEMS
    count: int = 0
    _kept: list[tuple[int, int, str]] = field(default_factory=list)

    def add(self, line: int, problem: str) -> None:
        self.count += 1
        entry = (line, self.count, problem)  # the count keeps one line's problems in the order found
        if len(self._kept) < self.limit:
            bisect.insort(self._kept, entry)
        elif entry < self._kept[-1]:
            bisect.insort(self._kept, entry)
            self._kept.pop()

    def __bool__(self) -> bool:
        return self.count > 0

    def lines(self) -> list[str]:
        listed = [f"{self.name}:{line}: {problem}" for line, _, problem in self._kept]
        if self.count > len(self._kept):
            listed.append(f"{self.name}: … and {self.count - len(self._kept)} more problem(s)")
        return listed

    def error(self) -> RegisterError:
        return RegisterError(self.lines())


def parse_register(raw: bytes, suppliers: Mapping[str, SupplierSpec], name: str = "register", *,
                   today: date | None = None) -> list[RegisterAccount]:
    """Every account of a file held in memory (in the order of their first line), or RegisterError.

    ``today`` is the city's date: a last reading dated after it is refused (None leaves dates unchecked).
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegisterError([f"{name}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV"]) from None
    problems = Problems(name)
    rows = sorted(register_rows(io.StringIO(text, newline=""), suppliers, problems, today=today),
                  key=lambda r: (r.supplier, r.number, r.line))
    accounts = list(check_accounts(rows, suppliers, problems))
    if problems:
        raise problems.error()
    first_line = {(r.supplier, r.number): r.line for r in reversed(rows)}
    return sorted(accounts, key=lambda a: first_line[(a.supplier, a.number)])


def register_rows(lines: Iterable[str], suppliers: Mapping[str, SupplierSpec], problems: Problems, *,
                  today: date | None = None) -> Iterator[RegisterRow]:
    """Each row of the file checked alone, as it is read; what is wrong goes to ``problems``.

    ``lines`` is text (a file opened with ``encoding="utf-8-sig", newline=""``). A row with a problem is
    still yielded when its account and meter could be read, so that checks across rows see it.
    """
    reader = csv.reader(lines)
    try:
        header = [h.strip() for h in next(reader, [])]
    except (csv.Error, UnicodeDecodeError) as exc:
        problems.add(1, _unreadable(exc))
        return
    if not _header_ok(header, problems):
        return
    while True:
        try:
            cells = next(reader, None)
        except UnicodeDecodeError:
            problems.add(reader.line_num + 1, "not UTF-8 text; save the file as UTF-8 CSV")
            return
        except csv.Error as exc:
            problems.add(reader.line_num, _unreadable(exc))
            continue
        if cells is None:
            return
        line = reader.line_num
        if len(cells) > len(header):
            problems.add(line, "more fields than columns")
            continue
        values = {k: v.strip() for k, v in zip(header, cells)}
        if not any(values.values()):
            continue
        for column in header[len(cells):]:
            values[column] = ""
        row_problems, row = _check_row(line, values, suppliers, today)
        for problem in row_problems:
            problems.add(line, problem)
        if row is not None:
            yield row


def _unreadable(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text; save the file as UTF-8 CSV"
    if "field larger than field limit" in str(exc):
        return f"a field is longer than {csv.field_size_limit()} characters: not a register row"
    return f"not a CSV row ({exc})"


def _header_ok(header: list[str], problems: Problems) -> bool:
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS and c not in OPTIONAL_COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if missing:
        problems.add(1, f"missing column(s): {', '.join(missing)}; the header is {','.join(COLUMNS)}")
    if unknown:
        problems.add(1, f"unknown column(s): {', '.join(unknown)}")
    if repeated:
        problems.add(1, f"column(s) named more than once: {', '.join(repeated)}")
    return not (missing or unknown or repeated)


def check_accounts(rows: Iterable[RegisterRow], suppliers: Mapping[str, SupplierSpec],
                   problems: Problems) -> Iterator[RegisterAccount]:
    """The accounts of rows sorted by (supplier, number, line), checking what their rows together show:
    one set of account fields, no meter twice, the zones of a meter, one verification date per meter."""
    check = AccountCheck(suppliers, problems)
    for row in rows:
        if (account := check.feed(row)) is not None:
            yield account
    if (account := check.finish()) is not None:
        yield account


class AccountCheck:
    """check_accounts a row at a time, for rows that arrive a page at a time; holds one account's rows."""

    def __init__(self, suppliers: Mapping[str, SupplierSpec], problems: Problems) -> None:
        self._suppliers = suppliers
        self._problems = problems
        self._group: list[RegisterRow] = []

    def feed(self, row: RegisterRow) -> RegisterAccount | None:
        """The account before ``row``, once ``row`` starts another."""
        group = self._group
        done = None
        if group and (row.supplier, row.number) != (group[0].supplier, group[0].number):
            done = self.finish()
        if len(self._group) == MAX_METERS_PER_ACCOUNT:
            self._problems.add(row.line, f"account {row.number} has more than {MAX_METERS_PER_ACCOUNT} meter rows")
        else:
            self._group.append(row)
        return done

    def finish(self) -> RegisterAccount | None:
        group, self._group = self._group, []
        return _account(group, self._suppliers, self._problems) if group else None


def _account(rows: list[RegisterRow], suppliers: Mapping[str, SupplierSpec], problems: Problems) -> RegisterAccount:
    first = rows[0]
    fields = ("address", "apartment", "last_payment")
    meters: list[RegisterMeter] = []
    seen: dict[tuple[str, str], int] = {}
    rows_of_meter: dict[str, list[tuple[int, RegisterMeter]]] = {}
    for row in rows:
        rows_of_meter.setdefault(row.meter.serial, []).append((row.line, row.meter))
        differing = [f for f in fields if getattr(row, f) != getattr(first, f)]
        if differing:
            problems.add(row.line, f"account {row.number} conflicts with line {first.line} "
                                   f"({', '.join(differing)} differ)")
            continue
        key = (row.meter.serial, row.meter.zone)
        if key in seen:
            problems.add(row.line, f"meter {row.meter.serial} of account {row.number} repeats line {seen[key]}")
            continue
        seen[key] = row.line
        meters.append(row.meter)
    for serial, meter_rows in rows_of_meter.items():
        _meter_problems(first.number, serial, meter_rows, suppliers[first.supplier], problems)
    return RegisterAccount(first.supplier, first.number, first.address, first.apartment, first.last_payment,
                           tuple(meters))


def _check_row(line: int, values: dict[str, str], suppliers: Mapping[str, SupplierSpec],
               today: date | None) -> tuple[list[str], RegisterRow | None]:
    """Every problem of one row, and the row's account and meter when they could be read at all."""
    hostile = _hostile_cells(values)
    if hostile:  # nothing else of such a row is worth reading
        return hostile, None
    problems, spec, service = _check_place(values, suppliers)
    if not values["meter"]:
        problems.append("empty meter serial number")
    payment = _decimal(values["last_payment"], 2)
    if payment == "bad":
        problems.append(f"last_payment {values['last_payment']!r} is not an amount like 1234.56")
    reading = _decimal(values["last_reading"], service.decimals) if service else None
    if service and (reading == "bad" or (isinstance(reading, Decimal) and reading >= service.maximum)):
        problems.append(f"last_reading {values['last_reading']!r} is not a {service.id} reading "
                        f"(up to {service.digits} digits and {service.decimals} decimals, point as separator)")
    reading_date = _date(values["last_reading_date"])
    if reading_date == "bad":
        problems.append(f"last_reading_date {values['last_reading_date']!r} is not a date YYYY-MM-DD")
    if bool(values["last_reading"]) != bool(values["last_reading_date"]):
        problems.append("last_reading and last_reading_date go together: give both or neither")
    due = _date(values.get("verification_due", ""))
    if due == "bad":
        problems.append(f"verification_due {values['verification_due']!r} is not a date YYYY-MM-DD")
    unreadable = bool(problems)
    problems += _unusable(values, payment, reading_date, today)
    if unreadable or spec is None or service is None:
        return problems, None
    # the ignore: a "bad" reading or date is a problem above, but mypy cannot narrow a str out of a union by ==
    meter = RegisterMeter(values["meter"], service.id, values["zone"], reading, reading_date, due)  # type: ignore[arg-type]
    return problems, RegisterRow(line, spec.id, normalize_account_number(values["account"]), values["address"],
                                 values["apartment"], payment if isinstance(payment, Decimal) else None, meter)


def _hostile_cells(values: dict[str, str]) -> list[str]:
    """Cells no register holds: control characters (a NUL byte), or longer than the column can keep."""
    problems = []
    for column, value in values.items():
        if _CONTROL.search(value):
            problems.append(f"{column} holds a control character (such as a NUL byte)")
        elif len(value) > MAX_LENGTH[column]:
            problems.append(f"{column} is {len(value)} characters long; at most {MAX_LENGTH[column]}")
    return problems


def _check_place(
    values: dict[str, str], suppliers: Mapping[str, SupplierSpec]
) -> tuple[list[str], SupplierSpec | None, ServiceSpec | None]:
    """The supplier, the account's format, the service and the zone of a row."""
    spec = suppliers.get(values["supplier"])
    if spec is None:
        return [f"unknown supplier {values['supplier']!r}; known: {', '.join(suppliers)}"], None, None
    problems = []
    if not spec.account_number_ok(normalize_account_number(values["account"])):
        problems.append(f"account {values['account']!r} does not match the {spec.id} format "
                        f"(e.g. {spec.account_example})")
    service = spec.service(values["service"])
    if service is None:
        problems.append(f"unknown service {values['service']!r} for {spec.id}; "
                        f"known: {', '.join(s.id for s in spec.services)}")
    elif values["zone"] and values["zone"] not in service.zones:
        problems.append(f"zone {values['zone']!r} is not one of {service.id}'s zones "
                        f"({', '.join(service.zones) or 'none'})")
    return problems, spec, service


def _unusable(values: dict[str, str], payment: object, reading_date: object, today: date | None) -> list[str]:
    """What a well-formed row may still lack for a resident to use it."""
    problems = []
    if not values["address"]:
        problems.append("empty address")
    if payment is None and not values["apartment"]:
        problems.append("neither last_payment nor apartment: a resident could not prove the account is theirs")
    if today is not None and isinstance(reading_date, date) and reading_date > today:
        problems.append(f"last_reading_date {values['last_reading_date']!r} is in the future "
                        f"(today is {today.isoformat()})")
    return problems


def _meter_problems(number: str, serial: str, rows: list[tuple[int, RegisterMeter]], supplier: SupplierSpec,
                    problems: Problems) -> None:
    """What only the rows of one meter together show: its zones, and one verification date for them."""
    first_line, first = rows[0]
    service = supplier.service(first.service)
    zones = {meter.zone for _, meter in rows}
    if service and zones != {""} and zones != set(service.zones):
        given = ", ".join(repr(z) if z else "none" for z in sorted(zones))
        lines = ", ".join(str(line) for line, _ in rows)
        problems.add(first_line, f"meter {serial} of account {number} has zone(s) {given} (line(s) {lines}); "
                                 f"a two-zone meter needs one row for each of {', '.join(service.zones)}")
    for line, meter in rows[1:]:
        if meter.verification_due != first.verification_due:
            problems.add(line, f"verification_due {_iso(meter.verification_due)} of meter {serial} differs "
                               f"from line {first_line} ({_iso(first.verification_due)}); "
                               "the zones of one meter share one verification date")


def _iso(day: date | None) -> str:
    return day.isoformat() if day else "empty"


def _decimal(text: str, places: int) -> Decimal | None | str:
    if not text:
        return None
    if not _PLAIN_NUMBER.match(text) or len(text.partition(".")[2]) > places:
        return "bad"
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return "bad"


def _date(text: str) -> date | None | str:
    if not text:
        return None
    try:
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else "bad"
    except ValueError:
        return "bad"
