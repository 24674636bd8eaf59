"""Messages the bot sends on its own: reminders and verification warnings (receipts of kept readings: core)."""

from __future__ import annotations

from datetime import date

from core.conversation import global_button
from core.domain import SupplierSpec, mask_account
from core.events import Reply, Text, t
from core.reminders import Campaign


def _meter(service: str, zone: str, serial: str) -> Text:
    zone_part = t("zone_part", zone=t(f"zone_{zone}")) if zone else ""
    return t("meter_label", service=t(f"service_{service}"), zone_part=zone_part, serial=serial)


def reminder(campaign: Campaign, supplier: SupplierSpec, accounts: list[tuple[int, str, list[tuple[str, str, str]]]],
             today: date) -> Reply:
    """A campaign's reminder: the accounts (masked), the meters still missing, the deadline, a button."""
    lines = [
        t("reminder_account", account=t("account_label", supplier=supplier.names, number=mask_account(number)),
          meters=[_meter(*m) for m in meters])
        for _, number, meters in accounts
    ]
    buttons = tuple(
        (global_button("btn_submit_account", "sub", str(account_id), number=mask_account(number)),)
        for account_id, number, _ in accounts
    )
    return Reply(
        t(f"reminder_{campaign.kind.value}", supplier=supplier.names, deadline=campaign.deadline,
          days=(campaign.deadline - today).days, period=campaign.period, accounts=lines),
        buttons,
    )


def verification_warning(supplier: SupplierSpec, number: str, service: str, zone: str, serial: str,
                         due: date) -> Reply:
    return Reply(t("verification_warning", meter=_meter(service, zone, serial), due=due,
                   account=t("account_label", supplier=supplier.names, number=mask_account(number))))
