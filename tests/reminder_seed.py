"""Residents, accounts and links in a real database, for reminder tests and the broadcast benchmark."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from core.register import RegisterAccount, RegisterMeter
from storage.models import LinkRow, ResidentRow
from storage.register_store import import_register

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def heat_number(n: int) -> str:
    return f"{100000000000000 + n:015d}"


async def seed(app, residents: int, channel: str = "telegram", first_chat: int = 1000,
               verification_due: date | None = None) -> list[int]:
    """One heat account with two meters per resident, linked; returns the residents' chat ids."""
    async with app.uow_factory() as uow:
        await import_register(uow.session, [
            RegisterAccount("heat", heat_number(n), "Kyiv", str(n), Decimal("100"), (
                RegisterMeter(f"HT-{n}", "heating", "", Decimal("10"), date(2026, 10, 28), verification_due),
                RegisterMeter(f"HW-{n}", "hot_water", "", Decimal("5"), date(2026, 10, 28), None),
            )) for n in range(residents)])
        chats = [first_chat + n for n in range(residents)]
        rows = [ResidentRow(channel=channel, external_id=str(c), language="uk", reachable=True, session="{}",
                            created_at=NOW, updated_at=NOW) for c in chats]
        uow.session.add_all(rows)
        await uow.session.flush()
        accounts = {a.number: a.id for a in [await uow.accounts.find("heat", heat_number(n))
                                             for n in range(residents)] if a}
        uow.session.add_all(LinkRow(resident_id=r.id, account_id=accounts[heat_number(n)], created_at=NOW)
                            for n, r in enumerate(rows))
        await uow.commit()
    return chats
