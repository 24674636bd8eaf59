"""Loading the supplier configuration: the shipped defaults, overridden by an operator's TOML file."""

from __future__ import annotations

import re
import string
import tomllib
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError
from stdnum.ua import edrpou as stdnum_edrpou

from core.nbu_qr import RECIPIENT_LIMIT, PaymentRequest, nbu_link
from core.domain import Fee, PaymentDetails, ServiceSpec, SupplierSpec, Tariff, WindowRule

KNOWN_SERVICES = {"heating", "hot_water", "cold_water", "gas", "electricity"}
KNOWN_ZONES = {"day", "night"}


class SupplierConfigError(ValueError):
    """The supplier file cannot be used; the message says where and why."""


def load_suppliers(override: Path | None = None) -> dict[str, SupplierSpec]:
    """The shipped defaults, with the operator's file (if any) merged over them."""
    data = tomllib.loads(resources.files("core").joinpath("suppliers.toml").read_text("utf-8"))
    if override is not None:
        try:
            extra = tomllib.loads(override.read_text("utf-8"))
        except FileNotFoundError:
            raise SupplierConfigError(f"{override}: no such file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SupplierConfigError(f"{override}: not valid TOML: {exc}") from None
        data = _merge(data, extra)
        where = str(override)
    else:
        where = "shipped defaults"
    suppliers = data.get("suppliers")
    if not isinstance(suppliers, dict) or not suppliers:
        raise SupplierConfigError(f"{where}: no [suppliers.<id>] tables")
    return {sid: _supplier(where, sid, table) for sid, table in suppliers.items()}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; anything else, arrays included, is replaced whole.

    So an operator's ``[[suppliers.gas.tariffs]]`` replaces every shipped gas tariff: to add the next
    price, the operator's file repeats the ones still wanted.
    """
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _supplier(where: str, sid: str, table: Any) -> SupplierSpec:
    at = f"{where}: suppliers.{sid}"
    if not isinstance(table, dict):
        raise SupplierConfigError(f"{at}: must be a table")
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,19}", sid):
        raise SupplierConfigError(f"{at}: an id is up to 20 lower-case letters, digits or '_'")
    pattern = _text(at, table, "account_pattern")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise SupplierConfigError(f"{at}.account_pattern: not a regular expression: {exc}") from None
    example = _text(at, table, "account_example")
    if not re.fullmatch(pattern, example):
        raise SupplierConfigError(f"{at}.account_example: {example!r} does not match account_pattern")
    services = table.get("services")
    if not isinstance(services, dict) or not services:
        raise SupplierConfigError(f"{at}: needs at least one [suppliers.{sid}.services.<id>] table")
    specs = tuple(_service(f"{at}.services.{k}", k, v) for k, v in services.items())
    return SupplierSpec(
        id=sid,
        names={"uk": _text(at, table, "name_uk"), "en": _text(at, table, "name_en")},
        services=specs,
        window=_window(f"{at}.window", table.get("window")),
        account_pattern=pattern,
        account_example=example,
        contacts={"uk": str(table.get("contacts_uk", "")), "en": str(table.get("contacts_en", ""))},
        source=str(table.get("source", "")),
        tariffs=_tariffs(f"{at}.tariffs", table.get("tariffs", []), specs),
        fees=_fees(f"{at}.fees", table.get("fees", [])),
        payment=_payment(f"{at}.payment", table["payment"]) if "payment" in table else None,
    )


def _tables(at: str, items: Any) -> list[tuple[str, dict[str, Any]]]:
    """An array of tables ([[...]] in TOML), each with where it stands for messages: ``at[1]``, ``at[2]``…"""
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise SupplierConfigError(f"{at}: an array of tables, each written [[{at.split(': ', 1)[-1]}]]")
    return [(f"{at}[{number}]", item) for number, item in enumerate(items, 1)]


def _tariffs(at: str, items: Any, services: tuple[ServiceSpec, ...]) -> tuple[Tariff, ...]:
    tariffs = []
    for here, item in _tables(at, items):
        service_id = _text(here, item, "service")
        service = next((s for s in services if s.id == service_id), None)
        if service is None:
            raise SupplierConfigError(f"{here}.service: {service_id!r} is not one of this supplier's services "
                                      f"({', '.join(s.id for s in services)})")
        zone = item.get("zone", "")
        if zone != "" and zone not in service.zones:
            raise SupplierConfigError(f"{here}.zone: {zone!r} is not a zone of {service_id}; "
                                      f"one of {list(service.zones)}, or leave it out for a one-zone meter")
        part = item.get("part", "")
        if not isinstance(part, str) or (part and not re.fullmatch(r"[a-z][a-z0-9_]{0,29}", part)):
            raise SupplierConfigError(f"{here}.part: up to 30 lower-case letters, digits or '_'")
        valid_from, valid_to = _dates(here, item)
        tariffs.append(Tariff(
            service=service_id, price=_amount(here, item, "price"), valid_from=valid_from, valid_to=valid_to,
            zone=zone, part=part,
            names={"uk": _text(here, item, "name_uk"), "en": _text(here, item, "name_en")} if part else {},
            source=_text(here, item, "source"),
        ))
    for number, tariff in enumerate(tariffs, 1):
        for other_number, other in enumerate(tariffs[number:], number + 1):
            if (tariff.service, tariff.zone) != (other.service, other.zone) or not _overlap(tariff, other):
                continue
            what = tariff.service + (f" zone {tariff.zone}" if tariff.zone else "")
            if tariff.part == other.part:
                what += f" part {tariff.part}" if tariff.part else ""
            elif tariff.part and other.part:
                continue  # two parts billed side by side
            else:  # a whole price beside parts of it would count the consumption twice
                what += ": a whole price and named parts"
            raise SupplierConfigError(f"{at}[{other_number}]: {what}: {_span(other)} overlaps {_span(tariff)} of "
                                      f"{at.rsplit('.', 1)[-1]}[{number}]; end the earlier one with valid_to the day "
                                      "before the next one's valid_from")
    return tuple(tariffs)


def _fees(at: str, items: Any) -> tuple[Fee, ...]:
    fees = []
    for here, item in _tables(at, items):
        fee_id = _text(here, item, "id")
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,29}", fee_id):
            raise SupplierConfigError(f"{here}.id: up to 30 lower-case letters, digits or '_'")
        valid_from, valid_to = _dates(here, item)
        fees.append(Fee(
            id=fee_id, amount=_amount(here, item, "amount"), valid_from=valid_from, valid_to=valid_to,
            names={"uk": _text(here, item, "name_uk"), "en": _text(here, item, "name_en")},
            source=_text(here, item, "source"),
        ))
    for number, fee in enumerate(fees, 1):
        for other_number, other in enumerate(fees[number:], number + 1):
            if fee.id == other.id and _overlap(fee, other):
                raise SupplierConfigError(f"{at}[{other_number}]: fee {fee.id}: {_span(other)} overlaps {_span(fee)} "
                                          f"of fees[{number}]; end the earlier one with valid_to the day before the "
                                          "next one's valid_from")
    return tuple(fees)


def _overlap(one: Tariff | Fee, other: Tariff | Fee) -> bool:
    return one.valid_from <= (other.valid_to or date.max) and other.valid_from <= (one.valid_to or date.max)


def _span(item: Tariff | Fee) -> str:
    return f"{item.valid_from.isoformat()}..{item.valid_to.isoformat() if item.valid_to else 'open-ended'}"


def _dates(at: str, item: dict[str, Any]) -> tuple[date, date | None]:
    valid_from = _date(at, item, "valid_from")
    if "valid_to" not in item:
        return valid_from, None
    valid_to = _date(at, item, "valid_to")
    if valid_to < valid_from:
        raise SupplierConfigError(f"{at}.valid_to: {valid_to.isoformat()} is before valid_from "
                                  f"{valid_from.isoformat()}")
    return valid_from, valid_to


def _date(at: str, item: dict[str, Any], key: str) -> date:
    value = item.get(key)
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            pass
    if not isinstance(value, date) or hasattr(value, "hour"):  # a datetime is a date too
        raise SupplierConfigError(f"{at}.{key}: a date, written 2026-04-30, not {value!r}")
    return value


def _amount(at: str, item: dict[str, Any], key: str) -> Decimal:
    """Money in UAH: a string ("16.164") keeps every digit as written; a TOML number is read as written too."""
    value = item.get(key)
    try:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InvalidOperation
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise SupplierConfigError(f"{at}.{key}: a number of hryvnias, like \"16.164\", not {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise SupplierConfigError(f"{at}.{key}: must be more than zero, not {value!r}")
    return amount


def _payment(at: str, table: Any) -> PaymentDetails:
    if not isinstance(table, dict):
        raise SupplierConfigError(f"{at}: must be a table")
    recipient = _text(at, table, "recipient").strip()
    if len(recipient) > RECIPIENT_LIMIT:
        raise SupplierConfigError(f"{at}.recipient: at most {RECIPIENT_LIMIT} characters (the payment QR's "
                                  f"limit), not {len(recipient)}")
    try:
        iban = stdnum_iban.validate(_text(at, table, "iban"))
    except ValidationError as exc:
        raise SupplierConfigError(f"{at}.iban: not a valid IBAN ({exc})") from None
    if not iban.startswith("UA"):
        raise SupplierConfigError(f"{at}.iban: a Ukrainian IBAN starts with UA, not {iban[:2]!r}")
    try:
        edrpou = stdnum_edrpou.validate(_text(at, table, "edrpou"))
    except ValidationError as exc:
        raise SupplierConfigError(f"{at}.edrpou: not a valid EDRPOU code ({exc})") from None
    try:  # what the QR code will carry, checked now rather than when a resident presses Pay
        nbu_link(PaymentRequest(recipient, iban, edrpou, None, "—"))
    except ValueError as exc:
        raise SupplierConfigError(f"{at}: cannot go into the NBU payment QR code: {exc}") from None
    page_url = table.get("page_url")
    if page_url is not None:
        page_url = _page_url(at, page_url)
    day = table.get("discount_by_day")
    percent: Decimal | None = None
    if day is not None or "discount_percent" in table:
        day = _int(at, table, "discount_by_day", 1, 28)
        percent = _amount(at, table, "discount_percent")
        if percent >= 100:
            raise SupplierConfigError(f"{at}.discount_percent: less than 100, not {percent}")
    return PaymentDetails(recipient=recipient, iban=iban, edrpou=edrpou, page_url=page_url,
                          discount_by_day=day, discount_percent=percent, source=_text(at, table, "source"))


def _page_url(at: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("https://"):
        raise SupplierConfigError(f"{at}.page_url: an https:// address, not {value!r}")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        raise SupplierConfigError(f"{at}.page_url: not a template: {exc}") from None
    if fields != {"account", "amount"}:
        raise SupplierConfigError(f"{at}.page_url: a template with {{account}} and {{amount}} and nothing else "
                                  f"in braces, not {sorted(fields)}")
    return value


def _service(at: str, service_id: str, table: Any) -> ServiceSpec:
    if not isinstance(table, dict):
        raise SupplierConfigError(f"{at}: must be a table")
    if service_id not in KNOWN_SERVICES:
        raise SupplierConfigError(f"{at}: unknown service; known: {', '.join(sorted(KNOWN_SERVICES))}")
    zones = table.get("zones", [])
    if not isinstance(zones, list) or not set(zones) <= KNOWN_ZONES:
        raise SupplierConfigError(f"{at}.zones: a list of {sorted(KNOWN_ZONES)}")
    try:
        max_monthly = Decimal(str(table.get("max_monthly")))
    except InvalidOperation:
        raise SupplierConfigError(f"{at}.max_monthly: a number, like \"60\"") from None
    if not max_monthly.is_finite() or max_monthly <= 0:
        raise SupplierConfigError(f"{at}.max_monthly: a positive number")
    return ServiceSpec(
        id=service_id,
        unit=_text(at, table, "unit"),
        digits=_int(at, table, "digits", 1, 12),
        decimals=_int(at, table, "decimals", 0, 4),
        max_monthly=max_monthly,
        zones=tuple(zones),
    )


def _window(at: str, table: Any) -> WindowRule:
    if not isinstance(table, dict):
        raise SupplierConfigError(f"{at}: missing; every supplier needs a [window] table")
    opens = _int(at, table, "opens_day", -28, 28)
    closes = _int(at, table, "closes_day", -28, 31)
    if opens == 0 or closes == 0:
        raise SupplierConfigError(f"{at}: days count from 1, or from -1 (the last day); 0 is no day")
    crosses = table.get("closes_next_month", False)
    if not isinstance(crosses, bool):
        raise SupplierConfigError(f"{at}.closes_next_month: true or false")
    if not crosses and opens > 0 and closes > 0 and closes < opens:
        raise SupplierConfigError(f"{at}: closes before it opens; set closes_next_month = true?")
    return WindowRule(
        opens_day=opens,
        closes_day=closes,
        closes_next_month=crosses,
        period_offset=_int(at, table, "period_offset", -1, 1) if "period_offset" in table else 0,
        source=str(table.get("source", "")),
    )


def _text(at: str, table: dict[str, Any], key: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SupplierConfigError(f"{at}.{key}: required text")
    return value


def _int(at: str, table: dict[str, Any], key: str, low: int, high: int) -> int:
    value = table.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SupplierConfigError(f"{at}.{key}: a whole number from {low} to {high}")
    return value
