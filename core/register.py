"""Reading a supplier's account register (CSV) and checking all of it before anything is stored."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from collections.abc import Mapping

from core.domain import ServiceSpec, SupplierSpec, normalize_account_number

COLUMNS = ("supplier", "account", "address", "apartment", "last_payment", "meter", "service", "zone",
           "last_reading", "last_reading_date")
OPTIONAL_COLUMNS = ("verification_due",)  # meter verification date, where the supplier gives it
_PLAIN_NUMBER = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")


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


class RegisterError(ValueError):
    """The file was refused; ``problems`` holds one line per problem, naming the file's line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_register(raw: bytes, suppliers: Mapping[str, SupplierSpec], name: str = "register", *,
                   today: date | None = None) -> list[RegisterAccount]:
    """Every account of the file, or RegisterError listing every problem found.

    ``today`` is the city's date: a last reading dated after it is refused (None leaves dates unchecked).
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegisterError([f"{name}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV"]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS and c not in OPTIONAL_COLUMNS]
    if missing or unknown:
        problems: list[str] = []
        if missing:
            problems.append(f"{name}:1: missing column(s): {', '.join(missing)}; the header is {','.join(COLUMNS)}")
        if unknown:
            problems.append(f"{name}:1: unknown column(s): {', '.join(unknown)}")
        raise RegisterError(problems)
    reader.fieldnames = header
    found: list[tuple[int, str]] = []
    accounts: dict[tuple[str, str], tuple[int, dict[str, object], list[RegisterMeter]]] = {}
    seen_meters: dict[tuple[str, str, str, str], int] = {}
    rows_of_meter: dict[tuple[str, str, str], list[tuple[int, RegisterMeter]]] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            found.append((line, "more fields than columns"))
            continue
        values = {k: (v or "").strip() for k, v in row.items()}
        if not any(values.values()):
            continue
        row_problems, checked = _check_row(values, suppliers, today)
        found += [(line, problem) for problem in row_problems]
        if checked is None:
            continue
        key, account_fields, meter = checked
        rows_of_meter.setdefault((*key, meter.serial), []).append((line, meter))
        first = accounts.get(key)
        if first is None:
            accounts[key] = (line, account_fields, [meter])
        elif first[1] != account_fields:
            differing = ", ".join(k for k in account_fields if account_fields[k] != first[1][k])
            found.append((line, f"account {key[1]} conflicts with line {first[0]} ({differing} differ)"))
            continue
        else:
            first[2].append(meter)
        meter_key = (*key, meter.serial, meter.zone)
        if meter_key in seen_meters:
            found.append((line, f"meter {meter.serial} of account {key[1]} repeats line {seen_meters[meter_key]}"))
        else:
            seen_meters[meter_key] = line
    found += _meter_problems(rows_of_meter, suppliers)
    if found:
        raise RegisterError([f"{name}:{line}: {problem}" for line, problem in sorted(found, key=lambda p: p[0])])
    return [
        RegisterAccount(supplier, number, str(fields["address"]), str(fields["apartment"]),
                        fields["last_payment"] if isinstance(fields["last_payment"], Decimal) else None,
                        tuple(meters))
        for (supplier, number), (_, fields, meters) in accounts.items()
    ]


def _check_row(
    values: dict[str, str], suppliers: Mapping[str, SupplierSpec], today: date | None
) -> tuple[list[str], tuple[tuple[str, str], dict[str, object], RegisterMeter] | None]:
    """Every problem of one row, and the row's account and meter when they could be read at all."""
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
    account_fields: dict[str, object] = {"address": values["address"], "apartment": values["apartment"],
                                         "last_payment": payment}
    # the ignore: a "bad" reading or date is a problem above, but mypy cannot narrow a str out of a union by ==
    meter = RegisterMeter(values["meter"], service.id, values["zone"], reading, reading_date, due)  # type: ignore[arg-type]
    return problems, ((spec.id, normalize_account_number(values["account"])), account_fields, meter)


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


def _meter_problems(
    rows_of_meter: dict[tuple[str, str, str], list[tuple[int, RegisterMeter]]], suppliers: Mapping[str, SupplierSpec]
) -> list[tuple[int, str]]:
    """What only the rows of one meter together show: its zones, and one verification date for them."""
    found: list[tuple[int, str]] = []
    for (supplier, number, serial), rows in rows_of_meter.items():
        first_line, first = rows[0]
        service = suppliers[supplier].service(first.service)
        zones = {meter.zone for _, meter in rows}
        if service and zones != {""} and zones != set(service.zones):
            given = ", ".join(repr(z) if z else "none" for z in sorted(zones))
            lines = ", ".join(str(line) for line, _ in rows)
            found.append((first_line, f"meter {serial} of account {number} has zone(s) {given} (line(s) {lines}); "
                                      f"a two-zone meter needs one row for each of {', '.join(service.zones)}"))
        for line, meter in rows[1:]:
            if meter.verification_due != first.verification_due:
                found.append((line, f"verification_due {_iso(meter.verification_due)} of meter {serial} differs "
                                    f"from line {first_line} ({_iso(first.verification_due)}); "
                                    "the zones of one meter share one verification date"))
    return found


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
