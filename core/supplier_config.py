"""Loading the supplier configuration: the shipped defaults, overridden by an operator's TOML file."""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from core.domain import ServiceSpec, SupplierSpec, WindowRule

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
    return SupplierSpec(
        id=sid,
        names={"uk": _text(at, table, "name_uk"), "en": _text(at, table, "name_en")},
        services=tuple(_service(f"{at}.services.{k}", k, v) for k, v in services.items()),
        window=_window(f"{at}.window", table.get("window")),
        account_pattern=pattern,
        account_example=example,
        contacts={"uk": str(table.get("contacts_uk", "")), "en": str(table.get("contacts_en", ""))},
        source=str(table.get("source", "")),
    )


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
