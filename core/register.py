"""Reading a supplier's account register (CSV) and checking all of it before anything is stored."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from collections.abc import Mapping

from core.domain import SupplierSpec, normalize_account_number

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


def parse_register(raw: bytes, suppliers: Mapping[str, SupplierSpec], name: str = "register") -> list[RegisterAccount]:
    """Every account of the file, or RegisterError listing every problem found."""
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
    problems = []
    accounts: dict[tuple[str, str], tuple[int, dict[str, object], list[RegisterMeter]]] = {}
    seen_meters: dict[tuple[str, str, str, str], int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(f"{name}:{line}: more fields than columns")
            continue
        values = {k: (v or "").strip() for k, v in row.items()}
        if not any(values.values()):
            continue
        checked = _check_row(values, suppliers)
        if isinstance(checked, str):
            problems.append(f"{name}:{line}: {checked}")
            continue
        key, account_fields, meter = checked
        first = accounts.get(key)
        if first is None:
            accounts[key] = (line, account_fields, [meter])
        elif first[1] != account_fields:
            differing = ", ".join(k for k in account_fields if account_fields[k] != first[1][k])
            problems.append(f"{name}:{line}: account {key[1]} conflicts with line {first[0]} ({differing} differ)")
            continue
        else:
            first[2].append(meter)
        meter_key = (*key, meter.serial, meter.zone)
        if meter_key in seen_meters:
            problems.append(f"{name}:{line}: meter {meter.serial} of account {key[1]} "
                            f"repeats line {seen_meters[meter_key]}")
        else:
            seen_meters[meter_key] = line
    if problems:
        raise RegisterError(problems)
    return [
        RegisterAccount(supplier, number, str(fields["address"]), str(fields["apartment"]),
                        fields["last_payment"] if isinstance(fields["last_payment"], Decimal) else None,
                        tuple(meters))
        for (supplier, number), (_, fields, meters) in accounts.items()
    ]


def _check_row(
    values: dict[str, str], suppliers: Mapping[str, SupplierSpec]
) -> str | tuple[tuple[str, str], dict[str, object], RegisterMeter]:
    spec = suppliers.get(values["supplier"])
    if spec is None:
        return f"unknown supplier {values['supplier']!r}; known: {', '.join(suppliers)}"
    number = normalize_account_number(values["account"])
    if not spec.account_number_ok(number):
        return f"account {values['account']!r} does not match the {spec.id} format (e.g. {spec.account_example})"
    service = spec.service(values["service"])
    if service is None:
        return f"unknown service {values['service']!r} for {spec.id}; known: {', '.join(s.id for s in spec.services)}"
    zone = values["zone"]
    if zone and zone not in service.zones:
        return f"zone {zone!r} is not one of {service.id}'s zones ({', '.join(service.zones) or 'none'})"
    if not values["meter"]:
        return "empty meter serial number"
    payment = _decimal(values["last_payment"], 2)
    if payment == "bad":
        return f"last_payment {values['last_payment']!r} is not an amount like 1234.56"
    reading = _decimal(values["last_reading"], service.decimals)
    if reading == "bad" or (isinstance(reading, Decimal) and reading >= service.maximum):
        return (f"last_reading {values['last_reading']!r} is not a {service.id} reading "
                f"(up to {service.digits} digits and {service.decimals} decimals, point as separator)")
    reading_date = _date(values["last_reading_date"])
    if reading_date == "bad":
        return f"last_reading_date {values['last_reading_date']!r} is not a date YYYY-MM-DD"
    if (reading is None) != (reading_date is None):
        return "last_reading and last_reading_date go together: give both or neither"
    due = _date(values.get("verification_due", ""))
    if due == "bad":
        return f"verification_due {values['verification_due']!r} is not a date YYYY-MM-DD"
    account_fields: dict[str, object] = {"address": values["address"], "apartment": values["apartment"],
                                         "last_payment": payment}
    # the ignore: each "bad" was returned above, but mypy does not narrow a str out of a union by ==
    meter = RegisterMeter(values["meter"], service.id, zone, reading, reading_date, due)  # type: ignore[arg-type]
    return (spec.id, number), account_fields, meter


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
