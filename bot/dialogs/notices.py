"""Messages the bot sends on its own: reminders and verification warnings (receipts of kept readings: core)."""

from __future__ import annotations

from datetime import date

from core.conversation import global_button
from core.domain import SupplierSpec, mask_account
from core.events import Reply, Text, t
from core.paying import next_discount
from core.ports import DueAccount
from core.reminders import Campaign
from bot.dialogs.common import continue_row, place_of


def _meter(service: str, zone: str, serial: str) -> Text:
    zone_part = t("zone_part", zone=t(f"zone_{zone}")) if zone else ""
    return t("meter_label", service=t(f"service_{service}"), zone_part=zone_part, serial=serial)


def reminder(campaign: Campaign, supplier: SupplierSpec, accounts: list[DueAccount], today: date) -> Reply:
    """A campaign's reminder: the accounts (masked, with their place), the meters still missing, the deadline,
    a button per account; and the next day to pay by for a discount, where the supplier gives one."""
    lines = [
        t("reminder_account", account=t("account_label", supplier=supplier.names, number=mask_account(a.number)),
          place=place_of(a.address, a.apartment), meters=[_meter(m.service, m.zone, m.serial) for m in a.meters])
        for a in accounts
    ]
    buttons = tuple(
        (global_button("btn_submit_account", "sub", str(a.account_id), number=mask_account(a.number),
                       place=place_of(a.address, a.apartment)),)
        for a in accounts
    ) + (continue_row(),)  # Viber shows a message's buttons instead of the screen's: the way back stays
    discount = next_discount(supplier.payment, today)
    return Reply(
        t(f"reminder_{campaign.kind.value}", supplier=supplier.names, deadline=campaign.deadline,
          days=(campaign.deadline - today).days, period=campaign.period, accounts=lines,
          discount=t("reminder_discount", deadline=discount.deadline, percent=discount.percent) if discount else ""),
        buttons,
    )


def verification_warning(supplier: SupplierSpec, number: str, service: str, zone: str, serial: str,
                         due: date) -> Reply:
    return Reply(t("verification_warning", meter=_meter(service, zone, serial), due=due,
                   account=t("account_label", supplier=supplier.names, number=mask_account(number))))
